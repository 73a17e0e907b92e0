package nodes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// Options select nodes and shape the debug pods (the node flags of a command).
type Options struct {
	Nodes           []string
	Selector        string
	AllNodes        bool
	Image           string
	ImagePullSecret string
	Namespace       string
	Distro          string
	Timeout         time.Duration
	// Layout overrides the kubeadm directories on the nodes (a custom certificatesDir).
	Layout KubeadmDirs
}

// KubeadmDirs are kubeadm's certificate directories on a node; empty fields keep the defaults.
type KubeadmDirs struct {
	PKIDir, KubeconfigDir, KubeletPKIDir string
}

// DefaultOptions are the flag defaults.
func DefaultOptions() Options {
	return Options{Image: "busybox", Namespace: "kube-system", Distro: "auto", Timeout: 120 * time.Second}
}

// Result is one node's outcome.
type Result struct {
	Node    *corev1.Node
	Preset  Preset
	Files   *Files
	Err     error
	Elapsed time.Duration
}

// Runner runs the debug pods of one command.
type Runner struct {
	Client   kubernetes.Interface
	Opts     Options
	Progress io.Writer // nil: quiet
	// newSuffix names pods; tests make it deterministic.
	newSuffix func() string
}

// ErrBlocked is a reason no debug pod can run at all (RBAC, Pod Security).
var ErrBlocked = errors.New("node checks cannot run")

// SelectNodes returns the nodes to check: --nodes, else -l, else control-plane nodes
// (plus every node with --all-nodes).
func (r *Runner) SelectNodes(ctx context.Context) ([]corev1.Node, error) {
	nodes := r.Client.CoreV1().Nodes()
	if len(r.Opts.Nodes) > 0 {
		var out []corev1.Node
		for _, name := range r.Opts.Nodes {
			n, err := nodes.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("node %q: %w", name, err)
			}
			out = append(out, *n)
		}
		return out, nil
	}
	selectors := []string{"node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"}
	if r.Opts.Selector != "" {
		selectors = []string{r.Opts.Selector}
	}
	if r.Opts.AllNodes {
		selectors = []string{""}
	}
	seen := map[string]bool{}
	var out []corev1.Node
	for _, sel := range selectors {
		l, err := nodes.List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return nil, err
		}
		for _, n := range l.Items {
			if !seen[n.Name] {
				seen[n.Name] = true
				out = append(out, n)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Preflight refuses before creating anything when pods cannot run: a namespace whose
// Pod Security level forbids hostPath, or RBAC that denies creating, reading the logs
// of, or deleting pods there.
func (r *Runner) Preflight(ctx context.Context) error {
	ns := r.Opts.Namespace
	n, err := r.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%w: namespace %q does not exist (set --debug-namespace)", ErrBlocked, ns)
	case err == nil:
		if lvl := n.Labels["pod-security.kubernetes.io/enforce"]; lvl == "baseline" || lvl == "restricted" {
			return fmt.Errorf("%w: namespace %q enforces Pod Security %q, which forbids the read-only hostPath volumes the debug pods need; "+
				"use --debug-namespace with a namespace labelled pod-security.kubernetes.io/enforce=privileged", ErrBlocked, ns, lvl)
		}
	}
	for _, a := range []authorizationv1.ResourceAttributes{
		{Namespace: ns, Verb: "create", Resource: "pods"},
		{Namespace: ns, Verb: "get", Resource: "pods", Subresource: "log"},
		{Namespace: ns, Verb: "delete", Resource: "pods"},
	} {
		rev, err := r.Client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx,
			&authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &a}}, metav1.CreateOptions{})
		if err != nil || rev.Status.Allowed {
			continue // cannot ask: let the real request say
		}
		res := a.Resource
		if a.Subresource != "" {
			res += "/" + a.Subresource
		}
		return fmt.Errorf("%w: you may not %s %s in namespace %q (RBAC), which the node checks need; "+
			"use --debug-namespace, ask for the permission, or use --skip-nodes", ErrBlocked, a.Verb, res, ns)
	}
	return nil
}

// Run creates one pod per node in parallel, waits for each, reads its output and
// deletes every pod it created, whatever happens, including cancellation of ctx.
func (r *Runner) Run(ctx context.Context, nodes []corev1.Node) []Result {
	cfg := PodConfig{Namespace: r.Opts.Namespace, Image: r.Opts.Image, ImagePullSecret: r.Opts.ImagePullSecret,
		RunID: r.suffix() + r.suffix(), DeadlineSeconds: int64(r.Opts.Timeout / time.Second)}
	results := make([]Result, len(nodes))
	var created sync.Map // pod name -> struct{}
	defer r.cleanup(cfg, &created)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i] = r.runOne(ctx, cfg, &nodes[i], &created)
		}(i)
	}
	wg.Wait()
	return results
}

func (r *Runner) runOne(ctx context.Context, cfg PodConfig, n *corev1.Node, created *sync.Map) Result {
	start := time.Now()
	res := Result{Node: n}
	defer func() { res.Elapsed = time.Since(start) }()
	if !nodeReady(n) {
		res.Err = fmt.Errorf("node %s is NotReady: its kubelet cannot run the debug pod (check it with kubectl describe node %s, or run certdoctor expiry --local on it)", n.Name, n.Name)
		return res
	}
	preset, err := ResolvePreset(r.Opts.Distro, n)
	if err != nil {
		res.Err = err
		return res
	}
	preset = preset.WithDirs(r.Opts.Layout)
	res.Preset = preset
	pod, err := r.Client.CoreV1().Pods(cfg.Namespace).Create(ctx, BuildPod(cfg, n.Name, preset, r.suffix()), metav1.CreateOptions{})
	if err != nil {
		res.Err = createError(cfg.Namespace, err)
		return res
	}
	created.Store(pod.Name, struct{}{})
	out, err := r.wait(ctx, pod, start)
	if err != nil {
		res.Err = fmt.Errorf("node %s: %w", n.Name, err)
		return res
	}
	res.Files, res.Err = Parse(out)
	if res.Err == nil && !res.Files.Complete() {
		res.Err = fmt.Errorf("node %s: the debug pod's output ended early", n.Name)
	}
	return res
}

// wait follows the pod with a watch until it ends and returns its log. A watch reacts
// the moment the kubelet reports the end, where polling would add up to its interval.
func (r *Runner) wait(ctx context.Context, pod *corev1.Pod, start time.Time) (string, error) {
	pods := r.Client.CoreV1().Pods(pod.Namespace)
	ctx, cancel := context.WithTimeout(ctx, r.Opts.Timeout+30*time.Second)
	defer cancel()
	last, rv := "", pod.ResourceVersion
	for {
		w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", pod.Name).String(), ResourceVersion: rv})
		if err != nil {
			return "", r.waitErr(ctx, pod, err)
		}
		if out, done, err := r.follow(ctx, w, pod, start, &last, &rv); done || err != nil {
			w.Stop()
			return out, err
		}
		w.Stop()
		if ctx.Err() != nil {
			return "", r.waitErr(ctx, pod, ctx.Err())
		}
		// The watch ended (server timeout, compaction): read the pod afresh and go on.
		p, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return "", r.waitErr(ctx, pod, err)
		}
		if out, done, err := r.settle(ctx, p); done || err != nil {
			return out, err
		}
		rv = p.ResourceVersion
	}
}

// follow reads one watch until it closes, the pod ends, or ctx is done (a watch does not
// always close by itself when its context ends).
func (r *Runner) follow(ctx context.Context, w watch.Interface, pod *corev1.Pod, start time.Time, last, rv *string) (string, bool, error) {
	for {
		select {
		case <-ctx.Done():
			return "", true, r.waitErr(ctx, pod, ctx.Err())
		case ev, open := <-w.ResultChan():
			if !open {
				return "", false, nil
			}
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue // a watch error or bookmark: the caller re-reads the pod
			}
			*rv = p.ResourceVersion
			if phase := string(p.Status.Phase); phase != *last {
				*last = phase
				r.progress("node %s: pod %s %s (%.1fs)", pod.Spec.NodeName, p.Name, phase, time.Since(start).Seconds())
			}
			if out, done, err := r.settle(ctx, p); done || err != nil {
				return out, true, err
			}
		}
	}
}

// settle says whether the pod has ended, with its log when it succeeded. A container
// that exited 0 is success even while the phase still says Running: the kubelet reports
// the pod's phase a second after the container's state, a second each node check waited.
// A failure waits for the phase, which names a deadline as such.
func (r *Runner) settle(ctx context.Context, p *corev1.Pod) (string, bool, error) {
	if p.Status.Phase == corev1.PodSucceeded || exitedZero(p) {
		b, err := r.Client.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: "certdoctor"}).DoRaw(ctx)
		return string(b), true, err
	}
	switch p.Status.Phase {
	case corev1.PodFailed:
		return "", true, podFailure(p)
	case corev1.PodPending:
		return "", false, r.stuck(ctx, p)
	}
	return "", false, nil
}

func exitedZero(p *corev1.Pod) bool {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == "certdoctor" && cs.State.Terminated != nil {
			return cs.State.Terminated.ExitCode == 0
		}
	}
	return false
}

// waitErr names why waiting stopped: Ctrl-C, the overall deadline, or the API.
func (r *Runner) waitErr(ctx context.Context, pod *corev1.Pod, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("the debug pod %s/%s did not finish within %s", pod.Namespace, pod.Name, r.Opts.Timeout)
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	return err
}

// stuck names a pending pod's failure that will not heal: an image that cannot be
// pulled, a certificate directory missing on the node.
func (r *Runner) stuck(ctx context.Context, p *corev1.Pod) error {
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			switch w.Reason {
			case "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull":
				return fmt.Errorf("image %q cannot be pulled (%s: %s); on an air-gapped cluster use --image with a mirror and --image-pull-secret", r.Opts.Image, w.Reason, w.Message)
			case "CreateContainerConfigError", "CreateContainerError":
				return fmt.Errorf("the container cannot start (%s: %s)", w.Reason, w.Message)
			}
		}
	}
	evs, err := r.Client.CoreV1().Events(p.Namespace).List(ctx, metav1.ListOptions{
		FieldSelector: fields.AndSelectors(fields.OneTermEqualSelector("involvedObject.name", p.Name), fields.OneTermEqualSelector("reason", "FailedMount")).String()})
	if err == nil && len(evs.Items) > 0 {
		return fmt.Errorf("a certificate directory cannot be mounted (%s); the node does not have this layout: set --distro", evs.Items[0].Message)
	}
	return nil
}

func podFailure(p *corev1.Pod) error {
	if p.Status.Reason == "DeadlineExceeded" {
		return fmt.Errorf("the debug pod timed out (activeDeadlineSeconds %d); raise --pod-timeout", ptr.Deref(p.Spec.ActiveDeadlineSeconds, 0))
	}
	for _, cs := range p.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil {
			return fmt.Errorf("the debug pod failed: %s (exit %d) %s", t.Reason, t.ExitCode, strings.TrimSpace(t.Message))
		}
	}
	return fmt.Errorf("the debug pod failed: %s %s", p.Status.Reason, p.Status.Message)
}

func createError(ns string, err error) error {
	switch {
	case apierrors.IsForbidden(err) && strings.Contains(err.Error(), "PodSecurity"):
		return fmt.Errorf("%w: Pod Security admission in namespace %q rejected the debug pod (it needs read-only hostPath volumes): %v; use --debug-namespace with a privileged namespace", ErrBlocked, ns, err)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%w: you may not create pods in namespace %q: %v", ErrBlocked, ns, err)
	}
	return err
}

// cleanup deletes every pod this run created, with its own context: it must also run
// after ctx was cancelled by Ctrl-C.
func (r *Runner) cleanup(cfg PodConfig, created *sync.Map) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pods := r.Client.CoreV1().Pods(cfg.Namespace)
	created.Range(func(k, _ any) bool {
		err := pods.Delete(ctx, k.(string), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			r.progress("could not delete debug pod %s/%s: %v (run kubectl certdoctor cleanup)", cfg.Namespace, k, err)
		}
		return true
	})
}

func (r *Runner) progress(format string, args ...any) {
	if r.Progress != nil {
		fmt.Fprintf(r.Progress, "certdoctor: "+format+"\n", args...)
	}
}

func (r *Runner) suffix() string {
	if r.newSuffix != nil {
		return r.newSuffix()
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:5]
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
