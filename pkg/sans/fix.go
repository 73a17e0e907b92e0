package sans

import (
	"crypto/x509"
	"fmt"
	"strings"
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

// recreateCached is seed 002's last step: clients that failed keep failing until restarted.
const recreateCached = "then recreate the pods that cached the failure (in seed 002 kube-dns, and with it every app that resolves names):\n" +
	"  kubectl -n kube-system rollout restart deployment coredns   (or: kubectl -n kube-system delete pod -l k8s-app=kube-dns)"

// Fix returns the commands that re-issue cert with the missing entries added.
func Fix(s Setup, cert *x509.Certificate, missing []string) string {
	restart := "systemctl restart kube-apiserver"
	if s.StaticPod || s.Kubeadm {
		restart = "crictl stop $(crictl ps --name '^kube-apiserver$' -q)   (the kubelet restarts the static pod)"
	}
	if s.Kubeadm {
		return strings.Join([]string{
			"kubeadm: add " + strings.Join(missing, ", ") + " to apiServer.certSANs and re-issue only the apiserver certificate, on every control-plane node:",
			"  kubectl -n kube-system get configmap kubeadm-config -o jsonpath='{.data.ClusterConfiguration}' > kubeadm.yaml",
			"  # edit kubeadm.yaml: apiServer.certSANs: [" + strings.Join(missing, ", ") + "]; also `kubectl -n kube-system edit configmap kubeadm-config` so upgrades keep them",
			"  mkdir -p /root/apiserver-old && mv /etc/kubernetes/pki/apiserver.crt /etc/kubernetes/pki/apiserver.key /root/apiserver-old/",
			"  kubeadm init phase certs apiserver --config kubeadm.yaml   (or: --apiserver-cert-extra-sans=" + strings.Join(missing, ",") + ")",
			"  " + restart,
			recreateCached,
		}, "\n")
	}
	certFile, keyFile, caFile := orPlaceholder(s.CertFile, "server.crt"), orPlaceholder(s.KeyFile, "server.key"), orPlaceholder(s.CAFile, "ca.crt")
	caKey := strings.TrimSuffix(caFile, ".crt") + ".key"
	return strings.Join([]string{
		"re-issue the certificate with every current name plus the missing ones, keeping its key (as in seed 002):",
		"  cat > csr.conf <<'EOF'",
		indentLines(CSRConf(cert, missing), "  "),
		"  EOF",
		"  openssl req -new -key " + keyFile + " -out server.csr -config csr.conf",
		"  openssl x509 -req -in server.csr -CA " + caFile + " -CAkey " + caKey + " -CAcreateserial -out " + certFile + " -days 365 -extensions v3_ext -extfile csr.conf",
		"  " + restart,
		recreateCached,
	}, "\n")
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
