package cmd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/report"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// pushTimeout bounds the pushes of one run (one per cluster): a Pushgateway that does
// not answer must not keep a cron job from ending.
const pushTimeout = 30 * time.Second

// reportOptions are the printer's options for r. The metrics' cluster label and build
// are worked out only for the metrics (-o prometheus, --pushgateway), so that a table
// never loads a kubeconfig --local does not use.
func (o *CommonOptions) reportOptions(r *result.Report) report.Options {
	ro := report.Options{Format: o.Output, ShowAll: o.ShowAll, ShowOK: o.ShowOK}
	if o.Output == report.FormatPrometheus || o.Pushgateway != "" {
		v := versionInfo()
		ro.Cluster, ro.Build = o.metricsCluster(r), report.Build{Version: v.Version, Commit: v.Commit, GoVersion: v.GoVersion}
	}
	return ro
}

// metricsCluster names what r is about: the check-up's target (the context, or the node
// with --local), the node whose files --local read, else the kubeconfig context the
// flags select (loaded once: the command has read it already), else this machine.
func (o *CommonOptions) metricsCluster(r *result.Report) string {
	if t := r.Target; t != nil {
		return orText(t.Context, t.Node)
	}
	for _, rec := range r.Certificates {
		if rec.Source == result.SourceLocal && rec.Node != "" {
			return rec.Node
		}
	}
	local := false
	for _, f := range r.Findings {
		local = local || f.Source == result.SourceLocal
	}
	if !local {
		if t, err := o.Factory.Kubeconfig(); err == nil {
			return t.ContextName
		}
	}
	node, _ := os.Hostname()
	return node
}

// push sends r's metrics to --pushgateway, after printed (the error print returned, the
// findings' exit status) is known. A failed push is exit 1 when the check was clean;
// after findings (exit 2, 3) or a --wait that ran out (124) that status stays and the push
// error is one line on stderr.
func (o *CommonOptions) push(ctx context.Context, r *result.Report, printed error) error {
	var exit *ExitError
	if o.Pushgateway == "" || o.capture != nil || r == nil || printed != nil && !errors.As(printed, &exit) {
		return printed // nothing to push, or the report could not even be printed
	}
	ctx, cancel := context.WithTimeout(ctx, pushTimeout)
	defer cancel()
	err := report.Push(ctx, http.DefaultClient, o.Pushgateway, r, o.reportOptions(r))
	switch {
	case err == nil:
		return printed
	case printed == nil:
		return err
	}
	fmt.Fprintf(o.ErrOut, "error: %s\n", report.Escape(strings.Join(strings.Fields(err.Error()), " ")))
	return printed
}

// validatePushgateway accepts what the push client does: host:port, or an http(s) URL
// without the /metrics/job/... part, which certdoctor adds.
func validatePushgateway(s string) error {
	if s == "" {
		return nil
	}
	raw := s
	if !strings.Contains(s, "://") {
		raw = "http://" + s
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("--pushgateway %q: %v", s, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("--pushgateway %q: use an http:// or https:// URL", s)
	case u.Host == "":
		return fmt.Errorf("--pushgateway %q: no host; use e.g. http://pushgateway:9091", s)
	case strings.Contains(u.Path, "/metrics/"):
		return fmt.Errorf("--pushgateway %q: give the Pushgateway's base URL; certdoctor adds /metrics/job/certdoctor/cluster/CLUSTER", s)
	}
	return nil
}
