package identity

import (
	"context"
	"fmt"
	"strings"
	"sync"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// Need is one request certdoctor's checks make. Needs is the one list of them; every
// entry is granted by a role of deploy/rbac.yaml (permissions_test.go checks both ways).
type Need struct {
	Verb, Group, Resource, Subresource string
	// Name limits it to one object (resourceNames).
	Name string
	// Path is a non-resource URL (nonResourceURLs): Verb applies to it, not to Resource.
	Path string
	// Namespace is where the checks make it: "" is every namespace, or the one -n names.
	Namespace string
	// Cluster marks a cluster-scoped resource: -n does not apply.
	Cluster bool
	// Checks are what a denial leaves unchecked, in the user's words.
	Checks []string
	// Role is the deploy/rbac.yaml role that grants it.
	Role string
}

// Roles of deploy/rbac.yaml.
const (
	roleReader    = "certdoctor-reader"
	roleProber    = "certdoctor-prober"
	roleDebugPods = "certdoctor-debug-pods"
)

// DebugNamespace is where the node checks' pods run unless --debug-namespace says otherwise.
const DebugNamespace = "kube-system"

const (
	checkSecrets     = "expiry: TLS secrets"
	checkKubeconfigs = "expiry: managed clusters' kubeconfig secrets"
	checkCASecrets   = "webhook: the CA secrets product profiles name"
	checkRootCA      = "expiry: kube-root-ca.crt config maps"
	checkCABundles   = "expiry and webhook: webhook configurations' caBundles"
	checkAPIServices = "expiry and webhook: APIService caBundles"
	checkCRDs        = "expiry and webhook: CRD conversion webhooks, cert-manager detection"
	checkCertManager = "expiry: cert-manager Certificates"
	checkTrustBundle = "expiry: the CA bundles trust-manager's Bundles and ClusterBundles write"
	checkNodes       = "expiry: the nodes' on-disk certificates (debug pods)"
	checkControlIPs  = "sans: control-plane node addresses"
	checkSANsService = "sans: the kubernetes Service IP and endpoints"
	checkSANsFlags   = "sans: kube-apiserver's certificate flags (static pod)"
	checkDomain      = "sans: the cluster DNS domain"
	checkKubeadm     = "sans and expiry: the kubeadm configuration"
	checkPodsTrust   = "sans: what pods trust (kube-root-ca.crt)"
	checkWebhookPath = "webhook: Service, endpoints and pods of each webhook"
	checkWebhookNet  = "webhook: NetworkPolicies in the webhook's path"
	checkPortForward = "webhook: the TLS handshake with the webhook pod (port-forward)"
	checkProxy       = "webhook: the call through the API server's service proxy"
	checkDryRun      = "webhook: the dry-run request that makes the API server call the webhook"
	checkPreflight   = "expiry: the debug pods' preflight (Pod Security, RBAC)"
	checkPodLogs     = "webhook: the webhook pods' logs (why a pod is not ready)"
	checkNodeOfPod   = "webhook: the node a hostNetwork webhook pod runs on"
	checkNamespaces  = "webhook: the namespaces a webhook's namespaceSelector picks (dry-run target)"
	checkCNIPolicies = "webhook: Calico and Cilium policies in the webhook's path"
	checkWatch       = "expiry: following the debug pods until they finish"
	checkSAKeys      = "expiry: the control-plane nodes' service-account keys against the published ones (/openid/v1/jwks)"
	checkWIAccounts  = "workload-identity: service accounts' GKE annotations (and their count, for the metadata server's memory)"
	checkWIPods      = "workload-identity: the pods using a service account, and the node they run on"
	checkWIServer    = "workload-identity: the gke-metadata-server and Dataplane V2 DaemonSets"
	checkWIIstio     = "workload-identity: Istio's mesh-wide settings (istio-system config maps)"
	checkCSRs        = "expiry: certificate signing requests (kubelet serving and client requests nobody approves, denied, not issued)"
	checkIngresses   = "expiry: the TLS secrets Ingresses serve (certificates valid longer than browsers accept)"
	checkKubelets    = "expiry: the serving certificate each node's kubelet presents (serverTLSBootstrap from kubelet-config)"
)

// Needs lists every request the checks make.
var Needs = []Need{
	{Verb: "list", Resource: "secrets", Checks: []string{checkSecrets, checkKubeconfigs, checkTrustBundle}, Role: roleReader},
	{Verb: "get", Resource: "secrets", Checks: []string{checkKubeconfigs, checkCASecrets}, Role: roleReader},
	{Verb: "list", Resource: "configmaps", Checks: []string{checkRootCA, checkTrustBundle}, Role: roleReader},
	{Verb: "get", Resource: "configmaps", Namespace: "kube-system", Checks: []string{checkKubeadm, checkDomain, checkKubelets}, Role: roleReader},
	{Verb: "get", Resource: "configmaps", Namespace: "default", Checks: []string{checkPodsTrust}, Role: roleReader},
	{Verb: "list", Group: "admissionregistration.k8s.io", Resource: "validatingwebhookconfigurations", Cluster: true, Checks: []string{checkCABundles}, Role: roleReader},
	{Verb: "list", Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations", Cluster: true, Checks: []string{checkCABundles}, Role: roleReader},
	{Verb: "list", Group: "apiregistration.k8s.io", Resource: "apiservices", Cluster: true, Checks: []string{checkAPIServices}, Role: roleReader},
	{Verb: "list", Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions", Cluster: true, Checks: []string{checkCRDs}, Role: roleReader},
	{Verb: "list", Group: "cert-manager.io", Resource: "certificates", Checks: []string{checkCertManager}, Role: roleReader},
	{Verb: "list", Group: "trust.cert-manager.io", Resource: "bundles", Cluster: true, Checks: []string{checkTrustBundle}, Role: roleReader},
	{Verb: "list", Group: "trust-manager.io", Resource: "clusterbundles", Cluster: true, Checks: []string{checkTrustBundle}, Role: roleReader},
	{Verb: "list", Resource: "nodes", Cluster: true, Checks: []string{checkNodes, checkControlIPs, checkKubelets}, Role: roleReader},
	{Verb: "list", Group: "certificates.k8s.io", Resource: "certificatesigningrequests", Cluster: true, Checks: []string{checkCSRs}, Role: roleReader},
	{Verb: "list", Group: "networking.k8s.io", Resource: "ingresses", Checks: []string{checkIngresses}, Role: roleReader},
	{Verb: "get", Resource: "namespaces", Cluster: true, Checks: []string{checkPreflight}, Role: roleReader},
	{Verb: "get", Resource: "services", Namespace: "default", Checks: []string{checkSANsService}, Role: roleReader},
	{Verb: "list", Group: "discovery.k8s.io", Resource: "endpointslices", Namespace: "default", Checks: []string{checkSANsService}, Role: roleReader},
	{Verb: "list", Resource: "pods", Namespace: "kube-system", Checks: []string{checkSANsFlags}, Role: roleReader},
	{Verb: "get", Group: "apps", Resource: "deployments", Name: "kube-dns", Namespace: "kube-system", Checks: []string{checkDomain}, Role: roleReader},
	{Verb: "get", Resource: "services", Checks: []string{checkWebhookPath}, Role: roleReader},
	{Verb: "list", Group: "discovery.k8s.io", Resource: "endpointslices", Checks: []string{checkWebhookPath}, Role: roleReader},
	{Verb: "list", Resource: "pods", Checks: []string{checkWebhookPath}, Role: roleReader},
	{Verb: "list", Resource: "events", Checks: []string{checkWebhookPath}, Role: roleReader},
	{Verb: "get", Resource: "pods", Subresource: "log", Checks: []string{checkPodLogs}, Role: roleReader},
	{Verb: "get", Resource: "nodes", Cluster: true, Checks: []string{checkNodeOfPod}, Role: roleReader},
	{Verb: "list", Resource: "namespaces", Cluster: true, Checks: []string{checkNamespaces}, Role: roleReader},
	{Verb: "list", Resource: "services", Checks: []string{checkWebhookPath}, Role: roleReader},
	{Verb: "list", Group: "networking.k8s.io", Resource: "networkpolicies", Checks: []string{checkWebhookNet}, Role: roleReader},
	{Verb: "list", Group: "crd.projectcalico.org", Resource: "networkpolicies", Checks: []string{checkCNIPolicies}, Role: roleReader},
	{Verb: "list", Group: "crd.projectcalico.org", Resource: "globalnetworkpolicies", Cluster: true, Checks: []string{checkCNIPolicies}, Role: roleReader},
	{Verb: "list", Group: "cilium.io", Resource: "ciliumnetworkpolicies", Checks: []string{checkCNIPolicies}, Role: roleReader},
	{Verb: "list", Group: "cilium.io", Resource: "ciliumclusterwidenetworkpolicies", Cluster: true, Checks: []string{checkCNIPolicies}, Role: roleReader},
	{Verb: "list", Resource: "serviceaccounts", Checks: []string{checkWIAccounts}, Role: roleReader},
	{Verb: "get", Resource: "serviceaccounts", Checks: []string{checkWIAccounts}, Role: roleReader},
	{Verb: "get", Resource: "pods", Checks: []string{checkWIPods}, Role: roleReader},
	{Verb: "get", Group: "apps", Resource: "daemonsets", Name: "gke-metadata-server", Namespace: "kube-system", Checks: []string{checkWIServer}, Role: roleReader},
	{Verb: "get", Group: "apps", Resource: "daemonsets", Name: "anetd", Namespace: "kube-system", Checks: []string{checkWIServer}, Role: roleReader},
	{Verb: "get", Group: "apps", Resource: "daemonsets", Name: "cilium", Namespace: "kube-system", Checks: []string{checkWIServer}, Role: roleReader},
	{Verb: "get", Resource: "configmaps", Namespace: "istio-system", Checks: []string{checkWIIstio}, Role: roleReader},
	{Verb: "get", Path: "/openid/v1/jwks", Checks: []string{checkSAKeys}, Role: roleReader},
	{Verb: "get", Path: "/.well-known/openid-configuration", Checks: []string{checkSAKeys}, Role: roleReader},
	{Verb: "create", Group: "authorization.k8s.io", Resource: "selfsubjectaccessreviews", Cluster: true, Checks: []string{checkPreflight}, Role: roleReader},
	{Verb: "create", Resource: "pods", Subresource: "portforward", Checks: []string{checkPortForward}, Role: roleProber},
	{Verb: "create", Resource: "services", Subresource: "proxy", Checks: []string{checkProxy}, Role: roleProber},
	{Verb: "get", Resource: "services", Subresource: "proxy", Checks: []string{checkProxy}, Role: roleProber},
	{Verb: "create", Resource: "configmaps", Checks: []string{checkDryRun}, Role: roleProber},
	{Verb: "create", Group: "cert-manager.io", Resource: "issuers", Checks: []string{checkDryRun}, Role: roleProber},
	{Verb: "get", Resource: "pods", Namespace: DebugNamespace, Checks: []string{checkWatch}, Role: roleDebugPods},
	{Verb: "list", Resource: "pods", Namespace: DebugNamespace, Checks: []string{checkWatch}, Role: roleDebugPods},
	{Verb: "watch", Resource: "pods", Namespace: DebugNamespace, Checks: []string{checkWatch}, Role: roleDebugPods},
	{Verb: "create", Resource: "pods", Namespace: DebugNamespace, Checks: []string{checkNodes}, Role: roleDebugPods},
	{Verb: "get", Resource: "pods", Subresource: "log", Namespace: DebugNamespace, Checks: []string{checkNodes}, Role: roleDebugPods},
	{Verb: "delete", Resource: "pods", Namespace: DebugNamespace, Checks: []string{checkNodes}, Role: roleDebugPods},
}

// Rule is the RBAC rule that grants n, as one line of YAML.
func (n Need) Rule() string {
	if n.Path != "" {
		return fmt.Sprintf("{nonResourceURLs: [%s], verbs: [%s]}", n.Path, n.Verb)
	}
	res := n.Resource
	if n.Subresource != "" {
		res += "/" + n.Subresource
	}
	rule := fmt.Sprintf("{apiGroups: [%q], resources: [%s], verbs: [%s]", n.Group, res, n.Verb)
	if n.Name != "" {
		rule += fmt.Sprintf(", resourceNames: [%s]", n.Name)
	}
	return rule + "}"
}

// askConcurrency bounds the SelfSubjectAccessReviews in flight: a few dozen small
// requests, in parallel so that a slow server costs one round trip, not thirty.
const askConcurrency = 8

// Can asks the API server, for each of needs, whether the caller may make it. namespace
// is -n (or ""): where the needs without a namespace of their own are asked. err is the
// first request that failed: those permissions are "unknown", never allowed.
func Can(ctx context.Context, client kubernetes.Interface, needs []Need, namespace string) (perms []result.Permission, err error) {
	out := make([]result.Permission, len(needs))
	errs := make([]error, len(needs))
	sem := make(chan struct{}, askConcurrency)
	var wg sync.WaitGroup
	for i, n := range needs {
		ns := n.Namespace
		if ns == "" && !n.Cluster {
			ns = namespace
		}
		if n.Path != "" {
			ns = ""
		}
		out[i] = result.Permission{Verb: n.Verb, Group: n.Group, Resource: n.Resource, Subresource: n.Subresource, Path: n.Path,
			Name: n.Name, Namespace: ns, ClusterScoped: n.Cluster, Checks: n.Checks, Rule: n.Rule(), Role: n.Role}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = ask(ctx, client, &out[i])
		}(i)
	}
	wg.Wait()
	return out, firstNonNil(errs)
}

func firstNonNil(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func ask(ctx context.Context, client kubernetes.Interface, p *result.Permission) error {
	spec := authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
		Namespace: p.Namespace, Verb: p.Verb, Group: p.Group, Resource: p.Resource, Subresource: p.Subresource, Name: p.Name}}
	if p.Path != "" {
		spec = authorizationv1.SelfSubjectAccessReviewSpec{NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: p.Path, Verb: p.Verb}}
	}
	rev, err := client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
	switch {
	case err != nil:
		p.Result, p.Reason = result.Unknown, diagnose.OneLine(err.Error())
		return err
	case rev.Status.Allowed:
		p.Result, p.Reason = result.Allowed, rev.Status.Reason
	default:
		p.Result, p.Reason = result.Denied, rev.Status.Reason
		if rev.Status.EvaluationError != "" {
			p.Reason = strings.TrimSpace(p.Reason + " " + rev.Status.EvaluationError)
		}
	}
	return nil
}
