#!/usr/bin/env bats
# daemon.metrics (admins): OpenMetrics text counting what the daemon did;
# vx11ctl metrics; TRACEPARENT in a daughter's environment.

load helpers

setup() {
	vx11_setup
}

teardown() {
	vx11_teardown
}

# metrics_text: daemon.metrics' text, through the protocol.
metrics_text() {
	result daemon.metrics | jq -j .text
}

# sample TEXT KEY: the value of the sample KEY (name{labels}); "" when absent.
sample() {
	awk -v k="$2" '$1 == k { print $2 }' <<<"$1"
}

@test "daemon.metrics counts done, queued, failed and refused intents" {
	policy_file '.limits.max_running = 1
		| .tasks.sleeper = {command: ["/bin/sleep", "30"], max_retries: 0}'
	start_daemon
	submit '{"intent_type":"hello"}' >/dev/null                       # DONE, no task
	wait_status "$(submit_task noop)" completed >/dev/null
	failed=$(submit_task fails)
	t=$(wait_status "$failed" failed)
	reason=$(jq -r '.daughters[0].attempts[0].reason' <<<"$t")
	sleeper=$(submit_task sleeper)
	wait_status "$sleeper" running >/dev/null
	submit_task noop >/dev/null                                        # queued behind the sleeper
	submit '{"intent_type":"nope","require":{"spawner":true}}' >/dev/null # refused: unknown task
	check_error "$(call intent.submit '{"intent_type":"noop","bogus":1}')" -32602 vx11.InvalidParams

	reply=$(result daemon.metrics)
	check "$reply" '.content_type == "application/openmetrics-text; version=1.0.0; charset=utf-8"'
	text=$(jq -j .text <<<"$reply")
	equals "$(tail -n 1 <<<"$text")" "# EOF"

	equals "$(sample "$text" 'vx11_tasks{task_type="noop",status="completed"}')" 1
	equals "$(sample "$text" 'vx11_tasks{task_type="noop",status="pending"}')" 1
	equals "$(sample "$text" 'vx11_tasks{task_type="fails",status="failed"}')" 1
	equals "$(sample "$text" 'vx11_tasks{task_type="sleeper",status="running"}')" 1
	# A refused intent makes no task.
	equals "$(grep -c '^vx11_tasks{task_type="nope"' <<<"$text")" 0
	equals "$(sample "$text" vx11_queue_depth)" 1
	equals "$(sample "$text" vx11_daughters_running)" 1
	equals "$(sample "$text" vx11_intents_total)" 6

	# Two attempts ended: the noop's and the failure's, which has its reason.
	equals "$(awk '/^vx11_attempts_total\{/ { s += $2 } END { print s }' <<<"$text")" 2
	[[ $(sample "$text" "vx11_attempts_total{reason=\"$reason\"}") -ge 1 ]]
	equals "$(sample "$text" vx11_attempt_duration_seconds_count)" 2
	# Three daughters started (noop, fails, sleeper): three spawns measured.
	equals "$(sample "$text" vx11_spawn_latency_seconds_count)" 3
	equals "$(sample "$text" 'vx11_spawn_latency_seconds_bucket{le="+Inf"}')" 3

	# Requests by method and code: this very call is not yet counted.
	[[ $(sample "$text" 'vx11_requests_total{method="intent.submit",error_code="0"}') -eq 6 ]]
	equals "$(sample "$text" 'vx11_requests_total{method="intent.submit",error_code="-32602"}')" 1
	# Durable commits were made (QUEUED replies wait for them).
	[[ $(sample "$text" 'vx11_store_commit_seconds_count{durable="true"}') -ge 3 ]]
	equals "$(sample "$text" vx11_switch_plans_total)" 0
	equals "$(sample "$text" vx11_switch_subtasks_total)" 0

	# Every family is declared once, and every sample belongs to one.
	dup=$(grep '^# TYPE' <<<"$text" | awk '{ print $3 }' | sort | uniq -d)
	equals "$dup" ""
	run awk '
		/^# TYPE / { fam = $3; type = $4; next }
		/^#/ { next }
		{ n = $1; sub(/\{.*/, "", n)
		  ok = (type == "counter" && n == fam "_total") || (type == "gauge" && n == fam) ||
		       (type == "histogram" && (n == fam "_bucket" || n == fam "_count" || n == fam "_sum"))
		  if (!ok) { print "stray sample: " $0; bad = 1 } }
		END { exit bad }' <<<"$text"
	[[ $status -eq 0 ]] || { echo "$output"; false; }

}

@test "daemon.metrics: refused for a submitter, params refused" {
	require_root
	start_daemon
	reply=$(as_submitter_nobody socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET" <<<"$(req daemon.metrics)")
	check_error "$reply" -32001 vx11.PermissionDenied 1
	check "$reply" '.error.message | test("daemon.metrics needs an administrator")'
	check_error "$(call daemon.metrics '{"x":1}')" -32602 vx11.InvalidParams 1
	# The refusal is counted, under its code.
	text=$(metrics_text)
	equals "$(sample "$text" 'vx11_requests_total{method="daemon.metrics",error_code="-32001"}')" 1
	equals "$(sample "$text" 'vx11_requests_total{method="daemon.metrics",error_code="-32602"}')" 1
}

@test "vx11ctl metrics prints the text; --json the result" {
	start_daemon
	submit '{"intent_type":"hello"}' >/dev/null
	run "$VX11CTL" metrics
	[[ $status -eq 0 ]]
	equals "$(tail -n 1 <<<"$output")" "# EOF"
	grep -qx '# TYPE vx11_tasks gauge' <<<"$output"
	grep -qx 'vx11_intents_total 1' <<<"$output"
	run "$VX11CTL" --json metrics
	[[ $status -eq 0 ]]
	check "$output" '.content_type | startswith("application/openmetrics-text")'
	check "$output" '.text | endswith("# EOF\n")'
	run "$VX11CTL" metrics --help
	[[ $status -eq 0 && $output == *"daemon.metrics"* ]]
}

@test "a daughter's TRACEPARENT carries its intent's correlation id, a fresh span per attempt" {
	policy_file '.limits.max_running = 2
		| .tasks.env = {command: ["/usr/bin/env"], max_retries: 0}
		| .tasks.envfail = {command: ["/bin/sh", "-c", "env; exit 3"], max_retries: 1}'
	start_daemon
	env=$(submit_queued env)
	cid=$(jq -r .correlation_id <<<"$env")
	tid=$(jq -r .response.task_id <<<"$env")
	wait_status "$tid" completed >/dev/null
	tp=$(task_logs "$tid" stdout | sed -n 's/^TRACEPARENT=//p')
	trace=${cid//-/}
	[[ $tp =~ ^00-${trace}-[0-9a-f]{16}-01$ ]] || { echo "TRACEPARENT=$tp, correlation id $cid"; false; }
	[[ ${tp:36:16} != 0000000000000000 ]]

	# Two attempts of one task: one trace, two spans.
	tid=$(submit_task envfail)
	wait_status "$tid" failed 300 >/dev/null
	a1=$(task_logs "$tid" stdout 1 | sed -n 's/^TRACEPARENT=//p')
	a2=$(task_logs "$tid" stdout 2 | sed -n 's/^TRACEPARENT=//p')
	[[ -n $a1 && -n $a2 ]]
	equals "${a1:3:32}" "${a2:3:32}"
	[[ ${a1:36:16} != "${a2:36:16}" ]]
}

@test "tokens a daughter reports count by provider and model, cli and local apart" {
	s=$(daughter_script tokens.sh <<'EOF2'
#!/bin/sh
printf '{"jsonrpc":"2.0","id":1,"method":"daughter.report","params":{"daughter_id":"%s","token":"%s","tokens_used_cli":5,"tokens_used_local":7,"switch_model_used":"m-1","cli_provider_used":"prov"}}\n' \
	"$VX11_DAUGHTER_ID" "$VX11_DAUGHTER_TOKEN" | /usr/bin/socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET"
EOF2
)
	policy_file '.limits.max_running = 2 | .tasks.tokens = {command: ["'"$s"'"], max_retries: 0}'
	start_daemon
	wait_status "$(submit_task tokens)" completed >/dev/null
	wait_status "$(submit_task tokens)" completed >/dev/null
	text=$(metrics_text)
	equals "$(sample "$text" 'vx11_gen_ai_usage_tokens_total{gen_ai_provider_name="prov",gen_ai_request_model="m-1",token_origin="cli"}')" 10
	equals "$(sample "$text" 'vx11_gen_ai_usage_tokens_total{gen_ai_provider_name="prov",gen_ai_request_model="m-1",token_origin="local"}')" 14
}

@test "--metrics-socket serves the text over HTTP: GET /metrics, 404 otherwise, admins only" {
	command -v curl >/dev/null || skip "curl is not installed (./dev installs it)"
	start_daemon --metrics-socket "$T/metrics.sock"
	submit '{"intent_type":"hello"}' >/dev/null
	# Root only, or 0660 with the admin group where it exists.
	if getent group vx11-admin >/dev/null; then
		equals "$(stat -c '%a %U %G' "$T/metrics.sock")" "660 root vx11-admin"
	else
		equals "$(stat -c '%a %U' "$T/metrics.sock")" "600 root"
	fi
	run curl -sS -D "$T/head" --unix-socket "$T/metrics.sock" http://localhost/metrics
	[[ $status -eq 0 ]]
	grep -qi '^content-type: application/openmetrics-text; version=1.0.0; charset=utf-8' "$T/head"
	head -n 1 "$T/head" | grep -q '^HTTP/1.1 200'
	grep -qx 'vx11_intents_total 1' <<<"$output"
	grep -qx '# TYPE vx11_requests counter' <<<"$output"
	equals "$(tail -n 1 <<<"$output")" "# EOF"

	code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$T/metrics.sock" http://localhost/other)
	equals "$code" 404
	code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --unix-socket "$T/metrics.sock" http://localhost/metrics)
	equals "$code" 404
	# A request head that never ends is cut at 4 KiB, not buffered.
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 5000 /dev/zero | tr '\0' a)" \
		--unix-socket "$T/metrics.sock" http://localhost/metrics)
	equals "$code" 431

	# Someone who is not an administrator is refused even if the file lets them in.
	if [[ $(id -u) -eq 0 ]]; then
		chmod 0666 "$T/metrics.sock"
		code=$(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- \
			curl -s -o /dev/null -w '%{http_code}' --unix-socket "$T/metrics.sock" http://localhost/metrics)
		equals "$code" 403
	fi
	# The daemon still serves JSON-RPC all along, and the socket goes with it.
	check "$(result daemon.status)" '.pid > 0'
	stop_daemon
	[[ ! -e $T/metrics.sock ]]
}

@test "--metrics-socket refuses a path that is not a socket" {
	echo keep >"$T/not-a-socket"
	launch_daemon --metrics-socket "$T/not-a-socket"
	wait_exit "$DAEMON_PID" 100
	[[ $DAEMON_STATUS -ne 0 ]]
	grep -q "not a socket" "$T/vx11d.log"
	equals "$(cat "$T/not-a-socket")" keep
}

@test "intent.submit's traceparent: its trace id reaches the daughter; an invalid one is refused" {
	policy_file '.limits.max_running = 2 | .tasks.env = {command: ["/usr/bin/env"], max_retries: 0}'
	start_daemon
	given=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
	tid=$(submit_task env "{\"traceparent\":\"$given\"}")
	wait_status "$tid" completed >/dev/null
	tp=$(task_logs "$tid" stdout | sed -n 's/^TRACEPARENT=//p')
	[[ $tp =~ ^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$ ]] || { echo "TRACEPARENT=$tp"; false; }
	# The daughter's span is its own, not the submitter's.
	[[ ${tp:36:16} != 00f067aa0ba902b7 ]]

	for bad in 00-00000000000000000000000000000000-00f067aa0ba902b7-01 ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 \
		00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01 nonsense; do
		reply=$(call intent.submit "{\"intent_type\":\"env\",\"require\":{\"spawner\":true},\"traceparent\":\"$bad\"}")
		check_error "$reply" -32602 vx11.InvalidParams 1
		check "$reply" '.error.message | test("traceparent")'
	done
	# Nothing was made of them.
	check "$(result task.list)" '.count == 1'
}
