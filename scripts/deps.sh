#!/usr/bin/env bash
# Installs what `make test`, `make demo` and the benchmarks need on a fresh
# Debian/Ubuntu machine: the Debian packages listed in scripts/deps.*.txt,
# the Go modules, and the npm packages of the StanzaJS interop peer.
# Idempotent: a machine that has everything is left alone (no apt-get call).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'deps: %s\n' "$*" >&2; }

want=()
for f in scripts/deps.base.txt scripts/deps.txt; do
  [ -f "$f" ] || continue
  while read -r pkg _; do
    case "$pkg" in ''|'#'*) continue ;; esac
    want+=("$pkg")
  done < "$f"
done
command -v node >/dev/null 2>&1 || want+=(nodejs npm)

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing Debian packages: ${missing[*]}"
    log "run as root (or: sudo apt-get install ${missing[*]})"
    exit 1
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # A policy-rc.d that says "no" keeps Debian from starting system-wide
  # prosody/coturn services on the default ports: tests start their own.
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; made_policy=1; fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$made_policy" = 0 ] || rm -f "$policy"
fi

log "downloading Go modules"
go mod download

if [ -f tests/interop/package-lock.json ] && [ ! -d tests/interop/node_modules ]; then
  log "installing the StanzaJS interop peer (npm ci)"
  (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
fi
log "ok"
