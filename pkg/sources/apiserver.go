package sources

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// APIServer reports the certificate the API server presents at the kubeconfig's
// server URL and, by name, every reason a client would refuse it.
type APIServer struct {
	Server     string // https://host:port
	ServerName string // tls-server-name override, if any
	// CAData is the CA the kubeconfig trusts; empty means the system roots.
	CAData   []byte
	Insecure bool
	Timeout  time.Duration

	// Reached is set by Collect: whether the TLS handshake got a certificate.
	Reached bool
	// Trusted is set by Collect: whether the chain verified for the host used.
	Trusted bool
	// CoveredName is set when the chain verifies, only not for the host used: a DNS name
	// it does verify for, which the user may choose to pass as --tls-server-name.
	// certdoctor never switches to it by itself.
	CoveredName string
	// Chain is the presented chain, leaf first, once Collect returns.
	Chain []*x509.Certificate
}

func (a *APIServer) Name() string { return result.SourceAPIServer }

// HostPort splits a server URL into the address to dial and the host name a client checks.
func HostPort(server string) (addr, host string, err error) {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return "", "", fmt.Errorf("invalid server URL %q", server)
	}
	if u.Scheme != "https" {
		return "", "", fmt.Errorf("server %q does not use https: there is no certificate to check", server)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "443"
	}
	return net.JoinHostPort(host, port), host, nil
}

// BadServerURL is the finding for a kubeconfig server HostPort refuses: critical, since
// no client can use it either (and plain http has no certificate to check).
func BadServerURL(server string, err error) result.Finding {
	return diagnose.NewVariant(diagnose.CodeKubeconfigInvalid, "server", diagnose.Where{Source: result.SourceAPIServer, Subject: server}, diagnose.Params{"err": err})
}

// Collect implements Source.
func (a *APIServer) Collect(ctx context.Context, c *Collector) error {
	addr, host, err := HostPort(a.Server)
	if err != nil {
		c.Finding(BadServerURL(a.Server, err))
		return nil
	}
	sni := host
	if a.ServerName != "" {
		sni = a.ServerName
	}
	if certs.IsIP(sni) {
		sni = "" // clients send no SNI for an IP address
	}
	chain, err := Served(ctx, addr, sni, a.Timeout)
	if err != nil {
		c.Finding(diagnose.FromAPIError(result.SourceAPIServer, a.Server, err))
		return nil
	}
	a.Reached, a.Chain = true, chain
	infos := DescribeAll(chain)
	c.AddChain(infos, result.Record{Source: result.SourceAPIServer, Name: "serving certificate", Location: a.Server}, diagnose.CertContext{Subject: a.Server})

	verifyName := host
	if a.ServerName != "" {
		verifyName = a.ServerName
	}
	if a.Insecure {
		c.Note("the API server certificate was not verified against a CA: the kubeconfig sets insecure-skip-tls-verify")
		return nil
	}
	var roots *x509.CertPool
	if len(a.CAData) > 0 {
		roots, _, err = certs.PoolOf(a.CAData)
		if err != nil {
			return nil // the kubeconfig source reports an unusable CA
		}
	}
	problem, msg := certs.VerifyChain(chain, roots, verifyName, c.Now)
	at := diagnose.Where{Source: result.SourceAPIServer, Subject: a.Server}
	switch problem {
	case certs.ChainOK:
		a.Trusted = true
	case certs.ChainExpired, certs.ChainNotYetValid:
		// The certificate record already carries this finding.
	case certs.ChainUnknownAuthority:
		c.Finding(diagnose.NewVariant(diagnose.CodeUnknownAuthority, "kubeconfig-ca", at, diagnose.Params{"issuer": infos[0].Issuer, "err": msg}))
	case certs.ChainInsecureSignature:
		c.Finding(diagnose.New(diagnose.CodeInsecureSignature, at, diagnose.Params{"name": "the API server's certificate", "issuer": infos[0].Issuer,
			"algorithm": chain[0].SignatureAlgorithm.String(), "kubeadmName": "apiserver", "err": "Unable to connect to the server: " + msg}))
	case certs.ChainLegacyCommonName:
		c.Finding(diagnose.NewVariant(diagnose.CodeLegacyCommonName, "served", at, diagnose.Params{"name": "the API server's certificate",
			"subject": infos[0].Subject, "err": "Unable to connect to the server: " + msg}))
	case certs.ChainKeyUsage:
		c.Finding(diagnose.NoServerAuth("served", at, "the API server's certificate", infos[0], diagnose.CertContext{}))
	case certs.ChainHostname:
		a.CoveredName = CoveredName(chain, roots, c.Now)
		c.Finding(diagnose.New(diagnose.CodeHostnameMismatch, at,
			diagnose.Params{"host": verifyName, "sans": strings.Join(infos[0].SANs, ", "), "err": msg, "serverName": a.CoveredName}))
	default:
		c.Finding(diagnose.NewVariant(diagnose.CodeUnknownAuthority, "unverified", at, diagnose.Params{"err": msg}))
	}
	return nil
}

// CoveredName is the first DNS name the chain verifies for, or "".
func CoveredName(chain []*x509.Certificate, roots *x509.CertPool, now time.Time) string {
	for _, name := range chain[0].DNSNames {
		if p, _ := certs.VerifyChain(chain, roots, name, now); p == certs.ChainOK {
			return name
		}
	}
	return ""
}
