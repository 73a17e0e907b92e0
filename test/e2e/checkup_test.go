//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"golang.org/x/sync/errgroup"
)

// checkupParts decodes the check-up's parts from a report.
func checkupParts(t *testing.T, r Report) map[string]string {
	t.Helper()
	var doc struct {
		Parts []struct{ Command, Status, Detail string } `json:"parts"`
	}
	if err := json.Unmarshal([]byte(r.raw), &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range doc.Parts {
		out[p.Command] = p.Status
	}
	return out
}

// `kubectl certdoctor` on the healthy cluster: every part runs, nothing is found.
func TestCheckupHealthy(t *testing.T) {
	r, code := runJSON(t)
	wantExit(t, r, code, 0)
	requireNoFindings(t, r)
	if r.Command != "checkup" {
		t.Errorf("command %q", r.Command)
	}
	if p := checkupParts(t, r); p["expiry"] != "ran" || p["sans"] != "ran" || p["webhook"] != "ran" {
		t.Fatalf("parts %v", p)
	}
	requireSources(t, r, "kubeconfig", "apiserver", "node")
	stdout, _, code := runPlugin(t)
	if code != 0 || !strings.HasPrefix(stdout, "Context ") || !strings.Contains(stdout, "No problems found.") {
		t.Fatalf("the first screen names the cluster and the verdict: exit %d\n%s", code, stdout)
	}
}

// With the API server out of reach the check-up still reports what it can offline (the
// kubeconfig), names the unreachable server once, and sends the user to --local.
func TestCheckupAPIServerDown(t *testing.T) {
	kc := writeKubeconfig(t, t.TempDir(), "down.conf", func(c *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo) {
		c.Server = "https://127.0.0.1:1"
	})
	r, code := runJSON(t, "--kubeconfig", kc, "--request-timeout", "5s")
	wantExit(t, r, code, 3)
	if n := len(findFindings(r, "APIServerUnreachable", nil)); n != 1 {
		t.Fatalf("one unreachable finding, not one per check: %d\n%s", n, dump(r))
	}
	f := requireFinding(t, r, "APIServerUnreachable", "CRITICAL", "", nil, "")
	requireContains(t, "fix", f.Fix, "--local")
	requireSources(t, r, "kubeconfig")
	if p := checkupParts(t, r); p["webhook"] == "ran" && len(findFindings(r, "SourceFailed", nil)) == 0 {
		t.Fatalf("a part that could not run is not a pass: %v\n%s", p, dump(r))
	}
}

// A user bound only to view: each check it may not run is a permission finding; the
// rest still runs; nothing is critical.
func TestCheckupRBACViewOnly(t *testing.T) {
	user := uniqueName("e2e-viewer")
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user, Labels: labels(t)},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}}}
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctxT(t), crb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.RbacV1().ClusterRoleBindings().Delete(ctxT(t), user, metav1.DeleteOptions{}) })
	r, code := runJSON(t, "--as="+user)
	wantExit(t, r, code, 2)
	requireFinding(t, r, "PermissionDenied", "WARNING", "secret", nil, "for the secrets view may not list")
	for _, f := range r.Findings {
		if f.Severity == "CRITICAL" {
			t.Errorf("a permission gap is not a critical fault: %s", f)
		}
	}
	requireSources(t, r, "kubeconfig", "apiserver", "configmap")
}

// Two faults at once, an expiring TLS secret and a webhook whose Service is gone: both
// are named, the critical one first.
func TestCheckupTwoFaults(t *testing.T) {
	ns := newNamespace(t)
	createSecret(t, ns, "soon-tls", corev1.SecretTypeTLS, tlsSecretData(t, "soon.e2e.test", time.Now().Add(days(10))))
	w := newWebhookSetup(t)
	w.svcName, w.policy = "webhook-gone", admissionv1.Fail
	w.create(t, false)
	r, code := runJSON(t, "--skip", "nodes")
	wantExit(t, r, code, 3)
	requireFinding(t, r, "WebhookServiceNotFound", "CRITICAL", "webhook", nil, "for the missing Service")
	requireFinding(t, r, "CertificateExpiring", "WARNING", "secret", func(f Finding) bool { return mentions(f, "soon-tls") }, "for the secret")
	if r.Findings[0].Severity != "CRITICAL" {
		t.Fatalf("worst first: %s", r.Findings[0])
	}
}

// --wait: started while the webhook has no pod, it exits 0 once the pod is Ready; left
// without a pod, it exits 124 at the deadline.
func TestWebhookWait(t *testing.T) {
	w := newWebhookSetup(t)
	w.policy = admissionv1.Fail
	w.create(t, true)
	if err := client.CoreV1().Pods(w.ns).Delete(ctxT(t), "webhook", metav1.DeleteOptions{GracePeriodSeconds: new(int64)}); err != nil {
		t.Fatal(err)
	}
	waitPodGone(t, w.ns, "webhook")
	_, stderr, code := runPlugin(t, "webhook", w.config, "--wait", "3s", "--interval", "500ms", "--no-probe")
	if code != 124 || !strings.Contains(stderr, "timed out waiting") {
		t.Fatalf("no pod: exit %d, want 124; stderr %s", code, stderr)
	}
	cmd := exec.Command(pluginBin, "webhook", w.config, "--wait", "90s", "--interval", "1s")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconf)
	done := make(chan error, 1)
	var out strings.Builder
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	time.Sleep(2 * time.Second)
	w.createPod(t)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit %v once the webhook is back; stderr %s", err, out.String())
		}
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("--wait did not end after the webhook came back")
	}
	requireContains(t, "stderr", out.String(), "checking again in")
}

// 200 expiring secrets: the table shows one grouped finding with the count, JSON holds
// all 200.
func TestGroupedFindings(t *testing.T) {
	ns := newNamespace(t)
	data := tlsSecretData(t, "many.e2e.test", time.Now().Add(days(10)))
	var g errgroup.Group
	g.SetLimit(16)
	for i := 0; i < 200; i++ {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("many-%03d", i), Namespace: ns, Labels: labels(t)},
			Type: corev1.SecretTypeTLS, Data: data}
		g.Go(func() error {
			_, err := client.CoreV1().Secrets(ns).Create(ctxT(t), s, metav1.CreateOptions{})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	r, code := runJSON(t, "expiry", "-n", ns)
	wantExit(t, r, code, 2)
	if n := len(findFindings(r, "CertificateExpiring", func(f Finding) bool { return f.Source == "secret" })); n != 200 {
		t.Fatalf("JSON holds every finding: %d", n)
	}
	stdout, _, _ := runPlugin(t, "expiry", "-n", ns)
	if !strings.Contains(stdout, "CertificateExpiring  secret: 200 findings") || strings.Count(stdout, "CertificateExpiring") != 1 {
		t.Fatalf("one grouped finding:\n%s", stdout)
	}
	if !strings.Contains(stdout, "more certificates are OK") && strings.Count(stdout, "\n") > 400 {
		t.Fatalf("a large table lists what needs attention only (%d lines)", strings.Count(stdout, "\n"))
	}
}

func waitPodGone(t *testing.T, ns, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		if _, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("pod %s/%s still there", ns, name)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
