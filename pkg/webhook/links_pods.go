package webhook

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
)

// podsReady: the pods behind the Service — Ready (Running is not enough), restarts,
// OOMKilled, why Pending — and their readinessProbe against the health-port flag.
func (s *walk) podsReady(ctx context.Context) bool {
	if s.pods != nil || len(s.svc.Spec.Selector) == 0 {
		return s.ready != nil
	}
	l, err := s.Client.CoreV1().Pods(s.svc.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(s.svc.Spec.Selector).String()})
	if err != nil {
		s.readFailed("pods", "the pods", err)
		return false
	}
	s.pods = l.Items
	if len(s.pods) == 0 {
		s.problem("pods", diagnose.CodeWebhookPodNotReady, "no-pods", diagnose.Params{"selector": labels.SelectorFromSet(s.svc.Spec.Selector).String(),
			"namespace": s.svc.Namespace, "service": s.svc.Name})
		return false
	}
	for i := range s.pods {
		if s.ready == nil && podReady(&s.pods[i]) {
			s.ready = &s.pods[i]
		}
	}
	for i := range s.pods {
		p := &s.pods[i]
		s.probePort(p)
		s.leaderElection(ctx, p)
		if podReady(p) {
			s.ok("pod "+p.Name, fmt.Sprintf("Ready on %s%s", p.Spec.NodeName, restarts(p)))
			continue
		}
		variant := "not-ready-others-serve" // another pod still answers
		if s.ready == nil {
			variant = "not-ready"
		}
		s.problem("pod "+p.Name, diagnose.CodeWebhookPodNotReady, variant, diagnose.Params{"namespace": p.Namespace, "pod": p.Name,
			"phase": string(p.Status.Phase), "why": s.notReadyReason(ctx, p), "service": s.svc.Name})
	}
	return s.ready != nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func restarts(p *corev1.Pod) string {
	n := int32(0)
	for _, cs := range p.Status.ContainerStatuses {
		n += cs.RestartCount
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d restarts", n)
}

// notReadyReason names why a pod does not serve: scheduling, image pull, crash
// (OOMKilled), or a failing readiness probe (from the pod's events).
func (s *walk) notReadyReason(ctx context.Context, p *corev1.Pod) string {
	var why []string
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue {
			why = append(why, "unschedulable: "+c.Message)
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			why = append(why, fmt.Sprintf("%s: %s %s", cs.Name, w.Reason, w.Message))
		}
		if t := cs.LastTerminationState.Terminated; t != nil && t.Reason == "OOMKilled" {
			why = append(why, fmt.Sprintf("%s was OOMKilled (%d restarts): raise its memory limit", cs.Name, cs.RestartCount))
		}
	}
	evs, err := s.Client.CoreV1().Events(p.Namespace).List(ctx, metav1.ListOptions{FieldSelector: fields.AndSelectors(
		fields.OneTermEqualSelector("involvedObject.name", p.Name), fields.OneTermEqualSelector("reason", "Unhealthy")).String()})
	if err == nil && len(evs.Items) > 0 {
		e := evs.Items[len(evs.Items)-1]
		why = append(why, fmt.Sprintf("%s (x%d)", e.Message, max(e.Count, 1)))
	}
	if len(why) == 0 {
		return "its readinessProbe has not passed yet"
	}
	return strings.Join(why, "; ")
}

// leaderElectionForbidden is what cert-manager's components log when they may not take
// their leader lease (GKE Autopilot forbids creating anything in kube-system).
const leaderElectionForbidden = "leases.coordination.k8s.io is forbidden"

// leaderElection reads the pod's recent log and events for a refused leader lease: the
// pods run and look healthy, yet nothing is injected or served.
func (s *walk) leaderElection(ctx context.Context, p *corev1.Pod) {
	text := ""
	if b, err := s.Client.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{TailLines: ptr.To[int64](200)}).DoRaw(ctx); err == nil {
		text = string(b)
	}
	if evs, err := s.Client.CoreV1().Events(p.Namespace).List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("involvedObject.name", p.Name).String()}); err == nil {
		for _, e := range evs.Items {
			text += "\n" + e.Message
		}
	}
	i := strings.Index(text, leaderElectionForbidden)
	if i < 0 {
		return
	}
	line := text[i:]
	if j := strings.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	s.problem("leaderElection "+p.Name, diagnose.CodeWebhookLeaderElection, "", diagnose.Params{"pod": p.Name, "line": line, "namespace": p.Namespace})
}
