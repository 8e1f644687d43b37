#!/usr/bin/env bash
# Side-by-side TURN relay benchmark on loopback: coturn (Debian package),
# jingled's turnserver, bare pion/turn and a minimal forwarder (the upper
# limit: TURN framing, no checks) under the same turnutils_uclient loads, all
# with the same static long-term user. Each server is started fresh for each
# load so CPU seconds and peak RSS belong to that load alone.
#
#   bench/turn/run.sh [-q] [-o results.md] [-s "coturn jingled pion fwd"] [-l "voice video small large"]
#
# -q runs shortened loads (a smoke test of the script, numbers meaningless).
# Prints a Markdown table; -o also writes it to a file. Traffic stays on
# 127.0.0.1: servers, peer and clients all bind loopback.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=""
QUICK=0
SERVERS="coturn jingled pion fwd"
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

WORK=$(mktemp -d /tmp/bench-turn.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

go build -o "$WORK/turnrelay" ./bench/turn/turnrelay
go build -o "$WORK/turnfwd" ./bench/turn/turnfwd

NCPU=$(nproc)
TCK=$(getconf CLK_TCK)
REALM=bench
PORT=34878
PEER_PORT=34900
RELAY_MIN=50000
RELAY_MAX=59999

turnutils_peer -L 127.0.0.1 -p $PEER_PORT >/dev/null 2>&1 &
PEER_PID=$!
PIDS+=("$PEER_PID")

cat > "$WORK/jingled.toml" <<EOF
address = "127.0.0.1"
port = $PORT
realm = "$REALM"
udp_sockets = $NCPU
disable_tcp = true
relay_port_min = $RELAY_MIN
relay_port_max = $RELAY_MAX
allow_peers = ["127.0.0.1/32"]
max_allocations_per_user = 100000
max_allocations = 100000
${JINGLED_TOML_EXTRA:-}
[users]
alice = "wonderland"
EOF

# jingled-goroutine: the same relay with a goroutine per UDP socket (Go's
# netpoller) instead of the event loop.
{ cat "$WORK/jingled.toml" | sed '/^\[users\]/,$d'; echo "disable_udp_loop = true"; sed -n '/^\[users\]/,$p' "$WORK/jingled.toml"; } \
  > "$WORK/jingled-goroutine.toml"

# start_server NAME: starts it on $PORT and sets SPID.
start_server() {
  case $1 in
    coturn)
      turnserver -n --listening-ip=127.0.0.1 --listening-port=$PORT --relay-ip=127.0.0.1 \
        --min-port=$RELAY_MIN --max-port=$RELAY_MAX -a --user=alice:wonderland --realm=$REALM \
        --allow-loopback-peers --no-cli --no-tls --no-dtls --no-stdout-log --simple-log \
        --log-file="$WORK/coturn.log" --user-quota=0 --total-quota=0 >/dev/null 2>&1 &
      ;;
    jingled) "$WORK/turnrelay" -config "$WORK/jingled.toml" 2>"$WORK/jingled.log" & ;;
    jingled-goroutine) "$WORK/turnrelay" -config "$WORK/jingled-goroutine.toml" 2>"$WORK/jingled-goroutine.log" & ;;
    pion) "$WORK/turnrelay" -bare -config "$WORK/jingled.toml" 2>"$WORK/pion.log" & ;;
    fwd) "$WORK/turnfwd" -listen 127.0.0.1:$PORT -user alice -password wonderland -realm $REALM \
           -sockets "$NCPU" 2>"$WORK/fwd.log" & ;;
    fwd-syscall|fwd-raw) "$WORK/turnfwd" -listen 127.0.0.1:$PORT -user alice -password wonderland -realm $REALM \
           -sockets "$NCPU" -loop "${1#fwd-}" 2>"$WORK/$1.log" & ;;
  esac
  SPID=$!
  PIDS+=("$SPID")
  # Ready when it answers a STUN binding (turnutils_stunclient is in coturn too).
  for _ in $(seq 50); do
    if timeout 1 turnutils_stunclient -p $PORT 127.0.0.1 >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "bench-turn: $1 did not start" >&2
  return 1
}

stop_server() {
  kill -TERM "$SPID" 2>/dev/null || true
  wait "$SPID" 2>/dev/null || true
  sleep 0.3 # let the kernel free the port
}

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
peak_kb() { awk '/^VmHWM:/{print $2}' "/proc/$1/status"; }

# load NAME -> uclient args: clients, messages, size, interval ms.
load_args() {
  local m n l z
  case $1 in
    voice) m=50;  n=150;  l=160;  z=20 ;; # 50 calls of 64 kbit/s audio frames
    video) m=20;  n=600;  l=1100; z=5 ;;  # 20 video streams at 200 pkt/s (~1.8 Mbit/s each)
    small) m=100; n=1000; l=100;  z=0 ;;  # as fast as uclient goes: small packets
    large) m=50;  n=1000; l=1000; z=0 ;;  # as fast as uclient goes: large packets
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
