package sources

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/certdoctor/kubectl-certdoctor/internal/fuzzseed"
	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
)

// kubeconfigSeeds are FuzzKubeconfig's seeds (testdata/fuzz/FuzzKubeconfig/seed-*,
// written from this list by UPDATE_FUZZ_SEEDS=1): kubeconfigs as kubectl writes them,
// with inline and file credentials, and the broken shapes users meet.
func kubeconfigSeeds(t testing.TB) [][]byte {
	ca := certstest.NewCA("kubernetes")
	admin := ca.Issue(certstest.Opts{CN: "kubernetes-admin", Org: []string{"kubeadm:cluster-admins"}, Client: true})
	exp := certstest.Expired()
	exp.CN, exp.Client = "old-admin", true
	expired := ca.Issue(exp)
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	write := func(cfg *clientcmdapi.Config) []byte {
		data, err := clientcmd.Write(*cfg)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	inline := clientcmdapi.NewConfig()
	inline.Clusters["k"] = &clientcmdapi.Cluster{Server: "https://10.0.0.1:6443", CertificateAuthorityData: ca.CertPEM()}
	inline.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: admin.CertPEM(), ClientKeyData: admin.KeyPEM()}
	inline.AuthInfos["old"] = &clientcmdapi.AuthInfo{ClientCertificateData: certstest.Bundle(expired, ca), ClientKeyData: expired.KeyPEM()}
	inline.Contexts["admin@k"] = &clientcmdapi.Context{Cluster: "k", AuthInfo: "admin"}
	inline.Contexts["old@k"] = &clientcmdapi.Context{Cluster: "k", AuthInfo: "old"}
	inline.CurrentContext = "admin@k"

	files := clientcmdapi.NewConfig()
	files.Clusters["lab"] = &clientcmdapi.Cluster{Server: "https://lab:6443", CertificateAuthority: "/etc/kubernetes/pki/ca.crt"}
	files.Clusters["insecure"] = &clientcmdapi.Cluster{Server: "https://1.2.3.4", InsecureSkipTLSVerify: true}
	files.AuthInfos["dev"] = &clientcmdapi.AuthInfo{ClientCertificate: "dev.crt", ClientKey: "dev.key"}
	files.AuthInfos["token"] = &clientcmdapi.AuthInfo{Token: "abc"}
	files.AuthInfos["exec"] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{Command: "gke-gcloud-auth-plugin", APIVersion: "client.authentication.k8s.io/v1beta1"}}
	files.Contexts["dev"] = &clientcmdapi.Context{Cluster: "lab", AuthInfo: "dev"}
	files.Contexts["token"] = &clientcmdapi.Context{Cluster: "insecure", AuthInfo: "token"}
	files.Contexts["exec"] = &clientcmdapi.Context{Cluster: "lab", AuthInfo: "exec"}
	files.Contexts["dangling"] = &clientcmdapi.Context{Cluster: "nope", AuthInfo: "nobody"}
	files.CurrentContext = "dev"

	return [][]byte{
		write(inline),
		write(files),
		// A key where the certificate belongs, and a certificate that is not base64.
		[]byte("apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: https://c\n" +
			"    certificate-authority-data: " + b64(ca.CertPEM()) + "\nusers:\n- name: u\n  user:\n" +
			"    client-certificate-data: " + b64(admin.KeyPEM()) + "\n    client-key-data: " + b64(admin.KeyPEM()) +
			"\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\n"),
		[]byte("apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster: {server: https://c, certificate-authority-data: 12345}\n" +
			"users:\n- name: u\n  user: {client-certificate-data: '-----BEGIN CERTIFICATE-----', client-key-data: 'not base64!'}\n" +
			"contexts:\n- name: c\n  context: {cluster: c, user: u}\n"),
		[]byte("apiVersion: v1\nkind: Config\nusers: {admin: {client-certificate-data: x}}\nclusters: 7\n"),
		[]byte(`{"apiVersion":"v1","kind":"Config","current-context":"c","clusters":[{"name":"c","cluster":{"server":"https://c","certificate-authority-data":"` +
			b64(ca.Cert.Raw) + `"}}],"users":[{"name":"u","user":{"client-certificate-data":"` + b64(admin.Cert.Raw) +
			`"}}],"contexts":[{"name":"c","context":{"cluster":"c","user":"u"}}]}`),
		// Values that JSON cannot carry to YAML (the fuzzer's find): a long key, escapes.
		[]byte("? " + strings.Repeat("k", 1100) + "\n: v\nusers:\n- name: u\n  user: {client-certificate-data: 'not base64!'}\n"),
		[]byte("current-context: \"a\\x7fb\\u0080c\\u0085d\"\nusers:\n- name: u\n  user: {client-certificate-data: 'not base64!'}\n"),
		[]byte(""),
		[]byte("# no contexts yet\n"),
		[]byte("- just\n- a list\n"),
	}
}

// FuzzKubeconfig is expiry's kubeconfig check on any kubeconfig bytes, as the command
// runs it: load them with client-go, or when that fails without the fields
// certs.KubeconfigProblems names, then collect every context (and one with --user and
// --cluster overrides). Nothing panics; a file client-go loads has no problems; the
// problems' errors and the results never hold a private key; every finding renders.
func FuzzKubeconfig(f *testing.F) {
	seeds := kubeconfigSeeds(f)
	for _, s := range seeds {
		f.Add(s)
	}
	fuzzseed.Write(f, seeds)
	// File references point into dir, whatever the input says: a valid certificate, a
	// file that holds none, or no file at all (never the machine's own files).
	dir := f.TempDir()
	ca := certstest.NewCA("file-ca")
	refs := []string{filepath.Join(dir, "valid.crt"), filepath.Join(dir, "garbage.crt"), filepath.Join(dir, "missing.crt")}
	if err := os.WriteFile(refs[0], ca.CertPEM(), 0o600); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(refs[1], []byte("not a certificate\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	ref := func(p string) string {
		if p == "" {
			return ""
		}
		return refs[len(p)%len(refs)]
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkKubeconfig(t, data, ref) })
}

// checkKubeconfig is FuzzKubeconfig's check of one input; ref maps the file names in it.
func checkKubeconfig(t testing.TB, data []byte, ref func(string) string) {
	cfg, loadErr := clientcmd.Load(data)
	clean, problems, perr := certs.KubeconfigProblems(data)
	if loadErr == nil && (perr != nil || len(problems) > 0) {
		t.Fatalf("client-go loads the file, KubeconfigProblems says %v %v", perr, problems)
	}
	for _, p := range problems {
		if secretIn(data, p.Error()) {
			t.Fatalf("problem %q quotes the file's key material", p.Error())
		}
	}
	if loadErr != nil {
		if perr != nil || len(problems) == 0 {
			return // the command reports client-go's error as it is
		}
		if _, again, err := certs.KubeconfigProblems(clean); err != nil || len(again) > 0 {
			t.Fatalf("the file without the fields named still has problems: %v %v", err, again)
		}
		if cfg, loadErr = clientcmd.Load(clean); loadErr != nil {
			return // something else is wrong with it: the command reports client-go's error
		}
	}
	for _, ai := range cfg.AuthInfos {
		ai.ClientCertificate, ai.ClientKey = ref(ai.ClientCertificate), ref(ai.ClientKey)
	}
	for _, cl := range cfg.Clusters {
		cl.CertificateAuthority = ref(cl.CertificateAuthority)
	}
	names := make([]string, 0, len(cfg.Contexts))
	for n := range cfg.Contexts {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > 4 {
		names = names[:4]
	}
	runs := []*Kubeconfig{{Config: *cfg, ContextName: "no such context"}}
	for i, n := range names {
		k := &Kubeconfig{Config: *cfg, ContextName: n}
		if i%2 == 1 {
			k.ClientErr = errors.New("tls: failed to find any PEM data in certificate input")
		}
		runs = append(runs, k)
	}
	if len(names) > 0 {
		var user, cluster string
		for n := range cfg.AuthInfos {
			user = max(user, n)
		}
		for n := range cfg.Clusters {
			cluster = max(cluster, n)
		}
		runs = append(runs, &Kubeconfig{Config: *cfg, ContextName: names[0], UserName: user, ClusterName: cluster})
	}
	for _, k := range runs {
		c := newTestCollector()
		err := k.Collect(context.Background(), c)
		if (err != nil) != (cfg.Contexts[k.ContextName] == nil) {
			t.Fatalf("context %q: Collect error %v", k.ContextName, err)
		}
		recs, fs, notes := c.Results()
		out := dump(recs) + dump(fs) + dump(notes)
		if strings.Contains(out, "PRIVATE KEY") || secretIn(data, out) {
			t.Fatalf("context %q: the results hold key material: %s", k.ContextName, out)
		}
		for _, r := range recs {
			if r.Source != k.Name() || r.Location == "" {
				t.Fatalf("context %q: record %s", k.ContextName, dump(r))
			}
		}
		for _, fd := range fs {
			if fd.Code == "" || fd.Message == "" || strings.Contains(fd.Message+fd.Error+fd.Fix, "<no value>") {
				t.Fatalf("context %q: finding %s", k.ContextName, dump(fd))
			}
		}
	}
}

// secretIn reports whether out holds 20 characters of the base64 body of a private key
// that data carries, as PEM or as a kubeconfig's base64 client-key-data.
func secretIn(data []byte, out string) bool {
	var bodies []string
	collect := func(b []byte) {
		for {
			var block *pem.Block
			block, b = pem.Decode(b)
			if block == nil {
				return
			}
			if strings.Contains(block.Type, "PRIVATE KEY") && len(block.Bytes) >= 32 {
				bodies = append(bodies, base64.StdEncoding.EncodeToString(block.Bytes))
			}
		}
	}
	collect(data)
	for _, field := range strings.Fields(string(data)) {
		field = strings.Trim(field, `"',{}`)
		if len(field) > 40 {
			if b, err := base64.StdEncoding.DecodeString(field); err == nil {
				collect(b)
			}
		}
	}
	for _, body := range bodies {
		for i := 0; i+20 <= len(body); i += 20 {
			if strings.Contains(out, body[i:i+20]) {
				return true
			}
		}
	}
	return false
}
