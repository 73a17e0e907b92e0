package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"github.com/certdoctor/kubectl-certdoctor/pkg/workloadidentity"
)

// WorkloadIdentityOptions are the options of `kubectl certdoctor workload-identity`.
type WorkloadIdentityOptions struct {
	*CommonOptions
	AllNamespaces bool

	arg     string
	sel     workloadidentity.Selection
	cluster string // the kubeconfig's cluster name
	clients *Clients
}

var workloadIdentityExample = templates.Examples(`
	# Every annotated service account of the current namespace, and the pods that use them
	kubectl certdoctor workload-identity

	# One Kubernetes service account, or the one a pod uses
	kubectl certdoctor workload-identity my-ksa -n my-app
	kubectl certdoctor workload-identity pod/my-app-7d9c5 -n my-app

	# Every namespace
	kubectl certdoctor workload-identity -A`)

// NewCmdWorkloadIdentity builds `workload-identity`.
func NewCmdWorkloadIdentity(common *CommonOptions) *cobra.Command {
	o := &WorkloadIdentityOptions{CommonOptions: common}
	cmd := &cobra.Command{
		Use:   "workload-identity [SERVICEACCOUNT | pod/NAME]",
		Short: "Check GKE Workload Identity for service accounts and their pods, and print the gcloud checks for the rest",
		Long: longDesc(`
			Check Workload Identity Federation for GKE from the cluster, per Kubernetes service account and
			each pod that uses it: the iam.gke.io/gcp-service-account annotation, hostNetwork, the node pool's
			GKE metadata server and its pod on the node (Ready? OOMKilled with too many service accounts?),
			NetworkPolicies that block egress to the metadata server, an Istio sidecar in the way, and
			GCE_METADATA_HOST. What only Google Cloud can show (the IAM binding, the workload pool, the node
			pool's metadata mode, the IAM Credentials API) is printed as gcloud commands with the names filled in.`),
		Example: workloadIdentityExample,
		Args:    cobra.MaximumNArgs(1),
		RunE:    runE(o),
	}
	cmd.Flags().BoolVarP(&o.AllNamespaces, "all-namespaces", "A", o.AllNamespaces, "Check the annotated service accounts of every namespace.")
	return cmd
}

// Complete reads the argument and the namespace, and builds the clients.
func (o *WorkloadIdentityOptions) Complete(cmd *cobra.Command) error {
	if cmd.Flags().NArg() == 1 {
		o.arg = cmd.Flags().Arg(0)
	}
	if err := o.parseArg(); err != nil {
		return err
	}
	if o.AllNamespaces && o.arg != "" {
		return fmt.Errorf("-A checks every namespace's annotated service accounts: give a name or -A, not both")
	}
	kube, clients, err := connect(o.Factory)
	if err != nil {
		return err
	}
	o.clients = clients
	o.cluster = kube.clusterName()
	if !o.AllNamespaces {
		o.sel.Namespace = o.namespaceOf(cmd, kube)
	}
	return nil
}

// parseArg splits SERVICEACCOUNT, serviceaccount/NAME or pod/NAME.
func (o *WorkloadIdentityOptions) parseArg() error {
	if o.arg == "" {
		return nil
	}
	kind, name, typed := strings.Cut(o.arg, "/")
	if !typed {
		kind, name = "serviceaccount", o.arg
	}
	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("%q: give a service account name, serviceaccount/NAME or pod/NAME", o.arg)
	}
	switch strings.ToLower(kind) {
	case "pod", "pods", "po":
		o.sel.Pod = name
	case "serviceaccount", "serviceaccounts", "sa":
		o.sel.ServiceAccount = name
	default:
		return fmt.Errorf("%q: only service accounts and pods can be checked (serviceaccount/NAME or pod/NAME)", o.arg)
	}
	return nil
}

// Validate checks the shared flags.
func (o *WorkloadIdentityOptions) Validate() error { return o.CommonOptions.Validate() }

// Run checks the selection.
func (o *WorkloadIdentityOptions) Run(ctx context.Context) (*result.Report, error) {
	r, _, err := runWorkloadIdentity(ctx, o.clients, o.cluster, o.sel, o.Now())
	return r, err
}

// runWorkloadIdentity runs the checks and makes the report; the check-up shares it,
// and reads the result for whether the part applies.
func runWorkloadIdentity(ctx context.Context, c *Clients, cluster string, sel workloadidentity.Selection, now time.Time) (r *result.Report, res *workloadidentity.Result, err error) {
	chk := &workloadidentity.Checker{Client: c.Kube, Metadata: c.Metadata, KubeconfigCluster: cluster}
	res, err = chk.Run(ctx, sel)
	if err != nil {
		return nil, nil, err
	}
	r = result.NewReport("workload-identity", now, nil, res.Findings, res.Notes)
	r.Checks, r.Plan = res.Checks, res.Plan
	return r, res, nil
}
