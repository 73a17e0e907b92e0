package webhook

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
)

// probe does what the API server does: a TLS handshake with the pod, verified with the
// caBundle for <service>.<namespace>.svc, timed against timeoutSeconds.
func (s *walk) probe(ctx context.Context) {
	chain, rtt, err := s.Prober.Served(ctx, s.ready, s.port, s.t.Host())
	if err != nil {
		s.problem("handshake", diagnose.CodeWebhookUnreachable, "handshake", diagnose.Params{"pod": s.ready.Name, "port": s.port, "err": err.Error()})
		return
	}
	s.servedCertificate(chain)
	limit := time.Duration(s.t.TimeoutSeconds) * time.Second
	if rtt > limit/2 {
		s.problem("latency", diagnose.CodeWebhookSlow, "handshake", diagnose.Params{"rtt": rtt.Round(time.Millisecond).String(), "limit": limit.String()})
	} else {
		s.ok("latency", fmt.Sprintf("TLS handshake %s (timeoutSeconds %ds)", rtt.Round(time.Millisecond), s.t.TimeoutSeconds))
	}
}

// servedCertificate verifies the chain the pod served as the API server does: with the
// caBundle, for <service>.<namespace>.svc, with Go's rules (no SHA-1, no Common Name).
func (s *walk) servedCertificate(chain []*x509.Certificate) {
	host := s.t.Host()
	leaf := certs.Describe(chain[0])
	if s.t.InsecureSkipTLSVerify {
		s.ok("servedCertificate", fmt.Sprintf("%q (valid for %s until %s): not verified, as insecureSkipTLSVerify tells the API server",
			leaf.Subject, orText(strings.Join(leaf.SANs, ", "), "no names"), leaf.NotAfter.Format("2006-01-02")))
		return
	}
	var roots *x509.CertPool
	if len(s.bundle) > 0 {
		roots = x509.NewCertPool()
		for _, c := range s.bundle {
			roots.AddCert(c)
		}
	}
	p, msg := certs.VerifyChain(chain, roots, host, s.Now)
	params := diagnose.Params{"subject": leaf.Subject, "issuer": leaf.Issuer, "sans": strings.Join(leaf.SANs, ", "), "err": msg,
		"notBefore": leaf.NotBefore.Format(time.RFC3339), "notAfter": leaf.NotAfter.Format(time.RFC3339),
		"algorithm": chain[0].SignatureAlgorithm.String(), "usages": leaf.Crypto.NoServerAuth, "name": "the served certificate",
		"cmNamespace": "", "cmName": ""}
	switch {
	case p == certs.ChainOK:
		s.ok("servedCertificate", fmt.Sprintf("%q valid for %s until %s, verified with caBundle", leaf.Subject, host, leaf.NotAfter.Format("2006-01-02")))
	case len(s.bundle) == 0:
		s.notRun("servedCertificate", "there is no caBundle to verify it with")
	case p == certs.ChainHostname:
		s.problem("servedCertificate", diagnose.CodeWebhookServedCert, "hostname", params)
	case p == certs.ChainLegacyCommonName:
		s.problem("servedCertificate", diagnose.CodeWebhookServedCert, "legacy-common-name", params)
	case p == certs.ChainInsecureSignature:
		s.problem("servedCertificate", diagnose.CodeWebhookServedCert, "insecure-signature", params)
	case p == certs.ChainExpired || p == certs.ChainNotYetValid:
		s.problem("servedCertificate", diagnose.CodeWebhookServedCert, "validity", params)
	case p == certs.ChainKeyUsage:
		s.problem("servedCertificate", diagnose.CodeNoServerAuth, "webhook", params)
	default:
		params["bundleCA"] = s.bundle[len(s.bundle)-1].Subject.CommonName
		s.problem("servedCertificate", diagnose.CodeWebhookServedCert, "issuer", params)
	}
}
