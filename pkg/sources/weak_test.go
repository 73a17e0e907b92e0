package sources

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apiextfake "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/fake"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	aggfake "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset/fake"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// The weak-crypto rules hold for every source, not only secrets: Collector.Add applies
// them to whatever it records.

func TestWeakCryptoKubeconfigCA(t *testing.T) {
	badCA := certstest.SelfSigned(certstest.Opts{CN: "kubernetes", IsCA: true, KeyUsage: x509.KeyUsageDigitalSignature})
	client := badCA.Issue(certstest.Opts{CN: "admin", Client: true, RSABits: 1024})
	cfg := clientcmdapi.Config{
		Clusters:  map[string]*clientcmdapi.Cluster{"c": {Server: "https://127.0.0.1:6443", CertificateAuthorityData: badCA.CertPEM()}},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{"u": {ClientCertificateData: client.CertPEM(), ClientKeyData: client.KeyPEM()}},
		Contexts:  map[string]*clientcmdapi.Context{"c": {Cluster: "c", AuthInfo: "u"}},
	}
	c := newTestCollector()
	if err := (&Kubeconfig{Config: cfg, ContextName: "c"}).Collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	_, fs, _ := c.Results()
	if f := mustFind(t, fs, diagnose.CodeCannotSign, ""); f.Source != result.SourceKubeconfig {
		t.Errorf("%s", dump(f))
	}
	if f := mustFind(t, fs, diagnose.CodeWeakKey, ""); f.Severity != result.Warning || f.Source != result.SourceKubeconfig {
		t.Errorf("%s", dump(f))
	}
	assertNoKeyMaterial(t, c, client.KeyPEM())
}

func TestWeakCryptoServedAPIServer(t *testing.T) {
	ca := certstest.NewCA("kubernetes")
	for _, tt := range []struct {
		name, code string
		sev        result.Severity
		leaf       certstest.Opts
	}{
		{"client-only usage", diagnose.CodeNoServerAuth, result.Critical, certstest.Opts{CN: "kube-apiserver", IPs: []string{"127.0.0.1"}, Client: true}},
		{"1024-bit key", diagnose.CodeWeakKey, result.Warning, certstest.Opts{CN: "kube-apiserver", IPs: []string{"127.0.0.1"}, RSABits: 1024}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestCollector()
			a := &APIServer{Server: serveTLS(t, ca.Issue(tt.leaf)), CAData: ca.CertPEM(), Timeout: 2 * time.Second}
			if err := a.Collect(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			_, fs, _ := c.Results()
			f := mustFind(t, fs, tt.code, "")
			if len(fs) != 1 || f.Severity != tt.sev || f.Source != result.SourceAPIServer {
				t.Fatalf("%s", dump(fs))
			}
			if tt.code == diagnose.CodeNoServerAuth && f.Error != "x509: certificate specifies an incompatible key usage" {
				t.Fatalf("error %q", f.Error)
			}
		})
	}
}

func TestWeakCryptoCABundle(t *testing.T) {
	noBC := certstest.SelfSigned(certstest.Opts{CN: "webhook-ca", IsCA: true, NoBasicConstraints: true})
	pinned := certstest.SelfSigned(certstest.Opts{CN: "linkerd-webhook", DNS: []string{"linkerd-proxy-injector.linkerd.svc"}})
	hook := func(name string, bundle []byte) *admissionv1.ValidatingWebhookConfiguration {
		return &admissionv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name},
			Webhooks: []admissionv1.ValidatingWebhook{{Name: name + ".io", ClientConfig: admissionv1.WebhookClientConfig{CABundle: bundle}}}}
	}
	c := newTestCollector()
	src := &CABundles{Client: fake.NewClientset(hook("bad", noBC.CertPEM()), hook("pinned", pinned.CertPEM())),
		Aggregator: aggfake.NewSimpleClientset(), APIExt: apiextfake.NewSimpleClientset()}
	if err := src.Collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	_, fs, _ := c.Results()
	f := mustFind(t, fs, diagnose.CodeCannotSign, "bad")
	if !strings.Contains(f.Message, "webhook-ca") || !strings.Contains(f.Fix, "basicConstraints=critical,CA:TRUE") {
		t.Errorf("%s", dump(f))
	}
	if got := findingsWith(fs, "", "pinned"); len(got) != 0 {
		t.Errorf("a pinned self-signed leaf in caBundle is what Go trusts as itself: %s", dump(got))
	}
}
