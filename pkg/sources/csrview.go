package sources

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
)

// csrState is where a CertificateSigningRequest stands.
type csrState int

const (
	csrPending  csrState = iota
	csrIssued            // approved, and the signer wrote status.certificate
	csrApproved          // approved, no certificate yet
	csrDenied
	csrFailed
)

// nodePrefix starts the common name of every certificate a kubelet asks for.
const nodePrefix = "system:node:"

// csrView is what the CSR checks need of one request: a page of CSRs is dropped once
// summarised, so their PEM requests and certificates are not kept for the whole list.
type csrView struct {
	name, signer, username string
	created                time.Time
	state                  csrState
	// since is when it was approved, denied or failed (creation when the API server
	// recorded no time).
	since time.Time
	// reason is the Denied or Failed condition's reason and message.
	reason string
	// node is the kubelet's node (CN system:node:NAME), "" for other requesters.
	node string
	// sans are the DNS names and IPs the request asks for.
	sans []string
	// badRequest says why spec.request is not a PKCS#10 request; the CSR is still judged.
	badRequest string
}

// viewCSR summarises csr.
func viewCSR(csr *certificatesv1.CertificateSigningRequest) csrView {
	v := csrView{name: csr.Name, signer: csr.Spec.SignerName, username: csr.Spec.Username,
		created: csr.CreationTimestamp.Time, state: csrPending}
	v.since = v.created
	for _, c := range csr.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		at := c.LastUpdateTime.Time
		if at.IsZero() {
			at = c.LastTransitionTime.Time
		}
		if at.IsZero() {
			at = v.created
		}
		switch c.Type {
		case certificatesv1.CertificateApproved:
			if v.state == csrPending {
				v.state, v.since = csrApproved, at
			}
		case certificatesv1.CertificateDenied, certificatesv1.CertificateFailed:
			// Failed wins over Approved: the signer tried and gave up.
			v.state, v.since = csrDenied, at
			if c.Type == certificatesv1.CertificateFailed {
				v.state = csrFailed
			}
			v.reason = strings.TrimSpace(strings.TrimSpace(c.Reason) + ": " + strings.TrimSpace(c.Message))
			v.reason = strings.Trim(v.reason, ": ")
		}
	}
	if v.state == csrApproved && len(csr.Status.Certificate) > 0 {
		v.state = csrIssued
	}
	req, err := parseCSRRequest(csr.Spec.Request)
	if err != nil {
		v.badRequest = err.Error()
		return v
	}
	if n, ok := strings.CutPrefix(req.Subject.CommonName, nodePrefix); ok {
		v.node = n
	}
	v.sans = append(v.sans, req.DNSNames...)
	for _, ip := range req.IPAddresses {
		v.sans = append(v.sans, ip.String())
	}
	return v
}

// parseCSRRequest reads spec.request, a PEM "CERTIFICATE REQUEST" block. Its signature
// is not checked: the API server checked it on create, and only the names are used.
func parseCSRRequest(data []byte) (*x509.CertificateRequest, error) {
	b, _ := pem.Decode(data)
	switch {
	case b == nil:
		return nil, errors.New("spec.request holds no PEM block")
	case b.Type != "CERTIFICATE REQUEST" && b.Type != "NEW CERTIFICATE REQUEST":
		// The block's type is not quoted: it could be a key's.
		return nil, errors.New("spec.request holds a PEM block that is not a CERTIFICATE REQUEST")
	}
	req, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("spec.request does not parse: %w", err)
	}
	return req, nil
}

// requester is whom a CSR is for: the node, else the user who created it.
func (v *csrView) requester() string {
	if v.node != "" {
		return "node " + v.node
	}
	if v.username != "" {
		return "user " + v.username
	}
	return "csr " + v.name
}
