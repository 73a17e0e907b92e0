package sans

import (
	"crypto/x509"
	"strings"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// Target is one certificate to check: the one served, a file on disk, a --cert file.
type Target struct {
	Source string // "apiserver", "local", "node", "file"
	Name   string // where: the URL or the path
	Cert   *x509.Certificate
}

// Result is the coverage of every target.
type Result struct {
	Checks   []result.Check
	Findings []result.Finding
}

// Check marks each expected entry covered or missing in each target, crypto/x509's
// matching rules included (wildcards, IP vs DNS). A missing entry is critical and
// carries the exact error clients will print, and the fix for the setup.
func Check(targets []Target, expected []Expected, setup Setup) Result {
	var r Result
	for _, t := range targets {
		var missing []Expected
		for _, e := range expected {
			c := result.Check{Group: t.Source + " " + t.Name, Name: e.Value, Severity: result.OK,
				Detail: "covered (" + e.Why + ")"}
			if !certs.CoversHost(t.Cert, e.Value) {
				c.Severity, c.Detail = result.Critical, "MISSING ("+e.Why+")"
				missing = append(missing, e)
			}
			r.Checks = append(r.Checks, c)
		}
		if len(missing) == 0 {
			continue
		}
		r.Findings = append(r.Findings, missingFinding(t, missing, setup))
	}
	return r
}

func whyList(es []Expected) string {
	seen := map[string]bool{}
	var out []string
	for _, e := range es {
		if !seen[e.Why] {
			seen[e.Why] = true
			out = append(out, e.Why)
		}
	}
	return strings.Join(out, "; ")
}
