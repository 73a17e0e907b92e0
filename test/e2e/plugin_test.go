//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// kubectl finds the binary on PATH as a plugin, and `kubectl certdoctor expiry` works
// through it, with kubectl's global flags passed on.
func TestKubectlDiscoversPlugin(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(pluginBin, filepath.Join(dir, "kubectl-certdoctor")); err != nil {
		t.Fatal(err)
	}
	kubectl := filepath.Join(k8sBin, "kubectl")
	run := func(args ...string) string {
		cmd := exec.Command(kubectl, args...)
		// Only the system directories after ours: another kubectl-certdoctor on the
		// caller's PATH (a `make install`) would make kubectl warn about shadowing.
		cmd.Env = append(os.Environ(), "PATH="+dir+":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "KUBECONFIG="+kubeconf)
		out, err := cmd.CombinedOutput()
		assertNoKeyLeak(t, string(out))
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := run("plugin", "list"); !strings.Contains(out, filepath.Join(dir, "kubectl-certdoctor")) {
		t.Fatalf("kubectl plugin list does not show the plugin:\n%s", out)
	}
	help := run("certdoctor", "--help")
	requireContains(t, "help", help, "kubectl certdoctor [command]")
	out := run("certdoctor", "expiry", "--skip-nodes", "--warn-within", "2w")
	requireContains(t, "output", out, "No problems found")
}
