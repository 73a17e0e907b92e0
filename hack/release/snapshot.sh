#!/usr/bin/env bash
# snapshot.sh: `make release-snapshot`: goreleaser check, then goreleaser release --snapshot
# --clean, building every archive into dist/ as a release would, without publishing.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools=$(hack/install-tools.sh)
"$tools/goreleaser" check
if [ -z "$(git remote)" ]; then
  # goreleaser reads the commit only when `git ls-remote --get-url` answers; a checkout
  # without a remote (CI's, a tarball's) would build binaries saying "commit none". The
  # project's URL, for this process only: --get-url reads it from config, no network.
  export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url \
    GIT_CONFIG_VALUE_0=https://github.com/certdoctor/kubectl-certdoctor.git
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$tools/goreleaser" release --snapshot --clean >"$log" 2>&1 || { cat "$log"; exit 1; }
grep -E 'took:|succeeded' "$log" | sed 's/^ *•/ /'
