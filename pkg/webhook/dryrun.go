package webhook

import (
	"context"
	"errors"

	"fmt"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/plugins"
)

// Caller makes the API server call the webhook for real: a server-side dry-run create
// (nothing is stored; webhooks with sideEffects None are called), as `cmctl check api`
// does, or for an aggregated API a GET of its discovery document through the aggregator.
type Caller interface {
	// Call makes the request; Call.Attempted is false, with the reason, when no request
	// would reach the target (its rules and selectors admit none certdoctor can make).
	Call(ctx context.Context, t Target) Call
	// Review POSTs an AdmissionReview to the webhook's path through the API server's
	// service proxy, the network path the API server itself uses, and returns the answer.
	Review(ctx context.Context, t Target) (answer string, rtt time.Duration, err error)
}

// Call is the outcome of one real request through the API server.
type Call struct {
	Attempted bool
	// What was requested ("dry-run create of a ConfigMap in cert-manager"), or, when not
	// attempted, why not.
	What string
	RTT  time.Duration
	Err  error
}

// APICaller is the Caller over a real API server.
type APICaller struct {
	Client  kubernetes.Interface
	Dynamic dynamic.Interface
	Profile *plugins.Profile
}

// Call dry-run-creates an object the webhook's rules, namespaceSelector and
// objectSelector admit: the profile's object (cert-manager: an Issuer), else a
// ConfigMap; for an APIService it reads the API's discovery through the aggregator.
func (c *APICaller) Call(ctx context.Context, t Target) Call {
	switch t.Kind {
	case "APIService":
		return c.discover(ctx, t)
	case "CustomResourceDefinition":
		return Call{What: "a conversion webhook is called only to convert stored objects: certdoctor does not create any"}
	}
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	name := "certdoctor-dry-run-" + rand.String(5)
	own := ""
	if t.ClientConfig.Service != nil {
		own = t.ClientConfig.Service.Namespace
	}
	lbls, ok := labelsFor(t.ObjectSelector)
	if !ok {
		return Call{What: "no object certdoctor can label satisfies its objectSelector " + metav1.FormatLabelSelector(t.ObjectSelector)}
	}
	if c.Profile != nil && c.Profile.DryRun != nil && c.Dynamic != nil {
		u := &unstructured.Unstructured{Object: map[string]any{}}
		for k, v := range c.Profile.DryRun {
			u.Object[k] = v
		}
		gv, err := schema.ParseGroupVersion(u.GetAPIVersion())
		if err != nil {
			return Call{What: "the profile's dryRun object has a bad apiVersion: " + err.Error()}
		}
		gvr := gv.WithResource(strings.ToLower(u.GetKind()) + "s")
		if rulesCover(t.Rules, admissionv1.Create, gv.Group, gv.Version, gvr.Resource) {
			ns, ok := c.admittedNamespace(ctx, t, own)
			if !ok {
				return Call{What: "no namespace is admitted by its namespaceSelector"}
			}
			u.SetName(name)
			u.SetNamespace(ns)
			u.SetLabels(lbls)
			start := time.Now()
			_, err = c.Dynamic.Resource(gvr).Namespace(ns).Create(ctx, u, dry)
			if apierrors.IsNotFound(err) {
				return Call{What: "the " + gv.String() + " API of its " + u.GetKind() + " is not served (its CRDs are not installed): " + err.Error()}
			}
			return Call{Attempted: true, What: "dry-run create of " + u.GetKind() + " in " + ns, RTT: time.Since(start), Err: err}
		}
	}
	if !rulesCover(t.Rules, admissionv1.Create, "", "v1", "configmaps") {
		return Call{What: "its rules cover no object certdoctor creates (" + ruleSummary(t.Rules) + ")"}
	}
	ns, ok := c.admittedNamespace(ctx, t, own)
	if !ok {
		return Call{What: "no namespace is admitted by its namespaceSelector"}
	}
	start := time.Now()
	_, err := c.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls}}, dry)
	return Call{Attempted: true, What: "dry-run create of a ConfigMap in " + ns, RTT: time.Since(start), Err: err}
}

// discover reads an aggregated API's discovery document: the aggregator proxies it to
// the backend, the same path every request of that API takes.
func (c *APICaller) discover(ctx context.Context, t Target) Call {
	group, version := apiServiceGroupVersion(t.Config)
	if group == "" {
		return Call{What: "the APIService name is not VERSION.GROUP"}
	}
	path := "/apis/" + group + "/" + version
	start := time.Now()
	_, err := c.Client.Discovery().RESTClient().Get().AbsPath(path).DoRaw(ctx)
	return Call{Attempted: true, What: "GET " + path, RTT: time.Since(start), Err: err}
}

// apiServiceGroupVersion splits an APIService name, VERSION.GROUP.
func apiServiceGroupVersion(name string) (group, version string) {
	version, group, _ = strings.Cut(name, ".")
	return group, version
}

// labelsFor returns labels that the selector matches, when certdoctor can make them:
// matchLabels and In take their (first) value, Exists any value, NotIn and
// DoesNotExist are met by leaving the key out.
func labelsFor(sel *metav1.LabelSelector) (map[string]string, bool) {
	out := map[string]string{}
	if sel == nil {
		return out, true
	}
	for k, v := range sel.MatchLabels {
		out[k] = v
	}
	for _, e := range sel.MatchExpressions {
		switch e.Operator {
		case metav1.LabelSelectorOpIn:
			if len(e.Values) > 0 {
				out[e.Key] = e.Values[0]
			}
		case metav1.LabelSelectorOpExists:
			if _, ok := out[e.Key]; !ok {
				out[e.Key] = "certdoctor"
			}
		}
	}
	return out, selects(sel, out)
}

func ruleSummary(rules []admissionv1.RuleWithOperations) string {
	var out []string
	for _, r := range rules {
		out = append(out, strings.Join(r.Resources, ",")+" in "+orText(strings.Join(r.APIGroups, ","), "the core group"))
	}
	return orText(strings.Join(out, "; "), "none")
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

// dryRun makes the real call and classifies its error. A webhook that denies the test
// object has answered: the call path works. When the static links already named a
// critical cause, the call's error is that cause's real text, not a second finding.
func (s *walk) dryRun(ctx context.Context) {
	call := s.Caller.Call(ctx, s.t)
	limit := time.Duration(s.t.TimeoutSeconds) * time.Second
	switch {
	case !call.Attempted:
		s.ok("apiServerCall", "not exercised: "+call.What)
	case call.Err == nil && s.t.FailurePolicy == "Ignore":
		s.ok("apiServerCall", fmt.Sprintf("%s passed in %s, but with failurePolicy Ignore the API server lets requests through when the call fails: "+
			"this proves nothing about the webhook (the serviceProxy check does)", call.What, call.RTT.Round(time.Millisecond)))
	case call.Err == nil && call.RTT > limit/2:
		s.problem("apiServerCall", diagnose.CodeWebhookSlow, "call", diagnose.Params{"what": call.What, "rtt": call.RTT.Round(time.Millisecond).String(), "limit": limit.String()})
	case call.Err == nil:
		s.ok("apiServerCall", fmt.Sprintf("%s went through the webhook in %s", call.What, call.RTT.Round(time.Millisecond)))
	case strings.Contains(call.Err.Error(), "denied the request"):
		s.ok("apiServerCall", fmt.Sprintf("%s: the webhook answered in %s (it denied the test object, which proves the call path works): %s",
			call.What, call.RTT.Round(time.Millisecond), firstLine(call.Err.Error())))
	default:
		msg := call.Err.Error()
		s.observed(msg)
		variant, _ := diagnose.ClassifyCall(msg)
		s.problem("apiServerCall", diagnose.CodeWebhookCallFailed, variant, diagnose.Params{"what": call.What, "err": msg, "target": s.t.Config})
	}
}

// available is the aggregator's own verdict on an APIService, with its error text.
func (s *walk) available() {
	a := s.t.Available
	switch {
	case a == nil:
		s.ok("available", "the APIService has no Available condition yet")
	case a.Status == "True":
		s.ok("available", "Available=True: the aggregator reaches it")
	default:
		s.observed(a.Message)
		s.problem("available", diagnose.CodeWebhookAPIServiceUnavailable, "", diagnose.Params{"reason": a.Reason, "message": a.Message})
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

// reviewSlack is what the service-proxy probe waits beyond the webhook's timeoutSeconds:
// the proxy's own hop through the API server.
const reviewSlack = 2 * time.Second

// review sends the AdmissionReview through the service proxy. Any HTTP answer from the
// webhook proves the network path; "error trying to reach service" (a timeout, a refusal)
// means the path is blocked, whatever the certificates say.
func (s *walk) review(ctx context.Context) {
	// The API server gives up on the webhook after timeoutSeconds: waiting longer (the
	// request timeout, 30 s) would prove nothing and hold the whole walk.
	limit := time.Duration(s.t.TimeoutSeconds)*time.Second + reviewSlack
	rctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	_, rtt, err := s.Caller.Review(rctx, s.t)
	if err != nil && ctx.Err() == nil && errors.Is(rctx.Err(), context.DeadlineExceeded) {
		// The path may well work (a slow webhook answers later): what is known is that the
		// API server's call, bounded the same way, fails. That is the cause to name; the
		// real call's text becomes its error.
		msg := fmt.Sprintf("no answer through the API server's service proxy within %s (timeoutSeconds %d, as the API server waits): context deadline exceeded",
			limit, s.t.TimeoutSeconds)
		s.problem("serviceProxy", diagnose.CodeWebhookCallFailed, "probe-deadline",
			diagnose.Params{"what": "an AdmissionReview through the service proxy", "err": msg, "target": s.t.Config})
		return
	}
	if err == nil {
		s.ok("serviceProxy", fmt.Sprintf("an AdmissionReview POSTed through the API server's service proxy was answered in %s", rtt.Round(time.Millisecond)))
		return
	}
	msg := err.Error()
	// The proxy's error names the same families as a failed call (no endpoints, refused,
	// timed out): its meaning and fix come from the matching WebhookCallFailed variant.
	// Any other error is the webhook's own HTTP answer: the network path works.
	variant, meaning := diagnose.ClassifyCall(msg)
	if variant == "" && !strings.Contains(msg, "error trying to reach service") {
		s.ok("serviceProxy", fmt.Sprintf("the webhook answered through the API server's service proxy in %s (%s)", rtt.Round(time.Millisecond), firstLine(msg)))
		return
	}
	call := diagnose.NewVariant(diagnose.CodeWebhookCallFailed, variant, diagnose.Where{}, diagnose.Params{"what": "", "err": msg, "target": s.t.Config})
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
