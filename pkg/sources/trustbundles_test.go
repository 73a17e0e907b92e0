package sources

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	discoveryfake "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

func caValid(cn string, from, to float64) *certstest.Pair {
	return certstest.SelfSigned(certstest.Opts{CN: cn, IsCA: true, NotBefore: certstest.Days(from), NotAfter: certstest.Days(to)})
}

func bundleInfos(t *testing.T, pairs ...*certstest.Pair) []*result.CertInfo {
	t.Helper()
	var p parseCache
	infos, err := p.parse(certstest.Bundle(pairs...))
	if err != nil {
		t.Fatal(err)
	}
	return infos
}

// A bundle is judged as a set: what clients that trust it will see.
func TestAddBundle(t *testing.T) {
	old, cur, next := caValid("old", -400, -5), caValid("current", -30, 300), caValid("next", 10, 700)
	soon := caValid("soon", -300, 5)
	leaf := cur.Issue(certstest.Opts{CN: "leaf", DNS: []string{"leaf"}, NotBefore: certstest.Days(-10), NotAfter: certstest.Days(-1)})
	cases := []struct {
		name  string
		pairs []*certstest.Pair
		codes []string // the findings' codes, in order
		in    string   // a text the first finding's message must hold
	}{
		{"rotation prepared ahead", []*certstest.Pair{cur, next}, nil, ""},
		{"old CA left behind", []*certstest.Pair{old, cur}, []string{diagnose.CodeTrustBundleStaleCA}, `1 expired CA certificate(s) (old until `},
		{"every CA expired", []*certstest.Pair{old, caValid("older", -800, -100)}, []string{diagnose.CodeExpired}, `none of the 2 CA certificates`},
		{"none valid yet", []*certstest.Pair{next, caValid("later", 20, 800)}, []string{diagnose.CodeNotYetValid}, `"next"`},
		{"last valid CA expires soon", []*certstest.Pair{old, soon}, []string{diagnose.CodeExpiring, diagnose.CodeTrustBundleStaleCA}, `"soon" expires in`},
		{"one CA, expired", []*certstest.Pair{old}, []string{diagnose.CodeExpired}, `CA certificate "old" expired`},
		{"a chain, not a bundle", []*certstest.Pair{leaf, cur}, []string{diagnose.CodeExpired}, `"leaf"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCollector()
			c.AddBundle(bundleInfos(t, tc.pairs...), result.Record{Source: result.SourceConfigMap, Name: "b", Location: "configmap ns/b ca.crt"},
				diagnose.CertContext{Namespace: "ns", Name: "b", Key: "ca.crt"})
			recs, fs, _ := c.Results()
			if len(recs) != len(tc.pairs) {
				t.Errorf("want a record per certificate, got %s", dump(recs))
			}
			var codes []string
			for _, f := range fs {
				codes = append(codes, f.Code)
				if f.Source != result.SourceConfigMap || f.Subject != "configmap ns/b ca.crt" && !strings.HasPrefix(f.Subject, "configmap ns/b ca.crt[") {
					t.Errorf("finding about %q from %q", f.Subject, f.Source)
				}
			}
			if strings.Join(codes, ",") != strings.Join(tc.codes, ",") {
				t.Fatalf("codes %v, want %v: %s", codes, tc.codes, dump(fs))
			}
			if tc.in != "" && !strings.Contains(fs[0].Message, tc.in) {
				t.Errorf("message %q lacks %q", fs[0].Message, tc.in)
			}
		})
	}
}

var trustLists = map[schema.GroupVersionResource]string{BundleGVR: "BundleList", ClusterBundleGVR: "ClusterBundleList"}

func trustDiscovery(gvs ...string) *discoveryfake.FakeDiscovery {
	d := &discoveryfake.FakeDiscovery{Fake: &k8stesting.Fake{}}
	for _, gv := range gvs {
		d.Resources = append(d.Resources, &metav1.APIResourceList{GroupVersion: gv})
	}
	return d
}

func bundleObject(name string, target map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "trust.cert-manager.io/v1alpha1", "kind": "Bundle",
		"metadata": map[string]any{"name": name}, "spec": map[string]any{"sources": []any{}, "target": target}}}
}

func labelled(obj metav1.Object, label, value string) {
	obj.SetLabels(map[string]string{label: value})
}

func TestTrustBundles(t *testing.T) {
	oldCorp, newCorp, public := certstest.NewCA("corp-root"), certstest.NewCA("corp-root"), certstest.NewCA("public-root")
	stale := string(oldCorp.CertPEM())
	var objs []runtime.Object
	for _, ns := range []string{"app", "web"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "corp-bundle"}, Data: map[string]string{"ca.crt": stale, "other": "x"}}
		labelled(cm, "trust.cert-manager.io/bundle", "corp-bundle")
		objs = append(objs, cm)
	}
	// A ClusterBundle writing PEM and PKCS12 into a secret: only the PEM key is read.
	cb := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "fleet"}, Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{"bundle.pem": certstest.Bundle(newCorp, public), "truststore.p12": []byte("\x30\x82binary")}}
	labelled(cb, "trust-manager.io/bundle", "fleet")
	// An unlabelled config map named like the bundle is not trust-manager's.
	objs = append(objs, cb, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "corp-bundle"}, Data: map[string]string{"ca.crt": "junk"}})
	tlsSecret := func(ns, name string, issuer *certstest.Pair) *corev1.Secret {
		leaf := issuer.Issue(certstest.Opts{CN: name + ".example", DNS: []string{name + ".example"}})
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Type: corev1.SecretTypeTLS,
			Data: map[string][]byte{"tls.crt": leaf.CertPEM()}}
	}
	objs = append(objs,
		tlsSecret("app", "api", newCorp),         // issued by the new corp-root: the stale bundle lacks it
		tlsSecret("app", "shop", public),         // a CA the corp bundle does not name: none of its business
		tlsSecret("other", "elsewhere", newCorp)) // no bundle in that namespace
	client := fake.NewSimpleClientset(objs...)
	cluster := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "trust-manager.io/v1alpha2", "kind": "ClusterBundle",
		"metadata": map[string]any{"name": "fleet"}, "spec": map[string]any{"target": map[string]any{"secret": map[string]any{
			"data": []any{map[string]any{"key": "bundle.pem"}, map[string]any{"key": "truststore.p12", "format": "PKCS12"}}}}}}}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), trustLists,
		bundleObject("corp-bundle", map[string]any{"configMap": map[string]any{"key": "ca.crt"}}), cluster)
	src := &TrustBundles{Client: client, Discovery: trustDiscovery("trust.cert-manager.io/v1alpha1", "trust-manager.io/v1alpha2"), Dynamic: dyn}
	c := newTestCollector()
	if err := src.Collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	recs, fs, _ := c.Results()
	locs := map[string]bool{}
	for _, r := range recs {
		locs[r.Location] = true
	}
	for _, want := range []string{"configmap corp-bundle ca.crt in 2 namespaces (app, web)", "secret app/fleet bundle.pem[0]", "secret app/fleet bundle.pem[1]"} {
		if !locs[want] {
			t.Errorf("no record at %q: %s", want, dump(recs))
		}
	}
	if len(recs) != 3 {
		t.Errorf("want 3 records (junk, p12 and unlabelled objects unread): %s", dump(recs))
	}
	f := mustFind(t, fs, diagnose.CodeUnknownAuthority, "configmap corp-bundle")
	for _, want := range []string{`holds a CA named "corp-root", but not the one that signed secret app/api`, "api.example"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message %q lacks %q", f.Message, want)
		}
	}
	if !strings.Contains(f.Error, `x509: certificate signed by unknown authority (possibly because of "x509: ECDSA verification failure" while trying to verify candidate authority certificate "corp-root")`) {
		t.Errorf("error %q is not Go's", f.Error)
	}
	if !strings.Contains(f.Fix, "kubectl get bundles.trust.cert-manager.io/corp-bundle -o yaml") {
		t.Errorf("fix %q", f.Fix)
	}
	if len(fs) != 1 {
		t.Errorf("want only that finding (shop's public CA and the namespace without a bundle are not the bundle's): %s", dump(fs))
	}
	// explain recognises the error the finding quotes, as the same cause.
	if ex := diagnose.Default().Explain(f.Error, nil); len(ex) == 0 || ex[0].Code != diagnose.CodeUnknownAuthority {
		t.Errorf("explain %s", dump(ex))
	}
}

func TestTrustBundlesAbsentOrDenied(t *testing.T) {
	c := newTestCollector()
	src := &TrustBundles{Client: fake.NewSimpleClientset(), Discovery: trustDiscovery()}
	if err := src.Collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if recs, fs, notes := c.Results(); len(recs)+len(fs) != 0 || len(notes) != 1 || !strings.Contains(notes[0], "trust-manager is not installed") {
		t.Fatalf("without trust-manager: %s %s %v", dump(recs), dump(fs), notes)
	}

	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), trustLists)
	dyn.PrependReactor("list", "bundles", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "trust.cert-manager.io", Resource: "bundles"}, "", errFake("rbac"))
	})
	c = newTestCollector()
	src = &TrustBundles{Client: fake.NewSimpleClientset(), Discovery: trustDiscovery("trust.cert-manager.io/v1alpha1"), Dynamic: dyn}
	if err := src.Collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	_, fs, _ := c.Results()
	if len(fs) != 1 || fs[0].Code != diagnose.CodePermissionDenied || !strings.Contains(fs[0].Message+fs[0].Error, "bundles") {
		t.Fatalf("a denied list of bundles: %s", dump(fs))
	}
}

type errFake string

func (e errFake) Error() string { return string(e) }

// --opaque reads .crt and .pem files of Opaque secrets; a .pem may hold a private key,
// which never reaches the report.
func TestOpaqueSecrets(t *testing.T) {
	ca := certstest.NewCA("app-ca")
	expired := certstest.SelfSigned(certstest.Opts{CN: "gone-ca", IsCA: true, NotBefore: certstest.Days(-100), NotAfter: certstest.Days(-2)})
	leaf := ca.Issue(certstest.Opts{CN: "svc", DNS: []string{"svc"}})
	withKey := append(leaf.CertPEM(), leaf.KeyPEM()...)
	objs := []runtime.Object{
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "files"}, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{
			"ca.crt": certstest.Bundle(ca, expired), "svc.pem": withKey, "key.pem": leaf.KeyPEM(), "notes.txt": ca.CertPEM(), "password": []byte("x")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "only-expired"}, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"root.CRT": expired.CertPEM()}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "svc-tls"}, Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": leaf.CertPEM()}},
	}
	run := func(opaque bool) *Collector {
		c := newTestCollector()
		src := &TrustBundles{Client: fake.NewSimpleClientset(objs...), Discovery: trustDiscovery(), Opaque: opaque}
		if err := src.Collect(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if recs, fs, _ := run(false).Results(); len(recs)+len(fs) != 0 {
		t.Fatalf("without --opaque nothing is read: %s %s", dump(recs), dump(fs))
	}
	c := run(true)
	recs, fs, _ := c.Results()
	var locs []string
	for _, r := range recs {
		locs = append(locs, r.Location)
	}
	if got := strings.Join(locs, "|"); got != "secret app/files ca.crt[0]|secret app/files ca.crt[1]|secret app/files svc.pem|secret app/only-expired root.CRT" {
		t.Errorf("records %s", got)
	}
	mustFind(t, fs, diagnose.CodeTrustBundleStaleCA, "secret app/files ca.crt")
	e := mustFind(t, fs, diagnose.CodeExpired, "secret app/only-expired root.CRT")
	if !strings.Contains(e.Fix, "root.CRT in secret app/only-expired is out of date") {
		t.Errorf("fix %q", e.Fix)
	}
	if len(fs) != 2 {
		t.Errorf("findings %s", dump(fs))
	}
	assertNoKeyMaterial(t, c, leaf.KeyPEM())
}
