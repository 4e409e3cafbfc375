#!/usr/bin/env bats
# The daemon dies, or stops, while daughters run: on restart with the same
# state directory and cgroup root, each attempt that was running is recorded
# "interrupted", whatever it left (its cgroup and every process in it, double
# forks and setsid ones too) is killed, and its task is retried if it has
# retries left, else failed.

load helpers

setup() {
	# Daughters need root: cgroups, dynamic uids.
	require_root
	vx11_setup
}

teardown() {
	vx11_teardown
}

attempt_of() {
	jq -c ".daughters[${2:--1}].attempts[0]" <<<"$1"
}

# A daughter of three processes: a setsid one, a double-forked one, the main one.
tree_script() {
	daughter_script tree.sh <<'EOF'
#!/bin/sh
/usr/bin/setsid /bin/sleep 100 &
/bin/sh -c '/bin/sleep 100 &'
exec /bin/sleep 100
EOF
}

# The policy of both tests: "work" is retried once, at level 1 with a
# command that succeeds; "once" has no retry.
recovery_policy() {
	local s
	s=$(tree_script)
	policy_file '.limits.max_running = 4
		| .tasks.work = {command: ["'"$s"'"], max_retries: 1, backoff: {base_seconds: 0.1, max_seconds: 1},
			mutations: [{command: ["/bin/sh", "-c", "echo retried at level $VX11_MUTATION_LEVEL"]}]}
		| .tasks.once = {command: ["'"$s"'"], max_retries: 0}'
}

# After the restart: "work" completed by its retry, "once" failed; both first
# attempts interrupted.
check_settled() {
	local work=$1 once=$2 t
	t=$(wait_status "$work" completed)
	check_json "$t" '(.daughters | length) == 2 and .task.current_retry == 1
		and .daughters[0].status == "killed" and .daughters[1].status == "exited" and .daughters[1].mutation_level == 1'
	check_json "$(attempt_of "$t" 0)" '.reason == "interrupted" and .status == "interrupted"'
	check_json "$(attempt_of "$t" 1)" '.reason == "exited" and .exit_code == 0'
	equals "$(task_logs "$work" stdout)" "retried at level 1"

	t=$(wait_status "$once" failed)
	check_json "$t" '(.daughters | length) == 1 and .daughters[0].status == "killed"'
	check_json "$(attempt_of "$t")" '.reason == "interrupted" and .status == "interrupted"'
}

@test "kill -9 of the daemon mid-attempt: on restart the attempt is interrupted, its leftovers killed, the task retried or failed" {
	recovery_policy
	start_daemon
	work=$(submit_task work)
	once=$(submit_task once)
	t=$(wait_running "$work")
	job=$(attempt_of "$t" | jq -r .cgroup)
	root=$(result daemon.status | jq -r .cgroup.job_root)
	wait_running "$once" >/dev/null
	wait_for 30 eval '(($(task_pids "$work" | wc -l) == 3 && $(task_pids "$once" | wc -l) == 3))'
	left=$(task_pids "$work")

	kill9_daemon
	# Nothing else kills them (the double-forked and setsid ones are no
	# child of the daemon's): the restart has to.
	for p in $left; do alive "$p"; done
	grep -q . "$root/$job/cgroup.procs"

	start_daemon
	wait_for 30 no_task_pids "$work"
	wait_for 30 no_task_pids "$once"
	for p in $left; do
		if alive "$p"; then
			echo "process $p of the interrupted attempt is still alive" >&2
			return 1
		fi
	done
	check_settled "$work" "$once"
	check_json "$(result daemon.status)" '.daughters_running == 0'
}

@test "SIGTERM: the daemon kills its daughters before it exits, records them interrupted, and a restart runs the retry" {
	recovery_policy
	start_daemon
	work=$(submit_task work)
	once=$(submit_task once)
	wait_running "$work" >/dev/null
	wait_running "$once" >/dev/null
	wait_for 30 eval '(($(task_pids "$work" | wc -l) == 3 && $(task_pids "$once" | wc -l) == 3))'

	stop_daemon
	equals "$DAEMON_STATUS" 0
	# Gone by the time it exits, not later.
	no_task_pids "$work"
	no_task_pids "$once"

	start_daemon
	check_settled "$work" "$once"
}

@test "a retrying task waits out its backoff across a restart" {
	policy_file '.limits.max_running = 2
		| .tasks.flaky = {command: ["/bin/false"], max_retries: 1, backoff: {base_seconds: 4, max_seconds: 4}}'
	start_daemon
	id=$(submit_task flaky)
	t=$(wait_status "$id" retrying)
	due=$(jq -r '.task.next_attempt_at' <<<"$t")
	stop_daemon
	start_daemon
	# Restarted well before the deadline: still waiting, one attempt so far.
	sleep 1
	t=$(task_get "$id")
	check_json "$t" '.task.status == "retrying" and (.daughters | length) == 1'
	t=$(wait_status "$id" failed 100)
	check_json "$t" '(.daughters | length) == 2'
	# The second attempt started at (not before) its deadline.
	holds "$(ts_s "$(jq -r '.daughters[1].started_at' <<<"$t")") >= $(ts_s "$due")"
}

@test "a task cancelled while its daughter is being spawned: the daughter is killed, nothing runs on" {
	start_daemon
	id=$(result daughter.spawn '{"name":"nap","cmd":["/bin/sleep","30"]}' | jq -r .task_id)
	reply=$(call task.cancel "$(jq -cn --arg id "$id" '{task_id:$id}')")
	# Spawned or not yet: the cancel reaches the daughter either way.
	check_json "$reply" '.result.status == "cancelled" and .result.cancelled_daughters_count == 1'
	t=$(wait_task "$id" '.daughters[0].attempts[0].reason == "cancelled"' 50)
	check_json "$t" '.task.status == "cancelled" and .daughters[0].status == "killed"'
	no_task_pids "$id"
}
