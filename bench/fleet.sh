#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The fleet's rows (issue 13 "Benchmark", FLEET-DESIGN.md P15), in one run on
# one private PostgreSQL cluster (bench/pg-cluster.sh):
#   submits   durable submits/s pipelined (bench-submit --only queued: one
#             and 8 connections) on sqlite-1 and pg-1, beside the raw libpq
#             floor (bench-pg row (c), unnest-coalesced, no daemon) and the
#             echo+fdatasync floor bench-submit measures itself
#   daughters daughters/s for sqlite-1, pg-1, pg-3 (three nodes on one
#             database): every node max_running M, each daughter sleeps
#             50 ms, N tasks submitted at once; the rate is taken over the
#             middle 80% of the attempts' ends (steady state, no ramp); the
#             pg-3/pg-1 ratio is printed against the 2.5x goal
#   claim     claim latency p50/p99: an idle node's claim of a task another
#             node committed (bench/fleet-claim-latency.sh)
# Counts that do not depend on speed: attempts per task (each ran exactly
# once), the spread over the nodes, WAL bytes per durable submit on pg-1.
#
#   bench/fleet.sh [--quick] [--keep]     (make bench-fleet; run as root)
#
# --quick: ~1 minute (400 tasks, bench-pg --quick, bench-submit --quick with few
# one-at-a-time requests, 20 claim samples).
# Run from a configured build directory or set VX11_BUILDDIR. State and the
# cluster go under $VX11_BENCH_DIR (default /var/tmp: a real disk, never
# tmpfs, where fsync costs what it costs). Each daemon has its own socket,
# state dir and cgroup root (vx11-fleet-bench-PID-NAME); their dynamic uids
# are unique on the host by vx11d's own locks. VX11_BENCH_VX11D: another
# vx11d binary to measure (a before/after of one change, the same run's floors).
set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${VX11_BUILDDIR:-$PWD}
base=${VX11_BENCH_DIR:-/var/tmp}
quick=no
keep=no
for a in "$@"; do
	case $a in
	--quick) quick=yes ;;
	--keep) keep=yes ;;
	-h | --help)
		awk 'NR < 4 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
		exit 0 ;;
	*) echo "fleet.sh: unknown argument $a" >&2; exit 2 ;;
	esac
done
[ -f "$builddir/Makefile" ] || { echo "fleet.sh: $builddir is not a configured build directory" >&2; exit 2; }
grep -q '^BENCH_PG = bench/bench-pg' "$builddir/Makefile" ||
	{ echo "fleet.sh: configure found no libpq: no PostgreSQL rows" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "fleet.sh: run as root (daughters run under dynamic uids)" >&2; exit 2; }
if [ -z "${VX11_BENCH_BUILT:-}" ]; then
	make -s -C "$builddir" daemon/vx11d client/vx11ctl bench/bench-submit bench/bench-pg >&2
fi

slots=4 # max_running of every node
if [ $quick = yes ]; then
	# The one-at-a-time rows are not this bench's: a few hundred, one second.
	tasks=400 claims=20 submit_flags=(--quick --requests 20000 --roundtrips 300 --max-seconds 1)
	pg_flags=(--quick)
else
	tasks=2000 claims=100 submit_flags=() pg_flags=()
fi

dir=$(mktemp -d "$base/vx11-fleet-bench.XXXXXX")
chmod 0711 "$dir" # daughters reach their sockets in there
pg=$dir/pg
url=
declare -A PID=()

stop_node() {
	local p=${PID[$1]:-}
	[ -n "$p" ] || return 0
	if kill -TERM "$p" 2>/dev/null; then wait "$p" 2>/dev/null || :; fi
	unset "PID[$1]"
}
cleanup() {
	for x in "${!PID[@]}"; do stop_node "$x"; done
	[ -z "$url" ] || sh "$srcdir/bench/pg-cluster.sh" stop "$pg" >/dev/null 2>&1 || :
	if [ $keep = yes ]; then echo "kept: $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

url=$(sh "$srcdir/bench/pg-cluster.sh" start "$pg")
fstype=$(findmnt -n -o FSTYPE -T "$dir" 2>/dev/null || stat -f -c %T "$dir")
echo "fleet bench: $dir ($fstype), PostgreSQL 15 private cluster, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"

sql() { psql "$url" -qAtc "$1"; }

# policy NAME MAX_RUNNING
policy() {
	jq -n --argjson m "$2" '{mode: "solo_madre", limits: {max_running: $m, max_queued: 100000000,
		max_output_bytes: "1G", max_connections_per_uid: 512},
		defaults: {ttl_seconds: 60, max_retries: 0, heartbeat_seconds: 0},
		tasks: {noop: {command: ["/bin/true"]}, nap: {command: ["/bin/sleep", "0.05"]}}}' >"$dir/$1.json"
}
policy submit 0 # submits alone: nothing starts
policy run "$slots"

# node NAME POLICY [vx11d args]: a daemon, its socket $dir/NAME/sock.
node() {
	local x=$1 pol=$2 i
	shift 2
	mkdir -p "$dir/$x"
	"${VX11_BENCH_VX11D:-$builddir/daemon/vx11d}" --socket "$dir/$x/sock" --state-dir "$dir/$x/state" --policy "$dir/$pol.json" \
		--cgroup-root "vx11-fleet-bench-$$-$x" --log-target stderr --log-level warning "$@" \
		2>"$dir/$x/log" </dev/null &
	PID[$x]=$!
	for i in $(seq 100); do
		[ -S "$dir/$x/sock" ] && return 0
		kill -0 "${PID[$x]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "fleet.sh: node $x did not start: $(tail -n 3 "$dir/$x/log")" >&2
	exit 1
}

# A fresh database per row: every row starts on empty tables.
fresh_db() {
	sql "DROP DATABASE IF EXISTS $1" >/dev/null 2>&1
	sql "CREATE DATABASE $1"
	echo "${url/\/vx11\?//$1?}"
}

# ---- submits ----
# bench-submit prints "QUEUED ... pipelined" rows; keep those and its floors.
# The submit nodes are their own (submit-*): nothing starts there.
submit_rows() {
	"$builddir/bench/bench-submit" --socket "$dir/submit-$1/sock" --only queued --conns 8 --sync-dir "$dir" \
		"${submit_flags[@]}" >"$dir/$1.submit" 2>&1 || { cat "$dir/$1.submit" >&2; return 1; }
	grep -E '^(vx11d QUEUED, pipelined|floor: echo\+fdatasync, pipelined)' "$dir/$1.submit" |
		awk -v n="$1" '{ split(substr($0, 43), f, " +"); k = f[1] == "" ? 1 : 0
			printf "  %-9s %-42s %10s req/s  (server CPU %s µs/req)\n", n ":", substr($0, 1, 42), f[4 + k], $NF }'
}
echo
echo "== durable submits/s (bench-submit --only queued ${submit_flags[*]} --conns 8)"
node submit-sqlite-1 submit
submit_rows sqlite-1
stop_node submit-sqlite-1
db=$(fresh_db submits)
node submit-pg-1 submit --database "$db" --node pg-1
# CPU ticks of the node's backends (its store connection and its LISTEN one).
backend_ticks() {
	local pid t=0
	for pid in $(psql "$db" -qAtc "SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'vx11d node pg-1%'"); do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}
wal0=$(psql "$db" -qAtc "SELECT pg_current_wal_lsn()")
ticks0=$(backend_ticks)
submit_rows pg-1
ticks=$(($(backend_ticks) - ticks0))
n=$(psql "$db" -qAtc "SELECT count(*) FROM tasks")
wal=$(psql "$db" -qAtc "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), '$wal0') / greatest($n, 1))")
echo "  pg-1: $n tasks written; per durable submit (the whole run): $wal WAL bytes," \
	"$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v n="$n" 'BEGIN { printf "%.1f", t / hz * 1e6 / (n > 0 ? n : 1) }') µs of its backends' CPU"
stop_node submit-pg-1
echo "  floor: raw libpq, no daemon (bench-pg ${pg_flags[*]}, row (c) unnest-coalesced):"
"$builddir/bench/bench-pg" --conninfo "$(fresh_db floor)" --sync-dir "$dir" "${pg_flags[@]}" 2>&1 |
	grep -E '^  \(c\).*/s' | sed 's/^/  /' || :

# ---- daughters ----
# rate: over the attempts' ends between the 10th and 90th percentile.
rate_sql="WITH e AS (SELECT finished_at, ntile(10) OVER (ORDER BY finished_at) AS d FROM attempts WHERE finished_at > 0),
	m AS (SELECT count(*) AS n, min(finished_at) AS a, max(finished_at) AS b FROM e WHERE d BETWEEN 2 AND 9)
	SELECT round((n - 1) * 1000000.0 / greatest(b - a, 1), 1) FROM m"

# submit_to NAME N: N nap tasks, pipelined on one connection.
submit_to() {
	local out
	out=$(for i in $(seq "$2"); do
		printf '{"jsonrpc":"2.0","id":%d,"method":"intent.submit","params":{"intent_type":"nap","require":{"spawner":true}}}\n' "$i"
	done | socat -t 30 - "UNIX-CONNECT:$dir/$1/sock")
	[ "$(grep -c '"QUEUED"' <<<"$out")" -eq "$2" ] || { echo "fleet.sh: submits to $1 failed: ${out:0:300}" >&2; exit 1; }
}

# wait_done COUNT_CMD N: until COUNT_CMD prints N (ended tasks), at most 10 min.
wait_done() {
	local i got
	for i in $(seq 6000); do
		got=$($1)
		[ "$got" = "$2" ] && return 0
		sleep 0.1
	done
	echo "fleet.sh: $got of $2 tasks ended after 10 min" >&2
	exit 1
}

echo
echo "== daughters/s: max_running $slots per node, each daughter sleeps 50 ms, $tasks tasks (ceiling per node $((slots * 20))/s)"
declare -A RATE=()
node sqlite-1 run
sqlite_db=$dir/sqlite-1/state/vx11.db
sqlite_ended() { sqlite3 "$sqlite_db" "SELECT count(*) FROM attempts WHERE finished_at > 0" 2>/dev/null || echo 0; }
submit_to sqlite-1 "$tasks"
wait_done sqlite_ended "$tasks"
stop_node sqlite-1
RATE[sqlite-1]=$(sqlite3 "$sqlite_db" "WITH e AS (SELECT finished_at, ntile(10) OVER (ORDER BY finished_at) AS d FROM attempts WHERE finished_at > 0),
	m AS (SELECT count(*) AS n, min(finished_at) AS a, max(finished_at) AS b FROM e WHERE d BETWEEN 2 AND 9)
	SELECT round((n - 1) * 1000000.0 / max(b - a, 1), 1) FROM m")
echo "  sqlite-1: ${RATE[sqlite-1]} daughters/s; attempts per task: $(sqlite3 "$sqlite_db" "SELECT count(*) || '/' || (SELECT count(*) FROM tasks) FROM attempts")"

# fleet_row NAME NODES: the nodes on a fresh database, the tasks split over them.
fleet_row() {
	local name=$1 nodes=$2 db i per subs
	db=$(fresh_db "${name//-/_}")
	for i in $(seq "$nodes"); do node "$name-$i" run --database "$db" --node "$name-$i"; done
	per=$((tasks / nodes))
	subs=()
	for i in $(seq "$nodes"); do
		submit_to "$name-$i" "$per" &
		subs+=($!)
	done
	for i in "${subs[@]}"; do wait "$i" || exit 1; done # not the nodes: they are children too
	pg_ended() { psql "$db" -qAtc "SELECT count(*) FROM attempts WHERE finished_at > 0"; }
	wait_done pg_ended "$((per * nodes))"
	RATE[$name]=$(psql "$db" -qAtc "$rate_sql")
	echo "  $name: ${RATE[$name]} daughters/s; attempts per task: $(psql "$db" -qAtc "SELECT (SELECT count(*) FROM attempts) || '/' || count(*) FROM tasks"); by node: $(psql "$db" -qAtc "SELECT string_agg(node || ' ' || n, ', ') FROM (SELECT node, count(*) AS n FROM attempts GROUP BY 1 ORDER BY 1) c")"
	for i in $(seq "$nodes"); do stop_node "$name-$i"; done
}
fleet_row pg-1 1
fleet_row pg-3 3
ratio=$(awk -v a="${RATE[pg-3]}" -v b="${RATE[pg-1]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 2.5 ? "PASS" : "MISS") }')
echo "  pg-3 / pg-1: ${ratio}x (goal >= 2.5x: $verdict); pg-1 / sqlite-1: $(awk -v a="${RATE[pg-1]}" -v b="${RATE[sqlite-1]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')x"

# ---- claim latency ----
echo
echo "== claim latency: an idle node's claim of a task another node committed ($claims samples)"
N=$claims bash "$srcdir/bench/fleet-claim-latency.sh" "$builddir" | sed 's/^/  /'
