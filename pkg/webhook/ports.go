package webhook

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/plugins"
)

// portSetting is the port a process listens on, as its pod spec says it.
type portSetting struct {
	port int32
	// from is the flag or variable that set it ("--secure-port=10250"); empty when the
	// binary's default was assumed.
	from string
	// config is the config-file argument that may set the port instead of a flag
	// ("--config=/var/cert-manager/config/config.yaml"), when the container has one.
	config string
}

func (p portSetting) assumed() bool { return p.from == "" }

// name is the flag or variable that set the port, without its value.
func (p portSetting) name() string {
	n, _, _ := strings.Cut(p.from, "=")
	return n
}

// portOf reads spec's flags, then its environment variables, from c; else the binary's
// default applies.
func portOf(spec *plugins.PortSpec, c *corev1.Container) portSetting {
	if spec == nil || c == nil {
		return portSetting{}
	}
	args := append(append([]string(nil), c.Command...), c.Args...)
	out := portSetting{port: spec.Default}
	if spec.ConfigFlag != "" {
		if v, ok := flagValue(args, spec.ConfigFlag); ok {
			out.config = spec.ConfigFlag + "=" + v
		}
	}
	for _, f := range spec.Flags {
		if v, ok := flagValue(args, f); ok {
			if n := portNumber(v); n != 0 {
				return portSetting{port: n, from: f + "=" + v, config: out.config}
			}
		}
	}
	for _, e := range spec.Env {
		for _, ev := range c.Env {
			if ev.Name == e && ev.ValueFrom == nil {
				if n := portNumber(ev.Value); n != 0 {
					return portSetting{port: n, from: e + "=" + ev.Value, config: out.config}
				}
			}
		}
	}
	return out
}

// flagValue finds flag's value in args: "--flag=v" or "--flag v".
func flagValue(args []string, flag string) (string, bool) {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v, true
		}
		if a == flag && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// portNumber reads "8443", ":8443", "0.0.0.0:8443" or "[::]:8443".
func portNumber(v string) int32 {
	if j := strings.LastIndex(v, ":"); j >= 0 {
		v = v[j+1:]
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 || n > 65535 {
		return 0
	}
	return int32(n)
}

// flagPort is the port a single flag sets (0: not set).
func flagPort(c corev1.Container, flag string) int32 {
	return portOf(&plugins.PortSpec{Flags: []string{flag}}, &c).port
}

// resolvePort turns a probe or targetPort into a number using the container's named ports.
func resolvePort(p intstr.IntOrString, ports []corev1.ContainerPort) int32 {
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	return 0
}

// serving is the container that serves the webhook: the profile's, else the one
// carrying the secure-port setting, else the one declaring the Service's targetPort,
// else the first. Sidecars (istio-proxy, linkerd-proxy) are never it by accident.
func (s *walk) serving(p *corev1.Pod) *corev1.Container {
	cs := p.Spec.Containers
	if len(cs) == 0 {
		return nil
	}
	if s.comp != nil && s.comp.Container != "" {
		for i := range cs {
			if cs[i].Name == s.comp.Container {
				return &cs[i]
			}
		}
	}
	if s.comp != nil {
		for i := range cs {
			if portOf(s.comp.SecurePort, &cs[i]).from != "" {
				return &cs[i]
			}
		}
	}
	for i := range cs {
		if s.target.Type == intstr.String && resolvePort(s.target, cs[i].Ports) != 0 {
			return &cs[i]
		}
	}
	return &cs[0]
}

// probePort compares the serving container's readinessProbe with the health port the
// process was told to listen on (seed 001: probe on 6080, --healthz-port=6081: never
// Ready). Only that container is compared: a mesh sidecar's probes are its own.
func (s *walk) probePort(p *corev1.Pod) {
	if s.comp == nil || s.comp.HealthPort == nil {
		return
	}
	c := s.serving(p)
	probe := readinessPort(p, c)
	health := portOf(s.comp.HealthPort, c)
	if c == nil || health.port == 0 || probe == 0 || probe == health.port {
		return
	}
	params := diagnose.Params{"container": c.Name, "probe": probe, "health": health.port, "flag": health.name(), "service": s.svc.Name}
	switch {
	case !health.assumed():
		s.problem("readinessProbe "+p.Name, diagnose.CodeWebhookProbePort, "", params)
	case health.config != "":
		s.ok("readinessProbe "+p.Name, fmt.Sprintf("probe port %d; the health port may be set in the config file (%s), which certdoctor does not read", probe, health.config))
	default:
		params["flag"] = strings.Join(append(append([]string(nil), s.comp.HealthPort.Flags...), s.comp.HealthPort.Env...), " or ")
		s.problem("readinessProbe "+p.Name, diagnose.CodeWebhookProbePort, "assumed", params)
	}
}

// readinessPort is the port c's readinessProbe checks. When Istio rewrote it to its
// agent (port 15020, /app-health/NAME/readyz), the original is in istio-proxy's
// ISTIO_KUBE_APP_PROBERS.
func readinessPort(p *corev1.Pod, c *corev1.Container) int32 {
	if c == nil || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil {
		return 0
	}
	g := c.ReadinessProbe.HTTPGet
	if !strings.HasPrefix(g.Path, "/app-health/") {
		return resolvePort(g.Port, c.Ports)
	}
	for _, sc := range p.Spec.Containers {
		for _, e := range sc.Env {
			if e.Name != "ISTIO_KUBE_APP_PROBERS" {
				continue
			}
			var probers map[string]struct {
				HTTPGet *corev1.HTTPGetAction `json:"httpGet"`
			}
			if json.Unmarshal([]byte(e.Value), &probers) == nil {
				if pr, ok := probers[g.Path]; ok && pr.HTTPGet != nil {
					return resolvePort(pr.HTTPGet.Port, c.Ports)
				}
			}
		}
	}
	return 0 // rewritten and the original is unknown: nothing to compare
}
