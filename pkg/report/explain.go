package report

import (
	"fmt"
	"io"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// printExplanations writes each cause explain found: the line that shows it, what it
// means, the usual causes, the command that checks it and the fix.
func printExplanations(w io.Writer, xs []result.Explanation) {
	for i, x := range xs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s  %s\n", x.Code, x.Title)
		if x.Excerpt != "" {
			fmt.Fprintf(w, "  seen:   %s\n", x.Excerpt)
		}
		fmt.Fprintf(w, "  means:  %s\n", indent(x.Meaning, "          "))
		if len(x.Causes) > 0 {
			fmt.Fprintln(w, "  usually:")
			for j, c := range x.Causes {
				fmt.Fprintf(w, "    %d. %s\n", j+1, c)
			}
		}
		if x.Check != "" {
			fmt.Fprintf(w, "  check:  %s\n", x.Check)
		}
		if x.Fix != "" {
			fmt.Fprintf(w, "  fix:    %s\n", indent(x.Fix, "          "))
		}
		for _, p := range x.Patterns {
			fmt.Fprintf(w, "  text:   %s\n", p)
		}
	}
}
