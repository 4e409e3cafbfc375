#!/usr/bin/env bats
# Housekeeping through the real daemon and vx11ctl: pausing and resuming the
# run queue (queue.pause, queue.resume; kept across restarts, shown by
# status) and tasks that wait for others (intent.submit after/after_any,
# submit --after, dependency_failed).

load helpers

setup() {
	vx11_setup
	[[ -x $VX11CTL ]] || skip "vx11ctl is not built ($VX11CTL)"
	# sleeper runs long enough to be seen running, however loaded the machine.
	policy_file '.tasks.sleeper = {"command": ["/bin/sleep", "2"]}'
}

teardown() {
	vx11_teardown
}

ctl() {
	"$VX11CTL" "$@"
}

# ctl_submit TYPE [OPTIONS...]: submit a task with vx11ctl; print its task id.
ctl_submit() {
	local type=$1 out
	shift
	out=$(ctl --json submit "$type" --spawner "$@") || return 1
	check "$out" '.status == "QUEUED"' || return 1
	jq -r .response.task_id <<<"$out"
}

restart_daemon() {
	stop_daemon
	start_daemon
}

# ---------------------------------------------------------------------------
# 1. Pause and resume

@test "pause: nothing new starts, a running daughter finishes, kept across a restart; resume runs what waited" {
	start_daemon
	running=$(ctl_submit sleeper)
	wait_status "$running" running >/dev/null

	run -0 ctl pause
	equals "$output" "paused: everything"
	check "$(result daemon.status)" '.paused == {"all": true, "task_types": []}'
	run -0 ctl status
	[[ $output == *"paused: everything"* ]]

	waiting=$(ctl_submit noop)
	# The daughter that was running goes on to its end.
	wait_status "$running" completed 200 >/dev/null
	check "$(task_get "$waiting")" '.task.status == "pending" and .daughters == []'

	restart_daemon
	check "$(result daemon.status)" '.paused.all == true'
	run -0 ctl status
	[[ $output == *"paused: everything"* ]]
	sleep 1
	check "$(task_get "$waiting")" '.task.status == "pending" and .daughters == []'

	run -0 ctl resume
	equals "$output" "paused: nothing"
	wait_status "$waiting" completed >/dev/null
	check "$(result daemon.status)" '.paused == {"all": false, "task_types": []}'
	run -0 ctl status
	[[ $output == *"paused: nothing"* ]]
}

@test "pause --type: only that type waits; others overtake it; resume --type releases it" {
	start_daemon
	run -0 ctl pause --type echo
	equals "$output" "paused: task type echo"
	held=$(ctl_submit echo)
	# Submitted after it at the same priority: it runs only because echo is paused.
	free=$(ctl_submit noop)
	wait_status "$free" completed >/dev/null
	check "$(task_get "$held")" '.task.status == "pending" and .daughters == []'

	run -0 ctl pause --type noop
	equals "$output" "paused: task types echo, noop"
	run -0 ctl --json status
	check "$output" '.paused == {"all": false, "task_types": ["echo", "noop"]}'

	run -0 ctl resume --type echo
	equals "$output" "paused: task type noop"
	wait_status "$held" completed >/dev/null
	# noop stays paused, across a restart too.
	restart_daemon
	check "$(result daemon.status)" '.paused == {"all": false, "task_types": ["noop"]}'
	third=$(ctl_submit noop)
	run -0 ctl resume
	wait_status "$third" completed >/dev/null
}

@test "pause while the whole queue is paused: resuming one type is not enough" {
	start_daemon
	ctl pause >/dev/null
	ctl pause --type noop >/dev/null
	id=$(ctl_submit noop)
	run -0 ctl resume --type noop
	equals "$output" "paused: everything"
	check "$(result daemon.status)" '.paused == {"all": true, "task_types": []}'
	sleep 1
	check "$(task_get "$id")" '.task.status == "pending"'
	ctl resume >/dev/null
	wait_status "$id" completed >/dev/null
}

@test "queue.pause and queue.resume: admins only, bad params refused, --json, audited" {
	require_root
	start_daemon
	reply=$(as_submitter_nobody socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET" <<<"$(req queue.pause)")
	check_error "$reply" -32001 vx11.PermissionDenied 1
	reply=$(as_submitter_nobody socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET" <<<"$(req queue.resume)")
	check_error "$reply" -32001 vx11.PermissionDenied 1
	run -1 as_submitter_nobody "$VX11CTL" pause
	[[ $output == *"permission denied"* ]]
	check "$(result daemon.status)" '.paused.all == false'

	reply=$(call queue.pause '{"task_type":"nosuch"}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("nosuch")'
	check_error "$(call queue.pause '{"type":"noop"}')" -32602 vx11.InvalidParams 1
	check_error "$(call queue.pause '{"task_type":""}')" -32602 vx11.InvalidParams 1
	check_error "$(call queue.resume '{"task_type":7}')" -32602 vx11.InvalidParams 1
	check "$(result daemon.status)" '.paused == {"all": false, "task_types": []}'

	run -0 ctl --json pause --type noop
	check "$output" '.paused == {"all": false, "task_types": ["noop"]}'
	run -0 ctl --json resume
	check "$output" '.paused == {"all": false, "task_types": []}'
	grep -q "queue paused for task type noop by uid 0" "$T/vx11d.log"
	grep -q "queue resumed by uid 0" "$T/vx11d.log"
}

@test "limits.max_queued counts the tasks a pause or a dependency holds out of the run queue" {
	policy_file '.limits.max_queued = 2'
	start_daemon
	ctl pause --type noop >/dev/null
	held=$(ctl_submit noop)
	waiting=$(ctl_submit echo --after "$held")
	# Both popped by now: one held for the pause, one dropped until the other ends.
	wait_for 100 bash -c "[[ \$(\"$VX11CTL\" --json status | jq .queue_depth) == 0 ]]"
	check_error "$(call intent.submit '{"intent_type":"noop","require":{"spawner":true}}')" -32004 vx11.Busy 1
	ctl resume >/dev/null
	wait_status "$waiting" completed >/dev/null
}

# ---------------------------------------------------------------------------
# 2. Dependencies

@test "submit --after: the task waits until the other completes, shown by task and tasks" {
	start_daemon
	first=$(ctl_submit sleeper)
	second=$(ctl_submit noop --after "${first:0:13}")
	wait_status "$first" running >/dev/null

	check "$(task_get "$second")" '.task.status == "pending" and .task.after == [$a] and .task.after_any == false
		and .task.waiting_on == [$a] and .daughters == []' --arg a "$first"
	run -0 ctl task "$second"
	[[ $output == *"after: $first"* ]]
	[[ $output == *"waiting_on: $first"* ]]
	run -0 ctl tasks --full-ids
	grep -q "^$second  *pending (waits for 1) " <<<"$output"
	grep -q "^$first  *running " <<<"$output"

	got=$(wait_status "$second" completed 200)
	done_first=$(task_get "$first")
	check "$done_first" '.task.status == "completed"'
	# It started only once the other had ended.
	ended=$(jq -r .task.ended_at <<<"$done_first")
	started=$(jq -r .task.started_at <<<"$got")
	[[ $started > $ended || $started == "$ended" ]]
	check "$got" '.task.after == [$a] and .task.waiting_on == []' --arg a "$first"
	run -0 ctl task "$second"
	[[ $output == *"after: $first"* ]]
	[[ $output != *"waiting_on"* ]]
	# A task without dependencies says nothing of them.
	run -0 ctl task "$first"
	[[ $output != *"after:"* ]]
}

@test "a dependency that fails: the dependent fails with dependency_failed, its own dependents too; --after-any runs anyway" {
	start_daemon
	ctl pause >/dev/null
	bad=$(ctl_submit fails)
	dep=$(ctl_submit noop --after "$bad")
	chain=$(ctl_submit noop --after "$dep")
	any=$(ctl_submit noop --after "$bad" --after-any)
	check "$(task_get "$any")" '.task.after == [$b] and .task.after_any == true' --arg b "$bad"
	run -0 ctl task "$any"
	[[ $output == *"after: $bad (any end)"* ]]
	ctl resume >/dev/null

	wait_status "$bad" failed >/dev/null
	got=$(wait_status "$dep" failed)
	check "$got" '.daughters == [] and .task.waiting_on == []'
	res=$(result result.get "$(jq -cn --arg id "$(jq -r .task.intent_id <<<"$got")" '{correlation_id:$id}')")
	check "$res" '.status == "ERROR" and .result.reason == "dependency_failed" and .result.after == $b
		and .result.after_status == "failed"' --arg b "$bad"
	got=$(wait_status "$chain" failed)
	res=$(result result.get "$(jq -cn --arg id "$(jq -r .task.intent_id <<<"$got")" '{correlation_id:$id}')")
	check "$res" '.result.reason == "dependency_failed" and .result.after == $d' --arg d "$dep"
	wait_status "$any" completed >/dev/null

	# submit --wait says how it ended, with its exit status.
	run -4 ctl submit noop --spawner --after "$bad" --wait --timeout 60
	[[ $output == *"dependency_failed"* ]]
	grep -q "task $dep ended: dependency_failed: task $bad ended failed" "$T/vx11d.log"
}

@test "a cancelled dependency fails its dependent; one already completed lets it run at once" {
	start_daemon
	ctl pause >/dev/null
	a=$(ctl_submit noop)
	b=$(ctl_submit noop --after "$a")
	ctl cancel "$a" >/dev/null
	ctl resume >/dev/null
	got=$(wait_status "$b" failed)
	res=$(result result.get "$(jq -cn --arg id "$(jq -r .task.intent_id <<<"$got")" '{correlation_id:$id}')")
	check "$res" '.result.reason == "dependency_failed" and .result.after_status == "cancelled"'

	c=$(ctl_submit noop)
	wait_status "$c" completed >/dev/null
	d=$(ctl_submit noop --after "$c" --after "$c")
	check "$(task_get "$d")" '.task.after == [$c]' --arg c "$c"
	wait_status "$d" completed >/dev/null
}

@test "dependencies are kept across a restart" {
	start_daemon
	ctl pause >/dev/null
	a=$(ctl_submit noop)
	b=$(ctl_submit noop --after "$a")
	restart_daemon
	check "$(task_get "$b")" '.task.status == "pending" and .task.waiting_on == [$a]' --arg a "$a"
	ctl resume >/dev/null
	wait_status "$b" completed >/dev/null
	check "$(task_get "$a")" '.task.status == "completed"'

	# Across a crash, with the dependency failing after it.
	ctl pause >/dev/null
	f=$(ctl_submit fails)
	g=$(ctl_submit noop --after "$f")
	kill9_daemon
	start_daemon
	ctl resume >/dev/null
	wait_status "$g" failed >/dev/null
}

@test "intent.submit after: unknown ids refused naming them, someone else's is unknown, bad shapes refused" {
	require_root
	start_daemon
	ctl pause >/dev/null
	mine=$(ctl_submit noop)
	env=$(submit_queued noop)
	corr=$(jq -r .correlation_id <<<"$env")
	task_of_corr=$(jq -r .response.task_id <<<"$env")

	reply=$(call intent.submit '{"intent_type":"noop","require":{"spawner":true},"after":["0190a1b2-0000-7000-8000-000000000000"]}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("0190a1b2-0000-7000-8000-000000000000")'
	check_error "$(call intent.submit '{"intent_type":"noop","require":{"spawner":true},"after":[1]}')" -32602 vx11.InvalidParams 1
	check_error "$(call intent.submit '{"intent_type":"noop","require":{"spawner":true},"after_any":true}')" -32602 vx11.InvalidParams 1
	check_error "$(call intent.submit "$(jq -cn --arg a "$mine" '{intent_type:"noop",after:[$a]}')")" -32602 vx11.InvalidParams 1
	check_error "$(call intent.submit "$(jq -cn --arg a "$mine" '{intent_type:"noop",require:{spawner:true},after:[$a],after_any:"yes"}')")" -32602 vx11.InvalidParams 1
	# Nothing was made by a refusal.
	check "$(result task.list '{"total":true}')" '.total == 2'

	# A string or an array; a correlation id names its task.
	t=$(result intent.submit "$(jq -cn --arg a "$corr" '{intent_type:"noop",require:{spawner:true},after:$a}')" | jq -r .response.task_id)
	check "$(task_get "$t")" '.task.after == [$x]' --arg x "$task_of_corr"

	# A plain submitter may only wait for tasks it may see.
	reply=$(as_submitter_nobody socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET" <<<"$(req intent.submit "$(jq -cn --arg a "$mine" '{intent_type:"noop",require:{spawner:true},after:[$a]}')")")
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test($a)' --arg a "$mine"

	# vx11ctl: --after needs --spawner, --after-any needs --after, an unknown start is unknown.
	run -2 ctl submit noop --after "$mine"
	[[ $output == *"--spawner"* ]]
	run -2 ctl submit noop --spawner --after-any
	[[ $output == *"--after"* ]]
	run -1 ctl submit noop --spawner --after ffffffff
	check "$(result task.list '{"total":true}')" '.total == 3'
}

# ---------------------------------------------------------------------------
# 3. Retention and prune

# output_files TASK_ID: the output files of its attempts, one a line.
output_files() {
	local a
	for a in $(task_get "$1" | jq -r '.daughters[].attempts[].id'); do
		ls "$T/state/output/$a".* 2>/dev/null || true
	done
}

@test "vx11ctl prune: finished tasks go with their output files; pending and running stay; the audit log stays" {
	# Running for the whole test however loaded the machine (a 2 s sleeper
	# could end, and be pruned, before the second prune); cancelled at the end.
	policy_file '.tasks.sleeper = {"command": ["/bin/sleep", "120"]}'
	start_daemon
	done1=$(ctl_submit echo --text "kept in a file")
	wait_status "$done1" completed >/dev/null
	files=$(output_files "$done1")
	[[ -n $files ]]
	bad=$(ctl_submit fails)
	bad_intent=$(wait_status "$bad" failed | jq -r .task.intent_id)
	running=$(ctl_submit sleeper)
	ctl pause --type noop >/dev/null
	pending=$(ctl_submit noop)
	wait_status "$running" running >/dev/null

	# --status: only those.
	run -0 ctl prune --status failed
	equals "$output" "pruned 1 task (0 output files)"
	check "$(call task.get "$(jq -cn --arg id "$bad" '{task_id:$id}')")" '.error.code == -32002'
	# Its intent is kept: result.get says where the task went.
	reply=$(call result.get "$(jq -cn --arg id "$bad_intent" '{correlation_id:$id}')")
	check_error "$reply" -32002 vx11.NotFound 1
	check "$reply" '.error.message | test("removed after it ended")'
	check "$(task_get "$done1")" '.task.status == "completed"'

	run -0 ctl --json prune --older-than 1h
	check "$output" '.pruned == 0 and .output_files == 0'
	run -0 ctl prune
	[[ $output == "pruned 1 task ("*" output file"*")" ]]
	check "$(call task.get "$(jq -cn --arg id "$done1" '{task_id:$id}')")" '.error.code == -32002'
	for f in $files; do
		[[ ! -e $f ]]
	done
	check "$(task_get "$running")" '.task.status == "running"'
	check "$(task_get "$pending")" '.task.status == "pending"'
	check "$(result daemon.status)" '.counts.completed == 0 and .counts.failed == 0'
	# Their intents stay in the audit log, and say what they were.
	check "$(result audit.list '{"limit":100}')" '[.entries[].task_id] | index($a) != null and index($b) != null' \
		--arg a "$done1" --arg b "$bad"
	grep -q "uid 0 pruned 1 finished tasks" "$T/vx11d.log"

	ctl resume >/dev/null
	wait_status "$pending" completed >/dev/null
	ctl cancel "$running" >/dev/null
	wait_status "$running" cancelled >/dev/null
}

@test "task.prune: admins only; bad params refused with what to do" {
	require_root
	start_daemon
	id=$(ctl_submit noop)
	wait_status "$id" completed >/dev/null
	reply=$(as_submitter_nobody socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET" <<<"$(req task.prune)")
	check_error "$reply" -32001 vx11.PermissionDenied 1
	run -1 as_submitter_nobody "$VX11CTL" prune
	[[ $output == *"permission denied"* ]]

	reply=$(call task.prune '{"status":"running"}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("completed, failed, expired or cancelled")'
	check_error "$(call task.prune '{"status":["completed","pending"]}')" -32602 vx11.InvalidParams 1
	check_error "$(call task.prune '{"before":"yesterday"}')" -32602 vx11.InvalidParams 1
	check_error "$(call task.prune '{"limit":0}')" -32602 vx11.InvalidParams 1
	check_error "$(call task.prune '{"older_than":3600}')" -32602 vx11.InvalidParams 1
	run -2 ctl prune --older-than soon
	[[ $output == *"--older-than"* ]]
	# Nothing went.
	check "$(task_get "$id")" '.task.status == "completed"'
	# The newest task is never removed (its seq must stay the highest).
	run -0 ctl prune
	equals "$output" "pruned 0 tasks (0 output files)"
}

@test "policy retention: the daemon removes finished tasks and audit rows on its own, as the policy says" {
	policy_file '.tasks.sleeper = {"command": ["/bin/sleep", "2"]}
		| .retention = {"interval_seconds": 1, "completed": {"max_count": 1}, "audit": {"max_count": 2}}'
	start_daemon
	for i in 1 2 3; do
		submit "{\"intent_type\":\"i$i\"}" >/dev/null
	done
	ids=()
	files=
	for i in 1 2 3 4; do
		ids+=("$(ctl_submit echo --text "n$i")")
		wait_status "${ids[-1]}" completed >/dev/null
		# Read while it is the newest completed one, which the policy keeps.
		((i > 1)) || files=$(output_files "${ids[0]}")
	done
	[[ -n $files ]]
	wait_for 200 bash -c "[[ \$(\"$VX11CTL\" --json tasks --all | jq .count) == 1 ]]"
	check "$(result task.list '{}')" '[.tasks[].id] == [$k]' --arg k "${ids[3]}"
	for f in $files; do
		[[ ! -e $f ]]
	done
	# The audit log keeps its newest two rows: n3's and n4's.
	wait_for 100 bash -c "[[ \$(\"$VX11CTL\" --json audit --all | jq .count) == 2 ]]"
	check "$(result audit.list '{}')" '[.entries[].task_id] == [$a, $b]' --arg a "${ids[2]}" --arg b "${ids[3]}"
	check "$(result daemon.status)" '.counts.completed == 1'
	grep -q "retention: removed" "$T/vx11d.log"
}
