package webhook

import (
	"context"
	"crypto/x509"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/report"
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
	Checks   []report.Check
	Findings []diagnose.Finding
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
			broken = broken || f.Severity == diagnose.Critical
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

// ok, warn and fail record a link's result; warn and fail also raise a finding.
func (s *walk) ok(link, detail string) {
	s.r.Checks = append(s.r.Checks, report.Check{Group: s.t.Name(), Name: link, Severity: diagnose.OK, Detail: detail})
}

func (s *walk) problem(sev diagnose.Severity, link, code, detail, errText, fix string) {
	s.r.Checks = append(s.r.Checks, report.Check{Group: s.t.Name(), Name: link, Severity: sev, Detail: detail})
	s.r.Findings = append(s.r.Findings, diagnose.Finding{Severity: sev, Code: code, Source: "webhook", Subject: s.t.Name(),
		Message: detail, Error: errText, Fix: fix})
}

// callError is the API server's error for a failed call, as users see it (seed 001).
func (s *walk) callError(cause string) string {
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
	switch s.t.Kind {
	case "APIService":
		return fmt.Sprintf("Error from server (ServiceUnavailable): the server is currently unable to handle the request (%s: %s)", s.t.Config, cause)
	case "CustomResourceDefinition":
		return fmt.Sprintf(`conversion webhook for %s failed: Post "https://%s:%d%s?timeout=30s": %s`, s.t.Config, s.t.Host(), port, path, cause)
	}
	return fmt.Sprintf(`Internal error occurred: failed calling webhook %q: failed to call webhook: Post "https://%s:%d%s?timeout=%ds": %s`,
		s.t.Webhook, s.t.Host(), port, path, s.t.TimeoutSeconds, cause)
}
