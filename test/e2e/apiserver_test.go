//go:build e2e

package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Seed 000: the API server serves an expired certificate (signed by the cluster CA, the same
// SANs as the real one). Clients fail with x509's "certificate has expired" error.
func TestAPIServerServingCertExpired(t *testing.T) {
	real := readCert(t, filepath.Join(pkiDir, "apiserver.crt"))
	now := time.Now()
	cert := serveAPIServerCert(t, CertSpec{
		CN: real.Subject.CommonName, DNS: real.DNSNames, IPs: real.IPAddresses,
		NotBefore: now.Add(-days(366)), NotAfter: now.Add(-days(1)),
	})
	if got := servedCert(t, "10.200.0.1:6443"); got.SerialNumber.Cmp(cert.SerialNumber) != 0 {
		t.Fatalf("harness: the API server serves serial %s, not the seeded expired cert %s", serialHex(got), serialHex(cert))
	}

	r, code := runJSON(t, "expiry")
	wantExit(t, r, code, 3)
	f := requireFinding(t, r, "CertificateExpired", "CRITICAL", "apiserver", nil, "for the served certificate")
	requireContains(t, "error of "+f.Code, f.Error, "x509: certificate has expired or is not yet valid")
	requireContains(t, "fix of "+f.Code, f.Fix, "kubeadm certs renew")
	screen(t, "seed000-checkup", []string{"CertificateExpired", "x509: certificate has expired or is not yet valid", "kubeadm certs renew"})
	// In the check-up the expired certificate is the one root cause: the webhook part it
	// stopped is listed under it, not as a warning of its own.
	r, code = runJSON(t)
	wantExit(t, r, code, 3)
	if fs := findFindings(r, "SourceFailed", nil); len(fs) > 0 {
		t.Errorf("a part stopped by the expired certificate is reported on its own: %s", fs[0])
	}
	if !strings.Contains(r.raw, "webhook check: could not run") {
		t.Errorf("the stopped webhook check is not listed under the expired certificate\n%s", r.raw)
	}
}

// Seed 000: the kubeconfig's client certificate expired yesterday. The plugin reports it (from
// the file) and the API server's 401 as Unauthorized.
func TestAdminClientCertExpired(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	certPEM, keyPEMBytes, _ := issue(t, clusterCA(t, "ca"), CertSpec{
		CN: "kubernetes-admin", Org: []string{"kubeadm:cluster-admins"}, Client: true,
		NotBefore: now.Add(-days(365)), NotAfter: now.Add(-days(1)),
	})
	kc := writeKubeconfig(t, dir, "admin-expired.conf", func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) {
		u.ClientCertificateData, u.ClientKeyData = certPEM, keyPEMBytes
	})
	// harness check: the API server really answers 401 to an expired client certificate
	pair, err := tls.X509KeyPair(certPEM, keyPEMBytes)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{pair}}}}
	if resp, err := hc.Get(serverURL + "/api"); err != nil {
		t.Fatalf("harness: GET /api with the expired client cert: %v", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("harness: API server answered %d to an expired client cert, want 401", resp.StatusCode)
		}
	}

	r, code := runJSON(t, "expiry", "--kubeconfig", kc)
	wantExit(t, r, code, 3)
	requireFinding(t, r, "CertificateExpired", "CRITICAL", "kubeconfig", nil, "for the kubeconfig's client certificate")
	requireFinding(t, r, "Unauthorized", "CRITICAL", "", nil, "for the API server's 401")
	screen(t, "seed000-client-cert", []string{"CertificateExpired", "Unauthorized"}, "expiry", "--kubeconfig", kc, "--skip-nodes")
}

// Seed 000: a certificate renewed on disk while the component still serves the old one
// (kubeadm certs renew without restarting the static pods). Only copies are modified.
func TestServingStaleCertificate(t *testing.T) {
	t.Run("apiserver", func(t *testing.T) {
		dir := t.TempDir()
		copyDir(t, kubeDir, dir)
		crt := filepath.Join(dir, "pki", "apiserver.crt")
		renewed, cert := renew(t, clusterCA(t, "ca"), crt, time.Now().Add(-time.Minute), time.Now().Add(days(365)))
		replaceFile(t, crt, renewed)
		if served := servedCert(t, "10.200.0.1:6443"); served.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			t.Fatal("harness: renewed serial equals the served one")
		}
		r, code := runJSON(t, "expiry", "--local", "--pki-dir", filepath.Join(dir, "pki"), "--kubeconfig-dir", dir)
		wantExit(t, r, code, 3)
		f := requireFinding(t, r, "ServingStaleCertificate", "CRITICAL", "", func(f Finding) bool {
			return mentions(f, "apiserver")
		}, "naming the API server")
		requireContains(t, "fix of "+f.Code, f.Fix, "restart")
		requireStaleOnly(t, r)
	})
	t.Run("kubelet", func(t *testing.T) {
		dir := t.TempDir()
		copyDir(t, kubeletPKI, dir)
		crt := filepath.Join(dir, "kubelet.crt")
		renewed, _ := renew(t, clusterCA(t, "ca"), crt, time.Now().Add(-time.Minute), time.Now().Add(days(365)))
		replaceFile(t, crt, renewed)
		r, code := runJSON(t, "expiry", "--local", "--kubelet-pki-dir", dir)
		wantExit(t, r, code, 3)
		f := requireFinding(t, r, "ServingStaleCertificate", "CRITICAL", "", func(f Finding) bool {
			return mentions(f, "kubelet")
		}, "naming the kubelet")
		requireContains(t, "fix of "+f.Code, f.Fix, "restart")
		requireStaleOnly(t, r)
	})
}

// requireStaleOnly: the renewed certificate itself is fine, so nothing else is reported.
func requireStaleOnly(t *testing.T, r Report) {
	t.Helper()
	for _, f := range r.Findings {
		if f.Code != "ServingStaleCertificate" {
			t.Errorf("unexpected finding besides ServingStaleCertificate: %s", f)
		}
	}
	if n := len(findFindings(r, "ServingStaleCertificate", nil)); n != 1 {
		t.Errorf("%d ServingStaleCertificate findings, want 1\n%s", n, dump(r))
	}
}

// Seed 002 from the kubeconfig's side: the API server's certificate (signed by the cluster
// CA) no longer covers the address in the kubeconfig. certdoctor names the mismatch with the
// client's error. It sends nothing more to a server kubectl would refuse (no silent switch
// of the name it verifies): the fix offers --tls-server-name, with which it looks.
func TestAPIServerHostnameMismatch(t *testing.T) {
	now := time.Now()
	serveAPIServerCert(t, CertSpec{
		CN: "kube-apiserver", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(days(365)),
		DNS: []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", nodeName},
		IPs: ips("10.254.0.1", "127.0.0.1"),
	})

	r, code := runJSON(t, "expiry", "--skip-nodes")
	wantExit(t, r, code, 3)
	f := requireFinding(t, r, "HostnameMismatch", "CRITICAL", "apiserver", nil, "for the kubeconfig host")
	requireContains(t, "error", f.Error, "x509: certificate is valid for 10.254.0.1, 127.0.0.1, not 10.200.0.1")
	requireContains(t, "fix", f.Fix, "certdoctor sans --expect 10.200.0.1")
	requireContains(t, "fix", f.Fix, "--tls-server-name kubernetes")
	if len(findFindings(r, "PermissionDenied", nil))+countSource(r, "configmap") != 0 {
		t.Errorf("cluster objects were asked for under another name without the user's consent\n%s", dump(r))
	}
	// The user's choice: the same check under the name the certificate covers.
	r, code = runJSON(t, "expiry", "--skip-nodes", "--tls-server-name", "kubernetes")
	wantExit(t, r, code, 0)
	requireSources(t, r, "configmap")
}

func countSource(r Report, source string) int {
	n := 0
	for _, c := range r.Certificates {
		if c.Source == source {
			n++
		}
	}
	return n
}

// serveAPIServerCert restarts the API server serving a certificate issued by the cluster
// CA from spec (a server certificate, its key in a temp dir); the normal API server is
// restored when the test ends.
func serveAPIServerCert(t *testing.T, spec CertSpec) *x509.Certificate {
	t.Helper()
	dir := t.TempDir() // before restartAPIServer: removed after the normal API server is back
	spec.Server = true
	certPEM, keyPEM, cert := issue(t, clusterCA(t, "ca"), spec)
	crt, key := filepath.Join(dir, "apiserver.crt"), filepath.Join(dir, "apiserver.key")
	replaceFile(t, crt, certPEM)
	replaceFile(t, key, keyPEM)
	restartAPIServer(t, "--tls-cert-file="+crt, "--tls-private-key-file="+key)
	return cert
}
