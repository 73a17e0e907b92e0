package result

import "time"

// Inspection is one object or file in depth (inspect). Field names are part of the JSON
// contract (docs/output.md).
type Inspection struct {
	// Object names what was inspected: "secret default/web-tls", a file path.
	Object       string              `json:"object"`
	Certificates []CertificateDetail `json:"certificates"`
	// Verifications are the chain, verified against each trust source that applies.
	Verifications []Verification `json:"verifications,omitempty"`
	// KeyPair is "match" or "mismatch" for a secret with tls.key, "" otherwise. The key
	// itself is never part of a report.
	KeyPair string `json:"keyPair,omitempty"`
}

// CertificateDetail is everything public about one certificate.
type CertificateDetail struct {
	// Where is the key or position it was read from: "tls.crt[0]", "caBundle[1]".
	Where              string    `json:"where"`
	Subject            string    `json:"subject"`
	Issuer             string    `json:"issuer"`
	Serial             string    `json:"serial"`
	NotBefore          time.Time `json:"notBefore"`
	NotAfter           time.Time `json:"notAfter"`
	Status             Status    `json:"status"`
	Residual           string    `json:"residual"`
	SANs               []string  `json:"sans,omitempty"`
	PublicKey          string    `json:"publicKey"`
	SignatureAlgorithm string    `json:"signatureAlgorithm"`
	KeyUsage           []string  `json:"keyUsage,omitempty"`
	ExtKeyUsage        []string  `json:"extKeyUsage,omitempty"`
	IsCA               bool      `json:"isCA"`
	// MaxPathLen is the CA's path length constraint, when it has one.
	MaxPathLen        *int   `json:"maxPathLen,omitempty"`
	SubjectKeyID      string `json:"subjectKeyID,omitempty"`
	AuthorityKeyID    string `json:"authorityKeyID,omitempty"`
	FingerprintSHA256 string `json:"fingerprintSHA256"`
}

// Verification results.
const (
	Verified    = "verified"
	NotVerified = "failed"
)

// Verification is the chain verified against one trust source.
type Verification struct {
	// Against names the trust source: "ca.crt of the secret", "kubeconfig CA",
	// "kube-root-ca.crt", "system roots".
	Against string `json:"against"`
	Result  string `json:"result"`
	// Chain is the path built, leaf first, by subject, when verified.
	Chain []string `json:"chain,omitempty"`
	// Error is Go's verification error when it failed.
	Error string `json:"error,omitempty"`
}
