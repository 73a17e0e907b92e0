//go:build e2e

package e2e

import (
	"context"
	"strings"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// interruptPlugin starts the plugin with args, sends SIGINT once ready(t) is true (the
// command is then waiting on the cluster), and requires exit 130 within 15 s, nothing on
// stdout, no panic and no key material. It returns stderr.
func interruptPlugin(t *testing.T, ready func(*testing.T) bool, args ...string) string {
	t.Helper()
	return interruptPluginEnv(t, []string{"KUBECONFIG=" + kubeconf}, ready, args...)
}

func interruptPluginEnv(t *testing.T, env []string, ready func(*testing.T) bool, args ...string) string {
	t.Helper()
	return signalPlugin(t, syscall.SIGINT, env, func(t *testing.T, _ *faultProc) bool { return ready(t) }, args...)
}

// `sans` interrupted while its debug pod is pending: the pod is deleted, exit 130.
func TestSANsInterrupted(t *testing.T) {
	requireNoDebugPods(t)
	stderr := interruptPlugin(t, debugPodExists, "sans", "--node-pki-dir", "/nonexistent/certdoctor-e2e/pki", "--pod-timeout", "60s")
	requireContains(t, "stderr", stderr, "interrupted: debug pods were deleted")
	requireNoDebugPods(t)
}

// `webhook` interrupted while the webhook holds its AdmissionReview (it sleeps before it
// answers): exit 130, not a finding about the interrupted call.
func TestWebhookInterrupted(t *testing.T) {
	w := newWebhookSetup(t)
	w.args = []string{"--sleep=25s"}
	w.create(t, true)
	called := func(t *testing.T) bool {
		b, err := client.CoreV1().Pods(w.ns).GetLogs("webhook", &corev1.PodLogOptions{}).DoRaw(ctxT(t))
		return err == nil && strings.Contains(string(b), "admission ")
	}
	stderr := interruptPlugin(t, called, "webhook", w.config)
	if strings.TrimSpace(stderr) != "interrupted" {
		t.Fatalf("stderr %q, want \"interrupted\"", stderr)
	}
}

// `cleanup`, `webhook --all` and `sans` interrupted while the API server (a listener on
// loopback that accepts and never answers) keeps them waiting: each exits 130 at once,
// not after its request timeout.
func TestInterruptedWhileTheServerStalls(t *testing.T) {
	kc, accepted := stalledServerConf(t)
	for _, args := range [][]string{{"cleanup"}, {"webhook", "--all"}, {"sans", "--skip-nodes"}} {
		t.Run(args[0], func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			waiting := func(*testing.T) bool {
				select {
				case <-accepted:
					return true
				case <-ctx.Done():
					return false
				default:
					return false
				}
			}
			stderr := interruptPluginEnv(t, []string{"KUBECONFIG=" + kc}, waiting, append(args, "--request-timeout", "60s")...)
			requireContains(t, "stderr", stderr, "interrupted")
		})
	}
}
