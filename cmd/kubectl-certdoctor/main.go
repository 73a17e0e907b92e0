// Command kubectl-certdoctor is the kubectl plugin `kubectl certdoctor`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/certdoctor/kubectl-certdoctor/pkg/cmd"
)

func main() {
	// The first Ctrl-C or SIGTERM cancels the context: commands stop waiting and delete
	// their debug pods. A second one kills the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { <-ctx.Done(); stop() }()
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	err := cmd.Execute(ctx, streams, os.Args[1:])
	code := cmd.ExitCode(err)
	switch code {
	case 1:
		// One line on stderr; stdout stays clean for -o json.
		fmt.Fprintf(os.Stderr, "error: %s\n", strings.Join(strings.Fields(err.Error()), " "))
	case cmd.ExitInterrupted:
		fmt.Fprintln(os.Stderr, "interrupted: debug pods were deleted")
	}
	stop()
	os.Exit(code)
}
