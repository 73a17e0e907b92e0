package diagnose

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/internal/fuzzseed"
)

// explainSeeds are FuzzExplain's seeds (testdata/fuzz/FuzzExplain/seed-*, written from
// this list by UPDATE_FUZZ_SEEDS=1): error texts of the field guides and of users, word
// for word as pkg/cmd's explain tests hold them, wrapped over lines as terminals print
// them, and a log of several.
var explainSeeds = []string{
	"Unable to connect to the server: x509: certificate has expired or is not yet valid",
	"W | rafthttp: health check for peer 6221a1d241bb2d0a could not connect: x509: certificate has expired or is not yet valid I | embed: rejected connection from \"10.200.0.4:46108\" (error \"remote error: tls: bad certificate\", ServerName \"\")",
	"Error from server (InternalError): error when creating \"STDIN\":\nInternal error occurred: failed calling webhook \"webhook.cert-manager.io\": failed to call webhook:\nPost \"https://cert-manager-webhook.cert-manager.svc:443/mutate?timeout=10s\":\ndial tcp 10.96.20.99:443: connect: connection refused",
	"Internal error occurred: failed calling webhook \"webhook.cert-manager.io\":\nPost https://cert-manager-webhook.cert-manager.svc:443/mutate?timeout=30s:\nx509: certificate is valid for ip-192-168-xxx-xxx.xxx.compute.internal,\nnot cert-manager-webhook.cert-manager.svc",
	"Error: INSTALLATION FAILED: Internal error occurred:\nfailed calling webhook \"webhook.cert-manager.io\":\nPost https://cert-manager-webhook.cert-manager.svc:443/mutate?timeout=30s:\nno endpoints available for service \"cert-manager-webhook\"",
	"Error: UPGRADE FAILED: release core-l7 failed, and has been rolled back due to atomic being set:\nfailed to create resource: conversion webhook for cert-manager.io/v1alpha3, Kind=ClusterIssuer failed:\nPost https://cert-manager-webhook.core-l7.svc:443/convert?timeout=30s:\nx509: certificate signed by unknown authority",
	"Error from server (InternalError): error when creating \"test-resources.yaml\": Internal error occurred:\nfailed calling admission webhook \"issuers.admission.certmanager.k8s.io\":\nthe server is currently unable to handle the request",
	"E0425 leaderelection.go:334] error initially creating leader election record:\nleases.coordination.k8s.io is forbidden: User \"system:serviceaccount:cert-manager:cert-manager-webhook\"\ncannot create resource \"leases\" in API group \"coordination.k8s.io\" in the namespace \"kube-system\":\nGKEAutopilot authz: the namespace \"kube-system\" is managed and the request's verb \"create\" is denied",
	"Error from server (Forbidden): roles.rbac.authorization.k8s.io is forbidden:\nUser \"example-account@example-project.iam.gserviceaccount.com\" cannot list resource \"roles\" in\nAPI group \"rbac.authorization.k8s.io\" in the namespace \"kube-system\": requires\none of [\"container.roles.list\"] permission(s).",
	"E0729 13:29:49.132142 1 reflector.go:201] k8s.io/dns/pkg/dns/dns.go:192: Failed to list *v1.Service: Get https://10.254.0.1:443/api/v1/services?resourceVersion=0: x509: certificate is valid for 172.16.0.1, 192.168.0.1, not 10.254.0.1",
	"tls: failed to verify certificate: x509: cannot validate certificate for 10.96.0.1 because it doesn't contain any IP SANs",
	`x509: certificate signed by unknown authority (possibly because of "x509: cannot verify signature: insecure algorithm SHA1-RSA" while trying to verify candidate authority certificate "kubernetes")`,
	"rpc error: code = Unknown desc = ETCD storage quota exceeded",
	"Warning Unhealthy <invalid> (x13 over 15s) kubelet, node83\nReadiness probe failed: HTTP probe failed with statuscode: 500",
	"kube-system   gke-metadata-server-8sm2l   0/1       CrashLoopBackOff   194        16h",
	"error: You must be logged in to the server (Unauthorized)\r\nUnable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout\r\n\r\ncontext deadline exceeded\r\nOOMKilled",
	"Error from server: Get \"https://10.0.0.5:10250/containerLogs/default/web/web\": remote error: tls: internal error",
	"failed calling webhook \"{{.x}}\": Post \"https://a.b.svc:443/\": x509: certificate is valid for <no value>, not {{template \"restart\"}}",
}

// catalogueErrors are the error texts the catalogue itself renders, one an entry and
// variant, each parameter a placeholder: texts every pattern is meant to meet. They
// are added as seeds at run time (and not written to the corpus: they follow the
// catalogue).
func catalogueErrors() []string {
	var out []string
	for _, e := range Default().Entries() {
		variants := append([]*Variant{nil}, e.Variants...)
		for _, v := range variants {
			tx := e.texts
			if v != nil {
				tx = tx.override(v.texts)
			}
			if tx.error == nil {
				continue
			}
			p := map[string]any{}
			for _, n := range fieldNames(tx.error) {
				p[n] = strings.ToUpper(n)
			}
			var b strings.Builder
			if tx.error.Execute(&b, p) == nil && b.Len() > 0 {
				out = append(out, b.String())
			}
		}
	}
	return out
}

// FuzzExplain: whatever text is pasted, explain returns at once (RE2 is linear; a
// template or a line join must not be worse), twice the same, one explanation per
// distinct known cause, each for one of the text's errors, with texts that render
// (no "<no value>" the input did not bring). The webhook call classifier reads any
// text too.
func FuzzExplain(f *testing.F) {
	for _, s := range explainSeeds {
		f.Add(s)
	}
	fuzzseed.Write(f, explainSeeds)
	for _, s := range catalogueErrors() {
		f.Add(s)
	}
	cat := Default()
	// The resolver echoes what the text said, as explain's own resolver hands back a
	// profile name: the text's words end up in the fix.
	resolve := func(p map[string]string) map[string]string {
		return map[string]string{"target": p["webhook"] + p["service"]}
	}
	f.Fuzz(func(t *testing.T, text string) {
		start := time.Now()
		xs := cat.Explain(text, resolve)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("explain took %v for %d bytes", d, len(text))
		}
		if again := cat.Explain(text, resolve); !reflect.DeepEqual(xs, again) {
			t.Fatalf("explain is not deterministic:\n%+v\n%+v", xs, again)
		}
		lines := map[string]bool{}
		for _, l := range joinWrapped(text) {
			lines[l] = true
		}
		seen := map[string]bool{}
		for _, x := range xs {
			e, ok := cat.Lookup(x.Code)
			if !ok || (x.Variant != "" && e.Variant(x.Variant) == nil) {
				t.Fatalf("explanation of unknown cause %s/%s", x.Code, x.Variant)
			}
			if key := x.Code + "/" + x.Variant; seen[key] {
				t.Fatalf("%s explained twice", key)
			} else {
				seen[key] = true
			}
			if !lines[x.Excerpt] {
				t.Fatalf("excerpt %q is none of the text's errors", x.Excerpt)
			}
			if x.Title == "" || x.Meaning == "" {
				t.Fatalf("%s: no title or meaning", x.Code)
			}
			if strings.Contains(x.Fix+x.Check, "<no value>") && !strings.Contains(text, "<no value>") {
				t.Fatalf("%s: a text that does not render: %q %q", x.Code, x.Check, x.Fix)
			}
		}
		if variant, meaning := ClassifyCall(text); variant != "" {
			if v := cat.byCode[CodeWebhookCallFailed].Variant(variant); v == nil || v.Meaning != meaning {
				t.Fatalf("ClassifyCall: variant %q, meaning %q", variant, meaning)
			}
		}
	})
}
