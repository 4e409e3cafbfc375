#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Run the benchmarks, build first if needed, print their tables:
#   bench-submit  intent.submit: three vx11d with a bench policy and fresh
#                 state directories, measured beside echo floors; with
#                 vx11-switch built, two more in mode "switch": one planned
#                 by a running vx11-switch, one whose switch is not there
#   bench-spawn   starting a confined daughter: fork+exec (the floor),
#                 spawn_daughter() without the daemon, bwrap, firejail, and
#                 vx11d end to end (it starts its own daemon); rows 2 and 4
#                 need root, bwrap and firejail rows need those installed
#   bench-json    the JSON work of one intent.submit, json-c as vx11d uses
#                 it beside cJSON (when configure found libcjson)
#   bench-pg      durable submits on PostgreSQL (issue 13), on a private
#                 cluster started by bench/pg-cluster.sh in $VX11_BENCH_DIR
#                 (when configure found libpq; the server is postgresql-15)
# The fleet's rows (sqlite-1, pg-1, pg-3: submits/s, daughters/s, claim
# latency) are bench/fleet.sh's, which `make bench` runs after this script
# (alone: `make bench-fleet [BENCH_FLAGS=--quick]`).
#
#   bench/run.sh [--keep] [--quick] [bench-submit options ...]
#   bench/run.sh [--keep] --submit-only [bench-submit options ...]
#   bench/run.sh [--keep] --spawn-only [bench-spawn options ...]
#   bench/run.sh --json-only [--quick]
#   bench/run.sh --pg-only [--quick] [bench-pg options ...]
#
# --quick makes all of them short. Without --spawn-only, bench-spawn gets
# --quick and --keep only, plus whatever $VX11_BENCH_SPAWN_FLAGS holds;
# bench-json and bench-pg get --quick only.
#
# Run it from a configured build directory (`make bench` does), or set
# VX11_BUILDDIR. The state directories go under $VX11_BENCH_DIR (default
# /var/tmp): a real disk, never tmpfs, because the QUEUED figures are
# mostly the cost of fsync and tmpfs makes fsync free.
#
# Three daemons: "main" takes the fallback/QUEUED cases; for the scale case
# "big" is filled with N tasks and then measured alternately with "small",
# whose store stays small, so that both share whatever else the machine does.
# The daemons log at their default level to a file in the state directory,
# as they would to any log file; --keep leaves the directory for reading.
set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${VX11_BUILDDIR:-$PWD}
keep=no
only=
while :; do
	case "${1:-}" in
	--keep) keep=yes ;;
	--submit-only) only=submit ;;
	--spawn-only) only=spawn ;;
	--json-only) only=json ;;
	--pg-only) only=pg ;;
	*) break ;;
	esac
	shift
done
case " $* " in
*" --help "* | *" -h "*)
	awk 'NR < 4 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"
	exit 0 ;;
esac

if [ ! -f "$builddir/Makefile" ]; then
	echo "run.sh: $builddir is not a configured build directory; run it from one or set VX11_BUILDDIR" >&2
	exit 2
fi
# bench-pg is there to build only when configure found libpq.
bench_pg=
grep -q '^BENCH_PG = bench/bench-pg' "$builddir/Makefile" && bench_pg=bench/bench-pg
if [ -z "${VX11_BENCH_BUILT:-}" ]; then
	make -s -C "$builddir" daemon/vx11d switch/vx11-switch bench/bench-submit bench/bench-spawn bench/bench-json \
		bench/true-static $bench_pg >&2
	VX11_BENCH_BUILT=1
	export VX11_BENCH_BUILT
fi
vx11d=$builddir/daemon/vx11d
bench=$builddir/bench/bench-submit
base=${VX11_BENCH_DIR:-/var/tmp}

# Both: each bench in a shell of its own (its own traps and clean-up); a
# failure of the first does not stop the second, and either makes us fail.
if [ -z "$only" ]; then
	keep_flag=
	[ "$keep" = no ] || keep_flag=--keep
	quick=
	case " $* " in *" --quick "*) quick=--quick ;; esac
	rc=0
	sh "$0" $keep_flag --submit-only "$@" || rc=$?
	echo
	# shellcheck disable=SC2086 # word splitting of the flags is wanted
	sh "$0" $keep_flag --spawn-only $quick ${VX11_BENCH_SPAWN_FLAGS:-} || rc=$?
	echo
	sh "$0" --json-only $quick || rc=$?
	if [ -n "$bench_pg" ]; then
		echo
		sh "$0" --pg-only $quick || rc=$?
	fi
	exit $rc
fi

if [ "$only" = json ]; then
	exec "$builddir/bench/bench-json" "$@"
fi

if [ "$only" = pg ]; then
	if [ -z "$bench_pg" ]; then
		echo "run.sh: bench-pg is not built: configure found no libpq >= 14 (Debian: libpq-dev)" >&2
		exit 2
	fi
	# The cluster's data and the floors' files on the same disk: fsync
	# costs what it costs there (never tmpfs).
	pg_dir=$(mktemp -d "$base/vx11-bench-pg.XXXXXX")
	trap 'sh "$srcdir/bench/pg-cluster.sh" stop "$pg_dir"' EXIT
	trap 'exit 130' INT TERM
	uri=$(sh "$srcdir/bench/pg-cluster.sh" start "$pg_dir")
	echo "cluster: $pg_dir ($(findmnt -n -o FSTYPE -T "$pg_dir" 2>/dev/null || stat -f -c %T "$pg_dir"))"
	rc=0
	"$builddir/bench/bench-pg" --conninfo "$uri" --sync-dir "$base" "$@" || rc=$?
	exit $rc
fi

if [ "$only" = spawn ]; then
	keep_flag=
	[ "$keep" = no ] || keep_flag=--keep
	exec "$builddir/bench/bench-spawn" --true "$builddir/bench/true-static" --vx11d "$vx11d" \
		--seccomp-dir "$srcdir/policy/seccomp" --state-base "$base" $keep_flag "$@"
fi

dir=$(mktemp -d "$base/vx11-bench.XXXXXX")
# Daughters run as other users and must reach their sockets in there.
chmod 0711 "$dir"
main_pid=
small_pid=
big_pid=
planned_pid=
degraded_pid=
switch_pid=

stop() {
	# $1: pid, $2: name. SIGTERM, then wait: the daemon commits and checkpoints.
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null || return 0
	if ! wait "$1"; then
		echo "run.sh: vx11d ($2) exited with an error; the end of its log:" >&2
		tail -n 5 "$dir/$2.log" >&2
	fi
}

cleanup() {
	stop "$main_pid" main
	stop "$small_pid" small
	stop "$big_pid" big
	stop "$planned_pid" planned
	stop "$degraded_pid" degraded
	[ -z "$switch_pid" ] || { kill -TERM "$switch_pid" 2>/dev/null; wait "$switch_pid" 2>/dev/null; }
	main_pid= small_pid= big_pid= planned_pid= degraded_pid= switch_pid=
	if [ "$keep" = yes ]; then
		echo "state, policy and daemon logs kept in $dir"
	else
		rm -rf "$dir"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# findmnt names ext4 as such; stat -f only knows the ext2/ext3 magic.
fstype=$(findmnt -n -o FSTYPE -T "$dir" 2>/dev/null || stat -f -c %T "$dir")
device=$(df -P "$dir" | awk 'NR == 2 { print $1 }')
echo "state directories: $dir ($fstype on $device; fsync cost is part of the QUEUED figures)"
if [ "$fstype" = tmpfs ] || [ "$fstype" = ramfs ]; then
	echo "WARNING: $dir is on $fstype: fsync costs nothing there, the QUEUED figures do not mean anything." >&2
	echo "         Set VX11_BENCH_DIR to a directory on a real disk." >&2
fi

# The bench policy: the "noop" task for the QUEUED path, room for every task
# the run creates, and output buffers big enough for deep pipelines. No task
# starts (max_running 0): this measures submission alone; bench-spawn
# measures daughters.
cat >"$dir/policy.json" <<'EOF'
{
  "mode": "solo_madre",
  "limits": {
    "max_running": 0,
    "max_queued": 100000000,
    "max_output_bytes": "1G"
  },
  "tasks": {
    "noop": { "command": ["/bin/true"] }
  }
}
EOF

start() {
	# $1: name. Foreground daemon in the background; its pid is in $!. Each
	# has a runtime directory (the socket's: notify sockets, daughter.sock)
	# and a cgroup root of its own: a daemon reaps what it finds in its root.
	"$vx11d" --socket "$dir/$1.run/vx11.sock" --state-dir "$dir/$1" --policy "$dir/policy.json" \
		--cgroup-root "vx11-bench-$$-$1" --log-target stderr 2>"$dir/$1.log" &
}
start main
main_pid=$!
start small
small_pid=$!
start big
big_pid=$!

# The switch rows: vx11-switch (built beside vx11d) planning every intent by
# its default route, a daemon in mode "switch" asking it ("planned"), and one
# whose switch is not there ("degraded": its breaker opens in the warm-up and
# stays open, so each intent degrades at once).
switch_args=
switch_bin=$builddir/switch/vx11-switch
names="main small big"
if [ -x "$switch_bin" ]; then
	cat >"$dir/switch.json" <<'EOF'
{
  "routes": [],
  "default_route": { "provider": "local", "model": "bench-1", "approach": "direct", "score": 1 },
  "providers": { "echo": { "argv": ["/bin/cat"], "timeout_ms": 5000 } },
  "default_provider": "echo"
}
EOF
	"$switch_bin" --config "$dir/switch.json" --socket "$dir/switch.sock" --log-target stderr \
		--log-level warning 2>"$dir/switch.log" &
	switch_pid=$!
	for name in planned degraded; do
		sock=$dir/switch.sock
		[ "$name" = degraded ] && sock=$dir/no-switch.sock
		jq --arg s "$sock" '.mode = "switch"
			| .switch = {socket: $s, timeout_ms: 2000, failure_threshold: 1, cooldown_seconds: 3600}' \
			"$dir/policy.json" >"$dir/policy-$name.json"
		"$vx11d" --socket "$dir/$name.run/vx11.sock" --state-dir "$dir/$name" --policy "$dir/policy-$name.json" \
			--cgroup-root "vx11-bench-$$-$name" --log-target stderr 2>"$dir/$name.log" &
		eval "${name}_pid=\$!"
	done
	names="$names planned degraded"
	switch_args="--switch-socket $dir/planned.run/vx11.sock --degraded-socket $dir/degraded.run/vx11.sock"
else
	echo "run.sh: no $switch_bin: the switch rows are skipped" >&2
fi

# bench-submit waits for the sockets; a daemon that died is caught here first.
sleep 0.2
for name in $names; do
	eval "pid=\$${name}_pid"
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "run.sh: vx11d ($name) did not start:" >&2
		cat "$dir/$name.log" >&2
		exit 1
	fi
done

rc=0
# shellcheck disable=SC2086 # switch_args is words
"$bench" --socket "$dir/main.run/vx11.sock" --scale-socket "$dir/big.run/vx11.sock" \
	--scale-empty-socket "$dir/small.run/vx11.sock" $switch_args \
	--sync-dir "$dir" "$@" || rc=$?
echo "daemon logs: $(du -sh "$dir"/*.log | awk '{ printf "%s %s  ", $1, $2 }')"
exit $rc
