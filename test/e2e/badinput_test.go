//go:build e2e

package e2e

import (
	"strings"
	"testing"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// The command itself fails: exit 1, one line on stderr, nothing on stdout.
func TestUnknownContext(t *testing.T) {
	for _, o := range []string{"table", "json"} {
		stdout, stderr, code := runPlugin(t, "expiry", "--context", "does-not-exist", "-o", o)
		if code != 1 {
			t.Errorf("-o %s: exit code %d, want 1", o, code)
		}
		if stdout != "" {
			t.Errorf("-o %s: want nothing on stdout, got %q", o, stdout)
		}
		line := strings.TrimRight(stderr, "\n")
		if line == "" || strings.Contains(line, "\n") {
			t.Errorf("-o %s: want one line on stderr, got %q", o, stderr)
		}
		requireContains(t, "stderr", stderr, "does-not-exist")
	}
}

// The API server cannot be reached: APIServerUnreachable, and the kubeconfig's own
// certificates are still reported.
func TestAPIServerUnreachable(t *testing.T) {
	kc := writeKubeconfig(t, t.TempDir(), "closed-port.conf", func(c *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo) {
		c.Server = "https://127.0.0.1:1" // closed
	})
	r, code := runJSON(t, "expiry", "--kubeconfig", kc, "--request-timeout", "10s")
	if code != 2 && code != 3 {
		t.Errorf("exit code %d, want non-zero with a report (2 or 3)\n%s", code, dump(r))
	}
	f := requireFinding(t, r, "APIServerUnreachable", "", "", nil, "")
	requireContains(t, "finding "+f.Code, f.Subject+" "+f.Message+" "+f.Error, "127.0.0.1:1")
	requireSources(t, r, "kubeconfig")
}
