package result

import "time"

// Identity is who a command runs as: what the kubeconfig presents (offline) and what the
// API server made of it. Field names are part of the JSON contract (docs/output.md).
type Identity struct {
	// Context and User are the kubeconfig context and its user entry.
	Context string `json:"context,omitempty"`
	User    string `json:"user,omitempty"`
	Server  string `json:"server,omitempty"`
	// Credential is what the kubeconfig user entry presents to the API server.
	Credential Credential `json:"credential"`
	// Impersonating is the identity --as/--as-group/--as-uid asks for, when given: the
	// API server then authorises that identity, not the credential's.
	Impersonating *UserInfo `json:"impersonating,omitempty"`
	// Authenticated is what the API server says the request runs as (SelfSubjectReview);
	// nil when it could not be asked (a note says why).
	Authenticated *UserInfo `json:"authenticated,omitempty"`
}

// Credential kinds a kubeconfig user entry can hold.
const (
	CredentialClientCertificate = "client-certificate"
	CredentialToken             = "token"
	CredentialExec              = "exec"
	CredentialAuthProvider      = "auth-provider"
	CredentialBasic             = "basic"
	CredentialNone              = "none"
)

// Credential describes a kubeconfig user entry's credentials without any secret part:
// never the token, its signature, a password or a private key.
type Credential struct {
	// Kinds are every credential the entry holds (client-go sends them all; the API
	// server takes the first it accepts, a client certificate before a token).
	Kinds []string `json:"kinds"`
	// Certificate is the client certificate, when there is one.
	Certificate *ClientCertificate `json:"certificate,omitempty"`
	// Token is what can be read of the bearer token, when there is one.
	Token *Token `json:"token,omitempty"`
	// Exec is the exec plugin's command, and the file it resolves to on PATH ("" when
	// it is not found).
	Exec     string `json:"exec,omitempty"`
	ExecPath string `json:"execPath,omitempty"`
	// AuthProvider names a legacy auth-provider plugin (gcp, oidc, azure).
	AuthProvider string `json:"authProvider,omitempty"`
	// Username is the basic-auth user name.
	Username string `json:"username,omitempty"`
	// Problems say which credential could not be read, and why.
	Problems []string `json:"problems,omitempty"`
}

// ClientCertificate is the identity a client certificate carries.
type ClientCertificate struct {
	// User is the subject CN, Groups the O values: what the API server derives.
	User      string    `json:"user"`
	Groups    []string  `json:"groups,omitempty"`
	Issuer    string    `json:"issuer"`
	NotBefore time.Time `json:"notBefore"`
	NotAfter  time.Time `json:"notAfter"`
	// SignedByClusterCA says whether it verifies against the kubeconfig cluster's CA;
	// absent when there is no CA to check with.
	SignedByClusterCA *bool `json:"signedByClusterCA,omitempty"`
}

// Token is what a JWT bearer token's claims say; Opaque when it is no JWT.
type Token struct {
	Opaque    bool       `json:"opaque,omitempty"`
	Issuer    string     `json:"issuer,omitempty"`
	Subject   string     `json:"subject,omitempty"`
	Audiences []string   `json:"audiences,omitempty"`
	NotBefore *time.Time `json:"notBefore,omitempty"`
	Expires   *time.Time `json:"expires,omitempty"`
}

// UserInfo is an identity as the API server knows it.
type UserInfo struct {
	Username string              `json:"username"`
	UID      string              `json:"uid,omitempty"`
	Groups   []string            `json:"groups,omitempty"`
	Extra    map[string][]string `json:"extra,omitempty"`
}

// Permission results.
const (
	Allowed = "allowed"
	Denied  = "denied"
	// Unknown: the API server could not be asked; never read as allowed.
	Unknown = "unknown"
)

// Permission is one request a check needs and whether the API server allows it.
type Permission struct {
	Verb        string `json:"verb"`
	Group       string `json:"group,omitempty"`
	Resource    string `json:"resource"`
	Subresource string `json:"subresource,omitempty"`
	Name        string `json:"name,omitempty"`
	// Path is a non-resource URL (such as /openid/v1/jwks), instead of a resource.
	Path string `json:"path,omitempty"`
	// Namespace is where it was asked; "" means every namespace, or the cluster scope
	// for a cluster-scoped resource (ClusterScoped).
	Namespace     string `json:"namespace,omitempty"`
	ClusterScoped bool   `json:"clusterScoped,omitempty"`
	// Checks are what the permission is needed for; a denial blinds them.
	Checks []string `json:"checks"`
	Result string   `json:"result"`
	// Reason is the authorizer's reason or the error that kept it from being asked.
	Reason string `json:"reason,omitempty"`
	// Rule is the ClusterRole rule that grants it, as YAML on one line, and Role the
	// role of deploy/rbac.yaml that holds it.
	Rule string `json:"rule"`
	Role string `json:"role"`
	// Cluster is the kubeconfig context, in a report that spans several (--contexts).
	Cluster string `json:"cluster,omitempty"`
}

// ResourceName is the resource as kubectl names it: resource.group/subresource.
func (p Permission) ResourceName() string {
	if p.Path != "" {
		return p.Path
	}
	r := p.Resource
	if p.Group != "" {
		r += "." + p.Group
	}
	if p.Subresource != "" {
		r += "/" + p.Subresource
	}
	return r
}
