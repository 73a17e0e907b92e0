package sans

import (
	"net/url"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/certdoctor/kubectl-certdoctor/pkg/fileio"
	"github.com/certdoctor/kubectl-certdoctor/pkg/sources"
)

// LocalPaths are the files of a control-plane node that say what its API server
// certificate must cover.
type LocalPaths struct {
	Manifest      string // the kube-apiserver static pod manifest
	KubeletConfig string // the kubelet's config file (clusterDomain)
	KubeconfigDir string // admin.conf (the server address users dial)
	PKIDir        string
}

// Default local paths on a kubeadm node.
var DefaultLocalPaths = LocalPaths{
	Manifest:      "/etc/kubernetes/manifests/kube-apiserver.yaml",
	KubeletConfig: "/var/lib/kubelet/config.yaml",
	KubeconfigDir: "/etc/kubernetes",
	PKIDir:        "/etc/kubernetes/pki",
}

// FromLocal derives the expected entries from a node's files when the cluster cannot
// be asked: the Service IP from --service-cluster-ip-range, --advertise-address, the
// DNS names, admin.conf's server host and the node's hostname. It returns the path of
// the certificate kube-apiserver serves (--tls-cert-file, else PKIDir/apiserver.crt).
func FromLocal(p LocalPaths, domain string) (*Derived, string) {
	d := &Derived{Domain: domain}
	certFile := filepath.Join(p.PKIDir, "apiserver.crt")
	if data, err := fileio.ReadFile(p.Manifest); err == nil {
		var pod corev1.Pod
		if err := yaml.Unmarshal(data, &pod); err == nil {
			flags := sources.ContainerFlags(&pod)
			d.Setup = Setup{StaticPod: true, CertFile: flags["tls-cert-file"], KeyFile: flags["tls-private-key-file"], CAFile: flags["client-ca-file"]}
			_, d.Setup.Kubeadm = pod.Annotations["kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"]
			if ip, err := FirstIP(flags["service-cluster-ip-range"]); err == nil {
				d.Set.Add(ip, "first IP of kube-apiserver --service-cluster-ip-range (the kubernetes Service)")
			}
			d.Set.Add(flags["advertise-address"], "kube-apiserver --advertise-address")
			if d.Setup.CertFile != "" {
				certFile = d.Setup.CertFile
			}
		}
	} else {
		d.Notes = append(d.Notes, "no kube-apiserver manifest at "+p.Manifest+": the Service IP is not known, pass it with --expect")
	}
	if d.Domain == "" {
		if data, err := fileio.ReadFile(p.KubeletConfig); err == nil {
			d.Domain = yamlField(string(data), "clusterDomain")
		}
	}
	if d.Domain == "" {
		d.Domain = DefaultDomain
	}
	for _, n := range ServiceNames(d.Domain) {
		d.Set.Add(n, "in-cluster DNS name of the API server")
	}
	if cfg, err := clientcmd.LoadFromFile(filepath.Join(p.KubeconfigDir, "admin.conf")); err == nil {
		for _, cl := range cfg.Clusters {
			if u, err := url.Parse(cl.Server); err == nil {
				d.Set.Add(u.Hostname(), "the server in admin.conf")
			}
		}
	}
	if node := nodeName(filepath.Join(p.KubeconfigDir, "kubelet.conf")); node != "" {
		d.Set.Add(node, "this node's name (kubeadm puts it in the certificate)")
	}
	return d, certFile
}

// nodeName is the node's registered name, from its kubelet.conf user (system:node:NAME):
// the machine's hostname may differ when the kubelet runs with --hostname-override.
func nodeName(kubeletConf string) string {
	cfg, err := clientcmd.LoadFromFile(kubeletConf)
	if err != nil {
		return ""
	}
	for user := range cfg.AuthInfos {
		if n, ok := strings.CutPrefix(user, "system:node:"); ok {
			return n
		}
	}
	return ""
}
