package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// A report of several contexts puts CLUSTER first in every table and the context first
// on every finding's line; one context's report has no such column.
func TestClusterColumn(t *testing.T) {
	now := time.Now()
	one := func(name string, sev result.Severity) result.ClusterReport {
		r := result.NewReport("checkup", now, []result.Record{{Source: result.SourceAPIServer, Name: "apiserver", Status: result.StatusOK}},
			[]result.Finding{{Severity: sev, Code: "CertificateExpired", Source: "secret", Subject: "secret default/web"}}, nil)
		r.Parts = []result.Part{{Command: "webhook", Status: result.PartRan, Checks: []result.Check{{Group: "vwc/x", Name: "service", Severity: sev}}}}
		return result.ClusterReport{Target: result.Target{Context: name, Server: "https://" + name}, Report: r}
	}
	r := result.Merge("checkup", now, []result.ClusterReport{one("prod", result.Critical), one("staging-eu", result.Warning)})
	var out bytes.Buffer
	if err := Print(&out, r, FormatTable); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"Context prod: cluster - at https://prod",
		"\nCLUSTER      CHECK     STATUS   RESULT\nprod         webhook   RAN",
		"\nstaging-eu   webhook   RAN",
		"\nCLUSTER      TARGET          CHECK     RESULT",
		"\nCLUSTER      SOURCE      NAME",
		"\nprod        CRITICAL  secret default/web: CertificateExpired",
		"\nprod        CRITICAL  CertificateExpired  secret: secret default/web",
		"\nstaging-eu  WARNING   CertificateExpired  secret: secret default/web",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in\n%s", want, text)
		}
	}
	out.Reset()
	single := one("prod", result.Critical).Report
	if err := Print(&out, single, FormatTable); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "CLUSTER") || strings.Contains(out.String(), "prod") {
		t.Errorf("a one-cluster report names clusters:\n%s", out.String())
	}
}
