//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// webhookSetup is a real admission webhook (hack/e2e/webhook in a pod) behind a real
// Service, EndpointSlice (from the controller-manager) and ValidatingWebhookConfiguration
// that the API server calls for ConfigMaps in namespaces labelled for this test.
type webhookSetup struct {
	ns, config string
	ca         *CA
	certPEM    []byte
	keyPEM     []byte
	caBundle   []byte
	svcName    string
	probePort  int32
	args       []string
	timeout    int32
	policy     admissionv1.FailurePolicyType
}

func newWebhookSetup(t *testing.T) *webhookSetup {
	t.Helper()
	ns := newNamespace(t)
	now := time.Now()
	ca := newCA(t, "e2e-webhook-ca", now.Add(-time.Hour), now.Add(days(365)), nil)
	host := "webhook." + ns + ".svc"
	certPEM, keyPEM, _ := issue(t, ca, CertSpec{CN: host, DNS: []string{host}, Server: true, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(days(90))})
	return &webhookSetup{ns: ns, config: uniqueName("e2e-webhook"), ca: ca, certPEM: certPEM, keyPEM: keyPEM, caBundle: ca.CertPEM, svcName: "webhook", probePort: 8443,
		timeout: 30, policy: admissionv1.Ignore}
}

// create makes every object and waits until the pod is Ready (unless wantReady is false).
func (w *webhookSetup) create(t *testing.T, wantReady bool) {
	t.Helper()
	ctx := ctxT(t)
	cs := client.CoreV1()
	if _, err := cs.Secrets(w.ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "webhook-tls", Labels: labels(t)}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": w.certPEM, "tls.key": w.keyPEM}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.createPod(t)
	if _, err := cs.Services(w.ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "webhook", Labels: labels(t)},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "webhook"}, Ports: []corev1.ServicePort{{Port: 443, TargetPort: intstr.FromString("https")}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	vwc := &admissionv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: w.config, Labels: labels(t)},
		Webhooks: []admissionv1.ValidatingWebhook{{Name: "cm.e2e.certdoctor.io", AdmissionReviewVersions: []string{"v1"},
			SideEffects: ptr.To(admissionv1.SideEffectClassNone), FailurePolicy: ptr.To(w.policy), TimeoutSeconds: ptr.To(w.timeout),
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": w.ns}},
			Rules: []admissionv1.RuleWithOperations{{Operations: []admissionv1.OperationType{admissionv1.Create},
				Rule: admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}},
			ClientConfig: admissionv1.WebhookClientConfig{CABundle: w.caBundle,
				Service: &admissionv1.ServiceReference{Namespace: w.ns, Name: w.svcName, Path: ptr.To("/validate"), Port: ptr.To[int32](443)}}}}}
	if _, err := client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, vwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctxT(t), w.config, metav1.DeleteOptions{})
	})
	if wantReady {
		w.waitReady(t)
	}
}

func TestWebhookHealthy(t *testing.T) {
	w := newWebhookSetup(t)
	w.create(t, true)
	// the API server really calls it: a ConfigMap create in the namespace goes through
	if _, err := client.CoreV1().ConfigMaps(w.ns).Create(ctxT(t), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "probe"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("harness: the webhook does not answer the API server: %v", err)
	}
	r, code := runJSON(t, "webhook", w.config)
	wantExit(t, r, code, 0)
	requireNoFindings(t, r)
	// every active probe really ran: the port-forward handshake, the AdmissionReview through
	// the API server's service proxy, the dry-run call (all OK, as there are no findings)
	for _, link := range []string{"servedCertificate", "serviceProxy", "apiServerCall"} {
		requireContains(t, "checks", r.raw, `"name": "`+link+`"`)
	}
}

func TestWebhookBroken(t *testing.T) {
	other := newCA(t, "e2e-other-ca", time.Now().Add(-time.Hour), time.Now().Add(days(365)), nil)
	tests := []struct {
		name      string
		breakIt   func(t *testing.T, w *webhookSetup)
		ready     bool
		args      []string
		code      string
		errorText string
	}{
		{"service name typo", func(t *testing.T, w *webhookSetup) { w.svcName = "webhookwebhook" }, true, nil,
			"WebhookServiceNotFound", `service "webhookwebhook" not found`},
		{"wrong caBundle", func(t *testing.T, w *webhookSetup) { w.caBundle = other.CertPEM }, true, nil,
			"WebhookServedCertificate", "x509: certificate signed by unknown authority"},
		{"expired serving certificate", func(t *testing.T, w *webhookSetup) {
			host := "webhook." + w.ns + ".svc"
			w.certPEM, w.keyPEM, _ = issue(t, w.ca, CertSpec{CN: host, DNS: []string{host}, Server: true, NotBefore: time.Now().Add(-days(100)), NotAfter: time.Now().Add(-days(1))})
		}, true, nil, "WebhookServedCertificate", "x509: certificate has expired or is not yet valid"},
		// the pod that is never Ready is the cause; the empty EndpointSlice is listed under it
		{"readinessProbe on the wrong port: no endpoints", func(t *testing.T, w *webhookSetup) { w.probePort = 6080 }, false, nil,
			"WebhookPodNotReady", `no endpoints available for service "webhook"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWebhookSetup(t)
			tt.breakIt(t, w)
			w.create(t, tt.ready)
			if !tt.ready {
				time.Sleep(3 * time.Second) // a few failed probes and the controller-manager's EndpointSlice
			}
			r, code := runJSON(t, "webhook", w.config)
			wantExit(t, r, code, 3)
			f := requireFinding(t, r, tt.code, "CRITICAL", "webhook", nil, "for "+tt.name)
			requireContains(t, "error", f.Error, tt.errorText)
			requireContains(t, "error", f.Error, `failed calling webhook "cm.e2e.certdoctor.io"`)
			if tt.code == "WebhookServedCertificate" && strings.Contains(tt.errorText, "unknown authority") {
				screen(t, "webhook-unknown-authority", []string{tt.code, tt.errorText}, "webhook", w.config)
			}
		})
	}
}

// A NetworkPolicy that admits only pods: no enforcer runs here, so this checks the analysis.
func TestWebhookNetworkPolicy(t *testing.T) {
	w := newWebhookSetup(t)
	w.create(t, true)
	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "pods-only", Namespace: w.ns, Labels: labels(t)},
		Spec: networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}}}}}
	if _, err := client.NetworkingV1().NetworkPolicies(w.ns).Create(ctxT(t), np, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r, code := runJSON(t, "webhook", w.config, "--no-probe")
	wantExit(t, r, code, 3)
	f := requireFinding(t, r, "WebhookNetworkPolicy", "CRITICAL", "webhook", nil, "for the pods-only policy")
	requireContains(t, "error", f.Error, "i/o timeout")
}

// A profile from a file: its health-port flag disagrees with the readinessProbe (seed 001's
// 6080/6081), found from the pod spec alone.
func TestWebhookProfileFileProbePort(t *testing.T) {
	w := newWebhookSetup(t)
	w.args = []string{"--healthz-port=6081"} // the test server ignores its arguments; the check reads them
	w.create(t, true)
	profile := filepath.Join(t.TempDir(), "e2e.yaml")
	data := fmt.Sprintf("name: e2e\nnamespace: %s\nwebhookConfigurations: [%s]\nservice: webhook\nhealthPortFlag: --healthz-port\n", w.ns, w.config)
	if err := os.WriteFile(profile, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	r, code := runJSON(t, "webhook", "--profile-file", profile)
	wantExit(t, r, code, 3)
	f := requireFinding(t, r, "WebhookReadinessProbePort", "CRITICAL", "webhook", nil, "for probe 8443 vs --healthz-port=6081")
	requireContains(t, "message", f.Message, "checks port 8443 but the process listens for health checks on 6081")
}

// A webhook slower than timeoutSeconds: the real call through the API server (a server-side
// dry-run create) fails with the API server's "context deadline exceeded".
func TestWebhookTimeout(t *testing.T) {
	w := newWebhookSetup(t)
	w.args, w.timeout, w.policy = []string{"--sleep=4s"}, 1, admissionv1.Fail
	w.create(t, true)
	r, code := runJSON(t, "webhook", w.config)
	wantExit(t, r, code, 3)
	f := requireFinding(t, r, "WebhookCallFailed", "CRITICAL", "webhook", nil, "for the slow webhook")
	requireContains(t, "error", f.Error, "context deadline exceeded")
	requireContains(t, "error", f.Error, `failed calling webhook "cm.e2e.certdoctor.io"`)
	requireContains(t, "message", f.Message, "raise timeoutSeconds to 30")
	screen(t, "webhook-timeout", []string{"WebhookCallFailed", "context deadline exceeded"}, "webhook", w.config)
}

// createPod creates the webhook's pod (again, after a test deleted it).
func (w *webhookSetup) createPod(t *testing.T) {
	t.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "webhook", Namespace: w.ns, Labels: map[string]string{"app": "webhook", testLabel: testName(t)}},
		Spec: corev1.PodSpec{NodeName: nodeName, TerminationGracePeriodSeconds: ptr.To[int64](1),
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers: []corev1.Container{{Name: "webhook", Image: "e2e.local/webhook:1", Args: w.args,
				Ports:          []corev1.ContainerPort{{Name: "https", ContainerPort: 8443}},
				ReadinessProbe: &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(w.probePort), Scheme: corev1.URISchemeHTTPS}}},
				VolumeMounts:   []corev1.VolumeMount{{Name: "tls", MountPath: "/certs", ReadOnly: true}}}},
			Volumes: []corev1.Volume{{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "webhook-tls"}}}}}}
	if _, err := client.CoreV1().Pods(w.ns).Create(ctxT(t), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitReady waits until the controller-manager has put the Ready pod into the Service's
// EndpointSlice (it lags the pod by a moment, more on a busy 2-core machine).
func (w *webhookSetup) waitReady(t *testing.T) {
	t.Helper()
	ctx := ctxT(t)
	deadline := time.Now().Add(60 * time.Second)
	for {
		l, err := client.DiscoveryV1().EndpointSlices(w.ns).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=webhook"})
		if err == nil {
			for _, sl := range l.Items {
				for _, e := range sl.Endpoints {
					if e.Conditions.Ready != nil && *e.Conditions.Ready {
						return
					}
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhook Service has no ready endpoint after 60s: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
