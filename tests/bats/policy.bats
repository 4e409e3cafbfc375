#!/usr/bin/env bats
# The policy file: --check-policy, refusing to start on a bad file, and
# reloading (policy.reload and SIGHUP) with the old policy kept on error.

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

# check_policy_rejects JQ_FILTER KEY_PATH_REGEX: --check-policy refuses the base
# policy with FILTER applied, exit 1, naming the key path.
check_policy_rejects() {
	policy_file "$1" "$T/bad.json"
	run -1 "$VX11D" --check-policy --policy "$T/bad.json"
	if ! grep -Eq -- "$2" <<<"$output"; then
		echo "expected the message to name '$2': $output" >&2
		return 1
	fi
}

# Submit a spawner intent of TYPE; print its status (QUEUED or ERROR).
submit_status() {
	submit "{\"intent_type\":\"$1\",\"require\":{\"spawner\":true}}" | jq -r .status
}

@test "--check-policy: a good file is valid, exit 0" {
	policy_file
	run -0 "$VX11D" --check-policy --policy "$T/policy.json"
	[[ $output == *valid* ]]
	run -0 "$VX11D" --check-policy --policy "$VX11_SRCDIR/policy/default.json"
}

@test "--check-policy: bad files exit 1 with a message naming the key path" {
	check_policy_rejects '.bogus = 1' 'bogus'
	check_policy_rejects '.limits.max_queued = "lots"' 'limits\.max_queued'
	check_policy_rejects '.limits.max_line_bytes = 10' 'limits\.max_line_bytes'
	check_policy_rejects '.mode = "turbo"' 'mode'
	check_policy_rejects '.tasks.noop.limits = {"memory_max":"lots"}' 'tasks\.noop\.limits\.memory_max'
	check_policy_rejects '.tasks.noop.colour = "red"' 'tasks\.noop\.colour'
	check_policy_rejects '.tasks.broken = {"user":"dynamic"}' 'tasks\.broken'
	check_policy_rejects '.tasks.noop.command = "true"' 'tasks\.noop\.command'
	check_policy_rejects '.sources.web = {"priority":1}' 'sources\.web'
	check_policy_rejects '.defaults.backoff.base_seconds = 600' 'backoff\.base_seconds'
	check_policy_rejects '.tasks.noop.groups = ["no-such-group-vx11t"]' 'tasks\.noop\.groups'
}

@test "--check-policy: not JSON, or no file: exit 1" {
	printf '{"mode": "solo_madre",\n' >"$T/trunc.json"
	run -1 "$VX11D" --check-policy --policy "$T/trunc.json"
	[[ -n $output ]]
	run -1 "$VX11D" --check-policy --policy "$T/does-not-exist.json"
	[[ -n $output ]]
}

@test "the daemon refuses to start with a bad --policy, naming the key path" {
	policy_file '.limits.max_queued = -5'
	launch_daemon
	wait_exit "$DAEMON_PID" 100
	DAEMON_PID=
	[[ $DAEMON_STATUS -ne 0 ]]
	grep -q 'limits\.max_queued' "$T/vx11d.log"
	[[ ! -e $T/vx11.sock ]]
}

@test "policy.reload picks up a new task type" {
	start_daemon
	equals "$(submit_status extra)" ERROR
	policy_file '.tasks.extra = {"command":["/bin/true"]}'
	reply=$(call policy.reload)
	check "$reply" '.id == 1 and (.result | type == "object")'
	equals "$(submit_status extra)" QUEUED
	equals "$(submit_status noop)" QUEUED
}

@test "policy.reload applies new limits" {
	policy_file '.limits.max_running = 0'
	start_daemon
	submit_queued noop >/dev/null
	policy_file '.limits.max_queued = 1 | .limits.max_running = 0'
	result policy.reload >/dev/null
	check_error "$(call intent.submit '{"intent_type":"noop","require":{"spawner":true}}')" -32004 vx11.Busy 1
}

@test "SIGHUP reloads the policy" {
	start_daemon
	equals "$(submit_status extra)" ERROR
	policy_file '.tasks.extra = {"command":["/bin/true"]}'
	kill -HUP "$DAEMON_PID"
	for _ in $(seq 50); do
		[[ $(submit_status extra) == QUEUED ]] && break
		sleep 0.1
	done
	equals "$(submit_status extra)" QUEUED
	alive "$DAEMON_PID"
}

@test "a broken policy.reload keeps the old policy" {
	start_daemon
	policy_file '.tasks.noop.limits = {"memory_max":"lots"} | .tasks.extra = {"command":["/bin/true"]}'
	reply=$(call policy.reload)
	check_error "$reply" -32603 vx11.Internal 1
	check "$reply" '.error.message | test("tasks\\.noop\\.limits\\.memory_max")'
	# The old policy: noop still works, the new task type does not exist.
	equals "$(submit_status noop)" QUEUED
	equals "$(submit_status extra)" ERROR
	check "$(result daemon.status)" '.pid == $p' --argjson p "$DAEMON_PID"
}

@test "a broken policy on SIGHUP keeps the old policy and the daemon" {
	start_daemon
	printf '{ not json' >"$T/policy.json"
	before=$(wc -l <"$T/vx11d.log")
	kill -HUP "$DAEMON_PID"
	# The refusal is logged: wait for it.
	for _ in $(seq 50); do
		grep -q 'policy' <(tail -n +$((before + 1)) "$T/vx11d.log") && break
		sleep 0.1
	done
	grep -q 'policy' <(tail -n +$((before + 1)) "$T/vx11d.log")
	alive "$DAEMON_PID"
	equals "$(submit_status noop)" QUEUED
}

@test "a policy file removed before reload: error, old policy kept" {
	start_daemon
	rm "$T/policy.json"
	check_error "$(call policy.reload)" -32603 vx11.Internal 1
	equals "$(submit_status noop)" QUEUED
}

# The system file's directory is --with-confdir's; tests/host-state can fake
# both kinds of host only when it lies under /etc (distcheck puts it elsewhere).
confdir_in_etc() {
	[[ $VX11_CONFDIR == /etc/* ]] && [[ $(id -u) -eq 0 ]] && unshare --mount true 2>/dev/null
}

@test "without --policy and no system file: the bundled policy (echo, noop, sleep)" {
	if confdir_in_etc; then
		VX11D_WRAP="$VX11_SRCDIR/tests/host-state fresh --"
	else
		[[ ! -e $VX11_CONFDIR/policy.json ]] || skip "$VX11_CONFDIR/policy.json exists and cannot be hidden"
	fi
	VX11D_WRAP=$VX11D_WRAP VX11_NO_POLICY_ARG=1 start_daemon
	for t in echo noop sleep; do
		equals "$(submit_status "$t")" QUEUED
	done
	equals "$(submit_status extra)" ERROR
	check "$(result daemon.status)" '.policy_mode == "solo_madre" and .policy == "(bundled)"'
}

@test "without --policy, the system file is used when it exists" {
	confdir_in_etc || skip "the configuration directory $VX11_CONFDIR is not under /etc"
	policy_file '.tasks.marker = {"command": ["/bin/true"]}' "$T/system.json"
	VX11D_WRAP="$VX11_SRCDIR/tests/host-state used --policy $T/system.json --" VX11_NO_POLICY_ARG=1 start_daemon
	equals "$(submit_status marker)" QUEUED
	check "$(result daemon.status)" ".policy == \"$VX11_CONFDIR/policy.json\""
}

@test "max_running 0 holds the queue; a reload that raises it starts the work" {
	policy_file '.limits.max_running = 0'
	start_daemon
	tid=$(submit_queued noop | jq -r .response.task_id)
	sleep 0.3
	check "$(call task.get "{\"task_id\":\"$tid\"}")" '.result.task.status == "pending" and .result.daughters == []'
	policy_file '.limits.max_running = 1'
	result policy.reload >/dev/null
	for _ in $(seq 50); do
		[[ $(call task.get "{\"task_id\":\"$tid\"}" | jq -r .result.task.status) == completed ]] && break
		sleep 0.1
	done
	check "$(call task.get "{\"task_id\":\"$tid\"}")" '.result.task.status == "completed" and .result.daughters[0].attempts[0].reason == "exited"'
}
