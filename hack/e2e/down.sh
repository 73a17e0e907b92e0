#!/usr/bin/env bash
# down.sh: undo up.sh. Works after a failed or killed run too. Stops only the processes recorded
# in $S/pid (plus the containerd shims and container inits recorded by containerd itself), by
# PID, then restores the host: lo alias, routes, bridge, nft/iptables, sysctls, mounts, cgroups.
#   default : keep PKI (/etc/kubernetes, /var/lib/kubelet/pki), etcd data, containerd store
#             -> fast warm up.sh. Image tars stay in $E2E_CACHE/images in every mode.
#   RESET=1 : also wipe cluster state (etcd data, kubelet pods, containerd store); keep PKI.
#             Forced when the kubelet could not remove the pods itself (stale pods plus
#             half-deleted containers make the next kubelet hang).
#   PURGE=1 : delete PKI and state too -> the machine as before the first up.sh.
set -uo pipefail
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
[ "$(id -u)" = 0 ] || die "down.sh must run as root"
RESET=${RESET:-0} PURGE=${PURGE:-0}
[ -d "$S" ] || { echo "down: nothing to do ($S absent)"; exit 0; }

# 1. controllers first (or ReplicaSets/Jobs/DaemonSets recreate the pods we delete), then let
#    the kubelet tear the pods down properly (CNI DEL, volume unmounts) while it still runs.
stop kube-scheduler; stop kube-controller-manager
if alive kubelet && alive kube-apiserver && ip_on_lo; then
  # a killed test may have left the API server running with a deliberately broken serving cert
  if ! kubectl get --raw /readyz >/dev/null 2>&1; then
    echo "kube-apiserver does not answer with its normal cert: restarting the normal one"
    stop kube-apiserver; start_apiserver
    for _ in $(seq 300); do apiserver_ready && break; sleep 0.1; done
  fi
  kubectl delete pods -A --all --grace-period=1 --wait=false >/dev/null 2>&1
  for _ in $(seq 60); do [ -z "$(kubectl get pods -A -o name 2>/dev/null)" ] && break; sleep 1; done
  [ -z "$(kubectl get pods -A -o name 2>/dev/null)" ] || RESET=1
elif [ -f "$S/pid/kubelet" ] || [ -f "$S/pid/kube-apiserver" ]; then
  RESET=1   # something died: the kubelet cannot have cleaned up
fi
[ "$RESET" = 1 ] && echo "cluster state will be reset (RESET=1, or the kubelet could not remove the pods)"
stop kubelet

# 2. whatever containerd still runs (pods force-deleted earlier, a killed kubelet)
T=/run/containerd/io.containerd.runtime.v2.task/k8s.io
if alive containerd; then
  for id in $(timeout 10 ctr -n k8s.io tasks ls -q 2>/dev/null); do
    timeout 5 ctr -n k8s.io tasks kill -s SIGKILL "$id" >/dev/null 2>&1; sleep 0.2
    timeout 5 ctr -n k8s.io tasks delete "$id" >/dev/null 2>&1
  done
fi
for n in kube-apiserver etcd containerd; do stop $n; done
for f in $T/*/init.pid $T/*/shim.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
rm -f "$S"/pid/*   # anything left is dead or not ours
sleep 0.5

# 3. mounts left by kubelet/containerd/CRI netns (deepest first; kubelet bind-mounts
#    /var/lib/kubelet onto itself, so match the directory itself too)
awk '{print $2}' /proc/mounts | grep -E '^(/var/lib/kubelet|/run/containerd|/var/lib/containerd|/run/netns)(/|$)' |
  sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
rm -rf /run/netns/cni-* && rmdir /run/netns 2>/dev/null

# 4. network: bridge (veths vanish with their netns), lo alias, blackhole, CNI state, nft/iptables
ip link del $BR 2>/dev/null
ip addr del $IP/32 dev lo 2>/dev/null
ip route del blackhole $SVC_CIDR 2>/dev/null
rm -rf /var/lib/cni /etc/cni/net.d/10-e2e.conflist; rmdir /etc/cni/net.d /etc/cni 2>/dev/null
# iptables is the nf_tables variant: drop whole tables that did not exist before up.sh and
# filter our chains/rules out of the tables that did.
if [ -f "$S/nft.before" ]; then
  nft list tables | while read -r _ fam name; do
    grep -qx "table $fam $name" "$S/nft.before" || nft delete table "$fam" "$name"; done
fi
for ipt in iptables ip6tables; do for t in filter nat mangle; do
  if $ipt-save -t $t 2>/dev/null | grep -E 'KUBE-|CNI-|e2e-no-egress' >/dev/null; then
    $ipt-save -t $t | grep -vE 'KUBE-|CNI-|e2e-no-egress' | $ipt-restore -T $t
  fi; done; done

# 5. sysctls the kubelet/CNI changed (ip_forward, kernel.panic*, vm.overcommit_memory, ...)
[ -f "$S/sysctl.saved" ] && sysctl -q -p "$S/sysctl.saved" && rm -f "$S/sysctl.saved"

# 6. the kubelet's cgroupfs hierarchy (cgroup v1: one tree per controller)
for c in /sys/fs/cgroup/*/kubepods; do [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null; done

# 7. files
rm -rf /var/log/pods /var/log/containers /run/containerd
[ -f "$S/absent" ] && xargs -r rm -rf <"$S/absent"   # dirs that did not exist before the first up.sh
if [ "$RESET" = 1 ] || [ "$PURGE" = 1 ]; then
  rm -rf "$(cat "$S/etcd.datadir" 2>/dev/null || echo "$S/etcd")" /var/lib/containerd
  [ -d /var/lib/kubelet ] && find /var/lib/kubelet -mindepth 1 -maxdepth 1 ! -name pki -exec rm -rf {} +
  echo "cluster state reset (PKI kept)"
fi
if [ "$PURGE" = 1 ]; then
  rm -rf $K /var/lib/kubelet /var/lib/containerd "$S"
  echo "purged PKI and state"
fi
say "down"
