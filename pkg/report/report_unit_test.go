package report

import (
	"bytes"
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

var now = time.Now().UTC()

func record(name string, p *certstest.Pair, row *result.KubeadmRow) result.Record {
	r := result.Record{Source: "local", Name: name, Location: "/etc/kubernetes/pki/" + name, Node: "cp1", Kubeadm: row}
	if p != nil {
		r.CertInfo = certs.Describe(p.Cert)
		r.Status = r.CertInfo.StatusAt(now, 30*24*time.Hour)
		r.Residual = certs.Residual(r.NotAfter, now)
	} else {
		r.Status = result.StatusMissing
	}
	return r
}

func TestEmptyListsAreArrays(t *testing.T) {
	r := result.NewReport("expiry", now, nil, []result.Finding{{Severity: result.OK}}, nil)
	b, _ := json.Marshal(r)
	if !strings.Contains(string(b), `"certificates":[]`) || !strings.Contains(string(b), `"findings":[]`) {
		t.Fatalf("empty lists must be arrays: %s", b)
	}
	if s := kubeadmTime(time.Date(2021, 11, 28, 19, 9, 0, 0, time.UTC)); s != "Nov 28, 2021 19:09 UTC" {
		t.Errorf("kubeadm time %q", s)
	}
}

func keys(m map[string]any) string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return strings.Join(k, ",")
}

// The JSON field names are a documented contract (docs/output.md).
func TestJSONContract(t *testing.T) {
	p := certstest.NewCA("kubernetes").Issue(certstest.Opts{CN: "kube-apiserver", DNS: []string{"kubernetes"}})
	rec := record("apiserver", p, &result.KubeadmRow{Table: result.TableCertificates, Name: "apiserver", CAName: "ca"})
	f := result.Finding{Severity: result.Critical, Code: "CertificateExpired", Source: "local", Subject: "s", Message: "m", Error: "e", Fix: "f"}
	r := result.NewReport("expiry", now, []result.Record{rec}, []result.Finding{f}, []string{"a note"})
	r.Checks = []result.Check{{Group: "g", Name: "n", Severity: result.OK, Detail: "d"}}
	for _, format := range []string{FormatJSON, FormatYAML} {
		var buf bytes.Buffer
		if err := Print(&buf, r, format); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		var err error
		if format == FormatJSON {
			err = json.Unmarshal(buf.Bytes(), &m)
		} else {
			err = yaml.Unmarshal(buf.Bytes(), &m)
		}
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			"":            "certificates,checks,command,findings,generatedAt,kind,notes,summary",
			"summary":     "certificates,critical,findings,warning",
			"certificate": "fingerprintSHA256,isCA,issuer,kubeadm,location,name,node,notAfter,notBefore,residual,sans,serial,source,status,subject",
			"kubeadm":     "caName,externallyManaged,isCA,name,table",
			"finding":     "code,error,fix,message,severity,source,subject",
			"check":       "detail,group,name,severity",
		}
		cert := m["certificates"].([]any)[0].(map[string]any)
		finding := m["findings"].([]any)[0].(map[string]any)
		got := map[string]string{"": keys(m), "summary": keys(m["summary"].(map[string]any)), "certificate": keys(cert),
			"kubeadm": keys(cert["kubeadm"].(map[string]any)), "finding": keys(finding), "check": keys(m["checks"].([]any)[0].(map[string]any))}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s %s keys: %s\nwant %s", format, k, got[k], v)
			}
		}
		if finding["severity"] != "CRITICAL" || m["kind"] != "Report" || cert["status"] != "OK" {
			t.Errorf("%s values: %v %v %v", format, finding["severity"], m["kind"], cert["status"])
		}
	}
	if err := ValidateFormat("xml"); err == nil || !strings.Contains(err.Error(), "table, wide, json, yaml") {
		t.Errorf("ValidateFormat: %v", err)
	}
}

var trailing = regexp.MustCompile(`(?m)[ \t]+$`)

func TestTables(t *testing.T) {
	ca := certstest.NewCA("ca")
	leaf := ca.Issue(certstest.Opts{CN: "web", DNS: []string{"web.example.com"}})
	recs := []result.Record{{Source: "secret", Name: "default/web", Location: "secret default/web tls.crt", CertInfo: certs.Describe(leaf.Cert), Status: result.StatusOK, Residual: "364d"}}
	f := result.Finding{Severity: result.Warning, Code: "CertificateExpiring", Source: "secret", Subject: "secret default/web",
		Message: "expires soon", Error: "x509: ...", Fix: "line one\nline two"}
	for _, wide := range []bool{false, true} {
		var buf bytes.Buffer
		format := FormatTable
		if wide {
			format = FormatWide
		}
		if err := Print(&buf, result.NewReport("expiry", now, recs, []result.Finding{f}, nil), format); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if trailing.MatchString(out) {
			t.Errorf("%s: trailing blanks:\n%q", format, out)
		}
		header := strings.Split(out, "\n")[0]
		if !strings.HasPrefix(header, "SOURCE   NAME          SUBJECT   ISSUER   NOT BEFORE") || strings.Contains(header, "SANS") == !wide {
			t.Errorf("%s header %q", format, header)
		}
		for _, want := range []string{"FINDINGS", "WARNING   CertificateExpiring  secret: secret default/web", "  error: x509: ...", "  fix:   line one\n         line two", "1 certificate checked: 0 critical, 1 warning."} {
			if !strings.Contains(out, want) {
				t.Errorf("%s output lacks %q:\n%s", format, want, out)
			}
		}
		if wide && !strings.Contains(out, "web.example.com") {
			t.Errorf("wide lacks SANs:\n%s", out)
		}
	}
	var buf bytes.Buffer
	_ = Print(&buf, result.NewReport("expiry", now, nil, nil, nil), FormatTable)
	if strings.TrimSpace(buf.String()) != "No problems found (0 certificates checked)." {
		t.Errorf("empty report: %q", buf.String())
	}
	// A webhook walk counts its checks and targets, not the certificates it did not list.
	walk := result.NewReport("webhook", now, nil, []result.Finding{{Severity: result.Critical, Code: "WebhookCallFailed", Source: "webhook", Subject: "x"}}, nil)
	walk.Checks = []result.Check{{Group: "ValidatingWebhookConfiguration/a w", Name: "service"}, {Group: "ValidatingWebhookConfiguration/a w", Name: "endpoints"}, {Group: "MutatingWebhookConfiguration/a w", Name: "service"}}
	buf.Reset()
	_ = Print(&buf, walk, FormatTable)
	if !strings.Contains(buf.String(), "\n3 checks of 2 targets: 1 critical, 0 warning.") {
		t.Errorf("walk summary:\n%s", buf.String())
	}
}

// The kubeadm view matches what kubeadm's own tabwriter renders for the same rows.
func TestKubeadmTables(t *testing.T) {
	ca := certstest.NewCA("ca")
	exp := certstest.Expired()
	recs := []result.Record{
		record("scheduler.conf", nil, &result.KubeadmRow{Table: result.TableCertificates, Name: "scheduler.conf", CAName: "ca"}),
		record("apiserver", ca.Issue(certstest.Opts{CN: "kube-apiserver", NotAfter: now.Add(364*24*time.Hour + time.Hour)}), &result.KubeadmRow{Table: result.TableCertificates, Name: "apiserver", CAName: "ca"}),
		record("admin.conf", ca.Issue(exp), &result.KubeadmRow{Table: result.TableCertificates, Name: "admin.conf", CAName: "ca", ExternallyManaged: true}),
		record("ca", ca, &result.KubeadmRow{Table: result.TableAuthorities, Name: "ca", IsCA: true}),
		record("kubelet.crt", ca.Issue(certstest.Opts{CN: "cp1"}), &result.KubeadmRow{Table: result.TableKubelet, Name: "kubelet.crt", CAName: "ca"}),
	}
	var buf bytes.Buffer
	if err := KubeadmTables(&buf, recs, now); err != nil {
		t.Fatal(err)
	}
	// kubeadm's renderer: text/tabwriter(10, 4, 3, ' ', 0), rows in name order.
	var want bytes.Buffer
	tw := tabwriter.NewWriter(&want, 10, 4, 3, ' ', 0)
	row := func(cells ...string) { _, _ = tw.Write([]byte(strings.Join(cells, "\t") + "\n")) }
	row("CERTIFICATE", "EXPIRES", "RESIDUAL TIME", "CERTIFICATE AUTHORITY", "EXTERNALLY MANAGED")
	for _, r := range []result.Record{recs[2], recs[1]} {
		row(r.Kubeadm.Name, kubeadmTime(r.NotAfter), r.Residual, "ca", map[bool]string{true: "yes", false: "no"}[r.Kubeadm.ExternallyManaged])
	}
	row("!MISSING! scheduler.conf", "", "", "", "")
	_ = tw.Flush()
	got := buf.String()
	for i, line := range strings.Split(strings.TrimSpace(want.String()), "\n") {
		gotLine := strings.Split(got, "\n")[i]
		if strings.Join(strings.Fields(line), " ") != strings.Join(strings.Fields(gotLine), " ") {
			t.Errorf("line %d:\n got %q\nwant %q", i, gotLine, line)
		}
	}
	for _, want := range []string{"<invalid>", "364d", "CERTIFICATE AUTHORITY   EXPIRES", "KUBELET CERTIFICATE", "Nov "} {
		if !strings.Contains(got, want) {
			t.Errorf("lacks %q:\n%s", want, got)
		}
	}
}

func TestKubeadmTablesInvalidIsNotMissing(t *testing.T) {
	rec := result.Record{Source: "local", Name: "apiserver", Status: result.StatusInvalid,
		Kubeadm: &result.KubeadmRow{Table: result.TableCertificates, Name: "apiserver", CAName: "ca"}}
	var buf bytes.Buffer
	if err := KubeadmTables(&buf, []result.Record{rec}, now); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "!INVALID! apiserver") || strings.Contains(buf.String(), "!MISSING!") {
		t.Fatalf("%s", buf.String())
	}
}
