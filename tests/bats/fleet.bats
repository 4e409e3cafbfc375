#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# A fleet: three vx11d nodes on one PostgreSQL database (FLEET-DESIGN.md P8,
# P9). Each runs only what it claimed there, so every task runs once whichever
# node it was submitted to, the fleet takes tasks in priority order, and a
# node killed with -9 settles its own interrupted attempts when it is back
# within its lease (nobody else does); daughter.spawn runs where it was
# asked, its task claimed as it is inserted; a node whose claim was taken
# stops that daughter at its next write and settles nothing. Leases: a node
# killed or hung past its lease is adopted by another, which settles and
# reruns its attempt while its fence guard has killed its daughter; back, it
# settles nothing; daemon.status shows the nodes and their leases.
#
# A private cluster (bench/pg-cluster.sh) for the file, a database per test.
# The nodes share one cgroup base (each instance has its own root under it,
# as in instances.bats) and the policy; each has its socket, state dir, log.

load helpers
load pg

declare -gA PID

setup_file() {
	pg_setup_file
}

teardown_file() {
	pg_teardown_file
}

setup() {
	pg_setup_test
	vx11_setup
	VX11_CGROUP_ROOT=vx11-test-$$-${BATS_TEST_NUMBER}
	PID=()
	# What the daughters themselves say they ran: one line per run.
	RUNS=$T/runs.log
	: >"$RUNS"
	chmod 0666 "$RUNS"
	MARK=$(daughter_script mark.sh <<EOF
#!/bin/sh
echo "\$VX11_TASK_ID \$VX11_ATTEMPT" >>$RUNS
[ "\${1:-0}" = 0 ] || sleep "\$1"
EOF
)
}

teardown() {
	local x
	for x in "${!PID[@]}"; do
		if alive "${PID[$x]}"; then
			kill -TERM "${PID[$x]}" 2>/dev/null || true
			wait_exit "${PID[$x]}" 100 2>/dev/null || kill -9 "${PID[$x]}" 2>/dev/null || true
		fi
	done
	for x in "${!PID[@]}"; do
		echo "== node $x" >>"$T/vx11d.log"
		cat "$T/$x/vx11d.log" >>"$T/vx11d.log" 2>/dev/null || true
	done
	vx11_teardown
}

sql() {
	psql "$URL" -qAtc "$1"
}

# node_launch X [ARGS...]: node X of the fleet (--node X), in $T/X.
node_launch() {
	local x=$1
	shift
	mkdir -p "$T/$x"
	(
		_bg_close_fds
		exec "$VX11D" --socket "$T/$x/vx11.sock" --state-dir "$T/$x/state" --log-target stderr \
			--log-level debug --cgroup-root "$VX11_CGROUP_ROOT" --policy "$T/policy.json" \
			--database "$URL" --node "$x" "$@"
	) 2>>"$T/$x/vx11d.log" </dev/null >/dev/null &
	PID[$x]=$!
}

node_start() {
	node_launch "$@"
	VX11_SOCKET=$T/$1/vx11.sock DAEMON_PID=${PID[$1]} wait_daemon_ready || { cat "$T/$1/vx11d.log" >&2; return 1; }
}

# on X CMD...: CMD (a helper of helpers.bash) talking to node X.
on() {
	local -x VX11_SOCKET=$T/$1/vx11.sock
	shift
	"$@"
}

# sql_wait TENTHS QUERY EXPECTED: poll until QUERY answers EXPECTED.
sql_wait() {
	local tenths=$1 q=$2 want=$3 got i
	for ((i = 0; i <= tenths; i++)); do
		got=$(sql "$q")
		[[ $got == "$want" ]] && return 0
		sleep 0.1
	done
	echo "after $((tenths / 10)) s, $q: '$got', not '$want'" >&2
	return 1
}

@test "fleet: tasks submitted across three nodes all complete, each run exactly once, spread over the three" {
	n=${FLEET_TASKS:-3000}
	policy_file '.limits.max_running = 4 | .limits.max_queued = 100000
		| .tasks.mark = {command: ["'"$MARK"'"], max_retries: 0}'
	node_start a
	node_start b
	subs=()
	for x in a b; do
		on "$x" submit_many $((n / 3)) mark >"$T/$x.ids" &
		subs+=($!)
	done
	# c comes up while a and b work through theirs: its start finds their
	# tasks pending in the database, and runs only those it claims.
	sql_wait 300 "SELECT count(*) > 0 FROM tasks" t
	node_start c
	on c submit_many $((n / 3)) mark >"$T/c.ids"
	wait "${subs[@]}"
	sort -u "$T"/[abc].ids >"$T/ids"
	equals "$(wc -l <"$T/ids")" "$n"

	sql_wait 900 "SELECT count(*) FROM tasks WHERE status = 'completed'" "$n"
	equals "$(sql "SELECT count(*) FROM tasks WHERE status <> 'completed' OR claimed_by IS NOT NULL")" 0
	# Each task once, by the daughters' own word: n lines, n ids, all submitted.
	equals "$(wc -l <"$RUNS")" "$n"
	equals "$(cut -d' ' -f1 "$RUNS" | sort | uniq -d | wc -l)" 0
	diff <(cut -d' ' -f1 "$RUNS" | sort) "$T/ids"
	equals "$(sql "SELECT count(*) FROM attempts")" "$n"
	# Spread: every node ran some.
	echo "# $n tasks, attempts per node: $(sql "SELECT string_agg(node || ' ' || c, ', ' ORDER BY node)
		FROM (SELECT node, count(*) c FROM attempts GROUP BY node) x")" >&3
	equals "$(sql "SELECT string_agg(node, ',' ORDER BY node) FROM (SELECT DISTINCT node FROM attempts) x")" a,b,c
}

@test "fleet: one slot per node, the fleet claims in priority order, then submission order" {
	policy_file '.limits.max_running = 1 | .tasks.mark = {command: ["'"$MARK"'", "0.5"], max_retries: 0}'
	node_start a
	node_start b
	node_start c
	# Paused in the database: no node claims while the queue fills.
	on a "$VX11CTL" pause >/dev/null
	for p in P3 P1 P2 P0; do
		on b submit_many 3 mark "{\"priority\":\"$p\"}" >/dev/null
	done
	sleep 1.5
	equals "$(sql "SELECT count(*) FROM tasks WHERE claim_seq > 0")" 0
	on a "$VX11CTL" resume >/dev/null
	sql_wait 300 "SELECT count(*) FROM tasks WHERE status = 'completed'" 12
	# In the order they were claimed, the priorities never go back up: a
	# lower one claimed before a higher one was still there would show as an
	# inversion of a whole task's run (0.5 s); claims at the same instant
	# (SKIP LOCKED passing over a row another node is taking) only by ms.
	sql "SELECT priority, claimed_by, claimed_at, seq FROM tasks ORDER BY claimed_at"
	equals "$(sql "SELECT count(*) FROM tasks h JOIN tasks l ON h.priority < l.priority
		WHERE h.claimed_at > l.claimed_at + 100000")" 0
	equals "$(sql "SELECT count(*) FROM tasks h JOIN tasks l ON h.priority = l.priority AND h.seq < l.seq
		WHERE h.claimed_at > l.claimed_at + 100000")" 0
	equals "$(sql "SELECT count(DISTINCT node) FROM attempts")" 3
	equals "$(wc -l <"$RUNS")" 12
}

@test "fleet: a node killed with -9 settles its own interrupted attempt when it is back; nobody else touches it" {
	policy_file '.limits.max_running = 2 | .defaults.backoff = {base_seconds: 0.2, max_seconds: 0.2}
		| .tasks.mark = {command: ["'"$MARK"'", "100"], max_retries: 1,
			mutations: [{command: ["'"$MARK"'", "0"]}]}'
	node_start a
	node_start b
	node_start c
	tid=$(on a submit_task mark)
	on a wait_running "$tid" >/dev/null
	x=$(sql "SELECT node FROM attempts WHERE task_id = '$tid'")
	[[ $x == [abc] ]]
	kill -9 "${PID[$x]}"
	wait_exit "${PID[$x]}" 300
	# Its claim holds: the other two neither settle nor run it.
	sleep 2
	equals "$(sql "SELECT status || ' ' || claimed_by FROM tasks WHERE id = '$tid'")" "running $x"
	equals "$(sql "SELECT count(*) FROM attempts WHERE task_id = '$tid'")" 1

	node_start "$x"
	sql_wait 200 "SELECT status FROM tasks WHERE id = '$tid'" completed
	y=$(sql "SELECT node FROM attempts WHERE task_id = '$tid' AND number = 2")
	equals "$(sql "SELECT string_agg(number || ':' || status || ':' || reason || ':' || node, ' ' ORDER BY number)
		FROM attempts WHERE task_id = '$tid'")" "1:interrupted:interrupted:$x 2:succeeded:exited:$y"
	grep -q "recovery: attempt 1 of task $tid" "$T/$x/vx11d.log"
	for y in a b c; do
		[[ $y == "$x" ]] || ! grep -q "recovery: attempt 1 of task $tid" "$T/$y/vx11d.log"
	done
	# The daughters' own word: attempt 1, then 2.
	equals "$(grep -c "^$tid " "$RUNS")" 2
	equals "$(sql "SELECT claimed_by IS NULL FROM tasks WHERE id = '$tid'")" t
}

@test "fleet: daughter.spawn runs on the node asked, claimed in the transaction that inserts its task" {
	policy_file '.limits.max_running = 4 | .tasks.mark = {command: ["'"$MARK"'"], max_retries: 0}'
	node_start a
	node_start b
	ids=()
	for i in 1 2 3 4 5; do
		ids+=("$(on b result daughter.spawn "$(jq -cn --arg s "$MARK" '{name: "m", cmd: [$s]}')" | jq -r .task_id)")
	done
	for id in "${ids[@]}"; do
		sql_wait 100 "SELECT status FROM tasks WHERE id = '$id'" completed
		equals "$(sql "SELECT string_agg(node, ',') FROM attempts WHERE task_id = '$id'")" b
		equals "$(grep -c "^$id " "$RUNS")" 1
	done
	equals "$(sql "SELECT count(*) FROM tasks WHERE claimed_by IS NOT NULL OR claim_seq <> 1")" 0
}

@test "fleet: a node whose claim was taken stops the daughter at its next write and settles nothing" {
	beat=$(daughter_script beat.sh <<'EOF'
#!/bin/sh
i=0
while [ $i -lt 100 ]; do
	/bin/systemd-notify WATCHDOG=1
	/bin/sleep 0.2
	i=$((i + 1))
done
EOF
)
	policy_file '.tasks.beat = {command: ["'"$beat"'"], heartbeat_seconds: 10, max_retries: 0}'
	node_start a
	tid=$(on a submit_task beat)
	on a wait_running "$tid" >/dev/null
	wait_for 50 eval '[[ -n $(task_pids "$tid") ]]'
	# What adoption will do (P9), by hand: the claim is someone else's now.
	sql "UPDATE tasks SET claimed_by = 'thief', claim_seq = claim_seq + 1 WHERE id = '$tid'"
	# Its next heartbeat write (at most a second apart) is refused: the daughter goes.
	wait_for 50 no_task_pids "$tid"
	grep -q "daughter .* of task $tid: task $tid: fenced: its claim 1 by node a is no longer this node's; stopping it" \
		"$T/a/vx11d.log"
	# Nothing of its end reached the rows: the holder of the claim has the last word.
	sleep 0.5
	equals "$(sql "SELECT status || ' ' || claimed_by FROM tasks WHERE id = '$tid'")" "running thief"
	equals "$(sql "SELECT status FROM attempts WHERE task_id = '$tid'")" running
	equals "$(sql "SELECT status FROM daughters WHERE task_id = '$tid'")" running
	# The node goes on with other work.
	t2=$(on a submit_task noop)
	sql_wait 100 "SELECT status FROM tasks WHERE id = '$t2'" completed
}

# other X: the other node of a and b.
other() {
	[[ $1 == a ]] && echo b || echo a
}

@test "fleet: task.cancel on one node stops the daughter running on another; the task ends cancelled" {
	policy_file '.limits.max_running = 2 | .tasks.slow = {command: ["'"$MARK"'", "100"], max_retries: 0}'
	node_start a
	node_start b
	tid=$(on b submit_task slow)
	on b wait_running "$tid" >/dev/null
	x=$(sql "SELECT node FROM attempts WHERE task_id = '$tid'")
	y=$(other "$x")
	wait_for 50 eval '[[ -n $(task_pids "$tid") ]]'
	pids=$(task_pids "$tid")
	# The reply says what a cancel on the running node says.
	r=$(on "$y" result task.cancel "$(jq -cn --arg t "$tid" '{task_id: $t}')")
	check "$r" '. == {status: "cancelled", task_id: $t, cancelled_daughters_count: 1}' --arg t "$tid"
	# Its node kills it (told by NOTIFY, else its poll, ~1 s): the kill, not a
	# time (10 s: generous under load).
	wait_for 100 no_task_pids "$tid"
	for p in $pids; do
		! alive "$p"
	done
	grep -Eq "task $tid (was )?cancelled on another node: its daughter is stopped" "$T/$x/vx11d.log"
	# Ended as a local cancel ends: cancelled, the attempt killed for it, the claim given back.
	sql_wait 50 "SELECT t.status || ' ' || a.status || ' ' || a.reason || ' ' || coalesce(t.claimed_by, '-')
		FROM tasks t JOIN attempts a ON a.task_id = t.id WHERE t.id = '$tid'" "cancelled killed cancelled -"
	check_json "$(on "$x" task_get "$tid")" '.task.status == "cancelled" and .daughters[-1].status == "killed"'
	equals "$(grep -c "^$tid " "$RUNS")" 1
}

@test "fleet: a queued task cancelled on another node never runs; a cancel after the end changes nothing" {
	policy_file '.limits.max_running = 1 | .tasks.slow = {command: ["'"$MARK"'", "100"], max_retries: 0}
		| .tasks.mark = {command: ["'"$MARK"'"], max_retries: 0}'
	node_start a
	node_start b
	# One slot per node, both taken: what comes next waits in the database.
	s1=$(on a submit_task slow)
	s2=$(on b submit_task slow)
	on a wait_running "$s1" >/dev/null
	on a wait_running "$s2" >/dev/null
	q=$(on a submit_task mark)
	equals "$(sql "SELECT status || ' ' || coalesce(claimed_by, '-') FROM tasks WHERE id = '$q'")" "pending -"
	r=$(on b result task.cancel "$(jq -cn --arg t "$q" '{task_id: $t}')")
	check "$r" '. == {status: "cancelled", task_id: $t, cancelled_daughters_count: 0}' --arg t "$q"
	# The slots free up (each slow one cancelled from the node it does not run on)...
	for s in "$s1" "$s2"; do
		x=$(sql "SELECT node FROM attempts WHERE task_id = '$s'")
		on "$(other "$x")" result task.cancel "$(jq -cn --arg t "$s" '{task_id: $t}')" >/dev/null
	done
	for s in "$s1" "$s2"; do
		sql_wait 50 "SELECT status FROM tasks WHERE id = '$s'" cancelled
	done
	# ... and the fleet moves on past the cancelled one, never running it.
	n=$(on b submit_task mark)
	sql_wait 100 "SELECT status FROM tasks WHERE id = '$n'" completed
	equals "$(sql "SELECT status || ' ' || (SELECT count(*) FROM attempts WHERE task_id = '$q')
		FROM tasks WHERE id = '$q'")" "cancelled 0"
	equals "$(grep -c "^$q " "$RUNS")" 0

	# Ended on one node, cancelled on the other: refused, the end kept.
	before=$(sql "SELECT status || ' ' || updated_at || ' ' || coalesce(result_json, '') FROM tasks WHERE id = '$n'")
	reply=$(on a call task.cancel "$(jq -cn --arg t "$n" '{task_id: $t}')")
	check "$reply" '.error.code == -32003 and (.error.message | test("already completed"))'
	equals "$(sql "SELECT status || ' ' || updated_at || ' ' || coalesce(result_json, '') FROM tasks WHERE id = '$n'")" "$before"
}

@test "fleet: result.get --wait on one node is answered when another node settles the task" {
	gate=$(daughter_script gate.sh <<EOF
#!/bin/sh
while [ ! -e $T/go ]; do /bin/sleep 0.05; done
echo done
EOF
)
	policy_file '.tasks.gate = {command: ["'"$gate"'"], max_retries: 0}'
	# b alone takes it; a comes up once it runs there.
	node_start b
	env=$(on b submit_queued gate)
	cid=$(jq -r .correlation_id <<<"$env")
	tid=$(jq -r .response.task_id <<<"$env")
	on b wait_running "$tid" >/dev/null
	node_start a
	# Waits on a far longer than the test allows: only b's settle can answer it.
	on a "$VX11CTL" --json result "$cid" --wait 120 >"$T/waited" 2>&1 &
	w=$!
	on a result result.get "$(jq -cn --arg c "$cid" '{correlation_id: $c, wait_seconds: 120}')" >"$T/waited.rpc" &
	r=$!
	sleep 0.5
	alive "$w"
	alive "$r"
	touch "$T/go"
	wait_exit "$w" 200
	wait_exit "$r" 200
	wait "$w"
	wait "$r"
	equals "$(sql "SELECT node FROM attempts WHERE task_id = '$tid'")" b
	check_json "$(cat "$T/waited.rpc")" '.status == "DONE"'
	check_json "$(cat "$T/waited")" '.status == "DONE"'
}

# The task.status events of the connection NAME about TASK_ID, as one JSON array.
task_events() {
	jq -s -c --arg t "$2" 'map(select(.method == "event" and .params.type == "task.status"
		and .params.task_id == $t) | .params)' "$T/$1.out"
}

@test "fleet: events.subscribe on one node sees the status changes of a task another node ran, as that node's subscribers do; a submitter only its own" {
	require_root
	policy_file '.limits.max_running = 2 | .tasks.mark = {command: ["'"$MARK"'"], max_retries: 0}'
	node_start a
	node_start b
	local -x VX11_SOCKET=$T/a/vx11.sock
	conn_open onA
	conn_open nobodyA as_submitter_nobody
	VX11_SOCKET=$T/b/vx11.sock conn_open onB
	for c in onA nobodyA onB; do
		conn_send "$c" "$(req events.subscribe '' 1)"
		conn_wait "$c" 1
		check "$(sed -n 1p "$T/$c.out")" '.result == {"subscribed":true}'
	done
	# Run on b (daughter.spawn runs where it is asked): a hears of it from b's commits.
	tid=$(on b result daughter.spawn "$(jq -cn --arg s "$MARK" '{name: "m", cmd: [$s]}')" | jq -r .task_id)
	sql_wait 100 "SELECT status FROM tasks WHERE id = '$tid'" completed
	equals "$(sql "SELECT node FROM attempts WHERE task_id = '$tid'")" b
	wait_for 50 eval '[[ $(task_events onA "$tid" | jq "map(.status) | index(\"completed\")") != null ]]'
	onb=$(task_events onB "$tid")
	ona=$(task_events onA "$tid")
	# Each change b's own subscribers got, a's got too, field for field.
	check "$onb" 'map(.status) | index("running") != null and index("completed") != null'
	equals "$ona" "$onb"
	! grep -q "not understood" "$T/a/vx11d.log"

	# nobody's own task, submitted on b: nobody's subscriber on a gets its
	# events, and none of root's task.
	own=$(VX11_SOCKET=$T/b/vx11.sock as_submitter_nobody socat -t 5 - "UNIX-CONNECT:$T/b/vx11.sock" \
		<<<"$(req intent.submit '{"intent_type":"noop","require":{"spawner":true}}')" | jq -r .result.response.task_id)
	[[ -n $own && $own != null ]]
	wait_for 50 eval '[[ $(task_events nobodyA "$own" | jq length) -ge 1 ]]'
	equals "$(task_events nobodyA "$tid")" "[]"
	check "$(task_events onA "$own")" '.[0].status == "pending"'
	check "$(task_events nobodyA "$own")" '.[0] == $first' --argjson first "$(task_events onA "$own" | jq -c '.[0]')"
}

@test "fleet: task.logs on one node of an attempt another node ran: its tail from the database, naming the node, truncated when longer" {
	chatty=$(daughter_script chatty.sh <<EOF
#!/bin/sh
seq 1 20000
echo oops >&2
while [ ! -e $T/go ]; do /bin/sleep 0.05; done
EOF
)
	policy_file '.limits.max_running = 2'
	node_start a
	node_start b
	tid=$(on b result daughter.spawn "$(jq -cn --arg s "$chatty" '{name: "c", cmd: [$s]}')" | jq -r .task_id)
	on b wait_running "$tid" >/dev/null
	# Running there: nothing kept yet, more to come.
	r=$(on a result task.logs "$(jq -cn --arg t "$tid" '{task_id: $t}')")
	check "$r" '.data == "" and .eof == false and .node == "b" and .live == true'
	touch "$T/go"
	sql_wait 100 "SELECT status FROM tasks WHERE id = '$tid'" completed
	seq 1 20000 >"$T/all"
	size=$(stat -c %s "$T/all")
	# 108894 bytes: the last 64 KiB, at their offsets in the file.
	r=$(on a result task.logs "$(jq -cn --arg t "$tid" '{task_id: $t, max_bytes: 1048576}')")
	check "$r" '.node == "b" and .truncated == true and .eof == true and (has("live") | not)
		and .size == $n and .offset == $n - 65536 and .next_offset == $n' --argjson n "$size"
	jq -j .data <<<"$r" >"$T/got"
	tail -c 65536 "$T/all" | cmp - "$T/got"
	# An offset within the tail starts there.
	r=$(on a result task.logs "$(jq -cn --arg t "$tid" --argjson o "$((size - 12))" '{task_id: $t, offset: $o}')")
	check "$r" '.data == "19999\n20000\n" and .eof == true'
	# A short stream whole; b itself serves its own file, as always.
	r=$(on a result task.logs "$(jq -cn --arg t "$tid" '{task_id: $t, stream: "stderr"}')")
	check "$r" '.data == "oops\n" and .truncated == false and .node == "b" and .size == 5'
	r=$(on b result task.logs "$(jq -cn --arg t "$tid" '{task_id: $t}')")
	check "$r" '(has("node") | not) and .size == $n and .offset == 0' --argjson n "$size"
}

@test "fleet: the same idempotency key on two nodes gives one task, one after the other and at once" {
	policy_file '.tasks.mark = {command: ["'"$MARK"'"], max_retries: 0}'
	node_start a
	node_start b
	keyed() { # NODE KEY: the envelope of a keyed submission
		on "$1" submit "$(jq -cn --arg k "$2" '{intent_type: "mark", require: {spawner: true}, idempotency_key: $k}')"
	}
	e1=$(keyed a k0)
	e2=$(keyed b k0)
	equals "$(jq -r .response.task_id <<<"$e2")" "$(jq -r .response.task_id <<<"$e1")"
	equals "$(jq -r .correlation_id <<<"$e2")" "$(jq -r .correlation_id <<<"$e1")"
	# At once: each key sent to both nodes together.
	subs=()
	for i in $(seq 1 20); do
		keyed a "k$i" >"$T/a.$i" &
		subs+=($!)
		keyed b "k$i" >"$T/b.$i" &
		subs+=($!)
	done
	wait "${subs[@]}"
	for i in $(seq 1 20); do
		ta=$(jq -r .response.task_id <"$T/a.$i")
		[[ $ta == ????????-* ]]
		equals "$(jq -r .response.task_id <"$T/b.$i")" "$ta"
	done
	equals "$(sql "SELECT count(*) FROM tasks")" 21
	equals "$(sql "SELECT count(DISTINCT task_id) FROM intents_log WHERE idempotency_key IS NOT NULL")" 21
	sql_wait 100 "SELECT count(*) FROM tasks WHERE status = 'completed'" 21
	equals "$(wc -l <"$RUNS")" 21
}

@test "fleet: queue.pause and queue.resume on one node hold and free every node, one started while paused too" {
	policy_file '.tasks.mark = {command: ["'"$MARK"'"], max_retries: 0}'
	node_start a
	node_start b
	paused() { # NODE: its daemon.status says the whole queue is paused (true/false)
		on "$1" result daemon.status | jq -r .paused.all
	}
	on a result queue.pause '{}' >/dev/null
	wait_for 50 eval '[[ $(paused b) == true ]]'
	tid=$(on b submit_task mark)
	# Started while paused: it holds too.
	node_start c
	equals "$(paused c)" true
	# Two polls of every node later, nobody took it.
	sleep 2.5
	equals "$(sql "SELECT status || ' ' || coalesce(claimed_by, '-') FROM tasks WHERE id = '$tid'")" "pending -"
	# Resumed on b: a and c know it, and the task runs.
	on b result queue.resume '{}' >/dev/null
	wait_for 50 eval '[[ $(paused a) == false && $(paused c) == false ]]'
	sql_wait 100 "SELECT status FROM tasks WHERE id = '$tid'" completed
	equals "$(grep -c "^$tid " "$RUNS")" 1
}

@test "fleet: a node killed with -9 is adopted when its lease ends: its daughter is gone, its attempt interrupted and rerun elsewhere once" {
	# Each run says its pid (the sleep's: exec) beside task and attempt.
	pidw=$(daughter_script pidw.sh <<EOF2
#!/bin/sh
echo "\$VX11_TASK_ID \$VX11_ATTEMPT \$\$" >>$RUNS
[ "\${1:-0}" = 0 ] || exec sleep "\$1"
EOF2
)
	policy_file '.limits.max_running = 2 | .defaults.backoff = {base_seconds: 0.2, max_seconds: 0.2}
		| .tasks.pidw = {command: ["'"$pidw"'", "300"], max_retries: 1,
			mutations: [{command: ["'"$pidw"'", "0"]}]}'
	for x in a b c; do
		node_start "$x" --lease-seconds 2
	done
	tid=$(on a submit_task pidw)
	on a wait_running "$tid" >/dev/null
	wait_for 50 grep -q "^$tid 1 " "$RUNS"
	pid=$(awk -v t="$tid" '$1 == t && $2 == 1 {print $3}' "$RUNS")
	alive "$pid"
	x=$(sql "SELECT node FROM attempts WHERE task_id = '$tid'")
	[[ $x == [abc] ]]
	kill -9 "${PID[$x]}"
	SECONDS=0
	wait_exit "${PID[$x]}" 300
	# The fence guard killed its daughter when the daemon died.
	wait_for 20 eval '! alive "$pid"'
	# Lease (2 s) + 5 s: adopted, attempt 1 settled, rerun on another node.
	sql_wait 70 "SELECT status FROM tasks WHERE id = '$tid'" completed
	echo "# completed elsewhere $SECONDS s after the kill" >&3
	y=$(sql "SELECT node FROM attempts WHERE task_id = '$tid' AND number = 2")
	[[ $y != "$x" ]]
	equals "$(sql "SELECT string_agg(number || ':' || status || ':' || reason || ':' || node, ' ' ORDER BY number)
		FROM attempts WHERE task_id = '$tid'")" "1:interrupted:interrupted:$x 2:succeeded:exited:$y"
	equals "$(sql "SELECT error_message FROM attempts WHERE task_id = '$tid' AND number = 1")" \
		"node $x stopped renewing its lease"
	equals "$(sql "SELECT status FROM daughters WHERE task_id = '$tid' ORDER BY started_at LIMIT 1")" killed
	# Adopted once, by one of the others, who says so in its journal.
	s=$(sql "SELECT state || ' ' || swept_by FROM nodes WHERE name = '$x'")
	[[ $s == "down "[abc] && $s != "down $x" ]]
	equals "$(cat "$T"/[abc]/vx11d.log | grep -c "recovery: node $x stopped renewing its lease; adopted by node ${s#down }")" 1
	equals "$(grep -c "^$tid " "$RUNS")" 2
	equals "$(sql "SELECT claimed_by IS NULL FROM tasks WHERE id = '$tid'")" t

	# Back, it settles nothing (the adopter did) and runs nothing stale.
	node_start "$x" --lease-seconds 2
	sleep 1
	! grep -q "recovery: attempt 1 of task $tid" "$T/$x/vx11d.log"
	equals "$(sql "SELECT count(*) FROM attempts WHERE task_id = '$tid'")" 2
	equals "$(grep -c "^$tid " "$RUNS")" 2
	equals "$(sql "SELECT state FROM nodes WHERE name = '$x'")" up
}

@test "fleet: daemon.status lists the nodes with their leases, the fleet's queue depth and counts" {
	policy_file '.limits.max_running = 1 | .tasks.mark = {command: ["'"$MARK"'", "0"], max_retries: 0}'
	node_start a --lease-seconds 3
	node_start b --lease-seconds 3
	# Paused in the database: nobody claims, the three wait in the fleet's queue.
	on a "$VX11CTL" pause >/dev/null
	on b submit_many 3 mark >/dev/null
	st=$(on b result daemon.status '{}')
	jq -e '.store.lease_seconds == 3 and .store.incarnation == 1 and .store.lease_fenced == false' <<<"$st"
	jq -e '.fleet.queue_depth == 3 and .fleet.counts.pending == 3' <<<"$st"
	jq -e '[.fleet.nodes[] | .name] == ["a", "b"]' <<<"$st"
	jq -e '[.fleet.nodes[] | select(.alive and .state == "up" and .lease_ok and .lease_until > 0
		and .max_running == 1)] | length == 2' <<<"$st"
	# Each has its fence guard, a child of its own.
	guard=$(pgrep -P "${PID[a]}" -x vx11d-fence)
	[[ -n $guard && -n $(pgrep -P "${PID[b]}" -x vx11d-fence) ]]
	# One dies: its guard goes with it; after its lease, the other adopts it and says so.
	kill -9 "${PID[a]}"
	wait_exit "${PID[a]}" 300
	wait_for 20 eval '! alive "$guard"'
	sql_wait 100 "SELECT state || ' ' || swept_by FROM nodes WHERE name = 'a'" "down b"
	st=$(on b result daemon.status '{}')
	jq -e '.fleet.nodes[0] | .name == "a" and .alive == false and .state == "down" and .swept_by == "b"' <<<"$st"
	jq -e '.store.nodes_adopted == 1' <<<"$st"
	out=$(on b "$VX11CTL" status)
	grep -q "^  queue_depth: 3$" <<<"$out"
	grep -q "^  node a: down, lease ended, running 0/1, host .*, adopted by b$" <<<"$out"
	grep -q "^  node b: up, lease ok, running 0/1, host " <<<"$out"
	# A clean stop says it left: nobody adopts it.
	kill -TERM "${PID[b]}"
	wait_exit "${PID[b]}" 100
	equals "$(sql "SELECT state || ' ' || (lease_until <= now()) FROM nodes WHERE name = 'b'")" "left true"
}

@test "fleet: a node stopped past its lease: its fence guard kills its daughter, another node adopts it; resumed, it finds itself swept and settles nothing" {
	pidw=$(daughter_script pidw.sh <<EOF2
#!/bin/sh
echo "\$VX11_TASK_ID \$VX11_ATTEMPT \$\$" >>$RUNS
[ "\${1:-0}" = 0 ] || exec sleep "\$1"
EOF2
)
	policy_file '.limits.max_running = 2 | .defaults.backoff = {base_seconds: 0.2, max_seconds: 0.2}
		| .tasks.pidw = {command: ["'"$pidw"'", "300"], max_retries: 1,
			mutations: [{command: ["'"$pidw"'", "0"]}]}'
	node_start a --lease-seconds 2
	node_start b --lease-seconds 2
	tid=$(on a submit_task pidw)
	on a wait_running "$tid" >/dev/null
	wait_for 50 grep -q "^$tid 1 " "$RUNS"
	pid=$(awk -v t="$tid" '$1 == t && $2 == 1 {print $3}' "$RUNS")
	x=$(sql "SELECT node FROM attempts WHERE task_id = '$tid'")
	[[ $x == a ]] && y=b || y=a
	# Hung: it renews nothing and kills nothing; its guard does, before the lease ends.
	kill -STOP "${PID[$x]}"
	wait_for 30 eval '! alive "$pid"'
	sql_wait 70 "SELECT status FROM tasks WHERE id = '$tid'" completed
	equals "$(sql "SELECT string_agg(number || ':' || status || ':' || reason || ':' || node, ' ' ORDER BY number)
		FROM attempts WHERE task_id = '$tid'")" "1:interrupted:interrupted:$x 2:succeeded:exited:$y"
	equals "$(sql "SELECT state || ' ' || swept_by FROM nodes WHERE name = '$x'")" "down $y"

	kill -CONT "${PID[$x]}"
	# Its next renewal says it was adopted: it registers again, writes nothing of the old attempt.
	wait_for 50 grep -q "node $x: its incarnation 1 was adopted by another node" "$T/$x/vx11d.log"
	sql_wait 50 "SELECT state || ' ' || incarnation FROM nodes WHERE name = '$x'" "up 3"
	sleep 1
	equals "$(sql "SELECT string_agg(number || ':' || status || ':' || reason || ':' || node, ' ' ORDER BY number)
		FROM attempts WHERE task_id = '$tid'")" "1:interrupted:interrupted:$x 2:succeeded:exited:$y"
	equals "$(grep -c "^$tid " "$RUNS")" 2
	# And works on.
	t2=$(on "$x" submit_task noop)
	sql_wait 100 "SELECT status FROM tasks WHERE id = '$t2'" completed
}
