// Package plugins holds the webhook profiles: one YAML file per product, saying which
// webhook configurations, APIServices and conversion CRDs belong to it and where its
// webhook, its flags and its CA live. They are embedded in the binary; a user adds one
// with --profile-file.
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
	// Namespace is where the product usually runs; the walk finds it elsewhere too.
	Namespace string `json:"namespace"`
	// WebhookConfigurations are validating/mutating configuration names; a trailing
	// "*" matches a prefix.
	WebhookConfigurations []string `json:"webhookConfigurations,omitempty"`
	APIServices           []string `json:"apiServices,omitempty"`
	// CRDGroups selects the CRDs whose conversion webhook belongs to the product.
	CRDGroups   []string          `json:"crdGroups,omitempty"`
	Service     string            `json:"service"`
	PodSelector map[string]string `json:"podSelector,omitempty"`
	// SecurePortFlag and HealthPortFlag are the container flags that set the serving
	// and health ports (compared with containerPort and the readinessProbe).
	SecurePortFlag    string `json:"securePortFlag,omitempty"`
	HealthPortFlag    string `json:"healthPortFlag,omitempty"`
	DefaultSecurePort int32  `json:"defaultSecurePort,omitempty"`
	DefaultHealthPort int32  `json:"defaultHealthPort,omitempty"`
	// CASecret holds the CA (ca.crt) that every caBundle must equal.
	CASecret   string      `json:"caSecret,omitempty"`
	CAInjector *CAInjector `json:"caInjector,omitempty"`
	// DryRun is an object whose server-side dry-run create must pass the webhook.
	DryRun map[string]any `json:"dryRun,omitempty"`
}

// CAInjector is a controller that writes caBundles from annotations (cert-manager's cainjector).
type CAInjector struct {
	PodSelector map[string]string `json:"podSelector"`
	Annotations []string          `json:"annotations"`
}

// Matches reports whether a configuration or APIService name belongs to the profile.
func Matches(patterns []string, name string) bool {
	for _, p := range patterns {
		if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(name, prefix) || p == name {
			return true
		}
	}
	return false
}

// Parse reads one profile strictly: an unknown field is an error (a typo would
// otherwise silently check nothing).
func Parse(data []byte, source string) (*Profile, error) {
	var p Profile
	if err := yaml.UnmarshalStrict(bytes.TrimSpace(data), &p); err != nil {
		return nil, fmt.Errorf("profile %s: %w", source, err)
	}
	switch {
	case p.Name == "":
		return nil, fmt.Errorf("profile %s: name is required", source)
	case len(p.WebhookConfigurations)+len(p.APIServices)+len(p.CRDGroups) == 0:
		return nil, fmt.Errorf("profile %s: lists no webhookConfigurations, apiServices or crdGroups", source)
	case p.Service == "":
		return nil, fmt.Errorf("profile %s: service is required", source)
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
