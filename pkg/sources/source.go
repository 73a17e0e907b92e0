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

	"github.com/certdoctor/kubectl-certdoctor/pkg/certs"
	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
)

// Source is one place certificates come from.
type Source interface {
	// Name is the source kind as it appears in output ("secret", "apiserver", ...).
	Name() string
	// Collect reports certificates, findings and notes into c. It returns an error only
	// when the source could not run at all; per-object problems are findings.
	Collect(ctx context.Context, c *Collector) error
}

// KubeadmRow places a certificate in kubeadm's check-expiration table.
type KubeadmRow struct {
	// Table is which table the row belongs in: kubeadm's "certificates" or
	// "authorities", or "kubelet" for the kubelet's certificates kubeadm does not list.
	Table             string `json:"table"`
	Name              string `json:"name"`
	CAName            string `json:"caName,omitempty"`
	IsCA              bool   `json:"isCA"`
	ExternallyManaged bool   `json:"externallyManaged"`
}

// Kubeadm table names.
const (
	TableCertificates = "certificates"
	TableAuthorities  = "authorities"
	TableKubelet      = "kubelet"
)

// Record is one certificate at one place. JSON field names are a documented contract.
type Record struct {
	Source   string `json:"source"`
	Name     string `json:"name"`
	Location string `json:"location"`
	Node     string `json:"node,omitempty"`
	*certs.Info
	Status   certs.Status `json:"status"`
	Residual string       `json:"residual,omitempty"`
	Kubeadm  *KubeadmRow  `json:"kubeadm,omitempty"`
}

// Collector gathers what the sources find. It is safe for concurrent use.
type Collector struct {
	Now        time.Time
	WarnWithin time.Duration

	mu       sync.Mutex
	records  []Record
	findings []diagnose.Finding
	notes    []string
}

// NewCollector rates certificates as of now, warning warnWithin before expiry.
func NewCollector(now time.Time, warnWithin time.Duration) *Collector {
	return &Collector{Now: now, WarnWithin: warnWithin}
}

// Add records a certificate (or a missing one, when r.Info is nil and r.Status is
// MISSING) and raises the expiry finding its status calls for, with a fix fitted to ctx.
func (c *Collector) Add(r Record, ctx diagnose.CertContext) {
	if r.Info != nil {
		r.Status = r.Info.StatusAt(c.Now, c.WarnWithin)
		r.Residual = certs.Residual(r.Info.NotAfter, c.Now)
	} else if r.Status == "" {
		r.Status = certs.StatusMissing
	}
	if ctx.Source == "" {
		ctx.Source = r.Source
	}
	if ctx.Subject == "" {
		ctx.Subject = r.Location
	}
	if ctx.Node == "" {
		ctx.Node = r.Node
	}
	f := diagnose.CertificateFinding(ctx, r.Status, r.Info, c.Now, c.WarnWithin)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.records = append(c.records, r)
	if f != nil {
		c.findings = append(c.findings, *f)
	}
}

// AddChain records every certificate of a bundle; the leaf keeps name, the others are
// numbered so an expired intermediate is found as surely as an expired leaf.
func (c *Collector) AddChain(chain []*certs.Info, base Record, ctx diagnose.CertContext) {
	for i, info := range chain {
		r := base
		r.Info = info
		if len(chain) > 1 {
			r.Location = fmt.Sprintf("%s[%d]", base.Location, i)
		}
		cctx := ctx
		cctx.IsCA = cctx.IsCA || info.IsCA
		if cctx.Subject == "" {
			cctx.Subject = r.Location
		}
		c.Add(r, cctx)
	}
}

// Finding records a problem that is not a certificate's expiry.
func (c *Collector) Finding(f diagnose.Finding) {
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
func (c *Collector) Results() ([]Record, []diagnose.Finding, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	recs := append([]Record(nil), c.records...)
	sort.SliceStable(recs, func(i, j int) bool {
		if recs[i].Source != recs[j].Source {
			return sourceOrder(recs[i].Source) < sourceOrder(recs[j].Source)
		}
		if recs[i].Node != recs[j].Node {
			return recs[i].Node < recs[j].Node
		}
		return recs[i].Location < recs[j].Location
	})
	fs := append([]diagnose.Finding(nil), c.findings...)
	diagnose.SortFindings(fs)
	notes := append([]string(nil), c.notes...)
	sort.Strings(notes)
	return recs, fs, notes
}

// sourceOrder lists sources from the user's side inwards: what they hold, what the
// server presents, then what the cluster stores.
func sourceOrder(s string) int {
	for i, name := range []string{SourceKubeconfig, SourceAPIServer, SourceLocal, SourceNode,
		SourceSecret, SourceConfigMap, SourceWebhook, SourceAPIService, SourceCRD,
		SourceCertManager, SourceKubeconfigSecret} {
		if s == name {
			return i
		}
	}
	return 100
}

// Source kinds, as they appear in output.
const (
	SourceKubeconfig       = "kubeconfig"
	SourceAPIServer        = "apiserver"
	SourceLocal            = "local"
	SourceNode             = "node"
	SourceSecret           = "secret"
	SourceConfigMap        = "configmap"
	SourceWebhook          = "webhook"
	SourceAPIService       = "apiservice"
	SourceCRD              = "crd"
	SourceCertManager      = "cert-manager"
	SourceKubeconfigSecret = "kubeconfig-secret"
)

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
