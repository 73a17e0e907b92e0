#!/usr/bin/env bash
# build-k8s.sh: build the Kubernetes binaries the e2e cluster runs, from the published
# k8s.io/kubernetes module through the Go module proxy (no binary downloads are possible),
# and etcd from go.etcd.io/etcd/server/v3 (hack/e2e/etcdbuild).
# Output is cached under $E2E_CACHE/k8s-<version>-<go.sum hash>/bin and
# $E2E_CACHE/etcd-<hash>/bin and reused when present, so only the first run on a machine
# pays the cold builds (~7 minutes for Kubernetes, ~1 for etcd).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=env.sh
. "$here/env.sh"
export CGO_ENABLED=0
if [ -x "$ETCD_BIN/etcd" ] && [ -f "$ETCD_BIN/.complete" ]; then
  echo "etcd cached in $ETCD_BIN"
else
  start=$(date +%s)
  mkdir -p "$ETCD_BIN"
  (cd "$here/etcdbuild" && go mod download && go build -trimpath -ldflags='-s -w' -o "$ETCD_BIN/etcd" .)
  touch "$ETCD_BIN/.complete"
  echo "built etcd $("$ETCD_BIN/etcd" --version | sed -n 's/^etcd Version: //p') in $(( $(date +%s) - start ))s into $ETCD_BIN"
fi
if [ -x "$K8S_BIN/kubelet" ] && [ -f "$K8S_BIN/.complete" ]; then
  echo "k8s $K8S_VERSION binaries cached in $K8S_BIN"
  exit 0
fi
mkdir -p "$K8S_BIN"
cd "$here/k8sbuild"
major=${K8S_VERSION#v}; minor=${major#*.}; minor=${minor%%.*}; major=${major%%.*}
ld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  # Without these the binaries report v0.0.0-master in /version and the node's kubeletVersion.
  ld="$ld -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done
start=$(date +%s)
go mod download
go build -trimpath -ldflags="$ld" -o "$K8S_BIN/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubeadm k8s.io/kubernetes/cmd/kubelet \
  k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
touch "$K8S_BIN/.complete"
echo "built k8s $K8S_VERSION in $(( $(date +%s) - start ))s into $K8S_BIN"
