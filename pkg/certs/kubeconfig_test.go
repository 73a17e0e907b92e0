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
