// Package certstest makes real certificates for tests: CAs, leaves, chains, with any
// validity window, SANs and subject. Keys are ECDSA P-256 so tests stay fast.
package certstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var serial atomic.Int64

func init() { serial.Store(time.Now().UnixNano()) }

// Pair is a certificate with its key: Key, or RSAKey when Opts.RSABits asked for one.
type Pair struct {
	Cert   *x509.Certificate
	Key    *ecdsa.PrivateKey
	RSAKey *rsa.PrivateKey
}

// made remembers every pair by its certificate's DER, so that a test helper given only a
// certificate's PEM can still store the key that belongs to it (KeyPEMFor).
var made sync.Map

// Opts describes a certificate to make. Zero NotBefore/NotAfter mean one hour ago and
// one year from now.
type Opts struct {
	CN           string
	Org          []string
	DNS          []string
	IPs          []string
	NotBefore    time.Time
	NotAfter     time.Time
	IsCA         bool
	Client       bool // client auth usage instead of server auth
	SerialNumber int64
	// SHA1 signs with ECDSA-with-SHA1, which Go refuses to verify (Go still creates it).
	SHA1 bool
	// RSABits makes an RSA key of that size instead of ECDSA P-256 (under 1024 bits
	// needs GODEBUG rsa1024min=0 while the key is generated and used).
	RSABits int
	// KeyUsage and ExtKeyUsage, when set, replace the defaults for the kind of certificate.
	KeyUsage    x509.KeyUsage
	ExtKeyUsage []x509.ExtKeyUsage
	// NoBasicConstraints leaves the basicConstraints extension out (a "CA" openssl
	// makes from a config without v3_ca).
	NoBasicConstraints bool
}

// NewCA makes a self-signed CA.
func NewCA(cn string) *Pair {
	return SelfSigned(Opts{CN: cn, IsCA: true, NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour)})
}

// SelfSigned makes a self-signed certificate.
func SelfSigned(o Opts) *Pair { return issue(o, nil) }

// Issue makes a certificate signed by p.
func (p *Pair) Issue(o Opts) *Pair { return issue(o, p) }

func issue(o Opts, parent *Pair) *Pair {
	self := newKey(o.RSABits)
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Now().Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = time.Now().Add(365 * 24 * time.Hour)
	}
	sn := o.SerialNumber
	if sn == 0 {
		sn = serial.Add(1)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(sn),
		Subject:      pkix.Name{CommonName: o.CN, Organization: o.Org},
		NotBefore:    o.NotBefore,
		NotAfter:     o.NotAfter,
		DNSNames:     o.DNS,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	if o.SHA1 {
		tmpl.SignatureAlgorithm = x509.ECDSAWithSHA1
	}
	for _, ip := range o.IPs {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	if o.IsCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	} else if o.Client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	if o.KeyUsage != 0 {
		tmpl.KeyUsage = o.KeyUsage
	}
	if o.ExtKeyUsage != nil {
		tmpl.ExtKeyUsage = o.ExtKeyUsage
	}
	if o.NoBasicConstraints {
		tmpl.BasicConstraintsValid = false
	}
	signer, signerCert := self.signer(), tmpl
	if parent != nil {
		signer, signerCert = parent.signer(), parent.Cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, self.signer().Public(), signer)
	if err != nil {
		panic(err)
	}
	self.Cert, err = x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	made.Store(string(der), self)
	return self
}

func newKey(rsaBits int) *Pair {
	if rsaBits > 0 {
		k, err := rsa.GenerateKey(rand.Reader, rsaBits)
		if err != nil {
			panic(err)
		}
		return &Pair{RSAKey: k}
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return &Pair{Key: k}
}

// Signer is the pair's private key, whichever kind it is.
func (p *Pair) Signer() crypto.Signer { return p.signer() }

func (p *Pair) signer() crypto.Signer {
	if p.RSAKey != nil {
		return p.RSAKey
	}
	return p.Key
}

// KeyPEMFor is the private key (PEM) of the first certificate in certPEM when this
// package made it, nil otherwise.
func KeyPEMFor(certPEM []byte) []byte {
	b, _ := pem.Decode(certPEM)
	if b == nil {
		return nil
	}
	p, ok := made.Load(string(b.Bytes))
	if !ok {
		return nil
	}
	return p.(*Pair).KeyPEM()
}

// CertPEM is the certificate as PEM.
func (p *Pair) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Cert.Raw})
}

// KeyPEM is the private key as PEM (tests use it to prove it never leaks): SEC 1 for
// ECDSA, PKCS #1 for RSA.
func (p *Pair) KeyPEM() []byte {
	if p.RSAKey != nil {
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(p.RSAKey)})
	}
	der, err := x509.MarshalECPrivateKey(p.Key)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

// Bundle concatenates the PEM of several pairs (leaf first for a chain).
func Bundle(pairs ...*Pair) []byte {
	var out []byte
	for _, p := range pairs {
		out = append(out, p.CertPEM()...)
	}
	return out
}

// Days is n days from now (negative for the past).
func Days(n float64) time.Time { return time.Now().Add(time.Duration(n * 24 * float64(time.Hour))) }

// ServeTLS serves cfg on a loopback port until the test ends, completing handshakes and nothing more; it returns "127.0.0.1:port".
func ServeTLS(t testing.TB, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

// TLSConfig serves leaf (with its key) followed by chain.
func TLSConfig(leaf *Pair, chain ...*Pair) *tls.Config {
	cert := tls.Certificate{Certificate: [][]byte{leaf.Cert.Raw}, PrivateKey: leaf.signer()}
	for _, p := range chain {
		cert.Certificate = append(cert.Certificate, p.Cert.Raw)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}
