package certs

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

func TestParseBundle(t *testing.T) {
	ca := certstest.NewCA("root")
	inter := ca.Issue(certstest.Opts{CN: "inter", IsCA: true})
	leaf := inter.Issue(certstest.Opts{CN: "leaf"})
	tests := []struct {
		name    string
		data    []byte
		wantCNs []string
		wantErr error
		errHas  string
	}{
		{"chain keeps order", certstest.Bundle(leaf, inter, ca), []string{"leaf", "inter", "root"}, nil, ""},
		{"key block skipped", append(leaf.KeyPEM(), leaf.CertPEM()...), []string{"leaf"}, nil, ""},
		{"DER", leaf.Cert.Raw, []string{"leaf"}, nil, ""},
		{"lone key", leaf.KeyPEM(), nil, ErrPrivateKey, ""},
		{"garbage", []byte("hello world"), nil, ErrNoCertificate, ""},
		{"empty", nil, nil, ErrEmpty, ""},
		{"whitespace", []byte(" \n\t"), nil, ErrEmpty, ""},
		{"truncated DER", leaf.Cert.Raw[:len(leaf.Cert.Raw)/2], nil, nil, "DER certificate"},
		{"corrupt second block", append(leaf.CertPEM(), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x03, 1, 2, 3}})...), nil, nil, "PEM block 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBundle(tt.data)
			switch {
			case tt.wantErr != nil || tt.errHas != "":
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("err = %v, want %v containing %q", err, tt.wantErr, tt.errHas)
				}
			case err != nil:
				t.Fatal(err)
			default:
				var cns []string
				for _, c := range got {
					cns = append(cns, c.Subject.CommonName)
				}
				if strings.Join(cns, ",") != strings.Join(tt.wantCNs, ",") {
					t.Fatalf("CNs %v, want %v", cns, tt.wantCNs)
				}
			}
		})
	}
}

func FuzzParseBundle(f *testing.F) {
	p := certstest.NewCA("fuzz")
	f.Add(p.CertPEM())
	f.Add(p.KeyPEM())
	f.Add(append(p.CertPEM(), p.KeyPEM()...))
	f.Add(p.Cert.Raw)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := ParseBundle(data)
		if err == nil {
			return
		}
		// An error names what is wrong, never the input: no 16-byte run of it appears.
		msg := err.Error()
		for i := 0; i+16 <= len(data); i += 16 {
			if chunk := string(data[i : i+16]); strings.TrimSpace(chunk) == chunk && len(strings.Fields(chunk)) == 1 && strings.Contains(msg, chunk) {
				t.Fatalf("error %q quotes the input", msg)
			}
		}
	})
}

func TestStripPrivateKeys(t *testing.T) {
	p := certstest.NewCA("kubelet")
	out := StripPrivateKeys(append(p.CertPEM(), p.KeyPEM()...))
	if strings.Contains(string(out), "PRIVATE KEY") {
		t.Fatal("key kept")
	}
	if c, err := ParseBundle(out); err != nil || c[0].SerialNumber.Cmp(p.Cert.SerialNumber) != 0 {
		t.Fatalf("certificate lost: %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 720 * time.Hour, "1.5d": 36 * time.Hour, "2w": 336 * time.Hour, "720h": 720 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "abc", "-1d", "10x", "d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}

func TestResidualAndExpiredError(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	if r := Residual(now.Add(-time.Hour), now); r != "<invalid>" {
		t.Errorf("expired residual %q", r)
	}
	if r := Residual(now.Add(364*24*time.Hour+time.Hour), now); r != "364d" {
		t.Errorf("residual %q, want 364d", r)
	}
	expired := &result.CertInfo{NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)}
	if e := ExpiredError(expired, now); !strings.HasPrefix(e, "x509: certificate has expired or is not yet valid: current time 2026-11-24T12:00:00Z is after") {
		t.Errorf("expired error %q", e)
	}
}

func TestVerify(t *testing.T) {
	ca, other := certstest.NewCA("ca"), certstest.NewCA("other")
	leaf := ca.Issue(certstest.Opts{CN: "api", DNS: []string{"*.example.com", "kubernetes"}, IPs: []string{"172.16.0.1", "192.168.0.1"}})
	if !SignedBy(leaf.Cert, ca.Cert) || SignedBy(leaf.Cert, other.Cert) {
		t.Fatal("SignedBy")
	}
	old := ca.Issue(certstest.Expired())
	if !SignedBy(old.Cert, ca.Cert) {
		t.Fatal("an expired pair is still signed by its CA")
	}
	for host, want := range map[string]bool{"a.example.com": true, "a.b.example.com": false, "kubernetes": true, "192.168.0.1": true, "10.254.0.1": false} {
		if CoversHost(leaf.Cert, host) != want {
			t.Errorf("CoversHost(%s) != %v", host, want)
		}
	}
	if e := HostnameError(leaf.Cert, "10.254.0.1"); e != "x509: certificate is valid for 172.16.0.1, 192.168.0.1, not 10.254.0.1" {
		t.Errorf("hostname error %q", e)
	}
	exp := certstest.Expired()
	exp.DNS = []string{"api"}
	future := certstest.Opts{DNS: []string{"api"}, NotBefore: certstest.Days(2), NotAfter: certstest.Days(30)}
	pinned := certstest.SelfSigned(certstest.Opts{CN: "api", DNS: []string{"api"}})
	expiredInter := ca.Issue(func() certstest.Opts { o := certstest.Expired(); o.IsCA = true; o.CN = "inter"; return o }())
	tests := []struct {
		name  string
		chain []*certstest.Pair
		roots *certstest.Pair
		host  string
		want  ChainProblem
		in    string
	}{
		{"ok", []*certstest.Pair{ca.Issue(certstest.Opts{DNS: []string{"api"}})}, ca, "api", ChainOK, ""},
		{"expired", []*certstest.Pair{ca.Issue(exp)}, ca, "api", ChainExpired, "has expired"},
		{"not yet valid", []*certstest.Pair{ca.Issue(future)}, ca, "api", ChainNotYetValid, "is before"},
		{"unknown authority", []*certstest.Pair{ca.Issue(certstest.Opts{DNS: []string{"api"}})}, other, "api", ChainUnknownAuthority, "x509: certificate signed by unknown authority"},
		{"hostname", []*certstest.Pair{ca.Issue(certstest.Opts{DNS: []string{"api"}})}, ca, "other", ChainHostname, "not other"},
		{"expired intermediate", []*certstest.Pair{expiredInter.Issue(certstest.Opts{DNS: []string{"api"}}), expiredInter}, ca, "api", ChainExpired, "expired"},
		{"SHA-1 from the right CA", []*certstest.Pair{ca.Issue(certstest.Opts{DNS: []string{"api"}, SHA1: true})}, ca, "api", ChainInsecureSignature, "insecure algorithm ECDSA-SHA1"},
		{"SHA-1 from another CA", []*certstest.Pair{other.Issue(certstest.Opts{DNS: []string{"api"}, SHA1: true})}, ca, "api", ChainUnknownAuthority, "unknown authority"},
		{"Common Name only", []*certstest.Pair{ca.Issue(certstest.Opts{CN: "api"})}, ca, "api", ChainLegacyCommonName, "legacy Common Name field"},
		{"pinned self-signed leaf", []*certstest.Pair{pinned}, pinned, "api", ChainOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var chain []*x509.Certificate
			for _, p := range tt.chain {
				chain = append(chain, p.Cert)
			}
			roots, _, err := PoolOf(tt.roots.CertPEM())
			if err != nil {
				t.Fatal(err)
			}
			got, msg := VerifyChain(chain, roots, tt.host, time.Now())
			if got != tt.want || !strings.Contains(msg, tt.in) {
				t.Fatalf("%q %q, want %q containing %q", got, msg, tt.want, tt.in)
			}
		})
	}
	if p, _ := VerifyChain(nil, nil, "", time.Now()); p != ChainOther {
		t.Error("empty chain")
	}
}

func BenchmarkParseBundle(b *testing.B) {
	ca := certstest.NewCA("root")
	inter := ca.Issue(certstest.Opts{CN: "inter", IsCA: true})
	bundles := map[string][]byte{"single": ca.CertPEM(), "chain3": certstest.Bundle(inter.Issue(certstest.Opts{CN: "leaf"}), inter, ca)}
	for name, data := range bundles {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseBundle(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
