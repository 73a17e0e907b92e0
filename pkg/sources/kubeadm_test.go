package sources

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

func kubeadmSource(tree *certstest.KubeadmTree, served ServedFunc) *KubeadmPKI {
	return &KubeadmPKI{SourceName: result.SourceLocal, Node: "cp1", Files: OSFiles{}, PKIDir: tree.PKIDir(),
		KubeconfigDir: tree.KubeconfigDir(), KubeletPKIDir: tree.KubeletPKIDir(), Served: served}
}

// servedFromTree answers like healthy components: each serves its file on disk.
func servedFromTree(_ context.Context, _ string, onDisk *x509.Certificate) ([]*x509.Certificate, string, error) {
	return []*x509.Certificate{onDisk}, "127.0.0.1", nil
}

func collectKubeadm(t *testing.T, src *KubeadmPKI) ([]result.Record, []result.Finding, *Collector) {
	t.Helper()
	c := newTestCollector()
	if err := src.Collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	recs, fs, _ := c.Results()
	return recs, fs, c
}

func TestKubeadmPKIHealthy(t *testing.T) {
	tree := certstest.WriteKubeadmTree(t.TempDir(), "https://127.0.0.1:6443")
	recs, fs, c := collectKubeadm(t, kubeadmSource(tree, servedFromTree))
	if len(fs) != 0 {
		t.Fatalf("healthy PKI gave findings: %s", dump(fs))
	}
	want := map[string]string{ // kubeadm name -> table
		"admin.conf": result.TableCertificates, "apiserver": result.TableCertificates, "apiserver-etcd-client": result.TableCertificates,
		"apiserver-kubelet-client": result.TableCertificates, "controller-manager.conf": result.TableCertificates,
		"etcd-healthcheck-client": result.TableCertificates, "etcd-peer": result.TableCertificates, "etcd-server": result.TableCertificates,
		"front-proxy-client": result.TableCertificates, "scheduler.conf": result.TableCertificates, "super-admin.conf": result.TableCertificates,
		"ca": result.TableAuthorities, "etcd-ca": result.TableAuthorities, "front-proxy-ca": result.TableAuthorities,
		"kubelet.conf": result.TableKubelet, "kubelet-client-current.pem": result.TableKubelet, "kubelet.crt": result.TableKubelet,
	}
	got := map[string]string{}
	for _, r := range recs {
		if r.Kubeadm == nil || r.CertInfo == nil || r.Status != result.StatusOK {
			t.Fatalf("bad record %s", dump(r))
		}
		got[r.Kubeadm.Name] = r.Kubeadm.Table
		if p := tree.Leaves[r.Kubeadm.Name]; p != nil && r.Serial != p.Cert.SerialNumber.Text(16) {
			t.Errorf("%s: serial %s, want the file's %s", r.Kubeadm.Name, r.Serial, p.Cert.SerialNumber.Text(16))
		}
	}
	if dump(got) != dump(want) {
		t.Fatalf("rows:\n%s\nwant:\n%s", dump(got), dump(want))
	}
	var keys [][]byte
	for _, p := range tree.Leaves {
		keys = append(keys, p.KeyPEM())
	}
	assertNoKeyMaterial(t, c, keys...)
}

func TestKubeadmPKIFaults(t *testing.T) {
	tests := []struct {
		name     string
		breakIt  func(tree *certstest.KubeadmTree)
		code     string
		subject  string
		severity result.Severity
		fix      string
	}{
		{"expired front-proxy-client", func(tree *certstest.KubeadmTree) {
			o := certstest.Expired()
			o.CN, o.Client = "front-proxy-client", true
			tree.Replace("front-proxy-client", "front-proxy-client", tree.CAs["front-proxy-ca"].Issue(o))
		}, diagnose.CodeExpired, "front-proxy-client.crt", result.Critical, "kubeadm certs renew front-proxy-client"},
		{"etcd server from another CA", func(tree *certstest.KubeadmTree) {
			tree.Replace("etcd-server", "etcd/server", certstest.NewCA("rogue").Issue(certstest.Opts{CN: "cp1"}))
		}, diagnose.CodeWrongIssuer, "etcd-server", result.Critical, "kubeadm certs renew etcd-server"},
		{"etcd server signed by its CA with SHA-1 (Go refuses it; not another CA)", func(tree *certstest.KubeadmTree) {
			tree.Replace("etcd-server", "etcd/server", tree.CAs["etcd-ca"].Issue(certstest.Opts{CN: "cp1", SHA1: true}))
		}, diagnose.CodeInsecureSignature, "etcd-server", result.Critical, "SHA-256"},
		{"scheduler.conf removed", func(tree *certstest.KubeadmTree) {
			if err := os.Remove(filepath.Join(tree.Root, "scheduler.conf")); err != nil {
				t.Fatal(err)
			}
		}, diagnose.CodeMissing, "scheduler.conf", result.Critical, "kubeadm init phase kubeconfig scheduler --config kubeadm.yaml"},
		{"admin.conf client cert expiring", func(tree *certstest.KubeadmTree) {
			tree.WriteKubeconfig("admin.conf", tree.CAs["ca"].Issue(certstest.Opts{CN: "kubernetes-admin", Client: true, NotAfter: certstest.Days(5)}))
		}, diagnose.CodeExpiring, "admin.conf", result.Warning, "kubeadm certs renew admin.conf"},
		{"a key in ca.crt", func(tree *certstest.KubeadmTree) {
			if err := os.WriteFile(filepath.Join(tree.PKIDir(), "ca.crt"), tree.CAs["ca"].KeyPEM(), 0o644); err != nil {
				t.Fatal(err)
			}
		}, diagnose.CodeInvalid, "pki/ca.crt", result.Critical, "restore the CA certificate from a backup"},
		{"truncated apiserver.crt", func(tree *certstest.KubeadmTree) {
			pem := tree.Leaves["apiserver"].CertPEM()
			if err := os.WriteFile(filepath.Join(tree.PKIDir(), "apiserver.crt"), pem[:len(pem)/2], 0o644); err != nil {
				t.Fatal(err)
			}
		}, diagnose.CodeInvalid, "apiserver.crt", result.Critical, "kubeadm init phase certs apiserver"},
		{"apiserver.crt removed", func(tree *certstest.KubeadmTree) {
			if err := os.Remove(filepath.Join(tree.PKIDir(), "apiserver.crt")); err != nil {
				t.Fatal(err)
			}
		}, diagnose.CodeMissing, "apiserver.crt", result.Critical, "kubeadm init phase certs apiserver --config kubeadm.yaml"},
		{"garbage apiserver.crt", func(tree *certstest.KubeadmTree) {
			if err := os.WriteFile(filepath.Join(tree.PKIDir(), "apiserver.crt"), []byte("not a certificate"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, diagnose.CodeInvalid, "apiserver.crt", result.Critical, "kubeadm init phase certs apiserver --config kubeadm.yaml"},
		{"expired kubelet client cert", func(tree *certstest.KubeadmTree) {
			o := certstest.Expired()
			o.CN, o.Client = "system:node:cp1", true
			kc := tree.CAs["ca"].Issue(o)
			if err := os.WriteFile(filepath.Join(tree.KubeletPKIDir(), "kubelet-client-current.pem"), append(kc.CertPEM(), kc.KeyPEM()...), 0o600); err != nil {
				t.Fatal(err)
			}
		}, diagnose.CodeExpired, "kubelet-client-current.pem", result.Critical, "kubeadm kubeconfig user --org system:nodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := certstest.WriteKubeadmTree(t.TempDir(), "https://127.0.0.1:6443")
			tt.breakIt(tree)
			_, fs, _ := collectKubeadm(t, kubeadmSource(tree, nil))
			f := findingsWith(fs, tt.code, tt.subject)
			if len(f) == 0 {
				t.Fatalf("no %s finding about %s in %s", tt.code, tt.subject, dump(fs))
			}
			if f[0].Severity != tt.severity || !strings.Contains(f[0].Fix, tt.fix) {
				t.Fatalf("finding %s: want severity %s and fix containing %q", dump(f[0]), tt.severity, tt.fix)
			}
			if tt.code == diagnose.CodeInsecureSignature && (len(findingsWith(fs, diagnose.CodeWrongIssuer, "")) != 0 ||
				!strings.Contains(f[0].Error, `possibly because of "x509: cannot verify signature: insecure algorithm ECDSA-SHA1"`)) {
				t.Fatalf("the right CA with a refused algorithm is not a wrong issuer, and the error is Go's: %s", dump(fs))
			}
		})
	}
}

func TestKubeadmPKIExternallyManagedAndExternalEtcd(t *testing.T) {
	tree := certstest.WriteKubeadmTree(t.TempDir(), "https://127.0.0.1:6443")
	if err := os.Remove(filepath.Join(tree.PKIDir(), "front-proxy-ca.key")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(tree.PKIDir(), "etcd")); err != nil {
		t.Fatal(err)
	}
	recs, fs, c := collectKubeadm(t, kubeadmSource(tree, nil))
	for _, r := range recs {
		switch r.Kubeadm.Name {
		case "front-proxy-ca", "front-proxy-client":
			if !r.Kubeadm.ExternallyManaged {
				t.Errorf("%s: want externally managed (CA key absent)", r.Kubeadm.Name)
			}
		case "ca", "apiserver":
			if r.Kubeadm.ExternallyManaged {
				t.Errorf("%s: CA key present, must not be externally managed", r.Kubeadm.Name)
			}
		case "etcd-server", "etcd-peer", "etcd-ca", "etcd-healthcheck-client":
			t.Errorf("%s listed although etcd is external", r.Kubeadm.Name)
		}
	}
	if len(fs) != 0 {
		t.Fatalf("findings: %s", dump(fs))
	}
	if _, _, notes := c.Results(); !strings.Contains(strings.Join(notes, "\n"), "etcd is external") {
		t.Fatalf("notes %v do not say etcd is external", notes)
	}
}

func TestKubeadmPKIRenewedButNotRestarted(t *testing.T) {
	tree := certstest.WriteKubeadmTree(t.TempDir(), "https://127.0.0.1:6443")
	old := tree.Leaves["apiserver"]
	tree.Replace("apiserver", "apiserver", tree.CAs["ca"].Issue(certstest.Opts{CN: "kube-apiserver", IPs: []string{"127.0.0.1"}}))
	served := func(_ context.Context, comp string, onDisk *x509.Certificate) ([]*x509.Certificate, string, error) {
		if comp == "kube-apiserver" {
			return []*x509.Certificate{old.Cert}, "10.0.0.1:6443", nil
		}
		return []*x509.Certificate{onDisk}, "127.0.0.1", nil
	}
	_, fs, _ := collectKubeadm(t, kubeadmSource(tree, served))
	f := mustFind(t, fs, diagnose.CodeStaleServing, "kube-apiserver")
	for _, want := range []string{"renewed on disk but kube-apiserver still serves the old one", old.Cert.SerialNumber.Text(16)} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message %q lacks %q", f.Message, want)
		}
	}
	if !strings.Contains(f.Fix, "crictl stop $(crictl ps --name '^kube-apiserver$' -q)") {
		t.Errorf("fix %q lacks the restart step", f.Fix)
	}
	if len(fs) != 1 {
		t.Errorf("only the stale apiserver is wrong, got %s", dump(fs))
	}
}

func TestKubeadmPKINotADirectory(t *testing.T) {
	src := &KubeadmPKI{SourceName: result.SourceLocal, Files: OSFiles{}, PKIDir: filepath.Join(t.TempDir(), "nope")}
	err := src.Collect(context.Background(), newTestCollector())
	if err == nil || !strings.Contains(err.Error(), "--pki-dir") {
		t.Fatalf("want an error pointing at --pki-dir, got %v", err)
	}
}

func TestRecordJSONHasNoCertificateBytes(t *testing.T) {
	tree := certstest.WriteKubeadmTree(t.TempDir(), "https://127.0.0.1:6443")
	recs, _, _ := collectKubeadm(t, kubeadmSource(tree, nil))
	b, err := json.Marshal(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "BEGIN") || strings.Contains(string(b), "\"Cert\"") {
		t.Fatalf("record JSON carries certificate data: %s", b)
	}
}
