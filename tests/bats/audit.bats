#!/usr/bin/env bats
# The audit trail: every intent.submit, accepted or refused, is a row of
# intents_log (audit.list, admins only) and one structured log entry.

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

# The stderr log line of one intent (the daemon runs with --log-target stderr).
log_line_of() {
	grep -F "VX11_CORRELATION_ID=$1" "$T/vx11d.log" | grep -F "VX11_INTENT_TYPE=" || true
}

@test "accepted and refused intents are audit rows, oldest first" {
	start_daemon
	done_=$(submit '{"intent_type":"hello"}')
	queued=$(submit_queued noop '{"source":"madre"}')
	off=$(submit '{"intent_type":"hello","require":{"switch":true}}')
	unknown=$(submit '{"intent_type":"nope","require":{"spawner":true}}')

	audit=$(result audit.list)
	check "$audit" '.count == 4 and (.entries | length) == 4'
	equals "$(jq -r '.entries[].correlation_id' <<<"$audit")" "$(for e in "$done_" "$queued" "$off" "$unknown"; do jq -r .correlation_id <<<"$e"; done)"

	check "$audit" '.entries[0] | .status == "DONE" and .error == null and .task_id == null and .intent_type == "hello"
		and .mode == "MADRE" and .provider == "fallback_local" and .uid == 0 and .source == "operator"
		and .require_spawner == false and .require_switch == false'
	check "$audit" '.entries[1] | .status == "QUEUED" and .error == null and .task_id == $t and .source == "madre"
		and .require_spawner == true and .provider == "spawner" and .priority == 2' --arg t "$(jq -r .response.task_id <<<"$queued")"
	check "$audit" '.entries[2] | .status == "ERROR" and .error == "off_by_policy" and .task_id == null and .require_switch == true'
	check "$audit" '.entries[3] | .status == "ERROR" and .error == "unknown_task" and .task_id == null and .intent_type == "nope"'
	check "$audit" 'all(.entries[]; .created_at | test("^[0-9-]{10}T[0-9:]{8}\\.[0-9]{6}Z$"))'
}

@test "a refusal by JSON-RPC error (queue full) is an audit row too" {
	policy_file '.limits.max_queued = 1'
	start_daemon
	submit_queued noop >/dev/null
	reply=$(call intent.submit '{"intent_type":"noop","require":{"spawner":true}}')
	check_error "$reply" -32004 vx11.Busy 1
	audit=$(result audit.list)
	check "$audit" '.count == 2 and .entries[1].status == "ERROR" and .entries[1].error == "queue_full" and .entries[1].task_id == null'
}

@test "each intent is one log line with MESSAGE_ID and the VX11_ fields" {
	start_daemon
	done_=$(submit '{"intent_type":"hello","source":"shub"}' | jq -r .correlation_id)
	queued=$(submit_queued noop)
	qcid=$(jq -r .correlation_id <<<"$queued")
	qtid=$(jq -r .response.task_id <<<"$queued")
	refused=$(submit '{"intent_type":"hello","require":{"switch":true}}' | jq -r .correlation_id)

	line=$(log_line_of "$done_")
	equals "$(count_lines "$line")" 1
	[[ $line =~ MESSAGE_ID=[0-9a-f]{32} ]]
	[[ $line == *" VX11_SOURCE=shub"* && $line == *" VX11_UID=0"* ]]
	[[ $line != *VX11_TASK_ID=* ]]

	line=$(log_line_of "$qcid")
	equals "$(count_lines "$line")" 1
	[[ $line =~ MESSAGE_ID=[0-9a-f]{32} ]]
	[[ $line == *" VX11_TASK_ID=$qtid"* && $line == *" VX11_SOURCE=operator"* && $line == *" VX11_UID=0"* ]]
	accepted_id=$(grep -o 'MESSAGE_ID=[0-9a-f]*' <<<"$line")

	line=$(log_line_of "$refused")
	equals "$(count_lines "$line")" 1
	[[ $line == *" VX11_UID=0"* && $line == *"VX11_ERROR=off_by_policy"* ]]
	refused_id=$(grep -o 'MESSAGE_ID=[0-9a-f]*' <<<"$line")
	# Refusals are told apart from acceptances by their MESSAGE_ID.
	[[ $refused_id != "$accepted_id" ]]
}

@test "audit.list paging: limit and after" {
	start_daemon
	for i in 1 2 3 4 5; do
		submit "{\"intent_type\":\"i$i\"}" >/dev/null
	done
	page=$(result audit.list '{"limit":2}')
	check "$page" '.count == 2 and [.entries[].intent_type] == ["i1","i2"]'
	after=$(jq -r '.entries[-1].correlation_id' <<<"$page")
	page=$(result audit.list "{\"limit\":2,\"after\":\"$after\"}")
	check "$page" '.count == 2 and [.entries[].intent_type] == ["i3","i4"]'
	after=$(jq -r '.entries[-1].correlation_id' <<<"$page")
	page=$(result audit.list "{\"after\":\"$after\"}")
	check "$page" '.count == 1 and [.entries[].intent_type] == ["i5"]'
	check_error "$(call audit.list '{"limit":0}')" -32602 vx11.InvalidParams 1
	check_error "$(call audit.list '{"uid":0}')" -32602 vx11.InvalidParams 1
}

@test "audit.list from a plain submitter: -32001, and its own submissions are still audited" {
	require_root
	start_daemon
	reply=$(as_submitter_nobody socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET" <<<"$(req audit.list)")
	check_error "$reply" -32001 vx11.PermissionDenied 1
	check "$reply" '.error.message | test("audit.list")'

	nobody_uid=$(id -u nobody)
	env=$(as_submitter_nobody socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET" <<<"$(req intent.submit '{"intent_type":"hello"}')" | jq -c .result)
	cid=$(jq -r .correlation_id <<<"$env")
	check "$(result audit.list)" '.entries[-1].correlation_id == $c and .entries[-1].uid == $u' --arg c "$cid" --argjson u "$nobody_uid"
	[[ $(log_line_of "$cid") == *" VX11_UID=$nobody_uid"* ]]
}

@test "a newline in client text cannot forge a log line" {
	start_daemon
	env=$(submit '{"intent_type":"x\nvx11d: intent FORGED from uid 0: DONE MESSAGE_ID=deadbeef"}')
	cid=$(jq -r .correlation_id <<<"$env")
	# The whole intent stays one line, and no line starts with the forgery.
	equals "$(grep -c -F "VX11_CORRELATION_ID=$cid" "$T/vx11d.log")" 1
	run grep -E '^vx11d: intent FORGED' "$T/vx11d.log"
	[ "$status" -ne 0 ]
}
