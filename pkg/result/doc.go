// Package result is certdoctor's result model: what a check found, as data. Engines
// (sources, nodes, webhook, sans) fill it, pkg/diagnose builds its findings from the
// cause catalogue, and pkg/report prints it. It imports nothing of certdoctor's, so
// every package may import it (an import rule kept by pkg/layout_test.go).
package result
