package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

func TestSANsCertFile(t *testing.T) {
	p := certstest.NewCA("kubernetes").Issue(certstest.Opts{CN: "kube-apiserver", DNS: []string{"kubernetes"}, IPs: []string{"172.16.0.1", "192.168.0.1"}})
	file := filepath.Join(t.TempDir(), "apiserver.crt")
	if err := os.WriteFile(file, p.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code := run(t, "sans", "--cert", file, "--only", "--expect", "10.254.0.1,192.168.0.1", "--expect", "kubernetes", "-o", "json")
	if code != result.ExitCritical {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	var r result.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Checks) != 3 || len(r.Findings) != 1 || r.Findings[0].Error != "x509: certificate is valid for 172.16.0.1, 192.168.0.1, not 10.254.0.1" {
		t.Fatalf("checks %+v findings %+v", r.Checks, r.Findings)
	}
	out, _, code = run(t, "sans", "--cert", file, "--only", "--expect", "192.168.0.1")
	if code != 0 || !strings.Contains(out, "No problems found (1 certificate checked).") {
		t.Fatalf("covered entry: exit %d\n%s", code, out)
	}
}

func TestSANsBadInput(t *testing.T) {
	for args, want := range map[string]string{
		"sans --only --cert x.crt":                            "--only needs at least one --expect entry",
		"sans --only --cert x.crt --expect a_b":               `--expect "a_b" is neither an IP address nor a valid DNS name`,
		"sans --only --cert /nonexistent --expect kubernetes": "cannot read certificate",
		"sans --manifest /x":                                  "--manifest only applies with --local",
	} {
		_, stderr, code := run(t, strings.Fields(args)...)
		if code != result.ExitFailed || !strings.Contains(stderr, want) {
			t.Errorf("%s: exit %d, %q; want exit 1 with %q", args, code, stderr, want)
		}
	}
}
