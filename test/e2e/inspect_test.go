//go:build e2e

package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// inspectionOf is the part of an inspect report these tests read (docs/output.md).
type inspectionOf struct {
	Inspection struct {
		Object       string
		KeyPair      string `json:"keyPair"`
		Certificates []struct {
			Where, Subject, PublicKey string
			IsCA                      bool `json:"isCA"`
			ExtKeyUsage               []string
		}
		Verifications []struct {
			Against, Result, Error string
			Chain                  []string
		}
	}
}

func inspect(t *testing.T, args ...string) (Report, inspectionOf, int) {
	t.Helper()
	r, code := runJSON(t, append([]string{"inspect"}, args...)...)
	var in inspectionOf
	if err := json.Unmarshal([]byte(r.raw), &in); err != nil {
		t.Fatal(err)
	}
	return r, in, code
}

func verifiedBy(in inspectionOf) map[string]string {
	out := map[string]string{}
	for _, v := range in.Inspection.Verifications {
		out[v.Against] = v.Result
	}
	return out
}

// inspect on the real cluster: a TLS secret (its chain, verified by its own ca.crt only,
// and its key pair), the same secret with another key, the cluster's kube-root-ca.crt,
// and the API server's certificate file verified by the kubeconfig's CA.
func TestInspect(t *testing.T) {
	ns := newNamespace(t)
	good := tlsSecretData(t, "inspect.e2e.test", time.Now().Add(days(90)))
	createSecret(t, ns, "good-tls", corev1.SecretTypeTLS, good)
	swapped := tlsSecretData(t, "swapped.e2e.test", time.Now().Add(days(90)))
	swapped["tls.key"] = tlsSecretData(t, "someone-else.e2e.test", time.Now().Add(days(90)))["tls.key"]
	createSecret(t, ns, "swapped-tls", corev1.SecretTypeTLS, swapped)

	r, in, code := inspect(t, "secret", "good-tls", "-n", ns)
	wantExit(t, r, code, 0)
	requireNoFindings(t, r)
	if in.Inspection.KeyPair != "match" || len(in.Inspection.Certificates) != 2 || in.Inspection.Certificates[0].Subject != "CN=inspect.e2e.test" {
		t.Errorf("inspection %+v", in.Inspection)
	}
	if v := verifiedBy(in); v["ca.crt of the secret"] != "verified" || v["kubeconfig CA"] != "failed" || v["kube-root-ca.crt"] != "failed" {
		t.Errorf("verifications %+v", in.Inspection.Verifications)
	}

	r, in, code = inspect(t, "secret/swapped-tls", "-n", ns)
	wantExit(t, r, code, 3)
	if in.Inspection.KeyPair != "mismatch" {
		t.Errorf("key pair %q", in.Inspection.KeyPair)
	}
	stdout, _, _ := runPlugin(t, "inspect", "secret", "swapped-tls", "-n", ns)
	requireContains(t, "table", stdout, "tls.key does NOT match tls.crt")

	r, in, code = inspect(t, "configmap", "kube-root-ca.crt", "-n", ns)
	wantExit(t, r, code, 0)
	if len(in.Inspection.Certificates) != 1 || !in.Inspection.Certificates[0].IsCA || in.Inspection.Certificates[0].Subject != "CN=kubernetes" {
		t.Errorf("kube-root-ca.crt: %+v", in.Inspection)
	}

	r, in, code = inspect(t, "-f", filepath.Join(pkiDir, "apiserver.crt"))
	wantExit(t, r, code, 0)
	requireNoFindings(t, r)
	v := in.Inspection.Verifications
	if len(v) == 0 || v[0].Against != "kubeconfig CA" || v[0].Result != "verified" || strings.Join(v[0].Chain, " <- ") != "kube-apiserver <- kubernetes" {
		t.Errorf("apiserver.crt verifications %+v", v)
	}
	if c := in.Inspection.Certificates; len(c) != 1 || !strings.Contains(strings.Join(c[0].ExtKeyUsage, ","), "serverAuth") {
		t.Errorf("apiserver.crt %+v", c)
	}
}
