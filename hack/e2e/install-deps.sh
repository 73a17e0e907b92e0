#!/usr/bin/env bash
# install-deps.sh [PACKAGE...]: the Debian packages the e2e cluster needs, plus any named
# (hack/bench.sh adds `time`), and prometheus for its promtool: the unit and e2e tests check
# -o prometheus and docs/prometheus-alerts.yaml with it (only promtool is used; `make test`
# runs this first, as `make deps`). Idempotent: installs only what is missing, and runs
# `apt-get update` only when something must be installed. Non-interactive (works with no
# stdin, CI=true).
set -euo pipefail
pkgs=(containerd runc containernetworking-plugins busybox-static iptables nftables
      conntrack openssl jq curl iproute2 procps util-linux prometheus "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'install ok installed' >/dev/null || missing+=("$p")
done
if [ ${#missing[@]} = 0 ]; then echo "e2e deps: all ${#pkgs[@]} packages present"; exit 0; fi
[ "$(id -u)" = 0 ] || { echo "install-deps.sh: need root to install: ${missing[*]}" >&2; exit 1; }
echo "e2e deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q </dev/null
apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef \
  -o Dpkg::Options::=--force-confold "${missing[@]}" </dev/null
