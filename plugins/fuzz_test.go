package plugins

import (
	"encoding/json"
	"io/fs"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/certdoctor/kubectl-certdoctor/internal/fuzzseed"
)

// profileSeeds are FuzzParseProfile's seeds (testdata/fuzz/FuzzParseProfile/seed-*,
// written from this list by UPDATE_FUZZ_SEEDS=1): every embedded profile, the legacy
// one-component format --profile-file still reads, and the mistakes TestParseStrict names.
func profileSeeds(tb testing.TB) [][]byte {
	names, err := fs.Glob(files, "*.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	var seeds [][]byte
	for _, n := range names {
		data, err := files.ReadFile(n)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, data)
	}
	return append(seeds,
		[]byte("name: my-product\nnamespace: my-ns\nservice: my-webhook\nwebhookConfigurations: [my-product-*]\napiServices: [v1.my.example.com]\n"+
			"crdGroups: [my.example.com]\npodSelector: {app: my-webhook}\nsecurePortFlag: --secure-port\nhealthPortFlag: --health-port\n"+
			"defaultSecurePort: 9443\ndefaultHealthPort: 8080\ncaSecret: my-webhook-ca\n"),
		[]byte("name: x\nservice: s\nwebhookConfigurations: [a]\nsecurePort: 1\n"),
		[]byte("name: x\ncomponents: [{name: c, apiServices: [a], caSecrets: [{keys: [ca]}]}]\n"),
		[]byte("name: x\ncomponents: [{name: c, apiServices: [a]}]\nservice: s\nwebhookConfigurations: [a]"),
		[]byte(`{"name": "json", "components": [{"name": "c", "webhookConfigurations": ["*"], "securePort": {"default": 443}}]}`),
		[]byte("name: [\n"),
	)
}

// FuzzParseProfile: whatever --profile-file holds, Parse either says why it is not a
// profile or returns one every check can use: a name, components that are all there and
// each select something, named CA secrets; looking a target up in it never panics; and
// it reads back the same once written out.
func FuzzParseProfile(f *testing.F) {
	seeds := profileSeeds(f)
	for _, s := range seeds {
		f.Add(s)
	}
	fuzzseed.Write(f, seeds)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if p != nil {
				t.Fatalf("a profile and an error: %v", err)
			}
			return
		}
		if p.Name == "" || len(p.Components) == 0 || !p.legacyComponent.empty() {
			t.Fatalf("incomplete profile: %+v", p)
		}
		all := map[string]*Profile{p.Name: p}
		for i, c := range p.Components {
			if c == nil || len(c.WebhookConfigurations)+len(c.APIServices)+len(c.CRDGroups) == 0 {
				t.Fatalf("component %d selects nothing: %+v", i+1, c)
			}
			for _, s := range c.CASecrets {
				if s.Name == "" {
					t.Fatalf("component %d: a CA secret without a name", i+1)
				}
			}
			for _, name := range c.WebhookConfigurations {
				if p.ComponentFor("ValidatingWebhookConfiguration", name) == nil {
					t.Fatalf("component %d lists %q, and no component serves it", i+1, name)
				}
			}
			for _, name := range c.APIServices {
				if p.ComponentFor("APIService", name) == nil {
					t.Fatalf("component %d lists APIService %q, and no component serves it", i+1, name)
				}
			}
			for _, g := range c.CRDGroups {
				if p.ComponentFor("CustomResourceDefinition", "things."+g) == nil {
					t.Fatalf("component %d lists CRD group %q, and no component serves it", i+1, g)
				}
			}
			for _, w := range c.WebhookNames {
				// An empty name matches nothing: an error text without a webhook name
				// (the fuzzer's testdata/fuzz/FuzzParseProfile/90cc9f190f20fdfd) names no profile.
				if w != "" && ForError(all, w, "") != p {
					t.Fatalf("component %d names webhook %q, and ForError does not find the profile", i+1, w)
				}
			}
			_ = ForError(all, "", c.Service)
		}
		out, err := yaml.Marshal(p)
		if err != nil {
			return // a value YAML cannot write (dryRun holds anything); not a profile problem
		}
		again, err := Parse(out, "again.yaml")
		if err != nil {
			t.Fatalf("the profile written out does not parse: %v\n%s", err, out)
		}
		if a, b := mustJSON(t, p), mustJSON(t, again); a != b {
			t.Fatalf("the profile changed on the way through YAML:\n%s\n%s", a, b)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A list item with nothing in it ("components:\n-", found by FuzzParseProfile: crasher
// testdata/fuzz/FuzzParseProfile/43039f8ab6664724) is an error naming the component,
// not a nil component that panicked in Parse.
func TestParseEmptyComponent(t *testing.T) {
	for data, want := range map[string]string{
		"name: x\ncomponents:\n-\n":                                  "profile my.yaml: component 1 is empty",
		"name: x\ncomponents: [{name: c, apiServices: [a]}, null]\n": "profile my.yaml: component 2 is empty",
	} {
		if p, err := Parse([]byte(data), "my.yaml"); err == nil || err.Error() != want {
			t.Errorf("%q: %+v, %v; want %q", data, p, err, want)
		}
	}
}
