package webhook

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"github.com/certdoctor/kubectl-certdoctor/plugins"
)

// shape is one product's default install, in the fake cluster: a Service in front of
// one Ready pod, the target the API server calls, and what the pod serves.
type shape struct {
	profile   string
	ns, svc   string
	target    Target
	container corev1.Container
	extra     []corev1.Container // other containers of the pod (sidecars)
	podLabels map[string]string
	objects   []runtime.Object
	served    []*x509.Certificate
	caller    Caller
	// targetPort, when set, is the Service's targetPort instead of the container's port.
	targetPort *intstr.IntOrString
}

func (s *shape) walk(t *testing.T) *Result {
	t.Helper()
	sel := map[string]string{"app": s.svc}
	for k, v := range s.podLabels {
		sel[k] = v
	}
	pod := readyPod(s.svc+"-0", sel)
	pod.Namespace = s.ns
	pod.Spec.Containers = append([]corev1.Container{s.container}, s.extra...)
	svcPort := corev1.ServicePort{Port: 443, TargetPort: intstr.FromInt32(s.container.Ports[0].ContainerPort)}
	if s.container.Ports[0].Name != "" {
		svcPort.TargetPort = intstr.FromString(s.container.Ports[0].Name)
	}
	if s.targetPort != nil {
		svcPort.TargetPort = *s.targetPort
	}
	objs := append([]runtime.Object{pod, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node1"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.ns, Labels: map[string]string{"kubernetes.io/metadata.name": s.ns}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: s.svc},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": s.svc}, Ports: []corev1.ServicePort{svcPort}}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: s.svc + "-x", Labels: map[string]string{"kubernetes.io/service-name": s.svc}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.7"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}}},
	}, s.objects...)
	s.target.ClientConfig.Service = &admissionv1.ServiceReference{Namespace: s.ns, Name: s.svc, Port: ptr.To[int32](443)}
	all, err := plugins.All()
	if err != nil {
		t.Fatal(err)
	}
	w := &Walker{Client: fake.NewClientset(objs...), Profile: all[s.profile], Prober: &fakeProber{chain: s.served, rtt: time.Millisecond},
		Caller: s.caller, Now: time.Now()}
	r := &Result{}
	w.Walk(context.Background(), s.target, r)
	return r
}

func admission(config string, bundle []byte) Target {
	return Target{Kind: "ValidatingWebhookConfiguration", Config: config, Webhook: "w." + config, TimeoutSeconds: 10, FailurePolicy: "Fail",
		ClientConfig: admissionv1.WebhookClientConfig{CABundle: bundle}}
}

func tlsContainer(name string, port int32, portName string, args ...string) corev1.Container {
	return corev1.Container{Name: name, Args: args, Ports: []corev1.ContainerPort{{Name: portName, ContainerPort: port}}}
}

func secret(ns, name string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
}

func requireClean(t *testing.T, r *Result) {
	t.Helper()
	if len(r.Findings) != 0 {
		t.Fatalf("findings on a healthy default install: %+v\nchecks: %+v", r.Findings, r.Checks)
	}
}

func requireOnly(t *testing.T, r *Result, code string, sev result.Severity, inMsg string) result.Finding {
	t.Helper()
	if len(r.Findings) != 1 || r.Findings[0].Code != code || r.Findings[0].Severity != sev || !strings.Contains(r.Findings[0].Message, inMsg) {
		t.Fatalf("want exactly one %s %s (~%q), got %+v", sev, code, inMsg, r.Findings)
	}
	return r.Findings[0]
}

func checkDetail(r *Result, link string) string {
	for _, c := range r.Checks {
		if c.Name == link {
			return c.Detail
		}
	}
	return ""
}

// metrics-server's default install: insecureSkipTLSVerify, no caBundle, a self-signed
// localhost certificate. The aggregator accepts it, and so must certdoctor.
func TestMetricsServerDefault(t *testing.T) {
	localhost := certstest.SelfSigned(certstest.Opts{CN: "localhost@1700000000", DNS: []string{"localhost"}, IPs: []string{"127.0.0.1"}})
	mk := func(available *Condition) *shape {
		return &shape{profile: "metrics-server", ns: "kube-system", svc: "metrics-server",
			target:    Target{Kind: "APIService", Config: "v1beta1.metrics.k8s.io", Webhook: "v1beta1.metrics.k8s.io", TimeoutSeconds: 30, FailurePolicy: "Fail", InsecureSkipTLSVerify: true, Available: available},
			container: tlsContainer("metrics-server", 10250, "https", "--cert-dir=/tmp", "--secure-port=10250"),
			served:    []*x509.Certificate{localhost.Cert}}
	}
	r := mk(&Condition{Status: "True", Reason: "Passed"}).walk(t)
	requireClean(t, r)
	if !strings.Contains(checkDetail(r, "caBundle"), "insecureSkipTLSVerify") || !strings.Contains(checkDetail(r, "servedCertificate"), "not verified") {
		t.Fatalf("say that verification is skipped: %+v", r.Checks)
	}
	msg := "failing or missing response from https://10.244.0.7:10250/apis/metrics.k8s.io/v1beta1: Get \"https://10.244.0.7:10250/apis/metrics.k8s.io/v1beta1\": dial tcp 10.244.0.7:10250: connect: connection refused"
	f := requireOnly(t, mk(&Condition{Status: "False", Reason: "FailedDiscoveryCheck", Message: msg}).walk(t), "WebhookAPIServiceUnavailable", result.Critical, "FailedDiscoveryCheck")
	if f.Error != msg || f.ErrorPredicted {
		t.Fatalf("the aggregator's own text, as observed: %+v", f)
	}
}

// Secret key layouts: ingress-nginx's kube-webhook-certgen writes ca/cert/key; a secret
// with none of the known keys is said to be so, not silently skipped.
func TestCASecretKeyLayouts(t *testing.T) {
	ca := certstest.NewCA("")
	host := "ingress-nginx-controller-admission.ingress-nginx.svc"
	mk := func(data map[string][]byte) *shape {
		return &shape{profile: "ingress-nginx", ns: "ingress-nginx", svc: "ingress-nginx-controller-admission",
			target:    admission("ingress-nginx-admission", ca.CertPEM()),
			container: tlsContainer("controller", 8443, "webhook", "/nginx-ingress-controller", "--validating-webhook=:8443"),
			objects:   []runtime.Object{secret("ingress-nginx", "ingress-nginx-admission", data)},
			served:    []*x509.Certificate{ca.Issue(certstest.Opts{DNS: []string{"ingress-nginx-controller-admission", host}}).Cert}}
	}
	r := mk(map[string][]byte{"ca": ca.CertPEM(), "cert": []byte("x"), "key": []byte("not printed")}).walk(t)
	requireClean(t, r)
	if !strings.Contains(checkDetail(r, "caSecret"), "(ca)") {
		t.Fatalf("compared under key ca: %q", checkDetail(r, "caSecret"))
	}
	f := requireOnly(t, mk(map[string][]byte{"something.pem": ca.CertPEM()}).walk(t), "WebhookCABundleMismatch", result.Warning, "holds no certificate under ca")
	if !strings.Contains(f.Message, "something.pem") {
		t.Fatalf("name the keys it has: %s", f.Message)
	}
}

// Kyverno's cleanup controller signs with its own CA: its configurations are compared
// with its own secret, not the admission controller's.
func TestKyvernoComponentsHaveTheirOwnCA(t *testing.T) {
	admissionCA, cleanupCA := certstest.NewCA("*.kyverno.svc"), certstest.NewCA("*.kyverno.svc")
	host := "kyverno-cleanup-controller.kyverno.svc"
	s := &shape{profile: "kyverno", ns: "kyverno", svc: "kyverno-cleanup-controller",
		target:    admission("kyverno-cleanup-validating-webhook-cfg", cleanupCA.CertPEM()),
		container: tlsContainer("controller", 9443, "https", "--cleanupServerPort=9443"),
		objects: []runtime.Object{
			secret("kyverno", "kyverno-svc.kyverno.svc.kyverno-tls-ca", map[string][]byte{"tls.crt": admissionCA.CertPEM()}),
			secret("kyverno", "kyverno-cleanup-controller.kyverno.svc.kyverno-tls-ca", map[string][]byte{"tls.crt": cleanupCA.CertPEM()})},
		served: []*x509.Certificate{cleanupCA.Issue(certstest.Opts{DNS: []string{host}}).Cert}}
	requireClean(t, s.walk(t))
}

// Linkerd pins a self-signed leaf (IsCA false) as caBundle: a valid trust anchor, not a
// finding. A CA-signed leaf pinned there breaks at the next re-issue: a warning.
func TestPinnedCertificates(t *testing.T) {
	host := "linkerd-sp-validator.linkerd.svc"
	pinned := certstest.SelfSigned(certstest.Opts{CN: host, DNS: []string{host}})
	s := &shape{profile: "linkerd", ns: "linkerd", svc: "linkerd-sp-validator",
		target:    admission("linkerd-sp-validator-webhook-config", pinned.CertPEM()),
		container: tlsContainer("sp-validator", 8443, "sp-validator", "sp-validator", "-log-level=info"),
		extra:     []corev1.Container{{Name: "destination", Args: []string{"destination"}}},
		objects:   []runtime.Object{secret("linkerd", "linkerd-sp-validator-k8s-tls", map[string][]byte{"tls.crt": pinned.CertPEM()})},
		served:    []*x509.Certificate{pinned.Cert}}
	r := s.walk(t)
	requireClean(t, r)
	if !strings.Contains(checkDetail(r, "caBundle"), "pinned self-signed certificate") {
		t.Fatalf("say what the bundle is: %q", checkDetail(r, "caBundle"))
	}
	ca := certstest.NewCA("issuer")
	leaf := ca.Issue(certstest.Opts{CN: host, DNS: []string{host}})
	s.target.ClientConfig.CABundle, s.served = leaf.CertPEM(), []*x509.Certificate{leaf.Cert}
	s.objects = []runtime.Object{secret("linkerd", "linkerd-sp-validator-k8s-tls", map[string][]byte{"tls.crt": leaf.CertPEM()})}
	requireOnly(t, s.walk(t), "WebhookCABundle", result.Warning, `issued by "issuer"`)
}

// Vault's injector keeps the previous CA first in the bundle after a restart; the
// serving certificate chains to the second. Every certificate of a bundle counts.
func TestBundleWithThePreviousCAFirst(t *testing.T) {
	previous, current := certstest.NewCA("Agent Inject CA"), certstest.NewCA("Agent Inject CA")
	host := "vault-agent-injector-svc.vault.svc"
	s := &shape{profile: "vault-agent-injector", ns: "vault", svc: "vault-agent-injector-svc",
		target:    admission("vault-agent-injector-cfg", append(previous.CertPEM(), current.CertPEM()...)),
		container: corev1.Container{Name: "sidecar-injector", Args: []string{"agent-inject", "2>&1"}, Env: []corev1.EnvVar{{Name: "AGENT_INJECT_LISTEN", Value: ":8080"}}, Ports: []corev1.ContainerPort{{ContainerPort: 8080}}},
		served:    []*x509.Certificate{current.Issue(certstest.Opts{CN: "Agent Inject Service", DNS: []string{host}}).Cert}}
	s.target.FailurePolicy = "Ignore"
	requireClean(t, s.walk(t))
}

// Ports: a flag that differs is critical; a port that is only the binary's default is an
// assumption (a warning that says so); a config file may set it (not judged). Mesh
// sidecars' probes are never compared with the product's health flag.
func TestPortAssumptions(t *testing.T) {
	ca := certstest.NewCA("cert-manager-webhook-ca")
	host := "cert-manager-webhook.cert-manager.svc"
	mk := func(args ...string) *shape {
		c := tlsContainer("cert-manager-webhook", 10250, "https", args...)
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: "healthcheck", ContainerPort: 6080})
		c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("healthcheck")}}}
		return &shape{profile: "cert-manager", ns: "cert-manager", svc: "cert-manager-webhook",
			target: admission("cert-manager-webhook", ca.CertPEM()), container: c,
			objects: []runtime.Object{secret("cert-manager", "cert-manager-webhook-ca", map[string][]byte{"ca.crt": ca.CertPEM(), "tls.crt": ca.CertPEM()})},
			served:  []*x509.Certificate{ca.Issue(certstest.Opts{DNS: []string{host}}).Cert}}
	}
	requireClean(t, mk("--secure-port=10250").walk(t))
	f := requireOnly(t, mk("--v=2").walk(t), "WebhookPortMismatch", result.Warning, "the binary's default is 6443 (assumed")
	if f.ErrorPredicted != true {
		t.Errorf("a predicted error is labelled so: %+v", f)
	}
	r := mk("--config=/var/cert-manager/config/config.yaml").walk(t)
	requireClean(t, r)
	if !strings.Contains(checkDetail(r, "port"), "--config=/var/cert-manager/config/config.yaml may set the serving port") {
		t.Fatalf("say the config file was not read: %q", checkDetail(r, "port"))
	}
	requireOnly(t, mk("--secure-port=10260").walk(t), "WebhookPortMismatch", result.Critical, "serves on 10260")
}

func TestIstioRewrittenProbe(t *testing.T) {
	ca := certstest.NewCA("cluster.local")
	host := "cert-manager-webhook.cert-manager.svc"
	app := tlsContainer("cert-manager-webhook", 10250, "https", "--secure-port=10250", "--healthz-port=6080")
	app.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/app-health/cert-manager-webhook/readyz", Port: intstr.FromInt32(15020)}}}
	proxy := corev1.Container{Name: "istio-proxy", Ports: []corev1.ContainerPort{{Name: "http-envoy-prom", ContainerPort: 15090}},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz/ready", Port: intstr.FromInt32(15021)}}},
		Env:            []corev1.EnvVar{{Name: "ISTIO_KUBE_APP_PROBERS", Value: `{"/app-health/cert-manager-webhook/readyz":{"httpGet":{"path":"/healthz","port":6080,"scheme":"HTTP"},"timeoutSeconds":1}}`}}}
	mk := func() *shape {
		return &shape{profile: "cert-manager", ns: "cert-manager", svc: "cert-manager-webhook",
			target: admission("cert-manager-webhook", ca.CertPEM()), container: app, extra: []corev1.Container{proxy},
			objects: []runtime.Object{secret("cert-manager", "cert-manager-webhook-ca", map[string][]byte{"ca.crt": ca.CertPEM()})},
			served:  []*x509.Certificate{ca.Issue(certstest.Opts{DNS: []string{host}}).Cert}}
	}
	requireClean(t, mk().walk(t))
	app.Args[1] = "--healthz-port=6081"
	requireOnly(t, mk().walk(t), "WebhookReadinessProbePort", result.Critical, "checks port 6080 but the process listens for health checks on 6081")
}

// One broken link is one critical root cause: a named targetPort that no container
// declares stops the handshake (not run, not "port 0"), and the API server's failing
// call is listed under it with its real text as the error.
func TestOneRootCause(t *testing.T) {
	ca := certstest.NewCA("ca")
	host := "webhook.e2e.svc"
	apiText := `Internal error occurred: failed calling webhook "w.cfg": failed to call webhook: Post "https://webhook.e2e.svc:443/?timeout=10s": no endpoints available for service "webhook"`
	s := &shape{profile: "", ns: "e2e", svc: "webhook", target: admission("cfg", ca.CertPEM()),
		container: tlsContainer("webhook", 8443, "https"),
		served:    []*x509.Certificate{ca.Issue(certstest.Opts{DNS: []string{host}}).Cert},
		caller: fakeCaller{attempted: true, err: errors.New(apiText),
			reviewErr: errors.New("error trying to reach service: dial tcp 10.244.0.7:0: connect: connection refused")}}
	s.target.Rules = []admissionv1.RuleWithOperations{{Operations: []admissionv1.OperationType{admissionv1.Create}, Rule: admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}}
	s.targetPort = ptr.To(intstr.FromString("webhook-https")) // no container declares it
	r := s.walk(t)
	f := requireOnly(t, r, "WebhookPortMismatch", result.Critical, `declares the port named "webhook-https"`)
	if f.Error != apiText || f.ErrorPredicted {
		t.Errorf("the API server's text replaces the prediction: %q (predicted %v)", f.Error, f.ErrorPredicted)
	}
	joined := strings.Join(f.Consequences, "\n")
	if !strings.Contains(joined, "handshake: not run") || !strings.Contains(joined, "serviceProxy:") || !strings.Contains(joined, "apiServerCall:") {
		t.Fatalf("consequences listed under the root: %q", joined)
	}
	for _, c := range r.Checks {
		if strings.Contains(c.Detail, "port 0") || (c.Name == "serviceProxy" && c.Severity == result.OK) {
			t.Fatalf("no invented error, no OK with an error inside: %+v", c)
		}
	}
}

func rule(op admissionv1.OperationType, group, version string, resources ...string) admissionv1.RuleWithOperations {
	return admissionv1.RuleWithOperations{Operations: []admissionv1.OperationType{op},
		Rule: admissionv1.Rule{APIGroups: []string{group}, APIVersions: []string{version}, Resources: resources}}
}

func TestRulesCover(t *testing.T) {
	for _, tt := range []struct {
		rules []admissionv1.RuleWithOperations
		res   string
		want  bool
	}{
		{[]admissionv1.RuleWithOperations{rule(admissionv1.Create, "", "v1", "configmaps/*")}, "configmaps", true}, // knative: "*" subresource includes none
		{[]admissionv1.RuleWithOperations{rule(admissionv1.Create, "", "v1", "configmaps/status")}, "configmaps", false},
		{[]admissionv1.RuleWithOperations{rule(admissionv1.OperationAll, "*", "*", "*/*")}, "configmaps", true},
		{[]admissionv1.RuleWithOperations{rule(admissionv1.Create, "cert-manager.io", "v1", "certificaterequests")}, "configmaps", false},
		{[]admissionv1.RuleWithOperations{rule(admissionv1.Update, "", "v1", "configmaps")}, "configmaps", false},
	} {
		if got := rulesCover(tt.rules, admissionv1.Create, "", "v1", tt.res); got != tt.want {
			t.Errorf("%+v covers CREATE %s: %v, want %v", tt.rules, tt.res, got, tt.want)
		}
	}
}

// The dry-run reaches the webhook only when its rules and selectors admit the object:
// cert-manager's mutating webhook sees only CertificateRequests (not exercised), and
// knative's config webhook only ConfigMaps with its labels (the object carries them).
func TestDryRunOnlyWhatTheWebhookAdmits(t *testing.T) {
	all, _ := plugins.All()
	client := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "knative-serving", Labels: map[string]string{"kubernetes.io/metadata.name": "knative-serving"}}})
	c := &APICaller{Client: client, Profile: all["cert-manager"]}
	mut := Target{Kind: "MutatingWebhookConfiguration", Config: "cert-manager-webhook",
		Rules:        []admissionv1.RuleWithOperations{rule(admissionv1.Create, "cert-manager.io", "v1", "certificaterequests")},
		ClientConfig: admissionv1.WebhookClientConfig{Service: &admissionv1.ServiceReference{Namespace: "cert-manager", Name: "cert-manager-webhook"}}}
	if call := c.Call(context.Background(), mut); call.Attempted || !strings.Contains(call.What, "certificaterequests in cert-manager.io") {
		t.Fatalf("not exercised, saying why: %+v", call)
	}
	kn := Target{Kind: "ValidatingWebhookConfiguration", Config: "config.webhook.serving.knative.dev",
		Rules: []admissionv1.RuleWithOperations{rule(admissionv1.Create, "", "v1", "configmaps/*")},
		ObjectSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "app.kubernetes.io/name", Operator: metav1.LabelSelectorOpIn, Values: []string{"knative-serving"}},
			{Key: "app.kubernetes.io/component", Operator: metav1.LabelSelectorOpIn, Values: []string{"autoscaler", "controller"}}}},
		ClientConfig: admissionv1.WebhookClientConfig{Service: &admissionv1.ServiceReference{Namespace: "knative-serving", Name: "webhook"}}}
	call := (&APICaller{Client: client}).Call(context.Background(), kn)
	if !call.Attempted || call.Err != nil {
		t.Fatalf("%+v", call)
	}
	cms, _ := client.CoreV1().ConfigMaps("knative-serving").List(context.Background(), metav1.ListOptions{})
	if len(cms.Items) != 1 || cms.Items[0].Labels["app.kubernetes.io/name"] != "knative-serving" || cms.Items[0].Labels["app.kubernetes.io/component"] != "autoscaler" {
		t.Fatalf("the dry-run object must carry the labels the objectSelector asks for: %+v", cms.Items)
	}
	if _, ok := labelsFor(&metav1.LabelSelector{MatchLabels: map[string]string{"a": "x"}, MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"x"}}}}); ok {
		t.Error("an unsatisfiable selector is said to be so")
	}
}

// A dry-run that passes a webhook with failurePolicy Ignore proves nothing; a denial
// proves the path works.
func TestDryRunEvidence(t *testing.T) {
	f := newFixture()
	f.vwc.Webhooks[0].FailurePolicy = ptr.To(admissionv1.Ignore)
	f.caller = fakeCaller{attempted: true}
	r, _ := f.walk(t)
	if d := checkDetail(r, "apiServerCall"); !strings.Contains(d, "proves nothing") {
		t.Fatalf("%q", d)
	}
	f = newFixture()
	f.caller = fakeCaller{attempted: true, err: errors.New(`admission webhook "webhook.cert-manager.io" denied the request: spec: Required value`)}
	r, _ = f.walk(t)
	if d := checkDetail(r, "apiServerCall"); len(r.Findings) != 0 || !strings.Contains(d, "the webhook answered") {
		t.Fatalf("%q %+v", d, r.Findings)
	}
}

// The self-deadlock warning is for webhooks that intercept what their own namespace
// needs to recover: not for one whose rules touch other resources, nor for one whose
// objectSelector leaves its own pods out.
func TestSelfDeadlockNeedsWorkloadRules(t *testing.T) {
	for name, tt := range map[string]struct {
		rules []admissionv1.RuleWithOperations
		obj   *metav1.LabelSelector
		warn  bool
	}{
		"ingresses (ingress-nginx)":          {[]admissionv1.RuleWithOperations{rule(admissionv1.Create, "networking.k8s.io", "v1", "ingresses")}, nil, false},
		"pods":                               {[]admissionv1.RuleWithOperations{rule(admissionv1.Create, "", "v1", "pods")}, nil, true},
		"deployments":                        {[]admissionv1.RuleWithOperations{rule(admissionv1.Create, "apps", "v1", "deployments")}, nil, true},
		"pods, own pods excluded (vault)":    {[]admissionv1.RuleWithOperations{rule(admissionv1.Create, "", "v1", "pods")}, &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app.kubernetes.io/name", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"webhook"}}}}, false},
		"everything (kyverno static mode)":   {[]admissionv1.RuleWithOperations{rule(admissionv1.OperationAll, "*", "*", "*/*")}, nil, true},
		"certificaterequests (cert-manager)": {[]admissionv1.RuleWithOperations{rule(admissionv1.Create, "cert-manager.io", "v1", "certificaterequests")}, nil, false},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture()
			w := &f.vwc.Webhooks[0]
			w.NamespaceSelector, w.FailurePolicy, w.Rules, w.ObjectSelector = &metav1.LabelSelector{}, ptr.To(admissionv1.Fail), tt.rules, tt.obj
			r, _ := f.walk(t)
			if got := len(r.Findings) == 1 && r.Findings[0].Code == "WebhookSelfDeadlock"; got != tt.warn {
				t.Fatalf("warn %v, want %v: %+v", got, tt.warn, r.Findings)
			}
		})
	}
}

// Go's rules: a SHA-1 signature from the right CA and a certificate with only a Common
// Name are named as such, with Go's own error text, not as "unknown authority".
func TestServedCertificateGoRules(t *testing.T) {
	for name, tt := range map[string]struct {
		leaf  func(ca *certstest.Pair) *certstest.Pair
		inMsg string
		inErr string
	}{
		"SHA-1": {func(ca *certstest.Pair) *certstest.Pair {
			return ca.Issue(certstest.Opts{CN: "w", DNS: []string{"cert-manager-webhook.cert-manager.svc"}, SHA1: true})
		}, "ECDSA-SHA1", "insecure algorithm ECDSA-SHA1"},
		"CN only": {func(ca *certstest.Pair) *certstest.Pair {
			return ca.Issue(certstest.Opts{CN: "cert-manager-webhook.cert-manager.svc"})
		}, "no subject alternative names", "legacy Common Name field"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture()
			f.leaf = tt.leaf(f.ca)
			r, _ := f.walk(t)
			got := requireOnly(t, r, "WebhookServedCertificate", result.Critical, tt.inMsg)
			if !strings.Contains(got.Error, tt.inErr) {
				t.Fatalf("Go's text: %q", got.Error)
			}
		})
	}
}

// Webhooks that share a Service and its pods break on one cause: one finding, the
// other webhooks listed under it; and the empty EndpointSlice is a consequence of the
// pods, not a second critical.
func TestOneFindingPerCause(t *testing.T) {
	f := newFixture()
	f.pod.Status.Conditions[0].Status = corev1.ConditionFalse
	f.slice.Endpoints[0].Conditions.Ready = ptr.To(false)
	second := f.vwc.DeepCopy()
	second.Name = "cert-manager-webhook-2"
	f.extra = append(f.extra, second)
	objs := append([]runtime.Object{f.vwc, f.svc, f.slice, f.pod, f.node, f.caSecret, f.injector,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"kubernetes.io/metadata.name": ns}}}}, f.extra...)
	client := fake.NewClientset(objs...)
	targets, err := Discover(context.Background(), client, nil, nil, nil)
	if err != nil || len(targets) != 2 {
		t.Fatalf("%v %v", targets, err)
	}
	all, _ := plugins.All()
	w := &Walker{Client: client, Profile: all["cert-manager"], Now: time.Now()}
	r := &Result{}
	for _, tg := range targets {
		w.Walk(context.Background(), tg, r)
	}
	got := requireOnly(t, r, "WebhookPodNotReady", result.Critical, "not Ready")
	joined := strings.Join(got.Consequences, "\n")
	if !strings.Contains(joined, "endpoints: service cert-manager/cert-manager-webhook has no ready endpoint") || !strings.Contains(joined, "also ValidatingWebhookConfiguration/cert-manager-webhook") {
		t.Fatalf("consequences %q", joined)
	}
}
