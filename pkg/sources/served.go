package sources

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"time"
)

// Served does a TLS handshake with addr ("host:port") and returns the chain the server
// presents, whether or not it would verify: diagnosing a bad certificate needs the
// certificate. serverName is sent as SNI (empty for none). No client certificate is sent.
func Served(ctx context.Context, addr, serverName string, timeout time.Duration) ([]*x509.Certificate, error) {
	var chain []*x509.Certificate
	cfg := &tls.Config{
		ServerName: serverName,
		// Verification is done afterwards by VerifyChain so that each failure can be named.
		InsecureSkipVerify: true, //nolint:gosec // capture only; see VerifyChain
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			for _, der := range raw {
				c, err := x509.ParseCertificate(der)
				if err != nil {
					return err
				}
				chain = append(chain, c)
			}
			return nil
		},
	}
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: cfg}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if conn != nil {
		_ = conn.Close()
	}
	// A server that demands a client certificate (etcd) may abort after sending its
	// own: the chain captured so far is still the answer.
	if len(chain) > 0 {
		return chain, nil
	}
	if err == nil {
		err = errors.New("server presented no certificate")
	}
	return nil, err
}
