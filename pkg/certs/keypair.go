package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// Key pair verdicts in crypto/tls's own words (tls.X509KeyPair, crypto/tls/tls.go), so
// that the finding's error is the text the ingress controller or webhook logs.
var (
	// ErrKeyMismatch: the key is a private key, but not the certificate's.
	ErrKeyMismatch = errors.New("tls: private key does not match public key")
	// ErrKeyTypeMismatch: an RSA key for an ECDSA certificate, or the other way round.
	ErrKeyTypeMismatch = errors.New("tls: private key type does not match public key type")
	errNoKeyPEM        = errors.New("tls: failed to find any PEM data in key input")
	errCertAsKey       = errors.New("tls: found a certificate rather than a key in the PEM for the private key")
	errKeyUnparsable   = errors.New("tls: failed to parse private key")
	errKeyPKCS8Type    = errors.New("tls: found unknown private key type in PKCS#8 wrapping")
	errUnknownPubKey   = errors.New("tls: unknown public key algorithm")
)

// CheckKeyPair reports whether keyPEM holds the private key of the certificate whose
// public key is pub, as tls.X509KeyPair judges it: nil when it does; ErrKeyMismatch or
// ErrKeyTypeMismatch (errors.Is) for another key; otherwise why the key is unusable.
// Errors never quote the data, and the decoded key bytes are zeroed before it returns:
// the key lives only for the comparison.
func CheckKeyPair(pub crypto.PublicKey, keyPEM []byte) error {
	block, err := keyBlock(keyPEM)
	if err != nil {
		return err
	}
	defer clear(block.Bytes) // pem.Decode copied the key into a buffer of its own
	priv, err := parsePrivateKey(block.Type, block.Bytes)
	if err != nil {
		return err
	}
	return publicKeysMatch(pub, priv)
}

// keyBlock finds the first PEM block whose type ends in "PRIVATE KEY", skipping others
// (EC PARAMETERS) as crypto/tls does.
func keyBlock(data []byte) (*pem.Block, error) {
	var skipped []string
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		switch {
		case block == nil && len(skipped) == 0:
			return nil, errNoKeyPEM
		case block == nil && len(skipped) == 1 && skipped[0] == "CERTIFICATE":
			return nil, errCertAsKey
		case block == nil:
			// The block types are labels, not key material.
			return nil, fmt.Errorf("tls: failed to find PEM block with type ending in \"PRIVATE KEY\" in key input after skipping PEM blocks of the following types: %v", skipped)
		case block.Type == "PRIVATE KEY" || strings.HasSuffix(block.Type, " PRIVATE KEY"):
			return block, nil
		}
		clear(block.Bytes)
		skipped = append(skipped, block.Type)
	}
}

// parsePrivateKey accepts what crypto/tls accepts: PKCS #1, PKCS #8 or SEC 1, whatever
// the block's label. The label only picks which parser runs first, since on thousands
// of secrets the failed attempts of the others cost as much as the parse itself. The
// parse errors of crypto/x509 are dropped: they may describe the key's structure.
func parsePrivateKey(label string, der []byte) (crypto.PrivateKey, error) {
	parsers := [3]func([]byte) (crypto.PrivateKey, error){parsePKCS1, parsePKCS8, parseSEC1}
	switch label {
	case "EC PRIVATE KEY":
		parsers = [3]func([]byte) (crypto.PrivateKey, error){parseSEC1, parsePKCS1, parsePKCS8}
	case "PRIVATE KEY":
		parsers = [3]func([]byte) (crypto.PrivateKey, error){parsePKCS8, parsePKCS1, parseSEC1}
	}
	for _, parse := range parsers {
		if key, err := parse(der); err == nil {
			return key, nil
		} else if err == errKeyPKCS8Type {
			return nil, err
		}
	}
	return nil, errKeyUnparsable
}

func parsePKCS1(der []byte) (crypto.PrivateKey, error) { return x509.ParsePKCS1PrivateKey(der) }
func parseSEC1(der []byte) (crypto.PrivateKey, error)  { return x509.ParseECPrivateKey(der) }

// parsePKCS8 refuses the key types crypto/tls refuses inside PKCS #8 (X25519, ML-DSA).
func parsePKCS8(der []byte) (crypto.PrivateKey, error) {
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	switch key.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
		return key, nil
	}
	return nil, errKeyPKCS8Type
}

// publicKeysMatch compares with the keys' own Equal methods, type by type as crypto/tls.
func publicKeysMatch(pub crypto.PublicKey, priv crypto.PrivateKey) error {
	var equal, sameType bool
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		k, ok := priv.(*rsa.PrivateKey)
		sameType, equal = ok, ok && k.PublicKey.Equal(pub)
	case *ecdsa.PublicKey:
		k, ok := priv.(*ecdsa.PrivateKey)
		sameType, equal = ok, ok && k.PublicKey.Equal(pub)
	case ed25519.PublicKey:
		k, ok := priv.(ed25519.PrivateKey)
		sameType, equal = ok, ok && k.Public().(ed25519.PublicKey).Equal(pub)
	default:
		return errUnknownPubKey
	}
	switch {
	case !sameType:
		return ErrKeyTypeMismatch
	case !equal:
		return ErrKeyMismatch
	}
	return nil
}

// IsKeyMismatch reports whether err says the key belongs to another certificate (as
// opposed to a key that cannot be read at all).
func IsKeyMismatch(err error) bool {
	return errors.Is(err, ErrKeyMismatch) || errors.Is(err, ErrKeyTypeMismatch)
}
