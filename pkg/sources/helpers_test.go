package sources

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

func newTestCollector() *Collector { return NewCollector(time.Now(), 30*24*time.Hour) }

// findingsWith returns the findings with code ("" for any) whose subject contains sub.
func findingsWith(fs []result.Finding, code, sub string) []result.Finding {
	var out []result.Finding
	for _, f := range fs {
		if (code == "" || f.Code == code) && strings.Contains(f.Subject, sub) {
			out = append(out, f)
		}
	}
	return out
}

// collectOnlyFindings runs src, which must not fail, and returns what it reported; it
// fails the test if src recorded certificates (sources that judge without listing).
func collectOnlyFindings(t *testing.T, src Source) (*Collector, []result.Finding, []string) {
	t.Helper()
	c := newTestCollector()
	if err := src.Collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	recs, fs, notes := c.Results()
	if len(recs) != 0 {
		t.Errorf("%s reports findings only, got records %s", src.Name(), dump(recs))
	}
	return c, fs, notes
}

// mustFind fails unless exactly one finding has code and a subject containing sub.
func mustFind(t *testing.T, fs []result.Finding, code, sub string) result.Finding {
	t.Helper()
	got := findingsWith(fs, code, sub)
	if len(got) != 1 {
		t.Fatalf("want exactly one %s finding about %q, got %d; all findings: %s", code, sub, len(got), dump(fs))
	}
	return got[0]
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// assertNoKeyMaterial fails if anything the collector holds could carry a private key.
func assertNoKeyMaterial(t *testing.T, c *Collector, keys ...[]byte) {
	t.Helper()
	recs, fs, notes := c.Results()
	out := dump(recs) + dump(fs) + dump(notes)
	if strings.Contains(out, "PRIVATE KEY") {
		t.Fatal("output contains a PEM private key marker")
	}
	for _, k := range keys {
		body := strings.Join(strings.Split(string(k), "\n")[1:3], "")
		if len(body) > 20 && strings.Contains(out, body[:20]) {
			t.Fatal("output contains private key bytes")
		}
	}
}
