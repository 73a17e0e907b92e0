package report

import (
	"errors"
	"io"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
)

// Build is the binary's version, for certdoctor_build_info. The command layer fills it
// (pkg/cmd/version.go holds the values); the printer never imports the commands.
type Build struct {
	Version, Commit, GoVersion string
}

// Metric names (docs/output.md, "Prometheus metrics"). Every series carries a cluster label.
const (
	metricNotAfter      = "certdoctor_certificate_not_after_timestamp_seconds"
	metricNotBefore     = "certdoctor_certificate_not_before_timestamp_seconds"
	metricCertificates  = "certdoctor_certificates"
	metricFinding       = "certdoctor_finding"
	metricFindings      = "certdoctor_findings"
	metricCheckSuccess  = "certdoctor_check_success"
	metricCheckDuration = "certdoctor_check_duration_seconds"
	metricCheckSkipped  = "certdoctor_check_skipped"
	metricBuildInfo     = "certdoctor_build_info"
	metricLastRun       = "certdoctor_last_run_timestamp_seconds"
	metricRunDuration   = "certdoctor_last_run_duration_seconds"
)

// certLabels identify one certificate at one place. Bounded by the number of
// certificates: no SAN lists, nothing that changes between runs of the same certificate
// (the status is certdoctor_certificates' label, so a certificate that starts expiring
// does not become a new series).
var certLabels = []string{"cluster", "source", "namespace", "name", "node", "location", "subject", "issuer", "serial"}

// errExplainMetrics: explain reads a text, not a cluster; its causes are not measurements.
var errExplainMetrics = errors.New("-o prometheus: explain's causes are not metrics; use -o table, json or yaml")

// writePrometheus writes the report as Prometheus metrics, in the text exposition format.
func writePrometheus(w io.Writer, r *result.Report, o Options) error {
	reg, err := Metrics(r, o)
	if err != nil {
		return err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return err
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	return nil
}

// Metrics registers the report's metrics in a registry of their own (never the global
// one: serve builds one per check-up, and two reports must not mix). o.Cluster is the
// cluster label of what names no cluster itself; o.Build feeds certdoctor_build_info.
func Metrics(r *result.Report, o Options) (*prometheus.Registry, error) {
	if len(r.Explanations) > 0 {
		return nil, errExplainMetrics
	}
	m := newMetricSet(r, o)
	reg := prometheus.NewRegistry()
	if err := reg.Register(m); err != nil {
		return nil, err
	}
	return reg, nil
}

// metricSet is one report's series, deduplicated before the registry sees them: the
// registry refuses two series with the same labels, and two records can share them.
type metricSet struct {
	families []*family
}

func newMetricSet(r *result.Report, o Options) *metricSet {
	cluster := func(c string) string { return labelValue(orText(c, o.Cluster)) }
	fam := func(name, help string, labels ...string) *family {
		return &family{desc: prometheus.NewDesc(name, help, labels, nil), series: map[string]*series{}}
	}
	notAfter := fam(metricNotAfter, "When the certificate expires (notAfter), in Unix seconds.", certLabels...)
	notBefore := fam(metricNotBefore, "When the certificate becomes valid (notBefore), in Unix seconds.", certLabels...)
	certCount := fam(metricCertificates, "Certificates found, by source and status (MISSING and INVALID ones have no timestamps).", "cluster", "source", "status")
	finding := fam(metricFinding, "A problem certdoctor found (always 1; the labels say which).", "cluster", "code", "severity", "source", "subject")
	findings := fam(metricFindings, "Findings of the run, by severity.", "cluster", "severity")
	success := fam(metricCheckSuccess, "Whether the check ran (1) or could not run (0); findings are counted apart.", "cluster", "check")
	duration := fam(metricCheckDuration, "How long the check ran, in seconds.", "cluster", "check")
	skipped := fam(metricCheckSkipped, "A check of the check-up that did not run: not asked for, or not applicable.", "cluster", "check")
	build := fam(metricBuildInfo, "The certdoctor build that produced these metrics (always 1).", "cluster", "version", "commit", "goversion")
	lastRun := fam(metricLastRun, "When the run's report was made, in Unix seconds.", "cluster")
	runDuration := fam(metricRunDuration, "How long the run's checks took, in seconds.", "cluster")

	clusters := &ordered{seen: map[string]bool{}}
	for _, rec := range sortedRecords(r.Certificates) {
		c := cluster(rec.Cluster)
		clusters.add(c)
		certCount.add(1, c, labelValue(rec.Source), labelValue(string(rec.Status)))
		if rec.CertInfo == nil || rec.NotAfter.IsZero() {
			continue
		}
		lv := certLabelValues(c, rec)
		// Sorted by notAfter first, so of records sharing every label the soonest to
		// expire is the one kept: an alert on expiry never misses it.
		notAfter.setOnce(float64(rec.NotAfter.Unix()), lv...)
		notBefore.setOnce(float64(rec.NotBefore.Unix()), lv...)
	}
	for _, f := range r.Findings {
		c := cluster(f.Cluster)
		clusters.add(c)
		sev := severityLabel(f.Severity)
		finding.setOnce(1, c, labelValue(f.Code), sev, labelValue(f.Source), labelValue(f.Subject))
		findings.add(1, c, sev)
	}
	for _, p := range r.Parts {
		c := cluster(p.Cluster)
		clusters.add(c)
		check := labelValue(p.Command)
		switch p.Status {
		case result.PartSkipped:
			skipped.setOnce(1, c, check)
			continue
		case result.PartRan:
			success.setOnce(1, c, check)
		default: // failed, or a status this printer does not know: never a pass
			success.setOnce(0, c, check)
		}
		duration.setOnce(p.Seconds, c, check)
	}
	for _, t := range r.Targets {
		clusters.add(cluster(t.Context))
	}
	if len(clusters.list) == 0 {
		clusters.add(cluster(""))
	}
	for _, c := range clusters.list {
		for _, sev := range []result.Severity{result.Warning, result.Critical} {
			findings.add(0, c, severityLabel(sev)) // present at 0: an alert on > 0 has a series to compare
		}
		if len(r.Parts) == 0 {
			// A single command: it produced this report, so it ran.
			success.setOnce(1, c, labelValue(r.Command))
			duration.setOnce(r.Seconds, c, labelValue(r.Command))
		}
		build.setOnce(1, c, labelValue(o.Build.Version), labelValue(o.Build.Commit), labelValue(o.Build.GoVersion))
		lastRun.setOnce(float64(r.GeneratedAt.UnixMilli())/1000, c)
		runDuration.setOnce(r.Seconds, c)
	}
	return &metricSet{families: []*family{notAfter, notBefore, certCount, finding, findings, success, duration, skipped, build, lastRun, runDuration}}
}

// Describe and Collect make the set a prometheus.Collector.
func (m *metricSet) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range m.families {
		ch <- f.desc
	}
}

func (m *metricSet) Collect(ch chan<- prometheus.Metric) {
	for _, f := range m.families {
		for _, s := range f.series {
			met, err := prometheus.NewConstMetric(f.desc, prometheus.GaugeValue, s.value, s.labels...)
			if err != nil {
				met = prometheus.NewInvalidMetric(f.desc, err) // the registry returns it: an error, not a panic
			}
			ch <- met
		}
	}
}

// family is one metric's series by label values.
type family struct {
	desc   *prometheus.Desc
	series map[string]*series
}

type series struct {
	labels []string
	value  float64
}

// setOnce sets the series unless an earlier call did: callers order their input so the
// first value is the one to keep.
func (f *family) setOnce(v float64, labels ...string) {
	key := strings.Join(labels, "\xff")
	if _, ok := f.series[key]; !ok {
		f.series[key] = &series{labels: labels, value: v}
	}
}

// add adds v to the series (a count).
func (f *family) add(v float64, labels ...string) {
	key := strings.Join(labels, "\xff")
	if s, ok := f.series[key]; ok {
		s.value += v
		return
	}
	f.series[key] = &series{labels: labels, value: v}
}

// ordered is a set that remembers the order things were added in.
type ordered struct {
	seen map[string]bool
	list []string
}

func (o *ordered) add(s string) {
	if !o.seen[s] {
		o.seen[s] = true
		o.list = append(o.list, s)
	}
}

// sortedRecords orders records by notAfter (missing ones last), then by where they were
// found, so that which of two records with the same labels is kept never depends on
// the order the sources answered in.
func sortedRecords(recs []result.Record) []result.Record {
	out := append([]result.Record(nil), recs...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.CertInfo == nil) != (b.CertInfo == nil) {
			return b.CertInfo == nil
		}
		if a.CertInfo != nil && !a.NotAfter.Equal(b.NotAfter) {
			return a.NotAfter.Before(b.NotAfter)
		}
		return a.Cluster+"\xff"+a.Source+"\xff"+a.Location < b.Cluster+"\xff"+b.Source+"\xff"+b.Location
	})
	return out
}

// namespacedSources name their records NAMESPACE/NAME.
var namespacedSources = map[string]bool{
	result.SourceSecret: true, result.SourceConfigMap: true, result.SourceCertManager: true, result.SourceKubeconfigSecret: true,
}

func certLabelValues(cluster string, rec result.Record) []string {
	ns, name := "", rec.Name
	if namespacedSources[rec.Source] {
		if n, rest, ok := strings.Cut(rec.Name, "/"); ok {
			ns, name = n, rest
		}
	}
	return []string{cluster, labelValue(rec.Source), labelValue(ns), labelValue(name), labelValue(rec.Node),
		labelValue(rec.Location), labelValue(rec.Subject), labelValue(rec.Issuer), labelValue(rec.Serial)}
}

func severityLabel(s result.Severity) string { return strings.ToLower(s.String()) }

// labelValue makes other people's data (a certificate's CN, an object's name, a file
// path) a label value the registry accepts and a reader can trust: bytes that are not
// UTF-8, control characters and bidirectional overrides are written as the tables write
// them (Escape), so the registry never refuses a report and a value shows what it holds.
func labelValue(s string) string { return Escape(s) }

// Clusters lists the cluster label values the report's metrics carry, in order of first
// appearance (one Pushgateway group each).
func Clusters(reg prometheus.Gatherer) ([]string, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return nil, err
	}
	set := &ordered{seen: map[string]bool{}}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			set.add(labelOf(m, "cluster"))
		}
	}
	return set.list, nil
}

// ofCluster is reg's series of one cluster without their cluster label: what a
// Pushgateway group holds, since the group's key adds the label back (and the push
// client refuses a series that already has it).
func ofCluster(reg prometheus.Gatherer, cluster string) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		mfs, err := reg.Gather()
		if err != nil {
			return nil, err
		}
		var out []*dto.MetricFamily
		for _, mf := range mfs {
			var ms []*dto.Metric
			for _, m := range mf.GetMetric() {
				if labelOf(m, "cluster") != cluster {
					continue
				}
				kept := make([]*dto.LabelPair, 0, len(m.GetLabel()))
				for _, l := range m.GetLabel() {
					if l.GetName() != "cluster" {
						kept = append(kept, l)
					}
				}
				// Every certdoctor metric is a gauge.
				ms = append(ms, &dto.Metric{Label: kept, Gauge: m.Gauge, TimestampMs: m.TimestampMs})
			}
			if len(ms) > 0 {
				out = append(out, &dto.MetricFamily{Name: mf.Name, Help: mf.Help, Type: mf.Type, Metric: ms})
			}
		}
		return out, nil
	})
}

func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func orText(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
