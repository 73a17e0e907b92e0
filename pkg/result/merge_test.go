package result

import (
	"strings"
	"testing"
	"time"
)

func TestMerge(t *testing.T) {
	now := time.Now()
	a := NewReport("checkup", now, []Record{{Source: SourceAPIServer, Name: "apiserver"}},
		[]Finding{{Severity: Warning, Code: "X", Source: "secret", Subject: "s"}}, []string{"note a"})
	a.Parts = []Part{{Command: "webhook", Status: PartRan, Checks: []Check{{Group: "g", Name: "service"}}}}
	a.Plan = &Plan{Title: "renew the control plane", Steps: []string{"renew", "restart"}}
	a.Identity = &Identity{Context: "a"}
	b := NewReport("checkup", now, nil, []Finding{{Severity: Critical, Code: "Y", Source: "apiserver", Subject: "u"},
		{Severity: Warning, Code: "X", Source: "secret", Subject: "s"}}, []string{"note b"})
	b.Plan = &Plan{Title: "renew the control plane", Steps: []string{"renew"}}

	r := Merge("checkup", now, []ClusterReport{{Target: Target{Context: "a"}, Report: a}, {Target: Target{Context: "b"}, Report: b}, {Target: Target{Context: "c"}}})
	if r.Summary != (Summary{Certificates: 1, Findings: 3, Warning: 2, Critical: 1}) || r.ExitCode() != ExitCritical {
		t.Fatalf("summary %+v", r.Summary)
	}
	// The same cause in two clusters is two findings, each labelled, worst first.
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.Cluster+":"+f.Code)
	}
	if strings.Join(got, " ") != "b:Y a:X b:X" {
		t.Errorf("findings %v", got)
	}
	if r.Certificates[0].Cluster != "a" || r.Parts[0].Cluster != "a" || r.Parts[0].Checks[0].Cluster != "a" {
		t.Errorf("records and parts not labelled: %+v %+v", r.Certificates, r.Parts)
	}
	if strings.Join(r.Notes, "|") != "[a] note a|[b] note b" {
		t.Errorf("notes %q", r.Notes)
	}
	if r.Plan.Title != "renew the control plane" || strings.Join(r.Plan.Steps, "|") != "[a] renew|[a] restart|[b] renew" {
		t.Errorf("plan %+v", r.Plan)
	}
	if len(r.Targets) != 3 || r.Targets[0].Identity == nil || r.Targets[1].Identity != nil || r.Identity != nil || !r.Clusters() {
		t.Errorf("targets %+v", r.Targets)
	}
	// The inputs are not changed: each context's report stays its own.
	if a.Findings[0].Cluster != "" || a.Parts[0].Checks[0].Cluster != "" {
		t.Errorf("Merge labelled its inputs")
	}
	if NewReport("expiry", now, nil, nil, nil).Clusters() {
		t.Errorf("a one-cluster report spans clusters")
	}
}
