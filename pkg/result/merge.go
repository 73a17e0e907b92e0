package result

import (
	"strings"
	"time"
)

// ClusterReport is one kubeconfig context's report, for Merge.
type ClusterReport struct {
	// Target names the context; its Context is the label every merged item carries.
	Target Target
	// Report is what the command reported for that context. A context that could not be
	// checked at all has a report holding only the finding that says why.
	Report *Report
}

// Merge makes one report of the reports one command made for several contexts
// (--contexts): every certificate, finding, check, part and permission labelled with
// its context, notes and plan steps prefixed "[context] ", the summary recounted from
// what was merged, and one target per context. whoami's identity and inspect's
// inspection are one object per cluster: they move to that cluster's target.
//
// A cause seen in two clusters stays two findings: each is fixed in its own cluster.
func Merge(command string, now time.Time, runs []ClusterReport) *Report {
	var recs []Record
	var fs []Finding
	var notes []string
	var checks []Check
	var parts []Part
	var perms []Permission
	var plan *Plan
	targets := make([]Target, 0, len(runs))
	for _, run := range runs {
		t, r := run.Target, run.Report
		name := t.Context
		if r == nil {
			targets = append(targets, t)
			continue
		}
		t.Identity, t.Inspection = r.Identity, r.Inspection
		targets = append(targets, t)
		for _, rec := range r.Certificates {
			rec.Cluster = name
			recs = append(recs, rec)
		}
		for _, f := range r.Findings {
			f.Cluster = name
			fs = append(fs, f)
		}
		checks = append(checks, labelChecks(r.Checks, name)...)
		for _, p := range r.Parts {
			p.Cluster, p.Checks = name, labelChecks(p.Checks, name)
			parts = append(parts, p)
		}
		for _, p := range r.Permissions {
			p.Cluster = name
			perms = append(perms, p)
		}
		for _, n := range r.Notes {
			notes = append(notes, Labelled(name, n))
		}
		plan = mergePlan(plan, r.Plan, name)
	}
	SortFindings(fs) // stable: within one cause and subject, the contexts keep their order
	out := NewReport(command, now, recs, fs, notes)
	out.Checks, out.Parts, out.Permissions, out.Plan, out.Targets = checks, parts, perms, plan, targets
	return out
}

// Labelled prefixes a line of text with the context it is about.
func Labelled(context, line string) string { return "[" + context + "] " + line }

func labelChecks(cs []Check, name string) []Check {
	if len(cs) == 0 {
		return nil
	}
	out := make([]Check, len(cs))
	for i, c := range cs {
		c.Cluster = name
		out[i] = c
	}
	return out
}

// mergePlan appends p's steps, labelled with the context, to the plan so far. Report.Plan
// is one procedure: the contexts' steps follow one another, each in its own cluster's
// order, and a title the contexts do not share is joined with theirs.
func mergePlan(into, p *Plan, name string) *Plan {
	if p == nil {
		return into
	}
	if into == nil {
		into = &Plan{Title: p.Title}
	} else if !strings.Contains("; "+into.Title+"; ", "; "+p.Title+"; ") {
		into.Title += "; " + p.Title
	}
	for _, s := range p.Steps {
		into.Steps = append(into.Steps, Labelled(name, s))
	}
	return into
}

// Clusters tells whether the report spans several contexts, so that its tables need a
// CLUSTER column.
func (r *Report) Clusters() bool {
	if len(r.Targets) > 1 {
		return true
	}
	for _, f := range r.Findings {
		if f.Cluster != "" {
			return true
		}
	}
	for _, rec := range r.Certificates {
		if rec.Cluster != "" {
			return true
		}
	}
	for _, p := range r.Parts {
		if p.Cluster != "" {
			return true
		}
	}
	for _, c := range r.Checks {
		if c.Cluster != "" {
			return true
		}
	}
	return false
}
