//go:build e2e

// Shape of trust-manager (versions and conventions: products_shapes_test.go).
package e2e

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// trust-manager v0.24.0, chart defaults (app.webhook.tls.helmCert off): cert-manager issues
// the webhook's certificate from the self-signed Issuer trust-manager (Certificate
// trust-manager: CN and only DNS name trust-manager.<ns>.svc) into trust-manager-tls, whose
// ca.crt is the certificate itself; cert-manager's cainjector fills the caBundle
// (annotation inject-ca-from <ns>/trust-manager). The pod serves the webhook on 6443 from
// /tls and answers /readyz on 6060; the Service maps 443 to 6443.
// Fault: cert-manager re-issued the certificate (rotationPolicy Always: a new key) while
// cainjector was down, so the caBundle still pins the old one.
func installTrustManager(t *testing.T) func() {
	const ns, name = "cert-manager", "trust-manager"
	k := newKit(t, ns, nil)
	host := name + "." + ns + ".svc"
	issue := func() pki { return sprigSelfSigned(t, host, time.Now().Add(-time.Hour), time.Now().Add(days(90))) }
	cur := issue()
	k.certManagerCertificate(name, map[string]any{"commonName": host, "dnsNames": []any{host}, "secretName": name + "-tls",
		"privateKey": map[string]any{"rotationPolicy": "Always"}, "revisionHistoryLimit": int64(1),
		"issuerRef": map[string]any{"name": name, "kind": "Issuer", "group": "cert-manager.io"}}, cur.leaf)
	k.secret(name+"-tls", corev1.SecretTypeTLS, layoutTLSCA.data(t, cur), nil, map[string]string{"cert-manager.io/certificate-name": name,
		"cert-manager.io/issuer-name": name, "cert-manager.io/issuer-kind": "Issuer", "cert-manager.io/issuer-group": "cert-manager.io",
		"cert-manager.io/common-name": host, "cert-manager.io/alt-names": host})
	lbl := map[string]string{"app": name, "app.kubernetes.io/name": name, "app.kubernetes.io/instance": name, "app.kubernetes.io/version": "v0.24.0",
		"app.kubernetes.io/managed-by": "Helm"}
	pod := k.tlsPod(name, lbl, []corev1.Container{
		harness{TLS: []string{":6443"}, HTTP: []string{":6060", ":9402"}}.from("/tls", layoutTLSCA).in(corev1.Container{
			Name: name,
			Args: []string{"--log-format=text", "--log-level=1", "--metrics-port=9402", "--readiness-probe-port=6060", "--readiness-probe-path=/readyz",
				"--leader-elect=true", "--leader-election-lease-duration=15s", "--leader-election-renew-deadline=10s", "--trust-namespace=" + ns,
				"--webhook-host=0.0.0.0", "--webhook-port=6443", "--webhook-certificate-dir=/tls",
				"--default-package-location=/packages/cert-manager-package-debian.json"},
			Ports:          cports("webhook", 6443, "metrics", 9402),
			ReadinessProbe: probe("/readyz", 6060, plainHTTP),
			VolumeMounts:   []corev1.VolumeMount{mount("tls", "/tls")}})},
		withVolumes(secretVolume("tls", name+"-tls")))
	cainjector := k.tlsPod("cert-manager-cainjector", map[string]string{"app": "cainjector", "app.kubernetes.io/name": "cainjector",
		"app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/component": "cainjector"},
		[]corev1.Container{harness{HTTP: []string{":9402"}}.in(corev1.Container{Name: "cert-manager-cainjector",
			Args: []string{"--v=2", "--leader-election-namespace=kube-system"}, Ports: cports("http-metrics", 9402)})})
	k.service(name, map[string]string{"app": name, "app.kubernetes.io/name": name}, nil, map[string]string{"app": name}, sport("webhook", 443, 6443))
	vwc := hookConfig{name: name, lbl: map[string]string{"app": name, "app.kubernetes.io/name": name},
		ann: map[string]string{"cert-manager.io/inject-ca-from": ns + "/" + name}, svc: name, caBundle: cur.cert,
		hooks: []hook{{name: "trust.cert-manager.io", path: "/validate-trust-cert-manager-io-v1alpha1-bundle", policy: admissionv1.Fail, timeout: 5,
			rules: []admissionv1.RuleWithOperations{rule("CREATE,UPDATE", "trust.cert-manager.io", "v1alpha1", "bundles", "")}}}}
	k.webhooks(vwc)
	k.serve(name, pod, 6443, cur.cert)
	k.waitPodReady(cainjector)
	return func() {
		next := issue()
		k.updateSecret(name+"-tls", layoutTLSCA.data(t, next))
		pod = k.replacePod(pod, func(*corev1.Pod) {}) // trust-manager restarted with the new certificate
		k.waitEndpoints(name, pod, true)
	}
}

var certManagerCertificates = schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "certificates"}

// certManagerCertificate creates a cert-manager Certificate in the kit's namespace, with the
// status cert-manager gives it once it has issued it (Ready, its dates, renewal at 2/3 of
// its life), and the Certificate CRD (openCRD: certdoctor reads the object's existence and
// status) unless the cluster has it.
func (k *kit) certManagerCertificate(name string, spec map[string]any, issued *x509.Certificate) {
	k.t.Helper()
	api := extClient.ApiextensionsV1().CustomResourceDefinitions()
	const crdName = "certificates.cert-manager.io"
	if _, err := api.Get(k.ctx, crdName, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		crd := openCRD(certManagerCertificates, "Certificate", apiextv1.NamespaceScoped, k.labels(nil))
		if _, err := api.Create(k.ctx, crd, metav1.CreateOptions{}); err != nil {
			k.t.Fatalf("create crd %s: %v", crdName, err)
		}
		// Deleted and waited for: its Certificates go with it, and none may outlive the
		// shape into the next test's cluster-wide checks.
		k.cleanup("crd "+crdName, func(ctx context.Context) error {
			if err := api.Delete(ctx, crdName, metav1.DeleteOptions{}); err != nil {
				return err
			}
			for {
				if _, err := api.Get(ctx, crdName, metav1.GetOptions{}); apierrors.IsNotFound(err) {
					return nil
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(200 * time.Millisecond):
				}
			}
		})
	}
	obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
		"metadata": map[string]any{"name": name, "namespace": k.ns, "labels": toAny(k.labels(nil))}, "spec": spec,
		"status": map[string]any{"revision": int64(1), "notBefore": stamp(issued.NotBefore), "notAfter": stamp(issued.NotAfter),
			"renewalTime": stamp(issued.NotBefore.Add(issued.NotAfter.Sub(issued.NotBefore) * 2 / 3)),
			"conditions":  []any{map[string]any{"type": "Ready", "status": "True", "reason": "Ready", "message": "Certificate is up to date and has not expired"}}}}}
	deadline := time.Now().Add(shapeTimeout)
	for {
		_, err := dynClient.Resource(certManagerCertificates).Namespace(k.ns).Create(k.ctx, obj, metav1.CreateOptions{})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("create certificate %s/%s: %v", k.ns, name, err)
		}
		time.Sleep(200 * time.Millisecond) // the CRD is not served yet
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
