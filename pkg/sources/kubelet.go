package sources

import (
	"context"
	"crypto/x509"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

const (
	// DefaultKubeletPort is the kubelet's port when its Node does not say
	// (status.daemonEndpoints.kubeletEndpoint.port).
	DefaultKubeletPort = 10250
	// kubeletDialers bounds the handshakes in flight: thousands of nodes that answer
	// take seconds, and no node is dialed twice.
	kubeletDialers = 16
	// Defaults of KubeletServing's Timeout and Budget: from a laptop the nodes' internal
	// addresses are often unreachable, and each would otherwise cost a full timeout.
	defaultKubeletTimeout = 3 * time.Second
	defaultKubeletBudget  = 15 * time.Second
)

// KubeletServing reads the certificate each Ready node's kubelet serves at its
// InternalIP (a TLS handshake and nothing more: no credentials, no request) and reports
// a kubelet that has none, one the cluster CA did not issue although serverTLSBootstrap
// is on, or an expired one. With serverTLSBootstrap off or unknown, a self-signed
// certificate is the kubelet's (and kubeadm's) default, not a finding.
type KubeletServing struct {
	Client kubernetes.Interface
	// CAData is the kubeconfig's cluster CA (PEM); kube-system's kube-root-ca.crt is
	// trusted too.
	CAData []byte
	// Timeout bounds one handshake, Budget all of them; nodes not reached within them are
	// counted in a note. Zero means the defaults.
	Timeout, Budget time.Duration
	// Dial returns the chain served at addr; nil is Served. Tests replace it.
	Dial func(ctx context.Context, addr, serverName string, timeout time.Duration) ([]*x509.Certificate, error)
}

func (k *KubeletServing) Name() string { return result.SourceKubelet }

// kubeletTarget is one node's kubelet endpoint.
type kubeletTarget struct{ node, addr string }

type kubeletAnswer struct {
	chain []*x509.Certificate
	err   error
}

// Collect implements Source.
func (k *KubeletServing) Collect(ctx context.Context, c *Collector) error {
	targets, skipped, err := k.targets(ctx)
	if denied(c, err, result.SourceKubelet, "nodes", "", "") {
		return nil
	}
	if err != nil {
		return err
	}
	if skipped > 0 {
		c.Note("kubelet serving certificates: %d node(s) not Ready or without an InternalIP were not dialed", skipped)
	}
	if len(targets) == 0 {
		return nil
	}
	j := kubeletJudge{now: c.Now}
	j.bootstrap = k.serverTLSBootstrap(ctx, c)
	if j.bootstrap {
		j.cas = k.clusterCAs(ctx, c)
	}
	answers := k.dialAll(ctx, targets)
	unreached, lastErr := 0, ""
	for i, t := range targets {
		a := answers[i]
		switch {
		case a.err != nil && strings.Contains(a.err.Error(), "tls: internal error"):
			// The kubelet's GetCertificate failed: it has no certificate to serve.
			c.Finding(diagnose.NewVariant(diagnose.CodeKubeletServingCertificate, "no-certificate", kubeletWhere(t),
				diagnose.Params{"node": t.node, "addr": t.addr, "err": diagnose.OneLine(a.err.Error()), "csr": "", "sans": ""}))
		case a.err != nil:
			unreached++
			lastErr = diagnose.OneLine(a.err.Error())
		default:
			j.judge(c, t, a.chain)
		}
	}
	if unreached > 0 {
		c.Note("kubelet serving certificates: %d of %d kubelet(s) did not answer from here, so theirs were not checked (last: %s)",
			unreached, len(targets), lastErr)
	}
	return nil
}

func kubeletWhere(t kubeletTarget) diagnose.Where {
	return diagnose.Where{Source: result.SourceKubelet, Subject: "node " + t.node}
}

// targets lists the nodes in pages and returns the endpoint of each Ready node with an
// InternalIP: only addresses the Node objects publish are ever dialed.
func (k *KubeletServing) targets(ctx context.Context) ([]kubeletTarget, int, error) {
	var out []kubeletTarget
	skipped := 0
	err := eachPage(ctx, metav1.ListOptions{}, func(ctx context.Context, o metav1.ListOptions) ([]corev1.Node, string, error) {
		l, err := k.Client.CoreV1().Nodes().List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}, func(items []corev1.Node) {
		for i := range items {
			if t, ok := kubeletEndpoint(&items[i]); ok {
				out = append(out, t)
			} else {
				skipped++
			}
		}
	})
	return out, skipped, err
}

// kubeletEndpoint is where n's kubelet listens. A node that is not Ready is not dialed:
// its kubelet is not expected to answer, and waiting for it costs a timeout.
func kubeletEndpoint(n *corev1.Node) (kubeletTarget, bool) {
	ready := false
	for _, c := range n.Status.Conditions {
		ready = ready || c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue
	}
	port := int(n.Status.DaemonEndpoints.KubeletEndpoint.Port)
	if port <= 0 || port > 65535 {
		port = DefaultKubeletPort
	}
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP && net.ParseIP(a.Address) != nil && ready {
			return kubeletTarget{node: n.Name, addr: net.JoinHostPort(a.Address, strconv.Itoa(port))}, true
		}
	}
	return kubeletTarget{}, false
}

// dialAll does the handshakes, kubeletDialers at a time, within the budget; answers[i]
// is targets[i]'s.
func (k *KubeletServing) dialAll(ctx context.Context, targets []kubeletTarget) []kubeletAnswer {
	timeout, budget := k.Timeout, k.Budget
	if timeout <= 0 {
		timeout = defaultKubeletTimeout
	}
	if budget <= 0 {
		budget = defaultKubeletBudget
	}
	dial := k.Dial
	if dial == nil {
		dial = Served
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	answers := make([]kubeletAnswer, len(targets))
	sem := make(chan struct{}, kubeletDialers)
	var wg sync.WaitGroup
	for i, t := range targets {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			answers[i].err = ctx.Err()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			// No SNI: the API server dials the kubelet by IP too.
			answers[i].chain, answers[i].err = dial(ctx, t.addr, "", timeout)
		}()
	}
	wg.Wait()
	return answers
}
