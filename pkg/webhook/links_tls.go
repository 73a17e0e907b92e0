package webhook

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"github.com/certdoctor/kubectl-certdoctor/pkg/sources"
)

// caBundle: what the API server trusts for this webhook — present, a CA, unexpired,
// the product's CA, and (with cert-manager's cainjector) injected from an object that
// exists in the right namespace by a cainjector that runs.
func (s *walk) caBundle(ctx context.Context) {
	data := s.t.ClientConfig.CABundle
	if len(data) == 0 {
		if s.t.ClientConfig.Service != nil {
			s.problem("caBundle", diagnose.CodeWebhookCABundle, "empty", s.injectionParams())
		}
		s.injection(ctx)
		return
	}
	chain, err := certs.ParseBundle(data)
	if err != nil {
		s.problem("caBundle", diagnose.CodeWebhookCABundle, "unparsable", s.injectionParams("err", err))
		return
	}
	s.bundle = chain
	ca := certs.Describe(chain[0])
	switch {
	case !chain[0].IsCA:
		s.problem("caBundle", diagnose.CodeWebhookCABundle, "not-ca", s.injectionParams("subject", ca.Subject))
	case ca.StatusAt(s.Now, 0) == result.StatusExpired:
		s.problem("caBundle", diagnose.CodeWebhookCABundle, "expired", s.injectionParams("subject", ca.Subject,
			"notAfter", ca.NotAfter.Format(time.RFC3339), "x509", certs.ExpiredError(ca, s.Now)))
	default:
		s.ok("caBundle", fmt.Sprintf("CA %q, expires %s", ca.Subject, ca.NotAfter.Format("2006-01-02")))
	}
	s.caSecret(ctx, chain[0])
	s.injection(ctx)
}

// injectionParams are the parameters of the caBundle findings, whose fix depends on
// whether cert-manager's cainjector writes the caBundle; kv adds more, as key, value.
func (s *walk) injectionParams(kv ...any) diagnose.Params {
	p := diagnose.Params{"injected": s.t.Annotations["cert-manager.io/inject-ca-from"] != "" || s.t.Annotations["cert-manager.io/inject-ca-from-secret"] != ""}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i].(string)] = kv[i+1]
	}
	return p
}

// caSecret compares the caBundle with the CA the product keeps in its secret.
func (s *walk) caSecret(ctx context.Context, bundleCA *x509.Certificate) {
	if s.Profile == nil || s.Profile.CASecret == "" || s.t.ClientConfig.Service == nil {
		return
	}
	ns := s.productNamespace()
	sec, err := s.Client.CoreV1().Secrets(ns).Get(ctx, s.Profile.CASecret, metav1.GetOptions{})
	if err != nil {
		if !apierrors.IsNotFound(err) {
			return
		}
		s.problem("caSecret", diagnose.CodeWebhookCABundleDiffers, "no-secret", diagnose.Params{"namespace": ns, "secret": s.Profile.CASecret})
		return
	}
	secretCA := sec.Data["ca.crt"]
	if len(secretCA) == 0 {
		secretCA = sec.Data["tls.crt"]
	}
	cs, err := certs.ParseBundle(secretCA)
	if err != nil {
		return
	}
	if bytes.Equal(cs[0].Raw, bundleCA.Raw) {
		s.ok("caSecret", "caBundle equals "+ns+"/"+s.Profile.CASecret)
		return
	}
	s.problem("caSecret", diagnose.CodeWebhookCABundleDiffers, "differs", s.injectionParams("bundleCA", bundleCA.Subject.CommonName,
		"namespace", ns, "secret", s.Profile.CASecret, "secretCA", cs[0].Subject.CommonName))
}

// injection checks cert-manager's cainjector annotations: the object they name exists in
// the namespace the webhook runs in (charts before cert-manager 0.15 hard-coded
// "cert-manager/"), and a cainjector pod is Ready.
func (s *walk) injection(ctx context.Context) {
	ann := s.t.Annotations
	from, fromSecret := ann["cert-manager.io/inject-ca-from"], ann["cert-manager.io/inject-ca-from-secret"]
	if from == "" && fromSecret == "" {
		return
	}
	ref, kind := from, "certificate"
	if ref == "" {
		ref, kind = fromSecret, "secret"
	}
	ns, name, _ := strings.Cut(ref, "/")
	if want := s.productNamespace(); want != "" && ns != want {
		s.problem("caInjection", diagnose.CodeWebhookCAInjection, "wrong-namespace", diagnose.Params{"kind": kind, "ref": ref,
			"namespace": ns, "want": want, "name": name})
		return
	}
	var err error
	if kind == "secret" {
		_, err = s.Client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	} else if s.Dynamic != nil {
		_, err = s.Dynamic.Resource(sources.CertificateGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		s.problem("caInjection", diagnose.CodeWebhookCAInjection, "missing-source", diagnose.Params{"kind": kind, "ref": ref})
		return
	}
	s.cainjectorRunning(ctx)
}

func (s *walk) cainjectorRunning(ctx context.Context) {
	if s.Profile == nil || s.Profile.CAInjector == nil {
		return
	}
	ns := s.productNamespace()
	l, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(s.Profile.CAInjector.PodSelector).String()})
	if err != nil {
		return
	}
	for i := range l.Items {
		if podReady(&l.Items[i]) {
			s.ok("caInjection", "cainjector "+l.Items[i].Name+" is Ready")
			return
		}
	}
	s.problem("caInjection", diagnose.CodeWebhookCAInjection, "not-running", diagnose.Params{"namespace": ns,
		"selector": labels.SelectorFromSet(s.Profile.CAInjector.PodSelector).String()})
}

// probe does what the API server does: a TLS handshake with the pod, verified with the
// caBundle for <service>.<namespace>.svc, timed against timeoutSeconds.
func (s *walk) probe(ctx context.Context) {
	chain, rtt, err := s.Prober.Served(ctx, s.ready, s.port, s.t.Host())
	if err != nil {
		s.problem("handshake", diagnose.CodeWebhookUnreachable, "handshake", diagnose.Params{"pod": s.ready.Name, "port": s.port, "err": err.Error()})
		return
	}
	host := s.t.Host()
	leaf := certs.Describe(chain[0])
	var roots *x509.CertPool
	if len(s.bundle) > 0 {
		roots = x509.NewCertPool()
		for _, c := range s.bundle {
			roots.AddCert(c)
		}
	}
	switch p, msg := certs.VerifyChain(chain, roots, host, s.Now); p {
	case certs.ChainOK:
		s.ok("servedCertificate", fmt.Sprintf("%q valid for %s until %s, verified with caBundle", leaf.Subject, host, leaf.NotAfter.Format("2006-01-02")))
	case certs.ChainHostname:
		s.problem("servedCertificate", diagnose.CodeWebhookServedCert, "hostname", diagnose.Params{"sans": strings.Join(leaf.SANs, ", "), "err": msg})
	case certs.ChainExpired, certs.ChainNotYetValid:
		s.problem("servedCertificate", diagnose.CodeWebhookServedCert, "validity", diagnose.Params{"subject": leaf.Subject,
			"notBefore": leaf.NotBefore.Format(time.RFC3339), "notAfter": leaf.NotAfter.Format(time.RFC3339), "err": msg})
	default:
		if len(s.bundle) > 0 {
			s.problem("servedCertificate", diagnose.CodeWebhookServedCert, "issuer", diagnose.Params{"issuer": leaf.Issuer,
				"bundleCA": s.bundle[0].Subject.CommonName, "err": msg})
		}
	}
	limit := time.Duration(s.t.TimeoutSeconds) * time.Second
	if rtt > limit/2 {
		s.problem("latency", diagnose.CodeWebhookSlow, "handshake", diagnose.Params{"rtt": rtt.Round(time.Millisecond).String(), "limit": limit.String()})
	} else {
		s.ok("latency", fmt.Sprintf("TLS handshake %s (timeoutSeconds %ds)", rtt.Round(time.Millisecond), s.t.TimeoutSeconds))
	}
}
