// Package pkg holds no code: this test keeps the layering of the packages below it.
package pkg

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/certdoctor/kubectl-certdoctor/"

type goPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
}

// packages lists the module's packages with their (non-test) imports.
func packages(t *testing.T) map[string]goPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]goPackage{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module)] = p
	}
	return pkgs
}

// ours is the package's imports inside the module, without the module prefix.
func ours(p goPackage) []string {
	var out []string
	for _, imp := range p.Imports {
		if rest, ok := strings.CutPrefix(imp, module); ok {
			out = append(out, rest)
		}
	}
	return out
}

// TestImportRules: the result model imports nothing of ours; the printer imports only
// the result model; no engine imports the printer or the commands; certificates are
// parsed and judged, never fetched, in pkg/certs.
func TestImportRules(t *testing.T) {
	pkgs := packages(t)
	allowed := map[string][]string{
		"pkg/result":   {},
		"pkg/report":   {"pkg/result"},
		"pkg/certs":    {"pkg/result"},
		"pkg/diagnose": {"pkg/result", "pkg/certs"},
	}
	engines := []string{"pkg/certs", "pkg/diagnose", "pkg/sources", "pkg/nodes", "pkg/webhook", "pkg/sans", "pkg/netpol", "pkg/workloadidentity", "plugins"}
	for name, want := range allowed {
		p, ok := pkgs[name]
		if !ok {
			t.Fatalf("package %s not found", name)
		}
		for _, imp := range ours(p) {
			if !contains(want, imp) && !strings.HasSuffix(imp, "test") {
				t.Errorf("%s imports %s; it may import only %v of this module", name, imp, want)
			}
		}
	}
	for _, name := range engines {
		for _, imp := range ours(pkgs[name]) {
			if imp == "pkg/report" || imp == "pkg/cmd" {
				t.Errorf("engine %s imports %s: engines return results, only pkg/report prints", name, imp)
			}
		}
	}
	for name, p := range pkgs {
		if name != "cmd/kubectl-certdoctor" && contains(ours(p), "pkg/cmd") {
			t.Errorf("%s imports pkg/cmd: only main may", name)
		}
	}
	for _, imp := range pkgs["pkg/certs"].Imports {
		if imp == "crypto/tls" || imp == "net/http" || strings.HasPrefix(imp, "k8s.io/client-go") {
			t.Errorf("pkg/certs imports %s: it does no network I/O (dialing belongs to pkg/sources)", imp)
		}
	}
}

// TestFindingsComeFromTheCatalogue: outside pkg/diagnose no code writes a finding's
// code itself (a result.Finding literal with Code, or an assignment to .Code): every
// finding is built from a catalogue entry.
func TestFindingsComeFromTheCatalogue(t *testing.T) {
	for name, p := range packages(t) {
		if name == "pkg/diagnose" || name == "pkg/result" {
			continue
		}
		for _, f := range p.GoFiles {
			path := filepath.Join(p.Dir, f)
			file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CompositeLit:
					if sel, ok := n.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Finding" && hasKey(n, "Code") {
						t.Errorf("%s: a result.Finding literal with a Code: build it with diagnose.New from the catalogue", path)
					}
				case *ast.AssignStmt:
					for _, l := range n.Lhs {
						if sel, ok := l.(*ast.SelectorExpr); ok && sel.Sel.Name == "Code" {
							t.Errorf("%s: assigns a finding's Code: build it with diagnose.New from the catalogue", path)
						}
					}
				}
				return true
			})
		}
	}
}

func hasKey(lit *ast.CompositeLit, key string) bool {
	for _, e := range lit.Elts {
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok && id.Name == key {
				return true
			}
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
