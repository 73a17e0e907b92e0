package webhook

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"github.com/certdoctor/kubectl-certdoctor/pkg/sources"
	"github.com/certdoctor/kubectl-certdoctor/plugins"
)

// caBundle: what the API server trusts for this webhook — present, usable as a trust
// anchor, unexpired, the product's CA, and (with cert-manager's cainjector) injected
// from an object that exists in the right namespace by a cainjector that runs.
func (s *walk) caBundle(ctx context.Context) {
	if s.t.InsecureSkipTLSVerify {
		// metrics-server's default install: the aggregator accepts any certificate.
		s.ok("caBundle", "insecureSkipTLSVerify is set: the API server does not verify this service's certificate, "+
			"so whoever answers on its endpoints is trusted (metrics-server's default install; to verify it, serve a certificate for "+
			s.t.Host()+" and set caBundle instead)")
		return
	}
	data := s.t.ClientConfig.CABundle
	if len(data) == 0 {
		if s.t.ClientConfig.Service != nil {
			s.problem("caBundle", diagnose.CodeWebhookCABundle, "empty", s.injectionParams())
		}
		s.injection(ctx)
		return
	}
	bundle, err := certs.ParseBundle(data)
	if err != nil {
		s.problem("caBundle", diagnose.CodeWebhookCABundle, "unparsable", s.injectionParams("err", err))
		return
	}
	s.bundle = bundle
	s.judgeBundle(bundle)
	s.caSecret(ctx, bundle)
	s.injection(ctx)
}

// judgeBundle says what kind of trust anchors the bundle holds. A self-signed leaf is a
// pinned certificate (Linkerd's Helm-generated ones): valid as an anchor. A CA-signed
// leaf pinned in caBundle breaks when its issuer re-issues it. Old CAs kept during a
// rotation (Vault's injector, Kyverno) are normal; only a bundle with nothing unexpired
// left is broken.
func (s *walk) judgeBundle(bundle []*x509.Certificate) {
	var live, names []string
	for _, c := range bundle {
		info := certs.Describe(c)
		kind := "CA"
		if !c.IsCA {
			kind = "pinned self-signed certificate"
		}
		if !c.IsCA && !certs.SelfSigned(c) {
			s.problem("caBundle", diagnose.CodeWebhookCABundle, "not-ca", s.injectionParams("subject", info.Subject, "issuer", info.Issuer))
			return
		}
		names = append(names, fmt.Sprintf("%s %q (expires %s)", kind, info.Subject, info.NotAfter.Format("2006-01-02")))
		if info.StatusAt(s.Now, 0) != result.StatusExpired {
			live = append(live, info.Subject)
		}
	}
	if len(live) == 0 {
		ca := certs.Describe(bundle[len(bundle)-1])
		s.problem("caBundle", diagnose.CodeWebhookCABundle, "expired", s.injectionParams("subject", ca.Subject,
			"notAfter", ca.NotAfter.Format(time.RFC3339), "x509", certs.ExpiredError(ca, s.Now)))
		return
	}
	s.ok("caBundle", strings.Join(names, ", "))
}

// injectionParams are the parameters of the caBundle findings, whose fix depends on
// whether cert-manager's cainjector writes the caBundle; kv adds more, as key, value.
func (s *walk) injectionParams(kv ...any) diagnose.Params {
	p := diagnose.Params{"injected": s.t.Annotations["cert-manager.io/inject-ca-from"] != "" || s.t.Annotations["cert-manager.io/inject-ca-from-secret"] != ""}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i].(string)] = kv[i+1]
	}
	return p
}

// caSecrets are where the product keeps the CA this target's caBundle must hold: the
// secret cert-manager's inject-ca-from-secret names (key ca.crt), else the component's.
func (s *walk) caSecrets() (namespace string, refs []plugins.SecretRef) {
	namespace = s.productNamespace()
	if ref := s.t.Annotations["cert-manager.io/inject-ca-from-secret"]; ref != "" {
		if ns, name, ok := strings.Cut(ref, "/"); ok {
			return ns, []plugins.SecretRef{{Name: name, Keys: []string{"ca.crt"}}}
		}
	}
	if s.comp == nil {
		return namespace, nil
	}
	for _, r := range s.comp.CASecrets {
		refs = append(refs, plugins.SecretRef{Name: strings.ReplaceAll(r.Name, "$(NAMESPACE)", namespace), Keys: r.Keys})
	}
	return namespace, refs
}

// caSecret compares the caBundle with the CA the product keeps in its secret: some
// certificate of the bundle must be one of the secret's (a rotation keeps the old CA
// beside the new one, in either of them).
func (s *walk) caSecret(ctx context.Context, bundle []*x509.Certificate) {
	ns, refs := s.caSecrets()
	if len(refs) == 0 || s.t.ClientConfig.Service == nil {
		return
	}
	var missing []string
	for _, ref := range refs {
		sec, err := s.Client.CoreV1().Secrets(ns).Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			missing = append(missing, ref.Name)
			continue
		}
		if err != nil {
			s.readFailed("caSecret", "secret "+ns+"/"+ref.Name, err)
			return
		}
		keys := ref.Keys
		if len(keys) == 0 {
			keys = plugins.DefaultCAKeys
		}
		secretCAs, key := caFromSecret(sec.Data, keys)
		if len(secretCAs) == 0 {
			s.problem("caSecret", diagnose.CodeWebhookCABundleDiffers, "no-certificate", diagnose.Params{"namespace": ns, "secret": ref.Name,
				"keys": strings.Join(keys, ", "), "present": strings.Join(dataKeys(sec.Data), ", ")})
			return
		}
		if shared(bundle, secretCAs) {
			s.ok("caSecret", fmt.Sprintf("caBundle holds the CA in %s/%s (%s)", ns, ref.Name, key))
			return
		}
		s.problem("caSecret", diagnose.CodeWebhookCABundleDiffers, "differs", s.injectionParams("bundleCA", bundle[len(bundle)-1].Subject.CommonName,
			"namespace", ns, "secret", ref.Name, "secretCA", secretCAs[0].Subject.CommonName))
		return
	}
	s.problem("caSecret", diagnose.CodeWebhookCABundleDiffers, "no-secret", diagnose.Params{"namespace": ns, "secret": strings.Join(missing, " or ")})
}

// caFromSecret returns the certificates under the first of keys that holds any.
func caFromSecret(data map[string][]byte, keys []string) ([]*x509.Certificate, string) {
	for _, k := range keys {
		if cs, err := certs.ParseBundle(data[k]); err == nil {
			return cs, k
		}
	}
	return nil, ""
}

func dataKeys(data map[string][]byte) []string {
	out := make([]string, 0, len(data))
	for k := range data {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// shared reports whether a and b have a certificate in common.
func shared(a, b []*x509.Certificate) bool {
	for _, x := range a {
		for _, y := range b {
			if bytes.Equal(x.Raw, y.Raw) {
				return true
			}
		}
	}
	return false
}

// injection checks cert-manager's cainjector annotations: the object they name exists in
// the namespace the webhook runs in (charts before cert-manager 0.15 hard-coded
// "cert-manager/"), and a cainjector pod is Ready.
func (s *walk) injection(ctx context.Context) {
	ann := s.t.Annotations
	from, fromSecret := ann["cert-manager.io/inject-ca-from"], ann["cert-manager.io/inject-ca-from-secret"]
	if from == "" && fromSecret == "" {
		return
	}
	ref, kind := from, "certificate"
	if ref == "" {
		ref, kind = fromSecret, "secret"
	}
	ns, name, _ := strings.Cut(ref, "/")
	if want := s.productNamespace(); want != "" && ns != want {
		s.problem("caInjection", diagnose.CodeWebhookCAInjection, "wrong-namespace", diagnose.Params{"kind": kind, "ref": ref,
			"namespace": ns, "want": want, "name": name})
		return
	}
	var err error
	if kind == "secret" {
		_, err = s.Client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	} else if s.Dynamic != nil {
		_, err = s.Dynamic.Resource(sources.CertificateGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		s.problem("caInjection", diagnose.CodeWebhookCAInjection, "missing-source", diagnose.Params{"kind": kind, "ref": ref})
		return
	}
	s.cainjectorRunning(ctx)
}

func (s *walk) cainjectorRunning(ctx context.Context) {
	if s.Profile == nil || s.Profile.CAInjector == nil {
		return
	}
	ns := s.productNamespace()
	l, err := s.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(s.Profile.CAInjector.PodSelector).String()})
	if err != nil {
		return
	}
	for i := range l.Items {
		if podReady(&l.Items[i]) {
			s.ok("caInjection", "cainjector "+l.Items[i].Name+" is Ready")
			return
		}
	}
	s.problem("caInjection", diagnose.CodeWebhookCAInjection, "not-running", diagnose.Params{"namespace": ns,
		"selector": labels.SelectorFromSet(s.Profile.CAInjector.PodSelector).String()})
}
