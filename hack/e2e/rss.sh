#!/usr/bin/env bash
# rss.sh: memory of the cluster's processes (by their recorded PIDs): peak RSS (VmHWM, since the
# process started: kube-apiserver restarts reset it) and current RSS, in MB.
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
echo "=== cluster memory (MB)"
printf '  %-24s %8s %8s\n' process peak-RSS RSS
tot=0
for n in $COMPONENTS; do
  p=$(pidof_rec "$n") || { printf '  %-24s %8s\n' "$n" "-"; continue; }
  hwm=$(awk '/^VmHWM/ {print int($2/1024)}' /proc/$p/status); rss=$(awk '/^VmRSS/ {print int($2/1024)}' /proc/$p/status)
  printf '  %-24s %8s %8s\n' "$n" "$hwm" "$rss"; tot=$((tot + rss))
done
printf '  %-24s %8s %8s\n' total "" "$tot"
