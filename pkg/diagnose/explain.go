package diagnose

import (
	"regexp"
	"sort"
	"strings"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// Resolver adds what the catalogue cannot know from the text alone, such as the
// certdoctor profile that owns a webhook the text names (params "webhook", "service",
// "namespace"); it returns the parameters to add.
type Resolver func(params map[string]string) map[string]string

// webhookCall marks a text about a call the API server made to a webhook, an aggregated
// API or a conversion webhook.
var webhookCall = regexp.MustCompile(`failed calling (?:admission )?webhook|conversion webhook for|admission webhook "|\.svc:\d+/|failed to call webhook|not [-a-z0-9]+\.[-a-z0-9]+\.svc\b`)

// context are parameters read from any line, whichever entry matched: the webhook and
// Service a webhook error names.
var context = []*regexp.Regexp{
	regexp.MustCompile(`(?:failed calling (?:admission )?webhook|admission webhook) "(?P<webhook>[^"]+)"`),
	regexp.MustCompile(`https://(?P<service>[a-z0-9]([-a-z0-9]*[a-z0-9])?)\.(?P<namespace>[a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc[:/]`),
}

// Explain finds every known cause in text, one explanation per distinct cause in the
// order the text shows them. Each line is one error: of the entries whose patterns
// match it, the longest match wins (a specific text over a generic one), webhook causes
// for texts about a webhook call and the others otherwise; matches that do not overlap
// the winner are causes of their own.
func (c *Catalogue) Explain(text string, resolve Resolver) []result.Explanation {
	var out []result.Explanation
	seen := map[string]bool{}
	for _, line := range joinWrapped(text) {
		for _, m := range c.lineCauses(line) {
			key := m.Entry.Code
			if m.Variant != nil {
				key += "/" + m.Variant.Name
			}
			if seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, c.explanation(m, line, resolve))
		}
	}
	return out
}

// spanMatch is a match with where in the line it matched.
type spanMatch struct {
	Match
	start, end int
}

func (c *Catalogue) lineCauses(line string) []Match {
	var all []spanMatch
	for _, e := range c.entries {
		if m, ok := e.matchSpan(line); ok {
			all = append(all, m)
		}
	}
	aboutWebhook := webhookCall.MatchString(line)
	rank := func(m spanMatch) int {
		if (m.Entry.Scope == "webhook") == aboutWebhook {
			return 1
		}
		return 0
	}
	sort.SliceStable(all, func(i, j int) bool {
		if rank(all[i]) != rank(all[j]) {
			return rank(all[i]) > rank(all[j])
		}
		return all[i].end-all[i].start > all[j].end-all[j].start
	})
	var kept []spanMatch
	for _, m := range all {
		overlaps := false
		for _, k := range kept {
			overlaps = overlaps || m.start < k.end && k.start < m.end
		}
		if !overlaps {
			kept = append(kept, m)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].start < kept[j].start })
	out := make([]Match, len(kept))
	for i, k := range kept {
		out[i] = k.Match
	}
	return out
}

// matchSpan is match with the position of the matched text.
func (e *Entry) matchSpan(line string) (spanMatch, bool) {
	try := func(res []*regexp.Regexp, v *Variant) (spanMatch, bool) {
		for _, re := range res {
			idx := re.FindStringSubmatchIndex(line)
			if idx == nil {
				continue
			}
			p := map[string]string{}
			for i, name := range re.SubexpNames() {
				if name != "" && idx[2*i] >= 0 {
					p[name] = line[idx[2*i]:idx[2*i+1]]
				}
			}
			return spanMatch{Match{Entry: e, Variant: v, Params: p}, idx[0], idx[1]}, true
		}
		return spanMatch{}, false
	}
	for _, v := range e.Variants {
		if m, ok := try(v.patterns, v); ok {
			return m, true
		}
	}
	return try(e.patterns, nil)
}

// explanation fills the entry's check and fix with what the line says; what it does
// not say stays a placeholder in capitals.
func (c *Catalogue) explanation(m Match, line string, resolve Resolver) result.Explanation {
	params := Params{}
	for k, v := range m.Entry.Explain {
		params[k] = v
	}
	for _, re := range context {
		if sub := re.FindStringSubmatch(line); sub != nil {
			for i, name := range re.SubexpNames() {
				if name != "" && sub[i] != "" {
					params[name] = sub[i]
				}
			}
		}
	}
	for k, v := range m.Params {
		params[k] = v
	}
	if resolve != nil {
		str := map[string]string{}
		for k, v := range params {
			str[k], _ = v.(string)
		}
		for k, v := range resolve(str) {
			params[k] = v
		}
	}
	t := m.Entry.texts
	x := result.Explanation{Excerpt: line, Code: m.Entry.Code, Title: m.Title(), Meaning: m.Meaning(), Causes: m.Entry.Causes}
	if v := m.Variant; v != nil {
		x.Variant = v.Name
		t = t.override(v.texts)
		if len(v.Causes) > 0 {
			x.Causes = v.Causes
		}
		params["title"], params["meaning"] = v.Title, v.Meaning
	}
	x.Check = render(m.Entry.Code, t.check, params, false)
	x.Fix = render(m.Entry.Code, t.fix, params, false)
	return x
}

// List is the catalogue as explanations, for explain --list.
func (c *Catalogue) List() []result.Explanation {
	out := make([]result.Explanation, 0, len(c.entries))
	for _, e := range c.entries {
		x := result.Explanation{Code: e.Code, Title: e.Title, Meaning: e.Meaning, Causes: e.Causes, Check: e.Check, Patterns: e.Patterns}
		for _, v := range e.Variants {
			x.Patterns = append(x.Patterns, v.Patterns...)
		}
		out = append(out, x)
	}
	return out
}

// joinWrapped splits text into errors: one a line, except that a line ending in ":" or
// "," continues on the next (Go error chains and kubectl wrap there), so a webhook
// error printed over four lines is read as the one error it is.
func joinWrapped(text string) []string {
	var out []string
	cur := ""
	for _, raw := range strings.Split(strings.ReplaceAll(text, "\r", ""), "\n") {
		line := strings.TrimSpace(raw)
		if line == "" {
			if cur != "" {
				out, cur = append(out, cur), ""
			}
			continue
		}
		if cur == "" {
			cur = line
		} else {
			cur += " " + line
		}
		if !continues(line) {
			out, cur = append(out, cur), ""
		}
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

// danglingWords end a line that a terminal or a document wrapped mid-sentence (GKE's
// "... cannot list resource \"roles\" in" / "API group ... requires" / "one of [...]").
var danglingWords = map[string]bool{"in": true, "of": true, "to": true, "for": true, "the": true, "a": true, "an": true,
	"requires": true, "and": true, "or": true, "with": true, "from": true, "at": true, "on": true, "by": true, "is": true}

// continues reports whether the error on this line goes on on the next one.
func continues(line string) bool {
	if strings.HasSuffix(line, ":") || strings.HasSuffix(line, ",") {
		return true
	}
	words := strings.Fields(line)
	return len(words) > 1 && danglingWords[words[len(words)-1]]
}
