package sources

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// kubeletNode is a Ready node whose kubelet listens at addr ("127.0.0.1:PORT").
func kubeletNode(t *testing.T, name, addr string) *corev1.Node {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}, {Type: corev1.NodeInternalIP, Address: host}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(p)}},
		Conditions:      []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
}

func kubeletConfig(body string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kubelet-config"},
		Data: map[string]string{"kubelet": "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n" + body}}
}

// kubelets serves one loopback kubelet per kind of certificate: signed by the cluster
// CA, self-signed, from another CA, expired, and none at all (the kubelet's
// GetCertificate fails, as it does while its serving CSR is pending).
func kubelets(t *testing.T) (ca *certstest.Pair, nodes []runtime.Object) {
	ca = certstest.NewCA("kubernetes")
	other := certstest.NewCA("someone-else")
	serving := func(name string) certstest.Opts {
		return certstest.Opts{CN: "system:node:" + name, Org: []string{"system:nodes"}, DNS: []string{name}, IPs: []string{"127.0.0.1"}}
	}
	expired := certstest.Expired()
	expired.CN = "system:node:expired"
	noCert := &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return nil, errors.New("no serving certificate available for the kubelet")
	}}
	for name, cfg := range map[string]*tls.Config{
		"good":        certstest.TLSConfig(ca.Issue(serving("good"))),
		"self-signed": certstest.TLSConfig(certstest.SelfSigned(serving("self-signed"))),
		"foreign":     certstest.TLSConfig(other.Issue(serving("foreign"))),
		"expired":     certstest.TLSConfig(ca.Issue(expired)),
		"no-cert":     noCert,
	} {
		nodes = append(nodes, kubeletNode(t, name, certstest.ServeTLS(t, cfg)))
	}
	return ca, nodes
}

func collectKubelets(t *testing.T, src *KubeletServing) ([]result.Finding, []string) {
	t.Helper()
	_, fs, notes := collectOnlyFindings(t, src)
	return fs, notes
}

func TestKubeletServingBootstrapOn(t *testing.T) {
	ca, nodes := kubelets(t)
	objs := append(nodes, kubeletConfig("serverTLSBootstrap: true\n"))
	fs, _ := collectKubelets(t, &KubeletServing{Client: fake.NewClientset(objs...), CAData: ca.CertPEM()})
	if len(fs) != 4 {
		t.Errorf("want 4 findings (self-signed, foreign, expired, no-cert), got %d: %s", len(fs), dump(fs))
	}
	self := mustFind(t, fs, diagnose.CodeKubeletServingCertificate, "node self-signed")
	if !strings.Contains(self.Message, "a self-signed certificate") || !strings.Contains(self.Fix, "kubectl certificate approve") {
		t.Errorf("self-signed: %s", dump(self))
	}
	foreign := mustFind(t, fs, diagnose.CodeKubeletServingCertificate, "node foreign")
	if !strings.Contains(foreign.Message, `issued by "someone-else", not by the cluster CA`) || foreign.Error != "x509: certificate signed by unknown authority" {
		t.Errorf("foreign CA: %s", dump(foreign))
	}
	exp := mustFind(t, fs, diagnose.CodeKubeletServingCertificate, "node expired")
	if !strings.Contains(exp.Message, "expired 24h ago") || !strings.Contains(exp.Error, "certificate has expired") ||
		!strings.Contains(exp.Fix, "on node expired") || exp.NotAfter == nil {
		t.Errorf("expired: %s", dump(exp))
	}
	none := mustFind(t, fs, diagnose.CodeKubeletServingCertificate, "node no-cert")
	if !strings.Contains(none.Error, "tls: internal error") || none.ErrorPredicted || none.Severity != result.Critical ||
		!strings.Contains(none.Fix, "spec.signerName=kubernetes.io/kubelet-serving") {
		t.Errorf("no certificate: %s", dump(none))
	}
	if got := findingsWith(fs, "", "node good"); len(got) != 0 {
		t.Errorf("a kubelet serving a certificate of the cluster CA is healthy: %s", dump(got))
	}
}

// The cluster CA may come from kube-root-ca.crt alone (a kubeconfig trusting system roots).
func TestKubeletServingRootCAConfigMap(t *testing.T) {
	ca, nodes := kubelets(t)
	root := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-root-ca.crt"}, Data: map[string]string{"ca.crt": string(ca.CertPEM())}}
	fs, _ := collectKubelets(t, &KubeletServing{Client: fake.NewClientset(append(nodes, kubeletConfig("serverTLSBootstrap: true\n"), root)...)})
	if got := findingsWith(fs, "", "node good"); len(got) != 0 {
		t.Errorf("kube-root-ca.crt signed it: %s", dump(got))
	}
	mustFind(t, fs, diagnose.CodeKubeletServingCertificate, "node foreign")
}

// serverTLSBootstrap off (or no kubelet-config, or no such field): the kubelet's own
// self-signed certificate is normal; an expired one and a handshake it aborts are not.
func TestKubeletServingBootstrapOff(t *testing.T) {
	for name, cm := range map[string][]runtime.Object{
		"field false":       {kubeletConfig("serverTLSBootstrap: false\n")},
		"field absent":      {kubeletConfig("clusterDomain: cluster.local\n")},
		"no kubelet-config": nil,
		"garbage config":    {kubeletConfig(":\n  - [unbalanced")},
	} {
		t.Run(name, func(t *testing.T) {
			ca, nodes := kubelets(t)
			fs, _ := collectKubelets(t, &KubeletServing{Client: fake.NewClientset(append(nodes, cm...)...), CAData: ca.CertPEM()})
			if len(fs) != 2 {
				t.Errorf("want 2 findings (expired, no-cert), got %d: %s", len(fs), dump(fs))
			}
			mustFind(t, fs, diagnose.CodeKubeletServingCertificate, "node expired")
			mustFind(t, fs, diagnose.CodeKubeletServingCertificate, "node no-cert")
		})
	}
}

// A kubelet that does not answer from here is noted, not a finding; nodes that are not
// Ready or publish no InternalIP are never dialed.
func TestKubeletServingUnreachable(t *testing.T) {
	closed := kubeletNode(t, "closed", "127.0.0.1:1")
	notReady := kubeletNode(t, "not-ready", "127.0.0.1:2")
	notReady.Status.Conditions[0].Status = corev1.ConditionFalse
	noIP := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "no-ip"}}
	var dialed []string
	src := &KubeletServing{Client: fake.NewClientset(closed, notReady, noIP), Timeout: time.Second,
		Dial: func(ctx context.Context, addr, sni string, timeout time.Duration) ([]*x509.Certificate, error) {
			dialed = append(dialed, addr)
			return Served(ctx, addr, sni, timeout)
		}}
	fs, notes := collectKubelets(t, src)
	if len(fs) != 0 {
		t.Errorf("an unreachable kubelet is no finding: %s", dump(fs))
	}
	if strings.Join(dialed, " ") != "127.0.0.1:1" {
		t.Errorf("dialed %v, want only the Ready node's InternalIP", dialed)
	}
	all := strings.Join(notes, "\n")
	for _, want := range []string{"1 of 1 kubelet(s) did not answer", "2 node(s) not Ready or without an InternalIP"} {
		if !strings.Contains(all, want) {
			t.Errorf("notes lack %q: %q", want, notes)
		}
	}
}

// The budget bounds all the handshakes: kubelets that were not reached in time are
// counted, the command goes on.
func TestKubeletServingBudget(t *testing.T) {
	var objs []runtime.Object
	for i := 0; i < 3*kubeletDialers; i++ {
		objs = append(objs, kubeletNode(t, fmt.Sprintf("slow-%d", i), fmt.Sprintf("127.0.0.1:%d", 1000+i)))
	}
	src := &KubeletServing{Client: fake.NewClientset(objs...), Budget: 100 * time.Millisecond,
		Dial: func(ctx context.Context, _, _ string, _ time.Duration) ([]*x509.Certificate, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}}
	start := time.Now()
	fs, notes := collectKubelets(t, src)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s with a 100ms budget", d)
	}
	if len(fs) != 0 || !strings.Contains(strings.Join(notes, "\n"), fmt.Sprintf("%d of %d kubelet(s) did not answer", 3*kubeletDialers, 3*kubeletDialers)) {
		t.Errorf("findings %s, notes %q", dump(fs), notes)
	}
}

func TestKubeletServingForbidden(t *testing.T) {
	cs := fake.NewClientset()
	cs.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, "",
			fmt.Errorf(`User "viewer" cannot list resource "nodes" in API group "" at the cluster scope`))
	})
	fs, _ := collectKubelets(t, &KubeletServing{Client: cs})
	f := mustFind(t, fs, diagnose.CodePermissionDenied, "nodes")
	if f.Source != result.SourceKubelet || !strings.Contains(f.Message, "list nodes") {
		t.Errorf("permission finding: %s", dump(f))
	}
}

// Not being able to read kubelet-config is a finding, not serverTLSBootstrap off.
func TestKubeletServingConfigUnreadable(t *testing.T) {
	ca, nodes := kubelets(t)
	cs := fake.NewClientset(nodes...)
	cs.PrependReactor("get", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.GetAction).GetName() != "kubelet-config" {
			return false, nil, nil
		}
		return true, nil, apierrors.NewInternalError(errors.New("etcdserver: request timed out"))
	})
	fs, _ := collectKubelets(t, &KubeletServing{Client: cs, CAData: ca.CertPEM()})
	f := mustFind(t, fs, diagnose.CodeSourceFailed, "configmap kube-system/kubelet-config")
	if f.Source != result.SourceKubelet || !strings.Contains(f.Message, "request timed out") {
		t.Errorf("unreadable kubelet-config: %s", dump(f))
	}
	mustFind(t, fs, diagnose.CodeKubeletServingCertificate, "node expired")
}
