package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/report"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// minServeInterval keeps a check-up (debug pods on every control-plane node, every
// secret listed) from becoming load: certificates are valid for days, not seconds.
const minServeInterval = time.Minute

// ServeOptions are the options of `kubectl certdoctor serve`: the check-up on a
// schedule, its last result served as Prometheus metrics.
type ServeOptions struct {
	*CommonOptions
	Listen   string
	Interval time.Duration

	checkup   *CheckupOptions
	outputSet bool
	// check runs one check-up (the check-up's own Run); tests replace it.
	check func(context.Context) (*result.Report, error)
	// render writes a report's metrics (-o prometheus); tests replace it.
	render func(io.Writer, *result.Report) error
	// shutdownTimeout bounds how long scrapes in flight may take at a stop.
	shutdownTimeout time.Duration
	// afterRun, when set, is called once a run's outcome is recorded (tests).
	afterRun func()
	logMu    sync.Mutex
}

var serveExample = templates.Examples(`
	# The check-up every hour, its result on http://localhost:9410/metrics
	kubectl certdoctor serve

	# Every 6 hours, without debug pods, on loopback only
	kubectl certdoctor serve --interval 6h --skip-nodes --listen 127.0.0.1:9410`)

// NewServeOptions returns serve's options with their defaults.
func NewServeOptions(common *CommonOptions) *ServeOptions {
	o := &ServeOptions{CommonOptions: common, Listen: ":9410", Interval: time.Hour, checkup: NewCheckupOptions(common),
		shutdownTimeout: 5 * time.Second}
	o.check = o.checkup.Run
	// The printer's options as -o prometheus has them (the cluster label, the build):
	// Complete sets Output to prometheus.
	o.render = func(w io.Writer, r *result.Report) error { return report.PrintWith(w, r, o.reportOptions(r)) }
	return o
}

// NewCmdServe builds `serve`.
func NewCmdServe(common *CommonOptions) *cobra.Command { return newCmdServe(NewServeOptions(common)) }

func newCmdServe(o *ServeOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the check-up on a schedule and serve its result as Prometheus metrics",
		Long: longDesc(`
			Run the check-up (the same checks, flags and findings as kubectl certdoctor) now and every
			--interval, and serve the last result on /metrics in the Prometheus text format, with
			certdoctor_serve_* metrics about the runs themselves. A scrape never starts a check-up: it reads
			the last result. A check-up that fails keeps the last good result on /metrics (and sets
			certdoctor_serve_last_run_success to 0); one still running when the next is due makes that one
			skipped. /healthz answers 200 while the server runs, whatever the cluster's state.

			SIGINT or SIGTERM stops the running check-up (its debug pods are deleted), lets scrapes in
			flight finish and exits 0. A --listen address that cannot be used exits 1 before any check-up.`),
		Example: serveExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(cmd); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Listen, "listen", o.Listen, "Address to serve /metrics and /healthz on (HOST:PORT; :9410 is every interface).")
	f.DurationVar(&o.Interval, "interval", o.Interval, "How often to run the check-up (at least 1m).")
	addServeCheckupFlags(cmd, o.checkup)
	return cmd
}

// addServeCheckupFlags gives serve the check-up's flags, except --wait and its
// --interval: serve runs again on its own schedule, and --interval is that schedule.
func addServeCheckupFlags(cmd *cobra.Command, checkup *CheckupOptions) {
	all := &cobra.Command{}
	addCheckupFlags(all, checkup)
	all.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "wait" && f.Name != "interval" {
			cmd.Flags().AddFlag(f)
		}
	})
}

// Complete completes the check-up's options (the kubeconfig is read here, once).
func (o *ServeOptions) Complete(cmd *cobra.Command) error {
	o.outputSet = cmd.Flags().Changed("output")
	if err := o.checkup.Complete(cmd); err != nil {
		return err
	}
	if !o.outputSet {
		o.Output = report.FormatPrometheus
	}
	return nil
}

// Validate rejects a bad --listen, --interval or -o, and what the check-up rejects.
func (o *ServeOptions) Validate() error {
	if o.outputSet && o.Output != report.FormatPrometheus {
		return fmt.Errorf("serve always serves Prometheus metrics: -o %s does not apply", o.Output)
	}
	if o.Pushgateway != "" {
		return errors.New("serve is scraped on /metrics: --pushgateway is for one check-up (kubectl certdoctor -o prometheus --pushgateway URL)")
	}
	if err := validateListen(o.Listen); err != nil {
		return err
	}
	if o.Interval < minServeInterval {
		return fmt.Errorf("--interval %s: a check-up at most once a minute (use 1m or more)", o.Interval)
	}
	return o.checkup.Validate()
}

func validateListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		if n, perr := strconv.Atoi(port); perr != nil || n < 0 || n > 65535 {
			err = errors.New("bad port")
		}
	}
	if err != nil {
		return fmt.Errorf("--listen %q: want HOST:PORT with a port number, such as :9410 or 127.0.0.1:9410", addr)
	}
	return nil
}

// Run listens, then serves and runs the check-up until ctx is cancelled. A stop asked
// for (SIGINT, SIGTERM) returns nil: it is how a server ends.
func (o *ServeOptions) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", o.Listen, err)
	}
	ticker := time.NewTicker(o.Interval)
	defer ticker.Stop()
	return o.serve(ctx, ln, ticker.C)
}

// serve runs the HTTP server on ln and a check-up now and at each tick.
func (o *ServeOptions) serve(ctx context.Context, ln net.Listener, ticks <-chan time.Time) error {
	e := &exporter{}
	srv := &http.Server{Handler: e.handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	o.logf("serving http://%s/metrics; a check-up now and every %s", ln.Addr(), o.Interval)

	runCtx, stopRuns := context.WithCancel(ctx)
	scheduled := make(chan struct{})
	go func() {
		defer close(scheduled)
		o.schedule(runCtx, e, ticks)
	}()
	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
		err = fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	}
	// The running check-up is cancelled; it deletes its debug pods with a context of its
	// own (pkg/nodes), so waiting for it leaves nothing behind.
	stopRuns()
	stopCtx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if serr := srv.Shutdown(stopCtx); serr != nil && err == nil {
		err = fmt.Errorf("stopping the server: %w", serr)
	}
	<-scheduled
	o.logf("stopped")
	return err
}

// schedule starts a check-up now and at each tick, never two at once: a tick that comes
// while one runs is skipped, and counted.
func (o *ServeOptions) schedule(ctx context.Context, e *exporter, ticks <-chan time.Time) {
	var running sync.WaitGroup
	defer running.Wait()
	busy := make(chan struct{}, 1)
	start := func() {
		if ctx.Err() != nil {
			return
		}
		select {
		case busy <- struct{}{}:
		default:
			e.skipped()
			o.logf("the previous check-up is still running: skipped this one")
			return
		}
		running.Add(1)
		go func() {
			defer running.Done()
			defer func() { <-busy }()
			o.runOnce(ctx, e)
		}()
	}
	start()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			start()
		}
	}
}

// runOnce runs one check-up and records its outcome: the report rendered once, for
// every scrape until the next run, or a failure that keeps the last good rendering.
func (o *ServeOptions) runOnce(ctx context.Context, e *exporter) {
	if o.afterRun != nil {
		defer o.afterRun()
	}
	start := o.Now()
	r, err := o.check(ctx)
	took := o.Now().Sub(start)
	if ctx.Err() != nil {
		o.logf("check-up stopped after %s: shutting down", took.Round(time.Millisecond))
		return
	}
	var rendered bytes.Buffer
	switch {
	case err != nil:
	case r == nil:
		err = errors.New("the check-up returned no report")
	default:
		r.Seconds = took.Seconds() // as runE sets it: the report's certdoctor_last_run_duration_seconds
		if rerr := o.render(&rendered, r); rerr != nil {
			err = fmt.Errorf("cannot render the report as metrics: %w", rerr)
		}
	}
	last := e.record(rendered.Bytes(), err == nil, o.Now(), took)
	if err != nil {
		kept := "no check-up has succeeded yet"
		if !last.IsZero() {
			kept = "/metrics keeps the result of " + last.UTC().Format(time.RFC3339)
		}
		o.logf("check-up failed after %s: %s; %s", took.Round(time.Millisecond), report.Escape(diagnose.OneLine(err.Error())), kept)
		return
	}
	o.logf("check-up finished in %s: %d findings (%d critical, %d warning)", took.Round(time.Millisecond),
		r.Summary.Findings, r.Summary.Critical, r.Summary.Warning)
}

// logf writes one line to stderr, with the time: serve's log is read after the fact.
func (o *ServeOptions) logf(format string, args ...any) {
	o.logMu.Lock()
	defer o.logMu.Unlock()
	fmt.Fprintf(o.ErrOut, "%s certdoctor serve: %s\n", o.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, args...))
}

// exporter holds what scrapes are served: the last good report's metrics, rendered once
// per run, and the counts of the runs.
type exporter struct {
	mu      sync.Mutex
	metrics []byte
	stats   report.ServeMetrics
}

// record stores a run's outcome and returns when the last successful run ended.
func (e *exporter) record(metrics []byte, ok bool, end time.Time, took time.Duration) time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stats.Finished, e.stats.LastRunSuccess, e.stats.LastDuration = true, ok, took
	if ok {
		e.metrics, e.stats.LastSuccess = metrics, end
		e.stats.Successes++
	} else {
		e.stats.Failures++
	}
	return e.stats.LastSuccess
}

func (e *exporter) skipped() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stats.Skipped++
}

func (e *exporter) snapshot() ([]byte, report.ServeMetrics) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.metrics, e.stats
}

func (e *exporter) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", e.serveMetrics)
	// Liveness: the server answers. A broken cluster is what the metrics report; it is
	// no reason to restart the pod that reports it.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, `<html><body><h1>kubectl-certdoctor serve</h1><p><a href="/metrics">/metrics</a> <a href="/healthz">/healthz</a></p></body></html>`+"\n")
	})
	return mux
}

// serveMetrics answers 200 from the start: before the first check-up finishes it holds
// only serve's own counters (no last_run_success), so that Prometheus does not see the
// target down while a first, long check-up runs.
func (e *exporter) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	metrics, stats := e.snapshot()
	var body bytes.Buffer
	body.Write(metrics)
	if err := report.WriteServeMetrics(&body, stats); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write(body.Bytes())
}
