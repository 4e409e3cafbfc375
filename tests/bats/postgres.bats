#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vx11d on PostgreSQL (--database postgresql://...), one node: tasks run and
# are kept in the database, survive a restart, and record the node that ran
# them. Until the fleet's claims exist, one database serves one vx11d: a
# second is refused naming the first, and a kill -9 of the first frees it
# at once (the lock is the first one's session).
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

@test "--database postgresql://: a second vx11d on the same database is refused naming the first; kill -9 of the first frees it" {
	start_daemon --database "$URL" --node alpha
	[[ -e $T/policy.json ]]
	mkdir -p "$T/b"
	# Its own socket, state dir (so its own instance) and log.
	run timeout 60 "$VX11D" --socket "$T/b/vx11.sock" --state-dir "$T/b/state" --log-target stderr \
		--cgroup-root "$VX11_CGROUP_ROOT" --policy "$T/policy.json" --database "$URL" --node beta
	echo "$output"
	equals "$status" 1
	[[ $output == *"the database is in use by another vx11d (vx11d node alpha (server pid "* ]]
	[[ ! -e $T/b/vx11.sock ]]
	# The first one is untouched by the attempt.
	tid=$(submit_task noop)
	wait_status "$tid" completed >/dev/null

	kill9_daemon
	start_daemon --database "$URL" --node beta
	check "$(result daemon.status)" '.node == "beta" and .store.backend == "postgresql"'
	check "$(task_get "$tid")" '.task.status == "completed"'
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
