package result

import (
	"crypto/x509"
	"time"
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

// CertInfo is what certdoctor reports about one certificate. It holds no key material:
// a certificate is public by design.
type CertInfo struct {
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
	// Crypto is what the weak-crypto rules judge, kept because sources that report
	// thousands of certificates drop Cert once it is described.
	Crypto CryptoFacts `json:"-"`
}

// CryptoFacts are the properties of a certificate that Go clients refuse or browsers
// limit, independent of where the certificate was found.
type CryptoFacts struct {
	// RSABits is the RSA modulus size; 0 for other key types.
	RSABits int
	// CannotSign is Go's error when the certificate is used to verify another (no
	// basicConstraints CA:TRUE, or a keyUsage without keyCertSign); "" when it can.
	CannotSign string
	// PinnedLeaf: self-signed and not a CA at all, so it is only ever trusted as itself
	// (Go returns such a root as the whole chain and never checks its CA fields).
	PinnedLeaf bool
	// NoServerAuth lists the extended key usages ("clientAuth") when they are listed and
	// serverAuth is not among them; "" otherwise.
	NoServerAuth string
	// ZeroSerial: serial number 0, which RFC 5280 forbids and Go still accepts.
	ZeroSerial bool
}

// RecommendedRSABits is the size under which an RSA key is judged: NIST SP 800-131A
// has disallowed shorter keys since 2013, and OpenSSL at security level 2 refuses them.
const RecommendedRSABits = 2048

// Weak reports whether any rule of pkg/diagnose's CryptoFindings applies, for a
// certificate used as a CA (usedAsCA) or not.
func (f CryptoFacts) Weak(usedAsCA bool) bool {
	return f.RSABits != 0 && f.RSABits < RecommendedRSABits || f.ZeroSerial || f.CannotSignAsCA(usedAsCA)
}

// CannotSignAsCA: used as a CA, and Go refuses what it signs. A self-signed non-CA in a
// trust bundle is a pinned certificate (Linkerd's webhooks, cert-manager's SelfSigned
// issuer writing the leaf as ca.crt): Go trusts it as itself, so it is exempt.
func (f CryptoFacts) CannotSignAsCA(usedAsCA bool) bool {
	return usedAsCA && f.CannotSign != "" && !f.PinnedLeaf
}

// StatusAt rates the certificate at now, with warnWithin as the "expiring soon" window.
func (i *CertInfo) StatusAt(now time.Time, warnWithin time.Duration) Status {
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

// KubeadmRow places a certificate in kubeadm's check-expiration table.
type KubeadmRow struct {
	// Table is which table the row belongs in: kubeadm's "certificates" or
	// "authorities", or "kubelet" for the kubelet's certificates kubeadm does not list.
	Table             string `json:"table"`
	Name              string `json:"name"`
	CAName            string `json:"caName,omitempty"`
	IsCA              bool   `json:"isCA"`
	ExternallyManaged bool   `json:"externallyManaged"`
}

// Kubeadm table names.
const (
	TableCertificates = "certificates"
	TableAuthorities  = "authorities"
	TableKubelet      = "kubelet"
)

// Record is one certificate at one place. JSON field names are a documented contract.
type Record struct {
	Source   string `json:"source"`
	Name     string `json:"name"`
	Location string `json:"location"`
	Node     string `json:"node,omitempty"`
	*CertInfo
	Status   Status      `json:"status"`
	Residual string      `json:"residual,omitempty"`
	Kubeadm  *KubeadmRow `json:"kubeadm,omitempty"`
	// Cluster is the kubeconfig context, in a report that spans several (--contexts).
	Cluster string `json:"cluster,omitempty"`
}

// Source kinds, as they appear in output.
const (
	SourceKubeconfig       = "kubeconfig"
	SourceAPIServer        = "apiserver"
	SourceLocal            = "local"
	SourceNode             = "node"
	SourceSecret           = "secret"
	SourceConfigMap        = "configmap"
	SourceWebhook          = "webhook"
	SourceAPIService       = "apiservice"
	SourceCRD              = "crd"
	SourceCertManager      = "cert-manager"
	SourceKubeconfigSecret = "kubeconfig-secret"
	// SourceCSR is for findings about CertificateSigningRequests (never certificate records).
	SourceCSR = "csr"
	// SourceKubelet is for what a node's kubelet serves on its port.
	SourceKubelet = "kubelet"
)
