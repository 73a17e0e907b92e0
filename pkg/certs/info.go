package certs

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"k8s.io/apimachinery/pkg/util/duration"
)

// Describe summarises c.
func Describe(c *x509.Certificate) *result.CertInfo { return DescribeWithSum(c, sha256.Sum256(c.Raw)) }

// DescribeWithSum is Describe for a caller that already hashed c.Raw with SHA-256.
func DescribeWithSum(c *x509.Certificate, sum [sha256.Size]byte) *result.CertInfo {
	return &result.CertInfo{
		Subject:     name(c.Subject.CommonName, c.Subject.String()),
		Issuer:      name(c.Issuer.CommonName, c.Issuer.String()),
		NotBefore:   c.NotBefore.UTC(),
		NotAfter:    c.NotAfter.UTC(),
		Serial:      c.SerialNumber.Text(16),
		SANs:        SANs(c),
		IsCA:        c.IsCA,
		Fingerprint: hex.EncodeToString(sum[:]),
		Cert:        c,
		Crypto:      CryptoFactsOf(c),
	}
}

func name(cn, dn string) string {
	if cn != "" {
		return cn
	}
	return dn
}

// SANs lists a certificate's subject alternative names, DNS names first, then IPs,
// then URIs and e-mail addresses, each as written in the certificate.
func SANs(c *x509.Certificate) []string {
	out := make([]string, 0, len(c.DNSNames)+len(c.IPAddresses))
	out = append(out, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	for _, u := range c.URIs {
		out = append(out, u.String())
	}
	out = append(out, c.EmailAddresses...)
	return out
}

// Residual is the time left as kubeadm prints it ("364d", "9y", "<invalid>" once expired).
func Residual(notAfter, now time.Time) string {
	return duration.HumanDuration(notAfter.Sub(now))
}

// ExpiredError is the text Go clients (kubectl, client-go, the API server calling a
// webhook) print for a certificate outside its validity period.
func ExpiredError(i *result.CertInfo, now time.Time) string {
	const base = "x509: certificate has expired or is not yet valid"
	if now.Before(i.NotBefore) {
		return fmt.Sprintf("%s: current time %s is before %s", base, now.UTC().Format(time.RFC3339), i.NotBefore.Format(time.RFC3339))
	}
	return fmt.Sprintf("%s: current time %s is after %s", base, now.UTC().Format(time.RFC3339), i.NotAfter.Format(time.RFC3339))
}
