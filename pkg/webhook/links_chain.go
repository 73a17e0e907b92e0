package webhook

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
)

// Codes of the webhook walk's findings (docs/output.md).
const (
	CodeServiceNotFound   = "WebhookServiceNotFound"
	CodeServicePort       = "WebhookServicePort"
	CodeNoEndpoints       = "WebhookNoEndpoints"
	CodePodNotReady       = "WebhookPodNotReady"
	CodeProbePort         = "WebhookReadinessProbePort"
	CodePortMismatch      = "WebhookPortMismatch"
	CodeHostNetworkPort   = "WebhookHostNetworkKubeletPort"
	CodeProviderFirewall  = "WebhookProviderFirewall"
	CodeNetworkPolicy     = "WebhookNetworkPolicy"
	CodeCABundle          = "WebhookCABundle"
	CodeCABundleMismatch  = "WebhookCABundleMismatch"
	CodeCAInjection       = "WebhookCAInjection"
	CodeServedCertificate = "WebhookServedCertificate"
	CodeUnreachable       = "WebhookUnreachable"
	CodeSlow              = "WebhookSlow"
	CodeSelfDeadlock      = "WebhookSelfDeadlock"
	CodeLeaderElection    = "WebhookLeaderElection"
)

// config: the configuration itself — where it sends calls, failurePolicy, timeoutSeconds,
// and whether its namespaceSelector sends the webhook's own namespace to itself.
func (s *walk) config(ctx context.Context) {
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
	if cc.Service == nil || s.t.NamespaceSelector == nil || s.t.FailurePolicy != "Fail" {
		return
	}
	ns, err := s.Client.CoreV1().Namespaces().Get(ctx, cc.Service.Namespace, metav1.GetOptions{})
	sel, serr := metav1.LabelSelectorAsSelector(s.t.NamespaceSelector)
	if err != nil || serr != nil {
		return
	}
	if sel.Matches(labels.Set(ns.Labels)) {
		s.problem(diagnose.Warning, "namespaceSelector", CodeSelfDeadlock,
			fmt.Sprintf("with failurePolicy Fail the webhook also intercepts its own namespace %s: if its pods are gone, nothing there (including the webhook's own pods) can be changed through it", ns.Name),
			"", fmt.Sprintf("exclude the namespace: add to namespaceSelector.matchExpressions {key: kubernetes.io/metadata.name, operator: NotIn, values: [%s]}", ns.Name))
	}
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
		fix := "point clientConfig.service at the webhook's Service (kubectl -n " + ref.Namespace + " get svc)"
		if near := s.nearMiss(ctx, ref.Namespace, ref.Name); len(near) > 0 {
			fix = "did you mean " + strings.Join(near, " or ") + "? " + fix + "; a doubled prefix (cert-managercert-manager-webhook) comes from a Helm release name prepended to a name that already has it: set fullnameOverride"
		}
		s.problem(diagnose.Critical, "service", CodeServiceNotFound, fmt.Sprintf("service %s/%s does not exist", ref.Namespace, ref.Name),
			s.callError(fmt.Sprintf("service %q not found", ref.Name)), fix)
		return false
	}
	if err != nil {
		s.problem(diagnose.Warning, "service", diagnose.CodeSourceFailed, "cannot read the Service: "+err.Error(), "", "")
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
	s.problem(diagnose.Critical, "service", CodeServicePort, fmt.Sprintf("service %s/%s has no port %d, the port the configuration calls", svc.Namespace, svc.Name, want),
		s.callError("no endpoints available for service \""+svc.Name+"\""), fmt.Sprintf("set clientConfig.service.port to one of the Service's ports (%s) or add port %d to the Service", portList(svc), want))
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
		s.problem(diagnose.Warning, "endpoints", diagnose.CodeSourceFailed, "cannot read EndpointSlices: "+err.Error(), "", "")
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
	detail := fmt.Sprintf("service %s/%s has no ready endpoint", s.svc.Namespace, s.svc.Name)
	if len(notReady) > 0 {
		detail += " (not ready: " + strings.Join(notReady, ", ") + ")"
	}
	s.problem(diagnose.Critical, "endpoints", CodeNoEndpoints, detail,
		s.callError(fmt.Sprintf("no endpoints available for service %q", s.svc.Name)),
		"an endpoint is ready only when a pod behind the Service passes its readinessProbe: see the pods check; with kube-proxy the same state shows as \"connect: connection refused\"")
	// Pods explain why: walk them even so.
	s.podsReady(ctx)
	return false
}
