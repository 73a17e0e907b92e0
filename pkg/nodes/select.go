package nodes

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SelectNodes returns the nodes to check: --nodes, else -l, else control-plane nodes
// (plus every node with --all-nodes).
func (r *Runner) SelectNodes(ctx context.Context) ([]corev1.Node, error) {
	nodes := r.Client.CoreV1().Nodes()
	if len(r.Opts.Nodes) > 0 {
		var out []corev1.Node
		for _, name := range r.Opts.Nodes {
			n, err := nodes.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("node %q: %w", name, err)
			}
			out = append(out, *n)
		}
		return out, nil
	}
	selectors := []string{"node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"}
	if r.Opts.Selector != "" {
		selectors = []string{r.Opts.Selector}
	}
	if r.Opts.AllNodes {
		selectors = []string{""}
	}
	seen := map[string]bool{}
	var out []corev1.Node
	for _, sel := range selectors {
		l, err := nodes.List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return nil, err
		}
		for _, n := range l.Items {
			if !seen[n.Name] {
				seen[n.Name] = true
				out = append(out, n)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
