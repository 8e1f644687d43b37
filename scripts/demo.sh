#!/usr/bin/env bash
# make demo: Prosody + jingled on loopback, an echo test call with a tone,
# a file sent to a filedrop account; see internal/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./internal/demo -bin bin "$@"
