package sans

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/report"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// seed002 is the migrated cluster's certificate: valid for the old addresses only.
func seed002() *certstest.Pair {
	return certstest.NewCA("kubernetes").Issue(certstest.Opts{CN: "kube-apiserver",
		DNS: []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "kube01"},
		IPs: []string{"172.16.0.1", "192.168.0.1"}})
}

func TestCheckSeed002(t *testing.T) {
	cert := seed002()
	var s Set
	s.Add("10.254.0.1", "kubernetes Service ClusterIP")
	s.Add("192.168.0.1", "node")
	s.Add("Kubernetes.Default.", "dns") // normalised to kubernetes.default
	s.Add("*.apps.example.com", "wildcard entries are names too")
	res := Check([]Target{{Source: "apiserver", Name: "https://192.168.0.1:6443", Cert: cert.Cert}}, s.Items(), Setup{})
	got := map[string]result.Severity{}
	for _, c := range res.Checks {
		got[c.Name] = c.Severity
	}
	want := map[string]result.Severity{"10.254.0.1": result.Critical, "192.168.0.1": result.OK, "kubernetes.default": result.OK, "*.apps.example.com": result.Critical}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s (all: %v)", k, got[k], v, got)
		}
	}
	if len(res.Findings) != 1 {
		t.Fatalf("one finding per certificate, got %d", len(res.Findings))
	}
	f := res.Findings[0]
	if f.Code != diagnose.CodeSANMissing || f.Severity != result.Critical {
		t.Fatalf("finding %+v", f)
	}
	if f.Error != "x509: certificate is valid for 172.16.0.1, 192.168.0.1, not 10.254.0.1" {
		t.Errorf("error %q is not what kube-dns printed in seed 002", f.Error)
	}
	// Hand-made PKI: the csr.conf keeps every current SAN and adds the missing ones.
	for _, want := range []string{"DNS.5 = kube01", "IP.1 = 172.16.0.1", "IP.2 = 192.168.0.1", "IP.3 = 10.254.0.1", "DNS.6 = *.apps.example.com",
		"openssl req -new -key server.key", "-extensions v3_ext -extfile csr.conf", "systemctl restart kube-apiserver", "kube-dns"} {
		if !strings.Contains(f.Fix, want) {
			t.Errorf("fix lacks %q:\n%s", want, f.Fix)
		}
	}
}

func TestFixKubeadm(t *testing.T) {
	fix := missingFinding(Target{Cert: seed002().Cert}, []Expected{{Value: "10.254.0.1"}}, Setup{Kubeadm: true}).Fix
	for _, want := range []string{"apiServer.certSANs", "kubeadm init phase certs apiserver --config kubeadm.yaml", "--apiserver-cert-extra-sans=10.254.0.1",
		"mv /etc/kubernetes/pki/apiserver.crt /etc/kubernetes/pki/apiserver.key", "crictl stop", "rollout restart deployment coredns"} {
		if !strings.Contains(fix, want) {
			t.Errorf("kubeadm fix lacks %q:\n%s", want, fix)
		}
	}
	if strings.Contains(fix, "openssl") {
		t.Error("kubeadm clusters must not be told to hand-craft the certificate")
	}
}

func TestValidateEntry(t *testing.T) {
	for _, ok := range []string{"10.254.0.1", "::1", "[fd00::1]", "api.example.com", "*.example.com", "kubernetes", "API.Example.COM."} {
		if err := ValidateEntry(ok); err != nil {
			t.Errorf("%q rejected: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "bad_name!", "10.254.0.1/16", "a..b", "*.", "http://x", "999.1.1.1", "10.0.0.256", "10.0.0.01", "a\x1b[2J", "a\nb"} {
		if err := ValidateEntry(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// a mistyped address is not taken for a DNS name (it was written as DNS.2 = 999.1.1.1)
	if err := ValidateEntry("999.1.1.1"); err == nil || !strings.Contains(err.Error(), `"999.1.1.1" looks like an IPv4 address but is not one`) {
		t.Errorf("999.1.1.1: %v", err)
	}
	for _, ok := range []string{"1.2.3", "1.2.3.4.5", "1.2.3.example", "0x7f.0.0.1.example.com"} { // DNS names, not four numbers
		if err := ValidateEntry(ok); err != nil {
			t.Errorf("%q rejected: %v", ok, err)
		}
	}
}

func TestFirstIP(t *testing.T) {
	for cidr, want := range map[string]string{"10.254.0.0/16": "10.254.0.1", "10.96.0.0/12": "10.96.0.1", "fd00:10:96::/112": "fd00:10:96::1"} {
		if got, err := FirstIP(cidr); err != nil || got != want {
			t.Errorf("FirstIP(%s) = %s, %v; want %s", cidr, got, err, want)
		}
	}
	if _, err := FirstIP("nope"); err == nil {
		t.Error("bad CIDR accepted")
	}
}

func TestFromCluster(t *testing.T) {
	client := fake.NewClientset(
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kubernetes"}, Spec: corev1.ServiceSpec{ClusterIP: "10.254.0.1", ClusterIPs: []string{"10.254.0.1"}}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "coredns"}, Data: map[string]string{"Corefile": ".:53 {\n    kubernetes corp.internal in-addr.arpa ip6.arpa {\n    }\n}"}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kubernetes", Labels: map[string]string{"kubernetes.io/service-name": "kubernetes"}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"192.168.0.1"}}}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "kube01", Labels: map[string]string{"node-role.kubernetes.io/control-plane": ""}},
			Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.0.1"}, {Type: corev1.NodeHostName, Address: "kube01"}}}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "worker1"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.0.9"}}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-apiserver-kube01", Labels: map[string]string{"component": "kube-apiserver"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Command: []string{"kube-apiserver", "--tls-cert-file=/etc/pki/tls/kube01/server.crt",
				"--tls-private-key-file=/etc/pki/tls/kube01/server.key", "--client-ca-file=/etc/pki/tls/kube01/ca.crt", "--service-cluster-ip-range=10.254.0.0/24"}}}}},
	)
	d := FromCluster(context.Background(), client, "https://api.example.com:6443", "")
	var values []string
	for _, e := range d.Set.Items() {
		values = append(values, e.Value)
	}
	want := "10.254.0.1 192.168.0.1 kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.corp.internal api.example.com kube01"
	if strings.Join(values, " ") != want {
		t.Fatalf("expected set:\n%s\nwant:\n%s", strings.Join(values, " "), want)
	}
	if d.Domain != "corp.internal" || d.Setup.Kubeadm || !d.Setup.StaticPod || d.Setup.CertFile != "/etc/pki/tls/kube01/server.crt" {
		t.Fatalf("derived %+v", d)
	}
	fix := missingFinding(Target{Cert: seed002().Cert}, []Expected{{Value: "10.254.0.1"}}, d.Setup).Fix
	if !strings.Contains(fix, "openssl req -new -key /etc/pki/tls/kube01/server.key") || !strings.Contains(fix, "-CAkey /etc/pki/tls/kube01/ca.key") {
		t.Errorf("fix must use the flags' files:\n%s", fix)
	}
}

func TestFromLocal(t *testing.T) {
	dir := t.TempDir()
	tree := certstest.WriteKubeadmTree(dir, "https://10.200.0.1:6443")
	manifest := filepath.Join(dir, "kube-apiserver.yaml")
	pod := `apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver
  annotations:
    kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint: 10.200.0.1:6443
spec:
  containers:
  - command:
    - kube-apiserver
    - --advertise-address=10.200.0.1
    - --service-cluster-ip-range=10.254.0.0/16
    - --tls-cert-file=` + filepath.Join(tree.PKIDir(), "apiserver.crt") + `
`
	kubeletCfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(manifest, []byte(pod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kubeletCfg, []byte("clusterDomain: example.local\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, certFile := FromLocal(LocalPaths{Manifest: manifest, KubeletConfig: kubeletCfg, KubeconfigDir: tree.KubeconfigDir(), PKIDir: tree.PKIDir()}, "")
	var values []string
	for _, e := range d.Set.Items() {
		values = append(values, e.Value)
	}
	want := "10.254.0.1 10.200.0.1 kubernetes kubernetes.default kubernetes.default.svc kubernetes.default.svc.example.local cp1"
	if strings.Join(values, " ") != want || !d.Setup.Kubeadm || certFile != filepath.Join(tree.PKIDir(), "apiserver.crt") {
		t.Fatalf("got %q kubeadm=%v cert=%s", strings.Join(values, " "), d.Setup.Kubeadm, certFile)
	}
}

// A name that is not an IP address or a DNS name never reaches csr.conf: a line break
// in a SAN or the CN would write a line of its own into the file (another SAN, another
// section), control characters would be written into the certificate. It is left out,
// and a comment at the top of the file says which and why.
func TestCSRConfLeavesOutUnfitNames(t *testing.T) {
	cert := certstest.NewCA("kubernetes").Issue(certstest.Opts{CN: "kube\x1b[2J\x1b[31m\n[ alt_names ]",
		DNS: []string{"kubernetes", "evil\x1b[2J\x1b[31m.example", "a\nDNS.9 = attacker.example", "sp ace.example", "del\x7f", "Under_Score.example", "999.1.1.1"},
		IPs: []string{"10.0.0.1"}}).Cert
	conf := CSRConf(cert, []string{"10.254.0.1", "x\ny", "b\u202ec.example", "*.apps.example.com", "kubernetes"})
	var comments, alt []string
	for _, line := range strings.Split(conf, "\n") {
		for _, c := range []byte(line) {
			if c < 0x20 || c >= 0x7f {
				t.Fatalf("byte %#x written into csr.conf:\n%s", c, conf)
			}
		}
		switch {
		case strings.HasPrefix(line, "# "):
			comments = append(comments, line)
		case strings.HasPrefix(line, "DNS.") || strings.HasPrefix(line, "IP."):
			alt = append(alt, line)
		}
	}
	if want := "DNS.1 = kubernetes|DNS.2 = under_score.example|IP.1 = 10.0.0.1|IP.2 = 10.254.0.1|DNS.3 = *.apps.example.com"; strings.Join(alt, "|") != want {
		t.Errorf("alt_names:\n%s\nwant %s", strings.Join(alt, "\n"), want)
	}
	if !strings.Contains(conf, "\n[ dn ]\nCN = kube-apiserver\n") || strings.Count(conf, "\n[ alt_names ]\n") != 1 || strings.Contains(conf, "\nDNS.9") {
		t.Errorf("the CN or a SAN wrote lines of its own:\n%s", conf)
	}
	for _, want := range []string{
		`# certdoctor left out "evil\x1b[2J\x1b[31m.example" (a name the certificate has): it holds control characters`,
		`# certdoctor left out "a\nDNS.9 = attacker.example" (a name the certificate has): it holds control characters`,
		`# certdoctor left out "sp ace.example" (a name the certificate has): it is neither an IP address nor a DNS name`,
		`# certdoctor left out "del\x7f" (a name the certificate has): it holds control characters`,
		`# certdoctor left out "999.1.1.1" (a name the certificate has): it looks like an IPv4 address but is not one`,
		`# certdoctor left out "x\ny" (a name clients use): it holds control characters`,
		`# certdoctor left out "b\u202ec.example" (a name clients use): it holds characters that are not ASCII`,
		`# certdoctor left out the certificate's CN "kube\x1b[2J\x1b[31m\n[ alt_names ]": it holds characters that do not belong in a name; CN = kube-apiserver stands in`,
	} {
		found := false
		for _, c := range comments {
			found = found || strings.HasPrefix(c, want)
		}
		if !found {
			t.Errorf("no comment %s in:\n%s", want, conf)
		}
	}
	if len(comments) != 8 {
		t.Errorf("%d comments, want 8:\n%s", len(comments), strings.Join(comments, "\n"))
	}

	// A clean certificate's file is what it was, without comments.
	clean := CSRConf(seed002().Cert, []string{"10.254.0.1"})
	if strings.Contains(clean, "#") || !strings.HasPrefix(clean, "[ req ]\n") || !strings.Contains(clean, "\nCN = kube-apiserver\n") {
		t.Errorf("clean csr.conf:\n%s", clean)
	}

	// The finding's fix holds the file and its comments, and prints escaped.
	f := missingFinding(Target{Source: "file", Name: "server.crt", Cert: cert}, []Expected{{Value: "10.254.0.1", Why: "--expect"}}, Setup{})
	if !strings.Contains(f.Fix, `  # certdoctor left out "evil\x1b[2J\x1b[31m.example"`) || strings.Contains(f.Fix, "\n  DNS.9") {
		t.Errorf("fix:\n%s", f.Fix)
	}
	var buf bytes.Buffer
	if err := report.Print(&buf, result.NewReport("sans", time.Now(), nil, []result.Finding{f}, nil), report.FormatTable); err != nil {
		t.Fatal(err)
	}
	if bytes.IndexByte(buf.Bytes(), 0x1b) >= 0 || !strings.Contains(buf.String(), `valid for: kubernetes, evil\x1b[2J\x1b[31m.example, a\nDNS.9 = attacker.example`) {
		t.Errorf("printed finding:\n%s", buf.String())
	}
}

// A request refused with 429 is a note saying what was not derived, and the first one is
// kept for the command's finding: throttling must not read as a complete derivation.
func TestFromClusterThrottled(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewTooManyRequests("the server has received too many requests and has asked us to try again later", 1)
	})
	client.PrependReactor("get", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, fmt.Errorf("context deadline exceeded (%w)", diagnose.ErrThrottled)
	})
	d := FromCluster(context.Background(), client, "https://api.example.com:6443", "")
	if d.Throttled == nil || !strings.HasPrefix(d.Throttled.Error(), "get services default/kubernetes: ") {
		t.Fatalf("Throttled = %v, want the first throttled request (the Service)", d.Throttled)
	}
	var throttledNotes int
	for _, n := range d.Notes {
		if strings.Contains(n, "too many requests") || strings.Contains(n, "429") {
			throttledNotes++
		}
	}
	if throttledNotes < 2 {
		t.Errorf("every throttled request is a note of what was not derived; notes: %q", d.Notes)
	}
	if len(d.Denied) != 0 {
		t.Errorf("throttling is not a denial: %v", d.Denied)
	}
}
