#!/usr/bin/env bash
# test.sh: the install a user lives through (`make release-test`, part of `make test`).
#   goreleaser check + snapshot release (every os/arch archive, checksums)
#   -> render krew-manifest.yaml from the checksums (hack/release/krewmanifest)
#   -> krew-index's validate-krew-manifest
#   -> for every os/arch: the real krew installs its archive into a temporary KREW_ROOT
#      (KREW_OS/KREW_ARCH, as validate-krew-manifest does for each platform), LICENSE included
#   -> on this machine's os/arch: `kubectl certdoctor version` through kubectl's plugin
#      discovery, `kubectl certdoctor <TAB>` through kubectl_complete-certdoctor, then
#      `kubectl krew uninstall certdoctor`, after which kubectl no longer finds it.
# Nothing is downloaded: archives come from dist/, krew's upgrade check is off.
# Tools are built once into a cache (hack/install-tools.sh), kubectl comes from the e2e
# harness's cached Kubernetes build (hack/e2e/build-k8s.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../e2e/env.sh
. "$root/hack/e2e/env.sh"
cd "$root"
start=$(date +%s)
step() { echo "=== release-test: $* ($(( $(date +%s) - start )) s)"; }
fail() { echo "release-test: FAIL: $*" >&2; exit 1; }

step "tools"
tools=$(hack/install-tools.sh)
"$root/hack/e2e/build-k8s.sh" >/dev/null
[ -x "$K8S_BIN/kubectl" ] || fail "no kubectl in $K8S_BIN"

step "goreleaser check and snapshot release"
hack/release/snapshot.sh || fail "goreleaser release --snapshot"
ls -l dist/*.tar.gz dist/*.zip | awk '{printf "  %-45s %6.1f MB\n", $NF, $5/1048576}'

step "krew manifest"
go run ./hack/release/krewmanifest -checksums dist/checksums.txt -o dist/certdoctor.yaml
"$tools/validate-krew-manifest" -manifest dist/certdoctor.yaml -skip-install 2>&1 | sed 's/^/  /'
tag=$(sed -n 's/^  version: //p' dist/certdoctor.yaml)
[ -n "$tag" ] || fail "no spec.version in dist/certdoctor.yaml"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Only what the test puts there: no other kubectl-certdoctor may answer for the plugin.
base_path=$K8S_BIN:$tools:$(dirname "$(command -v go)"):/usr/bin:/bin
export KREW_NO_UPGRADE_CHECK=1

native_os=$(go env GOOS) native_arch=$(go env GOARCH)
while read -r _ archive; do
  case $archive in kubectl-certdoctor_*) ;; *) continue ;; esac
  target=${archive#kubectl-certdoctor_}; target=${target%%.*}
  os=${target%_*} arch=${target#*_}
  step "krew install $os/$arch"
  krew_root=$work/$target
  env PATH="$krew_root/bin:$base_path" KREW_ROOT="$krew_root" KREW_OS="$os" KREW_ARCH="$arch" \
    kubectl krew install --manifest=dist/certdoctor.yaml --archive="dist/$archive" </dev/null >"$work/install.log" 2>&1 ||
    { cat "$work/install.log"; fail "krew install $os/$arch"; }
  store=$krew_root/store/certdoctor/$tag
  bin=kubectl-certdoctor; [ "$os" = windows ] && bin=kubectl-certdoctor.exe
  for f in "$bin" LICENSE README.md kubectl_complete-certdoctor; do
    [ -f "$store/$f" ] || fail "$os/$arch: $f not installed in $store"
  done
  [ -e "$krew_root/bin/kubectl-certdoctor" ] || [ -e "$krew_root/bin/kubectl-certdoctor.exe" ] || fail "$os/$arch: krew linked no kubectl-certdoctor"
  [ "$os/$arch" = "$native_os/$native_arch" ] || continue

  export PATH="$krew_root/bin:$base_path" KREW_ROOT="$krew_root"
  step "kubectl certdoctor on $os/$arch"
  kubectl plugin list 2>/dev/null | grep -x "$krew_root/bin/kubectl-certdoctor" >/dev/null || fail "kubectl plugin list does not show kubectl-certdoctor"
  out=$(kubectl certdoctor version)
  echo "  $out"
  got=$(kubectl certdoctor version -o json | sed -n 's/^  "version": "\(.*\)",$/\1/p')
  [ "v$got" = "$tag" ] || fail "kubectl certdoctor version says $got, the manifest $tag"
  case $out in *"commit $(git rev-parse --short HEAD)"*) ;; *) fail "version does not name commit $(git rev-parse --short HEAD)" ;; esac
  # The caveats' own command for completion, then kubectl's plugin completion (1.26+).
  ln -s "$store/kubectl_complete-certdoctor" "$krew_root/bin/"
  subs=$(kubectl __complete certdoctor "" 2>/dev/null | cut -f1)
  for want in expiry webhook sans explain version completion; do
    grep -qx "$want" <<<"$subs" || fail "kubectl __complete certdoctor: $want missing from: $subs"
  done
  # Captured before grep: under pipefail, grep -q closing the pipe early would fail the
  # writer with SIGPIPE, whatever the completion printed.
  names=$(kubectl __complete certdoctor webhook cert 2>/dev/null)
  grep -qx cert-manager <<<"$names" || fail "kubectl __complete certdoctor webhook cert: no cert-manager in: $names"
  script=$(kubectl certdoctor completion bash)
  grep -q '__start_kubectl-certdoctor' <<<"$script" || fail "completion bash printed no script"

  step "krew uninstall"
  # uninstall wants an initialized index (krew update clones krew-index, which needs the
  # network): an empty git repository stands in for it.
  git init -q "$krew_root/index/default" && mkdir -p "$krew_root/index/default/plugins"
  kubectl krew uninstall certdoctor </dev/null >"$work/uninstall.log" 2>&1 || { cat "$work/uninstall.log"; fail "krew uninstall"; }
  [ ! -e "$krew_root/bin/kubectl-certdoctor" ] && [ ! -d "$krew_root/store/certdoctor" ] || fail "krew uninstall left the plugin behind"
  if kubectl certdoctor version >/dev/null 2>&1; then fail "kubectl still runs certdoctor after uninstall"; fi
  native_done=1
done <dist/checksums.txt
[ "${native_done:-0}" = 1 ] || fail "no archive for this machine ($native_os/$native_arch)"
step "passed"
