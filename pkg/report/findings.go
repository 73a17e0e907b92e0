package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// groupAbove is how many findings of one cause are printed one by one; more become one
// group (10,000 secrets with 3,000 expiring would otherwise print 3,000 blocks).
const groupAbove = 3

// groupListed is how many subjects a group names.
const groupListed = 10

// group is findings of one cause: severity, code and source.
type group struct {
	key     string
	members []result.Finding
}

// groups keeps the findings' order: a group stands where its first finding stood.
func groups(fs []result.Finding) []group {
	var out []group
	index := map[string]int{}
	for _, f := range fs {
		key := f.Cluster + "\x00" + f.Severity.String() + "\x00" + f.Code + "\x00" + f.Source
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, group{key: key})
		}
		out[i].members = append(out[i].members, f)
	}
	return out
}

// printFindings writes each finding as a block: severity, code and subject, then the
// message, the error clients see and the fix, indented. A cause that repeats more than
// groupAbove times is one block with the count and the first subjects (all of them
// with --show-all).
func printFindings(w *textWriter, fs []result.Finding, o Options) {
	if len(fs) == 0 {
		return
	}
	w.printf("\nFINDINGS\n")
	width := w.clusterWidth(fs)
	for _, g := range groups(fs) {
		if len(g.members) <= groupAbove || o.ShowAll {
			for _, f := range g.members {
				printFinding(w, f, width)
			}
			continue
		}
		printGroup(w, g.members, width)
	}
}

func printFinding(w *textWriter, f result.Finding, clusterWidth int) {
	w.printf("%s%-8s  %s  %s: %s\n", clusterCell(f.Cluster, clusterWidth), f.Severity, f.Code, f.Source, f.Subject)
	w.printf("  %s\n", f.Message)
	switch {
	case f.Error != "" && f.ErrorPredicted:
		w.printf("  clients will see: %s\n", f.Error)
	case f.Error != "":
		w.printf("  error: %s\n", f.Error)
	}
	if f.Fix != "" {
		w.printf("  fix:   %s\n", lines(f.Fix, "         "))
	}
	for _, c := range f.Consequences {
		w.printf("  broke: %s\n", c)
	}
}

func printGroup(w *textWriter, fs []result.Finding, clusterWidth int) {
	// the soonest to expire first, where the findings are about expiry dates
	fs = append([]result.Finding(nil), fs...)
	sort.SliceStable(fs, func(i, j int) bool {
		return fs[i].NotAfter != nil && (fs[j].NotAfter == nil || fs[i].NotAfter.Before(*fs[j].NotAfter))
	})
	first := fs[0]
	w.printf("%s%-8s  %s  %s: %d findings\n", clusterCell(first.Cluster, clusterWidth), first.Severity, first.Code, first.Source, len(fs))
	subjects := make([]string, 0, groupListed)
	for _, f := range fs[:min(len(fs), groupListed)] {
		subjects = append(subjects, f.Subject)
	}
	more := ""
	if len(fs) > groupListed {
		more = fmt.Sprintf(" (%d of %d; --show-all or -o json lists every one)", groupListed, len(fs))
	}
	w.printf("  %s%s\n", strings.Join(subjects, ", "), more)
	w.printf("  the first: %s\n", first.Message)
	if first.Fix != "" {
		w.printf("  fix (the first; the others alike): %s\n", lines(first.Fix, "         "))
	}
}

// headline is a finding in one line, for the check-up's summary: what, where, and the
// first step of the fix.
func headline(f result.Finding) string {
	title := f.Title
	if title == "" {
		title = f.Code
	}
	line := fmt.Sprintf("%-8s  %s: %s", f.Severity, f.Subject, title)
	if step, _, _ := strings.Cut(f.Fix, "\n"); step != "" {
		line += " → " + trimTo(strings.TrimSuffix(step, ":"), 100)
	}
	return line
}

func trimTo(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
