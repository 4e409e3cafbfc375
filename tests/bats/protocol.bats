#!/usr/bin/env bats
# The wire protocol (vx11-protocol(7)): each method's reply shape, every error
# code of the table with its data.name, notifications and batches.

load helpers

setup() {
	vx11_setup
	# These suites look at the queue and the protocol: no task starts
	# unless a test raises max_running (daughters.bats runs them).
	VX11_POLICY_PREFIX='.limits.max_running = 0'
}

teardown() {
	vx11_teardown
}

@test "daemon.status: version, pid, uptime, policy mode, cgroup, seccomp, counts, queue" {
	start_daemon
	reply=$(call daemon.status)
	version=$("$VX11D" --version | awk '{ print $2 }')
	check "$reply" '.jsonrpc == "2.0" and .id == 1 and (has("error") | not)'
	check "$reply" '.result.version == $v' --arg v "$version"
	check "$reply" '.result.pid == $p' --argjson p "$DAEMON_PID"
	check "$reply" '.result.uptime_seconds | type == "number" and . >= 0 and . < 60'
	check "$reply" '.result.policy_mode == "solo_madre"'
	check "$reply" '.result.cgroup.mode == $m' --arg m "$(expected_cgroup_mode)"
	check "$reply" '.result.seccomp | type == "object"'
	check "$reply" '.result.counts == {"pending":0,"planning":0,"running":0,"retrying":0,"completed":0,"failed":0,"expired":0,"cancelled":0}'
	check "$reply" '.result.daughters_running == 0 and .result.queue_depth == 0'
}

@test "intent.submit: the envelope has exactly the contract's members" {
	start_daemon
	reply=$(call intent.submit '{"intent_type":"hello"}')
	check "$reply" '.id == 1 and (.result | keys) == (["correlation_id","status","mode","provider","response","error","degraded","timestamp"] | sort)'
	check "$reply" '.result.correlation_id | type == "string" and length > 0'
	check "$reply" '.result.timestamp | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$")'
}

@test "result.get: correlation_id, status, result, error, mode, provider, degraded, timestamp" {
	start_daemon
	env=$(submit '{"intent_type":"hello"}')
	cid=$(jq -r .correlation_id <<<"$env")
	reply=$(call result.get "$(jq -cn --arg c "$cid" '{correlation_id:$c}')")
	check "$reply" '(.result | keys) == (["correlation_id","status","result","error","mode","provider","degraded","timestamp"] | sort)'
	check "$reply" '.result.correlation_id == $c and .result.status == "DONE" and .result.mode == "MADRE" and .result.provider == "fallback_local" and .result.error == null and .result.degraded == false' --arg c "$cid"
}

@test "task.list, task.get, task.cancel, daughter.list: shapes" {
	policy_file '.limits.max_running = 0' # it stays pending
	start_daemon
	env=$(submit_queued noop)
	tid=$(jq -r .response.task_id <<<"$env")
	cid=$(jq -r .correlation_id <<<"$env")

	reply=$(call task.list)
	check "$reply" '.result.count == 1 and (.result.tasks | length) == 1'
	check "$reply" '.result.tasks[0] | ["id","intent_id","source","priority","status","task_type","description","created_at","updated_at","current_retry","max_retries","mutation_level","next_attempt_at"] - keys == []'
	check "$reply" '.result.tasks[0] | .id == $t and .intent_id == $c and .status == "pending" and .task_type == "noop" and .source == "operator" and .priority == 1' --arg t "$tid" --arg c "$cid"

	reply=$(call task.get "{\"task_id\":\"$tid\"}")
	check "$reply" '(.result | keys) == ["daughters","task"] and .result.daughters == [] and .result.task.id == $t' --arg t "$tid"

	reply=$(call task.cancel "{\"task_id\":\"$tid\"}")
	check "$reply" '.result == {"status":"cancelled","task_id":$t,"cancelled_daughters_count":0}' --arg t "$tid"

	reply=$(call daughter.list)
	check "$reply" '.result == {"count":0,"daughters":[]}'
}

@test "events.subscribe, audit.list, policy.reload: shapes" {
	start_daemon
	reply=$(call events.subscribe)
	check "$reply" '.id == 1 and .result == {"subscribed":true}'

	submit '{"intent_type":"hello"}' >/dev/null
	reply=$(call audit.list)
	check "$reply" '.result.entries | length == 1'
	check "$reply" '.result.entries[0] | .intent_type == "hello" and .status == "DONE" and (.correlation_id | length > 0) and .task_id == null and .error == null'

	reply=$(call policy.reload)
	check "$reply" '.id == 1 and (.result | type == "object") and (has("error") | not)'
}

@test "-32700 ParseError: id null, and the connection stays open" {
	start_daemon
	out=$(rpc 'this is not json' "$(req daemon.status '' 2)")
	equals "$(count_lines "$out")" 2
	check_error "$(sed -n 1p <<<"$out")" -32700 vx11.ParseError null
	check "$(sed -n 2p <<<"$out")" '.id == 2 and (.result.pid | type == "number")'
}

@test "-32600 InvalidRequest: not a request object" {
	start_daemon
	check_error "$(rpc '{"jsonrpc":"2.0","id":4}')" -32600 vx11.InvalidRequest 4
	check_error "$(rpc '"a string"')" -32600 vx11.InvalidRequest null
	check_error "$(rpc '{"jsonrpc":"1.0","id":5,"method":"daemon.status"}')" -32600 vx11.InvalidRequest 5
}

@test "-32600 LineTooLong: one error, then the connection is closed" {
	policy_file '.limits.max_line_bytes = 1024'
	start_daemon
	long=$(head -c 2000 /dev/zero | tr '\0' x)
	out=$(rpc_sloppy "$long" "$(req daemon.status '' 2)")
	# The request after the long line is never answered: the daemon hung up.
	equals "$(count_lines "$out")" 1
	check_error "$out" -32600 vx11.LineTooLong null
	check "$out" '.error.message | test("1024")'
	# A line of exactly the limit is fine.
	line="{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"daemon.status\"}"
	line=$(printf '%-1024s' "$line")
	equals "${#line}" 1024
	check "$(rpc "$line")" '.id == 3 and (.result.pid | type == "number")'
}

@test "-32601 NoSuchMethod" {
	start_daemon
	reply=$(call no.such.method)
	check_error "$reply" -32601 vx11.NoSuchMethod 1
	check "$reply" '.error.message | test("no.such.method")'
}

@test "-32602 InvalidParams: the message names the field" {
	start_daemon
	reply=$(call intent.submit '{"intent_type":"x","bogus_field":1}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("bogus_field")'
	reply=$(call intent.submit '{"text":"no type"}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("intent_type")'
	reply=$(call task.get '{"task_id":7}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("task_id")'
}

@test "-32602 InvalidPolicy: policy.reload of a broken file names the key path" {
	start_daemon
	policy_file '.limits.max_queued = "lots"'
	reply=$(call policy.reload)
	check_error "$reply" -32602 vx11.InvalidPolicy 1
	check "$reply" '.error.data.key == "limits.max_queued"'
	check "$reply" '.error.message | test("limits\\.max_queued")'
	# The daemon keeps running.
	check "$(call daemon.status)" '.result.pid == $p' --argjson p "$DAEMON_PID"
}

@test "-32001 PermissionDenied: audit.list from a plain submitter" {
	require_root
	start_daemon
	reply=$(as_submitter_nobody socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET" <<<"$(req audit.list)")
	check_error "$reply" -32001 vx11.PermissionDenied 1
	reply=$(as_submitter_nobody socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET" <<<"$(req policy.reload)")
	check_error "$reply" -32001 vx11.PermissionDenied 1
}

@test "-32002 NotFound: unknown task and correlation ids" {
	start_daemon
	check_error "$(call task.get '{"task_id":"no-such-task"}')" -32002 vx11.NotFound 1
	check_error "$(call task.cancel '{"task_id":"no-such-task"}')" -32002 vx11.NotFound 1
	check_error "$(call result.get '{"correlation_id":"no-such-intent"}')" -32002 vx11.NotFound 1
}

@test "-32003 Conflict: cancelling a cancelled task" {
	policy_file '.limits.max_running = 0'
	start_daemon
	tid=$(submit_queued noop | jq -r .response.task_id)
	check "$(call task.cancel "{\"task_id\":\"$tid\"}")" '.result.status == "cancelled"'
	reply=$(call task.cancel "{\"task_id\":\"$tid\"}")
	check_error "$reply" -32003 vx11.Conflict 1
}

@test "-32004 Busy: max_queued reached" {
	policy_file '.limits.max_queued = 1 | .limits.max_running = 0'
	start_daemon
	submit_queued noop >/dev/null
	reply=$(call intent.submit '{"intent_type":"noop","require":{"spawner":true}}')
	check_error "$reply" -32004 vx11.Busy 1
	check "$reply" '.error.message | test("max_queued")'
	# Synchronous intents need no queue room.
	check "$(submit '{"intent_type":"noop"}')" '.status == "DONE"'
}

@test "-32004 Busy: max_connections reached, one line then close" {
	# We are root, an admin: without the admins' reserve (badinput.bats tests it).
	policy_file '.limits.max_connections = 1 | .limits.admin_reserved_connections = 0'
	start_daemon
	conn_open first
	conn_send first "$(req daemon.status)"
	conn_wait first 1
	out=$(rpc_sloppy "$(req daemon.status '' 2)")
	equals "$(count_lines "$out")" 1
	check_error "$out" -32004 vx11.Busy null
	check "$out" '.error.message | test("max_connections")'
	# Room again once the first connection is gone.
	conn_close first
	for _ in $(seq 50); do
		out=$(rpc "$(req daemon.status '' 3)")
		jq -e '.id == 3' >/dev/null <<<"$out" && break
		sleep 0.1
	done
	check "$out" '.id == 3 and (.result.pid | type == "number")'
}

@test "a notification gets no reply; the next request on the connection does" {
	start_daemon
	out=$(rpc '{"jsonrpc":"2.0","method":"daemon.status"}' \
		'{"jsonrpc":"2.0","method":"no.such.method"}' \
		"$(req daemon.status '' 9)")
	equals "$(count_lines "$out")" 1
	check "$out" '.id == 9 and (.result.pid | type == "number")'
}

@test "a notification is still carried out" {
	start_daemon
	rpc '{"jsonrpc":"2.0","method":"intent.submit","params":{"intent_type":"noop","require":{"spawner":true}}}' >/dev/null
	check "$(result task.list)" '.count == 1 and .tasks[0].task_type == "noop"'
}

@test "batch: an array of replies in order, none for its notifications" {
	start_daemon
	out=$(rpc '[{"jsonrpc":"2.0","id":1,"method":"daemon.status"},{"jsonrpc":"2.0","method":"daemon.status"},{"jsonrpc":"2.0","id":"two","method":"no.such"},{"jsonrpc":"2.0","id":3,"method":"task.list"}]')
	equals "$(count_lines "$out")" 1
	check "$out" 'type == "array" and length == 3 and map(.id) == [1,"two",3]'
	check "$out" '(.[0].result.pid | type == "number") and .[1].error.code == -32601 and .[1].error.data.name == "vx11.NoSuchMethod" and .[2].result.count == 0'
}

@test "batch: invalid members get their own error in place" {
	start_daemon
	out=$(rpc '[1,{"jsonrpc":"2.0","id":2,"method":"daemon.status"},{"jsonrpc":"2.0","id":3}]')
	check "$out" 'type == "array" and length == 3'
	check "$out" '.[0].id == null and .[0].error.code == -32600 and .[0].error.data.name == "vx11.InvalidRequest"'
	check "$out" '.[1].id == 2 and (.[1].result.pid | type == "number")'
	check "$out" '.[2].id == 3 and .[2].error.code == -32600'
}

@test "batch: only notifications gets no reply at all; [] is one error object" {
	start_daemon
	out=$(rpc '[{"jsonrpc":"2.0","method":"daemon.status"},{"jsonrpc":"2.0","method":"task.list"}]' "$(req daemon.status '' 5)")
	equals "$(count_lines "$out")" 1
	check "$out" '.id == 5'
	out=$(rpc '[]')
	equals "$(count_lines "$out")" 1
	check "$out" 'type == "object"'
	check_error "$out" -32600 vx11.InvalidRequest null
}

@test "a request with id null is answered with id null" {
	start_daemon
	check "$(rpc '{"jsonrpc":"2.0","id":null,"method":"daemon.status"}')" 'has("id") and .id == null and (.result.pid | type == "number")'
}

@test "string and fractional ids are echoed as given" {
	start_daemon
	check "$(rpc '{"jsonrpc":"2.0","id":"abc-1","method":"daemon.status"}')" '.id == "abc-1"'
	check "$(rpc '{"jsonrpc":"2.0","id":1.5,"method":"daemon.status"}')" '.id == 1.5'
}
