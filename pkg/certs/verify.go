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
func SignedBy(leaf, ca *x509.Certificate) bool {
	if leaf == nil || ca == nil {
		return false
	}
	if string(leaf.RawIssuer) != string(ca.RawSubject) {
		return false
	}
	return leaf.CheckSignatureFrom(ca) == nil
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
	ChainOther            ChainProblem = "other"
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
	case errors.As(err, &ua):
		return ChainUnknownAuthority, err.Error()
	case errors.As(err, &hn):
		return ChainHostname, err.Error()
	default:
		return ChainOther, err.Error()
	}
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
