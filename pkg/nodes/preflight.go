package nodes

import (
	"context"
	"fmt"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Preflight refuses before creating anything when pods cannot run: a namespace whose
// Pod Security level forbids hostPath, or RBAC that denies creating, reading the logs
// of, or deleting pods there.
func (r *Runner) Preflight(ctx context.Context) error {
	ns := r.Opts.Namespace
	n, err := r.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%w: namespace %q does not exist (set --debug-namespace)", ErrBlocked, ns)
	case err == nil:
		if lvl := n.Labels["pod-security.kubernetes.io/enforce"]; lvl == "baseline" || lvl == "restricted" {
			return fmt.Errorf("%w: namespace %q enforces Pod Security %q, which forbids the read-only hostPath volumes the debug pods need; "+
				"use --debug-namespace with a namespace labelled pod-security.kubernetes.io/enforce=privileged", ErrBlocked, ns, lvl)
		}
	}
	for _, a := range []authorizationv1.ResourceAttributes{
		{Namespace: ns, Verb: "create", Resource: "pods"},
		{Namespace: ns, Verb: "get", Resource: "pods", Subresource: "log"},
		{Namespace: ns, Verb: "delete", Resource: "pods"},
	} {
		rev, err := r.Client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx,
			&authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &a}}, metav1.CreateOptions{})
		if err != nil || rev.Status.Allowed {
			continue // cannot ask: let the real request say
		}
		res := a.Resource
		if a.Subresource != "" {
			res += "/" + a.Subresource
		}
		return fmt.Errorf("%w: you may not %s %s in namespace %q (RBAC), which the node checks need; "+
			"use --debug-namespace, ask for the permission, or use --skip-nodes", ErrBlocked, a.Verb, res, ns)
	}
	return nil
}
