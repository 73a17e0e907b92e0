package cmd

import (
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apiextfake "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/fake"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/rest"
	aggfake "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset/fake"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// fakeClusters is the Factory of a --contexts run whose contexts are real kubeconfig
// entries (their servers loopback TLS listeners) and whose API requests go to empty fake
// clusters: each context's run gets its own.
type fakeClusters struct{ built atomic.Int64 }

func (*fakeClusters) Kubeconfig() (*KubeconfigTarget, error) {
	return nil, fmt.Errorf("a --contexts run loads each context in its own run")
}
func (*fakeClusters) ClientsFor(*rest.Config) (*Clients, error) { return emptyCluster(), nil }
func (f *fakeClusters) ForFlags(flags *genericclioptions.ConfigFlags) Factory {
	return fakeClientsOf{Factory: NewFactory(flags), built: &f.built}
}

// fakeClientsOf loads the kubeconfig as the command line says and answers API requests
// from an empty fake cluster.
type fakeClientsOf struct {
	Factory
	built *atomic.Int64
}

func (f fakeClientsOf) ClientsFor(*rest.Config) (*Clients, error) {
	f.built.Add(1)
	return emptyCluster(), nil
}

func emptyCluster() *Clients {
	scheme := runtime.NewScheme()
	kube := fake.NewClientset()
	return &Clients{Kube: kube, Discovery: kube.Discovery(), Aggregator: aggfake.NewSimpleClientset(), APIExt: apiextfake.NewSimpleClientset(),
		Dynamic: dynamicfake.NewSimpleDynamicClient(scheme), Metadata: metadatafake.NewSimpleMetadataClient(scheme)}
}

// testContext is one context of a multi-context kubeconfig.
type testContext struct {
	name, server string
	ca, cert     *certstest.Pair
}

// writeContexts writes a kubeconfig with one cluster, user and context per entry; the
// current context is the first.
func writeContexts(t *testing.T, cs ...testContext) string {
	t.Helper()
	var clusters, users, contexts strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&clusters, "- {name: %s, cluster: {server: %q, certificate-authority-data: %s}}\n", c.name, c.server, b64(c.ca.CertPEM()))
		fmt.Fprintf(&users, "- {name: %s, user: {client-certificate-data: %s, client-key-data: %s}}\n", c.name, b64(c.cert.CertPEM()), b64(c.cert.KeyPEM()))
		fmt.Fprintf(&contexts, "- {name: %s, context: {cluster: %s, user: %s}}\n", c.name, c.name, c.name)
	}
	path := filepath.Join(t.TempDir(), "config")
	data := "apiVersion: v1\nkind: Config\ncurrent-context: " + cs[0].name + "\nclusters:\n" + clusters.String() + "users:\n" + users.String() + "contexts:\n" + contexts.String()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// healthyContext is a context whose API server (a loopback TLS listener) serves a
// certificate its CA vouches for, and whose client certificate is valid for a year.
func healthyContext(t *testing.T, name string) testContext {
	ca := certstest.NewCA(name + "-ca")
	leaf := ca.Issue(certstest.Opts{CN: "kube-apiserver", IPs: []string{"127.0.0.1"}, NotAfter: certstest.Days(365)})
	return testContext{name: name, server: "https://" + certstest.ServeTLS(t, certstest.TLSConfig(leaf)), ca: ca,
		cert: ca.Issue(certstest.Opts{CN: "admin", Org: []string{"system:masters"}, Client: true, NotAfter: certstest.Days(365)})}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "https://" + addr
}

func contextsReport(t *testing.T, f Factory, args ...string) (result.Report, string, int) {
	t.Helper()
	out, stderr, code := runCommand(t, f, "", append(args, "-o", "json")...)
	var r result.Report
	if code != result.ExitFailed {
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v: exit %d, not JSON: %v\n%s\n%s", args, code, err, out, stderr)
		}
	}
	return r, stderr, code
}

func findingsOf(r result.Report, cluster string) []result.Finding {
	var out []result.Finding
	for _, f := range r.Findings {
		if f.Cluster == cluster {
			out = append(out, f)
		}
	}
	return out
}

func TestContextsHealthy(t *testing.T) {
	kc := writeContexts(t, healthyContext(t, "one"), healthyContext(t, "two"))
	f := &fakeClusters{}
	r, stderr, code := contextsReport(t, f, "expiry", "--kubeconfig", kc, "--contexts", "two,one", "--skip-nodes")
	if code != result.ExitOK || len(r.Findings) != 0 {
		t.Fatalf("exit %d, want 0, findings:\n%s\n%s", code, briefFindings(r), stderr)
	}
	if len(r.Targets) != 2 || r.Targets[0].Context != "two" || r.Targets[1].Context != "one" || r.Targets[0].Server == "" {
		t.Fatalf("targets %+v, want two then one, as asked", r.Targets)
	}
	// Both clusters were asked (the API server's certificate and the kubeconfig's), each
	// certificate labelled with its own context.
	per := map[string]int{}
	for _, rec := range r.Certificates {
		per[rec.Cluster]++
	}
	if per["one"] == 0 || per["two"] == 0 || per[""] != 0 || f.built.Load() != 2 {
		t.Fatalf("certificates per cluster %v, clients built %d", per, f.built.Load())
	}
	for _, n := range r.Notes {
		if !strings.HasPrefix(n, "[one] ") && !strings.HasPrefix(n, "[two] ") {
			t.Errorf("note %q does not name its context", n)
		}
	}
}

// An expired client certificate in one context: exit 3, the finding that one context's
// only; an unreachable context is a finding of its own, and the others are reported.
func TestContextsOneBroken(t *testing.T) {
	ok := healthyContext(t, "ok")
	expired := healthyContext(t, "expired")
	expired.cert = expired.ca.Issue(certstest.Opts{CN: "admin", Client: true, NotBefore: certstest.Days(-30), NotAfter: certstest.Days(-1)})
	down := healthyContext(t, "down")
	down.server = closedPort(t)
	kc := writeContexts(t, ok, expired, down)

	r, stderr, code := contextsReport(t, &fakeClusters{}, "expiry", "--kubeconfig", kc, "--contexts", "ok,expired", "--skip-nodes")
	if code != result.ExitCritical {
		t.Fatalf("exit %d, want 3\n%s\n%s", code, briefFindings(r), stderr)
	}
	if len(findingsOf(r, "ok")) != 0 {
		t.Errorf("the healthy context has findings:\n%s", briefFindings(r))
	}
	exp := findingsOf(r, "expired")
	if len(exp) == 0 || exp[0].Severity != result.Critical || exp[0].Source != result.SourceKubeconfig {
		t.Fatalf("want a critical kubeconfig finding of context expired, got:\n%s", briefFindings(r))
	}
	if len(exp) != len(r.Findings) {
		t.Errorf("findings not labelled with their context:\n%s", briefFindings(r))
	}

	r, stderr, code = contextsReport(t, &fakeClusters{}, "expiry", "--kubeconfig", kc, "--contexts", "ok,down", "--skip-nodes")
	if code != result.ExitCritical || len(findingsOf(r, "ok")) != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, briefFindings(r), stderr)
	}
	if fs := findingsOf(r, "down"); len(fs) == 0 || fs[0].Code != diagnose.CodeUnreachable {
		t.Fatalf("want APIServerUnreachable of context down:\n%s", briefFindings(r))
	}
	if !certificatesOf(r, "ok") {
		t.Errorf("the reachable context was not reported")
	}
}

func certificatesOf(r result.Report, cluster string) bool {
	for _, rec := range r.Certificates {
		if rec.Cluster == cluster {
			return true
		}
	}
	return false
}

// A context that cannot be checked at all (its cluster entry is missing) is a critical
// finding of that context, and the other is still checked; when every context fails
// that way the command itself failed.
func TestContextsRunFailure(t *testing.T) {
	ok := healthyContext(t, "ok")
	kc := writeContexts(t, ok)
	data, _ := os.ReadFile(kc)
	data = append(data, []byte("- {name: orphan, context: {cluster: nowhere, user: ok}}\n")...)
	if err := os.WriteFile(kc, data, 0o600); err != nil {
		t.Fatal(err)
	}
	r, stderr, code := contextsReport(t, &fakeClusters{}, "expiry", "--kubeconfig", kc, "--all-contexts", "--skip-nodes")
	if code != result.ExitCritical || len(findingsOf(r, "ok")) != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, briefFindings(r), stderr)
	}
	fs := findingsOf(r, "orphan")
	if len(fs) != 1 || fs[0].Code != diagnose.CodeSourceFailed || !strings.Contains(fs[0].Message, `"nowhere"`) ||
		!strings.Contains(fs[0].Fix, "kubectl certdoctor expiry --context orphan") {
		t.Fatalf("want one SourceFailed of context orphan naming the missing cluster:\n%s", allText(r))
	}
	_, stderr, code = runCommand(t, &fakeClusters{}, "", "expiry", "--kubeconfig", kc, "--contexts", "orphan", "--skip-nodes")
	if code != result.ExitFailed || !strings.Contains(stderr, "[orphan] context \"orphan\" uses cluster \"nowhere\"") {
		t.Fatalf("every context failed: exit %d, %q", code, stderr)
	}
}

func TestContextsBadInput(t *testing.T) {
	kc := writeContexts(t, healthyContext(t, "b"), healthyContext(t, "a"))
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--contexts", "a,nope"}, `context "nope" not found in the kubeconfig (it has a, b)`},
		{[]string{"--contexts", "a", "--context", "b"}, "--context and --contexts cannot be combined"},
		{[]string{"--all-contexts", "--contexts", "a"}, "--contexts and --all-contexts cannot be combined"},
		{[]string{"expiry", "--all-contexts", "--local"}, "--local reads this machine's files"},
		{[]string{"inspect", "-f", kc, "--contexts", "a"}, "inspect -f reads a file"},
		{[]string{"--contexts", "a", "--max-parallel", "0"}, "--max-parallel must be at least 1"},
		{[]string{"explain", "--contexts", "a", "x509"}, "unknown flag: --contexts"},
	} {
		f := &fakeClusters{}
		_, stderr, code := runCommand(t, f, "", append(tt.args, "--kubeconfig", kc)...)
		if code != result.ExitFailed || !strings.Contains(stderr, tt.want) || strings.Contains(stderr, "\n") {
			t.Errorf("%v: exit %d, %q; want 1 and one line with %q", tt.args, code, stderr, tt.want)
		}
		if f.built.Load() != 0 {
			t.Errorf("%v: %d contexts were checked before the input was refused", tt.args, f.built.Load())
		}
	}
}

func TestAllContextsSorted(t *testing.T) {
	kc := writeContexts(t, healthyContext(t, "zeta"), healthyContext(t, "alpha"), healthyContext(t, "mid"))
	r, stderr, code := contextsReport(t, &fakeClusters{}, "expiry", "--kubeconfig", kc, "--all-contexts", "--skip-nodes")
	var got []string
	for _, tg := range r.Targets {
		got = append(got, tg.Context)
	}
	if code != result.ExitOK || strings.Join(got, ",") != "alpha,mid,zeta" {
		t.Fatalf("exit %d, contexts %v, want alpha,mid,zeta\n%s", code, got, stderr)
	}
}

// At most --max-parallel contexts run at once, and they do overlap.
func TestContextsBounded(t *testing.T) {
	var inFlight, most atomic.Int64
	var mu sync.Mutex
	var order []string
	run := func(ctx context.Context, name string, errOut io.Writer) (*result.Report, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		fmt.Fprintf(errOut, "start %s\n", name)
		time.Sleep(30 * time.Millisecond)
		fmt.Fprintf(errOut, "end %s", name) // an unfinished line is still written, whole
		mu.Lock()
		order = append(order, name)
		mu.Unlock()
		return result.NewReport("expiry", time.Now(), nil, nil, []string{name}), nil
	}
	names := []string{"a", "b", "c", "d", "e", "f", "g"}
	var errOut bytes.Buffer
	runs := runContexts(context.Background(), names, 3, &errOut, run, nil)
	if most.Load() != 3 {
		t.Fatalf("%d runs at once, want 3", most.Load())
	}
	for i, r := range runs {
		if r.name != names[i] || r.report == nil || r.report.Notes[0] != names[i] {
			t.Fatalf("outcome %d is %+v, want %s's", i, r, names[i])
		}
	}
	if len(order) != len(names) {
		t.Fatalf("ran %v", order)
	}
	lines := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
	if len(lines) != 2*len(names) {
		t.Fatalf("stderr %q", errOut.String())
	}
	for _, l := range lines {
		name := l[strings.LastIndexByte(l, ' ')+1:]
		if !strings.HasPrefix(l, "["+name+"] ") {
			t.Errorf("line %q is not prefixed with its context", l)
		}
	}
}

// A signal stops every run; runs still waiting for a slot do not start.
func TestContextsInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var started atomic.Int64
	run := func(ctx context.Context, name string, _ io.Writer) (*result.Report, error) {
		started.Add(1)
		cancel()
		<-ctx.Done()
		return nil, &ExitError{Code: ExitInterrupted, Note: "interrupted: debug pods certdoctor-x could not be deleted; run kubectl certdoctor cleanup once the API server answers"}
	}
	m := &multiContext{names: []string{"a", "b", "c"}, flags: ContextsFlags{MaxParallel: 1}, run: run}
	runs := runContexts(ctx, m.names, 1, io.Discard, run, nil)
	if started.Load() != 1 {
		t.Fatalf("%d runs started after the signal", started.Load())
	}
	for _, r := range runs {
		m.clusterReport(r)
	}
	// The one run that started names its leftover pod; the others have nothing to say.
	err := m.interrupted()
	note := err.(*ExitError).Note
	if ExitCode(err) != ExitInterrupted || strings.Count(note, "] debug pods certdoctor-x could not be deleted") != 1 || strings.Count(note, "[") != 1 {
		t.Fatalf("%v: %q", err, note)
	}
}

// --wait with --contexts checks every context again until none has a critical finding,
// and runs out (124) while one still has.
func TestContextsWait(t *testing.T) {
	down := healthyContext(t, "down")
	down.server = closedPort(t)
	kc := writeContexts(t, healthyContext(t, "ok"), down)
	f := &fakeClusters{}
	_, stderr, code := runCommand(t, f, "", "expiry", "--kubeconfig", kc, "--all-contexts", "--skip-nodes", "--wait", "300ms", "--interval", "100ms", "-o", "json")
	if code != ExitTimedOut || !strings.Contains(stderr, "checking again") {
		t.Fatalf("exit %d, want 124\n%s", code, stderr)
	}
	if f.built.Load() < 2 {
		t.Errorf("the reachable context was checked %d times: every round checks every context", f.built.Load())
	}
	_, stderr, code = runCommand(t, &fakeClusters{}, "", "expiry", "--kubeconfig", kc, "--contexts", "ok", "--skip-nodes", "--wait", "300ms", "-o", "json")
	if code != result.ExitOK {
		t.Fatalf("a healthy context passes --wait at once: exit %d\n%s", code, stderr)
	}
}

// Contexts that reach one server as one user in one namespace are checked once: the
// others are aliases of the first, said in a note; another namespace is checked apart.
func TestContextsSameConnection(t *testing.T) {
	a := healthyContext(t, "a")
	kc := writeContexts(t, a)
	data, err := os.ReadFile(kc)
	if err != nil {
		t.Fatal(err)
	}
	extra := "- {name: b, context: {cluster: a, user: a}}\n- {name: c, context: {cluster: a, user: a, namespace: team}}\n"
	if err := os.WriteFile(kc, append(data, extra...), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fakeClusters{}
	r, stderr, code := contextsReport(t, f, "expiry", "--kubeconfig", kc, "--contexts", "a,b,c", "--skip-nodes")
	if code != result.ExitOK {
		t.Fatalf("exit %d: %s\n%s", code, briefFindings(r), stderr)
	}
	if f.built.Load() != 2 || len(r.Targets) != 2 || r.Targets[0].Context != "a" || strings.Join(r.Targets[0].Aliases, ",") != "b" || r.Targets[1].Context != "c" {
		t.Fatalf("clients built %d, targets %+v", f.built.Load(), r.Targets)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "contexts b reach the same server as context a") {
		t.Errorf("notes %q", r.Notes)
	}
	names, aliases := sameConnection(clientcmdapi.Config{Contexts: map[string]*clientcmdapi.Context{"x": {Cluster: "gone", AuthInfo: "u"}, "y": {Cluster: "gone", AuthInfo: "u"}}}, []string{"x", "y"})
	if len(names) != 2 || len(aliases) != 0 {
		t.Errorf("contexts whose entries are missing were folded: %v %v", names, aliases)
	}
}
