// Package workloadidentity checks Workload Identity Federation for GKE from inside the
// cluster (seed 003), per Kubernetes service account and per pod that uses one: the
// annotation naming the Google service account, the node pool's metadata server and
// its pod on the node, host networking, NetworkPolicies and Istio in the way, and the
// environment Google's libraries read. What only Google Cloud can show (IAM bindings,
// the workload pool, APIs) becomes a procedure of gcloud commands.
package workloadidentity

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// Source is the findings' source.
const Source = "workload-identity"

// Checker runs the checks.
type Checker struct {
	Client kubernetes.Interface
	// Metadata counts service accounts without their bodies; nil lists them whole.
	Metadata metadata.Interface
	// KubeconfigCluster is the kubeconfig's cluster name, which gcloud writes as
	// gke_PROJECT_LOCATION_CLUSTER: it fills in the gcloud commands.
	KubeconfigCluster string
}

// Selection is what to check: one service account or pod by name, or (both empty)
// every annotated service account of Namespace ("" for all namespaces).
type Selection struct {
	Namespace, ServiceAccount, Pod string
}

// Result is what the checks found.
type Result struct {
	Checks   []result.Check
	Findings []result.Finding
	Notes    []string
	Plan     *result.Plan
	// NotGKE is true when nothing in the cluster is GKE's (Notes say so): nothing was checked.
	NotGKE bool
	// Unreached is the error of the first request when the API server could not be
	// asked at all (Findings name it): a report of its own says so, the check-up has
	// said it already.
	Unreached error
}

// run is one Run's state: what was read once and is shared by the targets.
type run struct {
	*Checker
	res     Result
	cluster cluster
	seen    map[string]bool // findings already reported (denied reads)
	nodes   map[string]*corev1.Node
	nodeErr map[string]error
	ms      *metadataServers
	netpols map[string][]networkingv1.NetworkPolicy
	netErr  map[string]error
	istio   map[string]*istioConfig
	saCount *string
	// pairs are the annotated service accounts, for the IAM steps of the plan.
	pairs []binding
	pools map[string]bool
}

type binding struct {
	namespace, ksa string
	gsa            GSA
}

// Run checks the selection. An explicitly named service account or pod that does not
// exist is an error; a read RBAC denies is a finding and the rest still runs.
func (c *Checker) Run(ctx context.Context, sel Selection) (*Result, error) {
	r := &run{Checker: c, seen: map[string]bool{}, nodes: map[string]*corev1.Node{}, nodeErr: map[string]error{},
		netpols: map[string][]networkingv1.NetworkPolicy{}, netErr: map[string]error{}, istio: map[string]*istioConfig{}, pools: map[string]bool{}}
	r.cluster.hint = parseKubeconfigCluster(c.KubeconfigCluster)
	if err := r.detect(ctx); err != nil {
		r.res.Findings = append(r.res.Findings, diagnose.FromAPIError(Source, "the API server", err))
		r.res.Unreached = err
		if h := r.cluster.hint; diagnose.IsConnectError(err) && zonal(h.location) {
			r.note("the kubeconfig names a zonal GKE cluster (%s in %s): its control plane is unavailable during upgrades, IP rotation and resizes, and meanwhile the GKE metadata server answers Workload Identity token requests with HTTP 500 (its log: dial tcp ...:443: connect: connection refused); a regional cluster keeps its control plane available", h.name, h.location)
		}
		return &r.res, nil
	}
	if len(r.cluster.markers) == 0 {
		if len(r.cluster.unknown) == 0 {
			r.res.NotGKE = true
			r.note("this is not a GKE cluster (no node has the labels %s or %s, there is no DaemonSet kube-system/%s, and the server version %s is not GKE's): Workload Identity Federation for GKE does not apply",
				LabelMetadataServer, LabelNodePool, MetadataServerName, r.cluster.version)
			return &r.res, nil
		}
		r.note("could not tell whether this is a GKE cluster: %s could not be read", strings.Join(r.cluster.unknown, ", "))
		return &r.res, nil
	}
	if err := r.selectTargets(ctx, sel); err != nil {
		return nil, err
	}
	r.finish()
	return &r.res, nil
}

func (r *run) note(format string, args ...any) {
	r.res.Notes = append(r.res.Notes, fmt.Sprintf(format, args...))
}

// denied reports a read RBAC refused, once per resource and namespace; other errors
// are the caller's.
func (r *run) denied(err error, verb, resource, group, namespace string) bool {
	if !apierrors.IsForbidden(err) {
		return false
	}
	key := verb + "/" + resource + "/" + namespace
	if !r.seen[key] {
		r.seen[key] = true
		r.res.Findings = append(r.res.Findings, diagnose.PermissionDenied(Source, verb, resource, group, namespace, err))
	}
	return true
}

// readFailed is the check of a read that failed: a warning, never a pass.
func (r *run) readFailed(group, name, what string, err error) {
	r.check(group, name, result.Warning, "not checked: "+what+" could not be read: "+diagnose.OneLine(err.Error()))
	if !apierrors.IsForbidden(err) {
		r.res.Findings = append(r.res.Findings, diagnose.FromAPIError(Source, group, err))
	}
}

func (r *run) check(group, name string, sev result.Severity, detail string) {
	r.res.Checks = append(r.res.Checks, result.Check{Group: group, Name: name, Severity: sev, Detail: detail})
}

// problem is a failed check and its finding.
func (r *run) problem(group, name string, f result.Finding) {
	r.check(group, name, f.Severity, f.Message)
	r.res.Findings = append(r.res.Findings, f)
}

func where(subject string) diagnose.Where { return diagnose.Where{Source: Source, Subject: subject} }

// target is a service account and the pods that use it.
type target struct {
	sa       *corev1.ServiceAccount
	explicit bool
	pods     []*corev1.Pod
}

// selectTargets finds the service accounts and pods to check, then checks them.
func (r *run) selectTargets(ctx context.Context, sel Selection) error {
	var targets []*target
	switch {
	case sel.Pod != "":
		p, err := r.Client.CoreV1().Pods(sel.Namespace).Get(ctx, sel.Pod, metav1.GetOptions{})
		if err != nil {
			return notFound(err, "pod", sel.Namespace, sel.Pod)
		}
		sa, err := r.Client.CoreV1().ServiceAccounts(p.Namespace).Get(ctx, saName(p), metav1.GetOptions{})
		if err != nil && !apierrors.IsForbidden(err) {
			return notFound(err, "serviceaccount", p.Namespace, saName(p))
		}
		if err != nil {
			r.denied(err, "get", "serviceaccounts", "", p.Namespace)
			sa = &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: saName(p)}}
		}
		targets = []*target{{sa: sa, explicit: true, pods: []*corev1.Pod{p}}}
	case sel.ServiceAccount != "":
		sa, err := r.Client.CoreV1().ServiceAccounts(sel.Namespace).Get(ctx, sel.ServiceAccount, metav1.GetOptions{})
		if err != nil {
			return notFound(err, "serviceaccount", sel.Namespace, sel.ServiceAccount)
		}
		targets = []*target{{sa: sa, explicit: true}}
		r.podsOf(ctx, sel.Namespace, targets)
	default:
		l, err := r.Client.CoreV1().ServiceAccounts(sel.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			if !r.denied(err, "list", "serviceaccounts", "", sel.Namespace) {
				return fmt.Errorf("cannot list service accounts: %w", err)
			}
			return nil
		}
		for i := range l.Items {
			if wantsIdentity(&l.Items[i]) {
				targets = append(targets, &target{sa: &l.Items[i]})
			}
		}
		if len(targets) == 0 {
			where := "namespace " + sel.Namespace
			if sel.Namespace == "" {
				where = "any namespace"
			}
			r.note("no service account in %s has the annotation %s: name one (kubectl certdoctor workload-identity KSA_NAME -n NAMESPACE) or a pod (pod/NAME) to check it", where, Annotation)
			return nil
		}
		r.podsOf(ctx, sel.Namespace, targets)
	}
	for _, t := range targets {
		r.checkTarget(ctx, t)
	}
	return nil
}

func notFound(err error, kind, ns, name string) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s %s/%s not found", kind, ns, name)
	}
	return fmt.Errorf("cannot read %s %s/%s: %w", kind, ns, name, err)
}

func saName(p *corev1.Pod) string {
	if p.Spec.ServiceAccountName == "" {
		return "default"
	}
	return p.Spec.ServiceAccountName
}

// wantsIdentity: the service account carries the annotation, or one GKE would not read
// that looks meant as it (a misspelt key).
func wantsIdentity(sa *corev1.ServiceAccount) bool {
	_, ok := sa.Annotations[Annotation]
	return ok || misspeltKey(sa) != ""
}

// misspeltKey is an annotation key that is close to GKE's but not it.
func misspeltKey(sa *corev1.ServiceAccount) string {
	keys := make([]string, 0, len(sa.Annotations))
	for k := range sa.Annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		l := strings.ToLower(strings.TrimSpace(k))
		if k != Annotation && (l == Annotation || strings.HasPrefix(l, "iam.gke.io/") && strings.Contains(l, "service") ||
			strings.HasSuffix(l, "gcp-service-account")) {
			return k
		}
	}
	return ""
}

// podsOf lists the namespace's pods once and hands each target the running ones that
// use its service account.
func (r *run) podsOf(ctx context.Context, ns string, targets []*target) {
	l, err := r.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		for _, t := range targets {
			r.readFailed(saGroup(t.sa), "pods", "the pods", err)
		}
		r.denied(err, "list", "pods", "", ns)
		return
	}
	by := map[string]*target{}
	for _, t := range targets {
		by[t.sa.Namespace+"/"+t.sa.Name] = t
	}
	for i := range l.Items {
		p := &l.Items[i]
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if t := by[p.Namespace+"/"+saName(p)]; t != nil {
			t.pods = append(t.pods, p)
		}
	}
}

func saGroup(sa *corev1.ServiceAccount) string {
	return "serviceaccount " + sa.Namespace + "/" + sa.Name
}
func podGroup(p *corev1.Pod) string { return "pod " + p.Namespace + "/" + p.Name }

// checkTarget checks the service account's annotation, then each pod.
func (r *run) checkTarget(ctx context.Context, t *target) {
	gsa, ok := r.annotation(t)
	names := make([]string, 0, len(t.pods))
	for _, p := range t.pods {
		names = append(names, p.Name)
	}
	if len(t.pods) == 0 {
		r.check(saGroup(t.sa), "pods", result.OK, "no running pod uses it")
	} else {
		r.check(saGroup(t.sa), "pods", result.OK, fmt.Sprintf("used by %d: %s", len(names), strings.Join(names, ", ")))
	}
	if ok {
		r.pairs = append(r.pairs, binding{t.sa.Namespace, t.sa.Name, gsa})
	}
	display := gsa.Email
	if display == "" {
		display = "a Google service account"
	}
	for _, p := range t.pods {
		r.checkPod(ctx, p, display)
	}
}

// annotation checks iam.gke.io/gcp-service-account: present (when the service account
// was named or a misspelt key shows intent), and a service account e-mail.
func (r *run) annotation(t *target) (GSA, bool) {
	g := saGroup(t.sa)
	p := diagnose.Params{"namespace": t.sa.Namespace, "name": t.sa.Name}
	v, has := t.sa.Annotations[Annotation]
	if key := misspeltKey(t.sa); key != "" && !has {
		p["key"], p["value"] = key, t.sa.Annotations[key]
		r.problem(g, "annotation", diagnose.NewVariant(diagnose.CodeWIAnnotation, "key", where(g), p))
		return GSA{}, false
	}
	if !has {
		pods := make([]string, 0, len(t.pods))
		for _, pod := range t.pods {
			pods = append(pods, "pod "+pod.Name)
		}
		p["pods"] = strings.Join(pods, ", ")
		r.problem(g, "annotation", diagnose.NewVariant(diagnose.CodeWIAnnotation, "missing", where(g), p))
		return GSA{}, false
	}
	gsa, why, suggest := ParseGSA(v)
	if why != "" {
		p["value"], p["why"], p["suggest"] = v, why, suggest
		r.problem(g, "annotation", diagnose.NewVariant(diagnose.CodeWIAnnotation, "malformed", where(g), p))
		return GSA{}, false
	}
	r.check(g, "annotation", result.OK, Annotation+"="+gsa.Email)
	return gsa, true
}
