package nodes

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
)

// Files is what the script reported about one node: certificate files (PEM), the
// certificate parts of kubeconfigs rebuilt as minimal kubeconfigs, and which paths
// exist. It implements sources.Files.
type Files struct {
	data     map[string][]byte
	pubs     map[string][]byte // public key files (sa.pub): PUBLIC KEY blocks only
	exists   map[string]bool
	certs    []string // paths of CERT blocks, in output order
	complete bool
}

// CertPaths lists the certificate files found, in the order the node reported them.
func (f *Files) CertPaths() []string { return f.certs }

// ReadFile returns a reported file's certificate content.
func (f *Files) ReadFile(p string) ([]byte, error) {
	if d, ok := f.data[path.Clean(p)]; ok {
		return d, nil
	}
	return nil, &fs.PathError{Op: "read", Path: p, Err: fs.ErrNotExist}
}

// PublicKeys returns a reported .pub file's PUBLIC KEY blocks (PEM); ok is false when
// the node has no such file.
func (f *Files) PublicKeys(p string) (pemData []byte, ok bool) {
	d, ok := f.pubs[path.Clean(p)]
	return d, ok
}

// Exists reports whether the node has p (a file or directory the script listed).
func (f *Files) Exists(p string) bool { return f.exists[path.Clean(p)] }

// Complete says the script ran to its end (### DONE); a truncated log is an error.
func (f *Files) Complete() bool { return f.complete }

// Parse reads the script's output. It keeps only certificate material: a line inside
// a CERT block that is not base64 is dropped, so even a tampered node cannot make
// certdoctor hold anything but certificates.
func Parse(out string) (*Files, error) {
	f := &Files{data: map[string][]byte{}, pubs: map[string][]byte{}, exists: map[string]bool{}}
	var cur, kind string
	var buf strings.Builder
	conf := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r \t")
		if rest, ok := strings.CutPrefix(line, "### "); ok {
			word, arg, _ := strings.Cut(rest, " ")
			switch word {
			case "DIR", "KEY":
				f.markExists(arg)
			case "CERT", "CONF", "PUB":
				cur, kind = path.Clean(arg), word
				buf.Reset()
				clear(conf)
				// The script names files by absolute paths, kubeconfigs by their .conf
				// suffix: anything else (the root itself, too) did not come from it, and
				// its lines are dropped.
				if !strings.HasPrefix(arg, "/") || cur == "/" || (word == "CONF") != strings.HasSuffix(arg, ".conf") ||
					(word == "PUB") != strings.HasSuffix(arg, ".pub") {
					kind = "SKIP"
					continue
				}
				f.markExists(cur)
			case "END":
				if err := f.finish(cur, kind, buf.String(), conf); err != nil {
					return nil, err
				}
				cur, kind = "", ""
			case "DONE":
				f.complete = true
			}
			continue
		}
		switch kind {
		case "CERT":
			if line == "-----BEGIN CERTIFICATE-----" || line == "-----END CERTIFICATE-----" || isBase64(line) {
				buf.WriteString(line + "\n")
			}
		case "PUB":
			if isPublicKeyMarker(line) || isBase64(line) {
				buf.WriteString(line + "\n")
			}
		case "CONF":
			if k, v, ok := strings.Cut(line, " "); ok {
				if _, seen := conf[k]; !seen {
					conf[k] = v
				}
			}
		}
	}
	return f, sc.Err()
}

// isPublicKeyMarker: the only non-base64 lines a PUB block may hold.
func isPublicKeyMarker(line string) bool {
	switch line {
	case "-----BEGIN PUBLIC KEY-----", "-----END PUBLIC KEY-----", "-----BEGIN RSA PUBLIC KEY-----", "-----END RSA PUBLIC KEY-----":
		return true
	}
	return false
}

func (f *Files) markExists(p string) {
	p = path.Clean(p)
	for ; p != "/" && p != "."; p = path.Dir(p) {
		f.exists[p] = true
	}
}

// finish stores a completed block: certificates as PEM, kubeconfigs rebuilt.
func (f *Files) finish(p, kind, body string, conf map[string]string) error {
	switch kind {
	case "CERT":
		f.certs = append(f.certs, p)
		if strings.Contains(body, "BEGIN") {
			f.data[p] = []byte(body)
		} else {
			f.data[p] = nil // present, but holds no certificate: reported as invalid
		}
	case "PUB":
		f.pubs[p] = []byte(body)
	case "CONF":
		f.data[p] = kubeconfigFrom(conf)
	case "SKIP":
	case "":
		return fmt.Errorf("### END without a block")
	}
	return nil
}

// kubeconfigFrom rebuilds a kubeconfig holding only the server and the client
// certificate (inline data re-validated as a certificate, or a path).
func kubeconfigFrom(conf map[string]string) []byte {
	user := ""
	if d := conf["client-certificate-data:"]; d != "" {
		if raw, err := base64.StdEncoding.DecodeString(d); err == nil {
			if _, err := certs.ParseBundle(raw); err == nil {
				user = "client-certificate-data: " + d
			}
		}
	} else if p := conf["client-certificate:"]; p != "" {
		user = "client-certificate: " + quote(p)
	}
	if user == "" {
		user = "{}"
	} else {
		user = "{" + user + "}"
	}
	return []byte(fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: %s}\nusers:\n- name: u\n  user: %s\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n",
		quote(conf["server:"]), user))
}

func quote(s string) string { return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"` }

func isBase64(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '/' || r == '=') {
			return false
		}
	}
	return true
}
