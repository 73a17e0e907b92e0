package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/certdoctor/kubectl-certdoctor/pkg/report"
)

// Set at build time with -ldflags -X (Makefile, .goreleaser.yaml).
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

// VersionInfo is what `version -o json` prints; its field names are a stable contract.
type VersionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// NewCmdVersion builds `version`.
func NewCmdVersion(common *CommonOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of kubectl-certdoctor",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v := versionInfo()
			if common.Output == report.FormatPrometheus || common.Pushgateway != "" {
				// The build is certdoctor_build_info of every check's metrics.
				return errors.New("version has no metrics of its own: every check's -o prometheus carries certdoctor_build_info")
			}
			switch common.Output {
			case report.FormatJSON, report.FormatYAML:
				b, err := json.MarshalIndent(v, "", "  ")
				if err != nil {
					return err
				}
				if common.Output == report.FormatYAML {
					return printYAML(common, b)
				}
				_, err = fmt.Fprintf(common.Out, "%s\n", b)
				return err
			}
			_, err := fmt.Fprintf(common.Out, "kubectl-certdoctor %s (commit %s, built %s, %s, %s)\n", v.Version, v.Commit, v.Date, v.GoVersion, v.Platform)
			return err
		},
	}
}

// versionInfo is this binary's version.
func versionInfo() VersionInfo {
	return VersionInfo{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
}

func printYAML(common *CommonOptions, jsonDoc []byte) error {
	y, err := yaml.JSONToYAML(jsonDoc)
	if err != nil {
		return err
	}
	_, err = common.Out.Write(y)
	return err
}
