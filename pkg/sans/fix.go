package sans

import (
	"crypto/x509"
	"fmt"
	"strconv"
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
// current SANs plus the missing entries, so re-issuing loses nothing it had. A name that
// is neither an IP address nor a DNS name (control characters, a line break that would
// write a line of its own into the file, spaces, "999.1.1.1") is left out, and so is a
// CN holding such characters: comment lines at the top of the file say which and why,
// the name quoted with Go escapes.
func CSRConf(cert *x509.Certificate, missing []string) string {
	var s Set
	var notes []string
	noted := map[string]bool{}
	add := func(name, why string) {
		problem := configProblem(name)
		if problem == "" {
			s.Add(name, why)
			return
		}
		if !noted[name] {
			noted[name] = true
			notes = append(notes, fmt.Sprintf("# certdoctor left out %s (%s): %s", strconv.QuoteToASCII(name), why, problem))
		}
	}
	for _, n := range cert.DNSNames {
		add(n, "a name the certificate has")
	}
	for _, ip := range cert.IPAddresses {
		s.Add(ip.String(), "current")
	}
	for _, m := range missing {
		add(m, "a name clients use")
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
	if cn != "" && !fitCN(cn) {
		notes = append(notes, fmt.Sprintf("# certdoctor left out the certificate's CN %s: it holds characters that do not belong in a name; CN = kube-apiserver stands in", strconv.QuoteToASCII(cn)))
		cn = ""
	}
	if cn == "" {
		cn = "kube-apiserver"
	}
	return strings.Join(append(append(notes,
		"[ req ]", "default_bits = 2048", "prompt = no", "default_md = sha256", "req_extensions = req_ext", "distinguished_name = dn",
		"[ dn ]", "CN = "+cn,
		"[ req_ext ]", "subjectAltName = @alt_names",
		"[ v3_ext ]", "authorityKeyIdentifier=keyid,issuer:always", "basicConstraints=CA:FALSE",
		"keyUsage=keyEncipherment,dataEncipherment,digitalSignature", "extendedKeyUsage=serverAuth", "subjectAltName=@alt_names",
		"[ alt_names ]"), alt...), "\n")
}

// configProblem says why name cannot be written into alt_names, "" when it can (an
// empty name, which Set.Add drops, included).
func configProblem(name string) string {
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c < 0x20 || c == 0x7f:
			return "it holds control characters"
		case c >= 0x80:
			return "it holds characters that are not ASCII (an internationalised name is written in its xn-- form)"
		}
	}
	v := Normalize(name)
	switch {
	case v == "" || isIP(v):
		return ""
	case looksLikeIPv4(v):
		return "it looks like an IPv4 address but is not one"
	case !isConfigDNSName(v):
		return "it is neither an IP address nor a DNS name"
	}
	return ""
}

// isConfigDNSName accepts a normalised DNS name: labels of letters, digits, '-' and '_'
// (which DNS allows and some certificates hold), a leading "*." wildcard label.
func isConfigDNSName(v string) bool {
	if len(v) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimPrefix(v, "*."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// fitCN accepts a CN openssl's config reads as written: letters, digits, spaces and
// the punctuation of names (no '$', which it expands, '#', which starts a comment, '\',
// quotes, or control characters).
func fitCN(cn string) bool {
	for i := 0; i < len(cn); i++ {
		c := cn[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(" -._:@/+=,()*", c) >= 0) {
			return false
		}
	}
	return true
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
