//go:build e2e

// Pods running the e2e harness with a product's containers, and Services
// (products_shapes_test.go).
package e2e

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
)

// ---------------------------------------------------------------------------------------
// Pods

// harness steers the e2e.local/webhook server in one container (hack/e2e/webhook/main.go).
type harness struct {
	TLS, HTTP  []string // listen addresses
	Cert, Key  string   // PEM files; "" = /certs/tls.crt, /certs/tls.key
	SelfSigned []string // hosts of an in-memory self-signed certificate (no files)
	APIGroups  []string // group/version served as aggregated APIs
	TLS13      bool     // refuse TLS 1.2
	Fail       []string // health paths answering 500
}

// from reads the key pair from dir, under the data keys of layout l.
func (h harness) from(dir string, l layout) harness {
	h.Cert, h.Key = dir+"/"+l.cert, dir+"/"+l.key
	return h
}

// in returns c running the harness: its image and E2E_* environment after c's own.
func (h harness) in(c corev1.Container) corev1.Container {
	c.Image, c.ImagePullPolicy = harnessImage, corev1.PullIfNotPresent
	c.Env = append(c.Env, corev1.EnvVar{Name: "E2E_TLS_LISTEN", Value: strings.Join(h.TLS, ",")})
	set := func(name string, v string) {
		if v != "" {
			c.Env = append(c.Env, corev1.EnvVar{Name: name, Value: v})
		}
	}
	set("E2E_HTTP_LISTEN", strings.Join(h.HTTP, ","))
	set("E2E_CERT", h.Cert)
	set("E2E_KEY", h.Key)
	set("E2E_SELF_SIGNED", strings.Join(h.SelfSigned, ","))
	set("E2E_APIGROUPS", strings.Join(h.APIGroups, ","))
	set("E2E_FAIL_PATHS", strings.Join(h.Fail, ","))
	if h.TLS13 {
		set("E2E_TLS_MIN_VERSION", "1.3")
	}
	return c
}

// setEnv sets (or adds) an environment variable of container name in p.
func setEnv(t *testing.T, p *corev1.Pod, name, key, value string) {
	t.Helper()
	c := containerNamed(t, p, name)
	for i := range c.Env {
		if c.Env[i].Name == key {
			c.Env[i].Value = value
			return
		}
	}
	c.Env = append(c.Env, corev1.EnvVar{Name: key, Value: value})
}

// pick returns the entries of m with these keys (a selector from a pod template's labels).
func pick(m map[string]string, keys ...string) map[string]string {
	out := map[string]string{}
	for _, key := range keys {
		out[key] = m[key]
	}
	return out
}

// setArg replaces the argument starting with prefix (e.g. "--port=") in container name.
func setArg(t *testing.T, p *corev1.Pod, name, prefix, arg string) {
	t.Helper()
	c := containerNamed(t, p, name)
	for i, a := range c.Args {
		if strings.HasPrefix(a, prefix) {
			c.Args[i] = arg
			return
		}
	}
	c.Args = append(c.Args, arg)
}

// replaceVolume replaces the volume of the same name in p.
func replaceVolume(t *testing.T, p *corev1.Pod, v corev1.Volume) {
	t.Helper()
	for i := range p.Spec.Volumes {
		if p.Spec.Volumes[i].Name == v.Name {
			p.Spec.Volumes[i] = v
			return
		}
	}
	t.Fatalf("pod %s has no volume %s", p.Name, v.Name)
}

func containerNamed(t *testing.T, p *corev1.Pod, name string) *corev1.Container {
	t.Helper()
	for i := range p.Spec.Containers {
		if p.Spec.Containers[i].Name == name {
			return &p.Spec.Containers[i]
		}
	}
	t.Fatalf("pod %s has no container %s", p.Name, name)
	return nil
}

// envs makes name/value pairs into EnvVars.
func envs(kv ...string) []corev1.EnvVar {
	var out []corev1.EnvVar
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

// fieldEnv is an env var from the downward API (metadata.namespace, metadata.name, ...).
func fieldEnv(name, path string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
}

// cports makes name/number pairs into TCP container ports.
func cports(kv ...any) []corev1.ContainerPort {
	var out []corev1.ContainerPort
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, corev1.ContainerPort{Name: kv[i].(string), ContainerPort: int32(kv[i+1].(int)), Protocol: corev1.ProtocolTCP})
	}
	return out
}

func port(p any) intstr.IntOrString {
	switch v := p.(type) {
	case int:
		return intstr.FromInt32(int32(v))
	case string:
		return intstr.FromString(v)
	}
	panic(fmt.Sprintf("port %v", p))
}

// probe is an httpGet probe with the product's path, port and scheme, checked every second.
func probe(path string, p any, scheme corev1.URIScheme) *corev1.Probe {
	return &corev1.Probe{PeriodSeconds: 1, TimeoutSeconds: 1, FailureThreshold: 3,
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: port(p), Scheme: scheme}}}
}

const (
	plainHTTP = corev1.URISchemeHTTP
	overTLS   = corev1.URISchemeHTTPS
)

func secretVolume(name, secret string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret}}}
}

func optionalSecretVolume(name, secret string) corev1.Volume {
	v := secretVolume(name, secret)
	v.Secret.Optional = ptr.To(true)
	return v
}

func emptyDir(name string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
}

func mount(name, path string) corev1.VolumeMount {
	return corev1.VolumeMount{Name: name, MountPath: path, ReadOnly: true}
}

// podOpt edits a pod before it is created.
type podOpt func(*corev1.Pod)

func withVolumes(v ...corev1.Volume) podOpt {
	return func(p *corev1.Pod) { p.Spec.Volumes = append(p.Spec.Volumes, v...) }
}

func withAnnotations(a map[string]string) podOpt {
	return func(p *corev1.Pod) { p.Annotations = a }
}

// withSidecars adds native sidecars: init containers with restartPolicy Always.
func withSidecars(cs ...corev1.Container) podOpt {
	return func(p *corev1.Pod) {
		for _, c := range cs {
			c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
			p.Spec.InitContainers = append(p.Spec.InitContainers, c)
		}
	}
}

func withPriorityClass(name string) podOpt {
	return func(p *corev1.Pod) { p.Spec.PriorityClassName = name }
}

// tlsPod creates the pod a Deployment named deploy would run (name deploy-xxxxx) on the
// e2e node with the pod template's labels and containers.
func (k *kit) tlsPod(deploy string, lbl map[string]string, containers []corev1.Container, opts ...podOpt) *corev1.Pod {
	k.t.Helper()
	p := &corev1.Pod{ObjectMeta: k.meta(deploy+"-"+utilrand.String(5), lbl, nil),
		Spec: corev1.PodSpec{NodeName: nodeName, Containers: containers, TerminationGracePeriodSeconds: ptr.To[int64](1),
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}}}}
	for _, o := range opts {
		o(p)
	}
	return k.createPod(p)
}

func (k *kit) createPod(p *corev1.Pod) *corev1.Pod {
	k.t.Helper()
	out, err := client.CoreV1().Pods(k.ns).Create(k.ctx, p, metav1.CreateOptions{})
	if err != nil {
		k.t.Fatalf("create pod %s/%s: %v", k.ns, p.Name, err)
	}
	return out
}

// replacePod is a rollout: a new pod from old's spec edited by edit, then old deleted.
func (k *kit) replacePod(old *corev1.Pod, edit func(*corev1.Pod)) *corev1.Pod {
	k.t.Helper()
	deploy := old.Name[:strings.LastIndex(old.Name, "-")]
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: deploy + "-" + utilrand.String(5), Namespace: k.ns, Labels: old.Labels, Annotations: old.Annotations},
		Spec: *old.Spec.DeepCopy()}
	edit(p)
	p = k.createPod(p)
	if err := client.CoreV1().Pods(k.ns).Delete(k.ctx, old.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		k.t.Fatalf("delete pod %s: %v", old.Name, err)
	}
	return p
}

// ---------------------------------------------------------------------------------------
// Services

// sport is a Service port: name, port, targetPort (number or name).
func sport(name string, p int32, target any) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: p, TargetPort: port(target), Protocol: corev1.ProtocolTCP}
}

// appHTTPS sets appProtocol: https on a Service port.
func appHTTPS(p corev1.ServicePort) corev1.ServicePort {
	p.AppProtocol = ptr.To("https")
	return p
}

func (k *kit) service(name string, lbl, ann, selector map[string]string, ports ...corev1.ServicePort) {
	k.t.Helper()
	s := &corev1.Service{ObjectMeta: k.meta(name, lbl, ann), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Selector: selector, Ports: ports}}
	if _, err := client.CoreV1().Services(k.ns).Create(k.ctx, s, metav1.CreateOptions{}); err != nil {
		k.t.Fatalf("create service %s/%s: %v", k.ns, name, err)
	}
}
