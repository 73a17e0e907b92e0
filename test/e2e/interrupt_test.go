//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

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
	cmd := exec.Command(pluginBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	deadline := time.Now().Add(time.Minute)
	for !ready(t) {
		if time.Now().After(deadline) {
			t.Fatalf("the command never reached the point to interrupt; stderr: %s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15 s after SIGINT: %s %v", errOut.String(), args)
	}
	assertNoKeyLeak(t, out.String()+errOut.String())
	assertNoPanic(t, errOut.String())
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("%v: exit %v, want 130 after SIGINT; stderr: %s", args, err, errOut.String())
	}
	if out.Len() != 0 {
		t.Fatalf("an interrupted run printed a report: %s", out.String())
	}
	return errOut.String()
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
