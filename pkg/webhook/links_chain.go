package webhook

import (
	"context"
	"fmt"
	"sort"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
)

// config: the configuration itself — where it sends calls, failurePolicy, timeoutSeconds,
// the objectSelector that narrows what it sees.
func (s *walk) config() {
	cc := s.t.ClientConfig
	switch {
	case cc.Service != nil:
		s.ok("clientConfig", fmt.Sprintf("service %s/%s port %d, failurePolicy %s", cc.Service.Namespace, cc.Service.Name, svcPort(cc.Service.Port), s.t.FailurePolicy))
	case cc.URL != nil:
		s.ok("clientConfig", "url "+*cc.URL+" (outside the cluster: only its caBundle is checked)")
	}
	detail := fmt.Sprintf("%ds", s.t.TimeoutSeconds)
	if s.t.TimeoutSeconds < 30 && s.t.Kind != "APIService" {
		detail += "; while debugging \"context deadline exceeded\", raise it to 30 (the maximum) so the specific timeout shows: " +
			"i/o timeout (network), TLS handshake timeout or awaiting headers (the webhook)"
	}
	s.ok("timeoutSeconds", detail)
	if sel := s.t.ObjectSelector; sel != nil && (len(sel.MatchLabels) > 0 || len(sel.MatchExpressions) > 0) {
		s.ok("objectSelector", metav1.FormatLabelSelector(sel)+": only objects with these labels are sent to the webhook")
	}
}

// selfDeadlock: with failurePolicy Fail, a webhook that intercepts the pods (or what
// creates them) of its own namespace blocks its own recovery: once its pods are gone,
// the requests that would bring them back are refused. Webhooks whose rules touch other
// resources (ingress-nginx, cert-manager) or whose objectSelector leaves their own pods
// out (Vault's injector, Linkerd's) cannot deadlock this way.
func (s *walk) selfDeadlock(ctx context.Context) {
	cc := s.t.ClientConfig
	if s.t.NamespaceSelector == nil || s.t.FailurePolicy != "Fail" || !interceptsWorkloads(s.t.Rules) {
		return
	}
	if len(s.pods) > 0 && !selects(s.t.ObjectSelector, s.pods[0].Labels) {
		return
	}
	ns, err := s.Client.CoreV1().Namespaces().Get(ctx, cc.Service.Namespace, metav1.GetOptions{})
	if err != nil || !selects(s.t.NamespaceSelector, ns.Labels) {
		return
	}
	s.problem("namespaceSelector", diagnose.CodeWebhookSelfDeadlock, "", diagnose.Params{"namespace": ns.Name})
}

// workloadResources are what a namespace needs admitted to get its pods back.
var workloadResources = map[string][]string{
	"":      {"pods"},
	"apps":  {"deployments", "replicasets", "statefulsets", "daemonsets"},
	"batch": {"jobs"},
}

// interceptsWorkloads: some rule sends CREATE of pods or of a workload controller.
func interceptsWorkloads(rules []admissionv1.RuleWithOperations) bool {
	for group, resources := range workloadResources {
		for _, res := range resources {
			if rulesCover(rules, admissionv1.Create, group, "v1", res) {
				return true
			}
		}
	}
	return false
}

// selects applies a label selector the way the API server does: nil or empty selects all.
func selects(sel *metav1.LabelSelector, set map[string]string) bool {
	if sel == nil {
		return true
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && s.Matches(labels.Set(set))
}

func svcPort(p *int32) int32 {
	if p == nil {
		return 443
	}
	return *p
}

// service: the Service exists (with near-miss names when not) and has the port.
func (s *walk) service(ctx context.Context) bool {
	ref := s.t.ClientConfig.Service
	svc, err := s.Client.CoreV1().Services(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		s.problem("service", diagnose.CodeWebhookServiceNotFound, "", diagnose.Params{"namespace": ref.Namespace, "service": ref.Name,
			"near": strings.Join(s.nearMiss(ctx, ref.Namespace, ref.Name), " or ")})
		return false
	}
	if err != nil {
		s.readFailed("service", "the Service", err)
		return false
	}
	s.svc = svc
	want := svcPort(ref.Port)
	for _, p := range svc.Spec.Ports {
		if p.Port == want {
			s.target = p.TargetPort
			if s.target.IntValue() == 0 && s.target.Type == intstr.Int {
				s.target = intstr.FromInt32(p.Port)
			}
			s.ok("service", fmt.Sprintf("%s/%s port %d → targetPort %s", svc.Namespace, svc.Name, p.Port, s.target.String()))
			return true
		}
	}
	s.problem("service", diagnose.CodeWebhookServicePort, "", diagnose.Params{"namespace": svc.Namespace, "service": svc.Name, "want": want, "ports": portList(svc)})
	return false
}

func portList(svc *corev1.Service) string {
	var ps []string
	for _, p := range svc.Spec.Ports {
		ps = append(ps, fmt.Sprint(p.Port))
	}
	return strings.Join(ps, ", ")
}

// nearMiss finds Services whose name is close to name, in ns first, then anywhere.
func (s *walk) nearMiss(ctx context.Context, ns, name string) []string {
	l, err := s.Client.CoreV1().Services("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	var out []string
	for _, svc := range l.Items {
		if similar(svc.Name, name) {
			out = append(out, svc.Namespace+"/"+svc.Name)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return strings.HasPrefix(out[i], ns+"/") && !strings.HasPrefix(out[j], ns+"/") })
	return out
}

// NearMisses are the names in names close to name: a typo, or a prefix doubled or lost.
func NearMisses(names []string, name string) []string {
	var out []string
	for _, n := range names {
		if similar(n, name) {
			out = append(out, n)
		}
	}
	return out
}

// similar: a typo (edit distance ≤ 2), or one name inside the other (a doubled or
// missing release prefix).
func similar(a, b string) bool {
	return a != b && (strings.Contains(a, b) || strings.Contains(b, a) || editDistance(a, b) <= 2)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// endpoints: the Service's EndpointSlices list at least one ready address.
func (s *walk) endpoints(ctx context.Context) bool {
	l, err := s.Client.DiscoveryV1().EndpointSlices(s.svc.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + s.svc.Name})
	if err != nil {
		s.readFailed("endpoints", "EndpointSlices", err)
		return true // the pods link still tells a lot
	}
	var ready, notReady []string
	for _, sl := range l.Items {
		for _, e := range sl.Endpoints {
			r := e.Conditions.Ready == nil || *e.Conditions.Ready
			for _, a := range e.Addresses {
				if r {
					ready = append(ready, a)
				} else {
					notReady = append(notReady, a)
				}
			}
		}
	}
	if len(ready) > 0 {
		s.ok("endpoints", "ready: "+strings.Join(ready, ", "))
		return true
	}
	// The pods say why there is no endpoint: walk them first, so that their reason is
	// the finding and the empty EndpointSlice a consequence of it.
	s.podsReady(ctx)
	s.problem("endpoints", diagnose.CodeWebhookNoEndpoints, "", diagnose.Params{"namespace": s.svc.Namespace, "service": s.svc.Name,
		"notReady": strings.Join(notReady, ", ")})
	return false
}
