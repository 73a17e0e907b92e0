// Package netpol evaluates Kubernetes NetworkPolicies for one pod's traffic to an IP
// address, as the API defines them: which policies select the pod for a direction,
// and whether any of them allows the traffic. It judges IP destinations only (an
// ipBlock peer); pod and namespace selectors match pods, never an address such as the
// node's metadata server, so they do not allow such traffic.
package netpol

import (
	"net/netip"
	"sort"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Destination is where the pod sends: an address, a port and a protocol ("" is TCP).
type Destination struct {
	Addr     netip.Addr
	Port     int32
	Protocol corev1.Protocol
}

// Verdict is the policies' judgement of one destination.
type Verdict struct {
	Allowed bool
	// Selecting are the policies (by name) that select the pod for egress; none means
	// the pod's egress is not isolated and everything is allowed.
	Selecting []string
	// AllowedBy are the selecting policies with a rule that allows the destination.
	AllowedBy []string
}

// Egress judges the pod's traffic to dst under policies (those of other namespaces
// are ignored: a NetworkPolicy selects pods of its own namespace). Traffic is allowed
// when no policy selects the pod for egress, or when any policy that does allows it.
func Egress(policies []networkingv1.NetworkPolicy, pod *corev1.Pod, dst Destination) Verdict {
	var v Verdict
	for i := range policies {
		np := &policies[i]
		if !SelectsPod(np, pod) || !HasPolicyType(np, networkingv1.PolicyTypeEgress) {
			continue
		}
		v.Selecting = append(v.Selecting, np.Name)
		if EgressAllows(np, dst) {
			v.AllowedBy = append(v.AllowedBy, np.Name)
		}
	}
	sort.Strings(v.Selecting)
	sort.Strings(v.AllowedBy)
	v.Allowed = len(v.Selecting) == 0 || len(v.AllowedBy) > 0
	return v
}

// SelectsPod says whether the policy's podSelector matches the pod (an empty selector
// matches every pod of the namespace; one that does not parse matches none).
func SelectsPod(np *networkingv1.NetworkPolicy, pod *corev1.Pod) bool {
	if np.Namespace != "" && np.Namespace != pod.Namespace {
		return false
	}
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	return err == nil && sel.Matches(labels.Set(pod.Labels))
}

// HasPolicyType says whether the policy isolates the direction t. Without policyTypes
// every policy isolates ingress, and egress only when it has egress rules.
func HasPolicyType(np *networkingv1.NetworkPolicy, t networkingv1.PolicyType) bool {
	if len(np.Spec.PolicyTypes) == 0 {
		return t == networkingv1.PolicyTypeIngress || len(np.Spec.Egress) > 0
	}
	for _, pt := range np.Spec.PolicyTypes {
		if pt == t {
			return true
		}
	}
	return false
}

// EgressAllows says whether one of the policy's egress rules allows dst. A rule with
// no `to` allows every destination, one with no `ports` every port.
func EgressAllows(np *networkingv1.NetworkPolicy, dst Destination) bool {
	for _, rule := range np.Spec.Egress {
		if portsAllow(rule.Ports, dst) && peersAllow(rule.To, dst.Addr) {
			return true
		}
	}
	return false
}

func peersAllow(peers []networkingv1.NetworkPolicyPeer, addr netip.Addr) bool {
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		if p.IPBlock != nil && ipBlockContains(p.IPBlock, addr) {
			return true
		}
	}
	return false
}

// ipBlockContains: addr is in cidr and in none of the exceptions. A CIDR that does not
// parse contains nothing (the API server validates them; this is for what it let by).
func ipBlockContains(b *networkingv1.IPBlock, addr netip.Addr) bool {
	if !prefixContains(b.CIDR, addr) {
		return false
	}
	for _, e := range b.Except {
		if prefixContains(e, addr) {
			return false
		}
	}
	return true
}

func prefixContains(cidr string, addr netip.Addr) bool {
	p, err := netip.ParsePrefix(cidr)
	return err == nil && p.Masked().Contains(addr.Unmap())
}

// portsAllow: the protocol (TCP when unset) matches and so does the port: none given is
// every port; a number, or a range up to endPort. A named port names a container port
// of the destination pod, which an address outside the cluster's pods does not have.
func portsAllow(ports []networkingv1.NetworkPolicyPort, dst Destination) bool {
	if len(ports) == 0 {
		return true
	}
	want := dst.Protocol
	if want == "" {
		want = corev1.ProtocolTCP
	}
	for _, p := range ports {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if proto != want {
			continue
		}
		switch {
		case p.Port == nil:
			return true
		case p.Port.Type == intstr.String:
			continue
		case p.EndPort != nil:
			if p.Port.IntVal <= dst.Port && dst.Port <= *p.EndPort {
				return true
			}
		case p.Port.IntVal == dst.Port:
			return true
		}
	}
	return false
}
