//go:build unix

package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// goInternals are what must never reach a user: type dumps, stack traces, pointers.
var goInternals = regexp.MustCompile(`struct \{|map\[string\]|\[\]interface|goroutine \d|panic:|0x[0-9a-f]{6,}|runtime error|<nil>|%!`)

// TestHostileInputs runs the commands with inputs a careless or hostile user gives. None
// may panic, hang, print Go internals, or exit 0 while something could not be checked;
// an input error is exit 1 with one line on stderr.
func TestHostileInputs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca := certstest.NewCA("kubernetes")
	leaf := ca.Issue(certstest.Opts{CN: "kube-apiserver", IPs: []string{"127.0.0.1"}, DNS: []string{"kubernetes"}})
	srv := newAPIServer(t, leaf)
	cert := write("leaf.crt", string(leaf.CertPEM()))
	kubeconfigs := map[string]string{
		"empty":              "",
		"a scalar":           "hello",
		"a list":             "- 1\n- 2\n",
		"binary":             "\x00\x01\x02\xff\xfe",
		"bad YAML":           "clusters: [\n",
		"users not a list":   "apiVersion: v1\nkind: Config\nusers: 5\ncurrent-context: x\n",
		"nul in YAML":        "apiVersion: v1\nkind: Config\ncurrent-context: \"\x00\"\n",
		"context to nothing": "apiVersion: v1\nkind: Config\ncontexts: [{name: x, context: {cluster: nope, user: nope}}]\ncurrent-context: x\n",
		"huge name":          "apiVersion: v1\nkind: Config\ncurrent-context: " + strings.Repeat("a", 100000) + "\n",
	}
	servers := []string{"", "ftp://127.0.0.1:1", "https://", "https://[::1", "https://127.0.0.1:99999", "127.0.0.1:1", "https://127.0.0.1:1/path?x=1", "http://127.0.0.1:1"}
	for _, s := range servers {
		kubeconfigs["server "+s] = readFile(t, writeKubeconfig(t, s, ca.CertPEM(), "token: x"))
	}
	for _, field := range []string{"client-certificate-data", "client-key-data"} {
		kubeconfigs["bad "+field] = readFile(t, writeKubeconfig(t, srv.URL, ca.CertPEM(), field+`: "%%%"`))
		kubeconfigs["number "+field] = readFile(t, writeKubeconfig(t, srv.URL, ca.CertPEM(), field+`: 12`))
	}
	kubeconfigs["bad certificate-authority-data"] = strings.Replace(readFile(t, writeKubeconfig(t, srv.URL, nil, "token: x")), `cluster: {server:`, `cluster: {certificate-authority-data: "***", server:`, 1)
	kubeconfigs["missing client-certificate file"] = readFile(t, writeKubeconfig(t, srv.URL, ca.CertPEM(), `client-certificate: /nonexistent/x.crt, client-key: /nonexistent/x.key`))
	kubeconfigs["relative missing file"] = readFile(t, writeKubeconfig(t, srv.URL, ca.CertPEM(), `client-certificate: x.crt, client-key: x.key`))
	kubeconfigs["certificate-authority a FIFO-free device"] = strings.Replace(readFile(t, writeKubeconfig(t, srv.URL, nil, "token: x")), `cluster: {server:`, `cluster: {certificate-authority: /dev/null, server:`, 1)

	type tc struct {
		name string
		args []string
		in   string
	}
	var cases []tc
	for name, data := range kubeconfigs {
		kc := write(strings.NewReplacer("/", "_", " ", "_", ":", "_").Replace(name)+".kubeconfig", data)
		for _, command := range []string{"expiry", "sans", "webhook --all", ""} {
			args := append(strings.Fields(command), "--kubeconfig", kc, "--skip-nodes")
			if command == "webhook --all" {
				args = append(strings.Fields(command), "--kubeconfig", kc)
			}
			cases = append(cases, tc{name: "kubeconfig " + name + ": " + command, args: args})
		}
	}
	for _, v := range []string{"", "0", "-1d", "1e6d", "Infd", "NaNd", "106752d", "15251w", "99999999999d", "1.5.5d", "d", "30", "30x", "\x1b[2J"} {
		cases = append(cases, tc{name: "--warn-within " + v, args: []string{"sans", "--cert", cert, "--only", "--expect", "kubernetes", "--warn-within", v}})
	}
	for _, v := range []string{"abc", "-5s", "1x", "9999999999999999999", " "} {
		cases = append(cases, tc{name: "--request-timeout " + v, args: []string{"expiry", "--request-timeout", v}})
	}
	for _, v := range []string{"", "999.1.1.1", "10.0.0.01", "a_b", "-a", "a..b", "*", strings.Repeat("a", 300), "\x1b[2J", "1.2.3.4/24", "[::1]"} {
		cases = append(cases, tc{name: "--expect " + v, args: []string{"sans", "--cert", cert, "--only", "--expect", v}})
	}
	for _, v := range []string{"xml", "", "jsonpath={.x}", "prometheus "} {
		cases = append(cases, tc{name: "-o " + v, args: []string{"sans", "--cert", cert, "--only", "--expect", "kubernetes", "-o", v}})
	}
	for _, v := range []string{"", ",", ",,,", "no-such-node", strings.Repeat("n,", 1000)} {
		cases = append(cases, tc{name: "--nodes " + v, args: []string{"expiry", "--kubeconfig", write("ok.kubeconfig", readFile(t, writeKubeconfig(t, srv.URL, ca.CertPEM(), "token: x"))), "--nodes", v, "--pod-timeout", "1s"}})
	}
	for _, v := range []string{"", "\x00\x01\x02", strings.Repeat("x509: ", 100000), "\x1b[2J\x1b[31mx509: certificate has expired"} {
		cases = append(cases, tc{name: "explain stdin", args: []string{"explain", "-"}, in: v})
	}
	for _, v := range [][]string{{"--pki-dir", cert}, {"--pki-dir", "/dev/null"}, {"--pki-dir", dir}, {"--kubeconfig-dir", "/dev/zero"}} {
		cases = append(cases, tc{name: "--local " + strings.Join(v, " "), args: append([]string{"expiry", "--local"}, v...)})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			done := make(chan struct{})
			var stdout, stderr string
			var code int
			go func() {
				defer close(done)
				stdout, stderr, code = runWithStdin(t, c.in, c.args...)
			}()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("%q did not finish in 20s", c.args)
			}
			if os.Getenv("HOSTILE_LOG") != "" {
				fmt.Fprintf(os.Stderr, "CASE %d %q %q\n", code, c.name, firstLineOf(stderr))
			}
			if m := goInternals.FindString(stdout + stderr); m != "" {
				t.Errorf("%q printed Go internals (%q):\n%s%s", c.args, m, stdout, stderr)
			}
			// Every input here is broken somewhere but one: a zero window is valid.
			if code == result.ExitOK && c.name != "--warn-within 0" {
				t.Errorf("%q exited 0: something could not be checked, or an input is wrong", c.args)
			}
			if code == result.ExitFailed && (strings.Contains(strings.TrimSpace(stderr), "\n") || strings.TrimSpace(stderr) == "") {
				t.Errorf("%q: exit 1 wants one line on stderr, got %q", c.args, stderr)
			}
			if strings.ContainsRune(stdout+stderr, 0x1b) {
				t.Errorf("%q printed a raw ESC", c.args)
			}
		})
	}
	t.Logf("%d hostile inputs", len(cases))
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func firstLineOf(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 160 {
		s = s[:160]
	}
	return s
}
