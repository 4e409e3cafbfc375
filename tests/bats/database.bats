#!/usr/bin/env bats
# vx11d --database URL: where the store is (a path or sqlite:PATH; a relative
# one under the state dir), what daemon.status and vx11ctl status say of it,
# and a URL no backend of this build takes: exit 1 with one line naming the
# URL and why, before anything is made.

load helpers

setup() {
	vx11_setup
	# Tasks stay queued: this suite looks at where they are kept.
	VX11_POLICY_PREFIX='.limits.max_running = 0'
}

teardown() {
	vx11_teardown
}

# refused URL TEXT: vx11d --database URL exits 1 having logged TEXT, leaving
# no socket, state directory or database behind.
refused() {
	local url=$1 text=$2
	launch_daemon --database "$url"
	wait_exit "$DAEMON_PID" 100
	DAEMON_PID=
	equals "$DAEMON_STATUS" 1
	grep -qF -- "$text" "$T/vx11d.log"
	[[ ! -e $T/vx11.sock ]]
	[[ ! -e $T/state ]]
}

@test "--database sqlite:PATH keeps the database at PATH, across a restart" {
	mkdir -m 0700 "$T/db"
	start_daemon --database "sqlite:$T/db/queue.sqlite"
	[[ -f $T/db/queue.sqlite ]]
	[[ ! -e $T/state/vx11.db ]]
	check "$(result daemon.status)" '.store.backend == "sqlite" and .store.database == $p' --arg p "$T/db/queue.sqlite"
	run -0 "$VX11CTL" status
	[[ $output == *"store: sqlite $T/db/queue.sqlite"* ]]
	tid=$(jq -r .response.task_id <<<"$(submit_queued noop)")

	stop_daemon
	start_daemon --database "sqlite:$T/db/queue.sqlite"
	check "$(result task.get "{\"task_id\":\"$tid\"}")" '.task.status == "pending"'
	check "$(result daemon.status)" '.counts.pending == 1 and .queue_depth == 1'

	# The same file named as a plain path is the same database.
	stop_daemon
	start_daemon --database "$T/db/queue.sqlite"
	check "$(result task.get "{\"task_id\":\"$tid\"}")" '.task.status == "pending"'
	[[ ! -e $T/state/vx11.db ]]
}

@test "--database: a relative path is under the state dir; the default is vx11.db there" {
	start_daemon --database other.db
	[[ -f $T/state/other.db && ! -e $T/state/vx11.db ]]
	check "$(result daemon.status)" '.store.database == $p' --arg p "$T/state/other.db"
	stop_daemon

	start_daemon
	[[ -f $T/state/vx11.db ]]
	check "$(result daemon.status)" '.store.backend == "sqlite" and .store.database == $p' --arg p "$T/state/vx11.db"
}

@test "--database mysql://x: exit 1 with a clear message, no socket left" {
	refused mysql://x '--database "mysql://x": unknown database scheme "mysql:": expected a path, sqlite:PATH, postgresql://... or postgres://...'
	equals "$(grep -c 'database' "$T/vx11d.log")" 1
}

@test "--database: sqlite: without a path, and a password in a refused URL never reaches the log" {
	refused sqlite: '--database "sqlite:": "sqlite:" without a path'
	rm -f "$T/vx11d.log"
	refused 'mysql://vx11:s3cret@db.example/vx11' '--database "mysql://vx11@db.example/vx11": unknown database scheme'
	! grep -q s3cret "$T/vx11d.log"
	rm -f "$T/vx11d.log"
	refused 'host=db.example password=s3cret dbname=vx11' \
		'--database "host=db.example dbname=vx11": a libpq key=value string is not taken'
	! grep -q s3cret "$T/vx11d.log"
}

@test "--database postgresql://: refused by a build without PostgreSQL support" {
	# What store-url.c's #ifdef reads.
	if grep -q '^#define HAVE_STORE_PG' "$VX11_BUILDDIR/config.h"; then
		skip "this vx11d has the PostgreSQL backend"
	fi
	refused 'postgresql://vx11:s3cret@db.example/vx11' \
		'--database "postgresql://vx11@db.example/vx11": this vx11d was built without PostgreSQL support (configure --with-libpq)'
	! grep -q s3cret "$T/vx11d.log"
}
