//go:build e2e

// Webhook configurations, APIServices, CRD conversion webhooks and the waits for a
// shape to serve (products_shapes_test.go).
package e2e

import (
	"context"
	"fmt"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	apiregv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/utils/ptr"
)

// ---------------------------------------------------------------------------------------
// Webhook configurations

// hook is one webhook of a configuration. Zero values leave a field unset (the API's
// defaults: port 443, timeoutSeconds 10, matchPolicy Equivalent, ...).
type hook struct {
	name, path, svc string // svc "": the configuration's service
	port            int32
	rules           []admissionv1.RuleWithOperations
	policy          admissionv1.FailurePolicyType
	sideEffects     admissionv1.SideEffectClass // "": None
	timeout         int32
	versions        []string // admissionReviewVersions; nil: [v1]
	match           admissionv1.MatchPolicyType
	nsSel, objSel   *metav1.LabelSelector
	reinvoke        admissionv1.ReinvocationPolicyType // mutating only
}

// hookConfig is a ValidatingWebhookConfiguration or MutatingWebhookConfiguration whose
// webhooks call Service svc in the kit's namespace, trusting caBundle.
type hookConfig struct {
	name     string
	mutating bool
	lbl, ann map[string]string
	owners   []metav1.OwnerReference
	svc      string
	caBundle []byte
	hooks    []hook
}

func (c hookConfig) kind() string {
	if c.mutating {
		return "MutatingWebhookConfiguration"
	}
	return "ValidatingWebhookConfiguration"
}

func (k *kit) clientConfig(c hookConfig, h hook) admissionv1.WebhookClientConfig {
	svc := h.svc
	if svc == "" {
		svc = c.svc
	}
	ref := &admissionv1.ServiceReference{Namespace: k.ns, Name: svc}
	if h.path != "" {
		ref.Path = ptr.To(h.path)
	}
	if h.port != 0 {
		ref.Port = ptr.To(h.port)
	}
	return admissionv1.WebhookClientConfig{Service: ref, CABundle: c.caBundle}
}

func optional[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// webhooks creates the configuration and deletes it when the test ends.
func (k *kit) webhooks(c hookConfig) {
	k.t.Helper()
	meta := k.meta(c.name, c.lbl, c.ann)
	meta.Namespace, meta.OwnerReferences = "", c.owners
	adm := client.AdmissionregistrationV1()
	var err error
	if c.mutating {
		cfg := &admissionv1.MutatingWebhookConfiguration{ObjectMeta: meta, Webhooks: []admissionv1.MutatingWebhook{}}
		for _, h := range c.hooks {
			cfg.Webhooks = append(cfg.Webhooks, admissionv1.MutatingWebhook{Name: h.name, ClientConfig: k.clientConfig(c, h), Rules: h.rules,
				FailurePolicy: optional(h.policy), SideEffects: sideEffects(h), TimeoutSeconds: optional(h.timeout), AdmissionReviewVersions: reviewVersions(h),
				MatchPolicy: optional(h.match), NamespaceSelector: h.nsSel, ObjectSelector: h.objSel, ReinvocationPolicy: optional(h.reinvoke)})
		}
		_, err = adm.MutatingWebhookConfigurations().Create(k.ctx, cfg, metav1.CreateOptions{})
		k.cleanup("mwc "+c.name, func(ctx context.Context) error {
			return adm.MutatingWebhookConfigurations().Delete(ctx, c.name, metav1.DeleteOptions{})
		})
	} else {
		cfg := &admissionv1.ValidatingWebhookConfiguration{ObjectMeta: meta, Webhooks: []admissionv1.ValidatingWebhook{}}
		for _, h := range c.hooks {
			cfg.Webhooks = append(cfg.Webhooks, admissionv1.ValidatingWebhook{Name: h.name, ClientConfig: k.clientConfig(c, h), Rules: h.rules,
				FailurePolicy: optional(h.policy), SideEffects: sideEffects(h), TimeoutSeconds: optional(h.timeout), AdmissionReviewVersions: reviewVersions(h),
				MatchPolicy: optional(h.match), NamespaceSelector: h.nsSel, ObjectSelector: h.objSel})
		}
		_, err = adm.ValidatingWebhookConfigurations().Create(k.ctx, cfg, metav1.CreateOptions{})
		k.cleanup("vwc "+c.name, func(ctx context.Context) error {
			return adm.ValidatingWebhookConfigurations().Delete(ctx, c.name, metav1.DeleteOptions{})
		})
	}
	if err != nil {
		k.t.Fatalf("create %s %s: %v", c.kind(), c.name, err)
	}
}

func sideEffects(h hook) *admissionv1.SideEffectClass {
	if h.sideEffects == "" {
		return ptr.To(admissionv1.SideEffectClassNone)
	}
	return ptr.To(h.sideEffects)
}

func reviewVersions(h hook) []string {
	if h.versions == nil {
		return []string{"v1"}
	}
	return h.versions
}

// editWebhooks changes the client configs of a configuration's webhooks (kind as in
// hookConfig.kind), as a controller or a user would.
func (k *kit) editWebhooks(kind, name string, edit func(i int, cc *admissionv1.WebhookClientConfig)) {
	k.t.Helper()
	adm := client.AdmissionregistrationV1()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if kind == "MutatingWebhookConfiguration" {
			c, err := adm.MutatingWebhookConfigurations().Get(k.ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			for i := range c.Webhooks {
				edit(i, &c.Webhooks[i].ClientConfig)
			}
			_, err = adm.MutatingWebhookConfigurations().Update(k.ctx, c, metav1.UpdateOptions{})
			return err
		}
		c, err := adm.ValidatingWebhookConfigurations().Get(k.ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for i := range c.Webhooks {
			edit(i, &c.Webhooks[i].ClientConfig)
		}
		_, err = adm.ValidatingWebhookConfigurations().Update(k.ctx, c, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		k.t.Fatalf("update %s %s: %v", kind, name, err)
	}
}

// setCABundle is what a CA injector does: every webhook of the configuration trusts b.
func (k *kit) setCABundle(c hookConfig, b []byte) {
	k.editWebhooks(c.kind(), c.name, func(_ int, cc *admissionv1.WebhookClientConfig) { cc.CABundle = b })
}

// rule is one admission rule; ops, groups, versions and resources are comma-separated
// ("" is the core group), scope "" leaves it unset ("*").
func rule(ops, groups, versions, resources, scope string) admissionv1.RuleWithOperations {
	var o []admissionv1.OperationType
	for _, op := range strings.Split(ops, ",") {
		o = append(o, admissionv1.OperationType(op))
	}
	r := admissionv1.RuleWithOperations{Operations: o, Rule: admissionv1.Rule{APIGroups: strings.Split(groups, ","),
		APIVersions: strings.Split(versions, ","), Resources: strings.Split(resources, ",")}}
	if scope != "" {
		r.Scope = ptr.To(admissionv1.ScopeType(scope))
	}
	return r
}

// gvkRules is knative/pkg's runtime form: one rule per registered type, for the resource
// and its status subresource.
func gvkRules(ops, group, version string, plurals ...string) []admissionv1.RuleWithOperations {
	var out []admissionv1.RuleWithOperations
	for _, p := range plurals {
		out = append(out, rule(ops, group, version, p+","+p+"/status", ""))
	}
	return out
}

// selector builds a label selector from requirements "key op v1,v2" (op In, NotIn,
// Exists, DoesNotExist).
func selector(reqs ...string) *metav1.LabelSelector {
	s := &metav1.LabelSelector{}
	for _, r := range reqs {
		f := strings.Fields(r)
		req := metav1.LabelSelectorRequirement{Key: f[0], Operator: metav1.LabelSelectorOperator(f[1])}
		if len(f) > 2 {
			req.Values = strings.Split(f[2], ",")
		}
		s.MatchExpressions = append(s.MatchExpressions, req)
	}
	return s
}

// ---------------------------------------------------------------------------------------
// APIServices and CRD conversion webhooks

func (k *kit) apiService(spec apiregv1.APIServiceSpec, lbl, ann map[string]string) string {
	k.t.Helper()
	name := spec.Version + "." + spec.Group
	meta := k.meta(name, lbl, ann)
	meta.Namespace = ""
	api := aggClient.ApiregistrationV1().APIServices()
	if _, err := api.Create(k.ctx, &apiregv1.APIService{ObjectMeta: meta, Spec: spec}, metav1.CreateOptions{}); err != nil {
		k.t.Fatalf("create apiservice %s: %v", name, err)
	}
	k.cleanup("apiservice "+name, func(ctx context.Context) error { return api.Delete(ctx, name, metav1.DeleteOptions{}) })
	return name
}

// waitAPIService waits for the aggregator's Available condition to be want.
func (k *kit) waitAPIService(name string, want apiregv1.ConditionStatus) {
	k.t.Helper()
	deadline := time.Now().Add(shapeTimeout)
	for {
		s, err := aggClient.ApiregistrationV1().APIServices().Get(k.ctx, name, metav1.GetOptions{})
		last := fmt.Sprint(err)
		if err == nil {
			for _, c := range s.Status.Conditions {
				if c.Type == apiregv1.Available {
					if c.Status == want {
						return
					}
					last = fmt.Sprintf("Available=%s %s: %s", c.Status, c.Reason, c.Message)
				}
			}
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("harness: apiservice %s not Available=%s after %s: %s", name, want, shapeTimeout, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// conversionCRD creates a namespaced CRD whose versions (the last one stored) are
// converted by Service svc at path, trusting caBundle, and waits until it is Established.
func (k *kit) conversionCRD(names apiextv1.CustomResourceDefinitionNames, group string, versions []string, svc, path string, caBundle []byte, lbl map[string]string) string {
	plural := names.Plural
	k.t.Helper()
	name := plural + "." + group
	schema := &apiextv1.CustomResourceValidation{OpenAPIV3Schema: &apiextv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptr.To(true)}}
	var vs []apiextv1.CustomResourceDefinitionVersion
	for i, v := range versions {
		vs = append(vs, apiextv1.CustomResourceDefinitionVersion{Name: v, Served: true, Storage: i == len(versions)-1, Schema: schema,
			Subresources: &apiextv1.CustomResourceSubresources{Status: &apiextv1.CustomResourceSubresourceStatus{}}})
	}
	meta := k.meta(name, lbl, nil)
	meta.Namespace = ""
	crd := &apiextv1.CustomResourceDefinition{ObjectMeta: meta, Spec: apiextv1.CustomResourceDefinitionSpec{
		Group: group, Scope: apiextv1.NamespaceScoped, Versions: vs,
		Names: names,
		Conversion: &apiextv1.CustomResourceConversion{Strategy: apiextv1.WebhookConverter, Webhook: &apiextv1.WebhookConversion{
			ConversionReviewVersions: versions,
			ClientConfig: &apiextv1.WebhookClientConfig{CABundle: caBundle,
				Service: &apiextv1.ServiceReference{Namespace: k.ns, Name: svc, Path: ptr.To(path)}}}}}}
	api := extClient.ApiextensionsV1().CustomResourceDefinitions()
	if _, err := api.Create(k.ctx, crd, metav1.CreateOptions{}); err != nil {
		k.t.Fatalf("create crd %s: %v", name, err)
	}
	k.cleanup("crd "+name, func(ctx context.Context) error { return api.Delete(ctx, name, metav1.DeleteOptions{}) })
	deadline := time.Now().Add(shapeTimeout)
	for {
		c, err := api.Get(k.ctx, name, metav1.GetOptions{})
		if err == nil {
			for _, cond := range c.Status.Conditions {
				if cond.Type == apiextv1.Established && cond.Status == apiextv1.ConditionTrue {
					return name
				}
			}
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("harness: crd %s not Established after %s: %v", name, shapeTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
