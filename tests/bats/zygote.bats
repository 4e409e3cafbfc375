#!/usr/bin/env bats
# Daughters spawned through a zygote (sandbox/spawn-zygote.c, issue 12): the
# same confinement as spawned directly (the other suites run with the zygote
# on, the default), shown here where it differs in how it is made: the
# daughter inherits the zygote's variant of its profile and stacks the
# dropped rules (two filters), gets an IPC namespace of its own although the
# zygote's variant allows unshare, and a zygote killed with SIGKILL leaves its
# daughters running and is replaced.

load helpers

setup() {
	require_root
	vx11_setup
}

teardown() {
	vx11_teardown
}

attempt_of() {
	jq -c ".daughters[${2:--1}].attempts[0]" <<<"$1"
}

# The zygotes of the daemon: processes named vx11d-zygote whose parent it is.
zygotes() {
	local f pid
	for f in /proc/[0-9]*/comm; do
		pid=${f#/proc/}
		pid=${pid%/comm}
		[[ $(cat "$f" 2>/dev/null) == vx11d-zygote ]] || continue
		[[ $(awk '/^PPid:/ {print $2}' "/proc/$pid/status" 2>/dev/null) == "$DAEMON_PID" ]] && echo "$pid"
	done
	return 0
}

spawn_counts() {
	result daemon.status | jq -c '.spawner | {zygote, zygotes, zygote_starts, zygote_spawns, direct_spawns}'
}

PROBE='#!/bin/sh
echo "ppid $PPID"
/usr/bin/awk "/^Seccomp/ {print}" /proc/self/status
echo "ipc $(/usr/bin/readlink /proc/self/ns/ipc)"
echo "uid $(/usr/bin/id -u)"
if /usr/bin/unshare -i /bin/true 2>/dev/null; then echo "unshare allowed"; else echo "unshare denied"; fi
if /usr/bin/unshare -U /bin/true 2>/dev/null; then echo "userns allowed"; else echo "userns denied"; fi
'

@test "through the zygote: Seccomp 2 with two filters, an IPC namespace of its own, unshare denied as its profile says" {
	probe=$(daughter_script probe.sh <<<"$PROBE")
	policy_file '.limits.max_running = 2
		| .tasks.probe = {command: ["'"$probe"'"], network: false, max_retries: 0}
		| .tasks.sleeper = {command: ["/bin/sleep", "100"], network: false, max_retries: 0}'
	start_daemon
	check_json "$(spawn_counts)" '.zygote == true and .zygotes == 0 and .zygote_spawns == 0'

	sleeper=$(submit_task sleeper)
	wait_status "$sleeper" running 100 >/dev/null
	wait_for 30 eval '[[ -n $(task_pids "$sleeper") ]]'
	spid=$(task_pids "$sleeper")
	z=$(zygotes)
	[[ -n $z && $z != *" "* ]] || { echo "zygotes: '$z'" >&2; return 1; }
	# The daemon is the daughter's parent, not the zygote.
	equals "$(awk '/^PPid:/ {print $2}' "/proc/$spid/status")" "$DAEMON_PID"

	id=$(submit_task probe)
	t=$(wait_status "$id" completed 100)
	out=$(task_logs "$id" stdout)
	echo "$out"
	grep -qx "ppid $DAEMON_PID" <<<"$out"
	grep -qx "Seccomp:	2" <<<"$out"
	# The zygote's variant, then the dropped rules: exactly the profile, in two filters.
	grep -qx "Seccomp_filters:	2" <<<"$out"
	ipc=$(sed -n 's/^ipc //p' <<<"$out")
	[[ -n $ipc ]]
	[[ $ipc != "$(readlink "/proc/$z/ns/ipc")" ]]
	[[ $ipc != "$(readlink "/proc/$spid/ns/ipc")" ]]
	[[ $ipc != "$(readlink /proc/self/ns/ipc)" ]]
	[[ $(readlink "/proc/$spid/ns/ipc") != "$(readlink "/proc/$z/ns/ipc")" ]]
	grep -qx "unshare denied" <<<"$out"
	grep -qx "userns denied" <<<"$out"
	check_json "$(attempt_of "$t")" '.confinement.namespaces.ipc == "own" and .confinement.seccomp.profile == "default"'
	check_json "$(spawn_counts)" '.zygotes == 1 and .zygote_starts == 1 and .zygote_spawns == 2 and .direct_spawns == 0'
}

@test "--no-zygote: daughters spawned directly, under one filter, confined the same" {
	probe=$(daughter_script probe.sh <<<"$PROBE")
	policy_file '.tasks.probe = {command: ["'"$probe"'"], network: false, max_retries: 0}'
	start_daemon --no-zygote
	id=$(submit_task probe)
	wait_status "$id" completed 100 >/dev/null
	out=$(task_logs "$id" stdout)
	echo "$out"
	grep -qx "Seccomp:	2" <<<"$out"
	grep -qx "Seccomp_filters:	1" <<<"$out"
	grep -qx "unshare denied" <<<"$out"
	equals "$(zygotes)" ""
	check_json "$(spawn_counts)" '.zygote == false and .zygotes == 0 and .zygote_spawns == 0 and .direct_spawns == 1'
}

@test "the zygote killed with SIGKILL: its daughters run on and complete, the next submit completes through a new one" {
	# The naps end when the test says so, not on a clock: in a slow VM a
	# fixed sleep ended before the test had seen both running.
	nap=$(daughter_script nap.sh <<<"#!/bin/sh
while [ ! -e $T/go ]; do /bin/sleep 0.1; done")
	policy_file '.limits.max_running = 3 | .defaults.ttl_seconds = 300
		| .tasks.nap = {command: ["'"$nap"'"], network: false, max_retries: 0}
		| .tasks.quick = {command: ["/bin/true"], network: false, max_retries: 0}'
	start_daemon
	a=$(submit_task nap)
	b=$(submit_task nap)
	wait_status "$a" running 300 >/dev/null
	wait_status "$b" running 300 >/dev/null
	z=$(zygotes)
	[[ -n $z && $z != *" "* ]] || { echo "zygotes: '$z'" >&2; return 1; }
	kill -9 "$z"
	wait_for 50 eval '! alive '"$z"
	# They are the daemon's children, not the zygote's: untouched.
	check_json "$(task_get "$a")" '.task.status == "running"'
	check_json "$(task_get "$b")" '.task.status == "running"'
	touch "$T/go"
	wait_status "$a" completed 300 >/dev/null
	wait_status "$b" completed 300 >/dev/null
	id=$(submit_task quick)
	wait_status "$id" completed 100 >/dev/null
	z2=$(zygotes)
	[[ -n $z2 && $z2 != "$z" ]]
	check_json "$(spawn_counts)" '.zygotes == 1 and .zygote_starts == 2 and .zygote_spawns == 3 and .direct_spawns == 0'
}

@test "strict goes through the zygote too; a profile it cannot split exactly, none and a network of its own do not" {
	# Conditional rules on unshare: the variant could not keep unshare(CLONE_NEWUSER) exactly
	# as the profile has it, so no split.
	cat >"$T/cond.json" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["unshare"], "action": "SCMP_ACT_ERRNO",
 "args": [{"index": 0, "value": 1073741824, "valueTwo": 1073741824, "op": "SCMP_CMP_MASKED_EQ"}]}]}
EOF
	probe=$(daughter_script probe.sh <<<"$PROBE")
	policy_file '.tasks.strict = {command: ["'"$probe"'"], network: false, max_retries: 0, seccomp: "strict"}
		| .tasks.cond = {command: ["/bin/true"], network: false, max_retries: 0, seccomp: "'"$T"'/cond.json"}
		| .tasks.none = {command: ["/bin/true"], network: false, max_retries: 0, seccomp: "none"}
		| .tasks.own_net = {command: ["/bin/true"], network: "none", max_retries: 0}'
	start_daemon
	id=$(submit_task strict)
	wait_status "$id" completed 100 >/dev/null
	out=$(task_logs "$id" stdout)
	echo "$out"
	grep -qx "Seccomp_filters:	2" <<<"$out"
	grep -qx "unshare denied" <<<"$out"
	check_json "$(spawn_counts)" '.zygote_spawns == 1 and .direct_spawns == 0 and .zygotes == 1'
	for t in cond none own_net; do
		id=$(submit_task "$t")
		wait_status "$id" completed 100 >/dev/null
	done
	check_json "$(spawn_counts)" '.zygote_spawns == 1 and .direct_spawns == 3 and .zygotes == 1'
}
