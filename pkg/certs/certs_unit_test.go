package certs

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/internal/fuzzseed"
	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

func TestParseBundle(t *testing.T) {
	ca := certstest.NewCA("root")
	inter := ca.Issue(certstest.Opts{CN: "inter", IsCA: true})
	leaf := inter.Issue(certstest.Opts{CN: "leaf"})
	beginCN := ca.Issue(certstest.Opts{CN: "-----BEGIN CERTIFICATE-----"})
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
		{"DER ending in a white-space byte", endingIn(leaf.Cert.Raw, '\n'), []string{"leaf"}, nil, ""},
		{"DER ending in a space, then a newline", append(endingIn(leaf.Cert.Raw, ' '), '\n'), []string{"leaf"}, nil, ""},
		{"DER naming -----BEGIN", beginCN.Cert.Raw, []string{"-----BEGIN CERTIFICATE-----"}, nil, ""},
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

// endingIn is a copy of der with its last byte (the signature's) set to b: crypto/x509
// does not check the signature, so it still parses. About one DER certificate in 40 ends
// in a byte that bytes.TrimSpace takes for white space.
func endingIn(der []byte, b byte) []byte {
	out := append([]byte{}, der...)
	out[len(out)-1] = b
	return out
}

// base64In reports whether text holds raw in base64. The last group may be written
// with other unused bits than EncodeToString's zeros ("...NVX=" for "...NVU="): PEM
// decoding ignores them (the fuzzer's testdata/fuzz/FuzzParseBundle/cd3c128d02d3518a).
func base64In(text, raw []byte) bool {
	enc := base64.StdEncoding.EncodeToString(raw)
	head := []byte(enc[:max(len(enc)-4, 0)])
	for i := 0; i <= len(text)-len(enc); i++ {
		j := bytes.Index(text[i:], head)
		if j < 0 || i+j+len(enc) > len(text) {
			return false
		}
		i += j
		if dec, err := base64.StdEncoding.DecodeString(string(text[i : i+len(enc)])); err == nil && bytes.Equal(dec, raw) {
			return true
		}
	}
	return false
}

// bundleSeeds are FuzzParseBundle's seeds (testdata/fuzz/FuzzParseBundle/seed-*, written
// from this list by UPDATE_FUZZ_SEEDS=1): PEM, keys, a chain, DER with and without a
// trailing newline, CRLF line ends, headers, text around the blocks, broken blocks.
func bundleSeeds() [][]byte {
	p := certstest.NewCA("fuzz")
	inter := p.Issue(certstest.Opts{CN: "fuzz-inter", IsCA: true})
	leaf := inter.Issue(certstest.Opts{CN: "fuzz-leaf", DNS: []string{"a.example"}})
	return [][]byte{
		p.CertPEM(),
		p.KeyPEM(),
		append(p.CertPEM(), p.KeyPEM()...),
		p.Cert.Raw,
		append(append([]byte{}, p.Cert.Raw...), '\n'),
		endingIn(p.Cert.Raw, '\n'),
		p.Issue(certstest.Opts{CN: "-----BEGIN CERTIFICATE-----"}).Cert.Raw,
		certstest.Bundle(leaf, inter, p),
		[]byte(strings.ReplaceAll(string(leaf.CertPEM()), "\n", "\r\n")),
		[]byte("subject=CN = fuzz\n" + strings.Replace(string(p.CertPEM()), "-----\n", "-----\nProc-Type: 4,ENCRYPTED\n\n", 1)),
		[]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
		[]byte("-----BEGIN CERTIFICATE-----\n"),
		{0x30, 0x03, 1, 2, 3},
		[]byte(" \n\t"),
	}
}

// FuzzParseBundle: whatever the bytes, ParseBundle returns only certificates that are
// in the input (as DER, or as a PEM block's base64), reads a lone DER certificate
// whatever its last byte, and never quotes the input in an error.
func FuzzParseBundle(f *testing.F) {
	seeds := bundleSeeds()
	for _, s := range seeds {
		f.Add(s)
	}
	fuzzseed.Write(f, seeds)
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseBundle(data)
		if want, derErr := x509.ParseCertificate(data); derErr == nil {
			// The input is exactly one DER certificate: that is what ParseBundle returns.
			if err != nil || len(got) != 1 || !bytes.Equal(got[0].Raw, want.Raw) {
				t.Fatalf("a DER certificate (last byte %#x) read as %d certificates, error %v", data[len(data)-1], len(got), err)
			}
		}
		if err == nil {
			if len(got) == 0 {
				t.Fatal("no error and no certificate")
			}
			flat := bytes.Join(bytes.Fields(data), nil)
			for i, c := range got {
				if !bytes.Contains(data, c.Raw) && !base64In(flat, c.Raw) {
					t.Fatalf("certificate %d of %d is not in the input", i+1, len(got))
				}
			}
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
