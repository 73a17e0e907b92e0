package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// objectsFactory is a kubeconfig trusting ca, with namespace ns, and a fake cluster
// holding objs.
type objectsFactory struct {
	ca   []byte
	ns   string
	objs []runtime.Object
}

func (f objectsFactory) Kubeconfig() (*KubeconfigTarget, error) {
	raw := clientcmdapi.Config{Contexts: map[string]*clientcmdapi.Context{"ctx": {Namespace: f.ns}}}
	return &KubeconfigTarget{Raw: raw, ContextName: "ctx", Rest: &rest.Config{Host: "https://127.0.0.1:1", TLSClientConfig: rest.TLSClientConfig{CAData: f.ca}}}, nil
}

func (f objectsFactory) ClientsFor(*rest.Config) (*Clients, error) {
	return &Clients{Kube: fake.NewClientset(f.objs...)}, nil
}

func runWith(t *testing.T, f Factory, args ...string) (string, string, int) {
	t.Helper()
	return runCommand(t, f, "", args...)
}

func inspectReport(t *testing.T, f Factory, args ...string) (result.Report, int) {
	t.Helper()
	out, stderr, code := runWith(t, f, append(args, "-o", "json")...)
	var r result.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Inspection == nil {
		t.Fatalf("%v: exit %d, %v\n%s\n%s", args, code, err, out, stderr)
	}
	return r, code
}

func TestInspectSecret(t *testing.T) {
	ca := certstest.NewCA("web-ca")
	leaf := ca.Issue(certstest.Opts{CN: "web.example.com", DNS: []string{"web.example.com"}})
	other := ca.Issue(certstest.Opts{CN: "other"})
	secret := func(name string, key []byte) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: name}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{"tls.crt": certstest.Bundle(leaf), "tls.key": key, "ca.crt": ca.CertPEM()}}
	}
	f := objectsFactory{ns: "team-a", objs: []runtime.Object{secret("good", leaf.KeyPEM()), secret("swapped", other.KeyPEM())}}

	r, code := inspectReport(t, f, "inspect", "secret", "good")
	in := r.Inspection
	if code != 0 || in.Object != "secret team-a/good" || in.KeyPair != "match" || len(in.Certificates) != 2 {
		t.Fatalf("exit %d, inspection %+v", code, in)
	}
	d := in.Certificates[0]
	if d.Where != "tls.crt[0]" || d.Subject != "CN=web.example.com" || d.PublicKey != "ECDSA P-256" || d.IsCA || d.FingerprintSHA256 == "" ||
		len(d.SANs) != 1 || !strings.Contains(strings.Join(d.ExtKeyUsage, ","), "serverAuth") {
		t.Errorf("leaf detail %+v", d)
	}
	if ca := in.Certificates[1]; ca.Where != "ca.crt[0]" || !ca.IsCA || !strings.Contains(strings.Join(ca.KeyUsage, ","), "keyCertSign") {
		t.Errorf("ca.crt detail %+v", ca)
	}
	got := map[string]string{}
	for _, v := range in.Verifications {
		got[v.Against] = v.Result
	}
	if got["ca.crt of the secret"] != result.Verified || got["kubeconfig CA"] != "" || got["system roots"] != result.NotVerified {
		t.Errorf("verifications %+v", in.Verifications)
	}

	r, code = inspectReport(t, f, "inspect", "secret/swapped")
	if code != result.ExitCritical || r.Inspection.KeyPair != "mismatch" {
		t.Fatalf("a swapped key: exit %d, key pair %q, findings %s", code, r.Inspection.KeyPair, briefFindings(r))
	}
	out, _, _ := runWith(t, f, "inspect", "secret", "swapped")
	for _, secretPart := range []string{strings.Split(string(other.KeyPEM()), "\n")[1], strings.Split(string(leaf.KeyPEM()), "\n")[1]} {
		if strings.Contains(out, secretPart[:24]) {
			t.Fatal("inspect printed key material")
		}
	}
	for _, want := range []string{"Certificate 1 of 2 (tls.crt[0])", "Subject:            CN=web.example.com", "VERIFIED AGAINST", "ca.crt of the secret   verified", "does NOT match"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestInspectWebhookAndConfigMap(t *testing.T) {
	ca := certstest.NewCA("webhook-ca")
	expired := certstest.SelfSigned(certstest.Opts{CN: "old-ca", IsCA: true, NotBefore: certstest.Days(-400), NotAfter: certstest.Days(-1)})
	vwc := &admissionv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "hook"},
		Webhooks: []admissionv1.ValidatingWebhook{{Name: "a.example.com", ClientConfig: admissionv1.WebhookClientConfig{CABundle: ca.CertPEM()}},
			{Name: "b.example.com", ClientConfig: admissionv1.WebhookClientConfig{CABundle: expired.CertPEM()}}}}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "bundle"}, Data: map[string]string{"ca.crt": string(ca.CertPEM()), "note": "hello"}}
	target := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "corp", Labels: map[string]string{"trust.cert-manager.io/bundle": "corp"}},
		Data: map[string]string{"bundle.pem": string(certstest.Bundle(ca, expired))}}
	f := objectsFactory{objs: []runtime.Object{vwc, cm, target}}
	r, code := inspectReport(t, f, "inspect", "webhook", "hook")
	// The walk judges the caBundles, in the webhook's words; the expired CA is not a
	// second, CertificateExpired, finding.
	if code != result.ExitCritical || len(r.Inspection.Certificates) != 2 || findCode(r, "WebhookCABundle") == nil || findCode(r, "CertificateExpired") != nil {
		t.Fatalf("exit %d, %+v, findings %s", code, r.Inspection, briefFindings(r))
	}
	if len(r.Checks) == 0 {
		t.Errorf("no walk checks in the report")
	}
	r, code = inspectReport(t, f, "inspect", "cm", "bundle")
	if code != 0 || len(r.Inspection.Certificates) != 1 || r.Inspection.Certificates[0].Where != "ca.crt[0]" {
		t.Fatalf("configmap: exit %d, %+v", code, r.Inspection)
	}
	// A trust-manager target is a bundle: its expired CA is stale next to the valid one,
	// and the fix goes to the Bundle, which would undo an edit of the target.
	r, code = inspectReport(t, f, "inspect", "configmap", "corp")
	stale := findCode(r, "TrustBundleStaleCA")
	if code != result.ExitWarning || stale == nil || findCode(r, "CertificateExpired") != nil {
		t.Fatalf("trust-manager target: exit %d, findings %s", code, briefFindings(r))
	}
	if !strings.Contains(stale.Fix, "kubectl get bundles.trust.cert-manager.io/corp -o yaml") {
		t.Errorf("fix %q", stale.Fix)
	}
}

func TestInspectFile(t *testing.T) {
	ca := certstest.NewCA("file-ca")
	leaf := ca.Issue(certstest.Opts{CN: "svc", DNS: []string{"svc"}})
	dir := t.TempDir()
	chain := filepath.Join(dir, "chain.pem")
	der := filepath.Join(dir, "leaf.der")
	os.WriteFile(chain, certstest.Bundle(leaf, ca), 0o600)
	os.WriteFile(der, leaf.Cert.Raw, 0o600)
	f := objectsFactory{ca: ca.CertPEM()}
	r, code := inspectReport(t, f, "inspect", "-f", chain)
	if code != 0 || len(r.Inspection.Certificates) != 2 {
		t.Fatalf("chain: exit %d, %+v", code, r.Inspection)
	}
	got := map[string]result.Verification{}
	for _, v := range r.Inspection.Verifications {
		got[v.Against] = v
	}
	if v := got["the file's own root"]; v.Result != result.Verified || strings.Join(v.Chain, " <- ") != "svc <- file-ca" {
		t.Errorf("own root: %+v", v)
	}
	if got["kubeconfig CA"].Result != result.Verified {
		t.Errorf("kubeconfig CA: %+v", got["kubeconfig CA"])
	}
	if r, _ := inspectReport(t, f, "inspect", "-f", der); len(r.Inspection.Certificates) != 1 || r.Inspection.Certificates[0].Subject != "CN=svc" {
		t.Errorf("DER: %+v", r.Inspection)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"inspect"}, "inspect what?"},
		{[]string{"inspect", "pod", "x"}, `cannot inspect "pod"`},
		{[]string{"inspect", "secret", "x", "-f", chain}, "not both"},
		{[]string{"inspect", "-f", filepath.Join(dir, "nope")}, "nope"},
		{[]string{"inspect", "-f", dir}, "regular file"},
		{[]string{"inspect", "secret", "missing"}, "not found"},
	} {
		_, stderr, code := runWith(t, f, tt.args...)
		if code != result.ExitFailed || !strings.Contains(stderr, tt.want) || strings.Contains(stderr, "\n") {
			t.Errorf("%v: exit %d, %q; want one line with %q", tt.args, code, stderr, tt.want)
		}
	}
}
