// Package cmd holds certdoctor's commands, one file each, in the k8s.io/kubectl
// pattern: an Options struct, NewCmdX, and Complete/Validate/Run.
package cmd

import (
	"context"
	"strings"

	"errors"
	"fmt"
	"github.com/MakeNowJust/heredoc"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/report"
)

// version is set at build time with -ldflags -X.
var version = "dev"

// ExitError carries a non-zero exit status that is not a failure of the command:
// findings were reported (2 warnings only, 3 critical). main exits with Code silently.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// ExitInterrupted is the status after Ctrl-C or SIGTERM (128+SIGINT, as shells report it).
const ExitInterrupted = 130

// errInterrupted ends a command whose context was cancelled by a signal, after its
// debug pods were deleted.
var errInterrupted = &ExitError{Code: ExitInterrupted}

// ExitCode maps the error a command returned to the process exit status.
func ExitCode(err error) int {
	var ee *ExitError
	switch {
	case err == nil:
		return report.ExitOK
	case errors.As(err, &ee):
		return ee.Code
	}
	return report.ExitFailed
}

// CommonOptions are the flags every command shares: kubectl's connection flags, the
// output format and the expiry warning window.
type CommonOptions struct {
	ConfigFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	Output        string
	WarnWithinRaw string
	WarnWithin    time.Duration
	// Now is the reference time for every validity check; tests pin it.
	Now func() time.Time
}

// NewCommonOptions returns the shared options with their defaults.
func NewCommonOptions(streams genericiooptions.IOStreams) *CommonOptions {
	return &CommonOptions{
		ConfigFlags:   genericclioptions.NewConfigFlags(true),
		IOStreams:     streams,
		Output:        report.FormatTable,
		WarnWithinRaw: "30d",
		Now:           time.Now,
	}
}

// Complete parses the shared flags.
func (o *CommonOptions) Complete() error {
	d, err := certs.ParseDuration(o.WarnWithinRaw)
	if err != nil {
		return fmt.Errorf("--warn-within: %w", err)
	}
	o.WarnWithin = d
	return nil
}

// Validate rejects bad shared flags.
func (o *CommonOptions) Validate() error {
	return report.ValidateFormat(o.Output)
}

// print writes the report and turns its findings into the exit status.
func (o *CommonOptions) print(r *report.Report) error {
	if err := report.Print(o.Out, r, o.Output); err != nil {
		return err
	}
	if code := r.ExitCode(); code != report.ExitOK {
		return &ExitError{Code: code}
	}
	return nil
}

// longDesc dedents a help text. templates.LongDesc would re-render it as markdown,
// which indents every paragraph after the first under cobra's default help template.
func longDesc(s string) string { return strings.TrimSpace(heredoc.Doc(s)) }

// command is the kubectl pattern every subcommand's options follow.
type command interface {
	Complete(*cobra.Command) error
	Validate() error
	Run(context.Context) (*report.Report, error)
	print(*report.Report) error
}

// runE runs Complete, Validate and Run, then prints the report, also when Run returns
// one with an error (a partial result is still worth reading).
func runE(o command) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		if err := o.Complete(cmd); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		r, err := o.Run(cmd.Context())
		if r != nil {
			if perr := o.print(r); perr != nil && err == nil {
				return perr
			}
		}
		return err
	}
}

var rootLong = longDesc(`
	Find out why TLS in a Kubernetes cluster is broken or about to break, and what to do about it.

	Every command takes kubectl's connection flags (--kubeconfig, --context, -n, --as, ...)
	and prints a table, or JSON/YAML with -o.

	Exit codes: 0 nothing found; 1 the command failed; 2 warnings only;
	3 at least one critical finding; 130 interrupted.`)

// Execute runs the command line in args (without the program name) and writes the
// profile asked for with --profile, whatever the outcome.
func Execute(ctx context.Context, streams genericiooptions.IOStreams, args []string) error {
	var prof profiling
	cmd := newCmdCertdoctor(streams, &prof)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if ferr := prof.flush(); ferr != nil && err == nil {
		err = ferr
	}
	return err
}

// NewCmdCertdoctor builds the root command with every subcommand.
func NewCmdCertdoctor(streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdCertdoctor(streams, &profiling{name: "none"})
}

func newCmdCertdoctor(streams genericiooptions.IOStreams, prof *profiling) *cobra.Command {
	o := NewCommonOptions(streams)
	cmd := &cobra.Command{
		Use:               "kubectl-certdoctor",
		Short:             "Diagnose TLS certificate problems in a Kubernetes cluster",
		Long:              rootLong,
		SilenceUsage:      true,
		SilenceErrors:     true,
		Version:           version,
		Annotations:       map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl certdoctor"},
		Args:              cobra.NoArgs,
		RunE:              func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		PersistentPreRunE: func(*cobra.Command, []string) error { return prof.start() },
	}
	flags := cmd.PersistentFlags()
	prof.addFlags(flags)
	o.ConfigFlags.AddFlags(flags)
	flags.StringVarP(&o.Output, "output", "o", o.Output, "Output format: table, wide, json or yaml.")
	flags.StringVar(&o.WarnWithinRaw, "warn-within", o.WarnWithinRaw, "Warn about certificates that expire within this time (e.g. 30d, 2w, 720h).")
	cmd.AddCommand(NewCmdExpiry(o))
	cmd.AddCommand(NewCmdSANs(o))
	cmd.AddCommand(NewCmdWebhook(o))
	cmd.AddCommand(NewCmdCleanup(o))
	return cmd
}
