package diagnose

import (
	_ "embed"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"

	"sigs.k8s.io/yaml"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

//go:embed catalogue.yaml
var catalogueYAML []byte

// Entry is one cause in the catalogue (catalogue.yaml documents the fields).
type Entry struct {
	Code     string          `json:"code"`
	Severity result.Severity `json:"severity"`
	Title    string          `json:"title"`
	Meaning  string          `json:"meaning"`
	Causes   []string        `json:"causes,omitempty"`
	// Check is the certdoctor command that checks the cause, a template like the texts.
	Check string `json:"check,omitempty"`
	// Scope "webhook" marks causes of calls the API server makes to webhooks: explain
	// prefers them for a text that names a webhook call, and the others otherwise.
	Scope string `json:"scope,omitempty"`
	// ExplainOnly entries describe errors certdoctor recognises in pasted text but does
	// not emit as findings (no code in codes.go).
	ExplainOnly bool `json:"explainOnly,omitempty"`
	// Explain are default parameters for explain, which has no certificate or object at
	// hand (CertificateExpired: the control plane's renewal plan).
	Explain  map[string]string `json:"explain,omitempty"`
	Patterns []string          `json:"patterns,omitempty"`
	Message  string            `json:"message,omitempty"`
	Error    string            `json:"error,omitempty"`
	Fix      string            `json:"fix,omitempty"`
	// Predicted says the error text is certdoctor's rendering of what clients will see,
	// not a text it obtained (the finding's errorPredicted).
	Predicted bool       `json:"predicted,omitempty"`
	Variants  []*Variant `json:"variants,omitempty"`

	patterns []*regexp.Regexp
	texts    texts
}

// Variant is a sub-cause of an entry: it shares the code and overrides what it sets.
type Variant struct {
	Name     string           `json:"name"`
	Severity *result.Severity `json:"severity,omitempty"`
	Title    string           `json:"title,omitempty"`
	Meaning  string           `json:"meaning,omitempty"`
	Causes   []string         `json:"causes,omitempty"`
	Check    *string          `json:"check,omitempty"`
	Patterns []string         `json:"patterns,omitempty"`
	// Message, Error and Fix are pointers so that a variant can clear its entry's text
	// ("error: ''") as well as keep it (absent).
	Message   *string `json:"message,omitempty"`
	Error     *string `json:"error,omitempty"`
	Fix       *string `json:"fix,omitempty"`
	Predicted *bool   `json:"predicted,omitempty"`

	patterns []*regexp.Regexp
	texts    texts
}

// texts are an entry's or variant's parsed templates; nil means "not set here".
type texts struct{ message, error, fix, check *template.Template }

type catalogueFile struct {
	Templates map[string]string `json:"templates"`
	Entries   []*Entry          `json:"entries"`
}

// Catalogue is the loaded cause catalogue.
type Catalogue struct {
	entries []*Entry
	byCode  map[string]*Entry
	shared  *template.Template
}

var (
	loadOnce sync.Once
	loaded   *Catalogue
	loadErr  error
)

// Default is the embedded catalogue. It panics when the embedded data is broken, which
// the package's tests rule out.
func Default() *Catalogue {
	loadOnce.Do(func() { loaded, loadErr = Parse(catalogueYAML) })
	if loadErr != nil {
		panic("diagnose: the embedded cause catalogue is broken: " + loadErr.Error())
	}
	return loaded
}

// funcs are the template functions the catalogue's texts may use.
var funcs = template.FuncMap{
	"q":    strconv.Quote,
	"list": func(s ...string) []string { return s },
	// set returns a copy of the parameters with one more, for a shared template that
	// needs a value the entry supplies (callError's cause).
	"set": func(p map[string]any, k string, v any) map[string]any {
		out := make(map[string]any, len(p)+1)
		for key, val := range p {
			out[key] = val
		}
		out[k] = v
		return out
	},
}

// Parse reads a catalogue strictly: unknown fields, duplicate codes, bad regexps and
// templates that do not parse are errors.
func Parse(data []byte) (*Catalogue, error) {
	var f catalogueFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		return nil, err
	}
	c := &Catalogue{entries: f.Entries, byCode: map[string]*Entry{}, shared: template.New("shared").Funcs(funcs)}
	names := make([]string, 0, len(f.Templates))
	for n := range f.Templates {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := c.shared.New(n).Parse(f.Templates[n]); err != nil {
			return nil, fmt.Errorf("template %s: %w", n, err)
		}
	}
	for _, e := range f.Entries {
		if e.Code == "" || e.Title == "" || e.Meaning == "" {
			return nil, fmt.Errorf("entry %q: code, title and meaning are required", e.Code)
		}
		if e.Severity == result.OK {
			return nil, fmt.Errorf("entry %s: severity must be WARNING or CRITICAL", e.Code)
		}
		if c.byCode[e.Code] != nil {
			return nil, fmt.Errorf("entry %s: declared twice", e.Code)
		}
		c.byCode[e.Code] = e
		var err error
		if e.patterns, err = compile(e.Code, e.Patterns); err != nil {
			return nil, err
		}
		if e.texts, err = c.parseTexts(e.Code, &e.Message, &e.Error, &e.Fix, &e.Check); err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, v := range e.Variants {
			id := e.Code + "/" + v.Name
			if v.Name == "" || seen[v.Name] {
				return nil, fmt.Errorf("entry %s: a variant without a name, or named twice (%q)", e.Code, v.Name)
			}
			seen[v.Name] = true
			if v.patterns, err = compile(id, v.Patterns); err != nil {
				return nil, err
			}
			if v.texts, err = c.parseTexts(id, v.Message, v.Error, v.Fix, v.Check); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

func compile(id string, patterns []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(patterns))
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("%s: pattern %q: %w", id, p, err)
		}
		out = append(out, re)
	}
	return out, nil
}

func (c *Catalogue) parseTexts(id string, message, errText, fix, check *string) (texts, error) {
	var t texts
	for _, x := range []struct {
		src *string
		dst **template.Template
	}{{message, &t.message}, {errText, &t.error}, {fix, &t.fix}, {check, &t.check}} {
		if x.src == nil || *x.src == "" && x.dst == &t.check {
			continue
		}
		base, err := c.shared.Clone()
		if err != nil {
			return t, err
		}
		tt, err := base.New(id).Option("missingkey=error").Parse(*x.src)
		if err != nil {
			return t, fmt.Errorf("%s: %w", id, err)
		}
		*x.dst = tt
	}
	return t, nil
}

// Entries lists the entries in catalogue order.
func (c *Catalogue) Entries() []*Entry { return c.entries }

// Lookup returns the entry for code.
func (c *Catalogue) Lookup(code string) (*Entry, bool) {
	e, ok := c.byCode[code]
	return e, ok
}

// Variant returns the named variant of e ("" or an unknown name: nil).
func (e *Entry) Variant(name string) *Variant {
	for _, v := range e.Variants {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// Params are the values an entry's templates are filled with; the keys are the names
// the templates use ({{.host}} is Params{"host": ...}).
type Params map[string]any

// Where names what a finding is about: the source of the evidence and the subject.
type Where struct{ Source, Subject string }

// New builds the finding for code from the embedded catalogue.
func New(code string, at Where, p Params) result.Finding {
	return Default().Build(code, "", at, p)
}

// NewVariant builds the finding for one variant of code.
func NewVariant(code, variant string, at Where, p Params) result.Finding {
	return Default().Build(code, variant, at, p)
}

// Build fills the entry's (or its variant's) templates with p. The variant's title and
// meaning are available to the templates as .title and .meaning, and the finding's
// source and subject as .source and .subject unless p sets them. A code or variant
// that does not exist, or a template that needs a parameter p lacks, is a programming
// error: tests panic on it (every finding is exercised by some test); a release
// binary fills the gap with the parameter's name in capitals so the user still gets
// the finding.
func (c *Catalogue) Build(code, variant string, at Where, p Params) result.Finding {
	f := result.Finding{Code: code, Source: at.Source, Subject: at.Subject}
	e, ok := c.byCode[code]
	if !ok {
		bug("unknown finding code %q", code)
		f.Severity, f.Message = result.Warning, code
		return f
	}
	f.Severity, f.Title = e.Severity, e.Title
	predicted := e.Predicted
	t := e.texts
	params := Params{"source": at.Source, "subject": at.Subject, "title": "", "meaning": ""}
	if variant != "" {
		v := e.Variant(variant)
		if v == nil {
			bug("finding %s has no variant %q", code, variant)
		} else {
			if v.Severity != nil {
				f.Severity = *v.Severity
			}
			if v.Predicted != nil {
				predicted = *v.Predicted
			}
			if v.Title != "" {
				f.Title = v.Title
			}
			t = t.override(v.texts)
			params["title"], params["meaning"] = v.Title, v.Meaning
		}
	}
	for k, v := range p {
		params[k] = v
	}
	f.Message = render(code, t.message, params, true)
	f.Error = render(code, t.error, params, true)
	f.Fix = render(code, t.fix, params, true)
	f.ErrorPredicted = predicted && f.Error != ""
	return f
}

func (t texts) override(v texts) texts {
	if v.message != nil {
		t.message = v.message
	}
	if v.error != nil {
		t.error = v.error
	}
	if v.fix != nil {
		t.fix = v.fix
	}
	if v.check != nil {
		t.check = v.check
	}
	return t
}

// render executes t with p. For a finding (strict) a missing parameter is a bug (see
// Build); otherwise, and outside tests, it is rendered as its name in capitals, as the
// placeholders of kubectl's examples ("kubectl certdoctor sans --expect MISSING").
func render(code string, t *template.Template, p Params, strict bool) string {
	if t == nil {
		return ""
	}
	var b strings.Builder
	err := t.Execute(&b, map[string]any(p))
	if err == nil {
		return b.String()
	}
	if strict {
		bug("finding %s: %v", code, err)
	}
	filled := map[string]any{}
	for _, n := range fieldNames(t) {
		filled[n] = strings.ToUpper(n)
	}
	for k, v := range p {
		filled[k] = v
	}
	b.Reset()
	if err := t.Execute(&b, filled); err != nil {
		return code
	}
	return b.String()
}

// fieldNames lists the parameters t and the templates it uses refer to.
func fieldNames(t *template.Template) []string {
	seen := map[string]bool{}
	var walk func(parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			seen[n.Ident[0]] = true
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
			if u := t.Lookup(n.Name); u != nil && u.Tree != nil {
				walk(u.Tree.Root)
			}
		}
	}
	for _, u := range t.Templates() {
		if u.Tree != nil {
			walk(u.Tree.Root)
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// renderShared executes one of the catalogue's shared templates (a procedure that is
// not one finding's fix).
func (c *Catalogue) renderShared(name string, p Params) string {
	t := c.shared.Lookup(name)
	if t == nil {
		bug("no shared template %q", name)
		return ""
	}
	var b strings.Builder
	if err := t.Option("missingkey=error").Execute(&b, map[string]any(p)); err != nil {
		bug("template %s: %v", name, err)
	}
	return b.String()
}
