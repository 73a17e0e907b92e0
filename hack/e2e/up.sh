#!/usr/bin/env bash
# up.sh: a real one-node Kubernetes ($K8S_VERSION binaries from build-k8s.sh) for the e2e suite.
# etcd (3.7, built from its module), kube-apiserver, kube-controller-manager, kube-scheduler (leader election off),
# containerd + CNI bridge, kubelet. Node e2e-cp at 10.200.0.1 (an alias on lo), kubeadm PKI in
# /etc/kubernetes, service CIDR 10.254.0.0/16. No registry is ever contacted: the images are
# built locally and imported. Undo with down.sh (which keeps PKI + state for a fast warm start).
# Runs as root. Every process started here is recorded in $S/pid/<name> and stopped by that PID.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
D=$E2E_DIR
[ "$(id -u)" = 0 ] || die "up.sh must run as root"
for b in $K8S_BIN/{kube-apiserver,kube-controller-manager,kube-scheduler,kubelet,kubeadm,kubectl} $ETCD_BIN/etcd; do
  [ -x "$b" ] || die "$b missing: run hack/e2e/build-k8s.sh"
done
for b in containerd ctr runc curl openssl jq iptables nft conntrack /usr/lib/cni/bridge /bin/busybox; do
  command -v "$b" >/dev/null || die "$b missing: run hack/e2e/install-deps.sh"
done
on_err() { echo "up.sh FAILED; last lines of the component logs:" >&2
  for n in $COMPONENTS; do [ -f "$S/log/$n.log" ] && { echo "--- $n" >&2; tail -n 15 "$S/log/$n.log" >&2; }; done; }
trap on_err ERR

# 0. A previous run that was not torn down (killed test, failed down.sh): tear it down first.
if compgen -G "$S/pid/*" >/dev/null; then
  say "stale run found ($(ls "$S/pid" | tr '\n' ' ')): running down.sh first"
  "$D/down.sh"
fi
for port in "$IP:6443" "127.0.0.1:2379" "$IP:2380" "127.0.0.1:2381" "$IP:10250" "127.0.0.1:10248"; do
  if ss -Hltn "sport = :${port##*:}" 2>/dev/null | grep . >/dev/null; then
    die "port ${port##*:} is already in use by a process this harness did not record; stop it first:
$(ss -Hltnp "sport = :${port##*:}")"
  fi
done
if ! alive containerd && timeout 3 ctr version >/dev/null 2>&1; then
  die "a containerd not started by this harness answers on /run/containerd/containerd.sock; stop it first"
fi

# 1. Host state that up.sh, kubelet and the CNI plugin change; down.sh restores it.
if [ ! -d "$S" ]; then
  mkdir -p "$S"
  for p in /opt/containerd /run/mount; do [ -e $p ] || echo $p; done >"$S/absent"
fi
mkdir -p "$S"/{log,pid}
for n in $COMPONENTS; do : >"$S/log/$n.log"; done
[ -f "$S/nft.before" ] || nft list tables >"$S/nft.before"
[ -f "$S/sysctl.saved" ] || sysctl -e net.ipv4.ip_forward vm.overcommit_memory vm.panic_on_oom \
  kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes \
  net.ipv4.conf.all.forwarding net.ipv4.conf.default.forwarding net.ipv4.conf.lo.forwarding \
  net.ipv4.conf.all.accept_redirects net.ipv4.conf.default.accept_redirects >"$S/sysctl.saved"
ip addr show dev lo | grep " $IP/" >/dev/null || ip addr add $IP/32 dev lo
# Egress guard. No kube-proxy and no DNS, and the CNI bridge plugin turns on ip_forward: keep
# every packet on this host. ClusterIPs are blackholed; pod traffic is never forwarded off the
# bridge (pods inherit the host's off-host nameserver!). Pod<->host and pod<->pod still work.
ip route replace blackhole $SVC_CIDR
G="FORWARD -i $BR ! -o $BR -m comment --comment e2e-no-egress -j DROP"
iptables -C $G 2>/dev/null || iptables -I $G

# 2. PKI + kubeconfigs, kept between runs. Regenerated from scratch (with a fresh etcd, whose
#    service-account tokens would no longer verify) when a file is missing or a cert nears expiry.
need_pki=0
for f in $PKI/{ca,apiserver,apiserver-kubelet-client,apiserver-etcd-client,front-proxy-ca,front-proxy-client}.crt \
  $PKI/etcd/{ca,server,peer,healthcheck-client}.crt $PKI/sa.key \
  $K/{admin,super-admin,kubelet,controller-manager,scheduler}.conf $KUBELET_PKI/kubelet.{crt,key}; do
  [ -s "$f" ] || { need_pki=1; break; }
  case $f in *.crt) openssl x509 -noout -checkend $((90 * 86400)) -in "$f" >/dev/null || { need_pki=1; break; } ;; esac
done
if [ $need_pki = 1 ]; then
  rm -rf $K $KUBELET_PKI "$S"/etcd "$S"/etcd-*
  kubeadm init phase certs all --config "$D/kubeadm-config.yaml" >/dev/null
  kubeadm init phase kubeconfig all --config "$D/kubeadm-config.yaml" >/dev/null
  # kubelet serving cert signed by the cluster CA (kubeadm only makes the kubelet's client cert)
  mkdir -p $KUBELET_PKI && t=$(mktemp -d)
  openssl req -new -newkey rsa:2048 -nodes -keyout $KUBELET_PKI/kubelet.key \
    -subj "/CN=system:node:$NODE/O=system:nodes" -out "$t/kubelet.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s,IP:%s\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' \
    $NODE $IP >"$t/ext"
  openssl x509 -req -in "$t/kubelet.csr" -CA $PKI/ca.crt -CAkey $PKI/ca.key -CAcreateserial \
    -CAserial "$t/ca.srl" -days 365 -out $KUBELET_PKI/kubelet.crt -extfile "$t/ext" 2>/dev/null
  chmod 600 $KUBELET_PKI/kubelet.key; rm -rf "$t"
  say "PKI + kubeconfigs generated"
fi
kubeadm init phase control-plane all --config "$D/kubeadm-config.yaml" >/dev/null  # manifests: flags only

# 3. etcd: kubeadm's own etcd manifest (as on a real kubeadm node: clients on 127.0.0.1 and
#    10.200.0.1:2379, peers on 10.200.0.1:2380), run by the etcd version it names.
kubeadm init phase etcd local --config "$D/kubeadm-config.yaml" >/dev/null
# E2E_ETCD_DATA swaps in another data dir under $S (hack/bench.sh keeps its large data sets there,
# so the e2e suite never sees them); down.sh reads the one in use from $S/etcd.datadir.
etcd_data=${E2E_ETCD_DATA:-$S/etcd}
case $etcd_data in "$S"/etcd|"$S"/etcd-*) ;; *) die "E2E_ETCD_DATA must be $S/etcd or $S/etcd-<name>" ;; esac
etcd_layout=kubeadm-manifest-etcd3.7   # etcd data of other peer URLs or of etcd 3.4 is not reused
if [ "$(cat "$S/etcd.layout" 2>/dev/null)" != $etcd_layout ]; then
  rm -rf "$S"/etcd "$S"/etcd-*; echo $etcd_layout >"$S/etcd.layout"
fi
mapfile -t A < <(manifest_args etcd | sed -e "s|^--data-dir=$S/etcd\$|--data-dir=$etcd_data|")
printf '%s\n' "${A[@]}" | grep "^--data-dir=$etcd_data$" >/dev/null || die "etcd manifest without --data-dir=$S/etcd"
echo "$etcd_data" >"$S/etcd.datadir"
start etcd "$ETCD_BIN/etcd" "${A[@]}"

# 4. containerd (in parallel with the control plane) + CNI config
mkdir -p /etc/cni/net.d && cp "$D/cni.conflist" /etc/cni/net.d/10-e2e.conflist
# Pull guard: no registry is reachable, and a pull must never leave this host (DNS included).
# Every registry (_default) resolves to a closed loopback port, so a missing image fails at once;
# the [host] entry works around containerd#10027. Images are imported, never pulled.
for r in _default docker.io registry.k8s.io; do mkdir -p "$S/certs.d/$r"
  printf 'server = "http://127.0.0.1:9"\n[host."http://127.0.0.1:9"]\n  capabilities = ["pull", "resolve"]\n' >"$S/certs.d/$r/hosts.toml"
done
{ cat "$D/containerd.toml"
  printf '  [plugins."io.containerd.grpc.v1.cri".registry]\n    config_path = "%s"\n' "$S/certs.d"; } >"$S/containerd.toml"
start containerd containerd --config "$S/containerd.toml"

# 5. images: built once from their inputs and cached as OCI archives (mkimg.sh), imported on every run
IMG=$E2E_CACHE/images; mkdir -p "$IMG"
h() { cat "$@" | sha256sum | cut -c1-12; }
gov=$(go env GOVERSION)
pause_tar=$IMG/pause-$(h "$D/pause/main.go" "$D/pause/go.mod" "$D/mkimg.sh" <(echo "$gov")).tar
bb_tar=$IMG/busybox-$(h /bin/busybox "$D/mkimg.sh" <(echo bb-layout-2)).tar
wh_tar=$IMG/webhook-$(h "$D/webhook/main.go" "$D/webhook/go.mod" "$D/mkimg.sh" <(echo "$gov")).tar
if [ ! -f "$pause_tar" ] || [ ! -f "$bb_tar" ] || [ ! -f "$wh_tar" ]; then
  w=$(mktemp -d)
  if [ ! -f "$pause_tar" ]; then
    mkdir -p "$w/pause"
    (cd "$D/pause" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$w/pause/pause" .)
    "$D/mkimg.sh" registry.k8s.io/pause:3.10 "$w/pause" "$pause_tar.tmp" /pause && mv "$pause_tar.tmp" "$pause_tar"
  fi
  if [ ! -f "$wh_tar" ]; then
    mkdir -p "$w/webhook"
    (cd "$D/webhook" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$w/webhook/webhook" .)
    "$D/mkimg.sh" e2e.local/webhook:1 "$w/webhook" "$wh_tar.tmp" /webhook && mv "$wh_tar.tmp" "$wh_tar"
  fi
  if [ ! -f "$bb_tar" ]; then  # Debian's static busybox + applet links + minimal /etc
    r=$w/bb; mkdir -p "$r/bin" "$r"/{etc,tmp,root,proc,sys,dev}
    cp /bin/busybox "$r/bin/busybox"
    for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"; done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"; echo 'root:x:0:' >"$r/etc/group"
    "$D/mkimg.sh" e2e.local/busybox:1.35 "$r" "$bb_tar.tmp" --cmd sh && mv "$bb_tar.tmp" "$bb_tar"
  fi
  rm -rf "$w"; say "images built into $IMG"
  for t in "$IMG"/*.tar; do case $t in "$pause_tar"|"$bb_tar"|"$wh_tar") ;; *) rm -f "$t" ;; esac; done
fi
waitfor 30 "containerd up" ctr version
for t in "$pause_tar" "$bb_tar" "$wh_tar"; do ctr -n k8s.io images import "$t" >/dev/null; done
# certdoctor's debug pods default to image "busybox" (IfNotPresent): the same image under that name
ctr -n k8s.io images tag --force e2e.local/busybox:1.35 docker.io/library/busybox:latest >/dev/null
say "images imported"

# 6. kube-apiserver with exactly kubeadm's flags
waitfor 30 "etcd healthy" curl -sf http://127.0.0.1:2381/health
start_apiserver
waitfor 60 "kube-apiserver /readyz ok" apiserver_ready

# 7. kubeadm's post-control-plane RBAC: kubeadm:cluster-admins -> cluster-admin (admin.conf's
#    group) and kube-apiserver-kubelet-client -> system:kubelet-api-admin (logs/exec)
kubectl get clusterrolebinding kubeadm:apiserver-kubelet-client >/dev/null 2>&1 ||
  kubeadm init phase bootstrap-token --config "$D/kubeadm-config.yaml" >/dev/null
say "kubeadm RBAC (bootstrap-token phase)"

# 8. kube-controller-manager (SA tokens, kube-root-ca.crt, EndpointSlices, GC, namespace
#    deletion) and kube-scheduler, both with leader election off (kubeadm-config.yaml)
mapfile -t A < <(manifest_args kube-controller-manager)
start kube-controller-manager kube-controller-manager "${A[@]}"
mapfile -t A < <(manifest_args kube-scheduler)
start kube-scheduler kube-scheduler "${A[@]}"

# 9. kubelet
start_kubelet
waitfor 60 "node registered" kubectl get node $NODE
# as kubeadm does: control-plane label + taint, kubeadm-config/kubelet-config ConfigMaps
# (`kubeadm certs check-expiration` reads kubeadm-config)
kubeadm init phase mark-control-plane --config "$D/kubeadm-config.yaml" >/dev/null
kubeadm init phase upload-config all --config "$D/kubeadm-config.yaml" >/dev/null
waitfor 90 "node Ready" kubectl wait --for=condition=Ready node/$NODE --timeout=1s
waitfor 60 "default ServiceAccount present (controller-manager works)" kubectl -n default get sa default
for n in $COMPONENTS; do alive $n || die "$n is not running (log: $S/log/$n.log)"; done
say "cluster up (KUBECONFIG=$KUBECONFIG)"
