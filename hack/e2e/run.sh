#!/usr/bin/env bash
# run.sh: the real-cluster e2e suite, end to end (`make e2e`).
#   install-deps -> build-k8s.sh (cached) -> build the plugin (+ compile the tests) -> up.sh
#   -> go test -tags e2e ./test/e2e/... -> down.sh (always: EXIT/INT/TERM) -> the tests' status.
# Env: E2E_RUN=<regexp> passes -run to go test (one scenario: E2E_RUN=TestSecretExpired);
#      E2E_KEEP=1 leaves the cluster up afterwards (tear down later with hack/e2e/down.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=env.sh
. "$here/env.sh"
[ "$(id -u)" = 0 ] || { echo "run.sh: the e2e cluster needs root" >&2; exit 1; }
# One cluster per machine: runs (and hack/bench.sh) take turns on this lock.
exec 9>"${E2E_LOCK:-/tmp/certdoctor-e2e.lock}"
flock -w 3600 9 || { echo "run.sh: another e2e run or benchmark holds ${E2E_LOCK:-/tmp/certdoctor-e2e.lock}" >&2; exit 1; }

declare -a TIMES=()
now() { date +%s.%N; }
phase_start=$(now)
phase() { # phase NAME: record the time since the previous phase ended
  local t; t=$(now)
  TIMES+=("$(printf '%-28s %7.1fs' "$1" "$(awk "BEGIN{print $t - $phase_start}")")")
  phase_start=$t
}
summary() {
  echo "=== e2e timings"
  for l in "${TIMES[@]}"; do echo "  $l"; done
}

rm -rf /tmp/certdoctor-e2e.??????   # left by a run that was killed with SIGKILL (no trap)
tmp=$(mktemp -d /tmp/certdoctor-e2e.XXXXXX)
cluster_started=0 testing=0 rc=1
finish() {
  local code=$?
  trap - EXIT INT TERM
  [ "$rc" = 1 ] && [ "$code" != 0 ] && rc=$code
  [ $testing = 1 ] && phase "go test (interrupted)"
  if [ $cluster_started = 1 ]; then
    "$here/rss.sh" || true
    if [ "${E2E_KEEP:-0}" = 1 ]; then
      echo "=== E2E_KEEP=1: cluster left running (KUBECONFIG=/etc/kubernetes/admin.conf); hack/e2e/down.sh stops it"
    else
      echo "=== down.sh"
      "$here/down.sh" || { echo "down.sh failed" >&2; rc=1; }
      phase "down.sh"
    fi
  fi
  rm -rf "$tmp"
  summary
  exit "$rc"
}
trap finish EXIT
trap 'echo "run.sh: interrupted" >&2; rc=130; exit 130' INT
trap 'echo "run.sh: terminated" >&2; rc=143; exit 143' TERM

echo "=== install-deps.sh"
"$here/install-deps.sh"
phase "install-deps"

k8s_state=warm; [ -f "$K8S_BIN/.complete" ] || k8s_state=cold
echo "=== build-k8s.sh ($k8s_state)"
"$here/build-k8s.sh"
phase "build-k8s ($k8s_state)"

echo "=== build kubectl-certdoctor and the e2e tests"
cd "$root"
go build -o "$tmp/kubectl-certdoctor" ./cmd/kubectl-certdoctor
go test -tags e2e -c -o "$tmp/e2e.test" ./test/e2e   # compile now, so the test phase only runs
phase "build plugin + tests"

cluster_state=warm; [ -f /etc/kubernetes/pki/ca.crt ] || cluster_state=cold
echo "=== up.sh ($cluster_state)"
cluster_started=1
"$here/up.sh" 9>&- # the cluster's daemons must not inherit (and hold) the lock
phase "up.sh ($cluster_state)"

echo "=== go test -tags e2e ./test/e2e/..."
# the tests' temp dirs (seeded certs, PKI copies) live under $tmp: removed even after a kill
mkdir -p "$tmp/gotmp"
set +e
testing=1
E2E_PLUGIN="$tmp/kubectl-certdoctor" E2E_K8S_BIN="$K8S_BIN" KUBECONFIG=/etc/kubernetes/admin.conf TMPDIR="$tmp/gotmp" \
  go test -tags e2e -count=1 -v -timeout 40m ${E2E_RUN:+-run "$E2E_RUN"} ./test/e2e/...
rc=$?
testing=0
set -e
phase "go test"
