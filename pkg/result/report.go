package result

import "time"

// Exit codes, documented in the README and docs/output.md. The command layer adds
// ExitInterrupted (130) and, for --wait, 124.
const (
	ExitOK       = 0 // nothing found
	ExitFailed   = 1 // the command itself could not do its job
	ExitWarning  = 2 // warnings only
	ExitCritical = 3 // at least one critical finding
)

// Report is one command's result. Its JSON field names are a stable contract (docs/output.md).
type Report struct {
	Kind        string    `json:"kind"`
	Command     string    `json:"command"`
	GeneratedAt time.Time `json:"generatedAt"`
	// Target is the cluster and identity the report is about (the check-up).
	Target       *Target   `json:"target,omitempty"`
	Summary      Summary   `json:"summary"`
	Certificates []Record  `json:"certificates"`
	Findings     []Finding `json:"findings"`
	// Checks are step-by-step results, passed ones included: the links of a webhook
	// chain, or each expected SAN of a certificate. Omitted by commands that have none.
	Checks []Check `json:"checks,omitempty"`
	// Explanations are the causes `explain` found in the text it was given.
	Explanations []Explanation `json:"explanations,omitempty"`
	// Parts are the check-up's checks (expiry, sans, webhook), each with its own checks.
	Parts []Part `json:"parts,omitempty"`
	// Identity is who the command ran as (whoami).
	Identity *Identity `json:"identity,omitempty"`
	// Permissions are the requests certdoctor's checks make, allowed or not (whoami --can).
	Permissions []Permission `json:"permissions,omitempty"`
	// Inspection is one object or file in depth (inspect).
	Inspection *Inspection `json:"inspection,omitempty"`
	// Plan is the ordered procedure the findings call for (the control plane's renewal).
	Plan  *Plan    `json:"plan,omitempty"`
	Notes []string `json:"notes,omitempty"`
	// Seconds is how long the command's checks ran (wall clock), set by the command layer.
	Seconds float64 `json:"seconds,omitempty"`
	// Targets are the clusters of a report that spans several (--contexts), one per context.
	Targets []Target `json:"targets,omitempty"`
}

// Target names what was checked: a kubeconfig context, or a node's files (--local).
type Target struct {
	Context string `json:"context,omitempty"`
	Cluster string `json:"cluster,omitempty"`
	Server  string `json:"server,omitempty"`
	User    string `json:"user,omitempty"`
	Node    string `json:"node,omitempty"`
	// Identity and Inspection are whoami's and inspect's one object per cluster, in a
	// report that spans several contexts (Report.Identity and Report.Inspection hold it
	// otherwise).
	Identity   *Identity   `json:"identity,omitempty"`
	Inspection *Inspection `json:"inspection,omitempty"`
	// Aliases are the other contexts of a --contexts run that reach the same server with
	// the same credentials and namespace: checked once, reported under Context.
	Aliases []string `json:"aliases,omitempty"`
}

// Part is one check of the check-up and how it went.
type Part struct {
	Command string `json:"command"`
	// Status is "ran", "skipped" (not asked for, or not applicable) or "failed" (it
	// could not run: Detail says why; never a pass).
	Status  string  `json:"status"`
	Detail  string  `json:"detail,omitempty"`
	Summary Summary `json:"summary"`
	Checks  []Check `json:"checks,omitempty"`
	// Seconds is how long the part ran (wall clock).
	Seconds float64 `json:"seconds,omitempty"`
	// Cluster is the kubeconfig context, in a report that spans several (--contexts).
	Cluster string `json:"cluster,omitempty"`
}

// Part statuses.
const (
	PartRan     = "ran"
	PartSkipped = "skipped"
	PartFailed  = "failed"
)

// Plan is an ordered procedure, printed and never executed.
type Plan struct {
	Title string   `json:"title"`
	Steps []string `json:"steps"`
}

// Explanation is one cause recognised in an error text: what it means, what usually
// leads to it, the certdoctor command that checks it and the fix, filled in with what
// the text says (hosts, names, dates).
type Explanation struct {
	// Excerpt is the line of the text where the cause was recognised.
	Excerpt string `json:"excerpt,omitempty"`
	Code    string `json:"code"`
	// Variant names the sub-cause, when the entry has several.
	Variant string   `json:"variant,omitempty"`
	Title   string   `json:"title"`
	Meaning string   `json:"meaning"`
	Causes  []string `json:"causes,omitempty"`
	Check   string   `json:"check,omitempty"`
	Fix     string   `json:"fix,omitempty"`
	// Patterns are the error texts that reveal the cause (explain --list only).
	Patterns []string `json:"patterns,omitempty"`
}

// Summary counts what the report holds.
type Summary struct {
	Certificates int `json:"certificates"`
	Findings     int `json:"findings"`
	Warning      int `json:"warning"`
	Critical     int `json:"critical"`
}

// NewReport builds a report. Findings of severity OK are not findings and are dropped.
func NewReport(command string, now time.Time, recs []Record, fs []Finding, notes []string) *Report {
	r := &Report{Kind: "Report", Command: command, GeneratedAt: now.UTC(), Certificates: recs, Notes: notes,
		Findings: []Finding{}}
	if r.Certificates == nil {
		r.Certificates = []Record{}
	}
	for _, f := range fs {
		switch f.Severity {
		case Critical:
			r.Summary.Critical++
		case Warning:
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
