// Package diagnose holds what certdoctor concludes: findings (a problem, its cause in
// the words of the error users see, and the fix) and the named causes behind them.
// Findings are data; pkg/report decides how they look.
package diagnose

import "strings"

// Severity orders how bad a result is. The JSON form is the upper-case name.
type Severity int

const (
	OK Severity = iota
	Warning
	Critical
)

func (s Severity) String() string {
	switch s {
	case Warning:
		return "WARNING"
	case Critical:
		return "CRITICAL"
	default:
		return "OK"
	}
}

// MarshalText makes Severity serialise as "OK", "WARNING" or "CRITICAL".
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText accepts the names MarshalText writes.
func (s *Severity) UnmarshalText(b []byte) error {
	switch strings.ToUpper(string(b)) {
	case "WARNING":
		*s = Warning
	case "CRITICAL":
		*s = Critical
	default:
		*s = OK
	}
	return nil
}

// Finding is one problem found. Field names are part of the JSON contract (docs/output.md).
type Finding struct {
	Severity Severity `json:"severity"`
	// Code is a stable machine name for the cause, e.g. "CertificateExpired".
	Code string `json:"code"`
	// Source is where the evidence came from: "kubeconfig", "apiserver", "secret", ...
	Source string `json:"source"`
	// Subject names the object or file, e.g. "secret default/web-tls" or "/etc/kubernetes/pki/apiserver.crt".
	Subject string `json:"subject"`
	// Message says what is wrong, in one or two sentences.
	Message string `json:"message"`
	// Error is the exact error text clients see because of this problem, when there is one.
	Error string `json:"error,omitempty"`
	// Fix is what to do, as commands where possible; may span several lines.
	Fix string `json:"fix,omitempty"`
}
