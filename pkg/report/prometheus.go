package report

import (
	"fmt"
	"io"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// writePrometheus writes the report as Prometheus metrics (docs/output.md).
func writePrometheus(w io.Writer, r *result.Report, o Options) error {
	return fmt.Errorf("-o prometheus is not built yet")
}
