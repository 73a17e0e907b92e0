package cmd

import (
	"context"
	"errors"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/identity"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"github.com/certdoctor/kubectl-certdoctor/pkg/sources"
)

// WhoamiOptions are the options of `kubectl certdoctor whoami`.
type WhoamiOptions struct {
	*CommonOptions
	Window ExpiryWindow
	// Can asks, for every request certdoctor's checks make, whether it is allowed.
	Can bool

	namespace string
	target    *KubeconfigTarget
}

var (
	whoamiLong = longDesc(`
		Show who you are to the cluster: what your kubeconfig presents (a client certificate's
		user and groups, issuer, expiry and whether the cluster CA signed it; a token's claims,
		never the token; an exec plugin and whether it is installed), and what the API server
		made of it (SelfSubjectReview: user name, UID, groups), with the cases that trip users
		up named: an expired certificate or token, a missing plugin, a certificate whose
		system:masters the API server does not grant, impersonation with --as.

		With --can, also ask the API server (SelfSubjectAccessReview) about every request
		certdoctor's checks make: which are denied, which check each denial leaves blind, and
		the ClusterRole rule that would grant it (deploy/rbac.yaml has them all).`)

	whoamiExample = templates.Examples(`
		# Who the current context is
		kubectl certdoctor whoami

		# And whether certdoctor's checks may run, as JSON
		kubectl certdoctor whoami --can -o json

		# As a tenant would see it
		kubectl certdoctor whoami --can --as=jane -n team-a`)
)

// NewCmdWhoami builds `whoami`.
func NewCmdWhoami(common *CommonOptions) *cobra.Command {
	o := &WhoamiOptions{CommonOptions: common, Window: defaultExpiryWindow()}
	cmd := &cobra.Command{
		Use:     "whoami",
		Short:   "Show who the cluster thinks you are, and what certdoctor may check as you",
		Long:    whoamiLong,
		Example: whoamiExample,
		Args:    cobra.NoArgs,
		RunE:    runE(o),
	}
	cmd.Flags().BoolVar(&o.Can, "can", o.Can, "Also list every permission certdoctor's checks need, allowed or denied.")
	addExpiryWindowFlag(cmd, &o.Window)
	return cmd
}

// Complete resolves the kubeconfig context.
func (o *WhoamiOptions) Complete(cmd *cobra.Command) error {
	if err := o.Window.complete(); err != nil {
		return err
	}
	o.namespace = o.namespaceFlag(cmd)
	t, err := o.Factory.Kubeconfig()
	o.target = t
	return err
}

// Validate checks the shared flags.
func (o *WhoamiOptions) Validate() error { return o.CommonOptions.Validate() }

// Run describes the credential offline, then asks the API server.
func (o *WhoamiOptions) Run(ctx context.Context) (*result.Report, error) {
	c := sources.NewCollector(o.Now(), o.Window.Within)
	t := o.target
	kc := &sources.Kubeconfig{Config: t.Raw, ContextName: t.ContextName, UserName: t.UserName, ClusterName: t.ClusterName,
		ClientErr: clientErr(t), LeftOut: leftOut(t)}
	sources.Run(ctx, c, []sources.Source{kc})
	reportCredentials(c, t, kc.Broken)
	id := t.identity()
	for _, f := range identity.Offline(id, c.Now) {
		c.Finding(f)
	}
	if id.Impersonating != nil {
		c.Note("you are impersonating %s (--as/--as-group): the API server authorises that identity, not your credential's", impersonated(id.Impersonating))
	}
	perms := o.ask(ctx, c, id)
	recs, fs, notes := c.Results()
	r := result.NewReport("whoami", c.Now, recs, fs, notes)
	r.Identity, r.Permissions = id, perms
	return r, nil
}

// ask fills in what the API server says: the authenticated identity, and with --can the
// permissions. A server that cannot be asked leaves them out, with a finding saying why.
func (o *WhoamiOptions) ask(ctx context.Context, c *sources.Collector, id *result.Identity) []result.Permission {
	t := o.target
	switch {
	case t.Rest == nil:
		c.Finding(unusableKubeconfig(t))
		return nil
	case t.CredErr != nil:
		c.Note("the API server was not asked: the kubeconfig's credentials cannot be used (see findings)")
		return nil
	case id.Credential.Exec != "" && id.Credential.ExecPath == "":
		c.Note("the API server was not asked: the exec plugin that provides the credentials is not installed (see findings)")
		return nil
	}
	clients, err := o.Factory.ClientsFor(t.Rest)
	if err != nil {
		c.Note("cannot build a client: %v", err)
		return nil
	}
	info, err := identity.Review(ctx, clients.Kube)
	switch {
	case errors.Is(err, identity.ErrReviewNotServed):
		c.Note("%v: the identity the API server sees cannot be shown; kubectl auth can-i --list shows what it grants", err)
	case err != nil:
		c.Finding(apiErrorAs(id, t.Rest, err, c.Now))
		return nil
	default:
		id.Authenticated = info
		if f := identity.Mismatch(id); f != nil {
			c.Finding(*f)
		}
	}
	if !o.Can {
		return nil
	}
	perms, err := identity.Can(ctx, clients.Kube, identity.Needs, o.namespace)
	for _, p := range perms {
		if p.Result == result.Denied {
			c.Finding(diagnose.NewVariant(diagnose.CodePermissionDenied, "can",
				diagnose.Where{Source: "whoami", Subject: p.Verb + " " + p.ResourceName()},
				diagnose.Params{"verb": p.Verb, "resource": p.ResourceName(), "scope": diagnose.Scope(p.Namespace),
					"blinds": strings.Join(p.Checks, "; "), "rule": p.Rule, "role": p.Role, "err": p.Reason}))
		}
	}
	if err != nil {
		// the permissions marked unknown: one cause, one finding
		c.Finding(diagnose.FromAPIError("whoami", "permissions", err))
	}
	return perms
}

// identity is what the context presents, read offline, and the impersonation asked for.
func (t *KubeconfigTarget) identity() *result.Identity {
	id := &result.Identity{Context: t.ContextName, User: t.User()}
	var ca []byte
	if t.Rest != nil {
		id.Server = t.Rest.Host
		ca, _ = caData(t.Rest)
		if imp := t.Rest.Impersonate; imp.UserName != "" || len(imp.Groups) > 0 || imp.UID != "" {
			id.Impersonating = &result.UserInfo{Username: imp.UserName, UID: imp.UID, Groups: imp.Groups, Extra: imp.Extra}
		}
	}
	id.Credential = identity.Describe(t.Raw.AuthInfos[id.User], ca)
	return id
}

// impersonated names the identity --as and --as-group ask for.
func impersonated(u *result.UserInfo) string {
	s := u.Username
	if s == "" {
		s = "no user"
	}
	if len(u.Groups) > 0 {
		s += " in " + strings.Join(u.Groups, ", ")
	}
	return s
}
