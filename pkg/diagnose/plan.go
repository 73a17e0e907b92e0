package diagnose

import (
	"sort"
	"strings"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// controlPlaneSources hold the control plane's certificates: a node's files, this
// node's files, the certificate the API server serves.
var controlPlaneSources = map[string]bool{result.SourceNode: true, result.SourceLocal: true, result.SourceAPIServer: true}

// RenewalPlan is the control plane's renewal procedure (seed 000) when findings say its
// certificates expired, are not yet valid or expire soon; nil otherwise.
func RenewalPlan(fs []result.Finding) *result.Plan {
	needed, managed := false, false
	nodes := map[string]bool{}
	for _, f := range fs {
		switch f.Code {
		case CodeExpired, CodeExpiring, CodeNotYetValid, CodeStaleServing:
		default:
			continue
		}
		switch {
		case controlPlaneSources[f.Source]:
			needed = true
			if node, _, ok := strings.Cut(f.Subject, ":"); ok && f.Source == result.SourceNode {
				nodes[node] = true
			}
		case f.Source == result.SourceKubeconfigSecret:
			managed = true
		}
	}
	if !needed {
		return nil
	}
	names := make([]string, 0, len(nodes))
	for n := range nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	text := Default().renderShared("renewalPlan", Params{"nodes": strings.Join(names, ", "), "managed": managed})
	return &result.Plan{Title: "renew the control plane's certificates, in this order", Steps: strings.Split(text, "\n")}
}
