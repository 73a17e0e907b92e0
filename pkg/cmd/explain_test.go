package cmd

import (
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/plugins"
)

// seedErrors are the error texts of the four field guides (shared/seeds), word for word,
// with the cause explain must name first and the command it must suggest.
var seedErrors = []struct {
	seed, text, code, check string
}{
	{"000", `Unable to connect to the server: x509: Unable to connect to the server`, "CertificateExpired", "kubectl certdoctor expiry"},
	{"000", `Unable to connect to the server: x509: certificate has expired or is not yet valid`, "CertificateExpired", "kubectl certdoctor expiry"},
	{"000", `could not connect: x509`, "EtcdPeerCertificate", "expiry --local"},
	{"000", `rejected connection`, "TLSBadCertificate", "expiry --local"},
	{"000", `W | rafthttp: health check for peer 6221a1d241bb2d0a could not connect: x509: certificate has expired or is not yet valid I | embed: rejected connection from "10.200.0.4:46108" (error "remote error: tls: bad certificate", ServerName "")`, "EtcdPeerCertificate", "expiry --local"},
	{"000", `context deadline exceeded`, "ContainerStopDeadline", "crictl ps"},
	{"000", `DeadlineExceeded`, "ContainerStopDeadline", "crictl ps"},
	{"001", "Error from server (InternalError): error when creating \"STDIN\":\nInternal error occurred: failed calling webhook \"webhook.cert-manager.io\": failed to call webhook:\nPost \"https://cert-manager-webhook.cert-manager.svc:443/mutate?timeout=10s\":\ndial tcp 10.96.20.99:443: connect: connection refused", "WebhookCallFailed", "webhook cert-manager"},
	{"001", "Error: INSTALLATION FAILED: Internal error occurred:\nfailed calling webhook \"webhook.cert-manager.io\": failed to call webhook:\nPost \"https://cert-manager-webhook.cert-manager.svc:443/mutate?timeout=10s\":\ndial tcp 10.96.20.99:443: connect: connection refused", "WebhookCallFailed", "webhook cert-manager"},
	{"001", "I0607 server.go:133] \"msg\"=\"listening for insecure healthz connections\" \"address\"=\":6081\" ❌", "WebhookReadinessProbePort", "webhook"},
	{"001", "Error from server (InternalError): error when creating \"STDIN\": Internal error occurred:\nfailed calling webhook \"webhook.cert-manager.io\": failed to call webhook:\nPost \"https://cert-manager-webhook.cert-manager.svc:443/mutate?timeout=10s\":\ndial tcp 10.0.0.69:443: i/o timeout", "WebhookCallFailed", "webhook cert-manager"},
	{"001", "Internal error occurred: failed calling webhook \"webhook.cert-manager.io\":\nPost https://cert-manager-webhook.cert-manager.svc:443/mutate?timeout=30s:\nx509: certificate is valid for ip-192-168-xxx-xxx.xxx.compute.internal,\nnot cert-manager-webhook.cert-manager.svc", "WebhookCallFailed", "webhook cert-manager"},
	{"001", `x509: certificate is valid for xxx.internal, not cert-manager-webhook.cert-manager.svc`, "WebhookCallFailed", "webhook"},
	{"001", "Error from server (InternalError): error when creating \"test-resources.yaml\": Internal error occurred:\nfailed calling webhook \"webhook.cert-manager.io\": failed to call webhook:\nPost \"https://cert-managercert-manager-webhook.cert-manager.svc:443/mutate?timeout=10s\":\nservice \"cert-managercert-manager-webhook\" not found", "WebhookServiceNotFound", "webhook cert-manager"},
	{"001", "Error: INSTALLATION FAILED: Internal error occurred:\nfailed calling webhook \"webhook.cert-manager.io\":\nPost https://cert-manager-webhook.cert-manager.svc:443/mutate?timeout=30s:\nno endpoints available for service \"cert-manager-webhook\"", "WebhookNoEndpoints", "webhook cert-manager"},
	{"001", `rpc error: code = Unknown desc = ETCD storage quota exceeded`, "EtcdQuotaExceeded", "webhook --all"},
	{"001", `rpc error: code = Unknown desc = quota computation: etcdserver: not capable`, "EtcdQuotaExceeded", "webhook --all"},
	{"001", `rpc error: code = Unknown desc = The OVHcloud storage quota has been reached`, "EtcdQuotaExceeded", "webhook --all"},
	{"001", "Internal error occurred: failed calling webhook \"webhook.cert-manager.io\":\nPost https://kubernetes.default.svc:443/apis/webhook.cert-manager.io/v1beta1/mutations?timeout=30s:\nx509: certificate has expired or is not yet valid", "WebhookCallFailed", "webhook cert-manager"},
	{"001", "Error from server (InternalError): error when creating \"STDIN\":\nInternal error occurred: failed calling webhook \"webhook.cert-manager.io\":\nPost https://cert-manager-webhook.cert-manager.svc:443/mutate?timeout=30s:\nnet/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)", "WebhookCallFailed", "webhook cert-manager"},
	{"001", "Error from server (InternalError): error when creating \"STDIN\":\nInternal error occurred: failed calling webhook \"webhook.cert-manager.io\":\nPost https://cert-manager-webhook.cert-manager.svc:443/mutate?timeout=30s:\ncontext deadline exceeded", "WebhookCallFailed", "webhook cert-manager"},
	{"001", "Error from server (InternalError): error when creating \"STDIN\":\nInternal error occurred: failed calling webhook \"webhook.certmanager.k8s.io\":\nPost https://kubernetes.default.svc:443/apis/webhook.certmanager.k8s.io/v1beta1/mutations?timeout=30s:\ncontext deadline exceeded", "WebhookCallFailed", "webhook"},
	{"001", "Not ready: Internal error occurred: failed calling webhook \"webhook.cert-manager.io\": failed to call webhook:\nPost \"https://cert-manager-webhook.cert-manager.svc:443/mutate?timeout=10s\":\ncontext deadline exceeded", "WebhookCallFailed", "webhook cert-manager"},
	{"001", `net/http: request canceled while awaiting headers`, "WebhookCallFailed", "webhook"},
	{"001", "Error from server (InternalError): error when creating \"STDIN\":\nInternal error occurred: failed calling webhook \"webhook.cert-manager.io\":\nPost https://cert-manager-webhook.cert-manager.svc:443/mutate?timeout=30s:\nnet/http: TLS handshake timeout", "WebhookCallFailed", "webhook cert-manager"},
	{"001", "Warning Unhealthy <invalid> (x13 over 15s) kubelet, node83\nReadiness probe failed: HTTP probe failed with statuscode: 500", "ReadinessProbeFailing", "webhook"},
	{"001", "Error from server (InternalError): error when creating \"STDIN\": Internal error occurred:\nfailed calling webhook \"webhook.cert-manager.io\":\nPost \"https://my-cert-manager-webhook.default.svc:443/mutate?timeout=10s\":\nService Unavailable", "WebhookCallFailed", "webhook cert-manager"},
	{"001", "Error from server (InternalError): error when creating \"test-resources.yaml\": Internal error occurred:\nfailed calling admission webhook \"issuers.admission.certmanager.k8s.io\":\nthe server is currently unable to handle the request", "WebhookAPIServiceUnavailable", "webhook --all"},
	{"001", `failed calling admission webhook: the server is currently unable to handle the request`, "WebhookAPIServiceUnavailable", "webhook --all"},
	{"001", "Error: UPGRADE FAILED: release core-l7 failed, and has been rolled back due to atomic being set:\nfailed to create resource: conversion webhook for cert-manager.io/v1alpha3, Kind=ClusterIssuer failed:\nPost https://cert-manager-webhook.core-l7.svc:443/convert?timeout=30s:\nx509: certificate signed by unknown authority", "WebhookCallFailed", "webhook cert-manager"},
	{"001", "Internal error occurred: failed calling webhook \"webhook.cert-manager.io\":\nPost https://cert-manager-webhook.cert-manager.svc:443/mutate?timeout=30s:\nx509: certificate signed by unknown authority`", "WebhookCallFailed", "webhook cert-manager"},
	{"001", "2022/06/06 15:36:30 Not ready: the cert-manager webhook CA bundle is not injected yet\n(Internal error occurred: conversion webhook for cert-manager.io/v1alpha2, Kind=Certificate failed:\nPost \"https://<company_name>-cert-manager-webhook.cert-manager.svc:443/convert?timeout=30s\":\nx509: certificate signed by unknown authority)", "WebhookCAInjection", "webhook"},
	{"001", "E0608 sources.go:201] cert-manager/secret/customresourcedefinition/generic-inject-reconciler\n\"msg\"=\"unable to fetch associated secret\" \"error\"=\"Secret \\\"cert-manager-webhook-caq\\\" not found\"", "WebhookCAInjection", "webhook"},
	{"001", "I0608 controller.go:156] cert-manager/secret/customresourcedefinition/generic-inject-reconciler\n\"msg\"=\"failed to determine ca data source for injectable\" \"resource_name\"=\"challenges.acme.cert-manager.io\"", "CAInjectorSkipped", "webhook cert-manager"},
	{"001", "Error: rendered manifests contain a resource that already exists. Unable to continue with install:\ncould not get information about the resource:\nmutatingwebhookconfigurations.admissionregistration.k8s.io \"cert-manager-webhook\" is forbidden:\nUser \"XXXX\" cannot get resource \"mutatingwebhookconfigurations\" in API group \"admissionregistration.k8s.io\" at the cluster scope:\nGKEAutopilot authz: cluster scoped resource \"mutatingwebhookconfigurations/\" is managed and access is denied", "WebhookConfigurationsManaged", "webhook --all"},
	{"001", `Not ready: the cert-manager webhook CA bundle is not injected yet`, "WebhookCAInjection", "webhook"},
	{"001", "E0425 leaderelection.go:334] error initially creating leader election record:\nleases.coordination.k8s.io is forbidden: User \"system:serviceaccount:cert-manager:cert-manager-webhook\"\ncannot create resource \"leases\" in API group \"coordination.k8s.io\" in the namespace \"kube-system\":\nGKEAutopilot authz: the namespace \"kube-system\" is managed and the request's verb \"create\" is denied", "WebhookLeaderElection", "webhook cert-manager"},
	{"002", "WordPress not found in /var/www/html - copying now...\nComplete! WordPress has been successfully copied to /var/www/html\n\nWarning: mysqli::__construct(): php_network_getaddresses: getaddrinfo failed: Temporary failure in name resolution in Standard input code on line 22", "NameResolutionFailed", "kubectl certdoctor sans"},
	{"002", `E0729 13:29:49.132142 1 reflector.go:201] k8s.io/dns/pkg/dns/dns.go:192: Failed to list *v1.Service: Get https://10.254.0.1:443/api/v1/services?resourceVersion=0: x509: certificate is valid for 172.16.0.1, 192.168.0.1, not 10.254.0.1`, "SANMissing", "sans --expect 10.254.0.1"},
	{"003", "Error from server (Forbidden): roles.rbac.authorization.k8s.io is forbidden:\nUser \"example-account@example-project.iam.gserviceaccount.com\" cannot list resource \"roles\" in\nAPI group \"rbac.authorization.k8s.io\" in the namespace \"kube-system\": requires\none of [\"container.roles.list\"] permission(s).", "PermissionDenied", "certdoctor whoami --can"},
	{"003", `Retry limit exceeded. Failed to wait for metadata server to be available. Check if the gke-metadata-server Pod in the kube-system namespace is healthy.`, "WorkloadIdentityMetadataServer", "gke-metadata-server -o wide"},
	{"003", `dial tcp 35.232.136.58:443: connect: connection refused`, "APIServerUnreachable", "expiry --local"},
	{"003", `kube-system   gke-metadata-server-8sm2l   0/1       CrashLoopBackOff   194        16h`, "WorkloadIdentityMetadataServer", "gke-metadata-server -o wide"},
	{"003", `OOMKilled`, "ContainerOOMKilled", "webhook --all"},
	{"003", `Error waiting for updating GKE cluster workload identity config: DeployPatch failed`, "WorkloadIdentityDeployPatch", "roles/container.serviceAgent"},
}

func TestExplainSeedErrors(t *testing.T) {
	profiles, err := plugins.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range seedErrors {
		t.Run(tt.seed+" "+firstLine(tt.text), func(t *testing.T) {
			xs := diagnose.Default().Explain(tt.text, webhookTarget(profiles))
			if len(xs) == 0 || xs[0].Code != tt.code || !strings.Contains(xs[0].Check, tt.check) {
				t.Fatalf("got %+v\nwant first %s checked by ~%q", xs, tt.code, tt.check)
			}
			if xs[0].Fix == "" || strings.Contains(xs[0].Fix, "<no value>") {
				t.Fatalf("no usable fix: %+v", xs[0])
			}
		})
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	if len(l) > 60 {
		l = l[:60]
	}
	return l
}

// Errors users paste beyond the seeds.
func TestExplainCommonErrors(t *testing.T) {
	for text, want := range map[string][2]string{
		`x509: certificate signed by unknown authority (possibly because of "x509: cannot verify signature: insecure algorithm SHA1-RSA" while trying to verify candidate authority certificate "kubernetes")`: {"CertificateInsecureSignature", "expiry"},
		`x509: certificate signed by unknown authority (possibly because of "crypto/rsa: verification error" while trying to verify candidate authority certificate "kubernetes")`:                             {"UnknownAuthority", "expiry"},
		`Unable to connect to the server: x509: certificate signed by unknown authority`:                                                                                                                       {"UnknownAuthority", "expiry"},
		`error: You must be logged in to the server (Unauthorized)`:                                                                                                                                            {"Unauthorized", "expiry"},
		`Error from server: Get "https://10.0.0.5:10250/containerLogs/default/web/web": remote error: tls: internal error`:                                                                                     {"KubeletServingCertificate", "certdoctor expiry"},
		`tls: failed to verify certificate: x509: cannot validate certificate for 10.96.0.1 because it doesn't contain any IP SANs`:                                                                            {"SANMissing", "sans --expect 10.96.0.1"},
		`x509: certificate relies on legacy Common Name field, use SANs instead`:                                                                                                                               {"CertificateLegacyCommonName", "expiry"},
		`tls: private key does not match public key`:                                                                                                                                                           {"KeyDoesNotMatch", "expiry"},
		`Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout`:                                                                                                                                 {"APIServerUnreachable", "expiry --local"},
		`Error from server (InternalError): Internal error occurred: failed calling webhook "validate.nginx.ingress.kubernetes.io": failed to call webhook: Post "https://ingress-nginx-controller-admission.ingress-nginx.svc:443/networking/v1/ingresses?timeout=10s": x509: certificate signed by unknown authority`: {"WebhookCallFailed", "webhook ingress-nginx"},
	} {
		xs := diagnose.Default().Explain(text, webhookTarget(mustProfiles(t)))
		if len(xs) == 0 || xs[0].Code != want[0] || !strings.Contains(xs[0].Check, want[1]) {
			t.Errorf("%s:\n got %+v\nwant %s checked by ~%q", text, xs, want[0], want[1])
		}
	}
}

func mustProfiles(t *testing.T) map[string]*plugins.Profile {
	t.Helper()
	p, err := plugins.All()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A whole log: one explanation per distinct cause, in the order the log shows them,
// repeats folded.
func TestExplainLog(t *testing.T) {
	log := strings.Join([]string{
		`E0729 13:29:49.132142 1 reflector.go:201] k8s.io/dns/pkg/dns/dns.go:192: Failed to list *v1.Service: Get https://10.254.0.1:443/api/v1/services?resourceVersion=0: x509: certificate is valid for 172.16.0.1, 192.168.0.1, not 10.254.0.1`,
		`I0729 13:29:50.000000 1 dns.go:48] version: 1.14.4`,
		`E0729 13:29:49.139524 1 reflector.go:201] k8s.io/dns/pkg/dns/dns.go:189: Failed to list *v1.Endpoints: Get https://10.254.0.1:443/api/v1/endpoints?resourceVersion=0: x509: certificate is valid for 172.16.0.1, 192.168.0.1, not 10.254.0.1`,
		`Warning: mysqli::__construct(): php_network_getaddresses: getaddrinfo failed: Temporary failure in name resolution in Standard input code on line 22`,
	}, "\n")
	xs := diagnose.Default().Explain(log, webhookTarget(mustProfiles(t)))
	if len(xs) != 2 || xs[0].Code != "SANMissing" || xs[1].Code != "NameResolutionFailed" {
		t.Fatalf("%+v", xs)
	}
}

func TestExplainCommand(t *testing.T) {
	out, _, code := runWithStdin(t, "x509: certificate is valid for 172.16.0.1, not 10.254.0.1\n", "explain", "-", "-o", "json")
	if code != 0 || !strings.Contains(out, `"code": "SANMissing"`) || !strings.Contains(out, `"check": "kubectl certdoctor sans --expect 10.254.0.1"`) {
		t.Fatalf("exit %d\n%s", code, out)
	}
	_, stderr, code := run(t, "explain", "all is well")
	if code != 1 || !strings.Contains(stderr, "no known cause") || !strings.Contains(stderr, "kubectl certdoctor") {
		t.Fatalf("no match: exit %d %q", code, stderr)
	}
	out, _, code = run(t, "explain", "--list", "-o", "json")
	if code != 0 || !strings.Contains(out, `"code": "WebhookCallFailed"`) || !strings.Contains(out, `"code": "EtcdQuotaExceeded"`) {
		t.Fatalf("--list: exit %d", code)
	}
	if _, stderr, code = run(t, "explain"); code != 1 || !strings.Contains(stderr, "give the error text") {
		t.Fatalf("no text: exit %d %q", code, stderr)
	}
}

// Every command the catalogue tells users to run ("check: kubectl certdoctor X ...")
// exists, with the flags it names: a fix that points at a missing command is worse
// than none.
func TestCatalogueChecksNameRealCommands(t *testing.T) {
	root := NewCmdCertdoctor(genericiooptions.NewTestIOStreamsDiscard())
	var checks []string
	for _, e := range diagnose.Default().Entries() {
		checks = append(checks, e.Check)
		for _, v := range e.Variants {
			if v.Check != nil {
				checks = append(checks, *v.Check)
			}
		}
	}
	n := 0
	for _, check := range checks {
		rest, ok := strings.CutPrefix(check, "kubectl certdoctor ")
		if !ok {
			continue
		}
		n++
		args := strings.Fields(strings.NewReplacer("{{", " ", "}}", " ").Replace(rest))
		cmd, flags, err := root.Find(args)
		if err != nil || cmd == root && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			t.Errorf("check %q: no such command", check)
			continue
		}
		for _, f := range flags {
			name, _, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
			if !strings.HasPrefix(f, "-") {
				continue
			}
			known := cmd.Flags().Lookup(name) != nil || cmd.InheritedFlags().Lookup(name) != nil
			if len(name) == 1 {
				known = known || cmd.Flags().ShorthandLookup(name) != nil || cmd.InheritedFlags().ShorthandLookup(name) != nil
			}
			if !known {
				t.Errorf("check %q: %s has no flag %s", check, cmd.CommandPath(), f)
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d checks name a certdoctor command: is the catalogue loaded?", n)
	}
}
