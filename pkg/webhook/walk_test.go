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
	networkingv1 "k8s.io/api/networking/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextfake "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/fake"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"github.com/certdoctor/kubectl-certdoctor/plugins"
)

const ns = "cert-manager"

// fixture is a healthy cert-manager webhook; each test breaks one thing.
type fixture struct {
	ca, leaf  *certstest.Pair
	vwc       *admissionv1.ValidatingWebhookConfiguration
	svc       *corev1.Service
	slice     *discoveryv1.EndpointSlice
	pod       *corev1.Pod
	node      *corev1.Node
	caSecret  *corev1.Secret
	injector  *corev1.Pod
	extra     []runtime.Object
	probeErr  error
	probeRTT  time.Duration
	noProfile bool
	caller    Caller
	namespace string
	dynamic   dynamic.Interface
	// react adds reactors to the fake clientset (a denied or failing request).
	react func(*fake.Clientset)
}

func readyPod(name string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:   corev1.PodSpec{NodeName: "node1"},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.0.7", Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
}

func newFixture() *fixture {
	f := &fixture{ca: certstest.NewCA("cert-manager-webhook-ca")}
	f.leaf = f.ca.Issue(certstest.Opts{CN: "cert-manager-webhook", DNS: []string{"cert-manager-webhook.cert-manager.svc"}})
	f.vwc = &admissionv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "cert-manager-webhook",
		Annotations: map[string]string{"cert-manager.io/inject-ca-from-secret": "cert-manager/cert-manager-webhook-ca"}},
		Webhooks: []admissionv1.ValidatingWebhook{{Name: "webhook.cert-manager.io", TimeoutSeconds: ptr.To[int32](30),
			ClientConfig: admissionv1.WebhookClientConfig{CABundle: f.ca.CertPEM(),
				Service: &admissionv1.ServiceReference{Namespace: ns, Name: "cert-manager-webhook", Path: ptr.To("/validate"), Port: ptr.To[int32](443)}}}}}
	sel := map[string]string{"app.kubernetes.io/name": "webhook", "app.kubernetes.io/instance": "cert-manager"}
	f.svc = &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cert-manager-webhook"},
		Spec: corev1.ServiceSpec{Selector: sel, Ports: []corev1.ServicePort{{Port: 443, TargetPort: intstr.FromString("https")}}}}
	f.slice = &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cert-manager-webhook-x", Labels: map[string]string{"kubernetes.io/service-name": "cert-manager-webhook"}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.7"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}}}
	f.pod = readyPod("cert-manager-webhook-abc", sel)
	f.pod.Spec.Containers = []corev1.Container{{Name: "cert-manager-webhook", Args: []string{"--secure-port=10250", "--healthz-port=6080"},
		Ports:          []corev1.ContainerPort{{Name: "https", ContainerPort: 10250}, {Name: "healthcheck", ContainerPort: 6080}},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(6080)}}}}}
	f.node = &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node1"}}
	f.caSecret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cert-manager-webhook-ca"}, Data: map[string][]byte{"ca.crt": f.ca.CertPEM()}}
	f.injector = readyPod("cert-manager-cainjector-xyz", map[string]string{"app.kubernetes.io/name": "cainjector"})
	return f
}

type fakeProber struct {
	chain []*x509.Certificate
	rtt   time.Duration
	err   error
	host  string
}

func (p *fakeProber) Served(_ context.Context, _ *corev1.Pod, _ int32, serverName string) ([]*x509.Certificate, time.Duration, error) {
	p.host = serverName
	return p.chain, p.rtt, p.err
}

func (f *fixture) walk(t *testing.T) (*Result, *fakeProber) {
	t.Helper()
	objs := append([]runtime.Object{f.vwc, f.svc, f.slice, f.pod, f.node, f.caSecret, f.injector,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"kubernetes.io/metadata.name": ns}}}}, f.extra...)
	client := fake.NewClientset(objs...)
	if f.react != nil {
		f.react(client)
	}
	all, err := plugins.All()
	if err != nil {
		t.Fatal(err)
	}
	prober := &fakeProber{chain: []*x509.Certificate{f.leaf.Cert}, rtt: f.probeRTT, err: f.probeErr}
	w := &Walker{Client: client, Dynamic: f.dynamic, Profile: all["cert-manager"], Prober: prober, Caller: f.caller, Namespace: f.namespace, Now: time.Now()}
	if f.noProfile {
		w.Profile = nil
	}
	targets, err := Discover(context.Background(), client, nil, nil, ProfileFilter(all["cert-manager"]))
	if err != nil || len(targets) != 1 {
		t.Fatalf("targets %v %v", targets, err)
	}
	r := &Result{}
	w.Walk(context.Background(), targets[0], r)
	return r, prober
}

func TestHealthyWebhook(t *testing.T) {
	r, prober := newFixture().walk(t)
	if len(r.Findings) != 0 {
		t.Fatalf("findings on a healthy webhook: %+v", r.Findings)
	}
	var links []string
	for _, c := range r.Checks {
		links = append(links, c.Name)
	}
	want := "clientConfig timeoutSeconds caBundle caSecret caInjection service endpoints pod cert-manager-webhook-abc port networkPolicy servedCertificate latency"
	if strings.Join(links, " ") != want {
		t.Fatalf("links:\n%s\nwant:\n%s", strings.Join(links, " "), want)
	}
	if prober.host != "cert-manager-webhook.cert-manager.svc" {
		t.Fatalf("the handshake must ask for the name the API server verifies, got %q", prober.host)
	}
}

func TestBrokenLinks(t *testing.T) {
	other := certstest.NewCA("some-other-ca")
	tests := []struct {
		name     string
		breakIt  func(f *fixture)
		code     string
		severity result.Severity
		inMsg    string
		inErr    string
		inFix    string
	}{
		{"service name typo", func(f *fixture) { f.vwc.Webhooks[0].ClientConfig.Service.Name = "cert-managercert-manager-webhook" },
			"WebhookServiceNotFound", result.Critical, "does not exist", `service "cert-managercert-manager-webhook" not found`, "did you mean cert-manager/cert-manager-webhook"},
		{"no ready endpoints: the pod is the cause", func(f *fixture) {
			f.slice.Endpoints[0].Conditions.Ready = ptr.To(false)
			f.pod.Status.Conditions[0].Status = corev1.ConditionFalse
		}, "WebhookPodNotReady", result.Critical, "Running but not Ready", `no endpoints available for service "cert-manager-webhook"`, "describe pod"}, // the empty EndpointSlice is its consequence
		{"running but not ready, OOMKilled", func(f *fixture) {
			f.pod.Status.Conditions[0].Status = corev1.ConditionFalse
			f.pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "cert-manager-webhook", RestartCount: 7,
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled"}}}}
		}, "WebhookPodNotReady", result.Critical, "OOMKilled", "no endpoints available", "logs cert-manager-webhook-abc --previous"},
		{"readiness probe on 6080, health on 6081", func(f *fixture) { f.pod.Spec.Containers[0].Args[1] = "--healthz-port=6081" },
			"WebhookReadinessProbePort", result.Critical, "checks port 6080 but the process listens for health checks on 6081", "no endpoints available", "--healthz-port=6080"},
		{"caBundle from another CA", func(f *fixture) { f.vwc.Webhooks[0].ClientConfig.CABundle = other.CertPEM() },
			"WebhookCABundleMismatch", result.Critical, "is not the CA in secret cert-manager/cert-manager-webhook-ca", "x509: certificate signed by unknown authority", "cainjector"},
		{"empty caBundle", func(f *fixture) { f.vwc.Webhooks[0].ClientConfig.CABundle = nil },
			"WebhookCABundle", result.Critical, "caBundle is empty", "certificate signed by unknown authority", "cainjector"},
		{"expired serving certificate", func(f *fixture) {
			o := certstest.Expired()
			o.DNS = []string{"cert-manager-webhook.cert-manager.svc"}
			f.leaf = f.ca.Issue(o)
		}, "WebhookServedCertificate", result.Critical, "outside its validity", "x509: certificate has expired or is not yet valid", "renew"},
		{"served certificate for another name (Fargate's kubelet)", func(f *fixture) {
			f.leaf = f.ca.Issue(certstest.Opts{DNS: []string{"ip-192-168-1-2.eu-west-1.compute.internal"}})
		}, "WebhookServedCertificate", result.Critical, "does not cover cert-manager-webhook.cert-manager.svc", "x509: certificate is valid for ip-192-168-1-2.eu-west-1.compute.internal, not cert-manager-webhook.cert-manager.svc", "dnsNames"},
		{"hostNetwork on the kubelet's port", func(f *fixture) { f.pod.Spec.HostNetwork = true },
			"WebhookHostNetworkKubeletPort", result.Critical, "kubelet already holds", "", "webhook.securePort=10260"},
		{"Fargate on 10250", func(f *fixture) { f.node.Labels = map[string]string{"eks.amazonaws.com/compute-type": "fargate"} },
			"WebhookProviderFirewall", result.Critical, "Fargate", "valid for ip-", "securePort=10260"},
		{"GKE private cluster on port 12345", func(f *fixture) {
			f.node.Spec.ProviderID = "gce://proj/zone/node1"
			f.pod.Spec.Containers[0].Args[0] = "--secure-port=12345"
			f.pod.Spec.Containers[0].Ports[0].ContainerPort = 12345
		}, "WebhookProviderFirewall", result.Warning, "only on 443 and 10250", "i/o timeout", "firewall-rules create"},
		{"secure port differs from containerPort", func(f *fixture) { f.pod.Spec.Containers[0].Args[0] = "--secure-port=10260" },
			"WebhookPortMismatch", result.Critical, "serves on 10260", "connect: connection refused", "webhook.securePort"},
		{"NetworkPolicy denying ingress", func(f *fixture) {
			f.extra = append(f.extra, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default-deny"},
				Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}})
		}, "WebhookNetworkPolicy", result.Critical, "default-deny", "i/o timeout", "ipBlock"},
		{"NetworkPolicy admitting only pods", func(f *fixture) {
			f.extra = append(f.extra, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pods-only"},
				Spec: networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}}}}})
		}, "WebhookNetworkPolicy", result.Critical, "the API server is not a pod", "", ""},
		{"inject-ca-from with a hard-coded namespace", func(f *fixture) {
			f.vwc.Annotations = map[string]string{"cert-manager.io/inject-ca-from": "kube-system/cert-manager-webhook-ca"}
		}, "WebhookCAInjection", result.Critical, "hard-coded namespace", "unknown authority", "cert-manager/cert-manager-webhook-ca"},
		{"inject-ca-from-secret naming a missing secret", func(f *fixture) {
			f.vwc.Annotations = map[string]string{"cert-manager.io/inject-ca-from-secret": "cert-manager/cert-manager-webhook-caq"}
		}, "WebhookCAInjection", result.Critical, "does not exist", "unknown authority", "unable to fetch associated secret"},
		{"cainjector not ready", func(f *fixture) { f.injector.Status.Conditions[0].Status = corev1.ConditionFalse },
			"WebhookCAInjection", result.Critical, "no Ready cainjector", "CA bundle is not injected yet", "leaderElection.namespace"},
		{"namespaceSelector includes the webhook's own namespace, rules intercept pods", func(f *fixture) {
			f.vwc.Webhooks[0].NamespaceSelector = &metav1.LabelSelector{}
			f.vwc.Webhooks[0].FailurePolicy = ptr.To(admissionv1.Fail)
			f.vwc.Webhooks[0].Rules = []admissionv1.RuleWithOperations{{Operations: []admissionv1.OperationType{admissionv1.Create},
				Rule: admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}}
		}, "WebhookSelfDeadlock", result.Warning, "intercepts its own namespace", "", "NotIn"},
		{"leader election forbidden in kube-system (GKE Autopilot)", func(f *fixture) {
			f.extra = append(f.extra, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "e1"},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "cert-manager-webhook-abc"},
				Message:        `error initially creating leader election record: leases.coordination.k8s.io is forbidden: User "system:serviceaccount:cert-manager:cert-manager-webhook" cannot create resource "leases" in API group "coordination.k8s.io" in the namespace "kube-system": GKEAutopilot authz: the namespace "kube-system" is managed and the request's verb "create" is denied`})
		}, "WebhookLeaderElection", result.Critical, "cannot take its leader-election lease", "CA bundle is not injected yet", "global.leaderElection.namespace=cert-manager"},
		{"slow webhook", func(f *fixture) { f.probeRTT = 20 * time.Second },
			"WebhookSlow", result.Warning, "more than half of timeoutSeconds", "context deadline exceeded", "timeoutSeconds to 30"},
		{"nothing answers TLS", func(f *fixture) { f.probeErr = errors.New("net/http: TLS handshake timeout") },
			"WebhookUnreachable", result.Critical, "no TLS handshake", "net/http: TLS handshake timeout", "plain-HTTP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture()
			tt.breakIt(f)
			r, _ := f.walk(t)
			var got *result.Finding
			for i := range r.Findings {
				if r.Findings[i].Code == tt.code {
					got = &r.Findings[i]
				}
			}
			if got == nil {
				t.Fatalf("no %s finding; got %+v", tt.code, r.Findings)
			}
			if got.Severity != tt.severity || !strings.Contains(got.Message, tt.inMsg) || !strings.Contains(got.Error, tt.inErr) || !strings.Contains(got.Fix, tt.inFix) {
				t.Fatalf("finding %+v\nwant severity %s, message ~%q, error ~%q, fix ~%q", *got, tt.severity, tt.inMsg, tt.inErr, tt.inFix)
			}
			// Every error reads as the API server's, except cmctl's own words for a CA never injected.
			if got.Error != "" && !strings.HasPrefix(got.Error, "Not ready:") && !strings.Contains(got.Error, `failed calling webhook "webhook.cert-manager.io"`) {
				t.Errorf("the error must read as the API server's: %q", got.Error)
			}
		})
	}
}

type fakeCaller struct {
	rtt       time.Duration
	attempted bool
	err       error
	reviewErr error
	// hang makes Review wait until its context ends, as a webhook that never answers.
	hang bool
}

func (c fakeCaller) Review(ctx context.Context, _ Target) (string, time.Duration, error) {
	if c.hang {
		<-ctx.Done()
		return "", 0, ctx.Err()
	}
	return `{"response":{"allowed":true}}`, time.Millisecond, c.reviewErr
}

func (c fakeCaller) Call(context.Context, Target) Call {
	return Call{Attempted: c.attempted, What: "dry-run create of a ConfigMap", RTT: c.rtt, Err: c.err}
}

func TestDryRunCall(t *testing.T) {
	deadline := errors.New(`Internal error occurred: failed calling webhook "webhook.cert-manager.io": failed to call webhook: Post "https://cert-manager-webhook.cert-manager.svc:443/validate?timeout=30s": context deadline exceeded`)
	tests := []struct {
		name     string
		caller   fakeCaller
		breakIt  func(*fixture)
		code     string
		severity result.Severity
	}{
		{"passes", fakeCaller{rtt: 40 * time.Millisecond, attempted: true}, nil, "", result.OK},
		{"not attempted", fakeCaller{}, nil, "", result.OK},
		{"times out", fakeCaller{rtt: 30 * time.Second, attempted: true, err: deadline}, nil, "WebhookCallFailed", result.Critical},
		{"slow", fakeCaller{rtt: 20 * time.Second, attempted: true}, nil, "WebhookSlow", result.Warning},
		{"already explained", fakeCaller{attempted: true, err: deadline}, func(f *fixture) { f.vwc.Webhooks[0].ClientConfig.Service.Name = "typo" }, "WebhookServiceNotFound", result.Critical},
		{"webhook answers the proxy with an HTTP error", fakeCaller{attempted: true, reviewErr: errors.New("the server rejected our request for an unknown reason (post services https:cert-manager-webhook:443)")}, nil, "", result.OK},
		{"service proxy cannot reach the pod", fakeCaller{attempted: true, reviewErr: errors.New(`error trying to reach service: dial tcp 10.244.0.7:10250: i/o timeout`)}, nil, "WebhookUnreachable", result.Critical},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture()
			if tt.breakIt != nil {
				tt.breakIt(f)
			}
			f.caller = &tt.caller
			r, _ := f.walk(t)
			if tt.code == "" {
				if len(r.Findings) != 0 {
					t.Fatalf("findings: %+v", r.Findings)
				}
				return
			}
			if len(r.Findings) != 1 || r.Findings[0].Code != tt.code || r.Findings[0].Severity != tt.severity {
				t.Fatalf("want one %s %s finding, got %+v", tt.severity, tt.code, r.Findings)
			}
			if tt.code == "WebhookCallFailed" && (r.Findings[0].Error != deadline.Error() || !strings.Contains(r.Findings[0].Message, "raise timeoutSeconds to 30")) {
				t.Fatalf("the API server's own text and the classification: %+v", r.Findings[0])
			}
		})
	}
}

// A webhook that never answers (or answers after timeoutSeconds) holds the service-proxy
// probe for its timeoutSeconds (as the API server waits) plus the proxy's slack, not for
// the 30 s request timeout.
func TestServiceProxyProbeBoundedByTimeoutSeconds(t *testing.T) {
	f := newFixture()
	one := int32(1)
	f.vwc.Webhooks[0].TimeoutSeconds = &one
	f.caller = &fakeCaller{attempted: true, hang: true}
	start := time.Now()
	r, _ := f.walk(t)
	if took := time.Since(start); took > time.Second+reviewSlack+2*time.Second {
		t.Fatalf("the walk took %v with timeoutSeconds 1", took)
	}
	// Not "unreachable": a slow webhook answers later; what is known is that a call bounded
	// by timeoutSeconds fails.
	if len(r.Findings) != 1 || r.Findings[0].Code != "WebhookCallFailed" || !strings.Contains(r.Findings[0].Message+r.Findings[0].Error, "within 3s") {
		t.Fatalf("want one WebhookCallFailed saying it waited 3s: %+v", r.Findings)
	}
	// The API server's own call, which fails the same way, gives the finding its real text.
	callErr := errors.New(`Internal error occurred: failed calling webhook "webhook.cert-manager.io": failed to call webhook: Post "https://cert-manager-webhook.cert-manager.svc:443/validate?timeout=1s": context deadline exceeded`)
	f.caller = &fakeCaller{attempted: true, hang: true, err: callErr}
	r, _ = f.walk(t)
	if len(r.Findings) != 1 || r.Findings[0].Error != callErr.Error() || r.Findings[0].ErrorPredicted {
		t.Fatalf("the real call's text replaces the probe's: %+v", r.Findings)
	}
}

// -n names where the product keeps its CA secret and cainjector when they are not beside
// the webhook's Service.
func TestProductNamespaceOverride(t *testing.T) {
	f := newFixture()
	f.caSecret.Namespace, f.injector.Namespace = "cm-system", "cm-system"
	r, _ := f.walk(t)
	if len(r.Findings) == 0 {
		t.Fatal("without -n the CA secret and cainjector are looked for beside the Service, and are not there")
	}
	f.namespace = "cm-system"
	f.vwc.Annotations["cert-manager.io/inject-ca-from-secret"] = "cm-system/cert-manager-webhook-ca"
	if r, _ = f.walk(t); len(r.Findings) != 0 {
		t.Fatalf("with -n cm-system: %+v", r.Findings)
	}
}

func TestCalicoPoliciesNamed(t *testing.T) {
	f := newFixture()
	calico := schema.GroupVersionResource{Group: "crd.projectcalico.org", Version: "v1", Resource: "networkpolicies"}
	pol := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "crd.projectcalico.org/v1", "kind": "NetworkPolicy",
		"metadata": map[string]any{"namespace": ns, "name": "deny-all"}}}
	kinds := map[schema.GroupVersionResource]string{}
	for _, p := range cniPolicies {
		kinds[p.gvr] = "List"
	}
	kinds[calico] = "NetworkPolicyList"
	f.dynamic = dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), kinds, pol)
	r, _ := f.walk(t)
	if len(r.Findings) != 1 || r.Findings[0].Code != "WebhookNetworkPolicy" || r.Findings[0].Severity != result.Warning ||
		!strings.Contains(r.Findings[0].Message, "networkpolicies.crd.projectcalico.org/deny-all") {
		t.Fatalf("%+v", r.Findings)
	}
}

func TestSimilarNames(t *testing.T) {
	for a, b := range map[string]string{"cert-managercert-manager-webhook": "cert-manager-webhook", "cert-manger-webhook": "cert-manager-webhook"} {
		if !similar(a, b) {
			t.Errorf("%s ~ %s", a, b)
		}
	}
	if similar("kube-dns", "cert-manager-webhook") {
		t.Error("unrelated names")
	}
}

func TestFlagPort(t *testing.T) {
	c := corev1.Container{Command: []string{"webhook", "--healthz-port", "6081"}, Args: []string{"--secure-port=:10260", "--validating-webhook=0.0.0.0:8443"}}
	for flag, want := range map[string]int32{"--healthz-port": 6081, "--secure-port": 10260, "--validating-webhook": 8443, "--missing": 0} {
		if got := flagPort(c, flag); got != want {
			t.Errorf("%s = %d, want %d", flag, got, want)
		}
	}
}

func TestDiscoverConversionCRDs(t *testing.T) {
	ext := apiextfake.NewSimpleClientset(
		&apiextv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "tasks.tekton.dev"}, Spec: apiextv1.CustomResourceDefinitionSpec{Group: "tekton.dev",
			Conversion: &apiextv1.CustomResourceConversion{Strategy: apiextv1.WebhookConverter, Webhook: &apiextv1.WebhookConversion{ClientConfig: &apiextv1.WebhookClientConfig{
				Service: &apiextv1.ServiceReference{Namespace: "tekton-pipelines", Name: "tekton-pipelines-webhook", Path: ptr.To("/resource-conversion")}}}}}},
		&apiextv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com"}, Spec: apiextv1.CustomResourceDefinitionSpec{Group: "example.com"}})
	all, _ := plugins.All()
	targets, err := Discover(context.Background(), fake.NewClientset(), nil, ext, ProfileFilter(all["tekton-pipelines"]))
	if err != nil || len(targets) != 1 {
		t.Fatalf("%+v %v", targets, err)
	}
	if tg := targets[0]; tg.Kind != "CustomResourceDefinition" || tg.Host() != "tekton-pipelines-webhook.tekton-pipelines.svc" || *tg.ClientConfig.Service.Port != 443 {
		t.Fatalf("%+v", tg)
	}
	if all, _ := Discover(context.Background(), fake.NewClientset(), nil, ext, nil); len(all) != 1 {
		t.Fatalf("--all: a CRD without a conversion webhook is not a target: %+v", all)
	}
}

// A link whose read RBAC denies is a PermissionDenied finding naming the verb, resource,
// namespace and user from the API server's message, not a failed read.
func TestLinkReadDenied(t *testing.T) {
	f := newFixture()
	f.react = func(c *fake.Clientset) {
		c.PrependReactor("get", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "services"}, "cert-manager-webhook",
				errors.New(`User "oncall" cannot get resource "services" in API group "" in the namespace "cert-manager"`))
		})
	}
	r, _ := f.walk(t)
	var denied *result.Finding
	for i := range r.Findings {
		if r.Findings[i].Code == "PermissionDenied" {
			denied = &r.Findings[i]
		}
		if r.Findings[i].Code == "SourceFailed" {
			t.Errorf("a denial read as a failed read: %+v", r.Findings[i])
		}
	}
	if denied == nil {
		t.Fatalf("no PermissionDenied finding: %+v", r.Findings)
	}
	for _, want := range []string{"get services in namespace cert-manager", `"oncall"`, "the Service"} {
		if !strings.Contains(denied.Message, want) {
			t.Errorf("message %q lacks %q", denied.Message, want)
		}
	}
	if !strings.Contains(denied.Fix, "kubectl create role certdoctor-get -n cert-manager --verb=get --resource=services") || !strings.Contains(denied.Error, "cannot get resource") {
		t.Errorf("fix %q / error %q", denied.Fix, denied.Error)
	}
}
