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
