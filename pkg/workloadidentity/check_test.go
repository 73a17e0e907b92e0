package workloadidentity

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

const gsaEmail = "app-gsa@my-project.iam.gserviceaccount.com"

// gke is a healthy GKE-shaped cluster: node n1 in a Workload Identity pool with a Ready
// metadata server pod, service account app/app-ksa annotated, pod app/web using it.
type gke struct {
	version string
	node    *corev1.Node
	ms      *corev1.Pod
	ds      *appsv1.DaemonSet
	sa      *corev1.ServiceAccount
	pod     *corev1.Pod
	extra   []runtime.Object
}

func newGKE() *gke {
	return &gke{
		version: "v1.29.1-gke.1589000",
		node: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{LabelNodePool: "pool-a", LabelMetadataServer: "true",
			labelZone: "us-central1-a", labelRegion: "us-central1"}}, Spec: corev1.NodeSpec{ProviderID: "gce://my-project/us-central1-a/n1"}},
		ms: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "gke-metadata-server-abcde", Labels: map[string]string{"k8s-app": MetadataServerName}},
			Spec:   corev1.PodSpec{NodeName: "n1"},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}},
		ds: &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: MetadataServerName},
			Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": MetadataServerName}}}},
		sa: &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "app-ksa", Annotations: map[string]string{Annotation: gsaEmail}}},
		pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "web", Labels: map[string]string{"app": "web"}},
			Spec:   corev1.PodSpec{ServiceAccountName: "app-ksa", NodeName: "n1", Containers: []corev1.Container{{Name: "main"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning}},
	}
}

func (g *gke) client() *fake.Clientset {
	var objs []runtime.Object
	for _, o := range []runtime.Object{g.node, g.ms, g.ds, g.sa, g.pod} {
		if o != nil && !isNil(o) {
			objs = append(objs, o)
		}
	}
	cs := fake.NewClientset(append(objs, g.extra...)...)
	cs.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &version.Info{GitVersion: g.version}
	return cs
}

func isNil(o runtime.Object) bool {
	switch v := o.(type) {
	case *corev1.Node:
		return v == nil
	case *corev1.Pod:
		return v == nil
	case *appsv1.DaemonSet:
		return v == nil
	case *corev1.ServiceAccount:
		return v == nil
	}
	return false
}

func runOn(t *testing.T, cs *fake.Clientset, sel Selection) *Result {
	t.Helper()
	res, err := (&Checker{Client: cs}).Run(context.Background(), sel)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

func dump(res *Result) string {
	var b strings.Builder
	for _, f := range res.Findings {
		fmt.Fprintf(&b, "  finding %s %s %s: %s | fix: %s\n", f.Severity, f.Code, f.Subject, f.Message, f.Fix)
	}
	for _, c := range res.Checks {
		fmt.Fprintf(&b, "  check %s %s %s: %s\n", c.Group, c.Name, c.Severity, c.Detail)
	}
	for _, n := range res.Notes {
		fmt.Fprintf(&b, "  note %s\n", n)
	}
	return b.String()
}

// only fails unless res has exactly one finding, with this code and severity, and returns it.
func only(t *testing.T, res *Result, code string, sev result.Severity) result.Finding {
	t.Helper()
	if len(res.Findings) != 1 || res.Findings[0].Code != code || res.Findings[0].Severity != sev {
		t.Fatalf("want one %s %s finding, got:\n%s", sev, code, dump(res))
	}
	return res.Findings[0]
}

func contains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q: %q", what, sub, s)
		}
	}
}

func TestHealthy(t *testing.T) {
	res := runOn(t, newGKE().client(), Selection{Namespace: "app"})
	if len(res.Findings) != 0 || res.NotGKE {
		t.Fatalf("healthy: %s", dump(res))
	}
	want := map[string]bool{"serviceaccount app/app-ksa annotation": true, "serviceaccount app/app-ksa pods": true, "pod app/web node": true,
		"pod app/web metadataServer": true, "pod app/web networkPolicy": true, "pod app/web hostNetwork": true}
	for _, c := range res.Checks {
		delete(want, c.Group+" "+c.Name)
		if c.Severity != result.OK {
			t.Errorf("check %+v", c)
		}
	}
	if len(want) != 0 {
		t.Errorf("checks missing: %v\n%s", want, dump(res))
	}
	if res.Plan == nil {
		t.Fatal("no gcloud plan")
	}
	plan := strings.Join(res.Plan.Steps, "\n")
	contains(t, "plan", plan,
		"gcloud services enable iamcredentials.googleapis.com --project=my-project",
		`gcloud container clusters describe CLUSTER --location=LOCATION --project=my-project --format="value(workloadIdentityConfig.workloadPool)"`,
		`gcloud container node-pools describe pool-a --cluster=CLUSTER --location=LOCATION --project=my-project --format="value(config.workloadMetadataConfig.mode)"`,
		"gcloud iam service-accounts get-iam-policy "+gsaEmail,
		`--member="serviceAccount:my-project.svc.id.goog[app/app-ksa]"`, "roles/iam.workloadIdentityUser",
		"--filter=bindings.role=roles/container.serviceAgent", `--format="value[delimiter='\\n'](bindings.members)"`,
		"service-PROJECT_NUMBER@container-engine-robot.iam.gserviceaccount.com --role=roles/container.serviceAgent --condition=None")
	notes := strings.Join(res.Notes, "\n")
	contains(t, "notes", notes, "GCE_METADATA_HOST=169.254.169.254", "Metadata-Flavor: Google", "computeMetadata/v1/instance/service-accounts/default/token", "regional")
}

// The kubeconfig's gcloud-written cluster name fills in the cluster and its location.
func TestPlanFromKubeconfig(t *testing.T) {
	res, err := (&Checker{Client: newGKE().client(), KubeconfigCluster: "gke_other-proj_europe-west1_prod"}).Run(context.Background(), Selection{Namespace: "app"})
	if err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(res.Plan.Steps, "\n")
	contains(t, "plan", plan, "clusters describe prod --region=europe-west1 --project=other-proj", "other-proj.svc.id.goog[app/app-ksa]")
	if strings.Contains(strings.Join(res.Notes, "\n"), "regional cluster avoids") {
		t.Errorf("a regional cluster gets no zonal hint: %v", res.Notes)
	}
}

func TestNotGKE(t *testing.T) {
	g := newGKE()
	g.version, g.ds, g.ms = "v1.37.2", nil, nil
	g.node.Labels = map[string]string{"kubernetes.io/hostname": "n1"}
	res := runOn(t, g.client(), Selection{Namespace: "app"})
	if !res.NotGKE || len(res.Findings) != 0 || len(res.Checks) != 0 || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "not a GKE cluster") {
		t.Fatalf("%s", dump(res))
	}
	// Each marker alone is GKE.
	for name, edit := range map[string]func(g *gke){
		"version":    func(g *gke) { g.version = "v1.30.2-gke.1000" },
		"node pool":  func(g *gke) { g.node.Labels[LabelNodePool] = "p" },
		"daemonset":  func(g *gke) { g.ds = newGKE().ds },
		"md enabled": func(g *gke) { g.node.Labels[LabelMetadataServer] = "true" },
	} {
		g := newGKE()
		g.version, g.ds, g.ms = "v1.37.2", nil, nil
		g.node.Labels = map[string]string{}
		edit(g)
		if res := runOn(t, g.client(), Selection{Namespace: "app"}); res.NotGKE {
			t.Errorf("%s: a GKE marker, yet not GKE", name)
		}
	}
}

func TestParseGSA(t *testing.T) {
	for _, tt := range []struct{ in, why, suggest, project string }{
		{gsaEmail, "", "", "my-project"},
		{"app-gsa@example.com:my-project.iam.gserviceaccount.com", "the project", "", ""},
		{"app-gsa@my-project.example.com.iam.gserviceaccount.com", "", "", "example.com:my-project"},
		{"123456789012-compute@developer.gserviceaccount.com", "", "", ""},
		{"my-project@appspot.gserviceaccount.com", "", "", "my-project"},
		{" " + gsaEmail, "spaces", gsaEmail, ""},
		{"App-GSA@my-project.iam.gserviceaccount.com", "upper case", gsaEmail, ""},
		{"serviceAccount:" + gsaEmail, "prefix", gsaEmail, ""},
		{"app-gsa", "no @", "GSA_NAME@PROJECT_ID.iam.gserviceaccount.com", ""},
		{"app-gsa@my-project", "domain", gsaEmail, ""},
		{"app-gsa@my-project.iam.gserviceaccount", "domain", gsaEmail, ""},
		{"gsa@my-project.iam.gserviceaccount.com", "account name gsa", "GSA_NAME@my-project.iam.gserviceaccount.com", ""},          // 3 chars
		{"a234567890123456789012345678901@my-project.iam.gserviceaccount.com", "account name", "", ""},                             // 31
		{"a23456@my-project.iam.gserviceaccount.com", "", "", "my-project"},                                                        // 6
		{"1app-gsa@my-project.iam.gserviceaccount.com", "starting with a letter", "", ""},                                          // digit first
		{"app-gsa-@my-project.iam.gserviceaccount.com", "account name", "", ""},                                                    // trailing hyphen
		{"app_gsa@my-project.iam.gserviceaccount.com", "account name", "", ""},                                                     // underscore
		{"app-gsa@my.iam.gserviceaccount.com", "project my is not a project ID", "app-gsa@PROJECT_ID.iam.gserviceaccount.com", ""}, // short project
		{"app-gsa@my-project-.iam.gserviceaccount.com", "not a project ID", "", ""},                                                // trailing hyphen
	} {
		g, why, suggest := ParseGSA(tt.in)
		switch {
		case tt.why == "" && why != "":
			t.Errorf("%q: refused (%s)", tt.in, why)
		case tt.why != "" && !strings.Contains(why, tt.why):
			t.Errorf("%q: why %q, want ~%q", tt.in, why, tt.why)
		case tt.suggest != "" && suggest != tt.suggest:
			t.Errorf("%q: suggest %q, want %q", tt.in, suggest, tt.suggest)
		case tt.why == "" && g.Project != tt.project:
			t.Errorf("%q: project %q, want %q", tt.in, g.Project, tt.project)
		}
	}
}

func TestAnnotation(t *testing.T) {
	t.Run("missing on a named service account", func(t *testing.T) {
		g := newGKE()
		g.sa.Annotations = nil
		f := only(t, runOn(t, g.client(), Selection{Namespace: "app", ServiceAccount: "app-ksa"}), diagnose.CodeWIAnnotation, result.Warning)
		contains(t, "message", f.Message, "app/app-ksa", "pod web")
		contains(t, "fix", f.Fix, "kubectl annotate serviceaccount app-ksa -n app iam.gke.io/gcp-service-account=", "[app/app-ksa]")
	})
	t.Run("missing on a named pod's service account", func(t *testing.T) {
		g := newGKE()
		g.sa.Annotations = nil
		only(t, runOn(t, g.client(), Selection{Namespace: "app", Pod: "web"}), diagnose.CodeWIAnnotation, result.Warning)
	})
	t.Run("unannotated service accounts are not listed", func(t *testing.T) {
		g := newGKE()
		g.sa.Annotations = nil
		res := runOn(t, g.client(), Selection{Namespace: "app"})
		if len(res.Findings) != 0 || len(res.Checks) != 0 || !strings.Contains(strings.Join(res.Notes, " "), "no service account in namespace app") {
			t.Fatalf("%s", dump(res))
		}
	})
	t.Run("malformed", func(t *testing.T) {
		g := newGKE()
		g.sa.Annotations[Annotation] = "app-gsa@my-project"
		f := only(t, runOn(t, g.client(), Selection{Namespace: "app"}), diagnose.CodeWIAnnotation, result.Critical)
		contains(t, "fix", f.Fix, "--overwrite", "iam.gke.io/gcp-service-account="+gsaEmail)
	})
	t.Run("misspelt key", func(t *testing.T) {
		g := newGKE()
		g.sa.Annotations = map[string]string{"iam.gke.io/gcp-service-acount": gsaEmail}
		f := only(t, runOn(t, g.client(), Selection{Namespace: "app"}), diagnose.CodeWIAnnotation, result.Warning)
		contains(t, "fix", f.Fix, "iam.gke.io/gcp-service-account="+gsaEmail, "iam.gke.io/gcp-service-acount-")
	})
	t.Run("every namespace", func(t *testing.T) {
		g := newGKE()
		g.sa.Annotations[Annotation] = "bad"
		res := runOn(t, g.client(), Selection{})
		only(t, res, diagnose.CodeWIAnnotation, result.Critical)
	})
}

func TestNamedNotFound(t *testing.T) {
	for _, sel := range []Selection{{Namespace: "app", ServiceAccount: "nope"}, {Namespace: "app", Pod: "nope"}} {
		_, err := (&Checker{Client: newGKE().client()}).Run(context.Background(), sel)
		if err == nil || !strings.Contains(err.Error(), "nope not found") {
			t.Errorf("%+v: %v", sel, err)
		}
	}
}

func TestHostNetwork(t *testing.T) {
	g := newGKE()
	g.pod.Spec.HostNetwork = true
	g.pod.OwnerReferences = []metav1.OwnerReference{{Kind: "DaemonSet", Name: "agent", Controller: ptr.To(true)}}
	f := only(t, runOn(t, g.client(), Selection{Namespace: "app"}), diagnose.CodeWIHostNetwork, result.Critical)
	contains(t, "message", f.Message, "hostNetwork: true", gsaEmail)
	contains(t, "fix", f.Fix, "daemonset agent")
}

func TestNodeWithoutMetadataServer(t *testing.T) {
	g := newGKE()
	delete(g.node.Labels, LabelMetadataServer)
	f := only(t, runOn(t, g.client(), Selection{Namespace: "app"}), diagnose.CodeWINodePool, result.Critical)
	contains(t, "message", f.Message, "node n1", "pool-a", LabelMetadataServer)
	contains(t, "fix", f.Fix, "gcloud container node-pools update pool-a --cluster=CLUSTER --location=LOCATION --workload-metadata=GKE_METADATA")
}

func TestMetadataServerPod(t *testing.T) {
	t.Run("none on the node", func(t *testing.T) {
		g := newGKE()
		g.ms.Spec.NodeName = "n2"
		f := only(t, runOn(t, g.client(), Selection{Namespace: "app"}), diagnose.CodeWIMetadataServerPod, result.Critical)
		contains(t, "message", f.Message, "no gke-metadata-server pod runs on node n1")
	})
	t.Run("no DaemonSet", func(t *testing.T) {
		g := newGKE()
		g.ds, g.ms = nil, nil
		f := only(t, runOn(t, g.client(), Selection{Namespace: "app"}), diagnose.CodeWIMetadataServerPod, result.Critical)
		contains(t, "fix", f.Fix, "workloadIdentityConfig.workloadPool", "--workload-pool=")
	})
	t.Run("not Ready", func(t *testing.T) {
		g := newGKE()
		g.ms.Status.Conditions[0].Status = corev1.ConditionFalse
		g.ms.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "gke-metadata-server", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}
		f := only(t, runOn(t, g.client(), Selection{Namespace: "app"}), diagnose.CodeWIMetadataServerPod, result.Critical)
		contains(t, "message", f.Message, "gke-metadata-server-abcde", "not Ready", "ContainerCreating")
	})
	t.Run("OOMKilled with more than 3,000 service accounts", func(t *testing.T) {
		g := newGKE()
		g.ms.Status.Conditions[0].Status = corev1.ConditionFalse
		g.ms.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "gke-metadata-server", RestartCount: 194,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}}}
		for i := 0; i < 3100; i++ {
			g.extra = append(g.extra, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("ns-%d", i%40), Name: fmt.Sprintf("sa-%d", i)}})
		}
		f := only(t, runOn(t, g.client(), Selection{Namespace: "app"}), diagnose.CodeWIMetadataServerPod, result.Critical)
		contains(t, "message", f.Message, "CrashLoopBackOff", "194 restarts", "OOMKilled", "3101 Kubernetes service accounts", "more than the 3000")
		contains(t, "fix", f.Fix, "below 3,000", "3101")
	})
	t.Run("OOMKilled, service accounts not listable", func(t *testing.T) {
		g := newGKE()
		g.ms.Status.Conditions[0].Status = corev1.ConditionFalse
		g.ms.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "gke-metadata-server",
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled"}}}}
		cs := g.client()
		cs.PrependReactor("list", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if a.GetNamespace() == "" {
				return true, nil, forbidden("serviceaccounts")
			}
			return false, nil, nil
		})
		res := runOn(t, cs, Selection{Namespace: "app"})
		var oom, denied bool
		for _, f := range res.Findings {
			oom = oom || f.Code == diagnose.CodeWIMetadataServerPod && strings.Contains(f.Message, "an unknown number")
			denied = denied || f.Code == diagnose.CodePermissionDenied
		}
		if !oom || !denied {
			t.Fatalf("%s", dump(res))
		}
	})
}

func egressPolicy(name string, rules ...networkingv1.NetworkPolicyEgressRule) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, Egress: rules}}
}

func allowTo(cidr string, port int32, except ...string) networkingv1.NetworkPolicyEgressRule {
	return networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}},
		Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromInt32(port))}}}
}

func TestNetworkPolicy(t *testing.T) {
	anetd := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "anetd"}}
	for _, tt := range []struct {
		name    string
		version string
		extra   []runtime.Object
		code    string
		sev     result.Severity
		words   []string
	}{
		{"deny all, GKE 1.29 without Dataplane V2", "v1.29.1-gke.1589000", []runtime.Object{egressPolicy("deny")}, diagnose.CodeWINetworkPolicy, result.Critical,
			[]string{"deny", "169.254.169.252/32 port 988"}},
		{"deny all, GKE 1.20", "v1.20.15-gke.300", []runtime.Object{egressPolicy("deny")}, diagnose.CodeWINetworkPolicy, result.Critical, []string{"127.0.0.1/32 port 988"}},
		{"1.21.0-gke.999 is before", "v1.21.0-gke.999", []runtime.Object{egressPolicy("deny")}, diagnose.CodeWINetworkPolicy, result.Critical, []string{"127.0.0.1/32 port 988"}},
		{"deny all, Dataplane V2", "v1.29.1-gke.1589000", []runtime.Object{egressPolicy("deny"), anetd}, diagnose.CodeWINetworkPolicy, result.Critical, []string{"169.254.169.254/32 port 80"}},
		{"Dataplane V2 allows port 80", "v1.29.1-gke.1589000", []runtime.Object{egressPolicy("md", allowTo("169.254.169.254/32", 80)), anetd}, "", 0, nil},
		{"port 80 rule on a cluster without Dataplane V2", "v1.29.1-gke.1589000", []runtime.Object{egressPolicy("md", allowTo("169.254.169.254/32", 80))}, diagnose.CodeWINetworkPolicy, result.Critical, []string{"169.254.169.252/32 port 988"}},
		{"988 allowed", "v1.29.1-gke.1589000", []runtime.Object{egressPolicy("md", allowTo("169.254.169.252/32", 988))}, "", 0, nil},
		{"except takes it out", "v1.29.1-gke.1589000", []runtime.Object{egressPolicy("world", allowTo("0.0.0.0/0", 988, "169.254.0.0/16"))}, diagnose.CodeWINetworkPolicy, result.Critical, []string{"world"}},
		{"wrong port", "v1.29.1-gke.1589000", []runtime.Object{egressPolicy("md", allowTo("169.254.169.252/32", 80))}, diagnose.CodeWINetworkPolicy, result.Critical, nil},
		{"ingress-only policy", "v1.29.1-gke.1589000", []runtime.Object{&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "in"}}}, "", 0, nil},
		{"version unknown: both 988 addresses", "v1.37.2", []runtime.Object{egressPolicy("deny")}, diagnose.CodeWINetworkPolicy, result.Warning,
			[]string{"169.254.169.252/32 port 988", "127.0.0.1/32 port 988", "could not be told"}},
		{"version unknown, both allowed", "v1.37.2", []runtime.Object{egressPolicy("md", allowTo("169.254.169.252/32", 988), allowTo("127.0.0.1/32", 988))}, "", 0, nil},
		{"version unknown, one allowed", "v1.37.2", []runtime.Object{egressPolicy("md", allowTo("169.254.169.252/32", 988))}, diagnose.CodeWINetworkPolicy, result.Warning, []string{"127.0.0.1/32 port 988"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := newGKE()
			g.version, g.extra = tt.version, tt.extra
			res := runOn(t, g.client(), Selection{Namespace: "app"})
			if tt.code == "" {
				if len(res.Findings) != 0 {
					t.Fatalf("want none:\n%s", dump(res))
				}
				return
			}
			f := only(t, res, tt.code, tt.sev)
			contains(t, "message", f.Message, tt.words...)
			contains(t, "fix", f.Fix, `"policyTypes":["Egress"]`, "kubectl apply -n app -f -")
		})
	}
}

func forbidden(resource string) error {
	return apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "", fmt.Errorf("RBAC: access denied"))
}

func TestIstio(t *testing.T) {
	sidecar := func(p *corev1.Pod) {
		p.Annotations = map[string]string{annSidecarStatus: `{"containers":["istio-proxy"]}`}
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: istioProxy})
	}
	mesh := func(data string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: istioNamespace, Name: meshConfigMap}, Data: map[string]string{"mesh": data}}
	}
	injector := func(values string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: istioNamespace, Name: injectorConfigMap}, Data: map[string]string{"values": values}}
	}
	for _, tt := range []struct {
		name  string
		edit  func(p *corev1.Pod)
		extra []runtime.Object
		want  bool // a finding
	}{
		{"no sidecar", func(*corev1.Pod) {}, nil, false},
		{"sidecar, nothing set", sidecar, nil, true},
		{"status annotation only", func(p *corev1.Pod) { p.Annotations = map[string]string{annSidecarStatus: "{}"} }, nil, true},
		{"excluded by annotation", func(p *corev1.Pod) { sidecar(p); p.Annotations[annExcludeOutbound] = "10.0.0.0/8, 169.254.169.254/32" }, nil, false},
		{"excluded by a wider range", func(p *corev1.Pod) { sidecar(p); p.Annotations[annExcludeOutbound] = "169.254.0.0/16" }, nil, false},
		{"other ranges excluded", func(p *corev1.Pod) { sidecar(p); p.Annotations[annExcludeOutbound] = "10.0.0.0/8" }, nil, true},
		{"excluded by istio-init -x", func(p *corev1.Pod) {
			sidecar(p)
			p.Spec.InitContainers = []corev1.Container{{Name: "istio-init", Args: []string{"istio-iptables", "-x", "169.254.169.254/32", "-b", "*"}}}
		}, nil, false},
		{"excluded in the injector values", sidecar, []runtime.Object{injector(`{"global":{"proxy":{"excludeIPRanges":"169.254.169.254/32"}}}`)}, false},
		{"not included", func(p *corev1.Pod) { sidecar(p); p.Annotations[annIncludeOutbound] = "10.0.0.0/8" }, nil, false},
		{"interception NONE", func(p *corev1.Pod) { sidecar(p); p.Annotations[annInterception] = "NONE" }, nil, false},
		{"hold in proxy config JSON", func(p *corev1.Pod) {
			sidecar(p)
			p.Annotations[annProxyConfig] = `{ "holdApplicationUntilProxyStarts": true }`
		}, nil, false},
		{"hold in proxy config YAML", func(p *corev1.Pod) {
			sidecar(p)
			p.Annotations[annProxyConfig] = "holdApplicationUntilProxyStarts: true\n"
		}, nil, false},
		{"hold false in the pod wins over the mesh", func(p *corev1.Pod) {
			sidecar(p)
			p.Annotations[annProxyConfig] = `{"holdApplicationUntilProxyStarts": false}`
		},
			[]runtime.Object{mesh("defaultConfig:\n  holdApplicationUntilProxyStarts: true\n")}, true},
		{"hold mesh-wide", sidecar, []runtime.Object{mesh("defaultConfig:\n  holdApplicationUntilProxyStarts: true\n")}, false},
		{"hold in the injector values", sidecar, []runtime.Object{injector(`{"global":{"proxy":{"holdApplicationUntilProxyStarts":true}}}`)}, false},
		{"mesh of another revision", func(p *corev1.Pod) { sidecar(p); p.Labels[labelRevision] = "canary" },
			[]runtime.Object{mesh("defaultConfig:\n  holdApplicationUntilProxyStarts: true\n")}, true},
		{"postStart pilot-agent wait", func(p *corev1.Pod) {
			sidecar(p)
			p.Spec.Containers[1].Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"pilot-agent", "wait"}}}}
		}, nil, false},
		{"native sidecar", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: istioProxy, RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}}
		}, nil, false},
		{"init container istio-proxy that is not a sidecar", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: istioProxy}}
		}, nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := newGKE()
			tt.edit(g.pod)
			g.extra = tt.extra
			res := runOn(t, g.client(), Selection{Namespace: "app"})
			if !tt.want {
				if len(res.Findings) != 0 {
					t.Fatalf("want none:\n%s", dump(res))
				}
				return
			}
			f := only(t, res, diagnose.CodeWIIstio, result.Warning)
			contains(t, "fix", f.Fix, "traffic.sidecar.istio.io/excludeOutboundIPRanges:", "169.254.169.254/32", `proxy.istio.io/config: '{ "holdApplicationUntilProxyStarts": true }'`,
				"global.proxy.excludeIPRanges", "meshConfig.defaultConfig.holdApplicationUntilProxyStarts")
		})
	}
}

func TestMetadataHostEnv(t *testing.T) {
	for value, want := range map[string]bool{"169.254.169.254": false, "metadata.google.internal": false, "10.0.0.9:8080": true, "localhost": true} {
		g := newGKE()
		g.pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "GCE_METADATA_HOST", Value: value}}
		res := runOn(t, g.client(), Selection{Namespace: "app"})
		if !want {
			if len(res.Findings) != 0 {
				t.Errorf("%s: %s", value, dump(res))
			}
			continue
		}
		f := only(t, res, diagnose.CodeWIMetadataHost, result.Warning)
		contains(t, "message", f.Message, "container main", value)
	}
}

// Every read RBAC denies is a PermissionDenied finding and a check that is not a pass;
// the rest still runs.
func TestDenied(t *testing.T) {
	for _, resource := range []string{"networkpolicies", "nodes"} {
		t.Run(resource, func(t *testing.T) {
			cs := newGKE().client()
			cs.PrependReactor("*", resource, func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, forbidden(resource) })
			res := runOn(t, cs, Selection{Namespace: "app"})
			denied := 0
			for _, f := range res.Findings {
				if f.Code != diagnose.CodePermissionDenied {
					t.Errorf("only denials: %s", dump(res))
				}
				denied++
			}
			warned := false
			for _, c := range res.Checks {
				warned = warned || c.Severity == result.Warning && strings.Contains(c.Detail, "not checked")
			}
			if denied == 0 || !warned {
				t.Fatalf("%s", dump(res))
			}
			if resource == "networkpolicies" && len(res.Checks) < 5 {
				t.Errorf("the other checks still run:\n%s", dump(res))
			}
		})
	}
}

// An API server that cannot be reached: one finding, and for a zonal cluster (as the
// kubeconfig names it) the hint that a regional control plane rides out maintenance.
func TestUnreachable(t *testing.T) {
	for cluster, zonalHint := range map[string]bool{"gke_p_us-central1-a_prod": true, "gke_p_us-central1_prod": false, "kind-kind": false} {
		cs := newGKE().client()
		cs.PrependReactor("get", "version", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
		})
		res, err := (&Checker{Client: cs, KubeconfigCluster: cluster}).Run(context.Background(), Selection{Namespace: "app"})
		if err != nil {
			t.Fatal(err)
		}
		only(t, res, diagnose.CodeUnreachable, result.Critical)
		if res.Unreached == nil || res.NotGKE {
			t.Errorf("%s: %+v", cluster, res)
		}
		if got := strings.Contains(strings.Join(res.Notes, " "), "regional cluster"); got != zonalHint {
			t.Errorf("%s: zonal hint %v, want %v: %v", cluster, got, zonalHint, res.Notes)
		}
	}
}
