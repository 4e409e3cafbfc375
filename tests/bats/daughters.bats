#!/usr/bin/env bats
# Daughters through the real daemon: what a daughter gets (environment, stdin,
# uid, socket), how an attempt ends and why, retries with backoff and
# mutation levels, output kept per attempt, reports and heartbeats from
# inside, cancel, priority order under max_running, daughter.status events
# and daemon.status. Deadlines are in deadlines.bats, crashes in
# recovery.bats, confinement in sandbox.bats.
#
# Every wait is a bounded poll; teardown fails the test if any daughter
# process is left.

load helpers

setup() {
	# Daughters need root: cgroups, dynamic uids.
	require_root
	vx11_setup
}

teardown() {
	vx11_teardown
}

# is_past TIMESTAMP [MARGIN]: the wall clock is past TIMESTAMP (+ MARGIN s).
is_past() {
	holds "$(now_s) > $(ts_s "$1") + ${2:-0}" 2>/dev/null
}

# The attempt of a task's Nth daughter (default: the last), as JSON.
attempt_of() {
	jq -c ".daughters[${2:--1}].attempts[0]" <<<"$1"
}

@test "a daughter gets exactly the contract's environment, the intent on stdin and a dynamic uid" {
	policy_file '.limits.max_running = 4
		| .tasks.env = {command: ["/usr/bin/env"], max_retries: 0}
		| .tasks.envhb = {command: ["/usr/bin/env"], max_retries: 0, heartbeat_seconds: 7}
		| .tasks.id = {command: ["/usr/bin/id"], max_retries: 0}'
	start_daemon
	env_id=$(submit_task env)
	hb_id=$(submit_task envhb)
	id_id=$(submit_task id)
	intent=$(submit_queued echo '{"text":"h\u00e9llo \"world\"\nline two","payload":{"k":[1,2],"s":"x"},"source":"madre","priority":"P0"}')
	cat_id=$(jq -r .response.task_id <<<"$intent")

	t=$(wait_status "$env_id" completed)
	out=$(task_logs "$env_id" stdout)
	# Nothing else: no PATH, no HOME, nothing of the daemon's own environment.
	equals "$(sed 's/=.*//' <<<"$out" | sort | tr '\n' ' ')" \
		"NOTIFY_SOCKET TRACEPARENT VX11_ATTEMPT VX11_DAUGHTER_ID VX11_DAUGHTER_TOKEN VX11_MUTATION_LEVEL VX11_SOCKET VX11_TASK_ID "
	grep -qx "VX11_TASK_ID=$env_id" <<<"$out"
	grep -qx "VX11_DAUGHTER_ID=$(jq -r '.daughters[0].id' <<<"$t")" <<<"$out"
	grep -qx 'VX11_ATTEMPT=1' <<<"$out"
	grep -qx 'VX11_MUTATION_LEVEL=0' <<<"$out"
	grep -qx "VX11_SOCKET=$T/daughter.sock" <<<"$out"
	grep -Eqx 'VX11_DAUGHTER_TOKEN=[0-9a-f]{32}' <<<"$out"
	grep -Eqx 'NOTIFY_SOCKET=/.+' <<<"$out"
	# The daughter socket is for every daughter's uid.
	equals "$(stat -c %a "$T/daughter.sock")" 666

	# With a heartbeat, WATCHDOG_USEC too, in microseconds (sd_watchdog_enabled(3)).
	wait_status "$hb_id" completed >/dev/null
	out=$(task_logs "$hb_id" stdout)
	equals "$(sed 's/=.*//' <<<"$out" | sort | tr '\n' ' ')" \
		"NOTIFY_SOCKET TRACEPARENT VX11_ATTEMPT VX11_DAUGHTER_ID VX11_DAUGHTER_TOKEN VX11_MUTATION_LEVEL VX11_SOCKET VX11_TASK_ID WATCHDOG_USEC "
	grep -qx 'WATCHDOG_USEC=7000000' <<<"$out"

	# stdin: the intent as one JSON line (not planned: no plan, not degraded).
	wait_status "$cat_id" completed >/dev/null
	out=$(task_logs "$cat_id" stdout)
	equals "$(count_lines "$out")" 1
	check_json "$out" '. == {task_id: $t, correlation_id: $c, task_type: "echo", text: "h\u00e9llo \"world\"\nline two",
		payload: {k: [1, 2], s: "x"}, source: "madre", priority: 0, attempt: 1, mutation_level: 0,
		plan: null, degraded: false}' \
		--arg t "$cat_id" --arg c "$(jq -r .correlation_id <<<"$intent")"

	# A dynamic uid of its own, never root, and the one the attempt records.
	t=$(wait_status "$id_id" completed)
	uid=$(attempt_of "$t" | jq .uid)
	holds "$uid >= 61184 && $uid <= 65519"
	equals "$(task_logs "$id_id" stdout)" "uid=$uid gid=$uid groups=$uid"
}

@test "an attempt ends with the reason that explains it: exit code, signal, seccomp kill, spawn failure" {
	# A profile of our own that kills on uname(2): neither built-in profile kills.
	echo '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["uname"],"action":"SCMP_ACT_KILL_PROCESS"}]}' >"$T/kill-uname.json"
	policy_file '.limits.max_running = 5
		| .tasks.ok = {command: ["/bin/sh", "-c", "echo fine"], max_retries: 0}
		| .tasks.exit7 = {command: ["/bin/sh", "-c", "exit 7"], max_retries: 0}
		| .tasks.segv = {command: ["/bin/sh", "-c", "kill -SEGV $$"], max_retries: 0}
		| .tasks.sys = {command: ["/bin/uname"], max_retries: 0, seccomp: "'"$T"'/kill-uname.json"}
		| .tasks.nosuch = {command: ["/no/such"], max_retries: 0}'
	start_daemon
	ok=$(submit_queued ok)
	exit7=$(submit_queued exit7)
	segv=$(submit_task segv)
	sys=$(submit_task sys)
	nosuch=$(submit_task nosuch)

	t=$(wait_status "$(jq -r .response.task_id <<<"$ok")" completed)
	check_json "$t" '.daughters | length == 1 and .[0].status == "exited" and .[0].mutation_level == 0'
	check_json "$(attempt_of "$t")" '.number == 1 and .status == "succeeded" and .reason == "exited" and .exit_code == 0
		and .signal == null and .error_message == null and (.cgroup | test("^job-[0-9]+$"))
		and .cpu_usec >= 0 and .memory_peak_bytes > 0'
	r=$(result result.get "$(jq -c '{correlation_id}' <<<"$ok")")
	check_json "$r" '.status == "DONE" and .error == null and .result.reason == "exited" and .result.exit_code == 0
		and .result.output_tail == "fine\n" and .result.attempt == 1'

	t=$(wait_status "$(jq -r .response.task_id <<<"$exit7")" failed)
	check_json "$t" '.daughters[0].status == "failed"'
	check_json "$(attempt_of "$t")" '.status == "failed" and .reason == "exited" and .exit_code == 7 and .signal == null'
	r=$(result result.get "$(jq -c '{correlation_id}' <<<"$exit7")")
	check_json "$r" '.status == "ERROR" and .error == "failed" and .result.reason == "exited" and .result.exit_code == 7'

	t=$(wait_status "$segv" failed)
	check_json "$(attempt_of "$t")" '.reason == "signaled" and .signal == 11 and .exit_code == null'

	t=$(wait_status "$sys" failed)
	check_json "$(attempt_of "$t")" '.reason == "seccomp" and .signal == 31 and .exit_code == null'

	t=$(wait_status "$nosuch" failed)
	check_json "$(attempt_of "$t")" '.reason == "spawn_failed" and .exit_code == null and .signal == null
		and .error_message == "execve(/no/such): No such file or directory"'
}

@test "a failed attempt is retried as VX11_ATTEMPT N at mutation level N-1; mutations[i] apply at level i+1, the last one above" {
	s=$(daughter_script try.sh <<'EOF'
#!/bin/sh
echo "attempt=$VX11_ATTEMPT level=$VX11_MUTATION_LEVEL arg=$1"
echo "oops $1" >&2
[ "$1" = fixed ] && exit 0
exit 3
EOF
)
	policy_file '.limits.max_running = 4
		| .defaults.backoff = {base_seconds: 0.1, max_seconds: 0.2}
		| .tasks.stubborn = {command: ["'"$s"'", "base"], max_retries: 3, mutations: [{command: ["'"$s"'", "m1"]}]}
		| .tasks.adapts = {command: ["'"$s"'", "base"], max_retries: 3,
			mutations: [{command: ["'"$s"'", "m1"]}, {command: ["'"$s"'", "fixed"]}]}'
	start_daemon
	stubborn=$(submit_queued stubborn)
	adapts=$(submit_task adapts)

	# Four attempts, the last three at mutation level 1..3 with mutations[0].
	t=$(wait_status "$(jq -r .response.task_id <<<"$stubborn")" failed)
	check_json "$t" '.task.current_retry == 3 and .task.max_retries == 3 and .task.mutation_level == 3 and .task.next_attempt_at == null'
	check_json "$t" '[.daughters[] | [.mutation_level, .status, .attempts[0].number, .attempts[0].reason, .attempts[0].exit_code]]
		== [[0, "failed", 1, "exited", 3], [1, "failed", 2, "exited", 3], [2, "failed", 3, "exited", 3], [3, "failed", 4, "exited", 3]]'
	id=$(jq -r .response.task_id <<<"$stubborn")
	equals "$(task_logs "$id" stdout 1)" "attempt=1 level=0 arg=base"
	equals "$(task_logs "$id" stdout 2)" "attempt=2 level=1 arg=m1"
	equals "$(task_logs "$id" stdout 4)" "attempt=4 level=3 arg=m1"
	equals "$(task_logs "$id" stderr 4)" "oops m1"
	r=$(result result.get "$(jq -c '{correlation_id}' <<<"$stubborn")")
	check_json "$r" '.status == "ERROR" and .error == "failed" and .result.attempt == 4 and .result.exit_code == 3
		and .result.output_tail == "attempt=4 level=3 arg=m1\n" and .result.stderr_tail == "oops m1\n"'

	# A retry can adapt: level 2 runs other arguments, and succeeds.
	t=$(wait_status "$adapts" completed)
	check_json "$t" '.task.current_retry == 2 and .task.mutation_level == 2'
	check_json "$t" '[.daughters[] | [.mutation_level, .status, .attempts[0].reason, .attempts[0].exit_code]]
		== [[0, "failed", "exited", 3], [1, "failed", "exited", 3], [2, "exited", "exited", 0]]'
	equals "$(task_logs "$adapts" stdout)" "attempt=3 level=2 arg=fixed"
}

@test "a spawn failure that can only repeat ends the task at once, saying why; one the next mutation level changes is retried" {
	ok=$(daughter_script ok.sh <<'EOF'
#!/bin/sh
exit 0
EOF
)
	policy_file '.limits.max_running = 5
		| .defaults.backoff = {base_seconds: 0.1, max_seconds: 0.2}
		| .tasks.nosuch = {command: ["/no/such"], max_retries: 3}
		| .tasks.ttlonly = {command: ["/no/such"], max_retries: 3, mutations: [{ttl_seconds: 5}]}
		| .tasks.hidden = {command: ["'"$ok"'"], max_retries: 3, private_tmp: true}
		| .tasks.fixed = {command: ["/no/such"], max_retries: 3, mutations: [{command: ["'"$ok"'"]}]}
		| .tasks.limits = {command: ["/no/such"], max_retries: 1, mutations: [{limits: {memory_max: "512M"}}]}'
	start_daemon
	declare -A tid
	for k in nosuch ttlonly hidden fixed limits; do
		tid[$k]=$(submit_task "$k")
	done

	# Not found, and no mutation to change that: one attempt, failed, and why.
	t=$(wait_status "${tid[nosuch]}" failed)
	check_json "$t" '.task.current_retry == 0 and .task.max_retries == 3 and (.daughters | length) == 1'
	check_json "$(attempt_of "$t")" '.reason == "spawn_failed" and .error_message ==
		"execve(/no/such): No such file or directory; not retried: every attempt runs the same command with the same limits"'
	cid=$(jq -r .task.intent_id <<<"$t")
	check_json "$(result result.get "{\"correlation_id\":\"$cid\"}")" '.status == "ERROR" and .result.reason == "spawn_failed"
		and (.result.error_message | test("not retried"))'

	# A mutation that changes only the TTL changes nothing execve meets.
	t=$(wait_status "${tid[ttlonly]}" failed)
	check_json "$t" '(.daughters | length) == 1'
	check_json "$(attempt_of "$t")" '.error_message | endswith("not retried: the next mutation level runs the same command with the same limits")'

	# The program exists, but private_tmp hides it at every level.
	if [[ $ok == /tmp/* || $ok == /var/tmp/* ]]; then
		t=$(wait_status "${tid[hidden]}" failed)
		check_json "$t" '(.daughters | length) == 1'
		check_json "$(attempt_of "$t")" '.error_message | startswith("execve(" + $p + "): No such file or directory; not retried")' --arg p "$ok"
	fi

	# The next level runs another command: retried, and it works.
	t=$(wait_status "${tid[fixed]}" completed)
	check_json "$t" '[.daughters[] | [.mutation_level, .attempts[0].reason]] == [[0, "spawn_failed"], [1, "exited"]]'
	check_json "$(attempt_of "$t" 0)" '.error_message == "execve(/no/such): No such file or directory"'

	# The next level changes the limits: retried too (until none are left).
	t=$(wait_status "${tid[limits]}" failed)
	check_json "$t" '[.daughters[] | .attempts[0] | [.reason, .error_message]]
		== [["spawn_failed", "execve(/no/such): No such file or directory"], ["spawn_failed", "execve(/no/such): No such file or directory"]]'
}

@test "backoff is min(max, base * 2^retry); a due retry waits for a free slot, then goes before a lower priority" {
	# One slot. "flaky" (P0) fails each time; while it waits for a retry a
	# blocker (P1) takes the slot, so the retry's deadline can be read at
	# leisure, and it must still wait after its deadline has passed.
	policy_file '.limits.max_running = 1
		| .tasks.flaky = {command: ["/bin/false"], max_retries: 3, backoff: {base_seconds: 0.2, max_seconds: 0.5}}
		| .tasks.block = {command: ["/bin/sleep", "100"], max_retries: 0}'
	start_daemon
	# A gate holds the slot until everything is queued.
	gate=$(submit_task block)
	wait_running "$gate" >/dev/null
	flaky=$(submit_task flaky '{"priority":"P0"}')
	blocks=()
	for i in 1 2 3; do
		blocks+=("$(submit_task block '{"priority":"P1"}')")
	done
	result task.cancel "$(jq -cn --arg id "$gate" '{task_id:$id}')" >/dev/null

	for retry in 1 2 3; do
		block=${blocks[retry - 1]}
		wait_running "$block" >/dev/null
		t=$(wait_status "$flaky" retrying)
		check_json "$t" '.task.current_retry == $r and .task.mutation_level == $r and (.daughters | length) == $r' --argjson r "$retry"
		expect=$(awk -v r="$retry" 'BEGIN { d = 0.2 * 2 ^ (r - 1); print (d > 0.5 ? 0.5 : d) }')
		delay=$(jq "$JQ_TS"'(.task.next_attempt_at | ts) - (.daughters[-1].ended_at | ts)' <<<"$t")
		holds "$delay >= $expect - 0.05 && $delay <= $expect + 0.05"
		# Past its deadline, with the slot taken: still retrying.
		next=$(jq -r .task.next_attempt_at <<<"$t")
		wait_for 20 is_past "$next" 0.2
		check_json "$(task_get "$flaky")" '.task.status == "retrying"'
		check_json "$(result daemon.status)" '.daughters_running == 1'
		# The slot frees: the P0 retry, not the next P1 blocker.
		result task.cancel "$(jq -cn --arg id "$block" '{task_id:$id}')" >/dev/null
		t=$(wait_task "$flaky" '(.daughters | length) == $n and .daughters[-1].ended_at != null' 50 --argjson n "$((retry + 1))")
		started=$(jq -r '.daughters[-1].started_at' <<<"$t")
		holds "$(ts_s "$started") >= $(ts_s "$next")"
	done
	t=$(wait_status "$flaky" failed)
	check_json "$t" '.task.current_retry == 3 and ([.daughters[].attempts[0].exit_code] == [1, 1, 1, 1])'
	wait_status "${blocks[2]}" cancelled >/dev/null
}

@test "task.logs: stdout and stderr kept per attempt, paged by offset; output_max bounds what is kept" {
	s=$(daughter_script out.sh <<'EOF'
#!/bin/sh
i=0
while [ $i -lt 1000 ]; do
	echo "line $i of attempt $VX11_ATTEMPT"
	i=$((i + 1))
done
echo "stderr of attempt $VX11_ATTEMPT" >&2
[ "$VX11_ATTEMPT" = 2 ]
EOF
)
	policy_file '.tasks.out = {command: ["'"$s"'"], max_retries: 1, backoff: {base_seconds: 0.1, max_seconds: 1}}
		| .tasks.small = {command: ["'"$s"'"], max_retries: 0, output_max: "4K"}'
	start_daemon
	env=$(submit_queued out)
	out=$(jq -r .response.task_id <<<"$env")
	small=$(submit_task small)
	wait_status "$out" completed >/dev/null
	wait_status "$small" failed >/dev/null

	expect() { # the output of attempt $1
		local i
		for ((i = 0; i < 1000; i++)); do echo "line $i of attempt $1"; done
	}
	size=$(expect 1 | wc -c)

	# Paged: 4000 bytes at a time, offsets follow, the last page says eof.
	data=
	offset=0
	pages=0
	while :; do
		page=$(result task.logs "$(jq -cn --arg id "$out" --argjson o "$offset" '{task_id:$id, attempt:1, stream:"stdout", offset:$o, max_bytes:4000}')")
		check_json "$page" '.task_id == $id and .attempt == 1 and .stream == "stdout" and .offset == $o and .size == $size
			and .next_offset == $o + (.data | length)' --arg id "$out" --argjson o "$offset" --argjson size "$size"
		data+=$(jq -j .data <<<"$page"; echo x)
		data=${data%x}
		pages=$((pages + 1))
		jq -e .eof >/dev/null <<<"$page" && break
		check_json "$page" '(.data | length) == 4000'
		offset=$(jq .next_offset <<<"$page")
		((pages < 20))
	done
	equals "$pages" $(((size + 3999) / 4000))
	equals "$data" "$(expect 1)"$'\n'

	# Each attempt has its own; the default is the last one.
	equals "$(task_logs "$out" stdout 2)" "$(expect 2)"
	equals "$(task_logs "$out" stdout)" "$(expect 2)"
	equals "$(task_logs "$out" stderr 1)" "stderr of attempt 1"
	equals "$(task_logs "$out" stderr)" "stderr of attempt 2"

	# The result carries the last 4 KiB of each stream.
	r=$(result result.get "$(jq -c '{correlation_id}' <<<"$env")")
	tail=$(expect 2 | tail -c 4096)
	check_json "$r" '.status == "DONE" and .result.attempt == 2 and .result.output_tail == $t + "\n"
		and .result.stderr_tail == "stderr of attempt 2\n"' --arg t "$tail"

	# output_max "4K": the first 4096 bytes are kept, the rest dropped.
	page=$(result task.logs "$(jq -cn --arg id "$small" '{task_id:$id, stream:"stdout"}')")
	check_json "$page" '.size == 4096 and .eof == true and (.data | length) == 4096'
	equals "$(jq -j .data <<<"$page")" "$(expect 1 | head -c 4096)"

	check_error "$(call task.logs "$(jq -cn --arg id "$out" '{task_id:$id, stream:"stdout", attempt:3}')")" -32002 vx11.NotFound 1
	check_error "$(call task.logs "$(jq -cn --arg id "$out" '{task_id:$id, stream:"both"}')")" -32602 vx11.InvalidParams 1
}

@test "daughter.report and daughter.heartbeat from inside a daughter; a wrong token or a finished daughter is refused" {
	s=$(daughter_script report.sh <<'EOF'
#!/bin/sh
rpc() { /usr/bin/socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET"; }
printf '{"jsonrpc":"2.0","id":1,"method":"daughter.heartbeat","params":{"daughter_id":"%s","token":"%s"}}\n' \
	"$VX11_DAUGHTER_ID" "$VX11_DAUGHTER_TOKEN" | rpc
printf '{"jsonrpc":"2.0","id":2,"method":"daughter.report","params":{"daughter_id":"%s","token":"%s","status":"halfway","tokens_used_cli":5,"result":{"answer":42,"list":[1,"two"]}}}\n' \
	"$VX11_DAUGHTER_ID" "$VX11_DAUGHTER_TOKEN" | rpc
printf '{"jsonrpc":"2.0","id":3,"method":"daughter.report","params":{"daughter_id":"%s","token":"%s","status":"forged"}}\n' \
	"$VX11_DAUGHTER_ID" 00000000000000000000000000000000 | rpc
printf '{"jsonrpc":"2.0","id":4,"method":"task.list"}\n' | rpc
echo "$VX11_DAUGHTER_ID $VX11_DAUGHTER_TOKEN" >&2
EOF
)
	policy_file '.tasks.report = {command: ["'"$s"'"], max_retries: 0}'
	start_daemon
	env=$(submit_queued report)
	id=$(jq -r .response.task_id <<<"$env")
	t=$(wait_status "$id" completed)
	did=$(jq -r '.daughters[0].id' <<<"$t")

	mapfile -t replies < <(task_logs "$id" stdout)
	equals "${#replies[@]}" 4
	check_json "${replies[0]}" '.id == 1 and .result.status == "ok" and .result.daughter_id == $d and (.result.heartbeat_at | type) == "string"' --arg d "$did"
	check_json "${replies[1]}" '.id == 2 and .result == {status: "ok", daughter_id: $d, attempt_number: 1, reported_status: "halfway"}' --arg d "$did"
	check_error "${replies[2]}" -32002 vx11.NotFound 3
	check_error "${replies[3]}" -32001 vx11.PermissionDenied 4

	check_json "$(attempt_of "$t")" '.reported_status == "halfway" and .result == {answer: 42, list: [1, "two"]} and .tokens_used_cli == 5'
	check_json "$t" "$JQ_TS"'(.daughters[0].last_heartbeat_at | ts) > (.daughters[0].started_at | ts)'
	r=$(result result.get "$(jq -c '{correlation_id}' <<<"$env")")
	check_json "$r" '.status == "DONE" and .result.report == {answer: 42, list: [1, "two"]}'

	# The token dies with its daughter.
	read -r did2 token < <(task_logs "$id" stderr)
	equals "$did2" "$did"
	reply=$(printf '%s\n' "$(req daughter.report "$(jq -cn --arg d "$did" --arg t "$token" '{daughter_id:$d, token:$t, status:"late"}')")" |
		socat -t 5 - "UNIX-CONNECT:$T/daughter.sock")
	check_error "$reply" -32002 vx11.NotFound 1
	check_json "$(attempt_of "$(task_get "$id")")" '.reported_status == "halfway"'
}

@test "task.cancel of a running task kills its whole cgroup; of a retrying one, stops the retries" {
	s=$(daughter_script tree.sh <<'EOF'
#!/bin/sh
/bin/sleep 100 &
/bin/sh -c '/bin/sleep 100 &'
exec /bin/sleep 100
EOF
)
	policy_file '.tasks.tree = {command: ["'"$s"'"], max_retries: 2, backoff: {base_seconds: 0.1, max_seconds: 1}}
		| .tasks.later = {command: ["/bin/false"], max_retries: 2, backoff: {base_seconds: 30, max_seconds: 30}}'
	start_daemon
	id=$(submit_task tree)
	wait_running "$id" >/dev/null
	wait_for 50 eval '(($(task_pids "$id" | wc -l) == 3))'

	reply=$(result task.cancel "$(jq -cn --arg id "$id" '{task_id:$id}')")
	check_json "$reply" '. == {status: "cancelled", task_id: $id, cancelled_daughters_count: 1}' --arg id "$id"
	t=$(wait_task "$id" '.task.status == "cancelled" and .daughters[0].ended_at != null')
	check_json "$t" '(.daughters | length) == 1 and .daughters[0].status == "killed" and .task.current_retry == 0'
	check_json "$(attempt_of "$t")" '.reason == "cancelled" and .status == "killed" and .signal == 9'
	wait_for 20 no_task_pids "$id"
	check_error "$(call task.cancel "$(jq -cn --arg id "$id" '{task_id:$id}')")" -32003 vx11.Conflict 1

	# Retrying, with no daughter running: cancelled at once, never run again.
	later=$(submit_task later)
	wait_status "$later" retrying >/dev/null
	reply=$(result task.cancel "$(jq -cn --arg id "$later" '{task_id:$id}')")
	check_json "$reply" '.status == "cancelled" and .cancelled_daughters_count == 0'
	check_json "$(task_get "$later")" '.task.status == "cancelled" and (.daughters | length) == 1 and .task.next_attempt_at == null'
	check_json "$(result daemon.status)" '.daughters_running == 0 and .counts.cancelled == 2'
}

@test "max_running 1: runnable tasks start in priority order, first come first served within one" {
	policy_file '.limits.max_running = 1 | .tasks.block = {command: ["/bin/sleep", "100"], max_retries: 0}'
	start_daemon
	block=$(submit_task block)
	wait_running "$block" >/dev/null
	names=(a b c d e f)
	prios=(P3 P1 P0 P1 P2 P0)
	declare -A ids
	for i in "${!names[@]}"; do
		ids[${names[i]}]=$(submit_task noop "{\"priority\":\"${prios[i]}\"}")
	done
	# One slot, taken: they all wait.
	check_json "$(result task.list '{"status":"pending"}')" '.count == 6'
	check_json "$(result daemon.status)" '.daughters_running == 1'

	result task.cancel "$(jq -cn --arg id "$block" '{task_id:$id}')" >/dev/null
	lines=
	for n in "${names[@]}"; do
		t=$(wait_status "${ids[$n]}" completed)
		lines+="$(jq -r '.daughters[0].started_at' <<<"$t") $n"$'\n'
	done
	equals "$(sort <<<"${lines%$'\n'}" | cut -d' ' -f2 | tr '\n' ' ')" "c f b d e a "
}

@test "events.subscribe: daughter.status running, then how it ended, for every attempt" {
	s=$(daughter_script twice.sh <<'EOF'
#!/bin/sh
[ "$VX11_MUTATION_LEVEL" = 1 ] && exit 0
exit 2
EOF
)
	policy_file '.tasks.twice = {command: ["'"$s"'"], max_retries: 1, backoff: {base_seconds: 0.1, max_seconds: 1}}'
	start_daemon
	conn_open ev
	conn_send ev "$(req events.subscribe)"
	conn_wait ev 1
	id=$(submit_task twice)
	t=$(wait_status "$id" completed)
	wait_for 50 grep -q '"type":"task.status".*"status":"completed"' "$T/ev.out"

	got=$(jq -c --arg id "$id" 'select(.method == "event" and .params.type == "daughter.status" and .params.task_id == $id)
		| .params | [.daughter_id, .attempt, .mutation_level, .status, .reason, .exit_code, .signal]' "$T/ev.out" | jq -sc .)
	check_json "$got" '. == [[$d0, 1, 0, "running", null, null, null], [$d0, 1, 0, "failed", "exited", 2, null],
		[$d1, 2, 1, "running", null, null, null], [$d1, 2, 1, "exited", "exited", 0, null]]' \
		--arg d0 "$(jq -r '.daughters[0].id' <<<"$t")" --arg d1 "$(jq -r '.daughters[1].id' <<<"$t")"
	# Each daughter's running event comes before the task status that follows its end.
	order=$(jq -r --arg id "$id" 'select(.method == "event" and .params.task_id == $id) | .params | "\(.type) \(.status)"' "$T/ev.out" | tr '\n' ',')
	[[ $order == *"daughter.status running,"*"daughter.status failed,"*"task.status retrying,"*"daughter.status running,"*"daughter.status exited,"*"task.status completed,"* ]]
}

@test "daemon.status: daughters_running, and the job cgroup root where the daughter really is" {
	policy_file '.tasks.block = {command: ["/bin/sleep", "100"], max_retries: 0}'
	start_daemon
	check_json "$(result daemon.status)" '.daughters_running == 0'
	id=$(submit_task block)
	t=$(wait_running "$id")
	wait_for 30 eval '[[ -n $(task_pids "$id") ]]'
	pid=$(task_pids "$id")

	st=$(result daemon.status)
	check_json "$st" '.daughters_running == 1 and .counts.running == 1 and .cgroup.mode == $m and .cgroup.problem == null' \
		--arg m "$(expected_cgroup_mode)"
	root=$(jq -r .cgroup.job_root <<<"$st")
	# The instance's own root under the one asked for (instances.bats).
	[[ $root == */"$VX11_CGROUP_ROOT"/"$(jq -r .instance <<<"$st")" ]]
	job=$(attempt_of "$t" | jq -r .cgroup)
	grep -qx "$pid" "$root/$job/cgroup.procs"

	result task.cancel "$(jq -cn --arg id "$id" '{task_id:$id}')" >/dev/null
	wait_status "$id" cancelled >/dev/null
	wait_for 30 eval "check_json \"\$(result daemon.status)\" '.daughters_running == 0'"
}

@test "vx11ctl with daughters: result shows the output's lines, cancel counts 1 daughter, daughters --limit" {
	s=$(daughter_script lines.sh <<'EOF'
#!/bin/sh
printf 'one\n  two\n\nthree\n'
echo oops >&2
EOF
)
	policy_file '.tasks.lines = {command: ["'"$s"'"], max_retries: 0}
		| .tasks.long = {command: ["/bin/sleep", "100"], max_retries: 0}'
	start_daemon
	env=$(submit_queued lines)
	cid=$(jq -r .correlation_id <<<"$env")
	lines_tid=$(jq -r .response.task_id <<<"$env")
	wait_status "$lines_tid" completed >/dev/null

	# The tails as the lines they hold, two spaces further in than their key
	# (an empty line stays empty); no "\n" written out.
	run -0 "$VX11CTL" result "$cid"
	expected=$(printf '%s\n' "  output_tail:" "    one" "      two" "" "    three" "  stderr_tail:" "    oops")
	[[ $output == *"$expected"* ]] || {
		printf 'expected, within the output:\n%s\n  output:\n%s\n' "$expected" "$output" >&2
		return 1
	}
	[[ $output != *'\n'* ]]

	long=$(submit_task long)
	wait_running "$long" >/dev/null
	run -0 "$VX11CTL" cancel "$long"
	equals "$output" "task $long cancelled (1 daughter killed)"
	wait_task "$long" '.daughters[0].ended_at != null' >/dev/null

	# Two daughters, oldest first; --limit 1 shows the first only.
	run -0 "$VX11CTL" daughters
	equals "${#lines[@]}" 3
	run -0 "$VX11CTL" daughters --limit 1
	equals "${#lines[@]}" 2
	[[ ${lines[1]} =~ ^[0-9a-f-]{36}\ +$lines_tid\ +lines\ +exited\  ]]
	equals "$("$VX11CTL" --json daughters --limit 1 | jq -S -c .)" "$(result daughter.list '{"limit":1}' | jq -S -c .)"
}

@test "vx11ctl spawn prints the task and daughter ids, which logs and task then follow" {
	start_daemon
	run -0 "$VX11CTL" spawn -- /bin/sh -c 'echo hi from a spawned daughter'
	grep -qx 'status: spawning' <<<"$output"
	tid=$(awk '$1 == "task_id:" { print $2 }' <<<"$output")
	did=$(awk '$1 == "daughter_id:" { print $2 }' <<<"$output")
	[[ $tid =~ ^[0-9a-f-]{36}$ && $did =~ ^[0-9a-f-]{36}$ ]]
	grep -Eqx 'attempt_id: [0-9a-f-]{36}' <<<"$output"
	grep -Eqx 'correlation_id: [0-9a-f-]{36}' <<<"$output"

	wait_status "$tid" completed >/dev/null
	run -0 "$VX11CTL" logs "$tid"
	equals "$output" "hi from a spawned daughter"
	run -0 "$VX11CTL" task "$tid"
	grep -qx "daughter $did" <<<"$output"
}
