package cmd

import (
	"context"
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// command is the kubectl pattern every subcommand's options follow.
type command interface {
	Complete(*cobra.Command) error
	Validate() error
	Run(context.Context) (*result.Report, error)
	print(*result.Report) error
}

// pusher is a command that sends its printed report's metrics to --pushgateway
// (metrics.go): every command that embeds CommonOptions.
type pusher interface {
	push(ctx context.Context, r *result.Report, printed error) error
}

// runE runs Complete, Validate and Run, then prints the report, also when Run returns
// one with an error (a partial result is still worth reading). A run cut short by
// SIGINT or SIGTERM (the context main cancels) prints nothing and exits 130, after Run
// has cleaned up: its results would be partial without saying which part is missing.
func runE(o command) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		if err := o.Complete(cmd); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		ctx := cmd.Context()
		start := time.Now()
		r, err := o.Run(ctx)
		timedOut := false
		w, canWait := o.(waiter)
		waiting := canWait && w.waitFlags().Wait > 0
		if waiting && ctx.Err() == nil {
			r, err, timedOut = waitHealthy(ctx, o, w.waitFlags(), w.errOut(), r, err)
		}
		if ctx.Err() != nil {
			return interrupted(o)
		}
		if r != nil {
			if r.Seconds == 0 {
				r.Seconds = time.Since(start).Seconds() // with --wait, until the last check ended
			}
			perr := o.print(r)
			if p, ok := o.(pusher); ok {
				perr = p.push(ctx, r, perr)
			}
			var exit *ExitError
			switch {
			case timedOut:
				return &ExitError{Code: ExitTimedOut, Note: "timed out waiting: " + stillFailing(r, err)}
			case waiting && errors.As(perr, &exit) && exit.Code == result.ExitWarning:
				perr = nil // --wait asks for no critical finding: warnings alone pass
			}
			if perr != nil && err == nil {
				return perr
			}
		}
		if timedOut {
			return &ExitError{Code: ExitTimedOut, Note: "timed out waiting: " + stillFailing(r, err)}
		}
		return err
	}
}
