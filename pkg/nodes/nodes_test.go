package nodes

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/certdoctor/kubectl-certdoctor/internal/fuzzseed"
	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"github.com/certdoctor/kubectl-certdoctor/pkg/sources"
)

// runScript runs the node script with the machine's POSIX sh over dirs.
func runScript(t *testing.T, dirs ...string) string {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("no sh: %v", err)
	}
	out, err := exec.Command(sh, append([]string{"-c", Script, "certdoctor", ""}, dirs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("script: %v\n%s", err, out)
	}
	return string(out)
}

func TestScriptNeverPrintsKeys(t *testing.T) {
	tree := certstest.WriteKubeadmTree(t.TempDir(), "https://10.200.0.1:6443")
	out := runScript(t, tree.Root, filepath.Join(tree.Root, "nope"))
	if strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, "client-key-data") {
		t.Fatal("script output holds key material")
	}
	for name, p := range tree.Leaves {
		body := strings.Split(string(p.KeyPEM()), "\n")[1]
		if strings.Contains(out, body[:20]) {
			t.Fatalf("script output holds the private key of %s", name)
		}
	}
	for _, want := range []string{"### KEY " + filepath.Join(tree.PKIDir(), "ca.key"), "### NODIR " + filepath.Join(tree.Root, "nope"), "### DONE",
		"### CERT " + filepath.Join(tree.KubeletPKIDir(), "kubelet-client-current.pem"), "### CONF " + filepath.Join(tree.Root, "admin.conf")} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// The node view of a tree must equal the local view of the same tree.
func TestScriptOutputFeedsKubeadmView(t *testing.T) {
	tree := certstest.WriteKubeadmTree(t.TempDir(), "https://10.200.0.1:6443")
	files, err := Parse(runScript(t, tree.Root))
	if err != nil || !files.Complete() {
		t.Fatalf("parse: %v complete=%v", err, files.Complete())
	}
	collect := func(f sources.Files, name string) []result.Record {
		c := sources.NewCollector(certstest.Days(0), 0)
		src := &sources.KubeadmPKI{SourceName: name, Node: "cp1", Files: f, PKIDir: tree.PKIDir(), KubeconfigDir: tree.KubeconfigDir(), KubeletPKIDir: tree.KubeletPKIDir()}
		if err := src.Collect(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		recs, fs, _ := c.Results()
		if len(fs) != 0 {
			t.Fatalf("%s view has findings: %+v", name, fs)
		}
		return recs
	}
	local, node := collect(sources.OSFiles{}, result.SourceLocal), collect(files, result.SourceNode)
	if len(local) != len(node) || len(node) != 17 {
		t.Fatalf("local %d records, node %d", len(local), len(node))
	}
	for i := range local {
		if local[i].Kubeadm.Name != node[i].Kubeadm.Name || local[i].Serial != node[i].Serial || local[i].Kubeadm.ExternallyManaged != node[i].Kubeadm.ExternallyManaged {
			t.Errorf("row %d: local %s/%s, node %s/%s", i, local[i].Kubeadm.Name, local[i].Serial, node[i].Kubeadm.Name, node[i].Serial)
		}
	}
}

func TestParseDropsNonCertificateLines(t *testing.T) {
	out := strings.Join([]string{
		"### DIR /etc/kubernetes",
		"### CERT /etc/kubernetes/pki/x.crt",
		"-----BEGIN CERTIFICATE-----", "QUJD", "this line is not base64!", "-----END CERTIFICATE-----",
		"### END",
		"### CONF /etc/kubernetes/admin.conf",
		"client-certificate-data: bm90IGEgY2VydA==", "client-key-data: c2VjcmV0", "server: https://1.2.3.4:6443",
		"### END",
		"### DONE",
	}, "\n")
	f, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	crt, _ := f.ReadFile("/etc/kubernetes/pki/x.crt")
	if strings.Contains(string(crt), "not base64") {
		t.Fatalf("kept a non-base64 line: %q", crt)
	}
	conf, _ := f.ReadFile("/etc/kubernetes/admin.conf")
	if strings.Contains(string(conf), "c2VjcmV0") || strings.Contains(string(conf), "bm90IGEgY2VydA") || !strings.Contains(string(conf), "https://1.2.3.4:6443") {
		t.Fatalf("rebuilt kubeconfig must hold only a valid certificate and the server: %s", conf)
	}
	if !f.Exists("/etc/kubernetes/pki") || !f.Complete() || f.Exists("/etc/other") {
		t.Fatal("existence tracking is wrong")
	}
}

// A block for "/" (or "//", "/.") is no file the script prints: it is dropped, not a
// certificate path that does not exist (found by FuzzParse: testdata/fuzz/FuzzParse/e87f663e50457341).
func TestParseDropsRootBlocks(t *testing.T) {
	f, err := Parse("### CERT /\n-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n### END\n### CERT //.\n### END\n### CERT /etc/a.crt\n### END\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.CertPaths(), " "); got != "/etc/a.crt" {
		t.Fatalf("certificate paths %q", got)
	}
	if data, err := f.ReadFile("/"); err == nil {
		t.Fatalf("/ read as %q", data)
	}
}

// parseSeeds are FuzzParse's seeds (testdata/fuzz/FuzzParse/seed-*, written from this
// list by UPDATE_FUZZ_SEEDS=1): the script's real output over a kubeadm tree when sh is
// there, and hand-made blocks: truncated, CRLF, kubeconfig lines with a valid and an
// invalid certificate, a path with quotes, a key inside a certificate block.
func parseSeeds(f *testing.F) []string {
	tree := certstest.WriteKubeadmTree(f.TempDir(), "https://10.200.0.1:6443")
	var seeds []string
	if sh, err := exec.LookPath("sh"); err == nil {
		out, _ := exec.Command(sh, "-c", Script, "certdoctor", "", tree.Root).Output()
		seeds = append(seeds, string(out))
	}
	admin := tree.Leaves["admin.conf"]
	b64 := base64.StdEncoding.EncodeToString(admin.CertPEM())
	return append(seeds,
		"### CERT /a\n-----BEGIN CERTIFICATE-----\n",
		"### END\n",
		"### CONF /x.conf\nclient-certificate-data: ====\n### END\n",
		"### CONF /etc/kubernetes/admin.conf\nclient-certificate-data: "+b64+"\nserver: https://10.0.0.1:6443\n### END\n### DONE\n",
		"### CONF /etc/kubernetes/kubelet.conf\r\nclient-certificate: /var/lib/kubelet/pki/\"a\\b\".pem\r\nserver: \"https://x\"\r\n### END\r\n",
		"### DIR /etc/kubernetes\n### KEY /etc/kubernetes/pki/ca.key\n### NODIR /var/lib/kubelet/pki\n### CERT /etc/kubernetes/pki/ca.crt\n"+
			string(admin.CertPEM())+string(admin.KeyPEM())+"### END\n### DONE\n",
		"### CONF /.conf\nserver: \x80\n### END",
		"### CERT relative.crt\n"+string(admin.CertPEM())+"### END\n### CONF /etc/x.crt\nserver: s\n### END\n",
	)
}

// yamlText reports whether YAML can hold s as it is: valid UTF-8, no control
// characters but line breaks.
func yamlText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r != '\n' && (unicode.IsControl(r) || r == '\uFEFF') })
}

// FuzzParse: whatever a (tampered) node prints, Parse keeps only certificate lines,
// under absolute clean paths, and rebuilds every kubeconfig as one client-go loads
// (unless the node's own could not be: bytes YAML does not allow), holding nothing but
// the server and a client certificate.
func FuzzParse(f *testing.F) {
	seeds := parseSeeds(f)
	for _, s := range seeds {
		f.Add(s)
	}
	fuzzseed.Write(f, seeds)
	f.Fuzz(func(t *testing.T, s string) {
		files, err := Parse(s)
		if err != nil {
			return
		}
		for _, p := range files.CertPaths() {
			if !strings.HasPrefix(p, "/") || path.Clean(p) != p || !files.Exists(p) {
				t.Fatalf("certificate path %q", p)
			}
			data, _ := files.ReadFile(p)
			for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
				if line != "" && line != "-----BEGIN CERTIFICATE-----" && line != "-----END CERTIFICATE-----" && !isBase64(line) {
					t.Fatalf("kept %q", line)
				}
			}
		}
		for p, data := range files.data {
			if !strings.HasSuffix(p, ".conf") {
				continue
			}
			cfg, err := clientcmd.Load(data)
			if err != nil && !yamlText(string(data)) {
				continue // as unloadable as the node's own file: YAML holds no such bytes
			}
			if err != nil {
				t.Fatalf("the kubeconfig rebuilt for %s does not load: %v\n%s", p, err, data)
			}
			for name, ai := range cfg.AuthInfos {
				if len(ai.ClientKeyData) > 0 || ai.ClientKey != "" || ai.Token != "" || ai.TokenFile != "" || ai.Exec != nil || ai.AuthProvider != nil || ai.Password != "" {
					t.Fatalf("the kubeconfig rebuilt for %s gives user %s more than a certificate: %s", p, name, data)
				}
				if len(ai.ClientCertificateData) > 0 {
					if _, err := certs.ParseBundle(ai.ClientCertificateData); err != nil {
						t.Fatalf("the kubeconfig rebuilt for %s holds client-certificate-data that is no certificate: %v", p, err)
					}
				}
			}
		}
	})
}

func TestPresetWithDirs(t *testing.T) {
	p := Presets["kubeadm"].WithDirs(KubeadmDirs{PKIDir: "/srv/k8s/pki", KubeconfigDir: "/tmp/x"})
	if strings.Join(p.Dirs, " ") != "/tmp/x /var/lib/kubelet/pki /srv/k8s/pki" || p.APIServerCert != "/srv/k8s/pki/apiserver.crt" || p.KubeconfigDir != "/tmp/x" {
		t.Fatalf("%+v", p)
	}
	if q := Presets["kubeadm"].WithDirs(KubeadmDirs{KubeconfigDir: "/tmp/y", PKIDir: "/tmp/y/pki"}); strings.Join(q.Dirs, " ") != "/tmp/y /var/lib/kubelet/pki" {
		t.Fatalf("a PKI dir below the kubeconfig dir is mounted with it: %+v", q.Dirs)
	}
	if k := Presets["k3s"].WithDirs(KubeadmDirs{PKIDir: "/x"}); k.PKIDir != "" {
		t.Fatal("other layouts ignore kubeadm directories")
	}
}

// sa.pub is read as public keys only: a .pub file that holds a private key (by mistake or
// on purpose) yields nothing of it, and sa.key is reported by name alone.
func TestScriptReadsOnlyPublicKeys(t *testing.T) {
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	for name, data := range map[string][]byte{"sa.pub": pub, "sa.key": priv, "evil.pub": append(append([]byte{}, priv...), pub...)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out := runScript(t, dir)
	privBody := strings.Split(string(priv), "\n")[1]
	if strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, privBody[:20]) {
		t.Fatalf("the script printed private key material:\n%s", out)
	}
	files, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sa.pub", "evil.pub"} {
		got, ok := files.PublicKeys(filepath.Join(dir, name))
		b, _ := pem.Decode(got)
		if !ok || b == nil || b.Type != "PUBLIC KEY" || !bytes.Equal(b.Bytes, pubDER) {
			t.Errorf("%s: public key %q, %v", name, got, ok)
		}
	}
	if _, ok := files.PublicKeys(filepath.Join(dir, "sa.key")); ok || !files.Exists(filepath.Join(dir, "sa.key")) {
		t.Errorf("sa.key must be known by name only")
	}
}
