//go:build e2e

// Shapes of metrics-server, knative-serving, external-secrets, aws-load-balancer-controller,
// keda, tekton-pipelines and vault-agent-injector (see products_shapes_test.go and
// products_shapes_a_test.go).
package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiregv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/utils/ptr"
)

// metrics-server: an aggregated API; with no --tls-cert-file it serves a self-signed
// certificate for localhost generated into --cert-dir, and the APIService skips TLS
// verification (insecureSkipTLSVerify, no caBundle).
// Fault: the pod never gets Ready (/readyz fails: metric-storage-ready, e.g. every kubelet
// scrape fails), so the APIService turns Available=False.
func installMetricsServer(t *testing.T) func() {
	const ns, svc = "kube-system", "metrics-server"
	k := newKit(t, ns, nil)
	lbl := map[string]string{"k8s-app": "metrics-server"}
	pod := k.tlsPod(svc, lbl, []corev1.Container{harness{TLS: []string{":10250"}, SelfSigned: []string{"localhost", "127.0.0.1"},
		APIGroups: []string{"metrics.k8s.io/v1beta1"}}.in(corev1.Container{
		Name: "metrics-server",
		Args: []string{"--cert-dir=/tmp", "--secure-port=10250", "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
			"--kubelet-use-node-status-port", "--metric-resolution=15s"},
		Ports:          cports("https", 10250),
		ReadinessProbe: probe("/readyz", "https", overTLS),
		LivenessProbe:  probe("/livez", "https", overTLS),
		SecurityContext: &corev1.SecurityContext{ReadOnlyRootFilesystem: ptr.To(true), RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](1000),
			AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		VolumeMounts: []corev1.VolumeMount{{Name: "tmp-dir", MountPath: "/tmp"}}})},
		withVolumes(emptyDir("tmp-dir")), withPriorityClass("system-cluster-critical"))
	k.service(svc, lbl, nil, lbl, appHTTPS(sport("https", 443, "https")))
	api := k.apiService(apiregv1.APIServiceSpec{Service: &apiregv1.ServiceReference{Name: svc, Namespace: ns}, Group: "metrics.k8s.io", Version: "v1beta1",
		InsecureSkipTLSVerify: true, GroupPriorityMinimum: 100, VersionPriority: 100}, lbl, nil)
	k.serve(svc, pod, 10250, nil)
	k.waitAPIService(api, apiregv1.ConditionTrue)
	return func() {
		pod = k.replacePod(pod, func(p *corev1.Pod) { setEnv(t, p, "metrics-server", "E2E_FAIL_PATHS", "/readyz") })
		k.waitEndpoints(svc, pod, false)
		k.waitAPIService(api, apiregv1.ConditionFalse)
	}
}

// knativeCerts is knative/pkg's certificates controller: a fresh CA and a leaf with the
// same subject (O=knative.dev, CN=<svc>.<ns>.svc), valid 7 days, a new CA each rotation.
func knativeCerts(t *testing.T, svc, ns string) pki {
	t.Helper()
	now := time.Now()
	host := svc + "." + ns + ".svc"
	spec := CertSpec{CN: host, Org: []string{"knative.dev"}, DNS: []string{svc, svc + "." + ns, host, host + ".cluster.local"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(days(7))}
	caSpec := spec
	caSpec.Server, caSpec.Client = true, true
	return serving(t, caFrom(t, caSpec), spec)
}

// knativeWebhooks are knative/pkg's runtime webhook configurations for one admission
// controller name (base): defaulting (mutating), resource validation, config validation.
type knativeWebhooks struct {
	base, svc              string
	lbl                    map[string]string
	caBundle               []byte
	defaulting, validation []admissionv1.RuleWithOperations
	configSel              *metav1.LabelSelector
	versions               []string
	timeout                int32
}

func (k *kit) knativeConfigs(w knativeWebhooks) []hookConfig {
	exclude := selector("webhooks.knative.dev/exclude DoesNotExist")
	mk := func(name string, mutating bool, h hook) hookConfig {
		h.name, h.policy, h.timeout, h.versions = name, admissionv1.Fail, w.timeout, w.versions
		return hookConfig{name: name, mutating: mutating, lbl: w.lbl, owners: k.namespaceOwner(), svc: w.svc, caBundle: w.caBundle, hooks: []hook{h}}
	}
	return []hookConfig{
		mk(w.base, true, hook{path: "/defaulting", reinvoke: admissionv1.IfNeededReinvocationPolicy, nsSel: exclude, rules: w.defaulting}),
		mk("validation."+w.base, false, hook{path: "/resource-validation", nsSel: exclude, rules: w.validation}),
		mk("config."+w.base, false, hook{path: "/config-validation", objSel: w.configSel,
			rules: []admissionv1.RuleWithOperations{rule("CREATE,UPDATE", "", "v1", "configmaps/*", "Namespaced")}}),
	}
}

// knative-serving: the webhook pod reads webhook-certs (ca-cert.pem, server-cert.pem,
// server-key.pem) through an informer and its reconcilers patch ca-cert.pem into the three
// configurations; the kubelet probes the TLS port itself.
// Fault: webhook-certs rotated (a new CA, as every week), the caBundles were not patched.
func installKnativeServing(t *testing.T) func() {
	const ns, svc = "knative-serving", "webhook"
	k := newKit(t, ns, map[string]string{"app.kubernetes.io/name": "knative-serving", "app.kubernetes.io/version": "1.23.0"})
	cur := knativeCerts(t, svc, ns)
	secretLbl := map[string]string{"app.kubernetes.io/component": "webhook", "app.kubernetes.io/name": "knative-serving", "app.kubernetes.io/version": "1.23.0"}
	k.secret("webhook-certs", corev1.SecretTypeOpaque, layoutKnative.data(t, cur), secretLbl, nil)
	lbl := map[string]string{"app": "webhook", "role": "webhook", "app.kubernetes.io/component": "webhook", "app.kubernetes.io/name": "knative-serving",
		"app.kubernetes.io/version": "1.23.0"}
	pod := k.tlsPod("webhook", lbl, []corev1.Container{harness{TLS: []string{":8443"}, TLS13: true}.from(harnessCertDir, layoutKnative).in(corev1.Container{
		Name: "webhook",
		Env: append([]corev1.EnvVar{fieldEnv("POD_NAME", "metadata.name"), fieldEnv("SYSTEM_NAMESPACE", "metadata.namespace")},
			envs("CONFIG_LOGGING_NAME", "config-logging", "CONFIG_OBSERVABILITY_NAME", "config-observability", "WEBHOOK_NAME", "webhook",
				"WEBHOOK_PORT", "8443", "METRICS_DOMAIN", "knative.dev/internal/serving")...),
		Ports:          cports("metrics", 9090, "profiling", 8008, "https-webhook", 8443),
		ReadinessProbe: probe("", 8443, overTLS),
		LivenessProbe:  probe("", 8443, overTLS),
		VolumeMounts:   []corev1.VolumeMount{mount("e2e-webhook-certs", harnessCertDir)}})},
		withVolumes(secretVolume("e2e-webhook-certs", "webhook-certs")))
	k.service(svc, lbl, nil, pick(lbl, "app", "role"), sport("http-metrics", 9090, 9090), sport("http-profiling", 8008, 8008), sport("https-webhook", 443, 8443))
	var rules []admissionv1.RuleWithOperations
	rules = append(rules, gvkRules("CREATE,UPDATE", "serving.knative.dev", "v1", "revisions", "configurations", "routes", "services")...)
	rules = append(rules, gvkRules("CREATE,UPDATE", "autoscaling.internal.knative.dev", "v1alpha1", "podautoscalers", "metrics")...)
	rules = append(rules, gvkRules("CREATE,UPDATE", "networking.internal.knative.dev", "v1alpha1", "certificates", "ingresses", "serverlessservices")...)
	rules = append(rules, gvkRules("CREATE,UPDATE", "serving.knative.dev", "v1beta1", "domainmappings")...)
	validation := make([]admissionv1.RuleWithOperations, len(rules))
	for i, r := range rules {
		r.Operations = []admissionv1.OperationType{admissionv1.Create, admissionv1.Update, admissionv1.Delete}
		validation[i] = r
	}
	configs := k.knativeConfigs(knativeWebhooks{base: "webhook.serving.knative.dev", svc: svc, lbl: secretLbl, caBundle: cur.ca.CertPEM,
		defaulting: rules, validation: validation, versions: []string{"v1", "v1beta1"}, timeout: 10,
		configSel: selector("app.kubernetes.io/name In knative-serving",
			"app.kubernetes.io/component In autoscaler,controller,logging,networking,observability,tracing,net-certmanager")})
	for _, c := range configs {
		k.webhooks(c)
	}
	k.serve(svc, pod, 8443, cur.ca.CertPEM)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "config-autoscaler",
		Labels: map[string]string{"app.kubernetes.io/name": "knative-serving", "app.kubernetes.io/component": "autoscaler"}}}
	_, err := client.CoreV1().ConfigMaps(ns).Create(k.ctx, cm, dryRunAll)
	k.dryRun("create of ConfigMap config-autoscaler (config.webhook.serving.knative.dev)", err)
	return func() {
		next := knativeCerts(t, svc, ns)
		k.updateSecret("webhook-certs", layoutKnative.data(t, next))
		pod = k.replacePod(pod, func(*corev1.Pod) {}) // knative reads the secret at each handshake
		k.waitEndpoints(svc, pod, true)
	}
}

// external-secrets: cert-controller fills external-secrets-webhook (ca.crt, ca.key,
// tls.crt, tls.key; RSA, CA "external-secrets", leaf only for <svc>.<ns>.svc, 10 years) and
// the caBundles of the VWCs labelled external-secrets.io/component=webhook. The webhook pod
// here also carries an istio-proxy sidecar (the namespace is in a mesh): its readinessProbe
// is rewritten to the sidecar's 15020 /app-health/webhook/readyz.
// Fault: a typo in the Service name of externalsecret-validate.
func installExternalSecrets(t *testing.T) func() {
	const ns, svc = "external-secrets", "external-secrets-webhook"
	k := newKit(t, ns, map[string]string{"istio-injection": "enabled"})
	now := time.Now()
	ca := caFrom(t, CertSpec{CN: "external-secrets", Org: []string{"external-secrets"}, Key: rsaKey(t), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(days(3650))})
	host := svc + "." + ns + ".svc"
	cert := serving(t, ca, CertSpec{CN: host, DNS: []string{host}, Key: rsaKey(t), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(days(3650))})
	k.secret(svc, corev1.SecretTypeOpaque, layoutRotator.data(t, cert), map[string]string{"app.kubernetes.io/name": "external-secrets-webhook",
		"app.kubernetes.io/instance": "external-secrets", "external-secrets.io/component": "webhook"}, nil)
	lbl := map[string]string{"app.kubernetes.io/name": "external-secrets-webhook", "app.kubernetes.io/instance": "external-secrets",
		"app.kubernetes.io/version": "v2.9.0", "security.istio.io/tlsMode": "istio", "service.istio.io/canonical-name": "external-secrets-webhook"}
	probers, _ := json.Marshal(map[string]any{"/app-health/webhook/readyz": map[string]any{"httpGet": map[string]any{"path": "/readyz", "port": 8081, "scheme": "HTTP"}, "timeoutSeconds": 1}})
	pod := k.tlsPod(svc, lbl, []corev1.Container{
		harness{TLS: []string{":10250"}, HTTP: []string{":8081", ":8080"}}.from("/tmp/certs", layoutRotator).in(corev1.Container{
			Name: "webhook",
			Args: []string{"webhook", "--port=10250", "--dns-name=" + host, "--cert-dir=/tmp/certs", "--check-interval=5m", "--metrics-addr=:8080",
				"--healthz-addr=:8081", "--loglevel=info", "--zap-time-encoding=epoch"},
			Ports:          cports("metrics", 8080, "webhook", 10250, "ready", 8081),
			ReadinessProbe: probe("/app-health/webhook/readyz", 15020, plainHTTP), // istio's rewrite of httpGet /readyz port ready
			VolumeMounts:   []corev1.VolumeMount{mount("certs", "/tmp/certs")}}),
		harness{HTTP: []string{":15020", ":15021", ":15090"}}.in(corev1.Container{
			Name: "istio-proxy",
			Args: []string{"proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local", "--proxyLogLevel=warning", "--proxyComponentLogLevel=misc:error", "--log_output_level=default:info"},
			Env: append([]corev1.EnvVar{fieldEnv("POD_NAME", "metadata.name"), fieldEnv("POD_NAMESPACE", "metadata.namespace")},
				envs("ISTIO_KUBE_APP_PROBERS", string(probers), "PILOT_CERT_PROVIDER", "istiod", "CA_ADDR", "istiod.istio-system.svc:15012")...),
			Ports:          cports("http-envoy-prom", 15090),
			ReadinessProbe: probe("/healthz/ready", 15021, plainHTTP)}),
	}, withVolumes(secretVolume("certs", svc)), withAnnotations(map[string]string{"sidecar.istio.io/status": `{"containers":["istio-proxy"],"initContainers":["istio-init"]}`,
		"prometheus.io/path": "/stats/prometheus", "prometheus.io/port": "15020", "prometheus.io/scrape": "true"}))
	certController := k.tlsPod("external-secrets-cert-controller", map[string]string{"app.kubernetes.io/name": "external-secrets-cert-controller",
		"app.kubernetes.io/instance": "external-secrets", "sidecar.istio.io/inject": "false"},
		[]corev1.Container{harness{HTTP: []string{":8081", ":8080"}}.in(corev1.Container{Name: "cert-controller",
			Args: []string{"certcontroller", "--crd-requeue-interval=5m", "--service-name=" + svc, "--service-namespace=" + ns, "--secret-name=" + svc,
				"--secret-namespace=" + ns, "--metrics-addr=:8080", "--healthz-addr=:8081", "--loglevel=info", "--zap-time-encoding=epoch", "--enable-partial-cache=true"},
			Ports: cports("metrics", 8080, "ready", 8081), ReadinessProbe: probe("/readyz", "ready", plainHTTP)})})
	k.service(svc, map[string]string{"external-secrets.io/component": "webhook", "app.kubernetes.io/name": "external-secrets-webhook"}, nil,
		pick(lbl, "app.kubernetes.io/name", "app.kubernetes.io/instance"), sport("webhook", 443, "webhook"))
	cfgLbl := map[string]string{"external-secrets.io/component": "webhook", "app.kubernetes.io/name": "external-secrets-webhook", "app.kubernetes.io/instance": "external-secrets"}
	validate := func(kind, plural, scope string) hook {
		return hook{name: "validate." + kind + ".external-secrets.io", path: "/validate-external-secrets-io-v1-" + kind, policy: admissionv1.Fail, timeout: 5,
			versions: []string{"v1", "v1beta1"}, rules: []admissionv1.RuleWithOperations{rule("CREATE,UPDATE,DELETE", "external-secrets.io", "v1", plural, scope)}}
	}
	externalsecret := hookConfig{name: "externalsecret-validate", lbl: cfgLbl, svc: svc, caBundle: ca.CertPEM,
		hooks: []hook{validate("externalsecret", "externalsecrets", "Namespaced")}}
	for _, c := range []hookConfig{
		{name: "secretstore-validate", lbl: cfgLbl, svc: svc, caBundle: ca.CertPEM,
			hooks: []hook{validate("secretstore", "secretstores", "Namespaced"), validate("clustersecretstore", "clustersecretstores", "Cluster")}},
		externalsecret,
	} {
		k.webhooks(c)
	}
	k.serve(svc, pod, 10250, ca.CertPEM)
	k.waitPodReady(certController)
	return func() {
		k.editWebhooks(externalsecret.kind(), externalsecret.name, func(_ int, cc *admissionv1.WebhookClientConfig) { cc.Service.Name = "external-secret-webhook" })
	}
}

// aws-load-balancer-controller: Helm's genCA + genSignedCert (10 years) in
// aws-load-balancer-tls (kubernetes.io/tls with ca.crt) and in every caBundle; an MWC and a
// VWC both named aws-load-balancer-webhook; health on 61779 (no containerPort).
// Fault: --webhook-bind-port=9444 (extra args) while containerPort webhook-server is 9443.
func installAWSLoadBalancerController(t *testing.T) func() {
	const ns, svc, name = "kube-system", "aws-load-balancer-webhook-service", "aws-load-balancer-controller"
	k := newKit(t, ns, nil)
	now := time.Now()
	ca := caFrom(t, CertSpec{CN: name + "-ca", Key: rsaKey(t), NotBefore: now, NotAfter: now.Add(days(3650))})
	cert := serving(t, ca, CertSpec{CN: name, Key: rsaKey(t), DNS: []string{svc + "." + ns, svc + "." + ns + ".svc", svc + "." + ns + ".svc.cluster.local"},
		NotBefore: now, NotAfter: now.Add(days(3650))})
	lbl := map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/instance": name}
	k.secret("aws-load-balancer-tls", corev1.SecretTypeTLS, layoutTLSCA.data(t, cert), lbl, nil)
	certDir := "/tmp/k8s-webhook-server/serving-certs"
	pod := k.tlsPod(name, lbl, []corev1.Container{harness{TLS: []string{":9443"}, HTTP: []string{":61779", ":8080"}}.from(certDir, layoutTLSCA).in(corev1.Container{
		Name:           name,
		Args:           []string{"--cluster-name=e2e", "--ingress-class=alb"},
		Ports:          cports("webhook-server", 9443, "metrics-server", 8080),
		LivenessProbe:  probe("/healthz", 61779, plainHTTP),
		ReadinessProbe: probe("/readyz", 61779, plainHTTP),
		VolumeMounts:   []corev1.VolumeMount{mount("cert", certDir)}})},
		withVolumes(secretVolume("cert", "aws-load-balancer-tls")), withAnnotations(map[string]string{"prometheus.io/port": "8080", "prometheus.io/scrape": "true"}))
	k.service(svc, map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/instance": name, "app.kubernetes.io/component": "webhook",
		"prometheus.io/service-monitor": "false"}, nil, lbl, sport("webhook-server", 443, "webhook-server"))
	notSelf := "app.kubernetes.io/name NotIn " + name
	pods := []admissionv1.RuleWithOperations{rule("CREATE", "", "v1", "pods", "")}
	tgb := []admissionv1.RuleWithOperations{rule("CREATE,UPDATE", "elbv2.k8s.aws", "v1beta1", "targetgroupbindings", "")}
	h := func(name, path string, policy admissionv1.FailurePolicyType, nsSel, objSel *metav1.LabelSelector, rules []admissionv1.RuleWithOperations) hook {
		return hook{name: name, path: path, policy: policy, nsSel: nsSel, objSel: objSel, rules: rules}
	}
	fail, ignore := admissionv1.Fail, admissionv1.Ignore
	vingress := h("vingress.elbv2.k8s.aws", "/validate-networking-v1-ingress", fail, nil, nil,
		[]admissionv1.RuleWithOperations{rule("CREATE,UPDATE", "networking.k8s.io", "v1", "ingresses", "")})
	vingress.match = admissionv1.Equivalent
	for _, c := range []hookConfig{
		{name: "aws-load-balancer-webhook", mutating: true, lbl: lbl, svc: svc, caBundle: ca.CertPEM, hooks: []hook{
			h("mpod.elbv2.k8s.aws", "/mutate-v1-pod", ignore, selector("elbv2.k8s.aws/pod-readiness-gate-inject In enabled"), selector(notSelf), pods),
			h("quicid.elbv2.k8s.aws", "/mutate-v1-pod-server-id", fail, selector("elbv2.k8s.aws/quic-server-id-inject In enabled"), selector(notSelf), pods),
			h("mservice.elbv2.k8s.aws", "/mutate-v1-service", fail, nil, selector(notSelf), []admissionv1.RuleWithOperations{rule("CREATE", "", "v1", "services", "")}),
			h("alb-target-control.namespace.elbv2.k8s.aws", "/mutate-alb-target-control-namespace-v1-pod", fail,
				selector("elbv2.k8s.aws/alb-target-control-agent-injection In enabled"), selector(notSelf, "elbv2.k8s.aws/alb-target-control-agent-inject NotIn false"), pods),
			h("alb-target-control.object.elbv2.k8s.aws", "/mutate-alb-target-control-object-v1-pod", fail,
				selector("elbv2.k8s.aws/alb-target-control-agent-injection DoesNotExist"), selector(notSelf, "elbv2.k8s.aws/alb-target-control-agent-inject In true"), pods),
			h("mtargetgroupbinding.elbv2.k8s.aws", "/mutate-elbv2-k8s-aws-v1beta1-targetgroupbinding", fail, nil, nil, tgb),
		}},
		{name: "aws-load-balancer-webhook", lbl: lbl, svc: svc, caBundle: ca.CertPEM, hooks: []hook{
			h("vingressclassparams.elbv2.k8s.aws", "/validate-elbv2-k8s-aws-v1beta1-ingressclassparams", fail, nil, selector(notSelf),
				[]admissionv1.RuleWithOperations{rule("CREATE,UPDATE", "elbv2.k8s.aws", "v1beta1", "ingressclassparams", "")}),
			h("vtargetgroupbinding.elbv2.k8s.aws", "/validate-elbv2-k8s-aws-v1beta1-targetgroupbinding", fail, nil, nil, tgb),
			vingress,
		}},
	} {
		k.webhooks(c)
	}
	k.serve(svc, pod, 9443, ca.CertPEM)
	probeSvc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "e2e-dry-run"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
	_, err := client.CoreV1().Services("default").Create(k.ctx, probeSvc, dryRunAll)
	k.dryRun("create of a Service (mservice.elbv2.k8s.aws, failurePolicy Fail)", err)
	return func() {
		pod = k.replacePod(pod, func(p *corev1.Pod) {
			setArg(t, p, name, "--webhook-bind-port=", "--webhook-bind-port=9444")
			setEnv(t, p, name, "E2E_TLS_LISTEN", ":9444")
		})
		k.waitEndpoints(svc, pod, true) // /readyz on 61779 still passes
	}
}

// keda: the operator's cert rotator keeps CA "KEDA"/"KEDAORG" and one leaf for its three
// Services in kedaorg-certs (ca.crt, ca.key, tls.crt, tls.key) and patches ca.crt into the
// keda-admission VWC and the v1beta1.external.metrics.k8s.io APIService.
// Fault: the metrics apiserver serves a certificate of another CA (its --tls-cert-file
// comes from a secret left by an earlier cert-manager-based install), the APIService trusts
// the operator's CA.
func installKeda(t *testing.T) func() {
	const ns, webhooks, metrics = "keda", "keda-admission-webhooks", "keda-operator-metrics-apiserver"
	k := newKit(t, ns, nil)
	issueKeda := func(caSpec CertSpec) pki {
		now := time.Now()
		caSpec.Key, caSpec.NotBefore, caSpec.NotAfter = rsaKey(t), now.Add(-time.Hour), now.Add(days(3650))
		ca := caFrom(t, caSpec)
		var dns []string
		for _, s := range []string{"keda-operator", metrics, webhooks} {
			dns = append(dns, s, s+"."+ns, s+"."+ns+".svc", s+"."+ns+".svc.cluster.local")
		}
		return serving(t, ca, CertSpec{CN: "keda-operator", DNS: dns, Client: true, Key: rsaKey(t), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(days(365))})
	}
	cert := issueKeda(CertSpec{CN: "KEDA", Org: []string{"KEDAORG"}})
	k.secret("kedaorg-certs", corev1.SecretTypeOpaque, layoutRotator.data(t, cert), map[string]string{"app": "keda-operator",
		"app.kubernetes.io/name": "keda-operator", "app.kubernetes.io/component": "keda-operator", "app.kubernetes.io/part-of": "keda"}, nil)
	certsVol := secretVolume("certificates", "kedaorg-certs")
	partOf := func(name string) map[string]string {
		return map[string]string{"app": name, "name": name, "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "keda", "app.kubernetes.io/version": "2.20.2"}
	}
	admission := k.tlsPod(webhooks, partOf(webhooks), []corev1.Container{harness{TLS: []string{":9443"}, HTTP: []string{":8081"}}.in(corev1.Container{
		Name: webhooks,
		Args: []string{"--zap-log-level=info", "--zap-encoder=console", "--zap-time-encoding=rfc3339", "--cert-dir=/certs",
			"--health-probe-bind-address=:8081", "--metrics-bind-address=:8080"},
		Env:            append([]corev1.EnvVar{fieldEnv("POD_NAME", "metadata.name"), fieldEnv("POD_NAMESPACE", "metadata.namespace")}, envs("WATCH_NAMESPACE", "")...),
		Ports:          cports("http", 9443),
		LivenessProbe:  probe("/healthz", 8081, plainHTTP),
		ReadinessProbe: probe("/readyz", 8081, plainHTTP),
		VolumeMounts:   []corev1.VolumeMount{mount("certificates", "/certs")}})}, withVolumes(certsVol))
	metricsPod := k.tlsPod(metrics, partOf(metrics), []corev1.Container{harness{TLS: []string{":6443"}, HTTP: []string{":8080"},
		APIGroups: []string{"external.metrics.k8s.io/v1beta1"}}.in(corev1.Container{
		Name: metrics,
		Args: []string{"--port=8080", "--secure-port=6443", "--logtostderr=true", "--stderrthreshold=ERROR", "--disable-compression=true",
			"--metrics-service-address=keda-operator." + ns + ".svc.cluster.local:9666", "--client-ca-file=/certs/ca.crt", "--tls-cert-file=/certs/tls.crt",
			"--tls-private-key-file=/certs/tls.key", "--cert-dir=/certs", "--v=0"},
		Env: append([]corev1.EnvVar{fieldEnv("POD_NAME", "metadata.name"), fieldEnv("POD_NAMESPACE", "metadata.namespace")},
			envs("KEDA_HTTP_DEFAULT_TIMEOUT", "3000", "KEDA_HTTP_MIN_TLS_VERSION", "TLS12", "KEDA_SERVICE_MIN_TLS_VERSION", "TLS13")...),
		Ports:          cports("https", 6443, "metrics", 8080),
		LivenessProbe:  probe("/healthz", 6443, overTLS),
		ReadinessProbe: probe("/readyz", 6443, overTLS),
		VolumeMounts:   []corev1.VolumeMount{mount("certificates", "/certs")}})}, withVolumes(certsVol))
	k.service(webhooks, partOf(webhooks), nil, map[string]string{"app": webhooks}, appHTTPS(sport("https", 443, 9443)))
	k.service(metrics, partOf(metrics), nil, map[string]string{"app": metrics}, appHTTPS(sport("https", 443, 6443)), sport("metrics", 8080, 8080))
	vh := func(name, group, plural string) hook { // kubebuilder's names and paths
		return hook{name: name, path: "/validate-" + strings.ReplaceAll(group, ".", "-") + "-v1alpha1-" + strings.TrimSuffix(plural, "s"),
			policy: admissionv1.Ignore, match: admissionv1.Equivalent, nsSel: &metav1.LabelSelector{}, objSel: &metav1.LabelSelector{}, timeout: 10,
			rules: []admissionv1.RuleWithOperations{rule("CREATE,UPDATE", group, "v1alpha1", plural, "")}}
	}
	k.webhooks(hookConfig{name: "keda-admission", lbl: partOf(webhooks), svc: webhooks, caBundle: cert.ca.CertPEM, hooks: []hook{
		vh("vscaledobject.kb.io", "keda.sh", "scaledobjects"), vh("vscaledjob.kb.io", "keda.sh", "scaledjobs"),
		vh("vstriggerauthentication.kb.io", "keda.sh", "triggerauthentications"),
		vh("vsclustertriggerauthentication.kb.io", "keda.sh", "clustertriggerauthentications"),
		vh("vcloudeventsource.kb.io", "eventing.keda.sh", "cloudeventsources"),
		vh("vclustercloudeventsource.kb.io", "eventing.keda.sh", "clustercloudeventsources")}})
	api := k.apiService(apiregv1.APIServiceSpec{Service: &apiregv1.ServiceReference{Name: metrics, Namespace: ns, Port: ptr.To[int32](443)},
		Group: "external.metrics.k8s.io", Version: "v1beta1", CABundle: cert.ca.CertPEM, GroupPriorityMinimum: 100, VersionPriority: 100},
		map[string]string{"app.kubernetes.io/name": "v1beta1.external.metrics.k8s.io", "app.kubernetes.io/part-of": "keda"}, nil)
	k.serve(webhooks, admission, 9443, cert.ca.CertPEM)
	k.serve(metrics, metricsPod, 6443, cert.ca.CertPEM)
	k.waitAPIService(api, apiregv1.ConditionTrue)
	return func() {
		other := issueKeda(CertSpec{CN: "keda-operator"}) // the CA of keda's cert-manager mode
		k.secret("kedaorg-certs-cert-manager", corev1.SecretTypeTLS, layoutTLSCA.data(t, other), nil, nil)
		metricsPod = k.replacePod(metricsPod, func(p *corev1.Pod) { replaceVolume(t, p, secretVolume("certificates", "kedaorg-certs-cert-manager")) })
		k.waitEndpoints(metrics, metricsPod, true)
		k.waitAPIService(api, apiregv1.ConditionFalse)
	}
}

// tekton-pipelines: knative/pkg in the webhook pod, as for knative-serving, plus the
// conversion webhook (/resource-conversion) of the tekton CRDs, whose caBundle the
// conversion reconciler patches too; probes on a separate plain-HTTP port 8080.
// Fault: webhook-certs rotated and the admission configurations patched, but the CRDs'
// conversion caBundle still holds the old CA (the conversion reconciler is stuck).
func installTektonPipelines(t *testing.T) func() {
	const ns, svc = "tekton-pipelines", "tekton-pipelines-webhook"
	k := newKit(t, ns, map[string]string{"app.kubernetes.io/instance": "default", "app.kubernetes.io/part-of": "tekton-pipelines"})
	cur := knativeCerts(t, svc, ns)
	release := map[string]string{"app.kubernetes.io/component": "webhook", "app.kubernetes.io/instance": "default", "app.kubernetes.io/part-of": "tekton-pipelines",
		"pipeline.tekton.dev/release": "v1.15.0"}
	k.secret("webhook-certs", corev1.SecretTypeOpaque, layoutKnative.data(t, cur), release, nil)
	lbl := map[string]string{"app.kubernetes.io/name": "webhook", "app.kubernetes.io/component": "webhook", "app.kubernetes.io/instance": "default",
		"app.kubernetes.io/version": "v1.15.0", "app.kubernetes.io/part-of": "tekton-pipelines", "pipeline.tekton.dev/release": "v1.15.0",
		"app": "tekton-pipelines-webhook", "version": "v1.15.0"}
	pod := k.tlsPod(svc, lbl, []corev1.Container{harness{TLS: []string{":8443"}, HTTP: []string{":8080"}, TLS13: true}.from(harnessCertDir, layoutKnative).in(corev1.Container{
		Name: "webhook",
		Env: append([]corev1.EnvVar{fieldEnv("SYSTEM_NAMESPACE", "metadata.namespace")}, envs("KUBERNETES_MIN_VERSION", "v1.28.0",
			"CONFIG_LOGGING_NAME", "config-logging", "CONFIG_OBSERVABILITY_NAME", "config-observability", "CONFIG_LEADERELECTION_NAME", "config-leader-election-webhook",
			"CONFIG_FEATURE_FLAGS_NAME", "feature-flags", "PROBES_PORT", "8080", "WEBHOOK_PORT", "8443",
			"WEBHOOK_ADMISSION_CONTROLLER_NAME", "webhook.pipeline.tekton.dev", "WEBHOOK_SERVICE_NAME", svc, "WEBHOOK_SECRET_NAME", "webhook-certs",
			"METRICS_DOMAIN", "tekton.dev/pipeline")...),
		Ports:          cports("metrics", 9090, "profiling", 8008, "https-webhook", 8443, "probes", 8080),
		LivenessProbe:  probe("/health", "probes", plainHTTP),
		ReadinessProbe: probe("/readiness", "probes", plainHTTP),
		VolumeMounts:   []corev1.VolumeMount{mount("e2e-webhook-certs", harnessCertDir)}})},
		withVolumes(secretVolume("e2e-webhook-certs", "webhook-certs")))
	svcLbl := pick(lbl, "app.kubernetes.io/name", "app.kubernetes.io/component", "app.kubernetes.io/instance", "app.kubernetes.io/part-of", "app")
	k.service(svc, svcLbl, nil, pick(lbl, "app.kubernetes.io/name", "app.kubernetes.io/component", "app.kubernetes.io/instance", "app.kubernetes.io/part-of"),
		sport("http-metrics", 9090, "metrics"), sport("http-profiling", 8008, "profiling"), sport("https-webhook", 443, "https-webhook"), sport("probes", 8080, "probes"))
	cu := "CREATE,UPDATE"
	var rules []admissionv1.RuleWithOperations
	for _, v := range []string{"v1", "v1beta1"} {
		rules = append(rules, gvkRules(cu, "tekton.dev", v, "tasks", "pipelines", "taskruns", "pipelineruns")...)
	}
	rules = append(rules, gvkRules(cu, "tekton.dev", "v1beta1", "customruns", "stepactions")...)
	rules = append(rules, gvkRules(cu, "tekton.dev", "v1alpha1", "stepactions")...)
	rules = append(rules, gvkRules(cu, "resolution.tekton.dev", "v1alpha1", "resolutionrequests")...)
	rules = append(rules, gvkRules(cu, "resolution.tekton.dev", "v1beta1", "resolutionrequests")...)
	defaulting := append(append([]admissionv1.RuleWithOperations{}, rules...), gvkRules(cu, "tekton.dev", "v1alpha1", "verificationpolicies")...)
	validation := append(append([]admissionv1.RuleWithOperations{}, rules...), gvkRules("CREATE,UPDATE,DELETE", "tekton.dev", "v1alpha1", "verificationpolicies")...)
	configs := k.knativeConfigs(knativeWebhooks{base: "webhook.pipeline.tekton.dev", svc: svc, lbl: release, caBundle: cur.ca.CertPEM,
		defaulting: defaulting, validation: validation,
		configSel: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/part-of": "tekton-pipelines"}}})
	for _, c := range configs {
		k.webhooks(c)
	}
	crdLbl := map[string]string{"app.kubernetes.io/instance": "default", "app.kubernetes.io/part-of": "tekton-pipelines", "pipeline.tekton.dev/release": "v1.15.0",
		"version": "v1.15.0"}
	for kind, plural := range map[string]string{"Task": "tasks", "Pipeline": "pipelines"} {
		k.conversionCRD("tekton.dev", plural, kind, []string{"v1beta1", "v1"}, svc, "/resource-conversion", cur.ca.CertPEM, crdLbl)
	}
	k.serve(svc, pod, 8443, cur.ca.CertPEM)
	k.checkConversion(schema.GroupVersionResource{Group: "tekton.dev", Version: "v1", Resource: "tasks"}, "Task", "v1beta1")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "feature-flags", Labels: map[string]string{"app.kubernetes.io/part-of": "tekton-pipelines"}}}
	_, err := client.CoreV1().ConfigMaps(ns).Create(k.ctx, cm, dryRunAll)
	k.dryRun("create of ConfigMap feature-flags (config.webhook.pipeline.tekton.dev)", err)
	return func() {
		next := knativeCerts(t, svc, ns)
		k.updateSecret("webhook-certs", layoutKnative.data(t, next))
		for _, c := range configs {
			k.setCABundle(c, next.ca.CertPEM)
		}
		pod = k.replacePod(pod, func(*corev1.Pod) {})
		k.waitEndpoints(svc, pod, true) // the CRDs' conversion caBundle stays cur.ca
	}
}

// checkConversion stores an object at gvr (the storage version) and lists it at version
// other, as `kubectl get <plural>.<other>.<group> -A` does: the API server converts it
// through the webhook. The object is deleted again (a CRD with objects deletes slowly).
func (k *kit) checkConversion(gvr schema.GroupVersionResource, kind, other string) {
	k.t.Helper()
	ri := dynClient.Resource(gvr).Namespace(k.ns)
	obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": gvr.GroupVersion().String(), "kind": kind,
		"metadata": map[string]any{"name": "e2e-conversion"}, "spec": map[string]any{"steps": []any{map[string]any{"name": "echo", "image": "busybox"}}}}}
	if _, err := ri.Create(k.ctx, obj, metav1.CreateOptions{}); err != nil {
		k.t.Fatalf("harness: create %s: %v", gvr, err)
	}
	defer ri.Delete(k.ctx, "e2e-conversion", metav1.DeleteOptions{})
	og := gvr
	og.Version = other
	l, err := dynClient.Resource(og).Namespace("").List(k.ctx, metav1.ListOptions{})
	if err != nil {
		k.t.Fatalf("harness: list %s (conversion through the webhook): %v", og, err)
	}
	if len(l.Items) != 1 || l.Items[0].GetAPIVersion() != og.GroupVersion().String() {
		k.t.Fatalf("harness: list %s returned %d objects, want 1 of apiVersion %s", og, len(l.Items), og.GroupVersion())
	}
}

// vault-agent-injector: the injector generates a CA in memory at every start and keeps
// the previous one: caBundle = previous CA, then the current one; the serving leaf (24 h)
// chains to the last. No secret, no containerPort; HTTPS probes on 8080.
// Fault: the serving certificate has expired.
func installVaultAgentInjector(t *testing.T) func() {
	const ns, svc, name = "vault", "vault-agent-injector-svc", "vault-agent-injector"
	k := newKit(t, ns, nil)
	now := time.Now()
	injectCA := func(born time.Time) *CA {
		return caFrom(t, CertSpec{CN: "Agent Inject CA", Server: true, NotBefore: born, NotAfter: born.Add(days(3650))})
	}
	previous, current := injectCA(now.Add(-days(3))), injectCA(now.Add(-time.Hour))
	hosts := []string{svc, svc + "." + ns, svc + "." + ns + ".svc"}
	leaf := func(notBefore time.Time) pki {
		return serving(t, current, CertSpec{CN: "Agent Inject Service", DNS: hosts, NotBefore: notBefore, NotAfter: notBefore.Add(24 * time.Hour)})
	}
	vol, mnt := k.inMemory(leaf(now.Add(-time.Hour)))
	lbl := map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/instance": "vault", "component": "webhook"}
	pod := k.tlsPod(name, lbl, []corev1.Container{harness{TLS: []string{":8080"}}.from(harnessCertDir, layoutTLS).in(corev1.Container{
		Name: "sidecar-injector",
		Args: []string{"agent-inject", "2>&1"},
		Env: append(envs("AGENT_INJECT_LISTEN", ":8080", "AGENT_INJECT_LOG_LEVEL", "info", "AGENT_INJECT_LOG_FORMAT", "standard",
			"AGENT_INJECT_VAULT_ADDR", "http://vault."+ns+".svc:8200", "AGENT_INJECT_VAULT_AUTH_PATH", "auth/kubernetes", "AGENT_INJECT_VAULT_IMAGE", "hashicorp/vault:2.0.4",
			"AGENT_INJECT_TLS_AUTO", "vault-agent-injector-cfg", "AGENT_INJECT_TLS_AUTO_HOSTS", hosts[0]+","+hosts[1]+","+hosts[2],
			"AGENT_INJECT_REVOKE_ON_SHUTDOWN", "false", "AGENT_INJECT_CPU_REQUEST", "250m", "AGENT_INJECT_CPU_LIMIT", "500m",
			"AGENT_INJECT_MEM_REQUEST", "64Mi", "AGENT_INJECT_MEM_LIMIT", "128Mi", "AGENT_INJECT_DEFAULT_TEMPLATE", "map",
			"AGENT_INJECT_TEMPLATE_CONFIG_EXIT_ON_RETRY_FAILURE", "true"), fieldEnv("POD_NAME", "metadata.name")),
		LivenessProbe:  probe("/health/ready", 8080, overTLS),
		ReadinessProbe: probe("/health/ready", 8080, overTLS),
		StartupProbe:   probe("/health/ready", 8080, overTLS),
		VolumeMounts:   []corev1.VolumeMount{mnt}})}, withVolumes(vol))
	k.service(svc, lbl, nil, lbl, sport("https", 443, 8080))
	caBundle := bundle(previous, current)
	k.webhooks(hookConfig{name: "vault-agent-injector-cfg", mutating: true, svc: svc, caBundle: caBundle,
		lbl: map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/instance": "vault", "app.kubernetes.io/managed-by": "Helm"},
		hooks: []hook{{name: "vault.hashicorp.com", path: "/mutate", policy: admissionv1.Ignore, match: admissionv1.Exact, timeout: 30, versions: []string{"v1", "v1beta1"},
			objSel: selector("app.kubernetes.io/name NotIn " + name), rules: []admissionv1.RuleWithOperations{rule("CREATE", "", "v1", "pods", "Namespaced")}}}})
	k.serve(svc, pod, 8080, caBundle)
	return func() {
		k.updateSecret(inMemorySecret, layoutTLS.data(t, leaf(time.Now().Add(-25*time.Hour))))
		pod = k.replacePod(pod, func(*corev1.Pod) {})
		k.waitEndpoints(svc, pod, true) // the kubelet does not verify HTTPS probes
	}
}
