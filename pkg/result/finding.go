package result

import (
	"sort"
	"time"
)

// Finding is one problem found. Field names are part of the JSON contract (docs/output.md).
// Findings are built from the cause catalogue (pkg/diagnose), never by hand.
type Finding struct {
	Severity Severity `json:"severity"`
	// Code is a stable machine name for the cause, e.g. "CertificateExpired".
	Code string `json:"code"`
	// Title is the cause in a few words (the catalogue entry's), for one-line summaries.
	Title string `json:"title,omitempty"`
	// Source is where the evidence came from: "kubeconfig", "apiserver", "secret", ...
	Source string `json:"source"`
	// Subject names the object or file, e.g. "secret default/web-tls" or "/etc/kubernetes/pki/apiserver.crt".
	Subject string `json:"subject"`
	// Message says what is wrong, in one or two sentences.
	Message string `json:"message"`
	// Error is the exact error text clients see because of this problem, when there is one.
	Error string `json:"error,omitempty"`
	// ErrorPredicted is true when Error is what clients will see, assembled by certdoctor,
	// rather than a text the API server or a TLS handshake returned to certdoctor.
	ErrorPredicted bool `json:"errorPredicted,omitempty"`
	// Fix is what to do, as commands where possible; may span several lines.
	Fix string `json:"fix,omitempty"`
	// NotAfter is the certificate's expiry, for findings about one certificate's validity
	// (so that the soonest are listed first).
	NotAfter *time.Time `json:"notAfter,omitempty"`
	// Consequences are the later checks that failed because of this one: one broken
	// link is one finding, with what it broke listed under it.
	Consequences []string `json:"consequences,omitempty"`
	// Cluster is the kubeconfig context the finding is about, in a report that spans
	// several (--contexts); empty in a one-cluster report.
	Cluster string `json:"cluster,omitempty"`
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

// Check is one step of a walk and how it went. Unlike a Finding it may be OK.
type Check struct {
	// Group is what the step belongs to: a webhook, or a certificate source for sans.
	Group    string   `json:"group"`
	Name     string   `json:"name"`
	Severity Severity `json:"severity"`
	// Detail is the evidence: what was seen.
	Detail string `json:"detail"`
	// Cluster is the kubeconfig context, in a report that spans several (--contexts).
	Cluster string `json:"cluster,omitempty"`
}
