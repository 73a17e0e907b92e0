package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// ExitTimedOut is the status when --wait ran out of time, as cmctl's and timeout(1)'s.
const ExitTimedOut = 124

// WaitFlags are --wait and --interval: re-check until no critical finding remains.
type WaitFlags struct {
	Wait     time.Duration
	Interval time.Duration
}

func defaultWaitFlags() WaitFlags { return WaitFlags{Interval: 5 * time.Second} }

func addWaitFlags(cmd *cobra.Command, w *WaitFlags) {
	cmd.Flags().DurationVar(&w.Wait, "wait", w.Wait, "Check again until no critical finding remains, for at most this long (exit 124 when the time runs out).")
	cmd.Flags().DurationVar(&w.Interval, "interval", w.Interval, "With --wait: the first pause between checks (it doubles, up to 6 times this).")
}

func (w *WaitFlags) validate() error {
	switch {
	case w.Wait < 0:
		return errors.New("--wait must not be negative")
	case w.Interval < 100*time.Millisecond:
		return errors.New("--interval must be at least 100ms")
	}
	return nil
}

// waiter is a command that takes --wait.
type waiter interface {
	waitFlags() *WaitFlags
	errOut() io.Writer
}

// waitHealthy runs again while the report holds a critical finding (or the run failed),
// until the wait runs out. It returns the last report and whether time ran out.
func waitHealthy(ctx context.Context, o command, w *WaitFlags, errOut io.Writer, r *result.Report, err error) (*result.Report, error, bool) {
	deadline := time.Now().Add(w.Wait)
	pause := w.Interval
	for err != nil || r == nil || r.Summary.Critical > 0 {
		left := time.Until(deadline)
		if left <= 0 {
			return r, err, true
		}
		sleep := min(pause, left)
		fmt.Fprintf(errOut, "certdoctor: %s; checking again in %s\n", stillFailing(r, err), sleep.Round(100*time.Millisecond))
		select {
		case <-ctx.Done():
			return r, err, false
		case <-time.After(sleep):
		}
		pause = min(2*pause, 6*w.Interval)
		r, err = o.Run(ctx)
		if ctx.Err() != nil {
			return r, err, false
		}
	}
	return r, err, false
}

// stillFailing says in one line what keeps the check from passing.
func stillFailing(r *result.Report, err error) string {
	if err != nil {
		return "the check failed: " + strings.Join(strings.Fields(err.Error()), " ")
	}
	var what []string
	for _, f := range r.Findings {
		if f.Severity == result.Critical && len(what) < 3 {
			what = append(what, f.Code+" "+f.Subject)
		}
	}
	return fmt.Sprintf("%d critical finding(s) remain (%s)", r.Summary.Critical, strings.Join(what, "; "))
}
