//go:build e2e

package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const managedBy = "app.kubernetes.io/managed-by=kubectl-certdoctor"

// nodeCopy copies the node's kubeadm files to a directory of this machine (the node) and
// returns the plugin flags that make the debug pod read the copy: the real files are never
// modified, but the pod, the hostPath mounts and the script are the real ones.
func nodeCopy(t *testing.T) (dir string, args []string) {
	t.Helper()
	dir = t.TempDir()
	copyDir(t, kubeDir, filepath.Join(dir, "kubernetes"))
	copyDir(t, kubeletPKI, filepath.Join(dir, "kubelet-pki"))
	return dir, []string{"expiry", "--node-kubeconfig-dir", filepath.Join(dir, "kubernetes"),
		"--node-pki-dir", filepath.Join(dir, "kubernetes", "pki"), "--node-kubelet-pki-dir", filepath.Join(dir, "kubelet-pki")}
}

// requireNoDebugPods fails unless every debug pod is gone within 20 s (the kubelet needs a
// moment to confirm a deletion).
func requireNoDebugPods(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		l, err := client.CoreV1().Pods("").List(ctxT(t), metav1.ListOptions{LabelSelector: managedBy})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d debug pod(s) left behind, e.g. %s/%s (%s)", len(l.Items), l.Items[0].Namespace, l.Items[0].Name, l.Items[0].Status.Phase)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// The node checks read the real node through a real debug pod: the kubeadm rows of node
// e2e-cp carry the serials of the files on disk, and no pod stays behind.
func TestNodeChecksHealthy(t *testing.T) {
	r, code := runJSON(t, "expiry")
	wantExit(t, r, code, 0)
	requireNoFindings(t, r)
	requireSources(t, r, "node")
	keysNoted := false
	for _, n := range r.Notes {
		if strings.Contains(n, "service-account") {
			t.Errorf("the service-account keys were not compared with what the cluster publishes: %s", n)
		}
		keysNoted = keysNoted || strings.Contains(n, "private keys were not compared")
	}
	if !keysNoted {
		t.Errorf("no note says the nodes' key pairs were not compared: %v", r.Notes)
	}
	want := map[string]string{
		"apiserver":   serialHex(readCert(t, filepath.Join(pkiDir, "apiserver.crt"))),
		"etcd-server": serialHex(readCert(t, filepath.Join(pkiDir, "etcd", "server.crt"))),
		"kubelet.crt": serialHex(readCert(t, filepath.Join(kubeletPKI, "kubelet.crt"))),
	}
	for _, c := range r.Certificates {
		if c.Source == "node" && want[c.Name] != "" {
			if !strings.EqualFold(c.Serial, want[c.Name]) {
				t.Errorf("node row %s: serial %s, the file on disk has %s", c.Name, c.Serial, want[c.Name])
			}
			delete(want, c.Name)
		}
	}
	if len(want) != 0 {
		t.Errorf("node rows missing: %v\n%s", want, dump(r))
	}
	requireNoDebugPods(t)
}

// Seed 000 on a node, read through the debug pod: expired certificates, a missing
// kubeconfig, and certificates renewed on disk while the components still serve the old ones.
func TestNodePKIFaults(t *testing.T) {
	t.Run("expired", func(t *testing.T) {
		dir, args := nodeCopy(t)
		crt := filepath.Join(dir, "kubernetes", "pki", "apiserver-etcd-client.crt")
		expired, _ := renew(t, clusterCA(t, "etcd/ca"), crt, time.Now().Add(-days(366)), time.Now().Add(-days(1)))
		replaceFile(t, crt, expired)
		r, code := runJSON(t, args...)
		wantExit(t, r, code, 3)
		f := requireFinding(t, r, "CertificateExpired", "CRITICAL", "node", func(f Finding) bool {
			return mentions(f, nodeName) && mentions(f, "apiserver-etcd-client")
		}, "for the node's apiserver-etcd-client")
		requireContains(t, "fix", f.Fix, "kubeadm certs renew apiserver-etcd-client")
		requireContains(t, "fix", f.Fix, "crictl stop $(crictl ps --name '^kube-apiserver$' -q)")
	})
	t.Run("missing", func(t *testing.T) {
		dir, args := nodeCopy(t)
		if err := os.Remove(filepath.Join(dir, "kubernetes", "controller-manager.conf")); err != nil {
			t.Fatal(err)
		}
		r, code := runJSON(t, args...)
		wantExit(t, r, code, 3)
		requireFinding(t, r, "CertificateMissing", "CRITICAL", "node", func(f Finding) bool {
			return mentions(f, "controller-manager.conf")
		}, "naming controller-manager.conf")
		stdout, _, _ := runPlugin(t, args...)
		requireContains(t, "table", stdout, "!MISSING! controller-manager.conf")
		requireContains(t, "table", stdout, "NODE "+nodeName)
	})
	// renewedNotRestarted renews rel (same key, new serial) in the copy only: the running
	// component still serves the old certificate, as after `kubeadm certs renew` without
	// the restart step.
	renewedNotRestarted := func(t *testing.T, rel, component, message, fix string) {
		dir, args := nodeCopy(t)
		crt := filepath.Join(dir, rel)
		renewed, _ := renew(t, clusterCA(t, "ca"), crt, time.Now().Add(-time.Minute), time.Now().Add(days(365)))
		replaceFile(t, crt, renewed)
		r, code := runJSON(t, args...)
		wantExit(t, r, code, 3)
		f := requireFinding(t, r, "ServingStaleCertificate", "CRITICAL", "node", func(f Finding) bool {
			return mentions(f, nodeName) && mentions(f, component)
		}, "for "+component+" on the node")
		requireContains(t, "message", f.Message, message)
		requireContains(t, "fix", f.Fix, fix)
	}
	t.Run("apiserver-renewed-not-restarted", func(t *testing.T) {
		renewedNotRestarted(t, "kubernetes/pki/apiserver.crt", "kube-apiserver", "renewed on disk but kube-apiserver still serves the old one", "crictl stop")
	})
	t.Run("kubelet-renewed-not-restarted", func(t *testing.T) {
		renewedNotRestarted(t, "kubelet-pki/kubelet.crt", "kubelet", "renewed on disk but kubelet still serves the old one", "systemctl restart kubelet")
	})
	// sa.pub replaced on the node's disk (a node joined with its own key pair, or a restore
	// from the wrong backup): it is not the key the API server publishes at /openid/v1/jwks.
	t.Run("sa-pub-not-published", func(t *testing.T) {
		dir, args := nodeCopy(t)
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
		replaceFile(t, filepath.Join(dir, "kubernetes", "pki", "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		r, code := runJSON(t, args...)
		wantExit(t, r, code, 3)
		f := requireFinding(t, r, "ServiceAccountKeyNotPublished", "CRITICAL", "node", func(f Finding) bool {
			return mentions(f, nodeName) && mentions(f, "sa.pub")
		}, "for the node's sa.pub")
		requireContains(t, "message", f.Message, "/openid/v1/jwks")
		if n := len(r.Findings); n != 1 {
			t.Errorf("%d findings, want only the key's:\n%s", n, dump(r))
		}
	})
	requireNoDebugPods(t)
}

// A namespace whose Pod Security level forbids hostPath: said before any pod is created,
// and the other sources still report.
func TestNodeChecksPodSecurity(t *testing.T) {
	ns := newNamespace(t)
	n, err := client.CoreV1().Namespaces().Get(ctxT(t), ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Labels["pod-security.kubernetes.io/enforce"] = "baseline"
	if _, err := client.CoreV1().Namespaces().Update(ctxT(t), n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r, code := runJSON(t, "expiry", "--debug-namespace", ns)
	wantExit(t, r, code, 2)
	f := requireFinding(t, r, "NodeChecksBlocked", "WARNING", "node", nil, "for the baseline namespace")
	requireContains(t, "message", f.Message, `enforces Pod Security "baseline"`)
	requireContains(t, "message", f.Message, "--debug-namespace")
	requireSources(t, r, "kubeconfig", "apiserver")
	pods, err := client.CoreV1().Pods(ns).List(ctxT(t), metav1.ListOptions{})
	if err != nil || len(pods.Items) != 0 {
		t.Fatalf("pods were created in %s: %v %v", ns, pods, err)
	}
}

// Ctrl-C while a debug pod is pending: the plugin deletes it and exits 130. The pod is kept
// pending by a certificate directory that does not exist on the node (hostPath type
// Directory never creates it).
func TestNodeChecksInterrupted(t *testing.T) {
	requireNoDebugPods(t)
	stderr := interruptPlugin(t, debugPodExists, "expiry", "--node-pki-dir", "/nonexistent/certdoctor-e2e/pki", "--pod-timeout", "60s")
	requireContains(t, "stderr", stderr, "interrupted: debug pods were deleted")
	requireNoDebugPods(t)
}

// debugPodExists is true once certdoctor has created a debug pod (the callers start with
// none left: requireNoDebugPods).
func debugPodExists(t *testing.T) bool {
	l, err := client.CoreV1().Pods("kube-system").List(ctxT(t), metav1.ListOptions{LabelSelector: managedBy})
	if err != nil {
		return false
	}
	for _, p := range l.Items {
		if p.DeletionTimestamp == nil {
			return true
		}
	}
	return false
}

// `cleanup` removes a leftover debug pod (as after kill -9), --dry-run only lists it, and
// a pod without the label is never touched.
func TestCleanupCommand(t *testing.T) {
	ns := newNamespace(t)
	mk := func(name string, lbl map[string]string) {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: lbl},
			Spec: corev1.PodSpec{NodeName: nodeName, TerminationGracePeriodSeconds: new(int64),
				Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
				Containers:  []corev1.Container{{Name: "c", Image: "e2e.local/busybox:1.35", Command: []string{"sleep", "3600"}}}}}
		if _, err := client.CoreV1().Pods(ns).Create(ctxT(t), p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mk("certdoctor-leftover", map[string]string{"app.kubernetes.io/managed-by": "kubectl-certdoctor", testLabel: testName(t)})
	mk("bystander", labels(t))
	stdout, _, code := runPlugin(t, "cleanup", "--dry-run", "-n", ns)
	if code != 0 || !strings.Contains(stdout, "certdoctor-leftover") || !strings.Contains(stdout, "would be deleted") || strings.Contains(stdout, "bystander") {
		t.Fatalf("dry run: exit %d\n%s", code, stdout)
	}
	if _, err := client.CoreV1().Pods(ns).Get(ctxT(t), "certdoctor-leftover", metav1.GetOptions{}); err != nil {
		t.Fatalf("--dry-run deleted the pod: %v", err)
	}
	stdout, _, code = runPlugin(t, "cleanup")
	if code != 0 || !strings.Contains(stdout, "certdoctor-leftover") {
		t.Fatalf("cleanup: exit %d\n%s", code, stdout)
	}
	requireNoDebugPods(t)
	if _, err := client.CoreV1().Pods(ns).Get(ctxT(t), "bystander", metav1.GetOptions{}); err != nil {
		t.Fatalf("cleanup deleted an unlabelled pod: %v", err)
	}
}
