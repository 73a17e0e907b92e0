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
	"github.com/certdoctor/kubectl-certdoctor/pkg/sources"
)

// caBundle: what the API server trusts for this webhook — present, a CA, unexpired,
// the product's CA, and (with cert-manager's cainjector) injected from an object that
// exists in the right namespace by a cainjector that runs.
func (s *walk) caBundle(ctx context.Context) {
	data := s.t.ClientConfig.CABundle
	if len(data) == 0 {
		if s.t.ClientConfig.Service != nil {
			s.problem(diagnose.Critical, "caBundle", CodeCABundle, "caBundle is empty: the API server checks the webhook's certificate against its own system roots",
				s.callError("tls: failed to verify certificate: x509: certificate signed by unknown authority"), s.injectionFix())
		}
		s.injection(ctx)
		return
	}
	chain, err := certs.ParseBundle(data)
	if err != nil {
		s.problem(diagnose.Critical, "caBundle", CodeCABundle, "caBundle does not hold a certificate: "+err.Error(),
			s.callError("x509: certificate signed by unknown authority"), s.injectionFix())
		return
	}
	s.bundle = chain
	ca := certs.Describe(chain[0])
	switch {
	case !chain[0].IsCA:
		s.problem(diagnose.Warning, "caBundle", CodeCABundle, fmt.Sprintf("caBundle holds %q, which is not a CA certificate", ca.Subject), "", s.injectionFix())
	case ca.StatusAt(s.Now, 0) == certs.StatusExpired:
		s.problem(diagnose.Critical, "caBundle", CodeCABundle, fmt.Sprintf("the caBundle CA %q expired on %s", ca.Subject, ca.NotAfter.Format(time.RFC3339)),
			s.callError(certs.ExpiredError(ca, s.Now)), s.injectionFix())
	default:
		s.ok("caBundle", fmt.Sprintf("CA %q, expires %s", ca.Subject, ca.NotAfter.Format("2006-01-02")))
	}
	s.caSecret(ctx, chain[0])
	s.injection(ctx)
}

func (s *walk) injectionFix() string {
	if len(s.t.Annotations) > 0 && (s.t.Annotations["cert-manager.io/inject-ca-from"] != "" || s.t.Annotations["cert-manager.io/inject-ca-from-secret"] != "") {
		return "cert-manager's cainjector writes caBundle from the annotated object: see the caInjection check"
	}
	return "set caBundle to the base64 PEM of the CA that signed the webhook's serving certificate"
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
		s.problem(diagnose.Warning, "caSecret", CodeCABundleMismatch, fmt.Sprintf("secret %s/%s, where the webhook keeps its CA, does not exist", ns, s.Profile.CASecret), "", "")
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
	s.problem(diagnose.Critical, "caSecret", CodeCABundleMismatch,
		fmt.Sprintf("caBundle (CA %q) is not the CA in secret %s/%s (%q): the webhook's certificate will not verify", bundleCA.Subject.CommonName, ns, s.Profile.CASecret, cs[0].Subject.CommonName),
		s.callError("x509: certificate signed by unknown authority"), s.injectionFix())
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
		s.problem(diagnose.Critical, "caInjection", CodeCAInjection,
			fmt.Sprintf("the inject-ca-from annotation names %s %s in namespace %q, but the product runs in %q (a hard-coded namespace)", kind, ref, ns, want),
			s.callError("x509: certificate signed by unknown authority"),
			fmt.Sprintf("set the annotation to %s/%s (render the chart with helm template and fix it, or upgrade: fixed in cert-manager 0.15)", want, name))
		return
	}
	var err error
	if kind == "secret" {
		_, err = s.Client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	} else if s.Dynamic != nil {
		_, err = s.Dynamic.Resource(sources.CertificateGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		s.problem(diagnose.Critical, "caInjection", CodeCAInjection, fmt.Sprintf("the %s %s named by the inject-ca-from annotation does not exist: cainjector has nothing to inject", kind, ref),
			s.callError("x509: certificate signed by unknown authority"), "create it or fix the annotation; cainjector logs \"unable to fetch associated secret\" for this case")
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
	s.problem(diagnose.Critical, "caInjection", CodeCAInjection, fmt.Sprintf("no Ready cainjector pod in %s: caBundles are not (re)injected", ns),
		"Not ready: the cert-manager webhook CA bundle is not injected yet",
		fmt.Sprintf("kubectl -n %s get pods -l %s; check its logs for leader election (on GKE Autopilot: --set global.leaderElection.namespace=%s)", ns, labels.SelectorFromSet(s.Profile.CAInjector.PodSelector), ns))
}

// probe does what the API server does: a TLS handshake with the pod, verified with the
// caBundle for <service>.<namespace>.svc, timed against timeoutSeconds.
func (s *walk) probe(ctx context.Context) {
	chain, rtt, err := s.Prober.Served(ctx, s.ready, s.port, s.t.Host())
	if err != nil {
		s.problem(diagnose.Critical, "handshake", CodeUnreachable, fmt.Sprintf("no TLS handshake with pod %s port %d: %v", s.ready.Name, s.port, err),
			s.callError(err.Error()), "check the webhook's logs: it must serve TLS on this port (a plain-HTTP listener or a proxy waiting for HTTP shows as \"net/http: TLS handshake timeout\")")
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
		s.problem(diagnose.Critical, "servedCertificate", CodeServedCertificate, fmt.Sprintf("the served certificate does not cover %s; it is valid for %s", host, strings.Join(leaf.SANs, ", ")),
			s.callError(msg), "re-issue the serving certificate with dnsNames "+host+" and "+host+".cluster.local")
	case certs.ChainExpired, certs.ChainNotYetValid:
		s.problem(diagnose.Critical, "servedCertificate", CodeServedCertificate, fmt.Sprintf("the served certificate %q is outside its validity (%s to %s)", leaf.Subject, leaf.NotBefore.Format(time.RFC3339), leaf.NotAfter.Format(time.RFC3339)),
			s.callError(msg), "renew the webhook's serving certificate (cert-manager: cmctl renew; the webhook reloads it) and restart the webhook if it does not reload")
	default:
		if len(s.bundle) > 0 {
			s.problem(diagnose.Critical, "servedCertificate", CodeServedCertificate, fmt.Sprintf("the served certificate (issuer %q) is not signed by the caBundle CA %q", leaf.Issuer, s.bundle[0].Subject.CommonName),
				s.callError(msg), "put the CA that signs the serving certificate into caBundle (or re-issue the certificate from the caBundle's CA)")
		}
	}
	limit := time.Duration(s.t.TimeoutSeconds) * time.Second
	if rtt > limit/2 {
		s.problem(diagnose.Warning, "latency", CodeSlow, fmt.Sprintf("the handshake took %s, more than half of timeoutSeconds (%s)", rtt.Round(time.Millisecond), limit),
			s.callError("context deadline exceeded"), "find what slows the webhook (its logs, CPU limits); raise timeoutSeconds to 30 while debugging")
	} else {
		s.ok("latency", fmt.Sprintf("TLS handshake %s (timeoutSeconds %ds)", rtt.Round(time.Millisecond), s.t.TimeoutSeconds))
	}
}
