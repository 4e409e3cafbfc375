#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The node (vx11d --node, issue 13): the name of this daemon in a fleet
# sharing one queue, by default the host name. daemon.status and 'vx11ctl
# status' say it; every attempt records the node that ran it (task.get, at
# the task's level the node of its latest attempt; 'vx11ctl task'), and the
# journal's entries of the start and of an attempt's start and end carry
# VX11_NODE (read here from the stderr log, which shows the journal's fields
# at --log-level debug). A bad name is refused before anything starts.

load helpers

setup() {
	vx11_setup
}

teardown() {
	vx11_teardown
}

@test "a bad --node is refused, saying why, and starts nothing" {
	local bad long
	long=$(printf 'n%.0s' {1..64})
	for bad in '' 'a/b' 'a b' 'caf'$'\xc3\xa9' "$long"; do
		run -2 "$VX11D" --socket "$T/x.sock" --state-dir "$T/state" --log-target stderr --node "$bad"
		[[ $output == *"vx11d: --node: expected 1 to 63 letters, digits, '.', '_' or '-', not \""* ]]
	done
	[[ ! -e $T/x.sock && ! -e $T/state ]]
	# The longest name, and the characters a host name has, are fine.
	run -0 "$VX11D" --node "${long:1}" --help
	run -0 "$VX11D" --node web-1.example_org --help
}

@test "--lease-seconds: a bad value is refused, saying why; on SQLite it is accepted, shown and ignored (no fleet, no fence guard)" {
	local bad
	for bad in '' 1 301 -5 15x 1e3; do
		run -2 "$VX11D" --socket "$T/x.sock" --state-dir "$T/state" --log-target stderr --lease-seconds "$bad"
		[[ $output == *"vx11d: --lease-seconds: expected a whole number of seconds from 2 to 300, not \"$bad\""* ]]
	done
	[[ ! -e $T/x.sock && ! -e $T/state ]]
	start_daemon --lease-seconds 7
	check "$(result daemon.status)" '.store.lease_seconds == 7 and (has("fleet") | not) and (.store | has("incarnation") | not)'
	[[ -z $(pgrep -P "$DAEMON_PID" -x vx11d-fence) ]]
}

@test "without --node, the node is the host name" {
	local host
	host=$(hostname)
	[[ $host =~ ^[A-Za-z0-9._-]{1,63}$ ]] || skip "the host name \"$host\" is not a valid node name"
	start_daemon
	check "$(result daemon.status)" '.node == $h' --arg h "$host"
	grep -q "started: instance [^ ]*, node $host," "$T/vx11d.log"
}

@test "--node alpha: status says it; each attempt, task.get, vx11ctl task and the journal name the node that ran it" {
	require_root
	policy_file '.limits.max_running = 2 | .tasks.flaky = {command: ["/bin/false"], max_retries: 1}'
	start_daemon --node alpha

	check "$(result daemon.status)" '.node == "alpha"'
	run -0 "$VX11CTL" status
	[[ $output == *$'\nnode: alpha\n'* ]]
	grep -q "started: instance [^ ]*, node alpha, .*VX11_NODE=alpha" "$T/vx11d.log"

	# Two attempts (a retry), both on alpha; the task's node is its latest's.
	id=$(submit_task flaky)
	got=$(wait_status "$id" failed 150)
	check "$got" '[.daughters[].attempts[]] | length == 2 and all(.node == "alpha")'
	check "$got" '.task.node == "alpha"'
	run -0 "$VX11CTL" task "$id"
	[[ $output == *$'\nnode: alpha\n'* ]]
	[[ $(grep -c '^    node: alpha$' <<<"$output") == 2 ]]

	# The journal: each attempt's start (task started) and end (the
	# daughter's), and the task's settling after it, carry the node.
	[[ $(grep -c "task $id started: .*VX11_NODE=alpha" "$T/vx11d.log") == 2 ]]
	[[ $(grep -c "of task $id (attempt [12], .*VX11_NODE=alpha" "$T/vx11d.log") == 2 ]]
	grep -q "task $id retrying: .*VX11_NODE=alpha" "$T/vx11d.log"
	grep -q "task $id ended: .*VX11_NODE=alpha" "$T/vx11d.log"

	# A task that never ran has no node.
	policy_file '.limits.max_running = 0'
	result policy.reload >/dev/null
	queued=$(submit_task noop)
	check "$(task_get "$queued")" '.task.node == null and .daughters == []'

	# Restarted as beta: what alpha ran still says alpha; what beta runs, beta.
	stop_daemon
	policy_file '.limits.max_running = 2'
	start_daemon --node beta
	check "$(result daemon.status)" '.node == "beta"'
	check "$(task_get "$id")" '.task.node == "alpha" and ([.daughters[].attempts[].node] == ["alpha", "alpha"])'
	got=$(wait_status "$queued" completed)
	check "$got" '.task.node == "beta" and .daughters[0].attempts[0].node == "beta"'
}

@test "kill -9 mid-attempt, restarted as another node: the interrupted attempt keeps the node that ran it" {
	require_root
	policy_file '.limits.max_running = 2
		| .tasks.work = {command: ["/bin/sleep", "100"], max_retries: 1, backoff: {base_seconds: 0.1, max_seconds: 1},
			mutations: [{command: ["/bin/true"]}]}'
	start_daemon --node alpha
	id=$(submit_task work)
	wait_running "$id" >/dev/null
	kill9_daemon

	start_daemon --node beta
	got=$(wait_status "$id" completed)
	check "$got" '[.daughters[].attempts[] | [.reason, .node]] == [["interrupted", "alpha"], ["exited", "beta"]]
		and .task.node == "beta"'
	# The recovery entry names the node the attempt ran on, not the one that found it.
	grep -q "recovery: attempt 1 of task $id .*VX11_NODE=alpha" "$T/vx11d.log"
	grep -q "task $id retrying: interrupted.*VX11_NODE=alpha" "$T/vx11d.log"
	grep -q "task $id started: .*attempt 2,.*VX11_NODE=beta" "$T/vx11d.log"
}
