package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// identityTable is whoami's first table, kubectl auth whoami's ATTRIBUTE/VALUE layout:
// what the kubeconfig presents, then what the API server made of it.
func identityTable(w *textWriter, id *result.Identity, now time.Time) error {
	rows := [][]string{
		{"Context", orDash(id.Context)},
		{"Kubeconfig user", orDash(id.User)},
		{"Server", orDash(id.Server)},
		{"Credential", strings.Join(id.Credential.Kinds, ", ")},
	}
	add := func(k, v string) { rows = append(rows, []string{k, v}) }
	cred := id.Credential
	if c := cred.Certificate; c != nil {
		add("Certificate user (CN)", orDash(c.User))
		add("Certificate groups (O)", orDash(strings.Join(c.Groups, ", ")))
		add("Certificate issuer", orDash(c.Issuer))
		add("Certificate expires", expiryCell(c.NotAfter, now))
		if c.SignedByClusterCA != nil {
			add("Signed by the cluster CA", yesNo(*c.SignedByClusterCA))
		}
	}
	if t := cred.Token; t != nil {
		if t.Opaque {
			add("Token", "not a JWT: nothing in it can be read")
		} else {
			add("Token subject", orDash(t.Subject))
			add("Token issuer", orDash(t.Issuer))
			add("Token audiences", orDash(strings.Join(t.Audiences, ", ")))
			if t.Expires != nil {
				add("Token expires", expiryCell(*t.Expires, now))
			} else {
				add("Token expires", "never (no exp claim)")
			}
		}
	}
	if cred.Exec != "" {
		found := cred.ExecPath
		if found == "" {
			found = "NOT FOUND on PATH"
		}
		add("Exec plugin", cred.Exec+" ("+found+")")
	}
	if cred.AuthProvider != "" {
		add("Auth provider", cred.AuthProvider)
	}
	if cred.Username != "" {
		add("Basic auth user", cred.Username)
	}
	if i := id.Impersonating; i != nil {
		add("Impersonating (--as)", orDash(i.Username))
		if len(i.Groups) > 0 {
			add("Impersonating groups", strings.Join(i.Groups, ", "))
		}
	}
	if a := id.Authenticated; a != nil {
		add("Username", a.Username)
		if a.UID != "" {
			add("UID", a.UID)
		}
		add("Groups", orDash(strings.Join(a.Groups, ", ")))
		keys := make([]string, 0, len(a.Extra))
		for k := range a.Extra {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			add("Extra: "+k, strings.Join(a.Extra[k], ", "))
		}
	} else {
		add("Username", "(the API server was not asked: see below)")
	}
	return w.table([]string{"ATTRIBUTE", "VALUE"}, rows)
}

// expiryCell is a date with the time left, or how long ago it passed.
func expiryCell(t, now time.Time) string {
	if now.After(t) {
		return fmt.Sprintf("%s (expired %s ago)", shortTime(t), duration.HumanDuration(now.Sub(t)))
	}
	return fmt.Sprintf("%s (%s left)", shortTime(t), duration.HumanDuration(t.Sub(now)))
}

// permissionTable is whoami --can: each request the checks make and its answer; -o wide
// adds the rule that grants it.
func permissionTable(w *textWriter, perms []result.Permission, wide bool) error {
	header := []string{"VERB", "RESOURCE", "NAMESPACE", "RESULT", "NEEDED FOR"}
	if wide {
		header = append(header, "RULE")
	}
	header = w.clusterHeader(header)
	rows := make([][]string, 0, len(perms))
	for _, p := range perms {
		ns := p.Namespace
		switch {
		case p.ClusterScoped:
			ns = "-"
		case ns == "":
			ns = "*"
		}
		res := p.ResourceName()
		if p.Name != "" {
			res += " " + p.Name
		}
		row := []string{p.Verb, res, ns, p.Result, strings.Join(p.Checks, "; ")}
		if wide {
			row = append(row, p.Rule)
		}
		rows = append(rows, w.clusterRow(p.Cluster, row))
	}
	return w.table(header, rows)
}
