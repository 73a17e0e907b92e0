package sources

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/report"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

func withKey(s *corev1.Secret, key []byte) *corev1.Secret {
	s.Data[corev1.TLSPrivateKeyKey] = key
	return s
}

func pkcs8(t *testing.T, p *certstest.Pair) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(p.Signer())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// collectSecrets runs the TLS secret source over objs.
func collectSecrets(t *testing.T, objs ...runtime.Object) *Collector {
	t.Helper()
	c := newTestCollector()
	if err := (&TLSSecrets{Client: fake.NewClientset(objs...)}).Collect(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTLSSecretKeyPairs: tls.key is compared with tls.crt's leaf, in every key format
// Go reads, and the verdict is all that comes out.
func TestTLSSecretKeyPairs(t *testing.T) {
	ca := certstest.NewCA("ca")
	leaf := func(cn string, rsaBits int) *certstest.Pair {
		return ca.Issue(certstest.Opts{CN: cn, DNS: []string{cn}, RSABits: rsaBits})
	}
	ec, rsa2048, other, managed := leaf("ec", 0), leaf("rsa", 2048), leaf("other", 0), leaf("managed", 0)
	keys := [][]byte{ec.KeyPEM(), rsa2048.KeyPEM(), other.KeyPEM(), managed.KeyPEM()}
	c := collectSecrets(t,
		tlsSecret("a", "sec1", ec.CertPEM(), nil, nil),
		withKey(tlsSecret("a", "pkcs8", ec.CertPEM(), nil, nil), pkcs8(t, ec)),
		tlsSecret("a", "pkcs1", rsa2048.CertPEM(), nil, nil),
		withKey(tlsSecret("a", "rsa-pkcs8", rsa2048.CertPEM(), nil, nil), pkcs8(t, rsa2048)),
		withKey(tlsSecret("a", "mismatch", ec.CertPEM(), nil, nil), other.KeyPEM()),
		withKey(tlsSecret("a", "wrong-type", ec.CertPEM(), nil, nil), rsa2048.KeyPEM()),
		withKey(tlsSecret("a", "managed", managed.CertPEM(), nil, map[string]string{certManagerCertAnnotation: "web"}), other.KeyPEM()),
		withKey(tlsSecret("a", "empty", ec.CertPEM(), nil, nil), nil),
		withKey(tlsSecret("a", "garbage", ec.CertPEM(), nil, nil), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte("not a key at all")})),
		withKey(tlsSecret("a", "swapped", ec.CertPEM(), nil, nil), ec.CertPEM()),
	)
	_, fs, _ := c.Results()
	for _, ok := range []string{"a/sec1", "a/pkcs8", "a/pkcs1", "a/rsa-pkcs8"} {
		if got := findingsWith(fs, "", "secret "+ok); len(got) != 0 {
			t.Errorf("%s: a matching pair has findings: %s", ok, dump(got))
		}
	}
	for sub, wantErr := range map[string]string{"a/mismatch": "tls: private key does not match public key",
		"a/wrong-type": "tls: private key type does not match public key type", "a/managed": "tls: private key does not match public key"} {
		f := mustFind(t, fs, diagnose.CodeKeyMismatch, "secret "+sub)
		if f.Severity != result.Critical || f.Error != wantErr {
			t.Errorf("%s: %s", sub, dump(f))
		}
	}
	if f := mustFind(t, fs, diagnose.CodeKeyMismatch, "secret a/managed"); !strings.Contains(f.Fix, "cmctl renew -n a web") {
		t.Errorf("a cert-manager secret is renewed by cert-manager: %q", f.Fix)
	}
	if f := mustFind(t, fs, diagnose.CodeKeyMismatch, "secret a/mismatch"); !strings.Contains(f.Fix, "kubectl create secret tls mismatch -n a") {
		t.Errorf("fix: %q", f.Fix)
	}
	for sub, wantErr := range map[string]string{"a/empty": "tls: failed to find any PEM data in key input",
		"a/garbage": "tls: failed to parse private key", "a/swapped": "tls: found a certificate rather than a key in the PEM for the private key"} {
		f := mustFind(t, fs, diagnose.CodeKeyInvalid, "secret "+sub)
		if f.Severity != result.Critical || f.Error != wantErr {
			t.Errorf("%s: %s", sub, dump(f))
		}
	}
	assertNoKeyInReport(t, c, keys...)
}

// TestTLSSecretWeakCrypto: each rule of issue 21 on a TLS secret, alone.
func TestTLSSecretWeakCrypto(t *testing.T) {
	ca := certstest.NewCA("ca")
	var rsa512 *certstest.Pair
	t.Run("make a 512-bit RSA certificate", func(t *testing.T) {
		t.Setenv("GODEBUG", "rsa1024min=0") // Go refuses to make one otherwise
		rsa512 = ca.Issue(certstest.Opts{CN: "tiny", DNS: []string{"tiny"}, RSABits: 512})
	})
	noCertSign := certstest.SelfSigned(certstest.Opts{CN: "no-certsign-ca", IsCA: true, KeyUsage: x509.KeyUsageDigitalSignature})
	notCA := ca.Issue(certstest.Opts{CN: "not-a-ca", ExtKeyUsage: []x509.ExtKeyUsage{}, KeyUsage: x509.KeyUsageDigitalSignature})
	pinned := certstest.SelfSigned(certstest.Opts{CN: "pinned", DNS: []string{"pinned"}})
	rsaCA := certstest.SelfSigned(certstest.Opts{CN: "rsa-ca", IsCA: true, RSABits: 2048})
	md5Leaf := rsaCA.Issue(certstest.Opts{CN: "m", DNS: []string{"m"}})
	c := collectSecrets(t,
		withKey(tlsSecret("w", "md5", md5Signed(t, md5Leaf), nil, nil), md5Leaf.KeyPEM()),
		tlsSecret("w", "rsa1024", ca.Issue(certstest.Opts{CN: "r1", DNS: []string{"r1"}, RSABits: 1024}).CertPEM(), nil, nil),
		tlsSecret("w", "rsa2048", ca.Issue(certstest.Opts{CN: "r2", DNS: []string{"r2"}, RSABits: 2048}).CertPEM(), nil, nil),
		tlsSecret("w", "rsa512", rsa512.CertPEM(), nil, nil),
		tlsSecret("w", "client", ca.Issue(certstest.Opts{CN: "c", DNS: []string{"c"}, Client: true}).CertPEM(), nil, nil),
		tlsSecret("w", "bad-ca", noCertSign.Issue(certstest.Opts{CN: "l", DNS: []string{"l"}}).CertPEM(), noCertSign.CertPEM(), nil),
		tlsSecret("w", "bad-chain", certstest.Bundle(notCA.Issue(certstest.Opts{CN: "l2", DNS: []string{"l2"}}), notCA), nil, nil),
		tlsSecret("w", "pinned", pinned.CertPEM(), pinned.CertPEM(), nil),
		tlsSecret("w", "good", ca.Issue(certstest.Opts{CN: "g", DNS: []string{"g"}}).CertPEM(), ca.CertPEM(), nil),
	)
	_, fs, _ := c.Results()
	if f := mustFind(t, fs, diagnose.CodeWeakKey, "secret w/rsa1024"); f.Severity != result.Warning || !strings.Contains(f.Message, "1024-bit") || f.Error != "" {
		t.Errorf("1024 bits: %s", dump(f))
	}
	if f := mustFind(t, fs, diagnose.CodeWeakKey, "secret w/rsa512"); f.Severity != result.Critical ||
		f.Error != "crypto/rsa: 512-bit keys are insecure (see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)" {
		t.Errorf("512 bits: %s", dump(f))
	}
	if f := mustFind(t, fs, diagnose.CodeNoServerAuth, "secret w/client"); f.Severity != result.Warning ||
		f.Error != "x509: certificate specifies an incompatible key usage" || !strings.Contains(f.Message, "clientAuth") {
		t.Errorf("no serverAuth: %s", dump(f))
	}
	if f := mustFind(t, fs, diagnose.CodeCannotSign, "secret w/bad-ca"); f.Severity != result.Critical ||
		f.Error != "x509: invalid signature: parent certificate cannot sign this kind of certificate" || !strings.Contains(f.Message, "ca.crt") {
		t.Errorf("CA without keyCertSign: %s", dump(f))
	}
	if f := mustFind(t, fs, diagnose.CodeInsecureSignature, "secret w/md5"); f.Error != "x509: cannot verify signature: insecure algorithm MD5-RSA" ||
		len(findingsWith(fs, "", "secret w/md5")) != 1 {
		t.Errorf("MD5: %s", dump(f))
	}
	// The second certificate of tls.crt issued the first: it is a CA, whatever it says.
	mustFind(t, fs, diagnose.CodeCannotSign, "secret w/bad-chain")
	for _, ok := range []string{"w/rsa2048", "w/pinned", "w/good"} {
		if got := findingsWith(fs, "", "secret "+ok); len(got) != 0 {
			t.Errorf("%s: %s", ok, dump(got))
		}
	}
}

// assertNoKeyInReport fails when the report, as JSON and as a table, holds any part of
// the keys: the PEM marker, a PEM body line, or a piece of the DER's base64.
func assertNoKeyInReport(t *testing.T, c *Collector, keys ...[]byte) {
	t.Helper()
	assertNoKeyMaterial(t, c, keys...)
	recs, fs, notes := c.Results()
	var out bytes.Buffer
	r := result.NewReport("expiry", time.Now(), recs, fs, notes)
	for _, format := range []string{"json", "yaml", "table", "wide"} {
		if err := report.Print(&out, r, format); err != nil {
			t.Fatal(err)
		}
	}
	text := out.String()
	if strings.Contains(text, "PRIVATE KEY") {
		t.Fatal("the report holds a PEM private key marker")
	}
	for _, k := range keys {
		block, _ := pem.Decode(k)
		enc := base64.StdEncoding.EncodeToString(block.Bytes)
		for i := 0; i+12 <= len(enc); i += 12 {
			if strings.Contains(text, enc[i:i+12]) {
				t.Fatalf("the report holds base64 of a key: %q", enc[i:i+12])
			}
		}
		for _, line := range strings.Split(string(k), "\n") {
			if len(line) > 12 && !strings.HasPrefix(line, "-----") && strings.Contains(text, line) {
				t.Fatalf("the report holds a PEM line of a key")
			}
		}
	}
}

// md5Signed relabels an RSA-SHA256 certificate as MD5-RSA (Go no longer signs with MD5;
// the two OIDs differ in their last byte). Go refuses MD5 before it looks at the
// signature, so the broken signature does not matter.
func md5Signed(t *testing.T, p *certstest.Pair) []byte {
	t.Helper()
	sha256RSA := []byte{6, 9, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 1, 11}
	md5RSA := []byte{6, 9, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 1, 1, 4}
	der := bytes.ReplaceAll(p.Cert.Raw, sha256RSA, md5RSA)
	if c, err := x509.ParseCertificate(der); err != nil || c.SignatureAlgorithm != x509.MD5WithRSA {
		t.Fatalf("relabelled certificate: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
