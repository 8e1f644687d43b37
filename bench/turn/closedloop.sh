#!/usr/bin/env bash
# The relay under a closed-loop flood, side by side: bench/turn/turnload
# -window opens CLIENTS allocations, each keeping WINDOW ChannelData messages
# in flight through the relay to its own echo peer and sending one more for
# each echo (bench/turn/turnload/closed.go). The relay's echo rate is then
# what it turns around, and its CPU per echo what each costs. Servers run
# as an operator runs them: unpinned, sharing the machine's cores with the
# load (PLACE=shared), or with -p pinned, the server on CPU 0 and the load on
# CPU 1. Every server is started fresh for every round; rounds alternate the
# servers so that a change of the machine's load hits all of them.
#
#   bench/turn/closedloop.sh [-o results.md] [-s "coturn jingled"] [-w "8,32"]
#                            [-c clients] [-z size] [-d seconds] [-n rounds] [-p shared|pinned]
#
# Prints one line per server, window and round, then a table of medians:
# echoes/s, round trip p50/p99, server cores, server µs per echo, and the
# jingled/coturn ratios. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=""
SERVERS="coturn jingled"
WINDOWS="8,32"
CLIENTS=4
SIZE=160
DUR=5
ROUNDS=3
PLACE=shared
while getopts "o:s:w:c:z:d:n:p:" opt; do
  case $opt in
    o) OUT=$OPTARG ;;
    s) SERVERS=$OPTARG ;;
    w) WINDOWS=$OPTARG ;;
    c) CLIENTS=$OPTARG ;;
    z) SIZE=$OPTARG ;;
    d) DUR=$OPTARG ;;
    n) ROUNDS=$OPTARG ;;
    p) PLACE=$OPTARG ;;
    *) echo "usage: $0 [-o file] [-s servers] [-w windows] [-c clients] [-z size] [-d seconds] [-n rounds] [-p shared|pinned]" >&2; exit 2 ;;
  esac
done
LOAD_WRAP=""
case $PLACE in
  shared) START_WRAP="" ;;
  pinned)
    if [ "$(nproc)" -lt 2 ]; then echo "closedloop: -p pinned needs 2 CPUs" >&2; exit 1; fi
    START_WRAP="taskset -c 0" LOAD_WRAP="taskset -c 1" ;;
  *) echo "closedloop: -p shared or pinned" >&2; exit 2 ;;
esac
# shellcheck source=bench/turn/lib.sh
. "$(dirname "$0")/lib.sh"
go build -o "$WORK/turnload" ./bench/turn/turnload

declare -A ROWS
for round in $(seq "$ROUNDS"); do
  for server in $SERVERS; do
    start_server "$server"
    out=$($LOAD_WRAP "$WORK/turnload" -server 127.0.0.1:$PORT -clients "$CLIENTS" -size "$SIZE" \
      -window "$WINDOWS" -step "${DUR}s" -pid "$SPID" 2>&1) || { echo "$out" >&2; stop_server; exit 1; }
    stop_server
    echo "$out" | sed "s/^/round $round $server: /" >&2
    while read -r line; do
      w=$(sed -n 's/^window=\([0-9]*\) .*/\1/p' <<<"$line")
      [ -n "$w" ] || continue
      ROWS[$server,$w]+="$line"$'\n'
    done <<<"$out"
  done
done

# median FIELD LINES: the median of a key=value field over lines.
median() {
  sed -n "s/.* $1=\([0-9.]*\).*/\1/p" | sort -g | awk '{a[NR]=$1} END{if(NR==0){print 0; exit} print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
}

{
  echo "TURN relay under a closed-loop flood, $(date -u "+%Y-%m-%d %H:%M") UTC, $PLACE ($([ "$PLACE" = pinned ] && echo 'server on CPU 0, load on CPU 1' || echo 'server and load unpinned on the same cores')), $CLIENTS clients, $SIZE-byte ChannelData echoed by the peer, ${DUR} s per window, medians of $ROUNDS rounds (servers alternate, each fresh). Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| window per client | server | echoes/s | RTT p50 / p99 µs | loss | server cores | server µs per echo | load cores | softirq cores (machine) |"
  echo "|---|---|---:|---|---:|---:|---:|---:|---:|"
  for w in ${WINDOWS//,/ }; do
    for s in $SERVERS; do
      lines=${ROWS[$s,$w]:-}
      printf '| %s | %s | %s | %s / %s | %s%% | %s | %s | %s | %s |\n' "$w" "$s" \
        "$(median echo_per_s <<<"$lines")" "$(median rtt_p50_us <<<"$lines")" "$(median rtt_p99_us <<<"$lines")" \
        "$(median loss_pct <<<"$lines")" "$(median server_cores <<<"$lines")" \
        "$(median server_us_per_echo <<<"$lines")" "$(median load_cores <<<"$lines")" "$(median softirq_cores <<<"$lines")"
    done
  done
  if [[ " $SERVERS " == *" coturn "* && " $SERVERS " == *" jingled "* ]]; then
    echo
    for w in ${WINDOWS//,/ }; do
      jr=$(median echo_per_s <<<"${ROWS[jingled,$w]:-}"); cr=$(median echo_per_s <<<"${ROWS[coturn,$w]:-}")
      jc=$(median server_us_per_echo <<<"${ROWS[jingled,$w]:-}"); cc=$(median server_us_per_echo <<<"${ROWS[coturn,$w]:-}")
      awk -v w="$w" -v jr="$jr" -v cr="$cr" -v jc="$jc" -v cc="$cc" 'BEGIN{
        printf "window %s: jingled/coturn echo rate %.2fx (target >= 1), CPU per echo %.2fx (target <= 1)\n", w, (cr>0?jr/cr:0), (cc>0?jc/cc:0)}'
    done
  fi
} | tee "${OUT:-/dev/null}"

# A server that echoed nothing means the benchmark is broken (make test runs
# this tiny): fail rather than print a table of zeros.
for w in ${WINDOWS//,/ }; do
  for s in $SERVERS; do
    if ! awk -v r="$(median echo_per_s <<<"${ROWS[$s,$w]:-}")" 'BEGIN{exit !(r > 0)}'; then
      echo "closedloop: $s echoed nothing at window $w" >&2
      exit 1
    fi
  done
done
