//go:build e2e

// Shapes of metrics-server, knative-serving and external-secrets (versions and conventions: products_shapes_test.go).
// Each install function builds the healthy default install, checks the harness side (pods
// Ready, TLS verified as the API server would, a real call through the API server where the
// rules allow one) and returns the function that applies the product's fault.
package e2e

import (
	"encoding/json"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
