package certs

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// Detail is everything public about c, for inspect.
func Detail(c *x509.Certificate, where string, now time.Time, warnWithin time.Duration) result.CertificateDetail {
	info := Describe(c)
	d := result.CertificateDetail{Where: where, Subject: c.Subject.String(), Issuer: c.Issuer.String(), Serial: info.Serial,
		NotBefore: c.NotBefore, NotAfter: c.NotAfter, Status: info.StatusAt(now, warnWithin), Residual: Residual(c.NotAfter, now),
		SANs: SANs(c), PublicKey: publicKeyName(c), SignatureAlgorithm: c.SignatureAlgorithm.String(),
		KeyUsage: keyUsageNames(c.KeyUsage), IsCA: c.IsCA, FingerprintSHA256: info.Fingerprint}
	for _, u := range c.ExtKeyUsage {
		d.ExtKeyUsage = append(d.ExtKeyUsage, ExtKeyUsageName(u))
	}
	if c.IsCA && (c.MaxPathLen > 0 || c.MaxPathLenZero) {
		n := c.MaxPathLen
		d.MaxPathLen = &n
	}
	if len(c.SubjectKeyId) > 0 {
		d.SubjectKeyID = colonHex(c.SubjectKeyId)
	}
	if len(c.AuthorityKeyId) > 0 {
		d.AuthorityKeyID = colonHex(c.AuthorityKeyId)
	}
	return d
}

func publicKeyName(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d bits", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return c.PublicKeyAlgorithm.String()
}

var keyUsages = []struct {
	bit  x509.KeyUsage
	name string
}{
	{x509.KeyUsageDigitalSignature, "digitalSignature"}, {x509.KeyUsageContentCommitment, "contentCommitment"},
	{x509.KeyUsageKeyEncipherment, "keyEncipherment"}, {x509.KeyUsageDataEncipherment, "dataEncipherment"},
	{x509.KeyUsageKeyAgreement, "keyAgreement"}, {x509.KeyUsageCertSign, "keyCertSign"}, {x509.KeyUsageCRLSign, "cRLSign"},
	{x509.KeyUsageEncipherOnly, "encipherOnly"}, {x509.KeyUsageDecipherOnly, "decipherOnly"},
}

// keyUsageNames are the bits set, as openssl's keyUsage option spells them.
func keyUsageNames(ku x509.KeyUsage) []string {
	var out []string
	for _, u := range keyUsages {
		if ku&u.bit != 0 {
			out = append(out, u.name)
		}
	}
	return out
}

// ExtKeyUsageName is an extended key usage as openssl's extendedKeyUsage option spells it.
func ExtKeyUsageName(u x509.ExtKeyUsage) string {
	switch u {
	case x509.ExtKeyUsageAny:
		return "anyExtendedKeyUsage"
	case x509.ExtKeyUsageServerAuth:
		return "serverAuth"
	case x509.ExtKeyUsageClientAuth:
		return "clientAuth"
	case x509.ExtKeyUsageCodeSigning:
		return "codeSigning"
	case x509.ExtKeyUsageEmailProtection:
		return "emailProtection"
	case x509.ExtKeyUsageTimeStamping:
		return "timeStamping"
	case x509.ExtKeyUsageOCSPSigning:
		return "OCSPSigning"
	}
	return fmt.Sprintf("usage-%d", int(u))
}

func colonHex(b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// VerifyAgainstRoots builds chain's path to roots (nil: the system roots), whatever the
// key usage, and returns the path by subject, or Go's error.
func VerifyAgainstRoots(chain []*x509.Certificate, roots *x509.CertPool, now time.Time) ([]string, error) {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	paths, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range paths[0] {
		out = append(out, name(c.Subject.CommonName, c.Subject.String()))
	}
	return out, nil
}
