package sources

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// certManagerCertAnnotation names the Certificate that issued a secret.
const certManagerCertAnnotation = "cert-manager.io/certificate-name"

// TLSSecrets reports tls.crt (every certificate of the chain) and ca.crt of every
// secret of type kubernetes.io/tls, listed in pages.
type TLSSecrets struct {
	Client    kubernetes.Interface
	Namespace string // empty: all namespaces
	cache     parseCache
	ingresses *ingressServed
}

func (s *TLSSecrets) Name() string { return result.SourceSecret }

// Collect implements Source.
func (s *TLSSecrets) Collect(ctx context.Context, c *Collector) error {
	s.cache.lite = true // only dates and names are reported for secrets: drop the parsed certificates
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.ingresses = &ingressServed{}
	s.ingresses.start(ctx, s.Client, s.Namespace)
	opts := metav1.ListOptions{FieldSelector: "type=" + string(corev1.SecretTypeTLS)}
	err := eachSecretPage(ctx, s.Client, s.Namespace, opts, func(items []corev1.Secret) {
		parallel(len(items), func(i int) { s.secret(c, &items[i]) })
	})
	if denied(c, err, result.SourceSecret, "secrets", "", s.Namespace) {
		return nil
	}
	if err == nil {
		s.ingresses.notes(c, s.Namespace)
	}
	return err
}

// Secret judges one secret as Collect judges each: inspect uses it for a secret of any type.
func (s *TLSSecrets) Secret(c *Collector, sec *corev1.Secret) { s.secret(c, sec) }

func (s *TLSSecrets) secret(c *Collector, sec *corev1.Secret) {
	id := sec.Namespace + "/" + sec.Name
	ctx := diagnose.CertContext{Namespace: sec.Namespace, Name: sec.Name,
		CertManagerCertificate: certManagerOwner(sec)}
	for _, key := range []string{corev1.TLSCertKey, "ca.crt"} {
		data, ok := sec.Data[key]
		if !ok && key == "ca.crt" {
			continue
		}
		loc := fmt.Sprintf("secret %s %s", id, key)
		infos, err := s.cache.parse(data)
		if err != nil {
			c.Finding(diagnose.InvalidCertificate(result.SourceSecret, loc, err))
			continue
		}
		kctx := ctx
		kctx.Subject = "secret " + id
		kctx.IsCA = key == "ca.crt"
		kctx.Key = key
		rec := result.Record{Source: result.SourceSecret, Name: id, Location: loc}
		if kctx.IsCA {
			c.AddBundle(infos, rec, kctx)
		} else {
			c.AddChain(infos, rec, kctx)
		}
		if key == corev1.TLSCertKey && len(infos) > 0 {
			v := s.cache.verdict(data)
			goRules(c, infos[0], v, kctx)
			s.ingresses.leaf(id, infos[0])
			if key, ok := sec.Data[corev1.TLSPrivateKeyKey]; ok || sec.Type == corev1.SecretTypeTLS {
				keyPair(c, infos[0], v, kctx, key) // an Opaque secret (inspect) may hold no key at all
			}
		}
	}
}

// keyPair reports a tls.key that cannot serve with tls.crt: another certificate's key,
// or none that Go can read. The key is parsed here and nowhere else, and only match or
// mismatch leaves this function.
func keyPair(c *Collector, leaf *result.CertInfo, v goVerdict, ctx diagnose.CertContext, key []byte) {
	if v.publicKey == nil {
		return
	}
	if err := certs.CheckKeyPair(v.publicKey, key); err != nil {
		ctx.Source = result.SourceSecret
		c.Finding(diagnose.KeyPair(ctx, leaf, err))
	}
}

// goRules reports what Go's TLS clients refuse in a serving certificate: a certificate
// that openssl accepts may still fail every Go client (the API server, controllers).
func goRules(c *Collector, leaf *result.CertInfo, v goVerdict, ctx diagnose.CertContext) {
	subject := ctx.Subject
	at := diagnose.Where{Source: result.SourceSecret, Subject: subject}
	if v.insecureAlgorithm != "" {
		c.Finding(diagnose.NewVariant(diagnose.CodeInsecureSignature, "secret", at, diagnose.Params{"name": subject + " tls.crt",
			"issuer": leaf.Issuer, "algorithm": v.insecureAlgorithm, "kubeadmName": "", "err": v.insecureError}))
	}
	if v.noSANs {
		c.Finding(diagnose.New(diagnose.CodeLegacyCommonName, at, diagnose.Params{"name": subject + " tls.crt", "subject": leaf.Subject}))
	}
	if leaf.Crypto.NoServerAuth != "" && !leaf.IsCA {
		c.Finding(diagnose.NoServerAuth("", at, subject+" tls.crt", leaf, ctx))
	}
}

func certManagerOwner(sec *corev1.Secret) string {
	if n := sec.Annotations[certManagerCertAnnotation]; n != "" {
		return sec.Namespace + "/" + n
	}
	return ""
}

// KubeconfigSecrets reports the client certificates in kubeconfigs stored as secrets:
// an admin cluster keeps one per managed cluster, and they expire like any other.
// Candidates are the secrets whose name contains "kubeconfig" (Cluster API's
// <cluster>-kubeconfig, EKS's <cluster>-user-kubeconfig, CI credentials), found with
// one metadata-only list, so that no other secret's data is fetched. A typed list by
// Cluster API's secret type would cost the API server a second scan of every secret
// and find nothing more: Cluster API names every kubeconfig secret <cluster>-kubeconfig.
type KubeconfigSecrets struct {
	Client    kubernetes.Interface
	Metadata  metadata.Interface
	Namespace string
	cache     parseCache
}

func (k *KubeconfigSecrets) Name() string { return result.SourceKubeconfigSecret }

// Collect implements Source.
func (k *KubeconfigSecrets) Collect(ctx context.Context, c *Collector) error {
	res := corev1.SchemeGroupVersion.WithResource("secrets")
	var candidates []metav1.ObjectMeta
	err := eachPage(ctx, metav1.ListOptions{}, func(ctx context.Context, o metav1.ListOptions) ([]metav1.PartialObjectMetadata, string, error) {
		l, err := k.Metadata.Resource(res).Namespace(k.Namespace).List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}, func(items []metav1.PartialObjectMetadata) {
		for _, m := range items {
			if strings.Contains(strings.ToLower(m.Name), "kubeconfig") {
				candidates = append(candidates, m.ObjectMeta)
			}
		}
	})
	if denied(c, err, result.SourceKubeconfigSecret, "secrets", "", k.Namespace) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, m := range candidates {
		sec, err := k.Client.CoreV1().Secrets(m.Namespace).Get(ctx, m.Name, metav1.GetOptions{})
		if err != nil {
			c.Finding(diagnose.FromAPIError(result.SourceKubeconfigSecret, "secret "+m.Namespace+"/"+m.Name, err))
			continue
		}
		k.secret(c, sec)
	}
	return nil
}

// secret reports the client certificate of every user in every value that parses as a
// kubeconfig; values that are not kubeconfigs are ignored.
func (k *KubeconfigSecrets) secret(c *Collector, sec *corev1.Secret) {
	id := sec.Namespace + "/" + sec.Name
	for key, data := range sec.Data {
		if !looksLikeKubeconfig(data) {
			continue
		}
		cfg, err := clientcmd.Load(data)
		if err != nil {
			continue
		}
		for user, ai := range cfg.AuthInfos {
			if len(ai.ClientCertificateData) == 0 {
				continue
			}
			loc := fmt.Sprintf("secret %s %s: user %s", id, key, user)
			infos, err := k.cache.parse(ai.ClientCertificateData)
			if err != nil {
				c.Finding(diagnose.InvalidCertificate(result.SourceKubeconfigSecret, loc, err))
				continue
			}
			c.AddChain(infos, result.Record{Source: result.SourceKubeconfigSecret, Name: id, Location: loc},
				diagnose.CertContext{Namespace: sec.Namespace, Name: sec.Name, Subject: "secret " + id})
		}
	}
}

func looksLikeKubeconfig(b []byte) bool {
	return len(b) > 0 && strings.Contains(string(b[:min(len(b), 4096)]), "clusters") &&
		(strings.Contains(string(b), "client-certificate-data") || strings.Contains(string(b), "users"))
}
