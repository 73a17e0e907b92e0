package cmd

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/MakeNowJust/heredoc"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/report"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// CommonOptions are what every command shares: kubectl's connection flags (through
// the Factory), the streams and the output format.
type CommonOptions struct {
	ConfigFlags *genericclioptions.ConfigFlags
	// Factory turns ConfigFlags into a kubeconfig and clients; tests replace it.
	Factory Factory
	genericiooptions.IOStreams

	Output string
	// ShowAll and ShowOK are the table's --show-all and --show-ok.
	ShowAll, ShowOK bool
	// Now is the reference time for every validity check; tests pin it.
	Now func() time.Time
	// Pushgateway is --pushgateway: where the report's metrics are PUT after the check.
	Pushgateway string
	// capture, when set, receives the report instead of the output: one context's run of
	// --contexts (contexts.go) hands it over to be merged.
	capture func(*result.Report)
}

// NewCommonOptions returns the shared options with their defaults.
func NewCommonOptions(streams genericiooptions.IOStreams) *CommonOptions {
	flags := genericclioptions.NewConfigFlags(true)
	return &CommonOptions{
		ConfigFlags: flags,
		Factory:     NewFactory(flags),
		IOStreams:   streams,
		Output:      report.FormatTable,
		Now:         time.Now,
	}
}

// Validate rejects bad shared flags.
func (o *CommonOptions) Validate() error {
	if err := report.ValidateFormat(o.Output); err != nil {
		return err
	}
	if err := validatePushgateway(o.Pushgateway); err != nil {
		return err
	}
	if o.ConfigFlags.Timeout != nil {
		return validateRequestTimeout(*o.ConfigFlags.Timeout)
	}
	return nil
}

// validateRequestTimeout accepts what kubectl's --request-timeout does (a bare number of
// seconds, or a duration with a unit; 0 means certdoctor's default), and nothing
// negative: client-go would otherwise turn a typo into a kubeconfig error.
func validateRequestTimeout(s string) error {
	if s == "" {
		return nil
	}
	d, err := time.ParseDuration(s)
	if n, nerr := strconv.ParseInt(s, 10, 64); nerr == nil {
		d, err = time.Duration(n)*time.Second, nil
		if n > int64(math.MaxInt64/time.Second) {
			err = fmt.Errorf("too large")
		}
	}
	switch {
	case err != nil:
		return fmt.Errorf("--request-timeout %q: want a duration such as 30s, 2m or a number of seconds", s)
	case d < 0:
		return fmt.Errorf("--request-timeout %q: a timeout cannot be negative", s)
	}
	return nil
}

// namespaceFlag is -n when the user gave it: commands read every namespace otherwise.
func (o *CommonOptions) namespaceFlag(cmd *cobra.Command) string {
	if cmd.Flags().Changed("namespace") && o.ConfigFlags.Namespace != nil {
		return *o.ConfigFlags.Namespace
	}
	return ""
}

// namespaceOf is where a command that reads one namespace reads, as kubectl decides: -n,
// else the context's namespace, else default.
func (o *CommonOptions) namespaceOf(cmd *cobra.Command, t *KubeconfigTarget) string {
	if ns := o.namespaceFlag(cmd); ns != "" {
		return ns
	}
	if ns := t.contextField("", func(c *clientcmdapi.Context) string { return c.Namespace }); ns != "" {
		return ns
	}
	return "default"
}

// print writes the report and turns its findings into the exit status.
func (o *CommonOptions) print(r *result.Report) error {
	if o.capture != nil {
		o.capture(r)
		return nil
	}
	if err := report.PrintWith(o.Out, r, o.reportOptions(r)); err != nil {
		return err
	}
	if code := r.ExitCode(); code != result.ExitOK {
		return &ExitError{Code: code}
	}
	return nil
}

// ExpiryWindow is --warn-within, for the commands that judge how soon certificates expire.
type ExpiryWindow struct {
	Raw    string
	Within time.Duration
}

func defaultExpiryWindow() ExpiryWindow { return ExpiryWindow{Raw: "30d"} }

func addExpiryWindowFlag(cmd *cobra.Command, w *ExpiryWindow) {
	cmd.Flags().StringVar(&w.Raw, "warn-within", w.Raw, "Warn about certificates that expire within this time (e.g. 30d, 2w, 720h).")
}

func (w *ExpiryWindow) complete() error {
	d, err := certs.ParseDuration(w.Raw)
	if err != nil {
		return fmt.Errorf("--warn-within: %w", err)
	}
	w.Within = d
	return nil
}

// longDesc dedents a help text. templates.LongDesc would re-render it as markdown,
// which indents every paragraph after the first under cobra's default help template.
func longDesc(s string) string { return strings.TrimSpace(heredoc.Doc(s)) }

func (o *CommonOptions) errOut() io.Writer { return o.ErrOut }
