#!/usr/bin/env bash
# Runs a command inside a fresh network namespace that has only `lo`, so
# nothing it starts (Prosody, pion, libwebrtc, TURN) can send a packet
# beyond this machine's loopback, whatever interfaces the host has. Tests
# that build NAT topologies create their own namespaces from inside it.
# Without root (or without `ip netns`), runs the command directly: the
# tests then rely on their loopback-only ICE settings.
set -euo pipefail
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null 2>&1 || [ "${JINGLED_NO_NETNS:-}" = 1 ]; then
  echo "in-netns: not root or no iproute2: running without a namespace" >&2
  exec "$@"
fi
ns="jingled-$$"
cleanup() { ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true; ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
ip netns add "$ns"
ip -n "$ns" link set lo up
export JINGLED_NETNS="$ns"
ip netns exec "$ns" "$@"
