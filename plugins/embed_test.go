package plugins

import (
	"strings"
	"testing"
)

func TestEmbeddedProfiles(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	want := "aws-load-balancer-controller cert-manager external-secrets gatekeeper ingress-nginx istio keda knative-serving kyverno linkerd metrics-server tekton-pipelines trust-manager vault-agent-injector"
	if got := strings.Join(Names(), " "); got != want {
		t.Fatalf("profiles %q, want %q", got, want)
	}
	for name, p := range all {
		if p.Checked == "" || p.Description == "" {
			t.Errorf("%s: say which upstream release the facts were checked against, and what it is", name)
		}
		for _, c := range p.Components {
			if c.Container == "" || c.SecurePort == nil {
				t.Errorf("%s/%s: name the container that serves the webhook and how it learns its port", name, c.Name)
			}
		}
	}
	cm := all["cert-manager"].ComponentFor("ValidatingWebhookConfiguration", "cert-manager-webhook")
	if cm == nil || cm.CASecrets[0].Name != "cert-manager-webhook-ca" || cm.HealthPort.Flags[0] != "--healthz-port" ||
		cm.SecurePort.Default != 6443 || cm.SecurePort.ConfigFlag != "--config" || all["cert-manager"].CAInjector == nil ||
		all["cert-manager"].DryRun["kind"] != "Issuer" {
		t.Fatalf("cert-manager profile: %+v", cm)
	}
	if c := all["metrics-server"].ComponentFor("APIService", "v1beta1.metrics.k8s.io"); c == nil {
		t.Fatal("metrics-server is an APIService profile")
	}
}

// TestComponentFor: a product's webhooks are told apart by configuration, so each is
// compared with the CA and flags of the component that serves it (kyverno's cleanup
// controller has its own CA; its names also match the admission controller's kyverno-*).
func TestComponentFor(t *testing.T) {
	all, _ := All()
	ky := all["kyverno"]
	for name, want := range map[string]string{
		"kyverno-cleanup-validating-webhook-cfg":  "cleanup-controller",
		"kyverno-ttl-validating-webhook-cfg":      "cleanup-controller",
		"kyverno-resource-validating-webhook-cfg": "admission-controller",
		"kyverno-policy-mutating-webhook-cfg":     "admission-controller",
	} {
		if c := ky.ComponentFor("ValidatingWebhookConfiguration", name); c == nil || c.Name != want {
			t.Errorf("%s: component %+v, want %s", name, c, want)
		}
	}
	tk := all["tekton-pipelines"]
	if c := tk.ComponentFor("CustomResourceDefinition", "tasks.tekton.dev"); c == nil || c.Name != "webhook" {
		t.Error("tekton's conversion CRDs belong to its webhook")
	}
	if tk.ComponentFor("CustomResourceDefinition", "tasks.example.com") != nil || ky.ComponentFor("APIService", "kyverno-x") != nil {
		t.Error("matched a target of another product")
	}
	li := all["linkerd"]
	if c := li.ComponentFor("ValidatingWebhookConfiguration", "linkerd-policy-validator-webhook-config"); c == nil || c.Container != "policy" {
		t.Errorf("the policy validator is served by the destination pod's policy container: %+v", c)
	}
}

func TestParseStrict(t *testing.T) {
	for data, want := range map[string]string{
		"name: x\nservice: s\nwebhookConfigurations: [a]\nsecurePort: 1\n":                          `unknown field "securePort"`,
		"service: s\nwebhookConfigurations: [a]\n":                                                  "name is required",
		"name: x\n":                                                                                 "lists no webhookConfigurations",
		"name: x\nwebhookConfigurations: [a]\n":                                                     "service is required",
		"name: [\n":                                                                                 "profile my.yaml",
		"name: x\ncomponents: [{name: c}]\n":                                                        "component 1 (c) lists no",
		"name: x\ncomponents: [{name: c, apiServices: [a]}]\nservice: s\nwebhookConfigurations: [a]": "not both",
		"name: x\ncomponents: [{name: c, apiServices: [a], caSecrets: [{keys: [ca]}]}]\n":           "has no name",
		"name: x\ncomponents: [{name: c, apiServices: [a], securePort: {flag: --p}}]\n":             `unknown field "flag"`,
	} {
		if _, err := Parse([]byte(data), "my.yaml"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", data, err, want)
		}
	}
}

// TestLegacyFormat: a one-component --profile-file written before components existed
// still loads, as one component.
func TestLegacyFormat(t *testing.T) {
	p, err := Parse([]byte("name: e2e\nnamespace: ns\nwebhookConfigurations: [cfg]\nservice: webhook\n"+
		"healthPortFlag: --healthz-port\ndefaultHealthPort: 8443\ncaSecret: ca\n"), "old.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c := p.ComponentFor("MutatingWebhookConfiguration", "cfg")
	if c == nil || c.HealthPort.Flags[0] != "--healthz-port" || c.HealthPort.Default != 8443 || c.CASecrets[0].Name != "ca" || c.SecurePort != nil {
		t.Fatalf("%+v", c)
	}
}

func TestMatches(t *testing.T) {
	pats := []string{"kyverno-*", "exact"}
	for name, want := range map[string]bool{"kyverno-resource-validating-webhook-cfg": true, "exact": true, "exactly": false, "other-kyverno-x": false} {
		if Matches(pats, name) != want {
			t.Errorf("Matches(%s) != %v", name, want)
		}
	}
}

// TestForError maps what an error text names to the product: the webhook's name, or
// the Service the API server called (with a release prefix).
func TestForError(t *testing.T) {
	all, _ := All()
	for _, tt := range []struct{ webhook, service, want string }{
		{"webhook.cert-manager.io", "", "cert-manager"},
		{"", "my-release-cert-manager-webhook", "cert-manager"},
		{"validate.kyverno.svc-fail", "", "kyverno"},
		{"validate.nginx.ingress.kubernetes.io", "", "ingress-nginx"},
		{"rev.validation.istio.io", "", "istio"},
		{"vault.hashicorp.com", "", "vault-agent-injector"},
		{"trust.cert-manager.io", "", "trust-manager"},
		{"", "trust-manager", "trust-manager"},
		{"something.example.com", "unknown", ""},
	} {
		got := ""
		if p := ForError(all, tt.webhook, tt.service); p != nil {
			got = p.Name
		}
		if got != tt.want {
			t.Errorf("%q %q: %q, want %q", tt.webhook, tt.service, got, tt.want)
		}
	}
}
