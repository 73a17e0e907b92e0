package diagnose

import (
	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// KeyPair is the finding for a TLS secret whose tls.key does not serve with its
// tls.crt (err from certs.CheckKeyPair, whose texts never quote the key): another
// certificate's key is TLSKeyMismatch, an empty or unreadable one TLSKeyInvalid.
func KeyPair(ctx CertContext, leaf *result.CertInfo, err error) result.Finding {
	p := Params{"name": ctx.Subject, "subject": certName(leaf), "namespace": ctx.Namespace, "secretName": ctx.Name,
		"err": err.Error(), "cmNamespace": "", "cmName": ""}
	if ctx.CertManagerCertificate != "" {
		p["cmNamespace"], p["cmName"] = splitNsName(ctx.CertManagerCertificate)
	}
	code := CodeKeyInvalid
	if certs.IsKeyMismatch(err) {
		code = CodeKeyMismatch
	}
	return New(code, Where{ctx.Source, ctx.Subject}, p)
}
