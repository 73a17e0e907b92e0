//go:build e2e

// Waiting for a shape to be Ready and serving (products_shapes_test.go).
package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ---------------------------------------------------------------------------------------
// Waiting for a shape to serve

// endpointsOf returns the pods in svc's EndpointSlices: ready, and listed but not ready.
func (k *kit) endpointsOf(svc string) (ready, notReady map[string]bool, err error) {
	l, err := client.DiscoveryV1().EndpointSlices(k.ns).List(k.ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + svc})
	if err != nil {
		return nil, nil, err
	}
	ready, notReady = map[string]bool{}, map[string]bool{}
	for _, sl := range l.Items {
		for _, e := range sl.Endpoints {
			if e.TargetRef == nil {
				continue
			}
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				ready[e.TargetRef.Name] = true
			} else {
				notReady[e.TargetRef.Name] = true
			}
		}
	}
	return ready, notReady, nil
}

// waitEndpoints waits until svc's EndpointSlices list pod (and no other pod), ready as
// wanted; a pod that must not be Ready must also have had a failed readiness probe.
func (k *kit) waitEndpoints(svc string, pod *corev1.Pod, wantReady bool) {
	k.t.Helper()
	deadline := time.Now().Add(shapeTimeout)
	for {
		ready, notReady, err := k.endpointsOf(svc)
		if err == nil && len(ready)+len(notReady) == 1 && ready[pod.Name] == wantReady && (wantReady || notReady[pod.Name]) &&
			(wantReady || k.probeFailed(pod)) {
			return
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("harness: service %s/%s: want pod %s ready=%v, have ready %v, not ready %v (%v)", k.ns, svc, pod.Name, wantReady, ready, notReady, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitPodReady waits for a pod that no Service selects (cainjector, cert-controller).
func (k *kit) waitPodReady(pod *corev1.Pod) {
	k.t.Helper()
	deadline := time.Now().Add(shapeTimeout)
	for {
		p, err := client.CoreV1().Pods(k.ns).Get(k.ctx, pod.Name, metav1.GetOptions{})
		if err == nil {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("harness: pod %s/%s not Ready after %s (%v)", k.ns, pod.Name, shapeTimeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// dryRun fails the test when a server-side dry-run the product's webhook must admit fails:
// the API server really called the webhook and trusted it.
func (k *kit) dryRun(what string, err error) {
	k.t.Helper()
	if err != nil {
		k.t.Fatalf("harness: dry-run %s through the webhook failed: %v", what, err)
	}
}

func (k *kit) probeFailed(pod *corev1.Pod) bool {
	evs, err := client.CoreV1().Events(k.ns).List(k.ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod.Name + ",reason=Unhealthy"})
	return err == nil && len(evs.Items) > 0
}

// serve waits until svc's only endpoint is pod, Ready, and checks that pod's port serves
// a certificate the caBundle b verifies for <svc>.<ns>.svc, the API server's way (b nil:
// insecureSkipTLSVerify, a handshake only).
func (k *kit) serve(svc string, pod *corev1.Pod, p int32, b []byte) {
	k.t.Helper()
	k.waitEndpoints(svc, pod, true)
	cur, err := client.CoreV1().Pods(k.ns).Get(k.ctx, pod.Name, metav1.GetOptions{})
	if err != nil {
		k.t.Fatal(err)
	}
	host := svc + "." + k.ns + ".svc"
	cfg := &tls.Config{ServerName: host, InsecureSkipVerify: b == nil}
	if b != nil {
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(b) {
			k.t.Fatalf("harness: caBundle for %s holds no certificate", host)
		}
	}
	addr := net.JoinHostPort(cur.Status.PodIP, fmt.Sprint(p))
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		k.t.Fatalf("harness: %s (pod %s at %s) does not serve what its caBundle trusts: %v", host, pod.Name, addr, err)
	}
	conn.Close()
}
