package certs

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"
)

// Status is a certificate's validity at a point in time.
type Status string

const (
	StatusOK          Status = "OK"
	StatusExpiring    Status = "EXPIRING"
	StatusExpired     Status = "EXPIRED"
	StatusNotYetValid Status = "NOT_YET_VALID"
	// StatusMissing is for a file or key that should hold a certificate and does not exist.
	StatusMissing Status = "MISSING"
	// StatusInvalid is for data that should be a certificate and does not parse.
	StatusInvalid Status = "INVALID"
)

// Info is what certdoctor reports about one certificate. It holds no key material:
// a certificate is public by design.
type Info struct {
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	NotBefore   time.Time `json:"notBefore"`
	NotAfter    time.Time `json:"notAfter"`
	Serial      string    `json:"serial"`
	SANs        []string  `json:"sans,omitempty"`
	IsCA        bool      `json:"isCA"`
	Fingerprint string    `json:"fingerprintSHA256"`
	// Cert is kept for verification (chains, hostnames) and is never serialised.
	Cert *x509.Certificate `json:"-"`
}

// Describe summarises c.
func Describe(c *x509.Certificate) *Info { return DescribeWithSum(c, sha256.Sum256(c.Raw)) }

// DescribeWithSum is Describe for a caller that already hashed c.Raw with SHA-256.
func DescribeWithSum(c *x509.Certificate, sum [sha256.Size]byte) *Info {
	return &Info{
		Subject:     name(c.Subject.CommonName, c.Subject.String()),
		Issuer:      name(c.Issuer.CommonName, c.Issuer.String()),
		NotBefore:   c.NotBefore.UTC(),
		NotAfter:    c.NotAfter.UTC(),
		Serial:      c.SerialNumber.Text(16),
		SANs:        SANs(c),
		IsCA:        c.IsCA,
		Fingerprint: hex.EncodeToString(sum[:]),
		Cert:        c,
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

// StatusAt rates the certificate at now, with warnWithin as the "expiring soon" window.
func (i *Info) StatusAt(now time.Time, warnWithin time.Duration) Status {
	switch {
	case now.Before(i.NotBefore):
		return StatusNotYetValid
	case !now.Before(i.NotAfter):
		return StatusExpired
	case i.NotAfter.Sub(now) <= warnWithin:
		return StatusExpiring
	default:
		return StatusOK
	}
}

// Residual is the time left as kubeadm prints it ("364d", "9y", "<invalid>" once expired).
func Residual(notAfter, now time.Time) string {
	return duration.HumanDuration(notAfter.Sub(now))
}

// KubeadmTime formats a time the way `kubeadm certs check-expiration` does.
func KubeadmTime(t time.Time) string {
	return t.UTC().Format("Jan 02, 2006 15:04 MST")
}

// ExpiredError is the text Go clients (kubectl, client-go, the API server calling a
// webhook) print for a certificate outside its validity period.
func ExpiredError(i *Info, now time.Time) string {
	const base = "x509: certificate has expired or is not yet valid"
	if now.Before(i.NotBefore) {
		return fmt.Sprintf("%s: current time %s is before %s", base, now.UTC().Format(time.RFC3339), i.NotBefore.Format(time.RFC3339))
	}
	return fmt.Sprintf("%s: current time %s is after %s", base, now.UTC().Format(time.RFC3339), i.NotAfter.Format(time.RFC3339))
}

// ShortSANs joins SANs for a table cell.
func ShortSANs(sans []string) string { return strings.Join(sans, ",") }
