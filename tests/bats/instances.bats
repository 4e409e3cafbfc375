#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Instances on one host: two vx11d with state dirs of their own run side by
# side and never touch each other's daughters, job cgroups or uids; a second
# one on the same state dir, or with the same --instance, is refused;
# daughters find a daemon whose socket they cannot reach, or whose socket
# directory another daemon's daughters use already. Both daemons are given the SAME --cgroup-root: what
# keeps them apart is each instance's own root under it, not the test's
# usual one-root-per-daemon.

load helpers

declare -gA PID

setup() {
	vx11_setup
	# The base both share (removed by vx11_teardown, with what is under it).
	VX11_CGROUP_ROOT=vx11-test-$$-${BATS_TEST_NUMBER}
	PID=()
	TASKS=()
	RUNTIME_DIRS=()
}

teardown() {
	local x id
	for x in "${!PID[@]}"; do
		if alive "${PID[$x]}"; then
			kill -TERM "${PID[$x]}" 2>/dev/null || true
			wait_exit "${PID[$x]}" 50 2>/dev/null || kill -9 "${PID[$x]}" 2>/dev/null || true
		fi
	done
	for id in "${TASKS[@]}"; do
		wait_for 30 no_task_pids "$id" 2>/dev/null || kill -9 $(task_pids "$id") 2>/dev/null || true
	done
	for x in "${RUNTIME_DIRS[@]}"; do
		[[ $x == /run/vx11/s* ]] && rm -rf "$x"
	done
	cat "$T"/[ab]/vx11d.log >"$T/vx11d.log" 2>/dev/null || true
	vx11_teardown
}

# The socket of vx11d X: $T/X/vx11.sock, or $SOCKDIR/X.sock.
sock_of() {
	if [[ -n ${SOCKDIR:-} ]]; then
		echo "$SOCKDIR/$1.sock"
	else
		echo "$T/$1/vx11.sock"
	fi
}

# inst_launch X [ARGS...]: vx11d "X" with its state dir and log in $T/X, its
# socket at sock_of X, the shared cgroup base. Sets PID[X].
inst_launch() {
	local x=$1 sock
	shift
	sock=$(sock_of "$x")
	mkdir -p "$T/$x" "${sock%/*}"
	[[ -e $T/policy.json ]] || policy_file
	(
		_bg_close_fds
		exec "$VX11D" --socket "$sock" --state-dir "$T/$x/state" --log-target stderr --log-level debug \
			--cgroup-root "$VX11_CGROUP_ROOT" --policy "$T/policy.json" "$@"
	) 2>>"$T/$x/vx11d.log" </dev/null >/dev/null &
	PID[$x]=$!
}

inst_start() {
	local x=$1
	inst_launch "$@"
	VX11_SOCKET=$(sock_of "$x") DAEMON_PID=${PID[$x]} wait_daemon_ready || { cat "$T/$x/vx11d.log" >&2; return 1; }
}

inst_kill9() {
	kill -9 "${PID[$1]}"
	wait_exit "${PID[$1]}" 300
}

# on X CMD...: CMD (a helper of helpers.bash) talking to vx11d X.
on() {
	local VX11_SOCKET
	VX11_SOCKET=$(sock_of "$1")
	shift
	"$@"
}

# submit_blocks X N: N daughters that sleep on vx11d X, running; their task ids in BLOCKS.
submit_blocks() {
	local x=$1 n=$2 i id
	BLOCKS=()
	for ((i = 0; i < n; i++)); do
		id=$(on "$x" submit_task block) || return 1
		BLOCKS+=("$id")
		TASKS+=("$id")
	done
	for id in "${BLOCKS[@]}"; do
		on "$x" wait_running "$id" >/dev/null || return 1
		wait_for 30 eval '[[ -n $(task_pids "$id") ]]' || return 1
	done
}

# task_uids X TASK_ID...: the uid each task's daughter runs as, one a line;
# checked against the kernel's word for every process of it.
task_uids() {
	local x=$1 id uid p
	shift
	for id in "$@"; do
		uid=$(on "$x" task_get "$id" | jq -r '.daughters[-1].attempts[-1].uid')
		for p in $(task_pids "$id"); do
			equals "$(awk '/^Uid:/ { print $2 }' "/proc/$p/status")" "$uid" || return 1
		done
		echo "$uid"
	done
}

# disjoint LIST LIST: no line in both, and no line twice in either.
disjoint() {
	[[ -z $(sort <<<"$1" | uniq -d) && -z $(sort <<<"$2" | uniq -d) ]] || { echo "a uid twice: $1 / $2" >&2; return 1; }
	[[ -z $(comm -12 <(sort <<<"$1") <(sort <<<"$2")) ]] || { echo "uids shared: $1 / $2" >&2; return 1; }
}

all_alive() {
	local p
	for p in "$@"; do
		alive "$p" || { echo "process $p is gone" >&2; return 1; }
	done
}

all_running() {
	local x=$1 id
	shift
	for id in "$@"; do
		check_json "$(on "$x" task_get "$id")" '.task.status == "running" and .daughters[-1].status == "running"' || return 1
	done
}

@test "two instances with their own state dirs side by side: each keeps its daughters through the other's kill -9 and restart, uids never collide" {
	policy_file '.limits.max_running = 8 | .tasks.block = {command: ["/bin/sleep", "100"], max_retries: 0}'
	inst_start a
	inst_start b
	sa=$(on a result daemon.status)
	sb=$(on b result daemon.status)
	ia=$(jq -r .instance <<<"$sa")
	ib=$(jq -r .instance <<<"$sb")
	[[ $ia != "$ib" && $ia =~ ^[A-Za-z0-9_-]+$ && $ib =~ ^[A-Za-z0-9_-]+$ ]]
	# Each its own job root, under the one base both were given.
	ra=$(jq -r .cgroup.job_root <<<"$sa")
	rb=$(jq -r .cgroup.job_root <<<"$sb")
	[[ $ra == */"$VX11_CGROUP_ROOT/$ia" && $rb == */"$VX11_CGROUP_ROOT/$ib" ]]
	check_json "$sa" '.state_dir == $d' --arg d "$T/a/state"

	# The same policy, so the same dynamic_uid_range: still no uid twice.
	submit_blocks a 3
	a1=("${BLOCKS[@]}")
	submit_blocks b 3
	b1=("${BLOCKS[@]}")
	disjoint "$(task_uids a "${a1[@]}")" "$(task_uids b "${b1[@]}")"
	pids_a1=$(for id in "${a1[@]}"; do task_pids "$id"; done)
	pids_b1=$(for id in "${b1[@]}"; do task_pids "$id"; done)

	# a crashes and restarts: its reconciliation reaps its own daughters only.
	inst_kill9 a
	all_alive $pids_b1
	inst_start a
	check_json "$(on a result daemon.status)" '.instance == $i and .cgroup.job_root == $r' --arg i "$ia" --arg r "$ra"
	for id in "${a1[@]}"; do
		wait_for 50 no_task_pids "$id"
		on a wait_status "$id" failed >/dev/null
	done
	all_alive $pids_b1
	all_running b "${b1[@]}"
	for id in "${b1[@]}"; do
		job=$(on b task_get "$id" | jq -r '.daughters[-1].attempts[-1].cgroup')
		grep -q . "$rb/$job/cgroup.procs"
	done

	# The restarted a runs new daughters beside b's, on uids b does not hold.
	submit_blocks a 3
	a2=("${BLOCKS[@]}")
	disjoint "$(task_uids a "${a2[@]}")" "$(task_uids b "${b1[@]}")"
	pids_a2=$(for id in "${a2[@]}"; do task_pids "$id"; done)

	# And the other way round.
	inst_kill9 b
	all_alive $pids_a2
	inst_start b
	for id in "${b1[@]}"; do
		wait_for 50 no_task_pids "$id"
	done
	all_alive $pids_a2
	all_running a "${a2[@]}"
	submit_blocks b 3
	b2=("${BLOCKS[@]}")
	disjoint "$(task_uids a "${a2[@]}")" "$(task_uids b "${b2[@]}")"
	# Nothing of the first daughters is left anywhere.
	for p in $pids_a1 $pids_b1; do
		! alive "$p" || { echo "process $p of a reaped daughter is alive" >&2; return 1; }
	done
}

@test "a second vx11d on the same state dir is refused, naming the running one's pid; the first goes on" {
	policy_file '.tasks.block = {command: ["/bin/sleep", "100"], max_retries: 0}'
	inst_start a
	submit_blocks a 1
	pids=$(task_pids "${BLOCKS[0]}")

	mkdir -p "$T/a2"
	(
		_bg_close_fds
		exec "$VX11D" --socket "$T/a2/vx11.sock" --state-dir "$T/a/state" --log-target stderr \
			--cgroup-root "$VX11_CGROUP_ROOT" --policy "$T/policy.json"
	) 2>"$T/a2/err" </dev/null >/dev/null &
	second=$!
	wait_exit "$second"
	[[ $DAEMON_STATUS -ne 0 ]]
	grep -q "the state directory $T/a/state is in use by vx11d pid ${PID[a]}" "$T/a2/err"
	[[ ! -e $T/a2/vx11.sock ]]

	all_alive $pids
	all_running a "${BLOCKS[@]}"
	check_json "$(on a result daemon.status)" '.pid == $p' --argjson p "${PID[a]}"
	# Once the first has stopped, the state dir is free again.
	kill -TERM "${PID[a]}"
	wait_exit "${PID[a]}"
	inst_start a
}

# A task type "hb" whose daughter prints its VX11_SOCKET, then the daemon's
# answer to its heartbeat sent there.
hb_policy() {
	local s
	s=$(daughter_script hb.sh <<'EOF'
#!/bin/sh
echo "$VX11_SOCKET"
printf '{"jsonrpc":"2.0","id":1,"method":"daughter.heartbeat","params":{"daughter_id":"%s","token":"%s"}}\n' \
	"$VX11_DAUGHTER_ID" "$VX11_DAUGHTER_TOKEN" | /usr/bin/socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET"
EOF
)
	policy_file '.tasks.hb = {command: ["'"$s"'"], max_retries: 0}'
}

# check_hb X DIR: a daughter of vx11d X finds it at DIR/daughter.sock and is answered.
check_hb() {
	local id out
	id=$(on "$1" submit_task hb) || return 1
	TASKS+=("$id")
	on "$1" wait_status "$id" completed >/dev/null || return 1
	mapfile -t out < <(on "$1" task_logs "$id" stdout)
	equals "${out[0]}" "$2/daughter.sock" || return 1
	check_json "${out[1]}" '.id == 1 and .result.status == "ok"'
}

@test "an instance name given twice on one host is refused, naming the daemon that has it" {
	require_root
	inst_start a --instance "t$$-$BATS_TEST_NUMBER"
	inst_launch b --instance "t$$-$BATS_TEST_NUMBER"
	wait_exit "${PID[b]}"
	[[ $DAEMON_STATUS -ne 0 ]]
	grep -q "the instance name t$$-$BATS_TEST_NUMBER is in use by vx11d pid ${PID[a]}" "$T/b/vx11d.log"
	check_json "$(on a result daemon.status)" '.instance == $i' --arg i "t$$-$BATS_TEST_NUMBER"
}

@test "a socket in a directory daughters cannot search: their sockets go to /run/vx11/<instance>, and they reach the daemon" {
	require_root
	hb_policy
	SOCKDIR=$T/private
	mkdir -m 0700 "$SOCKDIR"
	inst_start a
	st=$(on a result daemon.status)
	inst=$(jq -r .instance <<<"$st")
	RUNTIME_DIRS+=("/run/vx11/$inst")
	check_json "$st" '.runtime_dir == $d' --arg d "/run/vx11/$inst"
	[[ -S /run/vx11/$inst/daughter.sock ]]
	! grep -q "not searchable by other users" "$T/a/vx11d.log" || return 1

	check_hb a "/run/vx11/$inst"
	# Made for this instance alone: gone once it stops.
	kill -TERM "${PID[a]}"
	wait_exit "${PID[a]}"
	[[ ! -e /run/vx11/$inst ]]
}

@test "two instances with their sockets in one directory: the second's daughters find it in /run/vx11/<instance>, neither disturbs the other" {
	require_root
	hb_policy
	SOCKDIR=$T/shared
	mkdir -m 0755 "$SOCKDIR"
	inst_start a
	inst_start b
	check_json "$(on a result daemon.status)" '.runtime_dir == $d' --arg d "$SOCKDIR"
	ib=$(on b result daemon.status | jq -r .instance)
	RUNTIME_DIRS+=("/run/vx11/$ib")
	check_json "$(on b result daemon.status)" '.runtime_dir == $d' --arg d "/run/vx11/$ib"
	check_hb a "$SOCKDIR"
	check_hb b "/run/vx11/$ib"
	# One stopping takes nothing of the other's with it.
	kill -TERM "${PID[a]}"
	wait_exit "${PID[a]}"
	[[ -S /run/vx11/$ib/daughter.sock ]]
	check_hb b "/run/vx11/$ib"
}
