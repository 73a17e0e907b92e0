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
	want := "cert-manager gatekeeper ingress-nginx istio knative-serving kyverno linkerd metrics-server"
	if got := strings.Join(Names(), " "); got != want {
		t.Fatalf("profiles %q, want %q", got, want)
	}
	cm := all["cert-manager"]
	if cm.CASecret != "cert-manager-webhook-ca" || cm.HealthPortFlag != "--healthz-port" || cm.DefaultSecurePort != 10250 ||
		cm.CAInjector == nil || cm.DryRun["kind"] != "Issuer" {
		t.Fatalf("cert-manager profile: %+v", cm)
	}
	if all["metrics-server"].APIServices[0] != "v1beta1.metrics.k8s.io" {
		t.Fatal("metrics-server is an APIService profile")
	}
}

func TestParseStrict(t *testing.T) {
	for data, want := range map[string]string{
		"name: x\nservice: s\nwebhookConfigurations: [a]\nsecurePort: 1\n": `unknown field "securePort"`,
		"service: s\nwebhookConfigurations: [a]\n":                         "name is required",
		"name: x\nservice: s\n":                                            "lists no webhookConfigurations",
		"name: x\nwebhookConfigurations: [a]\n":                            "service is required",
		"name: [\n":                                                        "profile my.yaml",
	} {
		if _, err := Parse([]byte(data), "my.yaml"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", data, err, want)
		}
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
