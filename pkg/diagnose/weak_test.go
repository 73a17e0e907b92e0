package diagnose

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// explain knows every Go text the issue-21 findings quote.
func TestExplainKeyPairAndWeakCrypto(t *testing.T) {
	for text, want := range map[string]string{
		"http: TLS handshake error: tls: private key does not match public key":                          CodeKeyMismatch,
		"error loading certificate: tls: private key type does not match public key type":                CodeKeyMismatch,
		"failed to load certificate: tls: failed to find any PEM data in key input":                      CodeKeyInvalid,
		"tls: failed to parse private key":                                                               CodeKeyInvalid,
		"crypto/rsa: 512-bit keys are insecure (see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)": CodeWeakKey,
		"tls: failed to verify certificate: x509: certificate specifies an incompatible key usage":       CodeNoServerAuth,
		"x509: invalid signature: parent certificate cannot sign this kind of certificate":               CodeCannotSign,
		"tls: failed to parse certificate from server: x509: negative serial number":                     CodeSerialNumber,
	} {
		xs := Default().Explain(text, nil)
		if len(xs) == 0 || xs[0].Code != want {
			t.Errorf("%q: %+v, want %s", text, xs, want)
		}
		for _, x := range xs {
			if strings.Contains(x.Fix+x.Meaning, "<no value>") {
				t.Errorf("%q: unfilled template in %+v", text, x)
			}
		}
	}
}

func TestCryptoFindings(t *testing.T) {
	ca := certstest.NewCA("ca")
	noCertSign := certstest.SelfSigned(certstest.Opts{CN: "bad-ca", IsCA: true, KeyUsage: x509.KeyUsageDigitalSignature})
	tests := []struct {
		name  string
		cert  *certstest.Pair
		ctx   CertContext
		codes []string
		sev   result.Severity
	}{
		{"ECDSA leaf", ca.Issue(certstest.Opts{CN: "a", DNS: []string{"a"}}), CertContext{Source: result.SourceNode, KubeadmName: "apiserver"}, nil, 0},
		{"RSA 2048", ca.Issue(certstest.Opts{CN: "a", RSABits: 2048}), CertContext{Source: result.SourceNode}, nil, 0},
		{"RSA 1024 on a node", ca.Issue(certstest.Opts{CN: "a", RSABits: 1024}), CertContext{Source: result.SourceNode, KubeadmName: "apiserver"}, []string{CodeWeakKey}, result.Warning},
		{"a CA that cannot sign, used as one", noCertSign, CertContext{Source: result.SourceConfigMap, IsCA: true}, []string{CodeCannotSign}, result.Critical},
		{"the same certificate not used as a CA", noCertSign, CertContext{Source: result.SourceSecret}, nil, 0},
		{"a proper CA", ca, CertContext{Source: result.SourceLocal, IsCA: true, KubeadmName: "ca"}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := CryptoFindings(tt.ctx, certs.Describe(tt.cert.Cert))
			var codes []string
			for _, f := range fs {
				codes = append(codes, f.Code)
				if f.Severity != tt.sev {
					t.Errorf("%s: severity %v, want %v", f.Code, f.Severity, tt.sev)
				}
			}
			if strings.Join(codes, ",") != strings.Join(tt.codes, ",") {
				t.Fatalf("codes %v, want %v", codes, tt.codes)
			}
		})
	}
	// kubeadm's own renewal for a kubeadm certificate.
	f := CryptoFindings(CertContext{Source: result.SourceNode, KubeadmName: "apiserver"}, certs.Describe(ca.Issue(certstest.Opts{CN: "a", RSABits: 1024}).Cert))
	if !strings.Contains(f[0].Fix, "kubeadm certs renew apiserver") {
		t.Errorf("fix %q", f[0].Fix)
	}
}

func TestNegativeSerialIsItsOwnCause(t *testing.T) {
	f := InvalidCertificate(result.SourceSecret, "secret a/b tls.crt", errors.New("PEM block 1: x509: negative serial number"))
	if f.Code != CodeSerialNumber || f.Severity != result.Critical || f.Error != "PEM block 1: x509: negative serial number" {
		t.Fatalf("%+v", f)
	}
	if f := InvalidCertificate(result.SourceSecret, "x", errors.New("x509: malformed certificate")); f.Code != CodeInvalid {
		t.Fatalf("%+v", f)
	}
}

func TestKeyPairFindingQuotesNoKey(t *testing.T) {
	leaf := certstest.NewCA("x")
	ctx := CertContext{Source: result.SourceSecret, Subject: "secret a/b", Namespace: "a", Name: "b"}
	for _, err := range []error{certs.ErrKeyMismatch, certs.CheckKeyPair(leaf.Cert.PublicKey, []byte("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n"))} {
		f := KeyPair(ctx, certs.Describe(leaf.Cert), err)
		if out := f.Message + f.Error + f.Fix; strings.Contains(out, "c2VjcmV0") || strings.Contains(out, "PRIVATE KEY-----") {
			t.Fatalf("finding quotes the key: %+v", f)
		}
	}
}

func TestCryptoFindingsZeroSerial(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0), Subject: pkix.Name{CommonName: "zero"}, DNSNames: []string{"zero"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	fs := CryptoFindings(CertContext{Source: result.SourceSecret, Subject: "secret a/zero", Key: "tls.crt"}, certs.Describe(c))
	if len(fs) != 1 || fs[0].Code != CodeSerialNumber || fs[0].Severity != result.Warning || fs[0].Error != "" ||
		!strings.Contains(fs[0].Message, "secret a/zero tls.crt") {
		t.Fatalf("%+v", fs)
	}
}
