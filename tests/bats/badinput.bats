#!/usr/bin/env bats
# Hostile and sloppy clients: whatever arrives on the socket, the daemon
# answers with the right error (or drops the connection where the protocol
# says so), stays small, and keeps serving everyone else.

load helpers

setup() {
	vx11_setup
	# These suites look at the queue and the protocol: no task starts
	# unless a test raises max_running (daughters.bats runs them).
	VX11_POLICY_PREFIX='.limits.max_running = 0'
	start_daemon
}

teardown() {
	vx11_teardown
}

# After each battery: the daemon is the same process, answers correctly, and
# a real submission still works end to end.
still_healthy() {
	local reply env tid
	alive "$DAEMON_PID"
	reply=$(call daemon.status)
	check "$reply" '.result.pid == $p and .result.policy_mode == "solo_madre"' --argjson p "$DAEMON_PID"
	env=$(submit_queued noop)
	tid=$(jq -r .response.task_id <<<"$env")
	check "$(call task.get "{\"task_id\":\"$tid\"}")" '.result.task.status == "pending"'
}

@test "not JSON: -32700 with id null, the connection stays open" {
	out=$(rpc '{"jsonrpc":' 'nope' '{"a":1}}' "$(req daemon.status '' 7)")
	equals "$(count_lines "$out")" 4
	for i in 1 2 3; do
		check_error "$(sed -n "${i}p" <<<"$out")" -32700 vx11.ParseError null
	done
	check "$(sed -n 4p <<<"$out")" '.id == 7 and (.result | has("pid"))'
	still_healthy
}

@test "an empty line and a line of blanks are parse errors" {
	out=$(rpc '' '   ' "$(req daemon.status '' 2)")
	equals "$(count_lines "$out")" 3
	check_error "$(sed -n 1p <<<"$out")" -32700 vx11.ParseError null
	check_error "$(sed -n 2p <<<"$out")" -32700 vx11.ParseError null
	check "$(sed -n 3p <<<"$out")" '.id == 2'
}

@test "trailing garbage after the JSON value is a parse error" {
	out=$(rpc '{"jsonrpc":"2.0","id":1,"method":"daemon.status"} x' '{"jsonrpc":"2.0","id":1,"method":"daemon.status"}{}')
	equals "$(count_lines "$out")" 2
	check_error "$(sed -n 1p <<<"$out")" -32700 vx11.ParseError null
	check_error "$(sed -n 2p <<<"$out")" -32700 vx11.ParseError null
}

@test "[] is a single -32600 error object" {
	out=$(rpc '[]')
	equals "$(count_lines "$out")" 1
	check "$out" 'type == "object"'
	check_error "$out" -32600 vx11.InvalidRequest null
}

@test "wrong or missing jsonrpc, missing or non-string method: -32600" {
	check_error "$(rpc '{"jsonrpc":"1.0","id":1,"method":"daemon.status"}')" -32600 vx11.InvalidRequest 1
	check_error "$(rpc '{"jsonrpc":2.0,"id":1,"method":"daemon.status"}')" -32600 vx11.InvalidRequest 1
	check_error "$(rpc '{"id":1,"method":"daemon.status"}')" -32600 vx11.InvalidRequest 1
	check_error "$(rpc '{"jsonrpc":"2.0","id":1}')" -32600 vx11.InvalidRequest 1
	check_error "$(rpc '{"jsonrpc":"2.0","id":1,"method":42}')" -32600 vx11.InvalidRequest 1
	check_error "$(rpc '{"jsonrpc":"2.0","id":1,"method":null}')" -32600 vx11.InvalidRequest 1
	check_error "$(rpc '{"jsonrpc":"2.0","id":1,"method":"daemon.status","extra":true}')" -32600 vx11.InvalidRequest 1
	check_error "$(rpc '"a string"')" -32600 vx11.InvalidRequest null
}

@test "a bare JSON scalar (42, null, true) is valid JSON: -32600, not a parse error" {
	for v in 42 -3 1.5 null true '"s"'; do
		check_error "$(rpc "$v")" -32600 vx11.InvalidRequest null
	done
}

@test "an id that is an object, an array or a boolean: -32600 with id null" {
	for id in '{}' '[1]' 'true' 'false'; do
		reply=$(rpc "{\"jsonrpc\":\"2.0\",\"id\":$id,\"method\":\"daemon.status\"}")
		check_error "$reply" -32600 vx11.InvalidRequest null
	done
}

@test "params that is not an object: -32600; by position (an array): -32602" {
	for p in '5' '"x"' 'true'; do
		reply=$(rpc "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"task.list\",\"params\":$p}")
		check_error "$reply" -32600 vx11.InvalidRequest 1
	done
	reply=$(rpc '{"jsonrpc":"2.0","id":1,"method":"task.list","params":[1,2]}')
	check_error "$reply" -32602 vx11.InvalidParams 1
}

@test "a 10 MiB line without a newline: LineTooLong, the daemon stays small and answers" {
	rss_before=$(daemon_rss_kib)
	out=$(head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' a | socat -s -t 5 - "UNIX-CONNECT:$VX11_SOCKET" 2>/dev/null)
	equals "$(count_lines "$out")" 1
	check_error "$out" -32600 vx11.LineTooLong null
	# The daemon never held more than about one line: its peak stays far
	# below what buffering the whole 10 MiB would take.
	hwm=$(daemon_hwm_kib)
	echo "RSS before ${rss_before} KiB, peak ${hwm} KiB" >&2
	((hwm < rss_before + 8 * 1024))
	still_healthy
}

@test "a long line split over many writes is still refused at the limit" {
	out=$( (
		printf '{"jsonrpc":"2.0","id":1,"method":"daemon.status","params":{"x":"'
		for _ in $(seq 20); do head -c 65536 /dev/zero | tr '\0' b; done
		printf '"}}\n'
	) | socat -s -t 5 - "UNIX-CONNECT:$VX11_SOCKET" 2>/dev/null)
	equals "$(count_lines "$out")" 1
	check_error "$out" -32600 vx11.LineTooLong null
	still_healthy
}

@test "invalid UTF-8 is a parse error" {
	out=$(rpc_raw '{"jsonrpc":"2.0","id":1,"method":"intent.submit","params":{"intent_type":"x","text":"\xc3\x28"}}\n{"jsonrpc":"2.0","id":2,"method":"daemon.status"}\n')
	equals "$(count_lines "$out")" 2
	check_error "$(sed -n 1p <<<"$out")" -32700 vx11.ParseError null
	check "$(sed -n 2p <<<"$out")" '.id == 2'
	# Nothing was recorded for the unreadable request.
	check "$(result audit.list)" '.count == 0'
}

@test "overlong forms, encoded surrogates and lone surrogate escapes are parse errors too" {
	local bad
	for bad in '\xc0\xaf' '\xe0\x80\xaf' '\xed\xa0\x80' '\xf4\x90\x80\x80' '\\ud800' '\\udfff'; do
		out=$(rpc_raw '{"jsonrpc":"2.0","id":1,"method":"task.get","params":{"task_id":"x'"$bad"'"}}\n{"jsonrpc":"2.0","id":2,"method":"daemon.status"}\n')
		equals "$(count_lines "$out")" 2
		check_error "$(sed -n 1p <<<"$out")" -32700 vx11.ParseError null
		check "$(sed -n 2p <<<"$out")" '.id == 2'
		# Every reply is valid UTF-8 (iconv refuses anything else).
		iconv -f UTF-8 -t UTF-8 <<<"$out" >/dev/null
	done
	check "$(result audit.list)" '.count == 0'
}

@test "a NUL byte in a line is a parse error, the next line is answered" {
	out=$(rpc_raw '{"jsonrpc":"2.0","id":1,\x00"method":"daemon.status"}\n{"jsonrpc":"2.0","id":2,"method":"daemon.status"}\n')
	equals "$(count_lines "$out")" 2
	check_error "$(sed -n 1p <<<"$out")" -32700 vx11.ParseError null
	check "$(sed -n 2p <<<"$out")" '.id == 2'
	out=$(rpc_raw '\x00\n')
	check_error "$out" -32700 vx11.ParseError null
}

@test "a client that disconnects mid-line gets nothing and harms nothing" {
	out=$(rpc_raw '{"jsonrpc":"2.0","id":1,"method":"intent.submit","params":{"intent_type":"noop","require":{"spawner":true}')
	equals "$out" ""
	# The partial request was not carried out.
	check "$(result task.list)" '.count == 0'
	# Also with a request answered first on the same connection.
	out=$(rpc_raw '{"jsonrpc":"2.0","id":1,"method":"daemon.status"}\n{"jsonrpc":"2.0","id":2,"meth')
	equals "$(count_lines "$out")" 1
	check "$out" '.id == 1'
	still_healthy
}

@test "1000 pipelined requests on one connection: 1000 replies, in order" {
	lines=$(for i in $(seq 1000); do
		if ((i % 3 == 0)); then
			printf '{"jsonrpc":"2.0","id":%d,"method":"task.get","params":{"task_id":"nope-%d"}}\n' "$i" "$i"
		elif ((i % 3 == 1)); then
			printf '{"jsonrpc":"2.0","id":%d,"method":"daemon.status"}\n' "$i"
		else
			printf '{"jsonrpc":"2.0","id":%d,"method":"intent.submit","params":{"intent_type":"t%d"}}\n' "$i" "$i"
		fi
	done)
	out=$(printf '%s\n' "$lines" | socat -t 10 - "UNIX-CONNECT:$VX11_SOCKET")
	equals "$(count_lines "$out")" 1000
	ids=$(jq -s -c 'map(.id)' <<<"$out")
	equals "$ids" "$(seq 1000 | jq -s -c .)"
	# Each reply is the one for its request.
	all=$(jq -s -c . <<<"$out")
	check "$all" 'map(select(.id % 3 == 0 and .error.code != -32002)) | length == 0'
	check "$all" 'map(select(.id % 3 == 1 and (.result.pid | type) != "number")) | length == 0'
	check "$all" 'map(select(.id % 3 == 2 and .result.status != "DONE")) | length == 0'
	check "$(result audit.list '{"limit":1000}')" '.count == 333'
	still_healthy
}

@test "200 clients at once: every one answered" {
	mkdir "$T/many"
	pids=()
	for i in $(seq 200); do
		(
			_bg_close_fds
			# Each client holds its connection for a second, so all 200 overlap.
			{
				printf '{"jsonrpc":"2.0","id":%d,"method":"intent.submit","params":{"intent_type":"c%d"}}\n' "$i" "$i"
				sleep 1
			} |
				socat -t 10 - "UNIX-CONNECT:$VX11_SOCKET" >"$T/many/$i" 2>&1
		) &
		pids+=($!)
	done
	failed=0
	for p in "${pids[@]}"; do
		wait "$p" || failed=$((failed + 1))
	done
	equals "$failed" 0
	# One jq over all the answers: file name (the client) and its reply line.
	all=$(awk '{ n = FILENAME; sub(".*/", "", n); print n "\t" $0 }' "$T"/many/* |
		jq -R -s -c 'split("\n") | map(select(length > 0) | split("\t") | {client: (.[0] | tonumber), reply: (.[1] | fromjson)})')
	check "$all" 'length == 200 and (map(.client) | sort) == [range(1; 201)]'
	check "$all" 'all(.reply.id == .client and .reply.result.status == "DONE")'
	check "$(result audit.list '{"limit":1000}')" '.count == 200'
	still_healthy
}

@test "unknown params and ill-typed params: -32602 naming the field" {
	reply=$(call task.list '{"colour":"red"}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("colour")'

	reply=$(call task.list '{"limit":"ten"}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("limit")'

	reply=$(call task.list '{"limit":0}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("limit")'

	reply=$(call task.list '{"limit":1001}')
	check_error "$reply" -32602 vx11.InvalidParams 1

	reply=$(call intent.submit '{"intent_type":"x","require":{"spawner":"yes"}}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("require\\.spawner")'

	reply=$(call intent.submit '{"intent_type":"x","require":{"spawnr":true}}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("spawnr")'

	reply=$(call intent.submit '{"intent_type":"x","payload":[1]}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("payload")'

	reply=$(call intent.submit '{"intent_type":""}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("intent_type")'

	reply=$(call intent.submit '{"intent_type":"x","ttl_seconds":1.5}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("ttl_seconds")'

	reply=$(call intent.submit '{"intent_type":"x","max_retries":-1}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("max_retries")'

	reply=$(call result.get '{"correlation_id":"x","wait_seconds":"soon"}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("wait_seconds")'

	reply=$(call daemon.status '{"verbose":true}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("verbose")'

	reply=$(call task.list '{"status":["pending",3]}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check "$reply" '.error.message | test("status")'

	# Nothing was created by any of them.
	check "$(result task.list)" '.count == 0'
	still_healthy
}

@test "deeply nested JSON is refused without harm" {
	deep=$(printf '%.0s[' $(seq 5000))$(printf '%.0s]' $(seq 5000))
	out=$(rpc "$deep" "$(req daemon.status '' 2)")
	equals "$(count_lines "$out")" 2
	check "$(sed -n 1p <<<"$out")" '.id == null and (.error.code == -32700 or .error.code == -32600)'
	check "$(sed -n 2p <<<"$out")" '.id == 2'
	still_healthy
}

@test "after the whole battery the daemon still reports correct counts" {
	rpc 'garbage' '[]' '{"jsonrpc":"2.0","id":{},"method":"x"}' >/dev/null
	head -c 2000000 /dev/zero | socat -s -t 5 - "UNIX-CONNECT:$VX11_SOCKET" >/dev/null 2>&1 || true
	rpc_raw '{"jsonrpc":"2.0","id":1' >/dev/null
	submit_queued noop >/dev/null
	submit_queued echo >/dev/null
	reply=$(call daemon.status)
	check "$reply" '.result.counts.pending == 2 and .result.queue_depth == 2 and .result.pid == $p' --argjson p "$DAEMON_PID"
}

@test "a batch whose replies would pass the output limit is refused past the budget, not cut off" {
	stop_daemon
	policy_file '.limits.max_output_bytes = 65536'
	start_daemon
	submit_many 200 >/dev/null
	# 50 pages of 20 tasks each would be 350 KB of replies.
	batch=$(for i in $(seq 1 50); do req task.list '{"limit":20}' "$i"; done | jq -s -c .)
	reply=$(rpc "$batch")
	check "$reply" 'length == 50'
	check "$reply" '.[0].result.count == 20'
	check "$reply" '.[49].error.code == -32004 and .[49].error.data.name == "vx11.Busy"'
	# The connection was answered, and the daemon still serves everyone.
	check "$(result daemon.status)" '.counts.pending == 200'
}

@test "a client that leaves while parked in result.get frees its connection" {
	env=$(submit_queued noop)
	cid=$(jq -r .correlation_id <<<"$env")
	for i in 1 2 3; do
		conn_open "w$i"
		conn_send "w$i" "$(req result.get "{\"correlation_id\":\"$cid\",\"wait_seconds\":3600}")"
	done
	sleep 0.3
	check "$(result daemon.status)" '.connections == 4'
	for i in 1 2 3; do conn_kill "w$i"; done
	for i in $(seq 1 50); do
		[ "$(result daemon.status | jq .connections)" = 1 ] && break
		sleep 0.1
	done
	check "$(result daemon.status)" '.connections == 1'
}

# Restart the daemon with the test policy changed by a jq filter.
restart_with() {
	stop_daemon
	policy_file "$1"
	start_daemon
}

@test "a slowloris is told and cut off after limits.line_timeout_seconds; others are served meanwhile" {
	restart_with '.limits.line_timeout_seconds = 1'
	conn_open slow
	printf '%s' '{"jsonrpc":"2.0","id":1,"meth' >&"$(_conn_var slow FD)"
	# Others are served while it dawdles.
	check "$(call daemon.status)" '.result.pid > 0'
	conn_wait slow 1 40
	check_error "$(conn_lines slow)" -32600 vx11.LineTimeout null
	grep -q 'limits.line_timeout_seconds' "$T/slow.out"
	# ... and its connection is closed: socat sees EOF and exits (after its -t 5).
	wait_exit "$(_conn_var slow PID)" 80
	# A line that keeps arriving, but too slowly, is cut off the same way.
	conn_open drip
	for _ in 1 2 3; do
		printf '%s' '{"a' >&"$(_conn_var drip FD)"
		sleep 0.5
	done
	conn_wait drip 1 40
	check_error "$(conn_lines drip)" -32600 vx11.LineTimeout null
	still_healthy
}

@test "an idle connection is closed after limits.idle_timeout_seconds; a subscriber or a busy one is not" {
	restart_with '.limits.idle_timeout_seconds = 1'
	conn_open idle
	conn_open sub
	conn_send sub "$(req events.subscribe '{}' 1)"
	conn_wait sub 1
	# The idle one goes within a second or two (socat then lingers its -t 5);
	# the subscriber stays.
	wait_exit "$(_conn_var idle PID)" 80
	sleep 1.5
	alive "$(_conn_var sub PID)"
	# A connection that keeps talking is never idle.
	conn_open talk
	for i in 1 2 3 4; do
		conn_send talk "$(req daemon.status '' "$i")"
		sleep 0.5
	done
	conn_wait talk 4
	alive "$(_conn_var talk PID)"
	# With the default (3600 s), nothing is closed this soon.
	restart_with '.'
	conn_open calm
	sleep 2
	alive "$(_conn_var calm PID)"
	check "$(call daemon.status)" '.result.connections >= 2'
}

@test "unfinished lines share one budget: past it the largest holder is cut first, the others go on" {
	restart_with '.limits.max_pending_line_bytes = 65536'
	conn_open big
	conn_open small
	# 50 KB unfinished on one connection: within the 64 KiB budget.
	printf '{"jsonrpc":"2.0","id":1,"method":"daemon.status","params":{"x":"%s' "$(head -c 50000 /dev/zero | tr '\0' b)" \
		>&"$(_conn_var big FD)"
	sleep 0.5
	check "$(call daemon.status)" '.result.pid > 0'
	# 20 KB more on another: over the budget. The largest holder goes, not
	# the one that pushed the total over.
	printf '{"jsonrpc":"2.0","id":1,"method":"daemon.status","params":{"x":"%s' "$(head -c 20000 /dev/zero | tr '\0' a)" \
		>&"$(_conn_var small FD)"
	conn_wait big 1 40
	check_error "$(conn_lines big)" -32004 vx11.Busy null
	grep -q 'limits.max_pending_line_bytes' "$T/big.out"
	wait_exit "$(_conn_var big PID)" 80
	# The smaller one finishes its line and is answered.
	printf '"}}\n' >&"$(_conn_var small FD)"
	conn_wait small 1 40
	# (daemon.status takes no x: an answer, not a cut)
	check_error "$(conn_lines small)" -32602 vx11.InvalidParams 1
	still_healthy
}

@test "admins keep reserved connections when others hold every slot" {
	require_root
	restart_with '.limits.max_connections = 3 | .limits.max_connections_per_uid = 3 | .limits.admin_reserved_connections = 2'
	local i
	for i in 1 2 3; do
		conn_open "flood$i" as_submitter_nobody
		conn_send "flood$i" "$(req daemon.status '' 1)"
		conn_wait "flood$i" 1
	done
	# A fourth submitter is refused, saying why ...
	out=$(as_submitter_nobody socat -t 2 - "UNIX-CONNECT:$VX11_SOCKET" </dev/null)
	check_error "$out" -32004 vx11.Busy null
	grep -q 'limits.max_connections' <<<"$out"
	# ... but root (an admin) gets in twice, with status and cancel working.
	conn_open admin1
	conn_open admin2
	# admin2 answered first: both are accepted when admin1 asks for the count.
	conn_send admin2 "$(req task.cancel '{"task_id":"nope"}' 2)"
	conn_wait admin2 1
	conn_send admin1 "$(req daemon.status '' 1)"
	conn_wait admin1 1
	check "$(conn_lines admin1)" '.result.connections == 5'
	check_error "$(conn_lines admin2)" -32002 vx11.NotFound 2
	# Past the reserve, admins are refused too.
	out=$(socat -t 2 - "UNIX-CONNECT:$VX11_SOCKET" </dev/null)
	check_error "$out" -32004 vx11.Busy null
	grep -q 'admin_reserved_connections' <<<"$out"
}

@test "a client whose writes keep ending mid-line is not cut off: each line's clock starts with its first byte" {
	restart_with '.limits.line_timeout_seconds = 1'
	conn_open stream
	local fd i
	fd=$(_conn_var stream FD)
	# 30 requests over ~3 s, every write ending part-way into the next line.
	printf '{"jsonrpc":"2.0","id":0,' >&"$fd"
	for i in $(seq 1 30); do
		printf '"method":"daemon.status"}\n{"jsonrpc":"2.0","id":%d,' "$i" >&"$fd"
		sleep 0.1
	done
	printf '"method":"daemon.status"}\n' >&"$fd"
	conn_wait stream 31 60
	! grep -q LineTimeout "$T/stream.out"
	alive "$(_conn_var stream PID)"
}

@test "a client that stops reading its replies loses its slot after limits.idle_timeout_seconds" {
	restart_with '.limits.idle_timeout_seconds = 1 | .limits.max_output_bytes = 1048576'
	# socat that never reads: requests go in, nothing is read back, and
	# the replies (a few hundred KB) pile up in the daemon's buffer.
	(
		_bg_close_fds
		yes '{"jsonrpc":"2.0","id":1,"method":"daemon.status"}' | head -n 3000
		sleep 30
	) | socat -u - "UNIX-CONNECT:$VX11_SOCKET" 2>/dev/null &
	local writer=$!
	for _ in $(seq 50); do
		[[ $(call daemon.status | jq .result.connections) -ge 2 ]] && break
		sleep 0.1
	done
	# Within the idle timeout (and some margin) its connection is gone.
	for _ in $(seq 60); do
		[[ $(call daemon.status | jq .result.connections) -le 1 ]] && break
		sleep 0.1
	done
	check "$(call daemon.status)" '.result.connections <= 1'
	grep -q 'not reading its replies' "$T/vx11d.log"
	kill "$writer" 2>/dev/null || true
	pkill -P "$writer" 2>/dev/null || true
	wait "$writer" 2>/dev/null || true
}
