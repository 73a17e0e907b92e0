package webhook

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
)

// kubeletPort is where every kubelet listens on its node's network.
const kubeletPort = 10250

// ports: the targetPort reaches a containerPort the process serves TLS on, and that port
// is one the platform lets the control plane reach (seed 001: GKE private clusters,
// EKS with a custom CNI, Fargate, hostNetwork next to the kubelet).
func (s *walk) ports(ctx context.Context) {
	p := s.ready
	var c *corev1.Container
	for i := range p.Spec.Containers {
		if n := resolvePort(s.target, p.Spec.Containers[i].Ports); n != 0 {
			c, s.port = &p.Spec.Containers[i], n
			break
		}
	}
	if c == nil {
		if s.target.Type == intstr.Int { // a number need not be declared as a containerPort
			s.port, c = s.target.IntVal, &p.Spec.Containers[0]
		} else {
			s.problem(diagnose.Critical, "targetPort", CodePortMismatch, fmt.Sprintf("no container of %s declares the port named %q", p.Name, s.target.StrVal),
				s.callError("dial tcp "+p.Status.PodIP+": connect: connection refused"), "name the container port as the Service's targetPort, or use the number")
			return
		}
	}
	if s.Profile != nil && s.Profile.SecurePortFlag != "" {
		secure := flagPort(*c, s.Profile.SecurePortFlag)
		if secure == 0 {
			secure = s.Profile.DefaultSecurePort
		}
		if secure != 0 && secure != s.port {
			s.problem(diagnose.Critical, "securePort", CodePortMismatch,
				fmt.Sprintf("the Service sends traffic to port %d but the webhook serves on %d (%s)", s.port, secure, s.Profile.SecurePortFlag),
				s.callError(fmt.Sprintf("dial tcp %s:%d: connect: connection refused", p.Status.PodIP, s.port)),
				fmt.Sprintf("make containerPort, the Service targetPort and %s agree (Helm: webhook.securePort)", s.Profile.SecurePortFlag))
			return
		}
	}
	s.ok("port", fmt.Sprintf("container %s port %d", c.Name, s.port))
	if p.Spec.HostNetwork && s.port == kubeletPort {
		s.problem(diagnose.Critical, "hostNetwork", CodeHostNetworkPort,
			"the pod uses the node's network and port 10250, which the kubelet already holds: the API server reaches the kubelet, not the webhook",
			s.callError("x509: certificate is valid for <the node's name>, not "+s.t.Host()),
			"move the webhook to another port: Helm --set webhook.securePort=10260 (keep webhook.hostNetwork=true where the control plane cannot reach pod IPs, as on EKS with a custom CNI)")
	}
	node, err := s.Client.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{})
	if err != nil {
		return
	}
	switch {
	case node.Labels["eks.amazonaws.com/compute-type"] == "fargate" && s.port == kubeletPort:
		s.problem(diagnose.Critical, "platform", CodeProviderFirewall,
			"the pod runs on EKS Fargate, whose micro-VM forwards every port to the pod except 10250, which its own kubelet answers",
			s.callError("x509: certificate is valid for ip-....compute.internal, not "+s.t.Host()),
			"serve the webhook on another port: Helm --set webhook.securePort=10260")
	case strings.HasPrefix(node.Spec.ProviderID, "gce://") && s.port != 443 && s.port != kubeletPort:
		s.problem(diagnose.Warning, "platform", CodeProviderFirewall,
			fmt.Sprintf("on a GKE private cluster the control plane reaches nodes only on 443 and 10250; the webhook listens on %d", s.port),
			s.callError(fmt.Sprintf("dial tcp %s:%d: i/o timeout", p.Status.PodIP, s.port)),
			fmt.Sprintf("add a firewall rule from the control plane's range to the nodes on tcp:%d (gcloud compute firewall-rules create ... --allow tcp:%d --source-ranges MASTER_CIDR), or serve on 10250/443", s.port, s.port))
	case strings.HasPrefix(node.Spec.ProviderID, "aws://") && !p.Spec.HostNetwork:
		s.ok("platform", fmt.Sprintf("EKS: the control plane's security group must allow tcp:%d to the nodes; with a custom CNI (Calico, Weave) it cannot reach pod IPs at all: use hostNetwork with securePort 10260", s.port))
	}
}

// networkPolicies: a policy that selects the webhook pods and does not admit the API
// server on the port drops its SYN: the call fails with i/o timeout / context deadline
// exceeded, not a certificate error.
func (s *walk) networkPolicies(ctx context.Context) {
	l, err := s.Client.NetworkingV1().NetworkPolicies(s.ready.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	var selecting []string
	admitted := false
	for _, np := range l.Items {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil || !sel.Matches(labels.Set(s.ready.Labels)) || !hasIngress(&np) {
			continue
		}
		selecting = append(selecting, np.Name)
		admitted = admitted || admitsAPIServer(&np, s.port)
	}
	s.cniPolicies(ctx)
	switch {
	case len(selecting) == 0:
		s.ok("networkPolicy", "no NetworkPolicy selects the webhook pods")
	case admitted:
		s.ok("networkPolicy", "admitted by "+strings.Join(selecting, ", "))
	default:
		s.problem(diagnose.Critical, "networkPolicy", CodeNetworkPolicy,
			fmt.Sprintf("NetworkPolicy %s selects the webhook pods and admits nothing outside the cluster's pods on port %d: the API server is not a pod, its calls are dropped", strings.Join(selecting, ", "), s.port),
			s.callError(fmt.Sprintf("dial tcp %s:%d: i/o timeout", s.ready.Status.PodIP, s.port)),
			fmt.Sprintf("allow the control plane: an ingress rule with ports [{port: %d}] and from an ipBlock covering the API servers (or no from at all)", s.port))
	}
}

// cniPolicies are the policy resources of CNIs that enforce more than NetworkPolicy.
var cniPolicies = []struct {
	gvr        schema.GroupVersionResource
	namespaced bool
}{
	{schema.GroupVersionResource{Group: "crd.projectcalico.org", Version: "v1", Resource: "networkpolicies"}, true},
	{schema.GroupVersionResource{Group: "crd.projectcalico.org", Version: "v1", Resource: "globalnetworkpolicies"}, false},
	{schema.GroupVersionResource{Group: "cilium.io", Version: "v2", Resource: "ciliumnetworkpolicies"}, true},
	{schema.GroupVersionResource{Group: "cilium.io", Version: "v2", Resource: "ciliumclusterwidenetworkpolicies"}, false},
}

// cniPolicies lists Calico and Cilium policies that may also drop the API server's
// calls; they are named, not evaluated.
func (s *walk) cniPolicies(ctx context.Context) {
	if s.Dynamic == nil {
		return
	}
	var found []string
	for _, p := range cniPolicies {
		ri := s.Dynamic.Resource(p.gvr)
		var l *unstructured.UnstructuredList
		var err error
		if p.namespaced {
			l, err = ri.Namespace(s.ready.Namespace).List(ctx, metav1.ListOptions{})
		} else {
			l, err = ri.List(ctx, metav1.ListOptions{})
		}
		if err != nil {
			continue // the CNI is not installed, or its policies are not readable
		}
		for _, it := range l.Items {
			found = append(found, p.gvr.Resource+"."+p.gvr.Group+"/"+it.GetName())
		}
	}
	if len(found) > 0 {
		s.problem(diagnose.Warning, "cniPolicies", CodeNetworkPolicy,
			fmt.Sprintf("CNI policies that also apply to the webhook pods and were not evaluated: %s", strings.Join(found, ", ")),
			s.callError(fmt.Sprintf("dial tcp %s:%d: i/o timeout", s.ready.Status.PodIP, s.port)),
			fmt.Sprintf("check that they admit the control plane to port %d (Calico with the chart's default securePort 10250: allow TCP 10250 from the API servers)", s.port))
	}
}

func hasIngress(np *networkingv1.NetworkPolicy) bool {
	if len(np.Spec.PolicyTypes) == 0 {
		return true // ingress is implied
	}
	for _, t := range np.Spec.PolicyTypes {
		if t == networkingv1.PolicyTypeIngress {
			return true
		}
	}
	return false
}

// admitsAPIServer: some rule allows the port from anywhere or from an ipBlock (pod and
// namespace selectors never match the API server, which is not a pod).
func admitsAPIServer(np *networkingv1.NetworkPolicy, port int32) bool {
	for _, rule := range np.Spec.Ingress {
		portOK := len(rule.Ports) == 0
		for _, p := range rule.Ports {
			portOK = portOK || p.Port == nil || p.Port.IntVal == port || (p.EndPort != nil && p.Port.IntVal <= port && port <= *p.EndPort)
		}
		if !portOK {
			continue
		}
		if len(rule.From) == 0 {
			return true
		}
		for _, f := range rule.From {
			if f.IPBlock != nil {
				return true
			}
		}
	}
	return false
}
