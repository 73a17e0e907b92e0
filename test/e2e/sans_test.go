//go:build e2e

package e2e

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A healthy cluster's API server certificate covers everything clients use: the Service
// IP, the in-cluster names, the kubeconfig host, the node. Served and on the node's disk.
func TestSANsHealthy(t *testing.T) {
	r, code := runJSON(t, "sans")
	wantExit(t, r, code, 0)
	requireNoFindings(t, r)
	requireSources(t, r, "apiserver", "node")
	for _, want := range []string{"10.254.0.1", "kubernetes.default.svc.cluster.local", "10.200.0.1", nodeName} {
		if !strings.Contains(r.raw, `"name": "`+want+`"`) {
			t.Errorf("expected entry %s was not derived\n%s", want, r.raw)
		}
	}
}

// Seed 002: the API server's certificate lacks the kubernetes Service IP 10.254.0.1 (it was
// issued for the old networks). Both `sans --expect 10.254.0.1` and the derived expectations
// flag it with the client error kube-dns printed.
func TestSANsMissingServiceIP(t *testing.T) {
	now := time.Now()
	serveAPIServerCert(t, CertSpec{
		CN: "kube-apiserver", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(days(365)),
		DNS: []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", nodeName},
		IPs: ips("172.16.0.1", "192.168.0.1", "10.200.0.1"),
	})

	for _, args := range [][]string{{"sans", "--expect", "10.254.0.1", "--skip-nodes"}, {"sans", "--skip-nodes"}} {
		r, code := runJSON(t, args...)
		wantExit(t, r, code, 3)
		f := requireFinding(t, r, "SANMissing", "CRITICAL", "apiserver", nil, "for the served certificate")
		requireContains(t, "error", f.Error, "x509: certificate is valid for 172.16.0.1, 192.168.0.1, 10.200.0.1, not 10.254.0.1")
		requireContains(t, "fix", f.Fix, "apiServer.certSANs")
		requireContains(t, "fix", f.Fix, "kubeadm init phase certs apiserver")
		requireContains(t, "fix", f.Fix, "coredns")
	}
	screen(t, "seed002-sans", []string{"SANMissing", "not 10.254.0.1", "apiServer.certSANs"}, "sans", "--expect", "10.254.0.1", "--skip-nodes")
	// --only with a covered entry: nothing to report.
	r, code := runJSON(t, "sans", "--only", "--expect", "192.168.0.1", "--skip-nodes")
	wantExit(t, r, code, 0)
}

// The on-disk certificate of the node (read through the debug pod) is checked too: a copy
// without the Service IP is flagged while the served one is fine.
func TestSANsOnDisk(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, kubeDir, filepath.Join(dir, "kubernetes"))
	now := time.Now()
	certPEM, _, _ := issue(t, clusterCA(t, "ca"), CertSpec{CN: "kube-apiserver", Server: true,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(days(365)), DNS: []string{"kubernetes"}, IPs: ips("10.200.0.1")})
	replaceFile(t, filepath.Join(dir, "kubernetes", "pki", "apiserver.crt"), certPEM)
	r, code := runJSON(t, "sans", "--node-kubeconfig-dir", filepath.Join(dir, "kubernetes"), "--node-pki-dir", filepath.Join(dir, "kubernetes", "pki"))
	wantExit(t, r, code, 3)
	f := requireFinding(t, r, "SANMissing", "CRITICAL", "node", func(f Finding) bool { return mentions(f, nodeName) }, "for the node's file")
	requireContains(t, "error", f.Error, "not 10.254.0.1")
	if len(findFindings(r, "SANMissing", func(f Finding) bool { return f.Source == "apiserver" })) != 0 {
		t.Errorf("the served certificate is fine and must not be flagged\n%s", dump(r))
	}
}

func TestSANsBadInput(t *testing.T) {
	stdout, stderr, code := runPlugin(t, "sans", "--expect", "not_a_name!")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "neither an IP address nor a valid DNS name") {
		t.Fatalf("exit %d stdout %q stderr %q", code, stdout, stderr)
	}
}

func ips(s ...string) []net.IP {
	out := make([]net.IP, len(s))
	for i, v := range s {
		out[i] = net.ParseIP(v)
	}
	return out
}
