package cmd

import (
	"io"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/metadata/fake"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// completionFactory serves a kubeconfig with two contexts and a cluster holding the
// objects given.
type completionFactory struct{ objs []runtime.Object }

func (f completionFactory) Kubeconfig() (*KubeconfigTarget, error) {
	raw := clientcmdapi.Config{
		Contexts: map[string]*clientcmdapi.Context{"prod-eu": {}, "staging": {}},
		Clusters: map[string]*clientcmdapi.Cluster{"eu": {}},
	}
	return &KubeconfigTarget{Raw: raw, ContextName: "prod-eu", Rest: &rest.Config{Host: "https://127.0.0.1:1"}}, nil
}

func (f completionFactory) ClientsFor(*rest.Config) (*Clients, error) {
	scheme := runtime.NewScheme()
	metav1.AddMetaToScheme(scheme)
	return &Clients{Metadata: fake.NewSimpleMetadataClient(scheme, f.objs...)}, nil
}

func partial(apiVersion, kind, name string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}, ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// complete runs cobra's hidden __complete command, as the shell scripts and kubectl's
// plugin completion do, and returns the candidates (the last line is the directive).
func complete(t *testing.T, f Factory, args ...string) []string {
	t.Helper()
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	o := NewCommonOptions(streams)
	o.Factory = f
	return completeWith(t, o, args...)
}

func completeWith(t *testing.T, o *CommonOptions, args ...string) []string {
	t.Helper()
	out := new(strings.Builder)
	cmd := newCmdCertdoctor(o, &profiling{name: "none"})
	cmd.SetOut(out)
	cmd.SetErr(io.Discard) // cobra's "Completion ended with directive" line
	cmd.SetArgs(append([]string{"__complete"}, args...))
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], ":") {
		t.Fatalf("no directive in %q", out.String())
	}
	var names []string
	for _, l := range lines[:len(lines)-1] {
		names = append(names, strings.SplitN(l, "\t", 2)[0])
	}
	return names
}

func TestCompletion(t *testing.T) {
	f := completionFactory{objs: []runtime.Object{
		partial("v1", "Node", "cp-1"), partial("v1", "Node", "cp-2"), partial("v1", "Node", "worker-1"),
		partial("v1", "Namespace", "kube-system"), partial("v1", "Namespace", "cert-manager"),
		partial("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "cert-manager-webhook"),
		partial("apiregistration.k8s.io/v1", "APIService", "v1beta1.metrics.k8s.io"),
	}}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{""}, "expiry webhook sans explain version completion"},
		{[]string{"webhook", "cert"}, "cert-manager cert-manager-webhook"},
		{[]string{"webhook", "v1"}, "v1beta1.metrics.k8s.io"},
		{[]string{"webhook", "cert-manager", ""}, ""},
		{[]string{"expiry", "--nodes", "cp"}, "cp-1 cp-2"},
		{[]string{"expiry", "--nodes", "cp-1,w"}, "cp-1,worker-1"},
		{[]string{"--context", "prod"}, "prod-eu"},
		{[]string{"sans", "--context", ""}, "prod-eu staging"},
		{[]string{"-n", "cert"}, "cert-manager"},
		{[]string{"expiry", "--debug-namespace", "kube"}, "kube-system"},
		{[]string{"-o", "j"}, "json"},
	}
	for _, c := range cases {
		got := complete(t, f, c.args...)
		for _, w := range strings.Fields(c.want) {
			if !contains(got, w) {
				t.Errorf("%q: %q missing from %q", c.args, w, got)
			}
		}
		if c.want == "" && len(got) != 0 {
			t.Errorf("%q: want nothing, got %q", c.args, got)
		}
		for _, g := range got {
			if last := c.args[len(c.args)-1]; !strings.HasPrefix(g, last) {
				t.Errorf("%q: %q does not start with %q", c.args, g, last)
			}
		}
	}
}

// A kubeconfig that does not load completes nothing rather than printing an error into
// the user's command line.
func TestCompletionWithoutCluster(t *testing.T) {
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	o := NewCommonOptions(streams)
	kubeconfig := t.TempDir() + "/missing"
	o.ConfigFlags.KubeConfig = &kubeconfig
	if got := completeWith(t, o, "expiry", "--nodes", ""); len(got) != 0 {
		t.Fatalf("%q", got)
	}
}
