package cmd

import (
	"net"
	"path/filepath"
	"strings"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/certdoctor/kubectl-certdoctor/pkg/fileio"
)

// serviceAccountDir is where the kubelet mounts a pod's service-account token, CA and namespace.
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// inClusterContext is the context name of the kubeconfig certdoctor makes inside a pod,
// and so the cluster label of its metrics.
const inClusterContext = "in-cluster"

// inClusterKubeconfig is the kubeconfig kubectl's in-cluster fallback amounts to, when
// certdoctor runs in a pod without a kubeconfig (serve, the CronJob): the API server of
// KUBERNETES_SERVICE_HOST/PORT, trusted with the mounted CA, with the mounted token as a
// file (client-go re-reads it as the kubelet rotates it). ok is false outside a pod.
func inClusterKubeconfig(getenv func(string) string, dir string) (cfg clientcmdapi.Config, ok bool) {
	host, port := getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT")
	token, ca := filepath.Join(dir, "token"), filepath.Join(dir, "ca.crt")
	if host == "" || port == "" || !isFile(token) {
		return cfg, false
	}
	cluster := &clientcmdapi.Cluster{Server: "https://" + net.JoinHostPort(host, port)}
	if isFile(ca) {
		cluster.CertificateAuthority = ca
	}
	ctx := &clientcmdapi.Context{Cluster: inClusterContext, AuthInfo: inClusterContext}
	if ns, err := fileio.ReadFile(filepath.Join(dir, "namespace")); err == nil {
		ctx.Namespace = strings.TrimSpace(string(ns))
	}
	cfg = *clientcmdapi.NewConfig()
	cfg.Clusters[inClusterContext] = cluster
	cfg.AuthInfos[inClusterContext] = &clientcmdapi.AuthInfo{TokenFile: token}
	cfg.Contexts[inClusterContext] = ctx
	cfg.CurrentContext = inClusterContext
	return cfg, true
}

func isFile(path string) bool { return fileio.CheckRegular(path) == nil }
