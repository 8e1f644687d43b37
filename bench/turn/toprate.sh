#!/usr/bin/env bash
# Top relay rate, side by side: each server runs pinned to CPU 0 and limited
# to a share of it (a cgroup CPU quota, default 50%), while bench/turn/turnload
# runs pinned to CPU 1 and offers ChannelData at rising rates through the
# server to its own echo peer. With the server on half a CPU and the load
# generator on a whole one, the server saturates first, which
# turnutils_uclient (single-threaded, same CPUs) cannot achieve here.
#
#   bench/turn/toprate.sh [-o results.md] [-s "coturn jingled ..."] [-z size]
#                         [-r "rate,rate,..."] [-q quota-percent] [-c clients]
#
# Prints, per offered rate, datagrams relayed per second and loss for every
# server, then each server's top rate: the highest relayed rate with loss
# under 1%. Needs 2 CPUs; without a writable cgroup cpu controller it runs
# without the quota and says so. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=""
SERVERS="coturn jingled jingled-goroutine pion"
SIZE=160
RATES="40000,60000,80000,100000,110000,120000,140000,160000"
QUOTA=50
CLIENTS=16
while getopts "o:s:z:r:q:c:" opt; do
  case $opt in
    o) OUT=$OPTARG ;;
    s) SERVERS=$OPTARG ;;
    z) SIZE=$OPTARG ;;
    r) RATES=$OPTARG ;;
    q) QUOTA=$OPTARG ;;
    c) CLIENTS=$OPTARG ;;
    *) echo "usage: $0 [-o file] [-s servers] [-z size] [-r rates] [-q quota%] [-c clients]" >&2; exit 2 ;;
  esac
done
if [ "$(nproc)" -lt 2 ]; then echo "toprate: needs 2 CPUs (server on one, load on the other)" >&2; exit 1; fi
command -v taskset >/dev/null || { echo "toprate: taskset missing (util-linux)" >&2; exit 1; }

START_WRAP="taskset -c 0"
JINGLED_UDP_SOCKETS=1
# On one CPU (GOMAXPROCS=1) jingled defaults to a goroutine per socket
# (docs/DEPLOY.md); the jingled row asks for its event loop, which is the
# default on 2+ CPUs, so this compares a loop per core with coturn's.
JINGLED_TOML_EXTRA="udp_loops = 1${JINGLED_TOML_EXTRA:+
$JINGLED_TOML_EXTRA}"
# shellcheck source=bench/turn/lib.sh
. "$(dirname "$0")/lib.sh"
go build -o "$WORK/turnload" ./bench/turn/turnload

# The quota: cgroup v2 (cpu.max) or v1 (cpu.cfs_quota_us). `ip netns exec`
# (scripts/in-netns.sh) remounts /sys without the cgroup trees; as root, the
# script then mounts one of its own in its private mount namespace.
CG=""
CGMNT=""
QUOTA_NOTE="no CPU quota (no writable cgroup cpu controller)"
CGV=""
CGROOT=""
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  CGV=v2 CGROOT=/sys/fs/cgroup
elif [ -d /sys/fs/cgroup/cpu ]; then
  CGV=v1 CGROOT=/sys/fs/cgroup/cpu
elif [ "$(id -u)" -eq 0 ]; then
  CGMNT=$(mktemp -d /tmp/bench-turn-cgroup.XXXXXX)
  if mount -t cgroup -o cpu none "$CGMNT" 2>/dev/null; then
    CGV=v1 CGROOT=$CGMNT
  elif mount -t cgroup2 none "$CGMNT" 2>/dev/null; then
    CGV=v2 CGROOT=$CGMNT
  else
    rmdir "$CGMNT"
    CGMNT=""
  fi
fi
case ${CGV:-} in
  v2)
    CG=$CGROOT/bench-turn-$$
    { echo +cpu > "$CGROOT/cgroup.subtree_control"; } 2>/dev/null || true
    if mkdir -p "$CG" 2>/dev/null && echo "$((QUOTA * 100)) 10000" > "$CG/cpu.max" 2>/dev/null; then :; else CG=""; fi ;;
  v1)
    CG=$CGROOT/bench-turn-$$
    if mkdir -p "$CG" 2>/dev/null && echo 10000 > "$CG/cpu.cfs_period_us" && echo $((QUOTA * 100)) > "$CG/cpu.cfs_quota_us"; then :; else CG=""; fi ;;
esac
[ -n "$CG" ] && QUOTA_NOTE="CPU quota ${QUOTA}% of CPU 0"
cleanup_cg() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$CG" ]; then rmdir "$CG" 2>/dev/null || true; fi
  if [ -n "$CGMNT" ]; then umount "$CGMNT" && rmdir "$CGMNT"; fi
  cleanup
}
trap cleanup_cg EXIT INT TERM

declare -A RESULT
for server in $SERVERS; do
  start_server "$server"
  [ -n "$CG" ] && echo "$SPID" > "$CG/cgroup.procs"
  out=$(taskset -c 1 "$WORK/turnload" -server 127.0.0.1:$PORT -clients "$CLIENTS" -size "$SIZE" -rates "$RATES" -step 2s 2>&1 || true)
  stop_server
  echo "$out" | sed "s/^/$server: /" >&2
  while read -r line; do
    rate=$(sed -n 's/^rate=\([0-9]*\) .*/\1/p' <<<"$line")
    [ -n "$rate" ] || continue
    rel=$(sed -n 's/.*relayed_per_s=\([0-9]*\).*/\1/p' <<<"$line")
    loss=$(sed -n 's/.*loss_pct=\([0-9.-]*\).*/\1/p' <<<"$line")
    RESULT[$server,$rate]="$rel ($loss%)"
    best=${RESULT[$server,top]:-0}
    if awk -v l="$loss" 'BEGIN{exit !(l < 1)}' && [ "$rel" -gt "$best" ]; then RESULT[$server,top]=$rel; fi
  done <<<"$out"
done

{
  echo "TURN top rate, $(date -u +%Y-%m-%d), servers on CPU 0 with $QUOTA_NOTE, turnload on CPU 1, $CLIENTS allocations, $SIZE-byte ChannelData echoed by the peer. Cells: datagrams relayed per second (client loss)."
  echo
  printf '| offered client datagrams/s |'; for s in $SERVERS; do printf ' %s |' "$s"; done; echo
  printf '|---|'; for _ in $SERVERS; do printf -- '---|'; done; echo
  for rate in ${RATES//,/ }; do
    printf '| %s |' "$rate"; for s in $SERVERS; do printf ' %s |' "${RESULT[$s,$rate]:-}"; done; echo
  done
  printf '| **top rate, loss < 1%%** |'; for s in $SERVERS; do printf ' **%s** |' "${RESULT[$s,top]:-0}"; done; echo
} | tee "${OUT:-/dev/null}"
