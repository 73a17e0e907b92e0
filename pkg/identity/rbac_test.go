package identity

import (
	"bytes"
	"os"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// deployRoles reads the roles of deploy/rbac.yaml, by name.
func deployRoles(t *testing.T) (map[string][]rbacv1.PolicyRule, map[string]string) {
	t.Helper()
	data, err := os.ReadFile("../../deploy/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rules, kinds := map[string][]rbacv1.PolicyRule{}, map[string]string{}
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		var obj struct {
			Kind     string
			Metadata struct{ Name, Namespace string }
			Rules    []rbacv1.PolicyRule
		}
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			t.Fatalf("deploy/rbac.yaml: %v", err)
		}
		if obj.Kind == "ClusterRole" || obj.Kind == "Role" {
			rules[obj.Metadata.Name], kinds[obj.Metadata.Name] = obj.Rules, obj.Kind+"/"+obj.Metadata.Namespace
		}
	}
	return rules, kinds
}

func grants(r rbacv1.PolicyRule, n Need) bool {
	if n.Path != "" {
		return slices.Contains(r.Verbs, n.Verb) && slices.Contains(r.NonResourceURLs, n.Path)
	}
	res := n.Resource
	if n.Subresource != "" {
		res += "/" + n.Subresource
	}
	return (slices.Contains(r.Verbs, n.Verb) || slices.Contains(r.Verbs, "*")) && slices.Contains(r.APIGroups, n.Group) &&
		slices.Contains(r.Resources, res) && (len(r.ResourceNames) == 0 || slices.Contains(r.ResourceNames, n.Name))
}

// Every request the checks make is granted by the role Needs names, and every resource a
// role of deploy/rbac.yaml grants is one some check needs: the least-privilege roles and
// whoami --can cannot drift apart.
func TestNeedsMatchDeployRBAC(t *testing.T) {
	roles, kinds := deployRoles(t)
	for _, n := range Needs {
		rules, ok := roles[n.Role]
		if !ok {
			t.Errorf("%s %s: role %s is not in deploy/rbac.yaml", n.Verb, n.Resource, n.Role)
			continue
		}
		if kinds[n.Role] == "Role/"+DebugNamespace && n.Namespace != DebugNamespace {
			t.Errorf("%s %s: role %s only applies in %s", n.Verb, n.Resource, n.Role, DebugNamespace)
		}
		if !slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool { return grants(r, n) }) {
			t.Errorf("role %s does not grant %s (needed for %v)", n.Role, n.Rule(), n.Checks)
		}
	}
	for role, rules := range roles {
		for _, r := range rules {
			for _, u := range r.NonResourceURLs {
				if !slices.ContainsFunc(Needs, func(n Need) bool { return n.Role == role && n.Path == u }) {
					t.Errorf("role %s grants %s, which no check needs", role, u)
				}
			}
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					needed := slices.ContainsFunc(Needs, func(n Need) bool {
						full := n.Resource
						if n.Subresource != "" {
							full += "/" + n.Subresource
						}
						return n.Role == role && n.Group == g && full == res
					})
					if !needed {
						t.Errorf("role %s grants %s in group %q, which no check needs (or Needs lacks it)", role, res, g)
					}
				}
			}
		}
	}
}
