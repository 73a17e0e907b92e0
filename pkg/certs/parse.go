// Package certs parses certificates from the shapes they arrive in (PEM bundles, DER,
// kubeconfig data) and describes them: validity, residual time, status.
// Private keys are recognised only to refuse them: their bytes never reach an error or a result.
package certs

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// Named parse failures, so callers can tell a key-in-place-of-a-cert from garbage.
var (
	ErrEmpty         = errors.New("no data")
	ErrNoCertificate = errors.New("no PEM certificate found")
	ErrPrivateKey    = errors.New("holds a private key, not a certificate")
)

// ParseBundle returns every certificate in data: one or more PEM CERTIFICATE blocks
// (other blocks such as keys are skipped) or a single DER certificate.
// A block that fails to parse is an error naming its position; the error never
// quotes the data itself.
func ParseBundle(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	err := EachDER(data, func(der []byte) error {
		c, err := x509.ParseCertificate(der)
		if err == nil {
			out = append(out, c)
		}
		return err
	})
	return out, err
}

// EachDER calls parse with the DER bytes of every certificate in data, as ParseBundle
// reads it, so a caller can parse each certificate its own way (or not at all: the
// same intermediate appears in thousands of chains). An error from parse stops the
// walk and is returned naming the block.
func EachDER(data []byte, parse func(der []byte) error) error {
	if der, ok := derElement(data); ok {
		// One whole DER certificate, read as it is: its last bytes may well be what
		// TrimSpace takes for white space (a signature ending in 0x0a), and its fields
		// may even hold "-----BEGIN".
		if err := parse(der); err != nil {
			return fmt.Errorf("DER certificate: %w", cleanX509Err(err))
		}
		return nil
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return ErrEmpty
	}
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		// Not PEM: a DER certificate (starts with an ASN.1 SEQUENCE) or garbage.
		if data[0] != 0x30 {
			return ErrNoCertificate
		}
		if err := parse(data); err != nil {
			return fmt.Errorf("DER certificate: %w", cleanX509Err(err))
		}
		return nil
	}
	found, sawKey := false, false
	for i := 0; ; i++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		switch {
		case block.Type == "CERTIFICATE":
			if err := parse(block.Bytes); err != nil {
				return fmt.Errorf("PEM block %d: %w", i+1, cleanX509Err(err))
			}
			found = true
		case strings.Contains(block.Type, "PRIVATE KEY"):
			sawKey = true
		}
	}
	if !found {
		if sawKey {
			return ErrPrivateKey
		}
		return ErrNoCertificate
	}
	return nil
}

// derElement returns data's ASN.1 SEQUENCE when data is exactly one, give or take white
// space around it. A PEM file never is: its first line would have to be a "0" and a
// length byte covering all the rest.
func derElement(data []byte) ([]byte, bool) {
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 || data[0] != 0x30 {
		return nil, false
	}
	var v asn1.RawValue
	rest, err := asn1.Unmarshal(data, &v)
	if err != nil || len(bytes.TrimSpace(rest)) != 0 {
		return nil, false
	}
	return v.FullBytes, true
}

// cleanX509Err keeps crypto/x509's reason but drops any trailing detail that could
// echo input bytes. x509 errors name structures ("malformed certificate"), not data,
// so in practice this only trims whitespace; it exists to make the guarantee explicit.
func cleanX509Err(err error) error {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return errors.New(msg)
}

// StripPrivateKeys returns data with every PEM block whose type names a private key
// removed. Used where a file holds certificate and key together (kubelet-client-current.pem).
func StripPrivateKeys(data []byte) []byte {
	var out bytes.Buffer
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return out.Bytes()
		}
		if strings.Contains(block.Type, "PRIVATE KEY") {
			continue
		}
		_ = pem.Encode(&out, block)
	}
}
