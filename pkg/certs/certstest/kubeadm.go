package certstest

import (
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// KubeadmTree is a kubeadm control plane's certificate files written under Root:
// Root/pki (certificates and keys), Root/*.conf (kubeconfigs), Root/kubelet-pki.
type KubeadmTree struct {
	Root string
	CAs  map[string]*Pair // "ca", "etcd-ca", "front-proxy-ca"
	// Leaves by kubeadm name ("apiserver", "admin.conf", "kubelet-client-current.pem", ...).
	Leaves map[string]*Pair
	Server string // the server URL written into the kubeconfigs
}

// PKIDir, KubeconfigDir and KubeletPKIDir are where WriteKubeadmTree put the files.
func (k *KubeadmTree) PKIDir() string        { return filepath.Join(k.Root, "pki") }
func (k *KubeadmTree) KubeconfigDir() string { return k.Root }
func (k *KubeadmTree) KubeletPKIDir() string { return filepath.Join(k.Root, "kubelet-pki") }

// WriteKubeadmTree writes a complete, healthy kubeadm PKI (as `kubeadm init phase
// certs all` and `kubeconfig all` would) plus the kubelet's files, under root.
// Tests then break it the way a seed describes.
func WriteKubeadmTree(root, server string) *KubeadmTree {
	k := &KubeadmTree{Root: root, CAs: map[string]*Pair{}, Leaves: map[string]*Pair{}, Server: server}
	for _, dir := range []string{k.PKIDir(), filepath.Join(k.PKIDir(), "etcd"), k.KubeletPKIDir()} {
		must(os.MkdirAll(dir, 0o755))
	}
	caFiles := map[string]string{"ca": "ca", "etcd-ca": "etcd/ca", "front-proxy-ca": "front-proxy-ca"}
	for name, base := range caFiles {
		k.CAs[name] = NewCA(name)
		k.writePair(filepath.Join(k.PKIDir(), base), k.CAs[name])
	}
	leaves := []struct {
		name, file, ca, cn string
		dns, ips           []string
		client             bool
	}{
		{"apiserver", "apiserver", "ca", "kube-apiserver", []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "cp1"}, []string{"10.96.0.1", "127.0.0.1"}, false},
		{"apiserver-kubelet-client", "apiserver-kubelet-client", "ca", "kube-apiserver-kubelet-client", nil, nil, true},
		{"apiserver-etcd-client", "apiserver-etcd-client", "etcd-ca", "kube-apiserver-etcd-client", nil, nil, true},
		{"front-proxy-client", "front-proxy-client", "front-proxy-ca", "front-proxy-client", nil, nil, true},
		{"etcd-server", "etcd/server", "etcd-ca", "cp1", []string{"cp1", "localhost"}, []string{"127.0.0.1"}, false},
		{"etcd-peer", "etcd/peer", "etcd-ca", "cp1", []string{"cp1", "localhost"}, []string{"127.0.0.1"}, false},
		{"etcd-healthcheck-client", "etcd/healthcheck-client", "etcd-ca", "kube-etcd-healthcheck-client", nil, nil, true},
	}
	for _, l := range leaves {
		p := k.CAs[l.ca].Issue(Opts{CN: l.cn, DNS: l.dns, IPs: l.ips, Client: l.client})
		k.Leaves[l.name] = p
		k.writePair(filepath.Join(k.PKIDir(), l.file), p)
	}
	confs := map[string][2]string{
		"admin.conf":              {"kubernetes-admin", "kubeadm:cluster-admins"},
		"super-admin.conf":        {"kubernetes-super-admin", "system:masters"},
		"controller-manager.conf": {"system:kube-controller-manager", ""},
		"scheduler.conf":          {"system:kube-scheduler", ""},
	}
	for name, id := range confs {
		k.WriteKubeconfig(name, k.CAs["ca"].Issue(Opts{CN: id[0], Org: orgs(id[1]), Client: true}))
	}
	// The kubelet: a rotated client certificate (cert and key in one file, which
	// kubelet.conf points to) and a self-signed serving certificate.
	kc := k.CAs["ca"].Issue(Opts{CN: "system:node:cp1", Org: []string{"system:nodes"}, Client: true})
	k.Leaves["kubelet-client-current.pem"] = kc
	must(os.WriteFile(filepath.Join(k.KubeletPKIDir(), "kubelet-client-current.pem"), append(kc.CertPEM(), kc.KeyPEM()...), 0o600))
	k.writeKubeletConf()
	serving := SelfSigned(Opts{CN: "cp1@1700000000", DNS: []string{"cp1"}, IPs: []string{"127.0.0.1"}})
	k.Leaves["kubelet.crt"] = serving
	must(os.WriteFile(filepath.Join(k.KubeletPKIDir(), "kubelet.crt"), serving.CertPEM(), 0o644))
	must(os.WriteFile(filepath.Join(k.KubeletPKIDir(), "kubelet.key"), serving.KeyPEM(), 0o600))
	return k
}

func orgs(o string) []string {
	if o == "" {
		return nil
	}
	return []string{o}
}

// Replace writes p as the certificate of kubeadm file base (e.g. "apiserver",
// "etcd/server") and records it under name.
func (k *KubeadmTree) Replace(name, base string, p *Pair) {
	k.Leaves[name] = p
	k.writePair(filepath.Join(k.PKIDir(), base), p)
}

func (k *KubeadmTree) writePair(base string, p *Pair) {
	must(os.WriteFile(base+".crt", p.CertPEM(), 0o644))
	must(os.WriteFile(base+".key", p.KeyPEM(), 0o600))
}

// WriteKubeconfig writes a kubeconfig like kubeadm's, embedding client's cert and key.
func (k *KubeadmTree) WriteKubeconfig(name string, client *Pair) {
	k.Leaves[name] = client
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kubernetes"] = &clientcmdapi.Cluster{Server: k.Server, CertificateAuthorityData: k.CAs["ca"].CertPEM()}
	cfg.AuthInfos["user"] = &clientcmdapi.AuthInfo{ClientCertificateData: client.CertPEM(), ClientKeyData: client.KeyPEM()}
	cfg.Contexts["user@kubernetes"] = &clientcmdapi.Context{Cluster: "kubernetes", AuthInfo: "user"}
	cfg.CurrentContext = "user@kubernetes"
	must(clientcmd.WriteToFile(*cfg, filepath.Join(k.Root, name)))
}

func (k *KubeadmTree) writeKubeletConf() {
	cfg := clientcmdapi.NewConfig()
	pem := filepath.Join(k.KubeletPKIDir(), "kubelet-client-current.pem")
	cfg.Clusters["kubernetes"] = &clientcmdapi.Cluster{Server: k.Server, CertificateAuthorityData: k.CAs["ca"].CertPEM()}
	cfg.AuthInfos["system:node:cp1"] = &clientcmdapi.AuthInfo{ClientCertificate: pem, ClientKey: pem}
	cfg.Contexts["system:node:cp1@kubernetes"] = &clientcmdapi.Context{Cluster: "kubernetes", AuthInfo: "system:node:cp1"}
	cfg.CurrentContext = "system:node:cp1@kubernetes"
	must(clientcmd.WriteToFile(*cfg, filepath.Join(k.Root, "kubelet.conf")))
}

// Expired is a validity window that ended yesterday.
func Expired() Opts {
	return Opts{NotBefore: time.Now().Add(-400 * 24 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
