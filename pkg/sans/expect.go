// Package sans decides which names and addresses the API server's certificate must
// cover and checks certificates against them (seed 002: after a network migration the
// kubernetes Service moved to 10.254.0.1 and the certificate did not follow).
package sans

import (
	"fmt"
	"net"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Expected is one name or address clients use, and why it is expected.
type Expected struct {
	Value string `json:"value"`
	Why   string `json:"why"`
}

// Set is an ordered, de-duplicated list of expectations.
type Set struct {
	items []Expected
	seen  map[string]bool
}

// Add records value (normalised) once; the first reason given wins.
func (s *Set) Add(value, why string) {
	v := Normalize(value)
	if v == "" {
		return
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	if s.seen[v] {
		return
	}
	s.seen[v] = true
	s.items = append(s.items, Expected{Value: v, Why: why})
}

// Items returns the expectations, IPs first, then names, each group in insertion order.
func (s *Set) Items() []Expected {
	out := append([]Expected(nil), s.items...)
	sort.SliceStable(out, func(i, j int) bool { return isIP(out[i].Value) && !isIP(out[j].Value) })
	return out
}

// Normalize lower-cases names, strips IPv6 brackets and a trailing dot.
func Normalize(s string) string {
	s = strings.TrimSpace(strings.Trim(strings.TrimSpace(s), "[]"))
	if ip := net.ParseIP(s); ip != nil {
		return ip.String()
	}
	return strings.TrimSuffix(strings.ToLower(s), ".")
}

func isIP(s string) bool { return net.ParseIP(s) != nil }

// looksLikeIPv4 is true for four dot-separated numbers: "999.1.1.1" is a mistyped
// address, not a DNS name (DNS allows all-digit labels, clients would look it up).
func looksLikeIPv4(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// ValidateEntry accepts an IP address or a DNS name (a leading "*." wildcard allowed).
// Four dot-separated numbers that are not an IPv4 address ("999.1.1.1", "10.0.0.01")
// are refused: DNS would take them as a name, the user meant an address.
func ValidateEntry(s string) error {
	v := Normalize(s)
	if v == "" {
		return fmt.Errorf("empty --expect entry")
	}
	if isIP(v) {
		return nil
	}
	if looksLikeIPv4(v) {
		return fmt.Errorf("--expect %q looks like an IPv4 address but is not one: each of its four numbers must be 0 to 255, without leading zeros", s)
	}
	var errs []string
	if strings.HasPrefix(v, "*.") {
		errs = validation.IsWildcardDNS1123Subdomain(v)
	} else {
		errs = validation.IsDNS1123Subdomain(v)
	}
	if len(errs) > 0 {
		return fmt.Errorf("--expect %q is neither an IP address nor a valid DNS name: %s", s, errs[0])
	}
	return nil
}

// ServiceNames are the names in-cluster clients use for the API server.
func ServiceNames(domain string) []string {
	names := []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc"}
	if domain != "" {
		names = append(names, "kubernetes.default.svc."+domain)
	}
	return names
}

// FirstIP is the first usable address of a CIDR: the kubernetes Service's ClusterIP.
func FirstIP(cidr string) (string, error) {
	_, n, err := net.ParseCIDR(strings.TrimSpace(cidr))
	if err != nil {
		return "", err
	}
	ip := append(net.IP(nil), n.IP...)
	for i := len(ip) - 1; i >= 0; i-- {
		ip[i]++
		if ip[i] != 0 {
			break
		}
	}
	return ip.String(), nil
}
