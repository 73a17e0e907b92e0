// Package sources finds certificates where a cluster keeps them: the kubeconfig, the live
// API server, cluster objects, a control-plane node's files. Each place is a Source;
// all of them report into one Collector, which rates every certificate once.
package sources

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// Source is one place certificates come from.
type Source interface {
	// Name is the source kind as it appears in output ("secret", "apiserver", ...).
	Name() string
	// Collect reports certificates, findings and notes into c. It returns an error only
	// when the source could not run at all; per-object problems are findings.
	Collect(ctx context.Context, c *Collector) error
}

// Collector gathers what the sources find. It is safe for concurrent use.
type Collector struct {
	Now        time.Time
	WarnWithin time.Duration

	mu       sync.Mutex
	records  []result.Record
	findings []result.Finding
	notes    []string
}

// NewCollector rates certificates as of now, warning warnWithin before expiry.
func NewCollector(now time.Time, warnWithin time.Duration) *Collector {
	return &Collector{Now: now, WarnWithin: warnWithin}
}

// Add records a certificate (or a missing one, when r.CertInfo is nil and r.Status is
// MISSING) and raises the expiry finding its status calls for, with a fix fitted to ctx.
func (c *Collector) Add(r result.Record, ctx diagnose.CertContext) {
	c.rate(&r, &ctx)
	f := diagnose.CertificateFinding(ctx, r.Status, r.CertInfo, c.Now, c.WarnWithin)
	c.record(r, ctx, f)
}

// rate sets a record's status and residual time, and fills in what the context of its
// findings leaves out from the record.
func (c *Collector) rate(r *result.Record, ctx *diagnose.CertContext) {
	if r.CertInfo != nil {
		r.Status = r.CertInfo.StatusAt(c.Now, c.WarnWithin)
		r.Residual = certs.Residual(r.CertInfo.NotAfter, c.Now)
	} else if r.Status == "" {
		r.Status = result.StatusMissing
	}
	fillContext(ctx, *r)
}

// fillContext names a finding's source, subject and node after the record it is about,
// where the context does not already.
func fillContext(ctx *diagnose.CertContext, r result.Record) {
	if ctx.Source == "" {
		ctx.Source = r.Source
	}
	if ctx.Subject == "" {
		ctx.Subject = r.Location
	}
	if ctx.Node == "" {
		ctx.Node = r.Node
	}
}

// record keeps a rated certificate with its validity finding (nil for none) and the
// weak-crypto findings every certificate is judged by.
func (c *Collector) record(r result.Record, ctx diagnose.CertContext, validity *result.Finding) {
	weak := diagnose.CryptoFindings(ctx, r.CertInfo)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.records = append(c.records, r)
	if validity != nil {
		c.findings = append(c.findings, *validity)
	}
	c.findings = append(c.findings, weak...)
}

// AddBundle records the CA certificates of a trust bundle (kube-root-ca.crt, a secret's
// ca.crt, a trust-manager target): a set clients trust as a whole, so the set is judged
// rather than each CA. An expired CA next to valid ones is a stale entry, since clients
// verify with the others; a CA not yet valid next to valid ones is a rotation prepared
// ahead; the bundle fails only when no CA in it is valid, and warns when its last valid
// CA expires soon. A single certificate, or data that is not all CAs (a chain), is
// judged as AddChain judges it.
func (c *Collector) AddBundle(bundle []*result.CertInfo, base result.Record, ctx diagnose.CertContext) {
	if len(bundle) < 2 || !allCAs(bundle) {
		c.AddChain(bundle, base, ctx)
		return
	}
	ctx.IsCA = true
	fillContext(&ctx, base) // the bundle's findings name it as its records do
	var expired []*result.CertInfo
	var last, soonest *result.CertInfo // the valid CA that expires last; the CA that starts first
	for _, info := range bundle {
		switch st := info.StatusAt(c.Now, c.WarnWithin); st {
		case result.StatusExpired:
			expired = append(expired, info)
		case result.StatusOK, result.StatusExpiring:
			if last == nil || info.NotAfter.After(last.NotAfter) {
				last = info
			}
		}
		if soonest == nil || info.NotBefore.Before(soonest.NotBefore) {
			soonest = info
		}
	}
	var validity *result.Finding
	switch {
	case last == nil && len(expired) > 0:
		f := diagnose.BundleExpired(ctx, latest(expired), len(bundle), c.Now)
		validity = &f
	case last == nil: // none expired, none valid yet
		validity = diagnose.CertificateFinding(ctx, result.StatusNotYetValid, soonest, c.Now, c.WarnWithin)
	default:
		validity = diagnose.CertificateFinding(ctx, last.StatusAt(c.Now, c.WarnWithin), last, c.Now, c.WarnWithin)
		if len(expired) > 0 {
			c.Finding(diagnose.BundleStale(ctx, expired, len(bundle)-len(expired)))
		}
	}
	for i, info := range bundle {
		r := base
		r.CertInfo = info
		r.Location = fmt.Sprintf("%s[%d]", base.Location, i)
		cctx := ctx
		c.rate(&r, &cctx)
		if i > 0 {
			validity = nil // the bundle's one validity finding goes with its first record
		}
		c.record(r, cctx, validity)
	}
}

func allCAs(infos []*result.CertInfo) bool {
	for _, i := range infos {
		if !i.IsCA {
			return false
		}
	}
	return true
}

// latest is the certificate that expires last.
func latest(infos []*result.CertInfo) *result.CertInfo {
	l := infos[0]
	for _, i := range infos[1:] {
		if i.NotAfter.After(l.NotAfter) {
			l = i
		}
	}
	return l
}

// AddChain records every certificate of a bundle; the leaf keeps name, the others are
// numbered so an expired intermediate is found as surely as an expired leaf.
func (c *Collector) AddChain(chain []*result.CertInfo, base result.Record, ctx diagnose.CertContext) {
	c.addChain(chain, base, ctx, true)
}

// AddJudged records the certificates of a chain whose validity another check judges,
// in its own words (a webhook walk judges its caBundle): no validity finding, so one
// expired CA is not reported twice. The weak-crypto rules still apply.
func (c *Collector) AddJudged(chain []*result.CertInfo, base result.Record, ctx diagnose.CertContext) {
	c.addChain(chain, base, ctx, false)
}

func (c *Collector) addChain(chain []*result.CertInfo, base result.Record, ctx diagnose.CertContext, validity bool) {
	for i, info := range chain {
		r := base
		r.CertInfo = info
		if len(chain) > 1 {
			r.Location = fmt.Sprintf("%s[%d]", base.Location, i)
		}
		cctx := ctx
		// The issuer of the certificate before it is used as a CA, whatever it claims to be.
		cctx.IsCA = cctx.IsCA || info.IsCA || i > 0 && chain[i-1].Issuer == info.Subject
		if cctx.Subject == "" {
			cctx.Subject = r.Location
		}
		if validity {
			c.Add(r, cctx)
			continue
		}
		c.rate(&r, &cctx)
		c.record(r, cctx, nil)
	}
}

// denied records a list the API server refused for want of permission as a finding, and
// says so: the source then goes on without that list (a denial is a finding, not a
// failure of the source).
func denied(c *Collector, err error, source, resource, group, ns string) bool {
	if !apierrors.IsForbidden(err) {
		return false
	}
	c.Finding(diagnose.PermissionDenied(source, "list", resource, group, ns, err))
	return true
}

// Finding records a problem that is not a certificate's expiry.
func (c *Collector) Finding(f result.Finding) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.findings = append(c.findings, f)
}

// Note records something the user should know that is not a problem (a skipped
// source, a CRD that is not installed).
func (c *Collector) Note(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notes = append(c.notes, fmt.Sprintf(format, args...))
}

// Results returns what was collected, in a stable order: records by source then
// location, findings by severity (worst first) then source and subject.
func (c *Collector) Results() ([]result.Record, []result.Finding, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	recs := append([]result.Record(nil), c.records...)
	sort.SliceStable(recs, func(i, j int) bool {
		if recs[i].Source != recs[j].Source {
			return sourceOrder(recs[i].Source) < sourceOrder(recs[j].Source)
		}
		if recs[i].Node != recs[j].Node {
			return recs[i].Node < recs[j].Node
		}
		return recs[i].Location < recs[j].Location
	})
	fs := append([]result.Finding(nil), c.findings...)
	result.SortFindings(fs)
	fs = diagnose.CoalesceThrottled(fs)
	notes := append([]string(nil), c.notes...)
	sort.Strings(notes)
	return recs, fs, notes
}

// sourceOrder lists sources from the user's side inwards: what they hold, what the
// server presents, then what the cluster stores.
func sourceOrder(s string) int {
	for i, name := range []string{result.SourceKubeconfig, result.SourceAPIServer, result.SourceLocal, result.SourceNode,
		result.SourceSecret, result.SourceConfigMap, result.SourceWebhook, result.SourceAPIService, result.SourceCRD,
		result.SourceCertManager, result.SourceKubeconfigSecret} {
		if s == name {
			return i
		}
	}
	return 100
}

// Run collects from every source concurrently. A source that fails outright becomes a
// finding from classifyError (RBAC, auth, reachability) so the others still report.
func Run(ctx context.Context, c *Collector, srcs []Source) {
	var wg sync.WaitGroup
	for _, s := range srcs {
		wg.Add(1)
		go func(s Source) {
			defer wg.Done()
			if err := s.Collect(ctx, c); err != nil {
				c.Finding(diagnose.FromAPIError(s.Name(), "", err))
			}
		}(s)
	}
	wg.Wait()
}
