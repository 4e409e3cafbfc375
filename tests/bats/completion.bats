#!/usr/bin/env bats
# The bash completion of vx11ctl (client/vx11ctl.bash), driven as bash drives
# it: COMP_WORDS, COMP_CWORD, COMP_LINE and COMP_POINT set, _vx11ctl called,
# COMPREPLY compared exactly. Commands and options are compared with what
# `vx11ctl --help` and `vx11ctl COMMAND --help` print, so a command or option
# added to vx11ctl but not to the completion fails here. Task ids come from a
# real daemon on its real socket. Every scenario runs twice: in a bare bash,
# and with bash-completion loaded (its _init_completion and _filedir).
# No daughter runs here (max_running is 0): tasks stay queued.

load helpers

BASH_COMPLETION=${VX11_BASH_COMPLETION:-/usr/share/bash-completion/bash_completion}

setup() {
	vx11_setup
	VX11_POLICY_PREFIX='.limits.max_running = 0'
	[[ -x $VX11CTL ]] || skip "vx11ctl is not built ($VX11CTL)"
	HANG_PID=
}

teardown() {
	if [[ -n $HANG_PID ]]; then
		kill -9 "$HANG_PID" 2>/dev/null || true
		wait "$HANG_PID" 2>/dev/null || true
	fi
	vx11_teardown
}

# ---------------------------------------------------------------------------
# The two ways the script is used

bare_bash() {
	if declare -F _init_completion >/dev/null; then
		echo "bash-completion is loaded in what should be a bare bash" >&2
		return 1
	fi
	source "$VX11_SRCDIR/client/vx11ctl.bash"
}

with_bash_completion() {
	[[ -r $BASH_COMPLETION ]] || skip "bash-completion is not installed ($BASH_COMPLETION)"
	source "$BASH_COMPLETION"
	declare -F _init_completion >/dev/null
	source "$VX11_SRCDIR/client/vx11ctl.bash"
}

# comp LINE: complete at the end of LINE as bash does with its default
# COMP_WORDBREAKS: words split at blanks, "=" a word of its own
# ("--socket=/x" is "--socket" "=" "/x"), an empty last word when LINE ends
# with a blank. The reply is left in COMPREPLY; what _vx11ctl wrote to stdout
# or stderr is in $T/printed.
comp() {
	local line=$1 w
	local -a parts
	COMP_LINE=$line
	COMP_POINT=${#line}
	COMP_WORDS=()
	read -ra parts <<<"$line"
	for w in "${parts[@]}"; do
		while [[ $w == *=* ]]; do
			[[ -n ${w%%=*} ]] && COMP_WORDS+=("${w%%=*}")
			COMP_WORDS+=("=")
			w=${w#*=}
		done
		[[ -z $w ]] || COMP_WORDS+=("$w")
	done
	[[ $line != *[[:blank:]] ]] || COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=(junk) # _vx11ctl must set it, not add to it
	# As in an interactive shell, without bats' errexit: bash-completion's
	# own helpers (_filedir) are not written for it.
	set +e
	_vx11ctl >"$T/printed" 2>&1
	local status=$?
	set -e
	equals "$status" 0
}

# The reply, sorted, one a line.
reply() {
	((${#COMPREPLY[@]} == 0)) || printf '%s\n' "${COMPREPLY[@]}" | sort
}

# lines WORD...: the words sorted, one a line, as reply prints them.
lines() {
	(($# == 0)) || printf '%s\n' "$@" | sort
}

# expect_reply LINE [WORD...]: completing LINE offers exactly these words,
# and prints nothing.
expect_reply() {
	local line=$1
	shift
	comp "$line"
	equals "$(reply)" "$(lines "$@")" || {
		echo "  completing: '$line'" >&2
		return 1
	}
	nothing_printed
}

nothing_printed() {
	if [[ -s $T/printed ]]; then
		echo "_vx11ctl printed:" >&2
		cat "$T/printed" >&2
		return 1
	fi
}

# The commands `vx11ctl --help` lists, one a line.
help_commands() {
	"$VX11CTL" --help | sed -n '/^Commands:$/,/^$/s/^  \([^ ]\{1,\}\)  .*/\1/p'
}

# The global options `vx11ctl --help` lists ("  -h, --help  ..." is two).
help_global_options() {
	"$VX11CTL" --help | sed -n '/^Options (before or after the command):$/,/^$/p' |
		grep -oE '^  (-[a-zA-Z], )?--[a-z-]+' | tr -d ' ' | tr ',' '\n' | sort -u
}

# The options `vx11ctl VERB --help` names: those of its Usage line, of its
# Options section, and the global ones it ends with.
help_verb_options() {
	local text
	text=$("$VX11CTL" "$1" --help)
	{
		head -n 1 <<<"$text" | grep -oE '(\[|\| )--?[a-z][a-z-]*' | sed 's/^\(\[\|| \)//'
		sed -n '/^Options:$/,/^$/p' <<<"$text" | grep -oE '^  (-[a-z], )?--[a-z-]+' | tr -d ' ' | tr ',' '\n'
		grep '^Global options:' <<<"$text" | sed 's/;.*//' | grep -oE -- '--?[a-z][a-z-]*'
	} | sort -u
}

# submit_ids N: N queued tasks; sets TASK_IDS and CORRELATION_IDS.
submit_ids() {
	local i env
	TASK_IDS=()
	CORRELATION_IDS=()
	for ((i = 0; i < $1; i++)); do
		env=$(submit_queued noop) || return 1
		TASK_IDS+=("$(jq -r .response.task_id <<<"$env")")
		CORRELATION_IDS+=("$(jq -r .correlation_id <<<"$env")")
	done
}

# ---------------------------------------------------------------------------
# Scenarios, each run in both modes below

# The commands, exactly those of --help, after any global options.
commands_as_in_help() {
	local -a cmds
	mapfile -t cmds < <(help_commands)
	# The help format is what this test reads: it must have found them all.
	((${#cmds[@]} >= 14))
	expect_reply "$VX11CTL " "${cmds[@]}"
	expect_reply "$VX11CTL --json --socket $T/x.sock " "${cmds[@]}"
	expect_reply "$VX11CTL --socket=$T/x.sock --json " "${cmds[@]}"
	expect_reply "$VX11CTL -- " "${cmds[@]}"
	expect_reply "$VX11CTL --json t" task tasks types
	expect_reply "$VX11CTL d" daughters
	expect_reply "$VX11CTL x"
	# Before the command: the global options, exactly those of --help.
	mapfile -t cmds < <(help_global_options)
	((${#cmds[@]} >= 4))
	expect_reply "$VX11CTL -" "${cmds[@]}"
	expect_reply "$VX11CTL --js" --json
}

# Each command's options: exactly those its --help names (its own and the global ones).
options_as_in_help() {
	local v
	local -a opts
	for v in $(help_commands); do
		mapfile -t opts < <(help_verb_options "$v")
		((${#opts[@]} >= 5)) # at least the global ones: the format is understood
		expect_reply "$VX11CTL $v -" "${opts[@]}"
		# After the global options before the command, and after an operand
		# (but the first operand of spawn and run is the command to run: its options follow).
		if [[ $v == spawn || $v == run ]]; then
			expect_reply "$VX11CTL --json $v --ttl 5 -" "${opts[@]}"
		else
			expect_reply "$VX11CTL --json $v x -" "${opts[@]}"
		fi
	done
}

logs_options() {
	expect_reply "$VX11CTL logs -" --attempt --stderr --both -f --follow --socket --json --utc -h --help --version
	expect_reply "$VX11CTL logs --" --attempt --stderr --both --follow --socket --json --utc --help --version
	expect_reply "$VX11CTL logs 0190 --s" --stderr --socket
	expect_reply "$VX11CTL --json logs -f --fo" --follow
	# --attempt N: nothing to offer, and no task ids either.
	expect_reply "$VX11CTL logs --attempt "
	expect_reply "$VX11CTL logs --attempt="
	# Options of another command are not logs'.
	expect_reply "$VX11CTL logs --pri"
}

option_values() {
	expect_reply "$VX11CTL tasks --status " pending planning running retrying completed failed expired cancelled
	expect_reply "$VX11CTL tasks --status c" completed cancelled
	expect_reply "$VX11CTL tasks --status=pending,r" pending,running pending,retrying
	expect_reply "$VX11CTL tasks --status running,pending,p" running,pending,planning
	expect_reply "$VX11CTL daughters --status e" exited expired
	expect_reply "$VX11CTL submit x --priority " P0 P1 P2 P3
	expect_reply "$VX11CTL submit --source=o" operator
	expect_reply "$VX11CTL tasks --source " shub operator madre hijas
	expect_reply "$VX11CTL spawn --profile " default strict none
	expect_reply "$VX11CTL submit x --ttl "
	expect_reply "$VX11CTL report --status "
	# A flag takes no value: after it, the operands (none for status).
	expect_reply "$VX11CTL status --json "
	expect_reply "$VX11CTL status "
	# --socket: files, before or after the command, as "--socket PATH" or "--socket=PATH".
	mkdir "$T/socks" "$T/socks/dir"
	: >"$T/socks/one.sock"
	: >"$T/socks/other"
	expect_reply "$VX11CTL --socket $T/socks/" "$T/socks/one.sock" "$T/socks/other" "$T/socks/dir"
	expect_reply "$VX11CTL --socket=$T/socks/o" "$T/socks/one.sock" "$T/socks/other"
	expect_reply "$VX11CTL tasks --socket $T/socks/on" "$T/socks/one.sock"
	# spawn: COMMAND is a file, and so is what follows it; its options are its own.
	expect_reply "$VX11CTL spawn --ttl 5 $T/socks/on" "$T/socks/one.sock"
	expect_reply "$VX11CTL spawn $T/socks/one.sock $T/socks/ot" "$T/socks/other"
	expect_reply "$VX11CTL spawn $T/socks/one.sock --pro"
}

# Task ids from the daemon on the socket a --socket on the line names.
ids_from_socket_option() {
	start_daemon
	submit_ids 3
	local good=$VX11_SOCKET
	export VX11_SOCKET=$T/elsewhere.sock
	expect_reply "$VX11CTL --socket $good task " "${TASK_IDS[@]}"
	expect_reply "$VX11CTL --socket=$good logs " "${TASK_IDS[@]}"
	expect_reply "$VX11CTL --json --socket $good --json watch " "${TASK_IDS[@]}"
	# After the command too.
	expect_reply "$VX11CTL task --socket $good " "${TASK_IDS[@]}"
	expect_reply "$VX11CTL logs --stderr --socket=$good " "${TASK_IDS[@]}"
	# The socket matters: without it, $VX11_SOCKET names nothing, so no ids.
	expect_reply "$VX11CTL task "
	expect_reply "$VX11CTL --socket $T/nothing.sock task "
}

# Task ids from the daemon on $VX11_SOCKET, for each place that takes one.
ids_from_environment() {
	start_daemon
	submit_ids 3
	expect_reply "$VX11CTL task " "${TASK_IDS[@]}"
	expect_reply "$VX11CTL logs " "${TASK_IDS[@]}"
	expect_reply "$VX11CTL logs --attempt 1 -f " "${TASK_IDS[@]}"
	expect_reply "$VX11CTL watch " "${TASK_IDS[@]}"
	expect_reply "$VX11CTL tasks --after " "${TASK_IDS[@]}"
	expect_reply "$VX11CTL spawn --parent " "${TASK_IDS[@]}"
	expect_reply "$VX11CTL spawn --parent=" "${TASK_IDS[@]}"
	# result takes a correlation id: a task's intent's.
	expect_reply "$VX11CTL result " "${CORRELATION_IDS[@]}"
	# Only tasks that have not ended can be cancelled.
	result task.cancel "$(jq -cn --arg id "${TASK_IDS[1]}" '{task_id:$id}')" >/dev/null
	expect_reply "$VX11CTL cancel " "${TASK_IDS[0]}" "${TASK_IDS[2]}"
	expect_reply "$VX11CTL task " "${TASK_IDS[@]}"
	# One operand only; and no ids where none is taken.
	expect_reply "$VX11CTL task ${TASK_IDS[0]} "
	expect_reply "$VX11CTL cancel ${TASK_IDS[0]} "
	expect_reply "$VX11CTL tasks "
	expect_reply "$VX11CTL daughters "
	expect_reply "$VX11CTL submit "
	# A "-" asks for options, not ids.
	expect_reply "$VX11CTL cancel --" --socket --json --utc --help --version
	# The vx11ctl that asks is the one being completed, found in $PATH by its name too.
	PATH=$(dirname "$VX11CTL"):$PATH expect_reply "vx11ctl task " "${TASK_IDS[@]}"
	PATH=/nonexistent expect_reply "vx11ctl task "
}

# What is typed of an id filters them.
id_prefix_filters() {
	start_daemon
	submit_ids 3
	local id=${TASK_IDS[2]} p n other unique='' i
	local -a expected
	# The shortest prefix of the last id no other id has.
	for ((n = 1; n <= ${#id}; n++)); do
		p=${id:0:n}
		unique=1
		for other in "${TASK_IDS[@]:0:2}"; do
			[[ $other == "$p"* ]] && unique=
		done
		[[ -n $unique ]] && break
	done
	[[ -n $unique ]]
	expect_reply "$VX11CTL task $p" "$id"
	expect_reply "$VX11CTL --socket=$VX11_SOCKET logs $p" "$id"
	expect_reply "$VX11CTL task $id" "$id"
	# A shorter prefix: every id that has it, however many that is.
	p=${id:0:n-1}
	expected=()
	for i in "${TASK_IDS[@]}"; do
		[[ $i == "$p"* ]] && expected+=("$i")
	done
	((${#expected[@]} >= 2))
	expect_reply "$VX11CTL task $p" "${expected[@]}"
	# Ids are hexadecimal: nothing starts with z.
	expect_reply "$VX11CTL task z"
	expect_reply "$VX11CTL result ${CORRELATION_IDS[0]}" "${CORRELATION_IDS[0]}"
}

# No daemon: no ids, and nothing on the terminal.
no_daemon_no_ids() {
	export VX11_SOCKET=$T/nothing.sock
	expect_reply "$VX11CTL task "
	expect_reply "$VX11CTL logs 01"
	expect_reply "$VX11CTL cancel "
	expect_reply "$VX11CTL result "
	expect_reply "$VX11CTL watch "
	expect_reply "$VX11CTL --socket $T/nothing.sock tasks --after "
	# A socket file nobody listens on (a crashed daemon's leftover).
	(
		_bg_close_fds
		exec socat UNIX-LISTEN:"$T/stale.sock" /dev/null
	) &
	local spid=$!
	wait_for 50 test -S "$T/stale.sock"
	kill -9 "$spid"
	wait "$spid" || true
	expect_reply "$VX11CTL --socket $T/stale.sock task "
	# A daemon that refuses: a socket that is not a socket.
	: >"$T/file.sock"
	expect_reply "$VX11CTL --socket=$T/file.sock cancel "
	# The commands and options still complete.
	expect_reply "$VX11CTL tas" task tasks
}

# A daemon that never answers costs at most about 2 s, and no leftover process.
hung_daemon_is_bounded() {
	# Reads the request, never replies, and exits once the client has hung up.
	(
		_bg_close_fds
		exec socat -u UNIX-LISTEN:"$T/hang.sock" /dev/null
	) &
	HANG_PID=$!
	wait_for 50 test -S "$T/hang.sock"
	local start end
	start=$(now_s)
	expect_reply "$VX11CTL --socket $T/hang.sock task "
	end=$(now_s)
	holds "$end - $start < 3.5"
	# The client did connect, and it is gone: the listener saw it hang up.
	wait_exit "$HANG_PID" 30
	HANG_PID=
}

# ---------------------------------------------------------------------------
# Bare bash

@test "bare bash: sourcing the script registers _vx11ctl for vx11ctl" {
	bare_bash
	equals "$(complete -p vx11ctl)" "complete -F _vx11ctl vx11ctl"
	# Sourcing prints nothing.
	run bash --norc --noprofile -c 'source "$1"' - "$VX11_SRCDIR/client/vx11ctl.bash"
	equals "$output" ""
}

@test "bare bash: commands and global options, exactly as vx11ctl --help lists them" {
	bare_bash
	commands_as_in_help
}

@test "bare bash: each command's options, exactly as vx11ctl COMMAND --help names them" {
	bare_bash
	options_as_in_help
}

@test "bare bash: logs' options" {
	bare_bash
	logs_options
}

@test "bare bash: option values (states, sources, priorities, profiles, socket files)" {
	bare_bash
	option_values
}

@test "bare bash: task ids from the daemon that --socket names" {
	bare_bash
	ids_from_socket_option
}

@test "bare bash: task ids from the daemon on \$VX11_SOCKET; cancel offers only live tasks" {
	bare_bash
	ids_from_environment
}

@test "bare bash: a typed prefix filters the ids" {
	bare_bash
	id_prefix_filters
}

@test "bare bash: no daemon, no ids and nothing printed" {
	bare_bash
	no_daemon_no_ids
}

@test "bare bash: a daemon that does not answer is given 2 s" {
	bare_bash
	hung_daemon_is_bounded
}

@test "bare bash: the cursor inside a word completes what is before it" {
	bare_bash
	COMP_WORDS=("$VX11CTL" "tasks" "--json")
	COMP_CWORD=1
	COMP_LINE="$VX11CTL tasks --json"
	COMP_POINT=$((${#VX11CTL} + 4))
	_vx11ctl
	equals "$(reply)" "$(lines task tasks)"
}

# ---------------------------------------------------------------------------
# With bash-completion

@test "bash-completion: _init_completion is what reads the line" {
	with_bash_completion
	eval "$(declare -f _init_completion | sed '1s/^_init_completion/_vx11_test_real_init_completion/')"
	_init_completion() {
		INIT_CALLS=$((INIT_CALLS + 1))
		_vx11_test_real_init_completion "$@"
	}
	INIT_CALLS=0
	expect_reply "$VX11CTL --json t" task tasks types
	equals "$INIT_CALLS" 1
}

@test "bash-completion: commands and global options, exactly as vx11ctl --help lists them" {
	with_bash_completion
	commands_as_in_help
}

@test "bash-completion: each command's options, exactly as vx11ctl COMMAND --help names them" {
	with_bash_completion
	options_as_in_help
}

@test "bash-completion: logs' options" {
	with_bash_completion
	logs_options
}

@test "bash-completion: option values (states, sources, priorities, profiles, socket files)" {
	with_bash_completion
	option_values
}

@test "bash-completion: task ids from the daemon that --socket names" {
	with_bash_completion
	ids_from_socket_option
}

@test "bash-completion: task ids from the daemon on \$VX11_SOCKET; cancel offers only live tasks" {
	with_bash_completion
	ids_from_environment
}

@test "bash-completion: a typed prefix filters the ids" {
	with_bash_completion
	id_prefix_filters
}

@test "bash-completion: no daemon, no ids and nothing printed" {
	with_bash_completion
	no_daemon_no_ids
}

@test "bash-completion: a daemon that does not answer is given 2 s" {
	with_bash_completion
	hung_daemon_is_bounded
}
