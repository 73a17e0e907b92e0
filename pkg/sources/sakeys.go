package sources

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// NodeSAKeys is what one control-plane node verifies service-account tokens with: the
// public keys of its --service-account-key-file (sa.pub). The private sa.key is never
// read.
type NodeSAKeys struct {
	Node, Path string
	// PEM is the file's PUBLIC KEY blocks; nil when the node has no such file.
	PEM []byte
	// Issuer is the node's kube-apiserver --service-account-issuer (the first), when known.
	Issuer string
}

// Published is what the cluster publishes for token verifiers: /openid/v1/jwks and the
// issuer of /.well-known/openid-configuration. Err says why they could not be read.
type Published struct {
	JWKS, OpenIDConfig []byte
	Err                error
}

// CompareServiceAccountKeys reports control-plane nodes that verify service-account
// tokens with different keys (a token signed by one API server is Unauthorized at the
// next), keys on disk the cluster does not publish, and an issuer that differs from the
// published one.
func CompareServiceAccountKeys(c *Collector, nodes []NodeSAKeys, pub Published) {
	groups := map[string][]string{} // key set fingerprint -> nodes
	sets := map[string][]crypto.PublicKey{}
	for _, n := range nodes {
		switch {
		case n.PEM == nil && !strings.HasSuffix(n.Path, ".pub"):
			c.Note("node %s: kube-apiserver verifies service-account tokens with %s, which certdoctor does not read (private keys never leave the node): its keys were not compared", n.Node, n.Path)
			continue
		case n.PEM == nil:
			c.Note("node %s has no %s (or it is outside the directories the debug pod mounts): its service-account keys were not compared", n.Node, n.Path)
			continue
		}
		keys, err := parsePublicKeys(n.PEM)
		if err != nil || len(keys) == 0 {
			c.Note("node %s: %s holds no public key certdoctor can read (%v)", n.Node, n.Path, err)
			continue
		}
		fp := fingerprints(keys)
		groups[fp] = append(groups[fp], n.Node+":"+n.Path)
		sets[fp] = keys
	}
	var published []crypto.PublicKey
	var issuer string
	if pub.Err != nil {
		c.Note("the published service-account keys (/openid/v1/jwks) could not be read, so the nodes' keys were compared only with each other: %v", pub.Err)
	} else {
		var err error
		if published, err = parseJWKS(pub.JWKS); err != nil {
			c.Note("/openid/v1/jwks: %v", err)
			published = nil
		}
		var conf struct {
			Issuer string `json:"issuer"`
		}
		if json.Unmarshal(pub.OpenIDConfig, &conf) == nil {
			issuer = conf.Issuer
		}
	}
	at := diagnose.Where{Source: result.SourceNode, Subject: "service-account keys"}
	if len(groups) > 1 {
		var parts []string
		for _, members := range groups {
			sort.Strings(members)
			parts = append(parts, strings.Join(members, ", "))
		}
		sort.Strings(parts)
		c.Finding(diagnose.New(diagnose.CodeSAKeyMismatch, at, diagnose.Params{"groups": strings.Join(parts, " | ")}))
	}
	if published != nil {
		for fp, members := range groups {
			if missing := notIn(sets[fp], published); missing > 0 {
				sort.Strings(members)
				c.Finding(diagnose.New(diagnose.CodeSAKeyNotPublished, diagnose.Where{Source: result.SourceNode, Subject: strings.Join(members, ", ")},
					diagnose.Params{"files": strings.Join(members, ", "), "missing": missing, "published": len(published)}))
			}
		}
	}
	if issuer == "" {
		return
	}
	for _, n := range nodes {
		if n.Issuer != "" && n.Issuer != issuer {
			c.Finding(diagnose.New(diagnose.CodeSAIssuerMismatch, diagnose.Where{Source: result.SourceNode, Subject: "node " + n.Node},
				diagnose.Params{"node": n.Node, "flag": n.Issuer, "published": issuer}))
		}
	}
}

// parsePublicKeys reads PUBLIC KEY (PKIX) and RSA PUBLIC KEY (PKCS #1) blocks.
func parsePublicKeys(data []byte) ([]crypto.PublicKey, error) {
	var out []crypto.PublicKey
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return out, nil
		}
		var k crypto.PublicKey
		var err error
		switch b.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(b.Bytes)
		case "RSA PUBLIC KEY":
			k, err = x509.ParsePKCS1PublicKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, k)
	}
}

// fingerprints names a key set: the sorted SHA-256 of each key's PKIX encoding.
func fingerprints(keys []crypto.PublicKey) string {
	var fps []string
	for _, k := range keys {
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			continue
		}
		sum := sha256.Sum256(der)
		fps = append(fps, hex.EncodeToString(sum[:8]))
	}
	sort.Strings(fps)
	return strings.Join(fps, ",")
}

// notIn counts the keys of set that published lacks.
func notIn(set, published []crypto.PublicKey) int {
	n := 0
	for _, k := range set {
		found := false
		for _, p := range published {
			if eq, ok := k.(interface{ Equal(crypto.PublicKey) bool }); ok && eq.Equal(p) {
				found = true
				break
			}
		}
		if !found {
			n++
		}
	}
	return n
}

// parseJWKS reads the RSA and EC signing keys of a JSON Web Key Set (RFC 7517), the
// format kube-apiserver publishes at /openid/v1/jwks.
func parseJWKS(data []byte) ([]crypto.PublicKey, error) {
	var set struct {
		Keys []struct {
			Kty, Crv, N, E, X, Y string
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key Set: %w", err)
	}
	b64 := base64.RawURLEncoding
	var out []crypto.PublicKey
	for _, k := range set.Keys {
		switch k.Kty {
		case "RSA":
			n, err1 := b64.DecodeString(k.N)
			e, err2 := b64.DecodeString(k.E)
			if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
				return nil, fmt.Errorf("an RSA key with a malformed n or e")
			}
			out = append(out, &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())})
		case "EC":
			curve := map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}[k.Crv]
			x, err1 := b64.DecodeString(k.X)
			y, err2 := b64.DecodeString(k.Y)
			if curve == nil || err1 != nil || err2 != nil {
				return nil, fmt.Errorf("an EC key with an unknown curve or malformed coordinates")
			}
			out = append(out, &ecdsa.PublicKey{Curve: curve, X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)})
		}
	}
	return out, nil
}
