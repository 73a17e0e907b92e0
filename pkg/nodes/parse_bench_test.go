package nodes

import (
	"encoding/base64"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
)

// kubeadmNodeOutput is what Script prints on a kubeadm control-plane node (preset
// "kubeadm": /etc/kubernetes and /var/lib/kubelet/pki, the kubelet client certificate
// rotated once), and how many CERT blocks it holds.
func kubeadmNodeOutput() (string, int) {
	const pki, kubelet, server = "/etc/kubernetes/pki", "/var/lib/kubelet/pki", "https://10.0.0.10:6443"
	ca, etcdCA, fpCA := certstest.NewCA("kubernetes"), certstest.NewCA("etcd-ca"), certstest.NewCA("front-proxy-ca")
	blocks := map[string]string{pki + "/sa.key": "### KEY " + pki + "/sa.key\n"} // path: what the script prints for it
	for _, d := range []string{"/etc/kubernetes", "/etc/kubernetes/manifests", pki, pki + "/etcd", kubelet} {
		blocks[d] = "### DIR " + d + "\n"
	}
	n := 0
	cert := func(p string, c *certstest.Pair) {
		blocks[p], n = "### CERT "+p+"\n"+string(c.CertPEM())+"### END\n", n+1
		if base, ok := strings.CutSuffix(p, ".crt"); ok {
			blocks[base+".key"] = "### KEY " + base + ".key\n"
		}
	}
	client := func(ca *certstest.Pair, cn string) *certstest.Pair {
		return ca.Issue(certstest.Opts{CN: cn, Client: true})
	}
	cert(pki+"/ca.crt", ca)
	cert(pki+"/apiserver.crt", ca.Issue(certstest.Opts{CN: "kube-apiserver", DNS: []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "cp1"}, IPs: []string{"10.96.0.1", "10.0.0.10"}}))
	cert(pki+"/apiserver-kubelet-client.crt", client(ca, "kube-apiserver-kubelet-client"))
	cert(pki+"/apiserver-etcd-client.crt", client(etcdCA, "kube-apiserver-etcd-client"))
	cert(pki+"/front-proxy-ca.crt", fpCA)
	cert(pki+"/front-proxy-client.crt", client(fpCA, "front-proxy-client"))
	cert(pki+"/etcd/ca.crt", etcdCA)
	cert(pki+"/etcd/server.crt", etcdCA.Issue(certstest.Opts{CN: "cp1", DNS: []string{"cp1", "localhost"}, IPs: []string{"10.0.0.10", "127.0.0.1"}}))
	cert(pki+"/etcd/peer.crt", etcdCA.Issue(certstest.Opts{CN: "cp1", DNS: []string{"cp1", "localhost"}, IPs: []string{"10.0.0.10", "127.0.0.1"}}))
	cert(pki+"/etcd/healthcheck-client.crt", client(etcdCA, "kube-etcd-healthcheck-client"))
	cur := client(ca, "system:node:cp1")
	cert(kubelet+"/kubelet-client-2025-01-10-08-00-00.pem", client(ca, "system:node:cp1"))
	cert(kubelet+"/kubelet-client-2025-10-02-08-00-00.pem", cur)
	cert(kubelet+"/kubelet-client-current.pem", cur) // the symlink, read through
	cert(kubelet+"/kubelet.crt", certstest.SelfSigned(certstest.Opts{CN: "cp1@1736496000", DNS: []string{"cp1"}}))
	conf := func(name, user string) {
		p := "/etc/kubernetes/" + name
		blocks[p] = "### CONF " + p + "\nserver: " + server + "\n" + user + "\n### END\n"
	}
	for name, cn := range map[string]string{"admin.conf": "kubernetes-admin", "super-admin.conf": "kubernetes-super-admin",
		"controller-manager.conf": "system:kube-controller-manager", "scheduler.conf": "system:kube-scheduler"} {
		conf(name, "client-certificate-data: "+base64.StdEncoding.EncodeToString(client(ca, cn).CertPEM()))
	}
	conf("kubelet.conf", "client-certificate: "+kubelet+"/kubelet-client-current.pem")
	var out strings.Builder
	for _, p := range slices.Sorted(maps.Keys(blocks)) { // find | sort
		out.WriteString(blocks[p])
	}
	return out.String() + "### DONE\n", n
}

// BenchmarkParseKubeadmNode is parsing one kubeadm control-plane node's debug-pod log
// (`expiry --nodes`, once per node).
func BenchmarkParseKubeadmNode(b *testing.B) {
	out, n := kubeadmNodeOutput()
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := Parse(out)
		if err != nil {
			b.Fatal(err)
		}
		if !f.Complete() || len(f.CertPaths()) != n {
			b.Fatalf("complete %v, %d cert paths, want %d", f.Complete(), len(f.CertPaths()), n)
		}
	}
}
