//go:build e2e

// Shapes of aws-load-balancer-controller, keda, tekton-pipelines and
// vault-agent-injector (versions and conventions: products_shapes_test.go).
// Each install function builds the healthy default install, checks the harness side (pods
// Ready, TLS verified as the API server would, a real call through the API server where the
// rules allow one) and returns the function that applies the product's fault.
package e2e

import (
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiregv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/utils/ptr"
)

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
	for _, kind := range []string{"Task", "Pipeline"} {
		names := apiextv1.CustomResourceDefinitionNames{Kind: kind, ListKind: kind + "List", Singular: strings.ToLower(kind),
			Plural: strings.ToLower(kind) + "s", Categories: []string{"tekton", "tekton-pipelines"}}
		k.conversionCRD(names, "tekton.dev", []string{"v1beta1", "v1"}, svc, "/resource-conversion", cur.ca.CertPEM, crdLbl)
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
