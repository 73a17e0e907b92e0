package diagnose

import (
	"errors"
	"fmt"
	"net"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// FromAPIError turns an error from a call to the API server into a finding with a
// named cause: RBAC denial, rejected credentials, an unreachable or untrusted server.
func FromAPIError(source, subject string, err error) Finding {
	f := Finding{Source: source, Subject: subject, Error: oneLine(err.Error())}
	switch {
	case apierrors.IsForbidden(err):
		f.Severity, f.Code = Warning, CodePermissionDenied
		f.Message = "RBAC denied a request, so this source was not checked: " + oneLine(err.Error())
		f.Fix = "ask for read access to it (or run as a user who has it): kubectl auth can-i --list shows what you may do"
	case apierrors.IsUnauthorized(err):
		f.Severity, f.Code = Critical, CodeUnauthorized
		f.Message = "the API server did not accept your credentials (401): the client certificate may be expired or not signed by the cluster CA, or the token is expired or revoked"
		f.Error = "error: You must be logged in to the server (Unauthorized)"
		f.Fix = "check the kubeconfig's client certificate rows above; renew it (kubeadm: kubeadm certs renew admin.conf and copy /etc/kubernetes/admin.conf) or log in again"
	case IsConnectError(err):
		f.Severity, f.Code = Critical, CodeUnreachable
		f.Message = "cannot reach the API server: " + oneLine(err.Error())
		f.Fix = "check the server address in the kubeconfig (kubectl config view --minify), that kube-apiserver runs (crictl ps --name kube-apiserver on a control-plane node) and that no firewall blocks the port; if the cluster is down, run certdoctor expiry --local on a control-plane node"
	default:
		f.Severity, f.Code = Warning, CodeSourceFailed
		f.Message = "could not read this source: " + oneLine(err.Error())
	}
	if subject == "" {
		f.Subject = source
	}
	return f
}

// PermissionDenied is the finding for a forbidden request, naming the verb and resource
// the user lacks and the ClusterRole rule that would grant it.
func PermissionDenied(source, verb, resource, group, namespace string, err error) Finding {
	scope := "at the cluster scope"
	if namespace != "" {
		scope = "in namespace " + namespace
	}
	res := resource
	if group != "" {
		res = resource + "." + group
	}
	return Finding{
		Severity: Warning, Code: CodePermissionDenied, Source: source, Subject: res,
		Message: fmt.Sprintf("not allowed to %s %s %s, so %s certificates were not checked", verb, res, scope, source),
		Error:   oneLine(err.Error()),
		Fix: fmt.Sprintf("grant it, e.g.: kubectl create clusterrole certdoctor-reader --verb=get,list --resource=%s "+
			"&& kubectl create clusterrolebinding certdoctor-reader --clusterrole=certdoctor-reader --user=$(kubectl auth whoami -o jsonpath='{.status.userInfo.username}')", res),
	}
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
		"no such host", "TLS handshake timeout", "connection reset by peer", "context deadline exceeded"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\r", " ")
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}
