package cmd

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/nodes"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// run executes the real command tree with args and returns stdout, stderr and the exit code.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	return runWithStdin(t, "", args...)
}

// runWithStdin is run with stdin holding in.
func runWithStdin(t *testing.T, in string, args ...string) (string, string, int) {
	t.Helper()
	return runCommand(t, nil, in, args...)
}

// runCommand runs the command tree with args, stdin holding in, and f as the Factory
// unless nil (the flags' own).
func runCommand(t *testing.T, f Factory, in string, args ...string) (string, string, int) {
	t.Helper()
	streams, stdin, out, errOut := genericiooptions.NewTestIOStreams()
	stdin.WriteString(in)
	o := NewCommonOptions(streams)
	if f != nil {
		o.Factory = f
	}
	cmd := newCmdCertdoctor(o, &profiling{name: "none"})
	cmd.SetArgs(args)
	cmd.SetOut(out)
	cmd.SetErr(errOut)
	err := cmd.Execute()
	if code := ExitCode(err); code == result.ExitFailed {
		return out.String(), err.Error(), code
	}
	return out.String(), errOut.String(), ExitCode(err)
}

func TestBadInput(t *testing.T) {
	tree := certstest.WriteKubeadmTree(t.TempDir(), "https://127.0.0.1:1")
	emptyKubeconfig := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(emptyKubeconfig, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown output", []string{"expiry", "--local", "--pki-dir", tree.PKIDir(), "-o", "xml"}, `unknown output format "xml"`},
		{"bad duration", []string{"expiry", "--warn-within", "thirty days"}, `--warn-within: invalid duration "thirty days"`},
		{"negative duration", []string{"expiry", "--warn-within", "-3d"}, "invalid duration"},
		{"local flag without --local", []string{"expiry", "--pki-dir", "/tmp"}, "--pki-dir only applies with --local"},
		{"missing pki dir", []string{"expiry", "--local", "--pki-dir", "/nonexistent/pki"}, "PKI directory /nonexistent/pki not found"},
		{"empty pki dir", []string{"expiry", "--local", "--pki-dir", t.TempDir()}, "holds neither ca.crt nor apiserver.crt"},
		{"pki dir is a file", []string{"expiry", "--local", "--pki-dir", emptyKubeconfig}, "holds neither ca.crt nor apiserver.crt"},
		{"no context", []string{"expiry", "--kubeconfig", emptyKubeconfig}, "no current context"},
		{"unknown context", []string{"expiry", "--kubeconfig", filepath.Join(tree.Root, "admin.conf"), "--context", "nope"}, `context "nope" not found`},
		{"stray argument", []string{"expiry", "extra"}, "unknown command"},
		{"unknown flag", []string{"expiry", "--frobnicate"}, "unknown flag: --frobnicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := run(t, tt.args...)
			if code != result.ExitFailed || !strings.Contains(stderr, tt.want) || strings.Contains(stderr, "\n") || stdout != "" {
				t.Fatalf("exit %d, stderr %q, stdout %q; want exit 1, one line containing %q and no stdout", code, stderr, stdout, tt.want)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	for err, want := range map[error]int{nil: 0, &ExitError{Code: 2}: 2, &ExitError{Code: 3}: 3, os.ErrNotExist: 1} {
		if got := ExitCode(err); got != want {
			t.Errorf("ExitCode(%v) = %d, want %d", err, got, want)
		}
	}
}

// localExpiry runs `expiry --local` on tree with components answering from served.
func localExpiry(t *testing.T, tree *certstest.KubeadmTree, format string, served map[string]*x509.Certificate) (string, int) {
	t.Helper()
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	common := NewCommonOptions(streams)
	common.Output = format
	o := NewExpiryOptions(common)
	o.Local = LocalFlags{Enabled: true, PKIDir: tree.PKIDir(), KubeconfigDir: tree.KubeconfigDir(), KubeletPKIDir: tree.KubeletPKIDir()}
	o.served = func(_ context.Context, comp string, onDisk *x509.Certificate) ([]*x509.Certificate, string, error) {
		if c := served[comp]; c != nil {
			return []*x509.Certificate{c}, "127.0.0.1", nil
		}
		return []*x509.Certificate{onDisk}, "127.0.0.1", nil
	}
	if err := o.Window.complete(); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	r, err := o.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	code := ExitCode(o.print(r))
	return out.String(), code
}

func TestExpiryLocal(t *testing.T) {
	tree := certstest.WriteKubeadmTree(t.TempDir(), "https://127.0.0.1:6443")
	out, code := localExpiry(t, tree, "table", nil)
	if code != 0 || !strings.Contains(out, "No problems found (17 certificates checked).") {
		t.Fatalf("healthy tree: exit %d\n%s", code, out)
	}
	for _, want := range []string{"CERTIFICATE                EXPIRES", "super-admin.conf", "front-proxy-ca", "KUBELET CERTIFICATE", "kubelet-client-current.pem"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	// Seed 000: certificates renewed on disk, kube-apiserver not restarted; one expired.
	old := tree.Leaves["apiserver"]
	tree.Replace("apiserver", "apiserver", tree.CAs["ca"].Issue(certstest.Opts{CN: "kube-apiserver"}))
	o := certstest.Expired()
	o.CN, o.Client = "kube-apiserver-etcd-client", true
	tree.Replace("apiserver-etcd-client", "apiserver-etcd-client", tree.CAs["etcd-ca"].Issue(o))
	out, code = localExpiry(t, tree, "json", map[string]*x509.Certificate{"kube-apiserver": old.Cert})
	if code != result.ExitCritical {
		t.Fatalf("exit %d, want 3:\n%s", code, out)
	}
	var r result.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	codes := map[string]bool{}
	for _, f := range r.Findings {
		codes[f.Code+" "+f.Subject] = true
	}
	for _, want := range []string{"ServingStaleCertificate kube-apiserver", "CertificateExpired " + filepath.Join(tree.PKIDir(), "apiserver-etcd-client.crt")} {
		if !codes[want] {
			t.Errorf("missing finding %q in %v", want, codes)
		}
	}
	for _, f := range []string{"table", "wide", "json", "yaml"} {
		out, _ := localExpiry(t, tree, f, nil)
		assertNoKeys(t, out, tree)
	}
}

// assertNoKeys fails if out holds any private key of tree.
func assertNoKeys(t *testing.T, out string, tree *certstest.KubeadmTree) {
	t.Helper()
	if strings.Contains(out, "PRIVATE KEY") {
		t.Fatal("output contains a private key marker")
	}
	for name, p := range allPairs(tree) {
		lines := strings.Split(string(p.KeyPEM()), "\n")
		if strings.Contains(out, lines[1][:24]) {
			t.Fatalf("output contains the private key of %s", name)
		}
	}
}

func allPairs(tree *certstest.KubeadmTree) map[string]*certstest.Pair {
	all := map[string]*certstest.Pair{}
	for n, p := range tree.Leaves {
		all[n] = p
	}
	for n, p := range tree.CAs {
		all[n] = p
	}
	return all
}

func TestHelpShowsPluginName(t *testing.T) {
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	cmd := NewCmdCertdoctor(streams)
	cmd.SetArgs([]string{"expiry", "--help"})
	cmd.SetOut(out)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "kubectl certdoctor expiry [flags]") || strings.Contains(out.String(), "kubectl-certdoctor expiry") {
		t.Fatalf("usage must read as a kubectl subcommand:\n%s", out.String())
	}
	for _, flag := range []string{"--kubeconfig", "--context", "--as", "--request-timeout", "--insecure-skip-tls-verify", "--warn-within", "--local"} {
		if !strings.Contains(out.String(), flag) {
			t.Errorf("help lacks %s", flag)
		}
	}
}

func TestCleanupRun(t *testing.T) {
	leftover := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "certdoctor-cp1-abcde",
		Labels: map[string]string{nodes.ManagedByLabel: nodes.ManagedByValue}}, Spec: corev1.PodSpec{NodeName: "cp1"}}
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "certdoctor-lookalike"}}
	client := fake.NewClientset(leftover, other)
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	o := &CleanupOptions{CommonOptions: NewCommonOptions(streams), DryRun: true, clients: &Clients{Kube: client}}
	r, err := o.Run(context.Background())
	if err != nil || len(r.Checks) != 1 || !strings.Contains(r.Checks[0].Detail, "would be deleted") {
		t.Fatalf("dry run: %+v %v", r, err)
	}
	if _, err := client.CoreV1().Pods("kube-system").Get(context.Background(), leftover.Name, metav1.GetOptions{}); err != nil {
		t.Fatal("--dry-run deleted the pod")
	}
	o.DryRun = false
	if r, err = o.Run(context.Background()); err != nil || !strings.Contains(r.Checks[0].Detail, "deleted (node cp1)") {
		t.Fatalf("%+v %v", r, err)
	}
	left, _ := client.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{})
	if len(left.Items) != 1 || left.Items[0].Name != "certdoctor-lookalike" {
		t.Fatalf("only labelled pods may be deleted; left %v", left.Items)
	}
	if err := o.print(r); err != nil || !strings.Contains(out.String(), "certdoctor-cp1-abcde") {
		t.Fatalf("print: %v\n%s", err, out.String())
	}
}
