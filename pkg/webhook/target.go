// Package webhook walks the chain the API server follows to call a webhook —
// configuration → Service → EndpointSlices → Pods → ports → caBundle → served
// certificate — and names the first broken link with the error users see (seed 001).
// One function per link; each reports result.Check rows and, when broken, findings.
package webhook

import (
	"context"
	"fmt"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiext "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	apiregv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"

	"github.com/certdoctor/kubectl-certdoctor/plugins"
)

// Target is one webhook the API server calls.
type Target struct {
	// Kind is "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration" or "APIService".
	Kind string
	// Config is the object's name; Webhook the webhook's name inside it.
	Config, Webhook string
	ClientConfig    admissionv1.WebhookClientConfig
	FailurePolicy   string
	TimeoutSeconds  int32
	// NamespaceSelector and ObjectSelector are nil for APIServices and CRDs.
	NamespaceSelector *metav1.LabelSelector
	ObjectSelector    *metav1.LabelSelector
	// Annotations of the configuration object (cert-manager.io/inject-ca-from...).
	Annotations map[string]string
	// Rules say which requests the API server sends to the webhook.
	Rules []admissionv1.RuleWithOperations
	// InsecureSkipTLSVerify is an APIService's: the aggregator does not verify its certificate.
	InsecureSkipTLSVerify bool
	// Available is an APIService's Available condition, the aggregator's own verdict
	// with its error text; nil for other targets or when the status has none.
	Available *Condition
}

// Condition is a status condition as the API server reported it.
type Condition struct {
	Status, Reason, Message string
}

// Name is how the target appears in output.
func (t Target) Name() string {
	if t.Webhook == t.Config || t.Webhook == "" {
		return t.Kind + "/" + t.Config
	}
	return t.Kind + "/" + t.Config + " " + t.Webhook
}

// Host is the name the API server dials and verifies: <service>.<namespace>.svc.
func (t Target) Host() string {
	if s := t.ClientConfig.Service; s != nil {
		return s.Name + "." + s.Namespace + ".svc"
	}
	return ""
}

// Discover lists the targets: every webhook of every configuration, every APIService
// backed by a Service and every CRD with a conversion webhook, keeping those accepted by
// keep (nil keeps all). agg and ext may be nil.
func Discover(ctx context.Context, client kubernetes.Interface, agg aggregator.Interface, ext apiext.Interface, keep func(kind, name string) bool) ([]Target, error) {
	if keep == nil {
		keep = func(string, string) bool { return true }
	}
	var out []Target
	adm := client.AdmissionregistrationV1()
	vwcs, err := adm.ValidatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list validatingwebhookconfigurations: %w", err)
	}
	for _, c := range vwcs.Items {
		if !keep("ValidatingWebhookConfiguration", c.Name) {
			continue
		}
		for _, w := range c.Webhooks {
			out = append(out, admissionTarget("ValidatingWebhookConfiguration", &c.ObjectMeta, w.Name, w.ClientConfig, w.FailurePolicy, w.TimeoutSeconds, w.NamespaceSelector, w.ObjectSelector, w.Rules))
		}
	}
	mwcs, err := adm.MutatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list mutatingwebhookconfigurations: %w", err)
	}
	for _, c := range mwcs.Items {
		if !keep("MutatingWebhookConfiguration", c.Name) {
			continue
		}
		for _, w := range c.Webhooks {
			out = append(out, admissionTarget("MutatingWebhookConfiguration", &c.ObjectMeta, w.Name, w.ClientConfig, w.FailurePolicy, w.TimeoutSeconds, w.NamespaceSelector, w.ObjectSelector, w.Rules))
		}
	}
	if agg != nil {
		svcs, err := agg.ApiregistrationV1().APIServices().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list apiservices: %w", err)
		}
		for _, s := range svcs.Items {
			if s.Spec.Service != nil && keep("APIService", s.Name) {
				out = append(out, apiServiceTarget(&s))
			}
		}
	}
	if ext != nil {
		crds, err := ext.ApiextensionsV1().CustomResourceDefinitions().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list customresourcedefinitions: %w", err)
		}
		for _, c := range crds.Items {
			conv := c.Spec.Conversion
			if conv == nil || conv.Strategy != apiextv1.WebhookConverter || conv.Webhook == nil || conv.Webhook.ClientConfig == nil || !keep("CustomResourceDefinition", c.Name) {
				continue
			}
			out = append(out, crdTarget(&c))
		}
	}
	return out, nil
}

// crdTarget is a CRD's conversion webhook, which the API server calls on every read
// and write of a version other than the stored one.
func crdTarget(c *apiextv1.CustomResourceDefinition) Target {
	cc := c.Spec.Conversion.Webhook.ClientConfig
	t := Target{Kind: "CustomResourceDefinition", Config: c.Name, Webhook: c.Name, TimeoutSeconds: 30, FailurePolicy: "Fail",
		Annotations: c.Annotations, ClientConfig: admissionv1.WebhookClientConfig{CABundle: cc.CABundle, URL: cc.URL}}
	if s := cc.Service; s != nil {
		port := int32(443)
		if s.Port != nil {
			port = *s.Port
		}
		t.ClientConfig.Service = &admissionv1.ServiceReference{Namespace: s.Namespace, Name: s.Name, Path: s.Path, Port: &port}
	}
	return t
}

// admissionTarget is one webhook of a validating or mutating configuration: the two
// webhook types share every field the walk needs.
func admissionTarget(kind string, cfg *metav1.ObjectMeta, name string, cc admissionv1.WebhookClientConfig, fp *admissionv1.FailurePolicyType,
	ts *int32, sel, objSel *metav1.LabelSelector, rules []admissionv1.RuleWithOperations) Target {
	return Target{Kind: kind, Config: cfg.Name, Webhook: name, ClientConfig: cc, FailurePolicy: policy(fp), TimeoutSeconds: timeout(ts),
		NamespaceSelector: sel, ObjectSelector: objSel, Annotations: cfg.Annotations, Rules: rules}
}

func apiServiceTarget(s *apiregv1.APIService) Target {
	port := int32(443)
	if s.Spec.Service.Port != nil {
		port = *s.Spec.Service.Port
	}
	t := Target{Kind: "APIService", Config: s.Name, Webhook: s.Name, TimeoutSeconds: 30, FailurePolicy: "Fail",
		Annotations: s.Annotations, InsecureSkipTLSVerify: s.Spec.InsecureSkipTLSVerify,
		ClientConfig: admissionv1.WebhookClientConfig{CABundle: s.Spec.CABundle,
			Service: &admissionv1.ServiceReference{Namespace: s.Spec.Service.Namespace, Name: s.Spec.Service.Name, Port: &port}}}
	for _, c := range s.Status.Conditions {
		if c.Type == apiregv1.Available {
			t.Available = &Condition{Status: string(c.Status), Reason: c.Reason, Message: c.Message}
		}
	}
	return t
}

// ProfileFilter keeps the targets one of the profile's components serves.
func ProfileFilter(p *plugins.Profile) func(kind, name string) bool {
	return func(kind, name string) bool { return p.ComponentFor(kind, name) != nil }
}

func policy(p *admissionv1.FailurePolicyType) string {
	if p == nil {
		return string(admissionv1.Fail)
	}
	return string(*p)
}

func timeout(t *int32) int32 {
	if t == nil {
		return 10 // the API's default
	}
	return *t
}
