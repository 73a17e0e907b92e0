package nodes

import (
	"fmt"
	"path"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Preset is where a distribution keeps certificates on a node.
type Preset struct {
	Name string
	// Dirs are mounted read-only (hostPath type Directory: the pod fails rather than
	// creating a missing directory on the node) and scanned by the script.
	Dirs []string
	// Kubeadm layout: the directories the kubeadm view reads. Empty for other layouts,
	// whose certificates are listed file by file.
	PKIDir, KubeconfigDir, KubeletPKIDir string
	// APIServerCert is the API server's serving certificate on a control-plane node.
	APIServerCert string
}

// Presets by name.
var Presets = map[string]Preset{
	"kubeadm": {Name: "kubeadm", Dirs: []string{"/etc/kubernetes", "/var/lib/kubelet/pki"},
		PKIDir: "/etc/kubernetes/pki", KubeconfigDir: "/etc/kubernetes", KubeletPKIDir: "/var/lib/kubelet/pki",
		APIServerCert: "/etc/kubernetes/pki/apiserver.crt"},
	"k3s": {Name: "k3s", Dirs: []string{"/var/lib/rancher/k3s/server/tls", "/var/lib/rancher/k3s/agent"},
		APIServerCert: "/var/lib/rancher/k3s/server/tls/serving-kube-apiserver.crt"},
	"rke2": {Name: "rke2", Dirs: []string{"/var/lib/rancher/rke2/server/tls", "/var/lib/rancher/rke2/agent"},
		APIServerCert: "/var/lib/rancher/rke2/server/tls/serving-kube-apiserver.crt"},
	"minikube": {Name: "minikube", Dirs: []string{"/var/lib/minikube/certs"}, APIServerCert: "/var/lib/minikube/certs/apiserver.crt"},
}

// WithDirs returns the kubeadm preset with d's directories in place of the defaults;
// other presets are returned unchanged.
func (p Preset) WithDirs(d KubeadmDirs) Preset {
	if p.Name != "kubeadm" || d == (KubeadmDirs{}) {
		return p
	}
	if d.PKIDir != "" {
		p.PKIDir, p.APIServerCert = d.PKIDir, path.Join(d.PKIDir, "apiserver.crt")
	}
	if d.KubeconfigDir != "" {
		p.KubeconfigDir = d.KubeconfigDir
	}
	if d.KubeletPKIDir != "" {
		p.KubeletPKIDir = d.KubeletPKIDir
	}
	p.Dirs = []string{p.KubeconfigDir, p.KubeletPKIDir}
	if !strings.HasPrefix(p.PKIDir+"/", p.KubeconfigDir+"/") {
		p.Dirs = append(p.Dirs, p.PKIDir) // not below the kubeconfig dir: mount it too
	}
	return p
}

// PresetNames lists the accepted --distro values.
func PresetNames() []string {
	names := []string{"auto"}
	for n := range Presets {
		names = append(names, n)
	}
	sort.Strings(names[1:])
	return names
}

// Detect picks a node's preset from what the Node object says about it, so that no
// pod mounts a directory that does not exist: k3s and RKE2 mark their kubelet
// version (v1.30.4+k3s1, v1.30.4+rke2r1), minikube labels its nodes.
func Detect(n *corev1.Node) Preset {
	v := n.Status.NodeInfo.KubeletVersion
	switch {
	case strings.Contains(v, "+k3s"):
		return Presets["k3s"]
	case strings.Contains(v, "+rke2"):
		return Presets["rke2"]
	case n.Labels["minikube.k8s.io/name"] != "":
		return Presets["minikube"]
	}
	return Presets["kubeadm"]
}

// ResolvePreset returns the preset for node under --distro (auto detects).
func ResolvePreset(distro string, n *corev1.Node) (Preset, error) {
	if distro == "" || distro == "auto" {
		return Detect(n), nil
	}
	p, ok := Presets[distro]
	if !ok {
		return Preset{}, fmt.Errorf("unknown --distro %q: use one of %s", distro, strings.Join(PresetNames(), ", "))
	}
	return p, nil
}
