package diagnose

import (
	"errors"
	"net"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// FromAPIError turns an error from a call to the API server into a finding with a
// named cause: RBAC denial, rejected credentials, an unreachable server. Local errors
// are told apart with apierrors and errors.As, not by their text.
func FromAPIError(source, subject string, err error) result.Finding {
	if subject == "" {
		subject = source
	}
	at, p := Where{source, subject}, Params{"err": OneLine(err.Error())}
	switch {
	case apierrors.IsForbidden(err):
		if d, ok := ParseForbidden(err.Error()); ok {
			return permissionDenied(source, subject, d, err)
		}
		return NewVariant(CodePermissionDenied, "request", at, p)
	case apierrors.IsUnauthorized(err):
		return New(CodeUnauthorized, at, p)
	case IsThrottled(err):
		return New(CodeThrottled, at, p)

	case IsConnectError(err):
		return New(CodeUnreachable, at, p)
	}
	return New(CodeSourceFailed, at, p)
}

// ErrThrottled marks a request that failed (typically timed out, queued by API Priority
// and Fairness) after the API server had answered 429: the cause is throttling, not an
// unreachable server, though the error itself reads "context deadline exceeded".
var ErrThrottled = errors.New("the API server had answered 429 Too Many Requests before")

// IsThrottled says whether a request failed because the API server throttled it.
func IsThrottled(err error) bool {
	return apierrors.IsTooManyRequests(err) || errors.Is(err, ErrThrottled)
}

// Forbidden is what the API server's Forbidden message says was denied.
type Forbidden struct {
	User, Verb, Resource, Group, Namespace string
	// Permission is the IAM permission GKE names when IAM did not grant it either.
	Permission string
}

// ParseForbidden reads the denied request from a Forbidden message, with the same
// pattern explain matches it by.
func ParseForbidden(msg string) (Forbidden, bool) {
	m, ok := Default().Classify(CodePermissionDenied, OneLine(msg))
	if !ok || m.Params["verb"] == "" {
		return Forbidden{}, false
	}
	p := m.Params
	return Forbidden{User: p["user"], Verb: p["verb"], Resource: p["resource"], Group: p["group"], Namespace: p["namespace"],
		Permission: p["permission"]}, true
}

// PermissionDenied is the finding for a forbidden request, naming the verb and resource
// the user lacks and the rule that would grant it. The user (and GKE's IAM permission)
// come from the API server's message when it names them.
func PermissionDenied(source, verb, resource, group, namespace string, err error) result.Finding {
	d := Forbidden{Verb: verb, Resource: resource, Group: group, Namespace: namespace}
	if parsed, ok := ParseForbidden(err.Error()); ok {
		d.User, d.Permission = parsed.User, parsed.Permission
	}
	return permissionDenied(source, "", d, err)
}

func permissionDenied(source, subject string, d Forbidden, err error) result.Finding {
	p := d.Params(err)
	if subject == "" || subject == source {
		subject = p["resource"].(string)
	}
	variant := ""
	if d.Permission != "" {
		variant = "gke-iam"
	}
	return NewVariant(CodePermissionDenied, variant, Where{source, subject}, p)
}

// Params are the PermissionDenied parameters for d, the API server's err quoted.
func (d Forbidden) Params(err error) Params {
	res := d.Resource
	if d.Group != "" {
		res = d.Resource + "." + d.Group
	}
	return Params{"verb": d.Verb, "resource": res, "scope": Scope(d.Namespace), "namespace": d.Namespace, "user": d.User,
		"permission": d.Permission, "err": OneLine(err.Error())}
}

// Scope says where a request applies, as the API server's messages do.
func Scope(namespace string) string {
	if namespace == "" {
		return "at the cluster scope"
	}
	return "in namespace " + namespace
}

// IsConnectError reports whether err means the server could not be reached at all.
func IsConnectError(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	if errors.As(err, &op) || errors.As(err, &dns) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"connection refused", "i/o timeout", "no route to host", "network is unreachable",
		"no such host", "TLS handshake timeout", "connection reset by peer", "context deadline exceeded",
		"Client.Timeout exceeded", "timeout awaiting response headers"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// OneLine folds a multi-line error text into one line.
func OneLine(s string) string {
	s = strings.ReplaceAll(s, "\r", " ")
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// CoalesceThrottled keeps one APIServerThrottled finding per cluster of a report:
// throttling is the API server's state, not each request's, and one cause is one
// finding. The others become consequences of the first ("secret secrets: ..."), so
// what could not be read is still said.
func CoalesceThrottled(fs []result.Finding) []result.Finding {
	first := map[string]int{} // cluster -> index in out
	out := make([]result.Finding, 0, len(fs))
	for _, f := range fs {
		i, seen := first[f.Cluster]
		switch {
		case f.Code != CodeThrottled:
			out = append(out, f)
		case !seen:
			first[f.Cluster] = len(out)
			f.Consequences = append([]string(nil), f.Consequences...)
			out = append(out, f)
		default:
			out[i].Consequences = append(out[i].Consequences, f.Source+" "+f.Subject+": not read ("+f.Message+")")
		}
	}
	return out
}
