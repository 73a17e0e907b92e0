// Command kubectl-certdoctor is the kubectl plugin `kubectl certdoctor`.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/certdoctor/kubectl-certdoctor/pkg/cmd"
	"github.com/certdoctor/kubectl-certdoctor/pkg/report"
)

func main() {
	tuneGC()
	// Silent until -v says otherwise (pkg/cmd/logging.go): nothing may log before flags are read.
	cmd.QuietLogs()
	// The first Ctrl-C or SIGTERM cancels the context: commands stop waiting and delete
	// their debug pods. A second one kills the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { <-ctx.Done(); stop() }()
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	err := cmd.Execute(ctx, streams, os.Args[1:])
	code := cmd.ExitCode(err)
	var ee *cmd.ExitError
	switch {
	case code == 1:
		// One line on stderr; stdout stays clean for -o json.
		// Errors quoted from kubectl's libraries may already start with "error: ".
		msg := strings.Join(strings.Fields(err.Error()), " ")
		// Escaped: an error can quote a file's or certificate's bytes.
		fmt.Fprintf(os.Stderr, "error: %s\n", report.Escape(strings.TrimPrefix(msg, "error: ")))
	case errors.As(err, &ee) && ee.Note != "":
		fmt.Fprintln(os.Stderr, report.Escape(ee.Note))
	}
	stop()
	os.Exit(code)
}

// tuneGC trades memory for speed within a bound: a run lasts a second or so and most of
// its heap is garbage from decoded list pages, so collecting at 3x the live heap rather
// than Go's 2x saves a fifth of the CPU on a large cluster; the soft limit keeps the heap
// near 64 MiB whatever the cluster's size (docs/benchmarks.md). GOGC and GOMEMLIMIT in
// the environment take precedence.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(64 << 20)
	}
}
