//go:build e2e

package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// kubeadm's names: the certificates and the CAs `kubeadm certs check-expiration` lists.
var (
	kubeadmCertNames = []string{"admin.conf", "apiserver", "apiserver-etcd-client", "apiserver-kubelet-client",
		"controller-manager.conf", "etcd-healthcheck-client", "etcd-peer", "etcd-server", "front-proxy-client",
		"scheduler.conf", "super-admin.conf"}
	kubeadmCANames = []string{"ca", "etcd-ca", "front-proxy-ca"}
)

// A healthy kubeadm cluster: nothing to report, from the cluster or from the node's files.
func TestHealthyCluster(t *testing.T) {
	t.Run("cluster", func(t *testing.T) {
		r, code := runJSON(t, "expiry")
		wantExit(t, r, code, 0)
		requireNoFindings(t, r)
		// the kubeconfig's client cert + CA, the live handshake, kube-root-ca.crt ConfigMaps
		requireSources(t, r, "kubeconfig", "apiserver", "configmap")
		served := servedCert(t, "10.200.0.1:6443")
		found := false
		for _, c := range r.Certificates {
			found = found || c.Source == "apiserver" && strings.EqualFold(c.Serial, serialHex(served))
		}
		if !found {
			t.Errorf("no apiserver certificate with the served serial %s\n%s", serialHex(served), dump(r))
		}
	})
	t.Run("local", func(t *testing.T) {
		r, code := runJSON(t, "expiry", "--local")
		wantExit(t, r, code, 0)
		requireNoFindings(t, r)
		requireSources(t, r, "local")
	})
	t.Run("local-table-matches-kubeadm", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		kout, err := exec.CommandContext(ctx, filepath.Join(k8sBin, "kubeadm"), "certs", "check-expiration",
			"--config", filepath.Join(hackDir, "kubeadm-config.yaml")).CombinedOutput()
		if err != nil {
			t.Fatalf("kubeadm certs check-expiration: %v\n%s", err, kout)
		}
		rows := parseExpirationTable(string(kout))
		if len(rows) != len(kubeadmCertNames)+len(kubeadmCANames) {
			t.Fatalf("parsed %d rows from kubeadm's output, want %d:\n%s", len(rows), len(kubeadmCertNames)+len(kubeadmCANames), kout)
		}
		stdout, stderr, code := runPlugin(t, "expiry", "--local")
		if code != 0 {
			t.Errorf("exit code %d, want 0\n%s%s", code, stdout, stderr)
		}
		mine := parseExpirationTable(stdout)
		for _, n := range append(append([]string{}, kubeadmCertNames...), kubeadmCANames...) {
			if _, ok := mine[n]; !ok {
				t.Errorf("table has no row %q", n)
			}
		}
		for name, exp := range rows {
			if got, ok := mine[name]; !ok {
				t.Errorf("kubeadm lists %s (expires %s); the plugin's table does not", name, exp)
			} else if got != exp {
				t.Errorf("%s: plugin says it expires %q, kubeadm says %q", name, got, exp)
			}
		}
		// the JSON report names the same files with the same dates
		r, _ := runJSON(t, "expiry", "--local")
		for name, exp := range rows {
			ok := false
			for _, c := range r.Certificates {
				ok = ok || c.Source == "local" && c.Name == name && c.NotAfter.UTC().Format("Jan 02, 2006 15:04 UTC") == exp
			}
			if !ok {
				t.Errorf("JSON report has no local certificate %q expiring %s", name, exp)
			}
		}
		if t.Failed() {
			t.Logf("kubeadm:\n%s\nplugin:\n%s", kout, stdout)
		}
	})
}

var expRow = regexp.MustCompile(`^(?:!MISSING! )?(\S+)\s+([A-Z][a-z]{2} \d{2}, \d{4} \d{2}:\d{2} UTC)\s`)

// parseExpirationTable reads the rows of kubeadm's check-expiration tables (both the
// certificates and the authorities table): name -> "Nov 24, 2027 22:26 UTC".
func parseExpirationTable(out string) map[string]string {
	rows := map[string]string{}
	in := false
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "CERTIFICATE ") && strings.Contains(l, "EXPIRES"):
			in = true
		case strings.TrimSpace(l) == "":
			in = false
		case in:
			if m := expRow.FindStringSubmatch(l + " "); m != nil {
				rows[m[1]] = m[2]
			}
		}
	}
	return rows
}
