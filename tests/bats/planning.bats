#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Planning by the switch (switch.md), through the real vx11d and the real
# vx11-switch, or a test switch (a small python3 server) that answers as
# told: a fixed plan, never, garbage, a JSON-RPC error, or only once released.
# Planned DONE and QUEUED (the plan in the reply, task.get, the daughter's
# stdin, the audit log); re-routing; every way planning degrades, the circuit
# breaker and daemon.status.switch; a kill -9 while planning; retries re-plan.

load helpers

FAKE_PID=

setup() {
	switch_setup
}

teardown() {
	if [[ -n $FAKE_PID ]] && alive "$FAKE_PID"; then
		kill -9 "$FAKE_PID" 2>/dev/null || true
		wait "$FAKE_PID" 2>/dev/null || true
	fi
	FAKE_PID=
	switch_teardown
	vx11_teardown
}

# switch_policy [JQ_FILTER]: the test policy in mode "switch" on $T/switch.sock
# (timeout 1.5 s, breaker after 2 failures for 2 s), with task types analysis
# (cat: its stdout is its stdin) and flaky (fails, one retry), then JQ_FILTER.
switch_policy() {
	policy_file ".mode = \"switch\"
		| .switch = {socket: \"$T/switch.sock\", timeout_ms: 1500, failure_threshold: 2, cooldown_seconds: 2}
		| .tasks.analysis = {command: [\"/bin/cat\"]}
		| .tasks.flaky = {command: [\"/bin/false\"], max_retries: 1}
		| ${1:-.}"
}

# fake_switch MODE [RESULT_JSON]: the test switch on $T/switch.sock. MODE:
# ok (answers RESULT_JSON, by default a fixed plan), hang (never answers),
# garbage (a line that is not JSON), error (a JSON-RPC error), hold (answers
# once $T/switch.sock.release exists). Every request it reads is appended to
# $T/fake.log, one JSON line each.
fake_switch() {
	local mode=$1 res=${2:-'{"plan_id":"p-1","provider":"fake","model":"fm-1","approach":"by-the-book","score":0.5,"steps":["one"]}'}
	cat >"$T/fake-switch.py" <<'PY'
import json, os, socket, sys, threading, time
path, mode, logpath, result = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
release = path + ".release"
try:
    os.unlink(path)
except FileNotFoundError:
    pass
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path + ".tmp")
srv.listen(64)
os.rename(path + ".tmp", path)
lock = threading.Lock()

def serve(c):
    f = c.makefile("rb")
    for line in f:
        req = json.loads(line)
        with lock, open(logpath, "a") as log:
            log.write(json.dumps(req) + "\n")
        if mode == "hang":
            continue
        while mode == "hold" and not os.path.exists(release):
            time.sleep(0.05)
        if mode == "garbage":
            out = "this is not json"
        elif mode == "error":
            out = json.dumps({"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32000, "message": "no plan today"}})
        else:
            out = json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": result})
        try:
            c.sendall(out.encode() + b"\n")
        except OSError:
            return

while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
	(
		_bg_close_fds
		exec python3 "$T/fake-switch.py" "$T/switch.sock" "$mode" "$T/fake.log" "$res"
	) 2>>"$T/fake.err" </dev/null >/dev/null &
	FAKE_PID=$!
	wait_for 50 test -S "$T/switch.sock"
}

# switch_status: daemon.status's "switch".
switch_status() {
	result daemon.status | jq -c .switch
}

# plan_intent [EXTRA_JSON]: a require.switch intent without a task; its envelope.
plan_intent() {
	local x=${1:-'{}'}
	submit "$(jq -cn --argjson x "$x" '{intent_type:"analysis.logs", text:"please summarise the logs", require:{switch:true}} + $x')"
}

# plan_task [EXTRA_JSON]: a require.switch + spawner intent for analysis; its envelope.
plan_task() {
	local x=${1:-'{}'}
	submit "$(jq -cn --argjson x "$x" '{intent_type:"analysis", text:"please summarise the logs", require:{switch:true, spawner:true}} + $x')"
}

# fake_asked N CORRELATION_ID: the test switch was asked at least N times for it.
fake_asked() {
	[[ $(grep -c "$2" "$T/fake.log" 2>/dev/null) -ge $1 ]]
}

# audit_entry CORRELATION_ID: its audit.list entry.
audit_entry() {
	result audit.list '{"limit":1000}' | jq -c --arg c "$1" '.entries[] | select(.correlation_id == $c)'
}

@test "planned DONE: the switch's plan in the reply, result.get, the audit log and daemon.status" {
	start_switch
	switch_policy
	start_daemon
	check_json "$(switch_status)" '. == {mode:"switch", socket:$s, state:"closed", consecutive_failures:0, plans:0,
		degraded:0, subtasks:0, last_error:null}' --arg s "$T/switch.sock"

	local env cid res a
	env=$(plan_intent)
	check_json "$env" '.status == "DONE" and .mode == "MADRE" and .provider == "switch" and .degraded == false and .error == null'
	check "$env" '.response | (keys | sort) == ["approach","model","plan_id","provider","response","score","steps"]'
	check "$env" '.response.provider == "local-llm" and .response.model == "m-7b" and .response.approach == "split-and-summarise"
		and .response.score == 0.82 and .response.steps == ["split","summarise","merge"] and (.response.plan_id | length > 0)'
	cid=$(jq -r .correlation_id <<<"$env")

	res=$(result result.get "$(jq -cn --arg c "$cid" '{correlation_id:$c}')")
	check_json "$res" '.status == "DONE" and .provider == "switch" and .degraded == false and .result.approach == "split-and-summarise"'

	a=$(audit_entry "$cid")
	check_json "$a" '.status == "DONE" and .result_status == "DONE" and .provider == "switch" and (.processed_at | type == "string")'
	check "$a" '.notes | test("planned by the switch: provider local-llm, model m-7b, approach split-and-summarise")'

	check_json "$(switch_status)" '.state == "closed" and .plans == 1 and .degraded == 0 and .consecutive_failures == 0'
	grep -q "MESSAGE_ID=6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f15 .*VX11_CORRELATION_ID=$cid .*VX11_UID=0 .*VX11_PROVIDER=switch VX11_DEGRADED=false" \
		"$T/vx11d.log"

	# The client prints the plan, and the switch's state.
	run -0 "$VX11CTL" submit analysis.logs --switch --text "summarise the logs"
	[[ ${lines[0]} == *"  DONE  MADRE  switch" ]]
	[[ $output == *"approach: split-and-summarise"* && $output == *"model: m-7b"* ]]
	run -0 "$VX11CTL" status
	[[ $output == *$'switch:\n  mode: switch\n'* && $output == *"  state: closed"* && $output == *"  plans: 2"* ]]

	# Submitted again: planned again, and the reply names the intent it repeats.
	local again
	again=$(result task.rerun "$(jq -cn --arg c "$cid" '{correlation_id:$c}')")
	check_json "$again" '.status == "DONE" and .provider == "switch" and .rerun_of == $c and .correlation_id != $c' --arg c "$cid"
}

@test "planned QUEUED: the plan in the reply, task.get and the daughter's stdin; re-routed to another allowed type" {
	start_switch
	switch_policy
	start_daemon

	local env tid t out a
	# Named noop by its payload, re-routed by the switch's route to analysis (cat).
	env=$(plan_task '{"payload":{"task_name":"noop"}}')
	check_json "$env" '.status == "QUEUED" and .mode == "SPAWNER" and .provider == "switch" and .degraded == false'
	check "$env" '.response.plan.approach == "split-and-summarise" and .response.plan.task_type == "analysis"
		and .response.plan.model == "m-7b" and (.response.task_id | length > 0)'
	tid=$(jq -r .response.task_id <<<"$env")

	t=$(wait_status "$tid" completed)
	check_json "$t" '.task.task_type == "analysis" and .task.provider == "switch" and .task.model == "m-7b" and .task.degraded == false'
	check "$t" '.task.plan == $p' --argjson p "$(jq -c .response.plan <<<"$env")"
	check "$t" '.daughters | length == 1'

	out=$(task_logs "$tid" stdout)
	check_json "$out" '.plan == $p and .degraded == false and .task_type == "analysis"' --argjson p "$(jq -c .response.plan <<<"$env")"

	a=$(audit_entry "$(jq -r .correlation_id <<<"$env")")
	check_json "$a" '.status == "QUEUED" and .result_status == "DONE" and .provider == "switch" and (.processed_at | type == "string")'
	check "$a" '.notes | test("re-routed to analysis")'
	check_json "$(switch_status)" '.plans == 1 and .degraded == 0'
}

@test "a re-route to a type the caller may not submit degrades; the policy's refusals never do" {
	# vx11-switch re-routes only to one of task_types: the test switch does worse.
	fake_switch ok '{"provider":"fake","approach":"elsewhere","task_type":"not-a-policy-type"}'
	switch_policy
	start_daemon

	local env tid t
	env=$(plan_task)
	check_json "$env" '.status == "QUEUED" and .provider == "spawner" and .degraded == true'
	check "$env" '.response.plan.degraded_reason | test("switch malformed answer: task_type")'
	tid=$(jq -r .response.task_id <<<"$env")
	t=$(wait_status "$tid" completed)
	check_json "$t" '.task.task_type == "analysis" and .task.provider == "fallback_local" and .task.degraded == true and .task.model == null'
	out=$(task_logs "$tid" stdout)
	check_json "$out" '.degraded == true and (.plan.degraded_reason | test("task_type"))'

	# What the policy refuses is refused whatever the switch says.
	env=$(plan_task '{"intent_type":"no-such-type"}')
	check_json "$env" '.status == "ERROR" and .error == "unknown_task" and .degraded == false'
	check_json "$(switch_status)" '.plans == 1 and .degraded == 1'
}

@test "degraded: the switch is not running; the task still runs, with the local plan" {
	switch_policy
	start_daemon

	local env tid t
	env=$(plan_intent)
	check_json "$env" '.status == "DONE" and .mode == "FALLBACK" and .provider == "fallback_local" and .degraded == true'
	check "$env" '.response.result == "intent_processed" and (.response.degraded_reason | startswith("switch unavailable"))'
	check_json "$(switch_status)" '.state == "closed" and .consecutive_failures == 1 and .plans == 1 and .degraded == 1
		and (.last_error | startswith("switch unavailable"))'
	sleep 0.3 # the reconnect backoff
	run -0 "$VX11CTL" submit analysis.logs --switch
	[[ ${lines[0]} == *"  DONE  FALLBACK  fallback_local" ]]
	[[ $output == *"degraded_reason: switch unavailable"* && $output == *"degraded: yes"* ]]

	env=$(plan_task)
	check_json "$env" '.status == "QUEUED" and .provider == "spawner" and .degraded == true'
	tid=$(jq -r .response.task_id <<<"$env")
	t=$(wait_status "$tid" completed)
	check_json "$t" '.task.degraded == true and .task.provider == "fallback_local" and (.task.plan.degraded_reason | type == "string")'
	run -0 "$VX11CTL" task "$tid"
	[[ $output == *"degraded: yes"* && $output == *"provider: fallback_local"* ]]
	grep -q "MESSAGE_ID=6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f15 .*VX11_TASK_ID=$tid .*VX11_PROVIDER=fallback_local VX11_DEGRADED=true" \
		"$T/vx11d.log"
	res=$(result result.get "$(jq -cn --arg c "$(jq -r .correlation_id <<<"$env")" '{correlation_id:$c}')")
	check_json "$res" '.status == "DONE" and .degraded == true'
}

@test "degraded: a switch that never answers times out while other clients are served" {
	fake_switch hang
	switch_policy
	start_daemon

	local start end status_at env
	start=$(now_s)
	conn_open slow
	conn_send slow "$(req intent.submit '{"intent_type":"analysis.logs","require":{"switch":true}}' 7)"
	# The switch holds the plan: daemon.status answers meanwhile, before it.
	wait_for 50 test -s "$T/fake.log"
	check_json "$(result daemon.status)" '.switch.plans == 0'
	status_at=$(now_s)
	[[ ! -s $T/slow.out ]]
	conn_wait slow 1 100
	end=$(now_s)
	env=$(jq -c .result "$T/slow.out")
	check_json "$env" '.status == "DONE" and .mode == "FALLBACK" and .degraded == true'
	check "$env" '.response.degraded_reason == "switch timeout after 1500 ms"'
	# Honoured: not before the timeout (a little slack for the clocks), and
	# the status came first.
	holds "$end - $start >= 1.4"
	holds "$end - $start < 10"
	holds "$status_at < $end"
	check_json "$(switch_status)" '.consecutive_failures == 1 and .last_error == "switch timeout after 1500 ms" and .degraded == 1'
}

@test "degraded: a switch that answers garbage or a JSON-RPC error" {
	fake_switch garbage
	switch_policy '.switch.failure_threshold = 10'
	start_daemon

	local env
	env=$(plan_intent)
	check_json "$env" '.degraded == true and (.response.degraded_reason | startswith("switch malformed answer"))'
	check_json "$(switch_status)" '.consecutive_failures == 1 and (.last_error | startswith("switch malformed answer"))'

	kill -9 "$FAKE_PID"
	wait "$FAKE_PID" 2>/dev/null || true
	rm -f "$T/switch.sock"
	fake_switch error
	env=$(plan_task)
	check_json "$env" '.status == "QUEUED" and .degraded == true and .response.plan.degraded_reason == "switch error -32000: no plan today"'
	check_json "$(switch_status)" '.plans == 2 and .degraded == 2 and .last_error == "switch error -32000: no plan today"'

	# An answer that is not a plan (no approach) is malformed too.
	kill -9 "$FAKE_PID"
	wait "$FAKE_PID" 2>/dev/null || true
	rm -f "$T/switch.sock"
	fake_switch ok '{"provider":"fake"}'
	env=$(plan_intent)
	check_json "$env" '.degraded == true and .response.degraded_reason == "switch malformed answer: approach is not a string"'
}

@test "the circuit breaker opens after failure_threshold failures and closes after the cooldown" {
	switch_policy '.switch.cooldown_seconds = 5'
	start_daemon

	local env opened
	env=$(plan_intent)
	check_json "$env" '.degraded == true and (.response.degraded_reason | startswith("switch unavailable"))'
	check_json "$(switch_status)" '.state == "closed" and .consecutive_failures == 1'
	# The reconnect backoff (100 ms) first, so that this one is a failure of its own.
	sleep 0.3
	env=$(plan_intent)
	check_json "$env" '.degraded == true and (.response.degraded_reason | startswith("switch unavailable"))'
	check_json "$(switch_status)" '.state == "open" and .consecutive_failures == 2'
	opened=$(now_s)
	# Open: refused at once, though the switch is up by now.
	start_switch
	env=$(plan_intent)
	check_json "$env" '.degraded == true and .response.degraded_reason == "switch circuit open"'
	check_json "$(switch_status)" '.state == "open" and .plans == 3 and .degraded == 3'
	# After the cooldown (5 s) one request probes it, and its success closes it.
	holds "$(now_s) - $opened < 5"
	sleep "$(awk -v o="$opened" -v n="$(now_s)" 'BEGIN { printf "%.2f", 5.3 - (n - o) }')"
	env=$(plan_intent)
	check_json "$env" '.degraded == false and .provider == "switch"'
	check_json "$(switch_status)" '.state == "closed" and .consecutive_failures == 0 and .plans == 4 and .degraded == 3'
}

@test "kill -9 while a task is planning: after the restart it is planned again and runs once" {
	fake_switch hold
	switch_policy '.switch.timeout_ms = 60000'
	start_daemon

	local tid t cid
	conn_open held
	conn_send held "$(req intent.submit '{"intent_type":"analysis","text":"x","require":{"switch":true,"spawner":true}}' 3)"
	wait_for 50 test -s "$T/fake.log"
	# Committed in planning before the switch was asked.
	t=$(result task.list '{"status":"planning"}')
	check_json "$t" '.tasks | length == 1'
	tid=$(jq -r '.tasks[0].id' <<<"$t")
	cid=$(jq -r '.tasks[0].intent_id' <<<"$t")
	[[ ! -s $T/held.out ]]

	kill -9 "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null || true
	conn_kill held
	start_daemon
	check_json "$(task_get "$tid")" '.task.status == "planning" and .daughters == []'
	wait_for 50 fake_asked 2 "$cid"
	touch "$T/switch.sock.release"
	t=$(wait_status "$tid" completed)
	check_json "$t" '.daughters | length == 1'
	check "$t" '.task.provider == "switch" and .task.plan.approach == "by-the-book" and .task.degraded == false'
	a=$(audit_entry "$cid")
	check_json "$a" '.result_status == "DONE" and .provider == "switch" and (.processed_at | type == "string")'
}

@test "each retry re-plans with attempt and last_reason; a failed re-plan keeps the plan and degrades" {
	fake_switch ok
	switch_policy
	start_daemon

	local env tid t reason
	env=$(plan_task '{"intent_type":"flaky"}')
	check_json "$env" '.status == "QUEUED" and .degraded == false and .response.plan.approach == "by-the-book"'
	tid=$(jq -r .response.task_id <<<"$env")
	t=$(wait_status "$tid" failed 150)
	check_json "$t" '.daughters | length == 2'
	reason=$(jq -r '.daughters[0].attempts[0].reason' <<<"$t")
	[[ -n $reason && $reason != null ]]
	check_json "$(jq -sc . "$T/fake.log")" 'length == 2 and .[0].params.attempt == 1 and .[0].params.last_reason == null
		and .[1].params.attempt == 2 and .[1].params.last_reason == $r and .[1].params.task_type == "flaky"
		and any(.[0].params.task_types[]; . == "flaky")' \
		--arg r "$reason"
	check_json "$(switch_status)" '.plans == 2 and .degraded == 0'

	# The switch gone before the retry: the plan stays, the task is marked degraded.
	env=$(plan_task '{"intent_type":"flaky"}')
	tid=$(jq -r .response.task_id <<<"$env")
	wait_status "$tid" retrying 100 >/dev/null
	kill -9 "$FAKE_PID"
	wait "$FAKE_PID" 2>/dev/null || true
	rm -f "$T/switch.sock"
	t=$(wait_status "$tid" failed 150)
	check_json "$t" '.task.degraded == true and .task.plan.approach == "by-the-book" and .task.provider == "switch"'
}

@test "a type the caller may not submit is no re-route either; its task_types are what it may submit" {
	require_root
	fake_switch ok '{"provider":"fake","approach":"elsewhere","task_type":"analysis"}'
	# analysis is for the group daemon only: nobody (in the socket's group only)
	# may not submit it.
	switch_policy '.tasks.analysis.groups = ["daemon"]'
	start_daemon

	local env tid
	env=$(as_submitter_nobody socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET" <<<"$(req intent.submit \
		'{"intent_type":"noop","require":{"switch":true,"spawner":true}}')" | jq -c .result)
	check_json "$env" '.status == "QUEUED" and .degraded == true and .provider == "spawner"'
	check "$env" '.response.plan.degraded_reason == "switch malformed answer: task_type is not one of the caller'"'"'s task types"'
	tid=$(jq -r .response.task_id <<<"$env")
	check_json "$(wait_status "$tid" completed)" '.task.task_type == "noop" and .task.degraded == true'
	check_json "$(head -n 1 "$T/fake.log")" '(.params.task_types | index(["analysis"])) == null and (.params.task_types | index(["noop"])) != null'

	# Root may: the same answer re-routes its task.
	env=$(plan_task '{"intent_type":"noop"}')
	check_json "$env" '.degraded == false and .response.plan.task_type == "analysis"'
	tid=$(jq -r .response.task_id <<<"$env")
	check_json "$(wait_status "$tid" completed)" '.task.task_type == "analysis"'
}

@test "planning: the reply waits on its connection only; a client gone meanwhile loses nothing" {
	fake_switch hold
	switch_policy '.switch.timeout_ms = 60000'
	start_daemon

	local tid cid out
	# Not in a batch: its reply could not wait there.
	out=$(rpc "[$(req intent.submit '{"intent_type":"analysis","require":{"switch":true}}' 1)]")
	check_json "$out" '.[0].error.code == -32602 and (.[0].error.message | test("batch"))'

	conn_open gone
	conn_send gone "$(req intent.submit '{"intent_type":"analysis","require":{"switch":true,"spawner":true},"idempotency_key":"k1"}' 1)"
	wait_for 50 test -s "$T/fake.log"
	# The same key while it is planned: ask again later.
	check_error "$(call intent.submit '{"intent_type":"analysis","require":{"switch":true,"spawner":true},"idempotency_key":"k1"}')" \
		-32004 vx11.Busy
	cid=$(jq -r .params.correlation_id "$T/fake.log")
	conn_kill gone
	touch "$T/switch.sock.release"
	tid=$(result task.list '{"status":["planning","pending","running","completed"]}' | jq -r '.tasks[0].id')
	check_json "$(wait_status "$tid" completed)" '.task.intent_id == $c and .task.provider == "switch" and (.daughters | length == 1)' \
		--arg c "$cid"
	# Once planned, the key gives the QUEUED envelope that was stored.
	out=$(submit '{"intent_type":"analysis","require":{"switch":true,"spawner":true},"idempotency_key":"k1"}')
	check_json "$out" '.correlation_id == $c and .status == "QUEUED" and .provider == "switch" and .response.task_id == $t' \
		--arg c "$cid" --arg t "$tid"
}

@test "a reload out of mode switch degrades the plans outstanding; back in, it plans again" {
	fake_switch hang
	switch_policy '.switch.timeout_ms = 60000'
	start_daemon

	conn_open slow
	conn_send slow "$(req intent.submit '{"intent_type":"analysis.logs","require":{"switch":true}}' 1)"
	wait_for 50 test -s "$T/fake.log"
	cp "$T/policy.json" "$T/policy-switch.json"
	jq '.mode = "solo_madre"' "$T/policy-switch.json" >"$T/policy.json"
	result policy.reload >/dev/null
	conn_wait slow 1 50
	check_json "$(jq -c .result "$T/slow.out")" '.degraded == true and .provider == "fallback_local"
		and .response.degraded_reason == "switch unavailable: the policy mode is no longer switch"'
	check_json "$(switch_status)" '.mode == "solo_madre" and .state == "closed"'
	check_json "$(plan_intent)" '.status == "ERROR" and .error == "off_by_policy"'

	cp "$T/policy-switch.json" "$T/policy.json"
	result policy.reload >/dev/null
	kill -9 "$FAKE_PID"
	wait "$FAKE_PID" 2>/dev/null || true
	rm -f "$T/switch.sock"
	fake_switch ok
	check_json "$(plan_intent)" '.degraded == false and .provider == "switch" and .response.approach == "by-the-book"'
}

@test "a daemon stopped while plans are outstanding stops cleanly; the task is planned at the next start" {
	fake_switch hang
	switch_policy '.switch.timeout_ms = 60000'
	start_daemon

	local tid
	conn_open a
	conn_send a "$(req intent.submit '{"intent_type":"analysis","require":{"switch":true,"spawner":true}}' 1)"
	conn_open b
	conn_send b "$(req intent.submit '{"intent_type":"analysis.logs","require":{"switch":true}}' 2)"
	wait_for 50 fake_asked 2 '"switch.plan"'
	tid=$(result task.list '{"status":"planning"}' | jq -r '.tasks[0].id')
	kill -TERM "$DAEMON_PID"
	wait_exit "$DAEMON_PID" 100
	equals "$DAEMON_STATUS" 0

	kill -9 "$FAKE_PID"
	wait "$FAKE_PID" 2>/dev/null || true
	rm -f "$T/switch.sock"
	fake_switch ok
	start_daemon
	check_json "$(wait_status "$tid" completed)" '.task.provider == "switch" and .task.plan.approach == "by-the-book" and (.daughters | length == 1)'
}

@test "a planned task's retry that fell due while the daemon was down is planned again" {
	fake_switch ok
	switch_policy
	start_daemon

	local env tid t
	env=$(plan_task '{"intent_type":"flaky"}')
	tid=$(jq -r .response.task_id <<<"$env")
	wait_status "$tid" retrying 100 >/dev/null
	kill -9 "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null || true
	# The backoff (1 to 2 s) ends while the daemon is down.
	sleep 2.2
	start_daemon
	t=$(wait_status "$tid" failed 150)
	check_json "$t" '.daughters | length == 2'
	check_json "$(jq -sc . "$T/fake.log")" 'length == 2 and .[1].params.attempt == 2 and (.[1].params.last_reason | type == "string")'
}

@test "daemon.metrics counts the plans and those that degraded" {
	start_switch
	switch_policy
	start_daemon
	metric() { result daemon.metrics | jq -r .text | awk -v n="$1" '$1 == n { print $2 }'; }
	equals "$(metric vx11_switch_plans_total)" 0
	check_json "$(plan_intent)" '.provider == "switch" and .degraded == false'
	switch_teardown # the switch stops: the next plan degrades
	check_json "$(plan_intent)" '.provider == "fallback_local" and .degraded == true'
	equals "$(metric vx11_switch_plans_total)" 2
	equals "$(metric vx11_switch_degraded_total)" 1
}
