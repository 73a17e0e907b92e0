package diagnose

import (
	"strings"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// CryptoFindings judges what Go clients refuse in a certificate whatever its use: short
// RSA keys, a CA that cannot sign, a zero serial. Every source reaches it through
// Collector.Add, so the rules are the same for secrets, kubeconfigs, the served API
// server certificate, node files and caBundles.
func CryptoFindings(ctx CertContext, info *result.CertInfo) []result.Finding {
	if info == nil || !info.Crypto.Weak(ctx.IsCA) {
		return nil // the common case, on thousands of certificates: no parameters built
	}
	f := info.Crypto
	at := Where{ctx.Source, ctx.Subject}
	p := Params{"name": cryptoName(ctx), "subject": certName(info), "kubeadmName": ctx.KubeadmName}
	var out []result.Finding
	switch {
	case f.RSABits == 0 || f.RSABits >= result.RecommendedRSABits:
	case f.RSABits < certs.MinRSABits:
		out = append(out, NewVariant(CodeWeakKey, "insecure", at, with(p, "bits", f.RSABits, "err", certs.WeakRSAError(f.RSABits))))
	default:
		out = append(out, New(CodeWeakKey, at, with(p, "bits", f.RSABits, "err", "")))
	}
	if f.CannotSignAsCA(ctx.IsCA) {
		out = append(out, New(CodeCannotSign, at, with(p, "err", f.CannotSign)))
	}
	if f.ZeroSerial {
		out = append(out, NewVariant(CodeSerialNumber, "zero", at, p))
	}
	return out
}

// NoServerAuth is the finding for a serving certificate whose extended key usages
// leave out serverAuth; variant "" (a TLS secret: probably served), "served" (the API
// server's) or "webhook".
func NoServerAuth(variant string, at Where, name string, info *result.CertInfo, ctx CertContext) result.Finding {
	p := Params{"name": name, "subject": certName(info), "usages": info.Crypto.NoServerAuth, "err": certs.NoServerAuthError()}
	p["cmNamespace"], p["cmName"] = "", ""
	if ctx.CertManagerCertificate != "" {
		p["cmNamespace"], p["cmName"] = splitNsName(ctx.CertManagerCertificate)
	}
	return NewVariant(CodeNoServerAuth, variant, at, p)
}

// invalidSerial is the finding for data Go refused for its negative serial number: a
// cause of its own, with its own fix, rather than CertificateInvalid.
func invalidSerial(at Where, err error) (result.Finding, bool) {
	if !certs.IsNegativeSerial(err) {
		return result.Finding{}, false
	}
	return New(CodeSerialNumber, at, Params{"err": err}), true
}

// cryptoName names the certificate in a crypto finding: where it is, and under which key.
func cryptoName(ctx CertContext) string {
	if ctx.Key != "" && !strings.HasSuffix(ctx.Subject, " "+ctx.Key) { // a bundle's subject names its key already

		return ctx.Subject + " " + ctx.Key
	}
	return ctx.Subject
}

// with returns a copy of p with more parameters (key, value, key, value ...).
func with(p Params, kv ...any) Params {
	out := make(Params, len(p)+len(kv)/2)
	for k, v := range p {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}
