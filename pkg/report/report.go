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
	// FormatPrometheus is the Prometheus text exposition format (-o prometheus, serve).
	FormatPrometheus = "prometheus"
)

// Formats lists the accepted -o values.
var Formats = []string{FormatTable, FormatWide, FormatJSON, FormatYAML, FormatPrometheus}

// ValidateFormat rejects an unknown -o value.
func ValidateFormat(f string) error {
	for _, ok := range Formats {
		if f == ok {
			return nil
		}
	}
	return fmt.Errorf("unknown output format %q: use one of %s", f, strings.Join(Formats, ", "))
}

// Options shape the table output; JSON and YAML always hold everything.
type Options struct {
	Format string
	// Wide adds columns and lists every certificate (-o wide).
	Wide bool
	// ShowAll lists every finding of a group that repeats one cause.
	ShowAll bool
	// ShowOK lists every certificate of a large report, not only those that need attention.
	ShowOK bool
	// Cluster is the metrics' cluster label for what names no cluster of its own
	// (Finding.Cluster, Record.Cluster, Part.Cluster): the kubeconfig context, or the node
	// with --local. Prometheus format only.
	Cluster string
	// Build is the binary's version, for certdoctor_build_info. Prometheus format only.
	Build Build
}

// Print writes the report in format to w.
func Print(w io.Writer, r *result.Report, format string) error {
	return PrintWith(w, r, Options{Format: format})
}

// PrintWith writes the report as o says.
func PrintWith(w io.Writer, r *result.Report, o Options) error {
	switch o.Format {
	case FormatJSON:
		return writeJSON(w, r)
	case FormatYAML:
		return writeYAML(w, r)
	case FormatPrometheus:
		return writePrometheus(w, r, o)
	case FormatTable, FormatWide, "":
		o.Wide = o.Wide || o.Format == FormatWide
		return printText(w, r, o)
	}
	return ValidateFormat(o.Format)
}
