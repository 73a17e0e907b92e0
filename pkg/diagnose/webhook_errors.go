package diagnose

import "regexp"

// CallFailure is a named cause of a failed webhook call, matched from the error text
// the API server relays (seed 001 lists each of these with how often users met it).
type CallFailure struct {
	Family string
	// Meaning says what the text implies about where the chain broke.
	Meaning string
}

var callFailures = []struct {
	re *regexp.Regexp
	f  CallFailure
}{
	{regexp.MustCompile(`service "[^"]*" not found`), CallFailure{"service not found", "clientConfig names a Service that does not exist (a typo, or a Helm release prefix doubled)"}},
	{regexp.MustCompile(`no endpoints available for service`), CallFailure{"no endpoints", "no pod behind the Service is Ready: check the pods and their readinessProbe"}},
	{regexp.MustCompile(`connect: connection refused`), CallFailure{"connection refused", "the packet reached a host where nothing listens on the port: the pod is not Ready, or containerPort and the secure port differ"}},
	{regexp.MustCompile(`i/o timeout`), CallFailure{"i/o timeout", "the TCP handshake got no answer: a firewall, security group or NetworkPolicy drops the API server's SYN (a connectivity problem, not a certificate)"}},
	{regexp.MustCompile(`net/http: TLS handshake timeout`), CallFailure{"TLS handshake timeout", "TCP worked but nothing answered the ClientHello: something other than the webhook's TLS server holds the port (a proxy waiting for HTTP)"}},
	{regexp.MustCompile(`request canceled while waiting for connection|awaiting headers`), CallFailure{"awaiting headers", "the webhook accepted the request but did not answer in time: it is slow or stuck"}},
	{regexp.MustCompile(`context deadline exceeded`), CallFailure{"context deadline exceeded", "timeoutSeconds ran out somewhere (DNS, TCP, TLS or the response): raise timeoutSeconds to 30 to see which"}},
	{regexp.MustCompile(`x509: certificate signed by unknown authority`), CallFailure{"x509 unknown authority", "caBundle does not hold the CA that signed the webhook's serving certificate"}},
	{regexp.MustCompile(`x509: certificate has expired or is not yet valid`), CallFailure{"x509 expired", "the serving certificate (or the caBundle CA) is outside its validity"}},
	{regexp.MustCompile(`x509: certificate is valid for`), CallFailure{"x509 valid for", "the serving certificate does not cover <service>.<namespace>.svc (on EKS Fargate: the kubelet answered on 10250)"}},
	{regexp.MustCompile(`Service Unavailable`), CallFailure{"Service Unavailable", "a proxy in the path (seen with Weave CNI) answered instead of the webhook"}},
	{regexp.MustCompile(`the server is currently unable to handle the request`), CallFailure{"unable to handle the request", "an aggregated API (APIService) behind the call is not available"}},
	{regexp.MustCompile(`is managed and access is denied`), CallFailure{"GKE Autopilot managed", "GKE Autopilot manages this object: it cannot be read or changed"}},
	{regexp.MustCompile(`leases.coordination.k8s.io is forbidden`), CallFailure{"leader election forbidden", "the controller cannot take its leader lease in that namespace (GKE Autopilot forbids kube-system): set global.leaderElection.namespace"}},
}

// ClassifyCallError names the cause in a webhook call's error text; ok is false when
// the text matches no known family.
func ClassifyCallError(msg string) (CallFailure, bool) {
	for _, c := range callFailures {
		if c.re.MatchString(msg) {
			return c.f, true
		}
	}
	return CallFailure{}, false
}
