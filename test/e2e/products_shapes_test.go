//go:build e2e

// Default-install shapes of the products `kubectl certdoctor webhook <profile>` knows,
// recreated on the e2e cluster: namespaces, certificates in the products' own secret layouts,
// Services, pods (the harness image e2e.local/webhook:1 with each product's real container
// names, args, env, ports, probes and sidecars), webhook configurations, APIServices and CRD
// conversion webhooks, with caBundles as the products' controllers leave them at runtime.
//
// The shapes follow (research in /work/research/upstream-{A,B,C}.md):
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
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiext "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
	apiregv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
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

// ---------------------------------------------------------------------------------------
// Pods

// harness steers the e2e.local/webhook server in one container (hack/e2e/webhook/main.go).
type harness struct {
	TLS, HTTP  []string // listen addresses
	Cert, Key  string   // PEM files; "" = /certs/tls.crt, /certs/tls.key
	SelfSigned []string // hosts of an in-memory self-signed certificate (no files)
	APIGroups  []string // group/version served as aggregated APIs
	TLS13      bool     // refuse TLS 1.2
	Fail       []string // health paths answering 500
}

// from reads the key pair from dir, under the data keys of layout l.
func (h harness) from(dir string, l layout) harness {
	h.Cert, h.Key = dir+"/"+l.cert, dir+"/"+l.key
	return h
}

// in returns c running the harness: its image and E2E_* environment after c's own.
func (h harness) in(c corev1.Container) corev1.Container {
	c.Image, c.ImagePullPolicy = harnessImage, corev1.PullIfNotPresent
	c.Env = append(c.Env, corev1.EnvVar{Name: "E2E_TLS_LISTEN", Value: strings.Join(h.TLS, ",")})
	set := func(name string, v string) {
		if v != "" {
			c.Env = append(c.Env, corev1.EnvVar{Name: name, Value: v})
		}
	}
	set("E2E_HTTP_LISTEN", strings.Join(h.HTTP, ","))
	set("E2E_CERT", h.Cert)
	set("E2E_KEY", h.Key)
	set("E2E_SELF_SIGNED", strings.Join(h.SelfSigned, ","))
	set("E2E_APIGROUPS", strings.Join(h.APIGroups, ","))
	set("E2E_FAIL_PATHS", strings.Join(h.Fail, ","))
	if h.TLS13 {
		set("E2E_TLS_MIN_VERSION", "1.3")
	}
	return c
}

// setEnv sets (or adds) an environment variable of container name in p.
func setEnv(t *testing.T, p *corev1.Pod, name, key, value string) {
	t.Helper()
	c := containerNamed(t, p, name)
	for i := range c.Env {
		if c.Env[i].Name == key {
			c.Env[i].Value = value
			return
		}
	}
	c.Env = append(c.Env, corev1.EnvVar{Name: key, Value: value})
}

// replaceVolume replaces the volume of the same name in p.
func replaceVolume(t *testing.T, p *corev1.Pod, v corev1.Volume) {
	t.Helper()
	for i := range p.Spec.Volumes {
		if p.Spec.Volumes[i].Name == v.Name {
			p.Spec.Volumes[i] = v
			return
		}
	}
	t.Fatalf("pod %s has no volume %s", p.Name, v.Name)
}

func containerNamed(t *testing.T, p *corev1.Pod, name string) *corev1.Container {
	t.Helper()
	for i := range p.Spec.Containers {
		if p.Spec.Containers[i].Name == name {
			return &p.Spec.Containers[i]
		}
	}
	t.Fatalf("pod %s has no container %s", p.Name, name)
	return nil
}

// envs makes name/value pairs into EnvVars.
func envs(kv ...string) []corev1.EnvVar {
	var out []corev1.EnvVar
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

// fieldEnv is an env var from the downward API (metadata.namespace, metadata.name, ...).
func fieldEnv(name, path string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
}

// cports makes name/number pairs into TCP container ports.
func cports(kv ...any) []corev1.ContainerPort {
	var out []corev1.ContainerPort
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, corev1.ContainerPort{Name: kv[i].(string), ContainerPort: int32(kv[i+1].(int)), Protocol: corev1.ProtocolTCP})
	}
	return out
}

func port(p any) intstr.IntOrString {
	switch v := p.(type) {
	case int:
		return intstr.FromInt32(int32(v))
	case string:
		return intstr.FromString(v)
	}
	panic(fmt.Sprintf("port %v", p))
}

// probe is an httpGet probe with the product's path, port and scheme, checked every second.
func probe(path string, p any, scheme corev1.URIScheme) *corev1.Probe {
	return &corev1.Probe{PeriodSeconds: 1, TimeoutSeconds: 1, FailureThreshold: 3,
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: port(p), Scheme: scheme}}}
}

const (
	plainHTTP = corev1.URISchemeHTTP
	overTLS   = corev1.URISchemeHTTPS
)

func secretVolume(name, secret string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret}}}
}

func optionalSecretVolume(name, secret string) corev1.Volume {
	v := secretVolume(name, secret)
	v.Secret.Optional = ptr.To(true)
	return v
}

func emptyDir(name string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
}

func mount(name, path string) corev1.VolumeMount {
	return corev1.VolumeMount{Name: name, MountPath: path, ReadOnly: true}
}

// podOpt edits a pod before it is created.
type podOpt func(*corev1.Pod)

func withVolumes(v ...corev1.Volume) podOpt {
	return func(p *corev1.Pod) { p.Spec.Volumes = append(p.Spec.Volumes, v...) }
}

func withAnnotations(a map[string]string) podOpt {
	return func(p *corev1.Pod) { p.Annotations = a }
}

// withSidecars adds native sidecars: init containers with restartPolicy Always.
func withSidecars(cs ...corev1.Container) podOpt {
	return func(p *corev1.Pod) {
		for _, c := range cs {
			c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
			p.Spec.InitContainers = append(p.Spec.InitContainers, c)
		}
	}
}

func withPriorityClass(name string) podOpt {
	return func(p *corev1.Pod) { p.Spec.PriorityClassName = name }
}

// tlsPod creates the pod a Deployment named deploy would run (name deploy-xxxxx) on the
// e2e node with the pod template's labels and containers.
func (k *kit) tlsPod(deploy string, lbl map[string]string, containers []corev1.Container, opts ...podOpt) *corev1.Pod {
	k.t.Helper()
	p := &corev1.Pod{ObjectMeta: k.meta(deploy+"-"+utilrand.String(5), lbl, nil),
		Spec: corev1.PodSpec{NodeName: nodeName, Containers: containers, TerminationGracePeriodSeconds: ptr.To[int64](1),
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}}}}
	for _, o := range opts {
		o(p)
	}
	return k.createPod(p)
}

func (k *kit) createPod(p *corev1.Pod) *corev1.Pod {
	k.t.Helper()
	out, err := client.CoreV1().Pods(k.ns).Create(k.ctx, p, metav1.CreateOptions{})
	if err != nil {
		k.t.Fatalf("create pod %s/%s: %v", k.ns, p.Name, err)
	}
	return out
}

// replacePod is a rollout: a new pod from old's spec edited by edit, then old deleted.
func (k *kit) replacePod(old *corev1.Pod, edit func(*corev1.Pod)) *corev1.Pod {
	k.t.Helper()
	deploy := old.Name[:strings.LastIndex(old.Name, "-")]
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: deploy + "-" + utilrand.String(5), Namespace: k.ns, Labels: old.Labels, Annotations: old.Annotations},
		Spec: *old.Spec.DeepCopy()}
	edit(p)
	p = k.createPod(p)
	if err := client.CoreV1().Pods(k.ns).Delete(k.ctx, old.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		k.t.Fatalf("delete pod %s: %v", old.Name, err)
	}
	return p
}

// ---------------------------------------------------------------------------------------
// Services

// sport is a Service port: name, port, targetPort (number or name).
func sport(name string, p int32, target any) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: p, TargetPort: port(target), Protocol: corev1.ProtocolTCP}
}

// appHTTPS sets appProtocol: https on a Service port.
func appHTTPS(p corev1.ServicePort) corev1.ServicePort {
	p.AppProtocol = ptr.To("https")
	return p
}

func (k *kit) service(name string, lbl, ann, selector map[string]string, ports ...corev1.ServicePort) {
	k.t.Helper()
	s := &corev1.Service{ObjectMeta: k.meta(name, lbl, ann), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Selector: selector, Ports: ports}}
	if _, err := client.CoreV1().Services(k.ns).Create(k.ctx, s, metav1.CreateOptions{}); err != nil {
		k.t.Fatalf("create service %s/%s: %v", k.ns, name, err)
	}
}

// ---------------------------------------------------------------------------------------
// Webhook configurations

// hook is one webhook of a configuration. Zero values leave a field unset (the API's
// defaults: port 443, timeoutSeconds 10, matchPolicy Equivalent, ...).
type hook struct {
	name, path, svc string // svc "": the configuration's service
	port            int32
	rules           []admissionv1.RuleWithOperations
	policy          admissionv1.FailurePolicyType
	sideEffects     admissionv1.SideEffectClass // "": None
	timeout         int32
	versions        []string // admissionReviewVersions; nil: [v1]
	match           admissionv1.MatchPolicyType
	nsSel, objSel   *metav1.LabelSelector
	reinvoke        admissionv1.ReinvocationPolicyType // mutating only
}

// hookConfig is a ValidatingWebhookConfiguration or MutatingWebhookConfiguration whose
// webhooks call Service svc in the kit's namespace, trusting caBundle.
type hookConfig struct {
	name     string
	mutating bool
	lbl, ann map[string]string
	owners   []metav1.OwnerReference
	svc      string
	caBundle []byte
	hooks    []hook
}

func (c hookConfig) kind() string {
	if c.mutating {
		return "MutatingWebhookConfiguration"
	}
	return "ValidatingWebhookConfiguration"
}

func (k *kit) clientConfig(c hookConfig, h hook) admissionv1.WebhookClientConfig {
	svc := h.svc
	if svc == "" {
		svc = c.svc
	}
	ref := &admissionv1.ServiceReference{Namespace: k.ns, Name: svc}
	if h.path != "" {
		ref.Path = ptr.To(h.path)
	}
	if h.port != 0 {
		ref.Port = ptr.To(h.port)
	}
	return admissionv1.WebhookClientConfig{Service: ref, CABundle: c.caBundle}
}

func optional[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// webhooks creates the configuration and deletes it when the test ends.
func (k *kit) webhooks(c hookConfig) {
	k.t.Helper()
	meta := k.meta(c.name, c.lbl, c.ann)
	meta.Namespace, meta.OwnerReferences = "", c.owners
	adm := client.AdmissionregistrationV1()
	var err error
	if c.mutating {
		cfg := &admissionv1.MutatingWebhookConfiguration{ObjectMeta: meta, Webhooks: []admissionv1.MutatingWebhook{}}
		for _, h := range c.hooks {
			cfg.Webhooks = append(cfg.Webhooks, admissionv1.MutatingWebhook{Name: h.name, ClientConfig: k.clientConfig(c, h), Rules: h.rules,
				FailurePolicy: optional(h.policy), SideEffects: sideEffects(h), TimeoutSeconds: optional(h.timeout), AdmissionReviewVersions: reviewVersions(h),
				MatchPolicy: optional(h.match), NamespaceSelector: h.nsSel, ObjectSelector: h.objSel, ReinvocationPolicy: optional(h.reinvoke)})
		}
		_, err = adm.MutatingWebhookConfigurations().Create(k.ctx, cfg, metav1.CreateOptions{})
		k.cleanup("mwc "+c.name, func(ctx context.Context) error {
			return adm.MutatingWebhookConfigurations().Delete(ctx, c.name, metav1.DeleteOptions{})
		})
	} else {
		cfg := &admissionv1.ValidatingWebhookConfiguration{ObjectMeta: meta, Webhooks: []admissionv1.ValidatingWebhook{}}
		for _, h := range c.hooks {
			cfg.Webhooks = append(cfg.Webhooks, admissionv1.ValidatingWebhook{Name: h.name, ClientConfig: k.clientConfig(c, h), Rules: h.rules,
				FailurePolicy: optional(h.policy), SideEffects: sideEffects(h), TimeoutSeconds: optional(h.timeout), AdmissionReviewVersions: reviewVersions(h),
				MatchPolicy: optional(h.match), NamespaceSelector: h.nsSel, ObjectSelector: h.objSel})
		}
		_, err = adm.ValidatingWebhookConfigurations().Create(k.ctx, cfg, metav1.CreateOptions{})
		k.cleanup("vwc "+c.name, func(ctx context.Context) error {
			return adm.ValidatingWebhookConfigurations().Delete(ctx, c.name, metav1.DeleteOptions{})
		})
	}
	if err != nil {
		k.t.Fatalf("create %s %s: %v", c.kind(), c.name, err)
	}
}

func sideEffects(h hook) *admissionv1.SideEffectClass {
	if h.sideEffects == "" {
		return ptr.To(admissionv1.SideEffectClassNone)
	}
	return ptr.To(h.sideEffects)
}

func reviewVersions(h hook) []string {
	if h.versions == nil {
		return []string{"v1"}
	}
	return h.versions
}

// editWebhooks changes the client configs of a configuration's webhooks (kind as in
// hookConfig.kind), as a controller or a user would.
func (k *kit) editWebhooks(kind, name string, edit func(i int, cc *admissionv1.WebhookClientConfig)) {
	k.t.Helper()
	adm := client.AdmissionregistrationV1()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if kind == "MutatingWebhookConfiguration" {
			c, err := adm.MutatingWebhookConfigurations().Get(k.ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			for i := range c.Webhooks {
				edit(i, &c.Webhooks[i].ClientConfig)
			}
			_, err = adm.MutatingWebhookConfigurations().Update(k.ctx, c, metav1.UpdateOptions{})
			return err
		}
		c, err := adm.ValidatingWebhookConfigurations().Get(k.ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for i := range c.Webhooks {
			edit(i, &c.Webhooks[i].ClientConfig)
		}
		_, err = adm.ValidatingWebhookConfigurations().Update(k.ctx, c, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		k.t.Fatalf("update %s %s: %v", kind, name, err)
	}
}

// setCABundle is what a CA injector does: every webhook of the configuration trusts b.
func (k *kit) setCABundle(c hookConfig, b []byte) {
	k.editWebhooks(c.kind(), c.name, func(_ int, cc *admissionv1.WebhookClientConfig) { cc.CABundle = b })
}

// rule is one admission rule; ops, groups, versions and resources are comma-separated
// ("" is the core group), scope "" leaves it unset ("*").
func rule(ops, groups, versions, resources, scope string) admissionv1.RuleWithOperations {
	var o []admissionv1.OperationType
	for _, op := range strings.Split(ops, ",") {
		o = append(o, admissionv1.OperationType(op))
	}
	r := admissionv1.RuleWithOperations{Operations: o, Rule: admissionv1.Rule{APIGroups: strings.Split(groups, ","),
		APIVersions: strings.Split(versions, ","), Resources: strings.Split(resources, ",")}}
	if scope != "" {
		r.Scope = ptr.To(admissionv1.ScopeType(scope))
	}
	return r
}

// gvkRules is knative/pkg's runtime form: one rule per registered type, for the resource
// and its status subresource.
func gvkRules(ops, group, version string, plurals ...string) []admissionv1.RuleWithOperations {
	var out []admissionv1.RuleWithOperations
	for _, p := range plurals {
		out = append(out, rule(ops, group, version, p+","+p+"/status", ""))
	}
	return out
}

// selector builds a label selector from requirements "key op v1,v2" (op In, NotIn,
// Exists, DoesNotExist).
func selector(reqs ...string) *metav1.LabelSelector {
	s := &metav1.LabelSelector{}
	for _, r := range reqs {
		f := strings.Fields(r)
		req := metav1.LabelSelectorRequirement{Key: f[0], Operator: metav1.LabelSelectorOperator(f[1])}
		if len(f) > 2 {
			req.Values = strings.Split(f[2], ",")
		}
		s.MatchExpressions = append(s.MatchExpressions, req)
	}
	return s
}

// ---------------------------------------------------------------------------------------
// APIServices and CRD conversion webhooks

func (k *kit) apiService(spec apiregv1.APIServiceSpec, lbl, ann map[string]string) string {
	k.t.Helper()
	name := spec.Version + "." + spec.Group
	meta := k.meta(name, lbl, ann)
	meta.Namespace = ""
	api := aggClient.ApiregistrationV1().APIServices()
	if _, err := api.Create(k.ctx, &apiregv1.APIService{ObjectMeta: meta, Spec: spec}, metav1.CreateOptions{}); err != nil {
		k.t.Fatalf("create apiservice %s: %v", name, err)
	}
	k.cleanup("apiservice "+name, func(ctx context.Context) error { return api.Delete(ctx, name, metav1.DeleteOptions{}) })
	return name
}

func (k *kit) editAPIService(name string, edit func(*apiregv1.APIService)) {
	k.t.Helper()
	api := aggClient.ApiregistrationV1().APIServices()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := api.Get(k.ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		edit(s)
		_, err = api.Update(k.ctx, s, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		k.t.Fatalf("update apiservice %s: %v", name, err)
	}
}

// waitAPIService waits for the aggregator's Available condition to be want.
func (k *kit) waitAPIService(name string, want apiregv1.ConditionStatus) {
	k.t.Helper()
	deadline := time.Now().Add(shapeTimeout)
	for {
		s, err := aggClient.ApiregistrationV1().APIServices().Get(k.ctx, name, metav1.GetOptions{})
		last := fmt.Sprint(err)
		if err == nil {
			for _, c := range s.Status.Conditions {
				if c.Type == apiregv1.Available {
					if c.Status == want {
						return
					}
					last = fmt.Sprintf("Available=%s %s: %s", c.Status, c.Reason, c.Message)
				}
			}
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("harness: apiservice %s not Available=%s after %s: %s", name, want, shapeTimeout, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// conversionCRD creates a namespaced CRD whose versions (the last one stored) are
// converted by Service svc at path, trusting caBundle, and waits until it is Established.
func (k *kit) conversionCRD(group, plural, kind string, versions []string, svc, path string, caBundle []byte, lbl map[string]string) string {
	k.t.Helper()
	name := plural + "." + group
	schema := &apiextv1.CustomResourceValidation{OpenAPIV3Schema: &apiextv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: ptr.To(true)}}
	var vs []apiextv1.CustomResourceDefinitionVersion
	for i, v := range versions {
		vs = append(vs, apiextv1.CustomResourceDefinitionVersion{Name: v, Served: true, Storage: i == len(versions)-1, Schema: schema,
			Subresources: &apiextv1.CustomResourceSubresources{Status: &apiextv1.CustomResourceSubresourceStatus{}}})
	}
	meta := k.meta(name, lbl, nil)
	meta.Namespace = ""
	crd := &apiextv1.CustomResourceDefinition{ObjectMeta: meta, Spec: apiextv1.CustomResourceDefinitionSpec{
		Group: group, Scope: apiextv1.NamespaceScoped, Versions: vs,
		Names: apiextv1.CustomResourceDefinitionNames{Plural: plural, Singular: strings.ToLower(kind), Kind: kind, ListKind: kind + "List",
			Categories: []string{"tekton", "tekton-pipelines"}},
		Conversion: &apiextv1.CustomResourceConversion{Strategy: apiextv1.WebhookConverter, Webhook: &apiextv1.WebhookConversion{
			ConversionReviewVersions: versions,
			ClientConfig: &apiextv1.WebhookClientConfig{CABundle: caBundle,
				Service: &apiextv1.ServiceReference{Namespace: k.ns, Name: svc, Path: ptr.To(path)}}}}}}
	api := extClient.ApiextensionsV1().CustomResourceDefinitions()
	if _, err := api.Create(k.ctx, crd, metav1.CreateOptions{}); err != nil {
		k.t.Fatalf("create crd %s: %v", name, err)
	}
	k.cleanup("crd "+name, func(ctx context.Context) error { return api.Delete(ctx, name, metav1.DeleteOptions{}) })
	deadline := time.Now().Add(shapeTimeout)
	for {
		c, err := api.Get(k.ctx, name, metav1.GetOptions{})
		if err == nil {
			for _, cond := range c.Status.Conditions {
				if cond.Type == apiextv1.Established && cond.Status == apiextv1.ConditionTrue {
					return name
				}
			}
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("harness: crd %s not Established after %s: %v", name, shapeTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (k *kit) setCRDCABundle(name string, b []byte) {
	k.t.Helper()
	api := extClient.ApiextensionsV1().CustomResourceDefinitions()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		c, err := api.Get(k.ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		c.Spec.Conversion.Webhook.ClientConfig.CABundle = b
		_, err = api.Update(k.ctx, c, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		k.t.Fatalf("update crd %s: %v", name, err)
	}
}

// ---------------------------------------------------------------------------------------
// Waiting for a shape to serve

// endpointsOf returns the pods in svc's EndpointSlices: ready, and listed but not ready.
func (k *kit) endpointsOf(svc string) (ready, notReady map[string]bool, err error) {
	l, err := client.DiscoveryV1().EndpointSlices(k.ns).List(k.ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + svc})
	if err != nil {
		return nil, nil, err
	}
	ready, notReady = map[string]bool{}, map[string]bool{}
	for _, sl := range l.Items {
		for _, e := range sl.Endpoints {
			if e.TargetRef == nil {
				continue
			}
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				ready[e.TargetRef.Name] = true
			} else {
				notReady[e.TargetRef.Name] = true
			}
		}
	}
	return ready, notReady, nil
}

// waitEndpoints waits until svc's EndpointSlices list pod (and no other pod), ready as
// wanted; a pod that must not be Ready must also have had a failed readiness probe.
func (k *kit) waitEndpoints(svc string, pod *corev1.Pod, wantReady bool) {
	k.t.Helper()
	deadline := time.Now().Add(shapeTimeout)
	for {
		ready, notReady, err := k.endpointsOf(svc)
		if err == nil && len(ready)+len(notReady) == 1 && ready[pod.Name] == wantReady && (wantReady || notReady[pod.Name]) &&
			(wantReady || k.probeFailed(pod)) {
			return
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("harness: service %s/%s: want pod %s ready=%v, have ready %v, not ready %v (%v)", k.ns, svc, pod.Name, wantReady, ready, notReady, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitPodReady waits for a pod that no Service selects (cainjector, cert-controller).
func (k *kit) waitPodReady(pod *corev1.Pod) {
	k.t.Helper()
	deadline := time.Now().Add(shapeTimeout)
	for {
		p, err := client.CoreV1().Pods(k.ns).Get(k.ctx, pod.Name, metav1.GetOptions{})
		if err == nil {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("harness: pod %s/%s not Ready after %s (%v)", k.ns, pod.Name, shapeTimeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// dryRun fails the test when a server-side dry-run the product's webhook must admit fails:
// the API server really called the webhook and trusted it.
func (k *kit) dryRun(what string, err error) {
	k.t.Helper()
	if err != nil {
		k.t.Fatalf("harness: dry-run %s through the webhook failed: %v", what, err)
	}
}

// pick returns the entries of m with these keys (a selector from a pod template's labels).
func pick(m map[string]string, keys ...string) map[string]string {
	out := map[string]string{}
	for _, key := range keys {
		out[key] = m[key]
	}
	return out
}

// setArg replaces the argument starting with prefix (e.g. "--port=") in container name.
func setArg(t *testing.T, p *corev1.Pod, name, prefix, arg string) {
	t.Helper()
	c := containerNamed(t, p, name)
	for i, a := range c.Args {
		if strings.HasPrefix(a, prefix) {
			c.Args[i] = arg
			return
		}
	}
	c.Args = append(c.Args, arg)
}

func (k *kit) probeFailed(pod *corev1.Pod) bool {
	evs, err := client.CoreV1().Events(k.ns).List(k.ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod.Name + ",reason=Unhealthy"})
	return err == nil && len(evs.Items) > 0
}

// serve waits until svc's only endpoint is pod, Ready, and checks that pod's port serves
// a certificate the caBundle b verifies for <svc>.<ns>.svc, the API server's way (b nil:
// insecureSkipTLSVerify, a handshake only).
func (k *kit) serve(svc string, pod *corev1.Pod, p int32, b []byte) {
	k.t.Helper()
	k.waitEndpoints(svc, pod, true)
	cur, err := client.CoreV1().Pods(k.ns).Get(k.ctx, pod.Name, metav1.GetOptions{})
	if err != nil {
		k.t.Fatal(err)
	}
	host := svc + "." + k.ns + ".svc"
	cfg := &tls.Config{ServerName: host, InsecureSkipVerify: b == nil}
	if b != nil {
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(b) {
			k.t.Fatalf("harness: caBundle for %s holds no certificate", host)
		}
	}
	addr := net.JoinHostPort(cur.Status.PodIP, fmt.Sprint(p))
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		k.t.Fatalf("harness: %s (pod %s at %s) does not serve what its caBundle trusts: %v", host, pod.Name, addr, err)
	}
	conn.Close()
}
