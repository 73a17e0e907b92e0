package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// The streaming encoders must write exactly what the one-piece encoders write: the
// output is a documented contract and users diff it between runs.
func TestStreamingEncodersMatchLibraries(t *testing.T) {
	ca := certstest.NewCA("kubernetes")
	leaf := ca.Issue(certstest.Opts{CN: "<web> & co", DNS: []string{"a.example.com", "b.example.com"}, IPs: []string{"10.0.0.1"}})
	multiline := result.Finding{Severity: result.Critical, Code: "CertificateExpired", Source: "secret",
		Subject: "secret ns/web", Message: "certificate \"<web> & co\" expired",
		Fix: "kubeadm certs renew all\nsystemctl restart kubelet\n\n  indented: line\n", Error: "x509: certificate has expired"}
	full := result.NewReport("expiry", now, []result.Record{
		record("apiserver", leaf, &result.KubeadmRow{Table: result.TableCertificates, Name: "apiserver", CAName: "ca"}),
		record("ca", ca, nil), record("missing", nil, nil),
	}, []result.Finding{multiline, {Severity: result.Warning, Code: "X", Message: "- looks like a list: yes"}},
		[]string{"one note", "a note\nover two lines", "", strings.Repeat("a long note that yaml folds at eighty columns ", 4)})
	full.Checks = []result.Check{{Group: "g", Name: "n", Severity: result.OK, Detail: "d: e"}}
	empty := result.NewReport("sans", now, nil, nil, nil)
	// more elements than one encoding batch, and not a multiple of it
	var recs []result.Record
	for i := 0; i < 2*jsonBatch+7; i++ {
		recs = append(recs, full.Certificates[i%len(full.Certificates)])
	}
	many := result.NewReport("expiry", now, recs, []result.Finding{multiline}, nil)

	for name, r := range map[string]*result.Report{"full": full, "empty": empty, "many": many} {
		var want, got bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		if err := writeJSON(&got, r); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%s JSON differs\n got: %s\nwant: %s", name, got.String(), want.String())
		}
		wantYAML, err := yaml.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got.Reset()
		if err := writeYAML(&got, r); err != nil {
			t.Fatal(err)
		}
		if got.String() != string(wantYAML) {
			t.Errorf("%s YAML differs\n got: %s\nwant: %s", name, got.String(), wantYAML)
		}
	}
}

func FuzzIndentCompact(f *testing.F) {
	for _, seed := range []string{`{}`, `[]`, `{"a":[1,{"b":"c\\\"d"},[]],"e":{}}`, `"x"`, `[null,true,-1.5e3]`,
		`{"k":"v, with: {brackets} [and] \\u00e9"}`} {
		f.Add([]byte(seed), "  ")
	}
	f.Fuzz(func(t *testing.T, data []byte, prefix string) {
		// It is only ever given json.Marshal's output, but no input makes it panic.
		_ = indentCompact(nil, data, prefix)
		if !json.Valid(data) {
			return
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, data); err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := json.Indent(&want, compact.Bytes(), prefix, "  "); err != nil {
			t.Fatal(err)
		}
		got := indentCompact(nil, compact.Bytes(), prefix)
		if string(got) != want.String() {
			t.Fatalf("indentCompact(%q, %q)\n got %q\nwant %q", compact.Bytes(), prefix, got, want.String())
		}
		// With a white-space prefix (the only kind the encoders use) the output is JSON,
		// and the same JSON as the input.
		if strings.Trim(prefix, " \t") == "" {
			var back bytes.Buffer
			if !json.Valid(got) || json.Compact(&back, got) != nil || !bytes.Equal(back.Bytes(), compact.Bytes()) {
				t.Fatalf("indentCompact(%q, %q) = %q: not the same JSON", compact.Bytes(), prefix, got)
			}
		}
	})
}
