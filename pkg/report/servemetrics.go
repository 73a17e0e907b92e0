package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ServeMetrics is what `serve` knows about its own check-ups, exported after the last
// report's metrics (docs/output.md, "serve's own metrics").
type ServeMetrics struct {
	// Successes and Failures count finished check-ups: a failure returned an error or no
	// report (or the report could not be rendered).
	Successes, Failures uint64
	// Skipped counts scheduled check-ups not started because the previous one still ran.
	Skipped uint64
	// Finished is false until the first check-up finished: the gauges about the last run
	// are left out rather than read as a failure (or a success) that never happened.
	Finished       bool
	LastRunSuccess bool
	LastDuration   time.Duration
	// LastSuccess is when the last successful check-up ended; zero before the first one.
	LastSuccess time.Time
}

// WriteServeMetrics writes m in the Prometheus text format, each family once with its
// HELP and TYPE, so that it can follow the report's families in one exposition.
func WriteServeMetrics(w io.Writer, m ServeMetrics) error {
	var b strings.Builder
	family := func(name, typ, help string, samples ...string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
		for _, s := range samples {
			fmt.Fprintf(&b, "%s%s\n", name, s)
		}
	}
	if m.Finished {
		family("certdoctor_serve_last_run_success", "gauge", "Whether the last finished check-up produced a report (1) or failed (0).",
			" "+serveBool(m.LastRunSuccess))
		family("certdoctor_serve_run_duration_seconds", "gauge", "How long the last finished check-up ran.",
			" "+serveFloat(m.LastDuration.Seconds()))
	}
	if !m.LastSuccess.IsZero() {
		family("certdoctor_serve_last_success_timestamp_seconds", "gauge", "When the last successful check-up ended, in seconds since the Unix epoch.",
			" "+serveFloat(float64(m.LastSuccess.UnixMilli())/1000))
	}
	// Both results are always exported, from zero: rate() and increase() need the series
	// to exist before the first failure.
	family("certdoctor_serve_runs_total", "counter", "Check-ups finished, by result.",
		`{result="success"} `+strconv.FormatUint(m.Successes, 10), `{result="failure"} `+strconv.FormatUint(m.Failures, 10))
	family("certdoctor_serve_skipped_runs_total", "counter", "Scheduled check-ups not started because the previous one was still running.",
		" "+strconv.FormatUint(m.Skipped, 10))
	_, err := io.WriteString(w, b.String())
	return err
}

func serveBool(v bool) string {
	if v {
		return "1"
	}
	return "0"
}

// serveFloat writes v without an exponent: timestamps stay readable (1764540000.5).
func serveFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
