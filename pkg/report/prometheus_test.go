package report

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// promtoolPath is Prometheus's own checker: Debian's prometheus package, which
// hack/e2e/install-deps.sh installs (make test runs it first). CI must have it; a
// developer without it still gets client_golang's promlint, the linter promtool runs.
func promtoolPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PROMTOOL"); p != "" {
		return p
	}
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("promtool not found (run hack/e2e/install-deps.sh): %v", err)
		}
		t.Logf("promtool not found: only promlint checks the output (install it with hack/e2e/install-deps.sh)")
		return ""
	}
	return p
}

// promtool runs promtool with args and text on stdin, failing the test when it objects.
func promtool(t *testing.T, text string, args ...string) {
	t.Helper()
	p := promtoolPath(t)
	if p == "" {
		return
	}
	cmd := exec.Command(p, args...)
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool %s: %v\n%s\ninput:\n%s", strings.Join(args, " "), err, out, text)
	}
}

// render prints r as -o prometheus, checks it with promlint and promtool check metrics,
// and parses it back.
func render(t *testing.T, r *result.Report, o Options) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	o.Format = FormatPrometheus
	var buf bytes.Buffer
	if err := PrintWith(&buf, r, o); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	problems, err := promlint.New(strings.NewReader(text)).Lint()
	if err != nil || len(problems) > 0 {
		t.Fatalf("promlint: %v %v\n%s", err, problems, text)
	}
	promtool(t, text, "check", "metrics")
	return text, parse(t, text)
}

func parse(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	return mfs
}

// seriesOf renders a family's series as `{a="x",b="y"} value`, sorted, for comparison.
func seriesOf(mfs map[string]*dto.MetricFamily, name string) []string {
	var out []string
	for _, m := range mfs[name].GetMetric() {
		var ls []string
		for _, l := range m.GetLabel() {
			ls = append(ls, l.GetName()+"="+l.GetValue())
		}
		sort.Strings(ls)
		out = append(out, "{"+strings.Join(ls, ",")+"} "+model.SampleValue(m.GetGauge().GetValue()).String())
	}
	sort.Strings(out)
	return out
}

func wantSeries(t *testing.T, mfs map[string]*dto.MetricFamily, name string, want ...string) {
	t.Helper()
	got := seriesOf(mfs, name)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got %q\nwant %q", name, got, want)
	}
}

var build = Build{Version: "v1.2.3", Commit: "abc123", GoVersion: "go1.26.8"}

func TestPrometheusExpiry(t *testing.T) {
	ca := certstest.NewCA("cluster-ca")
	soon := ca.Issue(certstest.Opts{CN: "web", DNS: []string{"web"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 24 * time.Hour)})
	later := ca.Issue(certstest.Opts{CN: "web", DNS: []string{"web"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour)})
	sec := func(p *certstest.Pair) result.Record {
		r := record("tls.crt", p, nil)
		r.Source, r.Name, r.Location, r.Node = result.SourceSecret, "default/web-tls", "secret default/web-tls tls.crt", ""
		return r
	}
	// Two records with every label the same (one secret read twice, renewed in between:
	// the serial is forced equal): one series, the sooner expiry.
	a, b := sec(later), sec(soon)
	b.Serial = a.Serial
	node := record("apiserver.crt", later, &result.KubeadmRow{Table: result.TableCertificates, Name: "apiserver"})
	node.Source = result.SourceNode
	missing := record("front-proxy-client.crt", nil, nil)
	f := result.Finding{Severity: result.Warning, Code: "CertificateExpiring", Source: result.SourceSecret, Subject: "secret default/web-tls", Message: "m"}
	r := result.NewReport("expiry", now, []result.Record{a, b, node, missing}, []result.Finding{f}, nil)
	r.Seconds = 2.5

	_, mfs := render(t, r, Options{Cluster: "prod", Build: build})
	cert := func(p *certstest.Pair, labels string) string {
		return "{" + labels + "} " + model.SampleValue(float64(p.Cert.NotAfter.Unix())).String()
	}
	wantSeries(t, mfs, metricNotAfter,
		cert(soon, "cluster=prod,issuer=cluster-ca,location=secret default/web-tls tls.crt,name=web-tls,namespace=default,node=,serial="+a.Serial+",source=secret,subject=web"),
		cert(later, "cluster=prod,issuer=cluster-ca,location=/etc/kubernetes/pki/apiserver.crt,name=apiserver.crt,namespace=,node=cp1,serial="+node.Serial+",source=node,subject=web"))
	if n := len(mfs[metricNotBefore].GetMetric()); n != 2 {
		t.Errorf("%d notBefore series, want 2", n)
	}
	// The MISSING record has no timestamp but is counted.
	wantSeries(t, mfs, metricCertificates,
		"{cluster=prod,source=local,status=MISSING} 1", "{cluster=prod,source=node,status=OK} 1",
		"{cluster=prod,source=secret,status=EXPIRING} 1", "{cluster=prod,source=secret,status=OK} 1")
	wantSeries(t, mfs, metricFinding, "{cluster=prod,code=CertificateExpiring,severity=warning,source=secret,subject=secret default/web-tls} 1")
	wantSeries(t, mfs, metricFindings, "{cluster=prod,severity=critical} 0", "{cluster=prod,severity=warning} 1")
	wantSeries(t, mfs, metricCheckSuccess, "{check=expiry,cluster=prod} 1")
	wantSeries(t, mfs, metricCheckDuration, "{check=expiry,cluster=prod} 2.5")
	wantSeries(t, mfs, metricBuildInfo, "{cluster=prod,commit=abc123,goversion=go1.26.8,version=v1.2.3} 1")
	wantSeries(t, mfs, metricLastRun, "{cluster=prod} "+model.SampleValue(float64(now.UnixMilli())/1000).String())
	if _, ok := mfs[metricCheckSkipped]; ok {
		t.Error("a single command has no skipped checks")
	}
}

func TestPrometheusCheckupParts(t *testing.T) {
	f := result.Finding{Severity: result.Critical, Code: "SourceFailed", Source: "webhook", Subject: "webhook check", Message: "m"}
	r := result.NewReport("checkup", now, nil, []result.Finding{f}, nil)
	r.Parts = []result.Part{
		{Command: "expiry", Status: result.PartRan, Seconds: 1.25},
		{Command: "sans", Status: result.PartRan, Seconds: 0.5},
		{Command: "webhook", Status: result.PartFailed, Detail: "forbidden", Seconds: 0.75},
		{Command: "workload-identity", Status: result.PartSkipped, Detail: "not a GKE cluster"},
	}
	_, mfs := render(t, r, Options{Cluster: "kind-kind", Build: build})
	wantSeries(t, mfs, metricCheckSuccess, "{check=expiry,cluster=kind-kind} 1", "{check=sans,cluster=kind-kind} 1", "{check=webhook,cluster=kind-kind} 0")
	wantSeries(t, mfs, metricCheckDuration, "{check=expiry,cluster=kind-kind} 1.25", "{check=sans,cluster=kind-kind} 0.5", "{check=webhook,cluster=kind-kind} 0.75")
	wantSeries(t, mfs, metricCheckSkipped, "{check=workload-identity,cluster=kind-kind} 1")
	wantSeries(t, mfs, metricFindings, "{cluster=kind-kind,severity=critical} 1", "{cluster=kind-kind,severity=warning} 0")
}

// What a certificate or an object name may hold reaches the labels escaped as the tables
// show it, never refused: bytes that are not UTF-8, control characters, quotes, a newline.
func TestPrometheusHostileLabels(t *testing.T) {
	p := certstest.NewCA("ca").Issue(certstest.Opts{CN: "x", DNS: []string{"x"}})
	rec := record("tls.crt", p, nil)
	rec.Source, rec.Name, rec.Location = result.SourceSecret, "ns/na\"me", "secret ns/na\"me tls.crt"
	rec.Subject, rec.Issuer = "evil\x1b[2J\xff\u202e", "line\nbreak\\"
	f := result.Finding{Severity: result.Critical, Code: "CertificateExpired", Source: result.SourceSecret,
		Subject: "secret \"q\"\xfe\x00", Message: "m"}
	r := result.NewReport("expiry", now, []result.Record{rec}, []result.Finding{f}, nil)
	_, mfs := render(t, r, Options{Cluster: "c\xff", Build: build})
	m := mfs[metricNotAfter].GetMetric()
	if len(m) != 1 {
		t.Fatalf("%d series", len(m))
	}
	got := map[string]string{}
	for _, l := range m[0].GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	want := map[string]string{"subject": `evil\x1b[2J\xff\u202e`, "issuer": `line\nbreak\`, "name": `na"me`, "namespace": "ns", "cluster": `c\xff`}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("label %s = %q, want %q", k, got[k], v)
		}
	}
	wantSeries(t, mfs, metricFinding, `{cluster=c\xff,code=CertificateExpired,severity=critical,source=secret,subject=secret "q"\xfe\x00} 1`)
}

func TestPrometheusEmptyReport(t *testing.T) {
	r := result.NewReport("cleanup", now, nil, nil, nil)
	_, mfs := render(t, r, Options{Cluster: "kind", Build: build})
	for _, name := range []string{metricNotAfter, metricNotBefore, metricCertificates, metricFinding, metricCheckSkipped} {
		if _, ok := mfs[name]; ok {
			t.Errorf("%s in an empty report", name)
		}
	}
	wantSeries(t, mfs, metricFindings, "{cluster=kind,severity=critical} 0", "{cluster=kind,severity=warning} 0")
	wantSeries(t, mfs, metricCheckSuccess, "{check=cleanup,cluster=kind} 1")
}

// A report across contexts: each item's own cluster, and the run's series once per cluster.
func TestPrometheusClusters(t *testing.T) {
	f := func(c string, s result.Severity) result.Finding {
		return result.Finding{Severity: s, Code: "CertificateExpired", Source: "secret", Subject: "secret a/b", Message: "m", Cluster: c}
	}
	r := result.NewReport("expiry", now, nil, []result.Finding{f("a", result.Critical), f("b", result.Warning)}, nil)
	r.Targets = []result.Target{{Context: "a"}, {Context: "b"}, {Context: "c"}}
	_, mfs := render(t, r, Options{Cluster: "a", Build: build})
	wantSeries(t, mfs, metricFindings, "{cluster=a,severity=critical} 1", "{cluster=a,severity=warning} 0",
		"{cluster=b,severity=critical} 0", "{cluster=b,severity=warning} 1", "{cluster=c,severity=critical} 0", "{cluster=c,severity=warning} 0")
	if n := len(mfs[metricBuildInfo].GetMetric()); n != 3 {
		t.Errorf("%d build_info series, want one per cluster", n)
	}
}

func TestPrometheusRefusesExplain(t *testing.T) {
	r := result.NewReport("explain", now, nil, nil, nil)
	r.Explanations = []result.Explanation{{Code: "CertificateExpired"}}
	if err := PrintWith(io.Discard, r, Options{Format: FormatPrometheus}); !errors.Is(err, errExplainMetrics) {
		t.Fatalf("explain -o prometheus: %v", err)
	}
}

// pushRequest is what the test Pushgateway received.
type pushRequest struct {
	method, path string
	families     map[string]*dto.MetricFamily
}

func pushgateway(t *testing.T, status int) (*httptest.Server, func() []pushRequest) {
	var mu sync.Mutex
	var got []pushRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		dec := expfmt.NewDecoder(req.Body, expfmt.ResponseFormat(req.Header))
		fams := map[string]*dto.MetricFamily{}
		for {
			var mf dto.MetricFamily
			if err := dec.Decode(&mf); err != nil {
				if err != io.EOF {
					t.Errorf("push body: %v", err)
				}
				break
			}
			fams[mf.GetName()] = &mf
		}
		mu.Lock()
		got = append(got, pushRequest{req.Method, req.URL.EscapedPath(), fams})
		mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []pushRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]pushRequest(nil), got...)
	}
}

func TestPush(t *testing.T) {
	srv, got := pushgateway(t, http.StatusOK)
	f := result.Finding{Severity: result.Critical, Code: "CertificateExpired", Source: "secret", Subject: "secret a/b", Message: "m", Cluster: "ctx/two"}
	mine := f
	mine.Cluster, mine.Severity = "", result.Warning // o.Cluster's
	r := result.NewReport("expiry", now, nil, []result.Finding{f, mine}, nil)
	if err := Push(context.Background(), srv.Client(), srv.URL, r, Options{Cluster: "one", Build: build}); err != nil {
		t.Fatal(err)
	}
	reqs := got()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want one per cluster: %+v", len(reqs), reqs)
	}
	// The Pushgateway's own encoding of a value holding "/": base64 under cluster@base64.
	wantPaths := map[string]string{"/metrics/job/certdoctor/cluster@base64/Y3R4L3R3bw": "ctx/two", "/metrics/job/certdoctor/cluster/one": "one"}
	for _, req := range reqs {
		cluster, ok := wantPaths[req.path]
		if req.method != http.MethodPut || !ok {
			t.Fatalf("%s %s", req.method, req.path)
		}
		for name, mf := range req.families {
			for _, m := range mf.GetMetric() {
				if labelOf(m, "cluster") != "" {
					t.Errorf("%s %s: the group's key carries the cluster, the series must not", req.path, name)
				}
			}
		}
		critical := 0.0
		for _, m := range req.families[metricFindings].GetMetric() {
			if labelOf(m, "severity") == "critical" {
				critical = m.GetGauge().GetValue()
			}
		}
		if want := map[string]float64{"one": 0, "ctx/two": 1}[cluster]; critical != want {
			t.Errorf("cluster %s: %v critical findings, want %v", cluster, critical, want)
		}
		if _, ok := req.families[metricBuildInfo]; !ok {
			t.Errorf("cluster %s: no build_info", cluster)
		}
	}
}

func TestPushFailure(t *testing.T) {
	srv, _ := pushgateway(t, http.StatusBadRequest)
	r := result.NewReport("expiry", now, nil, nil, nil)
	err := Push(context.Background(), srv.Client(), srv.URL, r, Options{Cluster: "one"})
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("push to a refusing gateway: %v", err)
	}
}

// The example alerts of docs/output.md are valid rules.
func TestAlertRules(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "prometheus-alerts.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{metricNotAfter, metricFindings, metricCheckSuccess, metricLastRun} {
		if !bytes.Contains(b, []byte(name)) {
			t.Errorf("%s has no rule on %s", path, name)
		}
	}
	p := promtoolPath(t)
	if p == "" {
		return
	}
	if out, err := exec.Command(p, "check", "rules", path).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}
