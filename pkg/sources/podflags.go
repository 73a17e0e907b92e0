package sources

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ContainerFlags reads --name=value flags from a pod's first container command and args.
func ContainerFlags(p *corev1.Pod) map[string]string {
	flags := map[string]string{}
	if len(p.Spec.Containers) == 0 {
		return flags
	}
	c := p.Spec.Containers[0]
	for _, a := range append(append([]string(nil), c.Command...), c.Args...) {
		if k, v, ok := strings.Cut(strings.TrimPrefix(a, "--"), "="); ok && strings.HasPrefix(a, "--") {
			flags[k] = v
		}
	}
	return flags
}

// ContainerFlagValues are every value of a repeatable --name flag, in order (the first
// --service-account-issuer is the one tokens are issued with).
func ContainerFlagValues(p *corev1.Pod, name string) []string {
	if len(p.Spec.Containers) == 0 {
		return nil
	}
	var out []string
	c := p.Spec.Containers[0]
	for _, a := range append(append([]string(nil), c.Command...), c.Args...) {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			out = append(out, v)
		}
	}
	return out
}
