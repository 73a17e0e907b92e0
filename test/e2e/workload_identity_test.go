//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// The plain e2e cluster has no GKE marker: workload-identity says so and exits 0, and
// the check-up's part is skipped.
func TestWorkloadIdentityNotGKE(t *testing.T) {
	r, code := runJSON(t, "workload-identity")
	wantExit(t, r, code, 0)
	requireNoFindings(t, r)
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "not a GKE cluster") {
		t.Fatalf("want the note that this is not GKE:\n%s", dump(r))
	}
	r, code = runJSON(t, "--only", "workload-identity")
	wantExit(t, r, code, 0)
	if p := checkupParts(t, r); p["workload-identity"] != "skipped" {
		t.Fatalf("parts %v", p)
	}
}

// gkeShape is a GKE-shaped corner of the cluster: fake nodes (no kubelet: their pods keep
// the status the test writes), the gke-metadata-server DaemonSet (whose nodeSelector
// matches no node, so nothing runs it) and its pods, in kube-system; a namespace for
// the workloads. Everything is labelled and removed when the test ends.
type gkeShape struct {
	ns    string
	owner metav1.OwnerReference // keeps the DaemonSet controller from adopting the test's pods
}

const fakeNodeTaint = "e2e.certdoctor.io/fake-node"

func newGKEShape(t *testing.T) *gkeShape {
	t.Helper()
	removeGKELeftovers(t)
	g := &gkeShape{ns: newNamespace(t)}
	ctx := ctxT(t)
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "gke-metadata-server", Namespace: "kube-system", Labels: labels(t)},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "gke-metadata-server"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"k8s-app": "gke-metadata-server"}},
				Spec: corev1.PodSpec{NodeSelector: map[string]string{"e2e.certdoctor.io/no-such-node": "true"},
					Containers: []corev1.Container{{Name: "gke-metadata-server", Image: "e2e.local/busybox:1.35"}}}}}}
	g.create(t, "daemonset kube-system/gke-metadata-server", func() error {
		_, err := client.AppsV1().DaemonSets("kube-system").Create(ctx, ds, metav1.CreateOptions{})
		return err
	}, func() error {
		return client.AppsV1().DaemonSets("kube-system").Delete(ctxT(t), ds.Name, metav1.DeleteOptions{})
	})
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: uniqueName("e2e-wi-owner"), Namespace: "kube-system", Labels: labels(t)}}
	created, err := client.CoreV1().ConfigMaps("kube-system").Create(ctx, cm, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.CoreV1().ConfigMaps("kube-system").Delete(ctxT(t), cm.Name, metav1.DeleteOptions{}) })
	g.owner = metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: cm.Name, UID: created.UID, Controller: ptr.To(true)}
	return g
}

// removeGKELeftovers deletes what a killed run of these tests left in the cluster scope
// and kube-system (the namespaces go with the framework's cleanup).
func removeGKELeftovers(t *testing.T) {
	ctx := ctxT(t)
	sel := metav1.ListOptions{LabelSelector: testLabel}
	_ = client.CoreV1().Nodes().DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
	_ = client.CoreV1().Pods("kube-system").DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}, sel)
	_ = client.CoreV1().ConfigMaps("kube-system").DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
	_ = client.AppsV1().DaemonSets("kube-system").DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
	for _, name := range []string{"gke-metadata-server", "anetd"} {
		for {
			_, err := client.AppsV1().DaemonSets("kube-system").Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("DaemonSet kube-system/%s exists and is not the test's: %v", name, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

func (g *gkeShape) create(t *testing.T, what string, create, del func() error) {
	t.Helper()
	if err := create(); err != nil {
		t.Fatalf("create %s: %v", what, err)
	}
	t.Cleanup(func() {
		if err := del(); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete %s: %v", what, err)
		}
	})
}

// node creates a fake node of node pool pool; metadataServer labels it as GKE labels the
// nodes of a pool with Workload Identity.
func (g *gkeShape) node(t *testing.T, pool string, metadataServer bool) string {
	t.Helper()
	lbls := labels(t)
	lbls["cloud.google.com/gke-nodepool"] = pool
	lbls["topology.kubernetes.io/zone"] = "us-central1-a"
	lbls["topology.kubernetes.io/region"] = "us-central1"
	if metadataServer {
		lbls["iam.gke.io/gke-metadata-server-enabled"] = "true"
	}
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: uniqueName("e2e-gke-" + pool), Labels: lbls},
		Spec: corev1.NodeSpec{ProviderID: "gce://e2e-project/us-central1-a/instance", Taints: []corev1.Taint{{Key: fakeNodeTaint, Effect: corev1.TaintEffectNoSchedule}}}}
	g.create(t, "node "+n.Name, func() error {
		_, err := client.CoreV1().Nodes().Create(ctxT(t), n, metav1.CreateOptions{})
		return err
	}, func() error { return client.CoreV1().Nodes().Delete(ctxT(t), n.Name, metav1.DeleteOptions{}) })
	return n.Name
}

// pod creates a pod bound to node (no scheduler, no kubelet) and sets its status.
func (g *gkeShape) pod(t *testing.T, p *corev1.Pod, node string, status corev1.PodStatus) {
	t.Helper()
	if p.Namespace == "" {
		p.Namespace = g.ns
	}
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	for k, v := range labels(t) {
		p.Labels[k] = v
	}
	p.Spec.NodeName = node
	p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	if len(p.Spec.Containers) == 0 {
		p.Spec.Containers = []corev1.Container{{Name: "main", Image: "e2e.local/busybox:1.35"}}
	}
	ctx := ctxT(t)
	var created *corev1.Pod
	g.create(t, "pod "+p.Namespace+"/"+p.Name, func() error {
		var err error
		created, err = client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{})
		return err
	}, func() error {
		return client.CoreV1().Pods(p.Namespace).Delete(ctxT(t), p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	})
	created.Status = status
	if _, err := client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("pod status %s: %v", p.Name, err)
	}
}

// metadataServer creates the gke-metadata-server pod of node with the status given.
func (g *gkeShape) metadataServer(t *testing.T, node string, status corev1.PodStatus) string {
	t.Helper()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: uniqueName("gke-metadata-server"), Namespace: "kube-system",
		Labels: map[string]string{"k8s-app": "gke-metadata-server"}, OwnerReferences: []metav1.OwnerReference{g.owner}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "gke-metadata-server", Image: "gke.gcr.io/gke-metadata-server:e2e"}}}}
	g.pod(t, p, node, status)
	return p.Name
}

var readyStatus = corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
	ContainerStatuses: []corev1.ContainerStatus{{Name: "gke-metadata-server", Ready: true, Image: "gke.gcr.io/gke-metadata-server:e2e",
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}}}

var oomStatus = corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}},
	ContainerStatuses: []corev1.ContainerStatus{{Name: "gke-metadata-server", RestartCount: 194, Image: "gke.gcr.io/gke-metadata-server:e2e",
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}}}}

var pending = corev1.PodStatus{Phase: corev1.PodPending}

// serviceAccount creates a service account with the annotation value (none when empty).
func (g *gkeShape) serviceAccount(t *testing.T, name, gsa string) {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: g.ns, Labels: labels(t)}}
	if gsa != "" {
		sa.Annotations = map[string]string{"iam.gke.io/gcp-service-account": gsa}
	}
	if _, err := client.CoreV1().ServiceAccounts(g.ns).Create(ctxT(t), sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (g *gkeShape) netpol(t *testing.T, np *networkingv1.NetworkPolicy) {
	t.Helper()
	np.Namespace, np.Labels = g.ns, labels(t)
	if _, err := client.NetworkingV1().NetworkPolicies(g.ns).Create(ctxT(t), np, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func workload(name, sa string, lbls map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbls}, Spec: corev1.PodSpec{ServiceAccountName: sa}}
}

// reportChecks are a report's checks as "GROUP NAME SEVERITY".
func reportChecks(t *testing.T, r Report) []string {
	t.Helper()
	var doc struct {
		Checks []struct{ Group, Name, Severity string } `json:"checks"`
	}
	if err := json.Unmarshal([]byte(r.raw), &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range doc.Checks {
		out = append(out, c.Group+" "+c.Name+" "+c.Severity)
	}
	return out
}

const e2eGSA = "e2e-app@e2e-project.iam.gserviceaccount.com"

// A GKE-shaped cluster where everything is in place: no finding, exit 0; every step of
// seed 003's checklist that the cluster can show passed, and the rest is the gcloud plan.
func TestWorkloadIdentityHealthy(t *testing.T) {
	g := newGKEShape(t)
	node := g.node(t, "wi-pool", true)
	g.metadataServer(t, node, readyStatus)
	g.serviceAccount(t, "app", e2eGSA)
	g.pod(t, workload("web", "app", nil), node, pending)
	r, code := runJSON(t, "workload-identity", "-n", g.ns)
	wantExit(t, r, code, 0)
	requireNoFindings(t, r)
	checks := strings.Join(reportChecks(t, r), "\n")
	for _, want := range []string{"serviceaccount " + g.ns + "/app annotation OK", "pod " + g.ns + "/web node OK", "pod " + g.ns + "/web metadataServer OK",
		"pod " + g.ns + "/web networkPolicy OK", "pod " + g.ns + "/web hostNetwork OK"} {
		requireContains(t, "checks", checks, want)
	}
	requireContains(t, "report", r.raw, "gcloud iam service-accounts get-iam-policy "+e2eGSA)
	requireContains(t, "report", r.raw, "e2e-project.svc.id.goog["+g.ns+"/app]")
	requireContains(t, "report", r.raw, "node-pools describe wi-pool")
	screen(t, "workload-identity", []string{"metadataServer", "PLAN", "gcloud"}, "workload-identity", "-n", g.ns)
}

// Each fault of seed 003 the cluster shows is named, with its fix.
func TestWorkloadIdentityFaults(t *testing.T) {
	g := newGKEShape(t)
	wiNode := g.node(t, "wi-pool", true)
	g.metadataServer(t, wiNode, readyStatus)
	plainNode := g.node(t, "plain-pool", false)
	oomNode := g.node(t, "oom-pool", true)
	oomPod := g.metadataServer(t, oomNode, oomStatus)
	emptyNode := g.node(t, "empty-pool", true)

	g.serviceAccount(t, "app", e2eGSA)
	g.serviceAccount(t, "plain", "")
	g.serviceAccount(t, "typo", "e2e-app@e2e-project")
	g.pod(t, workload("on-plain", "app", nil), plainNode, pending)
	g.pod(t, workload("on-oom", "app", nil), oomNode, pending)
	g.pod(t, workload("on-empty", "app", nil), emptyNode, pending)
	host := workload("host", "app", nil)
	host.Spec.HostNetwork = true
	g.pod(t, host, wiNode, pending)
	mesh := workload("mesh", "app", nil)
	mesh.Annotations = map[string]string{"sidecar.istio.io/status": `{"containers":["istio-proxy"]}`}
	mesh.Spec.Containers = []corev1.Container{{Name: "main", Image: "e2e.local/busybox:1.35"}, {Name: "istio-proxy", Image: "docker.io/istio/proxyv2:e2e"}}
	g.pod(t, mesh, wiNode, pending)
	meshOK := mesh.DeepCopy()
	meshOK.Name, meshOK.ResourceVersion = "mesh-excluded", ""
	meshOK.Annotations = map[string]string{"sidecar.istio.io/status": "{}", "traffic.sidecar.istio.io/excludeOutboundIPRanges": "169.254.169.254/32"}
	g.pod(t, meshOK, wiNode, pending)
	envPod := workload("env", "app", nil)
	envPod.Spec.Containers = []corev1.Container{{Name: "main", Image: "e2e.local/busybox:1.35", Env: []corev1.EnvVar{{Name: "GCE_METADATA_HOST", Value: "127.0.0.1:8080"}}}}
	g.pod(t, envPod, wiNode, pending)

	for _, tt := range []struct {
		args              []string
		code, severity    string
		subject, msg, fix string
		exit              int
	}{
		{[]string{"plain"}, "WorkloadIdentityAnnotation", "WARNING", "serviceaccount " + g.ns + "/plain", "no iam.gke.io/gcp-service-account annotation", "kubectl annotate serviceaccount plain", 2},
		{[]string{"serviceaccount/typo"}, "WorkloadIdentityAnnotation", "CRITICAL", "serviceaccount " + g.ns + "/typo", "not a Google service account e-mail", "iam.gke.io/gcp-service-account=e2e-app@e2e-project.iam.gserviceaccount.com", 3},
		{[]string{"pod/host"}, "WorkloadIdentityHostNetwork", "CRITICAL", "pod " + g.ns + "/host", "hostNetwork: true", "without hostNetwork", 3},
		{[]string{"pod/on-plain"}, "WorkloadIdentityNodePool", "CRITICAL", "pod " + g.ns + "/on-plain", plainNode, "node-pools update plain-pool", 3},
		{[]string{"pod/on-oom"}, "WorkloadIdentityMetadataServerPod", "CRITICAL", "pod " + g.ns + "/on-oom", oomPod, "below 3,000", 3},
		{[]string{"pod/on-empty"}, "WorkloadIdentityMetadataServerPod", "CRITICAL", "pod " + g.ns + "/on-empty", "no gke-metadata-server pod runs on node " + emptyNode, "spec.nodeName=" + emptyNode, 3},
		{[]string{"pod/mesh"}, "WorkloadIdentityIstio", "WARNING", "pod " + g.ns + "/mesh", "Istio sidecar", "holdApplicationUntilProxyStarts", 2},
		{[]string{"pod/env"}, "WorkloadIdentityMetadataHost", "WARNING", "pod " + g.ns + "/env", "127.0.0.1:8080", "GCE_METADATA_HOST=169.254.169.254", 2},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r, code := runJSON(t, append([]string{"workload-identity", "-n", g.ns}, tt.args...)...)
			wantExit(t, r, code, tt.exit)
			if len(r.Findings) != 1 {
				t.Errorf("want only the finding of this fault:\n%s", dump(r))
			}
			f := requireFinding(t, r, tt.code, tt.severity, "workload-identity", func(f Finding) bool { return f.Subject == tt.subject }, "for "+tt.subject)
			requireContains(t, "message", f.Message, tt.msg)
			requireContains(t, "fix", f.Fix, tt.fix)
			if tt.msg == oomPod {
				requireContains(t, "message", f.Message, "OOMKilled")
				requireContains(t, "message", f.Message, "Kubernetes service accounts")
			}
		})
	}
	t.Run("istio sidecar with the metadata address excluded", func(t *testing.T) {
		r, code := runJSON(t, "workload-identity", "-n", g.ns, "pod/mesh-excluded")
		wantExit(t, r, code, 0)
		requireNoFindings(t, r)
	})
	// Without a name: every annotated service account and its pods, the malformed one included.
	r, code := runJSON(t, "workload-identity", "-n", g.ns)
	wantExit(t, r, code, 3)
	for _, c := range []string{"WorkloadIdentityAnnotation", "WorkloadIdentityHostNetwork", "WorkloadIdentityNodePool", "WorkloadIdentityMetadataServerPod", "WorkloadIdentityIstio", "WorkloadIdentityMetadataHost"} {
		requireFinding(t, r, c, "", "workload-identity", nil, "in the namespace's report")
	}
	if len(findFindings(r, "WorkloadIdentityAnnotation", func(f Finding) bool { return strings.Contains(f.Subject, "/plain") })) != 0 {
		t.Errorf("a service account without the annotation is not listed unless named:\n%s", dump(r))
	}
	// The check-up runs the part on a GKE-shaped cluster and reports the same causes.
	r, code = runJSON(t, "--only", "workload-identity", "-n", g.ns)
	wantExit(t, r, code, 3)
	if p := checkupParts(t, r); p["workload-identity"] != "ran" {
		t.Fatalf("parts %v", p)
	}
	requireFinding(t, r, "WorkloadIdentityNodePool", "CRITICAL", "workload-identity", nil, "in the check-up")
}

func egressDeny(name string, sel map[string]string, rules ...networkingv1.NetworkPolicyEgressRule) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{MatchLabels: sel}, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, Egress: rules}}
}

func egressTo(cidr string, port int32, except ...string) networkingv1.NetworkPolicyEgressRule {
	return networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}},
		Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromInt32(port))}}}
}

// NetworkPolicies that block and that allow egress to the metadata server. The e2e API
// server's version is not GKE's: without Dataplane V2 both port-988 addresses are
// candidates (a warning); with an anetd DaemonSet only 169.254.169.254:80 applies.
func TestWorkloadIdentityNetworkPolicy(t *testing.T) {
	g := newGKEShape(t)
	node := g.node(t, "wi-pool", true)
	g.metadataServer(t, node, readyStatus)
	g.serviceAccount(t, "app", e2eGSA)
	g.pod(t, workload("blocked", "app", map[string]string{"app": "blocked"}), node, pending)
	g.pod(t, workload("except", "app", map[string]string{"app": "except"}), node, pending)
	g.pod(t, workload("allowed", "app", map[string]string{"app": "allowed"}), node, pending)
	g.pod(t, workload("dpv2", "app", map[string]string{"app": "dpv2"}), node, pending)
	g.netpol(t, egressDeny("deny-egress", map[string]string{"app": "blocked"}))
	g.netpol(t, egressDeny("world-but-link-local", map[string]string{"app": "except"}, egressTo("0.0.0.0/0", 988, "169.254.0.0/16", "127.0.0.0/8")))
	g.netpol(t, egressDeny("metadata-988", map[string]string{"app": "allowed"}, egressTo("169.254.169.252/32", 988), egressTo("127.0.0.1/32", 988)))
	g.netpol(t, egressDeny("metadata-80", map[string]string{"app": "dpv2"}, egressTo("169.254.169.254/32", 80)))

	check := func(t *testing.T, pod string, exit int, severity, msg string) {
		t.Helper()
		r, code := runJSON(t, "workload-identity", "-n", g.ns, "pod/"+pod)
		wantExit(t, r, code, exit)
		if exit == 0 {
			requireNoFindings(t, r)
			return
		}
		f := requireFinding(t, r, "WorkloadIdentityNetworkPolicy", severity, "workload-identity", nil, "for pod "+pod)
		requireContains(t, "message", f.Message, msg)
		requireContains(t, "fix", f.Fix, `"cidr":"`)
	}
	t.Run("without Dataplane V2", func(t *testing.T) {
		check(t, "blocked", 2, "WARNING", "169.254.169.252/32 port 988")
		check(t, "except", 2, "WARNING", "world-but-link-local")
		check(t, "allowed", 0, "", "")
		check(t, "dpv2", 2, "WARNING", "127.0.0.1/32 port 988")
	})
	t.Run("with Dataplane V2", func(t *testing.T) {
		ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "anetd", Namespace: "kube-system", Labels: labels(t)},
			Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "e2e-anetd"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"k8s-app": "e2e-anetd"}},
					Spec: corev1.PodSpec{NodeSelector: map[string]string{"e2e.certdoctor.io/no-such-node": "true"},
						Containers: []corev1.Container{{Name: "anetd", Image: "e2e.local/busybox:1.35"}}}}}}
		g.create(t, "daemonset kube-system/anetd", func() error {
			_, err := client.AppsV1().DaemonSets("kube-system").Create(ctxT(t), ds, metav1.CreateOptions{})
			return err
		}, func() error {
			return client.AppsV1().DaemonSets("kube-system").Delete(ctxT(t), ds.Name, metav1.DeleteOptions{})
		})
		check(t, "blocked", 3, "CRITICAL", "169.254.169.254/32 port 80")
		check(t, "dpv2", 0, "", "")
		check(t, "allowed", 3, "CRITICAL", "169.254.169.254/32 port 80")
	})
}
