package nodes

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Labels on every debug pod: cleanup finds leftovers by ManagedByLabel alone.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "kubectl-certdoctor"
	RunIDLabel     = "certdoctor.dev/run-id"
	NodeLabel      = "certdoctor.dev/node"
)

// PodConfig is what every debug pod of one run shares.
type PodConfig struct {
	Namespace       string
	Image           string
	ImagePullSecret string
	RunID           string
	// Deadline is activeDeadlineSeconds: the kubelet kills a pod that runs longer.
	DeadlineSeconds int64
}

var unsafeName = regexp.MustCompile(`[^a-z0-9-]+`)

// BuildPod is the debug pod for node with preset: pinned to the node, tolerating every
// taint (NoExecute without tolerationSeconds, so it is not evicted), never restarted,
// no service account token, no privileges, root filesystem read-only, every
// capability dropped, and each certificate directory mounted read-only at its own
// path (so absolute symlinks such as kubelet-client-current.pem resolve).
func BuildPod(cfg PodConfig, node string, preset Preset, suffix string) *corev1.Pod {
	name := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(node), "-"), "-")
	if len(name) > 40 {
		name = name[:40]
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("certdoctor-%s-%s", name, suffix),
			Namespace: cfg.Namespace,
			Labels:    map[string]string{ManagedByLabel: ManagedByValue, RunIDLabel: cfg.RunID, NodeLabel: labelValue(node)},
		},
		Spec: corev1.PodSpec{
			NodeName:                      node,
			RestartPolicy:                 corev1.RestartPolicyNever,
			ActiveDeadlineSeconds:         ptr.To(cfg.DeadlineSeconds),
			AutomountServiceAccountToken:  ptr.To(false),
			EnableServiceLinks:            ptr.To(false),
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers: []corev1.Container{{
				Name:            "certdoctor",
				Image:           cfg.Image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         append([]string{"sh", "-c", Script, "certdoctor", ""}, preset.Dirs...),
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					ReadOnlyRootFilesystem:   ptr.To(true),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
	if cfg.ImagePullSecret != "" {
		pod.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: cfg.ImagePullSecret}}
	}
	for i, dir := range preset.Dirs {
		vol := fmt.Sprintf("certs-%d", i)
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{
			HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: ptr.To(corev1.HostPathDirectory)}}})
		pod.Spec.Containers[0].VolumeMounts = append(pod.Spec.Containers[0].VolumeMounts,
			corev1.VolumeMount{Name: vol, MountPath: dir, ReadOnly: true})
	}
	return pod
}

// labelValue makes s a valid label value (node names can exceed 63 characters).
func labelValue(s string) string {
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.Trim(s, "-_.")
}
