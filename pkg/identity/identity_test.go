package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authenticationv1beta1 "k8s.io/api/authentication/v1beta1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// jwt builds an unsigned-looking JWT with claims and a recognisable signature.
func jwt(t *testing.T, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256", "kid": "k1"}) + "." + enc(claims) + ".c2lnbmF0dXJlLXNlY3JldC1wYXJ0"
}

func TestDescribeClientCertificate(t *testing.T) {
	ca := certstest.NewCA("kubernetes")
	other := certstest.NewCA("someone-else")
	leaf := ca.Issue(certstest.Opts{CN: "jane", Org: []string{"system:masters", "ops"}, Client: true, NotBefore: certstest.Days(-30), NotAfter: certstest.Days(-2)})
	for _, tt := range []struct {
		name   string
		ca     []byte
		signed *bool
	}{
		{"the cluster CA signed it (even expired)", ca.CertPEM(), ptr(true)},
		{"another CA signed it", other.CertPEM(), ptr(false)},
		{"no CA to check with", nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Describe(&clientcmdapi.AuthInfo{ClientCertificateData: leaf.CertPEM(), ClientKeyData: leaf.KeyPEM()}, tt.ca)
			if len(c.Kinds) != 1 || c.Kinds[0] != result.CredentialClientCertificate || c.Certificate == nil {
				t.Fatalf("credential %+v", c)
			}
			cert := c.Certificate
			if cert.User != "jane" || strings.Join(cert.Groups, ",") != "ops,system:masters" || cert.Issuer != "kubernetes" || !cert.NotAfter.Equal(leaf.Cert.NotAfter) {
				t.Errorf("certificate %+v", cert)
			}
			if (cert.SignedByClusterCA == nil) != (tt.signed == nil) || (tt.signed != nil && *cert.SignedByClusterCA != *tt.signed) {
				t.Errorf("SignedByClusterCA = %v, want %v", cert.SignedByClusterCA, tt.signed)
			}
		})
	}
	c := Describe(&clientcmdapi.AuthInfo{ClientCertificateData: []byte("not a certificate")}, nil)
	if c.Certificate != nil || len(c.Problems) != 1 {
		t.Errorf("garbage certificate data: %+v", c)
	}
}

func ptr(b bool) *bool { return &b }

func TestDescribeToken(t *testing.T) {
	exp := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tok := jwt(t, map[string]any{"iss": "https://kubernetes.default.svc", "sub": "system:serviceaccount:ci:deployer",
		"aud": []string{"https://kubernetes.default.svc", "api"}, "exp": exp.Unix(), "nbf": exp.Add(-time.Hour).Unix()})
	c := Describe(&clientcmdapi.AuthInfo{Token: tok}, nil)
	if c.Kinds[0] != result.CredentialToken || c.Token == nil {
		t.Fatalf("credential %+v", c)
	}
	got := c.Token
	if got.Opaque || got.Issuer != "https://kubernetes.default.svc" || got.Subject != "system:serviceaccount:ci:deployer" ||
		strings.Join(got.Audiences, ",") != "https://kubernetes.default.svc,api" || got.Expires == nil || !got.Expires.Equal(exp) {
		t.Errorf("token %+v", got)
	}
	if one := Describe(&clientcmdapi.AuthInfo{Token: jwt(t, map[string]any{"aud": "solo", "sub": "x"})}, nil).Token; len(one.Audiences) != 1 || one.Audiences[0] != "solo" || one.Expires != nil {
		t.Errorf("aud as a string, no exp: %+v", one)
	}
	for _, opaque := range []string{"abcdef.0123456789abcdef", "a.b.c", "e30.e30.x"} {
		if tk := Describe(&clientcmdapi.AuthInfo{Token: opaque}, nil).Token; tk == nil || !tk.Opaque {
			t.Errorf("%q: want an opaque token, got %+v", opaque, tk)
		}
	}
	// nothing of the token itself is kept
	b, _ := json.Marshal(c)
	for _, part := range strings.Split(tok, ".") {
		if strings.Contains(string(b), part) {
			t.Errorf("the description holds a part of the token (%q): %s", part, b)
		}
	}
}

func TestDescribeExecAndOthers(t *testing.T) {
	old := LookPath
	t.Cleanup(func() { LookPath = old })
	LookPath = func(f string) (string, error) {
		if f == "kubelogin" {
			return "/usr/local/bin/kubelogin", nil
		}
		return "", &exec.Error{Name: f, Err: exec.ErrNotFound}
	}
	found := Describe(&clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{Command: "kubelogin"}}, nil)
	if found.Kinds[0] != result.CredentialExec || found.ExecPath != "/usr/local/bin/kubelogin" {
		t.Errorf("found plugin: %+v", found)
	}
	missing := Describe(&clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{Command: "gke-gcloud-auth-plugin"}}, nil)
	id := &result.Identity{User: "gke_user", Credential: missing}
	fs := Offline(id, time.Now())
	if len(fs) != 1 || fs[0].Code != diagnose.CodeExecNotFound || fs[0].Severity != result.Critical ||
		!strings.Contains(fs[0].Fix, "gcloud components install gke-gcloud-auth-plugin") || fs[0].Error != "exec: executable gke-gcloud-auth-plugin not found" {
		t.Errorf("missing plugin findings: %+v", fs)
	}
	if ap := Describe(&clientcmdapi.AuthInfo{AuthProvider: &clientcmdapi.AuthProviderConfig{Name: "oidc"}}, nil); ap.Kinds[0] != result.CredentialAuthProvider || ap.AuthProvider != "oidc" {
		t.Errorf("auth provider: %+v", ap)
	}
	if none := Describe(&clientcmdapi.AuthInfo{}, nil); none.Kinds[0] != result.CredentialNone {
		t.Errorf("no credential: %+v", none)
	}
}

func TestOfflineExpiredToken(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	tok := jwt(t, map[string]any{"sub": "system:serviceaccount:ci:deployer", "exp": now.Add(-3 * time.Hour).Unix()})
	id := &result.Identity{User: "ci", Credential: Describe(&clientcmdapi.AuthInfo{Token: tok}, nil)}
	fs := Offline(id, now)
	if len(fs) != 1 || fs[0].Code != diagnose.CodeTokenExpired || !strings.Contains(fs[0].Message, "3h ago") || !strings.Contains(fs[0].Fix, "kubectl create token") {
		t.Fatalf("findings %+v", fs)
	}
	if fs := Offline(id, now.Add(-4*time.Hour)); len(fs) != 0 {
		t.Errorf("a token still valid: %+v", fs)
	}
}

func TestMismatch(t *testing.T) {
	cert := &result.ClientCertificate{User: "admin", Groups: []string{"system:masters"}}
	for _, tt := range []struct {
		name    string
		got     *result.UserInfo
		imp     *result.UserInfo
		variant string // "" no finding, "user", "groups"
	}{
		{"same", &result.UserInfo{Username: "admin", Groups: []string{"system:masters", "system:authenticated"}}, nil, ""},
		{"masters dropped", &result.UserInfo{Username: "admin", Groups: []string{"system:authenticated"}}, nil, "groups"},
		{"someone else", &result.UserInfo{Username: "proxy-user", Groups: []string{"system:authenticated"}}, nil, "user"},
		{"impersonating", &result.UserInfo{Username: "jane"}, &result.UserInfo{Username: "jane"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := Mismatch(&result.Identity{User: "admin", Credential: result.Credential{Certificate: cert}, Authenticated: tt.got, Impersonating: tt.imp})
			switch {
			case tt.variant == "" && f != nil:
				t.Errorf("unexpected %+v", f)
			case tt.variant != "" && (f == nil || f.Code != diagnose.CodeIdentityMismatch):
				t.Fatalf("want IdentityMismatch, got %+v", f)
			case tt.variant == "groups" && !strings.Contains(f.Message, "system:masters"):
				t.Errorf("message %q does not name the dropped group", f.Message)
			case tt.variant == "user" && !strings.Contains(f.Message, `"proxy-user"`):
				t.Errorf("message %q does not name who the server saw", f.Message)
			}
		})
	}
}

func TestUnauthorizedFixPerCredential(t *testing.T) {
	now := time.Now()
	err := apierrors.NewUnauthorized("Unauthorized")
	expired := &result.ClientCertificate{User: "kubernetes-admin", Groups: []string{"kubeadm:cluster-admins"}, NotAfter: now.Add(-48 * time.Hour)}
	for _, tt := range []struct {
		name string
		cred result.Credential
		want []string
	}{
		{"certificate", result.Credential{Certificate: expired}, []string{"kubeadm certs renew admin.conf", "--client-name=kubernetes-admin --org=kubeadm:cluster-admins", "expired"}},
		{"gke plugin", result.Credential{Exec: "gke-gcloud-auth-plugin", ExecPath: "/usr/bin/gke-gcloud-auth-plugin"}, []string{"gcloud auth login", "get-credentials"}},
		{"aws", result.Credential{Exec: "aws", ExecPath: "/usr/bin/aws"}, []string{"aws sso login"}},
		{"token", result.Credential{Token: &result.Token{Subject: "system:serviceaccount:ci:x"}}, []string{"kubectl create token"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := Unauthorized(&result.Identity{User: "u", Credential: tt.cred}, err, now)
			if f.Code != diagnose.CodeUnauthorized || f.Severity != result.Critical {
				t.Fatalf("%+v", f)
			}
			text := f.Message + "\n" + f.Fix
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("%q lacks %q", text, w)
				}
			}
		})
	}
}

func TestReview(t *testing.T) {
	info := authenticationv1.UserInfo{Username: "jane", UID: "42", Groups: []string{"dev", "system:authenticated"}, Extra: map[string]authenticationv1.ExtraValue{"scopes": {"a"}}}
	t.Run("v1", func(t *testing.T) {
		c := fake.NewClientset()
		c.PrependReactor("create", "selfsubjectreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, &authenticationv1.SelfSubjectReview{Status: authenticationv1.SelfSubjectReviewStatus{UserInfo: info}}, nil
		})
		u, err := Review(context.Background(), c)
		if err != nil || u.Username != "jane" || u.UID != "42" || len(u.Groups) != 2 || u.Extra["scopes"][0] != "a" {
			t.Fatalf("%+v, %v", u, err)
		}
	})
	t.Run("only v1beta1", func(t *testing.T) {
		c := fake.NewClientset()
		c.PrependReactor("create", "selfsubjectreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if a.GetResource().Version == "v1" {
				return true, nil, apierrors.NewNotFound(schema.GroupResource{Group: "authentication.k8s.io", Resource: "selfsubjectreviews"}, "")
			}
			return true, &authenticationv1beta1.SelfSubjectReview{Status: authenticationv1beta1.SelfSubjectReviewStatus{UserInfo: info}}, nil
		})
		if u, err := Review(context.Background(), c); err != nil || u.Username != "jane" {
			t.Fatalf("%+v, %v", u, err)
		}
	})
	t.Run("not served", func(t *testing.T) {
		c := fake.NewClientset()
		c.PrependReactor("create", "selfsubjectreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewNotFound(schema.GroupResource{Resource: "selfsubjectreviews"}, "")
		})
		if _, err := Review(context.Background(), c); !errors.Is(err, ErrReviewNotServed) {
			t.Fatalf("err %v", err)
		}
	})
}

func TestCan(t *testing.T) {
	c := fake.NewClientset()
	var asked []authorizationv1.ResourceAttributes
	c.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		if na := r.Spec.NonResourceAttributes; na != nil {
			r.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: na.Path == "/openid/v1/jwks" && na.Verb == "get"}
			asked = append(asked, authorizationv1.ResourceAttributes{Resource: na.Path})
			return true, r, nil
		}
		attr := *r.Spec.ResourceAttributes
		asked = append(asked, attr)
		switch attr.Resource {
		case "secrets":
			r.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: false, Reason: "no RBAC rule"}
		case "nodes":
			return true, nil, errors.New("connection reset by peer")
		default:
			r.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: true}
		}
		return true, r, nil
	})
	needs := []Need{
		{Verb: "list", Resource: "secrets", Checks: []string{checkSecrets}, Role: roleReader},
		{Verb: "list", Resource: "nodes", Cluster: true, Checks: []string{checkNodes}, Role: roleReader},
		{Verb: "create", Resource: "pods", Subresource: "portforward", Checks: []string{checkPortForward}, Role: roleProber},
		{Verb: "get", Resource: "configmaps", Namespace: "kube-system", Checks: []string{checkKubeadm}, Role: roleReader},
		{Verb: "get", Path: "/openid/v1/jwks", Checks: []string{checkSAKeys}, Role: roleReader},
	}
	perms, err := Can(context.Background(), c, needs, "team-a")
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("the failed question's error: %v", err)
	}
	want := map[string]string{"secrets": result.Denied, "nodes": result.Unknown, "pods": result.Allowed, "configmaps": result.Allowed, "/openid/v1/jwks": result.Allowed}
	wantNS := map[string]string{"secrets": "team-a", "nodes": "", "pods": "team-a", "configmaps": "kube-system", "/openid/v1/jwks": ""}
	for _, p := range perms {
		if p.Result != want[p.ResourceName()] && p.Result != want[p.Resource] || p.Namespace != wantNS[p.ResourceName()] && p.Namespace != wantNS[p.Resource] {
			t.Errorf("%s: %s in %q, want %s in %q", p.ResourceName(), p.Result, p.Namespace, want[p.Resource], wantNS[p.Resource])
		}
	}
	if perms[0].Reason != "no RBAC rule" || perms[0].Rule != `{apiGroups: [""], resources: [secrets], verbs: [list]}` {
		t.Errorf("denied: %+v", perms[0])
	}
	if perms[2].Rule != `{apiGroups: [""], resources: [pods/portforward], verbs: [create]}` {
		t.Errorf("rule %s", perms[2].Rule)
	}
	if perms[4].Rule != `{nonResourceURLs: [/openid/v1/jwks], verbs: [get]}` || perms[4].ResourceName() != "/openid/v1/jwks" {
		t.Errorf("non-resource permission %+v", perms[4])
	}
	if len(asked) != len(needs) {
		t.Errorf("asked %d questions for %d needs", len(asked), len(needs))
	}
}
