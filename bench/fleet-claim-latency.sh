#!/bin/bash
# SPDX-License-Identifier: MIT
# How soon an idle fleet node claims a task another node committed (issue 13:
# "within 50 ms"). Two vx11d on a private cluster (bench/pg-cluster.sh): node
# a busy (max_running 1, one sleeper), node b idle; N quick tasks submitted
# on a one at a time, 0.3 s apart, so that b claims each on the vx11_work
# notify of a's commit. Prints, per claiming node, the count and p50/p99/max
# of claimed_at - created_at in ms (created_at is set before a's commit: the
# figure includes the commit). Absolute times, not a ratio to a floor: the
# point is the bound, on whatever machine runs it.
#   bench/fleet-claim-latency.sh [BUILDDIR]     (N=40 by default; run as root)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
n=${N:-40}
work=$(mktemp -d /tmp/vx11-claim-lat.XXXXXX)
pg=$(mktemp -d /var/tmp/vx11-claim-lat-pg.XXXXXX)
rmdir "$pg"
url=$("$src/bench/pg-cluster.sh" start "$pg")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	"$src/bench/pg-cluster.sh" stop "$pg" >/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
jq -n '{mode: "solo_madre", admin_group: "vx11-admin", limits: {max_running: 1, max_queued: 1000},
	sources: {operator: {priority: 1}},
	defaults: {ttl_seconds: 60, max_retries: 0, backoff: {base_seconds: 1, max_seconds: 2}},
	tasks: {block: {command: ["/bin/sleep", "60"]}, quick: {command: ["/bin/true"]}}}' >policy.json
node() {
	mkdir -p "$1"
	"$build/daemon/vx11d" --socket "$work/$1/sock" --state-dir "$work/$1/state" --log-target stderr \
		--cgroup-root "vx11-claim-lat-$$-$1" --policy "$work/policy.json" --database "$url" --node "$1" \
		2>"$1/log" &
	pids+=($!)
	for _ in $(seq 100); do [[ -S $1/sock ]] && return 0; sleep 0.1; done
	echo "node $1 did not start: $(tail -3 "$1/log")" >&2
	return 1
}
ctl() { "$build/client/vx11ctl" --socket "$work/$1/sock" "${@:2}" >/dev/null; }
node a
ctl a submit block --spawner
sleep 1 # a runs it: its one slot is taken
node b
sleep 1.5
for _ in $(seq "$n"); do
	ctl a submit quick --spawner
	sleep 0.3
done
sleep 1
echo "node|tasks|p50_ms|p99_ms|max_ms"
psql "$url" -qAtc "SELECT a.node, count(*),
	round((percentile_cont(0.5) WITHIN GROUP (ORDER BY (t.claimed_at - t.created_at) / 1000.0))::numeric, 2),
	round((percentile_cont(0.99) WITHIN GROUP (ORDER BY (t.claimed_at - t.created_at) / 1000.0))::numeric, 2),
	round(max((t.claimed_at - t.created_at) / 1000.0), 2)
	FROM tasks t JOIN attempts a ON a.task_id = t.id WHERE t.task_type = 'quick' GROUP BY 1"
