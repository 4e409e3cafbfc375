#!/usr/bin/env bats
# What a new user reaches for first, through the real daemon and vx11ctl:
# payload.ttl (the seed's spelling of ttl_seconds), the bundled "analysis"
# task type, spawn --name and --wait, the task types one may submit
# (daemon.status task_types, vx11ctl types) and ad-hoc commands (vx11ctl run,
# task types with "command": "caller").

load helpers

setup() {
	vx11_setup
	[[ -x $VX11CTL ]] || skip "vx11ctl is not built ($VX11CTL)"
}

teardown() {
	vx11_teardown
}

ctl() {
	"$VX11CTL" "$@"
}

# ---------------------------------------------------------------------------
# payload.ttl

@test "payload.ttl sets the task's TTL like ttl_seconds, with its bounds and errors" {
	policy_file '.tasks.sleepy = {"command": ["/bin/sleep", "30"], "max_retries": 0}'
	start_daemon

	# The policy's TTL is 30 s; payload.ttl 1 makes the attempt expire.
	run -5 ctl submit sleepy --spawner --payload '{"ttl": 1}' --wait --timeout 60
	[[ $output == *"status: EXPIRED"* ]]
	# Both spellings, the same value: fine, and the same effect.
	run -5 ctl submit sleepy --spawner --payload '{"ttl": 1}' --ttl 1 --wait --timeout 60

	# Both, different: refused, saying which, and nothing is queued.
	before=$(result task.list '{}' | jq '.count')
	reply=$(call intent.submit '{"intent_type":"sleepy","require":{"spawner":true},"payload":{"ttl":5},"ttl_seconds":6}')
	check_error "$reply" -32602 vx11.InvalidParams
	check "$reply" '.error.message | test("payload.ttl \\(5\\) and ttl_seconds \\(6\\) differ")'
	# The bounds and the type of ttl_seconds.
	for bad in 0 -3 2592001; do
		reply=$(call intent.submit "{\"intent_type\":\"sleepy\",\"require\":{\"spawner\":true},\"payload\":{\"ttl\":$bad}}")
		check_error "$reply" -32602 vx11.InvalidParams
		check "$reply" '.error.message == "invalid params: payload.ttl: must be between 1 and 2592000"'
	done
	reply=$(call intent.submit '{"intent_type":"sleepy","require":{"spawner":true},"payload":{"ttl":"10"}}')
	check_error "$reply" -32602 vx11.InvalidParams
	check "$reply" '.error.message | test("payload.ttl: expected an integer")'
	reply=$(call intent.submit '{"intent_type":"x","ttl_seconds":0}')
	check "$reply" '.error.message == "invalid params: ttl_seconds: must be between 1 and 2592000"'
	check "$(result task.list '{}')" '.count == $n' --argjson n "$before"
}

# ---------------------------------------------------------------------------
# spawn --name, --wait

@test "spawn --name names the daughter, a bad name is refused, and the default is the program's" {
	start_daemon
	run -0 ctl spawn --name backup-db.v2 /bin/true
	task=$(awk '/^task_id:/ { print $2 }' <<<"$output")
	# The daughter row and the listing carry the name, not "daughter.spawn".
	check "$(result task.get "{\"task_id\":\"$task\"}")" '.daughters[0].name == "backup-db.v2"'
	run -0 ctl daughters
	[[ $output == *backup-db.v2* ]]

	# Without --name: the program's file name, made a valid name.
	cp /bin/true "$T/odd name!"
	chmod 0755 "$T/odd name!"
	run -0 ctl spawn "$T/odd name!"
	task=$(awk '/^task_id:/ { print $2 }' <<<"$output")
	check "$(result task.get "{\"task_id\":\"$task\"}")" '.daughters[0].name == "odd_name_"'

	# Blanks, control characters, too long: -32602 saying what a name is.
	for bad in "two words" $'line\nbreak' "$(printf 'x%.0s' {1..65})" ""; do
		run -1 --separate-stderr ctl spawn --name "$bad" /bin/true
		[[ $stderr == *"name: "* ]]
	done
	reply=$(call daughter.spawn '{"name":"a b","cmd":["/bin/true"]}')
	check_error "$reply" -32602 vx11.InvalidParams
	check "$reply" '.error.message | test("invalid params: name: expected 1 to 64 of A-Z a-z 0-9 _ \\. \\+ @ : -")'
	# Nothing was made for them: two spawns, two tasks.
	check "$(result task.list '{}')" '.count == 2'
}

@test "spawn --wait follows the task to its end: output, result and exit status" {
	start_daemon
	run -0 ctl spawn --wait --name greeter /bin/sh -c 'echo hello from $0' greeter
	[[ $output == *"task_id: "* ]]
	[[ $output == *"status: DONE"* ]]
	[[ $output == *"hello from greeter"* ]]
	# A failure is exit 4, as for submit --wait; a timeout 7.
	run -4 ctl spawn --wait /bin/sh -c 'exit 3'
	[[ $output == *"status: ERROR"* && $output == *"exit_code: 3"* ]]
	run -7 ctl spawn --wait --timeout 1 /bin/sleep 20
	# --json: the reply, then the result, both JSON.
	run -0 ctl --json spawn --wait /bin/echo json
	check "$(jq -s -c . <<<"$output")" 'length == 2 and .[0].status == "spawning" and .[1].status == "DONE"
		and (.[1].result.output_tail | test("json"))'
	run -2 --separate-stderr ctl spawn --timeout 3 /bin/true
	[[ $stderr == *"--timeout goes with --wait"* ]]
}

# ---------------------------------------------------------------------------
# The task types one may submit: daemon.status task_types, vx11ctl types

@test "daemon.status task_types: the types the caller may submit, with TTL, bounds, retries and limits" {
	require_root
	getent group adm >/dev/null || skip "no group adm"
	policy_file '.tasks.echo += {"ttl_seconds": 45, "max_ttl_seconds": 120, "max_retries": 2,
		"limits": {"memory_max": "256M", "pids_max": 64, "cpu_max": "50%"}, "network": false}
		| .tasks.staff = {"command": ["/bin/true"], "groups": ["adm"]}'
	start_daemon

	# root (an admin) sees every type, sorted by name.
	types=$(result daemon.status | jq -c .task_types)
	check "$types" '[.[].name] == ["echo", "fails", "noop", "staff"]'
	check "$types" '.[0] | .ttl_seconds == 45 and .max_ttl_seconds == 120 and .max_retries == 2
		and .limits.memory_max == 268435456 and .limits.pids_max == 64 and .limits.cpu_max == 50
		and .limits.nofile == null and .network == false and .user == "dynamic" and .seccomp == "default"
		and .heartbeat_seconds == 0 and .backoff.base_seconds == 1 and .mutations == 0'
	# Without a bound of its own, a type takes the protocol's: 30 days.
	check "$types" '.[2] | .name == "noop" and .max_ttl_seconds == 2592000 and .limits.memory_max == null'

	# A plain submitter does not see the type of a group it is not in.
	install -m 0755 "$VX11CTL" "$T/vx11ctl"
	run -0 as_submitter_nobody "$T/vx11ctl" --json types
	check "$output" '[.[].name] == ["echo", "fails", "noop"]'

	# vx11ctl types: the table; status names them.
	run -0 ctl types
	[[ ${lines[0]} =~ ^NAME\ +COMMAND\ +TTL\ +MAX_TTL\ +RETRIES\ +MEMORY\ +PIDS\ +CPU\ +NETWORK\ +USER$ ]]
	[[ ${lines[1]} =~ ^echo\ +fixed\ +45s\ +120s\ +2\ +256M\ +64\ +50%\ +loopback\ +dynamic$ ]]
	[[ ${lines[3]} =~ ^noop\ +fixed\ +30s\ +2592000s\ +1\ +-\ +-\ +-\ +host\ +dynamic$ ]]
	run -0 ctl status
	[[ $output == *"task_types: echo, fails, noop, staff (see 'vx11ctl types')"* ]]
}

@test "max_ttl_seconds bounds the TTL a caller asks for (ttl_seconds and payload.ttl), not the policy's" {
	policy_file '.tasks.echo += {"ttl_seconds": 200, "max_ttl_seconds": 60}'
	start_daemon
	reply=$(call intent.submit '{"intent_type":"echo","require":{"spawner":true},"ttl_seconds":61}')
	check_error "$reply" -32602 vx11.InvalidParams
	check "$reply" '.error.message == "invalid params: ttl_seconds: 61 seconds is more than task type echo allows (max_ttl_seconds 60; see '"'vx11ctl types'"')"'
	reply=$(call intent.submit '{"intent_type":"echo","require":{"spawner":true},"payload":{"ttl":90}}')
	check "$reply" '.error.message | startswith("invalid params: payload.ttl: 90 seconds is more than task type echo allows")'
	# Refused, so nothing queued; the refusal is in the audit log.
	check "$(result task.list '{}')" '.count == 0'
	check "$(result audit.list '{}')" '[.entries[] | select(.error == "invalid_params")] | length == 2'
	# Up to the bound, and without asking (the policy's 200 s), it is queued.
	check "$(submit '{"intent_type":"echo","require":{"spawner":true},"ttl_seconds":60}')" '.status == "QUEUED"'
	check "$(submit '{"intent_type":"echo","require":{"spawner":true}}')" '.status == "QUEUED"'
	jq -c '.tasks.echo.max_ttl_seconds = 0' "$T/policy.json" >"$T/bad.json"
	run -1 "$VX11D" --check-policy --policy "$T/bad.json"
	[[ $output == *"tasks.echo.max_ttl_seconds"* ]]
}

# ---------------------------------------------------------------------------
# Ad-hoc commands: "command": "caller" task types and vx11ctl run

caller_policy() {
	policy_file '.tasks.run = {"command": "caller", "network": false, "max_retries": 0,
		"limits": {"memory_max": "256M", "pids_max": 64}}
		| .tasks.other = {"command": "caller", "max_retries": 0}'
}

@test "run --wait runs the command confined as the type says and prints its output and result" {
	caller_policy
	start_daemon
	run -0 ctl run --wait -- /bin/echo hello world
	[[ ${lines[0]} =~ \ \ QUEUED\ \ SPAWNER\ \ spawner$ ]]
	[[ $output == *"status: DONE"* && $output == *"hello world"* ]]
	# A name without '/' is looked up in the client's PATH.
	run -0 ctl run --wait echo from PATH
	[[ $output == *"from PATH"* ]]
	tid=$(awk '/^task / { print $2 }' <<<"$output")
	check "$(result task.get "{\"task_id\":\"$tid\"}")" '.task.task_type == "run" and .task.command.argv == [$echo,"from","PATH"]' \
		--arg echo "$(type -P echo)"

	# Confined like any daughter: a dynamic uid, not the caller's (root), the
	# type's limits and its loopback-only network.
	run -0 ctl --json run --wait -- /bin/sh -c 'id -u'
	res=$(jq -s -c '.[1]' <<<"$output")
	uid=$(jq -r '.result.output_tail' <<<"$res")
	((uid != 0))
	tid=$(jq -r '.result.task_id' <<<"$res")
	check "$(result task.get "{\"task_id\":\"$tid\"}")" '.daughters[0].attempts[0].confinement
		| .uid == $uid and .user == "dynamic" and .limits == {"memory_max":268435456,"pids_max":64}
		and .namespaces.net == "shared" and .seccomp.profile == "default" and .no_new_privs' --argjson uid "$uid"

	# Failures: exit 4 with the exit code, as for submit --wait.
	run -4 ctl run --wait -- /bin/sh -c 'echo oops >&2; exit 7'
	[[ $output == *"exit_code: 7"* ]]
	# Without --wait: the envelope, and the task runs anyway.
	run -0 ctl run --type other -- /bin/true
	[[ ${lines[1]} == "task "*" queued" ]]
}

@test "run --cwd and --env are honoured; the daemon's own variables cannot be overridden" {
	caller_policy
	start_daemon
	mkdir -m 0755 "$T/work"
	cd "$T"
	run -0 ctl run --wait --cwd work --env FOO=bar --env 'SPACED=a b' -- /bin/sh -c 'pwd; echo "$FOO|$SPACED|$VX11_TASK_ID"'
	tid=$(awk '/^task / { print $2 }' <<<"$output")
	[[ $output == *"$T/work"* ]]
	[[ $output == *"bar|a b|$tid"* ]]
	check "$(result task.get "{\"task_id\":\"$tid\"}")" '.task.command == {"argv":["/bin/sh","-c","pwd; echo \"$FOO|$SPACED|$VX11_TASK_ID\""],"cwd":$cwd,"env":{"FOO":"bar","SPACED":"a b"}}' --arg cwd "$T/work"

	# Without --cwd it starts in /.
	run -0 ctl --json run --wait -- /bin/pwd
	check "$(jq -s -c '.[1]' <<<"$output")" '.result.output_tail == "/\n"'
	# A directory its uid cannot enter: the attempt fails, saying so.
	mkdir -m 0700 "$T/private"
	run -4 ctl run --wait --cwd "$T/private" -- /bin/true
	tid=$(awk '/^task / { print $2 }' <<<"$output")
	check "$(result task.get "{\"task_id\":\"$tid\"}")" '.daughters[0].attempts[0].error_message | test("chdir")'

	# Reserved and malformed names, relative paths: -32602 saying what to do, nothing queued.
	for env in '{"VX11_TASK_ID":"x"}' '{"NOTIFY_SOCKET":"/x"}' '{"1A":"x"}' '{"A B":"x"}' '{"A":1}'; do
		reply=$(call intent.submit "{\"intent_type\":\"run\",\"require\":{\"spawner\":true},\"argv\":[\"/bin/true\"],\"env\":$env}")
		check_error "$reply" -32602 vx11.InvalidParams
		check "$reply" '.error.message | startswith("invalid params: env")'
	done
	reply=$(call intent.submit '{"intent_type":"run","require":{"spawner":true},"argv":["/bin/true"],"cwd":"tmp"}')
	check "$reply" '.error.message | startswith("invalid params: cwd: expected an absolute path")'
	reply=$(call intent.submit '{"intent_type":"run","require":{"spawner":true},"argv":["true"]}')
	check "$reply" '.error.message | startswith("invalid params: argv[0]: must be an absolute path")'
	reply=$(call intent.submit '{"intent_type":"run","require":{"spawner":true},"argv":[]}')
	check "$reply" '.error.message | startswith("invalid params: argv: expected an array of 1 to 255 strings")'
	reply=$(call intent.submit '{"intent_type":"run","require":{"spawner":true},"cwd":"/"}')
	check "$reply" '.error.message == "invalid params: cwd: goes with argv (the caller'"'"'s command)"'
	reply=$(call intent.submit '{"intent_type":"run","argv":["/bin/true"]}')
	check "$reply" '.error.message | test("give require.spawner true")'
	run -2 --separate-stderr ctl run --env NOEQUALS -- /bin/true
	[[ $stderr == *"--env wants NAME=VALUE"* ]]
	run -2 --separate-stderr ctl run -- no-such-command-vx11
	[[ $stderr == *"is not in PATH"* ]]
	check "$(result task.list '{}')" '.count == 3'
}

@test "argv only for a \"caller\" type, and a \"caller\" type only with argv" {
	caller_policy
	start_daemon
	reply=$(call intent.submit '{"intent_type":"echo","require":{"spawner":true},"argv":["/bin/id"]}')
	check_error "$reply" -32602 vx11.InvalidParams
	check "$reply" '.error.message | test("task type echo runs the policy.s command, not the caller.s")'
	run -1 --separate-stderr ctl run --type echo -- /bin/id
	[[ $stderr == *"task type echo runs the policy's command"* ]]
	reply=$(call intent.submit '{"intent_type":"run","require":{"spawner":true}}')
	check_error "$reply" -32602 vx11.InvalidParams
	check "$reply" '.error.message | test("task type run runs the caller.s command: give argv")'
	run -1 --separate-stderr ctl submit run --spawner
	check "$(result task.list '{}')" '.count == 0'
	# The task types list says which is which.
	check "$(result daemon.status | jq -c .task_types)" '[.[] | select(.command == "caller") | .name] == ["other", "run"]'
	run -0 ctl types
	[[ $output =~ $'\n'run\ +caller\  ]]
	[[ $output =~ $'\n'echo\ +fixed\  ]]
}

@test "a caller's argv is audited: audit.list, task.get, the journal entry, refusals too; rerun runs it again" {
	caller_policy
	start_daemon
	run -0 ctl run --wait --env A=1 -- /bin/echo audited arg
	tid=$(awk '/^task / { print $2 }' <<<"$output")
	cid=$(awk 'NR == 1 { print $1 }' <<<"$output")
	entries=$(result audit.list '{}' | jq -c .entries)
	check "$entries" '.[] | select(.correlation_id == $c) | .command == {"argv":["/bin/echo","audited","arg"],"env":{"A":"1"}}' --arg c "$cid"
	grep "intent $cid (run) from uid 0: QUEUED" "$T/vx11d.log" | grep -qF 'VX11_COMMAND={"argv":["/bin/echo","audited","arg"],"env":{"A":"1"}}'
	# A refused one keeps its command too.
	call intent.submit '{"intent_type":"echo","require":{"spawner":true},"argv":["/bin/refused"]}' >/dev/null
	check "$(result audit.list '{"order":"desc","limit":1}')" '.entries[0] | .error == "invalid_params" and .command.argv == ["/bin/refused"]'
	grep "refused: invalid_params" "$T/vx11d.log" | grep -qF 'VX11_COMMAND={"argv":["/bin/refused"]}'
	# An idempotency key stands for the command line too.
	first=$(submit '{"intent_type":"run","require":{"spawner":true},"argv":["/bin/true"],"idempotency_key":"k1"}')
	again=$(submit '{"intent_type":"run","require":{"spawner":true},"argv":["/bin/true"],"idempotency_key":"k1"}')
	equals "$(jq -r .correlation_id <<<"$again")" "$(jq -r .correlation_id <<<"$first")"
	reply=$(call intent.submit '{"intent_type":"run","require":{"spawner":true},"argv":["/bin/false"],"idempotency_key":"k1"}')
	check_error "$reply" -32003 vx11.Conflict
	# vx11ctl rerun: the same command line again.
	run -0 ctl rerun "$tid" --wait
	[[ $output == *"audited arg"* ]]
}

@test "no \"run\" type in the policy: vx11ctl run says what to do" {
	start_daemon
	run -1 --separate-stderr ctl run -- /bin/true
	[[ $output == *'error: unknown_task: no task type "run" in the policy'* ]]
	[[ $stderr == *'the policy has no task type "run": give --type'* ]]
}

@test "a queued caller task keeps its command across a restart" {
	caller_policy
	VX11_POLICY_PREFIX='.limits.max_running = 0' policy_file '.tasks.run = {"command": "caller"}'
	start_daemon
	run -0 ctl run --cwd / --env K=v -- /bin/sh -c 'echo "$K" in $(pwd)'
	tid=$(awk '/^task / { print $2 }' <<<"$output")
	stop_daemon
	jq '.limits.max_running = 2' "$T/policy.json" >"$T/p2.json" && mv "$T/p2.json" "$T/policy.json"
	start_daemon
	run -0 ctl wait "$tid" --timeout 60
	check "$(result task.get "{\"task_id\":\"$tid\"}")" '.task.status == "completed"'
	run -0 ctl logs "$tid"
	[[ $output == "v in /" ]]
}

# ---------------------------------------------------------------------------
# The bundled "analysis" task type

# The bundled policy, its analysis type running the program as built here
# (the bundled one names where `make install` puts it).
bundled_policy_built_analysis() {
	vx11_tmpdir
	jq --arg a "$VX11_BUILDDIR/tasks/analysis" '.tasks.analysis.command = [$a] | .limits.max_running = 2' \
		"$VX11_SRCDIR/policy/default.json" >"$T/policy.json"
}

@test "the bundled policy has the seed's analysis type (built into vx11d: test-policy checks that copy)" {
	run -0 "$VX11D" --check-policy --policy "$VX11_SRCDIR/policy/default.json"
	check "$(jq -c .tasks.analysis "$VX11_SRCDIR/policy/default.json")" \
		'.command == ["/usr/libexec/vx11/analysis"] and .user == "dynamic" and .network == false and .ttl_seconds == 60'
	# What a submitter sees of it.
	bundled_policy_built_analysis
	start_daemon
	run -0 ctl types
	[[ $output =~ $'\n'analysis\ +fixed\ +60s\ +2592000s\ +3\ +256M\ +64\ +-\ +loopback\ +dynamic ]]
}

@test "analysis reads its intent (plan absent or null) and writes a summary as its result" {
	# Its stdin carries "plan": null and "degraded": false when no switch planned it.
	bundled_policy_built_analysis
	start_daemon
	run -0 ctl submit analysis --spawner --text "summarise the auth logs of last night" \
		--payload '{"host":"web1","since":"1h"}' --wait
	[[ $output == *"status: DONE"* ]]
	cid=$(awk 'NR == 1 { print $1 }' <<<"$output")
	res=$(result result.get "{\"correlation_id\":\"$cid\"}")
	# On stdout (output_tail), and as its report through daughter.report.
	summary=$(jq -r '.result.output_tail' <<<"$res")
	check "$summary" '.summary == "analysis: 7 words of text, 2 payload keys, no plan" and .words == 7
		and .payload_keys == ["host","since"] and .planned == false and .degraded == false and .attempt == 1'
	check "$res" '.result.report == ($s | fromjson)' --arg s "$summary"
	tid=$(jq -r .result.task_id <<<"$res")
	check "$(result task.get "{\"task_id\":\"$tid\"}")" '.daughters[0].attempts[0] | .reported_status == "done"
		and .confinement.user == "dynamic" and .confinement.namespaces.net == "shared"'

	# A plan, as the switch's planning gives one (null, or degraded), is read too.
	printf '%s\n' '{"task_id":"t","task_type":"analysis","text":"x","payload":null,"attempt":2,"plan":null}' |
		"$VX11_BUILDDIR/tasks/analysis" >"$T/out"
	check "$(cat "$T/out")" '.planned == false and .words == 1 and .payload_keys == []'
	printf '%s\n' '{"task_type":"analysis","plan":{"steps":["a"]},"degraded":true}' | "$VX11_BUILDDIR/tasks/analysis" >"$T/out"
	check "$(cat "$T/out")" '.summary == "analysis: 0 words of text, 0 payload keys, planned locally (degraded: the switch was not available)"
		and .planned == true and .degraded == true'
	# Not an intent: exit 1, saying so.
	run -1 "$VX11_BUILDDIR/tasks/analysis" <<<'nonsense'
	[[ $output == *"not a JSON object"* ]]
}

@test "a \"caller\" type with a filesystem allow-list runs only programs under its exec paths" {
	caller_policy
	policy_file '.tasks.run = {"command": "caller", "max_retries": 0,
		"filesystem": {"exec": ["/usr", "/bin", "/lib", "/lib64"], "read": ["/etc"]}}'
	start_daemon
	run -0 ctl run --wait -- /bin/cat /etc/hostname
	[[ $output == *"status: DONE"* ]] || {
		tid=$(awk '/^task / { print $2 }' <<<"$output")
		check "$(result task.get "{\"task_id\":\"$tid\"}")" '.daughters[0].attempts[0].error_message | test("Landlock")'
		skip "this kernel has no Landlock (the strict task type was refused, as it should be)"
	}
	# A program outside them: its exec is denied, however the caller names it.
	mkdir -m 0755 "$T/bin"
	cp /bin/true "$T/bin/mytrue"
	chmod 0755 "$T/bin/mytrue"
	run -4 ctl run --wait -- "$T/bin/mytrue"
	tid=$(awk '/^task / { print $2 }' <<<"$output")
	check "$(result task.get "{\"task_id\":\"$tid\"}")" '.daughters[0].attempts[0] | .reason == "spawn_failed"
		and (.error_message | test("execve|Permission denied"))'
}

@test "\"user\": \"caller\" runs the daughter as its submitter (confined all the same), never as root" {
	require_root
	policy_file '.tasks.mine = {"command": "caller", "user": "caller", "max_retries": 0, "limits": {"pids_max": 32}}
		| .tasks.theirs = {"command": "caller", "max_retries": 0}'
	start_daemon
	install -m 0755 "$VX11CTL" "$T/vx11ctl"
	run -0 as_submitter_nobody "$T/vx11ctl" --json run --type mine --wait -- /bin/sh -c 'id -u; id -g'
	res=$(jq -s -c '.[1]' <<<"$output")
	check "$res" '.status == "DONE" and .result.output_tail == "65534\n65534\n"'
	tid=$(jq -r .result.task_id <<<"$res")
	check "$(result task.get "{\"task_id\":\"$tid\"}")" '.daughters[0].attempts[0].confinement
		| .uid == 65534 and .gid == 65534 and .user == "caller" and .limits.pids_max == 32 and .no_new_privs
		and .capabilities == [] and .seccomp.profile == "default"'
	# Any other type: a uid of its own, not the submitter's.
	run -0 as_submitter_nobody "$T/vx11ctl" --json run --type theirs --wait -- /bin/id -u
	check "$(jq -s -c '.[1]' <<<"$output")" '.status == "DONE" and .result.output_tail != "65534\n"'
	# Root's intent for it is refused, and audited.
	reply=$(call intent.submit '{"intent_type":"mine","require":{"spawner":true},"argv":["/bin/id"]}')
	check_error "$reply" -32001 vx11.PermissionDenied
	check "$reply" '.error.message | test("runs as its caller, and daughters never run as root")'
	check "$(result daemon.status | jq -c .task_types)" '.[] | select(.name == "mine") | .user == "caller"'
}
