//go:build unix

package cmd

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// apiServer is a loopback HTTPS server standing in for kube-apiserver: it serves leaf
// and counts the HTTP requests that reach it (so a test can tell that no credentials
// were sent to a server certdoctor should not trust).
type apiServer struct {
	URL      string
	requests atomic.Int64
}

func newAPIServer(t *testing.T, leaf *certstest.Pair) *apiServer {
	t.Helper()
	s := &apiServer{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/version" {
			fmt.Fprint(w, `{"major":"1","minor":"37","gitVersion":"v1.37.2"}`)
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`)
	}))
	srv.TLS = certstest.TLSConfig(leaf)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// silentServer completes TLS handshakes with leaf, then never answers.
func silentServer(t *testing.T, leaf *certstest.Pair) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", certstest.TLSConfig(leaf))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				_ = c.(*tls.Conn).Handshake()
				<-done
				c.Close()
			}(c)
		}
	}()
	return "https://" + ln.Addr().String()
}

// writeKubeconfig writes a one-context kubeconfig (user admin) whose user entry is
// userYAML, a flow mapping's body.
func writeKubeconfig(t *testing.T, server string, ca []byte, userYAML string) string {
	t.Helper()
	caLine := ""
	if ca != nil {
		caLine = ", certificate-authority-data: " + base64.StdEncoding.EncodeToString(ca)
	}
	path := filepath.Join(t.TempDir(), "config")
	data := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q%s}}]
users: [{name: admin, user: {%s}}]
contexts: [{name: ctx, context: {cluster: c, user: admin}}]
current-context: ctx
`, server, caLine, userYAML)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func runReport(t *testing.T, args ...string) (result.Report, string, int) {
	t.Helper()
	out, stderr, code := run(t, append(args, "-o", "json")...)
	var r result.Report
	if code != result.ExitFailed {
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v: exit %d, not JSON: %v\n%s\n%s", args, code, err, out, stderr)
		}
	}
	return r, stderr, code
}

func findCode(r result.Report, code string) *result.Finding {
	for i := range r.Findings {
		if r.Findings[i].Code == code {
			return &r.Findings[i]
		}
	}
	return nil
}

func allText(r result.Report) string {
	b, _ := json.Marshal(r)
	return string(b)
}

// Broken client credentials: expiry and sans name the kubeconfig field, still check what
// needs no credentials (the served certificate), and exit 3; nothing passes silently.
func TestBrokenKubeconfigCredentials(t *testing.T) {
	ca := certstest.NewCA("kubernetes")
	// Covers neither the loopback host nor the kubernetes.default names.
	leaf := ca.Issue(certstest.Opts{CN: "kube-apiserver", DNS: []string{"elsewhere.example"}})
	srv := newAPIServer(t, leaf)
	client := ca.Issue(certstest.Opts{CN: "admin", Client: true})
	key := b64(client.KeyPEM())
	tests := []struct {
		name, user, field, text string
	}{
		{"base64 garbage", `client-certificate-data: "!!!notbase64", client-key-data: "` + key + `"`,
			"users[admin].client-certificate-data", "is not valid base64"},
		{"a key as the certificate", `client-certificate-data: "` + key + `", client-key-data: "` + key + `"`,
			"users[admin].client-certificate-data", "holds a private key, not a certificate"},
		{"a directory as the certificate file", `client-certificate: "` + t.TempDir() + `", client-key-data: "` + key + `"`,
			"client-certificate", "not a regular file (a directory)"},
		{"/dev/zero as the certificate file", `client-certificate: /dev/zero, client-key-data: "` + key + `"`,
			"client-certificate", "not a regular file"},
		{"a key that does not match", `client-certificate-data: "` + b64(client.CertPEM()) + `", client-key-data: "` + b64(ca.KeyPEM()) + `"`,
			"users[admin]", "private key does not match public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kc := writeKubeconfig(t, srv.URL, ca.CertPEM(), tt.user)
			before := srv.requests.Load()
			for _, command := range []string{"expiry", "sans"} {
				start := time.Now()
				r, stderr, code := runReport(t, command, "--kubeconfig", kc, "--skip-nodes")
				if code != result.ExitCritical {
					t.Fatalf("%s: exit %d, want 3\n%s%s", command, code, allText(r), stderr)
				}
				f := findCode(r, "KubeconfigInvalid")
				if f == nil || !strings.Contains(f.Subject+" "+f.Message, tt.field) || !strings.Contains(f.Message, tt.text) || f.Severity != result.Critical {
					t.Fatalf("%s: want a critical KubeconfigInvalid naming %s (%s), got\n%s", command, tt.field, tt.text, briefFindings(r))
				}
				if n := strings.Count(allText(r), `"KubeconfigInvalid"`); n != 1 {
					t.Errorf("%s: %d KubeconfigInvalid findings for one broken field:\n%s", command, n, allText(r))
				}
				if time.Since(start) > 10*time.Second {
					t.Errorf("%s took %v", command, time.Since(start))
				}
				// The served certificate needs no credentials: it is still checked.
				if !strings.Contains(allText(r), "elsewhere.example") {
					t.Errorf("%s: the served certificate was not checked:\n%s", command, allText(r))
				}
			}
			if n := srv.requests.Load() - before; n != 0 {
				t.Errorf("%d requests were sent with credentials known to be broken", n)
			}
		})
	}
	// sans: the kubeconfig host is still expected, and missing.
	kc := writeKubeconfig(t, srv.URL, ca.CertPEM(), tests[1].user)
	r, _, _ := runReport(t, "sans", "--kubeconfig", kc, "--skip-nodes")
	if f := findCode(r, "SANMissing"); f == nil || !strings.Contains(f.Message, "127.0.0.1") {
		t.Errorf("sans without credentials must still check the kubeconfig host:\n%s", briefFindings(r))
	}
}

// A certificate that the CA vouches for but not for the kubeconfig's host: certdoctor
// sends nothing to the server (no credentials to a host kubectl would refuse) and tells
// the user how to look anyway; with --tls-server-name it does.
func TestNoSilentServerNameSwitch(t *testing.T) {
	ca := certstest.NewCA("kubernetes")
	leaf := ca.Issue(certstest.Opts{CN: "kube-apiserver", DNS: []string{"kubernetes", "kubernetes.default"}})
	srv := newAPIServer(t, leaf)
	kc := writeKubeconfig(t, srv.URL, ca.CertPEM(), `token: secret-token`)
	for _, command := range []string{"expiry", "sans"} {
		r, stderr, code := runReport(t, command, "--kubeconfig", kc, "--skip-nodes")
		if code != result.ExitCritical {
			t.Fatalf("%s: exit %d\n%s%s", command, code, allText(r), stderr)
		}
		if n := srv.requests.Load(); n != 0 {
			t.Fatalf("%s: %d requests sent to a server whose certificate does not cover the host", command, n)
		}
		if !strings.Contains(allText(r), "--tls-server-name kubernetes") {
			t.Errorf("%s: the report must offer --tls-server-name kubernetes:\n%s", command, allText(r))
		}
	}
	if f := findCode(mustReport(t, "expiry", "--kubeconfig", kc, "--skip-nodes"), "HostnameMismatch"); f == nil || !strings.Contains(f.Fix, "--tls-server-name kubernetes") {
		t.Errorf("HostnameMismatch's fix must offer --tls-server-name: %+v", f)
	}
	// The user's explicit choice is honoured.
	r, _, _ := runReport(t, "expiry", "--kubeconfig", kc, "--skip-nodes", "--tls-server-name", "kubernetes")
	if srv.requests.Load() == 0 || findCode(r, "HostnameMismatch") != nil {
		t.Errorf("with --tls-server-name the cluster is asked and the name verifies:\n%s", allText(r))
	}
}

func mustReport(t *testing.T, args ...string) result.Report {
	t.Helper()
	r, _, _ := runReport(t, args...)
	return r
}

// A server that completes TLS and then never answers: one finding after one request
// timeout, not one timeout per request.
func TestSilentServerIsOneTimeout(t *testing.T) {
	ca := certstest.NewCA("kubernetes")
	leaf := ca.Issue(certstest.Opts{CN: "kube-apiserver", IPs: []string{"127.0.0.1"},
		DNS: []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}})
	server := silentServer(t, leaf)
	kc := writeKubeconfig(t, server, ca.CertPEM(), `token: secret-token`)
	for _, command := range []string{"expiry", "sans"} {
		start := time.Now()
		r, stderr, code := runReport(t, command, "--kubeconfig", kc, "--skip-nodes", "--request-timeout", "1s")
		took := time.Since(start)
		if code != result.ExitCritical || findCode(r, "APIServerUnreachable") == nil {
			t.Fatalf("%s: exit %d, want 3 with APIServerUnreachable:\n%s%s", command, code, briefFindings(r), stderr)
		}
		if took > 4*time.Second {
			t.Errorf("%s took %v against a silent server with --request-timeout 1s", command, took)
		}
	}
}

// Special files and oversized files given as inputs: a one-line error (or, for a
// kubeconfig's certificate path, a finding), promptly; never a hang or an endless read.
func TestSpecialFileInputs(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(dir, "list.yaml")
	if err := os.WriteFile(list, []byte("- a\n- b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tree := certstest.WriteKubeadmTree(t.TempDir(), "https://127.0.0.1:1")
	if err := os.Remove(filepath.Join(tree.PKIDir(), "apiserver.crt")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(tree.PKIDir(), "apiserver.crt"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, special := range []string{"/dev/zero", fifo} {
		for _, args := range [][]string{
			{"expiry", "--kubeconfig", special},
			{"sans", "--cert", special, "--only", "--expect", "kubernetes"},
			{"webhook", "--profile-file", special},
		} {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				done := make(chan struct{})
				var stderr string
				var code int
				go func() { _, stderr, code = run(t, args...); close(done) }()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Fatal("blocked on a special file")
				}
				if code != result.ExitFailed || !strings.Contains(stderr, "not a regular file") || strings.Contains(stderr, "\n") {
					t.Fatalf("exit %d, %q; want exit 1 and one line saying it is not a regular file", code, stderr)
				}
			})
		}
	}
	_, stderr, code := run(t, "expiry", "--kubeconfig", list)
	if code != result.ExitFailed || !strings.Contains(stderr, "not a kubeconfig: it holds a list") || strings.Contains(stderr, "struct") {
		t.Errorf("a YAML list as kubeconfig: exit %d, %q", code, stderr)
	}
	// A FIFO as apiserver.crt in --local is that file's problem, not a hang.
	done := make(chan struct{})
	go func() {
		out, _, _ := run(t, "expiry", "--local", "--pki-dir", tree.PKIDir(), "--kubeconfig-dir", tree.KubeconfigDir(), "-o", "json")
		if !strings.Contains(out, "not a regular file") {
			t.Errorf("--local with a FIFO as apiserver.crt: the report does not say so:\n%s", out)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("--local blocked on a FIFO apiserver.crt")
	}
}

func TestFlagValidation(t *testing.T) {
	for args, want := range map[string]string{
		"expiry --request-timeout abc":      `--request-timeout "abc"`,
		"expiry --request-timeout -5s":      "cannot be negative",
		"sans --request-timeout 1x":         `--request-timeout "1x"`,
		"--profile bogus":                   `--profile: unknown profile "bogus"`,
		"expiry --warn-within 99999999999d": "--warn-within",
		"webhook --all cert-manager":        "give one of a name, --all or --profile-file, not several",
	} {
		out := filepath.Join(t.TempDir(), "profile.pprof")
		_, stderr, code := run(t, append(strings.Fields(args), "--profile-output", out)...)
		if code != result.ExitFailed || !strings.Contains(stderr, want) {
			t.Errorf("%s: exit %d, %q; want exit 1 with %q", args, code, stderr, want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: left a profile file behind", args)
		}
	}
	if err := validateRequestTimeout("30"); err != nil {
		t.Errorf("a bare number of seconds is kubectl's form: %v", err)
	}
	if err := validateRequestTimeout("0"); err != nil {
		t.Errorf("0: %v", err)
	}
}

// sans --cert FILE --expect ... is a complete check without any kubeconfig.
func TestSANsFileWithoutKubeconfig(t *testing.T) {
	p := certstest.NewCA("kubernetes").Issue(certstest.Opts{CN: "kube-apiserver", DNS: []string{"kubernetes"}, IPs: []string{"10.96.0.1"}})
	file := filepath.Join(t.TempDir(), "apiserver.crt")
	if err := os.WriteFile(file, p.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(empty, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, stderr, code := runReport(t, "sans", "--kubeconfig", empty, "--cert", file, "--expect", "10.254.0.1")
	if code != result.ExitCritical || findCode(r, "SANMissing") == nil && !strings.Contains(allText(r), "not 10.254.0.1") {
		t.Fatalf("exit %d\n%s%s", code, allText(r), stderr)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "only the --expect entries were checked") {
		t.Errorf("the report must say the cluster's entries were not derived: %v", r.Notes)
	}
}

func briefFindings(r result.Report) string {
	var b strings.Builder
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%s %s %s: %s | error: %s\n", f.Severity, f.Code, f.Subject, f.Message, f.Error)
	}
	return b.String() + "notes: " + strings.Join(r.Notes, "; ")
}

// A plain-http server is the same critical finding in every command.
func TestHTTPServerIsCriticalEverywhere(t *testing.T) {
	kc := writeKubeconfig(t, "http://127.0.0.1:1", nil, "token: x")
	for _, command := range []string{"expiry", "sans"} {
		r, stderr, code := runReport(t, command, "--kubeconfig", kc, "--skip-nodes")
		if f := findCode(r, "KubeconfigInvalid"); code != result.ExitCritical || f == nil || !strings.Contains(f.Message, "does not use https") {
			t.Errorf("%s: exit %d\n%s%s", command, code, briefFindings(r), stderr)
		}
	}
}
