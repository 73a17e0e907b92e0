package sources

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// csrKeys are the private keys of the requests the tests make, to prove none leaks.
var csrKeys [][]byte

// csrRequest is a PKCS#10 request as a kubelet makes it: CN system:node:NODE, O
// system:nodes, with the given SANs; with no node, one for CN "app".
func csrRequest(t *testing.T, node string, dns []string, ips ...string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: nodePrefix + node, Organization: []string{"system:nodes"}}, DNSNames: dns}
	if node == "" {
		tmpl.Subject = pkix.Name{CommonName: "app"}
	}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	csrKeys = append(csrKeys, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// csrOpt shapes a test CSR.
type csrOpt func(*certificatesv1.CertificateSigningRequest)

func csrCondition(typ certificatesv1.RequestConditionType, ago time.Duration, reason string) csrOpt {
	return func(c *certificatesv1.CertificateSigningRequest) {
		c.Status.Conditions = append(c.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{Type: typ,
			Status: corev1.ConditionTrue, Reason: reason, LastUpdateTime: metav1.NewTime(time.Now().Add(-ago))})
	}
}

func issued(c *certificatesv1.CertificateSigningRequest) {
	csrCondition(certificatesv1.CertificateApproved, time.Hour, "AutoApproved")(c)
	c.Status.Certificate = []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
}

func requestedBy(user string) csrOpt {
	return func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Username = user }
}

func withRequest(req []byte) csrOpt {
	return func(c *certificatesv1.CertificateSigningRequest) { c.Spec.Request = req }
}

func newCSR(t *testing.T, name, node, signer string, age time.Duration, opts ...csrOpt) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	var req []byte
	if signer == certificatesv1.KubeletServingSignerName {
		req = csrRequest(t, node, []string{node, node + ".example.internal"}, "10.0.0.7")
	} else {
		req = csrRequest(t, node, nil)
	}
	c := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(time.Now().Add(-age))},
		Spec:       certificatesv1.CertificateSigningRequestSpec{SignerName: signer, Request: req, Username: nodePrefix + node}}
	for _, o := range opts {
		o(c)
	}
	return c
}

const (
	serving = certificatesv1.KubeletServingSignerName
	client  = certificatesv1.KubeAPIServerClientKubeletSignerName
)

func collectCSRs(t *testing.T, objs ...runtime.Object) (*Collector, []result.Finding) {
	t.Helper()
	c, fs, _ := collectOnlyFindings(t, &CSRs{Client: fake.NewClientset(objs...)})
	return c, fs
}

func TestCSRs(t *testing.T) {
	c, fs := collectCSRs(t,
		// node-a asked three times for a serving certificate; nobody approved.
		newCSR(t, "csr-a1", "node-a", serving, 3*time.Hour),
		newCSR(t, "csr-a2", "node-a", serving, 2*time.Hour),
		newCSR(t, "csr-a3", "node-a", serving, 10*time.Minute),
		// node-b: its old pending request was superseded by an issued one.
		newCSR(t, "csr-b1", "node-b", serving, 2*time.Hour),
		newCSR(t, "csr-b2", "node-b", serving, time.Hour, issued),
		// node-c's kubelet client request was denied.
		newCSR(t, "csr-c1", "node-c", client, 20*time.Minute, requestedBy("system:bootstrap:abcdef"),
			csrCondition(certificatesv1.CertificateDenied, 15*time.Minute, "PolicyDenied")),
		// node-d's client request waits.
		newCSR(t, "csr-d1", "node-d", client, 40*time.Minute, requestedBy("system:bootstrap:abcdef")),
		// A custom signer gave up.
		newCSR(t, "csr-e1", "", "example.com/issuer", 30*time.Minute, requestedBy("ci-bot"),
			csrCondition(certificatesv1.CertificateApproved, 30*time.Minute, ""),
			csrCondition(certificatesv1.CertificateFailed, 25*time.Minute, "SigningError")),
		// Approved for a kubernetes.io signer, never issued: old, then fresh.
		newCSR(t, "csr-f1", "node-f", serving, 20*time.Minute, csrCondition(certificatesv1.CertificateApproved, 15*time.Minute, "")),
		newCSR(t, "csr-g1", "node-g", serving, 3*time.Minute, csrCondition(certificatesv1.CertificateApproved, time.Minute, "")),
		// Healthy: issued, recently and long ago.
		newCSR(t, "csr-h1", "node-h", serving, 2*time.Minute, issued),
		newCSR(t, "csr-h2", "node-h", client, 300*24*time.Hour, issued),
		// Another signer's request may wait for its signer's own approver.
		newCSR(t, "csr-i1", "", "example.com/issuer", time.Hour, requestedBy("ci-bot")),
		// Approved for another signer, not issued yet: it may batch.
		newCSR(t, "csr-j1", "", "example.com/issuer", time.Hour, requestedBy("ci-bot2"), csrCondition(certificatesv1.CertificateApproved, 50*time.Minute, "")),
		// Denied for another signer.
		newCSR(t, "csr-k1", "", "example.com/issuer", time.Hour, requestedBy("web-bot"), csrCondition(certificatesv1.CertificateDenied, 50*time.Minute, "NotAllowed")),
	)
	assertNoKeyMaterial(t, c, csrKeys...)
	if len(fs) != 6 {
		t.Errorf("want 6 findings (node-a, node-c, node-d, csr-e1, node-f, csr-k1), got %d: %s", len(fs), dump(fs))
	}

	a := mustFind(t, fs, diagnose.CodeKubeletServingCertificate, "csr csr-a3")
	for _, want := range []string{"node node-a's kubelet", "waited 3h", "3 pending requests", "csr-a1, csr-a2, csr-a3"} {
		if !strings.Contains(a.Message, want) {
			t.Errorf("pending serving message lacks %q: %s", want, a.Message)
		}
	}
	for _, want := range []string{"kubectl certificate approve csr-a3", "node-a, node-a.example.internal, 10.0.0.7", "kubelet-csr-approver", "serverTLSBootstrap: false"} {
		if !strings.Contains(a.Fix, want) {
			t.Errorf("pending serving fix lacks %q: %s", want, a.Fix)
		}
	}
	if a.Error != "remote error: tls: internal error" || !a.ErrorPredicted || a.Severity != result.Critical || a.Source != result.SourceCSR {
		t.Errorf("pending serving finding: %s", dump(a))
	}

	c1 := mustFind(t, fs, diagnose.CodeKubeletClientCSR, "csr csr-c1")
	if !strings.Contains(c1.Message, "node node-c") || !strings.Contains(c1.Message, "denied 15m") || !strings.Contains(c1.Message, "PolicyDenied") ||
		!strings.Contains(c1.Fix, "kubectl delete csr csr-c1") {
		t.Errorf("denied client finding: %s", dump(c1))
	}
	d1 := mustFind(t, fs, diagnose.CodeKubeletClientCSR, "csr csr-d1")
	if !strings.Contains(d1.Message, "waited 40m") || !strings.Contains(d1.Fix, "kubectl certificate approve csr-d1") ||
		!strings.Contains(d1.Fix, `"system:bootstrap:abcdef"`) || !strings.Contains(d1.Fix, "certificatesigningrequests:nodeclient") {
		t.Errorf("pending client finding: %s", dump(d1))
	}
	e1 := mustFind(t, fs, diagnose.CodeCSRDenied, "csr csr-e1")
	if !strings.Contains(e1.Message, "failed to issue user ci-bot's request csr-e1") || !strings.Contains(e1.Message, "SigningError") || e1.Severity != result.Warning {
		t.Errorf("failed finding: %s", dump(e1))
	}
	f1 := mustFind(t, fs, diagnose.CodeCSRNotIssued, "csr csr-f1")
	if !strings.Contains(f1.Message, "approved 15m ago") || !strings.Contains(f1.Fix, "--cluster-signing-cert-file") || !strings.Contains(f1.Fix, "csrsigning") {
		t.Errorf("not issued finding: %s", dump(f1))
	}
	k1 := mustFind(t, fs, diagnose.CodeCSRDenied, "csr csr-k1")
	if !strings.Contains(k1.Message, "was denied") || !strings.Contains(k1.Message, "example.com/issuer") {
		t.Errorf("denied finding: %s", dump(k1))
	}
	for _, quiet := range []string{"csr-b1", "csr-b2", "csr-g1", "csr-h1", "csr-h2", "csr-i1", "csr-j1"} {
		if got := findingsWith(fs, "", "csr "+quiet); len(got) > 0 {
			t.Errorf("%s needs no finding: %s", quiet, dump(got))
		}
	}
}

// A request the API server would not have accepted is still judged, its names unknown.
func TestCSRBadRequest(t *testing.T) {
	for name, req := range map[string][]byte{
		"garbage":   []byte("not a request at all"),
		"not a CSR": []byte("-----BEGIN EC PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbC1uZXZlci1wcmludGVk\n-----END EC PRIVATE KEY-----\n"),
		"truncated": []byte("-----BEGIN CERTIFICATE REQUEST-----\nMIIBAgIBADAA\n-----END CERTIFICATE REQUEST-----\n"),
	} {
		t.Run(name, func(t *testing.T) {
			c, fs := collectCSRs(t, newCSR(t, "csr-x", "node-x", serving, time.Hour, requestedBy("system:node:node-x"), withRequest(req)))
			f := mustFind(t, fs, diagnose.CodeKubeletServingCertificate, "csr csr-x")
			if !strings.Contains(f.Fix, "unknown (spec.request") || !strings.Contains(f.Message, "user system:node:node-x") {
				t.Errorf("finding for a bad request: %s", dump(f))
			}
			if strings.HasPrefix(string(req), "-----") {
				assertNoKeyMaterial(t, c, req)
			}
		})
	}
}

func TestCSRsForbidden(t *testing.T) {
	cs := fake.NewClientset()
	cs.PrependReactor("list", "certificatesigningrequests", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "certificates.k8s.io", Resource: "certificatesigningrequests"}, "",
			fmt.Errorf(`User "viewer" cannot list resource "certificatesigningrequests" in API group "certificates.k8s.io" at the cluster scope`))
	})
	c := newTestCollector()
	if err := (&CSRs{Client: cs}).Collect(context.Background(), c); err != nil {
		t.Fatalf("a denial is a finding, not a failure: %v", err)
	}
	_, fs, _ := c.Results()
	f := mustFind(t, fs, diagnose.CodePermissionDenied, "certificatesigningrequests")
	if f.Source != result.SourceCSR || !strings.Contains(f.Message, `"viewer"`) || !strings.Contains(f.Fix, "--verb=list --resource=certificatesigningrequests.certificates.k8s.io") {
		t.Errorf("permission finding: %s", dump(f))
	}
}
