package workloadidentity

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/netpol"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// checkPod runs the pod's checks, in the order a token request meets them.
func (r *run) checkPod(ctx context.Context, p *corev1.Pod, gsa string) {
	g := podGroup(p)
	r.check(g, "serviceaccount", result.OK, fmt.Sprintf("%s/%s, acting as %s", p.Namespace, saName(p), gsa))
	base := diagnose.Params{"namespace": p.Namespace, "pod": p.Name, "name": p.Name, "gsa": gsa}
	if p.Spec.HostNetwork {
		r.problem(g, "hostNetwork", diagnose.New(diagnose.CodeWIHostNetwork, where(g), with(base, "owner", owner(p))))
	} else {
		r.check(g, "hostNetwork", result.OK, "on the pod network")
	}
	if r.nodeChecks(ctx, p, g, base) {
		r.metadataServerPod(ctx, p, g, base)
	}
	r.networkPolicies(ctx, p, g, base)
	r.istioSidecar(ctx, p, g, base)
	r.environment(p, g, base)
}

func with(p diagnose.Params, kv ...any) diagnose.Params {
	out := diagnose.Params{}
	for k, v := range p {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// owner names what to edit: the pod's controller, or the pod.
func owner(p *corev1.Pod) string {
	for _, o := range p.OwnerReferences {
		if o.Controller != nil && *o.Controller {
			return strings.ToLower(o.Kind) + " " + o.Name
		}
	}
	return "pod spec"
}

// nodeChecks: the pod's node carries the metadata server label. It returns whether the
// node is known and labelled, so the metadata server pod is worth looking for.
func (r *run) nodeChecks(ctx context.Context, p *corev1.Pod, g string, base diagnose.Params) bool {
	if p.Spec.NodeName == "" {
		r.check(g, "node", result.OK, "not scheduled yet: its node pool is not known")
		return false
	}
	n, err := r.node(ctx, p.Spec.NodeName)
	if err != nil {
		r.readFailed(g, "node", "node "+p.Spec.NodeName, err)
		return false
	}
	pool := n.Labels[LabelNodePool]
	if pool != "" {
		r.pools[pool] = true
	}
	if n.Labels[LabelMetadataServer] != "true" {
		cluster, location := r.gcloudCluster(n)
		r.problem(g, "node", diagnose.New(diagnose.CodeWINodePool, where(g), with(base, "node", n.Name, "pool", orUpper(pool, "NODEPOOL"),
			"cluster", cluster, "location", location)))
		return false
	}
	detail := "node " + n.Name
	if pool != "" {
		detail += " (node pool " + pool + ")"
	}
	r.check(g, "node", result.OK, detail+" runs the GKE metadata server ("+LabelMetadataServer+"=true)")
	return true
}

func orUpper(s, placeholder string) string {
	if s == "" {
		return placeholder
	}
	return s
}

func (r *run) node(ctx context.Context, name string) (*corev1.Node, error) {
	if n, ok := r.nodes[name]; ok {
		return n, nil
	}
	if err, ok := r.nodeErr[name]; ok {
		return nil, err
	}
	n, err := r.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		r.nodeErr[name] = err
		r.denied(err, "get", "nodes", "", "")
		return nil, err
	}
	r.nodes[name] = n
	return n, nil
}

// networkPolicies judges the pod's egress to the metadata server addresses that apply.
func (r *run) networkPolicies(ctx context.Context, p *corev1.Pod, g string, base diagnose.Params) {
	pols, err := r.policies(ctx, p.Namespace)
	if err != nil {
		r.readFailed(g, "networkPolicy", "the NetworkPolicies of namespace "+p.Namespace, err)
		return
	}
	addrs, certain, why := r.cluster.addresses()
	var blocked []metadataAddr
	var selecting, allowing []string
	for _, a := range addrs {
		v := netpol.Egress(pols, p, a.dst)
		selecting = v.Selecting
		if v.Allowed {
			allowing = append(allowing, a.String()+" by "+orUpper(strings.Join(v.AllowedBy, ", "), "-"))
		} else {
			blocked = append(blocked, a)
		}
	}
	switch {
	case len(selecting) == 0:
		r.check(g, "networkPolicy", result.OK, "no NetworkPolicy isolates its egress")
		return
	case len(blocked) == 0:
		r.check(g, "networkPolicy", result.OK, "egress allowed to "+strings.Join(allowing, "; "))
		return
	}
	names := make([]string, len(blocked))
	for i, a := range blocked {
		names[i] = a.String() + " (" + a.when + ")"
	}
	params := with(base, "policies", strings.Join(selecting, ", "), "blocked", strings.Join(names, ", "), "why", why, "policy", allowPolicy(blocked))
	variant := ""
	if !certain {
		variant = "uncertain"
	}
	r.problem(g, "networkPolicy", diagnose.NewVariant(diagnose.CodeWINetworkPolicy, variant, where(g), params))
}

// allowPolicy is a NetworkPolicy, as one line of JSON, that lets every pod of a
// namespace reach the addresses.
func allowPolicy(addrs []metadataAddr) string {
	type port struct {
		Protocol string `json:"protocol"`
		Port     int32  `json:"port"`
	}
	var egress []networkingv1.NetworkPolicyEgressRule
	for _, a := range addrs {
		egress = append(egress, networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: a.dst.Addr.String() + "/32"}}}})
	}
	np := map[string]any{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": map[string]string{"name": "allow-gke-metadata-server"},
		"spec": map[string]any{"podSelector": map[string]any{}, "policyTypes": []string{"Egress"}, "egress": func() []any {
			out := make([]any, len(egress))
			for i, e := range egress {
				out[i] = map[string]any{"to": e.To, "ports": []port{{"TCP", addrs[i].dst.Port}}}
			}
			return out
		}()}}
	b, _ := json.Marshal(np)
	return string(b)
}

func (r *run) policies(ctx context.Context, ns string) ([]networkingv1.NetworkPolicy, error) {
	if err, ok := r.netErr[ns]; ok {
		return nil, err
	}
	if l, ok := r.netpols[ns]; ok {
		return l, nil
	}
	l, err := r.Client.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		r.netErr[ns] = err
		r.denied(err, "list", "networkpolicies", "networking.k8s.io", ns)
		return nil, err
	}
	r.netpols[ns] = l.Items
	return l.Items, nil
}

// metadataHosts are GCE_METADATA_HOST values that reach the metadata server.
var metadataHosts = map[string]bool{"169.254.169.254": true, "169.254.169.254:80": true, "metadata.google.internal": true, "metadata.google.internal:80": true}

// environment: GCE_METADATA_HOST, when a container sets it, points at the metadata
// server; a key file in GOOGLE_APPLICATION_CREDENTIALS is said, as it wins over
// Workload Identity in Google's libraries.
func (r *run) environment(p *corev1.Pod, g string, base diagnose.Params) {
	var notes []string
	for _, c := range append(append([]corev1.Container(nil), p.Spec.InitContainers...), p.Spec.Containers...) {
		for _, e := range c.Env {
			switch {
			case e.Name == "GCE_METADATA_HOST" && e.ValueFrom != nil:
				notes = append(notes, "container "+c.Name+" takes GCE_METADATA_HOST from a ConfigMap or Secret: not checked")
			case e.Name == "GCE_METADATA_HOST" && !metadataHosts[strings.TrimSpace(e.Value)]:
				r.problem(g, "env", diagnose.New(diagnose.CodeWIMetadataHost, where(g), with(base, "container", c.Name, "value", e.Value)))
				return
			case e.Name == "GCE_METADATA_HOST":
				notes = append(notes, "container "+c.Name+" sets GCE_METADATA_HOST="+e.Value)
			case e.Name == "GOOGLE_APPLICATION_CREDENTIALS":
				notes = append(notes, "container "+c.Name+" sets GOOGLE_APPLICATION_CREDENTIALS: Google's libraries use that key file, not Workload Identity")
			}
		}
	}
	if len(notes) > 0 {
		r.check(g, "env", result.OK, strings.Join(notes, "; "))
	}
}
