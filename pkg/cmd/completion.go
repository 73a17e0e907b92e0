package cmd

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/certdoctor/kubectl-certdoctor/plugins"
)

// Shell completion. kubectl's own helpers (k8s.io/kubectl/pkg/util/completion) would add
// 4.5 MB to the binary, as they pull in `kubectl get` and its printers; these read the same
// kubeconfig through the Factory and list names with the metadata client, only when the
// shell asks. A cluster that does not answer within completionTimeout completes nothing.
const completionTimeout = 5 * time.Second

var (
	namespacesResource = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	nodesResource      = schema.GroupVersionResource{Version: "v1", Resource: "nodes"}
	webhookResources   = []schema.GroupVersionResource{
		{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations"},
		{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "mutatingwebhookconfigurations"},
		{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"},
	}
)

// registerCompletions completes the connection flags as `kubectl --context <TAB>` does,
// and certdoctor's own flags that take names.
func registerCompletions(root *cobra.Command, o *CommonOptions) {
	kubeconfigNames := func(names func(*KubeconfigTarget) []string) cobra.CompletionFunc {
		return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			t, err := o.Factory.Kubeconfig()
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return withPrefix(names(t), toComplete), cobra.ShellCompDirectiveNoFileComp
		}
	}
	namespaces := func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return o.clusterNames(namespacesResource, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
	flagFuncs := map[string]cobra.CompletionFunc{
		"context":         kubeconfigNames(func(t *KubeconfigTarget) []string { return keys(t.Raw.Contexts) }),
		"cluster":         kubeconfigNames(func(t *KubeconfigTarget) []string { return keys(t.Raw.Clusters) }),
		"user":            kubeconfigNames(func(t *KubeconfigTarget) []string { return keys(t.Raw.AuthInfos) }),
		"namespace":       namespaces,
		"debug-namespace": namespaces,
		"nodes":           listCompletion(func(prefix string) []string { return o.clusterNames(nodesResource, prefix) }),
		"output":          fixedCompletion("table", "wide", "json", "yaml"),
	}
	for name, fn := range flagFuncs {
		registerFlagCompletion(root, name, fn)
	}
}

// webhookArgCompletion offers the profiles first, as they are what most users mean, then
// the cluster's webhook configurations and APIServices, which `webhook` also takes by name.
func webhookArgCompletion(o *CommonOptions) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		names := withPrefix(plugins.Names(), toComplete)
		for _, r := range webhookResources {
			names = append(names, o.clusterNames(r, toComplete)...)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// clusterNames lists the names of a cluster-scoped resource that start with prefix;
// nothing when the cluster cannot be reached (a shell has no place for the error).
func (o *CommonOptions) clusterNames(r schema.GroupVersionResource, prefix string) []string {
	_, c, err := connect(o.Factory)
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
	defer cancel()
	list, err := c.Metadata.Resource(r).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	var names []string
	for _, item := range list.Items {
		if strings.HasPrefix(item.Name, prefix) {
			names = append(names, item.Name)
		}
	}
	return names
}

// registerFlagCompletion registers fn for the flag wherever it is defined: on the root's
// persistent flags or on the subcommands that declare it.
func registerFlagCompletion(c *cobra.Command, name string, fn cobra.CompletionFunc) {
	if c.LocalNonPersistentFlags().Lookup(name) != nil || c.PersistentFlags().Lookup(name) != nil {
		// Fails only when a flag is registered twice, which this walk does not do.
		_ = c.RegisterFlagCompletionFunc(name, fn)
	}
	for _, sub := range c.Commands() {
		registerFlagCompletion(sub, name, fn)
	}
}

// listCompletion completes the last item of a comma-separated flag value, keeping the
// items already typed.
func listCompletion(names func(prefix string) []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		done, last := "", toComplete
		if i := strings.LastIndex(toComplete, ","); i >= 0 {
			done, last = toComplete[:i+1], toComplete[i+1:]
		}
		var out []string
		for _, n := range names(last) {
			out = append(out, done+n)
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

func fixedCompletion(values ...string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return withPrefix(values, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

func withPrefix(values []string, prefix string) []string {
	var out []string
	for _, v := range values {
		if strings.HasPrefix(v, prefix) {
			out = append(out, v)
		}
	}
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
