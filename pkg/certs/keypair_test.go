package certs

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
)

func pkcs8PEM(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestCheckKeyPair(t *testing.T) {
	ca := certstest.NewCA("ca")
	ec := ca.Issue(certstest.Opts{CN: "ec", DNS: []string{"ec"}})
	other := ca.Issue(certstest.Opts{CN: "other", DNS: []string{"other"}})
	rsaLeaf := ca.Issue(certstest.Opts{CN: "rsa", DNS: []string{"rsa"}, RSABits: 2048})
	ecParams := append(pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}}), ec.KeyPEM()...)
	tests := []struct {
		name     string
		leaf     *certstest.Pair
		key      []byte
		want     error // nil: the pair serves
		mismatch bool
	}{
		{"ECDSA SEC 1", ec, ec.KeyPEM(), nil, false},
		{"ECDSA PKCS #8", ec, pkcs8PEM(t, ec.Key), nil, false},
		{"ECDSA after EC PARAMETERS", ec, ecParams, nil, false},
		{"RSA PKCS #1", rsaLeaf, rsaLeaf.KeyPEM(), nil, false},
		{"RSA PKCS #8", rsaLeaf, pkcs8PEM(t, rsaLeaf.RSAKey), nil, false},
		{"another ECDSA key", ec, other.KeyPEM(), ErrKeyMismatch, true},
		{"an RSA key for an ECDSA certificate", ec, rsaLeaf.KeyPEM(), ErrKeyTypeMismatch, true},
		{"empty", ec, nil, errNoKeyPEM, false},
		{"not PEM", ec, []byte("hello"), errNoKeyPEM, false},
		{"garbage in a key block", ec, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("garbage-garbage")}), errKeyUnparsable, false},
		{"a certificate in place of the key", ec, ec.CertPEM(), errCertAsKey, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckKeyPair(tt.leaf.Cert.PublicKey, tt.key)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("CheckKeyPair = %v, want %v", err, tt.want)
			}
			if IsKeyMismatch(err) != tt.mismatch {
				t.Errorf("IsKeyMismatch(%v) = %v", err, !tt.mismatch)
			}
			// crypto/tls must say the same: the finding quotes what servers log.
			_, tlsErr := tls.X509KeyPair(tt.leaf.CertPEM(), tt.key)
			if (err == nil) != (tlsErr == nil) || err != nil && err.Error() != tlsErr.Error() {
				t.Errorf("CheckKeyPair says %v, tls.X509KeyPair says %v", err, tlsErr)
			}
			assertNoKeyIn(t, errText(err), tt.key)
		})
	}
}

func TestCheckKeyPairSkippedBlocks(t *testing.T) {
	leaf := certstest.NewCA("x")
	key := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("abc")})
	err := CheckKeyPair(leaf.Cert.PublicKey, key)
	_, tlsErr := tls.X509KeyPair(leaf.CertPEM(), key)
	if err == nil || tlsErr == nil || err.Error() != tlsErr.Error() {
		t.Fatalf("CheckKeyPair %v, tls %v", err, tlsErr)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// assertNoKeyIn fails if out holds any part of keyPEM: a PEM body line, the DER's
// base64 or the DER itself.
func assertNoKeyIn(t *testing.T, out string, keyPEM []byte) {
	t.Helper()
	if strings.Contains(out, "PRIVATE KEY-----") {
		t.Fatalf("output holds a PEM key marker: %q", out)
	}
	for rest := keyPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		enc := base64.StdEncoding.EncodeToString(b.Bytes)
		for i := 0; i+16 <= len(enc); i += 16 {
			if strings.Contains(out, enc[i:i+16]) {
				t.Fatalf("output holds base64 of the key: %q", out)
			}
		}
		if len(b.Bytes) >= 8 && strings.Contains(out, string(b.Bytes[len(b.Bytes)-8:])) {
			t.Fatalf("output holds the key's DER")
		}
	}
}

// BenchmarkCheckKeyPair is the cost per TLS secret of the key comparison: parsing the
// key (and, for RSA, crypto/x509's validation of it) dominates.
func BenchmarkCheckKeyPair(b *testing.B) {
	ca := certstest.NewCA("ca")
	for _, tt := range []struct {
		name string
		bits int
	}{{"ECDSA-P256", 0}, {"RSA-2048", 2048}} {
		leaf := ca.Issue(certstest.Opts{CN: "x", RSABits: tt.bits})
		key := leaf.KeyPEM()
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := CheckKeyPair(leaf.Cert.PublicKey, key); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
