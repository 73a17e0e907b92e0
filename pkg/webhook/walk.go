package webhook

import (
	"context"
	"crypto/x509"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"github.com/certdoctor/kubectl-certdoctor/plugins"
)

// Prober reaches a webhook pod the way the API server would and returns the chain it
// serves and the round-trip time of the handshake (port-forward in production).
type Prober interface {
	Served(ctx context.Context, pod *corev1.Pod, port int32, serverName string) ([]*x509.Certificate, time.Duration, error)
}

// Walker walks targets.
type Walker struct {
	Client  kubernetes.Interface
	Dynamic dynamic.Interface // for cert-manager Certificates named by inject-ca-from; may be nil
	Profile *plugins.Profile  // may be nil (a configuration named directly)
	Prober  Prober            // nil: --no-probe
	Caller  Caller            // nil: --no-probe
	// Namespace, when set (-n), is where the product keeps its CA secret and cainjector;
	// otherwise the namespace of the Service the configuration calls.
	Namespace string
	Now       time.Time
}

// productNamespace is where the product's own objects are looked for.
func (s *walk) productNamespace() string {
	switch {
	case s.Namespace != "":
		return s.Namespace
	case s.t.ClientConfig.Service != nil:
		return s.t.ClientConfig.Service.Namespace
	case s.Profile != nil:
		return s.Profile.Namespace
	}
	return ""
}

// Result is what the walk found.
type Result struct {
	Checks   []result.Check
	Findings []result.Finding
}

// walk is the state of one target's walk, filled link by link.
type walk struct {
	*Walker
	t      Target
	r      *Result
	svc    *corev1.Service
	target intstr.IntOrString // the Service port's targetPort
	pods   []corev1.Pod
	ready  *corev1.Pod
	port   int32 // the resolved container port on ready
	bundle []*x509.Certificate
}

// Walk checks every link of t's chain. A broken link stops the links that depend on
// it; the caBundle is checked regardless.
func (w *Walker) Walk(ctx context.Context, t Target, r *Result) {
	s := &walk{Walker: w, t: t, r: r}
	before := len(r.Findings)
	s.links(ctx)
	if w.Caller != nil {
		broken := false
		for _, f := range r.Findings[before:] {
			broken = broken || f.Severity == result.Critical
		}
		s.dryRun(ctx, broken)
	}
}

func (s *walk) links(ctx context.Context) {
	s.config(ctx)
	s.caBundle(ctx)
	if s.t.ClientConfig.Service == nil {
		return
	}
	if !s.service(ctx) || !s.endpoints(ctx) || !s.podsReady(ctx) {
		return
	}
	s.ports(ctx)
	s.networkPolicies(ctx)
	if s.Prober != nil {
		s.probe(ctx)
	}
	if s.Caller != nil && (s.t.Kind == "ValidatingWebhookConfiguration" || s.t.Kind == "MutatingWebhookConfiguration") {
		s.review(ctx)
	}
}

// ok records a link that passed.
func (s *walk) ok(link, detail string) {
	s.r.Checks = append(s.r.Checks, result.Check{Group: s.t.Name(), Name: link, Severity: result.OK, Detail: detail})
}

// problem records a broken link: the catalogue entry code (variant may be "") filled
// with p and with what every webhook finding's error text needs (callParams).
func (s *walk) problem(link, code, variant string, p diagnose.Params) {
	params := s.callParams()
	for k, v := range p {
		params[k] = v
	}
	f := diagnose.NewVariant(code, variant, diagnose.Where{Source: result.SourceWebhook, Subject: s.t.Name()}, params)
	s.r.Checks = append(s.r.Checks, result.Check{Group: s.t.Name(), Name: link, Severity: f.Severity, Detail: f.Message})
	s.r.Findings = append(s.r.Findings, f)
}

// callParams describe the call the API server makes, for the catalogue's callError
// text (the error users see, seed 001).
func (s *walk) callParams() diagnose.Params {
	path := ""
	port := int32(443)
	if svc := s.t.ClientConfig.Service; svc != nil {
		if svc.Path != nil {
			path = *svc.Path
		}
		if svc.Port != nil {
			port = *svc.Port
		}
	}
	return diagnose.Params{"kind": s.t.Kind, "config": s.t.Config, "webhook": s.t.Webhook, "host": s.t.Host(),
		"svcPort": port, "path": path, "timeout": s.t.TimeoutSeconds}
}
