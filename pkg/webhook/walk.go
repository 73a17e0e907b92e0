package webhook

import (
	"context"
	"crypto/x509"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
	comp   *plugins.Component // the profile's component that serves t; nil without a profile
	svc    *corev1.Service
	target intstr.IntOrString // the Service port's targetPort
	pods   []corev1.Pod
	ready  *corev1.Pod
	port   int32 // the resolved container port on ready
	bundle []*x509.Certificate
	// root is the index in r.Findings of this target's first critical finding: the
	// checks that fail after it, because of it, are listed under it (consequences).
	root int
	// first is the index in r.Findings of this target's first finding.
	first int
	// podRoot is the first critical finding about the pods (not Ready, probe port):
	// what leaves the Service without endpoints.
	podRoot int
}

// Walk checks every link of t's chain. A broken link stops the links that depend on
// it; the caBundle is checked regardless.
func (w *Walker) Walk(ctx context.Context, t Target, r *Result) {
	s := &walk{Walker: w, t: t, r: r, root: -1, podRoot: -1, first: len(r.Findings)}
	if w.Profile != nil {
		s.comp = w.Profile.ComponentFor(t.Kind, t.Config)
	}
	s.links(ctx)
	if t.Kind == "APIService" {
		s.available()
	}
	if w.Caller != nil {
		s.dryRun(ctx)
	}
}

func (s *walk) links(ctx context.Context) {
	s.config()
	s.caBundle(ctx)
	if s.t.ClientConfig.Service == nil {
		return
	}
	if !s.service(ctx) || !s.endpoints(ctx) || !s.podsReady(ctx) {
		return
	}
	s.selfDeadlock(ctx)
	if !s.ports(ctx) {
		s.notRun("handshake", "there is no port to connect to")
	} else {
		s.networkPolicies(ctx)
		if s.Prober != nil {
			s.probe(ctx)
		}
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
// with p and with what every webhook finding's error text needs (callParams). A critical
// problem of a dependent link after the target's first critical one is not a second root
// cause: it is recorded as a consequence of the first.
// readFailed is the finding for a read a link needs that failed: a denial names the
// verb, resource and user the API server quoted; anything else is the read's error.
func (s *walk) readFailed(link, what string, err error) {
	if d, ok := diagnose.ParseForbidden(err.Error()); ok && apierrors.IsForbidden(err) {
		p := d.Params(err)
		p["what"] = what
		s.problem(link, diagnose.CodePermissionDenied, "link", p)
		return
	}
	s.problem(link, diagnose.CodeSourceFailed, "link", diagnose.Params{"what": what, "err": err})
}

func (s *walk) problem(link, code, variant string, p diagnose.Params) {
	params := s.callParams()
	for k, v := range p {
		params[k] = v
	}
	f := diagnose.NewVariant(code, variant, diagnose.Where{Source: result.SourceWebhook, Subject: s.t.Name()}, params)
	switch {
	case f.Severity == result.Critical && link == "endpoints" && s.podRoot >= 0:
		// No endpoint because no pod is Ready: the pod's reason is the cause.
		s.consequenceOf(s.podRoot, link, f.Message)
		return
	case f.Severity == result.Critical && s.root >= 0 && dependent[link]:
		s.consequence(link, f.Message, f.Error)
		return
	}
	idx := s.earlier(f)
	if idx >= 0 {
		// Another webhook of the same product already broke on this very cause (they
		// share the Service, the pods, the caBundle): one finding, this one listed under it.
		s.r.Checks = append(s.r.Checks, result.Check{Group: s.t.Name(), Name: link, Severity: f.Severity,
			Detail: f.Message + " (the same cause as for " + s.r.Findings[idx].Subject + ")"})
		s.r.Findings[idx].Consequences = append(s.r.Findings[idx].Consequences, "also "+s.t.Name())
	} else {
		s.r.Checks = append(s.r.Checks, result.Check{Group: s.t.Name(), Name: link, Severity: f.Severity, Detail: f.Message})
		idx = len(s.r.Findings)
		s.r.Findings = append(s.r.Findings, f)
	}
	if f.Severity != result.Critical {
		return
	}
	if s.root < 0 {
		s.root = idx
	}
	if s.podRoot < 0 && (link == "pods" || strings.HasPrefix(link, "pod ") || strings.HasPrefix(link, "readinessProbe ")) {
		s.podRoot = idx
	}
}

// earlier finds the finding an earlier target raised for the same cause: same code,
// severity and message.
func (s *walk) earlier(f result.Finding) int {
	for i := 0; i < s.first; i++ {
		e := s.r.Findings[i]
		if e.Code == f.Code && e.Severity == f.Severity && e.Message == f.Message {
			return i
		}
	}
	return -1
}

// dependent links test what earlier links already judged: the end-to-end handshake and
// calls fail whenever any link before them is broken, so their failure is evidence of
// that link's cause, not a cause of its own.
var dependent = map[string]bool{"handshake": true, "servedCertificate": true, "latency": true,
	"serviceProxy": true, "apiServerCall": true, "available": true}

// consequence records a check that failed because of an earlier critical finding: the
// one whose cause the check's error text names, else the target's first.
func (s *walk) consequence(link, detail, errText string) {
	s.consequenceOf(s.rootFor(errText), link, detail)
}

func (s *walk) consequenceOf(idx int, link, detail string) {
	root := &s.r.Findings[idx]
	s.r.Checks = append(s.r.Checks, result.Check{Group: s.t.Name(), Name: link, Severity: result.Critical,
		Detail: detail + " (a consequence of " + root.Code + ")"})
	root.Consequences = append(root.Consequences, link+": "+detail)
}

// rootFor picks the critical finding of this target that an observed error text is
// about: the one whose predicted text names the same cause family.
func (s *walk) rootFor(text string) int {
	if family, _ := diagnose.ClassifyCall(text); family != "" {
		for i := s.first; i < len(s.r.Findings); i++ {
			f := s.r.Findings[i]
			if f.Severity != result.Critical || !f.ErrorPredicted {
				continue
			}
			if predicted, _ := diagnose.ClassifyCall(f.Error); predicted == family {
				return i
			}
		}
	}
	return s.root
}

// observed gives the critical finding the API server's real error text is about that
// text, in place of certdoctor's prediction of it.
func (s *walk) observed(text string) {
	if s.root < 0 || text == "" {
		return
	}
	root := &s.r.Findings[s.rootFor(text)]
	if root.ErrorPredicted || root.Error == "" {
		root.Error, root.ErrorPredicted = text, false
	}
}

// notRun records a check that could not run because an earlier link is broken.
func (s *walk) notRun(link, why string) {
	if s.root >= 0 {
		s.consequence(link, "not run: "+why, "")
		return
	}
	s.r.Checks = append(s.r.Checks, result.Check{Group: s.t.Name(), Name: link, Severity: result.Warning, Detail: "not run: " + why})
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
