package nodes

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

func TestBuildPod(t *testing.T) {
	cfg := PodConfig{Namespace: "kube-system", Image: "mirror.local/busybox:1.36", ImagePullSecret: "regcred", RunID: "abcdeabcde", DeadlineSeconds: 120}
	got := BuildPod(cfg, "CP_1.example.com", Presets["kubeadm"], "x1y2z")
	want := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "certdoctor-cp-1-example-com-x1y2z", Namespace: "kube-system",
			Labels: map[string]string{ManagedByLabel: ManagedByValue, RunIDLabel: "abcdeabcde", NodeLabel: "CP_1.example.com"}},
		Spec: corev1.PodSpec{
			NodeName: "CP_1.example.com", RestartPolicy: corev1.RestartPolicyNever, ActiveDeadlineSeconds: ptr.To[int64](120),
			AutomountServiceAccountToken: ptr.To(false), EnableServiceLinks: ptr.To(false), TerminationGracePeriodSeconds: ptr.To[int64](1),
			Tolerations:      []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			ImagePullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}},
			Containers: []corev1.Container{{
				Name: "certdoctor", Image: "mirror.local/busybox:1.36", ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{"sh", "-c", Script, "certdoctor", "", "/etc/kubernetes", "/var/lib/kubelet/pki"},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				},
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
				VolumeMounts: []corev1.VolumeMount{{Name: "certs-0", MountPath: "/etc/kubernetes", ReadOnly: true}, {Name: "certs-1", MountPath: "/var/lib/kubelet/pki", ReadOnly: true}},
			}},
			Volumes: []corev1.Volume{
				{Name: "certs-0", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/etc/kubernetes", Type: ptr.To(corev1.HostPathDirectory)}}},
				{Name: "certs-1", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/kubelet/pki", Type: ptr.To(corev1.HostPathDirectory)}}},
			},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("pod (-want +got):\n%s", d)
	}
}

func TestDetect(t *testing.T) {
	node := func(version string, labels map[string]string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: version}}}
	}
	for want, n := range map[string]*corev1.Node{
		"k3s": node("v1.30.4+k3s1", nil), "rke2": node("v1.30.4+rke2r1", nil),
		"minikube": node("v1.31.0", map[string]string{"minikube.k8s.io/name": "minikube"}), "kubeadm": node("v1.37.2", nil),
	} {
		if got := Detect(n).Name; got != want {
			t.Errorf("Detect = %s, want %s", got, want)
		}
	}
	if _, err := ResolvePreset("talos", nil); err == nil || !strings.Contains(err.Error(), "auto, k3s, kubeadm, minikube, rke2") {
		t.Errorf("unknown distro: %v", err)
	}
}

func readyNode(name string, ready bool) corev1.Node {
	st := corev1.ConditionTrue
	if !ready {
		st = corev1.ConditionFalse
	}
	return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"node-role.kubernetes.io/control-plane": ""}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}}}}
}

// fakeKubelet makes every created pod reach the given status on its first Get.
func fakeKubelet(client *fake.Clientset, status func(p *corev1.Pod) corev1.PodStatus) {
	var mu sync.Mutex
	created := map[string]*corev1.Pod{}
	client.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod)
		mu.Lock()
		created[p.Name] = p.DeepCopy()
		mu.Unlock()
		return false, nil, nil
	})
	client.PrependWatchReactor("pods", func(a k8stesting.Action) (bool, watch.Interface, error) {
		name, _ := a.(k8stesting.WatchActionImpl).GetWatchRestrictions().Fields.RequiresExactMatch("metadata.name")
		mu.Lock()
		p, ok := created[name]
		mu.Unlock()
		if !ok {
			return false, nil, nil
		}
		p = p.DeepCopy()
		p.Status = status(p)
		w := watch.NewRaceFreeFake()
		w.Modify(p)
		return true, w, nil
	})
}

func deletedPods(client *fake.Clientset) []string {
	var out []string
	for _, a := range client.Actions() {
		if a.GetVerb() == "delete" && a.GetResource().Resource == "pods" {
			out = append(out, a.(k8stesting.DeleteAction).GetName())
		}
	}
	return out
}

func TestRunFailuresAreReportedPerNodeAndPodsDeleted(t *testing.T) {
	nodes := []corev1.Node{readyNode("cp1", true), readyNode("cp2", true), readyNode("cp3", false)}
	client := fake.NewClientset(&nodes[0], &nodes[1], &nodes[2])
	fakeKubelet(client, func(p *corev1.Pod) corev1.PodStatus {
		if p.Spec.NodeName == "cp1" {
			return corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{
				Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image \"busybox\""}}}}}
		}
		return corev1.PodStatus{Phase: corev1.PodFailed, Reason: "DeadlineExceeded"}
	})
	r := &Runner{Client: client, Opts: DefaultOptions()}
	res := r.Run(context.Background(), nodes)
	want := map[string]string{"cp1": "--image with a mirror", "cp2": "timed out", "cp3": "is NotReady"}
	for _, x := range res {
		if x.Err == nil || !strings.Contains(x.Err.Error(), want[x.Node.Name]) {
			t.Errorf("%s: %v, want an error about %q", x.Node.Name, x.Err, want[x.Node.Name])
		}
	}
	if got := deletedPods(client); len(got) != 2 {
		t.Fatalf("both created pods must be deleted, got %v", got)
	}
}

// The kubelet sets the container's terminated state before the pod's phase: the run is
// done, with the pod's log, as soon as the container exited 0.
func TestRunEndsWhenTheContainerExited(t *testing.T) {
	node := readyNode("cp1", true)
	client := fake.NewClientset(&node)
	fakeKubelet(client, func(*corev1.Pod) corev1.PodStatus {
		return corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "certdoctor",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}}}}
	})
	opts := DefaultOptions()
	opts.Timeout = 5 * time.Second // a run that waited for the phase would end in this timeout's error
	res := (&Runner{Client: client, Opts: opts}).Run(context.Background(), []corev1.Node{node})
	// the fake clientset's log is always "fake logs", which the parser rejects as cut short:
	// that error proves the log was read, and not that the wait timed out
	if len(res) != 1 || res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "output ended early") || res[0].Elapsed > time.Second {
		t.Fatalf("%+v", res)
	}
	read := false
	for _, a := range client.Actions() {
		read = read || (a.GetVerb() == "get" && a.GetSubresource() == "log")
	}
	if !read {
		t.Error("the pod's log was not read")
	}
	if got := deletedPods(client); len(got) != 1 {
		t.Fatalf("the pod must be deleted, got %v", got)
	}
}

func TestRunDeletesPodsWhenInterrupted(t *testing.T) {
	node := readyNode("cp1", true)
	client := fake.NewClientset(&node)
	fakeKubelet(client, func(*corev1.Pod) corev1.PodStatus { return corev1.PodStatus{Phase: corev1.PodRunning} })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(600*time.Millisecond, cancel)
	res := (&Runner{Client: client, Opts: DefaultOptions()}).Run(ctx, []corev1.Node{node})
	if res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "interrupted") {
		t.Fatalf("want interrupted, got %v", res[0].Err)
	}
	if got := deletedPods(client); len(got) != 1 {
		t.Fatalf("the pod must be deleted after Ctrl-C, deleted %v", got)
	}
}

func TestCreateForbiddenByPodSecurity(t *testing.T) {
	node := readyNode("cp1", true)
	client := fake.NewClientset(&node)
	client.PrependReactor("create", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "x", errors.New(`violates PodSecurity "baseline:latest": hostPath volumes`))
	})
	res := (&Runner{Client: client, Opts: DefaultOptions()}).Run(context.Background(), []corev1.Node{node})
	if !errors.Is(res[0].Err, ErrBlocked) || !strings.Contains(res[0].Err.Error(), "--debug-namespace") {
		t.Fatalf("got %v", res[0].Err)
	}
}

func TestPreflight(t *testing.T) {
	ns := func(labels map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", Labels: labels}}
	}
	deny := func(client *fake.Clientset, verb string) {
		client.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
			r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
			r.Status.Allowed = r.Spec.ResourceAttributes.Verb != verb
			return true, r, nil
		})
	}
	tests := []struct {
		name  string
		setup func() *fake.Clientset
		want  string
	}{
		{"privileged namespace, allowed", func() *fake.Clientset { c := fake.NewClientset(ns(nil)); deny(c, "none"); return c }, ""},
		{"baseline", func() *fake.Clientset {
			return fake.NewClientset(ns(map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}))
		}, `enforces Pod Security "baseline"`},
		{"no create", func() *fake.Clientset { c := fake.NewClientset(ns(nil)); deny(c, "create"); return c }, `may not create pods in namespace "kube-system"`},
		{"missing namespace", func() *fake.Clientset { return fake.NewClientset() }, `namespace "kube-system" does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := (&Runner{Client: tt.setup(), Opts: DefaultOptions()}).Preflight(context.Background())
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrBlocked) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSelectNodes(t *testing.T) {
	cp, w := readyNode("cp1", true), readyNode("w1", true)
	w.Labels = nil
	old := readyNode("m1", true)
	old.Labels = map[string]string{"node-role.kubernetes.io/master": ""}
	client := fake.NewClientset(&cp, &w, &old)
	names := func(o Options) string {
		ns, err := (&Runner{Client: client, Opts: o}).SelectNodes(context.Background())
		if err != nil {
			return err.Error()
		}
		var out []string
		for _, n := range ns {
			out = append(out, n.Name)
		}
		return strings.Join(out, ",")
	}
	if got := names(Options{}); got != "cp1,m1" {
		t.Errorf("default: %s", got)
	}
	if got := names(Options{AllNodes: true}); got != "cp1,m1,w1" {
		t.Errorf("--all-nodes: %s", got)
	}
	if got := names(Options{Nodes: []string{"w1"}}); got != "w1" {
		t.Errorf("--nodes: %s", got)
	}
	if got := names(Options{Nodes: []string{"ghost"}}); !strings.Contains(got, `node "ghost"`) {
		t.Errorf("unknown node: %s", got)
	}
}

// The API server stops answering while a debug pod runs: the delete is retried, and a
// pod that still could not be deleted is recorded (for the report and cleanup), never
// silently left; a server that comes back in time gets the delete.
func TestRunRetriesDeletesAndRecordsUndeletedPods(t *testing.T) {
	for _, tt := range []struct {
		name     string
		failures int // deletes that fail before the server answers again
		left     int
	}{
		{"server back within the budget", 2, 0},
		{"server gone", 1 << 30, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			node := readyNode("cp1", true)
			client := fake.NewClientset(&node)
			fakeKubelet(client, func(*corev1.Pod) corev1.PodStatus {
				return corev1.PodStatus{Phase: corev1.PodFailed, Reason: "DeadlineExceeded"}
			})
			var calls atomic.Int64
			client.PrependReactor("delete", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
				if calls.Add(1) <= int64(tt.failures) {
					return true, nil, errors.New(`Delete "https://10.200.0.1:6443/api/v1/namespaces/kube-system/pods/x": dial tcp 10.200.0.1:6443: connect: connection refused`)
				}
				return false, nil, nil
			})
			r := &Runner{Client: client, Opts: DefaultOptions(), deleteTimeout: 3500 * time.Millisecond}
			r.Run(context.Background(), []corev1.Node{node})
			left := r.Opts.Undeleted.List()
			if len(left) != tt.left {
				t.Fatalf("undeleted %v after %d delete attempts, want %d", left, calls.Load(), tt.left)
			}
			if tt.left > 0 && (!strings.HasPrefix(left[0], "kube-system/certdoctor-cp1-") || calls.Load() < 3) {
				t.Fatalf("undeleted %v after %d attempts: want the pod named, after retries", left, calls.Load())
			}
		})
	}
	// A refusal is not retried: RBAC will not change within the run.
	node := readyNode("cp1", true)
	client := fake.NewClientset(&node)
	fakeKubelet(client, func(*corev1.Pod) corev1.PodStatus { return corev1.PodStatus{Phase: corev1.PodFailed} })
	var calls atomic.Int64
	client.PrependReactor("delete", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		calls.Add(1)
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "x", errors.New("no"))
	})
	r := &Runner{Client: client, Opts: DefaultOptions()}
	r.Run(context.Background(), []corev1.Node{node})
	if calls.Load() != 1 || len(r.Opts.Undeleted.List()) != 1 {
		t.Fatalf("forbidden delete: %d attempts, undeleted %v", calls.Load(), r.Opts.Undeleted.List())
	}
}
