package sources

import (
	"context"
	"fmt"
	"sort"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiext "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	apiregv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// RootCAConfigMaps reports the cluster CA that kube-controller-manager publishes as
// kube-root-ca.crt in every namespace. Identical copies are one row that counts them;
// a namespace holding a different CA (a rotation that did not finish) stands apart.
type RootCAConfigMaps struct {
	Client    kubernetes.Interface
	Namespace string
	cache     parseCache
}

func (r *RootCAConfigMaps) Name() string { return result.SourceConfigMap }

// Collect implements Source.
func (r *RootCAConfigMaps) Collect(ctx context.Context, c *Collector) error {
	byData := map[string][]string{} // ca.crt content -> namespaces
	opts := metav1.ListOptions{FieldSelector: "metadata.name=kube-root-ca.crt"}
	err := eachPage(ctx, opts, func(ctx context.Context, o metav1.ListOptions) ([]corev1.ConfigMap, string, error) {
		l, err := r.Client.CoreV1().ConfigMaps(r.Namespace).List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}, func(items []corev1.ConfigMap) {
		for _, cm := range items {
			byData[cm.Data["ca.crt"]] = append(byData[cm.Data["ca.crt"]], cm.Namespace)
		}
	})
	if denied(c, err, result.SourceConfigMap, "configmaps", "", r.Namespace) {
		return nil
	}
	if err != nil {
		return err
	}
	for data, nss := range byData {
		sort.Strings(nss)
		loc := "configmap kube-root-ca.crt in namespace " + nss[0]
		if len(nss) > 1 {
			loc = fmt.Sprintf("configmap kube-root-ca.crt in %d namespaces (%s)", len(nss), abbreviate(nss, 3))
		}
		infos, err := r.cache.parse([]byte(data))
		if err != nil {
			c.Finding(diagnose.InvalidCertificate(result.SourceConfigMap, loc, err))
			continue
		}
		c.AddBundle(infos, result.Record{Source: result.SourceConfigMap, Name: "kube-root-ca.crt", Location: loc},
			diagnose.CertContext{IsCA: true, Name: "kube-root-ca.crt"})
	}
	return nil
}

func abbreviate(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + ", ..."
}

// CABundles reports the caBundle the API server uses to trust each admission webhook,
// aggregated API (APIService) and CRD conversion webhook.
type CABundles struct {
	Client     kubernetes.Interface
	Aggregator aggregator.Interface
	APIExt     apiext.Interface
	cache      parseCache
}

func (b *CABundles) Name() string { return result.SourceWebhook }

// Collect implements Source.
func (b *CABundles) Collect(ctx context.Context, c *Collector) error {
	adm := b.Client.AdmissionregistrationV1()
	if l, err := adm.ValidatingWebhookConfigurations().List(ctx, metav1.ListOptions{}); b.ok(c, err, result.SourceWebhook, "validatingwebhookconfigurations", "admissionregistration.k8s.io") {
		for _, cfg := range l.Items {
			for i, w := range cfg.Webhooks {
				b.bundle(c, result.SourceWebhook, "validatingwebhookconfiguration", cfg.Name, fmt.Sprintf("webhooks[%d] %s", i, w.Name), w.Name, w.ClientConfig)
			}
		}
	}
	if l, err := adm.MutatingWebhookConfigurations().List(ctx, metav1.ListOptions{}); b.ok(c, err, result.SourceWebhook, "mutatingwebhookconfigurations", "admissionregistration.k8s.io") {
		for _, cfg := range l.Items {
			for i, w := range cfg.Webhooks {
				b.bundle(c, result.SourceWebhook, "mutatingwebhookconfiguration", cfg.Name, fmt.Sprintf("webhooks[%d] %s", i, w.Name), w.Name, w.ClientConfig)
			}
		}
	}
	if b.Aggregator != nil {
		l, err := b.Aggregator.ApiregistrationV1().APIServices().List(ctx, metav1.ListOptions{})
		if b.ok(c, err, result.SourceAPIService, "apiservices", "apiregistration.k8s.io") {
			for _, s := range l.Items {
				b.apiService(c, &s)
			}
		}
	}
	if b.APIExt != nil {
		l, err := b.APIExt.ApiextensionsV1().CustomResourceDefinitions().List(ctx, metav1.ListOptions{})
		if b.ok(c, err, result.SourceCRD, "customresourcedefinitions", "apiextensions.k8s.io") {
			for _, crd := range l.Items {
				b.crd(c, &crd)
			}
		}
	}
	return nil
}

// ok turns a failed list into a finding and says whether the list can be used.
func (b *CABundles) ok(c *Collector, err error, source, resource, group string) bool {
	switch {
	case err == nil:
		return true
	case apierrors.IsForbidden(err):
		c.Finding(diagnose.PermissionDenied(source, "list", resource, group, "", err))
	default:
		c.Finding(diagnose.FromAPIError(source, resource, err))
	}
	return false
}

func (b *CABundles) bundle(c *Collector, source, kind, name, part, webhook string, cc admissionv1.WebhookClientConfig) {
	if len(cc.CABundle) == 0 {
		return // no caBundle: the API server uses its system roots; the webhook walk checks that
	}
	subject := kind + " " + name
	loc := subject + " " + part + " caBundle"
	infos, err := b.cache.parse(cc.CABundle)
	if err != nil {
		c.Finding(diagnose.InvalidCertificate(source, loc, err))
		return
	}
	c.AddChain(infos, result.Record{Source: source, Name: name, Location: loc},
		diagnose.CertContext{Subject: subject, Name: name, Webhook: webhook, IsCA: true})
}

func (b *CABundles) apiService(c *Collector, s *apiregv1.APIService) {
	if s.Spec.Service == nil || len(s.Spec.CABundle) == 0 {
		return // served locally, or trusted without a bundle (insecureSkipTLSVerify)
	}
	b.bundle(c, result.SourceAPIService, "apiservice", s.Name, "spec", s.Name, admissionv1.WebhookClientConfig{CABundle: s.Spec.CABundle})
}

func (b *CABundles) crd(c *Collector, crd *apiextv1.CustomResourceDefinition) {
	conv := crd.Spec.Conversion
	if conv == nil || conv.Strategy != apiextv1.WebhookConverter || conv.Webhook == nil || conv.Webhook.ClientConfig == nil {
		return
	}
	b.bundle(c, result.SourceCRD, "crd", crd.Name, "spec.conversion.webhook.clientConfig", crd.Name,
		admissionv1.WebhookClientConfig{CABundle: conv.Webhook.ClientConfig.CABundle})
}
