package diagnose

import (
	"strings"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// BundleExpired is the finding for a trust bundle none of whose CAs is valid now; last
// is the one that expired last (or, when none has expired, the first not yet valid).
func BundleExpired(ctx CertContext, last *result.CertInfo, count int, now time.Time) result.Finding {
	ctx.IsCA = true
	p := with(certParams(ctx, last, now, 0), "count", count, "bundle", ctx.Subject)
	f := NewVariant(CodeExpired, "bundle", Where{ctx.Source, ctx.Subject}, p)
	na := last.NotAfter
	f.NotAfter = &na
	return f
}

// BundleStale is the warning for expired CAs left in a bundle whose other CAs are valid.
func BundleStale(ctx CertContext, expired []*result.CertInfo, valid int) result.Finding {
	names := make([]string, len(expired))
	for i, e := range expired {
		names[i] = certName(e) + " until " + e.NotAfter.UTC().Format(time.DateOnly)
	}
	ctx.IsCA = true
	p := with(certParams(ctx, nil, time.Time{}, 0), "bundle", ctx.Subject, "expiredCount", len(expired),
		"expired", strings.Join(names, ", "), "valid", valid)
	return New(CodeTrustBundleStaleCA, Where{ctx.Source, ctx.Subject}, p)
}

// BundleLacksIssuer is the finding for a bundle that holds a CA of the name that issued
// a certificate next to it, but not the CA that signed it; err is Go's verification error.
func BundleLacksIssuer(ctx CertContext, ca, certificate string, leaf *result.CertInfo, err string) result.Finding {
	ctx.IsCA = true
	p := with(certParams(ctx, nil, time.Time{}, 0), "bundle", ctx.Subject, "ca", ca, "secret", certificate,
		"subject", certName(leaf), "err", err)
	return NewVariant(CodeUnknownAuthority, "trust-bundle", Where{ctx.Source, ctx.Subject}, p)
}
