// Package cmd holds certdoctor's commands, one file each, in the k8s.io/kubectl
// pattern: an Options struct, NewCmdX, and Complete/Validate/Run. Commands get their
// kubeconfig and clients from a Factory, hand the work to the engine packages
// (sources, nodes, webhook, sans) and return a result.Report that runE prints.
//
// To add a command: a file with XOptions embedding *CommonOptions, NewCmdX building the
// cobra command with RunE: runE(o), and a line in newCmdCertdoctor.
package cmd

import (
	"context"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

var rootLong = longDesc(`
	Find out why TLS in a Kubernetes cluster is broken or about to break, and what to do about it.

	Without a command, run the check-up: expiry, sans, webhook --all and, on GKE, workload-identity
	against the current context (or, with --local, this control-plane node's files), in one report
	with one exit code.
	--only and --skip choose the checks; each command below runs one of them with all its options.

	Every command takes kubectl's connection flags (--kubeconfig, --context, -n, --as, ...)
	and prints a table, or JSON/YAML or Prometheus metrics with -o (--pushgateway URL pushes the metrics).

	Exit codes: 0 nothing found; 1 the command failed; 2 warnings only;
	3 at least one critical finding; 130 interrupted.`)

// Execute runs the command line in args (without the program name) and writes the
// profile asked for with --profile, whatever the outcome.
func Execute(ctx context.Context, streams genericiooptions.IOStreams, args []string) error {
	var prof profiling
	cmd := newCmdCertdoctor(NewCommonOptions(streams), &prof)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if ferr := prof.flush(); ferr != nil && err == nil {
		err = ferr
	}
	return err
}

// NewCmdCertdoctor builds the root command with every subcommand.
func NewCmdCertdoctor(streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdCertdoctor(NewCommonOptions(streams), &profiling{name: "none"})
}

func newCmdCertdoctor(o *CommonOptions, prof *profiling) *cobra.Command {
	checkup := NewCheckupOptions(o)
	var logs logging
	cmd := &cobra.Command{
		Use:           "kubectl-certdoctor",
		Short:         "Diagnose TLS certificate problems in a Kubernetes cluster",
		Long:          rootLong,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl certdoctor"},
		Args:          cobra.NoArgs,
		RunE:          runE(checkup),
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if err := logs.start(o.ErrOut); err != nil {
				return err
			}
			return prof.start()
		},
	}
	addCheckupFlags(cmd, checkup)
	flags := cmd.PersistentFlags()
	prof.addFlags(flags)
	logs.addFlags(flags)
	o.ConfigFlags.AddFlags(flags)
	flags.StringVarP(&o.Output, "output", "o", o.Output, "Output format: table, wide, json, yaml or prometheus (metrics, docs/output.md).")
	flags.StringVar(&o.Pushgateway, "pushgateway", o.Pushgateway, "After the check, PUT its metrics to this Prometheus Pushgateway (URL/metrics/job/certdoctor/cluster/CLUSTER).")
	flags.BoolVar(&o.ShowAll, "show-all", o.ShowAll, "Tables: list every finding of a cause that repeats, not a group with a count.")
	flags.BoolVar(&o.ShowOK, "show-ok", o.ShowOK, "Tables: list every certificate of a large report, not only those that need attention.")
	cmd.AddCommand(NewCmdExpiry(o))
	cmd.AddCommand(NewCmdSANs(o))
	cmd.AddCommand(NewCmdWebhook(o))
	cmd.AddCommand(NewCmdCleanup(o))
	cmd.AddCommand(NewCmdWorkloadIdentity(o))
	cmd.AddCommand(NewCmdExplain(o))
	cmd.AddCommand(NewCmdWhoami(o))
	cmd.AddCommand(NewCmdInspect(o))
	cmd.AddCommand(NewCmdServe(o))
	cmd.AddCommand(NewCmdVersion(o))
	addContextsFlags(cmd, o)
	registerCompletions(cmd, o)
	return cmd
}
