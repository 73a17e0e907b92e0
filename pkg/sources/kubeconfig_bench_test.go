package sources

import (
	"context"
	"fmt"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs/certstest"
)

// benchKubeconfig is a kubeconfig with n contexts, each with its own user (inline
// client certificate and key) and cluster (inline CA), current context c0.
func benchKubeconfig(b *testing.B, n int) []byte {
	cfg := clientcmdapi.NewConfig()
	for i := range n {
		name := fmt.Sprintf("c%d", i)
		ca := certstest.NewCA(name + "-ca")
		client := ca.Issue(certstest.Opts{CN: "kubernetes-admin", Org: []string{"kubeadm:cluster-admins"}, Client: true})
		cfg.Clusters[name] = &clientcmdapi.Cluster{Server: fmt.Sprintf("https://10.0.0.%d:6443", i+1), CertificateAuthorityData: ca.CertPEM()}
		cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: client.CertPEM(), ClientKeyData: client.KeyPEM()}
		cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	}
	cfg.CurrentContext = "c0"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkKubeconfig is `expiry`'s kubeconfig check: load the kubeconfig bytes (as
// kubectl's loader does) and collect the current context's client certificate and CA.
func BenchmarkKubeconfig(b *testing.B) {
	for _, n := range []int{1, 3} {
		data := benchKubeconfig(b, n)
		b.Run(fmt.Sprintf("contexts=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				cfg, err := clientcmd.Load(data)
				if err != nil {
					b.Fatal(err)
				}
				c := newTestCollector()
				if err := (&Kubeconfig{Config: *cfg, ContextName: cfg.CurrentContext}).Collect(context.Background(), c); err != nil {
					b.Fatal(err)
				}
				if recs, fs, _ := c.Results(); len(recs) != 2 || len(fs) != 0 {
					b.Fatalf("records %d findings %d", len(recs), len(fs))
				}
			}
		})
	}
}
