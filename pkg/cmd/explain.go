package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"github.com/certdoctor/kubectl-certdoctor/plugins"
)

// maxExplainInput bounds what explain reads from stdin: a pasted log, not a disk.
const maxExplainInput = 4 << 20

// ExplainOptions are the options of `kubectl certdoctor explain`.
type ExplainOptions struct {
	*CommonOptions
	List bool

	text string
}

var explainExample = templates.Examples(`
	# The error you have in hand
	kubectl certdoctor explain "Unable to connect to the server: x509: certificate has expired or is not yet valid"

	# Everything a command printed, or a whole log
	kubectl apply -f issuer.yaml 2>&1 | kubectl certdoctor explain -
	kubectl -n kube-system logs etcd-cp1 | kubectl certdoctor explain -

	# Every cause certdoctor knows, as JSON
	kubectl certdoctor explain --list -o json`)

// NewCmdExplain builds `explain`.
func NewCmdExplain(common *CommonOptions) *cobra.Command {
	o := &ExplainOptions{CommonOptions: common}
	cmd := &cobra.Command{
		Use:   "explain \"ERROR TEXT\" | - | --list",
		Short: "Explain a TLS, webhook or authentication error message: what it means, why, and the fix",
		Long: longDesc(`
			Match an error message (or a whole log, with - to read standard input) against certdoctor's
			catalogue of causes, without contacting any cluster. For each distinct cause, in the order
			the text shows them: what it means, what usually leads to it, the certdoctor command that
			checks it on your cluster, and the fix, filled in with the names and addresses the message
			carries.`),
		Example: explainExample,
		Args:    cobra.MaximumNArgs(1),
		RunE:    runE(o),
	}
	cmd.Flags().BoolVar(&o.List, "list", o.List, "List every cause in the catalogue.")
	return cmd
}

// Complete reads the text: the argument, or standard input for "-".
func (o *ExplainOptions) Complete(cmd *cobra.Command) error {
	args := cmd.Flags().Args()
	switch {
	case len(args) == 0:
		return nil
	case args[0] == "-":
		b, err := io.ReadAll(io.LimitReader(o.In, maxExplainInput+1))
		if err != nil {
			return fmt.Errorf("cannot read standard input: %w", err)
		}
		if len(b) > maxExplainInput {
			return fmt.Errorf("standard input is larger than %d MiB: pass the lines around the error", maxExplainInput>>20)
		}
		o.text = string(b)
	default:
		o.text = args[0]
	}
	return nil
}

// Validate needs a text, or --list.
func (o *ExplainOptions) Validate() error {
	if err := o.CommonOptions.Validate(); err != nil {
		return err
	}
	switch {
	case o.List && o.text != "":
		return errors.New("--list takes no error text")
	case !o.List && strings.TrimSpace(o.text) == "":
		return errors.New(`give the error text: kubectl certdoctor explain "TEXT", or - to read it from standard input`)
	}
	return nil
}

// Run matches the text against the catalogue.
func (o *ExplainOptions) Run(context.Context) (*result.Report, error) {
	r := result.NewReport("explain", o.Now(), nil, nil, nil)
	cat := diagnose.Default()
	if o.List {
		r.Explanations = cat.List()
		return r, nil
	}
	profiles, err := plugins.All()
	if err != nil {
		return nil, err
	}
	r.Explanations = cat.Explain(o.text, webhookTarget(profiles))
	if len(r.Explanations) == 0 {
		return nil, errors.New("no known cause in this text; run kubectl certdoctor (the full check-up) against the cluster, " +
			"or kubectl certdoctor explain --list for the errors certdoctor knows")
	}
	return r, nil
}

// webhookTarget names what `kubectl certdoctor webhook` should walk for the webhook or
// Service an error text names: the product's profile, else every webhook.
func webhookTarget(profiles map[string]*plugins.Profile) diagnose.Resolver {
	return func(p map[string]string) map[string]string {
		if pr := plugins.ForError(profiles, p["webhook"], p["service"]); pr != nil {
			return map[string]string{"target": pr.Name}
		}
		return map[string]string{"target": "--all"}
	}
}
