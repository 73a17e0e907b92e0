package webhook

import (
	"context"

	"fmt"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"github.com/certdoctor/kubectl-certdoctor/plugins"
)

// Caller makes the API server call the webhook for real: a server-side dry-run create
// (nothing is stored; webhooks with sideEffects None are called), as `cmctl check api` does.
type Caller interface {
	// DryRun returns attempted=false when it knows no object these rules intercept.
	DryRun(ctx context.Context, t Target) (rtt time.Duration, attempted bool, what string, err error)
	// Review POSTs an AdmissionReview to the webhook's path through the API server's
	// service proxy, the network path the API server itself uses, and returns the answer.
	Review(ctx context.Context, t Target) (answer string, rtt time.Duration, err error)
}

// APICaller is the Caller over a real API server.
type APICaller struct {
	Client  kubernetes.Interface
	Dynamic dynamic.Interface
	Profile *plugins.Profile
}

// DryRun creates the profile's object (cert-manager: an Issuer) or, for webhooks on
// ConfigMaps, a ConfigMap in a namespace the webhook's namespaceSelector admits.
func (c *APICaller) DryRun(ctx context.Context, t Target) (time.Duration, bool, string, error) {
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	name := "certdoctor-dry-run-" + rand.String(5)
	ns := ""
	if t.ClientConfig.Service != nil {
		ns = t.ClientConfig.Service.Namespace
	}
	start := time.Now()
	switch {
	case c.Profile != nil && c.Profile.DryRun != nil && c.Dynamic != nil:
		u := &unstructured.Unstructured{Object: map[string]any{}}
		for k, v := range c.Profile.DryRun {
			u.Object[k] = v
		}
		u.SetName(name)
		u.SetNamespace(ns)
		gv, err := schema.ParseGroupVersion(u.GetAPIVersion())
		if err != nil {
			return 0, false, "", err
		}
		gvr := gv.WithResource(strings.ToLower(u.GetKind()) + "s")
		_, err = c.Dynamic.Resource(gvr).Namespace(ns).Create(ctx, u, dry)
		return time.Since(start), true, "dry-run create of " + u.GetKind(), err
	case coversConfigMaps(t.Rules):
		target, ok := c.admittedNamespace(ctx, t, ns)
		if !ok {
			return 0, false, "", nil
		}
		_, err := c.Client.CoreV1().ConfigMaps(target).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}, dry)
		return time.Since(start), true, "dry-run create of a ConfigMap in " + target, err
	}
	return 0, false, "", nil
}

func coversConfigMaps(rules []admissionv1.RuleWithOperations) bool {
	for _, r := range rules {
		var opList []string
		for _, o := range r.Operations {
			opList = append(opList, string(o))
		}
		ops, groups, res := strings.Join(opList, ","), strings.Join(r.APIGroups, ","), strings.Join(r.Resources, ",")
		if (strings.Contains(ops, "CREATE") || ops == "*") && (groups == "" || groups == "*") &&
			(strings.Contains(res, "configmaps") || res == "*") {
			return true
		}
	}
	return false
}

// admittedNamespace picks a namespace the webhook's namespaceSelector admits: its own
// if it does, else the first that does.
func (c *APICaller) admittedNamespace(ctx context.Context, t Target, own string) (string, bool) {
	sel := labels.Everything()
	if t.NamespaceSelector != nil {
		s, err := metav1.LabelSelectorAsSelector(t.NamespaceSelector)
		if err != nil {
			return "", false
		}
		sel = s
	}
	l, err := c.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil || len(l.Items) == 0 {
		return "", false
	}
	for _, n := range l.Items {
		if n.Name == own {
			return own, true
		}
	}
	return l.Items[0].Name, true
}

// dryRun makes the real call and classifies its error. When the static links already
// named a critical cause, the call's result is evidence, not a second finding.
func (s *walk) dryRun(ctx context.Context, alreadyBroken bool) {
	rtt, attempted, what, err := s.Caller.DryRun(ctx, s.t)
	switch {
	case !attempted:
		s.ok("apiServerCall", "no dry-run object known for these rules: not called")
	case err == nil:
		limit := time.Duration(s.t.TimeoutSeconds) * time.Second
		if rtt > limit/2 {
			s.problem("apiServerCall", diagnose.CodeWebhookSlow, "call", diagnose.Params{"what": what, "rtt": rtt.Round(time.Millisecond).String(), "limit": limit.String()})
			return
		}
		s.ok("apiServerCall", fmt.Sprintf("%s went through the webhook in %s", what, rtt.Round(time.Millisecond)))
	default:
		msg := err.Error()
		variant, _ := diagnose.ClassifyCall(msg)
		p := diagnose.Params{"what": what, "err": msg}
		if alreadyBroken {
			f := diagnose.NewVariant(diagnose.CodeWebhookCallFailed, variant, diagnose.Where{}, p)
			s.r.Checks = append(s.r.Checks, result.Check{Group: s.t.Name(), Name: "apiServerCall", Severity: result.Critical, Detail: f.Message + " (see the findings above)"})
			return
		}
		s.problem("apiServerCall", diagnose.CodeWebhookCallFailed, variant, p)
	}
}

// Review implements Caller: a minimal AdmissionReview (a ConfigMap CREATE) posted through
// /api/v1/namespaces/NS/services/https:NAME:PORT/proxy/PATH.
func (c *APICaller) Review(ctx context.Context, t Target) (string, time.Duration, error) {
	svc := t.ClientConfig.Service
	path := "/"
	if svc.Path != nil {
		path = *svc.Path
	}
	body := fmt.Sprintf(`{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"certdoctor-%s",`+
		`"kind":{"group":"","version":"v1","kind":"ConfigMap"},"resource":{"group":"","version":"v1","resource":"configmaps"},`+
		`"name":"certdoctor-probe","namespace":%q,"operation":"CREATE","userInfo":{"username":"certdoctor"},`+
		`"object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"certdoctor-probe","namespace":%q}},"dryRun":true}}`,
		rand.String(8), svc.Namespace, svc.Namespace)
	start := time.Now()
	b, err := c.Client.CoreV1().RESTClient().Post().
		AbsPath(fmt.Sprintf("/api/v1/namespaces/%s/services/https:%s:%d/proxy%s", svc.Namespace, svc.Name, svcPort(svc.Port), path)).
		SetHeader("Content-Type", "application/json").Body([]byte(body)).DoRaw(ctx)
	return strings.TrimSpace(string(b)), time.Since(start), err
}

// review sends the AdmissionReview through the service proxy. Any HTTP answer from the
// webhook proves the network path; "error trying to reach service" (a timeout, a refusal)
// means the path is blocked, whatever the certificates say.
func (s *walk) review(ctx context.Context) {
	_, rtt, err := s.Caller.Review(ctx, s.t)
	if err == nil {
		s.ok("serviceProxy", fmt.Sprintf("an AdmissionReview POSTed through the API server's service proxy was answered in %s", rtt.Round(time.Millisecond)))
		return
	}
	msg := err.Error()
	if !strings.Contains(msg, "error trying to reach service") {
		// The webhook answered, with an HTTP error: the network path works.
		s.ok("serviceProxy", fmt.Sprintf("the webhook answered through the API server's service proxy in %s (%s)", rtt.Round(time.Millisecond), firstLine(msg)))
		return
	}
	// The proxy's error names the same families as a failed call: its meaning and fix
	// come from the matching WebhookCallFailed variant.
	variant, meaning := diagnose.ClassifyCall(msg)
	call := diagnose.NewVariant(diagnose.CodeWebhookCallFailed, variant, diagnose.Where{}, diagnose.Params{"what": "", "err": msg})
	s.problem("serviceProxy", diagnose.CodeWebhookUnreachable, "service-proxy", diagnose.Params{"callMeaning": orText(meaning, "see the error"),
		"callFix": call.Fix, "err": firstLine(msg)})
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func orText(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
