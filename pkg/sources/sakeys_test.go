package sources

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"sort"
	"strings"
	"testing"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
)

func pubPEM(t *testing.T, k crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// jwks is the key set kube-apiserver would publish for keys.
func jwks(t *testing.T, keys ...crypto.PublicKey) []byte {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	var set []map[string]string
	for _, k := range keys {
		switch k := k.(type) {
		case *rsa.PublicKey:
			set = append(set, map[string]string{"use": "sig", "kty": "RSA", "alg": "RS256", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())})
		case *ecdsa.PublicKey:
			set = append(set, map[string]string{"use": "sig", "kty": "EC", "crv": "P-256", "x": b64(k.X.Bytes()), "y": b64(k.Y.Bytes())})
		}
	}
	b, _ := json.Marshal(map[string]any{"keys": set})
	return b
}

func TestCompareServiceAccountKeys(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	good, other, ec := pubPEM(t, &rsaKey.PublicKey), pubPEM(t, &otherKey.PublicKey), pubPEM(t, &ecKey.PublicKey)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)})
	issuer := []byte(`{"issuer":"https://kubernetes.default.svc.cluster.local","jwks_uri":"https://10.0.0.1:6443/openid/v1/jwks"}`)
	published := Published{JWKS: jwks(t, &rsaKey.PublicKey, &ecKey.PublicKey), OpenIDConfig: issuer}
	node := func(name string, pem []byte, issuer string) NodeSAKeys {
		return NodeSAKeys{Node: name, Path: "/etc/kubernetes/pki/sa.pub", PEM: pem, Issuer: issuer}
	}
	const iss = "https://kubernetes.default.svc.cluster.local"
	for _, tt := range []struct {
		name  string
		nodes []NodeSAKeys
		pub   Published
		codes []string
		notes int
	}{
		{"three nodes, one published key", []NodeSAKeys{node("cp1", good, iss), node("cp2", good, iss), node("cp3", pkcs1, iss)}, published, nil, 0},
		{"an EC key", []NodeSAKeys{node("cp1", ec, iss)}, published, nil, 0},
		{"one node with its own key", []NodeSAKeys{node("cp1", good, iss), node("cp2", other, iss)}, published,
			[]string{diagnose.CodeSAKeyMismatch, diagnose.CodeSAKeyNotPublished}, 0},
		{"the file replaced, the API server not restarted", []NodeSAKeys{node("cp1", other, iss)}, published, []string{diagnose.CodeSAKeyNotPublished}, 0},
		{"nothing published to compare with", []NodeSAKeys{node("cp1", good, iss), node("cp2", other, iss)}, Published{Err: errors.New("forbidden")},
			[]string{diagnose.CodeSAKeyMismatch}, 1},
		{"another issuer on one node", []NodeSAKeys{node("cp1", good, iss), node("cp2", good, "https://old.example")}, published,
			[]string{diagnose.CodeSAIssuerMismatch}, 0},
		{"no sa.pub, a private key file", []NodeSAKeys{node("cp1", nil, ""), {Node: "cp2", Path: "/etc/kubernetes/pki/sa.key"}}, published, nil, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestCollector()
			CompareServiceAccountKeys(c, tt.nodes, tt.pub)
			_, fs, notes := c.Results()
			var codes []string
			for _, f := range fs {
				codes = append(codes, f.Code)
			}
			sort.Strings(codes)
			sort.Strings(tt.codes)
			if strings.Join(codes, ",") != strings.Join(tt.codes, ",") {
				t.Errorf("findings %v, want %v", codes, tt.codes)
			}
			if len(notes) != tt.notes {
				t.Errorf("notes %q, want %d", notes, tt.notes)
			}
			for _, f := range fs {
				if f.Code == diagnose.CodeSAKeyMismatch && (!strings.Contains(f.Message, "cp1") || !strings.Contains(f.Message, "cp2")) {
					t.Errorf("the mismatch does not name both nodes: %s", f.Message)
				}
				if f.Code == diagnose.CodeSAIssuerMismatch && !strings.Contains(f.Message, "https://old.example") {
					t.Errorf("issuer finding %s", f.Message)
				}
			}
		})
	}
}
