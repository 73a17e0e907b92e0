//go:build e2e

// Shapes of cert-manager, ingress-nginx and kyverno (versions and conventions: products_shapes_test.go).
// Each install function builds the healthy default install, checks the harness side (pods
// Ready, TLS verified as the API server would, a real call through the API server where the
// rules allow one) and returns the function that applies the product's fault.
package e2e

import (
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var dryRunAll = metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}

// cert-manager: the webhook keeps its own CA in cert-manager-webhook-ca (ca.crt == tls.crt)
// and serves a 7-day leaf from memory; cainjector copies ca.crt into both configurations.
// Fault: the CA was regenerated, the webhook serves a leaf of the new CA, the caBundles
// still hold the old one (not re-injected).
func installCertManager(t *testing.T) func() {
	const ns, name, caSecret = "cert-manager", "cert-manager-webhook", "cert-manager-webhook-ca"
	k := newKit(t, ns, nil)
	authority := func() pki { // what --dynamic-serving-ca-secret-name makes the webhook do
		now := time.Now()
		ca := caFrom(t, CertSpec{CN: caSecret, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(days(365))})
		return serving(t, ca, CertSpec{DNS: []string{name, name + "." + ns, name + "." + ns + ".svc"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(days(7))})
	}
	cur := authority()
	k.secret(caSecret, corev1.SecretTypeOpaque, caSecretData(t, layoutTLSCA, cur.ca), nil, map[string]string{"cert-manager.io/allow-direct-injection": "true"})
	vol, mnt := k.inMemory(cur)
	lbl := map[string]string{"app": "webhook", "app.kubernetes.io/name": "webhook", "app.kubernetes.io/instance": "cert-manager",
		"app.kubernetes.io/component": "webhook", "app.kubernetes.io/version": "v1.21.1"}
	webhook := func() corev1.Container {
		return harness{TLS: []string{":10250"}, HTTP: []string{":6080"}}.from(harnessCertDir, layoutTLS).in(corev1.Container{
			Name: "cert-manager-webhook",
			Args: []string{"--v=2", "--secure-port=10250", "--dynamic-serving-ca-secret-namespace=$(POD_NAMESPACE)", "--dynamic-serving-ca-secret-name=" + caSecret,
				"--dynamic-serving-dns-names=" + name, "--dynamic-serving-dns-names=" + name + ".$(POD_NAMESPACE)", "--dynamic-serving-dns-names=" + name + ".$(POD_NAMESPACE).svc"},
			Ports:          cports("https", 10250, "healthcheck", 6080),
			LivenessProbe:  probe("/livez", "healthcheck", plainHTTP),
			ReadinessProbe: probe("/healthz", "healthcheck", plainHTTP),
			Env:            []corev1.EnvVar{fieldEnv("POD_NAMESPACE", "metadata.namespace")},
			VolumeMounts:   []corev1.VolumeMount{mnt}})
	}
	pod := k.tlsPod(name, lbl, []corev1.Container{webhook()}, withVolumes(vol))
	cainjector := k.tlsPod("cert-manager-cainjector", map[string]string{"app": "cainjector", "app.kubernetes.io/name": "cainjector",
		"app.kubernetes.io/instance": "cert-manager", "app.kubernetes.io/component": "cainjector", "app.kubernetes.io/version": "v1.21.1"},
		[]corev1.Container{harness{HTTP: []string{":9402"}}.in(corev1.Container{Name: "cert-manager-cainjector",
			Args:  []string{"--v=2", "--leader-election-namespace=kube-system"},
			Ports: cports("http-metrics", 9402), Env: []corev1.EnvVar{fieldEnv("POD_NAMESPACE", "metadata.namespace")}})})
	k.service(name, lbl, nil, pick(lbl, "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component"), sport("https", 443, "https"))
	inject := map[string]string{"cert-manager.io/inject-ca-from-secret": ns + "/" + caSecret}
	common := hook{name: "webhook.cert-manager.io", policy: admissionv1.Fail, timeout: 30, match: admissionv1.Equivalent}
	validate, mutate := common, common
	validate.path, validate.nsSel = "/validate", selector("cert-manager.io/disable-validation NotIn true")
	validate.rules = []admissionv1.RuleWithOperations{rule("CREATE,UPDATE", "cert-manager.io,acme.cert-manager.io", "v1", "*/*", "")}
	mutate.path, mutate.rules = "/mutate", []admissionv1.RuleWithOperations{rule("CREATE", "cert-manager.io", "v1", "certificaterequests", "")}
	configs := []hookConfig{{name: name, lbl: lbl, ann: inject, svc: name, caBundle: cur.ca.CertPEM, hooks: []hook{validate}},
		{name: name, mutating: true, lbl: lbl, ann: inject, svc: name, caBundle: cur.ca.CertPEM, hooks: []hook{mutate}}}
	for _, c := range configs {
		k.webhooks(c)
	}
	k.serve(name, pod, 10250, cur.ca.CertPEM)
	k.waitPodReady(cainjector)
	return func() {
		next := authority()
		k.updateSecret(caSecret, caSecretData(t, layoutTLSCA, next.ca))
		k.updateSecret(inMemorySecret, layoutTLS.data(t, next))
		pod = k.replacePod(pod, func(*corev1.Pod) {}) // the webhook restarted with the new CA
		k.waitEndpoints(name, pod, true)
	}
}

// ingress-nginx: kube-webhook-certgen's create Job wrote ingress-nginx-admission (ca, cert,
// key; CA "O=nil1" without CN, 100 years) and its patch Job copied ca into the caBundle.
// Fault: the patch Job never ran (helm template / GitOps skipping hooks): no caBundle.
func installIngressNginx(t *testing.T) func() {
	const ns, svc, secret = "ingress-nginx", "ingress-nginx-controller-admission", "ingress-nginx-admission"
	k := newKit(t, ns, map[string]string{"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/instance": "ingress-nginx"})
	now := time.Now()
	ca := caFrom(t, CertSpec{Org: []string{"nil1"}, NotBefore: now, NotAfter: now.Add(100 * days(365))})
	cert := serving(t, ca, CertSpec{Org: []string{"nil2"}, DNS: []string{svc, svc + "." + ns + ".svc"}, NotBefore: now, NotAfter: now.Add(100 * days(365))})
	k.secret(secret, corev1.SecretTypeOpaque, layoutCertgen.data(t, cert), nil, nil)
	lbl := map[string]string{"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/instance": "ingress-nginx",
		"app.kubernetes.io/component": "controller", "app.kubernetes.io/part-of": "ingress-nginx", "app.kubernetes.io/version": "1.15.1"}
	pod := k.tlsPod("ingress-nginx-controller", lbl, []corev1.Container{
		harness{TLS: []string{":8443"}, HTTP: []string{":10254"}}.from("/usr/local/certificates", layoutCertgen).in(corev1.Container{
			Name: "controller",
			Args: []string{"/nginx-ingress-controller", "--publish-service=$(POD_NAMESPACE)/ingress-nginx-controller", "--election-id=ingress-nginx-leader",
				"--controller-class=k8s.io/ingress-nginx", "--ingress-class=nginx", "--configmap=$(POD_NAMESPACE)/ingress-nginx-controller",
				"--validating-webhook=:8443", "--validating-webhook-certificate=/usr/local/certificates/cert", "--validating-webhook-key=/usr/local/certificates/key"},
			Env: append([]corev1.EnvVar{fieldEnv("POD_NAME", "metadata.name"), fieldEnv("POD_NAMESPACE", "metadata.namespace")},
				envs("LD_PRELOAD", "/usr/local/lib/libmimalloc.so")...),
			Ports:          cports("http", 80, "https", 443, "webhook", 8443),
			LivenessProbe:  probe("/healthz", 10254, plainHTTP),
			ReadinessProbe: probe("/healthz", 10254, plainHTTP),
			VolumeMounts:   []corev1.VolumeMount{mount("webhook-cert", "/usr/local/certificates/")}})},
		withVolumes(secretVolume("webhook-cert", secret)))
	k.service(svc, lbl, nil, pick(lbl, "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component"),
		appHTTPS(sport("https-webhook", 443, "webhook")))
	vwc := hookConfig{name: secret, svc: svc, caBundle: ca.CertPEM,
		lbl: map[string]string{"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/instance": "ingress-nginx", "app.kubernetes.io/component": "admission-webhook"},
		hooks: []hook{{name: "validate.nginx.ingress.kubernetes.io", path: "/networking/v1/ingresses", port: 443, policy: admissionv1.Fail, match: admissionv1.Equivalent,
			rules: []admissionv1.RuleWithOperations{rule("CREATE,UPDATE", "networking.k8s.io", "v1", "ingresses", "")}}}}
	k.webhooks(vwc)
	k.serve(svc, pod, 8443, ca.CertPEM)
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "e2e-dry-run"}, Spec: networkingv1.IngressSpec{
		DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "app", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}
	_, err := client.NetworkingV1().Ingresses(ns).Create(k.ctx, ing, dryRunAll)
	k.dryRun("create of an Ingress", err)
	return func() { k.setCABundle(vwc, nil) }
}

// kyverno: the admission controller (kyverno-svc) and the cleanup controller each keep an
// own self-signed CA ("*.kyverno.svc" both) and pair; the configurations are created at
// runtime, the resource ones with no webhooks while there are no policies.
// Fault: the admission controller's readinessProbe fails: it never gets Ready.
func installKyverno(t *testing.T) func() {
	const ns = "kyverno"
	k := newKit(t, ns, nil)
	managed := map[string]string{"cert.kyverno.io/managed-by": "kyverno"}
	// controller makes one controller's CA and pair secrets and its pod and Service.
	controller := func(svc, deploy, container, component string, args []string) (*CA, *corev1.Pod) {
		now := time.Now()
		ca := caFrom(t, CertSpec{CN: "*.kyverno.svc", Key: rsaKey(t), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(days(365))})
		pair := serving(t, ca, CertSpec{CN: svc, DNS: []string{svc, svc + "." + ns, svc + "." + ns + ".svc"}, Key: rsaKey(t),
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(days(150))})
		prefix := svc + "." + ns + ".svc.kyverno-tls-"
		k.secret(prefix+"ca", corev1.SecretTypeTLS, caSecretData(t, layoutTLS, ca), managed, nil)
		k.secret(prefix+"pair", corev1.SecretTypeTLS, layoutTLS.data(t, pair), managed, nil)
		lbl := map[string]string{"app.kubernetes.io/component": component, "app.kubernetes.io/instance": "kyverno", "app.kubernetes.io/part-of": "kyverno",
			"app.kubernetes.io/name": "kyverno-" + component, "app.kubernetes.io/version": "v1.19.0"}
		args = append([]string{"--caSecretName=" + prefix + "ca", "--tlsSecretName=" + prefix + "pair", "--servicePort=443"}, args...)
		pod := k.tlsPod(deploy, lbl, []corev1.Container{harness{TLS: []string{":9443"}, HTTP: []string{":8000"}}.from(harnessCertDir, layoutTLS).in(corev1.Container{
			Name: container, Args: args,
			Env: append(envs("KYVERNO_SVC", svc, "KYVERNO_DEPLOYMENT", deploy, "INIT_CONFIG", "kyverno", "METRICS_CONFIG", "kyverno-metrics"),
				fieldEnv("KYVERNO_NAMESPACE", "metadata.namespace"), fieldEnv("KYVERNO_POD_NAME", "metadata.name")),
			Ports:          cports("https", 9443, "metrics-port", 8000),
			StartupProbe:   probe("/health/liveness", 9443, overTLS),
			LivenessProbe:  probe("/health/liveness", 9443, overTLS),
			ReadinessProbe: probe("/health/readiness", 9443, overTLS),
			// kyverno reads its pair through an informer; the harness needs files
			VolumeMounts: []corev1.VolumeMount{mount("e2e-pair", harnessCertDir)}})},
			withVolumes(secretVolume("e2e-pair", prefix+"pair")))
		k.service(svc, lbl, nil, pick(lbl, "app.kubernetes.io/part-of", "app.kubernetes.io/instance", "app.kubernetes.io/component"),
			appHTTPS(sport("https", 443, "https")))
		return ca, pod
	}
	admCA, adm := controller("kyverno-svc", "kyverno-admission-controller", "kyverno", "admission-controller",
		[]string{"--tlsKeyAlgorithm=RSA", "--webhookServerPort=9443", "--autoUpdateWebhooks=true", "--webhookTimeout=10"})
	cleanCA, cleanup := controller("kyverno-cleanup-controller", "kyverno-cleanup-controller", "controller", "cleanup-controller",
		[]string{"--cleanupServerPort=9443"})

	lbl := map[string]string{"webhook.kyverno.io/managed-by": "kyverno"}
	ann := map[string]string{"admissions.enforcer/disabled": "true"}
	cfg := func(name string, mutating bool, svc string, ca *CA, hooks ...hook) hookConfig {
		return hookConfig{name: name, mutating: mutating, lbl: lbl, ann: ann, svc: svc, caBundle: ca.CertPEM, hooks: hooks}
	}
	cu := "CREATE,UPDATE"
	generic := func(name, path, group, versions, resources string) hook { // kyverno's generic webhook controllers
		return hook{name: name, path: path, policy: admissionv1.Fail, rules: []admissionv1.RuleWithOperations{rule(cu, group, versions, resources, "")}}
	}
	for _, c := range []hookConfig{
		cfg("kyverno-policy-validating-webhook-cfg", false, "kyverno-svc", admCA, hook{name: "validate-policy.kyverno.svc", path: "/policyvalidate",
			policy: admissionv1.Fail, timeout: 10, match: admissionv1.Equivalent, rules: []admissionv1.RuleWithOperations{
				rule(cu, "kyverno.io", "v1,v2beta1", "clusterpolicies,policies", ""),
				rule(cu, "policies.kyverno.io", "v1alpha1,v1beta1,v1", "validatingpolicies,imagevalidatingpolicies,generatingpolicies,mutatingpolicies,deletingpolicies", ""),
				rule(cu, "policies.kyverno.io", "v1beta1,v1", "namespacedvalidatingpolicies,namespacedimagevalidatingpolicies,namespacedgeneratingpolicies,namespacedmutatingpolicies", "")}}),
		cfg("kyverno-policy-mutating-webhook-cfg", true, "kyverno-svc", admCA, hook{name: "mutate-policy.kyverno.svc", path: "/policymutate",
			policy: admissionv1.Fail, sideEffects: admissionv1.SideEffectClassNoneOnDryRun, timeout: 10, match: admissionv1.Equivalent, reinvoke: admissionv1.IfNeededReinvocationPolicy,
			rules: []admissionv1.RuleWithOperations{rule(cu, "kyverno.io", "v1,v2beta1", "clusterpolicies,policies", "")}}),
		cfg("kyverno-verify-mutating-webhook-cfg", true, "kyverno-svc", admCA, hook{name: "monitor-webhooks.kyverno.svc", path: "/verifymutate",
			policy: admissionv1.Ignore, sideEffects: admissionv1.SideEffectClassNoneOnDryRun, timeout: 10, reinvoke: admissionv1.IfNeededReinvocationPolicy,
			objSel: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "kyverno"}},
			rules:  []admissionv1.RuleWithOperations{rule("UPDATE", "coordination.k8s.io", "v1", "leases", "")}}),
		cfg("kyverno-resource-validating-webhook-cfg", false, "kyverno-svc", admCA), // no policies: no webhooks
		cfg("kyverno-resource-mutating-webhook-cfg", true, "kyverno-svc", admCA),
		cfg("kyverno-exception-validating-webhook-cfg", false, "kyverno-svc", admCA,
			generic("kyverno-svc.kyverno.svc", "/exceptionvalidate", "kyverno.io", "v2alpha1,v2beta1", "policyexceptions")),
		cfg("kyverno-cel-exception-validating-webhook-cfg", false, "kyverno-svc", admCA,
			generic("kyverno-svc.kyverno.svc", "/celexception/validate", "policies.kyverno.io", "v1alpha1", "policyexceptions")),
		cfg("kyverno-global-context-validating-webhook-cfg", false, "kyverno-svc", admCA,
			generic("kyverno-svc.kyverno.svc", "/globalcontextvalidate", "kyverno.io", "v2alpha1", "globalcontextentries")),
		cfg("kyverno-cleanup-validating-webhook-cfg", false, "kyverno-cleanup-controller", cleanCA,
			generic("kyverno-cleanup-controller.kyverno.svc", "/validate", "kyverno.io", "v2beta1", "cleanuppolicies/*,clustercleanuppolicies/*")),
		cfg("kyverno-ttl-validating-webhook-cfg", false, "kyverno-cleanup-controller", cleanCA, hook{name: "kyverno-cleanup-controller.kyverno.svc", path: "/verifyttl",
			policy: admissionv1.Ignore, objSel: selector("cleanup.kyverno.io/ttl Exists"), rules: []admissionv1.RuleWithOperations{rule(cu, "*", "*", "*", "")}}),
	} {
		k.webhooks(c)
	}
	k.serve("kyverno-svc", adm, 9443, admCA.CertPEM)
	k.serve("kyverno-cleanup-controller", cleanup, 9443, cleanCA.CertPEM)
	return func() {
		adm = k.replacePod(adm, func(p *corev1.Pod) { setEnv(t, p, "kyverno", "E2E_FAIL_PATHS", "/health/readiness") })
		k.waitEndpoints("kyverno-svc", adm, false)
	}
}
