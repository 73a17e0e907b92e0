package sans

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/sources"
)

// DefaultDomain is used when no cluster configuration names the domain.
const DefaultDomain = "cluster.local"

// Derived is what the cluster says clients use, and how its certificate is managed.
type Derived struct {
	Set    Set
	Setup  Setup
	Domain string
	Notes  []string
	// Denied lists "verb resource" requests RBAC refused while deriving.
	Denied []error
	// Throttled is the first request refused as throttled (429): each such request is
	// also a note saying what was not derived, and the command reports one finding.
	Throttled error
}

// FromCluster derives the expected entries from a live cluster: the kubernetes
// Service's ClusterIP and DNS names, the kubeconfig's server host, the default/kubernetes
// endpoints (advertise addresses), and each control-plane node's InternalIP and name.
// domain overrides the detected cluster domain when not empty.
func FromCluster(ctx context.Context, client kubernetes.Interface, server, domain string) *Derived {
	d := &Derived{}
	if svc, err := client.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{}); d.ok(err, "get services default/kubernetes") {
		for _, ip := range append([]string{svc.Spec.ClusterIP}, svc.Spec.ClusterIPs...) {
			d.Set.Add(ip, "kubernetes Service ClusterIP: in-cluster clients dial it")
		}
	}
	d.Domain, d.Setup.Kubeadm = domain, false
	kubeadmCfg, err := client.CoreV1().ConfigMaps("kube-system").Get(ctx, "kubeadm-config", metav1.GetOptions{})
	if d.ok(err, "get configmaps kube-system/kubeadm-config") {
		d.Setup.Kubeadm = true
		if d.Domain == "" {
			d.Domain = yamlField(kubeadmCfg.Data["ClusterConfiguration"], "networking", "dnsDomain")
		}
	}
	if d.Domain == "" {
		d.Domain = d.domainFromDNS(ctx, client)
	}
	if d.Domain == "" {
		d.Domain = DefaultDomain
		d.Notes = append(d.Notes, "cluster domain not found in kubeadm-config, kubelet-config or CoreDNS: assuming cluster.local (set --cluster-domain)")
	}
	d.addNamesAndServer(server)
	if eps, err := client.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=kubernetes"}); d.ok(err, "list endpointslices in default") {
		for _, s := range eps.Items {
			for _, e := range s.Endpoints {
				for _, a := range e.Addresses {
					d.Set.Add(a, "default/kubernetes endpoint (an API server's advertise address)")
				}
			}
		}
	}
	d.controlPlane(ctx, client)
	return d
}

// Offline is what clients use that is known without asking the cluster: the API
// server's in-cluster DNS names under domain (cluster.local when empty) and the host of
// the kubeconfig's server. The Service IP, endpoints and nodes need the cluster.
func Offline(server, domain string) *Derived {
	d := &Derived{Domain: domain}
	if d.Domain == "" {
		d.Domain = DefaultDomain
		d.Notes = append(d.Notes, "cluster domain not known without the cluster: assuming cluster.local (set --cluster-domain)")
	}
	d.addNamesAndServer(server)
	return d
}

func (d *Derived) addNamesAndServer(server string) {
	for _, n := range ServiceNames(d.Domain) {
		d.Set.Add(n, "in-cluster DNS name of the API server")
	}
	if u, err := url.Parse(server); err == nil && u.Hostname() != "" {
		d.Set.Add(u.Hostname(), "the server in your kubeconfig")
	}
}

// controlPlane adds control-plane nodes' addresses and names, and reads kube-apiserver's
// certificate flags from its mirror pod when it is a static pod.
func (d *Derived) controlPlane(ctx context.Context, client kubernetes.Interface) {
	for _, sel := range []string{"node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"} {
		nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: sel})
		if !d.ok(err, "list nodes") {
			break
		}
		for _, n := range nodes.Items {
			for _, a := range n.Status.Addresses {
				if a.Type == corev1.NodeInternalIP || a.Type == corev1.NodeHostName {
					d.Set.Add(a.Address, "control-plane node "+n.Name)
				}
			}
			d.Set.Add(n.Name, "control-plane node "+n.Name)
		}
	}
	pods, err := client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "component=kube-apiserver"})
	if !d.ok(err, "list pods in kube-system") || len(pods.Items) == 0 {
		return
	}
	flags := sources.ContainerFlags(&pods.Items[0])
	d.Setup.StaticPod = true
	d.Setup.CertFile, d.Setup.KeyFile, d.Setup.CAFile = flags["tls-cert-file"], flags["tls-private-key-file"], flags["client-ca-file"]
	if ip, err := FirstIP(strings.Split(flags["service-cluster-ip-range"], ",")[0]); err == nil {
		d.Set.Add(ip, "first IP of kube-apiserver --service-cluster-ip-range (the kubernetes Service)")
	}
	d.Set.Add(flags["advertise-address"], "kube-apiserver --advertise-address")
}

// ok records a denied request and says whether err is nil. Other errors become notes:
// deriving is best effort, the explicit --expect entries still get checked. A throttled
// request is a note too (what was not derived), and the first one is kept for a finding.
func (d *Derived) ok(err error, what string) bool {
	switch {
	case err == nil:
		return true
	case apierrors.IsForbidden(err):
		d.Denied = append(d.Denied, fmt.Errorf("%s: %w", what, err))
		return false
	case apierrors.IsNotFound(err):
		return false
	case d.Throttled == nil && diagnose.IsThrottled(err):
		d.Throttled = fmt.Errorf("%s: %w", what, err)
	}
	d.Notes = append(d.Notes, fmt.Sprintf("could not %s: %v", what, err))
	return false
}

var corefileDomain = regexp.MustCompile(`(?m)^\s*kubernetes\s+(\S+)`)

// domainFromDNS reads the domain from the kubelet's config or the DNS server's. Each
// place may be absent or unreadable; only throttling is recorded, as it may hide a domain.
func (d *Derived) domainFromDNS(ctx context.Context, client kubernetes.Interface) string {
	read := func(err error, what string) bool {
		if err != nil && diagnose.IsThrottled(err) {
			d.ok(err, what)
		}
		return err == nil
	}
	if cm, err := client.CoreV1().ConfigMaps("kube-system").Get(ctx, "kubelet-config", metav1.GetOptions{}); read(err, "get configmaps kube-system/kubelet-config") {
		if dom := yamlField(cm.Data["kubelet"], "clusterDomain"); dom != "" {
			return dom
		}
	}
	if cm, err := client.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{}); read(err, "get configmaps kube-system/coredns") {
		if m := corefileDomain.FindStringSubmatch(cm.Data["Corefile"]); m != nil {
			return strings.TrimSuffix(m[1], ".")
		}
	}
	if dep, err := client.AppsV1().Deployments("kube-system").Get(ctx, "kube-dns", metav1.GetOptions{}); read(err, "get deployments kube-system/kube-dns") {
		for _, c := range dep.Spec.Template.Spec.Containers {
			for _, a := range append(c.Command, c.Args...) {
				if v, ok := strings.CutPrefix(a, "--domain="); ok {
					return strings.TrimSuffix(v, ".")
				}
			}
		}
	}
	return ""
}

// yamlField reads a nested string field from a YAML document, "" when absent.
func yamlField(doc string, path ...string) string {
	var m map[string]any
	if yaml.Unmarshal([]byte(doc), &m) != nil {
		return ""
	}
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[p]
	}
	s, _ := cur.(string)
	return s
}
