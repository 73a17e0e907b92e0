//go:build e2e

// Package e2e runs kubectl-certdoctor against a real one-node cluster brought up by
// hack/e2e/up.sh (hack/e2e/run.sh does everything: see README.md beside this file).
// Every test fails, never skips, when the plugin or the cluster is missing.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiext "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
)

const (
	adminConf  = "/etc/kubernetes/admin.conf"
	kubeDir    = "/etc/kubernetes"
	pkiDir     = "/etc/kubernetes/pki"
	kubeletPKI = "/var/lib/kubelet/pki"
	nodeName   = "e2e-cp"
	serverURL  = "https://10.200.0.1:6443"
	// testLabel marks every object a test creates (value: the test's name), so leftovers of a
	// killed run can be found and removed by the next one.
	testLabel = "e2e.certdoctor.io/test"
	// pluginTimeout bounds one plugin run.
	pluginTimeout = 2 * time.Minute
)

var (
	pluginBin string               // $E2E_PLUGIN
	k8sBin    string               // $E2E_K8S_BIN (kubeadm, kubectl)
	hackDir   string               // hack/e2e (apiserver.sh, kubeadm-config.yaml)
	kubeconf  string               // $KUBECONFIG or admin.conf
	client    kubernetes.Interface // cluster-admin clientset (admin.conf)
	// restConfig is admin.conf's client configuration, for the other API groups' clients.
	restConfig *rest.Config
)

func TestMain(m *testing.M) {
	if err := setup(); err != nil {
		fmt.Fprintf(os.Stderr, "\nE2E SETUP FAILED: %v\n\nThe e2e suite needs a running cluster and the plugin binary; run it with\n"+
			"  hack/e2e/run.sh\nor, against a cluster from hack/e2e/up.sh,\n"+
			"  E2E_PLUGIN=/path/to/kubectl-certdoctor go test -tags e2e -count=1 -v ./test/e2e/...\n\n", err)
		fmt.Println("FAIL")
		os.Exit(1)
	}
	code := m.Run()
	if err := waitTestNamespacesGone(2 * time.Minute); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: test namespaces not cleaned up: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func setup() error {
	pluginBin = os.Getenv("E2E_PLUGIN")
	if pluginBin == "" {
		return errors.New("E2E_PLUGIN is not set (path to the kubectl-certdoctor binary under test)")
	}
	if st, err := os.Stat(pluginBin); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("E2E_PLUGIN=%s is not an executable file (%v)", pluginBin, err)
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	hackDir = filepath.Join(wd, "..", "..", "hack", "e2e")
	if _, err := os.Stat(filepath.Join(hackDir, "apiserver.sh")); err != nil {
		return fmt.Errorf("hack/e2e/apiserver.sh not found from %s: %v", wd, err)
	}
	k8sBin = os.Getenv("E2E_K8S_BIN")
	if k8sBin == "" { // the same place build-k8s.sh puts them
		out, err := exec.Command("bash", "-c", `. "$0/env.sh" && echo "$K8S_BIN"`, hackDir).Output()
		if err != nil {
			return fmt.Errorf("E2E_K8S_BIN not set and hack/e2e/env.sh failed: %v", err)
		}
		k8sBin = strings.TrimSpace(string(out))
	}
	if _, err := os.Stat(filepath.Join(k8sBin, "kubeadm")); err != nil {
		return fmt.Errorf("kubeadm not found in E2E_K8S_BIN=%s (run hack/e2e/build-k8s.sh): %v", k8sBin, err)
	}
	kubeconf = os.Getenv("KUBECONFIG")
	if kubeconf == "" {
		kubeconf = adminConf
	}
	if _, err := os.ReadFile(filepath.Join(pkiDir, "ca.key")); err != nil {
		return fmt.Errorf("cannot read the cluster CA key (run as root, after hack/e2e/up.sh): %v", err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconf)
	if err != nil {
		return fmt.Errorf("kubeconfig %s: %v", kubeconf, err)
	}
	// Never dial an address that is not on this machine: with the cluster down, 10.200.0.1 is
	// no longer on lo and would be routed off-host.
	if err := requireLocalServer(cfg.Host); err != nil {
		return err
	}
	cfg.Timeout = 30 * time.Second
	cfg.QPS, cfg.Burst = 50, 100           // client-go's 5/s would stretch the tests that create many objects
	cfg.WarningHandler = rest.NoWarnings{} // e.g. the API server's warning about garbage tls.crt
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	client, restConfig = cs, cfg
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err != nil || string(body) != "ok" {
		return fmt.Errorf("the cluster at %s does not answer /readyz (is hack/e2e/up.sh running?): %v %s", cfg.Host, err, body)
	}
	node, err := cs.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("node %s: %v", nodeName, err)
	}
	ready := false
	for _, c := range node.Status.Conditions {
		ready = ready || (c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue)
	}
	if !ready {
		return fmt.Errorf("node %s is not Ready", nodeName)
	}
	if err := removeLeftovers(ctx); err != nil {
		return fmt.Errorf("removing objects left by an earlier run: %v", err)
	}
	return registerClusterKeys()
}

// requireLocalServer checks that the API server URL's host is an IP on this machine
// (loopback, or an address assigned to one of its interfaces, like 10.200.0.1 on lo).
func requireLocalServer(server string) error {
	u, err := url.Parse(server)
	if err != nil {
		return fmt.Errorf("server URL %q: %v", server, err)
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil {
		return fmt.Errorf("server %s: the e2e suite only talks to IP addresses on this machine", server)
	}
	if ip.IsLoopback() {
		return nil
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return nil
		}
	}
	return fmt.Errorf("the API server address %s is not on this machine: the cluster is not up (run hack/e2e/up.sh)", ip)
}

// removeLeftovers deletes what a killed earlier run left behind (objects carry testLabel).
func removeLeftovers(ctx context.Context) error {
	sel := metav1.ListOptions{LabelSelector: testLabel}
	nss, err := client.CoreV1().Namespaces().List(ctx, sel)
	if err != nil {
		return err
	}
	for _, ns := range nss.Items {
		fmt.Printf("e2e: deleting namespace %s left by an earlier run\n", ns.Name)
		_ = client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
	}
	_ = client.AdmissionregistrationV1().ValidatingWebhookConfigurations().DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
	_ = client.AdmissionregistrationV1().MutatingWebhookConfigurations().DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
	_ = client.RbacV1().ClusterRoleBindings().DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
	_ = client.RbacV1().ClusterRoles().DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
	// A Pending CSR stays for 24 hours, and every later expiry would report it.
	_ = client.CertificatesV1().CertificateSigningRequests().DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
	// An APIService left pointing at a deleted Service makes namespace deletion wait on
	// discovery: remove labelled APIServices and CRDs before waiting for namespaces.
	if agg, err := aggregator.NewForConfig(restConfig); err == nil {
		_ = agg.ApiregistrationV1().APIServices().DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
	}
	if ext, err := apiext.NewForConfig(restConfig); err == nil {
		_ = ext.ApiextensionsV1().CustomResourceDefinitions().DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
	}
	for _, ns := range nss.Items {
		if err := waitNamespaceGone(ctx, ns.Name); err != nil {
			return err
		}
	}
	return nil
}

// ---------------------------------------------------------------------------------------
// Running the plugin

// runPlugin runs $E2E_PLUGIN with args (2-minute timeout, KUBECONFIG set) and returns its
// stdout, stderr and exit code. Every run is checked for leaked private keys and panics.
func runPlugin(t *testing.T, args ...string) (stdout, stderr string, exitCode int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pluginTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, pluginBin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconf)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	start := time.Now()
	err := cmd.Run()
	stdout, stderr = o.String(), e.String()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("kubectl-certdoctor %s: timed out after %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), pluginTimeout, stdout, stderr)
	case errors.As(err, &ee):
		exitCode = ee.ExitCode()
	case err != nil:
		t.Fatalf("running %s: %v", pluginBin, err)
	}
	t.Logf("$ kubectl-certdoctor %s  -> exit %d in %s", strings.Join(args, " "), exitCode, time.Since(start).Round(time.Millisecond))
	assertNoKeyLeak(t, stdout+stderr)
	assertNoPanic(t, stderr)
	return stdout, stderr, exitCode
}

// Report is the JSON document `-o json` prints (docs/output.md).
type Report struct {
	Kind    string `json:"kind"`
	Command string `json:"command"`
	Summary struct {
		Certificates int `json:"certificates"`
		Findings     int `json:"findings"`
		Warning      int `json:"warning"`
		Critical     int `json:"critical"`
	} `json:"summary"`
	Certificates []Certificate `json:"certificates"`
	Findings     []Finding     `json:"findings"`
	Notes        []string      `json:"notes"`
	raw          string
}

type Certificate struct {
	Source    string    `json:"source"`
	Name      string    `json:"name"`
	Location  string    `json:"location"`
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	Residual  string    `json:"residual"`
	Status    string    `json:"status"`
	Serial    string    `json:"serial"`
	SANs      []string  `json:"sans"`
}

type Finding struct {
	Severity string `json:"severity"`
	Code     string `json:"code"`
	Source   string `json:"source"`
	Subject  string `json:"subject"`
	Message  string `json:"message"`
	Error    string `json:"error"`
	Fix      string `json:"fix"`
	// Consequences are what the finding broke (or, for throttling, the other reads it left undone).
	Consequences []string `json:"consequences"`
}

func (f Finding) String() string {
	s := fmt.Sprintf("%s %s [%s] %s: %s", f.Severity, f.Code, f.Source, f.Subject, f.Message)
	if f.Error != "" {
		s += " | error: " + f.Error
	}
	if f.Fix != "" {
		s += " | fix: " + strings.ReplaceAll(f.Fix, "\n", " / ")
	}
	return s
}

// runJSON runs the plugin with `-o json` added, decodes the report and checks that it is
// self-consistent: summary counts match, and the exit code is the one the findings imply
// (0 none, 2 warnings only, 3 at least one critical).
func runJSON(t *testing.T, args ...string) (Report, int) {
	t.Helper()
	hasO := false
	for i, a := range args {
		hasO = hasO || a == "-o" && i+1 < len(args) || strings.HasPrefix(a, "-o=") || strings.HasPrefix(a, "--output")
	}
	if !hasO {
		args = append(args, "-o", "json")
	}
	stdout, stderr, code := runPlugin(t, args...)
	var r Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("kubectl-certdoctor %s: exit %d, stdout is not a JSON report: %v\nstdout:\n%s\nstderr:\n%s",
			strings.Join(args, " "), code, err, stdout, stderr)
	}
	r.raw = stdout
	if stderr != "" {
		t.Logf("stderr: %s", strings.TrimSpace(stderr))
	}
	if r.Kind != "Report" {
		t.Errorf("report kind = %q, want Report", r.Kind)
	}
	warn, crit := 0, 0
	for _, f := range r.Findings {
		switch f.Severity {
		case "WARNING":
			warn++
		case "CRITICAL":
			crit++
		default:
			t.Errorf("finding with severity %q (want WARNING or CRITICAL): %s", f.Severity, f)
		}
	}
	if r.Summary.Findings != len(r.Findings) || r.Summary.Certificates != len(r.Certificates) ||
		r.Summary.Warning != warn || r.Summary.Critical != crit {
		t.Errorf("summary %+v does not match the report (%d certificates, %d findings, %d warning, %d critical)",
			r.Summary, len(r.Certificates), len(r.Findings), warn, crit)
	}
	want := 0
	switch {
	case crit > 0:
		want = 3
	case warn > 0:
		want = 2
	}
	if code != want {
		t.Errorf("exit code %d, but the report's findings imply %d\n%s", code, want, dump(r))
	}
	return r, code
}

// dump renders a report's findings and certificates for failure messages.
func dump(r Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "report: %d certificates, %d findings\n", len(r.Certificates), len(r.Findings))
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "  finding: %s\n", f)
	}
	for _, c := range r.Certificates {
		fmt.Fprintf(&b, "  cert: %-10s %-10s %s | %s (subject %s, issuer %s, notAfter %s)\n",
			c.Source, c.Status, c.Name, c.Location, c.Subject, c.Issuer, c.NotAfter.Format(time.RFC3339))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	return b.String()
}

// wantExit fails the test when the exit code is not want.
func wantExit(t *testing.T, r Report, got, want int) {
	t.Helper()
	if got != want {
		t.Errorf("exit code %d, want %d\n%s", got, want, dump(r))
	}
}

// mentions reports whether a finding's subject or message names s.
func mentions(f Finding, s string) bool {
	return strings.Contains(f.Subject, s) || strings.Contains(f.Message, s)
}

// findFindings returns the findings with the given code for which match (if any) is true.
func findFindings(r Report, code string, match func(Finding) bool) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Code == code && (match == nil || match(f)) {
			out = append(out, f)
		}
	}
	return out
}

// requireFinding fails the test unless the report has a finding with this code, severity
// (skipped if "") and source (skipped if "") for which match (if any) is true.
func requireFinding(t *testing.T, r Report, code, severity, source string, match func(Finding) bool, what string) Finding {
	t.Helper()
	fs := findFindings(r, code, func(f Finding) bool {
		return (severity == "" || f.Severity == severity) && (source == "" || f.Source == source) && (match == nil || match(f))
	})
	if len(fs) == 0 {
		t.Fatalf("no finding %s (severity %q, source %q) %s\n%s", code, severity, source, what, dump(r))
	}
	return fs[0]
}

// requireNoFindings fails the test when the report has any finding.
func requireNoFindings(t *testing.T, r Report) {
	t.Helper()
	if len(r.Findings) > 0 {
		t.Errorf("want no findings, got %d\n%s", len(r.Findings), dump(r))
	}
}

// requireSources fails unless the report lists certificates from each source.
func requireSources(t *testing.T, r Report, sources ...string) {
	t.Helper()
	have := map[string]int{}
	for _, c := range r.Certificates {
		have[c.Source]++
	}
	for _, s := range sources {
		if have[s] == 0 {
			t.Errorf("no certificate from source %q in the report\n%s", s, dump(r))
		}
	}
}

// requireContains fails unless s contains sub (case-insensitive), naming what s is.
func requireContains(t *testing.T, what, s, sub string) {
	t.Helper()
	if !strings.Contains(strings.ToLower(s), strings.ToLower(sub)) {
		t.Errorf("%s does not contain %q: %q", what, sub, s)
	}
}

// ---------------------------------------------------------------------------------------
// Guards applied to every plugin run

var (
	leakMu  sync.Mutex
	secrets = map[string]string{} // needle -> description
)

// registerSecret makes every later plugin run fail if its output contains needle.
func registerSecret(needle, what string) {
	needle = strings.TrimSpace(needle)
	if len(needle) < 24 {
		return
	}
	leakMu.Lock()
	defer leakMu.Unlock()
	secrets[needle] = what
}

func assertNoKeyLeak(t *testing.T, out string) {
	t.Helper()
	if strings.Contains(out, "PRIVATE KEY") {
		t.Errorf("plugin output contains \"PRIVATE KEY\"")
	}
	leakMu.Lock()
	defer leakMu.Unlock()
	for needle, what := range secrets {
		if strings.Contains(out, needle) {
			t.Errorf("plugin output contains private key material (%s)", what)
		}
	}
}

var panicRE = regexp.MustCompile(`(?m)^(panic: |goroutine \d+ \[|fatal error: )`)

func assertNoPanic(t *testing.T, stderr string) {
	t.Helper()
	if panicRE.MatchString(stderr) || strings.Contains(stderr, "runtime error:") {
		t.Errorf("plugin panicked:\n%s", stderr)
	}
}

// registerClusterKeys adds the cluster's own private keys (kubeadm PKI, the kubelet's, the
// kubeconfigs' client keys) to the leak guard.
func registerClusterKeys() error {
	var files []string
	for _, g := range []string{pkiDir + "/*.key", pkiDir + "/etcd/*.key", kubeletPKI + "/*.key"} {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		registerKeyPEM(b, f)
	}
	confs, _ := filepath.Glob(kubeDir + "/*.conf")
	for _, f := range confs {
		cfg, err := clientcmd.LoadFromFile(f)
		if err != nil {
			return fmt.Errorf("%s: %v", f, err)
		}
		for name, ai := range cfg.AuthInfos {
			if len(ai.ClientKeyData) > 0 {
				registerKeyPEM(ai.ClientKeyData, f+" user "+name)
			}
		}
	}
	return nil
}

// ---------------------------------------------------------------------------------------
// Cluster helpers

var nameSanitizer = regexp.MustCompile(`[^a-z0-9-]+`)

// testName is t.Name() turned into a DNS label part (for object names and label values).
func testName(t *testing.T) string {
	n := nameSanitizer.ReplaceAllString(strings.ToLower(t.Name()), "-")
	n = strings.Trim(n, "-")
	if len(n) > 40 {
		n = strings.Trim(n[:40], "-")
	}
	return n
}

func labels(t *testing.T) map[string]string { return map[string]string{testLabel: testName(t)} }

// uniqueName returns prefix plus a short random suffix.
func uniqueName(prefix string) string { return prefix + "-" + rand.String(5) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newNamespace creates a namespace for this test, waits until the controller-manager has
// filled it (the default ServiceAccount, kube-root-ca.crt) and deletes it when the test ends:
// its secrets synchronously (so later tests never see them), the namespace itself in the
// background (TestMain waits for all of them at the end).
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: uniqueName("e2e-" + trunc(testName(t), 40)), Labels: labels(t)}}
	ctx := ctxT(t)
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := client.CoreV1().Secrets(ns.Name).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			t.Errorf("delete secrets in %s: %v", ns.Name, err)
		}
		if err := client.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete namespace %s: %v", ns.Name, err)
		}
	})
	for {
		_, e1 := client.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		_, e2 := client.CoreV1().ConfigMaps(ns.Name).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		if e1 == nil && e2 == nil {
			return ns.Name
		}
		if ctx.Err() != nil {
			t.Fatalf("namespace %s: no default ServiceAccount / kube-root-ca.crt (is the controller-manager running?): %v %v", ns.Name, e1, e2)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitTestNamespacesGone waits until every namespace the tests created has been deleted.
func waitTestNamespacesGone(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	nss, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: testLabel})
	if err != nil {
		return err
	}
	for _, ns := range nss.Items {
		if err := waitNamespaceGone(ctx, ns.Name); err != nil {
			return err
		}
	}
	return nil
}

func trunc(s string, n int) string {
	if len(s) > n {
		return strings.Trim(s[:n], "-")
	}
	return s
}

func waitNamespaceGone(ctx context.Context, name string) error {
	for {
		_, err := client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("namespace %s still exists: %v", name, ctx.Err())
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// createSecret creates a secret in ns (labelled for cleanup with the namespace).
func createSecret(t *testing.T, ns, name string, typ corev1.SecretType, data map[string][]byte) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels(t)}, Type: typ, Data: data}
	out, err := client.CoreV1().Secrets(ns).Create(ctxT(t), s, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create secret %s/%s: %v", ns, name, err)
	}
	return out
}

// restartAPIServer restarts kube-apiserver with the given --flag=value overrides of kubeadm's
// flags (hack/e2e/apiserver.sh) and restores the normal one when the test ends. Register it
// after t.TempDir() calls whose files it uses: cleanups run last-in first-out.
func restartAPIServer(t *testing.T, flags ...string) {
	t.Helper()
	apiserverSh(t, flags...)
	t.Cleanup(func() {
		apiserverSh(t)
		// the normal API server answers verified requests again
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		for {
			body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
			if err == nil && string(body) == "ok" {
				break
			}
			if ctx.Err() != nil {
				t.Errorf("API server not ready after restoring it: %v", err)
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		waitControllersSettled(t)
	})
}

// waitControllersSettled waits until the controller-manager acts on new objects again. After
// API server restarts its watches reconnect with a growing backoff (up to ~30 s); the test
// that restarted the API server pays for that, not the next one.
func waitControllersSettled(t *testing.T) {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: uniqueName("e2e-settle"), Labels: labels(t)}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Errorf("create namespace: %v", err)
		return
	}
	defer client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	for {
		if _, err := client.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{}); err == nil {
			t.Logf("controller-manager settled after %s", time.Since(start).Round(100*time.Millisecond))
			return
		}
		if ctx.Err() != nil {
			t.Errorf("controller-manager did not create the default ServiceAccount in %s after the API server restart", ns.Name)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func apiserverSh(t *testing.T, flags ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(hackDir, "apiserver.sh"), append([]string{"restart"}, flags...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("apiserver.sh restart %s: %v\n%s", strings.Join(flags, " "), err, out)
	}
	t.Logf("%s", bytes.TrimSpace(out))
}

// copyDir copies a directory tree for a test to damage. Symlinks are dereferenced (copied as
// regular files), so that writing into the copy can never reach the original.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		st, err := os.Stat(p) // follows symlinks
		if err != nil || !st.Mode().IsRegular() {
			return nil // dangling link, socket, ...: not needed
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, st.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copy %s to %s: %v", src, dst, err)
	}
}

// replaceFile writes data to path inside a test's copy, removing the old file first (so a
// symlink is replaced, never followed). Refuses paths outside the test's temp dirs.
func replaceFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if !strings.HasPrefix(path, os.TempDir()) {
		t.Fatalf("refusing to write %s: tests only modify copies under %s", path, os.TempDir())
	}
	_ = os.Remove(path)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// screen runs a command as a user types it (the table) and checks that the table names
// each of want, as the JSON assertions of the same test do. With E2E_SCREENS=DIR it keeps
// the screen as DIR/NAME.txt: the README's examples are these files (hack/screens.sh).
func screen(t *testing.T, name string, want []string, args ...string) {
	t.Helper()
	stdout, stderr, code := runPlugin(t, args...)
	for _, w := range want {
		requireContains(t, "the table of kubectl certdoctor "+strings.Join(args, " "), stdout, w)
	}
	dir := os.Getenv("E2E_SCREENS")
	if dir == "" {
		return
	}
	text := fmt.Sprintf("$ %s\n%s%s(exit code %d)\n", strings.TrimSpace("kubectl certdoctor "+strings.Join(args, " ")), stdout, stderr, code)
	if err := os.WriteFile(filepath.Join(dir, name+".txt"), []byte(text), 0o644); err != nil {
		t.Errorf("E2E_SCREENS: %v", err)
	}
}
