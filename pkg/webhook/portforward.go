package webhook

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/sources"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// PortForwarder reaches a pod through the API server's port-forward (as kubectl
// port-forward does), so the probe works from any workstation that can reach the API.
type PortForwarder struct {
	Config  *rest.Config
	Client  kubernetes.Interface
	Timeout time.Duration
}

// Served forwards a loopback port to the pod's port and does the TLS handshake there.
func (f *PortForwarder) Served(ctx context.Context, pod *corev1.Pod, port int32, serverName string) ([]*x509.Certificate, time.Duration, error) {
	rt, upgrader, err := spdy.RoundTripperFor(f.Config)
	if err != nil {
		return nil, 0, err
	}
	req := f.Client.CoreV1().RESTClient().Post().Resource("pods").Namespace(pod.Namespace).Name(pod.Name).SubResource("portforward")
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, req.URL())
	stop, ready := make(chan struct{}), make(chan struct{})
	defer close(stop)
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:" + strconv.Itoa(int(port))}, stop, ready, io.Discard, io.Discard)
	if err != nil {
		return nil, 0, err
	}
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-done:
		return nil, 0, fmt.Errorf("port-forward to %s/%s: %w", pod.Namespace, pod.Name, err)
	case <-time.After(f.Timeout):
		return nil, 0, fmt.Errorf("port-forward to %s/%s did not start within %s", pod.Namespace, pod.Name, f.Timeout)
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) == 0 {
		return nil, 0, fmt.Errorf("port-forward to %s/%s: no local port", pod.Namespace, pod.Name)
	}
	start := time.Now()
	chain, err := sources.Served(ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ports[0].Local))), serverName, f.Timeout)
	return chain, time.Since(start), err
}
