//go:build e2e

package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Issue 21: tls.key is compared with tls.crt inside the plugin, and only the verdict is
// reported; runPlugin's guard fails the test if any registered key reaches the output.
func TestKeyPairMismatch(t *testing.T) {
	ns := newNamespace(t)
	ca := newCA(t, "e2e-keypair-ca", time.Now().Add(-days(1)), time.Now().Add(days(3650)), nil)
	crt, key, _ := issue(t, ca, CertSpec{CN: "pair.e2e.test", DNS: []string{"pair.e2e.test"}, Server: true})
	_, otherKey, _ := issue(t, ca, CertSpec{CN: "other.e2e.test", DNS: []string{"other.e2e.test"}, Server: true})
	createSecret(t, ns, "matched-tls", corev1.SecretTypeTLS, map[string][]byte{"tls.crt": crt, "tls.key": key, "ca.crt": ca.CertPEM})
	createSecret(t, ns, "mismatched-tls", corev1.SecretTypeTLS, map[string][]byte{"tls.crt": crt, "tls.key": otherKey, "ca.crt": ca.CertPEM})
	createSecret(t, ns, "emptykey-tls", corev1.SecretTypeTLS, map[string][]byte{"tls.crt": crt, "tls.key": {}})

	r, code := runJSON(t, "expiry", "--skip-nodes")
	wantExit(t, r, code, 3)
	in := func(name string) func(Finding) bool {
		return func(f Finding) bool { return f.Subject == "secret "+ns+"/"+name }
	}
	f := requireFinding(t, r, "KeyDoesNotMatch", "CRITICAL", "secret", in("mismatched-tls"), "for secret "+ns+"/mismatched-tls")
	if f.Error != "tls: private key does not match public key" || !strings.Contains(f.Fix, "kubectl create secret tls mismatched-tls -n "+ns) {
		t.Errorf("mismatch finding: %s", f)
	}
	f = requireFinding(t, r, "TLSKeyInvalid", "CRITICAL", "secret", in("emptykey-tls"), "for secret "+ns+"/emptykey-tls")
	if f.Error != "tls: failed to find any PEM data in key input" {
		t.Errorf("empty key finding: %s", f)
	}
	for _, g := range r.Findings {
		if in("matched-tls")(g) {
			t.Errorf("a matching pair has a finding: %s", g)
		}
	}
}

// Certificates Go clients refuse, or will: each is named in `expiry -o json` with Go's text.
func TestWeakCrypto(t *testing.T) {
	ns := newNamespace(t)
	now := time.Now()
	ca := newCA(t, "e2e-weak-ca", now.Add(-days(1)), now.Add(days(3650)), nil)
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	secret := func(name string, spec CertSpec, caPEM []byte, signer *CA) {
		if spec.DNS == nil && spec.CN != "" && !strings.HasPrefix(name, "cn-only") {
			spec.DNS = []string{spec.CN}
		}
		crt, key, _ := issue(t, signer, spec)
		data := map[string][]byte{"tls.crt": crt, "tls.key": key}
		if caPEM != nil {
			data["ca.crt"] = caPEM
		}
		createSecret(t, ns, name, corev1.SecretTypeTLS, data)
	}
	secret("sha1-tls", CertSpec{CN: "sha1.e2e.test", Server: true, Edit: func(c *x509.Certificate) { c.SignatureAlgorithm = x509.ECDSAWithSHA1 }}, nil, ca)
	secret("rsa1024-tls", CertSpec{CN: "rsa1024.e2e.test", Server: true, Key: rsa1024}, nil, ca)
	secret("cn-only-tls", CertSpec{CN: "cn-only.e2e.test", Server: true}, nil, ca)
	secret("client-only-tls", CertSpec{CN: "client-only.e2e.test", Client: true}, nil, ca)
	// A CA made without keyCertSign (an openssl config whose v3_ca lacks it).
	badKey := newKey(t)
	badPEM, _, badCert := issue(t, nil, CertSpec{CN: "e2e-no-certsign-ca", IsCA: true, Key: badKey, NotAfter: now.Add(days(3650)),
		Edit: func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageDigitalSignature }})
	bad := &CA{Cert: badCert, CertPEM: badPEM, Key: badKey}
	secret("badca-tls", CertSpec{CN: "badca.e2e.test", Server: true}, bad.CertPEM, bad)
	hook := createNeverCalledWebhook(t, ns, bad.CertPEM)
	// Valid 800 days and served by an Ingress: a note (browsers refuse it), not a finding.
	secret("long-tls", CertSpec{CN: "long.e2e.test", Server: true, NotAfter: now.Add(days(800))}, nil, ca)
	createIngress(t, ns, "site", "long-tls")

	r, code := runJSON(t, "expiry", "--skip-nodes")
	wantExit(t, r, code, 3)
	for _, w := range []struct{ code, severity, source, subject, err string }{
		{"CertificateInsecureSignature", "WARNING", "secret", "secret " + ns + "/sha1-tls", "x509: cannot verify signature: insecure algorithm ECDSA-SHA1"},
		{"CertificateWeakKey", "WARNING", "secret", "secret " + ns + "/rsa1024-tls", ""},
		{"CertificateLegacyCommonName", "WARNING", "secret", "secret " + ns + "/cn-only-tls", "x509: certificate relies on legacy Common Name field, use SANs instead"},
		{"CertificateNoServerAuth", "WARNING", "secret", "secret " + ns + "/client-only-tls", "x509: certificate specifies an incompatible key usage"},
		{"CertificateCannotSign", "CRITICAL", "secret", "secret " + ns + "/badca-tls", "x509: invalid signature: parent certificate cannot sign this kind of certificate"},
		{"CertificateCannotSign", "CRITICAL", "webhook", "validatingwebhookconfiguration " + hook, "x509: invalid signature: parent certificate cannot sign this kind of certificate"},
	} {
		f := requireFinding(t, r, w.code, w.severity, w.source, func(f Finding) bool { return f.Subject == w.subject }, "for "+w.subject)
		if f.Error != w.err || f.Fix == "" {
			t.Errorf("%s: error %q, want %q; fix %q", w.subject, f.Error, w.err, f.Fix)
		}
	}
	// No other finding about this test's objects: each fault is named once, by its own code.
	n := 0
	for _, f := range r.Findings {
		if strings.Contains(f.Subject, ns+"/") || strings.Contains(f.Subject, hook) {
			n++
		}
	}
	if n != 6 {
		t.Errorf("want 6 findings about this test's objects, got %d\n%s", n, dump(r))
	}
	var long []string
	for _, n := range r.Notes {
		if strings.Contains(n, ns+"/") {
			long = append(long, n)
		}
	}
	if len(long) != 1 || !strings.Contains(long[0], "secret "+ns+"/long-tls tls.crt") || !strings.Contains(long[0], "Ingress "+ns+"/site") {
		t.Errorf("want one note on secret %s/long-tls served by Ingress %s/site, got %q", ns, ns, long)
	}
}

// createIngress makes an Ingress serving secret for TLS; no controller acts on it.
func createIngress(t *testing.T, ns, name, secret string) {
	t.Helper()
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels(t)},
		Spec: networkingv1.IngressSpec{
			TLS: []networkingv1.IngressTLS{{Hosts: []string{"long.e2e.test"}, SecretName: secret}},
			DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web",
				Port: networkingv1.ServiceBackendPort{Number: 80}}},
		}}
	if _, err := client.NetworkingV1().Ingresses(ns).Create(ctxT(t), ing, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create Ingress %s/%s: %v", ns, name, err)
	}
}

// createNeverCalledWebhook registers a ValidatingWebhookConfiguration with caBundle that
// matches no namespace, so it never interferes with other tests; it returns its name.
func createNeverCalledWebhook(t *testing.T, ns string, caBundle []byte) string {
	t.Helper()
	name := uniqueName("e2e-certdoctor-weak")
	none, ignore, path := admissionv1.SideEffectClassNone, admissionv1.Ignore, "/validate"
	vwc := &admissionv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels(t)},
		Webhooks: []admissionv1.ValidatingWebhook{{
			Name: "weak.e2e.certdoctor.io", AdmissionReviewVersions: []string{"v1"}, SideEffects: &none, FailurePolicy: &ignore,
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"e2e.certdoctor.io/never": "true"}},
			Rules: []admissionv1.RuleWithOperations{{Operations: []admissionv1.OperationType{admissionv1.Create},
				Rule: admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}},
			ClientConfig: admissionv1.WebhookClientConfig{CABundle: caBundle, Service: &admissionv1.ServiceReference{Namespace: ns, Name: "webhook", Path: &path}},
		}},
	}
	if _, err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctxT(t), vwc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create ValidatingWebhookConfiguration: %v", err)
	}
	t.Cleanup(func() {
		if err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctxT(t), name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete ValidatingWebhookConfiguration %s: %v", name, err)
		}
	})
	return name
}
