# common.sh: settings and helpers shared by up.sh, down.sh and apiserver.sh (sourced, not run).
# Layout (see test/e2e/README.md):
#   $S = /var/lib/certdoctor-e2e  etcd data, logs, PID files, containerd config, saved host state
#   /etc/kubernetes               kubeadm PKI, kubeconfigs, manifests (kept by down.sh)
#   /var/lib/kubelet/pki          kubelet serving cert (kept by down.sh)
#   $E2E_CACHE/images             OCI image tars (pause, busybox, webhook), keyed by their inputs
# shellcheck source=env.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/env.sh"
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
S=${E2E_STATE:-/var/lib/certdoctor-e2e}
NODE=e2e-cp IP=10.200.0.1 BR=e2ebr0 SVC_CIDR=10.254.0.0/16   # must match kubeadm-config.yaml / cni.conflist
K=/etc/kubernetes PKI=/etc/kubernetes/pki KUBELET_PKI=/var/lib/kubelet/pki
APISERVER_URL=https://$IP:6443
export KUBECONFIG=$K/admin.conf PATH=$K8S_BIN:$PATH
# The component processes the harness starts and stops (their PIDs are in $S/pid/<name>).
COMPONENTS="etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet"

_T0=${_T0:-$(date +%s.%N)}
# start_kubelet: the node's kubelet, as up.sh first starts it (apiserver.sh restarts it too).
start_kubelet() {
  start kubelet kubelet --config="$E2E_DIR/kubelet-config.yaml" --kubeconfig=$K/kubelet.conf \
    --hostname-override=$NODE --node-ip=$IP --v=1
}
say() { printf '[%6.2fs] %s\n' "$(awk "BEGIN{print $(date +%s.%N) - $_T0}")" "$*"; }
die() { echo "ERROR: $*" >&2; exit 1; }

# running PID: exists and is not a zombie (orphans are reaped by PID 1 only after a second or two,
# and kill -0 succeeds on a zombie).
running() { ps -o stat= -p "$1" 2>/dev/null | grep -v '^Z' >/dev/null; }
# pidof_rec NAME: the recorded PID of NAME if that process is alive AND is the binary NAME
# (a stale PID file after a reboot must never make us signal an unrelated process).
pidof_rec() {
  local f=$S/pid/$1 p exe
  [ -f "$f" ] || return 1
  p=$(cat "$f"); [[ "$p" =~ ^[0-9]+$ ]] || return 1
  running "$p" || return 1
  exe=$(readlink "/proc/$p/exe" 2>/dev/null) || return 1
  [ "$(basename "${exe% (deleted)}")" = "$1" ] || return 1
  echo "$p"
}
alive() { pidof_rec "$1" >/dev/null; }
# start NAME CMD...: detached in its own session (terminal signals such as Ctrl-C in run.sh must
# not reach it: down.sh stops it in order), stdin closed, output appended to $S/log/NAME.log,
# the real PID (after exec) written to $S/pid/NAME.
start() {
  local n=$1; shift
  mkdir -p "$S/log" "$S/pid"
  echo "=== $(date -u +%FT%TZ) start: $*" >>"$S/log/$n.log"
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$S/pid/$n" "$@" </dev/null >>"$S/log/$n.log" 2>&1 &
  for _ in $(seq 50); do [ -s "$S/pid/$n" ] && return 0; sleep 0.02; done
  die "could not start $n"
}
# stop NAME [GRACE_SECONDS]: SIGTERM the recorded PID, wait, then SIGKILL. Never by name.
stop() {
  local p g=${2:-15}
  if ! p=$(pidof_rec "$1"); then rm -f "$S/pid/$1"; return 0; fi
  kill "$p" 2>/dev/null
  for _ in $(seq $((g * 10))); do running "$p" || break; sleep 0.1; done
  running "$p" && { kill -9 "$p" 2>/dev/null; echo "killed $1 ($p) after ${g}s"; }
  for _ in $(seq 50); do running "$p" || break; sleep 0.1; done
  rm -f "$S/pid/$1"; echo "stopped $1 ($p)"
}
waitfor() { # waitfor SECONDS DESC CMD...
  local t=$1 d=$2; shift 2
  for ((i = 0; i < t * 10; i++)); do "$@" >/dev/null 2>&1 && { say "$d"; return 0; }; sleep 0.1; done
  echo "TIMEOUT waiting for: $d" >&2; return 1
}
# kubeadm writes static-pod manifests; the harness runs the same command lines directly.
manifest_args() { sed -n '/^  - command:/,/^    [a-z]/p' "$K/manifests/$1.yaml" | sed -n 's/^    - \(--.*\)/\1/p'; }
# The API server answers /readyz anonymously (system:public-info-viewer). -k: the serving cert
# may deliberately be expired or wrong in a test.
# Never dial $IP unless it is on lo: otherwise it would be routed off this machine.
ip_on_lo() { ip -br addr show dev lo | grep " $IP/" >/dev/null; }
apiserver_ready() { ip_on_lo && [ "$(curl -ksS --max-time 2 "$APISERVER_URL/readyz" 2>/dev/null)" = ok ]; }
# start_apiserver [--flag=value ...]: kubeadm's manifest flags, each given flag replacing the
# flag of the same name (or added when the manifest lacks it).
start_apiserver() {
  local -a A; local o n i found
  mapfile -t A < <(manifest_args kube-apiserver)
  [ ${#A[@]} -gt 10 ] || die "no kube-apiserver flags in $K/manifests/kube-apiserver.yaml (run up.sh)"
  for o in "$@"; do
    [[ "$o" == --*=* ]] || die "flag must look like --name=value: $o"
    n=${o%%=*}; found=0
    for i in "${!A[@]}"; do [[ "${A[$i]}" == "$n="* ]] && { A[$i]=$o; found=1; }; done
    [ $found = 1 ] || A+=("$o")
  done
  start kube-apiserver kube-apiserver "${A[@]}"
}
