# env.sh: shared settings of the e2e harness scripts (sourced, not run).
K8S_VERSION=v1.37.2
E2E_CACHE=${E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/certdoctor-e2e}
_e2e_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Key the cache by version and by the exact module set, so a changed go.sum rebuilds.
K8S_BIN=$E2E_CACHE/k8s-$K8S_VERSION-$(sha256sum "$_e2e_here/k8sbuild/go.sum" | cut -c1-12)/bin
# etcd as kubeadm $K8S_VERSION runs it (registry.k8s.io/etcd:3.7.0-0), built from its module
# (hack/e2e/etcdbuild): Debian's 3.4 cannot serve consistent lists from the API server's watch
# cache, so every list would read etcd, unlike any current cluster.
ETCD_BIN=$E2E_CACHE/etcd-$(sha256sum "$_e2e_here/etcdbuild/go.sum" "$_e2e_here/etcdbuild/main.go" | sha256sum | cut -c1-12)/bin
