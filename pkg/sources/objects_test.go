package sources

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextfake "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/fake"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	apiregv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	aggfake "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset/fake"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

func tlsSecret(ns, name string, crt, ca []byte, annotations map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations},
		Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": crt, "tls.key": certstest.KeyPEMFor(crt)}}
	if s.Data["tls.key"] == nil { // tls.crt is not a certificate certstest made: a placeholder key
		s.Data["tls.key"] = []byte("-----BEGIN EC PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbC1uZXZlci1wcmludGVk\n-----END EC PRIVATE KEY-----\n")
	}
	if ca != nil {
		s.Data["ca.crt"] = ca
	}
	return s
}

func TestTLSSecrets(t *testing.T) {
	ca := certstest.NewCA("web-ca")
	expiredCA := certstest.NewCA("old-ca")
	expiredInter := ca.Issue(func() certstest.Opts { o := certstest.Expired(); o.CN, o.IsCA = "intermediate", true; return o }())
	leafExp := certstest.Expired()
	leafExp.CN = "expired.example.com"
	objs := []runtime.Object{
		tlsSecret("web", "ok", ca.Issue(certstest.Opts{CN: "ok.example.com", DNS: []string{"ok.example.com"}}).CertPEM(), ca.CertPEM(), nil),
		tlsSecret("web", "soon", ca.Issue(certstest.Opts{CN: "soon.example.com", NotAfter: certstest.Days(10)}).CertPEM(), nil, nil),
		tlsSecret("web", "gone", ca.Issue(leafExp).CertPEM(), nil, nil),
		tlsSecret("apps", "chain", certstest.Bundle(expiredInter.Issue(certstest.Opts{CN: "chained"}), expiredInter), nil, nil),
		tlsSecret("apps", "garbage", []byte("hello"), nil, nil),
		tlsSecret("apps", "managed", ca.Issue(leafExp).CertPEM(), nil, map[string]string{"cert-manager.io/certificate-name": "managed-cert"}),
		tlsSecret("apps", "oldca", ca.Issue(certstest.Opts{CN: "x"}).CertPEM(), expiredCA.Issue(func() certstest.Opts { o := certstest.Expired(); o.IsCA = true; o.CN = "stale-ca"; return o }()).CertPEM(), nil),
	}
	client := fake.NewClientset(objs...)
	var sawSelector bool
	client.PrependReactor("list", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.ListActionImpl).GetListRestrictions()
		sawSelector = r.Fields.String() == "type=kubernetes.io/tls"
		return false, nil, nil
	})
	c := newTestCollector()
	src := &TLSSecrets{Client: client}
	if err := src.Collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	_, fs, _ := c.Results()
	if !sawSelector { // paging and limits are covered by TestEachPage
		t.Errorf("list must ask only for kubernetes.io/tls secrets")
	}
	mustFind(t, fs, diagnose.CodeExpiring, "secret web/soon")
	exp := mustFind(t, fs, diagnose.CodeExpired, "secret web/gone")
	if !strings.Contains(exp.Fix, "kubectl create secret tls gone -n web") {
		t.Errorf("plain secret fix: %q", exp.Fix)
	}
	managed := mustFind(t, fs, diagnose.CodeExpired, "secret apps/managed")
	if !strings.Contains(managed.Fix, "cmctl renew managed-cert -n apps") {
		t.Errorf("cert-manager secret fix: %q", managed.Fix)
	}
	if got := findingsWith(fs, diagnose.CodeExpired, "secret apps/chain"); len(got) != 1 || !strings.Contains(got[0].Message, "intermediate") ||
		!strings.Contains(got[0].Fix, "tls.crt in secret apps/chain carries an out-of-date intermediate") {
		t.Errorf("the expired intermediate in a chain must be found: %s", dump(got))
	}
	mustFind(t, fs, diagnose.CodeInvalid, "secret apps/garbage tls.crt")
	caf := mustFind(t, fs, diagnose.CodeExpired, "secret apps/oldca")
	if !strings.Contains(caf.Message, "CA certificate") || !strings.Contains(caf.Fix, "ca.crt") {
		t.Errorf("ca.crt finding: %s", dump(caf))
	}
	if n := len(findingsWith(fs, "", "secret web/ok")); n != 0 {
		t.Errorf("healthy secret produced findings: %s", dump(findingsWith(fs, "", "secret web/ok")))
	}
	assertNoKeyMaterial(t, c)
}

// Go's rules on serving certificates in secrets: SHA-1 and Common-Name-only leaves are
// named; a client-only certificate needs no SANs, but lacks serverAuth (issue 21: a TLS
// secret is there to be served).
func TestTLSSecretsGoRules(t *testing.T) {
	ca := certstest.NewCA("ca")
	client := fake.NewClientset(
		tlsSecret("a", "sha1", ca.Issue(certstest.Opts{CN: "web", DNS: []string{"web.example.com"}, SHA1: true}).CertPEM(), nil, nil),
		tlsSecret("a", "cn-only", ca.Issue(certstest.Opts{CN: "web.example.com"}).CertPEM(), nil, nil),
		tlsSecret("a", "client", ca.Issue(certstest.Opts{CN: "system:node:x", Client: true}).CertPEM(), nil, nil),
		tlsSecret("a", "good", ca.Issue(certstest.Opts{CN: "web", DNS: []string{"web.example.com"}}).CertPEM(), nil, nil))
	c := NewCollector(time.Now(), 0)
	if err := (&TLSSecrets{Client: client}).Collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	_, fs, _ := c.Results()
	if len(fs) != 3 {
		t.Fatalf("want 3 findings, got %s", dump(fs))
	}
	if eku := mustFind(t, fs, diagnose.CodeNoServerAuth, "secret a/client"); eku.Severity != result.Warning {
		t.Fatalf("%s", dump(eku))
	}
	sha1 := mustFind(t, fs, diagnose.CodeInsecureSignature, "secret a/sha1")
	cn := mustFind(t, fs, diagnose.CodeLegacyCommonName, "secret a/cn-only")
	if sha1.Severity != result.Warning || !strings.Contains(sha1.Error, "insecure algorithm ECDSA-SHA1") || !strings.Contains(cn.Error, "legacy Common Name") {
		t.Fatalf("%s", dump(fs))
	}
}

func TestTLSSecretsForbidden(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("list", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "", fmt.Errorf(`User "viewer" cannot list resource "secrets" in API group "" at the cluster scope`))
	})
	c := newTestCollector()
	if err := (&TLSSecrets{Client: client}).Collect(context.Background(), c); err != nil {
		t.Fatalf("a denied list must be a finding, not a failure: %v", err)
	}
	_, fs, _ := c.Results()
	f := mustFind(t, fs, diagnose.CodePermissionDenied, "secrets")
	if f.Severity != result.Warning || !strings.Contains(f.Message, "not allowed to list secrets at the cluster scope") || !strings.Contains(f.Fix, "--verb=list --resource=secrets") || !strings.Contains(f.Fix, "--user=viewer") || !strings.Contains(f.Message, `"viewer"`) {
		t.Fatalf("finding: %s", dump(f))
	}
}

func TestEachPage(t *testing.T) {
	pages := map[string][]string{"": {"a", "b"}, "t1": {"c"}, "t2": {"d", "e"}}
	next := map[string]string{"": "t1", "t1": "t2", "t2": ""}
	var got []string
	var limits []int64
	err := eachPage(context.Background(), metav1.ListOptions{}, func(_ context.Context, o metav1.ListOptions) ([]string, string, error) {
		limits = append(limits, o.Limit)
		return pages[o.Continue], next[o.Continue], nil
	}, func(items []string) { got = append(got, items...) })
	if err != nil || strings.Join(got, "") != "abcde" {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, l := range limits {
		if l != PageSize {
			t.Fatalf("limit %d, want %d", l, PageSize)
		}
	}
	boom := fmt.Errorf("boom")
	err = eachPage(context.Background(), metav1.ListOptions{}, func(_ context.Context, o metav1.ListOptions) ([]string, string, error) {
		if o.Continue == "t1" {
			return nil, "", boom
		}
		return pages[o.Continue], next[o.Continue], nil
	}, func([]string) {})
	if err != boom {
		t.Fatalf("error of a later page must be returned, got %v", err)
	}
}

func TestRootCAConfigMaps(t *testing.T) {
	ca, other := certstest.NewCA("kubernetes"), certstest.NewCA("kubernetes-old")
	var objs []runtime.Object
	for _, ns := range []string{"default", "kube-system", "apps"} {
		objs = append(objs, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "kube-root-ca.crt"}, Data: map[string]string{"ca.crt": string(ca.CertPEM())}})
	}
	objs = append(objs, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "stale", Name: "kube-root-ca.crt"}, Data: map[string]string{"ca.crt": string(other.CertPEM())}})
	c := newTestCollector()
	if err := (&RootCAConfigMaps{Client: fake.NewClientset(objs...)}).Collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	recs, fs, _ := c.Results()
	if len(recs) != 2 || len(fs) != 0 {
		t.Fatalf("want 2 distinct CAs and no findings, got %s %s", dump(recs), dump(fs))
	}
	locs := recs[0].Location + "|" + recs[1].Location
	if !strings.Contains(locs, "in 3 namespaces (apps, default, kube-system)") || !strings.Contains(locs, "in namespace stale") {
		t.Fatalf("locations: %s", locs)
	}
}

func TestCABundles(t *testing.T) {
	expCA := certstest.SelfSigned(func() certstest.Opts { o := certstest.Expired(); o.IsCA, o.CN = true, "webhook-ca"; return o }())
	okCA := certstest.NewCA("fine-ca")
	client := fake.NewClientset(
		&admissionv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "cert-manager-webhook"},
			Webhooks: []admissionv1.ValidatingWebhook{{Name: "webhook.cert-manager.io", ClientConfig: admissionv1.WebhookClientConfig{CABundle: expCA.CertPEM()}}}},
		&admissionv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "fine"},
			Webhooks: []admissionv1.MutatingWebhook{{Name: "m.fine.io", ClientConfig: admissionv1.WebhookClientConfig{CABundle: okCA.CertPEM()}}, {Name: "nobundle.fine.io"}}},
	)
	agg := aggfake.NewSimpleClientset(
		&apiregv1.APIService{ObjectMeta: metav1.ObjectMeta{Name: "v1beta1.metrics.k8s.io"},
			Spec: apiregv1.APIServiceSpec{Service: &apiregv1.ServiceReference{Namespace: "kube-system", Name: "metrics-server"}, CABundle: expCA.CertPEM()}},
		&apiregv1.APIService{ObjectMeta: metav1.ObjectMeta{Name: "v1.apps"}},
	)
	ext := apiextfake.NewSimpleClientset(&apiextv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "issuers.cert-manager.io"},
		Spec: apiextv1.CustomResourceDefinitionSpec{Conversion: &apiextv1.CustomResourceConversion{Strategy: apiextv1.WebhookConverter,
			Webhook: &apiextv1.WebhookConversion{ClientConfig: &apiextv1.WebhookClientConfig{CABundle: []byte("not pem")}}}}})
	c := newTestCollector()
	if err := (&CABundles{Client: client, Aggregator: agg, APIExt: ext}).Collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	recs, fs, _ := c.Results()
	if len(recs) != 3 {
		t.Fatalf("want 3 caBundle records (vwc, mwc, apiservice), got %s", dump(recs))
	}
	w := mustFind(t, fs, diagnose.CodeExpired, "validatingwebhookconfiguration cert-manager-webhook")
	if w.Source != result.SourceWebhook || !strings.Contains(w.Error, `failed calling webhook "webhook.cert-manager.io"`) || !strings.Contains(w.Fix, "cert-manager.io/inject-ca-from") {
		t.Errorf("webhook finding: %s", dump(w))
	}
	a := mustFind(t, fs, diagnose.CodeExpired, "apiservice v1beta1.metrics.k8s.io")
	if !strings.Contains(a.Fix, "/spec/caBundle") {
		t.Errorf("apiservice fix: %q", a.Fix)
	}
	mustFind(t, fs, diagnose.CodeInvalid, "crd issuers.cert-manager.io")
}

func TestKubeconfigSecrets(t *testing.T) {
	ca := certstest.NewCA("user-cluster-ca")
	exp := certstest.Expired()
	exp.CN, exp.Client = "kubernetes-admin", true
	kubeconfig := func(client *certstest.Pair) []byte {
		cfg := clientcmdapi.NewConfig()
		cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: "https://10.0.0.1:6443", CertificateAuthorityData: ca.CertPEM()}
		cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: client.CertPEM(), ClientKeyData: client.KeyPEM()}
		cfg.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "admin"}
		b, err := clientcmd.Write(*cfg)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	expired := ca.Issue(exp)
	capi := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "cluster-prod", Name: "prod-kubeconfig"}, Type: "cluster.x-k8s.io/secret",
		Data: map[string][]byte{"value": kubeconfig(expired)}}
	opaque := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "tools", Name: "ci-kubeconfig"}, Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{"config": kubeconfig(ca.Issue(certstest.Opts{CN: "ci", Client: true, NotAfter: certstest.Days(3)}))}}
	unrelated := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "tools", Name: "db-password"}, Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{"password": []byte("hunter2")}}
	client := fake.NewClientset(capi, opaque, unrelated)
	var gets []string
	client.PrependReactor("get", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		gets = append(gets, a.(k8stesting.GetAction).GetName())
		return false, nil, nil
	})
	client.PrependReactor("list", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		t.Error("no secret may be listed with its data: candidates come from the metadata list")
		return true, &corev1.SecretList{}, nil
	})
	scheme := runtime.NewScheme()
	_ = metav1.AddMetaToScheme(scheme)
	meta := metadatafake.NewSimpleMetadataClient(scheme, partial(capi), partial(opaque), partial(unrelated))
	c := newTestCollector()
	if err := (&KubeconfigSecrets{Client: client, Metadata: meta}).Collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	_, fs, _ := c.Results()
	f := mustFind(t, fs, diagnose.CodeExpired, "secret cluster-prod/prod-kubeconfig")
	if f.Source != result.SourceKubeconfigSecret || !strings.Contains(f.Fix, "get secret/CLUSTER_NAME-kubeconfig") {
		t.Errorf("finding: %s", dump(f))
	}
	mustFind(t, fs, diagnose.CodeExpiring, "secret tools/ci-kubeconfig")
	if sort.Strings(gets); strings.Join(gets, ",") != "ci-kubeconfig,prod-kubeconfig" {
		t.Errorf("only the name-matched candidates may be fetched, got %v", gets)
	}
	assertNoKeyMaterial(t, c, expired.KeyPEM())
}

func partial(s *corev1.Secret) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: s.ObjectMeta}
}
