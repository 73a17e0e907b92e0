//go:build e2e

package e2e

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// applyRBAC creates the objects of deploy/rbac.yaml as they are written and deletes them
// when the test ends.
func applyRBAC(t *testing.T) {
	t.Helper()
	for _, obj := range decodeDeploy(t, "rbac.yaml") {
		createRBAC(t, obj)
	}
}

func createRBAC(t *testing.T, obj runtime.Object) {
	t.Helper()
	ctx, rbac := ctxT(t), client.RbacV1()
	var err error
	var cleanup func() error
	switch o := obj.(type) {
	case *rbacv1.ClusterRole:
		_, err = rbac.ClusterRoles().Create(ctx, o, metav1.CreateOptions{})
		cleanup = func() error { return rbac.ClusterRoles().Delete(ctxT(t), o.Name, metav1.DeleteOptions{}) }
	case *rbacv1.ClusterRoleBinding:
		_, err = rbac.ClusterRoleBindings().Create(ctx, o, metav1.CreateOptions{})
		cleanup = func() error { return rbac.ClusterRoleBindings().Delete(ctxT(t), o.Name, metav1.DeleteOptions{}) }
	case *rbacv1.Role:
		_, err = rbac.Roles(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		cleanup = func() error { return rbac.Roles(o.Namespace).Delete(ctxT(t), o.Name, metav1.DeleteOptions{}) }
	case *rbacv1.RoleBinding:
		_, err = rbac.RoleBindings(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		cleanup = func() error { return rbac.RoleBindings(o.Namespace).Delete(ctxT(t), o.Name, metav1.DeleteOptions{}) }
	default:
		t.Fatalf("deploy/rbac.yaml holds a %T", obj)
	}
	if err != nil {
		t.Fatalf("create %T: %v", obj, err)
	}
	t.Cleanup(func() {
		if err := cleanup(); err != nil {
			t.Errorf("delete %T: %v", obj, err)
		}
	})
}

// checkSummary is a report's certificates and checks, reduced to what must not depend on
// who runs it: sources and names of the certificates, and each check's link and verdict.
func checkSummary(t *testing.T, r Report) []string {
	t.Helper()
	var doc struct {
		Checks []struct{ Group, Name, Severity string } `json:"checks"`
		Parts  []struct {
			Checks []struct{ Group, Name, Severity string } `json:"checks"`
		} `json:"parts"`
	}
	if err := json.Unmarshal([]byte(r.raw), &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range r.Certificates {
		out = append(out, "cert "+c.Source+" "+c.Location+" "+c.Name)
	}
	checks := doc.Checks
	for _, p := range doc.Parts {
		checks = append(checks, p.Checks...)
	}
	for _, c := range checks {
		// Pod names and timings differ between runs; the link and its verdict do not.
		name := strings.Fields(c.Name + " x")[0]
		out = append(out, "check "+c.Group+" "+name+" "+c.Severity)
	}
	sort.Strings(out)
	return out
}

// A member of the group deploy/rbac.yaml binds gets the cluster admin's report from every
// command, debug pods and webhook probes included: the roles hold all that certdoctor needs.
func TestRBACLeastPrivilege(t *testing.T) {
	applyRBAC(t)
	installCertManager(t) // a webhook to walk, with every probe
	as := []string{"--as=" + uniqueName("e2e-oncall"), "--as-group=certdoctor"}
	for _, args := range [][]string{
		{},                          // the check-up: expiry with node checks, sans, webhook --all
		{"webhook", "cert-manager"}, // port-forward, service proxy, dry-run Issuer and ConfigMap
		{"sans"},
		{"cleanup"},
	} {
		t.Run(strings.Join(append([]string{"certdoctor"}, args...), " "), func(t *testing.T) {
			admin, adminCode := runJSON(t, args...)
			user, userCode := runJSON(t, append(append([]string{}, args...), as...)...)
			wantExit(t, user, userCode, adminCode)
			for _, f := range user.Findings {
				if f.Code == "PermissionDenied" || strings.Contains(f.Message+f.Error, "forbidden") {
					t.Errorf("deploy/rbac.yaml lacks a permission: %s", f)
				}
			}
			a, u := checkSummary(t, admin), checkSummary(t, user)
			if strings.Join(a, "\n") != strings.Join(u, "\n") {
				t.Errorf("the user's report differs from the admin's:\nadmin:\n  %s\nuser:\n  %s", strings.Join(a, "\n  "), strings.Join(u, "\n  "))
			}
			if len(a) == 0 && len(args) != 0 && args[0] != "cleanup" {
				t.Errorf("nothing checked: the comparison proves nothing\n%s", admin.raw)
			}
			// The probes ran as the user, not only the reads: each needs a verb of its own.
			if len(args) > 0 && args[0] == "webhook" {
				for _, link := range []string{"servedCertificate OK", "serviceProxy OK", "apiServerCall OK"} {
					if !strings.Contains(strings.Join(u, "\n"), " "+link) {
						t.Errorf("no %s check in the user's report:\n  %s", link, strings.Join(u, "\n  "))
					}
				}
			}
			for _, f := range admin.Findings {
				t.Logf("admin's finding (the user got it too): %s", f)
			}
		})
	}
}
