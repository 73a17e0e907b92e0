package diagnose

import (
	"strings"
	"testing"
)

// An error wrapped mid-sentence, as GKE's Forbidden message is in its documentation and
// in a narrow terminal, is read as one error: the GKE variant, with its IAM permission
// and namespace, wins over the generic RBAC text. Separate errors stay separate.
func TestExplainJoinsWrappedLines(t *testing.T) {
	text := "Error from server (Forbidden): roles.rbac.authorization.k8s.io is forbidden:\n" +
		"User \"example-account@example-project.iam.gserviceaccount.com\" cannot list resource \"roles\" in\n" +
		"API group \"rbac.authorization.k8s.io\" in the namespace \"kube-system\": requires\n" +
		"one of [\"container.roles.list\"] permission(s).\n" +
		"x509: certificate signed by unknown authority\n"
	xs := Default().Explain(text, nil)
	if len(xs) != 2 {
		t.Fatalf("want 2 explanations, got %+v", xs)
	}
	if xs[0].Code != CodePermissionDenied || xs[0].Variant != "gke-iam" || !strings.Contains(xs[0].Fix, "container.roles.list") || !strings.Contains(xs[0].Fix, "-n kube-system") {
		t.Errorf("first: %+v", xs[0])
	}
	if !strings.HasSuffix(xs[0].Excerpt, "permission(s).") || strings.Contains(xs[0].Excerpt, "x509") {
		t.Errorf("excerpt %q", xs[0].Excerpt)
	}
	for _, line := range []string{"dial tcp 10.0.0.1:443: i/o timeout", "the server is currently unable to handle the request"} {
		if got := joinWrapped(line + "\n" + line); len(got) != 2 {
			t.Errorf("%q twice joined into %q", line, got)
		}
	}
}

// client-go's text for a missing credential plugin names the plugin; the fix is the one
// for its family, and a plugin certdoctor does not know gets the generic one.
func TestExplainExecPluginNotFound(t *testing.T) {
	for text, want := range map[string]string{
		"Unable to connect to the server: getting credentials: exec: executable gke-gcloud-auth-plugin not found": "gcloud components install gke-gcloud-auth-plugin",
		"exec: executable aws not found":           "AWS CLI v2",
		"exec: executable kubelogin not found":     "krew install oidc-login",
		"exec: executable my-sso-helper not found": "put its directory on PATH",
	} {
		xs := Default().Explain(text, nil)
		if len(xs) == 0 || xs[0].Code != CodeExecNotFound || !strings.Contains(xs[0].Fix, want) {
			t.Errorf("%q: %+v, want ExecPluginNotFound with %q", text, xs, want)
		}
		if len(xs) > 0 && want != "gcloud components install gke-gcloud-auth-plugin" && strings.Contains(xs[0].Fix, "gcloud") {
			t.Errorf("%q: a GKE fix for another plugin: %s", text, xs[0].Fix)
		}
	}
}
