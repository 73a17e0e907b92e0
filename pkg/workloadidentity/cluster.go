package workloadidentity

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/certdoctor/kubectl-certdoctor/pkg/netpol"
)

// GKE's markers on nodes and in kube-system.
const (
	LabelMetadataServer = "iam.gke.io/gke-metadata-server-enabled"
	LabelNodePool       = "cloud.google.com/gke-nodepool"
	MetadataServerName  = "gke-metadata-server" // the DaemonSet in kube-system
	labelZone           = "topology.kubernetes.io/zone"
	labelRegion         = "topology.kubernetes.io/region"
)

// metadataAddr is one address pods reach the GKE metadata server at, and when.
type metadataAddr struct {
	dst  netpol.Destination
	when string
}

func (a metadataAddr) String() string {
	return fmt.Sprintf("%s/32 port %d", a.dst.Addr, a.dst.Port)
}

// The addresses NetworkPolicies must let pods reach (seed 003): with Dataplane V2 the
// policy sees the metadata address itself; otherwise the node's redirect to the
// metadata server, whose address moved in GKE 1.21.0-gke.1000.
var (
	addrDataplaneV2 = metadataAddr{netpol.Destination{Addr: netip.MustParseAddr("169.254.169.254"), Port: 80}, "GKE Dataplane V2"}
	addrCurrent     = metadataAddr{netpol.Destination{Addr: netip.MustParseAddr("169.254.169.252"), Port: 988}, "GKE 1.21.0-gke.1000 and later without Dataplane V2"}
	addrOld         = metadataAddr{netpol.Destination{Addr: netip.MustParseAddr("127.0.0.1"), Port: 988}, "GKE before 1.21.0-gke.1000 without Dataplane V2"}
)

// cluster is what the checks learnt about the cluster as a whole.
type cluster struct {
	version string   // the API server's gitVersion
	markers []string // what says this is GKE
	unknown []string // what could not be read to tell
	// dataplaneV2 is nil when it could not be told.
	dataplaneV2 *bool
	hint        kubeconfigHint
}

// gkeVersion parses a GKE gitVersion (v1.29.1-gke.1589000) into its numbers.
var gkeVersion = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)-gke\.(\d+)`)

// addresses are the metadata server addresses that apply, and whether that is known
// (false: every candidate is checked, why says what could not be told).
func (c *cluster) addresses() (addrs []metadataAddr, certain bool, why string) {
	var version []metadataAddr
	if m := gkeVersion.FindStringSubmatch(c.version); m != nil {
		n := make([]int, 4)
		for i := range n {
			n[i], _ = strconv.Atoi(m[i+1])
		}
		if older(n, []int{1, 21, 0, 1000}) {
			version = []metadataAddr{addrOld}
		} else {
			version = []metadataAddr{addrCurrent}
		}
	}
	switch {
	case c.dataplaneV2 != nil && *c.dataplaneV2:
		return []metadataAddr{addrDataplaneV2}, true, "GKE Dataplane V2"
	case c.dataplaneV2 != nil && version != nil:
		return version, true, "GKE " + c.version + " without Dataplane V2"
	case c.dataplaneV2 != nil:
		return []metadataAddr{addrCurrent, addrOld}, false, "no Dataplane V2, but the GKE version is not in the server version " + strconv.Quote(c.version)
	case version != nil:
		return append([]metadataAddr{addrDataplaneV2}, version...), false, "whether the cluster runs GKE Dataplane V2 could not be read"
	}
	return []metadataAddr{addrDataplaneV2, addrCurrent, addrOld}, false, "neither the GKE version nor Dataplane V2 could be told"
}

func older(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// detect reads the markers of GKE: the server version, node labels and the metadata
// server's DaemonSet; and whether Dataplane V2 runs (GKE's anetd, or Cilium). Each read
// it may not make is a finding, and leaves the question open.
func (r *run) detect(ctx context.Context) error {
	c := &r.cluster
	v, err := r.Client.Discovery().ServerVersion()
	if err != nil {
		return err
	}
	c.version = v.GitVersion
	if strings.Contains(c.version, "-gke.") {
		c.markers = append(c.markers, "server version "+c.version)
	}
	for _, label := range []string{LabelMetadataServer, LabelNodePool} {
		l, err := r.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: label, Limit: 1})
		switch {
		case err != nil:
			r.denied(err, "list", "nodes", "", "")
			c.unknown = append(c.unknown, "nodes")
		case len(l.Items) > 0:
			c.markers = append(c.markers, "node label "+label)
		}
	}
	// Every GKE node carries the node pool label, so readable nodes without it and a
	// version without -gke. tell; the DaemonSet is one more marker, and its pods stand
	// in for it when DaemonSets may not be read.
	ds, err := r.daemonSet(ctx, MetadataServerName, "k8s-app="+MetadataServerName)
	switch {
	case err != nil && len(c.unknown) > 0:
		r.denied(err, "get", "daemonsets", "apps", "kube-system")
		c.unknown = append(c.unknown, "daemonsets in kube-system")
	case ds:
		c.markers = append(c.markers, "DaemonSet kube-system/"+MetadataServerName)
	}
	for _, name := range []string{"anetd", "cilium"} {
		found, err := r.daemonSet(ctx, name, "k8s-app=cilium")
		if err != nil {
			return nil
		}
		if found {
			c.dataplaneV2 = &found
			return nil
		}
	}
	no := false
	c.dataplaneV2 = &no
	return nil
}

// daemonSet says whether kube-system has the DaemonSet or, when DaemonSets may not be
// read, a pod with its label (GKE's anetd pods are k8s-app=cilium).
func (r *run) daemonSet(ctx context.Context, name, podLabel string) (bool, error) {
	_, err := r.Client.AppsV1().DaemonSets("kube-system").Get(ctx, name, metav1.GetOptions{})
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsNotFound(err):
		return false, nil
	case !apierrors.IsForbidden(err):
		return false, err
	}
	l, perr := r.Client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: podLabel, Limit: 1})
	if perr != nil {
		return false, err
	}
	return len(l.Items) > 0, nil
}

// kubeconfigHint is what the kubeconfig's cluster name says: gcloud container clusters
// get-credentials names it gke_PROJECT_LOCATION_CLUSTER.
type kubeconfigHint struct{ project, location, name string }

func parseKubeconfigCluster(s string) kubeconfigHint {
	parts := strings.SplitN(s, "_", 4)
	if len(parts) != 4 || parts[0] != "gke" {
		return kubeconfigHint{}
	}
	return kubeconfigHint{project: parts[1], location: parts[2], name: parts[3]}
}

// zonal says whether a location is a zone (us-central1-a) rather than a region.
func zonal(location string) bool { return strings.Count(location, "-") >= 2 }

// projectOf is the project in a GCE node's providerID (gce://PROJECT/ZONE/INSTANCE).
func projectOf(n *corev1.Node) string {
	rest, ok := strings.CutPrefix(n.Spec.ProviderID, "gce://")
	if !ok {
		return ""
	}
	p, _, _ := strings.Cut(rest, "/")
	return p
}
