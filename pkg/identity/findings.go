package identity

import (
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// Offline are the findings the kubeconfig's credentials give without asking the cluster:
// an exec plugin that is not installed, a token past its exp claim. (The client
// certificate's dates are the kubeconfig source's findings.)
func Offline(id *result.Identity, now time.Time) []result.Finding {
	var out []result.Finding
	at := diagnose.Where{Source: result.SourceKubeconfig, Subject: "user " + id.User}
	cred := id.Credential
	if cred.Exec != "" && cred.ExecPath == "" {
		p := execParams(cred.Exec)
		out = append(out, diagnose.NewVariant(diagnose.CodeExecNotFound, p["family"].(string), at, p))
	}
	if t := cred.Token; t != nil && t.Expires != nil && now.After(*t.Expires) {
		out = append(out, diagnose.New(diagnose.CodeTokenExpired, at, diagnose.Params{"subject": t.Subject, "issuer": t.Issuer,
			"expired": when(*t.Expires, now), "user": id.User}))
	}
	return out
}

// Mismatch is the finding for an API server that authenticated someone other than the
// client certificate names (nil when they agree, or when impersonation explains it).
func Mismatch(id *result.Identity) *result.Finding {
	cert, got := id.Credential.Certificate, id.Authenticated
	if cert == nil || got == nil || id.Impersonating != nil {
		return nil
	}
	at := diagnose.Where{Source: result.SourceAPIServer, Subject: "user " + id.User}
	p := diagnose.Params{"certUser": cert.User, "certGroups": strings.Join(cert.Groups, ", "), "user": got.Username,
		"groups": strings.Join(got.Groups, ", ")}
	if got.Username != cert.User {
		f := diagnose.New(diagnose.CodeIdentityMismatch, at, p)
		return &f
	}
	var missing []string
	for _, g := range cert.Groups {
		if !slices.Contains(got.Groups, g) {
			missing = append(missing, g)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	p["missing"] = strings.Join(missing, ", ")
	f := diagnose.NewVariant(diagnose.CodeIdentityMismatch, "groups", at, p)
	return &f
}

// Unauthorized is the 401 finding with the fix for the credential the API server refused.
func Unauthorized(id *result.Identity, err error, now time.Time) result.Finding {
	at := diagnose.Where{Source: result.SourceAPIServer, Subject: "user " + id.User}
	cred := id.Credential
	p := diagnose.Params{"err": diagnose.OneLine(err.Error())}
	switch {
	case cred.Certificate != nil:
		c := cred.Certificate
		p["user"], p["orgs"] = c.User, ""
		for _, g := range c.Groups {
			p["orgs"] = p["orgs"].(string) + " --org=" + g
		}
		p["expired"], p["foreign"] = "", c.SignedByClusterCA != nil && !*c.SignedByClusterCA
		if now.After(c.NotAfter) {
			p["expired"] = when(c.NotAfter, now)
		}
		return diagnose.NewVariant(diagnose.CodeUnauthorized, "client-certificate", at, p)
	case cred.Exec != "":
		for k, v := range execParams(cred.Exec) {
			p[k] = v
		}
		return diagnose.NewVariant(diagnose.CodeUnauthorized, "exec", at, p)
	case cred.Token != nil:
		p["subject"], p["expired"] = cred.Token.Subject, ""
		if e := cred.Token.Expires; e != nil && now.After(*e) {
			p["expired"] = when(*e, now)
		}
		return diagnose.NewVariant(diagnose.CodeUnauthorized, "token", at, p)
	}
	return diagnose.New(diagnose.CodeUnauthorized, at, p)
}

// execParams name the plugin's family ("" for one certdoctor knows nothing about), for
// the fix to say how to install it or log in.
func execParams(cmd string) diagnose.Params {
	base := strings.TrimSuffix(filepath.Base(cmd), ".exe")
	family := ""
	switch base {
	case "gke-gcloud-auth-plugin", "gcloud":
		family = "gke"
	case "aws", "aws-iam-authenticator":
		family = "aws"
	case "kubelogin", "kubectl-oidc_login":
		family = "kubelogin"
	}
	return diagnose.Params{"exec": cmd, "family": family, "gke": family == "gke", "aws": family == "aws", "kubelogin": family == "kubelogin"}
}

// when is a past time as the report says it: the date and how long ago.
func when(t, now time.Time) string {
	return t.UTC().Format(time.RFC3339) + " (" + diagnose.ShortDuration(now.Sub(t)) + " ago)"
}
