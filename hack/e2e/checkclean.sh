#!/usr/bin/env bash
# checkclean.sh SNAPDIR [save]: snapshot host state (save) or compare the host with a saved
# snapshot, to prove down.sh leaves the machine as it was before up.sh. The state down.sh keeps
# on purpose (PKI, etcd data, containerd store) is listed as "kept", not as a difference,
# unless STRICT=1 (use that after PURGE=1 ./down.sh).
d=$1; mkdir -p "$d"; f=cur; [ "${2:-}" = save ] && f=before
kept='^(/etc/kubernetes|/var/lib/kubelet|/var/lib/containerd|/var/lib/certdoctor-e2e)$'
ip -br addr >"$d/addr.$f"; ip route >"$d/route.$f"; ip -br link | awk '{print $1}' >"$d/link.$f"
nft list ruleset >"$d/nft.$f"; awk '{print $2}' /proc/mounts | sort >"$d/mounts.$f"
# (process_api/: the sandbox's own per-command cgroups, not the cluster's)
for c in /sys/fs/cgroup/*/; do find "$c" -mindepth 1 -type d; done | grep -v '/process_api/' | sort >"$d/cgroups.$f"
ls -d /etc/* /var/lib/* /var/log/* /run/* /opt/* 2>/dev/null | sort >"$d/dirs.$f"
sysctl -a 2>/dev/null | grep -vE 'random|entropy|ns_last_pid|dentry|inode|file-nr|aio-nr|quota|pty.nr|conntrack_count|uuid' | sort >"$d/sysctl.$f"
ps -eo stat=,comm= | awk '$1 !~ /^Z/ {print $2}' | grep -E '^(etcd|kube|containerd|pause|sleep|webhook)' | sort >"$d/procs.$f"
if [ "$f" = cur ]; then rc=0
  if [ "${STRICT:-0}" != 1 ]; then
    grep -Ex "$kept" "$d/dirs.cur" | grep -vxFf "$d/dirs.before" | sed 's/^/kept: /'
    for g in before cur; do grep -vEx "$kept" "$d/dirs.$g" >"$d/dirs.$g.cmp"; done
  else for g in before cur; do cp "$d/dirs.$g" "$d/dirs.$g.cmp"; done; fi
  for x in addr route link nft mounts cgroups dirs sysctl procs; do
    b=$d/$x.before c=$d/$x.cur; [ $x = dirs ] && b=$b.cmp c=$c.cmp
    diff -q "$b" "$c" >/dev/null || { echo "DIFF $x:"; diff "$b" "$c" | head; rc=1; }
  done; [ $rc = 0 ] && echo "host state identical to snapshot"; exit $rc
fi
