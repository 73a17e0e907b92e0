package workloadidentity

import (
	"context"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// Istio's names, as istio/istio's sidecar injector (manifests/charts/istio-control/
// istio-discovery: files/injection-template.yaml, templates/configmap.yaml and
// istiod-injector-configmap.yaml) writes and reads them; checked at istio/istio
// 86c9f01fd735 (master toward 1.31, August 2026). The injector honours
// holdApplicationUntilProxyStarts from the pod's proxy config or the deprecated
// global.proxy value, and ignores it for native sidecars, which start first anyway.
const (
	istioProxy           = "istio-proxy"
	annSidecarStatus     = "sidecar.istio.io/status"
	annInterception      = "sidecar.istio.io/interceptionMode"
	annExcludeOutbound   = "traffic.sidecar.istio.io/excludeOutboundIPRanges"
	annIncludeOutbound   = "traffic.sidecar.istio.io/includeOutboundIPRanges"
	annProxyConfig       = "proxy.istio.io/config"
	labelRevision        = "istio.io/rev"
	istioNamespace       = "istio-system"
	meshConfigMap        = "istio"                  // key "mesh": MeshConfig, defaultConfig is the ProxyConfig
	injectorConfigMap    = "istio-sidecar-injector" // key "values": the chart's values, as JSON
	holdKey              = "holdApplicationUntilProxyStarts"
	excludeMetadataRange = "169.254.169.254/32"
)

var metadataIP = netip.MustParseAddr("169.254.169.254")

// istioConfig is the mesh-wide configuration of one revision (nil fields: not set, or
// not readable).
type istioConfig struct {
	meshHold, valuesHold *bool
	excludeIPRanges      string
	includeIPRanges      string
}

func (r *run) istioConfig(ctx context.Context, rev string) *istioConfig {
	if c, ok := r.istio[rev]; ok {
		return c
	}
	c := &istioConfig{}
	r.istio[rev] = c
	suffix := ""
	if rev != "" && rev != "default" {
		suffix = "-" + rev
	}
	cms := r.Client.CoreV1().ConfigMaps(istioNamespace)
	if cm, err := cms.Get(ctx, meshConfigMap+suffix, metav1.GetOptions{}); err == nil {
		var mesh struct {
			DefaultConfig map[string]any `json:"defaultConfig"`
		}
		if yaml.Unmarshal([]byte(cm.Data["mesh"]), &mesh) == nil {
			c.meshHold = boolOf(mesh.DefaultConfig[holdKey])
		}
	} else {
		r.deniedIgnoringMissing(err, istioNamespace)
	}
	if cm, err := cms.Get(ctx, injectorConfigMap+suffix, metav1.GetOptions{}); err == nil {
		var values struct {
			Global struct {
				Proxy struct {
					Hold    any    `json:"holdApplicationUntilProxyStarts"`
					Exclude string `json:"excludeIPRanges"`
					Include string `json:"includeIPRanges"`
				} `json:"proxy"`
			} `json:"global"`
		}
		if yaml.Unmarshal([]byte(cm.Data["values"]), &values) == nil {
			c.valuesHold = boolOf(values.Global.Proxy.Hold)
			c.excludeIPRanges, c.includeIPRanges = values.Global.Proxy.Exclude, values.Global.Proxy.Include
		}
	} else {
		r.deniedIgnoringMissing(err, istioNamespace)
	}
	return c
}

func (r *run) deniedIgnoringMissing(err error, ns string) {
	if !apierrors.IsNotFound(err) {
		r.denied(err, "get", "configmaps", "", ns)
	}
}

func boolOf(v any) *bool {
	switch b := v.(type) {
	case bool:
		return &b
	case string:
		t := strings.EqualFold(b, "true")
		return &t
	}
	return nil
}

// sidecar is the pod's istio-proxy container, and whether it is a native sidecar (an
// init container that keeps running, started before the application).
func sidecar(p *corev1.Pod) (c *corev1.Container, native, found bool) {
	for i := range p.Spec.InitContainers {
		ic := &p.Spec.InitContainers[i]
		if ic.Name == istioProxy {
			return ic, ic.RestartPolicy != nil && *ic.RestartPolicy == corev1.ContainerRestartPolicyAlways, true
		}
	}
	for i := range p.Spec.Containers {
		if p.Spec.Containers[i].Name == istioProxy {
			return &p.Spec.Containers[i], false, true
		}
	}
	_, injected := p.Annotations[annSidecarStatus]
	return nil, false, injected
}

// istioSidecar: a sidecar that redirects 169.254.169.254 must either let it bypass the
// proxy (excludeOutboundIPRanges) or hold the application until the proxy runs.
func (r *run) istioSidecar(ctx context.Context, p *corev1.Pod, g string, base diagnose.Params) {
	proxy, native, found := sidecar(p)
	if !found {
		return
	}
	if strings.EqualFold(p.Annotations[annInterception], "NONE") {
		r.check(g, "istio", result.OK, "Istio sidecar without traffic interception (interceptionMode NONE)")
		return
	}
	rev := p.Labels[labelRevision]
	if rev == "" {
		rev = p.Annotations[labelRevision]
	}
	cfg := r.istioConfig(ctx, rev)
	exclude, excludeFrom := firstSet(p.Annotations[annExcludeOutbound], annExcludeOutbound, initArg(p, "-x"), "istio-init -x", cfg.excludeIPRanges, "global.proxy.excludeIPRanges")
	include, _ := firstSet(p.Annotations[annIncludeOutbound], annIncludeOutbound, initArg(p, "-i"), "istio-init -i", cfg.includeIPRanges, "global.proxy.includeIPRanges")
	switch {
	case covers(exclude, metadataIP):
		r.check(g, "istio", result.OK, "169.254.169.254 bypasses the sidecar ("+excludeFrom+": "+exclude+")")
		return
	case include != "" && include != "*" && !covers(include, metadataIP):
		r.check(g, "istio", result.OK, "the sidecar does not capture 169.254.169.254 (includeOutboundIPRanges: "+include+")")
		return
	}
	if held, how := holds(p, proxy, native, cfg); held {
		r.check(g, "istio", result.OK, "the application waits for the sidecar ("+how+")")
		return
	}
	excl := excludeMetadataRange
	if exclude != "" {
		excl = exclude + "," + excludeMetadataRange
	}
	capture := "no excludeOutboundIPRanges"
	if exclude != "" {
		capture = "excludeOutboundIPRanges " + exclude + " does not cover it"
	}
	r.problem(g, "istio", diagnose.New(diagnose.CodeWIIstio, where(g), with(base, "capture", capture,
		"hold", holdKey+" is not set", "exclude", excl)))
}

// holds says whether the application starts after the proxy: a native sidecar, the
// injector's postStart hook (pilot-agent wait), or the setting in the pod's proxy
// config, the mesh config or the injector's values, in that order of precedence.
func holds(p *corev1.Pod, proxy *corev1.Container, native bool, cfg *istioConfig) (bool, string) {
	if native {
		return true, "istio-proxy is a native sidecar"
	}
	if proxy != nil && proxy.Lifecycle != nil && proxy.Lifecycle.PostStart != nil && proxy.Lifecycle.PostStart.Exec != nil {
		cmd := proxy.Lifecycle.PostStart.Exec.Command
		if slices.Contains(cmd, "pilot-agent") && slices.Contains(cmd, "wait") {
			return true, "istio-proxy's postStart hook runs pilot-agent wait"
		}
	}
	if pc, ok := p.Annotations[annProxyConfig]; ok {
		var c map[string]any
		if yaml.Unmarshal([]byte(pc), &c) == nil {
			if b := boolOf(c[holdKey]); b != nil {
				return *b, annProxyConfig + " " + holdKey
			}
		}
	}
	if cfg.meshHold != nil {
		return *cfg.meshHold, "meshConfig.defaultConfig." + holdKey
	}
	if cfg.valuesHold != nil {
		return *cfg.valuesHold, "global.proxy." + holdKey
	}
	return false, ""
}

// initArg is the value after flag in the istio-init (or istio-validation) container's
// arguments, which the injector fills from the annotations and values.
func initArg(p *corev1.Pod, flag string) string {
	for _, c := range p.Spec.InitContainers {
		if c.Name != "istio-init" && c.Name != "istio-validation" {
			continue
		}
		for i, a := range c.Args {
			if a == flag && i+1 < len(c.Args) {
				return c.Args[i+1]
			}
		}
	}
	return ""
}

// firstSet returns the first non-empty value of (value, source) pairs.
func firstSet(pairs ...string) (string, string) {
	for i := 0; i+1 < len(pairs); i += 2 {
		if v := strings.TrimSpace(pairs[i]); v != "" {
			return v, pairs[i+1]
		}
	}
	return "", ""
}

// covers says whether a comma-separated list of CIDRs (or "*") holds addr.
func covers(list string, addr netip.Addr) bool {
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "*" {
			return true
		}
		if pr, err := netip.ParsePrefix(s); err == nil && pr.Masked().Contains(addr) {
			return true
		}
		if a, err := netip.ParseAddr(s); err == nil && a == addr {
			return true
		}
	}
	return false
}

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }
