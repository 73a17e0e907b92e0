package diagnose

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"text/template"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// TestCodesDeclaredOnce: the constants of codes.go and the catalogue's entries are the
// same set, so a code can neither be emitted without an entry nor documented unused.
func TestCodesDeclaredOnce(t *testing.T) {
	file, err := parser.ParseFile(token.NewFileSet(), "codes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]bool{}
	ast.Inspect(file, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok {
			for _, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok {
					s, _ := strconv.Unquote(lit.Value)
					if consts[s] {
						t.Errorf("code %s declared twice in codes.go", s)
					}
					consts[s] = true
				}
			}
		}
		return true
	})
	for _, e := range Default().Entries() {
		if e.ExplainOnly {
			if consts[e.Code] {
				t.Errorf("explain-only entry %s has a finding code in codes.go", e.Code)
			}
			continue
		}
		if !consts[e.Code] {
			t.Errorf("catalogue entry %s has no constant in codes.go", e.Code)
		}
		delete(consts, e.Code)
	}
	for c := range consts {
		t.Errorf("codes.go declares %s, which has no catalogue entry", c)
	}
}

// TestEntriesComplete: every entry can be explained to a user: causes, the command
// that checks it, and texts that render (each parameter filled with a placeholder).
func TestEntriesComplete(t *testing.T) {
	for _, e := range Default().Entries() {
		if len(e.Causes) == 0 || e.Check == "" {
			t.Errorf("%s: needs causes and check", e.Code)
		}
		if e.texts.message == nil && len(e.Variants) == 0 {
			t.Errorf("%s: no message", e.Code)
		}
		variants := append([]*Variant{nil}, e.Variants...)
		for _, v := range variants {
			tx, id := e.texts, e.Code
			if v != nil {
				tx, id = tx.override(v.texts), e.Code+"/"+v.Name
				if v.Severity != nil && *v.Severity == result.OK {
					t.Errorf("%s: severity must be WARNING or CRITICAL", id)
				}
			}
			for _, x := range []struct {
				name string
				tp   *template.Template
			}{{"message", tx.message}, {"error", tx.error}, {"fix", tx.fix}} {
				name, tp := x.name, x.tp
				if tp == nil {
					continue
				}
				p := map[string]any{}
				for _, n := range fieldNames(tp) {
					p[n] = strings.ToUpper(n)
				}
				var b strings.Builder
				if err := tp.Execute(&b, p); err != nil {
					t.Errorf("%s %s: %v", id, name, err)
				}
				if strings.Contains(b.String(), "<no value>") || strings.Contains(b.String(), "%!") {
					t.Errorf("%s %s renders %q", id, name, b.String())
				}
			}
		}
	}
}

// TestUnknownCodePanicsInTests: a typo in a code fails the test that builds it.
func TestUnknownCodePanicsInTests(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("an unknown code must panic under test")
		}
	}()
	New("NoSuchCode", Where{}, nil)
}

func TestMissingParameterPanicsInTests(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a template parameter nobody passed must panic under test")
		}
	}()
	New(CodeNodeCheckFailed, Where{}, nil) // its message needs .err
}

func TestParseRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":  "entries:\n- {code: A, severity: WARNING, title: t, meaning: m, colour: red}\n",
		"duplicate code": "entries:\n- {code: A, severity: WARNING, title: t, meaning: m}\n- {code: A, severity: WARNING, title: t, meaning: m}\n",
		"no severity":    "entries:\n- {code: A, title: t, meaning: m}\n",
		"bad regexp":     "entries:\n- {code: A, severity: WARNING, title: t, meaning: m, patterns: ['(']}\n",
		"bad template":   "entries:\n- {code: A, severity: WARNING, title: t, meaning: m, message: '{{.x'}\n",
		"variant twice":  "entries:\n- {code: A, severity: WARNING, title: t, meaning: m, variants: [{name: v}, {name: v}]}\n",
	} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestMatchAll(t *testing.T) {
	msg := `Internal error occurred: failed calling webhook "webhook.cert-manager.io": failed to call webhook: Post "https://cert-manager-webhook.cert-manager.svc:443/mutate?timeout=10s": x509: certificate is valid for ip-192-168-1-2.compute.internal, not cert-manager-webhook.cert-manager.svc`
	var codes []string
	for _, m := range Default().MatchAll(msg) {
		codes = append(codes, m.Entry.Code)
		if m.Entry.Code == CodeWebhookCallFailed && (m.Variant == nil || m.Variant.Name != "valid-for-node" || m.Params["host"] != "cert-manager-webhook.cert-manager.svc") {
			t.Errorf("call variant %+v params %v", m.Variant, m.Params)
		}
	}
	if strings.Join(codes, ",") != "SANMissing,WebhookCallFailed" {
		t.Errorf("matched %v", codes)
	}
	if len(Default().MatchAll("all is well")) != 0 {
		t.Error("matched text that names no cause")
	}
}

const docsBegin, docsEnd = "<!-- BEGIN CODES (generated from pkg/diagnose/catalogue.yaml) -->", "<!-- END CODES -->"

// TestDocsAgree: docs/output.md lists exactly the catalogue's codes, as the catalogue
// says them. UPDATE_DOCS=1 rewrites the list.
func TestDocsAgree(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "output.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	a, b := strings.Index(doc, docsBegin), strings.Index(doc, docsEnd)
	if a < 0 || b < a {
		t.Fatalf("%s lacks the %q ... %q markers", path, docsBegin, docsEnd)
	}
	want := docsBegin + "\n" + codesTable() + docsEnd
	if doc[a:b+len(docsEnd)] == want {
		return
	}
	if os.Getenv("UPDATE_DOCS") == "1" {
		if err := os.WriteFile(path, []byte(doc[:a]+want+doc[b+len(docsEnd):]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/output.md's list of codes differs from the catalogue: run UPDATE_DOCS=1 go test ./pkg/diagnose")
}

func codesTable() string {
	var b strings.Builder
	b.WriteString("| code | severity | cause | checked by |\n|---|---|---|---|\n")
	var explainOnly []*Entry
	for _, e := range Default().Entries() {
		if e.ExplainOnly {
			explainOnly = append(explainOnly, e)
			continue
		}
		sev := e.Severity.String()
		for _, v := range e.Variants {
			if v.Severity != nil && *v.Severity != e.Severity {
				sev = "WARNING or CRITICAL"
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | `%s` |\n", e.Code, sev, e.Title, strings.ReplaceAll(e.Check, "|", `\|`))
	}
	b.WriteString("\n`explain` also recognises these causes, which no check reports as a finding:\n\n| cause | what it is |\n|---|---|\n")
	for _, e := range explainOnly {
		fmt.Fprintf(&b, "| `%s` | %s |\n", e.Code, e.Title)
	}
	return b.String()
}
