package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/certdoctor/kubectl-certdoctor/pkg/diagnose"
	"github.com/certdoctor/kubectl-certdoctor/pkg/report"
	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// Multi-cluster runs (--contexts, --all-contexts): the command runs once per context, each
// in a command tree of its own built from the same flags plus --context NAME, so that no
// options struct (they hold a lot of state) is shared between goroutines. Each run hands
// its report over instead of printing it (CommonOptions.capture); the reports are merged
// (result.Merge) into one, printed once, with one exit code.

const (
	flagContexts    = "contexts"
	flagAllContexts = "all-contexts"
	flagMaxParallel = "max-parallel"
)

// defaultMaxParallel bounds how many contexts are checked at once. A run mostly waits on
// its API server (TLS handshakes, paged lists, debug pods), so a few overlap well; more
// put the decoded lists of several clusters in memory at once, over main's 64 MiB soft
// limit, where the collector then costs more than the overlap gains: on the bench
// (docs/benchmarks.md) 10 contexts took 1.1 s at 4 and 1.7 s at 8.
const defaultMaxParallel = 4

// clusterCommands are the subcommands that talk to a cluster; the check-up (the root
// command) takes the flags too. explain and version never do; inspect -f and --local
// read files and are refused with --contexts.
var clusterCommands = map[string]bool{"expiry": true, "sans": true, "webhook": true, "cleanup": true,
	"workload-identity": true, "whoami": true, "inspect": true}

// notReplayed are the flags a context's run does not inherit: the fan-out's own, and
// --wait/--interval, which the fan-out applies to all contexts at once (runE re-runs the
// whole fan-out until no cluster has a critical finding).
var notReplayed = map[string]bool{flagContexts: true, flagAllContexts: true, flagMaxParallel: true,
	"context": true, "wait": true, "interval": true, "profile": true, "profile-output": true}

// ContextsFlags are --contexts, --all-contexts and --max-parallel.
type ContextsFlags struct {
	Contexts    []string
	All         bool
	MaxParallel int
}

func (f *ContextsFlags) asked() bool { return len(f.Contexts) > 0 || f.All }

// addContextsFlags gives the check-up and every command that talks to a cluster the
// multi-cluster flags, and makes their RunE fan out when one is given.
func addContextsFlags(root *cobra.Command, o *CommonOptions) {
	for _, c := range append([]*cobra.Command{root}, root.Commands()...) {
		if c != root && !clusterCommands[c.Name()] {
			continue
		}
		flags := &ContextsFlags{MaxParallel: defaultMaxParallel}
		fs := c.Flags()
		fs.StringSliceVar(&flags.Contexts, flagContexts, flags.Contexts, "Check these kubeconfig contexts (comma-separated) concurrently: one report with a CLUSTER column, one exit code (the worst).")
		fs.BoolVar(&flags.All, flagAllContexts, flags.All, "Check every context of the kubeconfig, sorted by name, as --contexts does.")
		fs.IntVar(&flags.MaxParallel, flagMaxParallel, flags.MaxParallel, "With --contexts or --all-contexts: how many contexts are checked at once.")
		_ = c.RegisterFlagCompletionFunc(flagContexts, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			raw, _, err := loadRaw(o.ConfigFlags)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return sortedContexts(raw), cobra.ShellCompDirectiveNoFileComp
		})
		single := c.RunE
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if !flags.asked() {
				return single(cmd, args)
			}
			m := &multiContext{CommonOptions: o, flags: *flags, cmd: cmd, args: args}
			m.run = m.runContext
			err := runE(m)(cmd, args)
			if ExitCode(err) == ExitInterrupted {
				return m.interrupted()
			}
			return err
		}
	}
}

// contextRunner checks one context and returns its report; progress and warnings go
// to errOut.
type contextRunner func(ctx context.Context, name string, errOut io.Writer) (*result.Report, error)

// multiContext is a command run against several contexts: it is a command of its own for
// runE, which prints the merged report, maps it to the exit code and, with --wait, runs
// it again.
type multiContext struct {
	*CommonOptions
	flags ContextsFlags
	wait  WaitFlags
	cmd   *cobra.Command
	args  []string
	// run checks one context; tests replace it.
	run contextRunner

	names []string
	raw   clientcmdapi.Config

	mu sync.Mutex
	// stopped are the notes of the runs a signal interrupted, by context.
	stopped map[string]string
}

// Complete refuses what cannot fan out and resolves the context names, all of them
// before anything runs: a typo is one line and exit 1, not a finding.
func (m *multiContext) Complete(cmd *cobra.Command) error {
	fs := cmd.Flags()
	switch {
	case fs.Changed("context"):
		return fmt.Errorf("--context and --%s cannot be combined: list every context in --contexts", m.flagName())
	case len(m.flags.Contexts) > 0 && m.flags.All:
		return fmt.Errorf("--contexts and --all-contexts cannot be combined")
	case changedTrue(fs, "local"):
		return fmt.Errorf("--local reads this machine's files, not a context's cluster: --%s does not apply", m.flagName())
	case fs.Changed("filename"):
		return fmt.Errorf("inspect -f reads a file, not a context's cluster: --%s does not apply", m.flagName())
	}
	if fs.Lookup("wait") != nil {
		m.wait.Wait, _ = fs.GetDuration("wait")
		m.wait.Interval, _ = fs.GetDuration("interval")
	}
	raw, _, err := loadRaw(m.ConfigFlags)
	if err != nil {
		return err
	}
	m.raw = raw
	if m.flags.All {
		m.names = sortedContexts(raw)
		if len(m.names) == 0 {
			return fmt.Errorf("--all-contexts: the kubeconfig has no contexts")
		}
		return nil
	}
	var unknown []string
	seen := map[string]bool{}
	for _, n := range m.flags.Contexts {
		switch {
		case n == "" || seen[n]:
			continue
		case raw.Contexts[n] == nil:
			unknown = append(unknown, fmt.Sprintf("%q", n))
		}
		seen[n] = true
		m.names = append(m.names, n)
	}
	if len(unknown) > 0 {
		return fmt.Errorf("context %s not found in the kubeconfig (it has %s)", strings.Join(unknown, ", "), strings.Join(sortedContexts(raw), ", "))
	}
	if len(m.names) == 0 {
		return fmt.Errorf("--contexts: no context named")
	}
	return nil
}

func (m *multiContext) flagName() string {
	if m.flags.All {
		return flagAllContexts
	}
	return flagContexts
}

func changedTrue(fs *pflag.FlagSet, name string) bool {
	v, err := fs.GetBool(name)
	return err == nil && fs.Changed(name) && v
}

func sortedContexts(raw clientcmdapi.Config) []string {
	names := make([]string, 0, len(raw.Contexts))
	for n := range raw.Contexts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Validate checks the shared flags once, for every context.
func (m *multiContext) Validate() error {
	if m.flags.MaxParallel < 1 {
		return fmt.Errorf("--%s must be at least 1", flagMaxParallel)
	}
	if m.cmd.Flags().Lookup("wait") != nil {
		if err := m.wait.validate(); err != nil {
			return err
		}
	}
	return m.CommonOptions.Validate()
}

// Run checks every context, at most --max-parallel at once, and merges the reports. It
// never stops early: a context that fails is a finding of that context. When every
// context failed and none produced a report, the command itself failed (a bad flag
// fails the same way everywhere): that is the error.
func (m *multiContext) Run(ctx context.Context) (*result.Report, error) {
	start := time.Now()
	names, aliases := sameConnection(m.raw, m.names)
	runs := runContexts(ctx, names, m.flags.MaxParallel, m.ErrOut, m.run, m.progress)
	var failures []string
	merged := make([]result.ClusterReport, len(runs))
	for i, r := range runs {
		merged[i] = m.clusterReport(r)
		merged[i].Target.Aliases = aliases[r.name]
		if r.report == nil && r.err != nil {
			failures = append(failures, result.Labelled(r.name, oneLine(r.err)))
		}
	}
	if ctx.Err() == nil && len(failures) == len(runs) {
		return nil, errors.New(strings.Join(failures, "; "))
	}
	out := result.Merge(m.commandName(), m.Now(), merged)
	out.Seconds = time.Since(start).Seconds()
	for _, name := range names {
		if a := aliases[name]; len(a) > 0 {
			out.Notes = append(out.Notes, fmt.Sprintf("contexts %s reach the same server as context %s, with the same credentials and namespace: checked once, reported as %s",
				strings.Join(a, ", "), name, name))
		}
	}
	return out, nil
}

// sameConnection groups the contexts that would make the same requests: the same
// cluster entry content (server, CA, TLS settings), the same user entry content and the
// same namespace. Checking such a cluster once per name would only load its API server
// with identical reads, and report every cause once per name. names keeps the first
// of each group, in order; aliases lists the others under it. Contexts whose entries
// cannot be compared stay apart.
func sameConnection(raw clientcmdapi.Config, all []string) (names []string, aliases map[string][]string) {
	aliases = map[string][]string{}
	first := map[string]string{} // connection -> first context
	for _, n := range all {
		key, ok := connectionKey(raw, n)
		if rep, seen := first[key]; ok && seen {
			aliases[rep] = append(aliases[rep], n)
			continue
		}
		if ok {
			first[key] = n
		}
		names = append(names, n)
	}
	return names, aliases
}

func connectionKey(raw clientcmdapi.Config, name string) (string, bool) {
	c := raw.Contexts[name]
	if c == nil || raw.Clusters[c.Cluster] == nil || raw.AuthInfos[c.AuthInfo] == nil {
		return "", false
	}
	cluster, user := *raw.Clusters[c.Cluster], *raw.AuthInfos[c.AuthInfo]
	cluster.LocationOfOrigin, user.LocationOfOrigin = "", "" // where the entry was read, not what it says
	b, err := json.Marshal([]any{cluster, user, c.Namespace})
	return string(b), err == nil
}

// clusterReport is one context's part of the merged report: its report, plus a finding
// for an error that kept it from finishing. A run stopped by a signal is not a finding:
// the command exits 130 without a report.
func (m *multiContext) clusterReport(r contextRun) result.ClusterReport {
	t := (&KubeconfigTarget{Raw: m.raw, ContextName: r.name}).resultTarget()
	cr := result.ClusterReport{Target: *t, Report: r.report}
	var exit *ExitError
	switch {
	case errors.As(r.err, &exit) && exit.Code == ExitInterrupted:
		m.mu.Lock()
		if m.stopped == nil {
			m.stopped = map[string]string{}
		}
		m.stopped[r.name] = exit.Note
		m.mu.Unlock()
	case r.err != nil && ExitCode(r.err) == result.ExitFailed:
		command := ""
		if c := m.commandName(); c != "checkup" {
			command = c + " "
		}
		f := diagnose.NewVariant(diagnose.CodeSourceFailed, "context", diagnose.Where{Source: result.SourceKubeconfig, Subject: "context " + r.name},
			diagnose.Params{"context": r.name, "command": command, "err": oneLine(r.err)})
		if cr.Report == nil {
			cr.Report = result.NewReport(m.commandName(), m.Now(), nil, nil, nil)
		}
		rep := *cr.Report
		rep.Findings = append(append([]result.Finding(nil), rep.Findings...), f)
		cr.Report = &rep
	}
	return cr
}

func oneLine(err error) string { return diagnose.OneLine(err.Error()) }

// commandName is the report's command: the subcommand's name, or "checkup".
func (m *multiContext) commandName() string {
	if m.cmd.HasParent() {
		return m.cmd.Name()
	}
	return "checkup"
}

// interrupted is the exit after a signal: every run has cleaned up by then; the note
// names the debug pods any of them could not delete.
func (m *multiContext) interrupted() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var said []string
	for _, name := range sortedKeys(m.stopped) {
		if note := strings.TrimPrefix(m.stopped[name], "interrupted"); note != "" {
			said = append(said, result.Labelled(name, strings.TrimPrefix(note, ": ")))
		}
	}
	note := "interrupted"
	if len(said) > 0 {
		note += ": " + strings.Join(said, "; ")
	}
	return &ExitError{Code: ExitInterrupted, Note: note}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (m *multiContext) waitFlags() *WaitFlags { return &m.wait }

// contextFactory is a Factory that makes the Factory of each context's run; tests
// implement it to hand each context fake clients. Otherwise each run gets its own
// NewFactory over its own flags.
type contextFactory interface {
	ForFlags(*genericclioptions.ConfigFlags) Factory
}

// runContext checks one context in a command tree of its own: the same command, the
// same flags and arguments, --context name, and the report handed back instead of
// printed.
func (m *multiContext) runContext(ctx context.Context, name string, errOut io.Writer) (*result.Report, error) {
	inner := NewCommonOptions(genericiooptions.IOStreams{In: m.In, Out: errOut, ErrOut: errOut})
	if cf, ok := m.Factory.(contextFactory); ok {
		inner.Factory = cf.ForFlags(inner.ConfigFlags)
	}
	inner.Now = m.Now
	var got *result.Report
	inner.capture = func(r *result.Report) { got = r }
	sub, err := replay(newCmdCertdoctor(inner, &profiling{name: "none"}), m.cmd, m.args, name)
	if err != nil {
		return nil, err
	}
	sub.SetContext(ctx)
	err = sub.RunE(sub, sub.Flags().Args())
	return got, err
}

// replay finds in root the command orig is, and gives it orig's flags (as parsed: a
// list flag is copied as its list), arguments and --context name.
func replay(root, orig *cobra.Command, args []string, name string) (*cobra.Command, error) {
	var path []string
	for c := orig; c.HasParent(); c = c.Parent() {
		path = append([]string{c.Name()}, path...)
	}
	sub, _, err := root.Find(path)
	if err != nil {
		return nil, err
	}
	// "--" first: the arguments are taken as they are, never as flags.
	if err := sub.ParseFlags(append([]string{"--"}, args...)); err != nil {
		return nil, err
	}
	to := sub.Flags()
	orig.Flags().Visit(func(f *pflag.Flag) {
		dst := to.Lookup(f.Name)
		if dst == nil || notReplayed[f.Name] || err != nil {
			return
		}
		src, srcList := f.Value.(pflag.SliceValue)
		list, dstList := dst.Value.(pflag.SliceValue)
		if srcList && dstList {
			err = list.Replace(src.GetSlice())
			dst.Changed = true
			return
		}
		err = to.Set(f.Name, f.Value.String())
	})
	if err != nil {
		return nil, err
	}
	return sub, to.Set("context", name)
}

// contextRun is one context's outcome.
type contextRun struct {
	name   string
	report *result.Report
	err    error
}

// runContexts runs run for every name, at most parallel at once, each with its own
// stderr whose lines are prefixed with the context and written whole to errOut. The
// outcomes are in names' order. progress (nil: none) is told which contexts still run.
func runContexts(ctx context.Context, names []string, parallel int, errOut io.Writer, run contextRunner,
	progress func(left func() []string) (stop func())) []contextRun {
	runs := make([]contextRun, len(names))
	var out sync.Mutex // one line at a time on errOut
	running := newInFlight(names)
	slots := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, name := range names {
		runs[i].name = name
		wg.Add(1)
		go func(r *contextRun) {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			if ctx.Err() != nil { // a signal came while it waited for a slot: nothing to clean up
				r.err = &ExitError{Code: ExitInterrupted, Note: "interrupted"}
				return
			}
			running.set(r.name, true)
			w := &linePrefixer{mu: &out, w: errOut, prefix: result.Labelled(report.Escape(r.name), "")}
			r.report, r.err = run(ctx, r.name, w)
			w.flush()
			running.set(r.name, false)
		}(&runs[i])
	}
	stop := func() {}
	if progress != nil {
		stop = progress(running.left)
	}
	wg.Wait()
	stop()
	return runs
}

// inFlight is which of a list of concurrent runs are running, for the progress lines.
type inFlight struct {
	mu      sync.Mutex
	names   []string
	running map[string]bool
}

func newInFlight(names []string) *inFlight {
	return &inFlight{names: names, running: map[string]bool{}}
}

func (f *inFlight) set(name string, running bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running[name] = running
}

// left are the names still running, in the list's order.
func (f *inFlight) left() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, n := range f.names {
		if f.running[n] {
			out = append(out, n)
		}
	}
	return out
}

// linePrefixer writes whole lines, each prefixed, so that the stderr of concurrent runs
// stays readable; mu is shared by the writers of every run.
type linePrefixer struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *linePrefixer) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := io.WriteString(p.w, p.prefix+string(p.buf[:i+1])); err != nil {
			return len(b), err
		}
		p.buf = p.buf[i+1:]
	}
}

// flush writes what is left of an unfinished line.
func (p *linePrefixer) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > 0 {
		io.WriteString(p.w, p.prefix+string(p.buf)+"\n")
		p.buf = nil
	}
}
