package main

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/yaml"
)

// manifest is the part of krew's index.Plugin (sigs.k8s.io/krew/pkg/index, v0.4.3) that a
// plugin sets; decoding is strict, so a misspelt field is an error as in krew-index's CI.
type manifest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string     `json:"version"`
		ShortDescription string     `json:"shortDescription"`
		Description      string     `json:"description"`
		Caveats          string     `json:"caveats"`
		Homepage         string     `json:"homepage"`
		Platforms        []platform `json:"platforms"`
	} `json:"spec"`
}

type platform struct {
	Selector struct {
		MatchLabels map[string]string `json:"matchLabels"`
	} `json:"selector"`
	URI    string `json:"uri"`
	SHA256 string `json:"sha256"`
	Bin    string `json:"bin"`
	Files  []struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"files,omitempty"`
}

var (
	pluginName = regexp.MustCompile(`^[\w-]+$`)
	sha256Hex  = regexp.MustCompile(`^[a-f0-9]{64}$`)
	// goreleaser's name_template: {{ .ProjectName }}_{{ .Os }}_{{ .Arch }}.
	archiveName = regexp.MustCompile(`^kubectl-certdoctor_([a-z0-9]+)_([a-z0-9]+)\.(tar\.gz|zip)$`)
)

// validate applies krew's own checks (internal/index/validation in v0.4.3) and then the
// ones that tie the manifest to the archives (used holds the os/arch pairs and archive
// names seen): one platform per archive and per os/arch,
// each pointing at its own archive with the matching sha256, bin named for the os.
func validate(doc []byte, sums checksums) error {
	var m manifest
	if err := yaml.UnmarshalStrict(doc, &m); err != nil {
		return fmt.Errorf("not a plugin manifest: %w", err)
	}
	switch {
	case m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2":
		return fmt.Errorf("apiVersion %q: krew takes only krew.googlecontainertools.github.com/v1alpha2", m.APIVersion)
	case m.Kind != "Plugin":
		return fmt.Errorf("kind %q: krew takes only Plugin", m.Kind)
	case m.Metadata.Name != "certdoctor" || !pluginName.MatchString(m.Metadata.Name):
		return fmt.Errorf("metadata.name %q: the plugin is certdoctor", m.Metadata.Name)
	case m.Spec.ShortDescription == "" || strings.ContainsAny(m.Spec.ShortDescription, "\r\n"):
		return fmt.Errorf("spec.shortDescription must be one line")
	case m.Spec.Description == "" || m.Spec.Homepage == "" || m.Spec.Caveats == "":
		return fmt.Errorf("spec.description, spec.homepage and spec.caveats are expected by krew-index review")
	case len(m.Spec.Platforms) == 0:
		return fmt.Errorf("spec.platforms is empty")
	}
	if !strings.HasPrefix(m.Spec.Version, "v") {
		return fmt.Errorf("spec.version %q must start with v", m.Spec.Version)
	}
	if _, err := version.ParseSemantic(m.Spec.Version); err != nil {
		return fmt.Errorf("spec.version %q: %w", m.Spec.Version, err)
	}
	used := map[string]bool{}
	for i, p := range m.Spec.Platforms {
		if err := p.validate(sums, used); err != nil {
			return fmt.Errorf("spec.platforms[%d]: %w", i, err)
		}
	}
	for name := range sums {
		if archiveName.MatchString(name) && !used[name] {
			return fmt.Errorf("%s was built but no platform installs it", name)
		}
	}
	return nil
}

func (p platform) validate(sums checksums, used map[string]bool) error {
	labels := p.Selector.MatchLabels
	for k := range labels {
		if k != "os" && k != "arch" {
			return fmt.Errorf("selector key %q: krew matches only os and arch", k)
		}
	}
	osName, arch := labels["os"], labels["arch"]
	if osName == "" || arch == "" {
		return fmt.Errorf("selector must name both os and arch")
	}
	if used[osName+"/"+arch] {
		return fmt.Errorf("%s/%s is listed twice", osName, arch)
	}
	used[osName+"/"+arch] = true
	if p.URI == "" || p.Bin == "" {
		return fmt.Errorf("uri and bin are required")
	}
	if !sha256Hex.MatchString(p.SHA256) {
		return fmt.Errorf("sha256 %q is not 64 lowercase hex digits", p.SHA256)
	}
	file := path.Base(p.URI)
	parts := archiveName.FindStringSubmatch(file)
	if parts == nil || parts[1] != osName || parts[2] != arch {
		return fmt.Errorf("%s/%s points at %s, not its own archive", osName, arch, file)
	}
	if sums[file] != p.SHA256 {
		return fmt.Errorf("sha256 of %s is %s in the checksums, not %s", file, sums[file], p.SHA256)
	}
	used[file] = true
	if want := "kubectl-certdoctor" + map[bool]string{true: ".exe"}[osName == "windows"]; p.Bin != want {
		return fmt.Errorf("bin %q on %s: the archive holds %s", p.Bin, osName, want)
	}
	return nil
}
