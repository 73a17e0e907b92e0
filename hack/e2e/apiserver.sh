#!/usr/bin/env bash
# apiserver.sh restart [--flag=value ...]: restart only kube-apiserver of the up.sh cluster.
# Stops it by its recorded PID and starts it with kubeadm's manifest flags, each given
# --flag=value replacing the flag of the same name (added if the manifest lacks it), e.g.
#   apiserver.sh restart --tls-cert-file=/tmp/x/apiserver.crt --tls-private-key-file=/tmp/x/apiserver.key
# `apiserver.sh restart` with no flags restores the normal one. Waits for /readyz (curl -k: the
# serving cert may deliberately be expired). The e2e tests call it through restartAPIServer().
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
[ "${1:-}" = restart ] || die "usage: $0 restart [--flag=value ...]"
shift
[ -d "$S/pid" ] || die "no cluster state in $S: run up.sh first"
alive etcd || die "etcd is not running: run up.sh first"
# 2 s grace: a kube-apiserver with open watches (kubelet, controllers) otherwise hangs ~15 s after
# SIGTERM waiting for their connections; SIGKILL is harmless here (etcd holds all state).
stop kube-apiserver 2 >/dev/null
start_apiserver "$@"
# Restoring the normal API server after a test's broken one: the clients of the controllers
# and of the kubelet have backed off (78 s for the controller-manager and 60 s before the
# kubelet saw a new pod, seen on 2 cores), so give them fresh processes too. Pods keep running
# across a kubelet restart.
restart_controllers() {
  [ $# = 0 ] || return 0
  local c A
  for c in kube-controller-manager kube-scheduler; do
    alive $c || continue
    stop $c 5 >/dev/null
    mapfile -t A < <(manifest_args $c)
    start $c $c "${A[@]}"
  done
  if alive kubelet; then
    stop kubelet 10 >/dev/null
    start_kubelet
  fi
}
for _ in $(seq 600); do
  apiserver_ready && { restart_controllers "$@"; say "kube-apiserver restarted (pid $(cat "$S/pid/kube-apiserver"))${*:+ with $*}"; exit 0; }
  alive kube-apiserver || break
  sleep 0.1
done
echo "kube-apiserver did not become ready; last log lines:" >&2
tail -n 20 "$S/log/kube-apiserver.log" >&2
exit 1
