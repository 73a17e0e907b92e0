//go:build e2e

// Default-install shapes of the products `kubectl certdoctor webhook <profile>` knows,
// recreated on the e2e cluster: namespaces, certificates in the products' own secret layouts,
// Services, pods (the harness image e2e.local/webhook:1 with each product's real container
// names, args, env, ports, probes and sidecars), webhook configurations, APIServices and CRD
// conversion webhooks, with caBundles as the products' controllers leave them at runtime.
//
// The shapes follow:
//   - cert-manager v1.21.1 (chart; master 2d0d7f7f has the same webhook templates)
//   - ingress-nginx controller v1.15.1 / chart 4.15.1
//   - kyverno v1.19.0 / chart 3.9.0
//   - gatekeeper v3.23.0 (chart templates identical on master, 3.24.0-beta.0)
//   - linkerd edge-26.8.3 (linkerd-control-plane chart)
//   - istio 1.30.3 (base + istio-discovery charts)
//   - metrics-server v0.9.0 (static components.yaml)
//   - knative-serving knative-v1.23.0 (knative/pkg 521cb33b33dd)
//   - external-secrets v2.9.0 / chart helm-chart-2.9.0
//   - aws-load-balancer-controller v3.5.0 / chart 3.5.0
//   - keda v2.20.2 (kedacore/charts 2.20.2)
//   - tekton-pipelines v1.15.0
//   - vault-agent-injector: vault-helm v0.34.1 + vault-k8s v1.7.6
//   - trust-manager v0.24.0 (cert-manager/trust-manager v0.24.0-88-gfc1b53d, chart deploy/charts/trust-manager)
//
// Files: the product builders are in products_shapes_{a,b,c,d,e}_test.go, the kit they use in
// this file (namespaces, certificates, secret layouts), products_shapes_pods_test.go (the
// harness, pods, Services), products_shapes_config_test.go (webhook configurations,
// APIServices, conversion CRDs) and products_shapes_wait_test.go; TestProducts is in
// products_test.go.
//
// Deliberate differences from the real installs, none of which the diagnosis depends on:
// one pod per Deployment (bare Pods on e2e-cp, named like a ReplicaSet's); probe timings
// shortened (periodSeconds 1, no initialDelaySeconds) so pods are Ready in a second; no
// ServiceAccounts, RBAC, Jobs or init containers that exit (linkerd-init, kyverno-pre);
// products whose `command:` names their own binary (gatekeeper's /manager, ...) keep only
// their args; serving certificates that live only in a process's memory (cert-manager,
// istiod, vault-agent-injector) reach the harness through the secret e2e-in-memory-serving-cert,
// and those read through an informer (kyverno, knative, tekton) by mounting the product's own
// secret at /e2e-certs.
package e2e

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiext "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
	aggregator "k8s.io/kube-aggregator/pkg/client/clientset_generated/clientset"
	"k8s.io/utils/ptr"
)

const (
	harnessImage = "e2e.local/webhook:1"
	// harnessCertDir is where a product that keeps its serving certificate in memory or
	// reads it through an informer gets it as files for the harness.
	harnessCertDir = "/e2e-certs"
	// inMemorySecret holds those in-memory serving certificates (no real install has it).
	inMemorySecret = "e2e-in-memory-serving-cert"
	shapeTimeout   = 60 * time.Second
)

// ---------------------------------------------------------------------------------------
// Clients beyond the core clientset

var (
	extraOnce sync.Once
	aggClient aggregator.Interface
	extClient apiext.Interface
	dynClient dynamic.Interface
	extraErr  error
)

func extraClients(t *testing.T) {
	t.Helper()
	extraOnce.Do(func() {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconf)
		if err != nil {
			extraErr = err
			return
		}
		cfg.Timeout = 30 * time.Second
		if aggClient, extraErr = aggregator.NewForConfig(cfg); extraErr != nil {
			return
		}
		if extClient, extraErr = apiext.NewForConfig(cfg); extraErr != nil {
			return
		}
		dynClient, extraErr = dynamic.NewForConfig(cfg)
	})
	if extraErr != nil {
		t.Fatalf("clients: %v", extraErr)
	}
}

// ---------------------------------------------------------------------------------------
// kit: one product's objects, all labelled for this test and removed when it ends

type kit struct {
	t     *testing.T
	ns    string
	nsUID types.UID
	ctx   context.Context
}

// newKit creates the product's namespace (with the product's own labels) and deletes it
// when the test ends; kube-system is never created or deleted: only the objects the test
// made in it are removed.
func newKit(t *testing.T, ns string, nsLabels map[string]string) *kit {
	t.Helper()
	extraClients(t)
	k := &kit{t: t, ns: ns, ctx: ctxT(t)}
	if ns == "kube-system" {
		t.Cleanup(k.deleteOwnIn)
		n, err := client.CoreV1().Namespaces().Get(k.ctx, ns, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		k.nsUID = n.UID
		return k
	}
	obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: k.labels(nsLabels)}}
	for {
		n, err := client.CoreV1().Namespaces().Create(k.ctx, obj, metav1.CreateOptions{})
		if err == nil {
			k.nsUID = n.UID
			break
		}
		old, gerr := client.CoreV1().Namespaces().Get(k.ctx, ns, metav1.GetOptions{})
		switch {
		case gerr == nil && old.Labels[testLabel] == "":
			t.Fatalf("namespace %s exists and was not made by a test: refusing to use it", ns)
		case gerr == nil && old.DeletionTimestamp == nil:
			t.Fatalf("namespace %s of an earlier test still exists", ns)
		case k.ctx.Err() != nil:
			t.Fatalf("create namespace %s: %v", ns, err)
		}
		time.Sleep(300 * time.Millisecond) // an earlier run's namespace is still terminating
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := client.CoreV1().Secrets(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			t.Errorf("delete secrets in %s: %v", ns, err)
		}
		if err := client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete namespace %s: %v", ns, err)
		}
	})
	for {
		if _, err := client.CoreV1().ServiceAccounts(ns).Get(k.ctx, "default", metav1.GetOptions{}); err == nil {
			return k
		}
		if k.ctx.Err() != nil {
			t.Fatalf("namespace %s has no default ServiceAccount", ns)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// deleteOwnIn removes what this test created in a namespace it did not create.
func (k *kit) deleteOwnIn() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	deleteLabelled(ctx, k.t, k.ns, testLabel+"="+testName(k.t))
}

// deleteLabelled deletes the pods (at once), Services and secrets in ns matching sel.
func deleteLabelled(ctx context.Context, t *testing.T, ns, sel string) {
	cs := client.CoreV1()
	opts := metav1.ListOptions{LabelSelector: sel}
	if err := cs.Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}, opts); err != nil {
		t.Errorf("delete pods %s in %s: %v", sel, ns, err)
	}
	if l, err := cs.Services(ns).List(ctx, opts); err == nil {
		for _, s := range l.Items {
			if err := cs.Services(ns).Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("delete service %s/%s: %v", ns, s.Name, err)
			}
		}
	}
	if err := cs.Secrets(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, opts); err != nil {
		t.Errorf("delete secrets %s in %s: %v", sel, ns, err)
	}
}

// labels returns m plus the test label (a new map).
func (k *kit) labels(m map[string]string) map[string]string {
	out := map[string]string{testLabel: testName(k.t)}
	for key, v := range m {
		out[key] = v
	}
	return out
}

func (k *kit) meta(name string, lbl, ann map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: k.ns, Labels: k.labels(lbl), Annotations: ann}
}

// namespaceOwner is the ownerReference knative/pkg puts on the configurations it manages.
func (k *kit) namespaceOwner() []metav1.OwnerReference {
	return []metav1.OwnerReference{{APIVersion: "v1", Kind: "Namespace", Name: k.ns, UID: k.nsUID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}
}

// cleanup registers a deletion of a cluster-scoped object (NotFound is fine).
func (k *kit) cleanup(what string, del func(ctx context.Context) error) {
	k.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := del(ctx); err != nil && !apierrors.IsNotFound(err) {
			k.t.Errorf("delete %s: %v", what, err)
		}
	})
}

// ---------------------------------------------------------------------------------------
// Certificates and the products' secret layouts

// pki is a CA and a serving certificate it signed.
type pki struct {
	ca        *CA
	cert, key []byte
	leaf      *x509.Certificate
}

// caFrom makes a self-signed CA from spec (its Key, when set, is the CA's key).
func caFrom(t *testing.T, spec CertSpec) *CA {
	t.Helper()
	if spec.Key == nil {
		spec.Key = newKey(t)
	}
	spec.IsCA = true
	certPEM, _, cert := issue(t, nil, spec)
	return &CA{Cert: cert, CertPEM: certPEM, Key: spec.Key}
}

// serving issues a serving certificate from ca.
func serving(t *testing.T, ca *CA, spec CertSpec) pki {
	t.Helper()
	spec.Server = true
	cert, key, leaf := issue(t, ca, spec)
	return pki{ca: ca, cert: cert, key: key, leaf: leaf}
}

func rsaKey(t *testing.T) crypto.Signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sprigSelfSigned is Helm's genSelfSignedCert (sprig): a self-signed LEAF (basicConstraints
// CA:FALSE, no certSign), RSA 2048, CN and the only DNS name = host. Linkerd puts it both in
// the secret and in the caBundle.
func sprigSelfSigned(t *testing.T, host string, notBefore, notAfter time.Time) pki {
	t.Helper()
	key := rsaKey(t)
	tmpl := &x509.Certificate{SerialNumber: serial(t), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: notBefore.UTC(), NotAfter: notAfter.UTC(), BasicConstraintsValid: true, IsCA: false,
		KeyUsage:    x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return pki{ca: &CA{Cert: leaf, CertPEM: certPEM, Key: key}, cert: certPEM, key: keyPEM(t, key), leaf: leaf}
}

// layout names the data keys a product keeps its CA, CA key, certificate and key under
// ("" = not kept).
type layout struct{ ca, caKey, cert, key string }

var (
	// cert-controller (gatekeeper, keda, external-secrets)
	layoutRotator = layout{ca: "ca.crt", caKey: "ca.key", cert: "tls.crt", key: "tls.key"}
	// kubernetes.io/tls with ca.crt (Helm genCA + genSignedCert, cert-manager)
	layoutTLSCA = layout{ca: "ca.crt", cert: "tls.crt", key: "tls.key"}
	// kubernetes.io/tls without a CA (linkerd, kyverno's pair and CA secrets)
	layoutTLS = layout{cert: "tls.crt", key: "tls.key"}
	// kube-webhook-certgen (ingress-nginx)
	layoutCertgen = layout{ca: "ca", cert: "cert", key: "key"}
	// knative/pkg certificates controller (knative-serving, tekton)
	layoutKnative = layout{ca: "ca-cert.pem", cert: "server-cert.pem", key: "server-key.pem"}
)

// data lays p out: the CA (and its key when the layout keeps it), the certificate, the key.
func (l layout) data(t *testing.T, p pki) map[string][]byte {
	t.Helper()
	d := map[string][]byte{l.cert: p.cert, l.key: p.key}
	if l.ca != "" {
		d[l.ca] = p.ca.CertPEM
	}
	if l.caKey != "" {
		d[l.caKey] = keyPEM(t, p.ca.Key)
	}
	return d
}

// caSecretData is a CA kept as its own certificate and key (cert-manager's
// cert-manager-webhook-ca, kyverno's *-kyverno-tls-ca): the CA is the "certificate".
func caSecretData(t *testing.T, l layout, ca *CA) map[string][]byte {
	t.Helper()
	return l.data(t, pki{ca: ca, cert: ca.CertPEM, key: keyPEM(t, ca.Key)})
}

func (k *kit) secret(name string, typ corev1.SecretType, data map[string][]byte, lbl, ann map[string]string) {
	k.t.Helper()
	s := &corev1.Secret{ObjectMeta: k.meta(name, lbl, ann), Type: typ, Data: data}
	if _, err := client.CoreV1().Secrets(k.ns).Create(k.ctx, s, metav1.CreateOptions{}); err != nil {
		k.t.Fatalf("create secret %s/%s: %v", k.ns, name, err)
	}
}

// updateSecret replaces a secret's data (a rotation).
func (k *kit) updateSecret(name string, data map[string][]byte) {
	k.t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := client.CoreV1().Secrets(k.ns).Get(k.ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		s.Data = data
		_, err = client.CoreV1().Secrets(k.ns).Update(k.ctx, s, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		k.t.Fatalf("update secret %s/%s: %v", k.ns, name, err)
	}
}

// inMemory makes a process-memory serving certificate available to the harness: the
// secret inMemorySecret, its volume and mount, and the harness's E2E_CERT/E2E_KEY.
func (k *kit) inMemory(p pki) (corev1.Volume, corev1.VolumeMount) {
	k.t.Helper()
	k.secret(inMemorySecret, corev1.SecretTypeTLS, layoutTLS.data(k.t, p), nil, nil)
	return secretVolume("e2e-serving-cert", inMemorySecret), mount("e2e-serving-cert", harnessCertDir)
}

func bundle(cas ...*CA) []byte {
	var b []byte
	for _, ca := range cas {
		b = append(b, ca.CertPEM...)
	}
	return b
}
