package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var platforms = []string{"linux_amd64", "linux_arm64", "darwin_amd64", "darwin_arm64", "windows_amd64", "windows_arm64"}

// fakeDist writes random archives under goreleaser's names and their checksums file.
func fakeDist(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	var lines []string
	for _, p := range names {
		name := "kubectl-certdoctor_" + p + ".tar.gz"
		if strings.HasPrefix(p, "windows") {
			name = "kubectl-certdoctor_" + p + ".zip"
		}
		data := make([]byte, 512)
		rand.Read(data)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum, err := fileSHA256(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, sum+"  "+name)
	}
	if err := os.WriteFile(filepath.Join(dir, "checksums.txt"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "metadata.json"), []byte(`{"project_name":"kubectl-certdoctor","version":"0.4.1-next"}`), 0o644)
	return dir
}

func renderRepoTemplate(t *testing.T, dir, tag string) (string, error) {
	t.Helper()
	out := filepath.Join(dir, "certdoctor.yaml")
	err := options{template: "../../../krew-manifest.yaml", checksums: filepath.Join(dir, "checksums.txt"), tag: tag, out: out}.run()
	b, _ := os.ReadFile(out)
	return string(b), err
}

// The project's own template, rendered over a full set of archives, is a manifest whose
// every platform carries its archive's real sha256 and the tag in its URL.
func TestRenderRepoTemplate(t *testing.T) {
	dir := fakeDist(t, platforms...)
	doc, err := renderRepoTemplate(t, dir, "")
	if err != nil {
		t.Fatal(err)
	}
	sums, err := readChecksums(filepath.Join(dir, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(doc, "version: v0.4.1-next\n") {
		t.Errorf("version not taken from metadata.json:\n%s", doc)
	}
	for name, sum := range sums {
		want := fmt.Sprintf("uri: https://github.com/certdoctor/kubectl-certdoctor/releases/download/v0.4.1-next/%s\n    sha256: %s\n", name, sum)
		if !strings.Contains(doc, want) {
			t.Errorf("missing %q", want)
		}
	}
	if strings.Contains(doc, "{{") {
		t.Errorf("unrendered template syntax left:\n%s", doc)
	}
}

// What krew or a user would trip over later is refused when the manifest is made.
func TestRenderRefuses(t *testing.T) {
	cases := map[string]struct {
		archives []string
		tag      string
		change   func(dir string)
		want     string
	}{
		"an archive the manifest does not name": {archives: append(platforms, "linux_riscv64"), want: "linux_riscv64.tar.gz was built but no platform installs it"},
		"a platform with no archive":            {archives: platforms[1:], want: "not among the archives built"},
		"a tag without v":                       {archives: platforms, tag: "0.4.1", want: "must start with v"},
		"a tag that is not semver":              {archives: platforms, tag: "v1.2", want: "spec.version"},
		"an archive changed after its checksum": {archives: platforms, want: "rebuild the archives and checksums together",
			change: func(dir string) {
				os.WriteFile(filepath.Join(dir, "kubectl-certdoctor_linux_amd64.tar.gz"), []byte("x"), 0o644)
			}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := fakeDist(t, c.archives...)
			if c.change != nil {
				c.change(dir)
			}
			if _, err := renderRepoTemplate(t, dir, c.tag); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

// validate catches a hand-edited manifest's mistakes, one rule at a time, starting from
// a manifest it accepts.
func TestValidate(t *testing.T) {
	dir := fakeDist(t, platforms...)
	good, err := renderRepoTemplate(t, dir, "v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	sums, _ := readChecksums(filepath.Join(dir, "checksums.txt"))
	if err := validate([]byte(good), sums); err != nil {
		t.Fatal(err)
	}
	linuxAmd64 := sums["kubectl-certdoctor_linux_amd64.tar.gz"]
	edits := []struct{ old, new, want string }{
		{"apiVersion: krew.googlecontainertools.github.com/v1alpha2", "apiVersion: krew.googlecontainertools.github.com/v1alpha1", "apiVersion"},
		{"kind: Plugin", "kind: Plugins", "kind"},
		{"name: certdoctor", "name: cert-doctor", "metadata.name"},
		{"bin: kubectl-certdoctor.exe", "bin: kubectl-certdoctor", `bin "kubectl-certdoctor" on windows`},
		{"os: darwin", "os: linux", "listed twice"},
		{"arch: arm64", "cpu: arm64", "selector key"},
		{"sha256: " + linuxAmd64, "sha256: " + strings.ToUpper(linuxAmd64), "64 lowercase hex"},
		{"sha256: " + linuxAmd64, "sha256: " + strings.Repeat("a", 64), "in the checksums"},
		{"    bin: kubectl-certdoctor\n", "    bin: kubectl-certdoctor\n    binn: x\n", "unknown field"},
		{"shortDescription: Find", "shortDescription: |\n    Find\n    two lines", "one line"},
	}
	for _, e := range edits {
		bad := strings.Replace(good, e.old, e.new, 1)
		if bad == good {
			t.Fatalf("edit %q changed nothing", e.old)
		}
		if err := validate([]byte(bad), sums); err == nil || !strings.Contains(err.Error(), e.want) {
			t.Errorf("%q -> %q: got %v, want %q", e.old, e.new, err, e.want)
		}
	}
}
