#!/usr/bin/env bats
# vx11ctl as a user would use it, against the real daemon: help, a first
# session, --json output equal to the raw protocol, the socket choice and the
# exit codes (0 success, 1 daemon error or intent ERROR, 2 usage, 3 no daemon,
# 4-7 how a task followed by submit --wait ended). No daughter runs here
# (max_running is 0); daughters.bats drives logs, spawn, heartbeat, report and
# watch against real ones.

load helpers

VERBS=(submit run result wait rerun tasks task logs cancel daughters spawn status types audit watch reload heartbeat report)

setup() {
	vx11_setup
	# These suites look at the queue and the protocol: no task starts
	# unless a test raises max_running (daughters.bats runs them).
	VX11_POLICY_PREFIX='.limits.max_running = 0'
	[[ -x $VX11CTL ]] || skip "vx11ctl is not built ($VX11CTL)"
}

teardown() {
	vx11_teardown
}

ctl() {
	"$VX11CTL" "$@"
}

# Normalize JSON for comparison: sorted keys, compact.
norm() {
	jq -S -c "${1:-.}"
}

@test "--version: the package version, exit 0" {
	run -0 ctl --version
	equals "$output" "vx11ctl $("$VX11D" --version | awk '{ print $2 }')"
}

@test "--help lists every command; COMMAND --help shows its usage; exit 0" {
	run -0 ctl --help
	[[ $output == "Usage: vx11ctl"* ]]
	for v in "${VERBS[@]}"; do
		grep -Eq "^  $v " <<<"$output" || {
			echo "--help does not list $v" >&2
			return 1
		}
	done
	for v in "${VERBS[@]}"; do
		run -0 ctl "$v" --help
		[[ $output == "Usage: vx11ctl $v"* ]] || {
			echo "$v --help: $output" >&2
			return 1
		}
		run -0 ctl "$v" -h
		[[ $output == "Usage: vx11ctl $v"* ]]
	done
}

@test "usage errors exit 2 with a pointer to --help" {
	run -2 --separate-stderr ctl
	[[ $stderr == *"see 'vx11ctl --help'"* ]]
	run -2 --separate-stderr ctl frobnicate
	[[ $stderr == *frobnicate* ]]
	run -2 --separate-stderr ctl tasks --colour
	[[ $stderr == *"--colour"* && $stderr == *"vx11ctl tasks --help"* ]]
	run -2 --separate-stderr ctl task
	[[ $stderr == *"vx11ctl task --help"* ]]
	run -2 ctl status extra
	run -2 ctl tasks --limit many
	run -2 ctl submit x --payload 'not json'
	run -2 ctl submit x --payload '[1]'
	run -2 ctl --socket
	# None of them needed a daemon: nothing listens here.
	[[ ! -e $T/vx11.sock ]]
}

@test "cannot connect: exit 3 with the hint 'is vx11d running?'" {
	run -3 --separate-stderr ctl --socket "$T/nothing.sock" status
	[[ $stderr == *"is vx11d running?"* ]]
	# A socket file nobody listens on (a crashed daemon's leftover).
	(
		_bg_close_fds
		exec socat UNIX-LISTEN:"$T/stale.sock" /dev/null
	) &
	spid=$!
	for _ in $(seq 50); do [[ -S $T/stale.sock ]] && break; sleep 0.05; done
	kill -9 "$spid"
	wait "$spid" || true
	[[ -S $T/stale.sock ]]
	run -3 --separate-stderr ctl --socket "$T/stale.sock" submit hello
	[[ $stderr == *"is vx11d running?"* ]]
}

@test "the socket: --socket, else \$VX11_SOCKET" {
	start_daemon
	good=$VX11_SOCKET
	VX11_SOCKET=$T/wrong.sock run -0 ctl --socket "$good" status
	VX11_SOCKET=$good run -0 ctl status
	VX11_SOCKET=$T/wrong.sock run -3 ctl status
	# --socket wins over the environment either way round.
	VX11_SOCKET=$good run -3 ctl --socket "$T/wrong.sock" status
	# After the verb too.
	VX11_SOCKET=$T/wrong.sock run -0 ctl status --socket "$good"
}

@test "a first session: submit, tasks, task, cancel, result, status, audit, daughters, reload" {
	start_daemon

	run -0 ctl submit hello --text "say hello"
	[[ ${lines[0]} =~ ^[0-9a-f-]+\ \ DONE\ \ MADRE\ \ fallback_local$ ]]
	[[ $output == *"  result: intent_processed"* && $output == *"  steps_executed: 1"* ]]

	run -0 ctl submit noop --spawner --text "do it"
	[[ ${lines[0]} =~ ^([0-9a-f-]+)\ \ QUEUED\ \ SPAWNER\ \ spawner$ ]]
	cid=${BASH_REMATCH[1]}
	[[ ${lines[1]} =~ ^task\ ([0-9a-f-]+)\ queued$ ]]
	tid=${BASH_REMATCH[1]}

	# Ids cut short to their first 13 characters, enough for one task.
	run -0 ctl tasks
	[[ ${lines[0]} =~ ^ID\ +STATUS\ +PRIO\ +SOURCE\ +TYPE\ +RETRY\ +RUNTIME\ +CREATED$ ]]
	equals "${#lines[@]}" 2
	[[ ${lines[1]} =~ ^${tid:0:13}\ +pending\ +P1\ +operator\ +noop\ +0/1\ +-\ +[0-9-]{10}\ [0-9:]{8}$ ]]

	run -0 ctl task "$tid"
	[[ $output == *"id: $tid"* && $output == *"status: pending"* && $output == *"description: do it"* ]]
	[[ $output == *"intent_id: $cid"* && $output == *"no daughters yet"* ]]

	run -0 ctl result "$cid"
	[[ $output == *"status: QUEUED"* && $output == *"correlation_id: $cid"* ]]

	run -0 ctl cancel "$tid"
	equals "$output" "task $tid cancelled (0 daughters killed)"

	run -1 ctl result "$cid"
	[[ $output == *"status: CANCELLED"* ]]

	run -0 ctl tasks --status cancelled
	[[ ${lines[1]} =~ ^${tid:0:13}\ +cancelled ]]
	run -0 ctl tasks --status cancelled --full-ids
	[[ ${lines[1]} =~ ^$tid\ +cancelled ]]
	run -0 ctl tasks --status pending
	equals "$output" "no tasks"

	run -0 ctl status
	[[ $output == *"version: "* && $output == *"pid: $DAEMON_PID"* && $output == *"policy_mode: solo_madre"* ]]
	[[ $output == *"queue_depth: 0"* && $output == *"cancelled: 1"* && $output == *"cgroup: $(expected_cgroup_mode)"* ]]

	# Newest first: the queued intent, then hello.
	run -0 ctl audit
	[[ ${lines[0]} =~ ^TIME\ +CORRELATION_ID\ +UID\ +SOURCE\ +TYPE\ +STATUS\ +ERROR$ ]]
	equals "${#lines[@]}" 3
	[[ ${lines[1]} =~ \ ${cid:0:13}\ +0\ +operator\ +noop\ +QUEUED ]]
	[[ ${lines[2]} =~ \ +0\ +operator\ +hello\ +DONE ]]

	run -0 ctl daughters
	equals "$output" "no daughters"

	run -0 ctl reload
	[[ ${lines[0]} == "policy reloaded" ]]
}

@test "submit: options become the request's params" {
	start_daemon
	run -0 ctl --json submit whatever --spawner --task echo --text "t" --payload '{"k":[1,2]}' \
		--priority P3 --source madre --retries 2 --ttl 5 --idempotency-key key-1
	tid=$(jq -r .response.task_id <<<"$output")
	task=$(result task.get "{\"task_id\":\"$tid\"}")
	check "$task" '.task | .task_type == "echo" and .priority == 3 and .source == "madre" and .max_retries == 2 and .description == "t"'
	# The idempotency key went along: the same intent again gets the same
	# envelope; another intent with the key is a conflict.
	first=$(norm <<<"$output")
	run -0 ctl --json submit whatever --spawner --task echo --text "t" --payload '{"k":[1,2]}' \
		--priority P3 --source madre --retries 2 --ttl 5 --idempotency-key key-1
	equals "$(norm <<<"$output")" "$first"
	run -1 --separate-stderr ctl --json submit whatever --spawner --task echo --idempotency-key key-1
	[[ $stderr == *"(vx11.Conflict)"* ]]
}

@test "exit 1: submit status ERROR, and every daemon error (message and name on stderr)" {
	start_daemon
	run -1 ctl submit hello --switch
	[[ ${lines[0]} == *"  ERROR  FALLBACK  "* && $output == *"error: off_by_policy: "* ]]
	run -1 ctl submit nope --spawner
	[[ $output == *"error: unknown_task: "* ]]

	run -1 --separate-stderr ctl submit x --priority P9
	[[ $stderr == *"priority"*"(vx11.InvalidParams)"* ]]
	run -1 --separate-stderr ctl task no-such-task
	[[ $stderr == *"(vx11.NotFound)"* ]]
	run -1 --separate-stderr ctl task 0123456789
	[[ $stderr == *"(vx11.NotFound)"* ]]
	tid=$(submit_queued noop | jq -r .response.task_id)
	run -0 ctl cancel "$tid"
	run -1 --separate-stderr ctl cancel "$tid"
	[[ $stderr == *"(vx11.Conflict)"* ]]
	run -1 --separate-stderr ctl tasks --status nonsense
	[[ $stderr == *"(vx11.InvalidParams)"* ]]
}

@test "exit 1 for a plain submitter's audit, reload and spawn (vx11.PermissionDenied)" {
	require_root
	start_daemon
	install -m 0755 "$VX11CTL" "$T/vx11ctl"
	run -1 --separate-stderr as_submitter_nobody "$T/vx11ctl" --socket "$VX11_SOCKET" audit
	[[ $stderr == *"(vx11.PermissionDenied)"* ]]
	run -1 --separate-stderr as_submitter_nobody "$T/vx11ctl" --socket "$VX11_SOCKET" reload
	[[ $stderr == *"(vx11.PermissionDenied)"* ]]
	run -1 --separate-stderr as_submitter_nobody "$T/vx11ctl" --socket "$VX11_SOCKET" spawn /bin/true
	[[ $stderr == *"(vx11.PermissionDenied)"* ]]
	run -0 as_submitter_nobody "$T/vx11ctl" --socket "$VX11_SOCKET" status
}

@test "--json: parses, and equals what the raw protocol returns" {
	start_daemon
	env=$(submit_queued noop '{"text":"x"}')
	tid=$(jq -r .response.task_id <<<"$env")
	cid=$(jq -r .correlation_id <<<"$env")
	submit '{"intent_type":"hello"}' >/dev/null

	# tasks and audit ask for the newest first, and the total.
	equals "$(ctl --json tasks | norm)" "$(result task.list '{"order":"desc","total":true}' | norm)"
	equals "$(ctl --json tasks --status pending --limit 5 | norm)" \
		"$(result task.list '{"status":"pending","limit":5,"order":"desc","total":true}' | norm)"
	equals "$(ctl --json task "$tid" | norm)" "$(result task.get "{\"task_id\":\"$tid\"}" | norm)"
	equals "$(ctl --json result "$cid" | norm)" "$(result result.get "{\"correlation_id\":\"$cid\"}" | norm)"
	equals "$(ctl --json audit | norm)" "$(result audit.list '{"order":"desc","total":true}' | norm)"
	equals "$(ctl --json daughters | norm)" "$(result daughter.list | norm)"
	# The counters that move by themselves aside, status too.
	volatile='del(.uptime_seconds, .connections)'
	equals "$(ctl --json status | norm "$volatile")" "$(result daemon.status | norm "$volatile")"
	equals "$(ctl --json reload | norm)" "$(result policy.reload | norm)"
	# Global options may follow the verb.
	equals "$(ctl tasks --json | norm)" "$(ctl --json tasks | norm)"
	equals "$(ctl --json cancel "$tid" | norm)" "$(jq -cn --arg t "$tid" '{status:"cancelled",task_id:$t,cancelled_daughters_count:0}' | norm)"

	# An error: the error object on stdout, exit 1.
	# The id is looked up first (task.resolve): its error.
	run -1 --separate-stderr ctl --json task no-such-task
	equals "$(norm <<<"$output")" "$(call task.resolve '{"id":"no-such-task"}' | norm .error)"
}

@test "result --wait: waits for the task, then shows QUEUED" {
	start_daemon
	cid=$(submit_queued noop | jq -r .correlation_id)
	start=$(date +%s%N)
	run -0 ctl result "$cid" --wait 1
	elapsed=$((($(date +%s%N) - start) / 1000000))
	[[ $output == *"status: QUEUED"* ]]
	((elapsed >= 900 && elapsed < 4000))
}

@test "watch: events as lines while a task is submitted and cancelled; SIGTERM ends it with 0" {
	start_daemon
	(
		_bg_close_fds
		TZ=Asia/Kolkata exec "$VX11CTL" watch
	) >"$T/watch.out" 2>"$T/watch.err" &
	wpid=$!
	for _ in $(seq 50); do grep -q watching "$T/watch.err" && break; sleep 0.1; done
	grep -q "watching all tasks" "$T/watch.err"

	tid=$(submit_queued noop | jq -r .response.task_id)
	result task.cancel "{\"task_id\":\"$tid\"}" >/dev/null
	for _ in $(seq 50); do (($(wc -l <"$T/watch.out") >= 2)) && break; sleep 0.1; done
	mapfile -t ev <"$T/watch.out"
	equals "${#ev[@]}" 2
	# The time in the local zone, as one word.
	[[ ${ev[0]} =~ ^[0-9-]+T[0-9:.]+\+05:30\ task.status\ task=$tid\ status=pending( |$) ]]
	[[ ${ev[1]} =~ ^[0-9-]+T[0-9:.]+\+05:30\ task.status\ task=$tid\ status=cancelled( |$) ]]

	kill -TERM "$wpid"
	wait_exit "$wpid" 50
	equals "$DAEMON_STATUS" 0
}

@test "watch --json TASK_ID: one event object per line, that task only" {
	start_daemon
	a=$(submit_queued noop | jq -r .response.task_id)
	(
		_bg_close_fds
		exec "$VX11CTL" --json watch "$a"
	) >"$T/watch.out" 2>"$T/watch.err" &
	wpid=$!
	for _ in $(seq 50); do grep -q watching "$T/watch.err" && break; sleep 0.1; done
	grep -q "watching task $a" "$T/watch.err"
	b=$(submit_queued noop | jq -r .response.task_id)
	result task.cancel "{\"task_id\":\"$b\"}" >/dev/null
	result task.cancel "{\"task_id\":\"$a\"}" >/dev/null
	for _ in $(seq 50); do (($(wc -l <"$T/watch.out") >= 1)) && break; sleep 0.1; done
	sleep 0.2
	equals "$(wc -l <"$T/watch.out")" 1
	check "$(cat "$T/watch.out")" '.type == "task.status" and .task_id == $a and .status == "cancelled"' --arg a "$a"
	kill -INT "$wpid"
	wait_exit "$wpid" 50
	equals "$DAEMON_STATUS" 0
}

@test "watch ends with 0 when the daemon goes away" {
	start_daemon
	(
		_bg_close_fds
		exec "$VX11CTL" watch
	) >"$T/watch.out" 2>"$T/watch.err" &
	wpid=$!
	for _ in $(seq 50); do grep -q watching "$T/watch.err" && break; sleep 0.1; done
	stop_daemon
	wait_exit "$wpid" 50
	equals "$DAEMON_STATUS" 0
}

@test "usage errors of logs, spawn, heartbeat, report and submit --wait exit 2 without connecting" {
	nowhere=(--socket "$T/nothing.sock")
	run -2 --separate-stderr ctl "${nowhere[@]}" logs
	[[ $stderr == *"vx11ctl logs --help"* ]]
	run -2 --separate-stderr ctl "${nowhere[@]}" logs t --stderr --both
	[[ $stderr == *"--stderr and --both"* ]]
	run -2 --separate-stderr ctl "${nowhere[@]}" logs t --attempt 0
	[[ $stderr == *"--attempt must be at least 1"* ]]
	run -2 ctl "${nowhere[@]}" logs t --attempt x
	# -f is a letter of logs only.
	run -2 --separate-stderr ctl "${nowhere[@]}" tasks -f
	[[ $stderr == *"unknown option -f"* ]]

	run -2 --separate-stderr ctl "${nowhere[@]}" spawn
	[[ $stderr == *"vx11ctl spawn --help"* ]]
	run -2 --separate-stderr ctl "${nowhere[@]}" spawn true
	[[ $stderr == *"absolute path"* ]]
	run -2 ctl "${nowhere[@]}" spawn --ttl soon /bin/true
	run -2 --separate-stderr ctl "${nowhere[@]}" spawn --no-such-option /bin/true
	[[ $stderr == *"unknown option --no-such-option"* ]]
	# After COMMAND, options are the command's: this one got as far as connecting.
	run -3 ctl "${nowhere[@]}" spawn /bin/echo --no-such-option -x --json

	run -2 --separate-stderr ctl "${nowhere[@]}" submit x --timeout 5
	[[ $stderr == *"--timeout goes with --wait"* ]]
	run -2 ctl "${nowhere[@]}" submit x --wait --timeout -1
	run -2 ctl "${nowhere[@]}" submit x --wait --timeout soon

	# report checks its options before it looks for a daughter.
	run -2 --separate-stderr env -u VX11_DAUGHTER_ID -u VX11_DAUGHTER_TOKEN "$VX11CTL" "${nowhere[@]}" report --result '[1]'
	[[ $stderr == *"--result wants a JSON object"* ]]
	run -2 --separate-stderr env -u VX11_DAUGHTER_ID -u VX11_DAUGHTER_TOKEN "$VX11CTL" "${nowhere[@]}" report --tokens-cli -3
	[[ $stderr == *"--tokens-cli must be at least 0"* ]]
}

@test "heartbeat and report outside a daughter: exit 2, saying so" {
	start_daemon
	for verb in heartbeat report; do
		run -2 --separate-stderr env -u VX11_DAUGHTER_ID -u VX11_DAUGHTER_TOKEN "$VX11CTL" $verb
		equals "$output" ""
		equals "$stderr" "vx11ctl: $verb works only inside a daughter: \$VX11_DAUGHTER_ID is not set; see 'vx11ctl $verb --help'"
		# An id without its token is no better.
		run -2 --separate-stderr env -u VX11_DAUGHTER_TOKEN VX11_DAUGHTER_ID=01a2015c-0000-7000-8000-000000000000 "$VX11CTL" $verb --status x
		[[ $stderr == *"works only inside a daughter: \$VX11_DAUGHTER_TOKEN is not set"* ]]
	done
	# And a made-up identity gets no further than the daemon's refusal.
	run -1 --separate-stderr env VX11_DAUGHTER_ID=01a2015c-0000-7000-8000-000000000000 VX11_DAUGHTER_TOKEN=00000000000000000000000000000000 "$VX11CTL" heartbeat
	[[ $stderr == *"(vx11.NotFound)"* ]]
	equals "$output" ""
}

@test "logs: an unknown task, and a task with no attempt yet, are vx11.NotFound (exit 1)" {
	start_daemon
	run -1 --separate-stderr ctl logs no-such-task
	[[ $stderr == *"no task or intent has an id that starts with \"no-such-task\""*"(vx11.NotFound)"* ]]
	equals "$output" ""
	# Following a task that does not exist is an error at once, not a wait.
	run -1 --separate-stderr timeout 10 "$VX11CTL" logs -f no-such-task
	[[ $stderr == *"(vx11.NotFound)"* ]]
	run -1 --separate-stderr ctl --json logs no-such-task
	equals "$(norm <<<"$output")" "$(call task.resolve '{"id":"no-such-task"}' | norm .error)"

	# max_running 0 holds the queue: this task has no attempt.
	tid=$(submit_queued noop | jq -r .response.task_id)
	run -1 --separate-stderr ctl logs "$tid" --both
	[[ $stderr == *"(vx11.NotFound)"* ]]
	run -1 --separate-stderr ctl logs "$tid" --attempt 3
	[[ $stderr == *"(vx11.NotFound)"* ]]
}

@test "logs -f waits for an attempt to start, and gives up with exit 1 when the task ends without one" {
	start_daemon
	tid=$(submit_queued noop | jq -r .response.task_id)
	(
		_bg_close_fds
		exec "$VX11CTL" logs -f "$tid"
	) >"$T/logs.out" 2>"$T/logs.err" &
	lpid=$!
	sleep 1
	alive "$lpid"

	# Meanwhile a reader that goes away ends a wait with 0, with no output to fail on.
	start=$(date +%s%N)
	run -0 timeout 10 bash -c '"$0" logs -f "$1" | true; exit "${PIPESTATUS[0]}"' "$VX11CTL" "$tid"
	elapsed=$((($(date +%s%N) - start) / 1000000))
	((elapsed < 3000))

	result task.cancel "{\"task_id\":\"$tid\"}" >/dev/null
	wait_exit "$lpid" 50
	equals "$DAEMON_STATUS" 1
	equals "$(cat "$T/logs.out")" ""
	grep -q "(vx11.NotFound)" "$T/logs.err"
}

@test "submit --wait: DONE exits 0 at once, ERROR 1, a cancelled task 6, --timeout 7" {
	start_daemon
	run -0 ctl submit hello --wait
	[[ ${lines[0]} == *"  DONE  MADRE  fallback_local" ]]
	run -1 ctl submit hello --switch --wait
	[[ $output == *"error: off_by_policy: "* ]]

	# Held in the queue (max_running 0): the wait ends with the timeout.
	start=$(date +%s%N)
	run -7 --separate-stderr ctl submit noop --spawner --wait --timeout 1
	elapsed=$((($(date +%s%N) - start) / 1000000))
	((elapsed >= 900 && elapsed < 4000))
	[[ ${lines[1]} =~ ^task\ ([0-9a-f-]+)\ queued$ ]]
	[[ $output == *"status: QUEUED"* ]]
	equals "$stderr" "vx11ctl: the task has not ended after 1 s"

	# Cancelled while waited for: exit 6, and the final result printed.
	(
		_bg_close_fds
		exec "$VX11CTL" submit noop --spawner --wait
	) >"$T/wait.out" 2>"$T/wait.err" &
	wpid=$!
	for _ in $(seq 50); do grep -q queued "$T/wait.out" && break; sleep 0.1; done
	tid=$(awk '$1 == "task" && $3 == "queued" { print $2 }' "$T/wait.out")
	[[ -n $tid ]]
	sleep 0.3
	alive "$wpid"
	result task.cancel "{\"task_id\":\"$tid\"}" >/dev/null
	wait_exit "$wpid" 50
	equals "$DAEMON_STATUS" 6
	grep -qx "status: CANCELLED" "$T/wait.out"
	grep -qx "  task_id: $tid" "$T/wait.out"

	# --json: the envelope, then the final result.
	run -7 --separate-stderr ctl --json submit noop --spawner --wait --timeout 0
	check "$(jq -s -c . <<<"$output")" 'length == 2 and .[0].status == "QUEUED" and .[1].status == "QUEUED"
		and .[1].correlation_id == .[0].correlation_id and .[1].result.task_id == .[0].response.task_id'
}

@test "a priority is spelt P0..P3 everywhere: tasks, task and watch" {
	start_daemon
	(
		_bg_close_fds
		exec "$VX11CTL" watch
	) >"$T/watch.out" 2>"$T/watch.err" &
	wpid=$!
	for _ in $(seq 50); do grep -q watching "$T/watch.err" && break; sleep 0.1; done
	tid=$(submit_queued noop '{"priority":"P3"}' | jq -r .response.task_id)

	run -0 ctl tasks
	[[ ${lines[1]} =~ ^${tid:0:13}\ +pending\ +P3\ +operator\ +noop\  ]]
	run -0 ctl task "$tid"
	grep -qx "priority: P3" <<<"$output"
	run ! grep -q "priority: 3" <<<"$output"

	for _ in $(seq 50); do [[ -s $T/watch.out ]] && break; sleep 0.1; done
	grep -Eq "^[^ ]+ task.status task=$tid status=pending .*priority=P3( |$)" "$T/watch.out"
	kill -TERM "$wpid"
	wait_exit "$wpid" 50
}

@test "daughters --limit N is daughter.list's limit; 0 is a usage error" {
	start_daemon
	equals "$(ctl --json daughters --limit 5 | norm)" "$(result daughter.list '{"limit":5}' | norm)"
	run -0 ctl daughters --limit 1000
	equals "$output" "no daughters"
	run -2 --separate-stderr ctl daughters --limit 0
	[[ $stderr == *"--limit must be at least 1"* ]]
	run -2 ctl daughters --limit many
	run -1 --separate-stderr ctl daughters --limit 1001
	[[ $stderr == *"(vx11.InvalidParams)"* ]]
}
