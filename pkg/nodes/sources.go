package nodes

import (
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"github.com/certdoctor/kubectl-certdoctor/pkg/sources"
)

// Sources turns a node's scan into certificate sources: the kubeadm view (with the
// served-versus-disk comparison at the node's addresses) or, for other layouts, one
// row per certificate file.
func (res *Result) Sources(apiserverPort string, dialTimeout time.Duration) []sources.Source {
	if res.Files == nil {
		return nil
	}
	name := res.Node.Name
	p := res.Preset
	if p.PKIDir == "" {
		return []sources.Source{&sources.CertFiles{SourceName: result.SourceNode, Node: name, Files: res.Files, Paths: res.Files.CertPaths()}}
	}
	return []sources.Source{&sources.KubeadmPKI{
		SourceName: result.SourceNode, Node: name, Files: res.Files,
		PKIDir: p.PKIDir, KubeconfigDir: p.KubeconfigDir, KubeletPKIDir: p.KubeletPKIDir,
		KubeletOnly: !res.Files.Exists(p.PKIDir + "/apiserver.crt"),
		Served:      sources.NodeServed(Addresses(res.Node), apiserverPort, dialTimeout),
	}}
}

// Addresses are the node's InternalIPs, then its ExternalIPs.
func Addresses(n *corev1.Node) []string {
	var out []string
	for _, t := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP} {
		for _, a := range n.Status.Addresses {
			if a.Type == t {
				out = append(out, a.Address)
			}
		}
	}
	return out
}
