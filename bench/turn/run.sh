#!/usr/bin/env bash
# Side-by-side TURN relay benchmark on loopback: coturn (Debian package),
# jingled's turnserver, bare pion/turn and a minimal forwarder (the upper
# limit: TURN framing, no checks) under the same turnutils_uclient loads, all
# with the same static long-term user. Each server is started fresh for each
# load so CPU seconds and peak RSS belong to that load alone.
#
#   bench/turn/run.sh [-q] [-o results.md] [-s "coturn jingled jingled-goroutine pion fwd"] [-l "voice video small large"]
#
# -q runs shortened loads (a smoke test of the script, numbers meaningless).
# Prints a Markdown table; -o also writes it to a file. Traffic stays on
# 127.0.0.1: servers, peer and clients all bind loopback.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=""
QUICK=0
SERVERS="coturn jingled jingled-goroutine pion fwd"
LOADS="voice video small large"
while getopts "qo:s:l:" opt; do
  case $opt in
    q) QUICK=1 ;;
    o) OUT=$OPTARG ;;
    s) SERVERS=$OPTARG ;;
    l) LOADS=$OPTARG ;;
    *) echo "usage: $0 [-q] [-o file] [-s servers] [-l loads]" >&2; exit 2 ;;
  esac
done

for bin in turnserver turnutils_uclient turnutils_peer; do
  command -v $bin >/dev/null || { echo "bench-turn: $bin missing: install Debian package coturn (make deps)" >&2; exit 1; }
done

# shellcheck source=bench/turn/lib.sh
. "$(dirname "$0")/lib.sh"

turnutils_peer -L 127.0.0.1 -p $PEER_PORT >/dev/null 2>&1 &
PEER_PID=$!
PIDS+=("$PEER_PID")

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
peak_kb() { awk '/^VmHWM:/{print $2}' "/proc/$1/status"; }

# load NAME -> uclient args: clients, messages, size, interval ms.
load_args() {
  local m n l z
  case $1 in
    voice) m=50;  n=500;  l=160;  z=20 ;; # 50 calls of 64 kbit/s audio frames, 10 s
    video) m=20;  n=2000; l=1100; z=5 ;;  # 20 video streams at 200 pkt/s (~1.8 Mbit/s each), 10 s
    small) m=100; n=3000; l=100;  z=0 ;;  # as fast as uclient goes: small packets
    large) m=50;  n=2000; l=1000; z=0 ;;  # as fast as uclient goes: large packets
  esac
  if [ "$QUICK" = 1 ]; then n=$(( n / 10 > 10 ? n / 10 : 10 )); fi
  echo "$m $n $l $z"
}

ROWS=()
run_one() { # server load
  local server=$1 load=$2 m n l z
  read -r m n l z < <(load_args "$load")
  start_server "$server"
  local c0 t0 t1 c1 out
  c0=$(cpu_ticks "$SPID")
  t0=$(date +%s.%N)
  out=$(timeout 300 turnutils_uclient -c -u alice -w wonderland -p $PORT -e 127.0.0.1 -r $PEER_PORT \
        -m "$m" -n "$n" -l "$l" -z "$z" 127.0.0.1 2>&1 || true)
  t1=$(date +%s.%N)
  c1=$(cpu_ticks "$SPID")
  local peak; peak=$(peak_kb "$SPID")
  stop_server
  echo "$out" > "$WORK/uclient-$server-$load.log"
  local sent recv lost rtt ttime
  sent=$(echo "$out" | sed -n 's/.*tot_send_bytes ~ \([0-9]*\), tot_recv_bytes.*/\1/p' | tail -1)
  recv=$(echo "$out" | sed -n 's/.*tot_recv_bytes ~ \([0-9]*\).*/\1/p' | tail -1)
  lost=$(echo "$out" | sed -n 's/.*Total lost packets [0-9]* (\([0-9.]*\)%).*/\1/p' | tail -1)
  rtt=$(echo "$out" | sed -n 's/.*Average round trip delay \([0-9.]*\) ms.*/\1/p' | tail -1)
  ttime=$(echo "$out" | sed -n 's/.*Total transmit time is \([0-9]*\).*/\1/p' | tail -1)
  if [ -z "$sent" ] || [ -z "$recv" ]; then
    echo "bench-turn: $server/$load: uclient failed:" >&2; echo "$out" | tail -5 >&2
    ROWS+=("| $load | $server | failed | | | | | | |")
    return
  fi
  # Each echoed message is relayed twice (client->peer, peer->client);
  # send + receive counts every datagram the relay moved.
  awk -v s="$sent" -v r="$recv" -v l="$l" -v t0="$t0" -v t1="$t1" -v tt="$ttime" -v c="$((c1 - c0))" \
      -v tck="$TCK" -v pk="$peak" -v lost="${lost:-?}" -v rtt="${rtt:-?}" -v srv="$server" -v ld="$load" \
      -v m="$m" 'BEGIN {
    pkts = (s + r) / l
    wall = (tt > 0 ? tt : t1 - t0)
    cpu = c / tck
    printf "| %s | %s | %d x %dB | %.0f | %.0f | %s | %s | %.2f | %.1f | %.1f |\n", ld, srv, m, l, pkts, pkts / wall, lost, rtt, cpu, (pkts > 0 ? cpu * 1e6 / pkts : 0), pk / 1024
  }' > "$WORK/row"
  ROWS+=("$(cat "$WORK/row")")
  cat "$WORK/row" >&2
}

for load in $LOADS; do
  for server in $SERVERS; do
    run_one "$server" "$load"
  done
done

{
  echo "TURN relay benchmark, $(date -u +%Y-%m-%d), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), loopback, turnutils_uclient -c (one allocation per client, channels), static user."
  echo
  echo "| load | server | clients x size | datagrams relayed | datagrams/s | loss % | RTT ms | server CPU s | CPU µs/datagram | peak RSS MiB |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
} | tee "${OUT:-/dev/null}"
