// Package identity says who certdoctor runs as: what a kubeconfig user entry presents,
// read offline without keeping any secret part of it, what the API server makes of it
// (SelfSubjectReview), and which of the requests certdoctor's checks make it allows
// (SelfSubjectAccessReview).
package identity

import (
	"crypto/x509"
	"fmt"
	"os/exec"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/fileio"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// LookPath finds an exec plugin's command; tests replace it.
var LookPath = exec.LookPath

// Describe reads the credentials of a kubeconfig user entry (paths resolved, as client-go
// loads them). clusterCA is the PEM the cluster entry trusts, to say whether a client
// certificate was signed by it; it may be empty.
func Describe(ai *clientcmdapi.AuthInfo, clusterCA []byte) result.Credential {
	var c result.Credential
	if ai == nil {
		c.Kinds = []string{result.CredentialNone}
		return c
	}
	if len(ai.ClientCertificateData) > 0 || ai.ClientCertificate != "" {
		c.Kinds = append(c.Kinds, result.CredentialClientCertificate)
		cert, err := clientCertificate(ai, clusterCA)
		if err != nil {
			c.Problems = append(c.Problems, err.Error())
		}
		c.Certificate = cert
	}
	if ai.Token != "" || ai.TokenFile != "" {
		c.Kinds = append(c.Kinds, result.CredentialToken)
		tok, err := token(ai)
		if err != nil {
			c.Problems = append(c.Problems, err.Error())
		}
		c.Token = tok
	}
	if ai.Exec != nil {
		c.Kinds = append(c.Kinds, result.CredentialExec)
		c.Exec = ai.Exec.Command
		if p, err := LookPath(ai.Exec.Command); err == nil {
			c.ExecPath = p
		}
	}
	if ai.AuthProvider != nil {
		c.Kinds = append(c.Kinds, result.CredentialAuthProvider)
		c.AuthProvider = ai.AuthProvider.Name
	}
	if ai.Username != "" || ai.Password != "" {
		c.Kinds = append(c.Kinds, result.CredentialBasic)
		c.Username = ai.Username
	}
	if len(c.Kinds) == 0 {
		c.Kinds = []string{result.CredentialNone}
	}
	return c
}

func clientCertificate(ai *clientcmdapi.AuthInfo, clusterCA []byte) (*result.ClientCertificate, error) {
	data := ai.ClientCertificateData
	if len(data) == 0 {
		var err error
		if data, err = fileio.ReadFile(ai.ClientCertificate); err != nil {
			return nil, fmt.Errorf("client-certificate %s: %w", ai.ClientCertificate, err)
		}
	}
	chain, err := certs.ParseBundle(data)
	if err != nil {
		return nil, fmt.Errorf("the client certificate cannot be read: %w", err)
	}
	leaf := chain[0]
	c := &result.ClientCertificate{User: leaf.Subject.CommonName, Groups: leaf.Subject.Organization,
		Issuer: leaf.Issuer.CommonName, NotBefore: leaf.NotBefore, NotAfter: leaf.NotAfter}
	if len(clusterCA) > 0 {
		if cas, err := certs.ParseBundle(clusterCA); err == nil {
			signed := signedBy(chain, cas)
			c.SignedByClusterCA = &signed
		}
	}
	return c, nil
}

// signedBy says whether the chain leads to one of cas by signatures alone, whatever the
// dates: an expired certificate is a finding of its own, not a foreign one.
func signedBy(chain, cas []*x509.Certificate) bool {
	cur := chain[0]
	for range chain {
		for _, ca := range cas {
			if certs.SignedBy(cur, ca) {
				return true
			}
		}
		next := -1
		for i, c := range chain[1:] {
			if certs.SignedBy(cur, c) {
				next = i + 1
				break
			}
		}
		if next < 0 {
			return false
		}
		cur = chain[next]
	}
	return false
}

func token(ai *clientcmdapi.AuthInfo) (*result.Token, error) {
	raw := ai.Token
	if raw == "" {
		b, err := fileio.ReadFile(ai.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("tokenFile %s: %w", ai.TokenFile, err)
		}
		raw = string(b)
	}
	claims, ok := parseJWT(raw)
	if !ok {
		return &result.Token{Opaque: true}, nil
	}
	return claims, nil
}
