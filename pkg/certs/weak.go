package certs

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// MinRSABits: Go (crypto/rsa, since 1.24) refuses RSA keys under it unless GODEBUG
// rsa1024min=0 (result.RecommendedRSABits is where warnings start).
const MinRSABits = 1024

// CryptoFactsOf reads what the weak-crypto rules judge. It is cheap for a healthy
// certificate: the one signature check (PinnedLeaf) runs only for one that cannot sign.
func CryptoFactsOf(c *x509.Certificate) result.CryptoFacts {
	f := result.CryptoFacts{ZeroSerial: c.SerialNumber != nil && c.SerialNumber.Sign() == 0}
	if k, ok := c.PublicKey.(*rsa.PublicKey); ok {
		f.RSABits = k.N.BitLen()
	}
	if len(c.ExtKeyUsage) > 0 && !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageServerAuth) &&
		!slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageAny) {
		f.NoServerAuth = extKeyUsageNames(c.ExtKeyUsage)
	}
	if !canSign(c) {
		f.CannotSign = x509.ConstraintViolationError{}.Error()
		f.PinnedLeaf = !c.IsCA && c.KeyUsage&x509.KeyUsageCertSign == 0 && SelfSigned(c)
	}
	return f
}

// canSign is the test Certificate.CheckSignatureFrom applies to a parent (RFC 5280
// 4.2.1.9 and 4.2.1.3): a version 3 certificate needs basicConstraints CA:TRUE, and a
// keyUsage extension, when present, needs keyCertSign.
func canSign(c *x509.Certificate) bool {
	if c.Version == 3 && !c.BasicConstraintsValid || c.BasicConstraintsValid && !c.IsCA {
		return false
	}
	return c.KeyUsage == 0 || c.KeyUsage&x509.KeyUsageCertSign != 0
}

// WeakRSAError is crypto/rsa's error for a key under MinRSABits, which Go returns from
// every signature made or verified with it: a TLS client verifying the server's
// handshake signature, or a certificate signed by such a CA.
func WeakRSAError(bits int) string {
	return fmt.Sprintf("crypto/rsa: %d-bit keys are insecure (see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)", bits)
}

// NoServerAuthError is what a Go client reports for a server certificate whose
// extended key usages leave out serverAuth.
func NoServerAuthError() string {
	return x509.CertificateInvalidError{Reason: x509.IncompatibleUsage}.Error()
}

// negativeSerialError is crypto/x509's parse error for a negative serial number (since
// Go 1.23, unless GODEBUG x509negativeserial=1).
const negativeSerialError = "x509: negative serial number"

// IsNegativeSerial reports whether a parse error is crypto/x509 refusing a negative
// serial number.
func IsNegativeSerial(err error) bool {
	return err != nil && strings.Contains(err.Error(), negativeSerialError)
}

// extKeyUsageNames are the usages as openssl's extendedKeyUsage option spells them.
func extKeyUsageNames(usages []x509.ExtKeyUsage) string {
	names := make([]string, 0, len(usages))
	for _, u := range usages {
		names = append(names, ExtKeyUsageName(u))
	}
	return strings.Join(names, ",")
}
