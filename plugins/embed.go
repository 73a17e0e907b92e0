// Package plugins holds the webhook profiles: one YAML file per product, saying which
// webhook configurations, APIServices and conversion CRDs belong to it, which of its
// components serves each, and where each component's ports, health checks and CA live.
// They are embedded in the binary; a user adds one with --profile-file.
package plugins

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

//go:embed *.yaml
var files embed.FS

// Profile describes one product's webhooks. Field names are the YAML keys.
type Profile struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Checked names the upstream release the profile's facts were read from.
	Checked string `json:"checked,omitempty"`
	// Namespace is where the product usually runs; the walk finds it elsewhere too.
	Namespace string `json:"namespace"`
	// Components serve the product's webhooks; a product such as kyverno or linkerd has
	// several, each with its own Service, flags and CA.
	Components []*Component `json:"components,omitempty"`
	CAInjector *CAInjector  `json:"caInjector,omitempty"`
	// DryRun is an object whose server-side dry-run create must pass the webhook.
	DryRun map[string]any `json:"dryRun,omitempty"`

	legacyComponent
}

// Component is one part of a product that serves webhooks.
type Component struct {
	Name string `json:"name"`
	// WebhookConfigurations are validating/mutating configuration names; a trailing
	// "*" matches a prefix. The first component that matches a target serves it.
	WebhookConfigurations []string `json:"webhookConfigurations,omitempty"`
	APIServices           []string `json:"apiServices,omitempty"`
	// CRDGroups selects the CRDs whose conversion webhook belongs to the component.
	CRDGroups []string `json:"crdGroups,omitempty"`
	// WebhookNames are the names of its webhooks inside the configurations, as error
	// texts quote them (`failed calling webhook "webhook.cert-manager.io"`).
	WebhookNames []string `json:"webhookNames,omitempty"`
	// Service is the Service the chart creates (informational: the walk follows the
	// configuration's own clientConfig).
	Service string `json:"service,omitempty"`
	// Container is the container that serves the webhook and carries the port flags;
	// sidecars (istio-proxy, linkerd-proxy) are never compared with them.
	Container  string    `json:"container,omitempty"`
	SecurePort *PortSpec `json:"securePort,omitempty"`
	HealthPort *PortSpec `json:"healthPort,omitempty"`
	// CASecrets hold the CA that the caBundle must contain; the first that exists is
	// compared. $(NAMESPACE) in a name is the product's namespace.
	CASecrets []SecretRef `json:"caSecrets,omitempty"`
}

// PortSpec says how the process learns a port: a flag, an environment variable, a
// config file, else the binary's own default.
type PortSpec struct {
	Flags []string `json:"flags,omitempty"`
	Env   []string `json:"env,omitempty"`
	// ConfigFlag names the flag that points at a config file able to set the port
	// (cert-manager's --config): the port may then be set where certdoctor cannot read.
	ConfigFlag string `json:"configFlag,omitempty"`
	// Default is the binary's default when none of the above is set.
	Default int32 `json:"default,omitempty"`
}

// SecretRef names a secret and the data keys that may hold the CA, in order.
type SecretRef struct {
	Name string   `json:"name"`
	Keys []string `json:"keys,omitempty"`
}

// DefaultCAKeys are the keys tried when a secret reference names none.
var DefaultCAKeys = []string{"ca.crt", "tls.crt"}

// CAInjector is a controller that writes caBundles from annotations (cert-manager's cainjector).
type CAInjector struct {
	PodSelector map[string]string `json:"podSelector"`
	Annotations []string          `json:"annotations"`
}

// legacyComponent is the one-component profile format of --profile-file before
// components existed; Parse turns it into a component.
type legacyComponent struct {
	WebhookConfigurations []string          `json:"webhookConfigurations,omitempty"`
	APIServices           []string          `json:"apiServices,omitempty"`
	CRDGroups             []string          `json:"crdGroups,omitempty"`
	Service               string            `json:"service,omitempty"`
	PodSelector           map[string]string `json:"podSelector,omitempty"`
	SecurePortFlag        string            `json:"securePortFlag,omitempty"`
	HealthPortFlag        string            `json:"healthPortFlag,omitempty"`
	DefaultSecurePort     int32             `json:"defaultSecurePort,omitempty"`
	DefaultHealthPort     int32             `json:"defaultHealthPort,omitempty"`
	CASecret              string            `json:"caSecret,omitempty"`
}

func (l legacyComponent) empty() bool {
	return len(l.WebhookConfigurations)+len(l.APIServices)+len(l.CRDGroups) == 0 && l.Service == "" &&
		l.SecurePortFlag == "" && l.HealthPortFlag == "" && l.DefaultSecurePort == 0 && l.DefaultHealthPort == 0 && l.CASecret == ""
}

func (l legacyComponent) component() *Component {
	c := &Component{Name: "default", WebhookConfigurations: l.WebhookConfigurations, APIServices: l.APIServices,
		CRDGroups: l.CRDGroups, Service: l.Service}
	if l.SecurePortFlag != "" || l.DefaultSecurePort != 0 {
		c.SecurePort = &PortSpec{Default: l.DefaultSecurePort}
		if l.SecurePortFlag != "" {
			c.SecurePort.Flags = []string{l.SecurePortFlag}
		}
	}
	if l.HealthPortFlag != "" || l.DefaultHealthPort != 0 {
		c.HealthPort = &PortSpec{Default: l.DefaultHealthPort}
		if l.HealthPortFlag != "" {
			c.HealthPort.Flags = []string{l.HealthPortFlag}
		}
	}
	if l.CASecret != "" {
		c.CASecrets = []SecretRef{{Name: l.CASecret}}
	}
	return c
}

// Matches reports whether a name matches one of patterns, shell-style ("kyverno-*",
// "*.istio.io"; the names hold no "/", so path.Match's rules are the shell's).
func Matches(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, err := path.Match(p, name); ok && err == nil || p == name {
			return true
		}
	}
	return false
}

// ForError returns the profile that owns a webhook or Service an error text names
// (webhook "webhook.cert-manager.io", Service cert-manager-webhook), or nil.
func ForError(all map[string]*Profile, webhookName, service string) *Profile {
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, c := range all[n].Components {
			if webhookName != "" && Matches(c.WebhookNames, webhookName) ||
				service != "" && c.Service != "" && (service == c.Service || strings.HasSuffix(service, "-"+c.Service)) {
				return all[n]
			}
		}
	}
	return nil
}

// ComponentFor returns the component that serves the target of kind and name
// (kind "APIService", "CustomResourceDefinition", or a webhook configuration kind), or nil.
func (p *Profile) ComponentFor(kind, name string) *Component {
	for _, c := range p.Components {
		switch kind {
		case "APIService":
			if Matches(c.APIServices, name) {
				return c
			}
		case "CustomResourceDefinition":
			_, group, _ := strings.Cut(name, ".")
			for _, g := range c.CRDGroups {
				if g == group {
					return c
				}
			}
		default:
			if Matches(c.WebhookConfigurations, name) {
				return c
			}
		}
	}
	return nil
}

// Parse reads one profile strictly: an unknown field is an error (a typo would
// otherwise silently check nothing).
func Parse(data []byte, source string) (*Profile, error) {
	var p Profile
	if err := yaml.UnmarshalStrict(bytes.TrimSpace(data), &p); err != nil {
		return nil, fmt.Errorf("profile %s: %w", source, err)
	}
	if !p.legacyComponent.empty() {
		if len(p.Components) > 0 {
			return nil, fmt.Errorf("profile %s: give either components or the one-component fields (webhookConfigurations, service, ...), not both", source)
		}
		if p.Service == "" {
			return nil, fmt.Errorf("profile %s: service is required", source)
		}
		p.Components = []*Component{p.legacyComponent.component()}
		p.legacyComponent = legacyComponent{}
	}
	if p.Name == "" {
		return nil, fmt.Errorf("profile %s: name is required", source)
	}
	if len(p.Components) == 0 {
		return nil, fmt.Errorf("profile %s: lists no webhookConfigurations, apiServices or crdGroups", source)
	}
	for i, c := range p.Components {
		if c == nil { // "components:\n-": a list item with nothing in it
			return nil, fmt.Errorf("profile %s: component %d is empty", source, i+1)
		}
		if len(c.WebhookConfigurations)+len(c.APIServices)+len(c.CRDGroups) == 0 {
			return nil, fmt.Errorf("profile %s: component %d (%s) lists no webhookConfigurations, apiServices or crdGroups", source, i+1, c.Name)
		}
		for _, s := range c.CASecrets {
			if s.Name == "" {
				return nil, fmt.Errorf("profile %s: component %s: a caSecrets entry has no name", source, c.Name)
			}
		}
	}
	return &p, nil
}

// All returns the embedded profiles by name.
func All() (map[string]*Profile, error) {
	out := map[string]*Profile{}
	entries, err := fs.Glob(files, "*.yaml")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		data, err := files.ReadFile(e)
		if err != nil {
			return nil, err
		}
		p, err := Parse(data, e)
		if err != nil {
			return nil, err
		}
		if strings.TrimSuffix(path.Base(e), ".yaml") != p.Name {
			return nil, fmt.Errorf("profile %s is named %q: file and name must agree", e, p.Name)
		}
		out[p.Name] = p
	}
	return out, nil
}

// Names lists the embedded profiles.
func Names() []string {
	all, _ := All()
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
