package result

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
