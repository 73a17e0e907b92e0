package cmd

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// flaky reports a critical finding for its first `bad` runs, then a warning only.
type flaky struct {
	bad, runs int
	wait      WaitFlags
	out, err  bytes.Buffer
}

func (f *flaky) Complete(*cobra.Command) error { return nil }
func (f *flaky) Validate() error               { return f.wait.validate() }
func (f *flaky) Run(context.Context) (*result.Report, error) {
	f.runs++
	sev := result.Warning
	if f.runs <= f.bad {
		sev = result.Critical
	}
	return result.NewReport("x", time.Now(), nil, []result.Finding{{Severity: sev, Code: "WebhookNoEndpoints", Subject: "w"}}, nil), nil
}
func (f *flaky) print(r *result.Report) error {
	f.out.WriteString("printed\n")
	if c := r.ExitCode(); c != 0 {
		return &ExitError{Code: c}
	}
	return nil
}
func (f *flaky) waitFlags() *WaitFlags { return &f.wait }
func (f *flaky) errOut() io.Writer     { return &f.err }

func runFlaky(f *flaky) int {
	cmd := &cobra.Command{}
	cmd.SetContext(context.Background())
	return ExitCode(runE(f)(cmd, nil))
}

func TestWaitUntilHealthy(t *testing.T) {
	f := &flaky{bad: 2, wait: WaitFlags{Wait: 5 * time.Second, Interval: 100 * time.Millisecond}}
	if code := runFlaky(f); code != 0 || f.runs != 3 || !strings.Contains(f.err.String(), "1 critical finding(s) remain (WebhookNoEndpoints w)") {
		t.Fatalf("exit %d after %d runs; stderr %q", code, f.runs, f.err.String())
	}
	if strings.Count(f.out.String(), "printed") != 1 {
		t.Fatal("the final report is printed once")
	}
}

func TestWaitTimesOut(t *testing.T) {
	f := &flaky{bad: 1000, wait: WaitFlags{Wait: 300 * time.Millisecond, Interval: 100 * time.Millisecond}}
	if code := runFlaky(f); code != ExitTimedOut || f.runs < 2 || f.out.Len() == 0 {
		t.Fatalf("exit %d after %d runs", code, f.runs)
	}
	f = &flaky{bad: 1000}
	f.wait.Interval = time.Millisecond
	if f.Validate() == nil {
		t.Fatal("an interval under 100ms is refused")
	}
}

// The check-up's node flags choose expiry's debug pods; sans, which runs none in the
// check-up, must not refuse them.
func TestCheckupNodeFlags(t *testing.T) {
	streams, _, _, _ := genericiooptions.NewTestIOStreams()
	o := NewCheckupOptions(NewCommonOptions(streams))
	o.expiry.Nodes.Nodes = []string{"cp1"}
	o.shareFlags()
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	o.Only = []string{"nodes"}
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), `unknown check "nodes"`) {
		t.Fatalf("--only nodes: %v", err)
	}
}
