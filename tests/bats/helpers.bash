# SPDX-License-Identifier: MIT
# Shared helpers of the bats suites: they run the real vx11d on a real socket
# in a temporary directory and talk to it with socat (raw protocol) and
# vx11ctl (the client). Loaded with `load helpers` from each suite.
#
# Environment (set by `make check`; defaulted here so that
# `bats tests/bats/x.bats` works by hand from an in-tree build):
#   VX11_SRCDIR, VX11_BUILDDIR, VX11D (daemon binary), VX11CTL (client binary)

bats_require_minimum_version 1.5.0

: "${VX11_SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${VX11_BUILDDIR:=$VX11_SRCDIR}"
: "${VX11D:=$VX11_BUILDDIR/daemon/vx11d}"
: "${VX11CTL:=$VX11_BUILDDIR/client/vx11ctl}"
# A hung test must not hang `make check`.
: "${BATS_TEST_TIMEOUT:=90}"
export VX11_SRCDIR VX11_BUILDDIR VX11D VX11CTL BATS_TEST_TIMEOUT

# Bounded waits, in tenths of a second.
VX11_START_TENTHS=100

T=
DAEMON_PID=
DAEMON_STATUS=
_VX11_CONNS=()

# ---------------------------------------------------------------------------
# Temporary directory, policy, daemon

# A fresh directory per test: socket, state, logs. Mode 0755 so that other
# users (permissions.bats) can reach the socket inside it.
vx11_tmpdir() {
	if [[ -z $T ]]; then
		T=$(mktemp -d "${TMPDIR:-/tmp}/vx11t.XXXXXX")
		chmod 0755 "$T"
	fi
}

# policy_file [JQ_FILTER [PATH]]: write a test policy (default $T/policy.json),
# the base below transformed by JQ_FILTER, e.g. '.limits.max_queued = 1'.
# Task types run harmless binaries; backoffs are short; no groups are named so
# that the file is valid on any machine.
policy_file() {
	local filter=${1:-.} path=${2:-}
	vx11_tmpdir
	[[ -n $path ]] || path=$T/policy.json
	[[ -n ${VX11_POLICY_PREFIX:-} ]] && filter="$VX11_POLICY_PREFIX | $filter"
	jq "$filter" >"$path" <<'EOF'
{
  "mode": "solo_madre",
  "admin_group": "vx11-admin",
  "limits": {
    "max_line_bytes": 1048576,
    "max_connections": 1024,
    "max_connections_per_uid": 512,
    "max_queued": 10000
  },
  "sources": {
    "shub":     { "priority": 0 },
    "operator": { "priority": 1 },
    "madre":    { "priority": 2 },
    "hijas":    { "priority": 3 }
  },
  "defaults": {
    "ttl_seconds": 30,
    "heartbeat_seconds": 0,
    "max_retries": 1,
    "backoff": { "base_seconds": 1, "max_seconds": 2 },
    "grace_seconds": 1
  },
  "tasks": {
    "noop":  { "command": ["/bin/true"] },
    "echo":  { "command": ["/bin/cat"] },
    "fails": { "command": ["/bin/false"], "max_retries": 0 }
  }
}
EOF
}

# Close, in a child about to be put in the background, every fd a test holds
# open (bats' fd 3 and the write ends of open connections): a background
# process holding them would keep bats waiting, or a connection from seeing EOF.
_bg_close_fds() {
	local name fd
	exec 3>&-
	for name in "${_VX11_CONNS[@]}"; do
		fd=$(_conn_var "$name" FD)
		[[ -n $fd ]] && eval "exec $fd>&-"
	done
	return 0
}

_proc_state() { # PID -> R/S/Z/... or nothing when gone
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	echo "${stat%% *}"
}

# True while PID exists and is not a zombie.
alive() {
	local s
	s=$(_proc_state "$1")
	[[ -n $s && $s != Z ]]
}

# launch_daemon [ARGS...]: start vx11d in the background on $T/vx11.sock with
# state in $T/state and stderr appended to $T/vx11d.log; sets DAEMON_PID. Adds
# --policy $T/policy.json (written if missing) unless ARGS name --policy or
# VX11_NO_POLICY_ARG is set (then the daemon picks its policy itself).
# VX11D_WRAP (words) runs the daemon through a command, e.g. tests/host-state.
# Does not wait: see start_daemon.
launch_daemon() {
	local a have_policy=
	vx11_tmpdir
	for a in "$@"; do
		[[ $a == --policy || $a == --policy=* || $a == -p ]] && have_policy=1
	done
	if [[ -z $have_policy && -z ${VX11_NO_POLICY_ARG:-} ]]; then
		[[ -e $T/policy.json ]] || policy_file
		set -- --policy "$T/policy.json" "$@"
	fi
	VX11_SOCKET=$T/vx11.sock
	export VX11_SOCKET
	# A cgroup root of the test's own, so a leftover of one test can never
	# be taken for another's (and reaping one never touches another's).
	VX11_CGROUP_ROOT=${VX11_CGROUP_ROOT:-vx11-test-$$-${BATS_TEST_NUMBER:-0}}
	(
		_bg_close_fds
		exec ${VX11D_WRAP:-} "$VX11D" --socket "$VX11_SOCKET" --state-dir "$T/state" --log-target stderr --log-level debug \
			--cgroup-root "$VX11_CGROUP_ROOT" "$@"
	) 2>>"$T/vx11d.log" </dev/null >/dev/null &
	DAEMON_PID=$!
	DAEMON_STATUS=
}

# True when daemon.status on $VX11_SOCKET answers with a pid: DAEMON_PID's,
# when that is set. -S alone proves nothing: a daemon killed with -9 leaves
# its socket file, where a connect is refused until the next one has bound
# its own; and jq 1.6 -e succeeds on empty input, so the reply is checked
# to be there before jq looks at it (that once let a refused connect count
# as ready, and the test's next connection was refused).
daemon_answers() {
	local reply
	[[ -S $VX11_SOCKET ]] || return 1
	reply=$(rpc '{"jsonrpc":"2.0","id":"ready","method":"daemon.status"}' 2>/dev/null) || return 1
	[[ $reply == *[![:space:]]* ]] || return 1
	jq -e --argjson p "${DAEMON_PID:-null}" '.result.pid | type == "number" and ($p == null or . == $p)' \
		>/dev/null 2>&1 <<<"$reply"
}

# Wait (bounded) until the daemon answers daemon.status; fail with its log if
# it exits or never answers.
wait_daemon_ready() {
	local i
	for ((i = 0; i < 2 * VX11_START_TENTHS; i++)); do
		daemon_answers && return 0
		if [[ -n $DAEMON_PID ]] && ! alive "$DAEMON_PID"; then
			wait "$DAEMON_PID"
			DAEMON_STATUS=$?
			echo "vx11d exited with status $DAEMON_STATUS before it was ready; its log:" >&2
			cat "$T/vx11d.log" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "vx11d did not answer within $((VX11_START_TENTHS / 10)) s; its log:" >&2
	cat "$T/vx11d.log" >&2
	return 1
}

# start_daemon [ARGS...]: launch_daemon, then wait until it serves.
start_daemon() {
	launch_daemon "$@"
	wait_daemon_ready
}

# wait_exit PID [TENTHS]: wait (bounded) for a child to exit; its status in
# DAEMON_STATUS. Returns 1 if it is still running afterwards.
wait_exit() {
	local pid=$1 tenths=${2:-100} i
	for ((i = 0; i < tenths; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		echo "process $pid did not exit within $((tenths / 10)) s" >&2
		return 1
	fi
	DAEMON_STATUS=0
	wait "$pid" || DAEMON_STATUS=$?
	return 0
}

# stop_daemon [SIGNAL]: SIGTERM (or SIGNAL) and wait; status in DAEMON_STATUS.
stop_daemon() {
	local sig=${1:-TERM}
	[[ -n $DAEMON_PID ]] || return 0
	kill "-$sig" "$DAEMON_PID"
	wait_exit "$DAEMON_PID" || return 1
	DAEMON_PID=
}

# The daemon's crash: nothing runs after the signal, nothing is flushed.
kill9_daemon() {
	[[ -n $DAEMON_PID ]] || return 0
	kill -9 "$DAEMON_PID"
	# A sanitizer build takes a while to unmap its shadow memory; a daemon
	# started before it is gone would find the socket still listening.
	if ! wait_exit "$DAEMON_PID" 300; then
		echo "vx11d (pid $DAEMON_PID) still there 30 s after kill -9" >&2
		return 1
	fi
	DAEMON_PID=
}

# For setup()/teardown() of each suite.
vx11_setup() {
	if [[ ! -x $VX11D ]]; then
		echo "vx11d not found at $VX11D: build it, or set VX11_BUILDDIR or VX11D" >&2
		return 1
	fi
	T=
	DAEMON_PID=
	VX11_CGROUP_ROOT=
	_VX11_CONNS=()
	vx11_tmpdir
}

# Pids of live daughters of this test's daemon (their VX11_SOCKET is in $T).
daughter_pids() {
	local e pid
	[[ -n $T ]] || return 0
	for e in $(grep -lzx "VX11_SOCKET=$T/daughter.sock" /proc/[0-9]*/environ 2>/dev/null); do
		pid=${e#/proc/}
		pid=${pid%/environ}
		alive "$pid" && echo "$pid"
	done
	return 0
}

# No process of any daughter may outlive its test: wait a little (a kill in
# flight), then fail naming them, and kill them so later tests start clean.
check_no_daughters() {
	local i left
	for ((i = 0; i < 30; i++)); do
		left=$(daughter_pids)
		[[ -z $left ]] && return 0
		sleep 0.1
	done
	echo "daughter processes left behind:" >&2
	for i in $left; do
		echo "  $i: $(tr '\0' ' ' </proc/$i/cmdline 2>/dev/null)" >&2
		kill -9 "$i" 2>/dev/null || true
	done
	return 1
}

# Remove what a daemon killed with -9 left under its cgroup root.
_cleanup_cgroup_root() {
	local root=$1 d
	[[ -n $root ]] || return 0
	for d in /sys/fs/cgroup/unified/"$root" /sys/fs/cgroup/"$root" /sys/fs/cgroup/*/"$root"; do
		[[ -d $d ]] || continue
		find "$d" -mindepth 1 -depth -type d 2>/dev/null | while read -r sub; do
			[[ -e $sub/cgroup.kill ]] && echo 1 >"$sub/cgroup.kill" 2>/dev/null
			rmdir "$sub" 2>/dev/null || true
		done
		rmdir "$d" 2>/dev/null || true
	done
}

vx11_teardown() {
	local name
	for name in "${_VX11_CONNS[@]}"; do
		conn_kill "$name" 2>/dev/null || true
	done
	_VX11_CONNS=()
	# Politely first: a stopping daemon kills its daughters and removes its cgroups.
	if [[ -n $DAEMON_PID ]] && alive "$DAEMON_PID"; then
		kill -TERM "$DAEMON_PID" 2>/dev/null || true
		wait_exit "$DAEMON_PID" 50 2>/dev/null || { kill -9 "$DAEMON_PID" 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null; }
	fi
	DAEMON_PID=
	local clean=0
	check_no_daughters || clean=1
	_cleanup_cgroup_root "$VX11_CGROUP_ROOT"
	if [[ -z ${BATS_TEST_COMPLETED:-} && -n $T && -s $T/vx11d.log ]]; then
		echo "# --- vx11d log ($T/vx11d.log) ---"
		sed 's/^/# /' "$T/vx11d.log" | tail -n 200
	fi
	if [[ -n $T && -d $T ]]; then
		rm -rf "$T"
	fi
	T=
	return $clean
}

# ---------------------------------------------------------------------------
# Talking to the daemon

# rpc LINE...: send each LINE (a newline is added) on one connection, print
# every reply line. The daemon closes the connection once it has answered
# everything after our EOF, so this returns as soon as the replies are in.
rpc() {
	printf '%s\n' "$@" | socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET"
}

# rpc_sloppy LINE...: like rpc, for when the daemon may hang up before it has
# read everything (a refused connection, a line over the limit): socat then
# goes on reading after a failed write instead of giving up.
rpc_sloppy() {
	printf '%s\n' "$@" | socat -s -t 5 - "UNIX-CONNECT:$VX11_SOCKET" 2>/dev/null
}

# rpc_raw BYTES: like rpc, without adding a newline (printf %b escapes allowed).
rpc_raw() {
	printf '%b' "$1" | socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET"
}

# req METHOD [PARAMS_JSON [ID]]: one request line.
req() {
	local id=${3:-1}
	if [[ -n ${2:-} ]]; then
		jq -cn --arg m "$1" --argjson p "$2" --argjson id "$id" '{jsonrpc:"2.0",id:$id,method:$m,params:$p}'
	else
		jq -cn --arg m "$1" --argjson id "$id" '{jsonrpc:"2.0",id:$id,method:$m}'
	fi
}

# call METHOD [PARAMS_JSON]: the whole reply line of one request.
call() {
	rpc "$(req "$@")"
}

# result METHOD [PARAMS_JSON]: the reply's result; fails on an error reply.
result() {
	local reply
	reply=$(call "$@") || return 1
	# Not jq -e alone: jq 1.6 -e succeeds on no input (a daemon that hung up).
	if [[ $reply != *[![:space:]]* ]] || ! jq -e 'has("result")' >/dev/null <<<"$reply"; then
		echo "$1 failed: ${reply:-no reply}" >&2
		return 1
	fi
	jq -c .result <<<"$reply"
}

# submit PARAMS_JSON: the intent.submit envelope.
submit() {
	result intent.submit "$1"
}

# submit_queued [TASK_TYPE [EXTRA_PARAMS_JSON]]: a QUEUED intent; prints its envelope.
submit_queued() {
	local type=${1:-noop} extra=${2:-'{}'} env
	env=$(submit "$(jq -cn --arg t "$type" --argjson x "$extra" '{intent_type:$t,require:{spawner:true}} + $x')") || return 1
	check "$env" '.status == "QUEUED"' || return 1
	echo "$env"
}

# submit_many N [TASK_TYPE [EXTRA_PARAMS_JSON]]: N QUEUED intents pipelined on one
# connection; prints their task ids, one a line, in submission order.
submit_many() {
	local n=$1 type=${2:-noop} extra=${3:-'{}'} line out i
	line=$(jq -cn --arg t "$type" --argjson x "$extra" '{intent_type:$t,require:{spawner:true}} + $x')
	out=$(for ((i = 1; i <= n; i++)); do
		printf '{"jsonrpc":"2.0","id":%d,"method":"intent.submit","params":%s}\n' "$i" "$line"
	done | socat -t 10 - "UNIX-CONNECT:$VX11_SOCKET") || return 1
	check "$(jq -s -c . <<<"$out")" 'length == $n and all(.result.status == "QUEUED")' --argjson n "$n" || return 1
	jq -r .result.response.task_id <<<"$out"
}

# check JSON FILTER [jq args...]: FILTER must be true of JSON, else say what
# was checked against what, and fail.
check() {
	local json=$1 filter=$2
	shift 2
	# jq -e on empty input succeeds: a command that printed nothing must fail.
	# (A glob, not ${json//[[:space:]]/}: that substitution is quadratic in
	# bash and took minutes on a task list of 1,000 pretty-printed tasks.)
	if [[ $json != *[![:space:]]* ]]; then
		echo "check failed: no JSON to check ($filter)" >&2
		return 1
	fi
	if ! jq -e "$@" "$filter" >/dev/null 2>&1 <<<"$json"; then
		echo "check failed: $filter" >&2
		echo "  on: $json" >&2
		return 1
	fi
}

# check_error REPLY CODE NAME [ID_JSON]: a JSON-RPC error reply exactly so,
# with a non-empty message; ID_JSON (default: do not check) is the id expected.
check_error() {
	local reply=$1 code=$2 name=$3 id=${4:-}
	check "$reply" '.jsonrpc == "2.0" and (has("result") | not) and .error.code == $c and .error.data.name == $n
		and (.error.message | type == "string" and length > 0)' --argjson c "$code" --arg n "$name" || return 1
	if [[ -n $id ]]; then
		check "$reply" '.id == $id' --argjson id "$id" || return 1
	fi
}

# equals ACTUAL EXPECTED: string equality with a readable failure.
equals() {
	if [[ "$1" != "$2" ]]; then
		echo "expected: $2" >&2
		echo "  actual: $1" >&2
		return 1
	fi
}

# Number of lines in a string ("" has none).
count_lines() {
	if [[ -z $1 ]]; then echo 0; else printf '%s\n' "$1" | wc -l; fi
}

# ---------------------------------------------------------------------------
# Long-lived connections, for events, waits and connection limits:
#   conn_open NAME [PREFIX...]   connect (PREFIX: e.g. a setpriv command line)
#   conn_send NAME LINE...       send lines
#   conn_wait NAME N [TENTHS]    wait until N reply lines have arrived
#   conn_lines NAME              all reply lines so far
#   conn_close NAME              EOF from our side, then wait for socat to end
#   conn_kill NAME               drop it
# The replies land in $T/NAME.out.

_conn_var() { # NAME FIELD -> value
	local v="_VX11_CONN_${2}_$1"
	echo "${!v:-}"
}

conn_open() {
	local name=$1 fd pid
	shift
	rm -f "$T/$name.in"
	mkfifo "$T/$name.in"
	(
		_bg_close_fds
		"$@" socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET"
	) <"$T/$name.in" >"$T/$name.out" 2>"$T/$name.err" &
	pid=$!
	exec {fd}>"$T/$name.in"
	printf -v "_VX11_CONN_FD_$name" '%s' "$fd"
	printf -v "_VX11_CONN_PID_$name" '%s' "$pid"
	_VX11_CONNS+=("$name")
}

conn_send() {
	local name=$1 fd
	shift
	fd=$(_conn_var "$name" FD)
	printf '%s\n' "$@" >&"$fd"
}

conn_lines() {
	cat "$T/$1.out"
}

conn_wait() {
	local name=$1 n=$2 tenths=${3:-50} i have
	for ((i = 0; i <= tenths; i++)); do
		have=$(wc -l <"$T/$name.out")
		((have >= n)) && return 0
		sleep 0.1
	done
	echo "connection $name: $have of $n lines after $((tenths / 10)) s:" >&2
	cat "$T/$name.out" >&2
	cat "$T/$name.err" >&2
	return 1
}

conn_close() {
	local name=$1 fd pid
	fd=$(_conn_var "$name" FD)
	pid=$(_conn_var "$name" PID)
	if [[ -n $fd ]]; then
		eval "exec $fd>&-"
		printf -v "_VX11_CONN_FD_$name" '%s' ""
	fi
	[[ -z $pid ]] || wait_exit "$pid" 70 >/dev/null
}

conn_kill() {
	local name=$1 fd pid
	fd=$(_conn_var "$name" FD)
	pid=$(_conn_var "$name" PID)
	if [[ -n $fd ]]; then
		eval "exec $fd>&-"
		printf -v "_VX11_CONN_FD_$name" '%s' ""
	fi
	if [[ -n $pid ]]; then
		# With a PREFIX the subshell may still stand between us and socat.
		pkill -9 -P "$pid" 2>/dev/null || true
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
}

# ---------------------------------------------------------------------------
# Other users (needs root)

# as_user USER CMD...: run CMD as USER with USER's groups.
as_user() {
	local user=$1
	shift
	setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups -- "$@"
}

# as_submitter_nobody CMD...: run CMD as nobody, a member of nothing
# but the socket's group: a plain submitter, neither root nor admin.
as_submitter_nobody() {
	setpriv --reuid=nobody --regid="$(id -g nobody)" --groups="$(stat -c %g "$VX11_SOCKET")" -- "$@"
}

require_root() {
	[[ $(id -u) -eq 0 ]] || skip "needs root (to switch users with setpriv)"
}

# The daemon's resident set, peak and current, in KiB.
daemon_rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status"
}
daemon_hwm_kib() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$DAEMON_PID/status"
}

# What daemon.status must say about cgroups on this machine, from the mounts.
expected_cgroup_mode() {
	local fstype
	fstype=$(stat -f -c %T /sys/fs/cgroup 2>/dev/null || true)
	if [[ $fstype == cgroup2fs ]]; then
		echo unified
	elif [[ $(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null || true) == cgroup2fs ]]; then
		echo hybrid
	elif grep -q ' cgroup ' /proc/self/mounts; then
		echo legacy
	else
		echo none
	fi
}

# ---------------------------------------------------------------------------
# Daughters: what the daemon runs (daughters, deadlines, recovery, sandbox)

# json_argv ARG...: the arguments as a JSON array of strings, to build a
# policy's "command" from shell variables (policy_file takes a jq filter, and
# a JSON value is a jq literal). The trailing "end" survives jq 1.6, which
# drops a final NUL.
json_argv() {
	printf '%s\0' "$@" end | jq -Rsc 'split("\u0000")[:-1]'
}

# daughter_script NAME: write stdin to $T/NAME (mode 0755, readable by the
# daughters' dynamic uids, which can reach $T) and print its path. Daughters
# have no PATH: scripts name every program by its absolute path.
daughter_script() {
	local path=$T/$1
	cat >"$path"
	chmod 0755 "$path"
	echo "$path"
}

# submit_task TASK_TYPE [EXTRA_PARAMS_JSON]: a QUEUED intent; prints its task id.
submit_task() {
	local env
	env=$(submit_queued "$@") || return 1
	jq -r .response.task_id <<<"$env"
}

# task_get TASK_ID: the task.get result.
task_get() {
	result task.get "$(jq -cn --arg id "$1" '{task_id:$id}')"
}

# wait_task TASK_ID FILTER [TENTHS [jq args...]]: poll task.get every 0.1 s
# (default up to 10 s) until FILTER is true of its result; print that result.
# On time out, fail showing the last one.
wait_task() {
	local id=$1 filter=$2 tenths=${3:-100} i got=
	shift 3 2>/dev/null || shift $#
	for ((i = 0; i <= tenths; i++)); do
		got=$(task_get "$id") || return 1
		if jq -e "$@" "$filter" >/dev/null 2>&1 <<<"$got"; then
			echo "$got"
			return 0
		fi
		sleep 0.1
	done
	echo "task $id: still not ($filter) after $((tenths / 10)) s:" >&2
	echo "  $got" >&2
	return 1
}

# wait_status TASK_ID STATUS [TENTHS]: wait_task until .task.status is STATUS.
wait_status() {
	wait_task "$1" '.task.status == $s' "${3:-100}" --arg s "$2"
}

# wait_for TENTHS CMD...: run CMD every 0.1 s until it succeeds (bounded).
wait_for() {
	local tenths=$1 i
	shift
	for ((i = 0; i <= tenths; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	echo "not true after $((tenths / 10)) s: $*" >&2
	return 1
}

# task_pids TASK_ID: live processes of that task's daughters, found by the
# VX11_TASK_ID in their environment (double-forked and setsid ones too). One
# grep over /proc: fast enough to sample while a daughter runs.
task_pids() {
	local f pid
	for f in $(grep -lzx "VX11_TASK_ID=$1" /proc/[0-9]*/environ 2>/dev/null); do
		pid=${f#/proc/}
		pid=${pid%/environ}
		[[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
		alive "$pid" && echo "$pid"
	done
	return 0
}

# no_task_pids TASK_ID: true when no process of that task is left.
no_task_pids() {
	[[ -z $(task_pids "$1") ]]
}

# task_logs TASK_ID STREAM [ATTEMPT]: the whole kept output of one stream of
# one attempt (default the last), read by task.logs pages until eof.
task_logs() {
	local id=$1 stream=$2 attempt=${3:-} offset=0 page params
	while :; do
		params=$(jq -cn --arg id "$id" --arg s "$stream" --arg a "$attempt" --argjson o "$offset" \
			'{task_id:$id, stream:$s, offset:$o} + (if $a == "" then {} else {attempt:($a | tonumber)} end)')
		page=$(result task.logs "$params") || return 1
		jq -j .data <<<"$page"
		jq -e .eof >/dev/null <<<"$page" && return 0
		offset=$(jq .next_offset <<<"$page")
	done
}

# For jq filters over timestamps: `ts` turns "2026-01-02T03:04:05.678901Z"
# into seconds since the epoch, microseconds kept (jq 1.6 cannot parse them).
JQ_TS='def ts: (.[0:19] + "Z" | fromdateiso8601) + ("0" + .[19:-1] | tonumber);'

# now_s: the wall clock in seconds, microseconds kept.
now_s() {
	echo "${EPOCHREALTIME/,/.}"
}

# ts_s TIMESTAMP: an RFC 3339 timestamp of the daemon's as now_s would say it.
ts_s() {
	jq -rn --arg t "$1" "$JQ_TS"'$t | ts'
}

# holds CONDITION: an awk condition over numbers (floats welcome), e.g.
# "$end - $start >= 2"; fails saying which one did not hold.
holds() {
	if ! awk "BEGIN { exit !($1) }" </dev/null; then
		echo "does not hold: $1" >&2
		return 1
	fi
}

# check_json JSON FILTER [jq args...]: check, and no JSON at all fails too.
# jq 1.6 -e exits 0 on empty input, so check "$(a failed command)" passes.
check_json() {
	if [[ $1 != *[![:space:]]* ]]; then
		echo "check failed: $2" >&2
		echo "  on nothing (the command that should have printed the JSON failed?)" >&2
		return 1
	fi
	check "$@"
}

# wait_running TASK_ID [TENTHS]: wait until the task runs and its last
# daughter is past spawning (its pid and cgroup are known); print task.get.
wait_running() {
	wait_task "$1" '.task.status == "running" and .daughters[-1].status == "running"' "${2:-100}"
}

# ---------------------------------------------------------------------------
# Installing (install.bats, systemd.bats)

# install_dir NAME: an installation directory of the build under test
# (bindir, sbindir, systemdsystemunitdir, ...), from VX11_INSTALL_DIRS.
install_dir() {
	local kv
	[[ -n ${VX11_INSTALL_DIRS:-} ]] || { echo "VX11_INSTALL_DIRS is not set (run through make check)" >&2; return 1; }
	for kv in $VX11_INSTALL_DIRS; do
		[[ ${kv%%=*} == "$1" ]] && { echo "${kv#*=}"; return 0; }
	done
	echo "no installation directory named $1" >&2
	return 1
}

# stage_install DESTDIR [TARGET]: `make install DESTDIR=...` (or TARGET) of
# the build under test, as a packager would; the log goes to DESTDIR.log.
stage_install() {
	# Not the jobserver of the `make check` that runs us.
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$VX11_BUILDDIR" "${2:-install}" DESTDIR="$1" >"$1.log" 2>&1 ||
		{ cat "$1.log" >&2; return 1; }
}

# ---------------------------------------------------------------------------
# vx11-switch (switch.bats): the reference switch on $T/switch.sock

: "${VX11_SWITCH:=$VX11_BUILDDIR/switch/vx11-switch}"
export VX11_SWITCH
SWITCH_PID=
SWITCH_SOCKET=

# switch_config [JQ_FILTER [JQ_ARGS...]]: write $T/switch.json, the base below
# transformed by JQ_FILTER (with JQ_ARGS, e.g. --arg p "$path"). Three routes,
# the default one, and one provider: the shipped echo-provider.
switch_config() {
	local filter=${1:-.}
	shift || true
	vx11_tmpdir
	jq --arg echo "$VX11_SRCDIR/switch/providers/echo-provider" "$@" ".providers.echo.argv = [\$echo] | $filter" \
		>"$T/switch.json" <<'JSON'
{
  "routes": [
    { "name": "summaries", "intent_type": "analysis*", "text": "summar(y|ise|ize)",
      "provider": "local-llm", "model": "m-7b", "approach": "split-and-summarise",
      "score": 0.82, "task_type": "analysis", "steps": ["split", "summarise", "merge"] },
    { "intent_type": "analysis*", "provider": "local-llm", "approach": "direct-analysis" },
    { "intent_type": "code.*", "provider": "cli", "model": "coder-1", "approach": "single-pass",
      "score": 1, "response": { "hint": "use the cli" } }
  ],
  "default_route": { "provider": "fallback", "approach": "direct" },
  "providers": {
    "echo": { "argv": [], "timeout_ms": 5000 }
  },
  "default_provider": "echo"
}
JSON
}

# launch_switch [ARGS...]: vx11-switch on $T/switch.sock with $T/switch.json
# (written if missing) unless ARGS name --config; stderr appended to
# $T/switch.log; sets SWITCH_PID. Does not wait: see start_switch.
launch_switch() {
	local a have_config=
	vx11_tmpdir
	for a in "$@"; do
		[[ $a == --config || $a == -c ]] && have_config=1
	done
	if [[ -z $have_config ]]; then
		[[ -e $T/switch.json ]] || switch_config
		set -- --config "$T/switch.json" "$@"
	fi
	SWITCH_SOCKET=$T/switch.sock
	(
		_bg_close_fds
		exec "$VX11_SWITCH" --socket "$SWITCH_SOCKET" --log-target stderr "$@"
	) 2>>"$T/switch.log" </dev/null >/dev/null &
	SWITCH_PID=$!
}

# srpc LINE...: send the lines to the switch; print its answers.
srpc() {
	printf '%s\n' "$@" | socat -t 5 - "UNIX-CONNECT:$SWITCH_SOCKET"
}

# start_switch [ARGS...]: launch_switch, then wait (bounded) until it answers
# switch.health; fail with its log if it exits or never answers.
start_switch() {
	local i reply
	launch_switch "$@"
	for ((i = 0; i < VX11_START_TENTHS; i++)); do
		# Not a pipe into jq -e: jq 1.6 -e succeeds on empty input (see daemon_answers).
		if [[ -S $SWITCH_SOCKET ]] &&
			reply=$(srpc '{"jsonrpc":"2.0","id":0,"method":"switch.health"}' 2>/dev/null) &&
			[[ $reply == *[![:space:]]* ]] && jq -e '.result.status == "ok"' >/dev/null 2>&1 <<<"$reply"; then
			return 0
		fi
		if ! alive "$SWITCH_PID"; then
			echo "vx11-switch exited before it was ready; its log:" >&2
			cat "$T/switch.log" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "vx11-switch did not answer within $((VX11_START_TENTHS / 10)) s; its log:" >&2
	cat "$T/switch.log" >&2
	return 1
}

# For setup(): a fresh temporary directory; no vx11d needed.
switch_setup() {
	if [[ ! -x $VX11_SWITCH ]]; then
		echo "vx11-switch not found at $VX11_SWITCH: build it, or set VX11_BUILDDIR or VX11_SWITCH" >&2
		return 1
	fi
	T=
	SWITCH_PID=
	DAEMON_PID=
	_VX11_CONNS=()
	vx11_tmpdir
}

# For teardown(), before vx11_teardown: stop the switch (SIGTERM, then -9),
# show its log when the test failed. A sanitizer's report (an ASan build)
# fails the test.
switch_teardown() {
	local clean=0
	if [[ -n $SWITCH_PID ]] && alive "$SWITCH_PID"; then
		kill -TERM "$SWITCH_PID" 2>/dev/null || true
		wait_exit "$SWITCH_PID" 50 2>/dev/null || { kill -9 "$SWITCH_PID" 2>/dev/null; wait "$SWITCH_PID" 2>/dev/null; }
	fi
	SWITCH_PID=
	if [[ -n $T && -s $T/switch.log ]] && grep -q 'Sanitizer' "$T/switch.log"; then
		echo "vx11-switch: a sanitizer reported (log below)" >&2
		clean=1
	fi
	if [[ ( -z ${BATS_TEST_COMPLETED:-} || $clean -ne 0 ) && -n $T && -s $T/switch.log ]]; then
		echo "# --- vx11-switch log ($T/switch.log) ---"
		sed 's/^/# /' "$T/switch.log" | tail -n 100
	fi
	return $clean
}
