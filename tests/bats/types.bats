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
