#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vx11-switch (vx11-switch(8), switch.md): the real program on a real socket
# in a temporary directory. Plans by route, re-routing, sub-tasks through
# provider processes (results, failures, timeouts, process groups), a loop
# that a slow provider never blocks, pipelining, many clients, bad input,
# limits, and the configuration's validation.

load helpers

setup() {
	switch_setup
}

teardown() {
	switch_teardown
	vx11_teardown
}

# req ID METHOD [PARAMS_JSON]: one JSON-RPC request line.
req() {
	if [[ $# -ge 3 ]]; then
		jq -cn --argjson id "$1" --arg m "$2" --argjson p "$3" '{jsonrpc:"2.0", id:$id, method:$m, params:$p}'
	else
		jq -cn --argjson id "$1" --arg m "$2" '{jsonrpc:"2.0", id:$id, method:$m}'
	fi
}

# plan PARAMS_JSON: the switch.plan result (fails on an error reply).
plan() {
	local reply
	reply=$(srpc "$(req 1 switch.plan "$1")") || return 1
	jq -e 'has("result")' >/dev/null <<<"$reply" || { echo "switch.plan failed: $reply" >&2; return 1; }
	jq -c .result <<<"$reply"
}

# subtask PARAMS_JSON: the switch.subtask result.
subtask() {
	local reply
	reply=$(srpc "$(req 1 switch.subtask "$1")") || return 1
	jq -e 'has("result")' >/dev/null <<<"$reply" || { echo "switch.subtask failed: $reply" >&2; return 1; }
	jq -c .result <<<"$reply"
}

# A provider from a shell script (stdin: the request): prints its path.
provider_script() {
	daughter_script "$1"
}

@test "switch.plan: the first route whose glob and regex match plans; else the default route" {
	start_switch
	local p
	# Glob and regex: routes[0], with everything a route may say.
	p=$(plan '{"intent_type":"analysis.logs","text":"please summarise the logs"}')
	check_json "$p" '(keys | sort) == ["approach","model","plan_id","provider","score","steps"]'
	check "$p" '.provider == "local-llm" and .model == "m-7b" and .approach == "split-and-summarise"'
	check "$p" '.score == 0.82 and .steps == ["split","summarise","merge"]'
	# Same glob, the regex does not match: the next route.
	p=$(plan '{"intent_type":"analysis.logs","text":"count the lines"}')
	check_json "$p" '.approach == "direct-analysis" and (keys | sort) == ["approach","plan_id","provider"]'
	# No text (absent or null) matches no route that has a regex.
	p=$(plan '{"intent_type":"analysis"}')
	check_json "$p" '.approach == "direct-analysis"'
	p=$(plan '{"intent_type":"analysis","text":null}')
	check_json "$p" '.approach == "direct-analysis"'
	# A glob with a dot; the route's response and an integer score.
	p=$(plan '{"intent_type":"code.review","text":"summarise"}')
	check_json "$p" '.provider == "cli" and .approach == "single-pass" and .score == 1 and .response == {"hint":"use the cli"}'
	# The glob is whole-string: "code" is not "code.*"; nothing matches: the default route.
	p=$(plan '{"intent_type":"code"}')
	check_json "$p" '.provider == "fallback" and .approach == "direct" and (keys | sort) == ["approach","plan_id","provider"]'
	p=$(plan '{"intent_type":"xanalysis","text":"summarise"}')
	check_json "$p" '.provider == "fallback"'
}

@test "switch.plan: routes are tried in order; every param of switch.md is taken" {
	switch_config '.routes = [{"intent_type":"*","text":"^urgent","provider":"pager","approach":"now"}] + .routes'
	start_switch
	local p
	p=$(plan '{"intent_type":"code.fix","text":"urgent: summarise the crash"}')
	check_json "$p" '.provider == "pager" and .approach == "now"'
	p=$(plan '{"intent_type":"code.fix","text":"not urgent"}')
	check_json "$p" '.provider == "cli"'
	# All of switch.md's params at once.
	p=$(plan '{"correlation_id":"c-1","intent_type":"analysis","text":"summary","payload":{"k":1},"priority":3,
		"source":"operator","task_type":"echo","task_types":["echo"],"attempt":2,"mutation_level":1,
		"last_reason":"exited"}')
	check_json "$p" '.approach == "split-and-summarise"'
	p=$(plan '{"correlation_id":null,"intent_type":"analysis","text":null,"payload":null,"source":null,"task_type":null,
		"task_types":null,"last_reason":null}')
	check_json "$p" '.approach == "direct-analysis"'
}

@test "switch.plan: a route's task_type re-routes a spawner intent only to a type in task_types" {
	start_switch
	local base='"intent_type":"analysis","text":"summary please"' p
	# Allowed: the plan names it.
	p=$(plan "{$base,\"task_type\":\"echo\",\"task_types\":[\"echo\",\"analysis\"]}")
	check_json "$p" '.task_type == "analysis"'
	# Not one the caller may submit: no task_type; the route still plans it.
	p=$(plan "{$base,\"task_type\":\"echo\",\"task_types\":[\"echo\",\"noop\"]}")
	check_json "$p" '(has("task_type") | not) and .approach == "split-and-summarise"'
	p=$(plan "{$base,\"task_type\":\"echo\"}")
	check_json "$p" 'has("task_type") | not'
	p=$(plan "{$base,\"task_type\":\"echo\",\"task_types\":[]}")
	check_json "$p" 'has("task_type") | not'
	# Not a spawner intent (task_type null): nothing to re-route.
	p=$(plan "{$base,\"task_type\":null,\"task_types\":[\"analysis\"]}")
	check_json "$p" 'has("task_type") | not'
	p=$(plan "{$base,\"task_types\":[\"analysis\"]}")
	check_json "$p" 'has("task_type") | not'
}

@test "switch.plan: every plan has a new plan_id" {
	start_switch
	local lines=() i out
	for ((i = 1; i <= 300; i++)); do
		lines+=("$(req "$i" switch.plan '{"intent_type":"analysis"}')")
	done
	out=$(srpc "${lines[@]}")
	[[ $(count_lines "$out") -eq 300 ]]
	[[ $(jq -r .result.plan_id <<<"$out" | sort -u | wc -l) -eq 300 ]]
	jq -e '.result.plan_id | test("^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")' <<<"$out" >/dev/null
	# Another connection, another plan: still new.
	id=$(plan '{"intent_type":"analysis"}' | jq -r .plan_id)
	[[ $out != *"$id"* ]]
}

@test "switch.subtask: the provider's result, tokens and model, and which provider ran it" {
	local counter envcheck
	counter=$(provider_script counter <<'EOF'
#!/bin/sh
cat >/dev/null
echo '{"result": {"lines": 3}, "tokens_used_cli": 7, "tokens_used_local": 11}'
EOF
)
	envcheck=$(provider_script envcheck <<'EOF'
#!/bin/sh
cat >/dev/null
echo "{\"result\": \"$PROBE ${NOTIFY_SOCKET-none} ${JOURNAL_STREAM-none}\"}"
EOF
)
	switch_config '.providers.counter = {"argv": [$c], "timeout_ms": 3000, "model": "count-1"}
		| .providers.env = {"argv": [$e]}
		| .subtasks = [{"subtask_type": "count*", "provider": "counter"}, {"subtask_type": "env", "provider": "env"}]' \
		--arg c "$counter" --arg e "$envcheck"
	# The service manager's variables are the switch's own, not its providers'.
	PROBE=inherited NOTIFY_SOCKET=$T/nowhere JOURNAL_STREAM=1:2 start_switch
	local params r
	# The default provider: the shipped echo-provider gets the params on stdin.
	params='{"task_id":"t-1","daughter_id":"d-1","attempt":1,"subtask_type":"summarise","payload":{"text":"héllo"}}'
	r=$(subtask "$params")
	check_json "$r" '.status == "ok" and .provider == "echo" and .model == "echo-1"'
	check "$r" '.result.echo == $p' --argjson p "$params"
	check "$r" '.tokens_used_cli == 0 and (.tokens_used_local | type == "number" and . > 0)'
	check "$r" '(keys | sort) == ["model","provider","result","status","tokens_used_cli","tokens_used_local"]'
	# A rule picks another provider; its model comes from the configuration.
	r=$(subtask '{"subtask_type":"count.lines"}')
	check_json "$r" '.status == "ok" and .provider == "counter" and .result == {"lines":3}'
	check "$r" '.tokens_used_cli == 7 and .tokens_used_local == 11 and .model == "count-1"'
	# A request and an answer larger than a pipe holds.
	local big
	big=$(head -c 300000 /dev/zero | tr '\0' a)
	printf '{"jsonrpc":"2.0","id":1,"method":"switch.subtask","params":{"subtask_type":"big","payload":"%s"}}\n' "$big" |
		socat -t 5 - "UNIX-CONNECT:$SWITCH_SOCKET" >"$T/big.out"
	jq -e '.result.status == "ok" and (.result.result.echo.payload | length) == 300000' "$T/big.out" >/dev/null
	r=$(subtask '{"subtask_type":"env"}')
	check_json "$r" '.status == "ok" and .result == "inherited none none"'
	# payload may be any JSON, or absent.
	r=$(subtask '{"subtask_type":"x","payload":[1,"two",null]}')
	check_json "$r" '.result.echo.payload == [1,"two",null]'
}

@test "switch.subtask: a provider that fails gives status error saying why" {
	local fails badjson noresult says badtokens
	fails=$(provider_script fails <<'EOF'
#!/bin/sh
cat >/dev/null
echo "starting" >&2
echo "quota exceeded for model m-7b" >&2
exit 3
EOF
)
	badjson=$(provider_script badjson <<'EOF'
#!/bin/sh
echo 'this is not JSON'
EOF
)
	noresult=$(provider_script noresult <<'EOF'
#!/bin/sh
echo '{"tokens_used_cli": 1}'
EOF
)
	says=$(provider_script says <<'EOF'
#!/bin/sh
echo '{"error": "the model is loading"}'
EOF
)
	badtokens=$(provider_script badtokens <<'EOF'
#!/bin/sh
echo '{"result": 1, "tokens_used_cli": -4}'
EOF
)
	switch_config '
		.providers += {fails: {argv: [$f]}, badjson: {argv: [$b]}, noresult: {argv: [$n]}, says: {argv: [$s]},
			badtokens: {argv: [$t]}, missing: {argv: ["/nonexistent/provider"]},
			killed: {argv: ["/bin/sh", "-c", "kill -9 $$"]}, flood: {argv: ["yes"]}}
		| .limits.max_output_bytes = 65536
		| .subtasks = [{subtask_type: "fails", provider: "fails"}, {subtask_type: "badjson", provider: "badjson"},
			{subtask_type: "noresult", provider: "noresult"}, {subtask_type: "says", provider: "says"},
			{subtask_type: "badtokens", provider: "badtokens"}, {subtask_type: "missing", provider: "missing"},
			{subtask_type: "killed", provider: "killed"}, {subtask_type: "flood", provider: "flood"}]
		| del(.default_provider)' --arg f "$fails" --arg b "$badjson" --arg n "$noresult" --arg s "$says" --arg t "$badtokens"
	start_switch
	local r
	r=$(subtask '{"subtask_type":"fails"}')
	check_json "$r" '.status == "error" and .provider == "fails" and .error == "provider fails exited with status 3: quota exceeded for model m-7b"'
	r=$(subtask '{"subtask_type":"badjson"}')
	check_json "$r" '.status == "error" and (.error | startswith("provider badjson: its output is not JSON"))'
	r=$(subtask '{"subtask_type":"noresult"}')
	check_json "$r" '.status == "error" and .error == "provider noresult: its output has no \"result\""'
	r=$(subtask '{"subtask_type":"says"}')
	check_json "$r" '.status == "error" and .error == "provider says: the model is loading"'
	r=$(subtask '{"subtask_type":"badtokens"}')
	check_json "$r" '.status == "error" and (.error | contains("tokens_used_cli must be a non-negative integer"))'
	r=$(subtask '{"subtask_type":"missing"}')
	check_json "$r" '.status == "error" and .error == "provider missing: cannot run /nonexistent/provider: No such file or directory"'
	r=$(subtask '{"subtask_type":"killed"}')
	check_json "$r" '.status == "error" and .error == "provider killed killed by signal SIGKILL"'
	# More output than limits.max_output_bytes (and stdin never read).
	r=$(subtask '{"subtask_type":"flood"}')
	check_json "$r" '.status == "error" and .error == "provider flood wrote more than 65536 bytes"'
	# No rule and no default provider.
	r=$(subtask '{"subtask_type":"unrouted"}')
	check_json "$r" '.status == "error" and .error == "no provider for subtask_type \"unrouted\"" and (has("provider") | not)'
	# The switch itself is fine.
	run srpc "$(req 5 switch.health)"
	check_json "$output" '.result == {"status":"ok"}'
}

@test "switch.subtask: past its timeout a provider's whole group is killed, answered in time; others are served meanwhile" {
	local slow
	slow=$(provider_script slow <<EOF
#!/bin/sh
echo \$\$ >$T/slow.pid
/bin/sleep 30 &
echo \$! >$T/slow-child.pid
wait
EOF
)
	switch_config '.providers.slow = {argv: [$s], timeout_ms: 1000} | .subtasks = [{subtask_type: "slow", provider: "slow"}]' \
		--arg s "$slow"
	start_switch
	VX11_SOCKET=$SWITCH_SOCKET conn_open slow
	local start end i hstart hend
	start=$(now_s)
	conn_send slow "$(req 1 switch.subtask '{"subtask_type":"slow"}')"
	wait_for 30 test -s "$T/slow-child.pid"
	local pid child
	pid=$(cat "$T/slow.pid") child=$(cat "$T/slow-child.pid")
	alive "$pid" && alive "$child"
	# While it runs, another client is answered at once, plans and health.
	hstart=$(now_s)
	run srpc "$(req 2 switch.health)" "$(req 3 switch.plan '{"intent_type":"code.x"}')"
	hend=$(now_s)
	[[ $(count_lines "$output") -eq 2 ]]
	check_json "$(head -1 <<<"$output")" '.id == 2 and .result.status == "ok"'
	check_json "$(tail -1 <<<"$output")" '.id == 3 and .result.provider == "cli"'
	holds "$hend - $hstart < 0.5"
	[[ $(count_lines "$(conn_lines slow)") -eq 0 ]]
	# The answer: an error, at the timeout (and a small margin).
	for ((i = 0; i < 300; i++)); do
		[[ -s $T/slow.out ]] && break
		sleep 0.01
	done
	end=$(now_s)
	check_json "$(conn_lines slow)" '.id == 1 and .result.status == "error" and .result.provider == "slow"
		and .result.error == "provider slow timed out after 1000 ms"'
	holds "$end - $start >= 1.0"
	holds "$end - $start < 1.8"
	# Leader and child: the whole group was killed.
	wait_for 10 eval '! alive "$pid" && ! alive "$child"'
	grep -q 'subtask slow: provider slow, error: provider slow timed out after 1000 ms' "$T/switch.log"
}

@test "switch.subtask: a client that goes away takes its provider with it" {
	local slow
	slow=$(provider_script slow <<EOF
#!/bin/sh
echo \$\$ >$T/slow.pid
exec /bin/sleep 30
EOF
)
	switch_config '.providers.slow = {argv: [$s], timeout_ms: 20000} | .subtasks = [{subtask_type: "slow", provider: "slow"}]' \
		--arg s "$slow"
	start_switch
	VX11_SOCKET=$SWITCH_SOCKET conn_open gone
	conn_send gone "$(req 1 switch.subtask '{"subtask_type":"slow"}')"
	wait_for 30 test -s "$T/slow.pid"
	local pid
	pid=$(cat "$T/slow.pid")
	alive "$pid"
	conn_kill gone
	wait_for 20 eval '! alive "$pid"'
	grep -q 'subtask slow: provider slow, error: provider slow cancelled' "$T/switch.log"
	run srpc "$(req 2 switch.health)"
	check_json "$output" '.result.status == "ok"'
}

@test "pipelined requests on one connection: answered in request order, a slow sub-task first" {
	local nap
	nap=$(provider_script nap <<'EOF'
#!/bin/sh
cat >/dev/null
/bin/sleep 0.5
echo '{"result": "rested", "tokens_used_local": 1}'
EOF
)
	switch_config '.providers.nap = {argv: [$n]} | .subtasks = [{subtask_type: "nap", provider: "nap"}]' --arg n "$nap"
	start_switch
	run srpc "$(req 1 switch.subtask '{"subtask_type":"nap"}')" \
		"$(req 2 switch.plan '{"intent_type":"code.x"}')" \
		"$(req 3 switch.subtask '{"subtask_type":"echo"}')" \
		'not json' \
		"$(req 4 switch.health)" \
		'{"jsonrpc":"2.0","method":"switch.health"}' \
		"$(req '"five"' switch.nope)"
	[[ $(count_lines "$output") -eq 6 ]]
	equals "$(jq -c .id <<<"$output" | tr '\n' ' ')" '1 2 3 null 4 "five" '
	check_json "$(sed -n 1p <<<"$output")" '.result.status == "ok" and .result.result == "rested"'
	check_json "$(sed -n 3p <<<"$output")" '.result.provider == "echo"'
	check_json "$(sed -n 4p <<<"$output")" '.error.code == -32700'
	check_json "$(sed -n 6p <<<"$output")" '.error.code == -32601'
	# Many at once in one write: all answered, in order.
	local lines=() i
	for ((i = 1; i <= 500; i++)); do
		if ((i % 50 == 0)); then
			lines+=("$(req "$i" switch.subtask '{"subtask_type":"echo"}')")
		else
			lines+=("$(req "$i" switch.plan '{"intent_type":"analysis"}')")
		fi
	done
	run srpc "${lines[@]}"
	[[ $(count_lines "$output") -eq 500 ]]
	equals "$(jq .id <<<"$output" | tr '\n' ' ')" "$(seq 1 500 | tr '\n' ' ')"
	[[ $(jq -r 'select(.result.status == "ok") | .id' <<<"$output" | wc -l) -eq 10 ]]
}

@test "50 clients at once: each gets its plan and its sub-task" {
	start_switch
	local i pids=()
	for ((i = 1; i <= 50; i++)); do
		(
			_bg_close_fds
			srpc "$(req "$i" switch.plan '{"intent_type":"analysis","text":"summary"}')" \
				"$(req "$((i + 1000))" switch.subtask "{\"subtask_type\":\"echo\",\"payload\":$i}")" >"$T/client-$i.out"
		) &
		pids+=($!)
	done
	# Not a bare `wait`: the switch is a child too.
	wait "${pids[@]}"
	for ((i = 1; i <= 50; i++)); do
		[[ $(count_lines "$(cat "$T/client-$i.out")") -eq 2 ]] || { echo "client $i: $(cat "$T/client-$i.out")" >&2; return 1; }
		check_json "$(head -1 "$T/client-$i.out")" '.id == $i and .result.approach == "split-and-summarise"' --argjson i "$i"
		check_json "$(tail -1 "$T/client-$i.out")" '.id == $i + 1000 and .result.status == "ok" and .result.result.echo.payload == $i' --argjson i "$i"
	done
	[[ $(cat "$T"/client-*.out | jq -r 'select(.result.plan_id) | .result.plan_id' | sort -u | wc -l) -eq 50 ]]
}

@test "bad input: each gets its JSON-RPC error naming what is wrong, and the connection keeps serving" {
	start_switch
	run srpc 'not json' \
		'{"jsonrpc":"2.0","id":1,"method":"switch.plan","params":{"intent_type":NaN}}' \
		'{"jsonrpc":"2.0","id":2}' \
		'[]' \
		'{"jsonrpc":"1.0","id":3,"method":"switch.health"}' \
		"$(req 4 switch.unknown)" \
		"$(req 5 switch.plan '{}')" \
		"$(req 6 switch.plan '{"intent_type":"a","prority":1}')" \
		"$(req 7 switch.plan '{"intent_type":"a","priority":9}')" \
		"$(req 8 switch.plan '{"intent_type":"a","task_types":["ok",1]}')" \
		"$(req 9 switch.plan '{"intent_type":""}')" \
		"$(req 10 switch.subtask '{"payload":{}}')" \
		"$(req 11 switch.subtask '{"subtask_type":"x","attempt":0}')" \
		'{"jsonrpc":"2.0","id":12,"method":"switch.plan","params":["a"]}' \
		"$(req 13 switch.health '{"verbose":true}')" \
		"$(req 14 switch.health)"
	local n=0 line
	while IFS= read -r line; do
		n=$((n + 1))
		case $n in
		1) check_error "$line" -32700 vx11.ParseError null ;;
		2) check_error "$line" -32700 vx11.ParseError null ;;
		3) check_error "$line" -32600 vx11.InvalidRequest 2 ;;
		4) check_error "$line" -32600 vx11.InvalidRequest null ;;
		5) check_error "$line" -32600 vx11.InvalidRequest 3 ;;
		6) check_error "$line" -32601 vx11.NoSuchMethod 4 && check "$line" '.error.message | contains("switch.unknown")' ;;
		7) check_error "$line" -32602 vx11.InvalidParams 5 && check "$line" '.error.message | contains("missing \"intent_type\"")' ;;
		8) check_error "$line" -32602 vx11.InvalidParams 6 && check "$line" '.error.message | contains("unknown param \"prority\"")' ;;
		9) check_error "$line" -32602 vx11.InvalidParams 7 && check "$line" '.error.message | contains("\"priority\" must be an integer between 0 and 3")' ;;
		10) check_error "$line" -32602 vx11.InvalidParams 8 && check "$line" '.error.message | contains("\"task_types[1]\" must be a string")' ;;
		11) check_error "$line" -32602 vx11.InvalidParams 9 && check "$line" '.error.message | contains("\"intent_type\" must not be empty")' ;;
		12) check_error "$line" -32602 vx11.InvalidParams 10 && check "$line" '.error.message | contains("missing \"subtask_type\"")' ;;
		13) check_error "$line" -32602 vx11.InvalidParams 11 && check "$line" '.error.message | contains("\"attempt\"")' ;;
		14) check_error "$line" -32602 vx11.InvalidParams 12 ;;
		15) check_error "$line" -32602 vx11.InvalidParams 13 && check "$line" '.error.message | contains("verbose")' ;;
		16) check "$line" '.id == 14 and .result.status == "ok"' ;;
		esac
	done <<<"$output"
	[[ $n -eq 16 ]]
	# Invalid UTF-8 and a NUL byte are parse errors too.
	run bash -c "printf '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"switch.plan\",\"params\":{\"intent_type\":\"\xc3\x28\"}}\n' | socat -t 5 - UNIX-CONNECT:$SWITCH_SOCKET"
	check_error "$output" -32700 vx11.ParseError null
	# A batch: an array of the answers of those with ids, in order.
	run srpc "[$(req 1 switch.health),{\"jsonrpc\":\"2.0\",\"method\":\"switch.health\"},7,$(req 2 switch.plan '{"intent_type":"code.a"}')]"
	check_json "$output" 'length == 3 and .[0].result.status == "ok" and .[1].error.code == -32600 and .[2].result.provider == "cli"'
	# A notification: no answer.
	run srpc '{"jsonrpc":"2.0","method":"switch.plan","params":{"intent_type":"a"}}'
	[[ -z $output ]]
}

@test "a line over limits.max_line_bytes: vx11.LineTooLong, that connection closed, the others served" {
	switch_config '.limits.max_line_bytes = 1024'
	start_switch
	VX11_SOCKET=$SWITCH_SOCKET conn_open other
	local big
	big=$(req 1 switch.plan "{\"intent_type\":\"a\",\"text\":\"$(head -c 3000 /dev/zero | tr '\0' x)\"}")
	run srpc "$(req 1 switch.health)" "$big" "$(req 3 switch.health)"
	[[ $(count_lines "$output") -eq 2 ]]
	check_json "$(head -1 <<<"$output")" '.id == 1 and .result.status == "ok"'
	check_error "$(tail -1 <<<"$output")" -32600 vx11.LineTooLong null
	# Just under the limit is fine.
	big=$(req 1 switch.plan "{\"intent_type\":\"a\",\"text\":\"$(head -c 900 /dev/zero | tr '\0' x)\"}")
	run srpc "$big"
	check_json "$output" '.result.provider == "fallback"'
	conn_send other "$(req 9 switch.health)"
	conn_wait other 1
	check_json "$(conn_lines other)" '.id == 9 and .result.status == "ok"'
}

@test "limits: max_connections and max_subtasks answer vx11.Busy" {
	local nap
	nap=$(provider_script nap <<'EOF'
#!/bin/sh
/bin/sleep 2
echo '{"result": 1}'
EOF
)
	switch_config '.limits.max_connections = 2 | .limits.max_subtasks = 1 | .providers.nap = {argv: [$n]}
		| .subtasks = [{subtask_type: "nap", provider: "nap"}]' --arg n "$nap"
	start_switch
	VX11_SOCKET=$SWITCH_SOCKET conn_open a
	conn_send a "$(req 1 switch.subtask '{"subtask_type":"nap"}')"
	VX11_SOCKET=$SWITCH_SOCKET conn_open b
	conn_send b "$(req 2 switch.subtask '{"subtask_type":"echo"}')"
	conn_wait b 1
	check_error "$(conn_lines b)" -32004 vx11.Busy 2
	check "$(conn_lines b)" '.error.message | contains("max_subtasks")'
	# One connection too many: told so and closed (read only: a request
	# written after the close would meet EPIPE).
	run socat -t 5 -u "UNIX-CONNECT:$SWITCH_SOCKET" -
	check_error "$output" -32004 vx11.Busy null
	check "$output" '.error.message | contains("max_connections")'
	conn_close b
	run srpc "$(req 4 switch.health)"
	check_json "$output" '.result.status == "ok"'
	conn_wait a 1 40
	check_json "$(conn_lines a)" '.result.status == "ok" and .result.result == 1'
}

@test "the configuration is validated whole, each mistake named by its key path" {
	switch_config
	local cases=(
		'.extra = 1|extra: unknown key (known: socket, limits, routes, default_route, providers, subtasks, default_provider)'
		'del(.default_route)|missing "default_route" (the plan when no route matches)'
		'.routes[1].provder = "x"|routes[1].provder: unknown key (known: name, intent_type, text, provider, approach, model, score, task_type, steps, response)'
		'.routes[0].text = "summar(y"|routes[0].text: invalid regular expression: '
		'del(.routes[2].intent_type)|routes[2]: missing "intent_type"'
		'del(.routes[1].approach)|routes[1]: missing "approach"'
		'.routes[0].score = 1.5|routes[0].score: must be between 0 and 1'
		'.routes[0].score = "high"|routes[0].score: expected a number'
		'.routes[0].steps = {}|routes[0].steps: expected an array'
		'.routes[2].response = []|routes[2].response: expected an object'
		'.routes[0].task_type = ""|routes[0].task_type: must not be empty'
		'.routes = {}|routes: expected an array'
		'.default_route.intent_type = "*"|default_route.intent_type: unknown key'
		'.default_route.provider = 7|default_route.provider: expected a string'
		'.providers.echo.argv = []|providers.echo.argv: must name a command'
		'.providers.echo.argv = ["bin/x"]|providers.echo.argv[0]: must be an absolute path or a command name found in $PATH'
		'.providers.echo.argv = ["/bin/x", 3]|providers.echo.argv[1]: expected a string'
		'.providers.echo.timeout_ms = 0|providers.echo.timeout_ms: must be between 1 and 86400000'
		'.providers.echo.timout_ms = 5|providers.echo.timout_ms: unknown key (known: argv, timeout_ms, model)'
		'.providers["a b"] = {argv: ["/bin/true"]}|providers.a b: a provider name is 1 to 64 letters'
		'.providers.x = {}|providers.x: missing "argv"'
		'.subtasks = [{subtask_type: "a*", provider: "gpu"}]|subtasks[0].provider: no such provider "gpu" (providers: echo)'
		'.subtasks = [{provider: "echo"}]|subtasks[0]: missing "subtask_type"'
		'.default_provider = "gpu"|default_provider: no such provider "gpu"'
		'.limits.max_line_bytes = 10|limits.max_line_bytes: must be between 1024 and 67108864'
		'.limits.max_subtasks = "1"|limits.max_subtasks: expected an integer'
		'.limits.max_threads = 1|limits.max_threads: unknown key'
		'.socket = "run/s.sock"|socket: must be an absolute path'
	)
	local c filter want
	for c in "${cases[@]}"; do
		filter=${c%%|*} want=${c#*|}
		jq "$filter" "$T/switch.json" >"$T/bad.json"
		run "$VX11_SWITCH" --check-config "$T/bad.json"
		if [[ $status -ne 1 || $output != "$T/bad.json: $want"* ]]; then
			echo "for $filter: status $status, expected 1 and \"$T/bad.json: $want...\"" >&2
			echo "  got: $output" >&2
			return 1
		fi
	done
	# Not JSON as JSON is: the line and column.
	printf '{\n  "default_route": {"provider": "p", "approach": "a"},\n  "routes": [,]\n}\n' >"$T/bad.json"
	run "$VX11_SWITCH" --check-config "$T/bad.json"
	[[ $status -eq 1 && $output == "$T/bad.json: line 3, column 14: "* ]]
	printf '{"default_route": {"provider": "p", "approach": "a", "provider": "q"}}' >"$T/bad.json"
	run "$VX11_SWITCH" --check-config "$T/bad.json"
	[[ $status -eq 1 && $output == *"duplicate key default_route.provider"* ]]
	printf '{"default_route": {"provider": "p", "approach": "a", "score": NaN}}' >"$T/bad.json"
	run "$VX11_SWITCH" --check-config "$T/bad.json"
	[[ $status -eq 1 && $output == "$T/bad.json: line 1, column "* ]]
	printf '[]' >"$T/bad.json"
	run "$VX11_SWITCH" --check-config "$T/bad.json"
	[[ $status -eq 1 && $output == "$T/bad.json: expected a JSON object at the top level" ]]
	run "$VX11_SWITCH" --check-config "$T/missing.json"
	[[ $status -eq 1 && $output == "$T/missing.json: No such file or directory" ]]
	run "$VX11_SWITCH" --check-config "$T"
	[[ $status -eq 1 && $output == "$T: not a regular file" ]]
}

@test "--check-config: a valid file, the example, notes for missing programs" {
	switch_config
	run "$VX11_SWITCH" --check-config "$T/switch.json"
	[[ $status -eq 0 ]]
	equals "$output" "$T/switch.json: valid, 3 routes and the default, 1 provider, 0 subtask rules, default provider echo"
	jq '.providers.gone = {argv: ["/nonexistent/x"]} | .providers.named = {argv: ["sh", "-c", "true"]}' "$T/switch.json" >"$T/n.json"
	run "$VX11_SWITCH" --check-config "$T/n.json"
	[[ $status -eq 0 ]]
	[[ $output == *"note: providers.gone.argv[0]: /nonexistent/x is not an executable here"* ]]
	[[ $output != *"providers.named"* ]]
	# The shipped example (its provider is where `make install` puts it).
	run "$VX11_SWITCH" --check-config "$VX11_BUILDDIR/switch/example.json"
	[[ $status -eq 0 && $output == *": valid, 2 routes and the default, 1 provider, 1 subtask rule, default provider echo"* ]]
	run "$VX11_SWITCH" --check-config
	[[ $status -eq 2 ]]
	run "$VX11_SWITCH" --bogus
	[[ $status -eq 2 ]]
}

@test "an invalid configuration: the switch does not start; SIGHUP keeps the old one, or takes a valid new one" {
	switch_config '.routes[0].score = 7'
	run "$VX11_SWITCH" --config "$T/switch.json" --socket "$T/switch.sock" --log-target stderr
	[[ $status -eq 1 && $output == *"$T/switch.json: routes[0].score: must be between 0 and 1"* ]]
	[[ ! -e $T/switch.sock ]]
	switch_config
	start_switch
	# A broken file: logged, the old configuration serves on.
	echo '{"routes": 1}' >"$T/switch.json"
	kill -HUP "$SWITCH_PID"
	wait_for 30 grep -q 'configuration not reloaded, the previous one stays: .*routes: expected an array' "$T/switch.log"
	check_json "$(plan '{"intent_type":"code.x"}')" '.provider == "cli"'
	# A good one: taken.
	switch_config '.routes = [] | .default_route = {provider: "new", approach: "reloaded"}'
	kill -HUP "$SWITCH_PID"
	wait_for 30 grep -q 'configuration reloaded' "$T/switch.log"
	check_json "$(plan '{"intent_type":"code.x"}')" '.provider == "new" and .approach == "reloaded"'
}

@test "one log line per plan and per sub-task" {
	start_switch
	local p
	p=$(plan '{"intent_type":"analysis.x","text":"summarise","correlation_id":"corr-9","task_type":"echo","task_types":["analysis"]}')
	local id
	id=$(jq -r .plan_id <<<"$p")
	subtask '{"subtask_type":"echo.test","task_id":"task-1","daughter_id":"d-1","payload":{}}' >/dev/null
	plan '{"intent_type":"zzz"}' >/dev/null
	grep -E "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+[+-][0-9]{2}:[0-9]{2} vx11-switch: plan $id: intent_type analysis.x by route 0 \(summaries\): provider local-llm, approach split-and-summarise, task_type analysis, correlation_id corr-9$" "$T/switch.log"
	grep -E 'vx11-switch: subtask echo.test: provider echo, ok, tokens 0 cli [0-9]+ local, model echo-1, in [0-9]+ ms, task_id task-1, daughter_id d-1$' "$T/switch.log"
	grep -E 'vx11-switch: plan [0-9a-f-]+: intent_type zzz by the default route: provider fallback, approach direct$' "$T/switch.log"
	# Only those: start_switch's switch.health is no plan.
	[[ $(grep -c ' vx11-switch: plan ' "$T/switch.log") -eq 2 ]]
	[[ $(grep -c ' vx11-switch: subtask ' "$T/switch.log") -eq 1 ]]
}

@test "socket: mode 0660, a stale file replaced, a live one refused, removed at exit; systemd's socket served" {
	start_switch
	[[ $(stat -c %a "$SWITCH_SOCKET") == 660 ]]
	# vx11d's case: root without CAP_DAC_OVERRIDE (its unit drops it) gets
	# in as the socket's owner.
	if [[ $(id -u) -eq 0 && $(stat -c %u "$SWITCH_SOCKET") -eq 0 ]]; then
		run setpriv --bounding-set=-all --inh-caps=-all -- socat -t 5 - "UNIX-CONNECT:$SWITCH_SOCKET" <<<"$(req 1 switch.health)"
		check_json "$output" '.result.status == "ok"'
	fi
	run "$VX11_SWITCH" --config "$T/switch.json" --socket "$SWITCH_SOCKET" --log-target stderr
	[[ $status -eq 1 && $output == *"something already listens on $SWITCH_SOCKET"* ]]
	kill -TERM "$SWITCH_PID"
	wait_exit "$SWITCH_PID"
	[[ $DAEMON_STATUS -eq 0 ]]
	[[ ! -e $SWITCH_SOCKET ]]
	# A stale socket file (a crash) is replaced.
	python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$SWITCH_SOCKET"
	start_switch
	run srpc "$(req 1 switch.health)"
	check_json "$output" '.result.status == "ok"'
	switch_teardown
	# Socket activation, as vx11-switch.socket does it.
	command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate is not installed"
	(
		_bg_close_fds
		exec systemd-socket-activate -l "$T/act.sock" "$VX11_SWITCH" --config "$T/switch.json" --socket "$T/unused.sock" --log-target stderr
	) 2>>"$T/switch.log" </dev/null >/dev/null &
	SWITCH_PID=$!
	SWITCH_SOCKET=$T/act.sock
	wait_for 50 test -S "$T/act.sock"
	run srpc "$(req 1 switch.plan '{"intent_type":"code.y"}')"
	check_json "$output" '.result.provider == "cli"'
	grep -q 'serving on the socket systemd passed' "$T/switch.log"
	[[ ! -e $T/unused.sock ]]
}

@test "units: the service runs the installed binary under a dynamic user; the socket is vx11d's to reach" {
	local svc=$VX11_BUILDDIR/units/vx11-switch.service sock=$VX11_SRCDIR/units/vx11-switch.socket
	[[ -f $svc ]] || skip "units/vx11-switch.service is not built"
	grep -Eqx "ExecStart=/.*/vx11-switch" "$svc"
	[[ $(grep -c '@[a-z_]*@' "$svc") -eq 0 ]]
	for kv in Type=notify DynamicUser=yes CapabilityBoundingSet= NoNewPrivileges=yes ProtectSystem=strict \
		PrivateDevices=yes RestrictNamespaces=yes Requires=vx11-switch.socket 'ExecReload=/bin/kill -HUP $MAINPID'; do
		grep -qx "$kv" "$svc" || { echo "missing $kv" >&2; return 1; }
	done
	grep -qx 'ListenStream=/run/vx11-switch/switch.sock' "$sock"
	grep -qx 'SocketMode=0660' "$sock"
	grep -qx 'SocketUser=root' "$sock"
}

@test "vx11-switch(8): groff has nothing to complain about" {
	command -v man >/dev/null || skip "man is not installed"
	run bash -c "MANWIDTH=80 man --warnings -l '$VX11_SRCDIR/man/vx11-switch.8' 2>&1 >/dev/null"
	[[ -z $output ]]
	run env MANWIDTH=80 man -l "$VX11_SRCDIR/man/vx11-switch.8"
	[[ $output == *NAME*SYNOPSIS*CONFIGURATION*METHODS* ]]
}
