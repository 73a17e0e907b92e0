package sources

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	discoveryfake "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// serveTLS presents leaf and chain on a loopback port; it returns the URL.
func serveTLS(t *testing.T, leaf *certstest.Pair, chain ...*certstest.Pair) string {
	return "https://" + certstest.ServeTLS(t, certstest.TLSConfig(leaf, chain...))
}

func TestAPIServer(t *testing.T) {
	ca := certstest.NewCA("kubernetes")
	good := ca.Issue(certstest.Opts{CN: "kube-apiserver", IPs: []string{"127.0.0.1"}})
	exp := certstest.Expired()
	exp.CN, exp.IPs = "kube-apiserver", []string{"127.0.0.1"}
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedURL := "https://" + closed.Addr().String()
	closed.Close()
	tests := []struct {
		name    string
		server  string
		caData  []byte
		code    string
		inError string
		trusted bool
		reached bool
	}{
		{"healthy", serveTLS(t, good), ca.CertPEM(), "", "", true, true},
		{"expired", serveTLS(t, ca.Issue(exp)), ca.CertPEM(), diagnose.CodeExpired, "x509: certificate has expired or is not yet valid", false, true},
		{"other CA", serveTLS(t, certstest.NewCA("other").Issue(certstest.Opts{CN: "kube-apiserver", IPs: []string{"127.0.0.1"}})), ca.CertPEM(),
			diagnose.CodeUnknownAuthority, "x509: certificate signed by unknown authority", false, true},
		{"service IP missing", serveTLS(t, ca.Issue(certstest.Opts{CN: "kube-apiserver", IPs: []string{"172.16.0.1", "192.168.0.1"}})), ca.CertPEM(),
			diagnose.CodeHostnameMismatch, "x509: certificate is valid for 172.16.0.1, 192.168.0.1, not 127.0.0.1", false, true},
		{"unreachable", closedURL, ca.CertPEM(), diagnose.CodeUnreachable, "connection refused", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestCollector()
			a := &APIServer{Server: tt.server, CAData: tt.caData, Timeout: 2 * time.Second}
			if err := a.Collect(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			recs, fs, _ := c.Results()
			if a.Trusted != tt.trusted || a.Reached != tt.reached {
				t.Fatalf("trusted=%v reached=%v, want %v %v; findings %s", a.Trusted, a.Reached, tt.trusted, tt.reached, dump(fs))
			}
			if tt.code == "" {
				if len(fs) != 0 || len(recs) != 1 {
					t.Fatalf("healthy server: records %d, findings %s", len(recs), dump(fs))
				}
				return
			}
			f := mustFind(t, fs, tt.code, "")
			if f.Source != result.SourceAPIServer || !strings.Contains(f.Error, tt.inError) {
				t.Fatalf("finding %s: want error containing %q", dump(f), tt.inError)
			}
			if len(fs) != 1 {
				t.Errorf("one cause, one finding; got %s", dump(fs))
			}
		})
	}
}

func TestKubeconfigSource(t *testing.T) {
	ca := certstest.NewCA("kubernetes")
	exp := certstest.Expired()
	exp.CN, exp.Client = "kubernetes-admin", true
	expired := ca.Issue(exp)
	dir := t.TempDir()
	certFile := filepath.Join(dir, "client.crt")
	if err := os.WriteFile(certFile, ca.Issue(certstest.Opts{CN: "dev", Client: true}).CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := clientcmdapi.Config{
		Clusters: map[string]*clientcmdapi.Cluster{
			"prod": {Server: "https://127.0.0.1:6443", CertificateAuthorityData: ca.CertPEM()},
			"lab":  {Server: "https://127.0.0.1:6443", InsecureSkipTLSVerify: true},
		},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{
			"admin":   {ClientCertificateData: expired.CertPEM(), ClientKeyData: expired.KeyPEM()},
			"dev":     {ClientCertificate: certFile},
			"broken":  {ClientCertificate: filepath.Join(dir, "missing.crt")},
			"tokenly": {Token: "abc"},
		},
		Contexts: map[string]*clientcmdapi.Context{
			"prod": {Cluster: "prod", AuthInfo: "admin"}, "dev": {Cluster: "prod", AuthInfo: "dev"},
			"broken": {Cluster: "prod", AuthInfo: "broken"}, "lab": {Cluster: "lab", AuthInfo: "tokenly"},
		},
	}
	run := func(ctx string) ([]result.Record, []result.Finding, []string) {
		c := newTestCollector()
		if err := (&Kubeconfig{Config: cfg, ContextName: ctx}).Collect(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		assertNoKeyMaterial(t, c, expired.KeyPEM())
		return c.Results()
	}
	recs, fs, _ := run("prod")
	if len(recs) != 2 {
		t.Fatalf("want client cert and CA, got %s", dump(recs))
	}
	f := mustFind(t, fs, diagnose.CodeExpired, "user admin")
	if f.Error != "You must be logged in to the server (Unauthorized)" || !strings.Contains(f.Fix, "kubeadm certs renew admin.conf") {
		t.Errorf("expired client cert finding: %s", dump(f))
	}
	if recs, fs, _ := run("dev"); len(fs) != 0 || !strings.Contains(recs[0].Location+recs[1].Location, certFile) {
		t.Errorf("client cert from a file: %s %s", dump(recs), dump(fs))
	}
	_, fs, _ = run("broken")
	mustFind(t, fs, diagnose.CodeKubeconfigInvalid, "missing.crt")
	_, fs, notes := run("lab")
	mustFind(t, fs, "InsecureSkipTLSVerify", "cluster lab")
	if !strings.Contains(strings.Join(notes, "|"), "token or an exec plugin") {
		t.Errorf("notes %v", notes)
	}
}

func TestCertManager(t *testing.T) {
	gvr := CertificateGVR
	cert := func(name, notAfter, renewal, ready string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
			"metadata": map[string]any{"namespace": "web", "name": name},
			"spec":     map[string]any{"secretName": name + "-tls", "dnsNames": []any{name + ".example.com"}, "issuerRef": map[string]any{"name": "letsencrypt"}},
			"status": map[string]any{"notBefore": time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339), "notAfter": notAfter, "renewalTime": renewal,
				"conditions": []any{map[string]any{"type": "Ready", "status": ready, "reason": "Failing", "message": "Issuer letsencrypt not ready"}}},
		}}
		return u
	}
	day := func(d float64) string { return certstest.Days(d).UTC().Format(time.RFC3339) }
	scheme := runtime.NewScheme()
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme, map[schema.GroupVersionResource]string{gvr: "CertificateList"},
		cert("fine", day(80), day(50), "True"), cert("gone", day(-1), day(-31), "False"), cert("stuck", day(20), day(-10), "True"))
	disc := &discoveryfake.FakeDiscovery{Fake: &k8stesting.Fake{Resources: []*metav1.APIResourceList{{GroupVersion: "cert-manager.io/v1",
		APIResources: []metav1.APIResource{{Name: "certificates", Kind: "Certificate", Namespaced: true}}}}}}
	c := newTestCollector()
	if err := (&CertManager{Discovery: disc, Dynamic: dyn}).Collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	recs, fs, _ := c.Results()
	if len(recs) != 3 {
		t.Fatalf("records: %s", dump(recs))
	}
	e := mustFind(t, fs, diagnose.CodeExpired, "certificate web/gone")
	if !strings.Contains(e.Fix, "cmctl renew gone -n web") {
		t.Errorf("fix %q", e.Fix)
	}
	nr := mustFind(t, fs, diagnose.CodeCertificateNotReady, "certificate web/gone")
	if !strings.Contains(nr.Message, "Issuer letsencrypt not ready") {
		t.Errorf("not-ready message %q", nr.Message)
	}
	mustFind(t, fs, "CertificateRenewalOverdue", "certificate web/stuck")
	mustFind(t, fs, diagnose.CodeExpiring, "certificate web/stuck")
	if len(findingsWith(fs, "", "web/fine")) != 0 {
		t.Errorf("a healthy Certificate gave findings: %s", dump(fs))
	}

	// Without the CRD: a note, no finding, no error.
	c = newTestCollector()
	empty := &discoveryfake.FakeDiscovery{Fake: &k8stesting.Fake{}}
	if err := (&CertManager{Discovery: empty, Dynamic: dyn}).Collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if _, fs, notes := c.Results(); len(fs) != 0 || len(notes) != 1 || !strings.Contains(notes[0], "cert-manager is not installed") {
		t.Fatalf("without cert-manager: %s %v", dump(fs), notes)
	}
}
