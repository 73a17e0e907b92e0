// Package report turns findings and certificate records into what the user reads:
// kubectl-style tables, JSON or YAML, and the exit code. It is the only package that prints.
package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
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

// Print writes the report in format to w.
func Print(w io.Writer, r *result.Report, format string) error {
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
