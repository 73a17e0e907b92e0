package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"text/template"
)

// checksums maps an archive's file name to its sha256, as goreleaser wrote them.
type checksums map[string]string

// readChecksums reads goreleaser's "<sha256>  <file>" lines and checks each archive in
// the same directory against its line, so a stale checksums file is caught here rather
// than by krew on a user's machine.
func readChecksums(file string) (checksums, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sums := checksums{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s: %q is not a \"<sha256>  <file>\" line", file, sc.Text())
		}
		sums[fields[1]] = fields[0]
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for name, want := range sums {
		got, err := fileSHA256(filepath.Join(filepath.Dir(file), name))
		if err != nil {
			return nil, err
		}
		if got != want {
			return nil, fmt.Errorf("%s: %s has sha256 %s, not %s: rebuild the archives and checksums together", file, name, got, want)
		}
	}
	return sums, nil
}

func fileSHA256(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// snapshotVersion is the version goreleaser gave the archives (dist/metadata.json).
func snapshotVersion(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("no -tag and no goreleaser metadata: %w", err)
	}
	var m struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Version == "" {
		return "", fmt.Errorf("%s holds no version", file)
	}
	return m.Version, nil
}

// render executes the template with krew-release-bot's values and functions: TagName,
// addURIAndSha (here: the sha256 of the archive the URL names, from sums) and indent.
func render(tmpl, tag string, sums checksums) ([]byte, error) {
	funcs := template.FuncMap{
		"addURIAndSha": func(url, tag string) (string, error) {
			var u bytes.Buffer
			t, err := template.New("url").Parse(url)
			if err != nil {
				return "", err
			}
			if err := t.Execute(&u, struct{ TagName string }{tag}); err != nil {
				return "", err
			}
			sum, ok := sums[path.Base(u.String())]
			if !ok {
				return "", fmt.Errorf("%s names %s, which is not among the archives built", u.String(), path.Base(u.String()))
			}
			// The same text and indentation as krew-release-bot's function.
			return fmt.Sprintf("uri: %s\n    sha256: %s", u.String(), sum), nil
		},
		"indent": func(spaces int, v string) string {
			pad := strings.Repeat(" ", spaces)
			return strings.TrimSpace(pad + strings.ReplaceAll(strings.ReplaceAll(v, "    sha256:", "sha256:"), "\n", "\n"+pad))
		},
	}
	t, err := template.New("manifest").Funcs(funcs).Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := t.Execute(&out, struct{ TagName string }{tag}); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
