package diagnose

import (
	"fmt"
	"testing"
)

// Match is an entry (and maybe one of its variants) whose pattern matched an error
// text, with the values the pattern's named groups captured.
type Match struct {
	Entry   *Entry
	Variant *Variant // nil when the entry's own pattern matched
	Params  map[string]string
}

// Title is the variant's title, else the entry's.
func (m Match) Title() string {
	if m.Variant != nil && m.Variant.Title != "" {
		return m.Variant.Title
	}
	return m.Entry.Title
}

// Meaning is the variant's meaning, else the entry's.
func (m Match) Meaning() string {
	if m.Variant != nil && m.Variant.Meaning != "" {
		return m.Variant.Meaning
	}
	return m.Entry.Meaning
}

// Classify names the cause of text among code's variants (and then the entry's own
// patterns): the webhook call classifier uses it on the API server's error text.
func (c *Catalogue) Classify(code, text string) (Match, bool) {
	e, ok := c.byCode[code]
	if !ok {
		bug("unknown finding code %q", code)
		return Match{}, false
	}
	return e.match(text)
}

// MatchAll returns every entry whose patterns match text, in catalogue order (the
// order of the catalogue ranks causes that share an error text).
func (c *Catalogue) MatchAll(text string) []Match {
	var out []Match
	for _, e := range c.entries {
		if m, ok := e.match(text); ok {
			out = append(out, m)
		}
	}
	return out
}

func (e *Entry) match(text string) (Match, bool) {
	m, ok := e.matchSpan(text)
	return m.Match, ok
}

// bug reports a programming error: a test fails loudly, a user's run goes on.
func bug(format string, args ...any) {
	if testing.Testing() {
		panic("diagnose: " + fmt.Sprintf(format, args...))
	}
}

// ClassifyCall names the family of a failed webhook call from the API server's error
// text: the WebhookCallFailed variant that matches, with its meaning ("" for none).
func ClassifyCall(msg string) (variant, meaning string) {
	m, ok := Default().Classify(CodeWebhookCallFailed, msg)
	if !ok || m.Variant == nil {
		return "", ""
	}
	return m.Variant.Name, m.Variant.Meaning
}
