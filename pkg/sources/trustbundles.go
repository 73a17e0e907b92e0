package sources

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// trustAPI is one of trust-manager's bundle APIs. Both are cluster-scoped and label
// every ConfigMap and Secret they write with the bundle's name (checked in trust-manager
// v0.24.0: pkg/apis/trust/v1alpha1 and pkg/apis/trustmanager/v1alpha2).
type trustAPI struct {
	gvr   schema.GroupVersionResource
	label string
	// keys returns the data keys a bundle writes PEM to, in its ConfigMaps and Secrets.
	keys func(u *unstructured.Unstructured) (configMap, secret []string)
}

// BundleGVR is trust-manager's Bundle (spec.target.configMap.key, spec.target.secret.key).
var BundleGVR = schema.GroupVersionResource{Group: "trust.cert-manager.io", Version: "v1alpha1", Resource: "bundles"}

// ClusterBundleGVR is trust-manager's ClusterBundle (spec.target.configMap.data[].key,
// with format PEM, the default, or PKCS12, which is binary and not read here).
var ClusterBundleGVR = schema.GroupVersionResource{Group: "trust-manager.io", Version: "v1alpha2", Resource: "clusterbundles"}

var trustAPIs = []trustAPI{
	{gvr: BundleGVR, label: "trust.cert-manager.io/bundle", keys: func(u *unstructured.Unstructured) ([]string, []string) {
		cm, _, _ := unstructured.NestedString(u.Object, "spec", "target", "configMap", "key")
		sec, _, _ := unstructured.NestedString(u.Object, "spec", "target", "secret", "key")
		return nonEmpty(cm), nonEmpty(sec)
	}},
	{gvr: ClusterBundleGVR, label: "trust-manager.io/bundle", keys: func(u *unstructured.Unstructured) ([]string, []string) {
		return pemKeys(u, "configMap"), pemKeys(u, "secret")
	}},
}

// TrustBundleOf names the trust-manager object that wrote an object with these labels,
// as kubectl names it ("bundles.trust.cert-manager.io/NAME"); "" for any other object.
func TrustBundleOf(labels map[string]string) string {
	for _, api := range trustAPIs {
		if name := labels[api.label]; name != "" {
			return api.kubectlName(name)
		}
	}
	return ""
}

// kubectlName is how kubectl names the bundle object: "bundles.trust.cert-manager.io/NAME".
func (a trustAPI) kubectlName(bundle string) string {
	return a.gvr.GroupResource().String() + "/" + bundle
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func pemKeys(u *unstructured.Unstructured, kind string) []string {
	data, _, _ := unstructured.NestedSlice(u.Object, "spec", "target", kind, "data")
	var keys []string
	for _, d := range data {
		m, _ := d.(map[string]any)
		key, _ := m["key"].(string)
		format, _ := m["format"].(string)
		if key != "" && (format == "" || strings.EqualFold(format, "PEM")) {
			keys = append(keys, key)
		}
	}
	return keys
}

// TrustBundles reports the CA bundles that are distributed to namespaces rather than
// served: the ConfigMaps and Secrets trust-manager's Bundles and ClusterBundles write
// (found from the bundle objects, when their API is served) and, with Opaque, the
// certificate files (keys ending in .crt or .pem) of Opaque secrets. Each bundle is
// judged as a set (Collector.AddBundle), and against the TLS secrets in the same
// namespace: a bundle that holds a CA of the name that issued one of them, but not the
// CA that signed it, is left behind by a rotation.
type TrustBundles struct {
	Client    kubernetes.Interface
	Discovery discovery.DiscoveryInterface
	Dynamic   dynamic.Interface
	Namespace string
	// Opaque adds the certificate files of Opaque secrets (--opaque).
	Opaque bool

	cache parseCache
	// byNamespace holds every bundle found, for the comparison with the TLS secrets.
	byNamespace map[string][]*heldBundle
}

// heldBundle is one bundle's data as it lies in one or more namespaces.
type heldBundle struct {
	ctx   diagnose.CertContext
	pool  *x509.CertPool
	names map[string]bool // raw subjects of its CAs
}

func (t *TrustBundles) Name() string { return "trust-bundle" }

// Collect implements Source.
func (t *TrustBundles) Collect(ctx context.Context, c *Collector) error {
	t.byNamespace = map[string][]*heldBundle{}
	installed := false
	for _, api := range trustAPIs {
		ok, err := t.trustManager(ctx, c, api)
		if err != nil {
			return err
		}
		installed = installed || ok
	}
	if !installed {
		c.Note("trust-manager is not installed (no %s or %s API): no Bundle targets to check",
			BundleGVR.GroupVersion(), ClusterBundleGVR.GroupVersion())
	}
	if t.Opaque {
		if err := t.opaqueSecrets(ctx, c); err != nil {
			return err
		}
	}
	if len(t.byNamespace) == 0 {
		return nil
	}
	return t.compareWithTLSSecrets(ctx, c)
}

// trustManager reads the targets of one bundle API; false when the API is not served.
func (t *TrustBundles) trustManager(ctx context.Context, c *Collector, api trustAPI) (bool, error) {
	if err := groupVersionServed(ctx, t.Discovery, api.gvr.GroupVersion().String()); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	type keys struct{ configMap, secret []string }
	bundles := map[string]keys{}
	toSecrets := false // whether any bundle writes Secrets: only then are they listed
	err := eachPage(ctx, metav1.ListOptions{}, func(ctx context.Context, o metav1.ListOptions) ([]unstructured.Unstructured, string, error) {
		l, err := t.Dynamic.Resource(api.gvr).List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.GetContinue(), nil
	}, func(items []unstructured.Unstructured) {
		for i := range items {
			cm, sec := api.keys(&items[i])
			bundles[items[i].GetName()] = keys{cm, sec}
			toSecrets = toSecrets || len(sec) > 0
		}
	})
	if denied(c, err, result.SourceConfigMap, api.gvr.Resource, api.gvr.Group, "") {
		return true, nil
	}
	if err != nil || len(bundles) == 0 {
		return true, err
	}
	g := newBundleGroups()
	opts := metav1.ListOptions{LabelSelector: api.label}
	err = eachPage(ctx, opts, func(ctx context.Context, o metav1.ListOptions) ([]corev1.ConfigMap, string, error) {
		l, err := t.Client.CoreV1().ConfigMaps(t.Namespace).List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}, func(items []corev1.ConfigMap) {
		for _, cm := range items {
			name := cm.Labels[api.label]
			for _, key := range bundles[name].configMap {
				if data, ok := cm.Data[key]; ok {
					g.add(bundleKey{kind: "configmap", name: cm.Name, key: key, bundle: name, data: data}, cm.Namespace)
				}
			}
		}
	})
	if err := listed(c, err, result.SourceConfigMap, "configmaps", t.Namespace); err != nil {
		return true, err
	}
	if toSecrets {
		err = eachSecretPage(ctx, t.Client, t.Namespace, opts, func(items []corev1.Secret) {
			for _, sec := range items {
				name := sec.Labels[api.label]
				for _, key := range bundles[name].secret {
					if data, ok := sec.Data[key]; ok {
						g.add(bundleKey{kind: "secret", name: sec.Name, key: key, bundle: name, data: string(data)}, sec.Namespace)
					}
				}
			}
		})
		if err := listed(c, err, result.SourceSecret, "secrets", t.Namespace); err != nil {
			return true, err
		}
	}
	for _, k := range g.order {
		t.judge(c, k, g.namespaces[k], api.kubectlName(k.bundle))
	}
	return true, nil
}

// listed turns a failed list into a permission finding (nil: go on) or the error.
func listed(c *Collector, err error, source, resource, ns string) error {
	if denied(c, err, source, resource, "", ns) {
		return nil
	}
	return err
}

// bundleKey is one bundle's data under one key; identical copies in several namespaces
// (the usual case: a bundle written to every namespace) are one row that counts them.
type bundleKey struct {
	kind, name, key, bundle string
	data                    string
}

type bundleGroups struct {
	namespaces map[bundleKey][]string
	order      []bundleKey
}

func newBundleGroups() *bundleGroups { return &bundleGroups{namespaces: map[bundleKey][]string{}} }

func (g *bundleGroups) add(k bundleKey, ns string) {
	if _, ok := g.namespaces[k]; !ok {
		g.order = append(g.order, k)
	}
	g.namespaces[k] = append(g.namespaces[k], ns)
}

// judge records one bundle's certificates and keeps it for the comparison with the TLS
// secrets of its namespaces. trustBundle is the trust-manager object that writes it.
func (t *TrustBundles) judge(c *Collector, k bundleKey, nss []string, trustBundle string) {
	sort.Strings(nss)
	loc := fmt.Sprintf("%s %s/%s %s", k.kind, nss[0], k.name, k.key)
	if len(nss) > 1 {
		loc = fmt.Sprintf("%s %s %s in %d namespaces (%s)", k.kind, k.name, k.key, len(nss), abbreviate(nss, 3))
	}
	source := result.SourceConfigMap
	if k.kind == "secret" {
		source = result.SourceSecret
	}
	infos, err := t.cache.parse([]byte(k.data))
	if err != nil {
		c.Finding(diagnose.InvalidCertificate(source, loc, err))
		return
	}
	name := k.name
	if len(nss) == 1 {
		name = nss[0] + "/" + k.name
	}
	// AddBundle decides whether the data is a bundle of CAs or a chain with its leaf.
	bctx := diagnose.CertContext{Source: source, Subject: loc, Namespace: nss[0], Name: k.name, Key: k.key,
		TrustBundle: trustBundle}
	c.AddBundle(infos, result.Record{Source: source, Name: name, Location: loc}, bctx)
	held := &heldBundle{ctx: bctx, pool: x509.NewCertPool(), names: map[string]bool{}}
	for _, info := range infos {
		if info.Cert != nil && info.IsCA {
			held.pool.AddCert(info.Cert)
			held.names[string(info.Cert.RawSubject)] = true
		}
	}
	if len(held.names) == 0 {
		return
	}
	for _, ns := range nss {
		t.byNamespace[ns] = append(t.byNamespace[ns], held)
	}
}

// isCertificateFile says whether a secret key names a certificate file.
func isCertificateFile(key string) bool {
	k := strings.ToLower(key)
	return strings.HasSuffix(k, ".crt") || strings.HasSuffix(k, ".pem")
}

// opaqueSecrets reads the certificate files of Opaque secrets. A .pem file may hold a
// private key next to its certificate: only CERTIFICATE blocks are parsed, the key is
// dropped before parsing, and data without a certificate block is not a finding.
func (t *TrustBundles) opaqueSecrets(ctx context.Context, c *Collector) error {
	g := newBundleGroups()
	opts := metav1.ListOptions{FieldSelector: "type=" + string(corev1.SecretTypeOpaque)}
	err := eachSecretPage(ctx, t.Client, t.Namespace, opts, func(items []corev1.Secret) {
		for _, sec := range items {
			if sec.Type != corev1.SecretTypeOpaque && sec.Type != "" {
				continue // the field selector already says so, except to servers that ignore it
			}
			for key, data := range sec.Data {
				if !isCertificateFile(key) || !strings.Contains(string(data), "-----BEGIN CERTIFICATE-----") {
					continue
				}
				g.add(bundleKey{kind: "secret", name: sec.Name, key: key, data: string(certs.StripPrivateKeys(data))}, sec.Namespace)
			}
		}
	})
	if err := listed(c, err, result.SourceSecret, "secrets", t.Namespace); err != nil {
		return err
	}
	sort.Slice(g.order, func(i, j int) bool {
		a, b := g.order[i], g.order[j]
		return g.namespaces[a][0]+"/"+a.name+" "+a.key < g.namespaces[b][0]+"/"+b.name+" "+b.key
	})
	for _, k := range g.order {
		t.judge(c, k, g.namespaces[k], "")
	}
	return nil
}

// compareWithTLSSecrets finds the TLS secrets of a bundle's namespaces whose issuer has
// the name of a CA in the bundle, yet does not verify against it. A secret issued by a
// CA the bundle does not name at all (a public CA, another team's) is not the bundle's
// business and is not reported.
func (t *TrustBundles) compareWithTLSSecrets(ctx context.Context, c *Collector) error {
	opts := metav1.ListOptions{FieldSelector: "type=" + string(corev1.SecretTypeTLS)}
	err := eachSecretPage(ctx, t.Client, t.Namespace, opts, func(items []corev1.Secret) {
		for _, sec := range items {
			held := t.byNamespace[sec.Namespace]
			if len(held) == 0 || sec.Type != corev1.SecretTypeTLS {
				continue
			}
			// Parsed and dropped, secret by secret: a cache would keep every chain of
			// these namespaces for the whole run.
			chain, err := certs.ParseBundle(sec.Data[corev1.TLSCertKey])
			if err != nil || len(chain) == 0 {
				continue // an unreadable tls.crt is the TLS secrets source's finding
			}
			for _, b := range held {
				lacksIssuer(c, b, "secret "+sec.Namespace+"/"+sec.Name, chain)
			}
		}
	})
	return listed(c, err, result.SourceSecret, "secrets", t.Namespace)
}

// lacksIssuer reports a chain whose top certificate was issued under a name the bundle
// holds, when the bundle does not verify it. Expiry is judged elsewhere: only Go's
// "unknown authority" counts here.
func lacksIssuer(c *Collector, b *heldBundle, secret string, chain []*x509.Certificate) {
	leaf, top := chain[0], chain[len(chain)-1]
	if !b.names[string(top.RawIssuer)] {
		return
	}
	inter := x509.NewCertPool()
	for _, i := range chain[1:] {
		inter.AddCert(i)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: b.pool, Intermediates: inter, CurrentTime: c.Now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	var unknown x509.UnknownAuthorityError
	if err == nil || !errors.As(err, &unknown) {
		return
	}
	ca := top.Issuer.CommonName
	if ca == "" {
		ca = top.Issuer.String()
	}
	c.Finding(diagnose.BundleLacksIssuer(b.ctx, ca, secret, certs.Describe(leaf), err.Error()))
}
