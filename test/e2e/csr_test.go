//go:build e2e

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// csrPEM is a PKCS#10 request as a kubelet makes it (CN system:node:NODE, O system:nodes),
// with a key generated here and registered with the leak guard.
func csrPEM(t *testing.T, node string, dns []string, ips ...string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM(t, key)
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:" + node, Organization: []string{"system:nodes"}}, DNSNames: dns}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

// createCSR creates a labelled CSR with cs and deletes it when the test ends.
func createCSR(t *testing.T, cs kubernetes.Interface, name, signer string, req []byte, usages ...certificatesv1.KeyUsage) {
	t.Helper()
	csr := &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels(t)},
		Spec: certificatesv1.CertificateSigningRequestSpec{SignerName: signer, Request: req, Usages: usages}}
	if _, err := cs.CertificatesV1().CertificateSigningRequests().Create(ctxT(t), csr, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create CSR %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := client.CertificatesV1().CertificateSigningRequests().Delete(ctxT(t), name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete CSR %s: %v", name, err)
		}
	})
}

// requester is a user who may create CSRs and nothing else: kube-controller-manager's
// csrapproving controller auto-approves a kubelet client CSR whose creator may create
// certificatesigningrequests/nodeclient, which the cluster admin may; this user may not,
// as a node whose bootstrap binding was deleted.
func requester(t *testing.T) kubernetes.Interface {
	t.Helper()
	user := uniqueName("e2e-csr-requester")
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: user, Labels: labels(t)},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"certificatesigningrequests"}, Verbs: []string{"create", "get"}}}}
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user, Labels: labels(t)},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: user},
		Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}}}
	if _, err := client.RbacV1().ClusterRoles().Create(ctxT(t), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.RbacV1().ClusterRoles().Delete(ctxT(t), user, metav1.DeleteOptions{}) })
	if _, err := client.RbacV1().ClusterRoleBindings().Create(ctxT(t), crb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.RbacV1().ClusterRoleBindings().Delete(ctxT(t), user, metav1.DeleteOptions{}) })
	cfg := rest.CopyConfig(restConfig)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// deny adds a Denied condition, as `kubectl certificate deny` does, and fails when
// something approved the request first.
func deny(t *testing.T, name string) {
	t.Helper()
	csrs := client.CertificatesV1().CertificateSigningRequests()
	csr, err := csrs.Get(ctxT(t), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range csr.Status.Conditions {
		if c.Type == certificatesv1.CertificateApproved {
			t.Fatalf("CSR %s was approved (%s: %s) before the test could deny it", name, c.Reason, c.Message)
		}
	}
	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateDenied, Status: corev1.ConditionTrue, Reason: "E2EDenied", Message: "denied by " + t.Name(),
		LastUpdateTime: metav1.Now()})
	if _, err := csrs.UpdateApproval(ctxT(t), name, csr, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("deny CSR %s: %v", name, err)
	}
}

// A kubelet serving CSR nobody approves and a kubelet client CSR that was denied: expiry
// and the check-up each name the node, how long it waited and, for the serving request,
// the names it asks for and the approve command; the key of neither request leaks.
func TestCSRPendingAndDenied(t *testing.T) {
	servingNode, clientNode := uniqueName("e2e-csr-serving"), uniqueName("e2e-csr-client")
	serving, denied := uniqueName("e2e-csr-serving"), uniqueName("e2e-csr-client")
	createCSR(t, client, serving, certificatesv1.KubeletServingSignerName,
		csrPEM(t, servingNode, []string{servingNode, servingNode + ".e2e.test"}, "10.200.0.1"),
		certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth)
	createCSR(t, requester(t), denied, certificatesv1.KubeAPIServerClientKubeletSignerName, csrPEM(t, clientNode, nil),
		certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth)
	// Give kube-controller-manager's approver the chance it would have in a real cluster.
	time.Sleep(2 * time.Second)
	deny(t, denied)

	for _, args := range [][]string{{"expiry"}, {"--skip", "nodes"}} {
		t.Run(strings.Join(append([]string{"certdoctor"}, args...), " "), func(t *testing.T) {
			r, code := runJSON(t, args...)
			wantExit(t, r, code, 3)
			s := requireFinding(t, r, "KubeletServingCertificate", "CRITICAL", "csr", func(f Finding) bool {
				return f.Subject == "csr "+serving
			}, "for the Pending kubelet-serving CSR")
			requireContains(t, "message", s.Message, "node "+servingNode+"'s kubelet has waited ")
			requireContains(t, "message", s.Message, " is Pending")
			requireContains(t, "error", s.Error, "remote error: tls: internal error")
			requireContains(t, "fix", s.Fix, servingNode+", "+servingNode+".e2e.test, 10.200.0.1")
			requireContains(t, "fix", s.Fix, "kubectl certificate approve "+serving)
			requireContains(t, "fix", s.Fix, "kubelet-csr-approver")

			c := requireFinding(t, r, "KubeletClientCertificateRequest", "CRITICAL", "csr", func(f Finding) bool {
				return f.Subject == "csr "+denied
			}, "for the denied kubelet client CSR")
			requireContains(t, "message", c.Message, "node "+clientNode+"'s kubelet client certificate request "+denied+" was denied ")
			requireContains(t, "message", c.Message, "E2EDenied")
			requireContains(t, "fix", c.Fix, "kubectl delete csr "+denied)

			for _, f := range r.Findings {
				if f.Source == "csr" && f.Subject != "csr "+serving && f.Subject != "csr "+denied {
					t.Errorf("a finding about a CSR this test did not make: %s", f)
				}
				if f.Source == "kubelet" {
					t.Errorf("the harness's kubelet serves a certificate of the cluster CA: %s", f)
				}
			}
			requireKubeletDialed(t, r)
		})
	}
}

// requireKubeletDialed fails unless the kubelet source reached the node's kubelet.
func requireKubeletDialed(t *testing.T, r Report) {
	t.Helper()
	for _, n := range r.Notes {
		if strings.HasPrefix(n, "kubelet serving certificates:") {
			t.Errorf("the kubelet of %s at 10.200.0.1 was not checked: %s", nodeName, n)
		}
	}
}

// With serverTLSBootstrap on in kube-system/kubelet-config, the harness's kubelet, whose
// serving certificate the cluster CA signed, is healthy: the handshake with the real
// kubelet and the check against the kubeconfig's CA find nothing.
func TestCSRKubeletServingBootstrapOn(t *testing.T) {
	cms := client.CoreV1().ConfigMaps("kube-system")
	cm, err := cms.Get(ctxT(t), "kubelet-config", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("kubeadm's kubelet-config ConfigMap: %v", err)
	}
	orig := cm.Data["kubelet"]
	if strings.Contains(orig, "serverTLSBootstrap") {
		t.Fatalf("kubelet-config already sets serverTLSBootstrap:\n%s", orig)
	}
	cm.Data["kubelet"] = orig + "\nserverTLSBootstrap: true\n"
	if _, err := cms.Update(ctxT(t), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cm, err := cms.Get(ctxT(t), "kubelet-config", metav1.GetOptions{})
		if err == nil {
			cm.Data["kubelet"] = orig
			_, err = cms.Update(ctxT(t), cm, metav1.UpdateOptions{})
		}
		if err != nil {
			t.Errorf("restore kubelet-config: %v", err)
		}
	})
	r, code := runJSON(t, "expiry", "--skip-nodes")
	wantExit(t, r, code, 0)
	requireNoFindings(t, r)
	requireKubeletDialed(t, r)
}
