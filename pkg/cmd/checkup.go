package cmd

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/nodes"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"github.com/certdoctor/kubectl-certdoctor/pkg/workloadidentity"
)

// The check-up's parts, in the order they are reported.
const (
	partExpiry  = "expiry"
	partSANs    = "sans"
	partWebhook = "webhook"
	// partWorkloadIdentity runs on GKE only: elsewhere it is skipped.
	partWorkloadIdentity = "workload-identity"
	partNodes            = "nodes" // not a part of its own: the expiry part's debug pods
)

var checkupParts = []string{partExpiry, partSANs, partWebhook, partWorkloadIdentity}

// CheckupOptions are the options of `kubectl certdoctor` itself: every check that
// applies, one report, one exit code.
type CheckupOptions struct {
	*CommonOptions
	Only, Skip []string
	Wait       WaitFlags

	expiry  *ExpiryOptions
	sans    *SANsOptions
	webhook *WebhookOptions
	want    map[string]bool
}

// NewCheckupOptions returns the check-up's options, sharing the flags its parts read.
func NewCheckupOptions(common *CommonOptions) *CheckupOptions {
	o := &CheckupOptions{CommonOptions: common, Wait: defaultWaitFlags(), expiry: NewExpiryOptions(common), sans: NewSANsOptions(common),
		webhook: &WebhookOptions{CommonOptions: common, All: true}}
	return o
}

// addCheckupFlags binds the check-up's own flags and the parts' flags that apply to it.
func addCheckupFlags(cmd *cobra.Command, o *CheckupOptions) {
	f := cmd.Flags()
	f.StringSliceVar(&o.Only, "only", o.Only, "Run only these checks (comma-separated): "+strings.Join(checkupParts, ", ")+".")
	f.StringSliceVar(&o.Skip, "skip", o.Skip, "Skip these checks: "+strings.Join(append(append([]string(nil), checkupParts...), partNodes), ", ")+" (nodes: no debug pods).")
	addExpiryWindowFlag(cmd, &o.expiry.Window)
	addLocalFlags(cmd, &o.expiry.Local)
	addNodeFlags(cmd, &o.expiry.Nodes)
	addOpaqueFlag(cmd, o.expiry)
	f.StringSliceVar(&o.sans.Expect, "expect", o.sans.Expect, "sans: an IP address or DNS name clients use (repeatable, comma-separated).")
	f.StringVar(&o.sans.ClusterDomain, "cluster-domain", o.sans.ClusterDomain, "sans: the cluster DNS domain (default: detected, else cluster.local).")
	addWaitFlags(cmd, &o.Wait)
	f.BoolVar(&o.webhook.NoProbe, "no-probe", o.webhook.NoProbe, "webhook: do not port-forward to webhook pods or call them through the API server.")
}

// Complete decides which parts run and completes them with the shared flags.
func (o *CheckupOptions) Complete(cmd *cobra.Command) error {
	o.want = map[string]bool{}
	for _, p := range checkupParts {
		o.want[p] = len(o.Only) == 0
	}
	for _, p := range o.Only {
		o.want[p] = true
	}
	for _, p := range o.Skip {
		if p == partNodes {
			o.expiry.Nodes.Skip = true
		}
		o.want[p] = false
	}
	if err := o.expiry.Complete(cmd); err != nil {
		return err
	}
	o.shareFlags()
	if o.expiry.Local.Enabled {
		return nil
	}
	o.sans.target = o.expiry.target
	o.webhook.namespace = o.namespaceFlag(cmd)
	return nil
}

// shareFlags gives sans the flags it shares with expiry. The expiry part alone runs
// debug pods, so sans judges the certificate the API server serves.
func (o *CheckupOptions) shareFlags() {
	o.sans.Window, o.sans.Local = o.expiry.Window, o.expiry.Local
	o.sans.Nodes = NodeFlags{Options: o.expiry.Nodes.Options, Skip: true}
	o.sans.Nodes.Nodes, o.sans.Nodes.Selector, o.sans.Nodes.AllNodes = nil, "", false
}

// Validate rejects unknown part names and bad shared flags.
func (o *CheckupOptions) Validate() error {
	known := map[string]bool{partNodes: true}
	for _, p := range checkupParts {
		known[p] = true
	}
	for _, p := range append(append([]string(nil), o.Only...), o.Skip...) {
		if !known[p] || (p == partNodes && contains(o.Only, p)) {
			return fmt.Errorf("unknown check %q: use %s (and --skip nodes)", p, strings.Join(checkupParts, ", "))
		}
	}
	if err := o.Wait.validate(); err != nil {
		return err
	}
	if err := o.sans.Validate(); err != nil {
		return err
	}
	return o.expiry.Validate()
}

func (o *CheckupOptions) usesDebugPods() bool { return o.want[partExpiry] && o.expiry.usesDebugPods() }

// partRun is one part's outcome.
type partRun struct {
	name    string
	r       *result.Report
	err     error
	skipped string
	seconds float64 // how long it ran (0 when it never started)
}

// Run runs the parts concurrently and merges them into one report.
func (o *CheckupOptions) Run(ctx context.Context) (*result.Report, error) {
	runs := make([]partRun, len(checkupParts))
	var wg sync.WaitGroup
	running := newInFlight(checkupParts)
	for i, name := range checkupParts {
		runs[i].name = name
		if why := o.notApplicable(name); why != "" {
			runs[i].skipped = why
			continue
		}
		running.set(name, true)
		wg.Add(1)
		go func(pr *partRun) {
			defer wg.Done()
			start := time.Now()
			pr.r, pr.skipped, pr.err = o.runPart(ctx, pr.name)
			pr.seconds = time.Since(start).Seconds()
			running.set(pr.name, false)
		}(&runs[i])
	}
	stop := o.progress(running.left)
	wg.Wait()
	stop()
	return o.merge(runs), nil
}

// progress tells a person watching a terminal, every 2 s, which checks still run.
func (o *CommonOptions) progress(left func() []string) (stop func()) {
	w := progressWriter(o)
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	start := time.Now()
	go func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(w, "certdoctor: %s running (%.0fs)\n", strings.Join(left(), ", "), time.Since(start).Seconds())
			}
		}
	}()
	return func() { close(done) }
}

// notApplicable says why a part does not run ("" when it does).
func (o *CheckupOptions) notApplicable(name string) string {
	switch {
	case !o.want[name]:
		return "not asked for"
	case name == partWebhook && o.expiry.Local.Enabled:
		return "--local reads this node's files; webhooks are checked through the API server"
	case name == partWorkloadIdentity && o.expiry.Local.Enabled:
		return "--local reads this node's files; Workload Identity is checked through the API server"
	case name != partExpiry && !o.expiry.Local.Enabled && (o.expiry.target == nil || o.expiry.target.Rest == nil):
		return "the kubeconfig cannot be used (see the expiry findings)"
	case (name == partWebhook || name == partWorkloadIdentity) && !o.expiry.Local.Enabled && o.expiry.target.CredErr != nil:
		return "the kubeconfig's credentials cannot be used (see the expiry findings)"
	}
	return ""
}

// runPart runs one part; skipped says why a part found it does not apply.
func (o *CheckupOptions) runPart(ctx context.Context, name string) (r *result.Report, skipped string, err error) {
	switch name {
	case partExpiry:
		r, err = o.expiry.Run(ctx)
		return r, "", err
	case partSANs:
		r, err = o.sans.Run(ctx)
		return r, "", err
	case partWorkloadIdentity:
		return o.workloadIdentity(ctx)
	}
	if o.webhook.clients == nil {
		if o.webhook.kube, o.webhook.clients, err = connect(o.Factory); err != nil {
			return nil, "", err
		}
	}
	r, err = o.webhook.Run(ctx)
	return r, "", err
}

// workloadIdentity checks every annotated service account (of -n's namespace, or all)
// when the cluster is GKE's, and is skipped elsewhere.
func (o *CheckupOptions) workloadIdentity(ctx context.Context) (*result.Report, string, error) {
	kube, clients, err := connect(o.Factory)
	if err != nil {
		return nil, "", err
	}
	r, res, err := runWorkloadIdentity(ctx, clients, kube.clusterName(), workloadidentity.Selection{Namespace: o.webhook.namespace}, o.Now())
	switch {
	case err != nil:
		return nil, "", err
	case res.NotGKE:
		return nil, "not a GKE cluster: no GKE node labels, metadata server DaemonSet or server version", nil
	case res.Unreached != nil:
		return nil, "", res.Unreached // the expiry part names the unreachable server
	}
	return r, "", nil
}

// merge makes one report of the parts: the expiry part's certificates, every part's
// findings (a cause two parts both saw is one finding), the parts' checks each under
// its part, and the renewal plan the findings call for.
func (o *CheckupOptions) merge(runs []partRun) *result.Report {
	var recs []result.Record
	var fs []result.Finding
	seen := map[string]bool{}
	notes := map[string]bool{}
	var parts []result.Part
	for _, pr := range runs {
		part := result.Part{Command: pr.name, Status: result.PartRan, Seconds: pr.seconds}
		switch {
		case pr.skipped != "":
			part.Status, part.Detail = result.PartSkipped, pr.skipped
		case pr.err != nil:
			part.Status, part.Detail = result.PartFailed, pr.err.Error()
			f := diagnose.NewVariant(diagnose.CodeSourceFailed, "part", diagnose.Where{Source: pr.name, Subject: pr.name + " check"},
				diagnose.Params{"err": diagnose.OneLine(pr.err.Error())})
			if diagnose.IsThrottled(pr.err) {
				f = diagnose.FromAPIError(pr.name, pr.name+" check", pr.err) // the API server's state: one finding with the others
			}
			fs = append(fs, f)
		default:
			part.Summary, part.Checks = pr.r.Summary, pr.r.Checks
			if pr.name == partExpiry {
				recs = pr.r.Certificates
			}
			for _, f := range pr.r.Findings {
				key := f.Code + "\x00" + f.Source + "\x00" + f.Subject + "\x00" + f.Message
				if !seen[key] {
					seen[key] = true
					fs = append(fs, f)
				}
			}
			for _, n := range pr.r.Notes {
				notes[n] = true
			}
		}
		parts = append(parts, part)
	}
	result.SortFindings(fs)
	fs = diagnose.CoalesceThrottled(fs)
	noteList := make([]string, 0, len(notes))
	for n := range notes {
		noteList = append(noteList, n)
	}
	sort.Strings(noteList)
	fs, noteList = underRefusedServer(fs, noteList)
	r := result.NewReport("checkup", o.Now(), recs, fs, noteList)
	r.Parts, r.Target, r.Plan = parts, o.target(), diagnose.RenewalPlan(r.Findings)
	return r
}

// target names the cluster and identity the check-up looked at.
func (o *CheckupOptions) target() *result.Target {
	if o.expiry.Local.Enabled {
		node, _ := os.Hostname()
		return &result.Target{Node: node}
	}
	if o.expiry.target == nil {
		return nil
	}
	return o.expiry.target.resultTarget()
}

// resultTarget names the context, its cluster, server and user for a report.
func (t *KubeconfigTarget) resultTarget() *result.Target {
	out := &result.Target{Context: t.ContextName, Cluster: t.ClusterName, User: t.UserName}
	if c := t.Raw.Contexts[t.ContextName]; c != nil {
		out.Cluster, out.User = orText(out.Cluster, c.Cluster), orText(out.User, c.AuthInfo)
	}
	if cl := t.Raw.Clusters[out.Cluster]; cl != nil {
		out.Server = cl.Server
	}
	return out
}

func orText(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (o *CheckupOptions) waitFlags() *WaitFlags { return &o.Wait }

// underRefusedServer makes the API server's refused certificate the one root cause of
// everything it stopped: a part that could not run and the requests that failed with the
// same TLS error are listed under it, not as warnings and notes of their own.
func underRefusedServer(fs []result.Finding, notes []string) ([]result.Finding, []string) {
	root := -1
	for i, f := range fs {
		if f.Source == result.SourceAPIServer && f.Severity == result.Critical && isTLSRefusal(f.Error) {
			root = i
			break
		}
	}
	if root < 0 {
		return fs, notes
	}
	kept := fs[:0:0]
	var stopped []string
	for i, f := range fs {
		if i != root && f.Code == diagnose.CodeSourceFailed && isTLSRefusal(f.Message) {
			stopped = append(stopped, f.Subject+": could not run")
			continue
		}
		kept = append(kept, f)
	}
	var keptNotes, refused []string
	for _, n := range notes {
		if what, _, ok := strings.Cut(n, ": "); ok && strings.HasPrefix(what, "could not ") && isTLSRefusal(n) {
			refused = append(refused, strings.TrimPrefix(what, "could not "))
			continue
		}
		keptNotes = append(keptNotes, n)
	}
	if len(refused) > 0 {
		stopped = append(stopped, "refused the same way: "+strings.Join(refused, ", "))
	}
	for i := range kept {
		if kept[i].Source == fs[root].Source && kept[i].Subject == fs[root].Subject && kept[i].Code == fs[root].Code {
			kept[i].Consequences = append(kept[i].Consequences, stopped...)
		}
	}
	return kept, keptNotes
}

func isTLSRefusal(text string) bool {
	return strings.Contains(text, "tls: failed to verify certificate") || strings.Contains(text, "x509: ")
}

func (o *CheckupOptions) undeleted() *nodes.Undeleted { return o.expiry.Nodes.Undeleted }
