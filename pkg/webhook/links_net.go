package webhook

import (
	"context"
	"fmt"
	"strings"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// kubeletPort is where every kubelet listens on its node's network.
const kubeletPort = 10250

// ports: the targetPort reaches a containerPort the serving process listens on, and
// that port is one the platform lets the control plane reach (seed 001: GKE private
// clusters, EKS with a custom CNI, Fargate, hostNetwork next to the kubelet). It returns
// false when there is no port to connect to.
func (s *walk) ports(ctx context.Context) bool {
	p := s.ready
	s.port = 0
	for i := range p.Spec.Containers {
		if n := resolvePort(s.target, p.Spec.Containers[i].Ports); n != 0 {
			s.port = n
			break
		}
	}
	if s.port == 0 && s.target.Type == intstr.Int { // a number need not be declared as a containerPort
		s.port = s.target.IntVal
	}
	if s.port == 0 {
		s.problem("targetPort", diagnose.CodeWebhookPortMismatch, "named-port", diagnose.Params{"pod": p.Name, "port": s.target.StrVal, "podIP": p.Status.PodIP})
		return false
	}
	c := s.serving(p)
	if !s.securePort(p, c) {
		return false
	}
	if p.Spec.HostNetwork && s.port == kubeletPort {
		s.problem("hostNetwork", diagnose.CodeWebhookHostNetworkPort, "", nil)
	}
	node, err := s.Client.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{})
	if err != nil {
		return true
	}
	switch {
	case node.Labels["eks.amazonaws.com/compute-type"] == "fargate" && s.port == kubeletPort:
		s.problem("platform", diagnose.CodeWebhookFirewall, "fargate", nil)
	case strings.HasPrefix(node.Spec.ProviderID, "gce://") && s.port != 443 && s.port != kubeletPort:
		s.problem("platform", diagnose.CodeWebhookFirewall, "gke-private", diagnose.Params{"port": s.port, "podIP": p.Status.PodIP})
	case strings.HasPrefix(node.Spec.ProviderID, "aws://") && !p.Spec.HostNetwork:
		s.ok("platform", fmt.Sprintf("EKS: the control plane's security group must allow tcp:%d to the nodes; with a custom CNI (Calico, Weave) it cannot reach pod IPs at all: use hostNetwork with securePort 10260", s.port))
	}
	return true
}

// securePort compares the port the Service sends traffic to with the one the serving
// process was told to listen on. A port set by a flag that differs is critical; a port
// that is only the binary's default (no flag) is an assumption, said as such; a port a
// config file may set is not judged.
func (s *walk) securePort(p *corev1.Pod, c *corev1.Container) bool {
	var set portSetting
	if s.comp != nil {
		set = portOf(s.comp.SecurePort, c)
	}
	name := "-"
	if c != nil {
		name = c.Name
	}
	switch {
	case set.port == 0 || set.port == s.port:
		detail := fmt.Sprintf("container %s port %d", name, s.port)
		if set.from != "" {
			detail += " (" + set.from + ")"
		}
		s.ok("port", detail)
	case !set.assumed():
		s.problem("securePort", diagnose.CodeWebhookPortMismatch, "secure-port", diagnose.Params{"port": s.port, "secure": set.port,
			"flag": set.name(), "podIP": p.Status.PodIP})
		return false
	case set.config != "":
		s.ok("port", fmt.Sprintf("container %s port %d; %s may set the serving port (the binary's default is %d): certdoctor does not read it", name, s.port, set.config, set.port))
	default:
		s.problem("securePort", diagnose.CodeWebhookPortMismatch, "assumed", diagnose.Params{"port": s.port, "secure": set.port, "container": name,
			"flag": strings.Join(append(append([]string(nil), s.comp.SecurePort.Flags...), s.comp.SecurePort.Env...), " or "), "podIP": p.Status.PodIP})
	}
	return true
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
		s.problem("networkPolicy", diagnose.CodeWebhookNetworkPolicy, "policy", diagnose.Params{"policies": strings.Join(selecting, ", "),
			"port": s.port, "podIP": s.ready.Status.PodIP})
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
		s.problem("cniPolicies", diagnose.CodeWebhookNetworkPolicy, "cni", diagnose.Params{"policies": strings.Join(found, ", "),
			"port": s.port, "podIP": s.ready.Status.PodIP})
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
