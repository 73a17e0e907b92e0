package webhook

import (
	"strings"
	"testing"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// A served certificate without serverAuth (a client certificate put in the webhook's
// secret) is refused by the API server with Go's key-usage error: named as that, not as
// an unknown authority.
func TestServedCertificateNoServerAuth(t *testing.T) {
	f := newFixture()
	f.leaf = f.ca.Issue(certstest.Opts{CN: "w", DNS: []string{"cert-manager-webhook.cert-manager.svc"}, Client: true})
	r, _ := f.walk(t)
	got := requireOnly(t, r, "CertificateNoServerAuth", result.Critical, "serverAuth")
	if !strings.Contains(got.Error, "x509: certificate specifies an incompatible key usage") {
		t.Fatalf("Go's text: %q", got.Error)
	}
}
