package nodes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
)

// waitSlack is how long past --pod-timeout certdoctor still waits for a debug pod: its
// scheduling and start, which the pod's own deadline does not count.
const waitSlack = 10 * time.Second

// wait follows the pod with a watch until it ends and returns its log. A watch reacts
// the moment the kubelet reports the end, where polling would add up to its interval.
func (r *Runner) wait(ctx context.Context, pod *corev1.Pod, start time.Time) (string, error) {
	pods := r.Client.CoreV1().Pods(pod.Namespace)
	// The pod's activeDeadlineSeconds is --pod-timeout; the kubelet enforces it only at its
	// next sync, up to ~20 s later: certdoctor stops waiting soon after the deadline itself.
	ctx, cancel := context.WithTimeout(ctx, r.Opts.Timeout+waitSlack)
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
