//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// product is one profile's default install and the fault users hit with it.
type product struct {
	profile string
	// install creates the healthy shape (products_shapes_*_test.go) and returns the
	// function that breaks it.
	install func(t *testing.T) (applyFault func())
	fault   string
	want    rootCause
}

// rootCause is the CRITICAL finding a correct diagnosis names for the fault: one of codes,
// whose subject, message or error contains match.
type rootCause struct {
	codes []string
	match string
}

var products = []product{
	{"cert-manager", installCertManager, "cert-manager-webhook-ca was regenerated (new CA) but cainjector did not re-inject the caBundles",
		rootCause{[]string{"WebhookCABundleMismatch"}, "cert-manager-webhook-ca"}},
	{"ingress-nginx", installIngressNginx, "the admission-patch Job never ran: the VWC has no caBundle",
		rootCause{[]string{"WebhookCABundle"}, "ingress-nginx-admission"}},
	{"kyverno", installKyverno, "the admission controller's readinessProbe fails: the pod never gets Ready",
		rootCause{[]string{"WebhookNoEndpoints", "WebhookPodNotReady"}, "kyverno-svc"}},
	{"gatekeeper", installGatekeeper, "--port=8444 while containerPort/targetPort webhook-server is 8443",
		rootCause{[]string{"WebhookPortMismatch"}, "8444"}},
	{"linkerd", installLinkerd, "linkerd-sp-validator-k8s-tls regenerated, the caBundle still holds the old self-signed certificate",
		rootCause{[]string{"WebhookServedCertificate", "WebhookCABundleMismatch"}, "linkerd-sp-validator"}},
	{"istio", installIstio, "a default-deny ingress NetworkPolicy in istio-system",
		rootCause{[]string{"WebhookNetworkPolicy"}, "default-deny"}},
	{"metrics-server", installMetricsServer, "the metrics-server pod is never Ready: the APIService is Available=False",
		rootCause{[]string{"WebhookNoEndpoints", "WebhookPodNotReady"}, "metrics-server"}},
	{"knative-serving", installKnativeServing, "webhook-certs rotated to a new CA, the caBundles not patched",
		rootCause{[]string{"WebhookCABundleMismatch", "WebhookServedCertificate"}, "serving.knative.dev"}},
	{"external-secrets", installExternalSecrets, "externalsecret-validate calls Service external-secret-webhook (typo)",
		rootCause{[]string{"WebhookServiceNotFound"}, "external-secret-webhook"}},
	{"aws-load-balancer-controller", installAWSLoadBalancerController, "--webhook-bind-port=9444 while containerPort webhook-server is 9443",
		rootCause{[]string{"WebhookPortMismatch"}, "9444"}},
	{"keda", installKeda, "the metrics apiserver serves a certificate of another CA: the APIService is Available=False",
		rootCause{[]string{"WebhookServedCertificate"}, "external.metrics.k8s.io"}},
	{"tekton-pipelines", installTektonPipelines, "webhook-certs rotated, the CRDs' conversion caBundle still holds the old CA",
		rootCause{[]string{"WebhookServedCertificate", "WebhookCABundleMismatch"}, "CustomResourceDefinition"}},
	{"vault-agent-injector", installVaultAgentInjector, "the injector's serving certificate has expired",
		rootCause{[]string{"WebhookServedCertificate"}, "expired"}},
	{"trust-manager", installTrustManager, "trust-manager-tls re-issued with a new key while cainjector was down: the caBundle pins the old certificate",
		rootCause{[]string{"WebhookCABundleMismatch", "WebhookServedCertificate"}, "trust-manager"}},
}

// TestProducts installs each product's default shape, expects `webhook <profile>` to find
// nothing and `webhook --all` nothing critical, then applies the product's typical fault and
// expects its root cause as the one critical finding. Products run one after the other:
// their configurations and APIServices are cluster-wide.
func TestProducts(t *testing.T) {
	removeProductLeftovers(t)
	for _, p := range products {
		t.Run(p.profile, func(t *testing.T) {
			start := time.Now()
			applyFault := p.install(t)
			t.Logf("healthy %s installed in %s", p.profile, time.Since(start).Round(time.Millisecond))

			r, code := runJSON(t, "webhook", p.profile)
			wantExit(t, r, code, 0)
			requireNoFindings(t, r)
			if len(r.Findings) == 0 {
				requireChecked(t, r)
			}
			all, _ := runJSON(t, "webhook", "--all")
			if crit := criticals(all); len(crit) > 0 {
				t.Errorf("webhook --all with a healthy %s: %d critical findings\n%s", p.profile, len(crit), dump(all))
			}

			applyFault()
			t.Logf("fault: %s", p.fault)
			r, code = runJSON(t, "webhook", p.profile)
			wantExit(t, r, code, 3)
			requireRootCause(t, r, p.want, p.fault)
			screen(t, "webhook-"+p.profile, []string{"CRITICAL", p.want.match}, "webhook", p.profile)
			t.Logf("%s done in %s", p.profile, time.Since(start).Round(time.Millisecond))
		})
	}
}

// requireChecked fails when a clean report walked nothing (a profile that matched none of
// the product's objects would be clean too).
func requireChecked(t *testing.T, r Report) {
	t.Helper()
	if !strings.Contains(r.raw, `"name": "caBundle"`) && !strings.Contains(r.raw, `"name": "endpoints"`) {
		t.Errorf("the report checked no caBundle or endpoints: did the profile match the product's objects?\n%s", r.raw)
	}
}

func criticals(r Report) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Severity == "CRITICAL" {
			out = append(out, f)
		}
	}
	return out
}

// requireRootCause fails unless the report's only CRITICAL finding is the root cause.
func requireRootCause(t *testing.T, r Report, want rootCause, fault string) {
	t.Helper()
	var found *Finding
	for i, f := range r.Findings {
		text := f.Subject + "\n" + f.Message + "\n" + f.Error
		for _, c := range want.codes {
			if found == nil && f.Code == c && f.Severity == "CRITICAL" && strings.Contains(strings.ToLower(text), strings.ToLower(want.match)) {
				found = &r.Findings[i]
			}
		}
	}
	if found != nil {
		t.Logf("root cause: %s", found)
	} else {
		t.Errorf("fault %q: no CRITICAL finding %s mentioning %q\n%s", fault, strings.Join(want.codes, " or "), want.match, dump(r))
	}
	crit := criticals(r)
	if len(crit) == 1 {
		return
	}
	codes := map[string]int{}
	for _, f := range crit {
		codes[f.Code]++
	}
	var summary []string
	for c, n := range codes {
		summary = append(summary, fmt.Sprintf("%s x%d", c, n))
	}
	sort.Strings(summary)
	t.Errorf("fault %q: want exactly one CRITICAL finding (the root cause), got %d: %s\n%s", fault, len(crit), strings.Join(summary, ", "), dump(r))
}

// removeProductLeftovers deletes what a killed earlier run of TestProducts left outside the
// namespaces TestMain removes: cluster-scoped objects and objects in kube-system.
func removeProductLeftovers(t *testing.T) {
	t.Helper()
	extraClients(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ours := func(m metav1.ObjectMeta) bool { return strings.HasPrefix(m.Labels[testLabel], "testproducts") }
	opts := metav1.ListOptions{LabelSelector: testLabel}
	if l, err := aggClient.ApiregistrationV1().APIServices().List(ctx, opts); err == nil {
		for _, o := range l.Items {
			if ours(o.ObjectMeta) {
				_ = aggClient.ApiregistrationV1().APIServices().Delete(ctx, o.Name, metav1.DeleteOptions{})
			}
		}
	}
	if l, err := extClient.ApiextensionsV1().CustomResourceDefinitions().List(ctx, opts); err == nil {
		for _, o := range l.Items {
			if ours(o.ObjectMeta) {
				_ = extClient.ApiextensionsV1().CustomResourceDefinitions().Delete(ctx, o.Name, metav1.DeleteOptions{})
			}
		}
	}
	adm := client.AdmissionregistrationV1()
	if l, err := adm.ValidatingWebhookConfigurations().List(ctx, opts); err == nil {
		for _, o := range l.Items {
			if ours(o.ObjectMeta) {
				_ = adm.ValidatingWebhookConfigurations().Delete(ctx, o.Name, metav1.DeleteOptions{})
			}
		}
	}
	if l, err := adm.MutatingWebhookConfigurations().List(ctx, opts); err == nil {
		for _, o := range l.Items {
			if ours(o.ObjectMeta) {
				_ = adm.MutatingWebhookConfigurations().Delete(ctx, o.Name, metav1.DeleteOptions{})
			}
		}
	}
	for _, p := range products {
		deleteLabelled(ctx, t, "kube-system", testLabel+"="+trunc("testproducts-"+nameSanitizer.ReplaceAllString(p.profile, "-"), 40))
	}
}
