package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/certdoctor/kubectl-certdoctor/pkg/nodes"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// CleanupOptions are the options of `kubectl certdoctor cleanup`.
type CleanupOptions struct {
	*CommonOptions
	DryRun bool

	namespace string
	clients   *Clients
}

var cleanupExample = templates.Examples(`
	# What would be deleted
	kubectl certdoctor cleanup --dry-run

	# Delete every debug pod certdoctor left behind (e.g. after kill -9)
	kubectl certdoctor cleanup`)

// NewCmdCleanup builds `cleanup`.
func NewCmdCleanup(common *CommonOptions) *cobra.Command {
	o := &CleanupOptions{CommonOptions: common}
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Delete debug pods certdoctor left behind",
		Long: longDesc(`
			Delete the debug pods certdoctor created (label app.kubernetes.io/managed-by=kubectl-certdoctor)
			that still exist, in every namespace or only in the one given with -n. certdoctor deletes its
			pods itself on success, failure and Ctrl-C; this is for a process that was killed outright.`),
		Example: cleanupExample,
		Args:    cobra.NoArgs,
		RunE:    runE(o),
	}
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", o.DryRun, "Only list the pods that would be deleted.")
	return cmd
}

// Complete builds the client.
func (o *CleanupOptions) Complete(cmd *cobra.Command) error {
	o.namespace = o.namespaceFlag(cmd)
	var err error
	_, o.clients, err = connect(o.Factory)
	return err
}

// Run lists and (unless --dry-run) deletes the leftovers.
func (o *CleanupOptions) Run(ctx context.Context) (*result.Report, error) {
	pods, err := nodes.Leftovers(ctx, o.clients.Kube, o.namespace)
	if err != nil {
		return nil, fmt.Errorf("cannot list debug pods: %w", err)
	}
	var errs []error
	if !o.DryRun {
		errs = nodes.DeletePods(ctx, o.clients.Kube, pods)
	}
	r := result.NewReport("cleanup", o.Now(), nil, nil, nil)
	for i, p := range pods {
		c := result.Check{Group: p.Namespace, Name: p.Name, Severity: result.OK, Detail: "deleted (node " + p.Spec.NodeName + ")"}
		switch {
		case o.DryRun:
			c.Detail = "would be deleted (node " + p.Spec.NodeName + ")"
		case errs[i] != nil:
			c.Severity, c.Detail = result.Critical, "not deleted: "+errs[i].Error()
		}
		r.Checks = append(r.Checks, c)
	}
	if len(pods) == 0 {
		r.Notes = []string{"no debug pods left behind"}
	}
	for _, e := range errs {
		if e != nil {
			return r, fmt.Errorf("some debug pods could not be deleted: %w", e)
		}
	}
	return r, nil
}
