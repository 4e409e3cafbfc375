#!/usr/bin/env bats
# events.subscribe: {"subscribed": true}, then a notification for each task
# status change the caller may see, on the same connection.

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

# The event notifications received so far on connection NAME, as one JSON array.
events_of() {
	jq -s -c 'map(select(.method == "event"))' "$T/$1.out"
}

@test "subscribe, then submit and cancel elsewhere: pending then cancelled" {
	conn_open sub
	conn_send sub "$(req events.subscribe '' 1)"
	conn_wait sub 1
	check "$(sed -n 1p "$T/sub.out")" '. == {"jsonrpc":"2.0","id":1,"result":{"subscribed":true}}'

	tid=$(submit_queued noop | jq -r .response.task_id)
	conn_wait sub 2
	result task.cancel "{\"task_id\":\"$tid\"}" >/dev/null
	conn_wait sub 3

	ev=$(events_of sub)
	check "$ev" 'length == 2 and map(.params.status) == ["pending","cancelled"]'
	check "$ev" 'all(.[]; .jsonrpc == "2.0" and .method == "event" and (has("id") | not)
		and .params.type == "task.status" and .params.task_id == $t
		and (.params.at | test("^[0-9-]{10}T[0-9:]{8}\\.[0-9]{6}Z$")))' --arg t "$tid"
}

@test "intents that create no task send no event" {
	conn_open sub
	conn_send sub "$(req events.subscribe)"
	conn_wait sub 1
	submit '{"intent_type":"hello"}' >/dev/null
	submit '{"intent_type":"hello","require":{"switch":true}}' >/dev/null
	submit '{"intent_type":"nope","require":{"spawner":true}}' >/dev/null
	tid=$(submit_queued noop | jq -r .response.task_id)
	conn_wait sub 2
	sleep 0.2
	check "$(events_of sub)" 'length == 1 and .[0].params.task_id == $t and .[0].params.status == "pending"' --arg t "$tid"
}

@test "the task_id filter: only that task's events" {
	a=$(submit_queued noop | jq -r .response.task_id)
	conn_open sub
	conn_send sub "$(req events.subscribe "{\"task_id\":\"$a\"}")"
	conn_wait sub 1
	check "$(sed -n 1p "$T/sub.out")" '.result == {"subscribed":true}'

	b=$(submit_queued noop | jq -r .response.task_id)
	result task.cancel "{\"task_id\":\"$b\"}" >/dev/null
	result task.cancel "{\"task_id\":\"$a\"}" >/dev/null
	conn_wait sub 2
	sleep 0.2
	check "$(events_of sub)" 'length == 1 and .[0].params.task_id == $a and .[0].params.status == "cancelled"' --arg a "$a"
}

@test "every subscriber gets the event" {
	conn_open one
	conn_open two
	conn_send one "$(req events.subscribe)"
	conn_send two "$(req events.subscribe)"
	conn_wait one 1
	conn_wait two 1
	tid=$(submit_queued noop | jq -r .response.task_id)
	conn_wait one 2
	conn_wait two 2
	check "$(events_of one)" '.[0].params.task_id == $t' --arg t "$tid"
	check "$(events_of two)" '.[0].params.task_id == $t' --arg t "$tid"
}

@test "a subscriber still gets replies to its own requests, in order" {
	conn_open sub
	conn_send sub "$(req events.subscribe '' 1)" "$(req daemon.status '' 2)"
	conn_wait sub 2
	check "$(jq -s -c 'map(.id)' "$T/sub.out")" '. == [1,2]'
	conn_send sub "$(req intent.submit '{"intent_type":"noop","require":{"spawner":true}}' 3)"
	conn_wait sub 4
	# Its own submission: the reply and the event, both present.
	check "$(jq -s -c . "$T/sub.out")" 'map(select(.id == 3)) | length == 1'
	check "$(events_of sub)" 'length == 1 and .[0].params.status == "pending"'
}

@test "a daughter's start comes before its task's running, and each event's at is when its change happened" {
	require_root # daughters need root
	policy_file '.limits.max_running = 1'
	result policy.reload >/dev/null
	conn_open sub
	conn_send sub "$(req events.subscribe)"
	conn_wait sub 1
	tid=$(submit_task noop)
	t=$(wait_status "$tid" completed)
	wait_for 50 grep -q '"type":"task.status".*"status":"completed"' "$T/sub.out"

	ev=$(jq -sc --arg t "$tid" 'map(select(.method == "event" and .params.task_id == $t) | .params)' "$T/sub.out")
	check "$ev" 'map("\(.type) \(.status)") == ["task.status pending", "daughter.status running", "task.status running",
		"daughter.status exited", "task.status completed"]'
	# at: when the daughter started (exec'd) and ended, as task.get says; the
	# task ran from its daughter's start and completed at its end.
	check "$ev" '.[1].at == $t.daughters[0].started_at and .[1].at == $t.daughters[0].attempts[0].started_at
		and .[2].at == .[1].at
		and .[3].at == $t.daughters[0].ended_at and .[3].at == $t.daughters[0].attempts[0].finished_at
		and .[4].at == .[3].at and .[4].at == $t.task.updated_at
		and .[0].at == $t.task.created_at' --argjson t "$t"
	# So in the order they arrive, time never goes back.
	check "$ev" "$JQ_TS"'map(.at | ts) | . == sort'
}

@test "subscribing to an unknown task: -32002; bad params: -32602" {
	check_error "$(call events.subscribe '{"task_id":"no-such-task"}')" -32002 vx11.NotFound 1
	reply=$(call events.subscribe '{"type":"task.status"}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("type")'
	check_error "$(call events.subscribe '{"task_id":5}')" -32602 vx11.InvalidParams 1
}

@test "a subscriber that goes away does not disturb the daemon" {
	conn_open sub
	conn_send sub "$(req events.subscribe)"
	conn_wait sub 1
	conn_kill sub
	tid=$(submit_queued noop | jq -r .response.task_id)
	result task.cancel "{\"task_id\":\"$tid\"}" >/dev/null
	check "$(result daemon.status)" '.counts.cancelled == 1 and .pid == $p' --argjson p "$DAEMON_PID"
}

@test "a submitter sees only events of its own tasks" {
	require_root
	conn_open theirs as_submitter_nobody
	conn_send theirs "$(req events.subscribe)"
	conn_wait theirs 1
	check "$(sed -n 1p "$T/theirs.out")" '.result == {"subscribed":true}'

	# root's task: not visible to nobody.
	submit_queued noop >/dev/null
	# nobody's own task: visible.
	own=$(as_submitter_nobody socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET" <<<"$(req intent.submit '{"intent_type":"noop","require":{"spawner":true}}')" |
		jq -r .result.response.task_id)
	conn_wait theirs 2
	sleep 0.2
	check "$(events_of theirs)" 'length == 1 and .[0].params.task_id == $t' --arg t "$own"

	# Subscribing to root's task by id is "not found" for nobody.
	root_task=$(result task.list '{"limit":1}' | jq -r '.tasks[0].id')
	reply=$(as_submitter_nobody socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET" <<<"$(req events.subscribe "{\"task_id\":\"$root_task\"}")")
	check_error "$reply" -32002 vx11.NotFound 1
}
