//go:build e2e

package e2e

// The check-up under load (issue "hardening"): 10,000 TLS secrets while other clients hammer
// the API server with lists, and requests rejected by API Priority and Fairness (429).

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"golang.org/x/sync/errgroup"
)

const loadSecrets = 10000

// loadClient is a clientset without client-side rate limit, speaking protobuf (as
// test/bench/populate), optionally impersonating user.
func loadClient(t *testing.T, user string) kubernetes.Interface {
	t.Helper()
	cfg := rest.CopyConfig(restConfig)
	cfg.QPS, cfg.Burst = -1, 0
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	if user != "" {
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// createLoadSecrets creates n healthy TLS secrets in ns (each its own leaf, one shared key,
// signed by one CA) with 64 concurrent creates, and returns their names.
func createLoadSecrets(t *testing.T, ns string, n int) map[string]bool {
	t.Helper()
	start := time.Now()
	ca := newCA(t, "e2e-load-ca", start.Add(-time.Hour), start.Add(days(3650)), nil)
	key := newKey(t)
	secrets := make([]*corev1.Secret, n)
	names := make(map[string]bool, n)
	for i := range secrets {
		name := fmt.Sprintf("load-%05d", i)
		host := name + ".e2e.test"
		crt, keyPEM, _ := issue(t, ca, CertSpec{CN: host, DNS: []string{host}, Server: true, Key: key})
		secrets[i] = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels(t)}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{"tls.crt": crt, "tls.key": keyPEM}}
		names[ns+"/"+name] = true
	}
	generated := time.Since(start)
	cs := loadClient(t, "")
	// Deleted one by one, concurrently, before newNamespace's cleanup: the API server's
	// DeleteCollection deletes them one after the other (over a minute for 10,000 here).
	t.Cleanup(func() {
		start := time.Now()
		err := forEachSecret(secrets, func(ctx context.Context, s *corev1.Secret) error {
			err := cs.CoreV1().Secrets(ns).Delete(ctx, s.Name, metav1.DeleteOptions{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		})
		if err != nil {
			t.Errorf("deleting the %d secrets: %v", n, err)
		}
		t.Logf("deleted %d TLS secrets in %s", n, time.Since(start).Round(100*time.Millisecond))
	})
	began := time.Now()
	if err := forEachSecret(secrets, func(ctx context.Context, s *corev1.Secret) error {
		_, err := cs.CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{})
		return err
	}); err != nil {
		t.Fatalf("creating %d secrets: %v", n, err)
	}
	t.Logf("created %d TLS secrets in %s: certificates generated in %s, created in %s", n, ns,
		generated.Round(100*time.Millisecond), time.Since(began).Round(100*time.Millisecond))
	return names
}

// forEachSecret runs fn for every secret on 64 workers (test/bench/populate uses 32).
func forEachSecret(secrets []*corev1.Secret, fn func(context.Context, *corev1.Secret) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var g errgroup.Group
	g.SetLimit(64)
	for _, s := range secrets {
		g.Go(func() error { return fn(ctx, s) })
	}
	return g.Wait()
}

// hammer lists the secrets of ns in pages of 500 from workers goroutines until stop is
// called (at most limit): load from other clients, on the cluster's own address only.
// noRetry makes each request give up at once on a 429 instead of waiting Retry-After, so
// that a throttled hammer keeps its priority level full.
type hammer struct {
	requests, failures atomic.Int64
	stopped            atomic.Bool
	stop               func()
	wg                 sync.WaitGroup
	start              time.Time
}

func startHammer(t *testing.T, cs kubernetes.Interface, ns string, workers int, limit time.Duration, noRetry bool) *hammer {
	t.Helper()
	h := &hammer{start: time.Now()}
	end := h.start.Add(limit)
	var once sync.Once
	h.stop = func() { once.Do(func() { h.stopped.Store(true); h.wg.Wait() }) }
	t.Cleanup(h.stop)
	for w := 0; w < workers; w++ {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			cont := ""
			for !h.stopped.Load() && time.Now().Before(end) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				req := cs.CoreV1().RESTClient().Get().Namespace(ns).Resource("secrets").
					Param("limit", "500").Param("continue", cont)
				if noRetry {
					req = req.MaxRetries(0)
				}
				var l corev1.SecretList
				err := req.Do(ctx).Into(&l)
				cancel()
				h.requests.Add(1)
				if err != nil {
					h.failures.Add(1)
					cont = ""
					time.Sleep(10 * time.Millisecond) // a rejection is cheap: do not spin
					continue
				}
				cont = l.Continue
			}
		}()
	}
	return h
}

func (h *hammer) report(t *testing.T) {
	h.stop()
	t.Logf("hammer: %d list requests (%d failed) in %s", h.requests.Load(), h.failures.Load(), time.Since(h.start).Round(100*time.Millisecond))
}

// secretRecords counts the report's certificate rows of secrets in ns, failing on a secret
// listed twice or one that was not created.
func secretRecords(t *testing.T, r Report, ns string, want map[string]bool) int {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range r.Certificates {
		if c.Source != "secret" || !strings.HasPrefix(c.Name, ns+"/") {
			continue
		}
		if seen[c.Name] {
			t.Errorf("secret %s counted twice (%s)", c.Name, c.Location)
		}
		if !want[c.Name] {
			t.Errorf("secret %s in the report was never created", c.Name)
		}
		if c.Status != "OK" {
			t.Errorf("healthy secret %s has status %s", c.Name, c.Status)
		}
		seen[c.Name] = true
	}
	return len(seen)
}

// apfRejected is the API server's count of requests rejected (429) in a priority level.
func apfRejected(t *testing.T, level string) int {
	t.Helper()
	body, err := client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctxT(t))
	if err != nil {
		t.Fatalf("API server metrics: %v", err)
	}
	n := 0
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "apiserver_flowcontrol_rejected_requests_total{") && strings.Contains(l, `priority_level="`+level+`"`) {
			f := strings.Fields(l)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			n += int(v)
		}
	}
	return n
}

// throttledUser is a user bound to cluster-admin whose every request API Priority and
// Fairness puts into a priority level of one concurrency share (3 seats here) that rejects
// what does not fit at once (429 with Retry-After). It returns the user and the level.
func throttledUser(t *testing.T) (user, level string) {
	t.Helper()
	user, level = uniqueName("e2e-throttled"), uniqueName("e2e-tiny")
	ctx := ctxT(t)
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user, Labels: labels(t)},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}}}
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client.RbacV1().ClusterRoleBindings().Delete(context.Background(), user, metav1.DeleteOptions{})
	})
	fc := client.FlowcontrolV1()
	plc := &flowcontrolv1.PriorityLevelConfiguration{ObjectMeta: metav1.ObjectMeta{Name: level, Labels: labels(t)},
		Spec: flowcontrolv1.PriorityLevelConfigurationSpec{Type: flowcontrolv1.PriorityLevelEnablementLimited,
			Limited: &flowcontrolv1.LimitedPriorityLevelConfiguration{NominalConcurrencyShares: ptr.To[int32](1),
				LendablePercent: ptr.To[int32](0), BorrowingLimitPercent: ptr.To[int32](0),
				LimitResponse: flowcontrolv1.LimitResponse{Type: flowcontrolv1.LimitResponseTypeReject}}}}
	if _, err := fc.PriorityLevelConfigurations().Create(ctx, plc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = fc.PriorityLevelConfigurations().Delete(context.Background(), level, metav1.DeleteOptions{})
	})
	fs := &flowcontrolv1.FlowSchema{ObjectMeta: metav1.ObjectMeta{Name: level, Labels: labels(t)},
		Spec: flowcontrolv1.FlowSchemaSpec{PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: level},
			MatchingPrecedence:  500,
			DistinguisherMethod: &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType},
			Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects: []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindUser, User: &flowcontrolv1.UserSubject{Name: user}}},
				ResourceRules: []flowcontrolv1.ResourcePolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"},
					ClusterScope: true, Namespaces: []string{"*"}}},
				NonResourceRules: []flowcontrolv1.NonResourcePolicyRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}}}}}}
	if _, err := fc.FlowSchemas().Create(ctx, fs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fc.FlowSchemas().Delete(context.Background(), level, metav1.DeleteOptions{}) })
	// The API server's APF controller marks the schema not dangling once it uses it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := fc.FlowSchemas().Get(ctx, level, metav1.GetOptions{})
		if err == nil {
			for _, c := range got.Status.Conditions {
				if c.Type == flowcontrolv1.FlowSchemaConditionDangling && c.Status == flowcontrolv1.ConditionFalse {
					return user, level
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("FlowSchema %s not taken up by the API server: %v %+v", level, err, got)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// throttleText says whether a text names throttling (client-go's error for a 429, the API
// server's body, or the word itself).
func throttleText(s string) bool {
	s = strings.ToLower(s)
	for _, w := range []string{"too many requests", "429", "throttl", "try again later", "priority and fairness"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// requireCompleteOrThrottled: a throttled check-up either read everything (exit 0, every
// secret counted, no finding) or says that it was throttled: every finding and note about
// a request that failed names throttling, a shortfall of secrets comes with a finding of
// the secret source naming it, and a note about a throttled request is not left without a
// finding (a pass that skipped something).
func requireCompleteOrThrottled(t *testing.T, r Report, code int, ns string, want map[string]bool) {
	t.Helper()
	got := secretRecords(t, r, ns, want)
	var throttled []Finding
	for _, f := range r.Findings {
		if throttleText(f.Code + " " + f.Message + " " + f.Error) {
			throttled = append(throttled, f)
			continue
		}
		t.Errorf("a finding that is not about throttling (the cluster is healthy): %s", f)
	}
	var throttledNotes []string
	for _, n := range r.Notes {
		if throttleText(n) {
			throttledNotes = append(throttledNotes, n)
		}
	}
	t.Logf("throttled: %d of %d secrets counted, %d findings and %d notes name throttling, exit %d", got, len(want), len(throttled), len(throttledNotes), code)
	for _, f := range throttled {
		t.Logf("  finding: %s", f)
	}
	for _, n := range throttledNotes {
		t.Logf("  note: %s", n)
	}
	if len(throttled) == 0 {
		if got != len(want) {
			t.Errorf("%d of %d secrets counted and no finding says why (a silent partial pass)\n%s", got, len(want), dump(r))
		}
		if code != 0 {
			t.Errorf("exit %d without findings", code)
		}
		if len(throttledNotes) > 0 {
			t.Errorf("exit %d with no finding, although requests were refused as throttled (only notes say so): %q", code, throttledNotes)
		}
		return
	}
	if code == 0 {
		t.Errorf("exit 0 with throttling findings")
	}
	if got != len(want) {
		// the secret source's own finding, the expiry part's, or the API server's when the
		// first request (the gate before every cluster source) was refused
		ok := false
		for _, f := range throttled {
			ok = ok || f.Source == "secret" || f.Source == "apiserver" || strings.Contains(f.Subject, "expiry")
			for _, c := range f.Consequences { // throttling is one finding; the reads it left undone are listed under it
				ok = ok || strings.HasPrefix(c, "secret ") || strings.Contains(c, "expiry")
			}
		}
		if !ok {
			t.Errorf("%d of %d secrets counted, but no finding of the secret source, the expiry part or the API server names throttling\n%s", got, len(want), dump(r))
		}
	}
}

// runThrottled runs the plugin with -o json -v=6 (each request and its status, to say where
// a run that does not end waits) and gives it 45 s: a run that has no result by then fails
// the test and is interrupted. ok is false when there is no report to check.
func runThrottled(t *testing.T, args ...string) (r Report, code int, ok bool) {
	t.Helper()
	p := startFaultPlugin(t, nil, append(args, "-o", "json", "-v=6")...)
	const bound = 45 * time.Second
	select {
	case <-p.done:
	case <-time.After(bound):
	}
	finished := p.exited()
	if !finished {
		stderr := p.err.String()
		t.Errorf("%v under persistent throttling has no result after %s (%d requests answered 429 so far); its last requests:\n%s",
			args, bound, strings.Count(stderr, "429 Too Many Requests"), outputTail(stderr, 15))
		_ = p.cmd.Process.Signal(os.Interrupt)
	}
	stdout, stderr, code := p.wait(t, 20*time.Second)
	t.Logf("%v under a throttled hammer: exit %d after %s; %d of its requests answered 429",
		args, code, time.Since(p.start).Round(100*time.Millisecond), strings.Count(stderr, "429 Too Many Requests"))
	if !finished {
		if code != 130 {
			t.Errorf("interrupted after %s: exit %d, want 130", bound, code)
		}
		return Report{}, code, false
	}
	rp := parseReportIfAny(t, stdout)
	if rp == nil {
		t.Errorf("exit %d without a report; stderr:\n%s", code, outputTail(stderr, 15))
		return Report{}, code, false
	}
	return *rp, code, true
}

// requireThrottledNotPassed: a report whose notes say requests were refused as throttled
// has a finding naming throttling and does not exit 0.
func requireThrottledNotPassed(t *testing.T, r Report, code int) {
	t.Helper()
	var notes []string
	for _, n := range r.Notes {
		if throttleText(n) {
			notes = append(notes, n)
		}
	}
	found := false
	for _, f := range r.Findings {
		found = found || throttleText(f.Code+" "+f.Message+" "+f.Error)
	}
	if len(notes) > 0 && (!found || code == 0) {
		t.Errorf("exit %d; requests were refused as throttled (%q) but no finding names throttling: a pass on what could not be read\n%s", code, notes, dump(r))
	}
}

// outputTail is the end of a long output.
func outputTail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

func TestLoad(t *testing.T) {
	start := time.Now()
	ns := newNamespace(t)
	want := createLoadSecrets(t, ns, loadSecrets)
	requireNoDebugPods(t)

	// The check-up (every part, the node's debug pod included) while 8 other clients list
	// the 10,000 secrets over and over: every secret is counted, the cluster is healthy.
	t.Run("hammered", func(t *testing.T) {
		h := startHammer(t, loadClient(t, ""), ns, 8, 100*time.Second, false)
		time.Sleep(time.Second) // the hammer is at full speed
		began := time.Now()
		r, code := runJSON(t)
		took := time.Since(began)
		h.report(t)
		wantExit(t, r, code, 0)
		requireNoFindings(t, r)
		if n := len(findFindings(r, "SourceFailed", nil)); n > 0 {
			t.Errorf("%d SourceFailed findings under load", n)
		}
		if got := secretRecords(t, r, ns, want); got != loadSecrets {
			t.Errorf("%d of %d secrets in the report", got, loadSecrets)
		}
		if p := checkupParts(t, r); p["expiry"] != "ran" || p["sans"] != "ran" || p["webhook"] != "ran" {
			t.Errorf("parts %v", p)
		}
		requireSources(t, r, "kubeconfig", "apiserver", "node", "secret", "configmap")
		t.Logf("check-up of %d+ secrets under load: %s", loadSecrets, took.Round(100*time.Millisecond))
		requireNoDebugPods(t)
	})

	// API Priority and Fairness: the check-up as a user whose requests get 3 seats and a 429
	// for anything more; certdoctor's own concurrent lists overflow them. client-go waits
	// Retry-After and tries again (10 times): the result is complete, or says it was throttled.
	user, level := throttledUser(t)
	t.Run("apf 429 retried", func(t *testing.T) {
		before := apfRejected(t, level)
		began := time.Now()
		r, code := runJSON(t, "--as", user)
		took := time.Since(began)
		rejected := apfRejected(t, level) - before
		t.Logf("check-up as %s: exit %d in %s; the API server rejected %d of its requests (429)", user, code, took.Round(100*time.Millisecond), rejected)
		if rejected == 0 {
			t.Fatalf("the check-up was never throttled (priority level %s rejected nothing): the scenario did not happen", level)
		}
		requireCompleteOrThrottled(t, r, code, ns, want)
		requireNoDebugPods(t)
	})

	// The same user's other clients keep the 3 seats full (lists of the 10,000 secrets that
	// give up at once when rejected): certdoctor's requests are rejected again and again, and
	// client-go's retries can run out. It must not pass on a partial read, nor crash.
	t.Run("apf 429 persistent", func(t *testing.T) {
		before := apfRejected(t, level)
		h := startHammer(t, loadClient(t, user), ns, 8, 100*time.Second, true)
		time.Sleep(time.Second)
		r, code, ok := runThrottled(t, "--as", user)
		if ok {
			requireCompleteOrThrottled(t, r, code, ns, want)
		}
		// sans alone (no debug pods): what it cannot derive from the cluster is a note; a
		// run whose requests were all refused must still not pass.
		if r, code, ok := runThrottled(t, "sans", "--skip-nodes", "--as", user); ok {
			requireThrottledNotPassed(t, r, code)
		}
		h.report(t)
		t.Logf("%d requests rejected (429) in the level %s", apfRejected(t, level)-before, level)
		requireNoDebugPods(t)
	})
	t.Logf("TestLoad body: %s (namespace deletion follows)", time.Since(start).Round(100*time.Millisecond))
}
