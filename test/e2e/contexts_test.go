//go:build e2e

package e2e

import (
	"encoding/json"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// multiReport is what a --contexts report adds to Report: every finding, certificate and
// part labelled with its context, and one target per context (docs/output.md).
type multiReport struct {
	Targets []struct {
		Context string   `json:"context"`
		Server  string   `json:"server"`
		Aliases []string `json:"aliases"`
	} `json:"targets"`
	Findings []struct {
		Code    string `json:"code"`
		Cluster string `json:"cluster"`
	} `json:"findings"`
	Certificates []struct {
		Source  string `json:"source"`
		Cluster string `json:"cluster"`
	} `json:"certificates"`
	Parts []struct {
		Command string `json:"command"`
		Status  string `json:"status"`
		Cluster string `json:"cluster"`
	} `json:"parts"`
}

// contextsKubeconfig is admin.conf with two more contexts on the e2e cluster (prod, the
// same as admin.conf's; staging, in namespace kube-public) and one on a closed loopback
// port (down).
func contextsKubeconfig(t *testing.T) string {
	t.Helper()
	cfg := loadAdminConf(t)
	cur := cfg.Contexts[cfg.CurrentContext]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + ln.Addr().String()
	ln.Close()
	down := cfg.Clusters[cur.Cluster].DeepCopy()
	down.Server = closed
	cfg.Clusters["down"] = down
	cfg.Contexts["prod"] = &clientcmdapi.Context{Cluster: cur.Cluster, AuthInfo: cur.AuthInfo, Namespace: cur.Namespace}
	cfg.Contexts["staging"] = &clientcmdapi.Context{Cluster: cur.Cluster, AuthInfo: cur.AuthInfo, Namespace: "kube-public"}
	cfg.Contexts["down"] = &clientcmdapi.Context{Cluster: "down", AuthInfo: cur.AuthInfo}
	p := filepath.Join(t.TempDir(), "contexts.conf")
	if err := clientcmd.WriteToFile(*cfg, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func decodeMulti(t *testing.T, r Report) multiReport {
	t.Helper()
	var m multiReport
	if err := json.Unmarshal([]byte(r.raw), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// The check-up of two contexts of a healthy cluster: zero findings, each part run once
// per context; with a third context whose server is down, that context alone has
// findings and the others are still checked in full.
func TestContextsCheckup(t *testing.T) {
	kc := contextsKubeconfig(t)
	r, code := runJSON(t, "--kubeconfig", kc, "--contexts", "staging,prod")
	wantExit(t, r, code, 0)
	requireNoFindings(t, r)
	m := decodeMulti(t, r)
	if len(m.Targets) != 2 || m.Targets[0].Context != "staging" || m.Targets[1].Context != "prod" || m.Targets[0].Server != serverURL {
		t.Fatalf("targets %+v", m.Targets)
	}
	ran := map[string]int{}
	for _, p := range m.Parts {
		if p.Status == "ran" {
			ran[p.Cluster+" "+p.Command]++
		}
	}
	for _, want := range []string{"prod expiry", "prod sans", "prod webhook", "staging expiry", "staging sans", "staging webhook"} {
		if ran[want] != 1 {
			t.Errorf("part %s ran %d times: %v", want, ran[want], ran)
		}
	}
	nodeCerts := map[string]bool{}
	for _, c := range m.Certificates {
		nodeCerts[c.Cluster] = nodeCerts[c.Cluster] || c.Source == "node"
	}
	if !nodeCerts["prod"] || !nodeCerts["staging"] {
		t.Errorf("each context's debug pod reads the node's files: %v", nodeCerts)
	}

	r, code = runJSON(t, "--kubeconfig", kc, "--all-contexts", "--skip", "nodes", "--request-timeout", "5s")
	wantExit(t, r, code, 3)
	m = decodeMulti(t, r)
	var contexts []string
	for _, tg := range m.Targets {
		contexts = append(contexts, tg.Context)
	}
	admin := loadAdminConf(t).CurrentContext
	// prod reaches the cluster as admin.conf's context does: checked once, as its alias.
	if got := strings.Join(contexts, ","); len(contexts) != 3 || !sort.StringsAreSorted(contexts) || !strings.Contains(","+got+",", ",down,") || !strings.Contains(got, admin) {
		t.Fatalf("--all-contexts: %v, want every context but the alias, sorted", contexts)
	}
	for _, tg := range m.Targets {
		want := ""
		if tg.Context == admin {
			want = "prod"
		}
		if got := strings.Join(tg.Aliases, ","); got != want {
			t.Errorf("target %s has aliases %q, want %q", tg.Context, got, want)
		}
	}
	unreachable := 0
	for _, f := range m.Findings {
		if f.Cluster != "down" {
			t.Errorf("finding %s of context %q: only down is broken\n%s", f.Code, f.Cluster, dump(r))
		}
		if f.Code == "APIServerUnreachable" {
			unreachable++
		}
	}
	if unreachable != 1 {
		t.Errorf("%d APIServerUnreachable findings, want one, of down\n%s", unreachable, dump(r))
	}
	secrets := map[string]bool{}
	for _, c := range m.Certificates {
		secrets[c.Cluster] = secrets[c.Cluster] || c.Source == "apiserver"
	}
	if !secrets["staging"] || !secrets[admin] {
		t.Errorf("the reachable contexts were not all checked: %v", secrets)
	}

	stdout, _, code := runPlugin(t, "expiry", "--kubeconfig", kc, "--contexts", "prod,staging", "--skip-nodes")
	if code != 0 || !strings.Contains(stdout, "CLUSTER ") || !strings.Contains(stdout, "\nprod ") || !strings.Contains(stdout, "\nstaging ") {
		t.Errorf("the table has a CLUSTER column: exit %d\n%s", code, stdout)
	}
}
