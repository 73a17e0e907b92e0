package certs

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// SignedBy reports whether leaf carries a valid signature from ca. It checks only the
// signature and the issuer name, not validity periods, so an expired pair still matches:
// "not signed by its CA" and "expired" are different findings.
func SignedBy(leaf, ca *x509.Certificate) bool { return SignatureFrom(leaf, ca) == nil }

// SignatureFrom says why leaf is not signed by ca: nil when it is; an
// x509.InsecureAlgorithmError when ca did sign it but with an algorithm Go refuses.
func SignatureFrom(leaf, ca *x509.Certificate) error {
	if leaf == nil || ca == nil {
		return errors.New("no certificate")
	}
	if string(leaf.RawIssuer) != string(ca.RawSubject) {
		return errors.New("issuer name differs")
	}
	return leaf.CheckSignatureFrom(ca)
}

// CoversHost reports whether c is valid for host (an IP or a DNS name) with
// crypto/x509's own matching rules, wildcards included.
func CoversHost(c *x509.Certificate, host string) bool {
	return c.VerifyHostname(strings.Trim(host, "[]")) == nil
}

// HostnameError is the text Go clients print when c does not cover host, e.g.
// "x509: certificate is valid for 172.16.0.1, 192.168.0.1, not 10.254.0.1".
func HostnameError(c *x509.Certificate, host string) string {
	err := c.VerifyHostname(strings.Trim(host, "[]"))
	if err == nil {
		return ""
	}
	return err.Error()
}

// ChainProblem classifies why chain (leaf first) does not verify against roots for
// host at now. It returns "" when the chain is fine. host may be empty to skip the
// name check; roots nil means the system pool.
type ChainProblem string

const (
	ChainOK               ChainProblem = ""
	ChainExpired          ChainProblem = "expired"
	ChainNotYetValid      ChainProblem = "not-yet-valid"
	ChainUnknownAuthority ChainProblem = "unknown-authority"
	ChainHostname         ChainProblem = "hostname"
	// ChainInsecureSignature: the issuer is there, but the certificate is signed with an
	// algorithm Go refuses (SHA-1, MD5), so Go clients report an unknown authority.
	ChainInsecureSignature ChainProblem = "insecure-signature"
	// ChainLegacyCommonName: the certificate has no SANs; Go ignores the Common Name.
	ChainLegacyCommonName ChainProblem = "legacy-common-name"
	// ChainKeyUsage: the leaf's extended key usages leave out serverAuth.
	ChainKeyUsage ChainProblem = "key-usage"
	ChainOther    ChainProblem = "other"
)

// VerifyChain verifies chain as a TLS client would and names the first problem with the
// error text a Go client would show.
func VerifyChain(chain []*x509.Certificate, roots *x509.CertPool, host string, now time.Time) (ChainProblem, string) {
	if len(chain) == 0 {
		return ChainOther, "no certificate presented"
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if host != "" {
		opts.DNSName = strings.Trim(host, "[]")
	}
	_, err := chain[0].Verify(opts)
	if err == nil {
		return ChainOK, ""
	}
	var inv x509.CertificateInvalidError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	switch {
	case errors.As(err, &inv) && inv.Reason == x509.Expired:
		if now.Before(chain[0].NotBefore) {
			return ChainNotYetValid, err.Error()
		}
		return ChainExpired, err.Error()
	case errors.As(err, &inv) && inv.Reason == x509.IncompatibleUsage:
		return ChainKeyUsage, err.Error()
	case errors.As(err, &ua) && strings.Contains(err.Error(), "insecure algorithm"):
		// Go found the issuer but refused its signature (its "possibly because of" hint).
		return ChainInsecureSignature, err.Error()
	case errors.As(err, &ua):
		return ChainUnknownAuthority, err.Error()
	case errors.As(err, &hn) && !HasSANs(chain[0]):
		return ChainLegacyCommonName, err.Error()
	case errors.As(err, &hn):
		return ChainHostname, err.Error()
	default:
		return ChainOther, err.Error()
	}
}

// insecureAlgorithms are the signature algorithms crypto/x509 refuses to verify.
var insecureAlgorithms = map[x509.SignatureAlgorithm]bool{
	x509.MD2WithRSA: true, x509.MD5WithRSA: true, x509.SHA1WithRSA: true, x509.DSAWithSHA1: true, x509.ECDSAWithSHA1: true,
}

// InsecureSignature names c's signature algorithm when Go clients refuse it (SHA-1,
// MD5), "" otherwise. A self-signed root's own signature is never checked, so it is
// not judged.
func InsecureSignature(c *x509.Certificate) string {
	if c == nil || !insecureAlgorithms[c.SignatureAlgorithm] || SelfSigned(c) {
		return ""
	}
	return c.SignatureAlgorithm.String()
}

// InsecureSignatureError is the text Go produces when it refuses c's signature.
func InsecureSignatureError(c *x509.Certificate) string {
	return fmt.Sprintf("x509: cannot verify signature: insecure algorithm %s", c.SignatureAlgorithm)
}

// VerifyAgainst is Go's own verdict on leaf as issued by ca, whatever the time: "" when
// it verifies, else the error text a Go client prints (for a SHA-1 signature, "x509:
// certificate signed by unknown authority (possibly because of ...)").
func VerifyAgainst(leaf, ca *x509.Certificate) string {
	at := leaf.NotBefore
	if ca.NotBefore.After(at) {
		at = ca.NotBefore
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: at.Add(time.Second), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return err.Error()
	}
	return ""
}

// HasSANs reports whether c carries any subject alternative name.
func HasSANs(c *x509.Certificate) bool {
	return len(c.DNSNames)+len(c.IPAddresses)+len(c.URIs)+len(c.EmailAddresses) > 0
}

// LegacyCommonNameError is Go's error for a certificate whose name is only in its CN.
const LegacyCommonNameError = "x509: certificate relies on legacy Common Name field, use SANs instead"

// SelfSigned reports whether c is signed by its own key under its own name: a root, or
// a pinned leaf (Linkerd's Helm-generated webhook certificates).
func SelfSigned(c *x509.Certificate) bool {
	if string(c.RawIssuer) != string(c.RawSubject) {
		return false
	}
	return c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// IsIP reports whether s is an IP address (with or without brackets).
func IsIP(s string) bool { return net.ParseIP(strings.Trim(s, "[]")) != nil }

// PoolOf builds a pool from PEM data, failing when it holds no certificate.
func PoolOf(pemData []byte) (*x509.CertPool, []*x509.Certificate, error) {
	certs, err := ParseBundle(pemData)
	if err != nil {
		return nil, nil, fmt.Errorf("CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, certs, nil
}
