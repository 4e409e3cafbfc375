#!/usr/bin/env bats
# What a new user reaches for first, through the real daemon and vx11ctl:
# payload.ttl (the seed's spelling of ttl_seconds), the bundled "analysis"
# task type, spawn --name and --wait, the task types one may submit
# (daemon.status task_types, vx11ctl types) and ad-hoc commands (vx11ctl run,
# task types with "command": "caller").

load helpers

setup() {
	vx11_setup
	[[ -x $VX11CTL ]] || skip "vx11ctl is not built ($VX11CTL)"
}

teardown() {
	vx11_teardown
}

ctl() {
	"$VX11CTL" "$@"
}

# ---------------------------------------------------------------------------
# payload.ttl

@test "payload.ttl sets the task's TTL like ttl_seconds, with its bounds and errors" {
	policy_file '.tasks.sleepy = {"command": ["/bin/sleep", "30"], "max_retries": 0}'
	start_daemon

	# The policy's TTL is 30 s; payload.ttl 1 makes the attempt expire.
	run -5 ctl submit sleepy --spawner --payload '{"ttl": 1}' --wait --timeout 60
	[[ $output == *"status: EXPIRED"* ]]
	# Both spellings, the same value: fine, and the same effect.
	run -5 ctl submit sleepy --spawner --payload '{"ttl": 1}' --ttl 1 --wait --timeout 60

	# Both, different: refused, saying which, and nothing is queued.
	before=$(result task.list '{}' | jq '.count')
	reply=$(call intent.submit '{"intent_type":"sleepy","require":{"spawner":true},"payload":{"ttl":5},"ttl_seconds":6}')
	check_error "$reply" -32602 vx11.InvalidParams
	check "$reply" '.error.message | test("payload.ttl \\(5\\) and ttl_seconds \\(6\\) differ")'
	# The bounds and the type of ttl_seconds.
	for bad in 0 -3 2592001; do
		reply=$(call intent.submit "{\"intent_type\":\"sleepy\",\"require\":{\"spawner\":true},\"payload\":{\"ttl\":$bad}}")
		check_error "$reply" -32602 vx11.InvalidParams
		check "$reply" '.error.message == "invalid params: payload.ttl: must be between 1 and 2592000"'
	done
	reply=$(call intent.submit '{"intent_type":"sleepy","require":{"spawner":true},"payload":{"ttl":"10"}}')
	check_error "$reply" -32602 vx11.InvalidParams
	check "$reply" '.error.message | test("payload.ttl: expected an integer")'
	reply=$(call intent.submit '{"intent_type":"x","ttl_seconds":0}')
	check "$reply" '.error.message == "invalid params: ttl_seconds: must be between 1 and 2592000"'
	check "$(result task.list '{}')" '.count == $n' --argjson n "$before"
}

# ---------------------------------------------------------------------------
# spawn --name, --wait

@test "spawn --name names the daughter, a bad name is refused, and the default is the program's" {
	start_daemon
	run -0 ctl spawn --name backup-db.v2 /bin/true
	task=$(awk '/^task_id:/ { print $2 }' <<<"$output")
	# The daughter row and the listing carry the name, not "daughter.spawn".
	check "$(result task.get "{\"task_id\":\"$task\"}")" '.daughters[0].name == "backup-db.v2"'
	run -0 ctl daughters
	[[ $output == *backup-db.v2* ]]

	# Without --name: the program's file name, made a valid name.
	cp /bin/true "$T/odd name!"
	chmod 0755 "$T/odd name!"
	run -0 ctl spawn "$T/odd name!"
	task=$(awk '/^task_id:/ { print $2 }' <<<"$output")
	check "$(result task.get "{\"task_id\":\"$task\"}")" '.daughters[0].name == "odd_name_"'

	# Blanks, control characters, too long: -32602 saying what a name is.
	for bad in "two words" $'line\nbreak' "$(printf 'x%.0s' {1..65})" ""; do
		run -1 --separate-stderr ctl spawn --name "$bad" /bin/true
		[[ $stderr == *"name: "* ]]
	done
	reply=$(call daughter.spawn '{"name":"a b","cmd":["/bin/true"]}')
	check_error "$reply" -32602 vx11.InvalidParams
	check "$reply" '.error.message | test("invalid params: name: expected 1 to 64 of A-Z a-z 0-9 _ \\. \\+ @ : -")'
	# Nothing was made for them: two spawns, two tasks.
	check "$(result task.list '{}')" '.count == 2'
}

@test "spawn --wait follows the task to its end: output, result and exit status" {
	start_daemon
	run -0 ctl spawn --wait --name greeter /bin/sh -c 'echo hello from $0' greeter
	[[ $output == *"task_id: "* ]]
	[[ $output == *"status: DONE"* ]]
	[[ $output == *"hello from greeter"* ]]
	# A failure is exit 4, as for submit --wait; a timeout 7.
	run -4 ctl spawn --wait /bin/sh -c 'exit 3'
	[[ $output == *"status: ERROR"* && $output == *"exit_code: 3"* ]]
	run -7 ctl spawn --wait --timeout 1 /bin/sleep 20
	# --json: the reply, then the result, both JSON.
	run -0 ctl --json spawn --wait /bin/echo json
	check "$(jq -s -c . <<<"$output")" 'length == 2 and .[0].status == "spawning" and .[1].status == "DONE"
		and (.[1].result.output_tail | test("json"))'
	run -2 --separate-stderr ctl spawn --timeout 3 /bin/true
	[[ $stderr == *"--timeout goes with --wait"* ]]
}

# ---------------------------------------------------------------------------
# The task types one may submit: daemon.status task_types, vx11ctl types

@test "daemon.status task_types: the types the caller may submit, with TTL, bounds, retries and limits" {
	require_root
	getent group adm >/dev/null || skip "no group adm"
	policy_file '.tasks.echo += {"ttl_seconds": 45, "max_ttl_seconds": 120, "max_retries": 2,
		"limits": {"memory_max": "256M", "pids_max": 64, "cpu_max": "50%"}, "network": false}
		| .tasks.staff = {"command": ["/bin/true"], "groups": ["adm"]}'
	start_daemon

	# root (an admin) sees every type, sorted by name.
	types=$(result daemon.status | jq -c .task_types)
	check "$types" '[.[].name] == ["echo", "fails", "noop", "staff"]'
	check "$types" '.[0] | .ttl_seconds == 45 and .max_ttl_seconds == 120 and .max_retries == 2
		and .limits.memory_max == 268435456 and .limits.pids_max == 64 and .limits.cpu_max == 50
		and .limits.nofile == null and .network == false and .user == "dynamic" and .seccomp == "default"
		and .heartbeat_seconds == 0 and .backoff.base_seconds == 1 and .mutations == 0'
	# Without a bound of its own, a type takes the protocol's: 30 days.
	check "$types" '.[2] | .name == "noop" and .max_ttl_seconds == 2592000 and .limits.memory_max == null'

	# A plain submitter does not see the type of a group it is not in.
	install -m 0755 "$VX11CTL" "$T/vx11ctl"
	run -0 as_submitter_nobody "$T/vx11ctl" --json types
	check "$output" '[.[].name] == ["echo", "fails", "noop"]'

	# vx11ctl types: the table; status names them.
	run -0 ctl types
	[[ ${lines[0]} =~ ^NAME\ +COMMAND\ +TTL\ +MAX_TTL\ +RETRIES\ +MEMORY\ +PIDS\ +CPU\ +NETWORK\ +USER$ ]]
	[[ ${lines[1]} =~ ^echo\ +fixed\ +45s\ +120s\ +2\ +256M\ +64\ +50%\ +loopback\ +dynamic$ ]]
	[[ ${lines[3]} =~ ^noop\ +fixed\ +30s\ +2592000s\ +1\ +-\ +-\ +-\ +host\ +dynamic$ ]]
	run -0 ctl status
	[[ $output == *"task_types: echo, fails, noop, staff (see 'vx11ctl types')"* ]]
}

@test "max_ttl_seconds bounds the TTL a caller asks for (ttl_seconds and payload.ttl), not the policy's" {
	policy_file '.tasks.echo += {"ttl_seconds": 200, "max_ttl_seconds": 60}'
	start_daemon
	reply=$(call intent.submit '{"intent_type":"echo","require":{"spawner":true},"ttl_seconds":61}')
	check_error "$reply" -32602 vx11.InvalidParams
	check "$reply" '.error.message == "invalid params: ttl_seconds: 61 seconds is more than task type echo allows (max_ttl_seconds 60; see '"'vx11ctl types'"')"'
	reply=$(call intent.submit '{"intent_type":"echo","require":{"spawner":true},"payload":{"ttl":90}}')
	check "$reply" '.error.message | startswith("invalid params: payload.ttl: 90 seconds is more than task type echo allows")'
	# Refused, so nothing queued; the refusal is in the audit log.
	check "$(result task.list '{}')" '.count == 0'
	check "$(result audit.list '{}')" '[.entries[] | select(.error == "invalid_params")] | length == 2'
	# Up to the bound, and without asking (the policy's 200 s), it is queued.
	check "$(submit '{"intent_type":"echo","require":{"spawner":true},"ttl_seconds":60}')" '.status == "QUEUED"'
	check "$(submit '{"intent_type":"echo","require":{"spawner":true}}')" '.status == "QUEUED"'
	jq -c '.tasks.echo.max_ttl_seconds = 0' "$T/policy.json" >"$T/bad.json"
	run -1 "$VX11D" --check-policy --policy "$T/bad.json"
	[[ $output == *"tasks.echo.max_ttl_seconds"* ]]
}
