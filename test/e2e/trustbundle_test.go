//go:build e2e

package e2e

import (
	"bytes"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// openCRD is a CRD of one served version with an open schema (certdoctor reads a few
// fields of the objects, never validates them), labelled as the test's: the resource's
// GroupVersionResource and the CRD itself.
func openCRD(gvr schema.GroupVersionResource, kind string, scope apiextv1.ResourceScope, lbl map[string]string) *apiextv1.CustomResourceDefinition {
	open := true
	return &apiextv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: gvr.Resource + "." + gvr.Group, Labels: lbl},
		Spec: apiextv1.CustomResourceDefinitionSpec{Group: gvr.Group, Scope: scope,
			Names: apiextv1.CustomResourceDefinitionNames{Plural: gvr.Resource, Singular: strings.ToLower(kind), Kind: kind, ListKind: kind + "List"},
			Versions: []apiextv1.CustomResourceDefinitionVersion{{Name: gvr.Version, Served: true, Storage: true,
				Schema: &apiextv1.CustomResourceValidation{OpenAPIV3Schema: &apiextv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &open}}}}}}
}

// trustBundleCRD installs a CRD shaped as trust-manager's Bundle (v0.24.0:
// trust.cert-manager.io/v1alpha1, cluster-scoped): certdoctor reads spec.target only.
func trustBundleCRD(t *testing.T) schema.GroupVersionResource {
	t.Helper()
	extraClients(t)
	ctx := ctxT(t)
	gvr := schema.GroupVersionResource{Group: "trust.cert-manager.io", Version: "v1alpha1", Resource: "bundles"}
	crd := openCRD(gvr, "Bundle", apiextv1.ClusterScoped, labels(t))
	api := extClient.ApiextensionsV1().CustomResourceDefinitions()
	if _, err := api.Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Delete(ctxT(t), crd.Name, metav1.DeleteOptions{}) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := dynClient.Resource(gvr).List(ctx, metav1.ListOptions{})
		if err == nil {
			return gvr
		}
		if time.Now().After(deadline) {
			t.Fatalf("harness: the Bundle CRD is not served: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// A trust-manager Bundle writing ca.crt into a ConfigMap of two namespaces. Healthy (the
// current corp CA, and a TLS secret it issued next to it): zero findings. Then the target
// still holds the CA the corp issuer had before it was re-created under the same name,
// plus an expired one: the secret next to it is refused (Go's own error), the expired
// CA is a stale entry, and the fix goes to the Bundle. inspect configmap says the same.
func TestTrustManagerBundle(t *testing.T) {
	gvr := trustBundleCRD(t)
	ctx := ctxT(t)
	name := uniqueName("corp")
	bundle := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "trust.cert-manager.io/v1alpha1", "kind": "Bundle",
		"metadata": map[string]any{"name": name, "labels": map[string]any{testLabel: testName(t)}},
		"spec":     map[string]any{"sources": []any{map[string]any{"useDefaultCAs": false}}, "target": map[string]any{"configMap": map[string]any{"key": "ca.crt"}}}}}
	if _, err := dynClient.Resource(gvr).Create(ctx, bundle, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dynClient.Resource(gvr).Delete(ctxT(t), name, metav1.DeleteOptions{}) })

	now := time.Now()
	oldCorp := newCA(t, "e2e corp root", now.Add(-days(400)), now.Add(days(3000)), nil)
	corp := newCA(t, "e2e corp root", now.Add(-days(1)), now.Add(days(3650)), nil)
	gone := newCA(t, "e2e retired root", now.Add(-days(800)), now.Add(-days(3)), nil)
	app, web := newNamespace(t), newNamespace(t)
	target := func(ns string, data []byte) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Labels: map[string]string{"trust.cert-manager.io/bundle": name, testLabel: testName(t)}}, Data: map[string]string{"ca.crt": string(data)}}
	}
	for _, ns := range []string{app, web} {
		if _, err := client.CoreV1().ConfigMaps(ns).Create(ctx, target(ns, corp.CertPEM), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	crt, key, _ := issue(t, corp, CertSpec{CN: "api." + app + ".svc", DNS: []string{"api." + app + ".svc"}, Server: true})
	createSecret(t, app, "api-tls", corev1.SecretTypeTLS, map[string][]byte{"tls.crt": crt, "tls.key": key})

	r, code := runJSON(t, "expiry", "--skip-nodes")
	wantExit(t, r, code, 0)
	requireNoFindings(t, r)
	requireContains(t, "certificates", r.raw, "configmap "+name+" ca.crt in 2 namespaces")

	for _, ns := range []string{app, web} {
		if _, err := client.CoreV1().ConfigMaps(ns).Update(ctx, target(ns, bytes.Join([][]byte{oldCorp.CertPEM, gone.CertPEM}, nil)), metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	r, code = runJSON(t, "expiry", "--skip-nodes")
	wantExit(t, r, code, 3)
	f := requireFinding(t, r, "UnknownAuthority", "CRITICAL", "configmap", func(f Finding) bool { return mentions(f, "secret "+app+"/api-tls") },
		"about the bundle lacking the CA of secret "+app+"/api-tls")
	requireContains(t, "error", f.Error, `x509: certificate signed by unknown authority (possibly because of "x509: ECDSA verification failure" while trying to verify candidate authority certificate "e2e corp root")`)
	requireContains(t, "fix", f.Fix, "kubectl get bundles.trust.cert-manager.io/"+name+" -o yaml")
	stale := requireFinding(t, r, "TrustBundleStaleCA", "WARNING", "configmap", func(f Finding) bool { return mentions(f, name) }, "about the retired CA")
	requireContains(t, "message", stale.Message, "e2e retired root")
	if n := len(findFindings(r, "UnknownAuthority", nil)) + len(findFindings(r, "TrustBundleStaleCA", nil)); n != len(r.Findings) || n != 2 {
		t.Errorf("want only those 2 findings, got:\n%s", dump(r))
	}

	r, in, code := inspect(t, "configmap", name, "-n", web)
	wantExit(t, r, code, 2)
	if len(in.Inspection.Certificates) != 2 {
		t.Errorf("inspection %+v", in.Inspection)
	}
	requireContains(t, "fix", requireFinding(t, r, "TrustBundleStaleCA", "WARNING", "configmap", nil, "").Fix, "bundles.trust.cert-manager.io/"+name)
}

// --opaque reads the .crt and .pem files of Opaque secrets (a .pem holding a key too);
// without it they are not read.
func TestOpaqueSecretBundles(t *testing.T) {
	ns := newNamespace(t)
	now := time.Now()
	gone := newCA(t, "e2e opaque retired", now.Add(-days(500)), now.Add(-days(2)), nil)
	ca := newCA(t, "e2e opaque ca", now.Add(-days(1)), now.Add(days(900)), nil)
	crt, key, _ := issue(t, ca, CertSpec{CN: "svc." + ns, DNS: []string{"svc." + ns}, Server: true})
	createSecret(t, ns, "app-files", corev1.SecretTypeOpaque, map[string][]byte{
		"truststore.crt": gone.CertPEM, "server.pem": append(append([]byte{}, crt...), key...), "password": []byte("not a certificate")})

	r, code := runJSON(t, "expiry", "--skip-nodes")
	wantExit(t, r, code, 0)
	requireNoFindings(t, r)

	stdout, _, code := runPlugin(t, "expiry", "--skip-nodes", "--opaque", "-o", "json")
	if code != 3 {
		t.Fatalf("--opaque: exit %d\n%s", code, stdout)
	}
	r, _ = runJSON(t, "expiry", "--skip-nodes", "--opaque")
	f := requireFinding(t, r, "CertificateExpired", "CRITICAL", "secret", func(f Finding) bool { return mentions(f, ns+"/app-files truststore.crt") }, "")
	requireContains(t, "fix", f.Fix, "truststore.crt in secret "+ns+"/app-files")
	requireContains(t, "certificates", r.raw, "secret "+ns+"/app-files server.pem")
	if strings.Contains(stdout, "PRIVATE KEY") {
		t.Fatal("the report holds a private key")
	}
	assertNoKeyLeak(t, stdout)
}

// inspect webhook shows what the webhook's pod serves, verified with its caBundle.
func TestInspectWebhookServed(t *testing.T) {
	w := newWebhookSetup(t)
	w.create(t, true)
	r, in, code := inspect(t, "webhook", w.config)
	wantExit(t, r, code, 0)
	requireNoFindings(t, r)
	var wheres []string
	for _, c := range in.Inspection.Certificates {
		wheres = append(wheres, c.Where+"="+c.Subject)
	}
	got := strings.Join(wheres, " ")
	requireContains(t, "certificates", got, "webhooks[0] cm.e2e.certdoctor.io caBundle[0]=CN=e2e-webhook-ca")
	requireContains(t, "certificates", got, "webhooks[0] cm.e2e.certdoctor.io served[0]=CN=webhook."+w.ns+".svc")
	if v := verifiedBy(in); v["caBundle of webhooks[0] cm.e2e.certdoctor.io"] != "verified" {
		t.Errorf("verifications %+v", in.Inspection.Verifications)
	}
	requireContains(t, "checks", r.raw, `"name": "servedCertificate"`)

	// A caBundle from another CA: the walk's finding, once.
	other := newCA(t, "e2e-other-ca", time.Now().Add(-time.Hour), time.Now().Add(days(365)), nil)
	vwc, err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctxT(t), w.config, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	vwc.Webhooks[0].ClientConfig.CABundle = other.CertPEM
	if _, err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Update(ctxT(t), vwc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r, in, code = inspect(t, "webhook", w.config)
	wantExit(t, r, code, 3)
	requireFinding(t, r, "WebhookServedCertificate", "CRITICAL", "", nil, "about the served certificate the caBundle does not verify")
	if v := verifiedBy(in); v["caBundle of webhooks[0] cm.e2e.certdoctor.io"] != "failed" {
		t.Errorf("verifications %+v", in.Inspection.Verifications)
	}
}
