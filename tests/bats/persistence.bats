#!/usr/bin/env bats
# Durability: a QUEUED reply means the task survives kill -9 of the daemon.
# Every test crashes the daemon right after the replies and restarts it on
# the same state directory.

load helpers

setup() {
	vx11_setup
	# These suites look at the queue and the protocol: no task starts
	# unless a test raises max_running (daughters.bats runs them).
	VX11_POLICY_PREFIX='.limits.max_running = 0'
	start_daemon
}

teardown() {
	vx11_teardown
}

crash_and_restart() {
	kill9_daemon
	[[ $DAEMON_STATUS -eq 137 ]]
	start_daemon
}

@test "a QUEUED task survives kill -9: task, counts, queue, result and audit" {
	env=$(submit_queued noop '{"text":"keep me","source":"madre"}')
	crash_and_restart
	cid=$(jq -r .correlation_id <<<"$env")
	tid=$(jq -r .response.task_id <<<"$env")

	task=$(result task.get "{\"task_id\":\"$tid\"}")
	check "$task" '.task.status == "pending" and .task.intent_id == $c and .task.description == "keep me" and .task.source == "madre" and .task.priority == 2' --arg c "$cid"

	status=$(result daemon.status)
	check "$status" '.counts.pending == 1 and .queue_depth == 1 and .pid == $p' --argjson p "$DAEMON_PID"

	check "$(result result.get "{\"correlation_id\":\"$cid\"}")" '.status == "QUEUED" and .result.task_id == $t' --arg t "$tid"

	audit=$(result audit.list)
	check "$audit" '.count == 1 and .entries[0].correlation_id == $c and .entries[0].task_id == $t and .entries[0].status == "QUEUED"' --arg c "$cid" --arg t "$tid"
}

@test "50 QUEUED submits pipelined, then kill -9 at once: all 50 tasks after restart" {
	ids=$(submit_many 50)
	crash_and_restart
	list=$(result task.list '{"limit":1000}')
	check "$list" '.count == 50 and all(.tasks[]; .status == "pending")'
	equals "$(jq -r '.tasks[].id' <<<"$list")" "$ids"
	check "$(result daemon.status)" '.counts.pending == 50 and .queue_depth == 50'
	check "$(result audit.list '{"limit":1000}')" '.count == 50'
}

@test "intents the daemon answered itself stay in the audit log after kill -9" {
	cid=$(submit '{"intent_type":"hello"}' | jq -r .correlation_id)
	rcid=$(submit '{"intent_type":"hello","require":{"switch":true}}' | jq -r .correlation_id)
	crash_and_restart
	check "$(result audit.list)" '.count == 2 and .entries[0].correlation_id == $c and .entries[1].correlation_id == $r and .entries[1].error == "off_by_policy"' --arg c "$cid" --arg r "$rcid"
	check "$(result result.get "{\"correlation_id\":\"$cid\"}")" '.status == "DONE"'
	check "$(result result.get "{\"correlation_id\":\"$rcid\"}")" '.status == "ERROR" and .error == "off_by_policy"'
}

@test "a cancel survives kill -9: the task stays cancelled and out of the queue" {
	ids=$(submit_many 2)
	first=$(head -n1 <<<"$ids")
	result task.cancel "{\"task_id\":\"$first\"}" >/dev/null
	crash_and_restart
	check "$(result task.get "{\"task_id\":\"$first\"}")" '.task.status == "cancelled"'
	check "$(result daemon.status)" '.counts.cancelled == 1 and .counts.pending == 1 and .queue_depth == 1'
	check_error "$(call task.cancel "{\"task_id\":\"$first\"}")" -32003 vx11.Conflict 1
}

@test "idempotency keys survive kill -9" {
	p='{"intent_type":"noop","require":{"spawner":true},"idempotency_key":"survivor"}'
	first=$(submit "$p")
	crash_and_restart
	equals "$(submit "$p")" "$first"
	check "$(result task.list)" '.count == 1'
}

@test "kill -9 while a QUEUED reply waits for its sync: others are served meanwhile; after restart the task is there once" {
	# tests/sync-gate.so holds the daemon's WAL sync while $gate exists:
	# a durable commit is then committed but not yet synced.
	shim=$VX11_BUILDDIR/tests/sync-gate.so
	[[ -f $shim ]]
	stop_daemon
	gate=$T/sync-gate
	VX11D_WRAP="env LD_PRELOAD=$shim VX11_TEST_SYNC_GATE=$gate ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		start_daemon
	: >"$gate"
	p='{"intent_type":"noop","require":{"spawner":true},"idempotency_key":"in-flight"}'
	conn_open held
	conn_send held "$(req intent.submit "$p" 7)"
	wait_for 100 test -e "$gate.held"

	# The sync waits; the event loop does not: another client is answered,
	# and sees the task (committed), while the QUEUED reply is held back.
	check "$(result daemon.status)" '.counts.pending == 1 and .pid == $p' --argjson p "$DAEMON_PID"
	sleep 0.3
	[[ ! -s $T/held.out ]]

	kill9_daemon
	conn_kill held
	rm -f "$gate" "$gate.held"
	start_daemon
	# Nothing lost, nothing doubled: the retry finds the one task.
	again=$(submit "$p")
	check "$again" '.status == "QUEUED"'
	check "$(result task.list)" '.count == 1 and .tasks[0].id == $t' --arg t "$(jq -r .response.task_id <<<"$again")"
}

@test "a sync held back holds every later reply on the same connection, in order" {
	shim=$VX11_BUILDDIR/tests/sync-gate.so
	[[ -f $shim ]]
	stop_daemon
	gate=$T/sync-gate
	VX11D_WRAP="env LD_PRELOAD=$shim VX11_TEST_SYNC_GATE=$gate ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		start_daemon
	: >"$gate"
	conn_open c
	conn_send c "$(req intent.submit '{"intent_type":"noop","require":{"spawner":true}}' 1)"
	wait_for 100 test -e "$gate.held"
	# A reply that needs no sync (DONE, no task) still waits behind the
	# QUEUED one before it: replies leave in request order.
	conn_send c "$(req intent.submit '{"intent_type":"hello"}' 2)" "$(req daemon.status '' 3)"
	sleep 0.3
	[[ ! -s $T/c.out ]]
	rm -f "$gate"
	conn_wait c 3
	equals "$(jq -r .id "$T/c.out" | tr '\n' ' ')" "1 2 3 "
	check "$(sed -n 1p "$T/c.out")" '.result.status == "QUEUED"'
	check "$(sed -n 2p "$T/c.out")" '.result.status == "DONE"'
	conn_close c
}

@test "idle after writing: the WAL is checkpointed into the database file, then no thread of the daemon wakes" {
	tid=$(submit_queued noop | jq -r .response.task_id)
	# The checkpoint runs once the daemon has been idle for 2 s: the task
	# is then in the database file itself, without its WAL.
	copy=$T/copy
	mkdir "$copy"
	in_db_file() {
		cp "$T/state/vx11.db" "$copy/vx11.db"
		rm -f "$copy/vx11.db-wal" "$copy/vx11.db-shm"
		[[ $(sqlite3 "file:$copy/vx11.db?immutable=1" "SELECT count(*) FROM tasks WHERE id = '$tid'" 2>/dev/null) == 1 ]]
	}
	wait_for 100 in_db_file
	# Then nothing: no timer of its own wakes an idle daemon, in any thread
	# (a thread that wakes is switched to at least once).
	wakes() { awk '$1 == "voluntary_ctxt_switches:" { n += $2 } END { print n }' /proc/"$DAEMON_PID"/task/*/status; }
	sleep 0.5
	before=$(wakes)
	sleep 4.5
	equals "$(wakes)" "$before"
}

@test "a clean stop and restart keeps everything too" {
	ids=$(submit_many 3)
	stop_daemon
	equals "$DAEMON_STATUS" 0
	start_daemon
	equals "$(result task.list | jq -r '.tasks[].id')" "$ids"
	check "$(result daemon.status)" '.queue_depth == 3'
}

@test "repeated crashes lose nothing" {
	all=
	for round in 1 2 3; do
		ids=$(submit_many 5 noop "{\"text\":\"round $round\"}")
		all+=$ids$'\n'
		crash_and_restart
	done
	list=$(result task.list '{"limit":1000}')
	check "$list" '.count == 15'
	equals "$(jq -r '.tasks[].id' <<<"$list")" "${all%$'\n'}"
	check "$(result daemon.status)" '.queue_depth == 15'
}

@test "daemon.status.store: a QUEUED submit is one durable commit of two rows and their index entries; a refused one writes its audit row only" {
	before=$(result daemon.status | jq -c .store)
	check "$before" '.commits >= 0 and .rows_written >= 0 and .btree_writes >= .rows_written'
	submit_queued noop >/dev/null
	after=$(result daemon.status | jq -c .store)
	# intents_log (its row, kept by correlation id; the idempotency key's
	# partial index) and tasks (row, id, by status, by owner).
	check "$(jq -cn --argjson a "$before" --argjson b "$after" '{c: ($b.commits - $a.commits), d: ($b.durable_commits - $a.durable_commits), r: ($b.rows_written - $a.rows_written), t: ($b.btree_writes - $a.btree_writes)}')" \
		'. == {c: 1, d: 1, r: 2, t: 6}'
	check "$(submit '{"intent_type":"nope","require":{"spawner":true}}')" '.status == "ERROR" and .error == "unknown_task"'
	last=$(result daemon.status | jq -c .store)
	check "$(jq -cn --argjson a "$after" --argjson b "$last" '{d: ($b.durable_commits - $a.durable_commits), r: ($b.rows_written - $a.rows_written)}')" \
		'. == {d: 0, r: 1}'
}

@test "a restart after kill -9 is ready when the new daemon answers, not when the killed one's socket file is there" {
	kill9_daemon
	# The killed daemon's socket file stays behind, and refuses: the new
	# daemon replaces it only once it has opened its store.
	[[ -S $VX11_SOCKET ]]
	run socat -u /dev/null "UNIX-CONNECT:$VX11_SOCKET"
	[[ $status -ne 0 && $output == *"Connection refused"* ]]
	# A start as slow as a sanitizer build's or a loaded machine's: the
	# stale file is all there is for a second.
	slow=$(daughter_script slow-start <<'SH'
#!/bin/sh
sleep 1
exec "$@"
SH
)
	VX11D_WRAP=$slow start_daemon
	# The very next connections are served, by the new daemon.
	check "$(result daemon.status)" '.pid == $p' --argjson p "$DAEMON_PID"
	"$VX11CTL" status >/dev/null
}
