//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Faults in a kubeadm node's files, read with --local from a copy of /etc/kubernetes (the
// real files are never modified).
func TestLocalPKIFaults(t *testing.T) {
	// localCopy copies /etc/kubernetes; run runs the plugin on that copy.
	localCopy := func(t *testing.T) string {
		dir := t.TempDir()
		copyDir(t, kubeDir, dir)
		return dir
	}
	args := func(dir string, extra ...string) []string {
		return append([]string{"expiry", "--local", "--pki-dir", filepath.Join(dir, "pki"), "--kubeconfig-dir", dir}, extra...)
	}

	t.Run("expired-front-proxy-client", func(t *testing.T) {
		dir := localCopy(t)
		crt := filepath.Join(dir, "pki", "front-proxy-client.crt")
		now := time.Now()
		expired, _ := renew(t, clusterCA(t, "front-proxy-ca"), crt, now.Add(-days(366)), now.Add(-days(1)))
		replaceFile(t, crt, expired)
		r, code := runJSON(t, args(dir)...)
		wantExit(t, r, code, 3)
		requireFinding(t, r, "CertificateExpired", "CRITICAL", "local", func(f Finding) bool {
			return mentions(f, "front-proxy-client")
		}, "naming front-proxy-client")
		screen(t, "seed000-local", []string{"CertificateExpired", "front-proxy-client"}, args(dir)...)
	})

	t.Run("etcd-server-wrong-ca", func(t *testing.T) {
		dir := localCopy(t)
		crt := filepath.Join(dir, "pki", "etcd", "server.crt")
		// A CA with etcd-ca's very name but another key (as after re-running
		// `kubeadm init phase certs etcd-ca`): the issuer name matches, the signature does not.
		rogue := newCA(t, "etcd-ca", time.Now().Add(-time.Hour), time.Now().Add(days(3650)), nil)
		wrong, _ := renew(t, rogue, crt, time.Now().Add(-time.Minute), time.Now().Add(days(365)))
		replaceFile(t, crt, wrong)
		r, code := runJSON(t, args(dir)...)
		wantExit(t, r, code, 3)
		requireFinding(t, r, "CertificateWrongIssuer", "CRITICAL", "local", func(f Finding) bool {
			return mentions(f, "etcd-server") || mentions(f, "etcd/server")
		}, "naming etcd-server")
	})

	t.Run("scheduler-conf-missing", func(t *testing.T) {
		dir := localCopy(t)
		if err := os.Remove(filepath.Join(dir, "scheduler.conf")); err != nil {
			t.Fatal(err)
		}
		// CRITICAL: kube-scheduler does not start without it, as surely as with an expired one.
		r, code := runJSON(t, args(dir)...)
		wantExit(t, r, code, 3)
		f := requireFinding(t, r, "CertificateMissing", "CRITICAL", "local", func(f Finding) bool {
			return mentions(f, "scheduler.conf")
		}, "naming scheduler.conf")
		requireContains(t, "fix", f.Fix, "kubeadm init phase kubeconfig scheduler --config kubeadm.yaml")

		stdout, stderr, code := runPlugin(t, args(dir)...)
		if code != 3 {
			t.Errorf("table run: exit code %d, want 3\n%s%s", code, stdout, stderr)
		}
		found := false
		for _, l := range strings.Split(stdout, "\n") {
			found = found || strings.Contains(l, "!MISSING!") && strings.Contains(l, "scheduler.conf")
		}
		if !found {
			t.Errorf("the table has no \"!MISSING! scheduler.conf\" row:\n%s", stdout)
		}
	})
}
