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

// A user with ClusterRole view in one namespace only, as a tenant is set up: every
// part of the check-up runs; each request it may not make is a PermissionDenied warning
// naming the verb and resource (never a pass, a failure or a critical finding), and
// what it may read, in its namespace and offline, is still reported.
func TestRBACViewInOneNamespace(t *testing.T) {
	ns := newNamespace(t)
	user := uniqueName("e2e-tenant")
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user, Namespace: ns, Labels: labels(t)},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}},
	}
	if _, err := client.RbacV1().RoleBindings(ns).Create(ctxT(t), rb, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create RoleBinding: %v", err)
	}
	for _, tt := range []struct {
		args []string
		// sources that must still be reported
		sources []string
	}{
		{[]string{"--as=" + user, "--skip-nodes"}, []string{"kubeconfig", "apiserver"}},
		{[]string{"--as=" + user, "-n", ns, "--skip-nodes"}, []string{"kubeconfig", "apiserver", "configmap"}},
		{[]string{"expiry", "--as=" + user, "-n", ns}, []string{"kubeconfig", "apiserver", "configmap"}},
		{[]string{"sans", "--as=" + user}, []string{"apiserver"}},
		{[]string{"webhook", "--all", "--as=" + user}, nil},
	} {
		args := tt.args
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r, code := runJSON(t, args...)
			wantExit(t, r, code, 2)
			denied := 0
			for _, f := range r.Findings {
				switch {
				case f.Severity != "WARNING":
					t.Errorf("only warnings for a tenant on a healthy cluster: %s", f)
				case f.Code == "PermissionDenied":
					denied++
					if !strings.Contains(f.Message, user) && !strings.Contains(f.Error, user) && !strings.Contains(f.Error, "forbidden") {
						t.Errorf("a permission finding quotes the API server's denial: %s", f)
					}
				case f.Code == "SourceFailed" || f.Code == "NodeCheckFailed":
					t.Errorf("a denial is a permission finding, not a failure: %s", f)
				}
			}
			if denied == 0 {
				t.Errorf("no PermissionDenied finding for a user who may read one namespace:\n%s", dump(r))
			}
			requireSources(t, r, tt.sources...)
		})
	}
}
