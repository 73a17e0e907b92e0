package cmd

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/fileio"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"github.com/certdoctor/kubectl-certdoctor/pkg/webhook"
	"github.com/certdoctor/kubectl-certdoctor/plugins"
)

// WebhookOptions are the options of `kubectl certdoctor webhook`.
type WebhookOptions struct {
	*CommonOptions
	All          bool
	ListProfiles bool
	ProfileFile  string
	NoProbe      bool
	Wait         WaitFlags

	target    string // the argument: a profile or a configuration/APIService name
	namespace string // -n: where the product keeps its CA secret and cainjector
	profile   *plugins.Profile
	kube      *KubeconfigTarget
	clients   *Clients
}

var webhookExample = templates.Examples(`
	# Walk cert-manager's webhooks (a built-in profile)
	kubectl certdoctor webhook cert-manager

	# One configuration (or APIService) by name
	kubectl certdoctor webhook ingress-nginx-admission

	# Every admission webhook and aggregated API, without touching the pods
	kubectl certdoctor webhook --all --no-probe

	# Profiles built in, and your own
	kubectl certdoctor webhook --list-profiles
	kubectl certdoctor webhook --profile-file my-product.yaml`)

// NewCmdWebhook builds `webhook`.
func NewCmdWebhook(common *CommonOptions) *cobra.Command {
	o := &WebhookOptions{CommonOptions: common, Wait: defaultWaitFlags()}
	cmd := &cobra.Command{
		Use:   "webhook [PROFILE | CONFIGURATION-NAME] | --all",
		Short: "Walk each webhook's chain (Service, endpoints, pods, ports, caBundle, served certificate) and name the broken link",
		Long: longDesc(`
			Walk the chain the API server follows to call an admission webhook or an aggregated API:
			configuration → Service → EndpointSlices → Pods (Ready? OOMKilled? readinessProbe port vs
			the health-port flag) → container port vs the secure-port flag, hostNetwork and the kubelet's
			10250, provider firewalls → NetworkPolicies → caBundle (a CA, unexpired, the product's CA,
			cert-manager's injection) → a TLS handshake through a port-forward, verified with the
			caBundle for <service>.<namespace>.svc as the API server does. Each broken link is reported
			with the error message users see and the fix.`),
		Example: webhookExample,
		Args:    cobra.MaximumNArgs(1),

		ValidArgsFunction: webhookArgCompletion(o.CommonOptions),
		RunE:              runE(o),
	}
	f := cmd.Flags()
	f.BoolVar(&o.All, "all", o.All, "Walk every admission webhook and every APIService backed by a Service.")
	f.BoolVar(&o.ListProfiles, "list-profiles", o.ListProfiles, "List the built-in profiles.")
	f.StringVar(&o.ProfileFile, "profile-file", o.ProfileFile, "Use the profile in this YAML file (the format of the plugins/ directory).")
	f.BoolVar(&o.NoProbe, "no-probe", o.NoProbe, "Do not port-forward to the webhook pods for a TLS handshake.")
	addWaitFlags(cmd, &o.Wait)
	return cmd
}

// Complete resolves the argument to a profile or a name, and builds clients.
func (o *WebhookOptions) Complete(cmd *cobra.Command) error {
	if len(cmd.Flags().Args()) == 1 {
		o.target = cmd.Flags().Arg(0)
	}
	o.namespace = o.namespaceFlag(cmd)
	if err := o.validateSelection(); err != nil || o.ListProfiles {
		return err
	}
	switch {
	case o.ProfileFile != "":
		data, err := fileio.ReadFile(o.ProfileFile)
		if err != nil {
			return fmt.Errorf("--profile-file: %w", err)
		}
		if o.profile, err = plugins.Parse(data, o.ProfileFile); err != nil {
			return err
		}
	case o.target != "":
		all, err := plugins.All()
		if err != nil {
			return err
		}
		o.profile = all[o.target]
	}
	var err error
	o.kube, o.clients, err = connect(o.Factory)
	return err
}

// Validate checks the flags without touching the cluster.
func (o *WebhookOptions) Validate() error {
	if err := o.CommonOptions.Validate(); err != nil {
		return err
	}
	return o.Wait.validate()
}

// validateSelection checks that exactly one way of choosing webhooks was given; it runs
// in Complete, before any I/O, so a usage mistake is reported as such.
func (o *WebhookOptions) validateSelection() error {
	chosen := 0
	for _, b := range []bool{o.All, o.target != "", o.ProfileFile != ""} {
		if b {
			chosen++
		}
	}
	switch {
	case o.ListProfiles && chosen > 0:
		return fmt.Errorf("--list-profiles takes no other selection")
	case !o.ListProfiles && chosen > 1:
		return fmt.Errorf("give one of a name, --all or --profile-file, not several")
	case !o.ListProfiles && chosen == 0:
		return fmt.Errorf("name a profile (%v) or a webhook configuration, or use --all or --profile-file", plugins.Names())
	}
	return nil
}

// Run discovers the targets and walks each.
func (o *WebhookOptions) Run(ctx context.Context) (*result.Report, error) {
	now := o.Now()
	if o.ListProfiles {
		return o.listProfiles(now)
	}
	all, err := webhook.Discover(ctx, o.clients.Kube, o.clients.Aggregator, o.clients.APIExt, nil)
	if err != nil {
		return discoveryFailed(now, err)
	}
	targets, err := o.selectTargets(all)
	if err != nil {
		return nil, err
	}
	res := &webhook.Result{}
	var notes []string
	if len(targets) == 0 {
		notes = append(notes, "there is nothing to walk: no admission webhook, APIService backed by a Service or conversion webhook exists")
	}
	w := &webhook.Walker{Client: o.clients.Kube, Dynamic: o.clients.Dynamic, Profile: o.profile, Namespace: o.namespace, Now: now}
	if !o.NoProbe {
		w.Prober = &webhook.PortForwarder{Config: o.kube.Rest, Client: o.clients.Kube, Timeout: 10 * time.Second}
		w.Caller = &webhook.APICaller{Client: o.clients.Kube, Dynamic: o.clients.Dynamic, Profile: o.profile}
	}
	for _, t := range targets {
		w.Walk(ctx, t, res)
	}
	r := result.NewReport("webhook", now, nil, res.Findings, notes)
	r.Checks = res.Checks
	return r, nil
}

// selectTargets keeps what the command line names. A profile or name that matches
// nothing is the user's mistake, not a finding: say so, with the names that come close.
func (o *WebhookOptions) selectTargets(all []webhook.Target) ([]webhook.Target, error) {
	if o.All {
		return all, nil
	}
	keep := func(_, name string) bool { return name == o.target }
	if o.profile != nil {
		keep = webhook.ProfileFilter(o.profile)
	}
	var out []webhook.Target
	names := map[string]bool{}
	for _, t := range all {
		names[t.Config] = true
		if keep(t.Kind, t.Config) {
			out = append(out, t)
		}
	}
	switch {
	case len(out) > 0:
		return out, nil
	case o.profile != nil:
		return nil, fmt.Errorf("none of %s's webhook configurations, APIServices or conversion webhooks exists in this cluster: is it installed? "+
			"(kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations,apiservices)", o.profile.Name)
	}
	list := make([]string, 0, len(names))
	for n := range names {
		list = append(list, n)
	}
	sort.Strings(list)
	hint := ""
	if near := webhook.NearMisses(list, o.target); len(near) > 0 {
		hint = "; did you mean " + strings.Join(near, " or ") + "?"
	}
	return nil, fmt.Errorf("no profile and no webhook configuration, APIService or CRD named %q%s (profiles: kubectl certdoctor webhook --list-profiles)", o.target, hint)
}

func (o *WebhookOptions) listProfiles(now time.Time) (*result.Report, error) {
	all, err := plugins.All()
	if err != nil {
		return nil, err
	}
	r := result.NewReport("webhook", now, nil, nil, nil)
	for _, name := range plugins.Names() {
		p := all[name]
		r.Checks = append(r.Checks, result.Check{Group: p.Name, Name: "namespace " + p.Namespace, Severity: result.OK, Detail: p.Description})
	}
	return r, nil
}

// discoveryFailed reports a refused list as a finding when it has a known cause (RBAC,
// GKE Autopilot's managed configurations) and as a command failure otherwise.
func discoveryFailed(now time.Time, err error) (*result.Report, error) {
	var f result.Finding
	if _, ok := diagnose.Default().Classify(diagnose.CodeWebhookConfigsManaged, err.Error()); ok {
		f = diagnose.New(diagnose.CodeWebhookConfigsManaged, diagnose.Where{Source: result.SourceWebhook, Subject: "webhook configurations"},
			diagnose.Params{"err": err.Error()})
	} else if inner := errors.Unwrap(err); apierrors.IsForbidden(inner) || apierrors.IsTooManyRequests(inner) {
		f = diagnose.FromAPIError("webhook", "webhook configurations", inner)
	} else {
		return nil, err
	}
	return result.NewReport("webhook", now, nil, []result.Finding{f}, nil), nil
}

func (o *WebhookOptions) waitFlags() *WaitFlags { return &o.Wait }
