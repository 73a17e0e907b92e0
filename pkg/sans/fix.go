package sans

import (
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// Setup is how the API server's certificate is managed, which decides the fix.
type Setup struct {
	// Kubeadm is true when the cluster was built with kubeadm (kubeadm-config exists,
	// or /etc/kubernetes/manifests holds the API server's static pod).
	Kubeadm bool
	// Files of a hand-made PKI, from kube-apiserver's flags when they could be read.
	CertFile, KeyFile, CAFile string
	// StaticPod says kube-apiserver runs as a static pod (restart with crictl) rather
	// than a systemd unit.
	StaticPod bool
}

// missingFinding is the SANMissing finding for t: the exact error clients will print,
// and the commands that re-issue the certificate for this setup, keeping every name it
// has (seed 002).
func missingFinding(t Target, missing []Expected, s Setup) result.Finding {
	values := make([]string, len(missing))
	for i, m := range missing {
		values[i] = m.Value
	}
	restart := "systemctl restart kube-apiserver"
	if s.StaticPod || s.Kubeadm {
		restart = "crictl stop $(crictl ps --name '^kube-apiserver$' -q)   (the kubelet restarts the static pod)"
	}
	p := diagnose.Params{"missing": strings.Join(values, ", "), "missingCSV": strings.Join(values, ","),
		"sans": strings.Join(certs.SANs(t.Cert), ", "), "why": whyList(missing), "err": certs.HostnameError(t.Cert, values[0]),
		"restart": restart}
	variant := "kubeadm"
	if !s.Kubeadm {
		variant = "manual"
		caFile := orPlaceholder(s.CAFile, "ca.crt")
		p["certFile"], p["keyFile"], p["caFile"] = orPlaceholder(s.CertFile, "server.crt"), orPlaceholder(s.KeyFile, "server.key"), caFile
		p["caKey"] = strings.TrimSuffix(caFile, ".crt") + ".key"
		p["csrConf"] = indentLines(CSRConf(t.Cert, values), "  ")
	}
	return diagnose.NewVariant(diagnose.CodeSANMissing, variant, diagnose.Where{Source: t.Source, Subject: t.Name}, p)
}

// CSRConf is an openssl request configuration whose alt_names hold the certificate's
// current SANs plus the missing entries, so re-issuing loses nothing it had.
func CSRConf(cert *x509.Certificate, missing []string) string {
	var s Set
	for _, n := range cert.DNSNames {
		s.Add(n, "current")
	}
	for _, ip := range cert.IPAddresses {
		s.Add(ip.String(), "current")
	}
	for _, m := range missing {
		s.Add(m, "missing")
	}
	var alt []string
	dns, ips := 0, 0
	for _, e := range s.items {
		if isIP(e.Value) {
			ips++
			alt = append(alt, fmt.Sprintf("IP.%d = %s", ips, e.Value))
		} else {
			dns++
			alt = append(alt, fmt.Sprintf("DNS.%d = %s", dns, e.Value))
		}
	}
	cn := cert.Subject.CommonName
	if cn == "" {
		cn = "kube-apiserver"
	}
	return strings.Join(append([]string{
		"[ req ]", "default_bits = 2048", "prompt = no", "default_md = sha256", "req_extensions = req_ext", "distinguished_name = dn",
		"[ dn ]", "CN = " + cn,
		"[ req_ext ]", "subjectAltName = @alt_names",
		"[ v3_ext ]", "authorityKeyIdentifier=keyid,issuer:always", "basicConstraints=CA:FALSE",
		"keyUsage=keyEncipherment,dataEncipherment,digitalSignature", "extendedKeyUsage=serverAuth", "subjectAltName=@alt_names",
		"[ alt_names ]"}, alt...), "\n")
}

func orPlaceholder(s, p string) string {
	if s == "" {
		return p
	}
	return s
}

func indentLines(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
