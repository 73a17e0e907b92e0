package report

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"\x1b[2J\x1b[31m":   `\x1b[2J\x1b[31m`,
		"a\u202eb":          `a\u202eb`,
		"\u2066x\u2069":     `\u2066x\u2069`,
		"a\nb\tc\rd\x00":    `a\nb\tc\rd\x00`,
		"del\x7f":           `del\x7f`,
		"csi\u009b2J\u0085": `csi\u009b2J\u0085`,
		"bad\xff\xfeutf8":   `bad\xff\xfeutf8`,
		"\u2028":            `\u2028`,
		// clean text is left as it is, backslashes and non-ASCII letters included
		"kube-apiserver":              "kube-apiserver",
		`C:\certs\x1b`:                `C:\certs\x1b`,
		"é 日本 → … <a> & \"q\" \ufffd": "é 日本 → … <a> & \"q\" \ufffd",
		"":                            "",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
	if got := escape("line\n\tcell\x1b", true); got != "line\n\tcell\\x1b" {
		t.Errorf("layout text keeps its line breaks and tabs: %q", got)
	}
}

// hostile are texts a tenant can put in a certificate or an object name that a terminal
// would act on, or that would hide or fake what the output says.
const (
	hostileESC  = "\x1b[2J\x1b[31m"
	hostileBidi = "\u202e"
	hostileNL   = "a\nb"
	hostileBad  = "\xff\xfe" // not UTF-8: no parsed certificate holds it, a file name or pasted text can
)

// hostileCerts issues certificates whose CN, organisation, DNS SANs and issuer CN hold
// the hostile texts, and one whose CN is a T61String holding the C1 control CSI (0x9b,
// U+009B once decoded).
func hostileCerts(t *testing.T) (leaf, expired, c1 *x509.Certificate) {
	t.Helper()
	ca := certstest.NewCA("ca " + hostileESC + hostileBidi + hostileNL)
	leaf = ca.Issue(certstest.Opts{CN: "web" + hostileESC + "x" + hostileBidi + "y" + hostileNL + "\tz\x7f",
		Org: []string{"org" + hostileESC + hostileBidi}, DNS: []string{"esc" + hostileESC + ".example", hostileNL + ".example", "del\x7f.example"}}).Cert
	expired = ca.Issue(certstest.Opts{CN: "old" + hostileESC + hostileBidi, NotBefore: certstest.Days(-30), NotAfter: certstest.Days(-1),
		DNS: []string{"old" + hostileESC + ".example"}}).Cert

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		Subject: pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{2, 5, 4, 3},
			Value: asn1.RawValue{Tag: asn1.TagT61String, Bytes: []byte("t61\x9b2J\x85")}}}}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if c1, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	if c1.Subject.CommonName != "t61\u009b2J\u0085" || !strings.Contains(leaf.Subject.CommonName, hostileESC) || !strings.Contains(leaf.DNSNames[0], hostileESC) {
		t.Fatalf("the certificates do not hold the hostile names: %q %q %q", c1.Subject.CommonName, leaf.Subject.CommonName, leaf.DNSNames)
	}
	return leaf, expired, c1
}

func hostileRecord(source, name, location string, c *x509.Certificate) result.Record {
	rec := result.Record{Source: source, Name: name, Location: location, CertInfo: certs.Describe(c)}
	rec.Status = rec.CertInfo.StatusAt(now, 30*24*time.Hour)
	rec.Residual = certs.Residual(rec.NotAfter, now)
	return rec
}

// hostileReport has the hostile texts in every field a text printer writes.
func hostileReport(t *testing.T) *result.Report {
	leaf, expired, c1 := hostileCerts(t)
	bad := "ns/bad" + hostileBad
	recs := []result.Record{
		hostileRecord(result.SourceSecret, "ns/web", "secret ns/web tls.crt", leaf),
		hostileRecord(result.SourceSecret, "ns/old", "secret ns/old tls.crt", expired),
		hostileRecord(result.SourceSecret, bad, "secret "+bad+" tls.crt", c1),
		hostileRecord(result.SourceLocal, "apiserver", "/etc/kubernetes/pki/apiserver"+hostileBad+".crt", leaf),
	}
	recs[3].Node = "cp1"
	recs[3].Kubeadm = &result.KubeadmRow{Table: result.TableCertificates, Name: "apiserver" + hostileESC, CAName: "ca" + hostileBidi}
	// the engines' own findings: the catalogue writes the certificate's name into the texts
	var fs []result.Finding
	for _, rec := range recs[1:3] {
		ctx := diagnose.CertContext{Source: rec.Source, Subject: "secret " + rec.Name, Namespace: "ns", Name: rec.Name, Key: "tls.crt"}
		if f := diagnose.CertificateFinding(ctx, result.StatusExpired, rec.CertInfo, now, 30*24*time.Hour); f != nil {
			fs = append(fs, *f)
		}
	}
	fs = append(fs, diagnose.InvalidCertificate(result.SourceSecret, "secret "+bad, &badError{"asn1: " + hostileESC + hostileBidi + hostileNL}))
	// a cause that repeats is printed as a group
	for i := 0; i < groupAbove+1; i++ {
		fs = append(fs, result.Finding{Severity: result.Warning, Code: "CertificateExpiring", Source: "secret",
			Subject: "secret ns/s" + hostileESC + hostileBidi, Message: "expires " + hostileNL, Fix: "renew" + hostileESC + "\nthen " + hostileBidi})
	}
	fs = append(fs, result.Finding{Severity: result.Critical, Code: "SANMissing", Title: "t" + hostileESC, Source: "apiserver", Subject: "https://" + hostileBad,
		Message: "m" + hostileESC, Error: "e" + hostileBidi + hostileNL, ErrorPredicted: true, Fix: "f" + hostileESC + "\n" + hostileNL,
		Consequences: []string{"c" + hostileESC}})
	r := result.NewReport("checkup", now, recs, fs, []string{"note " + hostileESC + hostileBidi + hostileNL + hostileBad})
	r.Target = &result.Target{Context: "ctx" + hostileESC, Cluster: "cl" + hostileBidi, Server: "https://s" + hostileNL, User: "u" + hostileBad}
	r.Checks = []result.Check{{Group: "apiserver " + hostileESC, Name: hostileNL, Severity: result.Critical, Detail: "MISSING " + hostileBidi + "\t" + hostileBad}}
	r.Parts = []result.Part{{Command: "expiry", Status: result.PartRan, Checks: r.Checks}, {Command: "sans", Status: result.PartFailed, Detail: "d" + hostileESC}}
	r.Plan = &result.Plan{Title: "p" + hostileESC, Steps: []string{"s" + hostileBidi + hostileNL}}
	r.Explanations = diagnose.Default().Explain("x509: certificate is valid for a"+hostileESC+", not b"+hostileBidi+hostileBad, nil)
	if len(r.Explanations) == 0 {
		t.Fatal("explain recognised nothing")
	}
	r.Explanations = append(r.Explanations, result.Explanation{Excerpt: "x" + hostileESC, Code: "C", Title: "t" + hostileBidi,
		Meaning: "m" + hostileNL, Causes: []string{"c" + hostileBad}, Check: "k" + hostileESC, Fix: "f" + hostileESC + "\n" + hostileBidi, Patterns: []string{"p" + hostileESC}})
	return r
}

type badError struct{ s string }

func (e *badError) Error() string { return e.s }

// requireTerminalSafe fails when out holds anything but printable text, '\n' and '\t'.
func requireTerminalSafe(t *testing.T, what, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s: not UTF-8:\n%q", what, out)
	}
	for i, r := range out {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || unsafeRune(r) {
			t.Errorf("%s: %U at byte %d: %q", what, r, i, out[max(0, i-40):min(len(out), i+40)])
			return
		}
	}
}

// Every text format escapes the hostile names and shows them escaped.
func TestHostileNamesAreEscaped(t *testing.T) {
	r := hostileReport(t)
	for name, o := range map[string]Options{"table": {Format: FormatTable}, "wide": {Format: FormatWide},
		"show-all": {Format: FormatTable, ShowAll: true}, "show-ok": {ShowOK: true}} {
		var buf bytes.Buffer
		if err := PrintWith(&buf, r, o); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		requireTerminalSafe(t, name, out)
		for _, want := range []string{
			`web\x1b[2J\x1b[31mx\u202eya\nb\tz\x7f`, // the leaf's CN in the table: one cell, one line
			`ca \x1b[2J\x1b[31m\u202ea\nb`,          // its issuer
			`old\x1b[2J\x1b[31m\u202e`,              // the expired one's CN, in the table and in its finding
			`t61\u009b2J\u0085`,                     // a C1 control from a T61String CN
			`ns/bad\xff\xfe`,                        // a name that is not UTF-8
			`asn1: \x1b[2J\x1b[31m\u202ea\nb`,       // an error text
			`Context ctx\x1b[2J\x1b[31m: cluster cl\u202e at https://sa\nb, as user u\xff\xfe`,
			`note \x1b[2J\x1b[31m\u202ea\nb\xff\xfe`,
			`MISSING \u202e\t\xff\xfe`,
			"  fix:   f\\x1b[2J\\x1b[31m\n         a\n         b", // a multi-line fix keeps its lines, indented
			`  clients will see: e\u202ea\nb`,
			`  broke: c\x1b[2J\x1b[31m`,
			`  1. s\u202ea\nb`,
			`seen:   x509: certificate is valid for a\x1b[2J\x1b[31m, not b\u202e\xff\xfe`,
			"  fix:    f\\x1b[2J\\x1b[31m\n          \\u202e",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %s:\n%s", name, want, out)
			}
		}
		if o.ShowAll {
			continue
		}
		for _, want := range []string{"CertificateExpiring  secret: 4 findings", `  the first: expires a\nb`,
			"  fix (the first; the others alike): renew\\x1b[2J\\x1b[31m\n         then \\u202e"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks the group's %s:\n%s", name, want, out)
			}
		}
		if name == "wide" && !strings.Contains(out, `esc\x1b[2J\x1b[31m.example,a\nb.example,del\x7f.example`) {
			t.Errorf("wide lacks the escaped SANs:\n%s", out)
		}
	}

	var buf bytes.Buffer
	if err := KubeadmTables(&buf, r.Certificates[3:], now); err != nil {
		t.Fatal(err)
	}
	requireTerminalSafe(t, "kubeadm tables", buf.String())
	if !strings.Contains(buf.String(), `apiserver\x1b[2J\x1b[31m`) || !strings.Contains(buf.String(), `ca\u202e`) {
		t.Errorf("kubeadm tables:\n%s", buf.String())
	}
}

// JSON and YAML hold the names as they are, in their own quoting: no raw ESC or other
// C0 control reaches the terminal, and decoding gives back the certificate's name.
func TestHostileNamesInJSONAndYAML(t *testing.T) {
	r := hostileReport(t)
	for _, format := range []string{FormatJSON, FormatYAML} {
		var buf bytes.Buffer
		if err := Print(&buf, r, format); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		out := buf.Bytes()
		for i, c := range out {
			if c < 0x20 && c != '\n' {
				t.Fatalf("%s: raw %#x at %d: %q", format, c, i, out[max(0, i-40):min(len(out), i+40)])
			}
		}
		var m struct {
			Certificates []struct {
				Subject, Issuer string
				SANs            []string
			}
		}
		var err error
		if format == FormatJSON {
			err = json.Unmarshal(out, &m)
		} else {
			err = yaml.Unmarshal(out, &m)
		}
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		for i, c := range m.Certificates[:2] {
			want := r.Certificates[i]
			if c.Subject != want.Subject || c.Issuer != want.Issuer || strings.Join(c.SANs, ",") != strings.Join(want.SANs, ",") {
				t.Errorf("%s changed the data: %q %q %q, want %q %q %q", format, c.Subject, c.Issuer, c.SANs, want.Subject, want.Issuer, want.SANs)
			}
		}
	}
}

// sigs.k8s.io/yaml fails on DEL and C1 controls; -o yaml writes them escaped instead of
// failing the whole report for one certificate, and holds the same strings.
func TestYAMLWritesDELAndC1(t *testing.T) {
	r := result.NewReport("expiry", now, nil, nil, []string{"del\x7f", "csi\u009b2J", "nel\u0085", "esc\x1b", "\u00e9\u00c2"})
	if _, err := yaml.Marshal(r); err == nil {
		t.Log("sigs.k8s.io/yaml now writes DEL and C1 controls itself")
	}
	var buf bytes.Buffer
	if err := writeYAML(&buf, r); err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{{0x7f}, {0xc2, 0x9b}, {0xc2, 0x85}, {0x1b}} {
		if bytes.Contains(buf.Bytes(), b) {
			t.Errorf("raw %q in:\n%s", b, buf.String())
		}
	}
	var back result.Report
	if err := yaml.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if strings.Join(back.Notes, "|") != strings.Join(r.Notes, "|") {
		t.Errorf("notes %q, want %q", back.Notes, r.Notes)
	}
}
