#!/usr/bin/env bash
# stop.sh STATEDIR: stops the server that start.sh started from STATEDIR and
# waits until it has exited. The database in STATEDIR/db is kept.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 STATEDIR" >&2
	exit 2
fi
pidfile="$1/pid"
[ -f "$pidfile" ] || exit 0
pid=$(cat "$pidfile")
if kill -0 "$pid" 2>/dev/null; then
	kill -TERM "$pid"
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "stop.sh: pid $pid did not exit after SIGTERM; sending SIGKILL" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
fi
rm -f "$pidfile"
