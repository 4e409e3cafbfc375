#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vx11d on PostgreSQL (--database postgresql://...): tasks run and are kept
# in the database, survive a restart, and record the node that ran them; a
# second vx11d on the database is a second node of a fleet, which claims
# what it runs (fleet.bats has the fleet itself).
#
# A private cluster (bench/pg-cluster.sh: initdb in /var/tmp as the postgres
# user, Unix socket only) for the whole file, a database of its own per test.

load helpers

setup_file() {
	if ! grep -q '^#define HAVE_STORE_PG' "$VX11_BUILDDIR/config.h"; then
		export PG_SKIP="this vx11d was built without libpq (configure found none)"
		return 0
	fi
	if [[ ! -x ${PG_BIN:-/usr/lib/postgresql/15/bin}/initdb ]]; then
		export PG_SKIP="no PostgreSQL server binaries (install postgresql-15, or set PG_BIN)"
		return 0
	fi
	PG_DIR=$(mktemp -d /var/tmp/vx11-bats-pg.XXXXXX)
	rmdir "$PG_DIR"
	PG_URL=$("$VX11_SRCDIR/bench/pg-cluster.sh" start "$PG_DIR")
	export PG_DIR PG_URL
}

teardown_file() {
	[[ -z ${PG_DIR:-} ]] || "$VX11_SRCDIR/bench/pg-cluster.sh" stop "$PG_DIR"
}

setup() {
	[[ -z ${PG_SKIP:-} ]] || skip "$PG_SKIP"
	vx11_setup
	DB=t$BATS_TEST_NUMBER
	psql "$PG_URL" -qAtc "CREATE DATABASE $DB"
	# The cluster's URI names database vx11: this test's instead.
	URL=${PG_URL/\/\/\/vx11\?/\/\/\/$DB?}
	B_PID=
}

teardown() {
	if [[ -n ${B_PID:-} ]] && alive "$B_PID"; then
		kill -TERM "$B_PID"
		wait_exit "$B_PID" 100 || kill -9 "$B_PID"
	fi
	vx11_teardown
}

sql() {
	psql "$URL" -qAtc "$1"
}

@test "--database postgresql://: a task runs, its rows and its node are in PostgreSQL, and it survives a restart" {
	start_daemon --database "$URL" --node alpha
	check "$(result daemon.status)" '.store.backend == "postgresql" and .node == "alpha"'
	# Nothing of SQLite's is made beside it.
	[[ ! -e $T/state/vx11.db ]]
	run -0 "$VX11CTL" status
	[[ $output == *"store: postgresql"* ]]

	tid=$(submit_task noop)
	wait_status "$tid" completed >/dev/null
	equals "$(sql "SELECT status FROM tasks WHERE id = '$tid'")" completed
	equals "$(sql "SELECT string_agg(node, ',') FROM attempts WHERE task_id = '$tid'")" alpha

	stop_daemon
	start_daemon --database "$URL" --node alpha
	check "$(task_get "$tid")" '.task.status == "completed" and .task.node == "alpha"'
	check "$(result daemon.status)" '.counts.completed == 1'
}

@test "--database postgresql://: a second vx11d on the same database is a second node: tasks run once, on either; kill -9 of one leaves the other working" {
	start_daemon --database "$URL" --node alpha
	[[ -e $T/policy.json ]]
	mkdir -p "$T/b"
	# Its own socket, state dir (so its own instance) and log.
	(
		_bg_close_fds
		exec "$VX11D" --socket "$T/b/vx11.sock" --state-dir "$T/b/state" --log-target stderr \
			--cgroup-root "$VX11_CGROUP_ROOT" --policy "$T/policy.json" --database "$URL" --node beta
	) 2>>"$T/b/vx11d.log" </dev/null >/dev/null &
	B_PID=$!
	VX11_SOCKET=$T/b/vx11.sock DAEMON_PID=$B_PID wait_daemon_ready
	check "$(VX11_SOCKET=$T/b/vx11.sock result daemon.status)" '.node == "beta" and .store.backend == "postgresql"'

	ids=$(submit_many 10 noop; VX11_SOCKET=$T/b/vx11.sock submit_many 10 noop)
	for id in $ids; do
		wait_status "$id" completed >/dev/null
	done
	equals "$(sql "SELECT count(*) FROM attempts")" 20
	equals "$(sql "SELECT count(*) FROM attempts WHERE node NOT IN ('alpha', 'beta')")" 0

	kill9_daemon
	tid=$(VX11_SOCKET=$T/b/vx11.sock submit_task noop)
	VX11_SOCKET=$T/b/vx11.sock wait_status "$tid" completed >/dev/null
	equals "$(sql "SELECT node FROM attempts WHERE task_id = '$tid'")" beta
}

@test "--database postgresql://: a server that is not there is a clear error at start" {
	launch_daemon --database "postgresql:///vx11?host=$T/nowhere&connect_timeout=2"
	wait_exit "$DAEMON_PID" 200
	DAEMON_PID=
	equals "$DAEMON_STATUS" 1
	grep -q "cannot open the database postgresql:///vx11?host=$T/nowhere&connect_timeout=2: connect to PostgreSQL: " \
		"$T/vx11d.log"
	[[ ! -e $T/vx11.sock ]]
}
