//go:build e2e

package e2e

// Faults in the middle of a run (issue "hardening"): the API server stopped while debug pods
// exist, a debug pod that never starts or never ends, a webhook that never answers, and
// SIGINT/SIGTERM at each phase of every command. Each test asserts what the user is promised:
// a bounded run, a clear non-zero exit, no panic, and no debug pod left behind (or, when the
// plugin cannot delete one, the pod named in its output for `kubectl certdoctor cleanup`).

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// ---------------------------------------------------------------------------------------
// A plugin run the test steers while it runs

// syncBuffer is a bytes.Buffer that the test may read while the process writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// faultProc is a running plugin process (runPlugin only returns once it has ended).
type faultProc struct {
	cmd      *exec.Cmd
	args     []string
	out, err syncBuffer
	start    time.Time
	done     chan struct{}
	waitErr  error
}

// startFaultPlugin starts the plugin with env added to the environment (KUBECONFIG is set
// unless env sets it). The process is killed when the test ends, if it still runs.
func startFaultPlugin(t *testing.T, env []string, args ...string) *faultProc {
	t.Helper()
	p := &faultProc{args: args, done: make(chan struct{})}
	p.cmd = exec.Command(pluginBin, args...)
	p.cmd.Env = append(append(os.Environ(), "KUBECONFIG="+kubeconf), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.err
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.start = time.Now()
	go func() { p.waitErr = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *faultProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits at most d for the process to end and returns its output and exit code (-1 when
// a signal killed it). Every run is checked for panics and key material, as runPlugin does.
func (p *faultProc) wait(t *testing.T, d time.Duration) (stdout, stderr string, code int) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("kubectl-certdoctor %s: still running after %s\nstdout:\n%s\nstderr:\n%s", strings.Join(p.args, " "), d, p.out.String(), p.err.String())
	}
	stdout, stderr = p.out.String(), p.err.String()
	var ee *exec.ExitError
	switch {
	case errors.As(p.waitErr, &ee):
		code = ee.ExitCode()
	case p.waitErr != nil:
		t.Fatalf("kubectl-certdoctor %s: %v", strings.Join(p.args, " "), p.waitErr)
	}
	t.Logf("$ kubectl-certdoctor %s  -> exit %d in %s", strings.Join(p.args, " "), code, time.Since(p.start).Round(time.Millisecond))
	assertNoKeyLeak(t, stdout+stderr)
	assertNoPanic(t, stderr)
	assertNoPanic(t, stdout)
	return stdout, stderr, code
}

// klogLine is the header of a klog line (-v=N): such lines, and their indented
// continuations, are not what the plugin says to the user.
var klogLine = regexp.MustCompile(`^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ \S+:\d+\] `)

// userLines are the lines of stderr that are not klog's.
func userLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.TrimSpace(l) == "" || klogLine.MatchString(l) || strings.HasPrefix(l, "\t") || strings.HasPrefix(l, " ") || l == ">" {
			continue
		}
		out = append(out, l)
	}
	return out
}

// requestSent is a readiness condition: the plugin (run with -v=7, which logs each request
// before sending it) has sent a request with this verb whose URL contains fragment.
func requestSent(verb, fragment string) func(*testing.T, *faultProc) bool {
	re := regexp.MustCompile(`"Request" verb="` + verb + `" url="[^"]*` + regexp.QuoteMeta(fragment))
	return func(_ *testing.T, p *faultProc) bool { return re.MatchString(p.err.String()) }
}

// signalPlugin is interruptPluginEnv (interrupt_test.go) for any signal, with a readiness
// condition that may also look at what the plugin printed so far (requestSent): it starts
// the plugin, sends sig once ready is true, and requires exit 130 within 15 s, nothing on
// stdout, no panic and no key material. It returns stderr. The SIGINT cases whose readiness
// is the cluster's state use interruptPlugin itself (interruptWith).
func signalPlugin(t *testing.T, sig syscall.Signal, env []string, ready func(*testing.T, *faultProc) bool, args ...string) string {
	t.Helper()
	p := startFaultPlugin(t, env, args...)
	deadline := time.Now().Add(time.Minute)
	for !ready(t, p) {
		if p.exited() {
			stdout, stderr, code := p.wait(t, time.Second)
			t.Fatalf("the command ended (exit %d) before the point to signal it\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the command never reached the point to signal it; stderr: %s", p.err.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the request is at the server, held there
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	stdout, stderr, code := p.wait(t, 15*time.Second)
	t.Logf("%s: exited %s after the signal", sig, time.Since(sent).Round(time.Millisecond))
	if code != 130 {
		t.Fatalf("%v: exit %d, want 130 after %s; stderr: %s", args, code, sig, stderr)
	}
	if stdout != "" {
		t.Fatalf("a run ended by %s printed a report: %s", sig, stdout)
	}
	return stderr
}

// interruptWith sends sig when ready (the cluster's state) is true: SIGINT through the
// suite's interruptPlugin, SIGTERM through signalPlugin, with the same assertions.
func interruptWith(t *testing.T, sig syscall.Signal, ready func(*testing.T) bool, args ...string) string {
	t.Helper()
	if sig == syscall.SIGINT {
		return interruptPlugin(t, ready, args...)
	}
	return signalPlugin(t, sig, nil, func(t *testing.T, _ *faultProc) bool { return ready(t) }, args...)
}

// ---------------------------------------------------------------------------------------
// Debug pods that hang, and pod creates that hang

// hangingNodeFlags returns node flags whose debug pod starts and then never ends: a copy of
// the node's kubeadm files (nodeCopy) with a symlink named *.crt to a FIFO nobody writes, so
// the pod's script blocks reading it until the pod is deleted or its deadline passes.
func hangingNodeFlags(t *testing.T) []string {
	t.Helper()
	dir, args := nodeCopy(t)
	pki := filepath.Join(dir, "kubernetes", "pki")
	if err := syscall.Mkfifo(filepath.Join(pki, "zz-hang.fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("zz-hang.fifo", filepath.Join(pki, "zz-hang.crt")); err != nil {
		t.Fatal(err)
	}
	return args[1:] // without "expiry"
}

// debugPodRunning is true once a debug pod's container runs (it is reading the node's files).
func debugPodRunning(t *testing.T) bool {
	for _, p := range debugPodList(t) {
		for _, cs := range p.Status.ContainerStatuses {
			if p.DeletionTimestamp == nil && cs.Name == "certdoctor" && cs.State.Running != nil {
				return true
			}
		}
	}
	return false
}

// debugPodList lists certdoctor's pods, by its label, in every namespace.
func debugPodList(t *testing.T) []corev1.Pod {
	l, err := client.CoreV1().Pods("").List(ctxT(t), metav1.ListOptions{LabelSelector: managedBy})
	if err != nil {
		return nil
	}
	return l.Items
}

// podHold makes the API server hold every create and delete of a certdoctor debug pod in
// one namespace for hold: a validating webhook (the harness's, sleeping) with failurePolicy
// Ignore, so the request goes through once the webhook answers. Debug pods go there with
// --debug-namespace ns.
type podHold struct {
	ns   string
	hold time.Duration
	// config is the webhook's own ValidatingWebhookConfiguration (ConfigMaps in ns, held
	// alike): `webhook config` waits on it twice, through the service proxy and the dry-run.
	config string
}

func newPodHold(t *testing.T, hold time.Duration) *podHold {
	t.Helper()
	w := newWebhookSetup(t)
	w.args = []string{"--sleep=" + hold.String()}
	w.create(t, true)
	vwc := &admissionv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: uniqueName("e2e-hold-debug-pods"), Labels: labels(t)},
		Webhooks: []admissionv1.ValidatingWebhook{{Name: "pods.e2e.certdoctor.io", AdmissionReviewVersions: []string{"v1"},
			SideEffects: ptr.To(admissionv1.SideEffectClassNone), FailurePolicy: ptr.To(admissionv1.Ignore), TimeoutSeconds: ptr.To(int32(hold/time.Second) + 4),
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": w.ns}},
			ObjectSelector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/managed-by": "kubectl-certdoctor"}},
			Rules: []admissionv1.RuleWithOperations{{Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Delete},
				Rule: admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}},
			ClientConfig: admissionv1.WebhookClientConfig{CABundle: w.caBundle,
				Service: &admissionv1.ServiceReference{Namespace: w.ns, Name: w.svcName, Path: ptr.To("/validate"), Port: ptr.To[int32](443)}}}}}
	if _, err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctxT(t), vwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctxT(t), vwc.Name, metav1.DeleteOptions{})
	})
	// The API server's webhook configuration is read from a watch: wait until it holds a create.
	h := &podHold{ns: w.ns, hold: hold, config: w.config}
	deadline := time.Now().Add(30 * time.Second)
	for {
		start := time.Now()
		p := h.leftover(t, "e2e-hold-probe", true)
		held := time.Since(start) >= hold-time.Second
		// its delete is held too: the held probe takes a hold's time to go
		_ = client.CoreV1().Pods(h.ns).Delete(ctxT(t), p, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
		waitPodGone(t, h.ns, p)
		if held {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatal("the API server does not call the hold webhook for debug pods")
		}
	}
}

// leftover creates a pod labelled as certdoctor's in the hold namespace (as after kill -9),
// and returns its name. Its create is held like the debug pods'.
// held says whether the create waits for the webhook; without, the pod is created
// without certdoctor's label and labelled afterwards (an update, which is not held).
func (h *podHold) leftover(t *testing.T, prefix string, held bool) string {
	t.Helper()
	lbl := map[string]string{testLabel: testName(t)}
	if held {
		lbl["app.kubernetes.io/managed-by"] = "kubectl-certdoctor"
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: uniqueName(prefix), Namespace: h.ns, Labels: lbl},
		Spec: corev1.PodSpec{NodeName: nodeName, TerminationGracePeriodSeconds: new(int64),
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers:  []corev1.Container{{Name: "c", Image: "e2e.local/busybox:1.35", Command: []string{"sleep", "3600"}}}}}
	if _, err := client.CoreV1().Pods(h.ns).Create(ctxT(t), p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if !held {
		patch := []byte(`{"metadata":{"labels":{"app.kubernetes.io/managed-by":"kubectl-certdoctor"}}}`)
		if _, err := client.CoreV1().Pods(h.ns).Patch(ctxT(t), p.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return p.Name
}

// ---------------------------------------------------------------------------------------
// Stopping the API server

// harnessSh runs a snippet with hack/e2e/common.sh's helpers (stop, pidof_rec: by recorded
// PID, checked against the binary's name).
func harnessSh(t *testing.T, script string) {
	t.Helper()
	out, err := exec.Command("bash", "-c", `. "$0/common.sh" && `+script, hackDir).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	t.Logf("%s", bytes.TrimSpace(out))
}

// apiServerStop stops kube-apiserver (hack/e2e/common.sh's stop: SIGTERM, SIGKILL after 2 s)
// and returns a function that starts the normal one again and waits until the cluster works
// (the readyz answer, the controller-manager acting), which also runs when the test ends.
func apiServerStop(t *testing.T) (restore func()) {
	t.Helper()
	var once sync.Once
	restore = func() {
		once.Do(func() {
			apiserverSh(t) // restart: starts the normal API server, restarts controllers and kubelet
			deadline := time.Now().Add(60 * time.Second)
			for {
				body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctxT(t))
				if err == nil && string(body) == "ok" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("API server not ready after restoring it: %v", err)
				}
				time.Sleep(200 * time.Millisecond)
			}
			waitControllersSettled(t)
		})
	}
	t.Cleanup(restore)
	harnessSh(t, "stop kube-apiserver 2")
	return restore
}

// requireLeftoversListed passes when no debug pod is left; otherwise every leftover must be
// named in the plugin's output together with the cleanup command, and `cleanup` must remove
// them.
func requireLeftoversListed(t *testing.T, output string) {
	t.Helper()
	time.Sleep(2 * time.Second) // the kubelet confirms deletions the plugin made
	left := debugPodList(t)
	if len(left) == 0 {
		return
	}
	for _, p := range left {
		if !strings.Contains(output, p.Name) {
			t.Errorf("debug pod %s/%s (%s) was left behind and the output does not name it", p.Namespace, p.Name, p.Status.Phase)
		}
	}
	if !strings.Contains(output, "certdoctor cleanup") {
		t.Errorf("%d debug pod(s) left behind and the output does not point to kubectl certdoctor cleanup:\n%s", len(left), output)
	}
	stdout, _, code := runPlugin(t, "cleanup")
	if code != 0 {
		t.Errorf("cleanup: exit %d\n%s", code, stdout)
	}
	requireNoDebugPods(t)
}

// ---------------------------------------------------------------------------------------
// 1a. The API server stops while `expiry` runs its node checks

func TestFaultAPIServerStopped(t *testing.T) {
	// The debug pod runs (reading the node, blocked on the FIFO) when the API server stops:
	// the plugin can neither see it end nor delete it.
	t.Run("debug pod running", func(t *testing.T) {
		requireNoDebugPods(t)
		p := startFaultPlugin(t, nil, append([]string{"expiry", "-o", "json", "--pod-timeout", "60s"}, hangingNodeFlags(t)...)...)
		waitPluginState(t, p, "the debug pod runs", debugPodRunning)
		restore := apiServerStop(t)
		stopped := time.Now()
		stdout, stderr, code := p.wait(t, 2*time.Minute)
		took := time.Since(stopped)
		t.Logf("exit %d %s after the API server stopped; stderr: %s", code, took.Round(time.Millisecond), stderr)
		requireFaultExit(t, code, stdout, stderr, took, 40*time.Second)
		r := parseReportIfAny(t, stdout)
		if r != nil {
			requireFinding(t, *r, "NodeCheckFailed", "", "node", func(f Finding) bool { return mentions(f, nodeName) }, "for the node whose check the stopped API server cut short")
			if code != 2 && code != 3 {
				t.Errorf("a report with findings exits 2 or 3, got %d", code)
			}
		}
		restore()
		requireLeftoversListed(t, stdout+stderr)
	})
	// The debug pod's create is in flight (held by an admission webhook) when the API server
	// stops. The stopping server may still store it (SIGTERM is a graceful shutdown: the held
	// webhook call fails, failurePolicy Ignore admits the pod): a pod that exists once the
	// server is back must be named for cleanup like any other leftover.
	t.Run("debug pod create in flight", func(t *testing.T) {
		requireNoDebugPods(t)
		h := newPodHold(t, 8*time.Second)
		p := startFaultPlugin(t, nil, "expiry", "-o", "json", "-v=7", "--debug-namespace", h.ns, "--pod-timeout", "30s")
		waitPluginState(t, p, "the debug pod's create is sent", func(t *testing.T) bool { return requestSent("POST", "/namespaces/"+h.ns+"/pods")(t, p) })
		time.Sleep(300 * time.Millisecond)
		restore := apiServerStop(t)
		stopped := time.Now()
		stdout, stderr, code := p.wait(t, 2*time.Minute)
		took := time.Since(stopped)
		requireFaultExit(t, code, stdout, userStderr(stderr), took, 40*time.Second)
		if r := parseReportIfAny(t, stdout); r != nil {
			requireFinding(t, *r, "NodeCheckFailed", "", "node", func(f Finding) bool { return mentions(f, nodeName) }, "for the node whose pod could not be created")
		}
		restore()
		// A create the API server would complete late has completed by now; the output that
		// counts is the report and the plugin's own lines, not klog's request URLs.
		time.Sleep(h.hold)
		requireLeftoversListed(t, stdout+userStderr(stderr))
	})
}

// waitPluginState polls cond until it is true, failing if the plugin ends first or after a minute.
func waitPluginState(t *testing.T, p *faultProc, what string, cond func(*testing.T) bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond(t) {
		if p.exited() {
			stdout, stderr, code := p.wait(t, time.Second)
			t.Fatalf("the command ended (exit %d) before %s\nstdout:\n%s\nstderr:\n%s", code, what, stdout, stderr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute; stderr: %s", what, p.err.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// goSourceLine is a frame of a Go stack trace.
var goSourceLine = regexp.MustCompile(`\.go:\d+`)

// userStderr is stderr without klog's lines.
func userStderr(stderr string) string { return strings.Join(userLines(stderr), "\n") }

// requireFaultExit: a fault is a clear, bounded failure: not exit 0 (a pass), not 130, not a
// crash; at most three lines of its own on stderr, no Go stack; finished within bound.
func requireFaultExit(t *testing.T, code int, stdout, stderr string, took, bound time.Duration) {
	t.Helper()
	switch code {
	case 0:
		t.Errorf("exit 0 (a pass) although the run was cut short\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	case 1, 2, 3:
	default:
		t.Errorf("exit %d, want 1 (failed) or 2/3 (findings)\nstderr:\n%s", code, stderr)
	}
	if n := len(userLines(stderr)); n > 3 {
		t.Errorf("stderr has %d lines, want a short error:\n%s", n, stderr)
	}
	for _, l := range userLines(stderr) {
		if strings.Contains(l, "goroutine ") || goSourceLine.MatchString(l) {
			t.Errorf("stderr looks like a Go stack:\n%s", stderr)
			break
		}
	}
	if code == 1 && !strings.HasPrefix(strings.TrimSpace(stderr), "error: ") {
		t.Errorf("exit 1 without an error line: %q", stderr)
	}
	if took > bound {
		t.Errorf("took %s after the fault, want at most %s", took.Round(time.Millisecond), bound)
	}
}

// parseReportIfAny decodes stdout as a JSON report; nil when stdout is empty. A report
// that does not decode fails the test.
func parseReportIfAny(t *testing.T, stdout string) *Report {
	t.Helper()
	if strings.TrimSpace(stdout) == "" {
		return nil
	}
	r := &Report{}
	if err := json.Unmarshal([]byte(stdout), r); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\n%s", err, stdout)
	}
	r.raw = stdout
	t.Logf("%s", dump(*r))
	return r
}

// ---------------------------------------------------------------------------------------
// 1b. A debug pod that never starts, or never ends

func TestFaultDebugPodNeverStarts(t *testing.T) {
	// The image cannot be pulled: the registry is a closed loopback port (every pull on this
	// machine goes to 127.0.0.1:9 anyway).
	t.Run("image cannot be pulled", func(t *testing.T) {
		requireNoDebugPods(t)
		const image = "127.0.0.1:1/certdoctor-e2e/absent:1"
		podTimeout := 20 * time.Second
		start := time.Now()
		r, code := runJSON(t, "expiry", "--image", image, "--pod-timeout", podTimeout.String())
		took := time.Since(start)
		if code == 0 {
			t.Fatalf("exit 0: a node whose pod never started is not a pass\n%s", dump(r))
		}
		f := requireFinding(t, r, "NodeCheckFailed", "", "node", func(f Finding) bool { return mentions(f, nodeName) }, "for the node whose debug pod cannot start")
		requireContains(t, "finding", f.Message+" "+f.Error, image)
		requireContains(t, "finding", f.Message+" "+f.Error, "cannot be pulled")
		for _, c := range r.Certificates {
			if c.Source == "node" {
				t.Errorf("a node row although no pod ran: %+v", c)
			}
		}
		requireSources(t, r, "kubeconfig", "apiserver", "configmap") // the other sources of the same run
		if took > podTimeout+15*time.Second {
			t.Errorf("took %s, more than --pod-timeout %s + 15 s", took.Round(time.Millisecond), podTimeout)
		}
		requireNoDebugPods(t)
	})
	// The pod starts and never ends (blocked on the FIFO): it is a timeout at --pod-timeout.
	t.Run("pod never finishes", func(t *testing.T) {
		requireNoDebugPods(t)
		podTimeout := 8 * time.Second
		start := time.Now()
		r, code := runJSON(t, append([]string{"expiry", "--pod-timeout", podTimeout.String()}, hangingNodeFlags(t)...)...)
		took := time.Since(start)
		if code == 0 {
			t.Fatalf("exit 0: a node whose pod timed out is not a pass\n%s", dump(r))
		}
		f := requireFinding(t, r, "NodeCheckFailed", "", "node", func(f Finding) bool { return mentions(f, nodeName) }, "for the node whose debug pod timed out")
		if text := strings.ToLower(f.Message + " " + f.Error); !strings.Contains(text, "timed out") && !strings.Contains(text, "did not finish within") {
			t.Errorf("the finding does not say the pod timed out: %s", f)
		}
		requireSources(t, r, "kubeconfig", "apiserver", "configmap")
		if took > podTimeout+20*time.Second {
			t.Errorf("took %s, more than --pod-timeout %s + 20 s", took.Round(time.Millisecond), podTimeout)
		}
		requireNoDebugPods(t)
	})
}

// ---------------------------------------------------------------------------------------
// 1c. A webhook that never answers

// `webhook NAME` against a webhook that accepts connections and never answers an
// AdmissionReview: every call that waits on it is bounded by the webhook's timeoutSeconds
// (the bound the API server itself applies), the finding says it timed out, exit 3.
func TestFaultWebhookHangs(t *testing.T) {
	w := newWebhookSetup(t)
	const timeoutSeconds = 5
	w.args, w.timeout, w.policy = []string{"--sleep=10m"}, timeoutSeconds, admissionv1.Fail
	w.create(t, true)
	start := time.Now()
	r, code := runJSON(t, "webhook", w.config)
	took := time.Since(start)
	wantExit(t, r, code, 3)
	var timedOut []Finding
	for _, f := range r.Findings {
		text := strings.ToLower(f.Message + " " + f.Error)
		if f.Source == "webhook" && f.Severity == "CRITICAL" && (strings.Contains(text, "timeout") || strings.Contains(text, "timed out") || strings.Contains(text, "deadline exceeded")) {
			timedOut = append(timedOut, f)
		}
	}
	if len(timedOut) == 0 {
		t.Fatalf("no critical webhook finding says the call timed out\n%s", dump(r))
	}
	// Two calls wait on the webhook (the AdmissionReview through the service proxy, the
	// API server's own call): each bounded by timeoutSeconds, plus the rest of the walk.
	bound := 2*timeoutSeconds*time.Second + 10*time.Second
	if took > bound {
		t.Errorf("webhook %s took %s against a webhook that never answers, want at most %s (2 x timeoutSeconds %ds + 10 s)\n%s",
			w.config, took.Round(time.Millisecond), bound, timeoutSeconds, dump(r))
	}
}

// ---------------------------------------------------------------------------------------
// 1d. SIGINT and SIGTERM at each phase of every command

// A stalled API server on loopback: accepts connections and never answers.
func stalledServerConf(t *testing.T) (kubeconfig string, accepted <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 64)
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	kc := filepath.Join(t.TempDir(), "stalled.conf")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://`+l.Addr().String()+`", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: not-a-secret}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	return kc, ch
}

func TestFaultSignals(t *testing.T) {
	requireNoDebugPods(t)
	hold := newPodHold(t, 6*time.Second)
	hang := hangingNodeFlags(t)
	holdConfig := hold.config
	signals := []syscall.Signal{syscall.SIGINT, syscall.SIGTERM}
	sigName := map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}
	const podsDeleted = "interrupted: debug pods were deleted"

	// Commands that run debug pods: expiry, sans and the check-up (its expiry part).
	for _, command := range [][]string{{"expiry"}, {"sans"}, {}} {
		name := "checkup"
		if len(command) > 0 {
			name = command[0]
		}
		for _, sig := range signals {
			t.Run(name+"/pod create/"+sigName[sig], func(t *testing.T) {
				args := append(append([]string(nil), command...), "-v=7", "--debug-namespace", hold.ns, "--pod-timeout", "60s")
				sent := time.Now()
				stderr := signalPlugin(t, sig, nil, requestSent("POST", "/namespaces/"+hold.ns+"/pods"), args...)
				lines := userLines(stderr)
				if len(lines) == 0 || lines[len(lines)-1] != podsDeleted {
					t.Errorf("last line of stderr %q, want %q", lines, podsDeleted)
				}
				time.Sleep(time.Until(sent.Add(hold.hold + 2*time.Second))) // a late create would be done by now
				requireNoDebugPods(t)
			})
			t.Run(name+"/waiting for the pod/"+sigName[sig], func(t *testing.T) {
				stderr := interruptWith(t, sig, debugPodExists, append(append(append([]string(nil), command...), "--pod-timeout", "60s"), hang...)...)
				requireContains(t, "stderr", stderr, podsDeleted)
				requireNoDebugPods(t)
			})
			t.Run(name+"/pod reading the node/"+sigName[sig], func(t *testing.T) {
				stderr := interruptWith(t, sig, debugPodRunning, append(append(append([]string(nil), command...), "--pod-timeout", "60s"), hang...)...)
				requireContains(t, "stderr", stderr, podsDeleted)
				requireNoDebugPods(t)
			})
		}
	}

	// webhook: while the AdmissionReview through the service proxy waits, and while the
	// API server's call (a dry-run create) waits. SIGINT during the dry-run call is
	// TestWebhookInterrupted.
	for _, sig := range signals {
		t.Run("webhook/service proxy/"+sigName[sig], func(t *testing.T) {
			stderr := signalPlugin(t, sig, nil, requestSent("POST", "/proxy/validate"), "webhook", holdConfig, "-v=7")
			if l := userLines(stderr); len(l) != 1 || l[0] != "interrupted" {
				t.Errorf("stderr %q, want \"interrupted\"", l)
			}
		})
	}
	t.Run("webhook/dry-run call/SIGTERM", func(t *testing.T) {
		stderr := signalPlugin(t, syscall.SIGTERM, nil, requestSent("POST", "configmaps?dryRun=All"), "webhook", holdConfig, "-v=7")
		if l := userLines(stderr); len(l) != 1 || l[0] != "interrupted" {
			t.Errorf("stderr %q, want \"interrupted\"", l)
		}
	})
	// The check-up while its webhook part waits on the service proxy (no debug pods: --skip nodes).
	for _, sig := range signals {
		t.Run("checkup/webhook part/"+sigName[sig], func(t *testing.T) {
			stderr := signalPlugin(t, sig, nil, requestSent("POST", "/proxy/validate"), "--skip", "nodes", "-v=7")
			if l := userLines(stderr); len(l) != 1 || l[0] != "interrupted" {
				t.Errorf("stderr %q, want \"interrupted\"", l)
			}
		})
	}

	// cleanup: while it lists (a stalled server; SIGINT there is
	// TestInterruptedWhileTheServerStalls) and while its delete is held by the webhook.
	t.Run("cleanup/list/SIGTERM", func(t *testing.T) {
		kc, accepted := stalledServerConf(t)
		ready := func(*testing.T, *faultProc) bool {
			select {
			case <-accepted:
				return true
			default:
				return false
			}
		}
		stderr := signalPlugin(t, syscall.SIGTERM, []string{"KUBECONFIG=" + kc}, ready, "cleanup", "--request-timeout", "60s")
		if l := userLines(stderr); len(l) != 1 || l[0] != "interrupted" {
			t.Errorf("stderr %q, want \"interrupted\"", l)
		}
	})
	for _, sig := range signals {
		t.Run("cleanup/delete/"+sigName[sig], func(t *testing.T) {
			before := len(debugPodList(t))
			pod := hold.leftover(t, "certdoctor-leftover", false)
			sent := time.Now()
			stderr := signalPlugin(t, sig, nil, requestSent("DELETE", "/namespaces/"+hold.ns+"/pods/"+pod), "cleanup", "-n", hold.ns, "-v=7")
			if l := userLines(stderr); len(l) != 1 || l[0] != "interrupted" {
				t.Errorf("stderr %q, want \"interrupted\"", l)
			}
			time.Sleep(time.Until(sent.Add(hold.hold + 2*time.Second)))
			if n := len(debugPodList(t)); n > before+1 {
				t.Errorf("an interrupted cleanup left %d debug pods, %d before it", n, before+1)
			}
			// the leftover is still for cleanup to remove (its delete is held again, then done)
			stdout, _, code := runPlugin(t, "cleanup", "-n", hold.ns)
			if code != 0 {
				t.Errorf("cleanup after the interrupted one: exit %d\n%s", code, stdout)
			}
			requireNoDebugPods(t)
		})
	}
}
