//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// tlsSecretData issues a serving cert from a fresh CA, valid until notAfter, as a
// kubernetes.io/tls secret's data (with ca.crt).
func tlsSecretData(t *testing.T, cn string, notAfter time.Time) map[string][]byte {
	t.Helper()
	ca := newCA(t, cn+"-ca", time.Now().Add(-days(30)), time.Now().Add(days(3650)), nil)
	crt, key, _ := issue(t, ca, CertSpec{CN: cn, DNS: []string{cn}, Server: true,
		NotBefore: notAfter.Add(-days(90)), NotAfter: notAfter})
	return map[string][]byte{"tls.crt": crt, "tls.key": key, "ca.crt": ca.CertPEM}
}

// A TLS secret expiring in 10 days is a warning (default --warn-within 30d), and is not one
// with --warn-within 5d.
func TestSecretExpiring(t *testing.T) {
	ns := newNamespace(t)
	createSecret(t, ns, "expiring-tls", corev1.SecretTypeTLS, tlsSecretData(t, "expiring.e2e.test", time.Now().Add(days(10))))

	r, code := runJSON(t, "expiry")
	wantExit(t, r, code, 2)
	requireFinding(t, r, "CertificateExpiring", "WARNING", "secret", func(f Finding) bool {
		return strings.Contains(f.Subject, "expiring-tls")
	}, "whose subject names secret "+ns+"/expiring-tls")

	r, code = runJSON(t, "expiry", "--warn-within", "5d")
	wantExit(t, r, code, 0)
	for _, f := range r.Findings {
		if mentions(f, "expiring-tls") {
			t.Errorf("with --warn-within 5d the secret still counts: %s", f)
		}
	}
}

// An expired TLS secret is critical.
func TestSecretExpired(t *testing.T) {
	ns := newNamespace(t)
	createSecret(t, ns, "expired-tls", corev1.SecretTypeTLS, tlsSecretData(t, "expired.e2e.test", time.Now().Add(-days(1))))
	r, code := runJSON(t, "expiry")
	wantExit(t, r, code, 3)
	requireFinding(t, r, "CertificateExpired", "CRITICAL", "secret", func(f Finding) bool {
		return strings.Contains(f.Subject, "expired-tls")
	}, "whose subject names secret "+ns+"/expired-tls")
}

// tls.crt holds a chain whose leaf is fine but whose intermediate CA has expired.
func TestSecretExpiredIntermediate(t *testing.T) {
	ns := newNamespace(t)
	now := time.Now()
	root := newCA(t, "e2e-root-ca", now.Add(-days(800)), now.Add(days(3000)), nil)
	inter := newCA(t, "e2e-expired-intermediate", now.Add(-days(400)), now.Add(-days(2)), root)
	// a leaf valid for a year, signed while the intermediate was still valid
	leaf, key, _ := issue(t, inter, CertSpec{CN: "chain.e2e.test", DNS: []string{"chain.e2e.test"}, Server: true,
		NotBefore: now.Add(-days(10)), NotAfter: now.Add(days(300))})
	chain := append(append([]byte{}, leaf...), inter.CertPEM...)
	createSecret(t, ns, "chain-tls", corev1.SecretTypeTLS, map[string][]byte{"tls.crt": chain, "tls.key": key})

	r, code := runJSON(t, "expiry")
	wantExit(t, r, code, 3)
	requireFinding(t, r, "CertificateExpired", "CRITICAL", "secret", func(f Finding) bool {
		return strings.Contains(f.Subject, "chain-tls") || mentions(f, "e2e-expired-intermediate")
	}, "for the intermediate in secret "+ns+"/chain-tls")
	found := false
	for _, c := range r.Certificates {
		found = found || c.Source == "secret" && c.Subject == "e2e-expired-intermediate" && c.Status == "EXPIRED"
	}
	if !found {
		t.Errorf("the intermediate e2e-expired-intermediate is not listed as an EXPIRED secret certificate\n%s", dump(r))
	}
}

// A ValidatingWebhookConfiguration whose caBundle has expired.
func TestWebhookCABundleExpired(t *testing.T) {
	ns := newNamespace(t)
	now := time.Now()
	ca := newCA(t, "e2e-webhook-ca", now.Add(-days(400)), now.Add(-days(3)), nil)
	name := uniqueName("e2e-certdoctor-expired")
	none, ignore, path := admissionv1.SideEffectClassNone, admissionv1.Ignore, "/validate"
	vwc := &admissionv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels(t)},
		Webhooks: []admissionv1.ValidatingWebhook{{
			Name:                    "cm.e2e.certdoctor.io",
			AdmissionReviewVersions: []string{"v1"},
			SideEffects:             &none,
			FailurePolicy:           &ignore,
			// matches no namespace: the webhook never interferes with other tests
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"e2e.certdoctor.io/never": "true"}},
			Rules: []admissionv1.RuleWithOperations{{
				Operations: []admissionv1.OperationType{admissionv1.Create},
				Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
			}},
			ClientConfig: admissionv1.WebhookClientConfig{
				CABundle: ca.CertPEM,
				Service:  &admissionv1.ServiceReference{Namespace: ns, Name: "webhook", Path: &path},
			},
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

	r, code := runJSON(t, "expiry")
	wantExit(t, r, code, 3)
	requireFinding(t, r, "CertificateExpired", "CRITICAL", "webhook", func(f Finding) bool {
		return mentions(f, name)
	}, "naming ValidatingWebhookConfiguration "+name)
}

// A Cluster API style kubeconfig secret (<cluster>-kubeconfig, key "value") whose client
// certificate has expired.
func TestKubeconfigSecretExpired(t *testing.T) {
	ns := newNamespace(t)
	now := time.Now()
	ca := newCA(t, "workload-ca", now.Add(-days(400)), now.Add(days(3000)), nil)
	crt, key, _ := issue(t, ca, CertSpec{CN: "workload-admin", Org: []string{"system:masters"}, Client: true,
		NotBefore: now.Add(-days(366)), NotAfter: now.Add(-days(1))})
	cfg := clientcmdapi.NewConfig()
	// a closed loopback port: nothing must ever be contacted off this machine
	cfg.Clusters["workload"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1", CertificateAuthorityData: ca.CertPEM}
	cfg.AuthInfos["workload-admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: crt, ClientKeyData: key}
	cfg.Contexts["workload-admin@workload"] = &clientcmdapi.Context{Cluster: "workload", AuthInfo: "workload-admin"}
	cfg.CurrentContext = "workload-admin@workload"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	registerSecret(string(data), "kubeconfig with a client key")
	s := createSecret(t, ns, "workload-kubeconfig", corev1.SecretType("cluster.x-k8s.io/secret"), map[string][]byte{"value": data})
	s.Labels["cluster.x-k8s.io/cluster-name"] = "workload"
	if _, err := client.CoreV1().Secrets(ns).Update(ctxT(t), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	r, code := runJSON(t, "expiry")
	wantExit(t, r, code, 3)
	requireFinding(t, r, "CertificateExpired", "CRITICAL", "kubeconfig-secret", func(f Finding) bool {
		return mentions(f, "workload-kubeconfig")
	}, "naming secret "+ns+"/workload-kubeconfig")
}

// Garbage where a certificate should be: a finding, not a crash (no panic, a JSON report).
func TestSecretGarbage(t *testing.T) {
	ns := newNamespace(t)
	key := keyPEM(t, newKey(t))
	createSecret(t, ns, "garbage-text", corev1.SecretTypeTLS, map[string][]byte{
		"tls.crt": []byte("this is not a certificate\n"), "tls.key": key})
	createSecret(t, ns, "garbage-pem", corev1.SecretTypeTLS, map[string][]byte{
		"tls.crt": []byte("-----BEGIN CERTIFICATE-----\nTm90IGEgY2VydGlmaWNhdGUgYXQgYWxsLCBqdXN0IGJ5dGVzLg==\n-----END CERTIFICATE-----\n"),
		"tls.key": key})

	r, code := runJSON(t, "expiry") // runPlugin already fails on a panic or stack trace
	if code != 2 && code != 3 {
		t.Errorf("exit code %d, want 2 or 3 (a finding)\n%s", code, dump(r))
	}
	for _, name := range []string{"garbage-text", "garbage-pem"} {
		fs := []Finding{}
		for _, f := range r.Findings {
			if f.Source == "secret" && mentions(f, name) {
				fs = append(fs, f)
			}
		}
		if len(fs) == 0 {
			t.Errorf("no finding for secret %s/%s\n%s", ns, name, dump(r))
		}
	}
}
