package nodes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
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
	// Parallel is how many debug pods may run at once.
	Parallel int
	// Layout overrides the kubeadm directories on the nodes (a custom certificatesDir).
	Layout KubeadmDirs
	// Undeleted collects the pods no run could delete; shared by the runs of a command,
	// so that its report (or its interrupted note) can name them. Nil: not collected.
	Undeleted *Undeleted
}

// Undeleted are debug pods that could not be deleted ("namespace/name").
type Undeleted struct {
	mu   sync.Mutex
	pods []string
}

func (l *Undeleted) add(pod string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pods = append(l.pods, pod)
}

// List returns the pods left behind so far.
func (l *Undeleted) List() []string {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.pods...)
}

// KubeadmDirs are kubeadm's certificate directories on a node; empty fields keep the defaults.
type KubeadmDirs struct {
	PKIDir, KubeconfigDir, KubeletPKIDir string
}

// DefaultOptions are the flag defaults.
func DefaultOptions() Options {
	return Options{Image: "busybox", Namespace: "kube-system", Distro: "auto", Timeout: 120 * time.Second, Parallel: 10, Undeleted: &Undeleted{}}
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
	// deleteTimeout overrides cleanupTimeout (tests).
	deleteTimeout time.Duration
}

// ErrBlocked is a reason no debug pod can run at all (RBAC, Pod Security).
var ErrBlocked = errors.New("node checks cannot run")

// Run creates one pod per node, Opts.Parallel at a time, waits for each, reads its output and
// deletes every pod it created, whatever happens, including cancellation of ctx.
func (r *Runner) Run(ctx context.Context, nodes []corev1.Node) []Result {
	cfg := PodConfig{Namespace: r.Opts.Namespace, Image: r.Opts.Image, ImagePullSecret: r.Opts.ImagePullSecret,
		RunID: r.suffix() + r.suffix(), DeadlineSeconds: int64(r.Opts.Timeout / time.Second)}
	results := make([]Result, len(nodes))
	var created sync.Map // pod name -> struct{}
	defer r.cleanup(cfg, &created)
	// At most Opts.Parallel pods (and their watches and log streams) at once: --all-nodes
	// on a thousand nodes must not create a thousand pods in one go.
	var g errgroup.Group
	g.SetLimit(max(r.Opts.Parallel, 1))
	for i := range nodes {
		g.Go(func() error {
			if ctx.Err() != nil {
				results[i] = Result{Node: &nodes[i], Err: fmt.Errorf("interrupted: %w", ctx.Err())}
				return nil
			}
			results[i] = r.runOne(ctx, cfg, &nodes[i], &created)
			return nil
		})
	}
	_ = g.Wait()
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
	want := BuildPod(cfg, n.Name, preset, r.suffix())
	// Recorded before the request: a create interrupted in flight may still have made
	// the pod, and cleanup must delete it (a pod that was never made is NotFound).
	created.Store(want.Name, struct{}{})
	pod, err := r.Client.CoreV1().Pods(cfg.Namespace).Create(ctx, want, metav1.CreateOptions{})
	if err != nil {
		res.Err = createError(cfg.Namespace, err)
		return res
	}
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
// after ctx was cancelled by Ctrl-C. An API server that stopped answering (restarting,
// or the connection dropped) is retried for up to cleanupTimeout; a pod still not deleted
// is recorded in Opts.Undeleted, for the report to name with kubectl certdoctor cleanup.
func (r *Runner) cleanup(cfg PodConfig, created *sync.Map) {
	ctx, cancel := context.WithTimeout(context.Background(), r.cleanupTimeout())
	defer cancel()
	pods := r.Client.CoreV1().Pods(cfg.Namespace)
	created.Range(func(k, _ any) bool {
		name := k.(string)
		var err error
		for {
			err = pods.Delete(ctx, name, metav1.DeleteOptions{})
			if err == nil || apierrors.IsNotFound(err) || !retriableDelete(err) || ctx.Err() != nil {
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
		if err != nil && !apierrors.IsNotFound(err) {
			r.Opts.Undeleted.add(cfg.Namespace + "/" + name)
			r.progress("could not delete debug pod %s/%s: %v (run kubectl certdoctor cleanup)", cfg.Namespace, name, err)
		}
		return true
	})
}

// cleanupTimeout bounds the deletes after a run; tests shorten it.
func (r *Runner) cleanupTimeout() time.Duration {
	if r.deleteTimeout > 0 {
		return r.deleteTimeout
	}
	return 30 * time.Second
}

// retriableDelete is a failure that may pass: the server unreachable or overloaded, not
// a refusal (RBAC), which retrying would not change.
func retriableDelete(err error) bool {
	if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) || apierrors.IsBadRequest(err) || apierrors.IsInvalid(err) {
		return false
	}
	return true
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
