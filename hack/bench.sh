#!/usr/bin/env bash
# bench.sh (`make bench`, as root): kubectl-certdoctor against what users run instead, on the
# real cluster of the e2e harness. Results and how to read them: docs/benchmarks.md.
#
# For each data set size (BENCH_SIZES, secrets; default 1000 10000 30000) it starts the
# cluster on that data set's own etcd data dir ($S/etcd-bench-<size>: the e2e suite never
# sees it), fills it once (test/bench/populate: TLS secrets over 500 namespaces + 50 webhook
# configurations; kept between runs), then measures, BENCH_REPS times each after one
# untimed warm-up, wall time and peak RSS (/usr/bin/time):
#   certdoctor    kubectl-certdoctor expiry -o json --skip-nodes
#   kubectl       kubectl get secrets -A -o json            (what kubectl itself costs)
#   raw-json      curl of the TLS secret list, JSON         (the API server's own time)
#   raw-protobuf  the same list as protobuf                 (the physical floor)
#   listfloor     the same list paged as certdoctor pages it, decoded and dropped
#                 (test/bench/listfloor: the floor for any client that pages)
# and, on the BENCH_MAIN data set (default 10000) only:
#   pipeline      kubectl | jq | base64 | openssl, one openssl per certificate (1 run: minutes)
#   local         expiry --local vs kubeadm certs check-expiration on the same PKI (both read
#                 /etc/kubernetes; neither asks the API server)
#   nodes         expiry with node checks, 1 vs 3 debug pods in parallel
#   contexts      expiry --skip-nodes over 10 kubeconfig contexts (--contexts) vs 1, all on
#                 the one bench cluster (smallest data set), at the default --max-parallel (4) and
#                 at 8, and against the alternative: a shell loop of 10 one-context runs
#   checkup       kubectl-certdoctor itself (expiry with one node's debug pod, sans, webhook --all)
# plus the cold start of `kubectl-certdoctor --help` (median of 20) and the parser
# micro-benchmarks (go test -bench). BENCH_PIPELINE=0 skips the pipeline, and says so.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/e2e/env.sh"
[ "$(id -u)" = 0 ] || { echo "bench.sh: the e2e cluster needs root" >&2; exit 1; }
REPS=${BENCH_REPS:-7}
SIZES=${BENCH_SIZES:-1000 10000 30000}
MAIN=${BENCH_MAIN:-10000}
PIPELINE=${BENCH_PIPELINE:-1}
S=${E2E_STATE:-/var/lib/certdoctor-e2e}
case " $SIZES " in *" $MAIN "*) ;; *) echo "bench.sh: BENCH_MAIN=$MAIN is not in BENCH_SIZES=$SIZES" >&2; exit 1 ;; esac

# The cluster is shared with the e2e suite: take turns on run.sh's lock.
exec 9>"${E2E_LOCK:-/tmp/certdoctor-e2e.lock}"
flock -w 3600 9 || { echo "bench.sh: another e2e run or benchmark holds the lock" >&2; exit 1; }

"$here/e2e/install-deps.sh" time
"$here/e2e/build-k8s.sh"
export PATH=$K8S_BIN:$PATH KUBECONFIG=/etc/kubernetes/admin.conf

tmp=$(mktemp -d /tmp/certdoctor-bench.XXXXXX)
chmod 700 "$tmp"
up=0
finish() {
  local code=$?
  trap - EXIT INT TERM
  [ $up = 1 ] && "$here/e2e/down.sh" >/dev/null
  rm -rf "$tmp"   # also the copy of the admin client key made for curl
  exit $code
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cd "$root"
echo "=== build (as make build: -trimpath -s -w)"
CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$tmp/kubectl-certdoctor" ./cmd/kubectl-certdoctor
go build -o "$tmp/populate" ./test/bench/populate
CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$tmp/listfloor" ./test/bench/listfloor
CD=$tmp/kubectl-certdoctor

# measure NAME REPS CMD...: runs CMD (stdout to $tmp/NAME.out) REPS times after one
# untimed warm-up (REPS=1: no warm-up), a second apart (the API server's garbage collection
# after a large list must not land on the next run); records "seconds maxrss_kb" per run in
# $tmp/NAME.t. Wall time from the shell's clock (/usr/bin/time's is in 10 ms steps).
measure() {
  local name=$1 reps=$2 i t0 t1; shift 2
  : >"$tmp/$name.t"
  [ "$reps" -gt 1 ] && { "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || true; }
  for ((i = 0; i < reps; i++)); do
    sleep 1
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%M' -o "$tmp/time" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || true
    t1=$EPOCHREALTIME
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }') $(tail -n 1 "$tmp/time")" >>"$tmp/$name.t"
  done
}
# stats NAME FIELD: "median min max" of column FIELD (1 seconds, 2 KB) of NAME's runs
stats() { sort -g -k"$2,$2" "$tmp/$1.t" | awk -v f="$2" '{v[NR]=$f} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; print m, v[1], v[NR]}'; }
median() { stats "$1" "$2" | cut -d' ' -f1; }
row() { # row LABEL NAME: a markdown table row
  local t m; read -r t tmin tmax < <(stats "$2" 1); m=$(median "$2" 2)
  printf '| %s | %s | %.3f | %.3f–%.3f | %d |\n' "$1" "$(wc -l <"$tmp/$2.t")" "$t" "$tmin" "$tmax" $((${m%.*} / 1024)) >>"$tmp/table"
}
ratio() { awk -v a="$(median "$1" 1)" -v b="$(median "$2" 1)" 'BEGIN { r = a / b; printf (r >= 10 ? "%.0f" : "%.2f"), r }'; }
# secretCerts NAME: how many certificates from secrets certdoctor's JSON output NAME holds
secretCerts() { jq '[.certificates[] | select(.source == "secret")] | length' "$tmp/$1.out"; }
# check NAME DESC CMD...: a measurement whose output is wrong measures nothing
check() { local n=$1 d=$2; shift 2; "$@" || { echo "bench.sh: $n: $d" >&2; cat "$tmp/$n.err" >&2; exit 1; }; }

kubectl config view --raw -o jsonpath='{.users[0].user.client-certificate-data}' | base64 -d >"$tmp/admin.crt"
kubectl config view --raw -o jsonpath='{.users[0].user.client-key-data}' | base64 -d >"$tmp/admin.key"
LIST="https://10.200.0.1:6443/api/v1/secrets?fieldSelector=type%3Dkubernetes.io%2Ftls"
CURL=(curl -sSf --cert "$tmp/admin.crt" --key "$tmp/admin.key" --cacert /etc/kubernetes/pki/ca.crt)
# What a user types: every TLS secret's first certificate through base64 and openssl.
pipeline() {
  kubectl get secrets -A --field-selector type=kubernetes.io/tls -o json |
    jq -r '.items[] | [.metadata.namespace, .metadata.name, .data["tls.crt"]] | @tsv' |
    while IFS=$'\t' read -r ns name crt; do
      printf '%s/%s ' "$ns" "$name"
      echo "$crt" | base64 -d | openssl x509 -noout -enddate
    done
}
export -f pipeline

{ echo "## Machine"
  echo
  echo "- $(nproc) CPUs: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
  echo "- $(free -g | awk '/^Mem:/ {print $2}') GB RAM, $(uname -sr), cgroup $([ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && echo v2 || echo v1)"
  echo "- $(go version | cut -d' ' -f3), Kubernetes $K8S_VERSION and etcd $("$ETCD_BIN/etcd" --version | sed -n 's/^etcd Version: //p') (built by hack/e2e/build-k8s.sh), one node"
  echo "- $(openssl version | cut -d' ' -f1-2), $(jq --version), $(curl --version | head -1 | cut -d' ' -f1-2)"
  echo "- kubectl-certdoctor $(git describe --always --dirty)"
} >"$tmp/machine"

: >"$tmp/curve"
for size in $SIZES; do
  echo "=== data set: $size TLS secrets (etcd data dir $S/etcd-bench-$size)"
  up=1
  E2E_ETCD_DATA=$S/etcd-bench-$size "$here/e2e/up.sh" 9>&- | tail -n 1
  "$tmp/populate" -secrets "$size"
  kubectl get --raw /readyz >/dev/null
  echo "--- measuring ($REPS runs each)"
  measure "certdoctor-$size" "$REPS" "$CD" expiry -o json --skip-nodes
  # every secret's tls.crt chain and ca.crt, and no failure of its own
  check "certdoctor-$size" "fewer secret certificates than secrets" test "$(secretCerts "certdoctor-$size")" -ge $((2 * size))
  measure "kubectl-$size" "$REPS" kubectl get secrets -A -o json
  check "kubectl-$size" "fewer items than secrets" test "$(jq '.items | length' "$tmp/kubectl-$size.out")" -ge "$size"
  measure "rawjson-$size" "$REPS" "${CURL[@]}" -H "Accept: application/json" "$LIST"
  measure "rawproto-$size" "$REPS" "${CURL[@]}" -H "Accept: application/vnd.kubernetes.protobuf" "$LIST"
  check "rawproto-$size" "empty protobuf list" test -s "$tmp/rawproto-$size.out"
  measure "listfloor-$size" "$REPS" "$tmp/listfloor"
  check "listfloor-$size" "fewer secrets than the data set" grep -q "^$size secrets" "$tmp/listfloor-$size.out"
  printf '| %s | %s | %.3f s | %d MB | %.3f s | %d MB | %.3f s | %.3f s |\n' "$size" \
    "$(($(stat -c %s "$tmp/kubectl-$size.out") / 1048576))" \
    "$(median "certdoctor-$size" 1)" $(($(median "certdoctor-$size" 2 | cut -d. -f1) / 1024)) \
    "$(median "kubectl-$size" 1)" $(($(median "kubectl-$size" 2 | cut -d. -f1) / 1024)) \
    "$(median "rawproto-$size" 1)" "$(median "listfloor-$size" 1)" >>"$tmp/curve"

  if [ "$size" = "$MAIN" ]; then
    # kubectl's --disable-compression: the raw lists above are not compressed either
    measure nogzip "$REPS" "$CD" expiry -o json --skip-nodes --disable-compression
    check nogzip "fewer secret certificates than secrets" test "$(secretCerts nogzip)" -ge $((2 * size))
    if [ "$PIPELINE" = 1 ]; then
      echo "--- the shell pipeline (one run: a few minutes)"
      measure pipeline 1 bash -c pipeline
      check pipeline "fewer dates than secrets" test "$(grep -c 'notAfter=' "$tmp/pipeline.out")" -ge "$size"
    else
      echo "--- the shell pipeline: SKIPPED (BENCH_PIPELINE=0)"
    fi
    echo "--- local mode vs kubeadm certs check-expiration"
    measure local "$REPS" "$CD" expiry --local -o json
    check local "no kubeadm certificate" grep -q '"name": "apiserver-etcd-client"' "$tmp/local.out"
    # --config: kubeadm reads the ClusterConfiguration from the file, not from the cluster, where
    # it would wait a minute for a kube-apiserver mirror pod this harness does not have.
    measure kubeadm "$REPS" kubeadm certs check-expiration --config "$here/e2e/kubeadm-config.yaml"
    check kubeadm "no kubeadm table" grep -q '^apiserver-etcd-client' "$tmp/kubeadm.out"
    echo "--- the check-up (expiry with node checks on one node, sans, webhook --all)"
    measure checkup "$REPS" "$CD" -o json --nodes e2e-cp
    check checkup "not a check-up of every part" test "$(jq '[.parts[] | select(.status == "ran")] | length' "$tmp/checkup.out")" -eq 3
    check checkup "fewer secret certificates than secrets" test "$(secretCerts checkup)" -ge $((2 * size))
  fi
  if [ "$size" = "${SIZES%% *}" ]; then
    # On the smallest data set, so that the secret scan adds little to the pods' time.
    # One kubelet: "3 nodes" are 3 debug pods at once on the one node, as many pods to
    # create, schedule, run and delete as 3 control-plane nodes cost.
    echo "--- node checks: 1 vs 3 debug pods"
    measure nodes1 "$REPS" "$CD" expiry -o json --nodes e2e-cp
    check nodes1 "no node certificate" grep -q '"source": "node"' "$tmp/nodes1.out"
    measure nodes3 "$REPS" "$CD" expiry -o json --nodes e2e-cp,e2e-cp,e2e-cp
    check nodes3 "no node certificate" grep -q '"source": "node"' "$tmp/nodes3.out"
    measure nodes0 "$REPS" "$CD" expiry -o json --skip-nodes
    # --contexts: 10 contexts of admin.conf's cluster and user, against one of them. Ten
    # names for one connection are checked once (the others are aliases); ten contexts in
    # ten namespaces are ten runs, all answered by one API server on the same CPUs (real
    # clusters would each have their own).
    echo "--- --contexts: 10 contexts vs 1"
    cp "$KUBECONFIG" "$tmp/contexts.conf"
    cl=$(kubectl config view -o jsonpath='{.contexts[0].context.cluster}')
    us=$(kubectl config view -o jsonpath='{.contexts[0].context.user}')
    ctxs=() nss=()
    for i in $(seq 10); do
      kubectl --kubeconfig "$tmp/contexts.conf" config set-context "bench-$i" --cluster "$cl" --user "$us" >/dev/null
      kubectl --kubeconfig "$tmp/contexts.conf" config set-context "ns-$i" --cluster "$cl" --user "$us" --namespace "bench-ns-$i" >/dev/null
      ctxs+=("bench-$i") nss+=("ns-$i")
    done
    ten=$(IFS=,; echo "${ctxs[*]}")
    tenns=$(IFS=,; echo "${nss[*]}")
    measure contexts1 "$REPS" "$CD" expiry -o json --skip-nodes --kubeconfig "$tmp/contexts.conf" --contexts bench-1
    measure contexts10 "$REPS" "$CD" expiry -o json --skip-nodes --kubeconfig "$tmp/contexts.conf" --contexts "$ten"
    check contexts10 "not one target with 9 aliases" test "$(jq -r '"\(.targets | length) \(.targets[0].aliases | length)"' "$tmp/contexts10.out")" = "1 9"
    measure contexts10ns "$REPS" "$CD" expiry -o json --skip-nodes --kubeconfig "$tmp/contexts.conf" --contexts "$tenns"
    measure contexts10nsp8 "$REPS" "$CD" expiry -o json --skip-nodes --kubeconfig "$tmp/contexts.conf" --contexts "$tenns" --max-parallel 8
    measure contextsloop "$REPS" bash -c 'for c in "${@:2}"; do "$1" expiry -o json --skip-nodes --kubeconfig "'"$tmp"'/contexts.conf" --context "$c" || true; done' _ "$CD" "${nss[@]}"
    check contextsloop "not 10 reports" test "$(grep -c '"kind": "Report"' "$tmp/contextsloop.out")" -eq 10
    for n in contexts10ns contexts10nsp8; do
      check "$n" "not 10 targets" test "$(jq '.targets | length' "$tmp/$n.out")" -eq 10
      check "$n" "fewer secret certificates than 10 x secrets" test "$(secretCerts "$n")" -ge $((20 * size))
      check "$n" "a context that could not be checked" test "$(jq '[.findings[] | select(.code == "SourceFailed")] | length' "$tmp/$n.out")" -eq 0
    done
  fi
  "$here/e2e/down.sh" >/dev/null
  up=0
done

echo "--- cold start: kubectl-certdoctor --help (median of 20)"
: >"$tmp/help.t"
for _ in $(seq 20); do
  t0=$EPOCHREALTIME; "$CD" --help >/dev/null; t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.5f 0\n", b - a }' >>"$tmp/help.t"
done

echo "--- go test -bench (parsers)"
go test -run '^$' -bench . -benchmem -benchtime 2s ./pkg/certs ./pkg/sources ./pkg/nodes |
  grep -E '^(Benchmark|ok|FAIL)' >"$tmp/micro"

# --- report (markdown, pasted into docs/benchmarks.md)
echo
cat "$tmp/machine"
echo
echo "## $MAIN TLS secrets: median of $REPS runs (after a warm-up)"
echo
echo "| what | runs | median s | min–max s | peak RSS MB |"
echo "|---|---|---|---|---|"
: >"$tmp/table"
row "kubectl-certdoctor expiry -o json --skip-nodes" "certdoctor-$MAIN"
row "kubectl-certdoctor expiry -o json --skip-nodes --disable-compression" nogzip
row "kubectl-certdoctor (the check-up) -o json --nodes e2e-cp" checkup
[ "$PIPELINE" = 1 ] && row "shell pipeline: kubectl, jq, base64, openssl per certificate" pipeline
row "kubectl get secrets -A -o json" "kubectl-$MAIN"
row "curl, raw list, JSON" "rawjson-$MAIN"
row "curl, raw list, protobuf" "rawproto-$MAIN"
row "client-go, paged list, protobuf, nothing done (listfloor)" "listfloor-$MAIN"
row "kubectl-certdoctor expiry --local -o json" local
row "kubeadm certs check-expiration --config kubeadm-config.yaml" kubeadm
row "expiry with node checks, 1 debug pod (${SIZES%% *} secrets)" nodes1
row "expiry with node checks, 3 debug pods (${SIZES%% *} secrets)" nodes3
row "expiry --skip-nodes (${SIZES%% *} secrets)" nodes0
row "expiry --skip-nodes --contexts, 1 context (${SIZES%% *} secrets)" contexts1
row "expiry --skip-nodes --contexts, 10 names for that context (checked once)" contexts10
row "expiry --skip-nodes --contexts, 10 contexts in 10 namespaces, default --max-parallel 4 (${SIZES%% *} secrets each)" contexts10ns
row "expiry --skip-nodes --contexts, 10 contexts in 10 namespaces, --max-parallel 8" contexts10nsp8
row "shell loop: expiry --skip-nodes --context, 10 runs one after another" contextsloop
cat "$tmp/table"
echo
echo "## Ratios"
echo
[ "$PIPELINE" = 1 ] && echo "- pipeline / certdoctor: **$(ratio pipeline "certdoctor-$MAIN")×** (target ≥ 200)"
[ "$PIPELINE" = 1 ] || echo "- pipeline / certdoctor: not measured (BENCH_PIPELINE=0)"
echo "- kubectl / certdoctor: **$(ratio "kubectl-$MAIN" "certdoctor-$MAIN")×** (target ≥ 3)"
echo "- certdoctor / raw protobuf list: **$(ratio "certdoctor-$MAIN" "rawproto-$MAIN")×** (target ≤ 2)"
echo "- certdoctor --disable-compression / raw protobuf list: **$(ratio nogzip "rawproto-$MAIN")×**"
echo "- certdoctor / paged client-go list: **$(ratio "certdoctor-$MAIN" "listfloor-$MAIN")×**; paged floor / raw protobuf list: **$(ratio "listfloor-$MAIN" "rawproto-$MAIN")×**"
echo "- certdoctor peak RSS: **$(($(median "certdoctor-$MAIN" 2 | cut -d. -f1) / 1024)) MB** (target ≤ 100)"
echo "- kubeadm certs check-expiration / expiry --local: **$(ratio kubeadm local)×**"
echo "- the check-up: **$(median checkup 1) s**, **$(($(median checkup 2 | cut -d. -f1) / 1024)) MB** (targets ≤ 1.5 s, ≤ 100 MB); / expiry alone: **$(ratio checkup "certdoctor-$MAIN")×**"
echo "- 3 debug pods / 1 debug pod: **$(ratio nodes3 nodes1)×** (1.0 = fully parallel)"
echo "- --contexts, 10 names of one context / 1 context: **$(ratio contexts10 contexts1)×** (target ≤ 2: checked once); 10 contexts in 10 namespaces / 1 context: **$(ratio contexts10ns contexts1)×** (ten runs, here all answered by one API server on the same CPUs; real clusters each have their own), at --max-parallel 8: **$(ratio contexts10nsp8 contexts1)×**; those 10 / a shell loop of 10 runs: **$(ratio contexts10ns contextsloop)×**"
echo "- cold start, kubectl-certdoctor --help: **$(awk '{printf "%.1f", $1 * 1000}' <<<"$(median help 1)") ms** (median of 20)"
echo
echo "## Growth with the number of secrets (medians)"
echo
echo "| secrets | JSON list MB | certdoctor | certdoctor RSS | kubectl | kubectl RSS | raw protobuf | paged floor |"
echo "|---|---|---|---|---|---|---|---|"
cat "$tmp/curve"
echo
echo "## Parsers (go test -bench, -benchtime 2s)"
echo
echo '```'
cat "$tmp/micro"
echo '```'
