package cmd

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8sversion "k8s.io/apimachinery/pkg/version"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// wiFactory serves a kubeconfig whose cluster gcloud named, and a fake cluster.
type wiFactory struct{ kube *fake.Clientset }

func (f wiFactory) Kubeconfig() (*KubeconfigTarget, error) {
	raw := clientcmdapi.Config{Contexts: map[string]*clientcmdapi.Context{"gke": {Cluster: "gke_my-project_us-central1-a_prod", Namespace: "app"}},
		Clusters: map[string]*clientcmdapi.Cluster{"gke_my-project_us-central1-a_prod": {Server: "https://127.0.0.1:1"}}}
	return &KubeconfigTarget{Raw: raw, ContextName: "gke", Rest: &rest.Config{Host: "https://127.0.0.1:1"}}, nil
}

func (f wiFactory) ClientsFor(*rest.Config) (*Clients, error) { return &Clients{Kube: f.kube}, nil }

func wiCluster(gitVersion string, objs ...runtime.Object) *fake.Clientset {
	cs := fake.NewClientset(objs...)
	cs.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &k8sversion.Info{GitVersion: gitVersion}
	return cs
}

// runWI runs the command line through the root command and returns stdout and the error.
func runWI(t *testing.T, kube *fake.Clientset, args ...string) (string, error) {
	t.Helper()
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	o := NewCommonOptions(streams)
	o.Factory = wiFactory{kube}
	cmd := newCmdCertdoctor(o, &profiling{name: "none"})
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func exitCode(err error) int {
	var e *ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &e):
		return e.Code
	}
	return 1
}

func TestWorkloadIdentityBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"workload-identity", "pod/"},
		{"workload-identity", "pod/a/b"},
		{"workload-identity", "deployment/web"},
		{"workload-identity", "-A", "my-ksa"},
		{"workload-identity", "a", "b"},
		{"workload-identity", "-o", "xml"},
	} {
		_, err := runWI(t, wiCluster("v1.29.1-gke.1"), args...)
		if exitCode(err) != 1 || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: want a one-line error, exit 1: %v", args, err)
		}
	}
}

func TestWorkloadIdentityNotGKE(t *testing.T) {
	kube := wiCluster("v1.37.2", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "cp"}})
	out, err := runWI(t, kube, "workload-identity")
	if err != nil || !strings.Contains(out, "not a GKE cluster") {
		t.Fatalf("exit %d %v\n%s", exitCode(err), err, out)
	}
	o := &CheckupOptions{CommonOptions: NewCommonOptions(genericiooptions.IOStreams{}), webhook: &WebhookOptions{}}
	o.Factory = wiFactory{kube}
	r, skipped, err := o.workloadIdentity(context.Background())
	if r != nil || err != nil || !strings.Contains(skipped, "not a GKE cluster") {
		t.Fatalf("the check-up's part is skipped on a cluster without GKE: %v %q %v", r, skipped, err)
	}
}

func gkeObjects(annotation string) []runtime.Object {
	return []runtime.Object{
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"cloud.google.com/gke-nodepool": "pool-a"}}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "ksa", Annotations: map[string]string{"iam.gke.io/gcp-service-account": annotation}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web"}, Spec: corev1.PodSpec{ServiceAccountName: "ksa", NodeName: "n1"}},
	}
}

// The kubeconfig's namespace, exit codes from the findings, the plan named from the
// kubeconfig, and JSON with the checks.
func TestWorkloadIdentityCommand(t *testing.T) {
	out, err := runWI(t, wiCluster("v1.29.1-gke.1", gkeObjects("bad")...), "workload-identity")
	if exitCode(err) != result.ExitCritical {
		t.Fatalf("malformed annotation and a node pool without the metadata server: exit %d\n%s", exitCode(err), out)
	}
	for _, want := range []string{"WorkloadIdentityAnnotation", "WorkloadIdentityNodePool", "pod app/web", "--zone=us-central1-a", "container node-pools update pool-a --cluster=prod"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	out, err = runWI(t, wiCluster("v1.29.1-gke.1", gkeObjects("bad")...), "workload-identity", "-n", "other", "-o", "json")
	if err != nil || !strings.Contains(out, `"command": "workload-identity"`) || !strings.Contains(out, "no service account in namespace other") {
		t.Fatalf("-n other: exit %d\n%s", exitCode(err), out)
	}
	out, err = runWI(t, wiCluster("v1.29.1-gke.1", gkeObjects("bad")...), "workload-identity", "-A", "-o", "json")
	if exitCode(err) != result.ExitCritical || !strings.Contains(out, `"group": "serviceaccount app/ksa"`) {
		t.Fatalf("-A: exit %d\n%s", exitCode(err), out)
	}
	if _, err := runWI(t, wiCluster("v1.29.1-gke.1"), "workload-identity", "pod/nope"); exitCode(err) != 1 || !strings.Contains(err.Error(), "pod app/nope not found") {
		t.Fatalf("a pod that does not exist: %v", err)
	}
	if _, err := runWI(t, wiCluster("v1.29.1-gke.1"), "--only", "workload-identity", "--skip", "workload-identity", "--local", "--pki-dir", t.TempDir()); err != nil && strings.Contains(err.Error(), "unknown check") {
		t.Fatalf("--only/--skip accept workload-identity: %v", err)
	}
}
