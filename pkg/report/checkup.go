package report

import (
	"fmt"
	"strings"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// printTarget names what the report is about.
func printTarget(w *textWriter, r *result.Report) {
	t := r.Target
	switch {
	case t == nil:
	case t.Node != "":
		w.printf("Node %s (its files, read with --local)\n\n", t.Node)
	default:
		w.printf("Context %s: cluster %s at %s, as user %s\n\n", orDash(t.Context), orDash(t.Cluster), orDash(t.Server), orDash(t.User))
	}
}

// printCheckup is the check-up's first screen: every finding in one line, worst first
// (a repeated cause once, with its count), then how each check went and the steps
// that did not pass.
func printCheckup(w *textWriter, r *result.Report, o Options) error {
	width := w.clusterWidth(r.Findings)
	for _, g := range groups(r.Findings) {
		line := clusterCell(g.members[0].Cluster, width) + headline(g.members[0])
		if len(g.members) > 1 {
			line = fmt.Sprintf("%s (and %d more like it)", line, len(g.members)-1)
		}
		w.printf("%s\n", line)
	}
	if len(r.Findings) == 0 {
		w.printf("No problems found.\n")
	}
	w.printf("\n")
	rows := make([][]string, 0, len(r.Parts))
	var steps []result.Check
	for _, p := range r.Parts {
		detail := p.Detail
		if p.Status == result.PartRan {
			detail = fmt.Sprintf("%s, %d critical, %d warning", count(p.Summary.Certificates, "certificate"), p.Summary.Critical, p.Summary.Warning)
			if p.Summary.Certificates == 0 {
				detail = fmt.Sprintf("%s, %d critical, %d warning", count(len(p.Checks), "step"), p.Summary.Critical, p.Summary.Warning)
			}
		}
		rows = append(rows, w.clusterRow(p.Cluster, []string{p.Command, strings.ToUpper(p.Status), detail}))
		for _, c := range p.Checks {
			if c.Severity != result.OK || o.Wide {
				c.Group = p.Command + " " + c.Group
				steps = append(steps, c)
			}
		}
	}
	if err := w.table(w.clusterHeader([]string{"CHECK", "STATUS", "RESULT"}), rows); err != nil {
		return err
	}
	if len(steps) > 0 {
		w.printf("\n")
		if err := checkTable(w, steps); err != nil {
			return err
		}
	}
	w.printf("\n")
	return nil
}

// printPlan writes an ordered procedure, numbered.
func printPlan(w *textWriter, p *result.Plan) {
	if p == nil {
		return
	}
	w.printf("\nPLAN: %s (printed, not run)\n", p.Title)
	for i, s := range p.Steps {
		w.printf("  %d. %s\n", i+1, strings.TrimSpace(s))
	}
}

// attention are the certificates a large table shows by default: those not OK. A
// report of up to attentionAbove certificates, -o wide and --show-ok show them all.
func attention(recs []result.Record, o Options) []result.Record {
	if len(recs) <= attentionAbove || o.Wide || o.ShowOK {
		return recs
	}
	var out []result.Record
	for _, r := range recs {
		if r.Status != result.StatusOK {
			out = append(out, r)
		}
	}
	return out
}

// attentionAbove is how many certificates a table lists in full.
const attentionAbove = 50

// count is n things, in the singular for one.
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
