package sources

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// CertificateGVR is cert-manager's Certificate resource.
var CertificateGVR = schema.GroupVersionResource{Group: "cert-manager.io", Version: "v1", Resource: "certificates"}

// CertManager reports cert-manager Certificates from their status: notAfter, the
// planned renewalTime and the Ready condition. Skipped with a note when the CRD is absent.
type CertManager struct {
	Discovery discovery.DiscoveryInterface
	Dynamic   dynamic.Interface
	Namespace string
}

func (m *CertManager) Name() string { return result.SourceCertManager }

// Collect implements Source.
func (m *CertManager) Collect(ctx context.Context, c *Collector) error {
	if err := groupVersionServed(ctx, m.Discovery, CertificateGVR.GroupVersion().String()); err != nil {
		if apierrors.IsNotFound(err) {
			c.Note("cert-manager is not installed (no %s API): no Certificates to check", CertificateGVR.GroupVersion())
			return nil
		}
		return err
	}
	err := eachPage(ctx, metav1.ListOptions{}, func(ctx context.Context, o metav1.ListOptions) ([]unstructured.Unstructured, string, error) {
		l, err := m.Dynamic.Resource(CertificateGVR).Namespace(m.Namespace).List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.GetContinue(), nil
	}, func(items []unstructured.Unstructured) {
		for i := range items {
			m.certificate(c, &items[i])
		}
	})
	if denied(c, err, result.SourceCertManager, "certificates", "cert-manager.io", m.Namespace) {
		return nil
	}
	return err
}

func (m *CertManager) certificate(c *Collector, u *unstructured.Unstructured) {
	ns, name := u.GetNamespace(), u.GetName()
	subject := fmt.Sprintf("certificate %s/%s", ns, name)
	ctx := diagnose.CertContext{Subject: subject, Namespace: ns, Name: name}
	notAfter, hasNotAfter := timeField(u, "status", "notAfter")
	if hasNotAfter {
		notBefore, _ := timeField(u, "status", "notBefore")
		cn, _, _ := unstructured.NestedString(u.Object, "spec", "commonName")
		if cn == "" {
			if dns, _, _ := unstructured.NestedStringSlice(u.Object, "spec", "dnsNames"); len(dns) > 0 {
				cn = dns[0]
			}
		}
		issuer, _, _ := unstructured.NestedString(u.Object, "spec", "issuerRef", "name")
		secret, _, _ := unstructured.NestedString(u.Object, "spec", "secretName")
		c.Add(result.Record{Source: result.SourceCertManager, Name: ns + "/" + name, Location: subject + " (secret " + secret + ")",
			CertInfo: &result.CertInfo{Subject: cn, Issuer: issuer, NotBefore: notBefore, NotAfter: notAfter}}, ctx)
	}
	ready, reason, msg := condition(u, "Ready")
	if ready != "True" {
		c.Finding(diagnose.New(diagnose.CodeCertificateNotReady, diagnose.Where{Source: result.SourceCertManager, Subject: subject},
			diagnose.Params{"reason": orDefault(reason, "no Ready condition"), "detail": orDefault(msg, "cert-manager has not issued it yet"), "name": name, "namespace": ns}))
		return
	}
	if renewal, ok := timeField(u, "status", "renewalTime"); ok && hasNotAfter && c.Now.Sub(renewal) > time.Hour && c.Now.Before(notAfter) {
		c.Finding(diagnose.New(diagnose.CodeRenewalOverdue, diagnose.Where{Source: result.SourceCertManager, Subject: subject},
			diagnose.Params{"renewal": renewal.Format(time.RFC3339), "notAfter": notAfter.Format(time.RFC3339), "name": name, "namespace": ns}))
	}
}

func timeField(u *unstructured.Unstructured, path ...string) (time.Time, bool) {
	s, ok, _ := unstructured.NestedString(u.Object, path...)
	if !ok || s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	return t.UTC(), err == nil
}

func condition(u *unstructured.Unstructured, typ string) (status, reason, message string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, raw := range conds {
		cond, ok := raw.(map[string]any)
		if !ok || cond["type"] != typ {
			continue
		}
		s, _ := cond["status"].(string)
		r, _ := cond["reason"].(string)
		m, _ := cond["message"].(string)
		return s, r, m
	}
	return "", "", ""
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
