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

	run -0 --separate-stderr ctl tasks --limit 5
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
	run -0 --separate-stderr ctl tasks --limit 3 --after "$last"
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
	run -0 --separate-stderr ctl tasks --all
	equals "${#lines[@]}" 1004
	equals "$stderr" ""
	equals "$(table_ids "$output" | tail -n 1)" "${ids[0]}"
}
