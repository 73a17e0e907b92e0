package report

import (
	"fmt"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// A report that spans several contexts (--contexts) puts a CLUSTER column first in its
// tables and the context first on each finding's line; a one-cluster report looks as it
// always did.

// clusterHeader is header with CLUSTER first, when the report spans several contexts.
func (t *textWriter) clusterHeader(header []string) []string {
	if !t.clusters {
		return header
	}
	return append([]string{"CLUSTER"}, header...)
}

// clusterRow is row with its context first, when the report spans several contexts.
func (t *textWriter) clusterRow(cluster string, row []string) []string {
	if !t.clusters {
		return row
	}
	return append([]string{orDash(cluster)}, row...)
}

// clusterWidth is the width of the context column of finding lines: the longest context.
func (t *textWriter) clusterWidth(fs []result.Finding) int {
	n := 0
	if t.clusters {
		for _, f := range fs {
			n = max(n, len([]rune(Escape(orDash(f.Cluster)))))
		}
	}
	return n
}

// clusterCell is the context as the first field of a finding's line, padded to width
// ("" in a one-cluster report).
func clusterCell(cluster string, width int) string {
	if width == 0 {
		return ""
	}
	return fmt.Sprintf("%-*s  ", width, Escape(orDash(cluster)))
}

// printTargets names each context of a report that spans several.
func printTargets(w *textWriter, ts []result.Target) {
	for _, t := range ts {
		w.printf("Context %s: cluster %s at %s, as user %s\n", orDash(t.Context), orDash(t.Cluster), orDash(t.Server), orDash(t.User))
	}
	if len(ts) > 0 {
		w.printf("\n")
	}
}

// printPerCluster prints whoami's identity and inspect's inspection of each context.
func printPerCluster(w *textWriter, r *result.Report) error {
	for i, t := range r.Targets {
		if t.Identity == nil && t.Inspection == nil {
			continue
		}
		if i > 0 {
			w.printf("\n")
		}
		w.printf("CLUSTER %s\n", t.Context)
		if t.Identity != nil {
			if err := identityTable(w, t.Identity, r.GeneratedAt); err != nil {
				return err
			}
		}
		if t.Inspection != nil {
			if err := printInspection(w, t.Inspection); err != nil {
				return err
			}
		}
	}
	return nil
}
