package netpol

import (
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

var (
	metadata80  = Destination{Addr: netip.MustParseAddr("169.254.169.254"), Port: 80}
	metadata988 = Destination{Addr: netip.MustParseAddr("169.254.169.252"), Port: 988}
	loopback988 = Destination{Addr: netip.MustParseAddr("127.0.0.1"), Port: 988}
)

func pod(ns string, lbls map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app", Labels: lbls}}
}

// policy builds a NetworkPolicy in namespace "app" selecting app=web.
func policy(name string, types []networkingv1.PolicyType, egress ...networkingv1.NetworkPolicyEgressRule) networkingv1.NetworkPolicy {
	return networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			PolicyTypes: types, Egress: egress}}
}

func to(cidr string, except ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}
}

func port(p int32) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Port: ptr.To(intstr.FromInt32(p))}
}

func rule(peers []networkingv1.NetworkPolicyPeer, ports ...networkingv1.NetworkPolicyPort) networkingv1.NetworkPolicyEgressRule {
	return networkingv1.NetworkPolicyEgressRule{To: peers, Ports: ports}
}

var (
	egressOnly = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	ingress    = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	both       = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	peers      = func(p ...networkingv1.NetworkPolicyPeer) []networkingv1.NetworkPolicyPeer { return p }
)

func TestEgress(t *testing.T) {
	web := pod("app", map[string]string{"app": "web"})
	udp, sctp := corev1.ProtocolUDP, corev1.ProtocolSCTP
	denyAll := policy("deny-all", egressOnly)
	tests := []struct {
		name     string
		policies []networkingv1.NetworkPolicy
		pod      *corev1.Pod
		dst      Destination
		allowed  bool
		// selecting and allowedBy, comma-separated
		selecting, allowedBy string
	}{
		{"no policy: not isolated", nil, web, metadata80, true, "", ""},
		{"deny all egress", []networkingv1.NetworkPolicy{denyAll}, web, metadata80, false, "deny-all", ""},
		{"ingress-only policy leaves egress open", []networkingv1.NetworkPolicy{policy("in", ingress)}, web, metadata80, true, "", ""},
		{"no policyTypes and no egress rules: ingress only", []networkingv1.NetworkPolicy{policy("implicit", nil)}, web, metadata80, true, "", ""},
		{"no policyTypes with egress rules: egress isolated",
			[]networkingv1.NetworkPolicy{policy("implicit", nil, rule(peers(to("10.0.0.0/8"))))}, web, metadata80, false, "implicit", ""},
		{"no policyTypes, egress rule allows it",
			[]networkingv1.NetworkPolicy{policy("implicit", nil, rule(peers(to("169.254.169.254/32")), port(80)))}, web, metadata80, true, "implicit", "implicit"},
		{"policyTypes both, egress empty: denies",
			[]networkingv1.NetworkPolicy{policy("both", both)}, web, metadata80, false, "both", ""},
		{"other pods' policy does not select",
			[]networkingv1.NetworkPolicy{func() networkingv1.NetworkPolicy {
				p := denyAll
				p.Spec.PodSelector = metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}
				return p
			}()}, web, metadata80, true, "", ""},
		{"empty podSelector selects every pod",
			[]networkingv1.NetworkPolicy{func() networkingv1.NetworkPolicy {
				p := denyAll
				p.Spec.PodSelector = metav1.LabelSelector{}
				return p
			}()}, pod("app", nil), metadata80, false, "deny-all", ""},
		{"matchExpressions",
			[]networkingv1.NetworkPolicy{func() networkingv1.NetworkPolicy {
				p := denyAll
				p.Spec.PodSelector = metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web", "api"}}}}
				return p
			}()}, web, metadata80, false, "deny-all", ""},
		{"policy of another namespace",
			[]networkingv1.NetworkPolicy{denyAll}, pod("other", map[string]string{"app": "web"}), metadata80, true, "", ""},
		{"rule without to and ports allows all",
			[]networkingv1.NetworkPolicy{policy("all", egressOnly, rule(nil))}, web, metadata988, true, "all", "all"},
		{"rule without to, port 53 only",
			[]networkingv1.NetworkPolicy{policy("dns", egressOnly, rule(nil, port(53)))}, web, metadata80, false, "dns", ""},
		{"0.0.0.0/0 any port", []networkingv1.NetworkPolicy{policy("world", egressOnly, rule(peers(to("0.0.0.0/0"))))}, web, metadata80, true, "world", "world"},
		{"0.0.0.0/0 except link-local",
			[]networkingv1.NetworkPolicy{policy("world", egressOnly, rule(peers(to("0.0.0.0/0", "169.254.0.0/16"))))}, web, metadata80, false, "world", ""},
		{"except another range",
			[]networkingv1.NetworkPolicy{policy("world", egressOnly, rule(peers(to("0.0.0.0/0", "10.0.0.0/8"))))}, web, metadata80, true, "world", "world"},
		{"except the exact host",
			[]networkingv1.NetworkPolicy{policy("world", egressOnly, rule(peers(to("169.254.169.0/24", "169.254.169.254/32"))))}, web, metadata80, false, "world", ""},
		{"cidr written with host bits", []networkingv1.NetworkPolicy{policy("host", egressOnly, rule(peers(to("169.254.169.254/16"))))}, web, metadata80, true, "host", "host"},
		{"cidr that does not parse", []networkingv1.NetworkPolicy{policy("bad", egressOnly, rule(peers(to("not-a-cidr"))))}, web, metadata80, false, "bad", ""},
		{"ipv6 block does not hold an ipv4 address", []networkingv1.NetworkPolicy{policy("v6", egressOnly, rule(peers(to("::/0"))))}, web, metadata80, false, "v6", ""},
		{"right address, wrong port",
			[]networkingv1.NetworkPolicy{policy("p", egressOnly, rule(peers(to("169.254.169.254/32")), port(988)))}, web, metadata80, false, "p", ""},
		{"port range holds 988",
			[]networkingv1.NetworkPolicy{policy("p", egressOnly, rule(peers(to("169.254.169.252/32")),
				networkingv1.NetworkPolicyPort{Port: ptr.To(intstr.FromInt32(900)), EndPort: ptr.To[int32](1000)}))}, web, metadata988, true, "p", "p"},
		{"port range below 988",
			[]networkingv1.NetworkPolicy{policy("p", egressOnly, rule(peers(to("169.254.169.252/32")),
				networkingv1.NetworkPolicyPort{Port: ptr.To(intstr.FromInt32(900)), EndPort: ptr.To[int32](987)}))}, web, metadata988, false, "p", ""},
		{"UDP port does not allow TCP",
			[]networkingv1.NetworkPolicy{policy("p", egressOnly, rule(peers(to("169.254.169.254/32")), networkingv1.NetworkPolicyPort{Protocol: &udp, Port: ptr.To(intstr.FromInt32(80))}))}, web, metadata80, false, "p", ""},
		{"protocol without port: every TCP port",
			[]networkingv1.NetworkPolicy{policy("p", egressOnly, rule(peers(to("127.0.0.1/32")), networkingv1.NetworkPolicyPort{Protocol: ptr.To(corev1.ProtocolTCP)}))}, web, loopback988, true, "p", "p"},
		{"SCTP without port does not allow TCP",
			[]networkingv1.NetworkPolicy{policy("p", egressOnly, rule(peers(to("127.0.0.1/32")), networkingv1.NetworkPolicyPort{Protocol: &sctp}))}, web, loopback988, false, "p", ""},
		{"named port cannot match an address",
			[]networkingv1.NetworkPolicy{policy("p", egressOnly, rule(peers(to("169.254.169.254/32")), networkingv1.NetworkPolicyPort{Port: ptr.To(intstr.FromString("http"))}))}, web, metadata80, false, "p", ""},
		{"named port beside a number",
			[]networkingv1.NetworkPolicy{policy("p", egressOnly, rule(peers(to("169.254.169.254/32")), networkingv1.NetworkPolicyPort{Port: ptr.To(intstr.FromString("http"))}, port(80)))}, web, metadata80, true, "p", "p"},
		{"pod and namespace selectors never match an address",
			[]networkingv1.NetworkPolicy{policy("sel", egressOnly, rule(peers(
				networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{}},
				networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{}})))}, web, metadata80, false, "sel", ""},
		{"second rule allows",
			[]networkingv1.NetworkPolicy{policy("p", egressOnly, rule(nil, port(53)), rule(peers(to("169.254.169.254/32")), port(80)))}, web, metadata80, true, "p", "p"},
		{"union: one policy denies, another allows",
			[]networkingv1.NetworkPolicy{denyAll, policy("metadata", egressOnly, rule(peers(to("169.254.169.254/32")), port(80)))}, web, metadata80, true, "deny-all,metadata", "metadata"},
		{"union: ingress-only allowing policy does not count",
			[]networkingv1.NetworkPolicy{denyAll, policy("ingress-with-egress-rules", ingress, rule(nil))}, web, metadata80, false, "deny-all", ""},
		{"loopback 988 allowed, 169.254.169.252 not",
			[]networkingv1.NetworkPolicy{policy("old", egressOnly, rule(peers(to("127.0.0.1/32")), port(988)))}, web, metadata988, false, "old", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Egress(tt.policies, tt.pod, tt.dst)
			if v.Allowed != tt.allowed || strings.Join(v.Selecting, ",") != tt.selecting || strings.Join(v.AllowedBy, ",") != tt.allowedBy {
				t.Errorf("got allowed=%v selecting=%v allowedBy=%v, want %v %q %q", v.Allowed, v.Selecting, v.AllowedBy, tt.allowed, tt.selecting, tt.allowedBy)
			}
		})
	}
}

func TestHasPolicyType(t *testing.T) {
	for _, tt := range []struct {
		np              networkingv1.NetworkPolicy
		ingress, egress bool
	}{
		{policy("none", nil), true, false},
		{policy("none-egress-rules", nil, rule(nil)), true, true},
		{policy("egress", egressOnly), false, true},
		{policy("ingress", ingress, rule(nil)), true, false},
		{policy("both", both), true, true},
	} {
		if got := HasPolicyType(&tt.np, networkingv1.PolicyTypeIngress); got != tt.ingress {
			t.Errorf("%s: ingress %v", tt.np.Name, got)
		}
		if got := HasPolicyType(&tt.np, networkingv1.PolicyTypeEgress); got != tt.egress {
			t.Errorf("%s: egress %v", tt.np.Name, got)
		}
	}
}

func TestSelectsPodBadSelector(t *testing.T) {
	np := policy("bad", egressOnly)
	np.Spec.PodSelector = metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Sometimes"}}}
	if SelectsPod(&np, pod("app", map[string]string{"app": "web"})) {
		t.Error("a selector that does not parse selects nothing")
	}
}
