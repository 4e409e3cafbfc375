#!/usr/bin/env bats
# Everyday use of vx11ctl, through the real daemon: finding tasks (newest
# first with the total, short ids and prefixes, filters), waiting for several
# and running one again. The protocol behind each (task.list and audit.list
# order and total, task.resolve, task.rerun) is checked too. No daughter runs
# unless a test raises max_running.

load helpers

setup() {
	vx11_setup
	VX11_POLICY_PREFIX='.limits.max_running = 0'
	[[ -x $VX11CTL ]] || skip "vx11ctl is not built ($VX11CTL)"
}

teardown() {
	vx11_teardown
}

ctl() {
	"$VX11CTL" "$@"
}

# The ids of the table rows of a vx11ctl listing (its first column), one a line.
table_ids() {
	tail -n +2 <<<"$1" | awk '{ print $1 }'
}

# ---------------------------------------------------------------------------
# 1. Newest first, with the total

@test "task.list order desc: newest first, paging with after either way, total counts the filter" {
	start_daemon
	mapfile -t ids < <(submit_many 25)
	mapfile -t rev < <(printf '%s\n' "${ids[@]}" | tac)

	# Oldest first stays the default.
	check "$(result task.list '{"limit":3}')" '[.tasks[].id] == $w' --argjson w "$(printf '%s\n' "${ids[@]:0:3}" | jq -R . | jq -sc .)"
	list=$(result task.list '{"order":"desc","limit":10}')
	equals "$(jq -r '.tasks[].id' <<<"$list")" "$(printf '%s\n' "${rev[@]:0:10}")"
	check "$list" 'has("total") | not'

	# Page after page, 7 at a time, both ways: every task once, in order.
	for order in asc desc; do
		got=()
		after=null
		for _ in $(seq 10); do
			page=$(result task.list "$(jq -cn --arg o "$order" --argjson a "$after" '{order:$o,limit:7,after:$a}')")
			mapfile -t more < <(jq -r '.tasks[].id' <<<"$page")
			((${#more[@]} > 0)) || break
			got+=("${more[@]}")
			after=$(jq -c '.tasks[-1].id' <<<"$page")
		done
		if [[ $order == asc ]]; then
			equals "$(printf '%s\n' "${got[@]}")" "$(printf '%s\n' "${ids[@]}")"
		else
			equals "$(printf '%s\n' "${got[@]}")" "$(printf '%s\n' "${rev[@]}")"
		fi
	done

	# total: what matches, whatever limit, after and order.
	result task.cancel "$(jq -cn --arg id "${ids[3]}" '{task_id:$id}')" >/dev/null
	result task.cancel "$(jq -cn --arg id "${ids[20]}" '{task_id:$id}')" >/dev/null
	check "$(result task.list '{"total":true,"limit":1}')" '.total == 25 and .count == 1'
	check "$(result task.list '{"total":true,"status":"cancelled","order":"desc"}')" \
		'.total == 2 and [.tasks[].id] == [$b, $a]' --arg a "${ids[3]}" --arg b "${ids[20]}"
	check "$(result task.list "$(jq -cn --arg a "${ids[10]}" '{total:true,status:["pending","cancelled"],after:$a,limit:2}')")" \
		'.total == 25 and .count == 2'
	check "$(result task.list '{"total":true,"source":"shub"}')" '.total == 0 and .count == 0'

	check_error "$(call task.list '{"order":"newest"}')" -32602 vx11.InvalidParams 1
	check "$(call task.list '{"order":"newest"}')" '.error.message | test("order") and test("desc")'
	check_error "$(call task.list '{"total":1}')" -32602 vx11.InvalidParams 1
}

@test "task.list total: a submitter's counts only its own tasks" {
	require_root
	start_daemon
	submit_many 3 >/dev/null
	nobody() {
		as_submitter_nobody socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET" <<<"$(req "$@")" | jq -c .result
	}
	nobody intent.submit '{"intent_type":"noop","require":{"spawner":true}}' >/dev/null
	check "$(nobody task.list '{"total":true}')" '.total == 1 and .count == 1'
	check "$(nobody task.list '{"total":true,"status":"pending","order":"desc"}')" '.total == 1'
	check "$(result task.list '{"total":true}')" '.total == 4'
}

@test "audit.list order desc and total" {
	start_daemon
	for i in 1 2 3 4 5; do
		submit "{\"intent_type\":\"i$i\"}" >/dev/null
	done
	page=$(result audit.list '{"order":"desc","limit":2,"total":true}')
	check "$page" '.count == 2 and .total == 5 and [.entries[].intent_type] == ["i5","i4"]'
	after=$(jq -r '.entries[-1].correlation_id' <<<"$page")
	page=$(result audit.list "$(jq -cn --arg a "$after" '{order:"desc",after:$a}')")
	check "$page" '[.entries[].intent_type] == ["i3","i2","i1"] and (has("total") | not)'
	check "$(result audit.list '{"limit":1}')" '.entries[0].intent_type == "i1"'
	check_error "$(call audit.list '{"order":"up"}')" -32602 vx11.InvalidParams 1
}

@test "vx11ctl tasks and audit: newest first, 'N of M shown' on stderr, --limit and --all" {
	start_daemon
	mapfile -t ids < <(submit_many 12)

	run -0 --separate-stderr ctl tasks --limit 5 --full-ids
	equals "${#lines[@]}" 6
	[[ ${lines[0]} =~ ^ID\  ]]
	equals "$(table_ids "$output" | head -n 1)" "${ids[11]}"
	equals "$stderr" "vx11ctl: 5 of 12 tasks shown, newest first; --limit N or --all for more"

	# Everything shown: nothing to say.
	run -0 --separate-stderr ctl tasks
	equals "${#lines[@]}" 13
	equals "$stderr" ""

	# The next page, older ones, and how to get the one after.
	last=${ids[7]}
	run -0 --separate-stderr ctl tasks --limit 3 --after "$last" --full-ids
	equals "$(table_ids "$output")" "$(printf '%s\n' "${ids[6]}" "${ids[5]}" "${ids[4]}")"
	equals "$stderr" "vx11ctl: 3 tasks shown of 12 in all; --after ${ids[4]} for the next page"

	run -2 --separate-stderr ctl tasks --all --limit 5
	[[ $stderr == *"--all and --limit do not go together"* ]]

	run -0 --separate-stderr ctl audit --limit 2
	equals "${#lines[@]}" 3
	equals "$stderr" "vx11ctl: 2 of 12 entries shown, newest first; --limit N or --all for more"
	run -0 ctl --json audit --all
	check "$output" '.count == 12 and .total == 12 and (.entries | length) == 12'
}

@test "vx11ctl tasks --all pages through more than one page of task.list" {
	start_daemon
	mapfile -t ids < <(submit_many 1003)
	run -0 --separate-stderr ctl --json tasks --all
	check "$output" '.count == 1003 and .total == 1003 and ([.tasks[].id] | unique | length) == 1003'
	equals "$(jq -r '.tasks[].id' <<<"$output")" "$(printf '%s\n' "${ids[@]}" | tac)"
	run -0 --separate-stderr ctl tasks --all --full-ids
	equals "${#lines[@]}" 1004
	equals "$stderr" ""
	equals "$(table_ids "$output" | tail -n 1)" "${ids[0]}"
}

# ---------------------------------------------------------------------------
# 2. Either id of an intent, or a unique start of one

# resolve ID: the task.resolve reply line.
resolve() {
	call task.resolve "$(jq -cn --arg id "$1" '{id:$id}')"
}

# expected_width: the width a column of the ids on stdin needs (13, or one
# more than the longest start two of them share).
expected_width() {
	sort | awk 'NR > 1 { n = 0; while (n < length($0) && substr($0, n + 1, 1) == substr(prev, n + 1, 1)) n++; if (n + 1 > w) w = n + 1 }
		{ prev = $0 } END { print (w > 13 ? w : 13) }'
}

@test "task.resolve: a task id, a correlation id, or a unique start of either; ambiguous, short and unknown ones" {
	start_daemon
	env=$(submit_queued noop)
	tid=$(jq -r .response.task_id <<<"$env")
	cid=$(jq -r .correlation_id <<<"$env")
	done_cid=$(submit '{"intent_type":"hello"}' | jq -r .correlation_id)

	for id in "$tid" "$cid" "${tid:0:30}" "${cid:0:30}" "$(tr a-f A-F <<<"$tid")"; do
		check "$(resolve "$id")" '.result == {correlation_id: $c, task_id: $t}' --arg c "$cid" --arg t "$tid"
	done
	# An intent the daemon answered at once has no task.
	check "$(resolve "$done_cid")" '.result == {correlation_id: $c, task_id: null}' --arg c "$done_cid"

	# A start both have (the first 4 characters of every id made this
	# minute): the candidates, each once, and what they are.
	reply=$(resolve "${tid:0:4}")
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("give more")'
	check "$reply" '.error.data.more == false and (.error.data.candidates | length) == 2
		and ([.error.data.candidates[].correlation_id] | sort) == ([$c, $d] | sort)
		and (.error.data.candidates[] | select(.correlation_id == $c) | .task_id == $t and .intent_type == "noop"
			and .status == "pending" and (.created_at | type) == "string")
		and (.error.data.candidates[] | select(.correlation_id == $d) | .task_id == null and .status == "DONE")' \
		--arg c "$cid" --arg t "$tid" --arg d "$done_cid"

	check_error "$(resolve "${tid:0:3}")" -32602 vx11.InvalidParams 1
	check "$(resolve "${tid:0:3}")" '.error.message | test("at least 4")'
	check_error "$(resolve ffffffff)" -32002 vx11.NotFound 1
	check_error "$(resolve no-such-task)" -32002 vx11.NotFound 1
	check_error "$(call task.resolve '{}')" -32602 vx11.InvalidParams 1

	# More than ten: ten listed, and more says so.
	submit_many 12 >/dev/null
	reply=$(resolve "${tid:0:4}")
	check "$reply" '(.error.data.candidates | length) == 10 and .error.data.more == true'
	check "$reply" '.error.message | test("more than 10")'
}

@test "task.resolve: a submitter resolves among its own tasks only" {
	require_root
	start_daemon
	root_tid=$(submit_task noop)
	nobody() {
		as_submitter_nobody socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET" <<<"$(req "$@")"
	}
	mine=$(nobody intent.submit '{"intent_type":"noop","require":{"spawner":true}}' | jq -r .result.response.task_id)
	check "$(nobody task.resolve "$(jq -cn --arg id "$mine" '{id:$id}')")" '.result.task_id == $t' --arg t "$mine"
	# Root's task is not found, by its id or by a start of it...
	check_error "$(nobody task.resolve "$(jq -cn --arg id "$root_tid" '{id:$id}')")" -32002 vx11.NotFound 1
	# ... and a start both share names only the submitter's.
	check "$(nobody task.resolve "$(jq -cn --arg id "${root_tid:0:4}" '{id:$id}')")" '.result.task_id == $t' --arg t "$mine"
	# An admin sees both.
	check_error "$(resolve "${root_tid:0:4}")" -32602 vx11.InvalidParams 1
}

@test "vx11ctl task, result, cancel, logs and watch take either id, or a unique start of one" {
	start_daemon
	env=$(submit_queued noop '{"text":"first"}')
	tid=$(jq -r .response.task_id <<<"$env")
	cid=$(jq -r .correlation_id <<<"$env")
	done_cid=$(submit '{"intent_type":"hello"}' | jq -r .correlation_id)
	# The shortest start of the task id no other id has.
	for ((n = 4; n <= 36; n++)); do
		resolve "${tid:0:n}" | jq -e '.result' >/dev/null && break
	done
	short=${tid:0:n}

	for id in "$tid" "$cid" "$short"; do
		run -0 ctl task "$id"
		grep -qx "id: $tid" <<<"$output"
		grep -qx "description: first" <<<"$output"
		run -0 ctl result "$id"
		grep -qx "correlation_id: $cid" <<<"$output"
		grep -qx "status: QUEUED" <<<"$output"
	done
	run -0 ctl --json task "$short"
	equals "$(jq -S -c . <<<"$output")" "$(result task.get "$(jq -cn --arg id "$tid" '{task_id:$id}')" | jq -S -c .)"

	# No attempt yet: logs looked the task up, then found no attempt.
	run -1 --separate-stderr ctl logs "$short"
	[[ $stderr == *"(vx11.NotFound)"* && $stderr != *"no task or intent"* ]]

	(
		_bg_close_fds
		exec "$VX11CTL" watch "$cid"
	) >"$T/watch.out" 2>"$T/watch.err" &
	wpid=$!
	wait_for 50 grep -q watching "$T/watch.err"
	equals "$(cat "$T/watch.err")" "vx11ctl: watching task $tid; interrupt to stop"

	run -0 ctl cancel "$short"
	equals "$output" "task $tid cancelled (0 daughters killed)"
	wait_for 50 grep -q "status=cancelled" "$T/watch.out"
	kill -TERM "$wpid"
	wait_exit "$wpid" 50

	# The intent answered at once: result yes, task no, saying where to look.
	run -0 ctl result "${done_cid:0:30}"
	grep -qx "status: DONE" <<<"$output"
	run -1 --separate-stderr ctl task "$done_cid"
	equals "$stderr" "vx11ctl: intent $done_cid has no task: the daemon answered it at once; see 'vx11ctl result $done_cid'"
	run -1 --separate-stderr ctl cancel "$done_cid"
	[[ $stderr == *"has no task"* ]]
}

@test "vx11ctl: an ambiguous start lists the candidates and exits 2; too short is a usage error" {
	start_daemon
	mapfile -t ids < <(submit_many 3)
	run -2 --separate-stderr ctl task "${ids[0]:0:4}"
	equals "$output" ""
	[[ ${stderr_lines[0]} == "vx11ctl: \"${ids[0]:0:4}\" is the start of 3 tasks' or intents' ids; give more of it (vx11.InvalidParams)" ]]
	equals "${#stderr_lines[@]}" 4
	for id in "${ids[@]}"; do
		grep -Eq "^  $id  noop  pending  [0-9-]{10}T" <<<"$stderr"
	done
	run -2 --separate-stderr ctl --json result "${ids[0]:0:4}"
	check "$output" '.code == -32602 and (.data.candidates | length) == 3'
	for verb in cancel logs watch; do
		run -2 --separate-stderr ctl "$verb" "${ids[0]:0:4}"
		[[ $stderr == *"give more of it"* ]]
	done

	# Too short: said without asking the daemon.
	run -2 --separate-stderr ctl --socket "$T/nothing.sock" task 01a
	equals "$stderr" "vx11ctl: '01a' is too short: give at least 4 characters of a task or correlation id; see 'vx11ctl task --help'"
	run -1 --separate-stderr ctl task ffffffff
	[[ $stderr == *"(vx11.NotFound)"* ]]
}

@test "tables show ids cut short, wider where two would look the same, and the short ones name their task" {
	start_daemon
	mapfile -t ids < <(submit_many 40)
	width=$(printf '%s\n' "${ids[@]}" | expected_width)
	# Pipelined, many share their millisecond: the column must widen.
	((width > 13))

	run -0 ctl tasks
	mapfile -t shown < <(table_ids "$output")
	equals "${#shown[@]}" 40
	for ((i = 0; i < 40; i++)); do
		equals "${shown[i]}" "${ids[39 - i]:0:width}"
	done
	equals "$(printf '%s\n' "${shown[@]}" | sort -u | wc -l)" 40
	# What is shown is enough to name the task.
	run -0 ctl task "${shown[7]}"
	grep -qx "id: ${ids[32]}" <<<"$output"

	# One task alone: 13 characters.
	run -0 --separate-stderr ctl tasks --limit 1
	equals "$(table_ids "$output")" "${ids[39]:0:13}"
	run -0 --separate-stderr ctl tasks --limit 1 --full-ids
	equals "$(table_ids "$output")" "${ids[39]}"

	# The audit log's correlation ids too.
	mapfile -t cids < <(result audit.list '{"limit":1000}' | jq -r '.entries[].correlation_id')
	width=$(printf '%s\n' "${cids[@]}" | expected_width)
	run -0 ctl audit
	mapfile -t shown < <(tail -n +2 <<<"$output" | awk '{ print $3 }')
	equals "${shown[0]}" "${cids[39]:0:width}"
	equals "${shown[39]}" "${cids[0]:0:width}"
	run -0 --separate-stderr ctl audit --full-ids --limit 1
	[[ ${lines[1]} == *" ${cids[39]} "* ]]
}

# ---------------------------------------------------------------------------
# 3. Filters: type, time, failed

# local_time [DATE_ARGS...]: a time in the local zone as vx11ctl takes it, to the second.
local_time() {
	date "$@" +%Y-%m-%dT%H:%M:%S
}

# next_second: sleep until just after the clock's next second.
next_second() {
	local frac=${EPOCHREALTIME#*[.,]}
	sleep "0.$(printf '%06d' $((1000000 - 10#$frac + 50000)) | cut -c1-6)" 2>/dev/null || sleep 1.05
}

@test "task.list task_type, since and until; a bad time is -32602" {
	start_daemon
	policy_file '.tasks.other = {command: ["/bin/true"]}'
	result policy.reload >/dev/null
	a=$(submit_task noop)
	next_second
	mid=$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)
	next_second
	b=$(submit_task other)
	c=$(submit_task noop)

	check "$(result task.list '{"task_type":"noop","total":true}')" '[.tasks[].id] == [$a, $c] and .total == 2' --arg a "$a" --arg c "$c"
	check "$(result task.list '{"task_type":"nothing","total":true}')" '.count == 0 and .total == 0'
	check "$(result task.list "$(jq -cn --arg t "$mid" '{since:$t,total:true}')")" '[.tasks[].id] == [$b, $c] and .total == 2' \
		--arg b "$b" --arg c "$c"
	check "$(result task.list "$(jq -cn --arg t "$mid" '{until:$t,total:true,order:"desc"}')")" '[.tasks[].id] == [$a] and .total == 1' \
		--arg a "$a"
	check "$(result task.list "$(jq -cn --arg t "$mid" '{since:$t,task_type:"noop",status:"pending"}')")" '[.tasks[].id] == [$c]' \
		--arg c "$c"
	# Seconds alone are as good.
	check "$(result task.list "$(jq -cn --arg t "${mid%.*}Z" '{since:$t}')")" '.count == 2'
	for bad in 2026-12-01 "2026-12-01T10:00:00" "yesterday" "2026-02-30T00:00:00Z"; do
		reply=$(call task.list "$(jq -cn --arg t "$bad" '{since:$t}')")
		check_error "$reply" -32602 vx11.InvalidParams 1
		check "$reply" '.error.message | test("since: expected an RFC 3339 UTC time")'
	done
	check_error "$(call task.list '{"task_type":""}')" -32602 vx11.InvalidParams 1
}

@test "vx11ctl tasks --type, --since and --until (ago, and local times), --failed" {
	start_daemon
	policy_file '.tasks.other = {command: ["/bin/true"]}'
	result policy.reload >/dev/null
	# The minute the first task is made in (the test may cross into the next).
	first_minute=$(local_time | cut -c1-16)
	a=$(submit_task noop)
	next_second
	# The same instant written in two zones, each as local time, and in UTC.
	mid=$(date +%s)
	mid_kolkata=$(TZ=Asia/Kolkata local_time -d "@$mid")
	mid_ny=$(TZ=America/New_York local_time -d "@$mid")
	mid_utc=$(date -u -d "@$mid" +%Y-%m-%dT%H:%M:%SZ)
	next_second
	b=$(submit_task other)
	c=$(submit_task noop)
	result task.cancel "$(jq -cn --arg id "$a" '{task_id:$id}')" >/dev/null
	d=$(submit_task fails)

	ids() { "$VX11CTL" --json tasks "$@" | jq -r '[.tasks[].id] | join(" ")'; }
	equals "$(ids --type noop)" "$c $a"
	equals "$(ids --type other)" "$b"
	for tz in Asia/Kolkata America/New_York; do
		[[ $tz == Asia/Kolkata ]] && mid=$mid_kolkata || mid=$mid_ny
		equals "$(TZ=$tz ids --since "$mid")" "$d $c $b"
		equals "$(TZ=$tz ids --until "$mid")" "$a"
		equals "$(TZ=$tz ids --since "${mid:0:10} ${mid:11}")" "$d $c $b"
	done
	# UTC with a final Z.
	equals "$(TZ=Asia/Kolkata ids --since "$mid_utc")" "$d $c $b"
	equals "$(TZ=America/New_York ids --until "$mid_utc")" "$a"
	# Ago.
	equals "$(ids --since 1h)" "$d $c $b $a"
	equals "$(ids --since 30m --until 2d)" ""
	equals "$(ids --until 1h --since 2w)" ""
	equals "$(ids --until 0s --since 2w)" "$d $c $b $a"
	# A date is its midnight: today's includes all, tomorrow's none.
	equals "$(ids --since "${first_minute:0:10}")" "$d $c $b $a"
	equals "$(ids --since "$(date -d tomorrow +%Y-%m-%d)")" ""
	equals "$(ids --until "$(date -d tomorrow +%Y-%m-%d)" --type noop)" "$c $a"
	equals "$(ids --since "$first_minute" --until "$(date -d '+1 hour' +%Y-%m-%dT%H:%M)")" "$d $c $b $a"

	# --failed: failed, expired, cancelled.
	equals "$(ids --failed)" "$a"
	run -0 --separate-stderr ctl --json tasks --failed
	check "$output" '.total == 1'

	run -2 --separate-stderr ctl tasks --failed --status pending
	[[ $stderr == *"--failed is --status failed,expired,cancelled"* ]]
	for bad in yesterday 2026-13-01 2026-02-30 1x 12 -1h "2026-12-01T25:00"; do
		run -2 --separate-stderr ctl --socket "$T/nothing.sock" tasks --since "$bad"
		[[ $stderr == *"--since wants a time ago (30m, 1h, 2d) or a local date and time"* ]]
	done
	run -2 ctl tasks --until nope
}

# ---------------------------------------------------------------------------
# 5. wait for several

# A policy whose tasks run (max_running above 0): one that completes, one
# that fails, one that sleeps.
running_policy() {
	policy_file '.limits.max_running = 8
		| .tasks.long = {command: ["/bin/sleep", "100"], max_retries: 0}
		| .tasks.fails.max_retries = 0 | .tasks.noop.max_retries = 0'
}

@test "vx11ctl wait: one line per intent, the worst outcome as exit status (0, 4, 5, 6)" {
	running_policy
	start_daemon
	ok1=$(submit_queued noop)
	ok2=$(submit_queued noop)
	ok1_t=$(jq -r .response.task_id <<<"$ok1")
	ok2_c=$(jq -r .correlation_id <<<"$ok2")
	ok2_t=$(jq -r .response.task_id <<<"$ok2")
	bad=$(submit_task fails)
	# Out of time after 1 s (and the grace of 1 s): expired.
	late=$(submit_task long '{"ttl_seconds":1}')
	gone=$(submit_task long)
	wait_running "$gone" >/dev/null
	result task.cancel "$(jq -cn --arg id "$gone" '{task_id:$id}')" >/dev/null
	hello=$(submit '{"intent_type":"hello"}' | jq -r .correlation_id)

	# Both ids of an intent work; a task id is what the line shows.
	run -0 --separate-stderr ctl wait "$ok1_t" "$ok2_c" "${hello:0:30}"
	equals "$output" "$(printf '%s\n' "$ok1_t  DONE  exited (exit code 0)" "$ok2_t  DONE  exited (exit code 0)" "$hello  DONE")"
	equals "$stderr" ""

	run -4 --separate-stderr ctl wait "$ok1_t" "$bad"
	equals "${lines[1]}" "$bad  ERROR  exited (exit code 1)"
	run -5 --separate-stderr ctl wait "$late" "$bad" "$ok1_t"
	[[ ${lines[0]} == "$late  EXPIRED  ttl_expired"* ]]
	run -6 --separate-stderr ctl wait "$gone" "$late" "$bad"
	[[ ${lines[0]} == "$gone  CANCELLED"* ]]
	run -6 ctl wait "$bad" "$gone"

	# --json: the results, in the order given.
	run -4 --separate-stderr ctl --json wait "$bad" "$ok1_t"
	check "$output" 'length == 2 and .[0].status == "ERROR" and .[0].result.task_id == $b and .[1].status == "DONE"' --arg b "$bad"
}

@test "vx11ctl wait --timeout: exit 7 over any other outcome, the open ones as they stand; ids looked up first" {
	running_policy
	start_daemon
	bad=$(submit_task fails)
	slow=$(submit_task long)
	slow2=$(submit_task long)
	wait_status "$bad" failed >/dev/null
	wait_running "$slow" >/dev/null
	wait_running "$slow2" >/dev/null

	start=$(now_s)
	run -7 --separate-stderr ctl wait "$bad" "$slow" "$slow2" --timeout 1
	end=$(now_s)
	# One deadline for all: about 1 s, not 1 s per task.
	holds "$end - $start >= 0.9 && $end - $start < 1.9"
	equals "$output" "$(printf '%s\n' "$bad  ERROR  exited (exit code 1)" "$slow  RUNNING" "$slow2  RUNNING")"
	equals "$stderr" "vx11ctl: 2 of 3 tasks had not ended after 1 s"

	# The waited-for end comes while waiting.
	(
		_bg_close_fds
		sleep 1
		result task.cancel "$(jq -cn --arg id "$slow" '{task_id:$id}')" >/dev/null
	) &
	canceller=$!
	start=$(now_s)
	run -6 --separate-stderr ctl wait "$slow" --timeout 20
	end=$(now_s)
	holds "$end - $start < 10"
	[[ $output == "$slow  CANCELLED"* ]]
	wait "$canceller"

	# An id that names nothing, or several, ends it before any wait.
	start=$(now_s)
	run -1 --separate-stderr ctl wait "$slow2" ffffffff --timeout 30
	[[ $stderr == *"(vx11.NotFound)"* ]]
	equals "$output" ""
	run -2 --separate-stderr ctl wait "$slow2" "${slow2:0:4}"
	[[ $stderr == *"give more of it"* ]]
	end=$(now_s)
	holds "$end - $start < 5"
	run -2 --separate-stderr ctl --socket "$T/nothing.sock" wait "$slow2" --timeout soon
	run -2 --separate-stderr ctl --socket "$T/nothing.sock" wait
	result task.cancel "$(jq -cn --arg id "$slow2" '{task_id:$id}')" >/dev/null
}

# ---------------------------------------------------------------------------
# 6. rerun

# The intent a daughter of type echo (/bin/cat) got on stdin, its ids left out.
echo_intent() {
	task_logs "$1" stdout | jq -S -c 'del(.task_id, .correlation_id, .daughter_id)'
}

@test "task.rerun: the same intent again, new ids, by task id or correlation id" {
	running_policy
	start_daemon
	env=$(submit_queued whatever '{"text":"again","payload":{"task_name":"echo","k":[1,2]},"priority":"P3","source":"madre","ttl_seconds":7,"max_retries":2,"idempotency_key":"key-1"}')
	cid=$(jq -r .correlation_id <<<"$env")
	tid=$(jq -r .response.task_id <<<"$env")
	wait_status "$tid" completed >/dev/null

	for how in task_id correlation_id; do
		[[ $how == task_id ]] && id=$tid || id=$cid
		again=$(result task.rerun "$(jq -cn --arg k "$how" --arg id "$id" '{($k):$id}')")
		check "$again" '.status == "QUEUED" and .mode == "SPAWNER" and .rerun_of == $c
			and .correlation_id != $c and .response.task_id != $t' --arg c "$cid" --arg t "$tid"
		new=$(jq -r .response.task_id <<<"$again")
		wait_status "$new" completed >/dev/null
		check "$(task_get "$new")" '.task | .task_type == "echo" and .description == "again" and .priority == 3
			and .source == "madre" and .max_retries == 2 and .intent_id == $c' --arg c "$(jq -r .correlation_id <<<"$again")"
		# What the daughter was given: the same intent.
		equals "$(echo_intent "$new")" "$(echo_intent "$tid")"
		# The new intent is audited as any other.
		check "$(result audit.list '{"order":"desc","limit":1}')" '.entries[0].correlation_id == $c and .entries[0].intent_type == "whatever"
			and .entries[0].task_id == $t' --arg c "$(jq -r .correlation_id <<<"$again")" --arg t "$new"
	done
	# The idempotency key was not reused: it still answers with the first envelope.
	check "$(submit_queued whatever '{"text":"again","payload":{"task_name":"echo","k":[1,2]},"priority":"P3","source":"madre","ttl_seconds":7,"max_retries":2,"idempotency_key":"key-1"}')" \
		'.correlation_id == $c' --arg c "$cid"

	# An intent answered at once, and a refused one, are submitted again too.
	hello=$(submit '{"intent_type":"hello","text":"hi"}' | jq -r .correlation_id)
	check "$(result task.rerun "$(jq -cn --arg c "$hello" '{correlation_id:$c}')")" '.status == "DONE" and .rerun_of == $c and .correlation_id != $c' --arg c "$hello"
	off=$(submit '{"intent_type":"hello","require":{"switch":true}}' | jq -r .correlation_id)
	check "$(result task.rerun "$(jq -cn --arg c "$off" '{correlation_id:$c}')")" '.status == "ERROR" and .error == "off_by_policy" and .rerun_of == $c' --arg c "$off"

	check_error "$(call task.rerun '{}')" -32602 vx11.InvalidParams 1
	check_error "$(call task.rerun "$(jq -cn --arg c "$cid" --arg t "$tid" '{correlation_id:$c,task_id:$t}')")" -32602 vx11.InvalidParams 1
	check_error "$(call task.rerun '{"task_id":"01a20161-a84c-7209-ae79-a95f6c7d1e04"}')" -32002 vx11.NotFound 1
	check_error "$(call task.rerun '{"correlation_id":"01a20161-a84c-7209-ae79-a95f6c7d1e04"}')" -32002 vx11.NotFound 1

	# A daughter.spawn task has no intent to submit.
	spawned=$(result daughter.spawn '{"name":"x","cmd":["/bin/true"]}' | jq -r .task_id)
	reply=$(call task.rerun "$(jq -cn --arg t "$spawned" '{task_id:$t}')")
	check_error "$reply" -32003 vx11.Conflict 1
	check "$reply" '.error.message | test("vx11ctl spawn")'
	wait_status "$spawned" completed >/dev/null
}

@test "task.rerun: the owner's or an admin's, submitted as the caller, the policy deciding again" {
	require_root
	start_daemon
	nobody() {
		as_submitter_nobody socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET" <<<"$(req "$@")"
	}
	root_tid=$(submit_task noop)
	mine=$(nobody intent.submit '{"intent_type":"noop","require":{"spawner":true}}' | jq -r .result.response.task_id)
	nobody_uid=$(id -u nobody)

	check_error "$(nobody task.rerun "$(jq -cn --arg t "$root_tid" '{task_id:$t}')")" -32002 vx11.NotFound 1
	again=$(nobody task.rerun "$(jq -cn --arg t "$mine" '{task_id:$t}')" | jq -r .result.response.task_id)
	check "$(task_get "$again")" '.task.uid == $u' --argjson u "$nobody_uid"
	# An admin reruns anyone's: the new task is the admin's.
	by_root=$(result task.rerun "$(jq -cn --arg t "$mine" '{task_id:$t}')" | jq -r .response.task_id)
	check "$(task_get "$by_root")" '.task.uid == 0 and .task.task_type == "noop"'

	# noop now needs a group nobody is not in: its rerun is refused, and audited.
	for g in daemon bin sys adm; do
		getent group "$g" >/dev/null && [[ $(getent group "$g" | cut -d: -f3) != $(stat -c %g "$VX11_SOCKET") ]] && break
	done
	policy_file ".tasks.noop.groups = [\"$g\"]"
	result policy.reload >/dev/null
	reply=$(nobody task.rerun "$(jq -cn --arg t "$mine" '{task_id:$t}')")
	check_error "$reply" -32001 vx11.PermissionDenied 1
	check "$(result audit.list '{"order":"desc","limit":1}')" '.entries[0].uid == $u and .entries[0].error == "permission_denied"' \
		--argjson u "$nobody_uid"
}

@test "vx11ctl rerun TASK: the new envelope, --wait, --json; by a start of either id" {
	running_policy
	start_daemon
	env=$(submit_queued fails)
	cid=$(jq -r .correlation_id <<<"$env")
	tid=$(jq -r .response.task_id <<<"$env")
	wait_status "$tid" failed >/dev/null

	run -0 ctl rerun "${tid:0:30}"
	[[ ${lines[0]} =~ ^([0-9a-f-]{36})\ \ QUEUED\ \ SPAWNER\ \ spawner$ ]]
	[[ ${BASH_REMATCH[1]} != "$cid" ]]
	[[ ${lines[1]} =~ ^task\ ([0-9a-f-]{36})\ queued$ ]]
	[[ ${BASH_REMATCH[1]} != "$tid" ]]

	run -4 ctl rerun "$cid" --wait
	grep -qx "status: ERROR" <<<"$output"
	run -0 --separate-stderr ctl --json rerun "$cid"
	check "$output" '.rerun_of == $c and .status == "QUEUED"' --arg c "$cid"

	hello=$(submit '{"intent_type":"hello"}' | jq -r .correlation_id)
	run -0 ctl rerun "$hello" --wait
	[[ ${lines[0]} == *"  DONE  MADRE  fallback_local" ]]

	run -2 --separate-stderr ctl --socket "$T/nothing.sock" rerun "$tid" --timeout 5
	[[ $stderr == *"--timeout goes with --wait"* ]]
	run -1 --separate-stderr ctl rerun ffffffff
	[[ $stderr == *"(vx11.NotFound)"* ]]
	run -2 ctl rerun
}

# ---------------------------------------------------------------------------
# 4. Durations, local times, progress

# The local time of a daemon timestamp in zone $1, as vx11ctl writes it
# whole ("...T11:55:30.876509+05:30") or in tables ("... 11:55:30").
local_of() {
	TZ=$1 date -d "$2" +%Y-%m-%dT%H:%M:%S."${2:20:6}"%:z
}
local_short_of() {
	TZ=$1 date -d "$2" '+%Y-%m-%d %H:%M:%S'
}

@test "task.list and task.get: started_at (the first attempt's) and ended_at (once ended)" {
	policy_file '.limits.max_running = 8 | .tasks.long = {command: ["/bin/sleep", "100"], max_retries: 0}
		| .tasks.flaky = {command: ["/bin/sh", "-c", "exit 3"], max_retries: 1, backoff: {base_seconds: 0.1, max_seconds: 0.1}}'
	start_daemon
	long=$(submit_task long)
	flaky=$(submit_task flaky)
	got=$(wait_running "$long")
	check "$got" '.task.started_at == .daughters[0].attempts[0].started_at and .task.ended_at == null'
	got=$(wait_status "$flaky" failed)
	check "$got" '(.daughters | length) == 2 and .task.started_at == .daughters[0].attempts[0].started_at
		and .task.ended_at == .task.updated_at and .task.ended_at != null'
	list=$(result task.list)
	check "$list" '.tasks[0].id == $l and .tasks[0].started_at != null and .tasks[0].ended_at == null' --arg l "$long"
	check "$list" '.tasks[1] | .started_at == $g.task.started_at and .ended_at == $g.task.ended_at' --argjson g "$got"
	result task.cancel "$(jq -cn --arg id "$long" '{task_id:$id}')" >/dev/null

	# Never started: both null, in the list and in the task.
	policy_file '.limits.max_running = 0'
	result policy.reload >/dev/null
	held=$(submit_task noop)
	check "$(task_get "$held")" '.task.started_at == null and .task.ended_at == null'
	check "$(result task.list '{"status":"pending"}')" '.tasks[0].started_at == null'
}

@test "vx11ctl tasks RUNTIME and task waited, runtime and durations: ended, so far, none" {
	policy_file '.limits.max_running = 8 | .tasks.nap = {command: ["/bin/sleep", "1.5"], max_retries: 0}
		| .tasks.long = {command: ["/bin/sleep", "100"], max_retries: 0}'
	start_daemon
	nap=$(submit_task nap)
	wait_status "$nap" completed >/dev/null
	long=$(submit_task long)
	wait_running "$long" >/dev/null
	policy_file '.limits.max_running = 0'
	result policy.reload >/dev/null
	held=$(submit_task noop)
	sleep 1.1

	run -0 --separate-stderr ctl tasks --full-ids
	[[ ${lines[0]} =~ ^ID\ +STATUS\ +PRIO\ +SOURCE\ +TYPE\ +RETRY\ +RUNTIME\ +CREATED$ ]]
	[[ ${lines[1]} =~ ^$held\ +pending\ +P1\ +operator\ +noop\ +0/1\ +-\  ]]
	# So far: over a second, and growing.
	[[ ${lines[2]} =~ ^$long\ +running\ .*\ 0/0\ +([0-9.]+)s\  ]]
	holds "${BASH_REMATCH[1]} >= 1"
	# Sleeping 1.5 s takes about that. The start is taken when the spawner
	# thread is back from the exec, which a loaded machine may delay by a
	# tenth of a second or more, and the end as late: both bounds are loose.
	[[ ${lines[3]} =~ ^$nap\ +completed\ .*\ 0/0\ +([0-9.]+)s\  ]]
	holds "${BASH_REMATCH[1]} >= 1 && ${BASH_REMATCH[1]} < 30"

	run -0 ctl task "$nap"
	[[ $output =~ (^|$'\n')runtime:\ ([0-9.]+)s($'\n'|$) ]]
	holds "${BASH_REMATCH[2]} >= 1 && ${BASH_REMATCH[2]} < 30"
	grep -Eqx 'waited: [0-9]+\.[0-9]s' <<<"$output"
	[[ $output =~ (^|$'\n')\ \ \ \ duration:\ ([0-9.]+)s($'\n'|$) ]]
	holds "${BASH_REMATCH[2]} >= 1 && ${BASH_REMATCH[2]} < 30"
	run -0 ctl task "$long"
	grep -Eqx 'runtime: [0-9.]+s so far' <<<"$output"
	grep -Eqx '    duration: [0-9.]+s so far' <<<"$output"
	run -0 ctl task "$held"
	[[ $output =~ (^|$'\n')waited:\ ([0-9.]+)s\ so\ far($'\n'|$) ]]
	holds "${BASH_REMATCH[2]} >= 1.1"
	run ! grep -q '^runtime:' <<<"$output"
	result task.cancel "$(jq -cn --arg id "$long" '{task_id:$id}')" >/dev/null
}

@test "times in the local zone, UTC with --utc: tables, task, result, audit" {
	start_daemon
	env=$(submit_queued noop)
	tid=$(jq -r .response.task_id <<<"$env")
	cid=$(jq -r .correlation_id <<<"$env")
	created=$(task_get "$tid" | jq -r .task.created_at)

	for tz in Asia/Kolkata America/New_York; do
		run -0 env TZ=$tz "$VX11CTL" task "$tid"
		grep -qx "created_at: $(local_of "$tz" "$created")" <<<"$output"
		run -0 env TZ=$tz "$VX11CTL" tasks
		[[ ${lines[1]} == *"  $(local_short_of "$tz" "$created")" ]]
		run -0 env TZ=$tz "$VX11CTL" result "$cid"
		grep -qx "timestamp: $(local_of "$tz" "$(result result.get "$(jq -cn --arg c "$cid" '{correlation_id:$c}')" | jq -r .timestamp)")" <<<"$output"
		run -0 env TZ=$tz "$VX11CTL" audit
		[[ ${lines[1]} == "$(local_short_of "$tz" "$(result audit.list | jq -r '.entries[0].created_at')")  "* ]]
	done
	[[ $(local_of Asia/Kolkata "$created") == *+05:30 ]]

	run -0 env TZ=Asia/Kolkata "$VX11CTL" --utc task "$tid"
	grep -qx "created_at: $created" <<<"$output"
	run -0 env TZ=Asia/Kolkata "$VX11CTL" tasks --utc
	[[ ${lines[1]} == *"  ${created:0:19}Z" ]]
	# --json is the daemon's, whatever the zone.
	run -0 env TZ=Asia/Kolkata "$VX11CTL" --json task "$tid"
	check "$output" '.task.created_at == $c' --arg c "$created"
}

@test "submit --wait on a terminal: states, attempt n/m and the retry countdown on stderr; nothing more off one" {
	policy_file '.limits.max_running = 8
		| .tasks.flaky = {command: ["/bin/sh", "-c", "sleep 1.5; exit 3"], max_retries: 1, backoff: {base_seconds: 3, max_seconds: 3}}'
	start_daemon
	# script(1) gives the client a terminal; what it wrote comes back here.
	run -4 script -qefc "$VX11CTL submit flaky --spawner --wait" "$T/typescript"
	text=$(tr '\r' '\n' <<<"$output")
	tid=$(awk '$1 == "task" && $3 == "queued" { print $2 }' <<<"$text")
	grep -qx "vx11ctl: task $tid running, attempt 1/2" <<<"$text"
	grep -qx "vx11ctl: task $tid running, attempt 2/2" <<<"$text"
	grep -qx "vx11ctl: task $tid failed after attempt 2/2" <<<"$text"
	# The countdown to the retry: at least two of 3s, 2s, 1s, going down.
	mapfile -t left < <(grep -E "^vx11ctl: task $tid retrying: attempt 2/2 in [0-9]s$" <<<"$text" | grep -o '[0-9]s$')
	((${#left[@]} >= 2))
	[[ ${left[0]} > ${left[-1]} ]]
	# One line rewritten in place: carriage returns between them, no newline.
	grep -Eq $'in [0-9]s\rvx11ctl: task [0-9a-f-]+ retrying: attempt 2/2 in [0-9]s' <<<"$output"
	grep -qx 'status: ERROR' <<<"$text"

	# Not a terminal: the same wait, and nothing on stderr.
	run -4 --separate-stderr ctl submit flaky --spawner --wait
	equals "$stderr" ""
	grep -qx 'status: ERROR' <<<"$output"
}
