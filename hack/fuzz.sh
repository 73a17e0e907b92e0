#!/usr/bin/env bash
# fuzz.sh (`make fuzz`, part of `make test`): runs every fuzz target of the module, one
# at a time, for FUZZTIME each, and fails if any finds a crash.
#
# Targets are found with `go test -list '^Fuzz' ./...`, so a new one is run without
# touching this script. Each runs as
#   go test -run '^$' -fuzz '^Name$' -fuzztime $FUZZTIME -parallel $FUZZ_PARALLEL ./pkg/x
# starting from its committed seed corpus (testdata/fuzz/Name/ in its package: the f.Add
# seeds, written by UPDATE_FUZZ_SEEDS=1 go test -run '^Name$' ./pkg/x, plus every crasher
# found so far) and the inputs earlier runs found interesting ($(go env GOCACHE)/fuzz).
#
#   FUZZTIME          per target: a duration (10s, the default: all targets take about
#                     two minutes on 2 cores, compiling included) or a count (1000000x)
#   FUZZ_PARALLEL     fuzzing workers per target (2, CI's cores)
#   FUZZMINIMIZETIME  time spent shrinking each new interesting input (1s: go's default
#                     of 60s can take a short run's whole time; a crasher is shrunk as long)
#   FUZZ_TARGETS      an extended regexp: only the targets whose name matches
#
# For each target it prints the execs go reports; for a crash, the failure and the file
# go wrote the crashing input to. Re-run it with go test -run 'Name/FILE' ./pkg/x, and
# commit the file with the fix (it then stays in the corpus as a regression test).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
FUZZ_PARALLEL=${FUZZ_PARALLEL:-2}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-1s}
FUZZ_TARGETS=${FUZZ_TARGETS:-.}

# `go test -list` prints a package's matching names, then "ok  <package> <time>". It
# is asked only about the packages whose tests declare a Fuzz function (listing all of
# them would link every test binary of the module first).
dirs=$(grep -rlE --include='*_test.go' --exclude-dir=testdata --exclude-dir=.git '^func Fuzz[A-Z0-9_]' . | xargs -r -n1 dirname | sort -u)
if [ -z "$dirs" ]; then
  echo "fuzz.sh: no fuzz targets in the module" >&2
  exit 1
fi
# shellcheck disable=SC2086 # one argument per directory
list=$("$GO" test -list '^Fuzz' $dirs) || { echo "fuzz.sh: go test -list failed:" >&2; echo "$list" >&2; exit 1; }
targets=()
names=()
while read -r first second _; do
  case "$first" in
    Fuzz*) names+=("$first") ;;
    ok)
      for n in "${names[@]}"; do
        if [[ $n =~ $FUZZ_TARGETS ]]; then targets+=("$second $n"); fi
      done
      names=() ;;
  esac
done <<<"$list"
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz.sh: no fuzz target matches '$FUZZ_TARGETS'" >&2
  exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed=()
flakes=()
start=$SECONDS
echo "fuzz.sh: ${#targets[@]} targets, FUZZTIME=$FUZZTIME each, -parallel $FUZZ_PARALLEL"
for t in "${targets[@]}"; do
  pkg=${t% *} name=${t#* }
  rel=./${pkg#"$("$GO" list -m)"/}
  t0=$SECONDS
  if "$GO" test -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" \
    -parallel "$FUZZ_PARALLEL" "$rel" >"$log" 2>&1; then
    status=ok
  elif ! grep -q 'Failing input written to' "$log" && grep -qx '[[:space:]]*context deadline exceeded' "$log" &&
    [ "$(grep -c -e '--- FAIL' "$log")" = 1 ]; then
    # Go before 1.27 can fail a target at the end of a -fuzztime duration with a bare
    # "context deadline exceeded" and no input (go.dev/issue/75804): a race in the fuzz
    # coordinator, not a crash. A count (FUZZTIME=100000x) has no such deadline.
    status=ok
    flakes+=("$name")
  else
    status=FAIL
  fi
  execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | awk '{print $2}' || true)
  if [ -z "$execs" ]; then
    # The whole time went on re-running the corpus: the committed one and the inputs
    # earlier runs kept in $(go env GOCACHE)/fuzz (go clean -fuzzcache drops those).
    execs="0 (baseline $(grep -o 'baseline coverage: [0-9]*/[0-9]*' "$log" | tail -1 | awk '{print $3}' || true))"
  fi
  printf '%-4s %-20s %-22s execs %-10s %ss\n' "$status" "$name" "$rel" "$execs" $((SECONDS - t0))
  if [ "$status" = FAIL ]; then
    failed+=("$name ($rel)")
    sed 's/^/    /' "$log" | tail -40
    crasher=$(grep -o 'testdata/fuzz/[^ ]*' "$log" | tail -1 || true)
    if [ -n "$crasher" ]; then
      echo "    crashing input: $rel/$crasher"
      echo "    re-run:         $GO test -run '^$name/${crasher##*/}\$' $rel"
    else
      echo "    (no crashing input written: the test binary did not build, or a seed failed)"
    fi
  fi
done
if [ ${#flakes[@]} -gt 0 ]; then
  echo "fuzz.sh: ended by go's -fuzztime deadline race (go.dev/issue/75804), not by a crash: ${flakes[*]}"
fi
echo "fuzz.sh: $((SECONDS - start))s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: ${#failed[@]} of ${#targets[@]} targets failed: ${failed[*]}" >&2
  exit 1
fi
