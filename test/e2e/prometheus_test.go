//go:build e2e

package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
)

// promMetrics checks -o prometheus output with promtool (installed by install-deps.sh)
// and parses it back.
func promMetrics(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (hack/e2e/install-deps.sh installs it): %v", err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s\n%s", err, out, text)
	}
	return parseMetrics(t, strings.NewReader(text))
}

func parseMetrics(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("parsing the metrics: %v", err)
	}
	return mfs
}

func metricLabel(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func currentContext(t *testing.T) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(kubeconf)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.CurrentContext
}

// The check-up of the healthy cluster as metrics: no finding series, zero counts, every
// part a success, under the context's cluster label; and the same metrics pushed to a
// Pushgateway (a stand-in on 127.0.0.1).
func TestPrometheusHealthy(t *testing.T) {
	var mu sync.Mutex
	var pushed []string
	var pushedFams map[string]*dto.MetricFamily
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		fams := parseMetrics(t, req.Body)
		mu.Lock()
		pushed, pushedFams = append(pushed, req.Method+" "+req.URL.EscapedPath()), fams
		mu.Unlock()
	}))
	defer gw.Close()

	stdout, stderr, code := runPlugin(t, "-o", "prometheus", "--pushgateway", gw.URL)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stderr, stdout)
	}
	mfs := promMetrics(t, stdout)
	cluster := currentContext(t)
	if fs := mfs["certdoctor_finding"].GetMetric(); len(fs) != 0 {
		t.Errorf("%d finding series on a healthy cluster: %v", len(fs), fs)
	}
	for _, m := range mfs["certdoctor_findings"].GetMetric() {
		if m.GetGauge().GetValue() != 0 || metricLabel(m, "cluster") != cluster {
			t.Errorf("findings %v, want 0 for cluster %q", m, cluster)
		}
	}
	if n := len(mfs["certdoctor_findings"].GetMetric()); n != 2 {
		t.Errorf("%d certdoctor_findings series, want warning and critical", n)
	}
	ran := map[string]bool{}
	for _, m := range mfs["certdoctor_check_success"].GetMetric() {
		ran[metricLabel(m, "check")] = m.GetGauge().GetValue() == 1
	}
	for _, part := range []string{"expiry", "sans", "webhook"} {
		if !ran[part] {
			t.Errorf("check_success{check=%q} is not 1: %v", part, ran)
		}
	}
	certs := mfs["certdoctor_certificate_not_after_timestamp_seconds"].GetMetric()
	if len(certs) == 0 {
		t.Fatal("no certificate series")
	}
	for _, m := range certs {
		if left := time.Until(time.Unix(int64(m.GetGauge().GetValue()), 0)); left <= 0 {
			t.Errorf("healthy cluster, expired certificate series: %v", m)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if want := "PUT /metrics/job/certdoctor/cluster/" + url.QueryEscape(cluster); len(pushed) != 1 || pushed[0] != want {
		t.Fatalf("pushed %q, want %q", pushed, want)
	}
	if n := len(pushedFams["certdoctor_certificate_not_after_timestamp_seconds"].GetMetric()); n != len(certs) {
		t.Errorf("pushed %d certificate series, printed %d", n, len(certs))
	}
}

// An expired TLS secret: its finding series, and its certificate's notAfter in the past.
func TestPrometheusExpiredSecret(t *testing.T) {
	ns := newNamespace(t)
	createSecret(t, ns, "expired-tls", corev1.SecretTypeTLS, tlsSecretData(t, "expired.e2e.test", time.Now().Add(-days(1))))
	stdout, stderr, code := runPlugin(t, "expiry", "-o", "prometheus")
	if code != 3 {
		t.Fatalf("exit %d, want 3 (the metrics are printed, then the findings' status)\n%s\n%s", code, stderr, stdout)
	}
	mfs := promMetrics(t, stdout)
	found := false
	for _, m := range mfs["certdoctor_finding"].GetMetric() {
		found = found || metricLabel(m, "code") == "CertificateExpired" && metricLabel(m, "severity") == "critical" &&
			metricLabel(m, "source") == "secret" && strings.Contains(metricLabel(m, "subject"), ns+"/expired-tls")
	}
	if !found {
		t.Errorf("no CertificateExpired finding series for secret %s/expired-tls:\n%s", ns, stdout)
	}
	leaf := false
	for _, m := range mfs["certdoctor_certificate_not_after_timestamp_seconds"].GetMetric() {
		if metricLabel(m, "namespace") == ns && metricLabel(m, "name") == "expired-tls" && metricLabel(m, "subject") == "expired.e2e.test" {
			leaf = time.Unix(int64(m.GetGauge().GetValue()), 0).Before(time.Now())
		}
	}
	if !leaf {
		t.Errorf("no past notAfter series for the secret's leaf:\n%s", stdout)
	}
	for _, m := range mfs["certdoctor_findings"].GetMetric() {
		if metricLabel(m, "severity") == "critical" && m.GetGauge().GetValue() < 1 {
			t.Errorf("critical count %v", m)
		}
	}
}
