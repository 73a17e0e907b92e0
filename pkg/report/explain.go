package report

import (
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// printExplanations writes each cause explain found: the line that shows it, what it
// means, the usual causes, the command that checks it and the fix.
func printExplanations(w *textWriter, xs []result.Explanation) {
	for i, x := range xs {
		if i > 0 {
			w.printf("\n")
		}
		w.printf("%s  %s\n", x.Code, x.Title)
		if x.Excerpt != "" {
			w.printf("  seen:   %s\n", x.Excerpt)
		}
		w.printf("  means:  %s\n", lines(x.Meaning, "          "))
		if len(x.Causes) > 0 {
			w.printf("  usually:\n")
			for j, c := range x.Causes {
				w.printf("    %d. %s\n", j+1, c)
			}
		}
		if x.Check != "" {
			w.printf("  check:  %s\n", x.Check)
		}
		if x.Fix != "" {
			w.printf("  fix:    %s\n", lines(x.Fix, "          "))
		}
		for _, p := range x.Patterns {
			w.printf("  text:   %s\n", p)
		}
	}
}
