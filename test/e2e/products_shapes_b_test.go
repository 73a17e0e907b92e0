//go:build e2e

// Shapes of gatekeeper, linkerd and istio (versions and conventions: products_shapes_test.go).
// Each install function builds the healthy default install, checks the harness side (pods
// Ready, TLS verified as the API server would, a real call through the API server where the
// rules allow one) and returns the function that applies the product's fault.
package e2e

import (
	"strconv"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// gatekeeper: the controller-manager's cert rotator keeps gatekeeper-ca and the serving
// pair in gatekeeper-webhook-server-cert (ca.crt, ca.key, tls.crt, tls.key, mounted at
// /certs) and patches both configurations.
// Fault: --port=8444 while containerPort webhook-server (the Service's targetPort) is 8443.
func installGatekeeper(t *testing.T) func() {
	const ns, svc, secret = "gatekeeper-system", "gatekeeper-webhook-service", "gatekeeper-webhook-server-cert"
	k := newKit(t, ns, map[string]string{"admission.gatekeeper.sh/ignore": "no-self-managing"})
	now := time.Now()
	ca := caFrom(t, CertSpec{CN: "gatekeeper-ca", Org: []string{"gatekeeper"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(days(3650))})
	host := svc + "." + ns + ".svc"
	cert := serving(t, ca, CertSpec{CN: host, DNS: []string{host}, Client: true, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(days(365))})
	k.secret(secret, corev1.SecretTypeOpaque, layoutRotator.data(t, cert), map[string]string{"gatekeeper.sh/system": "yes"}, nil)
	lbl := map[string]string{"app": "gatekeeper", "chart": "gatekeeper", "control-plane": "controller-manager", "gatekeeper.sh/operation": "webhook",
		"gatekeeper.sh/system": "yes", "heritage": "Helm", "release": "gatekeeper"}
	pod := k.tlsPod("gatekeeper-controller-manager", lbl, []corev1.Container{
		harness{TLS: []string{":8443"}, HTTP: []string{":9090", ":8888"}, TLS13: true}.in(corev1.Container{
			Name: "manager",
			Args: []string{"--port=8443", "--health-addr=:9090", "--prometheus-port=8888", "--logtostderr", "--log-denies=false", "--emit-admission-events=false",
				"--log-level=INFO", "--exempt-namespace=" + ns, "--operation=webhook", "--operation=mutation-webhook", "--disable-cert-rotation=false",
				"--tls-min-version=1.3", "--validating-webhook-configuration-name=gatekeeper-validating-webhook-configuration",
				"--mutating-webhook-configuration-name=gatekeeper-mutating-webhook-configuration"},
			Env: append([]corev1.EnvVar{fieldEnv("POD_NAMESPACE", "metadata.namespace"), fieldEnv("POD_NAME", "metadata.name"),
				fieldEnv("NAMESPACE", "metadata.namespace")}, envs("CONTAINER_NAME", "manager")...),
			Ports:          cports("webhook-server", 8443, "metrics", 8888, "healthz", 9090),
			LivenessProbe:  probe("/healthz", 9090, plainHTTP),
			ReadinessProbe: probe("/readyz", 9090, plainHTTP),
			VolumeMounts:   []corev1.VolumeMount{mount("cert", "/certs")}})},
		withVolumes(secretVolume("cert", secret)), withPriorityClass("system-cluster-critical"))
	k.service(svc, map[string]string{"app": "gatekeeper", "chart": "gatekeeper", "gatekeeper.sh/system": "yes", "heritage": "Helm", "release": "gatekeeper"}, nil,
		lbl, sport("https-webhook-server", 443, "webhook-server"))
	cfgLbl := map[string]string{"gatekeeper.sh/system": "yes", "app": "gatekeeper", "chart": "gatekeeper", "heritage": "Helm", "release": "gatekeeper"}
	notOwn := "kubernetes.io/metadata.name NotIn " + ns
	subresources := "*,pods/ephemeralcontainers,pods/exec,pods/log,pods/eviction,pods/portforward,pods/proxy,pods/attach,pods/binding,pods/resize," +
		"deployments/scale,replicasets/scale,statefulsets/scale,replicationcontrollers/scale,services/proxy,nodes/proxy,services/status"
	for _, c := range []hookConfig{
		{name: "gatekeeper-validating-webhook-configuration", lbl: cfgLbl, svc: svc, caBundle: ca.CertPEM, hooks: []hook{
			{name: "validation.gatekeeper.sh", path: "/v1/admit", policy: admissionv1.Ignore, match: admissionv1.Exact, timeout: 3, versions: []string{"v1", "v1beta1"},
				nsSel: selector("admission.gatekeeper.sh/ignore DoesNotExist", notOwn), objSel: &metav1.LabelSelector{},
				rules: []admissionv1.RuleWithOperations{rule("CREATE,UPDATE", "*", "*", subresources, "*")}},
			{name: "check-ignore-label.gatekeeper.sh", path: "/v1/admitlabel", policy: admissionv1.Fail, match: admissionv1.Exact, timeout: 3, versions: []string{"v1", "v1beta1"},
				nsSel: selector(notOwn), rules: []admissionv1.RuleWithOperations{rule("CREATE,UPDATE", "", "*", "namespaces", "*")}}}},
		{name: "gatekeeper-mutating-webhook-configuration", mutating: true, lbl: cfgLbl, svc: svc, caBundle: ca.CertPEM, hooks: []hook{
			{name: "mutation.gatekeeper.sh", path: "/v1/mutate", policy: admissionv1.Ignore, match: admissionv1.Exact, timeout: 1, versions: []string{"v1", "v1beta1"},
				reinvoke: admissionv1.NeverReinvocationPolicy, nsSel: selector("admission.gatekeeper.sh/ignore DoesNotExist", notOwn), objSel: &metav1.LabelSelector{},
				rules: []admissionv1.RuleWithOperations{rule("CREATE,UPDATE", "*", "*", "*", "*")}}}},
	} {
		k.webhooks(c)
	}
	k.serve(svc, pod, 8443, ca.CertPEM)
	_, err := client.CoreV1().Namespaces().Create(k.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "e2e-dry-run"}}, dryRunAll)
	k.dryRun("create of a Namespace (check-ignore-label.gatekeeper.sh, failurePolicy Fail)", err)
	return func() {
		pod = k.replacePod(pod, func(p *corev1.Pod) {
			setArg(t, p, "manager", "--port=", "--port=8444")
			setEnv(t, p, "manager", "E2E_TLS_LISTEN", ":8444") // the process binds where its flag says
		})
		k.waitEndpoints(svc, pod, true) // /readyz on 9090 still passes
	}
}

// linkerd: three webhooks, each with its own Helm genSelfSignedCert leaf (CA:FALSE) that
// is both the secret's tls.crt and the caBundle; the injector and the destination pod
// (sp-validator 8443, policy 9443) run the linkerd-proxy as a native sidecar.
// Fault: linkerd-sp-validator-k8s-tls was regenerated (the pod serves the new
// certificate), the caBundle still holds the old one.
func installLinkerd(t *testing.T) func() {
	const ns = "linkerd"
	k := newKit(t, ns, map[string]string{"linkerd.io/is-control-plane": "true", "config.linkerd.io/admission-webhooks": "disabled",
		"linkerd.io/control-plane-ns": ns})
	certs := map[string]pki{}
	gen := func(svc string) pki {
		p := sprigSelfSigned(t, svc+"."+ns+".svc", time.Now(), time.Now().Add(days(365)))
		certs[svc] = p
		return p
	}
	for _, svc := range []string{"linkerd-proxy-injector", "linkerd-sp-validator", "linkerd-policy-validator"} {
		k.secret(svc+"-k8s-tls", corev1.SecretTypeTLS, layoutTLS.data(t, gen(svc)), map[string]string{"linkerd.io/control-plane-component": "destination"}, nil)
	}
	tlsDir := "/var/run/linkerd/tls"
	proxy := func(inbound string) corev1.Container {
		return harness{HTTP: []string{":4191", ":4143"}}.in(corev1.Container{Name: "linkerd-proxy",
			Env: envs("LINKERD2_PROXY_LOG", "warn,linkerd=info", "LINKERD2_PROXY_ADMIN_LISTEN_ADDR", "[::]:4191",
				"LINKERD2_PROXY_INBOUND_LISTEN_ADDR", "[::]:4143", "LINKERD2_PROXY_INBOUND_PORTS", inbound,
				"LINKERD2_PROXY_INBOUND_DEFAULT_POLICY", "all-unauthenticated", "LINKERD2_PROXY_DESTINATION_SVC_ADDR", "linkerd-dst-headless.linkerd.svc.cluster.local.:8086"),
			Ports:          cports("linkerd-proxy", 4143, "linkerd-admin", 4191),
			StartupProbe:   probe("/ready", 4191, plainHTTP),
			LivenessProbe:  probe("/live", 4191, plainHTTP),
			ReadinessProbe: probe("/ready", 4191, plainHTTP)})
	}
	ann := map[string]string{"config.linkerd.io/default-inbound-policy": "all-unauthenticated", "linkerd.io/created-by": "linkerd/helm edge-26.8.3",
		"linkerd.io/proxy-version": "edge-26.8.3"}
	labelsFor := func(component string) map[string]string {
		return map[string]string{"linkerd.io/control-plane-component": component, "linkerd.io/control-plane-ns": ns,
			"linkerd.io/proxy-deployment": "linkerd-" + component, "linkerd.io/workload-ns": ns}
	}
	webhookContainer := func(name string, args []string, tlsPort, admin int, adminName, tlsName, volume string) corev1.Container {
		return harness{TLS: []string{":" + strconv.Itoa(tlsPort)}, HTTP: []string{":" + strconv.Itoa(admin)}, TLS13: true}.from(tlsDir, layoutTLS).in(corev1.Container{
			Name: name, Args: args, Ports: cports(tlsName, tlsPort, adminName, admin),
			LivenessProbe: probe(livePath(name), adminPort(name, admin), plainHTTP), ReadinessProbe: probe("/ready", adminPort(name, admin), plainHTTP),
			VolumeMounts: []corev1.VolumeMount{mount(volume, tlsDir)}})
	}
	injectorAnn := map[string]string{"config.linkerd.io/opaque-ports": "8443"}
	for k2, v := range ann {
		injectorAnn[k2] = v
	}
	injector := k.tlsPod("linkerd-proxy-injector", labelsFor("proxy-injector"), []corev1.Container{
		webhookContainer("proxy-injector", []string{"proxy-injector", "-log-level=info", "-log-format=plain", "-linkerd-namespace=" + ns, "-enable-pprof=false"},
			8443, 9995, "injector-admin", "proxy-injector", "tls")},
		withSidecars(proxy("8443,9995")), withAnnotations(injectorAnn), withVolumes(secretVolume("tls", "linkerd-proxy-injector-k8s-tls")))
	destination := func() []corev1.Container {
		return []corev1.Container{
			harness{HTTP: []string{":9996"}}.in(corev1.Container{Name: "destination",
				Args:  []string{"destination", "-addr=:8086", "-controller-namespace=" + ns, "-enable-h2-upgrade=true", "-log-level=info", "-log-format=plain", "-enable-endpoint-slices=true", "-cluster-domain=cluster.local", "-identity-trust-domain=cluster.local", "-default-opaque-ports=25,587,3306,4444,5432,6379,9300,11211"},
				Ports: cports("dest-grpc", 8086, "dest-admin", 9996), LivenessProbe: probe("/ping", 9996, plainHTTP), ReadinessProbe: probe("/ready", 9996, plainHTTP)}),
			webhookContainer("sp-validator", []string{"sp-validator", "-log-level=info", "-log-format=plain", "-enable-pprof=false"},
				8443, 9997, "spval-admin", "sp-validator", "sp-tls"),
			webhookContainer("policy", []string{"--admin-addr=[::]:9990", "--control-plane-namespace=" + ns, "--grpc-addr=[::]:8090", "--server-addr=[::]:9443",
				"--server-tls-key=" + tlsDir + "/tls.key", "--server-tls-certs=" + tlsDir + "/tls.crt", "--cluster-networks=10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8",
				"--identity-domain=cluster.local", "--cluster-domain=cluster.local", "--default-policy=all-unauthenticated", "--log-level=info", "--log-format=plain"},
				9443, 9990, "policy-admin", "policy-https", "policy-tls"),
		}
	}
	dst := k.tlsPod("linkerd-destination", labelsFor("destination"), destination(), withSidecars(proxy("8086,8090,8443,9443,9990,9996,9997")), withAnnotations(ann),
		withVolumes(secretVolume("sp-tls", "linkerd-sp-validator-k8s-tls"), secretVolume("policy-tls", "linkerd-policy-validator-k8s-tls")))
	cp := func(component string) map[string]string {
		return map[string]string{"linkerd.io/control-plane-component": component, "linkerd.io/control-plane-ns": ns}
	}
	k.service("linkerd-proxy-injector", cp("proxy-injector"), map[string]string{"config.linkerd.io/opaque-ports": "443"},
		map[string]string{"linkerd.io/control-plane-component": "proxy-injector"}, sport("proxy-injector", 443, "proxy-injector"))
	k.service("linkerd-sp-validator", cp("destination"), nil, map[string]string{"linkerd.io/control-plane-component": "destination"}, sport("sp-validator", 443, "sp-validator"))
	k.service("linkerd-policy-validator", cp("destination"), nil, map[string]string{"linkerd.io/control-plane-component": "destination"}, sport("policy-https", 443, "policy-https"))
	notDisabled := "config.linkerd.io/admission-webhooks NotIn disabled"
	both := []string{"v1", "v1beta1"}
	sp := hookConfig{name: "linkerd-sp-validator-webhook-config", lbl: cp("destination"), svc: "linkerd-sp-validator", caBundle: certs["linkerd-sp-validator"].cert,
		hooks: []hook{{name: "linkerd-sp-validator.linkerd.io", path: "/", policy: admissionv1.Ignore, versions: both, nsSel: selector(notDisabled),
			rules: []admissionv1.RuleWithOperations{rule("CREATE,UPDATE", "linkerd.io", "v1alpha1,v1alpha2", "serviceprofiles", "")}}}}
	for _, c := range []hookConfig{
		{name: "linkerd-proxy-injector-webhook-config", mutating: true, lbl: cp("proxy-injector"), svc: "linkerd-proxy-injector", caBundle: certs["linkerd-proxy-injector"].cert,
			hooks: []hook{{name: "linkerd-proxy-injector.linkerd.io", path: "/", policy: admissionv1.Ignore, timeout: 10, versions: both,
				nsSel:  selector(notDisabled, "kubernetes.io/metadata.name NotIn kube-system,cert-manager"),
				objSel: selector("linkerd.io/control-plane-component DoesNotExist", "linkerd.io/cni-resource DoesNotExist"),
				rules:  []admissionv1.RuleWithOperations{rule("CREATE", "", "v1", "pods,services", "Namespaced")}}}},
		sp,
		{name: "linkerd-policy-validator-webhook-config", lbl: cp("destination"), svc: "linkerd-policy-validator", caBundle: certs["linkerd-policy-validator"].cert,
			hooks: []hook{{name: "linkerd-policy-validator.linkerd.io", path: "/", policy: admissionv1.Ignore, versions: both, nsSel: selector(notDisabled),
				rules: []admissionv1.RuleWithOperations{
					rule("CREATE,UPDATE", "policy.linkerd.io", "*", "authorizationpolicies,httplocalratelimitpolicies,httproutes,networkauthentications,meshtlsauthentications,serverauthorizations,servers,egressnetworks", ""),
					rule("CREATE,UPDATE", "gateway.networking.k8s.io", "*", "httproutes,grpcroutes,tlsroutes,tcproutes", "")}}}},
	} {
		k.webhooks(c)
	}
	k.serve("linkerd-proxy-injector", injector, 8443, certs["linkerd-proxy-injector"].cert)
	k.serve("linkerd-sp-validator", dst, 8443, certs["linkerd-sp-validator"].cert)
	k.serve("linkerd-policy-validator", dst, 9443, certs["linkerd-policy-validator"].cert)
	return func() {
		k.updateSecret("linkerd-sp-validator-k8s-tls", layoutTLS.data(t, gen("linkerd-sp-validator")))
		dst = k.replacePod(dst, func(*corev1.Pod) {})
		k.waitEndpoints("linkerd-sp-validator", dst, true)
	}
}

// linkerd's admin servers: the policy controller answers /live on its named port
// policy-admin, the Go controllers /ping on a number.
func livePath(container string) string {
	if container == "policy" {
		return "/live"
	}
	return "/ping"
}

func adminPort(container string, n int) any {
	if container == "policy" {
		return "policy-admin"
	}
	return n
}

// istio: istiod signs its webhook certificate (in memory) with the self-signed CA in
// istio-ca-secret (ca-cert.pem, ...) and patches that CA into every configuration
// labelled istio.io/rev=default; Service 443 → targetPort 15017 (a number).
// Fault: a default-deny ingress NetworkPolicy in istio-system.
func installIstio(t *testing.T) func() {
	const ns, svc = "istio-system", "istiod"
	k := newKit(t, ns, nil)
	now := time.Now()
	ca := caFrom(t, CertSpec{Org: []string{"cluster.local"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(days(3650))})
	caKey := keyPEM(t, ca.Key)
	k.secret("istio-ca-secret", "istio.io/ca-root", map[string][]byte{"ca-cert.pem": ca.CertPEM, "ca-key.pem": caKey,
		"cert-chain.pem": {}, "key.pem": {}, "root-cert.pem": ca.CertPEM}, nil, nil)
	cert := serving(t, ca, CertSpec{DNS: []string{"istiod." + ns + ".svc", "istiod-remote." + ns + ".svc", "istio-pilot." + ns + ".svc"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(days(3650))})
	vol, mnt := k.inMemory(cert)
	lbl := map[string]string{"app": "istiod", "istio": "pilot", "istio.io/rev": "default", "install.operator.istio.io/owning-resource": "unknown",
		"sidecar.istio.io/inject": "false", "operator.istio.io/component": "Pilot", "istio.io/dataplane-mode": "none", "app.kubernetes.io/name": "istiod"}
	pod := k.tlsPod("istiod", lbl, []corev1.Container{harness{TLS: []string{":15017"}, HTTP: []string{":8080", ":15014"}}.from(harnessCertDir, layoutTLS).in(corev1.Container{
		Name: "discovery",
		Args: []string{"discovery", "--monitoringAddr=:15014", "--log_output_level=default:info", "--domain", "cluster.local", "--keepaliveMaxServerConnectionAge", "30m"},
		Env: append(append(envs("REVISION", "default", "PILOT_CERT_PROVIDER", "istiod"),
			fieldEnv("POD_NAME", "metadata.name"), fieldEnv("POD_NAMESPACE", "metadata.namespace"), fieldEnv("SERVICE_ACCOUNT", "spec.serviceAccountName")),
			envs("KUBECONFIG", "/var/run/secrets/remote/config", "CA_TRUSTED_NODE_ACCOUNTS", ns+"/ztunnel", "PILOT_ENABLE_ANALYSIS", "false",
				"CLUSTER_ID", "Kubernetes", "PLATFORM", "")...),
		Ports:          cports("http-debug", 8080, "grpc-xds", 15010, "tls-xds", 15012, "https-webhooks", 15017, "http-monitoring", 15014),
		ReadinessProbe: probe("/ready", 8080, plainHTTP),
		VolumeMounts: []corev1.VolumeMount{mount("local-certs", "/var/run/secrets/istio-dns"), mount("cacerts", "/etc/cacerts"),
			mount("istio-kubeconfig", "/var/run/secrets/remote"), mount("istio-csr-dns-cert", "/var/run/secrets/istiod/tls"), mnt}})},
		withAnnotations(map[string]string{"sidecar.istio.io/inject": "false", "prometheus.io/port": "15014", "prometheus.io/scrape": "true"}),
		withVolumes(emptyDir("local-certs"), optionalSecretVolume("cacerts", "cacerts"), optionalSecretVolume("istio-kubeconfig", "istio-kubeconfig"),
			optionalSecretVolume("istio-csr-dns-cert", "istiod-tls"), vol))
	k.service(svc, map[string]string{"app": "istiod", "istio": "pilot", "istio.io/rev": "default", "install.operator.istio.io/owning-resource": "unknown",
		"operator.istio.io/component": "Pilot", "app.kubernetes.io/name": "istiod"}, nil, map[string]string{"app": "istiod", "istio": "pilot"},
		sport("grpc-xds", 15010, 15010), sport("https-dns", 15012, 15012), sport("https-webhook", 443, 15017), sport("http-monitoring", 15014, 15014))

	injector := func(name string, nsSel, objSel *metav1.LabelSelector) hook {
		return hook{name: name, path: "/inject", port: 443, policy: admissionv1.Fail, reinvoke: admissionv1.NeverReinvocationPolicy, nsSel: nsSel, objSel: objSel,
			rules: []admissionv1.RuleWithOperations{rule("CREATE", "", "v1", "pods", "")}}
	}
	validator := func(name string, objSel *metav1.LabelSelector) hook {
		return hook{name: name, path: "/validate", policy: admissionv1.Fail, objSel: objSel,
			rules: []admissionv1.RuleWithOperations{rule("CREATE,UPDATE", "security.istio.io,networking.istio.io,telemetry.istio.io,extensions.istio.io", "*", "*", "")}}
	}
	notFalse := "sidecar.istio.io/inject NotIn false"
	valLbl := map[string]string{"app": "istiod", "istio": "istiod", "istio.io/rev": "default", "release": "istiod", "app.kubernetes.io/name": "istiod"}
	for _, c := range []hookConfig{
		{name: "istio-sidecar-injector", mutating: true, svc: svc, caBundle: ca.CertPEM,
			lbl: map[string]string{"istio.io/rev": "default", "app": "sidecar-injector", "operator.istio.io/component": "Pilot",
				"install.operator.istio.io/owning-resource": "unknown", "release": "istiod", "app.kubernetes.io/name": "istiod"},
			hooks: []hook{
				injector("rev.namespace.sidecar-injector.istio.io", selector("istio.io/rev In default", "istio-injection DoesNotExist"), selector(notFalse)),
				injector("rev.object.sidecar-injector.istio.io", selector("istio.io/rev DoesNotExist", "istio-injection DoesNotExist"), selector(notFalse, "istio.io/rev In default")),
				injector("namespace.sidecar-injector.istio.io", selector("istio-injection In enabled"), selector(notFalse)),
				injector("object.sidecar-injector.istio.io", selector("istio-injection DoesNotExist", "istio.io/rev DoesNotExist"),
					selector("sidecar.istio.io/inject In true", "istio.io/rev DoesNotExist")),
			}},
		{name: "istio-validator-istio-system", lbl: valLbl, svc: svc, caBundle: ca.CertPEM, hooks: []hook{validator("rev.validation.istio.io", selector("istio.io/rev In default"))}},
		{name: "istiod-default-validator", lbl: valLbl, svc: svc, caBundle: ca.CertPEM, hooks: []hook{validator("validation.istio.io", nil)}},
	} {
		k.webhooks(c)
	}
	k.serve(svc, pod, 15017, ca.CertPEM)
	return func() {
		deny := &networkingv1.NetworkPolicy{ObjectMeta: k.meta("default-deny", nil, nil), Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{}, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
		if _, err := client.NetworkingV1().NetworkPolicies(ns).Create(k.ctx, deny, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}
