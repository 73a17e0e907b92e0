package cmd

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// whoamiServer is a loopback API server that answers SelfSubjectReview with user and
// SelfSubjectAccessReview by allow, and 401 to everything when user is nil.
func whoamiServer(t *testing.T, leaf *certstest.Pair, user map[string]any, allow func(resource string) bool) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		body, _ := io.ReadAll(r.Body)
		switch {
		case user == nil:
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`)
		case r.URL.Path == "/apis/authentication.k8s.io/v1/selfsubjectreviews":
			b, _ := json.Marshal(map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview", "status": map[string]any{"userInfo": user}})
			w.Write(b)
		case r.URL.Path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
			// certdoctor's clients send protobuf; the scheme's decoder reads either
			obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
			rev, ok := obj.(*authorizationv1.SelfSubjectAccessReview)
			if err != nil || !ok {
				http.Error(w, fmt.Sprintf("bad review: %v", err), http.StatusBadRequest)
				return
			}
			if a := rev.Spec.ResourceAttributes; a != nil {
				rev.Status.Allowed = allow(a.Resource)
			} else {
				rev.Status.Allowed = allow(rev.Spec.NonResourceAttributes.Path)
			}
			rev.APIVersion, rev.Kind = "authorization.k8s.io/v1", "SelfSubjectAccessReview"
			b, _ := json.Marshal(rev)
			w.Write(b)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
		}
	}))
	srv.TLS = certstest.TLSConfig(leaf)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

func testJWT(claims string) (token, payload, signature string) {
	enc := base64.RawURLEncoding.EncodeToString
	payload, signature = enc([]byte(claims)), enc([]byte("the-signature-bytes"))
	return enc([]byte(`{"alg":"RS256"}`)) + "." + payload + "." + signature, payload, signature
}

// An expired bearer token refused by the API server: whoami names the expiry and the
// 401 with the token fix, and never prints the token, its claims segment or signature.
func TestWhoamiTokenNeverPrinted(t *testing.T) {
	ca := certstest.NewCA("kubernetes")
	leaf := ca.Issue(certstest.Opts{CN: "kube-apiserver", IPs: []string{"127.0.0.1"}})
	server := whoamiServer(t, leaf, nil, nil)
	exp := time.Now().Add(-2 * time.Hour).Unix()
	token, payload, sig := testJWT(fmt.Sprintf(`{"iss":"https://kubernetes.default.svc","sub":"system:serviceaccount:ci:deployer","aud":["api"],"exp":%d}`, exp))
	kc := writeKubeconfig(t, server, ca.CertPEM(), "token: "+token)
	r, _, code := runReport(t, "whoami", "--kubeconfig", kc)
	if code != result.ExitCritical || findCode(r, "TokenExpired") == nil || findCode(r, "Unauthorized") == nil {
		t.Fatalf("exit %d, findings %s", code, briefFindings(r))
	}
	if u := findCode(r, "Unauthorized"); !strings.Contains(u.Fix, "kubectl create token") {
		t.Errorf("401 fix for a token: %q", u.Fix)
	}
	if tok := r.Identity.Credential.Token; tok == nil || tok.Subject != "system:serviceaccount:ci:deployer" || tok.Expires == nil || tok.Expires.Unix() != exp {
		t.Errorf("token claims %+v", r.Identity.Credential.Token)
	}
	for _, format := range []string{"json", "yaml", "table", "wide"} {
		out, stderr, _ := run(t, "whoami", "--kubeconfig", kc, "--can", "-o", format)
		for _, secret := range []string{token, payload, sig} {
			if strings.Contains(out+stderr, secret) {
				t.Errorf("-o %s prints a part of the token (%.12s...)", format, secret)
			}
		}
	}
}

// The certificate says system:masters, the API server does not: IdentityMismatch; --can
// lists each permission and makes a finding of each denial, naming what it blinds.
func TestWhoamiMismatchAndCan(t *testing.T) {
	ca := certstest.NewCA("kubernetes")
	leaf := ca.Issue(certstest.Opts{CN: "kube-apiserver", IPs: []string{"127.0.0.1"}})
	client := ca.Issue(certstest.Opts{CN: "admin", Org: []string{"system:masters"}, Client: true})
	server := whoamiServer(t, leaf, map[string]any{"username": "admin", "groups": []string{"system:authenticated"}},
		func(res string) bool { return res != "secrets" })
	kc := writeKubeconfig(t, server, ca.CertPEM(), fmt.Sprintf("client-certificate-data: %s, client-key-data: %s", b64(client.CertPEM()), b64(client.KeyPEM())))

	r, _, code := runReport(t, "whoami", "--kubeconfig", kc)
	if code != result.ExitWarning || r.Identity == nil || r.Identity.Authenticated == nil || r.Identity.Authenticated.Username != "admin" {
		t.Fatalf("exit %d, identity %+v, findings %s", code, r.Identity, briefFindings(r))
	}
	if f := findCode(r, "IdentityMismatch"); f == nil || !strings.Contains(f.Message, "system:masters") {
		t.Errorf("IdentityMismatch naming system:masters: %s", briefFindings(r))
	}
	if c := r.Identity.Credential.Certificate; c == nil || c.SignedByClusterCA == nil || !*c.SignedByClusterCA || c.User != "admin" {
		t.Errorf("certificate %+v", c)
	}
	if len(r.Permissions) != 0 {
		t.Errorf("permissions without --can: %d", len(r.Permissions))
	}

	r, _, _ = runReport(t, "whoami", "--kubeconfig", kc, "--can")
	denied := 0
	for _, p := range r.Permissions {
		want := result.Allowed
		if p.Resource == "secrets" {
			want = result.Denied
			denied++
		}
		if p.Result != want || len(p.Checks) == 0 || p.Rule == "" || p.Role == "" {
			t.Errorf("permission %+v, want %s with checks, rule and role", p, want)
		}
	}
	var findings int
	for _, f := range r.Findings {
		if f.Code == "PermissionDenied" {
			findings++
			if !strings.Contains(f.Message, "secrets") || !strings.Contains(f.Message, "go unchecked") || !strings.Contains(f.Fix, "resources: [secrets]") {
				t.Errorf("denial finding %+v", f)
			}
		}
	}
	if denied == 0 || findings != denied {
		t.Errorf("%d denied permissions, %d findings", denied, findings)
	}
	out, _, _ := run(t, "whoami", "--kubeconfig", kc, "--can")
	for _, want := range []string{"ATTRIBUTE", "VERB", "denied", "allowed"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`(?m)^Certificate groups \(O\) +system:masters$`).MatchString(out) {
		t.Errorf("table lacks the certificate's groups:\n%s", out)
	}
}

// A kubeconfig whose exec plugin is not installed: the finding with the install fix, and
// no request (client-go would only fail the same way).
func TestWhoamiExecPluginMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	ca := certstest.NewCA("kubernetes")
	leaf := ca.Issue(certstest.Opts{CN: "kube-apiserver", IPs: []string{"127.0.0.1"}})
	s := newAPIServer(t, leaf)
	kc := writeKubeconfig(t, s.URL, ca.CertPEM(), "exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: gke-gcloud-auth-plugin, interactiveMode: IfAvailable}")
	r, _, code := runReport(t, "whoami", "--kubeconfig", kc)
	f := findCode(r, "ExecPluginNotFound")
	if code != result.ExitCritical || f == nil || !strings.Contains(f.Fix, "gcloud components install gke-gcloud-auth-plugin") || len(r.Findings) != 1 {
		t.Fatalf("exit %d, findings %s", code, briefFindings(r))
	}
	if n := s.requests.Load(); n != 0 {
		t.Errorf("%d requests sent without credentials", n)
	}
}
