package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
)

func TestCryptoFactsRSABits(t *testing.T) {
	ca := certstest.NewCA("ca")
	for _, bits := range []int{1024, 2048} {
		if got := CryptoFactsOf(ca.Issue(certstest.Opts{CN: "r", RSABits: bits}).Cert).RSABits; got != bits {
			t.Errorf("RSABits = %d, want %d", got, bits)
		}
	}
	if got := CryptoFactsOf(ca.Cert).RSABits; got != 0 {
		t.Errorf("an ECDSA certificate has RSABits %d", got)
	}
}

// TestWeakRSAErrorIsGos proves the text against crypto/rsa itself: a 512-bit key made
// under GODEBUG rsa1024min=0 is refused once the default applies again.
func TestWeakRSAErrorIsGos(t *testing.T) {
	var key *rsa.PrivateKey
	var sig []byte
	digest := sha256.Sum256([]byte("handshake"))
	t.Run("make a 512-bit key", func(t *testing.T) {
		t.Setenv("GODEBUG", "rsa1024min=0")
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 512); err != nil {
			t.Fatal(err)
		}
		if sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:]); err != nil {
			t.Fatal(err)
		}
	})
	err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig)
	if err == nil || err.Error() != WeakRSAError(512) {
		t.Fatalf("crypto/rsa says %v, WeakRSAError says %s", err, WeakRSAError(512))
	}
}

func TestCryptoFactsCannotSign(t *testing.T) {
	noCertSign := certstest.SelfSigned(certstest.Opts{CN: "no-certsign", IsCA: true, KeyUsage: x509.KeyUsageDigitalSignature})
	noBC := certstest.SelfSigned(certstest.Opts{CN: "no-bc", IsCA: true, NoBasicConstraints: true})
	pinned := certstest.SelfSigned(certstest.Opts{CN: "pinned", DNS: []string{"pinned"}})
	good := certstest.NewCA("good")
	tests := []struct {
		name           string
		ca             *certstest.Pair
		cannot, pinned bool
	}{
		{"CA:TRUE without keyCertSign", noCertSign, true, false},
		{"no basicConstraints", noBC, true, false},
		{"a self-signed leaf", pinned, true, true},
		{"a proper CA", good, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := CryptoFactsOf(tt.ca.Cert)
			if (f.CannotSign != "") != tt.cannot || f.PinnedLeaf != tt.pinned {
				t.Fatalf("CannotSign %q PinnedLeaf %v", f.CannotSign, f.PinnedLeaf)
			}
			if !tt.cannot || tt.pinned {
				return
			}
			// Go's own verdict on a leaf it signed carries the same text.
			leaf := tt.ca.Issue(certstest.Opts{CN: "leaf", DNS: []string{"leaf"}})
			if got := VerifyAgainst(leaf.Cert, tt.ca.Cert); !strings.Contains(got, f.CannotSign) {
				t.Fatalf("Go says %q, the fact says %q", got, f.CannotSign)
			}
		})
	}
}

func TestCryptoFactsNoServerAuth(t *testing.T) {
	ca := certstest.NewCA("ca")
	client := ca.Issue(certstest.Opts{CN: "client", Client: true})
	signing := ca.Issue(certstest.Opts{CN: "s", ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning, x509.ExtKeyUsageClientAuth}})
	none := ca.Issue(certstest.Opts{CN: "n", DNS: []string{"n"}, ExtKeyUsage: []x509.ExtKeyUsage{}})
	server := ca.Issue(certstest.Opts{CN: "srv", DNS: []string{"srv"}})
	for _, tt := range []struct {
		p    *certstest.Pair
		want string
	}{{client, "clientAuth"}, {signing, "codeSigning,clientAuth"}, {none, ""}, {server, ""}} {
		if got := CryptoFactsOf(tt.p.Cert).NoServerAuth; got != tt.want {
			t.Errorf("%s: NoServerAuth %q, want %q", tt.p.Cert.Subject.CommonName, got, tt.want)
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	if p, msg := VerifyChain([]*x509.Certificate{client.Cert}, pool, "", time.Now()); p != ChainKeyUsage || msg != NoServerAuthError() {
		t.Fatalf("VerifyChain = %q %q, want %q %q", p, msg, ChainKeyUsage, NoServerAuthError())
	}
}

// serialCert makes a self-signed certificate with serial n (CreateCertificate refuses
// negative serials, so a negative one is patched into the DER afterwards).
func serialCert(t *testing.T, n int64) []byte {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sn := big.NewInt(n)
	if n < 0 {
		sn = big.NewInt(0x7a5e11a1c0de)
	}
	tmpl := &x509.Certificate{SerialNumber: sn, Subject: pkix.Name{CommonName: "serial"}, DNSNames: []string{"serial"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if n < 0 {
		i := bytes.Index(der, []byte{2, 6, 0x7a, 0x5e, 0x11, 0xa1, 0xc0, 0xde})
		der[i+2] |= 0x80 // the sign bit: now negative (the signature no longer matters)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestSerialNumbers(t *testing.T) {
	_, err := ParseBundle(serialCert(t, -1))
	if !IsNegativeSerial(err) || !strings.Contains(err.Error(), "x509: negative serial number") {
		t.Fatalf("negative serial: %v", err)
	}
	zero, err := ParseBundle(serialCert(t, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !CryptoFactsOf(zero[0]).ZeroSerial {
		t.Fatal("serial 0 not noticed")
	}
	one, _ := ParseBundle(serialCert(t, 1))
	if CryptoFactsOf(one[0]).ZeroSerial || IsNegativeSerial(nil) {
		t.Fatal("serial 1 judged")
	}
}
