package sources

import (
	"context"
	"sort"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// IssueGrace is how long an approved CSR of a kubernetes.io signer may wait for its
// certificate: kube-controller-manager's csrsigning controller signs within seconds, so
// one still waiting after this has no signer.
const IssueGrace = 5 * time.Minute

// CSRs reports the CertificateSigningRequests that stand in a certificate's way: a
// kubelet's serving or client request nobody approves, denied and failed requests, and
// approved ones no signer issues. A CSR is not a certificate: nothing is recorded for
// it, and issued certificates are the other sources' business.
type CSRs struct {
	Client kubernetes.Interface
}

func (s *CSRs) Name() string { return result.SourceCSR }

// Collect implements Source.
func (s *CSRs) Collect(ctx context.Context, c *Collector) error {
	var views []csrView
	err := eachPage(ctx, metav1.ListOptions{}, func(ctx context.Context, o metav1.ListOptions) ([]certificatesv1.CertificateSigningRequest, string, error) {
		l, err := s.Client.CertificatesV1().CertificateSigningRequests().List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}, func(items []certificatesv1.CertificateSigningRequest) {
		for i := range items {
			views = append(views, viewCSR(&items[i]))
		}
	})
	if denied(c, err, result.SourceCSR, "certificatesigningrequests", "certificates.k8s.io", "") {
		return nil
	}
	if err != nil {
		return err
	}
	for _, p := range csrProblems(views, c.Now) {
		c.Finding(p.finding(c.Now))
	}
	return nil
}

// csrProblem is one requester's (a node's) outstanding requests of one signer in one
// state: a kubelet that retries makes a CSR every few minutes, and the user has one
// thing to do about all of them.
type csrProblem struct {
	kind csrKind
	reqs []csrView
}

// csrKind is a problem's finding: code and variant.
type csrKind struct{ code, variant string }

var (
	kindServingPending = csrKind{diagnose.CodeKubeletServingCertificate, "pending"}
	kindClientPending  = csrKind{diagnose.CodeKubeletClientCSR, "pending"}
	kindClientDenied   = csrKind{diagnose.CodeKubeletClientCSR, "denied"}
	kindDenied         = csrKind{diagnose.CodeCSRDenied, "denied"}
	kindFailed         = csrKind{diagnose.CodeCSRDenied, "failed"}
	kindNotIssued      = csrKind{diagnose.CodeCSRNotIssued, ""}
)

// csrProblems groups the requests by requester and signer. Only requests made after the
// group's newest issued one count: that one superseded them (a kubelet that was given a
// certificate has stopped waiting for the older requests, which the CSR cleaner deletes).
func csrProblems(views []csrView, now time.Time) []csrProblem {
	groups := map[string][]csrView{}
	for _, v := range views {
		k := v.requester() + "\x00" + v.signer
		groups[k] = append(groups[k], v)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []csrProblem
	for _, k := range keys {
		g := groups[k]
		sort.Slice(g, func(i, j int) bool { return g[i].created.Before(g[j].created) })
		var lastIssued time.Time
		for _, v := range g {
			if v.state == csrIssued && v.created.After(lastIssued) {
				lastIssued = v.created
			}
		}
		byKind := map[csrKind][]csrView{}
		var order []csrKind
		for _, v := range g {
			if !v.created.After(lastIssued) {
				continue
			}
			kind, ok := classify(v, now)
			if !ok {
				continue
			}
			if byKind[kind] == nil {
				order = append(order, kind)
			}
			byKind[kind] = append(byKind[kind], v)
		}
		for _, kind := range order {
			out = append(out, csrProblem{kind: kind, reqs: byKind[kind]})
		}
	}
	return out
}

// classify names the problem a request that was not superseded is, if any.
func classify(v csrView, now time.Time) (csrKind, bool) {
	switch v.state {
	case csrPending:
		switch v.signer {
		case certificatesv1.KubeletServingSignerName:
			return kindServingPending, true
		case certificatesv1.KubeAPIServerClientKubeletSignerName:
			return kindClientPending, true
		}
	case csrDenied:
		if v.signer == certificatesv1.KubeAPIServerClientKubeletSignerName {
			return kindClientDenied, true
		}
		return kindDenied, true
	case csrFailed:
		return kindFailed, true
	case csrApproved:
		// Only kube-controller-manager's own signers are known to sign at once; another
		// signer may batch or wait for a human.
		if strings.HasPrefix(v.signer, "kubernetes.io/") && now.Sub(v.since) >= IssueGrace {
			return kindNotIssued, true
		}
	}
	return csrKind{}, false
}

// finding builds the one finding for the group; the newest request is the one to act
// on, the oldest says how long the requester has waited.
func (p csrProblem) finding(now time.Time) result.Finding {
	newest, oldest := p.reqs[len(p.reqs)-1], p.reqs[0]
	names := make([]string, len(p.reqs))
	for i, r := range p.reqs {
		names[i] = r.name
	}
	sans := strings.Join(newest.sans, ", ")
	switch {
	case newest.badRequest != "":
		sans = "unknown (" + newest.badRequest + ")"
	case sans == "":
		sans = "none"
	}
	return diagnose.NewVariant(p.kind.code, p.kind.variant, diagnose.Where{Source: result.SourceCSR, Subject: "csr " + newest.name},
		diagnose.Params{"csr": newest.name, "node": newest.node, "requester": newest.requester(), "username": newest.username,
			"signer": newest.signer, "count": len(p.reqs), "many": len(p.reqs) > 1, "names": abbreviate(names, 5), "sans": sans,
			"age": diagnose.ShortDuration(now.Sub(oldest.created)), "since": diagnose.ShortDuration(now.Sub(newest.since)),
			"reason": newest.reason})
}
