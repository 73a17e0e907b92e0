package cmd

import (
	"strings"
	"testing"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// When the API server's certificate is refused, the parts and requests it stopped are
// listed under that one finding, not as warnings and notes of their own; other failures
// and notes stay.
func TestUnderRefusedServer(t *testing.T) {
	x509 := `Get "https://10.0.0.1:6443/api/v1/nodes": tls: failed to verify certificate: x509: certificate has expired or is not yet valid`
	root := result.Finding{Severity: result.Critical, Code: diagnose.CodeExpired, Source: result.SourceAPIServer, Subject: "https://10.0.0.1:6443",
		Error: "Unable to connect to the server: x509: certificate has expired or is not yet valid"}
	webhookFailed := diagnose.NewVariant(diagnose.CodeSourceFailed, "part", diagnose.Where{Source: "webhook", Subject: "webhook check"}, diagnose.Params{"err": "list validatingwebhookconfigurations: " + x509})
	otherFailed := diagnose.NewVariant(diagnose.CodeSourceFailed, "part", diagnose.Where{Source: "sans", Subject: "sans check"}, diagnose.Params{"err": "context deadline exceeded"})
	notes := []string{"could not list nodes: " + x509, "could not get services default/kubernetes: " + x509, "cluster domain not found: assuming cluster.local"}

	fs, kept := underRefusedServer([]result.Finding{root, webhookFailed, otherFailed}, notes)
	if len(fs) != 2 || fs[0].Code != diagnose.CodeExpired || fs[1].Subject != "sans check" {
		t.Fatalf("findings %+v", fs)
	}
	want := []string{"webhook check: could not run", "refused the same way: list nodes, get services default/kubernetes"}
	if strings.Join(fs[0].Consequences, "|") != strings.Join(want, "|") {
		t.Errorf("consequences %q, want %q", fs[0].Consequences, want)
	}
	if len(kept) != 1 || !strings.HasPrefix(kept[0], "cluster domain") {
		t.Errorf("notes %q", kept)
	}

	// Without a refused API server certificate nothing moves.
	fs, kept = underRefusedServer([]result.Finding{webhookFailed}, notes)
	if len(fs) != 1 || len(kept) != 3 {
		t.Errorf("%+v %q", fs, kept)
	}
}
