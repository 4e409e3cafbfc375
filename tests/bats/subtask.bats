#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# daughter.subtask (switch.md) through the real vx11d and the real
# vx11-switch: a daughter asks for a sub-task, the switch runs a provider
# script, the answer comes back and its tokens, model and provider land on
# the daughter's attempt. A switch that is down answers the seed's
# {"status":"timeout","retry":true}; a wrong token and mode solo_madre are
# refused. Also vx11ctl subtask, from inside a daughter.

load helpers

setup() {
	switch_setup
	vx11_setup
}

teardown() {
	switch_teardown
	vx11_teardown
}

attempt_of() {
	jq -c ".daughters[${2:--1}].attempts[0]" <<<"$1"
}

# A provider that answers with what it was asked and fixed token counts; it
# runs as the switch's user, the daughters' scripts as dynamic uids: both
# live in $T (0755), files mode 0755.
provider() {
	daughter_script provider.sh <<'EOF'
#!/bin/sh
req=$(/bin/cat)
printf '{"result":{"asked":%s},"tokens_used_cli":3,"tokens_used_local":40,"model":"m-test"}\n' "$req"
EOF
}

# subtask_policy SOCKET [JQ_FILTER]: mode switch, talking to SOCKET, plus a
# task type "sub" running $T/daughter.sh.
subtask_policy() {
	local s
	s=$(jq -cn --arg s "$1" '$s')
	policy_file '.mode = "switch" | .switch = {socket: '"$s"', timeout_ms: 3000, failure_threshold: 3, cooldown_seconds: 30}
		| .tasks.sub = {command: ['"$(jq -cn --arg d "$T/daughter.sh" '$d')"'], max_retries: 0} | '"${2:-.}"
}

# The daughter: each line of $T/requests.txt (a jq program over
# {d: daughter id, t: token}) becomes one request on daughter.sock; the
# replies go to stdout, one a line.
request_daughter() {
	daughter_script daughter.sh <<EOF
#!/bin/sh
while IFS= read -r filter; do
	/usr/bin/jq -cn --arg d "\$VX11_DAUGHTER_ID" --arg t "\$VX11_DAUGHTER_TOKEN" "\$filter" |
		/usr/bin/socat -t 10 - "UNIX-CONNECT:\$VX11_SOCKET"
done <$T/requests.txt
EOF
}

@test "daughter.subtask: through vx11-switch and a provider script, tokens summed on the attempt, model and provider set" {
	prov=$(provider)
	switch_config '.providers = {scripted: {argv: [$p], timeout_ms: 5000}} | .default_provider = "scripted"' --arg p "$prov"
	start_switch
	cat >"$T/requests.txt" <<'EOF'
{jsonrpc:"2.0", id:1, method:"daughter.subtask", params:{daughter_id:$d, token:$t, subtask_type:"summarise", payload:{text:"hello"}}}
{jsonrpc:"2.0", id:2, method:"daughter.subtask", params:{daughter_id:$d, token:$t, subtask_type:"count"}}
{jsonrpc:"2.0", id:3, method:"daughter.subtask", params:{daughter_id:$d, token:"00000000000000000000000000000000", subtask_type:"x"}}
{jsonrpc:"2.0", id:4, method:"daughter.subtask", params:{daughter_id:$d, token:$t, subtask_type:"x", payload:{}, model:"m"}}
{jsonrpc:"2.0", id:5, method:"daughter.subtask", params:{daughter_id:$d, token:$t}}
[{jsonrpc:"2.0", id:6, method:"daughter.subtask", params:{daughter_id:$d, token:$t, subtask_type:"x"}}]
EOF
	chmod 0644 "$T/requests.txt"
	request_daughter >/dev/null
	subtask_policy "$SWITCH_SOCKET"
	start_daemon
	id=$(submit_task sub)
	t=$(wait_status "$id" completed)
	did=$(jq -r '.daughters[0].id' <<<"$t")

	mapfile -t replies < <(task_logs "$id" stdout)
	equals "${#replies[@]}" 6
	# The switch's answer as it gave it; the request it got carries the task,
	# the daughter, the attempt, the type and the payload.
	check_json "${replies[0]}" '.id == 1 and .result.status == "ok" and .result.tokens_used_cli == 3
		and .result.tokens_used_local == 40 and .result.model == "m-test" and .result.provider == "scripted"
		and .result.result.asked == {task_id: $id, daughter_id: $d, attempt: 1, subtask_type: "summarise", payload: {text: "hello"}}' \
		--arg id "$id" --arg d "$did"
	check_json "${replies[1]}" '.id == 2 and .result.status == "ok" and .result.result.asked.payload == null
		and .result.result.asked.subtask_type == "count"'
	# A wrong token is refused as for every daughter method; bad params are -32602.
	check_error "${replies[2]}" -32002 vx11.NotFound 3
	check_error "${replies[3]}" -32602 vx11.InvalidParams 4
	check_error "${replies[4]}" -32602 vx11.InvalidParams 5
	# The answer comes later: in a batch it cannot wait, and says so.
	check_json "${replies[5]}" 'length == 1 and .[0].id == 6 and .[0].error.code == -32600
		and (.[0].error.message | test("alone"))'

	# Two sub-tasks: 2 x 3 and 2 x 40 tokens on the attempt.
	check_json "$(attempt_of "$t")" '.tokens_used_cli == 6 and .tokens_used_local == 80
		and .switch_model_used == "m-test" and .cli_provider_used == "scripted"'
	# Only the two valid requests reached the switch.
	equals "$(grep -c 'subtask [a-z]*: provider scripted, ok' "$T/switch.log")" 2
}

@test "daughter.subtask: the switch down answers {status: timeout, retry: true}; mode solo_madre is refused" {
	cat >"$T/requests.txt" <<'EOF'
{jsonrpc:"2.0", id:1, method:"daughter.subtask", params:{daughter_id:$d, token:$t, subtask_type:"summarise", payload:{text:"hello"}}}
EOF
	chmod 0644 "$T/requests.txt"
	request_daughter >/dev/null
	# Nothing listens on the switch's socket.
	subtask_policy "$T/nothing.sock"
	start_daemon
	id=$(submit_task sub)
	t=$(wait_status "$id" completed)
	reply=$(task_logs "$id" stdout)
	check_json "$reply" '.id == 1 and .result.status == "timeout" and .result.retry == true
		and (.result.error | test("switch unavailable"))
		and (.result | keys | sort) == ["error", "retry", "status"]'
	check_json "$(attempt_of "$t")" '.tokens_used_cli == 0 and .tokens_used_local == 0 and .switch_model_used == null'

	# The same daughter in mode solo_madre: refused, saying what to set.
	stop_daemon
	policy_file '.tasks.sub = {command: ['"$(jq -cn --arg d "$T/daughter.sh" '$d')"'], max_retries: 0}'
	start_daemon
	id=$(submit_task sub)
	wait_status "$id" completed >/dev/null
	reply=$(task_logs "$id" stdout)
	check_error "$reply" -32001 vx11.PermissionDenied 1
	check_json "$reply" '.error.data.reason == "off_by_policy" and (.error.message | test("\"mode\": \"switch\""))'
}

@test "vx11ctl subtask from inside a daughter: prints the result, --json the answer; the switch down fails saying retry" {
	prov=$(provider)
	switch_config '.providers = {scripted: {argv: [$p], timeout_ms: 5000}} | .default_provider = "scripted"' --arg p "$prov"
	start_switch
	# (LeakSanitizer, in the sanitizer build, cannot stop the world under a
	# daughter's seccomp filter: off for the client run as a daughter.)
	daughter_script daughter.sh >/dev/null <<EOF
#!/bin/sh
export ASAN_OPTIONS=detect_leaks=0
"$VX11CTL" subtask summarise --payload '{"n":1}'
echo "status \$?"
"$VX11CTL" --json subtask count | /usr/bin/jq -c .
echo "status \$?"
"$VX11CTL" subtask x --payload '[1]' 2>&1
echo "status \$?"
EOF
	subtask_policy "$SWITCH_SOCKET"
	start_daemon
	id=$(submit_task sub)
	t=$(wait_status "$id" completed)
	mapfile -t out < <(task_logs "$id" stdout)
	check_json "${out[0]}" '. == {asked: {task_id: $id, daughter_id: $d, attempt: 1, subtask_type: "summarise", payload: {n: 1}}}' \
		--arg id "$id" --arg d "$(jq -r '.daughters[0].id' <<<"$t")"
	equals "${out[1]}" "status 0"
	check_json "${out[2]}" '.status == "ok" and .provider == "scripted" and .tokens_used_local == 40 and .result.asked.subtask_type == "count"'
	equals "${out[3]}" "status 0"
	[[ ${out[4]} == *"--payload wants a JSON object"* ]]
	equals "${out[5]}" "status 2"
	check_json "$(attempt_of "$t")" '.tokens_used_cli == 6 and .tokens_used_local == 80 and .cli_provider_used == "scripted"'

	# The switch stopped: exit status 1, the reason and "retry later" on stderr.
	switch_teardown
	daughter_script daughter.sh >/dev/null <<EOF
#!/bin/sh
export ASAN_OPTIONS=detect_leaks=0
"$VX11CTL" subtask summarise 2>&1
echo "status \$?"
EOF
	id=$(submit_task sub)
	wait_status "$id" completed >/dev/null
	mapfile -t out < <(task_logs "$id" stdout)
	[[ ${out[0]} == *"subtask summarise: timeout: switch unavailable"*"(retry later)" ]]
	equals "${out[1]}" "status 1"
	# Outside a daughter: a usage error.
	run -2 --separate-stderr env -u VX11_DAUGHTER_ID -u VX11_DAUGHTER_TOKEN "$VX11CTL" subtask x
	[[ $stderr == *"works only inside a daughter"* ]]
}

@test "daughter.subtask: a daughter that ends while its sub-task runs gets no tokens, and the daemon carries on" {
	daughter_script slow.sh >/dev/null <<'EOF'
#!/bin/sh
/bin/sleep 4
printf '{"result":"late","tokens_used_cli":9,"tokens_used_local":9,"model":"late-model"}\n'
EOF
	switch_config '.providers = {slow: {argv: [$p], timeout_ms: 10000}} | .default_provider = "slow"' --arg p "$T/slow.sh"
	start_switch
	cat >"$T/requests.txt" <<'EOF'
{jsonrpc:"2.0", id:1, method:"daughter.subtask", params:{daughter_id:$d, token:$t, subtask_type:"slow"}}
EOF
	chmod 0644 "$T/requests.txt"
	request_daughter >/dev/null
	# timeout_ms above the provider's 4 s: only the daughter's end stops the wait.
	subtask_policy "$SWITCH_SOCKET" '.switch.timeout_ms = 10000 | .tasks.sub.ttl_seconds = 1'
	start_daemon
	id=$(submit_task sub)
	t=$(wait_task "$id" '.task.status == "expired"' 150)
	# The provider answers after the daughter is gone: nothing is written to its attempt.
	wait_for 100 grep -q 'subtask slow: provider slow, ok.*model late-model' "$T/switch.log"
	sleep 0.5
	t=$(task_get "$id")
	check_json "$(attempt_of "$t")" '.tokens_used_cli == 0 and .tokens_used_local == 0 and .switch_model_used == null'
	check_json "$(result daemon.status)" '.pid > 0'
}

@test "seed fields: task.get has the intent's payload, audit.list too; daughters have ttl_seconds and tools" {
	start_daemon
	env=$(submit_queued noop '{"payload":{"k":[1,"x"],"s":"t"},"ttl_seconds":12}')
	id=$(jq -r .response.task_id <<<"$env")
	cid=$(jq -r .correlation_id <<<"$env")
	t=$(wait_status "$id" completed)
	check_json "$t" '.task.payload == {k: [1, "x"], s: "t"}'
	check_json "$t" '.daughters[0].ttl_seconds == 12
		and .daughters[0].tools.argv == ["/bin/true"] and .daughters[0].tools.user == "dynamic"
		and .daughters[0].tools.uid == .daughters[0].attempts[0].uid and .daughters[0].tools.uid > 0
		and (.daughters[0].tools.namespaces | type) == "object" and (.daughters[0].tools.limits | type) == "object"
		and (.daughters[0].tools.rlimits | type) == "object"
		and (.daughters[0].tools | has("seccomp_profile"))
		and .daughters[0].tools.namespaces == .daughters[0].attempts[0].confinement.namespaces'
	# daughter.list says the same of the same daughter.
	l=$(result daughter.list '{"limit":100}')
	check_json "$l" '[.daughters[] | select(.task_id == $id)] | length == 1 and .[0].ttl_seconds == 12 and .[0].tools == $tools' \
		--arg id "$id" --argjson tools "$(jq -c '.daughters[0].tools' <<<"$t")"

	# No ttl_seconds: the policy's default (30); no payload: null.
	id2=$(submit_task echo)
	t=$(wait_status "$id2" completed)
	check_json "$t" '.task.payload == null and .daughters[0].ttl_seconds == 30 and .daughters[0].tools.argv == ["/bin/cat"]'

	a=$(result audit.list '{"limit":100}')
	check_json "$a" '[.entries[] | select(.correlation_id == $c)][0].payload == {k: [1, "x"], s: "t"}' --arg c "$cid"
	check_json "$a" '[.entries[] | select(.task_id == $t)][0] | has("payload") and .payload == null' --arg t "$id2"
}
