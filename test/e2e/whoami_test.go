//go:build e2e

package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// whoamiReport is the part of a whoami report these tests read (docs/output.md).
type whoamiReport struct {
	Identity struct {
		User       string `json:"user"`
		Credential struct {
			Kinds       []string `json:"kinds"`
			Certificate *struct {
				User              string   `json:"user"`
				Groups            []string `json:"groups"`
				Issuer            string   `json:"issuer"`
				SignedByClusterCA *bool    `json:"signedByClusterCA"`
			} `json:"certificate"`
		} `json:"credential"`
		Impersonating *struct{ Username string } `json:"impersonating"`
		Authenticated *struct {
			Username string   `json:"username"`
			Groups   []string `json:"groups"`
		} `json:"authenticated"`
	} `json:"identity"`
	Permissions []struct {
		Verb, Group, Resource, Subresource, Namespace, Result, Rule, Role string
		Checks                                                            []string
	} `json:"permissions"`
}

func whoami(t *testing.T, args ...string) (Report, whoamiReport, int) {
	t.Helper()
	r, code := runJSON(t, append([]string{"whoami"}, args...)...)
	var w whoamiReport
	if err := json.Unmarshal([]byte(r.raw), &w); err != nil {
		t.Fatalf("whoami report: %v", err)
	}
	return r, w, code
}

// clientCertKubeconfig is admin.conf with its user's credential replaced by a client
// certificate for cn/orgs, issued by ca from notBefore to notAfter.
func clientCertKubeconfig(t *testing.T, ca *CA, cn string, orgs []string, notBefore, notAfter time.Time) string {
	t.Helper()
	certPEM, keyPEM, _ := issue(t, ca, CertSpec{CN: cn, Org: orgs, Client: true, NotBefore: notBefore, NotAfter: notAfter})
	return writeKubeconfig(t, t.TempDir(), cn+".conf", func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) {
		*u = clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM}
	})
}

// A tenant with a client certificate (CN user, O group) bound to view in one namespace:
// whoami shows the certificate's identity and the API server's; --can lists what is
// denied, each denial a finding naming what it blinds; the check-up runs what it may and
// names each denied verb and resource, with the user the API server names.
func TestWhoamiTenantCertificate(t *testing.T) {
	ns := newNamespace(t)
	user, group := uniqueName("e2e-tenant"), uniqueName("e2e-team")
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user, Namespace: ns, Labels: labels(t)},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "Group", Name: group}},
	}
	if _, err := client.RbacV1().RoleBindings(ns).Create(ctxT(t), rb, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create RoleBinding: %v", err)
	}
	kc := clientCertKubeconfig(t, clusterCA(t, "ca"), user, []string{group}, time.Time{}, time.Time{})

	r, w, code := whoami(t, "--kubeconfig", kc)
	wantExit(t, r, code, 0)
	requireNoFindings(t, r)
	cert, got := w.Identity.Credential.Certificate, w.Identity.Authenticated
	if cert == nil || cert.User != user || !slices.Equal(cert.Groups, []string{group}) || cert.Issuer != "kubernetes" ||
		cert.SignedByClusterCA == nil || !*cert.SignedByClusterCA {
		t.Errorf("certificate as read from the kubeconfig: %+v", cert)
	}
	if got == nil || got.Username != user || !slices.Contains(got.Groups, group) || !slices.Contains(got.Groups, "system:authenticated") {
		t.Errorf("identity the API server reports: %+v", got)
	}

	r, w, code = whoami(t, "--kubeconfig", kc, "--can", "-n", ns)
	wantExit(t, r, code, 2)
	result := map[string]string{}
	denied := 0
	for _, p := range w.Permissions {
		key := p.Verb + " " + p.Resource + "/" + p.Subresource + " " + p.Namespace
		result[key] = p.Result
		if p.Result == "denied" {
			denied++
		}
		if len(p.Checks) == 0 || p.Rule == "" || p.Role == "" {
			t.Errorf("permission without checks, rule or role: %+v", p)
		}
	}
	for key, want := range map[string]string{
		"list configmaps/ " + ns:   "allowed", // view, in its namespace
		"list secrets/ " + ns:      "denied",  // view never reads secrets
		"list nodes/ ":             "denied",  // cluster-scoped
		"create pods/ kube-system": "denied",
	} {
		if result[key] != want {
			t.Errorf("%s: %q, want %s", key, result[key], want)
		}
	}
	deniedFindings := findFindings(r, "PermissionDenied", nil)
	if len(deniedFindings) != denied || denied == 0 {
		t.Errorf("%d denied permissions, %d PermissionDenied findings", denied, len(deniedFindings))
	}
	for _, f := range deniedFindings {
		requireContains(t, "denial "+f.Subject, f.Message, "go unchecked")
		requireContains(t, "denial fix "+f.Subject, f.Fix, "verbs: [")
	}

	// the check-up as the tenant: warnings only, each denial naming the verb, resource and user
	r, code = runJSON(t, "--kubeconfig", kc, "--skip-nodes")
	wantExit(t, r, code, 2)
	named := 0
	for _, f := range r.Findings {
		if f.Severity != "WARNING" {
			t.Errorf("a tenant on a healthy cluster gets warnings only: %s", f)
		}
		if f.Code == "PermissionDenied" {
			if strings.Contains(f.Message, user) && strings.Contains(f.Error, "cannot ") {
				named++
			}
		}
	}
	if named == 0 {
		t.Errorf("no PermissionDenied finding of the check-up names the user the API server quoted:\n%s", dump(r))
	}
}

// The admin's own kubeconfig, and impersonation: nothing to report for the admin; with
// --as the report says whom the API server authorises.
func TestWhoamiAdminAndImpersonation(t *testing.T) {
	r, w, code := whoami(t)
	wantExit(t, r, code, 0)
	requireNoFindings(t, r)
	if a := w.Identity.Authenticated; a == nil || a.Username != "kubernetes-admin" {
		t.Errorf("admin.conf authenticates as %+v", a)
	}
	user := uniqueName("e2e-someone")
	r, w, code = whoami(t, "--as", user)
	wantExit(t, r, code, 0)
	if w.Identity.Impersonating == nil || w.Identity.Impersonating.Username != user ||
		w.Identity.Authenticated == nil || w.Identity.Authenticated.Username != user {
		t.Errorf("--as %s: impersonating %+v, authenticated %+v", user, w.Identity.Impersonating, w.Identity.Authenticated)
	}
	if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, "impersonating "+user) }) {
		t.Errorf("no note about impersonation: %q", r.Notes)
	}
}

// Certificates the API server refuses: expired (signed by the cluster CA), and one from
// another CA. Each is the 401 the user sees, with the certificate fix.
func TestWhoamiRefusedCertificates(t *testing.T) {
	now := time.Now()
	expired := clientCertKubeconfig(t, clusterCA(t, "ca"), "e2e-expired-admin", []string{"kubeadm:cluster-admins"}, now.Add(-days(400)), now.Add(-days(2)))
	r, _, code := whoami(t, "--kubeconfig", expired)
	wantExit(t, r, code, 3)
	requireFinding(t, r, "CertificateExpired", "CRITICAL", "kubeconfig", nil, "the kubeconfig's client certificate")
	u := requireFinding(t, r, "Unauthorized", "CRITICAL", "apiserver", nil, "the API server's 401")
	requireContains(t, "401 message", u.Message, "expired")
	requireContains(t, "401 fix", u.Fix, "kubeadm certs renew admin.conf")
	requireContains(t, "401 fix", u.Fix, "--client-name=e2e-expired-admin --org=kubeadm:cluster-admins")

	foreign := newCA(t, "not-the-cluster-ca", now.Add(-time.Hour), now.Add(days(30)), nil)
	kc := clientCertKubeconfig(t, foreign, "e2e-foreign", nil, time.Time{}, time.Time{})
	r, w, code := whoami(t, "--kubeconfig", kc)
	wantExit(t, r, code, 3)
	u = requireFinding(t, r, "Unauthorized", "CRITICAL", "apiserver", nil, "the API server's 401")
	requireContains(t, "401 message", u.Message, "not signed by the cluster CA")
	if c := w.Identity.Credential.Certificate; c == nil || c.SignedByClusterCA == nil || *c.SignedByClusterCA {
		t.Errorf("a foreign certificate read as signed by the cluster CA: %+v", c)
	}
}
