#!/usr/bin/env bash
# start.sh PORT STATEDIR: starts PostgreSQL with pgvector (PGlite over the
# wire protocol) in the background for ragd's integration tests.
#
# The database lives in STATEDIR/db, the server's pid in STATEDIR/pid and its
# log in STATEDIR/log. On success the only line on stdout is the DSN to use,
# for example:
#
#   export RAGD_TEST_DATABASE_URL="$(.ci/pglite/start.sh 55432 /tmp/pglite)"
#
# PGlite serves every connection from one backend session, and its socket
# server queues each protocol message on its own: only inside an explicit
# transaction does it keep one client's messages together. So the DSN sets
# default_query_exec_mode=simple_protocol, where every query (or pgx batch)
# is one message: with the extended protocol, two connections' Parse, Bind
# and Execute messages interleave ("unnamed prepared statement does not
# exist", or worse, one client binding another's statement). Stop the
# server with stop.sh STATEDIR.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 PORT STATEDIR" >&2
	exit 2
fi
port=$1
state=$2
here=$(cd "$(dirname "$0")" && pwd)

case "$port" in
'' | *[!0-9]*)
	echo "start.sh: PORT must be a number, got '$port'" >&2
	exit 2
	;;
esac

command -v node >/dev/null || {
	echo "start.sh: node is not installed (PGlite needs Node 20 or later)" >&2
	exit 1
}

# Install the pinned packages when they are missing or older than the lock file.
stamp="$here/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$here/package-lock.json" -nt "$stamp" ]; then
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

mkdir -p "$state"
state=$(cd "$state" && pwd)
if [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
	echo "start.sh: a server is already running from $state (pid $(cat "$state/pid"))" >&2
	exit 1
fi

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
	echo "start.sh: port $port is already in use" >&2
	exit 1
fi

# -m: concurrent client connections (they share one session); test packages
# run in parallel, each with its pools, so allow PGLITE_MAX_CONNECTIONS
# (default 32).
maxconn=${PGLITE_MAX_CONNECTIONS:-32}
cd "$here"
nohup setsid node node_modules/@electric-sql/pglite-socket/dist/scripts/server.js \
	-p "$port" -h 127.0.0.1 -d "$state/db" \
	-e @electric-sql/pglite-pgvector:vector -m "$maxconn" \
	>"$state/log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$state/pid"

# Initialization takes about 6 s on a fresh directory and up to about 15 s
# on a busy machine; allow 60 s.
for _ in $(seq 1 240); do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "start.sh: the server exited during start-up; its log:" >&2
		cat "$state/log" >&2
		rm -f "$state/pid"
		exit 1
	fi
	if grep -q "listening" "$state/log" 2>/dev/null &&
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "postgres://postgres:postgres@127.0.0.1:$port/postgres?sslmode=disable&default_query_exec_mode=simple_protocol"
		exit 0
	fi
	sleep 0.25
done

echo "start.sh: the server did not accept connections on port $port within 60 s; its log:" >&2
cat "$state/log" >&2
kill "$pid" 2>/dev/null || true
rm -f "$state/pid"
exit 1
