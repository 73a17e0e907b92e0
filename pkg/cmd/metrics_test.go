package cmd

import (
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
)

// gateway is a Pushgateway stand-in on 127.0.0.1 that answers status and records
// each request's method, path and metrics.
type gateway struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []string
	fams []map[string]*dto.MetricFamily
}

func newGateway(t *testing.T, status int) *gateway {
	g := &gateway{}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		fams, err := parseMetrics(req.Body)
		if err != nil {
			t.Errorf("pushed body: %v", err)
		}
		g.mu.Lock()
		g.reqs = append(g.reqs, req.Method+" "+req.URL.EscapedPath())
		g.fams = append(g.fams, fams)
		g.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(g.Close)
	return g
}

// runLocal runs `expiry --local` on tree through runE, as the command line does, with
// the components serving what is on disk.
func runLocal(t *testing.T, tree *certstest.KubeadmTree, output, pushgateway string) (stdout, stderr string, code int) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	common := NewCommonOptions(streams)
	common.Output, common.Pushgateway = output, pushgateway
	o := NewExpiryOptions(common)
	o.Local = LocalFlags{Enabled: true, PKIDir: tree.PKIDir(), KubeconfigDir: tree.KubeconfigDir(), KubeletPKIDir: tree.KubeletPKIDir()}
	o.served = servedFromDisk
	cmd := &cobra.Command{}
	cmd.SetContext(context.Background())
	err := runE(o)(cmd, nil)
	if code = ExitCode(err); code == 1 {
		return out.String(), err.Error(), code
	}
	return out.String(), errOut.String(), code
}

func TestPrometheusOutputAndPush(t *testing.T) {
	tree := certstest.WriteKubeadmTree(t.TempDir(), "https://127.0.0.1:6443")
	g := newGateway(t, http.StatusOK)
	out, stderr, code := runLocal(t, tree, "prometheus", g.URL)
	if code != 0 {
		t.Fatalf("healthy tree: exit %d: %s\n%s", code, stderr, out)
	}
	printed, err := parseMetrics(strings.NewReader(out))
	if err != nil {
		t.Fatalf("stdout: %v\n%s", err, out)
	}
	host, _ := os.Hostname()
	// --local: the cluster is this node.
	for _, m := range printed["certdoctor_check_success"].GetMetric() {
		if labelValue(m, "cluster") != host || labelValue(m, "check") != "expiry" || m.GetGauge().GetValue() != 1 {
			t.Errorf("check_success %v, want cluster %q check expiry 1", m, host)
		}
	}
	if d := printed["certdoctor_check_duration_seconds"].GetMetric(); len(d) != 1 || d[0].GetGauge().GetValue() <= 0 {
		t.Errorf("check duration %v: runE times the run", d)
	}
	certs := len(printed["certdoctor_certificate_not_after_timestamp_seconds"].GetMetric())
	if certs != 17 {
		t.Errorf("%d certificate series, want the tree's 17", certs)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if want := "PUT /metrics/job/certdoctor/cluster/" + url.QueryEscape(host); len(g.reqs) != 1 || g.reqs[0] != want {
		t.Fatalf("pushed %q, want %q", g.reqs, want)
	}
	if n := len(g.fams[0]["certdoctor_certificate_not_after_timestamp_seconds"].GetMetric()); n != certs {
		t.Errorf("pushed %d certificate series, printed %d", n, certs)
	}
}

// A failed push is exit 1 after a clean check; after findings their exit status stays
// and the push error is a line on stderr. The report is printed either way.
func TestPushFailureExitCodes(t *testing.T) {
	g := newGateway(t, http.StatusInternalServerError)
	tree := certstest.WriteKubeadmTree(t.TempDir(), "https://127.0.0.1:6443")
	out, stderr, code := runLocal(t, tree, "json", g.URL)
	if code != 1 || !strings.Contains(stderr, "cannot push the metrics to the Pushgateway") || !strings.Contains(out, `"command": "expiry"`) {
		t.Fatalf("clean check, failed push: exit %d, stderr %q, stdout %.80q", code, stderr, out)
	}
	if err := os.Remove(filepath.Join(tree.PKIDir(), "front-proxy-client.crt")); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = runLocal(t, tree, "table", g.URL)
	if code != 3 || !strings.HasPrefix(stderr, "error: cannot push the metrics") || strings.Count(stderr, "\n") != 1 || !strings.Contains(out, "front-proxy-client") {
		t.Fatalf("critical finding, failed push: exit %d, stderr %q\n%s", code, stderr, out)
	}
}

func TestMetricsFlagsRefused(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"expiry", "--local", "--pushgateway", "ftp://gw:9091"}, "use an http:// or https:// URL"},
		{[]string{"expiry", "--local", "--pushgateway", "http://gw:9091/metrics/job/x"}, "give the Pushgateway's base URL"},
		{[]string{"version", "-o", "prometheus"}, "version has no metrics of its own"},
		{[]string{"explain", "-o", "prometheus", "x509: certificate has expired or is not yet valid"}, "explain's causes are not metrics"},
	}
	for _, tt := range tests {
		stdout, stderr, code := run(t, tt.args...)
		if code != 1 || !strings.Contains(stderr, tt.want) || stdout != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 1 with %q", tt.args, code, stderr, stdout, tt.want)
		}
	}
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func parseMetrics(r io.Reader) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(r)
}

// servedFromDisk: every local component serves the certificate on its disk.
func servedFromDisk(_ context.Context, _ string, onDisk *x509.Certificate) ([]*x509.Certificate, string, error) {
	return []*x509.Certificate{onDisk}, "127.0.0.1", nil
}
