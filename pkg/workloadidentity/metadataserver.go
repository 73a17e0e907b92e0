package workloadidentity

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"github.com/certdoctor/kubectl-certdoctor/pkg/sources"
)

// saLimit is where gke-metadata-server's memory runs out (seed 003).
const saLimit = 3000

// metadataServers are the DaemonSet's pods by node, read once.
type metadataServers struct {
	noDaemonSet bool
	err         error
	byNode      map[string]*corev1.Pod
}

func (r *run) metadataServers(ctx context.Context) *metadataServers {
	if r.ms != nil {
		return r.ms
	}
	ms := &metadataServers{byNode: map[string]*corev1.Pod{}}
	r.ms = ms
	// GKE labels the pods k8s-app=gke-metadata-server; the DaemonSet's own selector wins
	// when it may be read.
	sel := labels.SelectorFromSet(labels.Set{"k8s-app": MetadataServerName})
	ds, err := r.Client.AppsV1().DaemonSets("kube-system").Get(ctx, MetadataServerName, metav1.GetOptions{})
	switch {
	case isNotFound(err):
		ms.noDaemonSet = true
		return ms
	case err == nil:
		if s, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector); err == nil && !s.Empty() {
			sel = s
		}
	case !apierrors.IsForbidden(err):
		ms.err = err
		return ms
	}
	l, err := r.Client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		r.denied(err, "list", "pods", "", "kube-system")
		ms.err = err
		return ms
	}
	for i := range l.Items {
		p := &l.Items[i]
		if p.Spec.NodeName != "" && sel.Matches(labels.Set(p.Labels)) {
			ms.byNode[p.Spec.NodeName] = p
		}
	}
	return ms
}

// metadataServerPod: a gke-metadata-server pod runs on the pod's node and is Ready; one
// crashing after OOMKilled comes with the cluster's count of service accounts.
func (r *run) metadataServerPod(ctx context.Context, p *corev1.Pod, g string, base diagnose.Params) {
	ms := r.metadataServers(ctx)
	node := p.Spec.NodeName
	base = with(base, "node", node)
	switch {
	case ms.err != nil:
		r.readFailed(g, "metadataServer", "the gke-metadata-server pods", ms.err)
		return
	case ms.noDaemonSet:
		cluster, location := r.gcloudCluster(r.nodes[node])
		r.problem(g, "metadataServer", diagnose.NewVariant(diagnose.CodeWIMetadataServerPod, "no-daemonset", where(g), with(base, "cluster", cluster, "location", location)))
		return
	}
	m := ms.byNode[node]
	if m == nil {
		r.problem(g, "metadataServer", diagnose.NewVariant(diagnose.CodeWIMetadataServerPod, "missing", where(g), base))
		return
	}
	if ready(m) {
		r.check(g, "metadataServer", result.OK, fmt.Sprintf("%s Ready on %s", m.Name, node))
		return
	}
	params := with(base, "msPod", m.Name)
	for _, cs := range m.Status.ContainerStatuses {
		if t := cs.LastTerminationState.Terminated; t != nil && t.Reason == "OOMKilled" {
			state := "not Ready"
			if w := cs.State.Waiting; w != nil && w.Reason != "" {
				state = w.Reason
			}
			r.problem(g, "metadataServer", diagnose.NewVariant(diagnose.CodeWIMetadataServerPod, "oom", where(g),
				with(params, "state", state, "restarts", cs.RestartCount, "count", r.serviceAccounts(ctx))))
			return
		}
	}
	r.problem(g, "metadataServer", diagnose.NewVariant(diagnose.CodeWIMetadataServerPod, "not-ready", where(g), with(params, "why", notReadyWhy(m))))
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func notReadyWhy(p *corev1.Pod) string {
	var why []string
	for _, cs := range p.Status.ContainerStatuses {
		switch {
		case cs.State.Waiting != nil:
			why = append(why, fmt.Sprintf("%s: %s", cs.Name, cs.State.Waiting.Reason))
		case cs.State.Terminated != nil:
			why = append(why, fmt.Sprintf("%s: terminated, %s", cs.Name, cs.State.Terminated.Reason))
		}
	}
	if len(why) == 0 {
		return "phase " + string(p.Status.Phase)
	}
	return strings.Join(why, "; ")
}

// serviceAccounts counts the cluster's service accounts in pages, metadata only: on
// the clusters this matters for there are thousands.
func (r *run) serviceAccounts(ctx context.Context) string {
	if r.saCount != nil {
		return *r.saCount
	}
	n := 0
	var err error
	if r.Metadata != nil {
		res := corev1.SchemeGroupVersion.WithResource("serviceaccounts")
		err = sources.EachPage(ctx, metav1.ListOptions{}, func(ctx context.Context, o metav1.ListOptions) ([]metav1.PartialObjectMetadata, string, error) {
			l, err := r.Metadata.Resource(res).List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			return l.Items, l.Continue, nil
		}, func(items []metav1.PartialObjectMetadata) { n += len(items) })
	} else {
		err = sources.EachPage(ctx, metav1.ListOptions{}, func(ctx context.Context, o metav1.ListOptions) ([]corev1.ServiceAccount, string, error) {
			l, err := r.Client.CoreV1().ServiceAccounts("").List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			return l.Items, l.Continue, nil
		}, func(items []corev1.ServiceAccount) { n += len(items) })
	}
	s := fmt.Sprintf("%d Kubernetes service accounts", n)
	switch {
	case err != nil:
		r.denied(err, "list", "serviceaccounts", "", "")
		s = "an unknown number of Kubernetes service accounts (they could not be listed: " + diagnose.OneLine(err.Error()) + ")"
	case n > saLimit:
		s += fmt.Sprintf(", more than the %d it can hold", saLimit)
	}
	r.saCount = &s
	return s
}
