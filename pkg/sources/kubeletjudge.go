package sources

import (
	"context"
	"crypto/x509"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// kubeadm keeps the cluster-wide KubeletConfiguration in kube-system's ConfigMap
// kubelet-config, key kubelet (kubeadm constants KubeletBaseConfigurationConfigMap*).
const (
	kubeletConfigMap    = "kubelet-config"
	kubeletConfigKey    = "kubelet"
	kubeletConfigSource = "configmap kube-system/" + kubeletConfigMap
)

// serverTLSBootstrap says whether the cluster's kubelet config asks the kubelets to get
// their serving certificates from the CSR API. Without that ConfigMap (not kubeadm) or
// the field (its default is false) the answer is no: a self-signed certificate is then
// what the kubelet makes for itself.
func (k *KubeletServing) serverTLSBootstrap(ctx context.Context, c *Collector) bool {
	cm, err := k.Client.CoreV1().ConfigMaps("kube-system").Get(ctx, kubeletConfigMap, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return false
	case apierrors.IsForbidden(err):
		c.Finding(diagnose.PermissionDenied(result.SourceKubelet, "get", "configmaps", "", "kube-system", err))
		return false
	case err != nil:
		// Not knowing is not "off": say so, so that a throttled or failing read is not
		// taken for a pass.
		c.Finding(diagnose.FromAPIError(result.SourceKubelet, kubeletConfigSource, err))
		return false
	}
	var cfg struct {
		ServerTLSBootstrap bool `json:"serverTLSBootstrap"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data[kubeletConfigKey]), &cfg); err != nil {
		c.Note("kubelet serving certificates: %s does not hold a kubelet configuration under %q (%v)", kubeletConfigSource, kubeletConfigKey, err)
		return false
	}
	return cfg.ServerTLSBootstrap
}

// clusterCAs are the CAs a kubelet-serving certificate may come from: the kubeconfig's
// and the one kube-controller-manager publishes (kube-root-ca.crt), which is the
// signer's CA unless the cluster gives the kubelet-serving signer a CA of its own.
func (k *KubeletServing) clusterCAs(ctx context.Context, c *Collector) []*x509.Certificate {
	var cas []*x509.Certificate
	if len(k.CAData) > 0 {
		if got, err := certs.ParseBundle(k.CAData); err == nil {
			cas = append(cas, got...)
		}
	}
	cm, err := k.Client.CoreV1().ConfigMaps("kube-system").Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
	if err == nil {
		if got, err := certs.ParseBundle([]byte(cm.Data["ca.crt"])); err == nil {
			cas = append(cas, got...)
		}
	}
	if len(cas) == 0 {
		c.Note("kubelet serving certificates: no cluster CA at hand (kubeconfig, kube-system/kube-root-ca.crt), so only self-signed ones are told apart")
	}
	return cas
}

// kubeletJudge rates what the kubelets serve.
type kubeletJudge struct {
	now       time.Time
	bootstrap bool
	cas       []*x509.Certificate
}

// judge reports an expired certificate whatever the settings (clients that verify the
// kubelet refuse it), and with serverTLSBootstrap on one the cluster CA did not issue.
func (j *kubeletJudge) judge(c *Collector, t kubeletTarget, chain []*x509.Certificate) {
	leaf := chain[0]
	info := certs.Describe(leaf)
	p := diagnose.Params{"node": t.node, "addr": t.addr, "csr": "", "sans": ""}
	if !j.now.Before(leaf.NotAfter) {
		p["ago"] = diagnose.ShortDuration(j.now.Sub(leaf.NotAfter))
		p["notAfter"] = leaf.NotAfter.UTC().Format(time.RFC3339)
		p["x509"] = certs.ExpiredError(info, j.now)
		p["renew"], p["on"] = "kubelet-serving", "on node "+t.node
		f := diagnose.NewVariant(diagnose.CodeKubeletServingCertificate, "expired", kubeletWhere(t), p)
		na := leaf.NotAfter
		f.NotAfter = &na
		c.Finding(f)
		return
	}
	if !j.bootstrap {
		return
	}
	selfSigned := certs.SelfSigned(leaf)
	if !selfSigned && (len(j.cas) == 0 || issuedBy(chain, j.cas)) {
		return
	}
	p["selfSigned"], p["subject"], p["issuer"] = selfSigned, info.Subject, info.Issuer
	c.Finding(diagnose.NewVariant(diagnose.CodeKubeletServingCertificate, "untrusted", kubeletWhere(t), p))
}

// issuedBy reports whether one of cas signed the chain's leaf, directly or through the
// intermediates the chain carries.
func issuedBy(chain []*x509.Certificate, cas []*x509.Certificate) bool {
	signers := append([]*x509.Certificate(nil), cas...)
	for _, inter := range chain[1:] {
		for _, ca := range cas {
			if certs.SignedBy(inter, ca) {
				signers = append(signers, inter)
				break
			}
		}
	}
	for _, s := range signers {
		if certs.SignedBy(chain[0], s) {
			return true
		}
	}
	return false
}
