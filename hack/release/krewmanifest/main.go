// Command krewmanifest renders krew-manifest.yaml (a krew-release-bot template) into the
// manifest of one release, taking each archive's sha256 from goreleaser's checksums file
// instead of downloading it, and refuses a manifest krew would refuse or that does not
// match the archives: every os/arch built is installable, and nothing else is promised.
//
//	go run ./hack/release/krewmanifest -tag v0.3.0 -checksums dist/checksums.txt -o dist/certdoctor.yaml
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	var o options
	flag.StringVar(&o.template, "template", "krew-manifest.yaml", "the manifest template (krew-release-bot format)")
	flag.StringVar(&o.checksums, "checksums", "dist/checksums.txt", "goreleaser's checksums file; the archives are read from its directory")
	flag.StringVar(&o.tag, "tag", "", "the release tag, v-prefixed (default: v + the version in dist/metadata.json)")
	flag.StringVar(&o.out, "o", "dist/certdoctor.yaml", "where to write the manifest (krew wants <plugin name>.yaml)")
	flag.Parse()
	if err := o.run(); err != nil {
		fmt.Fprintf(os.Stderr, "krewmanifest: %v\n", err)
		os.Exit(1)
	}
}

type options struct{ template, checksums, tag, out string }

func (o options) run() error {
	if o.tag == "" {
		v, err := snapshotVersion(filepath.Join(filepath.Dir(o.checksums), "metadata.json"))
		if err != nil {
			return err
		}
		o.tag = "v" + v
	}
	sums, err := readChecksums(o.checksums)
	if err != nil {
		return err
	}
	tmpl, err := os.ReadFile(o.template)
	if err != nil {
		return err
	}
	manifest, err := render(string(tmpl), o.tag, sums)
	if err != nil {
		return err
	}
	if err := validate(manifest, sums); err != nil {
		return fmt.Errorf("%s: %w", o.template, err)
	}
	return os.WriteFile(o.out, manifest, 0o644)
}
