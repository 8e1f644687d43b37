# Shared by bench/turn/run.sh and bench/turn/toprate.sh (sourced): the
# servers under test, each started fresh on 127.0.0.1:$PORT with the same
# static long-term user alice/wonderland. Set START_WRAP (e.g. "taskset -c 0")
# to run servers under a wrapper, JINGLED_UDP_SOCKETS to override jingled's
# socket count (default: one per CPU), JINGLED_TOML_EXTRA to add settings.

START_WRAP=${START_WRAP:-}
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

cat > "$WORK/jingled.toml" <<EOF
address = "127.0.0.1"
port = $PORT
realm = "$REALM"
udp_sockets = ${JINGLED_UDP_SOCKETS:-$NCPU}
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
      $START_WRAP turnserver -n --listening-ip=127.0.0.1 --listening-port=$PORT --relay-ip=127.0.0.1 \
        --min-port=$RELAY_MIN --max-port=$RELAY_MAX -a --user=alice:wonderland --realm=$REALM \
        --allow-loopback-peers --no-cli --no-tls --no-dtls --no-stdout-log --simple-log \
        --log-file="$WORK/coturn.log" --user-quota=0 --total-quota=0 >/dev/null 2>&1 &
      ;;
    jingled) $START_WRAP "$WORK/turnrelay" -config "$WORK/jingled.toml" 2>"$WORK/jingled.log" & ;;
    jingled-goroutine) $START_WRAP "$WORK/turnrelay" -config "$WORK/jingled-goroutine.toml" 2>"$WORK/jingled-goroutine.log" & ;;
    pion) $START_WRAP "$WORK/turnrelay" -bare -config "$WORK/jingled.toml" 2>"$WORK/pion.log" & ;;
    fwd) $START_WRAP "$WORK/turnfwd" -listen 127.0.0.1:$PORT -user alice -password wonderland -realm $REALM \
           -sockets "$NCPU" 2>"$WORK/fwd.log" & ;;
    fwd-syscall|fwd-raw) $START_WRAP "$WORK/turnfwd" -listen 127.0.0.1:$PORT -user alice -password wonderland -realm $REALM \
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

