#!/usr/bin/env bash
# Datachannel throughput references for the file-transfer benchmark
# (`make bench-ft-ref`, beside `make bench-ft`): libwebrtc's datachannel
# (bench/ftref/libwebrtc-dc.mjs, @roamhq/wrtc from tests/interop), pion's
# (bench/ftref/piondc, browser-style flow control, jingled's detached
# blocking writes, and flow control with a large UDP receive buffer), a
# raw loopback TCP copy (bench/ftref/tcpcopy) and jingled's own
# end-to-end transfer (bench-ft's datachannel row: Jingle through
# Prosody, hashed, written and fsynced), all in the same run. The
# references run in rounds, one transfer of each per round, so load from
# other jobs on the machine falls on all of them alike.
#
#   bench/ftref/run.sh [-s BYTES] [-r ROUNDS] [-b RCVBUF] [-J] [-o FILE]
#
# -s bytes per transfer (default 33554432, -ft.benchsize's default),
# -r rounds (default 5: loopback UDP loss makes single datachannel runs
# vary a lot), -b SO_RCVBUF of the extra pion row (default
# 4194304; 0 leaves the row out), -J leaves jingled's row out, -o also
# writes the table to FILE.
# Run it inside a network namespace that has only lo (scripts/in-netns.sh,
# as the make target does): libwebrtc gathers on every interface, so its
# part re-enters one through tests/interop/netns-run.sh otherwise, and the
# UDP drop counters are only ours there.
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZE=33554432
ROUNDS=5
RCVBUF=4194304
OUT=""
JINGLED=1
while getopts "s:r:b:o:J" opt; do
  case $opt in
    s) SIZE=$OPTARG ;;
    r) ROUNDS=$OPTARG ;;
    b) RCVBUF=$OPTARG ;;
    o) OUT=$OPTARG ;;
    J) JINGLED=0 ;;
    *) echo "usage: $0 [-s bytes] [-r rounds] [-b rcvbuf] [-J] [-o file]" >&2; exit 2 ;;
  esac
done

GO=${GO:-go}
if [ ! -d tests/interop/node_modules/@roamhq/wrtc ]; then
  echo "bench-ft-ref: tests/interop/node_modules missing: run make interop-deps" >&2
  exit 1
fi

WORK=$(mktemp -d /tmp/bench-ftref.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
$GO build -o "$WORK/piondc" ./bench/ftref/piondc
$GO build -o "$WORK/tcpcopy" ./bench/ftref/tcpcopy
if [ "$JINGLED" = 1 ]; then
  $GO test -c -o "$WORK/integration.test" ./filetransfer/integration
fi

# jingled_dc runs one transfer of bench-ft's datachannel row (its own
# Prosody, started before the clock) and prints it as the references
# print theirs: a human line and a {"ftref": result line, whose time
# includes the set-up (Jingle, ICE, DTLS, SCTP).
jingled_dc() {
  (cd filetransfer/integration && "$WORK/integration.test" -test.run '^$' -test.bench 'Throughput/datachannel$' \
    -test.benchtime 1x -ft.benchsize="$SIZE") | awk -v size="$SIZE" -v impl="jingled, pion/webrtc $(webrtc_version)" '
    /^BenchmarkThroughput\/datachannel/ {
      for (i = 2; i <= NF; i++) { if ($i == "MB/s") mb = $(i - 1); if ($i == "cpu-ms/MB") cpu = $(i - 1) }
    }
    END {
      if (mb == "") { print "jingled-dc: no benchmark line"; exit 1 }
      printf "jingled-dc run 1/1: %d bytes at %s MB/s, %s CPU ms/MB (set-up included, sha-256 ok)\n", size, mb, cpu
      printf "{\"ftref\":\"result\",\"name\":\"jingled-dc\",\"impl\":\"%s\",\"bytes\":%d,\"chunk\":65535,\"backpressure\":\"buffered amount 4 MiB/1 MiB\",\"runs\":1,\"mbps\":[%s],\"median_mbps\":%s,\"setup_ms\":null,\"cpu_ms_per_mb\":[%s],\"sha256\":\"ok\"}\n", impl, size, mb, mb, cpu
    }'
}

# webrtc_version prints the pion/webrtc version go.mod requires.
webrtc_version() {
  awk '$1 == "github.com/pion/webrtc/v4" { print $2; exit }' go.mod
}

# Only loopback here: the kernel's UDP counters belong to this run.
ONLY_LO=0
if [ "$(ip -o link show 2>/dev/null | awk -F': ' '$2 != "lo" { n++ } END { print n + 0 }')" -eq 0 ]; then
  ONLY_LO=1
fi

# udp_drops prints UDP datagrams dropped for a full socket receive buffer
# (RcvbufErrors, IPv4 + IPv6) in this namespace.
udp_drops() {
  local v4 v6
  v4=$(awk '/^Udp: [0-9]/ { print $6 }' /proc/net/snmp)
  v6=$(awk '$1 == "Udp6RcvbufErrors" { print $2 }' /proc/net/snmp6 2>/dev/null || true)
  echo $(( ${v4:-0} + ${v6:-0} ))
}

# measure NAME CMD...: runs CMD (one transfer), keeps its lines, and
# records the drops it caused when they can be told apart.
measure() {
  local name=$1 before after drops=null
  shift
  before=$(udp_drops)
  if ! "$@" > "$WORK/one"; then
    cat "$WORK/one"
    echo "bench-ft-ref: $name failed: $*" >&2
    exit 1
  fi
  after=$(udp_drops)
  cat "$WORK/one" >> "$WORK/results"
  grep -v '^{"ftref":' "$WORK/one" || true
  if [ "$ONLY_LO" = 1 ]; then
    drops=$((after - before))
  fi
  echo "{\"ftref\":\"drops\",\"name\":\"$name\",\"drops\":$drops}" >> "$WORK/results"
}

echo "bench-ft-ref: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$SIZE bytes per transfer, $ROUNDS rounds, namespace with only lo: $([ "$ONLY_LO" = 1 ] && echo yes || echo no)"
: > "$WORK/results"
for round in $(seq 1 "$ROUNDS"); do
  echo "-- round $round/$ROUNDS"
  measure raw-tcp-nohash "$WORK/tcpcopy" -size "$SIZE" -runs 1 -hash=false
  measure raw-tcp "$WORK/tcpcopy" -size "$SIZE" -runs 1
  measure pion-dc "$WORK/piondc" -size "$SIZE" -runs 1
  measure pion-dc-detached "$WORK/piondc" -size "$SIZE" -runs 1 -mode detached
  if [ "$RCVBUF" -gt 0 ]; then
    measure "pion-dc-rcvbuf$((RCVBUF >> 10))k" "$WORK/piondc" -size "$SIZE" -runs 1 -rcvbuf "$RCVBUF"
  fi
  measure libwebrtc-dc ./tests/interop/netns-run.sh node bench/ftref/libwebrtc-dc.mjs --size "$SIZE" --runs 1
  if [ "$JINGLED" = 1 ]; then
    measure jingled-dc jingled_dc
  fi
done

echo
node bench/ftref/table.mjs < "$WORK/results" | tee "$WORK/table.md"
echo
echo "MB/s = 10^6 bytes/s from first byte sent to last byte received (set-up apart); every datachannel" \
  "run verified by sha-256 at the receiver. CPU ms/MB: the process's user+system time (both ends, all" \
  "threads) during the transfer. UDP rcvbuf drops: datagrams lost to a full socket receive" \
  "buffer (net.core.rmem_default $(cat /proc/sys/net/core/rmem_default 2>/dev/null || echo '?')," \
  "rmem_max $(cat /proc/sys/net/core/rmem_max 2>/dev/null || echo '?')), summed over the rounds."
if [ -n "$OUT" ]; then
  cp "$WORK/table.md" "$OUT"
fi
