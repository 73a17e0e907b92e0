//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The harness itself: the image the plugin's debug pods use by default ("busybox",
// IfNotPresent) runs from the imported copy, and any other image fails at once at the
// closed loopback "registry" (the pull guard: nothing is ever pulled from off this machine).
func TestHarnessImages(t *testing.T) {
	ns := newNamespace(t)
	grace := int64(1)
	pod := func(name, image string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels(t)},
			Spec: corev1.PodSpec{
				RestartPolicy:                 corev1.RestartPolicyNever,
				TerminationGracePeriodSeconds: &grace,
				Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
				Containers: []corev1.Container{{Name: "c", Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
					Command:      []string{"sh", "-c", "head -c 27 /pki/ca.crt"},
					VolumeMounts: []corev1.VolumeMount{{Name: "pki", MountPath: "/pki", ReadOnly: true}}}},
				Volumes: []corev1.Volume{{Name: "pki", VolumeSource: corev1.VolumeSource{
					HostPath: &corev1.HostPathVolumeSource{Path: pkiDir}}}},
			},
		}
	}
	for _, p := range []*corev1.Pod{pod("busybox", "busybox"), pod("unreachable", "registry.e2e.invalid/none:1")} {
		if _, err := client.CoreV1().Pods(ns).Create(ctxT(t), p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod %s: %v", p.Name, err)
		}
	}
	ctx := ctxT(t)
	waitPod := func(name string, done func(*corev1.Pod) (bool, string)) {
		deadline := time.Now().Add(90 * time.Second)
		last := ""
		for time.Now().Before(deadline) {
			p, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err == nil {
				ok, state := done(p)
				if ok {
					return
				}
				last = state
			}
			time.Sleep(300 * time.Millisecond)
		}
		t.Fatalf("pod %s: timed out, last state %s", name, last)
	}
	waitPod("busybox", func(p *corev1.Pod) (bool, string) {
		return p.Status.Phase == corev1.PodSucceeded, fmt.Sprintf("%s %+v", p.Status.Phase, p.Status.ContainerStatuses)
	})
	logs, err := client.CoreV1().Pods(ns).GetLogs("busybox", &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil || !strings.Contains(string(logs), "-----BEGIN CERTIFICATE-----") {
		t.Errorf("busybox pod logs: %q, %v", logs, err)
	}
	waitPod("unreachable", func(p *corev1.Pod) (bool, string) {
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff") {
				if !strings.Contains(w.Message, "127.0.0.1:9") {
					t.Errorf("image pull was not sent to the closed loopback port: %s", w.Message)
				}
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", p.Status.ContainerStatuses)
	})
}
