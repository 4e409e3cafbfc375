#!/usr/bin/env bats
# The policy file: --check-policy, refusing to start on a bad file, and
# reloading (policy.reload and SIGHUP) with the old policy kept on error.

load helpers

setup() {
	vx11_setup
	# These suites look at the queue and the protocol: no task starts
	# unless a test raises max_running (daughters.bats runs them).
	VX11_POLICY_PREFIX='.limits.max_running = 0'
}

teardown() {
	vx11_teardown
}

# check_policy_rejects JQ_FILTER KEY_PATH_REGEX: --check-policy refuses the base
# policy with FILTER applied, exit 1, naming the key path.
check_policy_rejects() {
	policy_file "$1" "$T/bad.json"
	run -1 "$VX11D" --check-policy --policy "$T/bad.json"
	if ! grep -Eq -- "$2" <<<"$output"; then
		echo "expected the message to name '$2': $output" >&2
		return 1
	fi
}

# Submit a spawner intent of TYPE; print its status (QUEUED or ERROR).
submit_status() {
	submit "{\"intent_type\":\"$1\",\"require\":{\"spawner\":true}}" | jq -r .status
}

@test "--check-policy: a good file is valid, exit 0" {
	policy_file
	run -0 "$VX11D" --check-policy --policy "$T/policy.json"
	[[ $output == *valid* ]]
	run -0 "$VX11D" --check-policy --policy "$VX11_SRCDIR/policy/default.json"
}

@test "--check-policy: bad files exit 1 with a message naming the key path" {
	check_policy_rejects '.bogus = 1' 'bogus'
	check_policy_rejects '.limits.max_queued = "lots"' 'limits\.max_queued'
	check_policy_rejects '.limits.max_line_bytes = 10' 'limits\.max_line_bytes'
	check_policy_rejects '.mode = "turbo"' 'mode'
	check_policy_rejects '.tasks.noop.limits = {"memory_max":"lots"}' 'tasks\.noop\.limits\.memory_max'
	check_policy_rejects '.tasks.noop.colour = "red"' 'tasks\.noop\.colour'
	check_policy_rejects '.tasks.broken = {"user":"dynamic"}' 'tasks\.broken'
	check_policy_rejects '.tasks.noop.command = "true"' 'tasks\.noop\.command'
	check_policy_rejects '.sources.web = {"priority":1}' 'sources\.web'
	check_policy_rejects '.defaults.backoff.base_seconds = 600' 'backoff\.base_seconds'
	check_policy_rejects '.tasks.noop.groups = ["no-such-group-vx11t"]' 'tasks\.noop\.groups'
}

@test "--check-policy: not JSON, or no file: exit 1" {
	printf '{"mode": "solo_madre",\n' >"$T/trunc.json"
	run -1 "$VX11D" --check-policy --policy "$T/trunc.json"
	[[ -n $output ]]
	run -1 "$VX11D" --check-policy --policy "$T/does-not-exist.json"
	[[ -n $output ]]
}

@test "the daemon refuses to start with a bad --policy, naming the key path" {
	policy_file '.limits.max_queued = -5'
	launch_daemon
	wait_exit "$DAEMON_PID" 100
	DAEMON_PID=
	[[ $DAEMON_STATUS -ne 0 ]]
	grep -q 'limits\.max_queued' "$T/vx11d.log"
	[[ ! -e $T/vx11.sock ]]
}

@test "policy.reload picks up a new task type" {
	start_daemon
	equals "$(submit_status extra)" ERROR
	policy_file '.tasks.extra = {"command":["/bin/true"]}'
	reply=$(call policy.reload)
	check "$reply" '.id == 1 and (.result | type == "object")'
	equals "$(submit_status extra)" QUEUED
	equals "$(submit_status noop)" QUEUED
}

@test "policy.reload applies new limits" {
	policy_file '.limits.max_running = 0'
	start_daemon
	submit_queued noop >/dev/null
	policy_file '.limits.max_queued = 1 | .limits.max_running = 0'
	result policy.reload >/dev/null
	check_error "$(call intent.submit '{"intent_type":"noop","require":{"spawner":true}}')" -32004 vx11.Busy 1
}

@test "SIGHUP reloads the policy" {
	start_daemon
	equals "$(submit_status extra)" ERROR
	policy_file '.tasks.extra = {"command":["/bin/true"]}'
	kill -HUP "$DAEMON_PID"
	for _ in $(seq 50); do
		[[ $(submit_status extra) == QUEUED ]] && break
		sleep 0.1
	done
	equals "$(submit_status extra)" QUEUED
	alive "$DAEMON_PID"
}

@test "a broken policy.reload keeps the old policy: -32602 vx11.InvalidPolicy naming the key" {
	start_daemon
	policy_file '.tasks.noop.limits = {"memory_max":"lots"} | .tasks.extra = {"command":["/bin/true"]}'
	reply=$(call policy.reload)
	check_error "$reply" -32602 vx11.InvalidPolicy 1
	check "$reply" '.error.message | test("tasks\\.noop\\.limits\\.memory_max")'
	check "$reply" '.error.data.key == "tasks.noop.limits.memory_max" and .error.data.policy == $p' --arg p "$T/policy.json"
	# The client says so, naming the key, and fails.
	run -1 --separate-stderr "$VX11CTL" reload
	[[ $stderr == *"tasks.noop.limits.memory_max"*"vx11.InvalidPolicy"* ]]
	# The old policy: noop still works, the new task type does not exist.
	equals "$(submit_status noop)" QUEUED
	equals "$(submit_status extra)" ERROR
	check "$(result daemon.status)" '.pid == $p' --argjson p "$DAEMON_PID"
}

@test "a broken policy on SIGHUP keeps the old policy and the daemon" {
	start_daemon
	printf '{ not json' >"$T/policy.json"
	before=$(wc -l <"$T/vx11d.log")
	kill -HUP "$DAEMON_PID"
	# The refusal is logged: wait for it.
	for _ in $(seq 50); do
		grep -q 'policy' <(tail -n +$((before + 1)) "$T/vx11d.log") && break
		sleep 0.1
	done
	grep -q 'policy' <(tail -n +$((before + 1)) "$T/vx11d.log")
	alive "$DAEMON_PID"
	equals "$(submit_status noop)" QUEUED
}

@test "a policy file removed before reload: -32602 vx11.InvalidPolicy naming the file, old policy kept" {
	start_daemon
	rm "$T/policy.json"
	reply=$(call policy.reload)
	check_error "$reply" -32602 vx11.InvalidPolicy 1
	check "$reply" '(.error.message | contains($p)) and .error.data.policy == $p and (.error.data | has("key") | not)' \
		--arg p "$T/policy.json"
	equals "$(submit_status noop)" QUEUED
}

# The system file's directory is --with-confdir's; tests/host-state can fake
# both kinds of host only when it lies under /etc (distcheck puts it elsewhere).
confdir_in_etc() {
	[[ $VX11_CONFDIR == /etc/* ]] && [[ $(id -u) -eq 0 ]] && unshare --mount true 2>/dev/null
}

@test "without --policy and no system file: the bundled policy (analysis, echo, noop, sleep)" {
	if confdir_in_etc; then
		VX11D_WRAP="$VX11_SRCDIR/tests/host-state fresh --"
	else
		[[ ! -e $VX11_CONFDIR/policy.json ]] || skip "$VX11_CONFDIR/policy.json exists and cannot be hidden"
	fi
	VX11D_WRAP=$VX11D_WRAP VX11_NO_POLICY_ARG=1 start_daemon
	for t in analysis echo noop sleep; do
		equals "$(submit_status "$t")" QUEUED
	done
	equals "$(submit_status extra)" ERROR
	check "$(result daemon.status)" '.policy_mode == "solo_madre" and .policy == "(bundled)"'
}

@test "without --policy, the system file is used when it exists" {
	confdir_in_etc || skip "the configuration directory $VX11_CONFDIR is not under /etc"
	policy_file '.tasks.marker = {"command": ["/bin/true"]}' "$T/system.json"
	VX11D_WRAP="$VX11_SRCDIR/tests/host-state used --policy $T/system.json --" VX11_NO_POLICY_ARG=1 start_daemon
	equals "$(submit_status marker)" QUEUED
	check "$(result daemon.status)" ".policy == \"$VX11_CONFDIR/policy.json\""
}

@test "max_running 0 holds the queue; a reload that raises it starts the work" {
	policy_file '.limits.max_running = 0'
	start_daemon
	tid=$(submit_queued noop | jq -r .response.task_id)
	sleep 0.3
	check "$(call task.get "{\"task_id\":\"$tid\"}")" '.result.task.status == "pending" and .result.daughters == []'
	policy_file '.limits.max_running = 1'
	result policy.reload >/dev/null
	for _ in $(seq 50); do
		[[ $(call task.get "{\"task_id\":\"$tid\"}" | jq -r .result.task.status) == completed ]] && break
		sleep 0.1
	done
	check "$(call task.get "{\"task_id\":\"$tid\"}")" '.result.task.status == "completed" and .result.daughters[0].attempts[0].reason == "exited"'
}

# ---------------------------------------------------------------------------
# The policy keys the documentation names are the parser's: vx11-policy(5)
# documents each key, vx11d(8) and README.md mention some of them in passing,
# and a reader copies them into a policy. The parser decides (vx11d
# --check-policy), not a list kept here.

# awk functions for the man pages: roff_args(LINE, A) puts the arguments of a
# request line (".BR a "b c" d") into A[1..n] and returns n, with quotes (and
# "" inside them) as roff reads them and \- and \e unescaped.
ROFF_AWK='
function roff_args(line, a,    n, i, c, cur, q, started) {
	n = 0; cur = ""; q = 0; started = 0
	sub(/^\.[A-Za-z]+[ \t]*/, "", line)
	gsub(/\\-/, "-", line); gsub(/\\e/, "\\", line)
	for (i = 1; i <= length(line); i++) {
		c = substr(line, i, 1)
		if (q) {
			if (c == "\"" && substr(line, i + 1, 1) == "\"") { cur = cur "\""; i++ }
			else if (c == "\"") q = 0
			else cur = cur c
		} else if (c == "\"") { q = 1; started = 1 }
		else if (c == " " || c == "\t") { if (started) { a[++n] = cur; cur = ""; started = 0 } }
		else { cur = cur c; started = 1 }
	}
	if (started) a[++n] = cur
	return n
}'

# policy5_keys: the keys vx11-policy(5) documents, one a line as
# "PATH<TAB>TYPE": PATH where the key goes in a policy ("limits.max_queued";
# a task's keys as those of the test policy's task noop, a source's as shub's),
# TYPE the text after the key, such as "(size, 1K to 64M, default 1M)". A key
# is the first word of the line after .TP or .TQ in the sections of keys; the
# keys of a task's "limits" are the ones indented (.RS) below it; an object's
# keys given in a sentence ("An object with base_seconds ... and max_seconds")
# are the bold words of the line that follows.
policy5_keys() {
	awk "$ROFF_AWK"'
	/^\.SH / {
		s = $0; sub(/^\.SH +/, "", s); gsub(/"/, "", s)
		place = s == "TOP-LEVEL KEYS" ? "" : s == "DAEMON LIMITS" ? "limits." : s == "SOURCES" ? "sources.shub." : \
			s == "DEFAULTS" ? "defaults." : s == "TASKS" ? "tasks.noop." : s == "SWITCH" ? "switch." : "-"
		outer = place; want = 0; objwith = ""; key = ""
		next
	}
	place == "-" { next }
	/^\.T[PQ]$/ { want = 1; next }
	want && /^\.BR? / {
		n = roff_args($0, a)
		type = ""
		for (i = 2; i <= n; i++) type = type a[i]
		key = a[1]
		print place key "\t" type
		want = 0; objwith = ""
		next
	}
	/^An object with$/ { objwith = place key "."; next }
	objwith != "" && /^\.BR / {
		n = roff_args($0, a)
		for (i = 1; i <= n; i += 2) print objwith a[i] "\t" a[i + 1]
		objwith = ""
		next
	}
	/^\.RS/ && place == "tasks.noop." && key == "limits" { place = "tasks.noop.limits."; next }
	/^\.RE/ { place = outer; next }
	' "$VX11_SRCDIR/man/vx11-policy.5"
}

# doc_value TYPE: a valid value, as JSON, for a key documented with TYPE: its
# default where that is a value, else the low end of its range, else an
# ordinary value of its kind. Fails on a kind it does not know.
doc_value() {
	local t=$1 kind='' def='' low=''
	[[ $t =~ ^\ *\((integer|size|percentage|boolean|string|object|groups|array\ of\ strings|array\ of\ names|array\ of\ objects)[,\)] ]] &&
		kind=${BASH_REMATCH[1]}
	[[ $t =~ default\ ([^,\)]+) ]] && def=${BASH_REMATCH[1]}
	[[ $t =~ ([0-9]+[KMGT%]?)\ to\  ]] && low=${BASH_REMATCH[1]}
	[[ $t =~ at\ least\ ([0-9]+[KMGT]?) ]] && low=${BASH_REMATCH[1]}
	case $kind in
	integer)
		if [[ $def =~ ^[0-9]+$ ]]; then echo "$def"; elif [[ -n $low ]]; then echo "$low"; else echo 1; fi ;;
	size)
		if [[ $def =~ ^[0-9]+[KMGT]?$ ]]; then echo "\"$def\""; elif [[ -n $low ]]; then echo "\"$low\""; else echo '"1M"'; fi ;;
	percentage) echo "\"${low:-50%}\"" ;;
	boolean) if [[ $def == true || $def == false ]]; then echo "$def"; else echo true; fi ;;
	string) [[ -n $def ]] && jq -cn --arg s "$def" '$s' ;;
	object) if [[ $t =~ default\ (\{.*\}) ]]; then jq -c . <<<"${BASH_REMATCH[1]}"; else echo '{}'; fi ;;
	groups | 'array of objects' | 'array of names') echo '[]' ;;
	'array of strings') echo '["/bin/true"]' ;;
	'')
		# An object of keys documented on their own ("limits"), or a key whose
		# type the sentence around it gives ("base_seconds (default 1)").
		if [[ $def =~ ^[0-9]+$ ]]; then echo "$def"; elif [[ -z $t ]]; then echo '{}'; else return 1; fi ;;
	esac
}

# set_filter PATH VALUE_JSON: the jq filter that sets PATH ("a.b.c") to VALUE.
set_filter() {
	echo "setpath($(jq -cn --arg p "$1" '$p | split(".")'); $2)"
}

# Key-like names a man page sets in bold (the arguments of .B, .BR, .RB, .BI
# and .IB set in bold, and \fB...\f spans): lower-case words holding a "_",
# dotted paths too ("limits.max_running"), one a line.
bold_names() {
	awk "$ROFF_AWK"'
	/^\.(B|BR|RB|BI|IB) / {
		r = $0; sub(/ .*/, "", r)
		n = roff_args($0, a)
		first = r == ".RB" || r == ".IB" ? 2 : 1
		step = r == ".B" ? 1 : 2
		for (i = first; i <= n; i += step) print a[i]
	}
	{
		s = $0
		while (match(s, /\\fB[^\\]*\\f/)) { print substr(s, RSTART + 3, RLENGTH - 5); s = substr(s, RSTART + RLENGTH) }
	}' "$1" | grep -E '^[a-z][a-z0-9]*([._][a-z0-9]+)+$' | grep _ | sort -u
}

# The same of README.md: its code spans that are such a name and nothing else.
readme_names() {
	grep -oE '`[^`]+`' "$VX11_SRCDIR/README.md" | tr -d '`' | grep -E '^[a-z][a-z0-9]*([._][a-z0-9]+)+$' | grep _ | sort -u
}

# What those pages set in bold or as code, looks like a key, and is none:
# attempt reasons, fields of results and of daemon.status, functions.
NOT_POLICY_KEYS=" spawn_failed ttl_expired heartbeat_missed dependency_failed output_tail stderr_tail status_text cgroup.job_root
	sd_notify sd_listen_fds fallback_local oom_score_adj do_seccomp spawn_daughter
	default_provider default_route intent_type plan_id task_type task_types tokens_used_cli tokens_used_local
	vx11_switch_degraded_total vx11_switch_plans_total vx11_switch_subtasks_total
	attempts_running daughters_status off_by_policy solo_madre result_status tasks_status tasks_uid runtime_dir
	private_ipc epoll_wait json_tokener_parse_ex json_object_put json_add_new intent_envelope intent_record
	rpc_make_result rpc_parse_line rpc_validate_request synchronous_commit full_page_writes application_name
	connect_timeout direct_spawns idempotency_key pidfd_open spawn_zygote_syscalls store.last_error zygote_spawns zygote_starts
	store.lease_seconds lease_until lease_fenced nodes_adopted swept_by fleet.queue_depth wait_seconds "
# (the third line: keys of vx11-switch's own configuration and of its plans, in the README's switch section;
# then metric names, index names, an error, a mode, daemon.status's runtime_dir, the sandbox's IPC
# namespace step; the last lines: functions the README's profiles name, PostgreSQL settings,
# daemon.status's fleet fields)

# parser_knows NAME: true when the parser takes NAME (a key, or a dotted path
# of keys) somewhere in a policy: at the top, in limits, a source, defaults,
# a backoff, a task or its limits. A null value is wrong for every key, so the
# answer is about the name: "unknown key", or any other complaint.
parser_knows() {
	local place
	for place in "" limits. sources.shub. defaults. defaults.backoff. tasks.noop. tasks.noop.limits. tasks.noop.backoff.; do
		policy_file "$(set_filter "$place$1" null)" "$T/probe.json"
		"$VX11D" --check-policy --policy "$T/probe.json" 2>&1 | grep -q 'unknown key' || return 0
	done
	return 1
}

@test "every key vx11-policy(5) documents is the parser's, with a value of its documented type; misspelt, an unknown key" {
	local path type value bad=() n=0
	while IFS=$'\t' read -r path type; do
		n=$((n + 1))
		if ! value=$(doc_value "$type") || [[ -z $value ]]; then
			bad+=("$path: no value for the documented type '$type'")
			continue
		fi
		policy_file "$(set_filter "$path" "$value")" "$T/key.json"
		run "$VX11D" --check-policy --policy "$T/key.json"
		((status == 0)) || bad+=("$path = $value (documented as '$type'): $output")
		# One letter too many is refused, naming the key.
		policy_file "$(set_filter "${path}x" "$value")" "$T/key.json"
		run "$VX11D" --check-policy --policy "$T/key.json"
		((status == 1)) && [[ $output == *"${path}x: unknown key"* ]] || bad+=("${path}x is not refused as an unknown key: $output")
	done < <(policy5_keys)
	# The page's layout is what this reads: it must have found them all.
	((n >= 40)) || bad+=("only $n keys found in vx11-policy.5")
	if ((${#bad[@]} > 0)); then
		printf '%s\n' "${bad[@]}" >&2
		return 1
	fi
}

@test "the policy keys vx11d(8) and README.md name are the parser's (RLIMIT_CPU is cpu, not cpu_seconds)" {
	local name leaf documented bad=() n=0
	documented=" $(policy5_keys | cut -f1 | sed 's/.*\.//' | sort -u | tr '\n' ' ') "
	while read -r where name; do
		[[ $NOT_POLICY_KEYS == *[[:space:]]"$name"[[:space:]]* ]] && continue
		n=$((n + 1))
		if ! parser_knows "$name"; then
			bad+=("$where names \"$name\": the parser knows no such key (if it is not meant as one, add it to NOT_POLICY_KEYS)")
			continue
		fi
		leaf=${name##*.}
		[[ $documented == *" $leaf "* ]] || bad+=("$where names \"$name\": a key of the parser that vx11-policy(5) does not document")
	done < <(bold_names "$VX11_SRCDIR/man/vx11d.8" | sed 's/^/vx11d.8 /'; readme_names | sed 's/^/README.md /')
	((n >= 10)) || bad+=("only $n key names found in vx11d.8 and README.md")
	if ((${#bad[@]} > 0)); then
		printf '%s\n' "${bad[@]}" >&2
		return 1
	fi
}

@test "network takes true, false or \"none\"; hide_processes a boolean; anything else is refused with the key path" {
	policy_file '.tasks.noop.network = "none" | .tasks.noop.hide_processes = true' "$T/ok.json"
	run "$VX11D" --check-policy --policy "$T/ok.json"
	((status == 0))
	policy_file '.tasks.noop.network = "host"' "$T/bad.json"
	run "$VX11D" --check-policy --policy "$T/bad.json"
	((status == 1))
	[[ $output == *'tasks.noop.network: expected true, false or "none"'* ]]
	policy_file '.tasks.noop.mutations = [{network: 1}]' "$T/bad.json"
	run "$VX11D" --check-policy --policy "$T/bad.json"
	((status == 1))
	[[ $output == *'tasks.noop.mutations[0].network: expected true, false or "none"'* ]]
	policy_file '.tasks.noop.hide_processes = "yes"' "$T/bad.json"
	run "$VX11D" --check-policy --policy "$T/bad.json"
	((status == 1))
	[[ $output == *'tasks.noop.hide_processes'* ]]
}

@test "filesystem takes read, write and exec lists of absolute paths; anything else is refused with the key path" {
	policy_file '.tasks.noop.filesystem = {read: ["/etc"], write: [], exec: ["/usr"]}' "$T/ok.json"
	run "$VX11D" --check-policy --policy "$T/ok.json"
	((status == 0))
	policy_file '.tasks.noop.filesystem = {read: ["etc"]}' "$T/bad.json"
	run "$VX11D" --check-policy --policy "$T/bad.json"
	[[ $status -eq 1 && $output == *'tasks.noop.filesystem.read[0]: expected an absolute path'* ]]
	policy_file '.tasks.noop.filesystem = {append: ["/tmp"]}' "$T/bad.json"
	run "$VX11D" --check-policy --policy "$T/bad.json"
	[[ $status -eq 1 && $output == *'tasks.noop.filesystem.append: unknown key'* ]]
	policy_file '.tasks.noop.filesystem = ["/tmp"]' "$T/bad.json"
	run "$VX11D" --check-policy --policy "$T/bad.json"
	[[ $status -eq 1 && $output == *'tasks.noop.filesystem: expected an object'* ]]
}

@test "tcp takes bind and connect lists of up to 16 ports; scope abstract_unix_socket and signal; anything else is refused" {
	policy_file '.tasks.noop.tcp = {bind: [8080], connect: [443, 5432]} | .tasks.noop.scope = ["abstract_unix_socket", "signal"]' "$T/ok.json"
	run "$VX11D" --check-policy --policy "$T/ok.json"
	((status == 0))
	policy_file '.tasks.noop.tcp = {bind: [0]}' "$T/bad.json"
	run "$VX11D" --check-policy --policy "$T/bad.json"
	[[ $status -eq 1 && $output == *'tasks.noop.tcp.bind[0]'* ]]
	policy_file '.tasks.noop.tcp = {connect: [range(17) + 1]}' "$T/bad.json"
	run "$VX11D" --check-policy --policy "$T/bad.json"
	[[ $status -eq 1 && $output == *'tasks.noop.tcp.connect: expected an array of at most 16 TCP ports'* ]]
	policy_file '.tasks.noop.scope = ["signals"]' "$T/bad.json"
	run "$VX11D" --check-policy --policy "$T/bad.json"
	[[ $status -eq 1 && $output == *'tasks.noop.scope[0]: expected "abstract_unix_socket" or "signal"'* ]]
}
