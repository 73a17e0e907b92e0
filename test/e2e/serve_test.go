//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
)

// decodeDeploy decodes the objects of deploy/FILE with the client-go scheme.
func decodeDeploy(t *testing.T, file string) []runtime.Object {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(hackDir, "..", "..", "deploy", file))
	if err != nil {
		t.Fatal(err)
	}
	var objs []runtime.Object
	dec := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := dec.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatal(err)
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("deploy/%s: %v", file, err)
		}
		objs = append(objs, obj)
	}
}

// applyDeploy creates the objects of deploy/FILE as written (plus the test label, so that a
// killed run's are removed), and deletes them when the test ends; rbac.yaml's kinds go
// through createRBAC.
func applyDeploy(t *testing.T, file string) {
	t.Helper()
	for _, obj := range decodeDeploy(t, file) {
		if m, ok := obj.(metav1.Object); ok {
			l := m.GetLabels()
			if l == nil {
				l = map[string]string{}
			}
			for k, v := range labels(t) {
				l[k] = v
			}
			m.SetLabels(l)
		}
		ctx, core := ctxT(t), client.CoreV1()
		switch o := obj.(type) {
		case *corev1.Namespace:
			if _, err := core.Namespaces().Create(ctx, o, metav1.CreateOptions{}); err != nil {
				t.Fatalf("create namespace %s: %v", o.Name, err)
			}
			t.Cleanup(func() {
				if err := core.Namespaces().Delete(ctxT(t), o.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
					t.Errorf("delete namespace %s: %v", o.Name, err)
				}
				if err := waitNamespaceGone(ctxT(t), o.Name); err != nil {
					t.Errorf("namespace %s: %v", o.Name, err)
				}
			})
		case *corev1.ServiceAccount:
			if _, err := core.ServiceAccounts(o.Namespace).Create(ctx, o, metav1.CreateOptions{}); err != nil {
				t.Fatalf("create serviceaccount %s: %v", o.Name, err)
			}
		case *corev1.ConfigMap:
			if _, err := core.ConfigMaps(o.Namespace).Create(ctx, o, metav1.CreateOptions{}); err != nil {
				t.Fatalf("create configmap %s: %v", o.Name, err)
			}
		default: // namespaced objects go with their namespace
			createRBAC(t, obj)
		}
	}
}

// saKubeconfig is admin.conf's cluster with the credential deploy/certdoctor.yaml gives
// the pods: a token of ServiceAccount ns/name (TokenRequest), read from a tokenFile.
func saKubeconfig(t *testing.T, ns, name string) string {
	t.Helper()
	tr, err := client.CoreV1().ServiceAccounts(ns).CreateToken(ctxT(t), name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for %s/%s: %v", ns, name, err)
	}
	registerSecret(tr.Status.Token, "the ServiceAccount token")
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(tr.Status.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	return writeKubeconfig(t, dir, "serviceaccount.conf", func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) {
		*u = clientcmdapi.AuthInfo{TokenFile: tokenFile}
	})
}

// servedLine is serve's first log line, with the address it listens on.
var servedLine = regexp.MustCompile(`certdoctor serve: serving http://([0-9.:]+)/metrics`)

// The in-cluster manifests' ServiceAccount (deploy/certdoctor.yaml's bindings to
// rbac.yaml's roles) runs the check-up, debug pods and webhook probes included, on the
// healthy cluster: no finding, no permission missing. Then `serve` as that ServiceAccount:
// after its first check-up, /metrics passes promtool with every check a success, zero
// findings and serve's own metrics; SIGTERM deletes nothing it left (it left nothing)
// and exits 0.
func TestServeAsDeployServiceAccount(t *testing.T) {
	applyRBAC(t)
	applyDeploy(t, "certdoctor.yaml")
	kc := saKubeconfig(t, "certdoctor", "certdoctor")

	r, code := runJSON(t, "--kubeconfig", kc)
	wantExit(t, r, code, 0)
	requireNoFindings(t, r)
	requireSources(t, r, "kubeconfig", "apiserver", "node")

	cmd := exec.Command(pluginBin, "serve", "--kubeconfig", kc, "--listen", "127.0.0.1:0", "--interval", "1m")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	var log strings.Builder
	var logMu sync.Mutex
	addr, finished := make(chan string, 1), make(chan string, 8)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			logMu.Lock()
			log.WriteString(line + "\n")
			logMu.Unlock()
			if m := servedLine.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
			if strings.Contains(line, "check-up finished") || strings.Contains(line, "check-up failed") {
				finished <- line
			}
		}
		close(finished)
	}()
	logText := func() string { logMu.Lock(); defer logMu.Unlock(); return log.String() }
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not say where it listens:\n%s", logText())
	}
	select {
	case line := <-finished:
		if !strings.Contains(line, "check-up finished") || !strings.Contains(line, ": 0 findings") {
			t.Errorf("first check-up: %s", line)
		}
	case <-time.After(pluginTimeout):
		t.Fatalf("no check-up finished within %s:\n%s", pluginTimeout, logText())
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	assertNoKeyLeak(t, string(body))
	mfs := promMetrics(t, string(body))
	ran := map[string]float64{}
	for _, m := range mfs["certdoctor_check_success"].GetMetric() {
		ran[metricLabel(m, "check")] = m.GetGauge().GetValue()
	}
	for _, part := range []string{"expiry", "sans", "webhook"} {
		if ran[part] != 1 {
			t.Errorf("certdoctor_check_success{check=%q} = %v as the ServiceAccount", part, ran[part])
		}
	}
	for _, m := range mfs["certdoctor_findings"].GetMetric() {
		if m.GetGauge().GetValue() != 0 {
			t.Errorf("findings on the healthy cluster: %v", m)
		}
	}
	if n := len(mfs["certdoctor_finding"].GetMetric()); n != 0 || len(mfs["certdoctor_findings"].GetMetric()) != 2 {
		t.Errorf("%d finding series, %d findings series", n, len(mfs["certdoctor_findings"].GetMetric()))
	}
	if v := mfs["certdoctor_serve_last_run_success"].GetMetric(); len(v) != 1 || v[0].GetGauge().GetValue() != 1 {
		t.Errorf("certdoctor_serve_last_run_success %v", v)
	}
	for _, m := range mfs["certdoctor_serve_runs_total"].GetMetric() {
		if want := map[string]float64{"success": 1, "failure": 0}[metricLabel(m, "result")]; m.GetCounter().GetValue() != want {
			t.Errorf("runs_total %v, want %v", m, want)
		}
	}
	if resp, err := http.Get(base + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("/healthz: %v %v", resp, err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v, want exit 0\n%s", err, logText())
		}
	case <-time.After(time.Minute):
		t.Fatalf("serve still running a minute after SIGTERM:\n%s", logText())
	}
	if stdout.Len() != 0 || !strings.HasSuffix(logText(), "certdoctor serve: stopped\n") {
		t.Errorf("stdout %q; log:\n%s", stdout.String(), logText())
	}
	assertNoKeyLeak(t, logText())
	assertNoPanic(t, logText())
	requireNoDebugPods(t)
}
