#!/bin/sh
# netns-run.sh CMD [ARGS...]: run CMD in a new network namespace whose only
# interface is loopback, so that libwebrtc (which gathers ICE candidates on
# every interface) and everything else in the scenario can reach only
# 127.0.0.1 and ::1. Needs root (or an unprivileged user namespace).
# If the current namespace already has nothing but lo, CMD runs here.
set -eu
if [ "$(ip -o link show | awk -F': ' '$2 != "lo" { n++ } END { print n + 0 }')" -eq 0 ]; then
	ip link set lo up
	exec "$@"
fi
if [ "$(id -u)" -eq 0 ]; then
	exec unshare --net -- sh -c 'ip link set lo up && exec "$@"' netns-run "$@"
fi
exec unshare --map-root-user --net -- sh -c 'ip link set lo up && exec "$@"' netns-run "$@"
