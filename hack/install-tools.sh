#!/usr/bin/env bash
# install-tools.sh: the release tools the tests use, built from the Go module proxy into a
# cached directory (no binaries are downloaded): goreleaser (archives, checksums) and krew
# (the real install test, and validate-krew-manifest, krew-index's own manifest check).
# Prints the directory holding them; kubectl-krew there is krew as kubectl's plugin. Cached under
# ${CERTDOCTOR_TOOLS:-$XDG_CACHE_HOME/certdoctor-tools}, keyed by the versions.
set -euo pipefail
GORELEASER_VERSION=v2.15.1
KREW_VERSION=v0.4.3
cache=${CERTDOCTOR_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/certdoctor-tools}
dir=$cache/goreleaser-$GORELEASER_VERSION-krew-$KREW_VERSION-$(go env GOVERSION)
if [ ! -f "$dir/.complete" ]; then
  mkdir -p "$dir/bin"
  start=$(date +%s)
  echo "install-tools.sh: building goreleaser $GORELEASER_VERSION and krew $KREW_VERSION (first run only)" >&2
  GOBIN=$dir/bin CGO_ENABLED=0 go install "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION" >&2
  GOBIN=$dir/bin CGO_ENABLED=0 go install "sigs.k8s.io/krew/cmd/krew@$KREW_VERSION" \
    "sigs.k8s.io/krew/cmd/validate-krew-manifest@$KREW_VERSION" >&2
  ln -sf krew "$dir/bin/kubectl-krew"
  touch "$dir/.complete"
  echo "install-tools.sh: built in $(( $(date +%s) - start )) s" >&2
fi
echo "$dir/bin"
