package sources

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// componentPorts are the ports the control-plane components serve TLS on.
var componentPorts = map[string]string{"kube-apiserver": "6443", "etcd": "2379", "kubelet": "10250"}

// LocalServed asks the components running on this machine what they serve. It dials
// only addresses assigned to this machine (the certificate's IP SANs that are local,
// then 127.0.0.1), so a check on one node never probes another.
func LocalServed(files Files, kubeconfigDir string, timeout time.Duration) ServedFunc {
	return DialServed(localCandidates, apiserverPort(files, kubeconfigDir), timeout)
}

// NodeServed asks the components of a node at its addresses (InternalIP first).
func NodeServed(addresses []string, apiserverPort string, timeout time.Duration) ServedFunc {
	return DialServed(func(*x509.Certificate) []string { return addresses }, apiserverPort, timeout)
}

// DialServed returns a ServedFunc that does a TLS handshake with each host hosts gives
// for the on-disk certificate, on the component's port, and returns the first answer.
func DialServed(hosts func(onDisk *x509.Certificate) []string, apiserverPort string, timeout time.Duration) ServedFunc {
	return func(ctx context.Context, component string, onDisk *x509.Certificate) ([]*x509.Certificate, string, error) {
		port := componentPorts[component]
		if component == "kube-apiserver" && apiserverPort != "" {
			port = apiserverPort
		}
		var lastErr error
		for _, host := range hosts(onDisk) {
			addr := net.JoinHostPort(host, port)
			chain, err := Served(ctx, addr, "", timeout)
			if err == nil {
				return chain, addr, nil
			}
			lastErr = err
		}
		if lastErr == nil {
			lastErr = errors.New("no local address to ask")
		}
		return nil, "", fmt.Errorf("%s does not answer on port %s (%v)", component, port, lastErr)
	}
}

// apiserverPort is the port in admin.conf's server URL.
func apiserverPort(files Files, dir string) string {
	for _, name := range []string{"admin.conf", "super-admin.conf"} {
		data, err := files.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		cfg, err := clientcmd.Load(data)
		if err != nil {
			continue
		}
		for _, cl := range cfg.Clusters {
			if addr, _, err := HostPort(cl.Server); err == nil {
				_, port, _ := net.SplitHostPort(addr)
				return port
			}
		}
	}
	return ""
}

// localCandidates are the certificate's IP SANs that belong to this machine, then 127.0.0.1.
func localCandidates(c *x509.Certificate) []string {
	local := map[string]bool{}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				local[ipn.IP.String()] = true
			}
		}
	}
	var out []string
	for _, ip := range c.IPAddresses {
		if s := ip.String(); local[s] && !strings.HasPrefix(s, "127.") {
			out = append(out, s)
		}
	}
	return append(out, "127.0.0.1")
}
