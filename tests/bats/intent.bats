#!/usr/bin/env bats
# intent.submit and result.get: the four paths, the envelope, idempotency,
# priorities and sources, task selection, and waiting for a result.

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

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

@test "require.spawner false: DONE, handled by the daemon (fallback_local)" {
	for params in '{"intent_type":"hello"}' '{"intent_type":"hello","require":{"spawner":false,"switch":false}}' '{"intent_type":"hello","require":{}}'; do
		env=$(submit "$params")
		check "$env" '.status == "DONE" and .mode == "MADRE" and .provider == "fallback_local" and .error == null and .degraded == false'
		check "$env" '(.response | keys) == ["notes","plan_id","result","steps_executed"]'
		check "$env" '.response.steps_executed == 1 and .response.result == "intent_processed" and .response.notes == "fallback_local execution"'
		check "$env" '.response.plan_id | type == "string" and length > 0'
	done
	# Nothing is queued for it.
	check "$(result task.list)" '.count == 0'
}

@test "require.switch in solo_madre: ERROR off_by_policy, a result not a JSON-RPC error" {
	for params in '{"intent_type":"hello","require":{"switch":true}}' '{"intent_type":"noop","require":{"switch":true,"spawner":true}}'; do
		reply=$(call intent.submit "$params")
		check "$reply" 'has("result") and (has("error") | not)'
		env=$(jq -c .result <<<"$reply")
		check "$env" '.status == "ERROR" and .mode == "FALLBACK" and .error == "off_by_policy" and .provider == null and .degraded == false'
		check "$env" '.response.policy == "SOLO_MADRE" and (.response.reason | type == "string" and length > 0)'
	done
	check "$(result task.list)" '.count == 0'
}

@test "require.spawner with a known task type: QUEUED and a pending task" {
	env=$(submit '{"intent_type":"noop","text":"do nothing","require":{"spawner":true}}')
	check "$env" '.status == "QUEUED" and .mode == "SPAWNER" and .provider == "spawner" and .error == null and .degraded == false'
	check "$env" '(.response | keys) == ["task_id"] and (.response.task_id | type == "string" and length > 0)'
	tid=$(jq -r .response.task_id <<<"$env")
	cid=$(jq -r .correlation_id <<<"$env")
	task=$(result task.get "{\"task_id\":\"$tid\"}")
	check "$task" '.task.status == "pending" and .task.task_type == "noop" and .task.intent_id == $c and .task.description == "do nothing"' --arg c "$cid"
	check "$(result daemon.status)" '.counts.pending == 1 and .queue_depth == 1'
}

@test "require.spawner with an unknown task type: ERROR unknown_task, no task" {
	env=$(submit '{"intent_type":"no_such_task","require":{"spawner":true}}')
	check "$env" '.status == "ERROR" and .error == "unknown_task" and .provider == null and .degraded == false'
	check "$env" '.response.reason | test("no_such_task")'
	check "$(result task.list)" '.count == 0'
	check "$(result daemon.status)" '.queue_depth == 0'
}

@test "payload.task_name chooses the task type over intent_type" {
	env=$(submit '{"intent_type":"whatever","payload":{"task_name":"echo","x":1},"require":{"spawner":true}}')
	check "$env" '.status == "QUEUED"'
	tid=$(jq -r .response.task_id <<<"$env")
	check "$(result task.get "{\"task_id\":\"$tid\"}")" '.task.task_type == "echo"'

	# A known intent_type does not rescue an unknown task_name.
	env=$(submit '{"intent_type":"noop","payload":{"task_name":"nope"},"require":{"spawner":true}}')
	check "$env" '.status == "ERROR" and .error == "unknown_task"'

	reply=$(call intent.submit '{"intent_type":"noop","payload":{"task_name":7},"require":{"spawner":true}}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("task_name")'
	check "$(result task.list)" '.count == 1'
}

@test "idempotency_key: the same key returns the same envelope and creates one task" {
	p='{"intent_type":"noop","require":{"spawner":true},"idempotency_key":"k-1"}'
	first=$(submit "$p")
	second=$(submit "$p")
	equals "$second" "$first"
	check "$(result task.list)" '.count == 1'

	# Also for an intent the daemon handled itself.
	a=$(submit '{"intent_type":"hello","idempotency_key":"k-2"}')
	b=$(submit '{"intent_type":"hello","idempotency_key":"k-2"}')
	equals "$(jq -r .correlation_id <<<"$b")" "$(jq -r .correlation_id <<<"$a")"

	# A different key is a different intent.
	third=$(submit '{"intent_type":"noop","require":{"spawner":true},"idempotency_key":"k-3"}')
	[[ $(jq -r .correlation_id <<<"$third") != $(jq -r .correlation_id <<<"$first") ]]
	[[ $(jq -r .response.task_id <<<"$third") != $(jq -r .response.task_id <<<"$first") ]]
	check "$(result task.list)" '.count == 2'
}

@test "idempotency_key reused for a different intent: -32003 vx11.Conflict naming the first, nothing created" {
	first=$(submit '{"intent_type":"noop","require":{"spawner":true},"text":"one","idempotency_key":"k-1"}')
	cid=$(jq -r .correlation_id <<<"$first")
	audit_before=$(result audit.list '{"limit":1000}' | jq .count)
	for other in '{"intent_type":"noop","require":{"spawner":true},"text":"two","idempotency_key":"k-1"}' \
		'{"intent_type":"echo","require":{"spawner":true},"text":"one","idempotency_key":"k-1"}' \
		'{"intent_type":"noop","require":{"spawner":true},"text":"one","payload":{"n":1},"idempotency_key":"k-1"}' \
		'{"intent_type":"noop","require":{"spawner":true},"text":"one","priority":"P0","idempotency_key":"k-1"}' \
		'{"intent_type":"noop","text":"one","idempotency_key":"k-1"}'; do
		reply=$(call intent.submit "$other")
		check_error "$reply" -32003 vx11.Conflict 1
		check "$reply" '.error.message == "idempotency key already used for a different intent"'
		check "$reply" '.error.data.correlation_id == $c' --arg c "$cid"
	done
	check "$(result task.list)" '.count == 1'
	# Each refusal is in the audit log, as every submission is.
	check "$(result audit.list '{"limit":1000}')" '.count == $n + 5 and ([.entries[] | select(.error == "idempotency_conflict")] | length) == 5' \
		--argjson n "$audit_before"

	# The first intent again, written otherwise (key order, defaults spelled
	# out): the first envelope, still.
	again=$(submit '{"idempotency_key":"k-1","text":"one","source":"operator","require":{"switch":false,"spawner":true},"intent_type":"noop"}')
	equals "$again" "$first"
	check "$(result task.list)" '.count == 1'
}

@test "idempotency_key: the same intent is the same params, whatever their spelling; a payload counts" {
	a=$(submit '{"intent_type":"hello","payload":{"x":1,"y":[true,"\u00e9"]},"idempotency_key":"p"}')
	b=$(submit '{"payload":{"y":[true,"é"],"x":1.0},"intent_type":"hello","idempotency_key":"p"}')
	equals "$b" "$a"
	check_error "$(call intent.submit '{"intent_type":"hello","payload":{"x":2,"y":[true,"é"]},"idempotency_key":"p"}')" -32003 vx11.Conflict 1
	# The key is per uid and per intent: a new key is a new intent.
	check "$(submit '{"intent_type":"hello","payload":{"x":2},"idempotency_key":"q"}')" '.status == "DONE" and .correlation_id != $c' \
		--arg c "$(jq -r .correlation_id <<<"$a")"
}

@test "idempotency_key is per uid: another user with the same key gets its own intent" {
	require_root
	p='{"intent_type":"noop","require":{"spawner":true},"idempotency_key":"shared"}'
	mine=$(submit "$p")
	theirs=$(as_submitter_nobody socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET" <<<"$(req intent.submit "$p")" | jq -c .result)
	check "$theirs" '.status == "QUEUED"'
	[[ $(jq -r .correlation_id <<<"$theirs") != $(jq -r .correlation_id <<<"$mine") ]]
	[[ $(jq -r .response.task_id <<<"$theirs") != $(jq -r .response.task_id <<<"$mine") ]]
	check "$(result task.list)" '.count == 2'
}

@test "priority P0..P3 sets the task's priority; the source's priority is the default" {
	# Pipelined on one connection; tasks list in creation order.
	out=$(rpc \
		"$(req intent.submit '{"intent_type":"noop","require":{"spawner":true},"priority":"P0","source":"hijas"}' 1)" \
		"$(req intent.submit '{"intent_type":"noop","require":{"spawner":true},"priority":"P1","source":"hijas"}' 2)" \
		"$(req intent.submit '{"intent_type":"noop","require":{"spawner":true},"priority":"P2","source":"hijas"}' 3)" \
		"$(req intent.submit '{"intent_type":"noop","require":{"spawner":true},"priority":"P3","source":"shub"}' 4)" \
		"$(req intent.submit '{"intent_type":"noop","require":{"spawner":true},"source":"shub"}' 5)" \
		"$(req intent.submit '{"intent_type":"noop","require":{"spawner":true},"source":"operator"}' 6)" \
		"$(req intent.submit '{"intent_type":"noop","require":{"spawner":true},"source":"madre"}' 7)" \
		"$(req intent.submit '{"intent_type":"noop","require":{"spawner":true},"source":"hijas"}' 8)" \
		"$(req intent.submit '{"intent_type":"noop","require":{"spawner":true}}' 9)")
	check "$(jq -s -c . <<<"$out")" 'length == 9 and all(.result.status == "QUEUED")'
	list=$(result task.list)
	equals "$(jq -r '.tasks[].id' <<<"$list")" "$(jq -r .result.response.task_id <<<"$out")"
	check "$list" '[.tasks[].priority] == [0,1,2,3,0,1,2,3,1]'
	check "$list" '[.tasks[].source] == ["hijas","hijas","hijas","shub","shub","operator","madre","hijas","operator"]'
}

@test "a bad priority or source is -32602 naming it, and nothing is created" {
	lines=()
	for bad in '"P4"' '"p1"' '"high"' '""' '1'; do
		lines+=("{\"jsonrpc\":\"2.0\",\"id\":\"priority\",\"method\":\"intent.submit\",\"params\":{\"intent_type\":\"noop\",\"require\":{\"spawner\":true},\"priority\":$bad}}")
	done
	for bad in '"web"' '"Operator"' '""' '0'; do
		lines+=("{\"jsonrpc\":\"2.0\",\"id\":\"source\",\"method\":\"intent.submit\",\"params\":{\"intent_type\":\"noop\",\"require\":{\"spawner\":true},\"source\":$bad}}")
	done
	all=$(rpc "${lines[@]}" | jq -s -c .)
	check "$all" 'length == 9 and all(.[]; .error.code == -32602 and .error.data.name == "vx11.InvalidParams")'
	# Each message names its field (the request's id says which).
	check "$all" 'all(.[]; . as $r | $r.error.message | contains($r.id))'
	check "$(result task.list)" '.count == 0'
}

@test "max_retries from the request, else from the policy" {
	tid=$(submit_queued noop '{"max_retries":5}' | jq -r .response.task_id)
	check "$(result task.get "{\"task_id\":\"$tid\"}")" '.task.max_retries == 5'
	tid=$(submit_queued noop | jq -r .response.task_id)
	check "$(result task.get "{\"task_id\":\"$tid\"}")" '.task.max_retries == 1'
	tid=$(submit_queued fails | jq -r .response.task_id)
	check "$(result task.get "{\"task_id\":\"$tid\"}")" '.task.max_retries == 0'
}

@test "result.get of a DONE intent: DONE, and the response as result" {
	env=$(submit '{"intent_type":"hello"}')
	cid=$(jq -r .correlation_id <<<"$env")
	res=$(result result.get "{\"correlation_id\":\"$cid\"}")
	check "$res" '.correlation_id == $c and .status == "DONE" and .mode == "MADRE" and .provider == "fallback_local" and .error == null' --arg c "$cid"
	check "$res" '.result == $r' --argjson r "$(jq -c .response <<<"$env")"
}

@test "result.get of refused intents: ERROR with the reason" {
	cid=$(submit '{"intent_type":"hello","require":{"switch":true}}' | jq -r .correlation_id)
	check "$(result result.get "{\"correlation_id\":\"$cid\"}")" '.status == "ERROR" and .error == "off_by_policy" and .mode == "FALLBACK"'
	cid=$(submit '{"intent_type":"nope","require":{"spawner":true}}' | jq -r .correlation_id)
	check "$(result result.get "{\"correlation_id\":\"$cid\"}")" '.status == "ERROR" and .error == "unknown_task"'
}

@test "result.get of a QUEUED intent: QUEUED with its task id" {
	env=$(submit_queued noop)
	cid=$(jq -r .correlation_id <<<"$env")
	tid=$(jq -r .response.task_id <<<"$env")
	res=$(result result.get "{\"correlation_id\":\"$cid\"}")
	check "$res" '.status == "QUEUED" and .mode == "SPAWNER" and .provider == "spawner" and .result.task_id == $t and .error == null' --arg t "$tid"
}

@test "result.get wait_seconds: times out with QUEUED after about that long" {
	cid=$(submit_queued noop | jq -r .correlation_id)
	t0=$(now_ms)
	res=$(result result.get "{\"correlation_id\":\"$cid\",\"wait_seconds\":1}")
	elapsed=$(($(now_ms) - t0))
	echo "waited $elapsed ms" >&2
	check "$res" '.status == "QUEUED" and .correlation_id == $c' --arg c "$cid"
	((elapsed >= 900 && elapsed < 3000))
	# Fractions of a second are accepted too.
	t0=$(now_ms)
	res=$(result result.get "{\"correlation_id\":\"$cid\",\"wait_seconds\":0.3}")
	elapsed=$(($(now_ms) - t0))
	check "$res" '.status == "QUEUED"'
	((elapsed >= 250 && elapsed < 2000))
}

@test "result.get wait_seconds on a finished intent answers at once" {
	cid=$(submit '{"intent_type":"hello"}' | jq -r .correlation_id)
	t0=$(now_ms)
	check "$(result result.get "{\"correlation_id\":\"$cid\",\"wait_seconds\":20}")" '.status == "DONE"'
	(($(now_ms) - t0 < 2000))
}

@test "result.get wait_seconds is woken by a cancel from another connection" {
	env=$(submit_queued noop)
	cid=$(jq -r .correlation_id <<<"$env")
	tid=$(jq -r .response.task_id <<<"$env")
	conn_open waiter
	t0=$(now_ms)
	conn_send waiter "$(req result.get "{\"correlation_id\":\"$cid\",\"wait_seconds\":20}" 42)"
	sleep 0.3
	# Still waiting.
	equals "$(conn_lines waiter)" ""
	check "$(result task.cancel "{\"task_id\":\"$tid\"}")" '.status == "cancelled"'
	conn_wait waiter 1 50
	elapsed=$(($(now_ms) - t0))
	reply=$(conn_lines waiter)
	check "$reply" '.id == 42 and .result.status == "CANCELLED" and .result.error == "cancelled" and .result.correlation_id == $c' --arg c "$cid"
	((elapsed < 5000))
}

@test "a waiting connection answers its next request after the wait" {
	cid=$(submit_queued noop | jq -r .correlation_id)
	out=$(rpc "$(req result.get "{\"correlation_id\":\"$cid\",\"wait_seconds\":0.5}" 1)" "$(req daemon.status '' 2)")
	equals "$(count_lines "$out")" 2
	check "$(sed -n 1p <<<"$out")" '.id == 1 and .result.status == "QUEUED"'
	check "$(sed -n 2p <<<"$out")" '.id == 2 and (.result.pid | type == "number")'
}
