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
load pg

setup_file() {
	pg_setup_file
}

teardown_file() {
	pg_teardown_file
}

setup() {
	pg_setup_test
	vx11_setup
	B_PID=
}

# pg_ctl ARGS...: the private cluster's, as its user (bench/pg-cluster.sh).
pg_ctl() {
	local bin=${PG_BIN:-/usr/lib/postgresql/15/bin}/pg_ctl
	if [[ $(id -u) -eq 0 ]]; then
		runuser -u postgres -- "$bin" -D "$PG_DIR/data" "$@"
	else
		"$bin" -D "$PG_DIR/data" "$@"
	fi
}

# Start the cluster again as pg-cluster.sh did.
pg_start() {
	pg_ctl -l "$PG_DIR/server.log" -w -t 60 -s \
		-o "-k $PG_DIR -p ${PG_PORT:-5432} -c listen_addresses='' -c unix_socket_permissions=0700 -c fsync=on" start
}

teardown() {
	# A test that stopped the cluster and failed: the next tests need it.
	[[ -z ${PG_STOPPED:-} ]] || pg_start || :
	[[ -z ${LOOP_PID:-} ]] || ! alive "$LOOP_PID" || kill "$LOOP_PID"
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

@test "--database postgresql://: a second vx11d under a node name in use is refused naming it; kill -9 of the first frees the name" {
	start_daemon --database "$URL" --node alpha
	mkdir -p "$T/b"
	# Claims, fences and recovery go by the name: two daemons under one would
	# settle and give back each other's tasks.
	run timeout 60 "$VX11D" --socket "$T/b/vx11.sock" --state-dir "$T/b/state" --log-target stderr \
		--cgroup-root "$VX11_CGROUP_ROOT" --policy "$T/policy.json" --database "$URL" --node alpha
	echo "$output"
	equals "$status" 1
	[[ $output == *'the node name "alpha" is in use by another vx11d on this database (vx11d node alpha (server pid '* ]]
	[[ ! -e $T/b/vx11.sock ]]
	tid=$(submit_task noop)
	wait_status "$tid" completed >/dev/null

	kill9_daemon
	start_daemon --database "$URL" --node alpha
	check "$(task_get "$tid")" '.task.status == "completed" and .task.node == "alpha"'
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

store_is() {
	check "$(result daemon.status)" '.store.available == $a' --argjson a "$1" 2>/dev/null
}

@test "PostgreSQL stopped for 10 s under load and started again: nothing acknowledged lost, clear errors meanwhile" {
	policy_file '.tasks.sleeper = {command: ["/bin/sleep", "4"], max_retries: 0}'
	# A lease well beyond the outage (10 s, and the restart): a node cut off
	# for its lease less a margin fences itself and stops its daughters.
	start_daemon --database "$URL" --node alpha --lease-seconds 30
	sleeper=$(submit_task sleeper)
	wait_running "$sleeper" >/dev/null

	# A client submitting in a loop through the outage, a connection each.
	(
		_bg_close_fds
		while [[ ! -e $T/stop-loop ]]; do
			call intent.submit '{"intent_type":"noop","require":{"spawner":true}}' >>"$T/replies" ||
				echo '{"no_reply":true}' >>"$T/replies"
			sleep 0.1
		done
	) &
	LOOP_PID=$!
	sleep 1
	PG_STOPPED=1
	pg_ctl stop -m fast -w -s
	# The daemon finds out at its next call (the loop's submits make some).
	wait_for 50 store_is false
	status=$(result daemon.status)
	check "$status" '.store.available == false and (.store.last_error | test("unreachable since"))'
	# The sleeper ends meanwhile (4 s): its end waits for the database.
	sleep 9
	check_error "$(call task.list '{}')" -32004 vx11.StoreUnavailable
	pg_start
	PG_STOPPED=
	# Back without a restart of the daemon.
	wait_for 50 store_is true
	check "$(result daemon.status)" '.store.reconnects >= 1 and .store.last_error == null'
	sleep 1
	touch "$T/stop-loop"
	wait "$LOOP_PID"
	LOOP_PID=

	replies=$(jq -s -c . "$T/replies")
	# Each submit was acknowledged QUEUED or refused as unavailable: never a
	# cut connection, never another error.
	check "$replies" 'all(.[]; (.result.status == "QUEUED") or
		(.error.data.name == "vx11.StoreUnavailable" and (.error.code == -32004 or .error.code == -32603)))'
	check "$replies" 'any(.[]; .error.code == -32004) and any(.[]; .result.status == "QUEUED")'
	# Every one acknowledged is in the database and completes.
	for tid in $(jq -r 'select(.result) | .result.response.task_id' "$T/replies"); do
		wait_status "$tid" completed >/dev/null
	done
	for tid in $(jq -r 'select(.result) | .result.response.task_id' "$T/replies"); do
		equals "$(sql "SELECT status FROM tasks WHERE id = '$tid'")" completed
	done
	# The daughter that ran through the outage settled as it ended.
	wait_status "$sleeper" completed >/dev/null
	equals "$(sql "SELECT status FROM tasks WHERE id = '$sleeper'")" completed
	equals "$(sql "SELECT status FROM attempts WHERE task_id = '$sleeper'")" succeeded
}

@test "a commit lost with the connection: its reply becomes -32603 vx11.StoreUnavailable (outcome unknown), the connection stays, the daemon reconnects at once" {
	policy_file '.tasks.doomed = {command: ["/bin/true"]}'
	start_daemon --database "$URL" --node alpha
	# A deferred trigger: the server ends its own session inside the COMMIT
	# of a transaction that inserted a "doomed" task.
	sql "CREATE FUNCTION vx11_test_die() RETURNS trigger LANGUAGE plpgsql AS
		\$\$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END \$\$;
		CREATE CONSTRAINT TRIGGER vx11_test_die AFTER INSERT ON tasks DEFERRABLE INITIALLY DEFERRED
		FOR EACH ROW WHEN (NEW.task_type = 'doomed') EXECUTE FUNCTION vx11_test_die()"
	run -0 rpc "$(req intent.submit '{"intent_type":"doomed","require":{"spawner":true}}' 1)" \
		"$(req daemon.status '' 2)"
	[[ ${#lines[@]} -eq 2 ]]
	check_error "${lines[0]}" -32603 vx11.StoreUnavailable 1
	check "${lines[0]}" '.error.data.outcome == "unknown" and (.error.message | test("idempotency_key"))'
	# The connection was not closed: the status read in the same iteration
	# is answered too (withdrawn with the rest, or after it).
	check "${lines[1]}" '.id == 2'
	# The first call after the loss connected again.
	check "$(result daemon.status)" '.store.available and .store.reconnects == 1 and .store.last_error == null'
	equals "$(sql "SELECT count(*) FROM tasks WHERE task_type = 'doomed'")" 0
	wait_status "$(submit_task noop)" completed >/dev/null
}

once_fired() {
	[[ $(sql "SELECT is_called FROM vx11_test_once") == t ]]
}

@test "a daughter whose start was lost with a commit: its end still settles the task, once, with its attempt" {
	policy_file '.tasks.gated = {command: ["/bin/sh", "-c", "while [ ! -e '"$T"'/go ]; do sleep 0.05; done"], max_retries: 0}'
	start_daemon --database "$URL" --node alpha
	# The first commit that marks a task running ends its own session: the
	# start is lost with the connection while the daughter runs on.
	sql "CREATE SEQUENCE vx11_test_once;
		CREATE FUNCTION vx11_test_die() RETURNS trigger LANGUAGE plpgsql AS
		\$\$ BEGIN IF nextval('vx11_test_once') = 1 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;
		RETURN NULL; END \$\$;
		CREATE CONSTRAINT TRIGGER vx11_test_die AFTER UPDATE ON tasks DEFERRABLE INITIALLY DEFERRED
		FOR EACH ROW WHEN (NEW.status = 'running') EXECUTE FUNCTION vx11_test_die()"
	tid=$(submit_task gated)
	wait_for 100 once_fired
	touch "$T/go"
	wait_status "$tid" completed >/dev/null
	equals "$(sql "SELECT status FROM tasks WHERE id = '$tid'")" completed
	equals "$(sql "SELECT count(*) || ' ' || string_agg(status, ',') FROM attempts WHERE task_id = '$tid'")" "1 succeeded"
	equals "$(sql "SELECT claimed_by IS NULL FROM tasks WHERE id = '$tid'")" t
}

@test "a node cut off from the database for its lease less the margin stops its daughters, and settles them when it is back (nobody adopted it)" {
	policy_file '.defaults.backoff = {base_seconds: 0.2, max_seconds: 0.2}
		| .tasks.sleeper = {command: ["/bin/sleep", "100"], max_retries: 1, mutations: [{command: ["/bin/true"]}]}'
	start_daemon --database "$URL" --node alpha --lease-seconds 2
	tid=$(submit_task sleeper)
	wait_running "$tid" >/dev/null
	wait_for 50 eval '[[ -n $(task_pids "$tid") ]]'
	PG_STOPPED=1
	pg_ctl stop -m fast -w -s
	# 2 s less 0.4 s after its last renewal, it fences itself: the daughter goes.
	wait_for 50 no_task_pids "$tid"
	grep -q "node alpha: lease not renewed for 1.6 s (.*): stopped its 1 daughters and claims nothing" "$T/vx11d.log"
	check "$(result daemon.status)" '.store.lease_fenced == true and (.store.lease_error | test("unreachable"))'
	pg_start
	PG_STOPPED=
	wait_for 50 store_is true
	# Back with its incarnation unchanged: it settles the end itself, and claims again.
	wait_status "$tid" completed >/dev/null
	grep -q "node alpha: lease renewed again (incarnation 1): claiming again" "$T/vx11d.log"
	equals "$(sql "SELECT string_agg(number || ':' || status || ':' || reason || ':' || node, ' ' ORDER BY number)
		FROM attempts WHERE task_id = '$tid'")" "1:interrupted:fenced:alpha 2:succeeded:exited:alpha"
	equals "$(sql "SELECT state || ' ' || incarnation || ' ' || coalesce(swept_by, '-') FROM nodes")" "up 1 -"
	check "$(result daemon.status)" '.store.lease_fenced == false and .store.lease_error == null'
}
