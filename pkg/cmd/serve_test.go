package cmd

import (
	"bufio"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// serveRun is one scripted check-up of fakeServe: its report or error, and a channel that
// holds it until the test lets it finish (nil: finish at once).
type serveRun struct {
	r       *result.Report
	err     error
	release chan struct{}
}

// fakeServe is serve with the check-up and the renderer replaced, on a listener of
// 127.0.0.1:0 and a tick channel the test drives.
type fakeServe struct {
	o       *ServeOptions
	addr    string
	ticks   chan time.Time
	runs    chan serveRun // the next run's script, taken when a run starts
	started chan struct{} // a run started
	done    chan struct{} // a run's outcome was recorded
	calls   atomic.Int32
	renders atomic.Int32
	cancel  context.CancelFunc
	served  chan error
	errOut  interface{ String() string }
}

var serveNow = time.Date(2026, 11, 24, 22, 40, 0, 500_000_000, time.UTC)

func startServe(t *testing.T) *fakeServe {
	t.Helper()
	streams, _, _, errOut := genericiooptions.NewTestIOStreams()
	common := NewCommonOptions(streams)
	common.Now = func() time.Time { return serveNow }
	f := &fakeServe{o: NewServeOptions(common), ticks: make(chan time.Time), runs: make(chan serveRun, 8),
		started: make(chan struct{}, 8), done: make(chan struct{}, 8), served: make(chan error, 1), errOut: errOut}
	f.o.check = func(ctx context.Context) (*result.Report, error) {
		f.calls.Add(1)
		f.started <- struct{}{}
		run := <-f.runs
		if run.release != nil {
			select {
			case <-run.release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return run.r, run.err
	}
	f.o.render = func(w io.Writer, r *result.Report) error {
		n := f.renders.Add(1)
		_, err := fmt.Fprintf(w, "# HELP certdoctor_fake_findings Findings.\n# TYPE certdoctor_fake_findings gauge\ncertdoctor_fake_findings{render=\"%d\"} %d\n", n, r.Summary.Findings)
		return err
	}
	f.o.afterRun = func() { f.done <- struct{}{} }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go func() { f.served <- f.o.serve(ctx, ln, f.ticks) }()
	t.Cleanup(func() {
		cancel()
		<-f.served
	})
	return f
}

// stop cancels serve (as SIGTERM does) and returns what serve returned.
func (f *fakeServe) stop(t *testing.T) error {
	t.Helper()
	f.cancel()
	select {
	case err := <-f.served:
		f.served <- err // for the cleanup
		return err
	case <-time.After(time.Minute):
		t.Fatal("serve did not return after its context was cancelled")
	}
	return nil
}

func (f *fakeServe) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + f.addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// scrape returns /metrics as sample name{labels} -> value, after checking the exposition.
func (f *fakeServe) scrape(t *testing.T) map[string]string {
	t.Helper()
	code, body := f.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	return checkExposition(t, body)
}

var (
	metricLine = regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*)(\{[^}]*\})? (\S+)$`)
	commentRe  = regexp.MustCompile(`^# (HELP|TYPE) ([a-zA-Z_][a-zA-Z0-9_]*) (.+)$`)
)

// checkExposition holds body to what promtool check metrics requires of the text format:
// every family's HELP and TYPE once, before its samples, and its samples together.
func checkExposition(t *testing.T, body string) map[string]string {
	t.Helper()
	samples := map[string]string{}
	seen := map[string]map[string]bool{}
	current := ""
	closed := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if m := commentRe.FindStringSubmatch(line); m != nil {
			if seen[m[2]] == nil {
				seen[m[2]] = map[string]bool{}
			}
			if seen[m[2]][m[1]] || closed[m[2]] {
				t.Errorf("%s %s declared twice:\n%s", m[1], m[2], body)
			}
			seen[m[2]][m[1]] = true
			if current != "" && current != m[2] {
				closed[current] = true
			}
			current = m[2]
			continue
		}
		m := metricLine.FindStringSubmatch(line)
		switch {
		case m == nil:
			t.Errorf("not a sample line: %q", line)
		case m[1] != current || !seen[m[1]]["TYPE"] || !seen[m[1]]["HELP"]:
			t.Errorf("sample %s outside its family (HELP and TYPE first):\n%s", m[1], body)
		default:
			samples[m[1]+m[2]] = m[3]
		}
	}
	return samples
}

func (f *fakeServe) wait(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(time.Minute):
		t.Fatalf("timed out waiting for %s; log:\n%s", what, f.errOut.String())
	}
}

func findingsReport(n int) *result.Report {
	var fs []result.Finding
	for range n {
		fs = append(fs, result.Finding{Severity: result.Warning})
	}
	return result.NewReport("checkup", serveNow, nil, fs, nil)
}

// Before the first check-up ends /metrics is 200 with serve's counters only; a good run
// is rendered once and served to every scrape; a failed run (an error, or no report)
// keeps the last good rendering and sets last_run_success to 0.
func TestServeScrapes(t *testing.T) {
	f := startServe(t)
	release := make(chan struct{})
	f.runs <- serveRun{r: findingsReport(2), release: release}
	f.wait(t, f.started, "the first run")

	m := f.scrape(t)
	if _, ok := m["certdoctor_serve_last_run_success"]; ok {
		t.Errorf("last_run_success before any run finished: %v", m)
	}
	if m[`certdoctor_serve_runs_total{result="success"}`] != "0" || m[`certdoctor_serve_runs_total{result="failure"}`] != "0" {
		t.Errorf("runs_total before the first run: %v", m)
	}
	if code, body := f.get(t, "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := f.get(t, "/"); code != 200 || !strings.Contains(body, `href="/metrics"`) {
		t.Errorf("/: %d %q", code, body)
	}
	if code, _ := f.get(t, "/other"); code != http.StatusNotFound {
		t.Errorf("/other: %d", code)
	}

	close(release)
	f.wait(t, f.done, "the first run's outcome")
	for range 3 {
		m = f.scrape(t)
	}
	want := map[string]string{
		`certdoctor_fake_findings{render="1"}`:            "2",
		"certdoctor_serve_last_run_success":               "1",
		`certdoctor_serve_runs_total{result="success"}`:   "1",
		`certdoctor_serve_runs_total{result="failure"}`:   "0",
		"certdoctor_serve_last_success_timestamp_seconds": "1795560000.5",
		"certdoctor_serve_run_duration_seconds":           "0", // the clock is pinned
		"certdoctor_serve_skipped_runs_total":             "0",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("after a good run %s = %q, want %q\n%v", k, m[k], v, m)
		}
	}
	if n := f.renders.Load(); n != 1 {
		t.Errorf("rendered %d times for one run and 3 scrapes", n)
	}

	// A failing run, then one that returns no report: the good result stays.
	f.runs <- serveRun{err: errors.New("the API server\nis gone")}
	f.ticks <- serveNow
	f.wait(t, f.done, "the failing run")
	f.runs <- serveRun{}
	f.ticks <- serveNow
	f.wait(t, f.done, "the run without a report")
	m = f.scrape(t)
	for k, v := range map[string]string{
		`certdoctor_fake_findings{render="1"}`:            "2",
		"certdoctor_serve_last_run_success":               "0",
		`certdoctor_serve_runs_total{result="success"}`:   "1",
		`certdoctor_serve_runs_total{result="failure"}`:   "2",
		"certdoctor_serve_last_success_timestamp_seconds": "1795560000.5",
	} {
		if m[k] != v {
			t.Errorf("after failed runs %s = %q, want %q\n%v", k, m[k], v, m)
		}
	}
	if f.renders.Load() != 1 {
		t.Errorf("a failed run was rendered")
	}
	if err := f.stop(t); err != nil {
		t.Fatalf("serve returned %v after a requested stop", err)
	}
	log := f.errOut.String()
	for _, line := range []string{
		"certdoctor serve: check-up finished in 0s: 2 findings (0 critical, 2 warning)",
		"certdoctor serve: check-up failed after 0s: the API server is gone; /metrics keeps the result of 2026-11-24T22:40:00Z",
		"certdoctor serve: check-up failed after 0s: the check-up returned no report;",
	} {
		if !strings.Contains(log, line) {
			t.Errorf("log has no line %q:\n%s", line, log)
		}
	}
}

// A check-up still running when ticks come: each tick is skipped and counted, and no
// second check-up starts; after it finishes the next tick starts one.
func TestServeSkipsOverlappingRuns(t *testing.T) {
	f := startServe(t)
	release := make(chan struct{})
	f.runs <- serveRun{r: findingsReport(0), release: release}
	f.wait(t, f.started, "the first run")
	// The tick channel is unbuffered: once the third send returns, the loop has handled
	// the first two.
	for range 3 {
		f.ticks <- serveNow
	}
	if m := f.scrape(t); (m["certdoctor_serve_skipped_runs_total"] != "2" && m["certdoctor_serve_skipped_runs_total"] != "3") || f.calls.Load() != 1 {
		t.Errorf("%d check-ups started, skipped %s", f.calls.Load(), m["certdoctor_serve_skipped_runs_total"])
	}
	close(release)
	f.wait(t, f.done, "the first run's outcome")
	f.runs <- serveRun{r: findingsReport(0)}
	f.ticks <- serveNow
	f.wait(t, f.done, "the second run")
	if err := f.stop(t); err != nil {
		t.Fatal(err)
	}
	if n := f.calls.Load(); n != 2 {
		t.Errorf("%d check-ups, want 2", n)
	}
	if got := strings.Count(f.errOut.String(), "the previous check-up is still running: skipped this one"); got != 3 {
		t.Errorf("%d skip lines, want 3:\n%s", got, f.errOut.String())
	}
}

// A stop while a check-up runs: the check-up's context is cancelled (the check-up then
// deletes its debug pods), the run is not counted as a failure, the server closes and
// serve returns nil (exit 0).
func TestServeShutdown(t *testing.T) {
	f := startServe(t)
	f.runs <- serveRun{release: make(chan struct{})} // returns only when cancelled
	f.wait(t, f.started, "the run")
	if err := f.stop(t); err != nil {
		t.Fatalf("serve returned %v", err)
	}
	f.wait(t, f.done, "the cancelled run")
	if _, err := http.Get("http://" + f.addr + "/healthz"); err == nil {
		t.Error("the server still answers after a stop")
	}
	log := f.errOut.String()
	if !strings.Contains(log, "check-up stopped after 0s: shutting down") || !strings.HasSuffix(log, "certdoctor serve: stopped\n") || strings.Contains(log, "failed") {
		t.Errorf("log:\n%s", log)
	}
}

// serve's own flags are checked before anything is served; an address that cannot be
// listened on is an error before any check-up.
func TestServeBadFlags(t *testing.T) {
	tree := certstest.WriteKubeadmTree(t.TempDir(), "https://127.0.0.1:1")
	local := []string{"serve", "--local", "--pki-dir", tree.PKIDir(), "--kubeconfig-dir", tree.KubeconfigDir(), "--kubelet-pki-dir", tree.KubeletPKIDir()}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "9410"}, `--listen "9410": want HOST:PORT with a port number`},
		{[]string{"--listen", ":http"}, `--listen ":http": want HOST:PORT`},
		{[]string{"--listen", ":70000"}, `--listen ":70000"`},
		{[]string{"--interval", "30s"}, "--interval 30s: a check-up at most once a minute"},
		{[]string{"-o", "json"}, "serve always serves Prometheus metrics: -o json does not apply"},
		{[]string{"--wait", "1m"}, "unknown flag: --wait"},
		{[]string{"--pushgateway", "http://127.0.0.1:9091"}, "serve is scraped on /metrics: --pushgateway is for one check-up"},
		{[]string{"--only", "nodes"}, `unknown check "nodes"`},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, stderr, code := run(t, append(append([]string{}, local...), tt.args...)...)
			if code != result.ExitFailed || !strings.Contains(stderr, tt.want) || strings.Contains(stderr, "\n") {
				t.Errorf("exit %d, stderr %q; want exit 1 and one line with %q", code, stderr, tt.want)
			}
		})
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, addr := range []string{busy.Addr().String(), "10.255.255.1:9410"} { // in use; not this machine's
		streams, _, _, _ := genericiooptions.NewTestIOStreams()
		o := NewServeOptions(NewCommonOptions(streams))
		o.Listen = addr
		o.check = func(context.Context) (*result.Report, error) {
			t.Error("a check-up ran although serve could not listen")
			return nil, nil
		}
		err := o.Run(context.Background())
		if err == nil || !strings.HasPrefix(err.Error(), "--listen "+addr+": listen tcp") || ExitCode(err) != result.ExitFailed {
			t.Errorf("--listen %s: %v", addr, err)
		}
	}
}

// serve takes the check-up's flags, and its default check is the check-up itself, its
// default renderer -o prometheus: here --local on a kubeadm tree, scraped over HTTP.
func TestServeRunsTheCheckup(t *testing.T) {
	tree := certstest.WriteKubeadmTree(t.TempDir(), "https://127.0.0.1:6443")
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	o := NewServeOptions(NewCommonOptions(streams))
	cmd := newCmdServe(o)
	if err := cmd.ParseFlags([]string{"--local", "--pki-dir", tree.PKIDir(), "--kubeconfig-dir", tree.KubeconfigDir(),
		"--kubelet-pki-dir", tree.KubeletPKIDir(), "--only", "expiry", "--skip-nodes", "--interval", "2h", "--listen", "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	if err := o.Complete(cmd); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if !o.checkup.expiry.Nodes.Skip || !o.checkup.expiry.Local.Enabled || o.Interval != 2*time.Hour || !o.checkup.want[partExpiry] || o.checkup.want[partSANs] {
		t.Fatalf("flags did not reach the check-up: %+v %v", o.checkup.expiry.Nodes, o.checkup.want)
	}
	o.checkup.expiry.served = func(_ context.Context, _ string, onDisk *x509.Certificate) ([]*x509.Certificate, string, error) {
		return []*x509.Certificate{onDisk}, "127.0.0.1", nil
	}
	done := make(chan struct{}, 1)
	o.afterRun = func() { done <- struct{}{} }
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServe{o: o, addr: ln.Addr().String(), errOut: streams.ErrOut.(interface{ String() string })}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- o.serve(ctx, ln, nil) }()
	f.wait(t, done, "the check-up")
	_, body := f.get(t, "/metrics")
	m := checkExposition(t, body)
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if m["certdoctor_serve_last_run_success"] != "1" || !strings.Contains(body, "\ncertdoctor_check_success{") ||
		!strings.Contains(body, "\ncertdoctor_certificate_not_after_timestamp_seconds{") {
		t.Errorf("/metrics after a check-up of the tree:\n%s\nlog:\n%s", body, f.errOut.String())
	}
	if !strings.Contains(f.errOut.String(), "check-up finished in ") {
		t.Errorf("log:\n%s", f.errOut.String())
	}
}
