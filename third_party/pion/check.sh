#!/usr/bin/env bash
# check.sh: each patched module here must be exactly its upstream version
# (from the Go module proxy) with its .patch applied, so the patch files
# say everything that differs. Run by `make test-forks`.
set -euo pipefail
cd "$(dirname "$0")"
GO=${GO:-go}
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
check() { # dir module version patch
  local dir=$1 mod=$2 ver=$3 patchfile=$4 src
  src=$($GO mod download -json "$mod@$ver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  if [ -z "$src" ]; then
    echo "check.sh: cannot download $mod@$ver" >&2
    exit 1
  fi
  cp -r "$src" "$work/$dir"
  chmod -R u+w "$work/$dir"
  (cd "$work/$dir" && patch -s -p1 <"$OLDPWD/$patchfile")
  if ! diff -r "$work/$dir" "$dir"; then
    echo "check.sh: third_party/pion/$dir is not $mod@$ver + $patchfile: regenerate the patch (README.md)" >&2
    exit 1
  fi
  echo "third_party/pion/$dir = $mod@$ver + $patchfile"
}
check dtls github.com/pion/dtls/v3 v3.1.8 dtls-v3.1.8.patch
check sctp github.com/pion/sctp v1.11.1 sctp-v1.11.1.patch
check transport github.com/pion/transport/v4 v4.1.0 transport-v4.1.0.patch
check srtp github.com/pion/srtp/v3 v3.0.13 srtp-v3.0.13.patch
