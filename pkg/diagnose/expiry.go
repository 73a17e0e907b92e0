package diagnose

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
)

// Finding codes. They are part of the output contract (docs/output.md): add, never rename.
const (
	CodeExpired             = "CertificateExpired"
	CodeExpiring            = "CertificateExpiring"
	CodeNotYetValid         = "CertificateNotYetValid"
	CodeMissing             = "CertificateMissing"
	CodeInvalid             = "CertificateInvalid"
	CodeWrongIssuer         = "CertificateWrongIssuer"
	CodeUnknownAuthority    = "UnknownAuthority"
	CodeHostnameMismatch    = "HostnameMismatch"
	CodeUnreachable         = "APIServerUnreachable"
	CodeUnauthorized        = "Unauthorized"
	CodePermissionDenied    = "PermissionDenied"
	CodeSourceFailed        = "SourceFailed"
	CodeKubeconfigInvalid   = "KubeconfigInvalid"
	CodeStaleServing        = "ServingStaleCertificate"
	CodeCertificateNotReady = "CertificateNotReady"
)

// CertContext says where a certificate was found, so its finding names the fix that
// fits: a kubeadm file is renewed with kubeadm, a cert-manager secret with cmctl.
type CertContext struct {
	Source  string
	Subject string
	Node    string
	// KubeadmName is the certificate's name in `kubeadm certs check-expiration`.
	KubeadmName string
	IsCA        bool
	// CertManagerCertificate is "namespace/name" of the Certificate that owns a secret.
	CertManagerCertificate string
	// Namespace and Name of the object holding the certificate, when it is an object.
	Namespace, Name string
	// Webhook is the webhook name inside a configuration, for the client error text.
	Webhook string
	// Key is the data key of a secret holding the certificate ("tls.crt", "ca.crt").
	Key string
}

// CertificateFinding returns the finding a certificate's status calls for, or nil when
// there is nothing to say.
func CertificateFinding(ctx CertContext, st certs.Status, info *certs.Info, now time.Time, warnWithin time.Duration) *Finding {
	f := &Finding{Source: ctx.Source, Subject: ctx.Subject}
	what := "certificate"
	if ctx.IsCA {
		what = "CA certificate"
	}
	switch st {
	case certs.StatusExpired:
		f.Severity, f.Code = Critical, CodeExpired
		f.Message = fmt.Sprintf("%s %q expired %s ago (notAfter %s)", what, info.Subject,
			shortDuration(now.Sub(info.NotAfter)), info.NotAfter.Format(time.RFC3339))
		f.Error = clientError(ctx, certs.ExpiredError(info, now))
	case certs.StatusNotYetValid:
		f.Severity, f.Code = Critical, CodeNotYetValid
		f.Message = fmt.Sprintf("%s %q is not valid until %s: check the clock of the machine that issued it and of this one",
			what, info.Subject, info.NotBefore.Format(time.RFC3339))
		f.Error = clientError(ctx, certs.ExpiredError(info, now))
	case certs.StatusExpiring:
		f.Severity, f.Code = Warning, CodeExpiring
		f.Message = fmt.Sprintf("%s %q expires in %s (notAfter %s), within --warn-within %s", what, info.Subject,
			shortDuration(info.NotAfter.Sub(now)), info.NotAfter.Format(time.RFC3339), shortDuration(warnWithin))
	case certs.StatusMissing:
		if ctx.KubeadmName == "super-admin.conf" {
			return nil // kubeadm writes it on the first control-plane node only
		}
		f.Severity, f.Code = Warning, CodeMissing
		f.Message = fmt.Sprintf("%s is missing", ctx.Subject)
		f.Fix = missingFix(ctx)
		return f
	default:
		return nil
	}
	f.Fix = renewFix(ctx)
	return f
}

// InvalidCertificate is the finding for data that should be a certificate and is not.
func InvalidCertificate(source, subject string, err error) Finding {
	return Finding{Severity: Warning, Code: CodeInvalid, Source: source, Subject: subject,
		Message: fmt.Sprintf("does not hold a usable certificate: %v", err),
		Fix:     "replace the data with a PEM-encoded certificate (-----BEGIN CERTIFICATE-----); private keys belong in tls.key, never in tls.crt or ca.crt"}
}

// clientError is what a client of this certificate prints, in the source's words.
func clientError(ctx CertContext, x509Err string) string {
	switch ctx.Source {
	case "apiserver":
		return "Unable to connect to the server: " + x509Err
	case "kubeconfig", "kubeconfig-secret":
		if ctx.IsCA {
			return "Unable to connect to the server: " + x509Err
		}
		// The API server refuses an expired client certificate as unauthenticated.
		return "error: You must be logged in to the server (Unauthorized)"
	case "webhook", "apiservice", "crd":
		name := ctx.Webhook
		if name == "" {
			name = ctx.Name
		}
		return fmt.Sprintf("Internal error occurred: failed calling webhook %q: failed to call webhook: Post \"https://...\": %s", name, x509Err)
	}
	return x509Err
}

// SortFindings orders findings worst first, then by source and subject, so output is stable.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Severity != fs[j].Severity {
			return fs[i].Severity > fs[j].Severity
		}
		if fs[i].Source != fs[j].Source {
			return fs[i].Source < fs[j].Source
		}
		if fs[i].Subject != fs[j].Subject {
			return fs[i].Subject < fs[j].Subject
		}
		return fs[i].Code < fs[j].Code
	})
}

// Worst is the highest severity among fs (OK when empty).
func Worst(fs []Finding) Severity {
	w := OK
	for _, f := range fs {
		if f.Severity > w {
			w = f.Severity
		}
	}
	return w
}

// shortDuration prints d in the largest sensible unit: 3d, 5h, 12m, 40s.
func shortDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	case d >= time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	case d >= time.Minute:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	default:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
}

func lines(ls ...string) string { return strings.Join(ls, "\n") }
