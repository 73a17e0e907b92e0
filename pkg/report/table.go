package report

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/certdoctor/kubectl-certdoctor/pkg/result"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// writeTable draws rows the way kubectl does: upper-case headers, no borders, columns
// separated by three spaces, no trailing blanks. textWriter.table calls it with the
// cells escaped.
func writeTable(w *textWriter, header []string, rows [][]string) error {
	var buf bytes.Buffer
	t := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenRows: tw.Off, BetweenColumns: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.Off},
			},
		})),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithPadding(tw.Padding{Left: "", Right: "   ", Overwrite: true}),
		tablewriter.WithTrimSpace(tw.Off),
	)
	t.Header(header)
	if err := t.Bulk(rows); err != nil {
		return err
	}
	if err := t.Render(); err != nil {
		return err
	}
	_, err := w.Write(trailingBlanks.ReplaceAll(buf.Bytes(), []byte("\n")))
	return err
}

var trailingBlanks = regexp.MustCompile(`[ \t]+\n`)

// printText is the human output: certificate tables, then findings with their fixes,
// then notes and a one-line summary.
func printText(out io.Writer, r *result.Report, o Options) error {
	w := newTextWriter(out)
	w.clusters = r.Clusters()
	wide := o.Wide
	var plain []result.Record
	kubeadm := map[string][]result.Record{} // by cluster and node
	for _, rec := range r.Certificates {
		if rec.Kubeadm != nil {
			kubeadm[rec.Cluster+"\x00"+rec.Node] = append(kubeadm[rec.Cluster+"\x00"+rec.Node], rec)
		} else {
			plain = append(plain, rec)
		}
	}
	printTarget(w, r)
	printTargets(w, r.Targets)
	if len(r.Parts) > 0 {
		if err := printCheckup(w, r, o); err != nil {
			return err
		}
	}
	if r.Inspection != nil {
		if err := printInspection(w, r.Inspection); err != nil {
			return err
		}
		plain = nil // every certificate was shown in depth
	}
	if len(plain) > 0 {
		if err := certificateTable(w, attention(plain, o), r.GeneratedAt, wide); err != nil {
			return err
		}
		if hidden := len(plain) - len(attention(plain, o)); hidden > 0 {
			w.printf("(%d more certificates are OK: -o wide or --show-ok lists them)\n", hidden)
		}
	}
	nodes := make([]string, 0, len(kubeadm))
	for n := range kubeadm {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	for i, n := range nodes {
		if len(plain) > 0 || i > 0 {
			w.printf("\n")
		}
		first := kubeadm[n][0]
		if w.clusters {
			w.printf("CLUSTER %s ", first.Cluster)
		}
		if first.Source == result.SourceNode {
			w.printf("NODE %s\n", first.Node)
		} else if w.clusters {
			w.printf("\n")
		}
		if err := KubeadmTables(w, kubeadm[n], r.GeneratedAt); err != nil {
			return err
		}
	}
	if r.Identity != nil {
		if len(r.Certificates) > 0 {
			w.printf("\n")
		}
		if err := identityTable(w, r.Identity, r.GeneratedAt); err != nil {
			return err
		}
	}
	if err := printPerCluster(w, r); err != nil {
		return err
	}
	if len(r.Permissions) > 0 {
		w.printf("\n")
		if err := permissionTable(w, r.Permissions, wide); err != nil {
			return err
		}
	}
	if len(r.Checks) > 0 {
		if len(r.Certificates) > 0 {
			w.printf("\n")
		}
		if err := checkTable(w, r.Checks); err != nil {
			return err
		}
	}
	printFindings(w, r.Findings, o)
	printPlan(w, r.Plan)
	printExplanations(w, r.Explanations)
	if len(r.Notes) > 0 {
		w.printf("\nNotes:\n")
		for _, n := range r.Notes {
			w.printf("  - %s\n", n)
		}
	}
	if line := summaryLine(r); line != "" {
		w.printf("\n%s\n", line)
	}
	return nil
}

func summaryLine(r *result.Report) string {
	if r.Summary.Certificates == 0 && r.Summary.Findings == 0 && (len(r.Checks) > 0 || len(r.Notes) > 0 || len(r.Explanations) > 0) && len(r.Parts) == 0 {
		return "" // nothing was counted (cleanup, a walk): the table or the notes say it all
	}
	n := count(r.Summary.Certificates, "certificate") + " checked"
	if r.Summary.Certificates == 0 && len(r.Checks) > 0 {
		// A walk checks links, not certificates: count what it did check.
		groups := map[string]bool{}
		for _, c := range r.Checks {
			groups[c.Group] = true
		}
		n = count(len(r.Checks), "check") + " of " + count(len(groups), "target")
	}
	if r.Summary.Findings == 0 {
		return fmt.Sprintf("No problems found (%s).", n)
	}
	return fmt.Sprintf("%s: %d critical, %d warning.", n, r.Summary.Critical, r.Summary.Warning)
}

func certificateTable(w *textWriter, recs []result.Record, now time.Time, wide bool) error {
	header := []string{"SOURCE", "NAME", "SUBJECT", "ISSUER", "NOT BEFORE", "NOT AFTER", "RESIDUAL", "STATUS", "SERIAL"}
	if wide {
		header = append(header, "LOCATION", "SANS")
	}
	header = w.clusterHeader(header)
	rows := make([][]string, 0, len(recs))
	for _, rec := range recs {
		row := []string{rec.Source, rec.Name, "", "", "", "", "", string(rec.Status), ""}
		if rec.CertInfo != nil {
			row[2], row[3] = rec.Subject, rec.Issuer
			row[4], row[5] = shortTime(rec.NotBefore), shortTime(rec.NotAfter)
			row[6], row[8] = rec.Residual, orDash(rec.Serial)
		}
		if wide {
			sans := ""
			if rec.CertInfo != nil {
				sans = strings.Join(rec.SANs, ",")
			}
			row = append(row, rec.Location, orDash(sans))
		}
		rows = append(rows, w.clusterRow(rec.Cluster, row))
	}
	return w.table(header, rows)
}

// KubeadmTables prints records the way `kubeadm certs check-expiration` does (same
// names, columns, date format, "<invalid>" and "!MISSING!"), then the kubelet's
// certificates in a third table of the same shape.
func KubeadmTables(out io.Writer, recs []result.Record, now time.Time) error {
	w := newTextWriter(out)
	recs = append([]result.Record(nil), recs...)
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Kubeadm.Name < recs[j].Kubeadm.Name }) // kubeadm's order
	var leafs, cas, kubelet [][]string
	for _, rec := range recs {
		k := rec.Kubeadm
		switch {
		case k.Table == result.TableAuthorities && rec.CertInfo == nil:
			cas = append(cas, []string{absent(rec) + k.Name, "", "", ""})
		case k.Table == result.TableAuthorities:
			cas = append(cas, []string{k.Name, kubeadmTime(rec.NotAfter), rec.Residual, yesNo(k.ExternallyManaged)})
		case rec.CertInfo == nil:
			row := []string{absent(rec) + k.Name, "", "", "", ""}
			if k.Table == result.TableKubelet {
				kubelet = append(kubelet, row[:4])
			} else {
				leafs = append(leafs, row)
			}
		case k.Table == result.TableKubelet:
			kubelet = append(kubelet, []string{k.Name, kubeadmTime(rec.NotAfter), rec.Residual, k.CAName})
		default:
			leafs = append(leafs, []string{k.Name, kubeadmTime(rec.NotAfter), rec.Residual, k.CAName, yesNo(k.ExternallyManaged)})
		}
	}
	if err := w.table([]string{"CERTIFICATE", "EXPIRES", "RESIDUAL TIME", "CERTIFICATE AUTHORITY", "EXTERNALLY MANAGED"}, leafs); err != nil {
		return err
	}
	w.printf("\n")
	if err := w.table([]string{"CERTIFICATE AUTHORITY", "EXPIRES", "RESIDUAL TIME", "EXTERNALLY MANAGED"}, cas); err != nil {
		return err
	}
	if len(kubelet) == 0 {
		return nil
	}
	w.printf("\n")
	return w.table([]string{"KUBELET CERTIFICATE", "EXPIRES", "RESIDUAL TIME", "CERTIFICATE AUTHORITY"}, kubelet)
}

// checkTable lists each step with its result, grouped as the command walked them.
func checkTable(w *textWriter, checks []result.Check) error {
	rows := make([][]string, 0, len(checks))
	for _, c := range checks {
		rows = append(rows, w.clusterRow(c.Cluster, []string{c.Group, c.Name, c.Severity.String(), c.Detail}))
	}
	return w.table(w.clusterHeader([]string{"TARGET", "CHECK", "RESULT", "DETAIL"}), rows)
}

// absent marks a row without a certificate the way kubeadm marks a missing one; a file
// that exists but holds no certificate is marked differently, its finding says why.
func absent(rec result.Record) string {
	if rec.Status == result.StatusInvalid {
		return "!INVALID! "
	}
	return "!MISSING! "
}

func shortTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// kubeadmTime formats a time the way `kubeadm certs check-expiration` does.
func kubeadmTime(t time.Time) string {
	return t.UTC().Format("Jan 02, 2006 15:04 MST")
}
