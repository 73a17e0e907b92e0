package webhook

import (
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
)

// rulesCover reports whether rules send op on group/version/resource to the webhook,
// with the API server's matching: "*" matches anything, and a resource "x/*" or "*/*"
// also matches the resource x itself (the subresource "*" includes none).
func rulesCover(rules []admissionv1.RuleWithOperations, op admissionv1.OperationType, group, version, resource string) bool {
	for _, r := range rules {
		if matchOne(opStrings(r.Operations), string(op)) && matchOne(r.APIGroups, group) &&
			matchOne(r.APIVersions, version) && matchResource(r.Resources, resource) {
			return true
		}
	}
	return false
}

func opStrings(ops []admissionv1.OperationType) []string {
	out := make([]string, len(ops))
	for i, o := range ops {
		out[i] = string(o)
	}
	return out
}

func matchOne(list []string, v string) bool {
	for _, x := range list {
		if x == "*" || x == v {
			return true
		}
	}
	return false
}

func matchResource(list []string, resource string) bool {
	for _, x := range list {
		res, sub, _ := strings.Cut(x, "/")
		if (res == "*" || res == resource) && (sub == "" || sub == "*") {
			return true
		}
	}
	return false
}
