// Package report turns findings and certificate records into what the user reads:
// kubectl-style tables, JSON or YAML, and the exit code. It is the only package that prints.
package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/sources"
)

// Exit codes, documented in the README and docs/output.md.
const (
	ExitOK       = 0 // nothing found
	ExitFailed   = 1 // the command itself could not do its job
	ExitWarning  = 2 // warnings only
	ExitCritical = 3 // at least one critical finding
)

// Output formats.
const (
	FormatTable = "table"
	FormatWide  = "wide"
	FormatJSON  = "json"
	FormatYAML  = "yaml"
)

// Formats lists the accepted -o values.
var Formats = []string{FormatTable, FormatWide, FormatJSON, FormatYAML}

// ValidateFormat rejects an unknown -o value.
func ValidateFormat(f string) error {
	for _, ok := range Formats {
		if f == ok {
			return nil
		}
	}
	return fmt.Errorf("unknown output format %q: use one of %s", f, strings.Join(Formats, ", "))
}

// Report is one command's result. Its JSON field names are a stable contract (docs/output.md).
type Report struct {
	Kind         string             `json:"kind"`
	Command      string             `json:"command"`
	GeneratedAt  time.Time          `json:"generatedAt"`
	Summary      Summary            `json:"summary"`
	Certificates []sources.Record   `json:"certificates"`
	Findings     []diagnose.Finding `json:"findings"`
	// Checks are step-by-step results, passed ones included: the links of a webhook
	// chain, or each expected SAN of a certificate. Omitted by commands that have none.
	Checks []Check  `json:"checks,omitempty"`
	Notes  []string `json:"notes,omitempty"`
}

// Check is one step of a walk and how it went. Unlike a Finding it may be OK.
type Check struct {
	// Group is what the step belongs to: a webhook, or a certificate source for sans.
	Group    string            `json:"group"`
	Name     string            `json:"name"`
	Severity diagnose.Severity `json:"severity"`
	// Detail is the evidence: what was seen.
	Detail string `json:"detail"`
}

// Summary counts what the report holds.
type Summary struct {
	Certificates int `json:"certificates"`
	Findings     int `json:"findings"`
	Warning      int `json:"warning"`
	Critical     int `json:"critical"`
}

// New builds a report. Findings of severity OK are not findings and are dropped.
func New(command string, now time.Time, recs []sources.Record, fs []diagnose.Finding, notes []string) *Report {
	r := &Report{Kind: "Report", Command: command, GeneratedAt: now.UTC(), Certificates: recs, Notes: notes,
		Findings: []diagnose.Finding{}}
	if r.Certificates == nil {
		r.Certificates = []sources.Record{}
	}
	for _, f := range fs {
		switch f.Severity {
		case diagnose.Critical:
			r.Summary.Critical++
		case diagnose.Warning:
			r.Summary.Warning++
		default:
			continue
		}
		r.Findings = append(r.Findings, f)
	}
	r.Summary.Certificates = len(recs)
	r.Summary.Findings = len(r.Findings)
	return r
}

// ExitCode is the documented exit status for this report.
func (r *Report) ExitCode() int {
	switch {
	case r.Summary.Critical > 0:
		return ExitCritical
	case r.Summary.Warning > 0:
		return ExitWarning
	}
	return ExitOK
}

// Print writes the report in format to w.
func Print(w io.Writer, r *Report, format string) error {
	switch format {
	case FormatJSON:
		return writeJSON(w, r)
	case FormatYAML:
		return writeYAML(w, r)
	case FormatTable, FormatWide, "":
		return printText(w, r, format == FormatWide)
	}
	return ValidateFormat(format)
}
