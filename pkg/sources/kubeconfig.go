package sources

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/fileio"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// Kubeconfig reports the client certificate and CA of the kubeconfig context in use.
// It reads only the kubeconfig, so it works when the cluster is down.
type Kubeconfig struct {
	Config      clientcmdapi.Config
	ContextName string
	// UserName and ClusterName override the context's (from --user and --cluster).
	UserName, ClusterName string
	// ClientErr is what client-go said when it tried the context's credentials, if it
	// failed: the error kubectl prints for the data found broken here.
	ClientErr error
	// LeftOut are the fields (users[admin].client-certificate-data) that kept the file
	// from loading and were left out of Config: their absence is not a finding here.
	LeftOut []string
	// Broken is set once Collect reported the context's credentials or CA as unusable.
	Broken bool
}

func (k *Kubeconfig) Name() string { return result.SourceKubeconfig }

// Collect implements Source.
func (k *Kubeconfig) Collect(_ context.Context, c *Collector) error {
	kctx := k.Config.Contexts[k.ContextName]
	if kctx == nil {
		return fmt.Errorf("context %q not found in kubeconfig", k.ContextName)
	}
	user, cluster := kctx.AuthInfo, kctx.Cluster
	if k.UserName != "" {
		user = k.UserName
	}
	if k.ClusterName != "" {
		cluster = k.ClusterName
	}
	if ai := k.Config.AuthInfos[user]; ai != nil {
		k.addPEM(c, "user "+user, "users["+user+"]", ai.ClientCertificateData, ai.ClientCertificate, "client-certificate", false)
		if len(ai.ClientCertificateData) == 0 && ai.ClientCertificate == "" && !k.leftOut("users["+user+"]") {
			c.Note("kubeconfig user %q has no client certificate (it authenticates with a token or an exec plugin)", user)
		}
	} else {
		c.Note("kubeconfig user %q not found", user)
	}
	if cl := k.Config.Clusters[cluster]; cl != nil {
		if cl.InsecureSkipTLSVerify {
			c.Finding(diagnose.New(diagnose.CodeInsecureSkipTLS, diagnose.Where{Source: result.SourceKubeconfig, Subject: "cluster " + cluster}, nil))
		}
		k.addPEM(c, "cluster "+cluster, "clusters["+cluster+"]", cl.CertificateAuthorityData, cl.CertificateAuthority, "certificate-authority", true)
	}
	return nil
}

// addPEM records the certificates held inline (data) or in a file (path). Data that
// holds no certificate is critical: kubectl cannot connect with this context either.
func (k *Kubeconfig) addPEM(c *Collector, name, entry string, data []byte, path, field string, isCA bool) {
	loc := fmt.Sprintf("context %s, %s: %s-data", k.ContextName, name, field)
	fieldPath := entry + "." + field + "-data"
	if len(data) == 0 && path != "" {
		fieldPath = entry + "." + field
		loc = fmt.Sprintf("context %s, %s: %s %s", k.ContextName, name, field, path)
		b, err := fileio.ReadFile(path)
		if err != nil {
			k.Broken = true
			c.Finding(diagnose.NewVariant(diagnose.CodeKubeconfigInvalid, "file", diagnose.Where{Source: result.SourceKubeconfig, Subject: loc},
				diagnose.Params{"path": path, "err": err, "field": field}))
			return
		}
		data = b
	}
	if len(data) == 0 {
		return
	}
	chain, err := certs.ParseBundle(data)
	if err != nil {
		k.Broken = true
		kubectlErr := ""
		if k.ClientErr != nil {
			kubectlErr = k.ClientErr.Error()
		}
		c.Finding(diagnose.NewVariant(diagnose.CodeKubeconfigInvalid, "data", diagnose.Where{Source: result.SourceKubeconfig, Subject: loc},
			diagnose.Params{"field": fieldPath, "err": "does not hold a usable certificate: " + err.Error(), "kubectlError": kubectlErr}))
		return
	}
	c.AddChain(DescribeAll(chain), result.Record{Source: result.SourceKubeconfig, Name: name, Location: loc},
		diagnose.CertContext{IsCA: isCA})
}

// DescribeAll describes every certificate of a chain.
func DescribeAll(chain []*x509.Certificate) []*result.CertInfo {
	out := make([]*result.CertInfo, len(chain))
	for i, c := range chain {
		out[i] = certs.Describe(c)
	}
	return out
}

func (k *Kubeconfig) leftOut(entry string) bool {
	for _, f := range k.LeftOut {
		if strings.HasPrefix(f, entry+".") {
			return true
		}
	}
	return false
}
