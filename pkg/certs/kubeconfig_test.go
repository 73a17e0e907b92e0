package certs

import (
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

// An empty kubeconfig (an empty $KUBECONFIG entry, a file of comments) is one that
// client-go loads as empty: it has no problems, and the broken file next to it is still
// named field by field. FuzzKubeconfig's seeds showed it was "not a kubeconfig" instead.
func TestKubeconfigProblemsEmptyFile(t *testing.T) {
	for _, data := range []string{"", "\n\n", "# set up by the installer\n", "---\n", "null\n", "~"} {
		if _, err := clientcmd.Load([]byte(data)); err != nil {
			t.Fatalf("%q: client-go: %v", data, err)
		}
		clean, problems, err := KubeconfigProblems([]byte(data))
		if err != nil || len(problems) > 0 || string(clean) != data {
			t.Errorf("%q: %q %v %v; want it as it is, with no problems", data, clean, problems, err)
		}
	}
	_, problems, err := KubeconfigProblems([]byte("users:\n- name: admin\n  user: {client-certificate-data: 'not base64!'}\n"))
	if err != nil || len(problems) != 1 || problems[0].Path() != "users[admin].client-certificate-data" || !strings.Contains(problems[0].Error(), "not valid base64") {
		t.Fatalf("%v %v", problems, err)
	}
	for _, data := range []string{"- a\n- list\n", "just text\n", "42\n"} {
		if _, _, err := KubeconfigProblems([]byte(data)); err == nil || !strings.Contains(err.Error(), "not a kubeconfig") {
			t.Errorf("%q: %v", data, err)
		}
	}
}

// What KubeconfigProblems leaves of a file loads, with every other value as it was,
// also where JSON would not do: a key of over 1024 characters, and escapes of
// characters YAML takes only escaped (DEL, U+0080) or reads as a line break (U+0085).
func TestKubeconfigProblemsCleanLoads(t *testing.T) {
	bad := "users:\n- name: u\n  user: {client-certificate-data: 'not base64!', client-key-data: 'also not!'}\n"
	long := strings.Repeat("k", 1100)
	for name, data := range map[string]string{
		"long key": "? " + long + "\n: v\ncurrent-context: " + long + "\n" + bad,
		"escapes":  "current-context: \"a\\x7fb\\u0080c\\u0085d\"\n" + bad,
	} {
		clean, problems, err := KubeconfigProblems([]byte(data))
		if err != nil || len(problems) != 2 {
			t.Fatalf("%s: %v %v", name, problems, err)
		}
		cfg, err := clientcmd.Load(clean)
		if err != nil {
			t.Fatalf("%s: what is left does not load: %v\n%s", name, err, clean)
		}
		want := long
		if name == "escapes" {
			want = "a\x7fb\u0080c\u0085d"
		}
		if cfg.CurrentContext != want || cfg.AuthInfos["u"] == nil {
			t.Errorf("%s: current-context %q, users %v", name, cfg.CurrentContext, cfg.AuthInfos)
		}
		if _, again, err := KubeconfigProblems(clean); err != nil || len(again) > 0 {
			t.Errorf("%s: what is left still has problems: %v %v", name, again, err)
		}
	}
}
