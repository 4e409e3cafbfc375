#!/usr/bin/env bats
# task.list, task.get, task.cancel and daughter.list.

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

@test "task.list: empty, then every task in creation order" {
	check "$(result task.list)" '.count == 0 and .tasks == []'
	ids=$(submit_many 5)
	list=$(result task.list)
	check "$list" '.count == 5 and (.tasks | length) == 5'
	equals "$(jq -r '.tasks[].id' <<<"$list")" "$ids"
	check "$list" 'all(.tasks[]; .status == "pending" and .task_type == "noop" and .current_retry == 0 and .mutation_level == 0)'
}

@test "task.list: status filter as a string or an array" {
	ids=$(submit_many 3)
	first=$(head -n1 <<<"$ids")
	result task.cancel "{\"task_id\":\"$first\"}" >/dev/null

	check "$(result task.list '{"status":"pending"}')" '.count == 2 and all(.tasks[]; .status == "pending")'
	list=$(result task.list '{"status":"cancelled"}')
	check "$list" '.count == 1 and .tasks[0].id == $f and .tasks[0].status == "cancelled"' --arg f "$first"
	check "$(result task.list '{"status":["pending","cancelled"]}')" '.count == 3'
	check "$(result task.list '{"status":["completed","failed"]}')" '.count == 0'

	reply=$(call task.list '{"status":"done"}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("status")'
	check_error "$(call task.list '{"status":["pending","nope"]}')" -32602 vx11.InvalidParams 1
	check_error "$(call task.list '{"status":5}')" -32602 vx11.InvalidParams 1
}

@test "task.list: source filter" {
	submit_many 2 noop '{"source":"shub"}' >/dev/null
	submit_many 3 noop '{"source":"madre"}' >/dev/null
	check "$(result task.list '{"source":"shub"}')" '.count == 2 and all(.tasks[]; .source == "shub")'
	check "$(result task.list '{"source":"madre"}')" '.count == 3 and all(.tasks[]; .source == "madre")'
	check "$(result task.list '{"source":"hijas"}')" '.count == 0'
	check "$(result task.list '{"source":"madre","status":"pending"}')" '.count == 3'
	reply=$(call task.list '{"source":"web"}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("source")'
}

@test "task.list: paging with after and limit over 25 tasks" {
	ids=$(submit_many 25)
	seen=()
	after=
	pages=()
	for _ in 1 2 3 4; do
		if [[ -n $after ]]; then
			page=$(result task.list "{\"limit\":10,\"after\":\"$after\"}")
		else
			page=$(result task.list '{"limit":10}')
		fi
		n=$(jq .count <<<"$page")
		pages+=("$n")
		((n == 0)) && break
		mapfile -t got < <(jq -r '.tasks[].id' <<<"$page")
		seen+=("${got[@]}")
		after=${got[-1]}
	done
	equals "${pages[*]}" "10 10 5 0"
	equals "$(printf '%s\n' "${seen[@]}")" "$ids"
}

@test "task.list: limit defaults to 100 and is at most 1000" {
	submit_many 105 >/dev/null
	check "$(result task.list)" '.count == 100'
	check "$(result task.list '{"limit":1000}')" '.count == 105'
	check "$(result task.list '{"limit":3}')" '.count == 3'
	check_error "$(call task.list '{"limit":1001}')" -32602 vx11.InvalidParams 1
	check_error "$(call task.list '{"limit":0}')" -32602 vx11.InvalidParams 1
}

@test "task.get: the task with every field, and no daughters yet" {
	env=$(submit_queued echo '{"text":"say it","priority":"P2","source":"madre"}')
	tid=$(jq -r .response.task_id <<<"$env")
	cid=$(jq -r .correlation_id <<<"$env")
	got=$(result task.get "{\"task_id\":\"$tid\"}")
	check "$got" '.daughters == []'
	check "$got" '.task | .id == $t and .intent_id == $c and .source == "madre" and .priority == 2 and .status == "pending"
		and .task_type == "echo" and .description == "say it" and .current_retry == 0 and .max_retries == 1
		and .mutation_level == 0 and .next_attempt_at == null' --arg t "$tid" --arg c "$cid"
	check "$got" '.task.created_at == .task.updated_at and (.task.created_at | test("^[0-9-]{10}T[0-9:]{8}\\.[0-9]{6}Z$"))'
}

@test "task.get: unknown id -32002, missing or ill-typed id -32602" {
	check_error "$(call task.get '{"task_id":"01a20000-0000-7000-8000-000000000000"}')" -32002 vx11.NotFound 1
	reply=$(call task.get '{}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("task_id")'
	check_error "$(call task.get)" -32602 vx11.InvalidParams 1
	check_error "$(call task.get '{"task_id":null}')" -32602 vx11.InvalidParams 1
	check_error "$(call task.get '{"task_id":["x"]}')" -32602 vx11.InvalidParams 1
}

@test "task.cancel: a pending task ends cancelled and leaves the queue" {
	ids=$(submit_many 2)
	tid=$(head -n1 <<<"$ids")
	check "$(result daemon.status)" '.queue_depth == 2 and .counts.pending == 2 and .counts.cancelled == 0'

	check "$(result task.cancel "{\"task_id\":\"$tid\"}")" '. == {"status":"cancelled","task_id":$t,"cancelled_daughters_count":0}' --arg t "$tid"

	got=$(result task.get "{\"task_id\":\"$tid\"}")
	check "$got" '.task.status == "cancelled" and .task.updated_at >= .task.created_at'
	check "$(result daemon.status)" '.queue_depth == 1 and .counts.pending == 1 and .counts.cancelled == 1'
	# The other task is untouched.
	other=$(tail -n1 <<<"$ids")
	check "$(result task.get "{\"task_id\":\"$other\"}")" '.task.status == "pending"'
}

@test "task.cancel twice: -32003 Conflict, nothing changes" {
	tid=$(submit_queued noop | jq -r .response.task_id)
	result task.cancel "{\"task_id\":\"$tid\"}" >/dev/null
	reply=$(call task.cancel "{\"task_id\":\"$tid\"}")
	check_error "$reply" -32003 vx11.Conflict 1
	check "$reply" '.error.message | test("cancelled")'
	check "$(result daemon.status)" '.counts.cancelled == 1 and .queue_depth == 0'
}

@test "task.cancel: unknown id -32002, bad params -32602" {
	check_error "$(call task.cancel '{"task_id":"nope"}')" -32002 vx11.NotFound 1
	check_error "$(call task.cancel '{}')" -32602 vx11.InvalidParams 1
	check_error "$(call task.cancel '{"task_id":"x","force":true}')" -32602 vx11.InvalidParams 1
}

@test "daughter.list: none yet; the status filter is validated" {
	check "$(result daughter.list)" '. == {"count":0,"daughters":[]}'
	for s in spawning running exited failed expired killed; do
		check "$(result daughter.list "{\"status\":\"$s\"}")" '.count == 0'
	done
	reply=$(call daughter.list '{"status":"sleeping"}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("status")'
	check_error "$(call daughter.list '{"task_id":"x"}')" -32602 vx11.InvalidParams 1
}

@test "task.list with an empty status list is an error, not 'any status'" {
	reply=$(call task.list '{"status":[]}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("status")'
}

@test "a reply too large for the connection is an error reply, not a cut connection" {
	stop_daemon
	policy_file '.limits.max_output_bytes = 65536'
	start_daemon
	text=$(head -c 3000 /dev/zero | tr '\0' x)
	submit_many 40 noop "{\"text\":\"$text\"}" >/dev/null
	reply=$(call task.list '{"limit":1000}')
	check_error "$reply" -32004 vx11.Busy 1
	# A smaller page works on the same daemon.
	check "$(result task.list '{"limit":5}')" '.count == 5'
}
