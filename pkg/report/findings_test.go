package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// A cause that repeats is one block: the count, the soonest subjects first, one fix;
// --show-all prints each.
func TestGroupedFindings(t *testing.T) {
	var fs []result.Finding
	for i := 0; i < 12; i++ {
		na := now.Add(time.Duration(12-i) * 24 * time.Hour)
		fs = append(fs, result.Finding{Severity: result.Warning, Code: "CertificateExpiring", Source: "secret",
			Subject: fmt.Sprintf("secret a/s%02d", i), Message: "expires", Fix: "renew it", NotAfter: &na})
	}
	r := result.NewReport("expiry", now, nil, fs, nil)
	var b bytes.Buffer
	if err := PrintWith(&b, r, Options{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "CertificateExpiring  secret: 12 findings") || !strings.Contains(out, "secret a/s11, secret a/s10") ||
		!strings.Contains(out, "(10 of 12; --show-all") || strings.Count(out, "renew it") != 1 {
		t.Fatalf("grouped:\n%s", out)
	}
	b.Reset()
	if err := PrintWith(&b, r, Options{ShowAll: true}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(b.String(), "renew it") != 12 {
		t.Fatalf("--show-all:\n%s", b.String())
	}
}
