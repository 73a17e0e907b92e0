//go:build e2e

package e2e

import (
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A user bound only to ClusterRole view (which cannot read secrets): the secrets source is
// reported as PermissionDenied (a warning), the other sources still are.
func TestRBACViewOnly(t *testing.T) {
	user := uniqueName("e2e-viewer")
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user, Labels: labels(t)},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}},
	}
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctxT(t), crb, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ClusterRoleBinding: %v", err)
	}
	t.Cleanup(func() {
		if err := client.RbacV1().ClusterRoleBindings().Delete(ctxT(t), user, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete ClusterRoleBinding %s: %v", user, err)
		}
	})

	r, code := runJSON(t, "expiry", "--as="+user)
	wantExit(t, r, code, 2)
	f := requireFinding(t, r, "PermissionDenied", "WARNING", "secret", func(f Finding) bool {
		return strings.Contains(f.Message, "secrets")
	}, `whose message names "secrets"`)
	requireContains(t, "message of "+f.Code, f.Message, "list")
	for _, f := range r.Findings {
		if f.Severity != "WARNING" {
			t.Errorf("a view-only user should get warnings only: %s", f)
		}
	}
	// what view may read is still checked
	requireSources(t, r, "kubeconfig", "apiserver", "configmap")
}
