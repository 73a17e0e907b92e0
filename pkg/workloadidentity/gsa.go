package workloadidentity

import (
	"regexp"
	"strings"
)

// Annotation is the key GKE reads a Kubernetes service account's Google service account from.
const Annotation = "iam.gke.io/gcp-service-account"

// GCP's rules: an account ID (the part before @) is 6 to 30 lower-case letters, digits
// and hyphens, starting with a letter and not ending with a hyphen; a project ID
// likewise, optionally behind a domain ("example.com:my-project" is written
// my-project.example.com in the e-mail).
var (
	accountID = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	projectID = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
	domain    = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$`)
	// Google's default service accounts, which Workload Identity may also act as.
	computeDefault = regexp.MustCompile(`^[0-9]+-compute@developer\.gserviceaccount\.com$`)
	appEngine      = regexp.MustCompile(`^([a-z][a-z0-9-]{4,28}[a-z0-9])@appspot\.gserviceaccount\.com$`)
)

const gsaDomain = ".iam.gserviceaccount.com"

// GSA is a Google service account e-mail as the annotation names it.
type GSA struct {
	Email string
	// Project is the GSA's project, "" when the e-mail does not name it (the Compute
	// Engine default account names the project's number).
	Project string
}

// ParseGSA checks an annotation value. It returns why the value is not a service
// account e-mail and, when the mistake is plain (case, spaces, a prefix), the value
// that was meant.
func ParseGSA(v string) (gsa GSA, why, suggest string) {
	if c := cleaned(v); c != v {
		if g, w, _ := ParseGSA(c); w == "" {
			return GSA{}, "it holds spaces, quotes, upper case or a prefix around the e-mail", g.Email
		}
	}
	switch {
	case computeDefault.MatchString(v):
		return GSA{Email: v}, "", ""
	case appEngine.MatchString(v):
		return GSA{Email: v, Project: appEngine.FindStringSubmatch(v)[1]}, "", ""
	}
	name, host, ok := strings.Cut(v, "@")
	if !ok {
		return GSA{}, "there is no @: the form is GSA_NAME@PROJECT_ID.iam.gserviceaccount.com", "GSA_NAME@PROJECT_ID.iam.gserviceaccount.com"
	}
	project, ok := strings.CutSuffix(host, gsaDomain)
	if !ok {
		return GSA{}, "the domain is not " + gsaDomain[1:] + " (the form is GSA_NAME@PROJECT_ID.iam.gserviceaccount.com)", name + "@" + guessProject(host) + gsaDomain
	}
	if !accountID.MatchString(name) {
		return GSA{}, "the account name " + name + " is not 6 to 30 lower-case letters, digits and hyphens starting with a letter", "GSA_NAME@" + host
	}
	p := project
	if id, dom, scoped := strings.Cut(project, "."); scoped {
		if !domain.MatchString(dom) {
			return GSA{}, "the project " + project + " is not a project ID", name + "@PROJECT_ID" + gsaDomain
		}
		p = dom + ":" + id
		project = id
	}
	if !projectID.MatchString(project) {
		return GSA{}, "the project " + project + " is not a project ID (6 to 30 lower-case letters, digits and hyphens starting with a letter)", name + "@PROJECT_ID" + gsaDomain
	}
	return GSA{Email: v, Project: p}, "", ""
}

// cleaned is v without what people paste around an e-mail: spaces, quotes, a
// serviceAccount: prefix, upper case.
func cleaned(v string) string {
	c := strings.ToLower(strings.Trim(strings.TrimSpace(v), `"'`))
	c = strings.TrimPrefix(c, "serviceaccount:")
	return strings.TrimSpace(c)
}

// guessProject is the project a mistyped domain most likely holds: what comes before
// the first dot ("my-project.iam.gserviceaccount" and "my-project" both give my-project).
func guessProject(host string) string {
	p, _, _ := strings.Cut(host, ".")
	if projectID.MatchString(p) {
		return p
	}
	return "PROJECT_ID"
}
