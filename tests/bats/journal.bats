#!/usr/bin/env bats
# The journal: the catalog (units/vx11.catalog) explains every MESSAGE_ID of
# common/log.h, `journalctl -x` shows it for a real entry, and every event kind
# (intents, task states, how daughters end, recovery after a crash) is an
# entry with its MESSAGE_ID, a fitting PRIORITY and the VX11_* fields of
# lifecycle.md, telling the same story as vx11ctl.
#
# Each test that needs a journal runs a systemd-journald of its own in a mount
# namespace where directories of the test stand in for the host's
# /run/systemd, /run/log, /var/log/journal and /var/lib/systemd/catalog (see
# journald_start), and runs vx11d in that namespace: it does not matter whether
# the host runs a journald, nothing of the host's journal or catalog is read or
# written, and suites running beside this one cannot see its entries or it
# theirs. The entries are read from outside with `journalctl --root`.

load helpers

JOURNALD_PID=
JR=

# The message ids of common/log.h, by the name after VX11_MSG_.
declare -gA ID
while read -r name id; do
	ID[$name]=$id
done < <(sed -nE 's/^#define VX11_MSG_([A-Z_]+) "([0-9a-f]{32})".*/\1 \2/p' "$VX11_SRCDIR/common/log.h")

setup() {
	vx11_setup
}

teardown() {
	if [[ -z ${BATS_TEST_COMPLETED:-} && -n $JR && -d $JR/run/log/journal ]]; then
		echo "# --- the test's journal ---"
		jctl -o short-precise 2>&1 | tail -n 150 | sed 's/^/# /'
	fi
	# The daemon first, so that it does not log into a journald that is gone.
	if [[ -n $DAEMON_PID ]] && alive "$DAEMON_PID"; then
		stop_daemon 2>/dev/null || true
	fi
	journald_stop
	vx11_teardown
}

# journald_start: start a systemd-journald of the test's own (JOURNALD_PID)
# and make VX11D a wrapper that runs the daemon beside it. Its directories are
# under JR=$T/jroot, laid out like a root file system, and bound in a private
# mount namespace over the host's: $JR/run/systemd (its sockets), $JR/run/log
# (its journal files), $JR/var/log/journal (kept empty: the journal is
# volatile), $JR/var/lib/systemd/catalog (a catalog database built from
# units/vx11.catalog alone) and $JR/journald.conf. Skips when there is no
# journald or no way to give it a namespace.
journald_start() {
	local jd='' c
	command -v journalctl >/dev/null || skip "journalctl is not installed"
	for c in /lib/systemd/systemd-journald /usr/lib/systemd/systemd-journald; do
		[[ -x $c ]] && jd=$c && break
	done
	[[ -n $jd ]] || skip "no systemd-journald to start"
	if ! command -v unshare >/dev/null || ! command -v nsenter >/dev/null; then
		skip "needs unshare and nsenter"
	fi
	[[ -d /run/systemd && -d /run/log ]] || skip "no /run/systemd or /run/log to bind a journal over"
	require_root

	JR=$T/jroot
	mkdir -p "$JR/run/systemd" "$JR/run/log" "$JR/var/log/journal" "$JR/var/lib/systemd/catalog" \
		"$JR/usr/lib/systemd/catalog"
	# Volatile (nothing goes to /var/log/journal), quiet (no kernel messages, no
	# forwarding) and never dropping entries.
	printf '%s\n' '[Journal]' Storage=volatile ReadKMsg=no RateLimitBurst=0 ForwardToSyslog=no ForwardToKMsg=no \
		ForwardToConsole=no ForwardToWall=no >"$JR/journald.conf"
	cp "$VX11_SRCDIR/units/vx11.catalog" "$JR/usr/lib/systemd/catalog/"
	journalctl --root="$JR" --update-catalog
	(
		_bg_close_fds
		# shellcheck disable=SC2016
		exec unshare --mount --propagation private -- /bin/sh -ec '
			mount --bind "$1/run/systemd" /run/systemd
			mount --bind "$1/run/log" /run/log
			if [ -d /var/log/journal ]; then mount --bind "$1/var/log/journal" /var/log/journal; fi
			if [ -d /var/lib/systemd/catalog ]; then mount --bind "$1/var/lib/systemd/catalog" /var/lib/systemd/catalog; fi
			if [ -f /etc/systemd/journald.conf ]; then mount --bind "$1/journald.conf" /etc/systemd/journald.conf; fi
			exec "$2"' sh "$JR" "$jd"
	) >"$T/journald.log" 2>&1 </dev/null &
	JOURNALD_PID=$!
	if ! wait_for 100 test -S "$JR/run/systemd/journal/socket"; then
		cat "$T/journald.log" >&2
		return 1
	fi

	# nsenter execs the daemon: DAEMON_PID stays the daemon's pid.
	cat >"$T/vx11d-journal" <<EOF
#!/bin/sh
exec nsenter --target $JOURNALD_PID --mount -- '$VX11D' "\$@"
EOF
	chmod 0755 "$T/vx11d-journal"
	VX11D=$T/vx11d-journal
}

journald_stop() {
	[[ -n $JOURNALD_PID ]] || return 0
	kill "$JOURNALD_PID" 2>/dev/null || true
	if ! wait_exit "$JOURNALD_PID" 50 2>/dev/null; then
		kill -9 "$JOURNALD_PID" 2>/dev/null || true
		wait "$JOURNALD_PID" 2>/dev/null || true
	fi
	JOURNALD_PID=
}

# jctl ARGS...: journalctl on the test's journal, from outside.
jctl() {
	journalctl --root="$JR" --no-pager "$@"
}

# jctl_ns ARGS...: journalctl in the journald's namespace, where the catalog
# database is the test's.
jctl_ns() {
	nsenter --target "$JOURNALD_PID" --mount -- journalctl --no-pager "$@"
}

# jwait N MATCH...: wait (bounded, 10 s) until at least N entries match, then
# print every matching entry as one JSON array, oldest first.
jwait() {
	local n=$1 i out=
	shift
	for ((i = 0; i <= 100; i++)); do
		out=$(jctl -o json "$@" 2>/dev/null) || true
		if (($(count_lines "$out") >= n)); then
			jq -sc . <<<"$out"
			return 0
		fi
		sleep 0.1
	done
	echo "journal: $(count_lines "$out") of $n entries match $* after 10 s:" >&2
	echo "$out" >&2
	return 1
}

# The entry of ENTRIES (a JSON array) with message id NAME (VX11_MSG_NAME),
# the Nth of them (default the only one: there must be exactly one).
jentry() {
	local entries=$1 name=$2 n=${3:-}
	if [[ -z $n ]]; then
		check "$entries" '[.[] | select(.MESSAGE_ID == $id)] | length == 1' --arg id "${ID[$name]}" || return 1
		n=0
	fi
	jq -c --arg id "${ID[$name]}" --argjson n "$n" '[.[] | select(.MESSAGE_ID == $id)][$n]' <<<"$entries"
}

# The MESSAGE_IDs of ENTRIES by their VX11_MSG_ names, space-separated.
jnames() {
	local id name names=
	for id in $(jq -r '.[].MESSAGE_ID' <<<"$1"); do
		for name in "${!ID[@]}"; do
			[[ ${ID[$name]} == "$id" ]] && names+="$name " && continue 2
		done
		names+="?$id "
	done
	echo "${names% }"
}

# check_task_entry ENTRY TASK_GET_JSON [DAUGHTER_INDEX]: an entry of that task
# with every field of lifecycle.md that applies: its task id, its intent's
# correlation id, source, the owner's uid and type, and the daughter's id.
check_task_entry() {
	local e=$1 t=$2 d=${3:-}
	check "$e" '.VX11_TASK_ID == $t.task.id and .VX11_CORRELATION_ID == $t.task.intent_id
		and .VX11_SOURCE == $t.task.source and .VX11_UID == ($t.task.uid | tostring)
		and .VX11_INTENT_TYPE == $t.task.task_type and (.MESSAGE_ID | test("^[0-9a-f]{32}$"))
		and (.PRIORITY | test("^[0-7]$")) and (.MESSAGE | length > 0)' --argjson t "$t" || return 1
	if [[ -n $d ]]; then
		check "$e" '.VX11_DAUGHTER_ID == $t.daughters[$d].id' --argjson t "$t" --argjson d "$d" || return 1
	fi
}

# check_prio ENTRY LEVELS: its PRIORITY is one of LEVELS (syslog numbers, e.g. "3 4").
check_prio() {
	local p
	p=$(jq -r .PRIORITY <<<"$1")
	if [[ " $2 " != *" $p "* ]]; then
		echo "PRIORITY $p is not one of $2 in $1" >&2
		return 1
	fi
}

@test "the catalog has one valid entry per VX11_MSG_* id of log.h; journalctl builds and lists it" {
	command -v journalctl >/dev/null || skip "journalctl is not installed"
	cat=$VX11_SRCDIR/units/vx11.catalog
	log_ids=$(sed -nE 's/^#define VX11_MSG_[A-Z_]+ "([0-9a-f]{32})".*/\1/p' "$VX11_SRCDIR/common/log.h" | sort)
	# log.h itself: 22 distinct ids, as vx11d(8) lists them.
	equals "$(count_lines "$log_ids")" 22
	equals "$(sort -u <<<"$log_ids" | wc -l)" 22
	equals "${#ID[@]}" 22

	cat_ids=$(sed -nE 's/^-- ([0-9a-f]{32})$/\1/p' "$cat" | sort)
	# Each id once, and exactly the ids of log.h.
	equals "$(sort -u <<<"$cat_ids" | wc -l)" "$(count_lines "$cat_ids")"
	equals "$cat_ids" "$log_ids"
	# No header line that journalctl would not take for one ("-- " with something else).
	run -0 grep -c '^--' "$cat"
	equals "$output" 22

	# Every entry: Subject, Defined-By: vx11d, Support, Documentation naming
	# vx11d(8), then a body of some substance.
	awk '
		function done() {
			if (id == "") return
			if (!subject || definedby != "vx11d" || !support || doc !~ /man:vx11d\(8\)/ || body < 3) {
				printf "entry %s: subject=%d defined-by=%s support=%d documentation=%s body lines=%d\n",
					id, subject, definedby, support, doc, body > "/dev/stderr"
				bad = 1
			}
		}
		/^-- / { done(); id = $2; subject = support = body = 0; definedby = doc = ""; head = 1; next }
		id == "" { next }
		head && /^$/ { head = 0; next }
		head && /^Subject: ./ { subject = 1; next }
		head && /^Defined-By: / { definedby = substr($0, 13); next }
		head && /^Support: ./ { support = 1; next }
		head && /^Documentation: / { doc = substr($0, 16); next }
		head { print "entry " id ": unexpected header line: " $0 > "/dev/stderr"; bad = 1; next }
		/./ { body++ }
		END { done(); exit bad }' "$cat"

	# journalctl builds the database from it under a root of our own (the
	# host's database stays as it was) and lists every id as vx11d's.
	host_db=/var/lib/systemd/catalog/database
	before=$(stat -c '%Y %s %i' "$host_db" 2>/dev/null || echo none)
	root=$T/root
	mkdir -p "$root/usr/lib/systemd/catalog"
	cp "$cat" "$root/usr/lib/systemd/catalog/vx11.catalog"
	run -0 journalctl --root="$root" --update-catalog
	[[ -s $root/var/lib/systemd/catalog/database ]]
	equals "$(stat -c '%Y %s %i' "$host_db" 2>/dev/null || echo none)" "$before"
	run -0 journalctl --root="$root" --list-catalog
	listed=$output
	equals "$(awk '{ print $1 }' <<<"$listed" | sort)" "$log_ids"
	# "ID vx11d: Subject" for each.
	while read -r id; do
		subject=$(awk -v id="$id" '$0 == "-- " id { getline; sub(/^Subject: /, ""); print; exit }' "$cat")
		grep -qxF "$id vx11d: $subject" <<<"$listed"
	done <<<"$log_ids"
	run -0 journalctl --root="$root" --dump-catalog "${ID[DAUGHTER_OOM]}"
	[[ $output == *"Subject: A daughter ran out of memory"* && $output == *"memory_max"* ]]
}

@test "journalctl -x explains real entries of vx11d with the catalog" {
	# journalctl -x reads the catalog database at its fixed path only (--root
	# does not move it), hence the test's own bound over it in the namespace.
	[[ -d /var/lib/systemd/catalog ]] || skip "no /var/lib/systemd/catalog to bind the test's catalog database over"
	journald_start
	policy_file '.tasks.flop = {command: ["/bin/false"], max_retries: 0}'
	start_daemon --log-target journal
	tid=$(submit_task flop)
	refused=$(submit '{"intent_type":"hello","require":{"switch":true}}' | jq -r .correlation_id)
	wait_status "$tid" failed >/dev/null
	jwait 1 "MESSAGE_ID=${ID[TASK_FAILED]}" "VX11_TASK_ID=$tid" >/dev/null
	jwait 1 "VX11_CORRELATION_ID=$refused" >/dev/null

	# In the journald's namespace the catalog database is the one built from
	# units/vx11.catalog: -x adds the entry's explanation under it.
	run -0 jctl_ns -x "MESSAGE_ID=${ID[TASK_FAILED]}" "VX11_TASK_ID=$tid"
	[[ $output == *"task $tid ended"* ]]
	grep -Eq '^(░░|--) Subject: A task failed$' <<<"$output"
	grep -Eq '^(░░|--) Defined-By: vx11d$' <<<"$output"
	grep -Eq '^(░░|--) Documentation: man:vx11d\(8\)' <<<"$output"
	grep -q 'no retries are left' <<<"$output"

	run -0 jctl_ns -x "VX11_CORRELATION_ID=$refused"
	grep -Eq '^(░░|--) Subject: An intent was refused$' <<<"$output"
	grep -q 'VX11_ERROR says why' <<<"$output"

	# The daughter's end has its own explanation, next to its task's.
	run -0 jctl_ns -x "VX11_TASK_ID=$tid"
	grep -Eq '^(░░|--) Subject: A daughter ended$' <<<"$output"
	grep -Eq '^(░░|--) Subject: A task started an attempt$' <<<"$output"
	grep -Eq '^(░░|--) Subject: An intent was received and its task queued$' <<<"$output"
}

@test "a task retried once, then failed: the journal, vx11ctl audit, task and watch tell the same story" {
	journald_start
	policy_file '.tasks.flaky = {command: ["/bin/sh", "-c", "exit 3"], max_retries: 1,
		backoff: {base_seconds: 0.1, max_seconds: 0.1}}'
	start_daemon --log-target journal
	# Every event from before the submission on.
	(
		_bg_close_fds
		exec "$VX11CTL" --json watch
	) >"$T/watch.out" 2>"$T/watch.err" </dev/null &
	watch=$!
	wait_for 50 grep -q 'watching' "$T/watch.err"

	run -0 "$VX11CTL" --json submit flaky --spawner --source madre
	env=$output
	cid=$(jq -r .correlation_id <<<"$env")
	tid=$(jq -r .response.task_id <<<"$env")
	wait_status "$tid" failed >/dev/null
	wait_for 50 grep -q '"type":"task.status".*"status":"failed"' "$T/watch.out"
	kill "$watch"
	wait "$watch" || true

	run -0 "$VX11CTL" --json task "$tid"
	t=$output
	run -0 "$VX11CTL" --json audit --limit 1000
	audit=$(jq -c --arg c "$cid" '[.entries[] | select(.correlation_id == $c)]' <<<"$output")
	check "$audit" 'length == 1'
	audit=$(jq -c '.[0]' <<<"$audit")
	events=$(jq -sc --arg id "$tid" '[.[] | select(.task_id == $id)]' "$T/watch.out")
	check "$t" '.task.status == "failed" and .task.intent_id == $c and (.daughters | length) == 2' --arg c "$cid"

	j=$(jwait 7 "VX11_TASK_ID=$tid")
	# The whole story, in order: queued, started, ended, retrying, started, ended, failed.
	equals "$(jnames "$j")" "TASK_QUEUED TASK_STARTED DAUGHTER_ENDED TASK_RETRYING TASK_STARTED DAUGHTER_ENDED TASK_FAILED"
	# Every entry carries the ids (and the same ones as the daemon's records).
	for i in $(seq 0 6); do
		check_task_entry "$(jq -c ".[$i]" <<<"$j")" "$t"
	done
	check "$j" 'all(.VX11_SOURCE == "madre" and .VX11_UID == "0" and .VX11_INTENT_TYPE == "flaky")'
	# Looked up by the correlation id instead: the same entries.
	equals "$(jwait 7 "VX11_CORRELATION_ID=$cid" | jq -c '[.[].__CURSOR]')" "$(jq -c '[.[].__CURSOR]' <<<"$j")"

	# The intent: the audit log's row (vx11ctl audit) and the queued entry agree.
	check "$(jentry "$j" TASK_QUEUED)" '.VX11_CORRELATION_ID == $a.correlation_id and .VX11_UID == ($a.uid | tostring)
		and .VX11_SOURCE == $a.source and .VX11_INTENT_TYPE == $a.intent_type and .VX11_STATUS == $a.status
		and $a.status == "QUEUED" and (has("VX11_DAUGHTER_ID") | not)' --argjson a "$audit"

	# The task's states: the journal's and the task.status events' (vx11ctl
	# watch), queued being the task's creation as "pending".
	jstates=$(jq -c --arg q "${ID[TASK_QUEUED]}" --arg s "${ID[TASK_STARTED]}" --arg r "${ID[TASK_RETRYING]}" \
		--arg f "${ID[TASK_FAILED]}" '[.[] | select(.MESSAGE_ID == ($q, $s, $r, $f))
			| [if .MESSAGE_ID == $q then "pending" else .VX11_STATUS end, .VX11_CORRELATION_ID]]' <<<"$j")
	equals "$(jq -c '[.[][0]]' <<<"$jstates")" '["pending","running","retrying","running","failed"]'
	equals "$(jq -c '[.[] | select(.type == "task.status") | [.status, .correlation_id]]' <<<"$events")" "$jstates"

	# The daughters: started and ended, with the ids and reasons of vx11ctl
	# task and of the daughter.status events.
	jd=$(jq -c --arg s "${ID[TASK_STARTED]}" --arg e "${ID[DAUGHTER_ENDED]}" \
		'[.[] | select(.MESSAGE_ID == ($s, $e)) | [.VX11_DAUGHTER_ID, if .MESSAGE_ID == $s then "running" else .VX11_STATUS end]]' <<<"$j")
	equals "$jd" "$(jq -c '[.daughters[] | [.id, "running"], [.id, .attempts[0].reason]]' <<<"$t")"
	equals "$(jq -c '[.[] | select(.type == "daughter.status") | [.daughter_id, if .status == "running" then "running" else .reason end]]' <<<"$events")" "$jd"
	check "$t" 'all(.daughters[]; .attempts[0].reason == "exited" and .attempts[0].exit_code == 3)'
	# The retry follows the first daughter's end, the failure the second's.
	check_task_entry "$(jentry "$j" TASK_RETRYING)" "$t" 0
	check_task_entry "$(jentry "$j" TASK_FAILED)" "$t" 1
	check "$(jentry "$j" DAUGHTER_ENDED 0)" '.VX11_ERROR | test("exited with status 3")'

	# Priorities: the normal course info or notice; a failed attempt and the failure warning or worse.
	for name in TASK_QUEUED TASK_RETRYING; do
		check_prio "$(jentry "$j" "$name")" "5 6"
	done
	for i in 0 1; do
		check_prio "$(jentry "$j" TASK_STARTED "$i")" "5 6"
		check_prio "$(jentry "$j" DAUGHTER_ENDED "$i")" "3 4"
	done
	check_prio "$(jentry "$j" TASK_FAILED)" "3 4"
}

@test "intents handled, refused and queued; started, completed; cancelled pending and running; reload; start and stop" {
	journald_start
	policy_file '.limits.max_running = 1
		| .tasks.block = {command: ["/bin/sleep", "100"], max_retries: 0}'
	start_daemon --log-target journal
	started=$(jwait 1 "MESSAGE_ID=${ID[DAEMON_STARTED]}")
	check_prio "$(jq -c '.[0]' <<<"$started")" "5 6"

	# Handled by the daemon itself.
	hello=$(submit '{"intent_type":"hello","text":"hi","source":"operator"}')
	check "$hello" '.status == "DONE"'
	e=$(jwait 1 "VX11_CORRELATION_ID=$(jq -r .correlation_id <<<"$hello")" | jq -c '.[0]')
	check "$e" '.MESSAGE_ID == $id and .VX11_SOURCE == "operator" and .VX11_UID == "0" and .VX11_INTENT_TYPE == "hello"
		and .VX11_STATUS == "DONE" and (has("VX11_TASK_ID") | not)' --arg id "${ID[INTENT_ACCEPTED]}"
	check_prio "$e" "5 6"

	# Refused: why, and who asked.
	refused=$(submit '{"intent_type":"nosuch","require":{"spawner":true},"source":"madre"}')
	check "$refused" '.status == "ERROR"'
	e=$(jwait 1 "VX11_CORRELATION_ID=$(jq -r .correlation_id <<<"$refused")" | jq -c '.[0]')
	check "$e" '.MESSAGE_ID == $id and .VX11_SOURCE == "madre" and .VX11_UID == "0" and .VX11_INTENT_TYPE == "nosuch"
		and .VX11_STATUS == "ERROR" and (.VX11_ERROR | length > 0) and (has("VX11_TASK_ID") | not)' \
		--arg id "${ID[INTENT_REFUSED]}"
	check_prio "$e" "4 5"

	# One slot: block runs, noop waits; cancel noop while pending, then block while running.
	block=$(submit_task block)
	wait_running "$block" >/dev/null
	noop=$(submit_task noop)
	result task.cancel "$(jq -cn --arg id "$noop" '{task_id:$id}')" >/dev/null
	result task.cancel "$(jq -cn --arg id "$block" '{task_id:$id}')" >/dev/null
	wait_task "$block" '.task.status == "cancelled" and .daughters[0].ended_at != null' >/dev/null
	# The slot is free: this one starts and completes.
	ok=$(submit_task noop)
	tok=$(wait_status "$ok" completed)

	t=$(task_get "$noop")
	j=$(jwait 2 "VX11_TASK_ID=$noop")
	equals "$(jnames "$j")" "TASK_QUEUED TASK_CANCELLED"
	e=$(jentry "$j" TASK_CANCELLED)
	check_task_entry "$e" "$t"
	check "$e" '.VX11_STATUS == "cancelled" and (has("VX11_DAUGHTER_ID") | not)'
	check_prio "$e" "5 6"

	t=$(task_get "$block")
	j=$(jwait 4 "VX11_TASK_ID=$block")
	equals "$(jnames "$j")" "TASK_QUEUED TASK_STARTED TASK_CANCELLED DAUGHTER_ENDED"
	check_task_entry "$(jentry "$j" TASK_CANCELLED)" "$t"
	check_task_entry "$(jentry "$j" TASK_STARTED)" "$t" 0
	e=$(jentry "$j" DAUGHTER_ENDED)
	# The daughter killed by the cancel.
	check_task_entry "$e" "$t" 0
	check "$e" '.VX11_STATUS == "cancelled" and .VX11_STATUS == $t.daughters[0].attempts[0].reason' --argjson t "$t"

	j=$(jwait 4 "VX11_TASK_ID=$ok")
	equals "$(jnames "$j")" "TASK_QUEUED TASK_STARTED DAUGHTER_ENDED TASK_COMPLETED"
	for name in TASK_QUEUED TASK_STARTED DAUGHTER_ENDED TASK_COMPLETED; do
		e=$(jentry "$j" "$name")
		check_task_entry "$e" "$tok"
		check_prio "$e" "5 6"
	done
	check_task_entry "$(jentry "$j" TASK_COMPLETED)" "$tok" 0
	check "$(jentry "$j" DAUGHTER_ENDED)" '.VX11_STATUS == "exited" and (has("VX11_ERROR") | not)'
	check "$(jentry "$j" TASK_COMPLETED)" '.VX11_STATUS == "completed"'

	# A reload: accepted, then refused (an unknown key); each says so.
	policy_file '.limits.max_running = 2'
	run -0 "$VX11CTL" reload
	policy_file '.nosuchkey = 1'
	run -1 "$VX11CTL" reload
	e=$(jwait 1 "MESSAGE_ID=${ID[POLICY_LOADED]}" | jq -c '.[0]')
	check_prio "$e" "5 6"
	e=$(jwait 1 "MESSAGE_ID=${ID[POLICY_REFUSED]}" | jq -c '.[0]')
	check "$e" '.MESSAGE | test("nosuchkey")'
	check_prio "$e" "3 4"

	stop_daemon
	e=$(jwait 1 "MESSAGE_ID=${ID[DAEMON_STOPPING]}" | jq -c '.[0]')
	check_prio "$e" "5 6"
}

@test "how daughters end: out of memory, seccomp, TTL (task expired), missed heartbeat, spawn failure" {
	journald_start
	# A profile of our own that kills on uname(2) (sandbox.bats, daughters.bats).
	echo '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["uname"],"action":"SCMP_ACT_KILL_PROCESS"}]}' >"$T/kill-uname.json"
	grow=$(daughter_script grow.sh <<'EOF'
#!/bin/sh
x=$(/usr/bin/head -c 200000000 /dev/zero | /usr/bin/tr '\0' a)
echo "${#x}"
EOF
)
	policy_file '.limits.max_running = 5 | .defaults.grace_seconds = 0
		| .tasks.oom = {command: ["'"$grow"'"], max_retries: 0, limits: {memory_max: "32M"}}
		| .tasks.sys = {command: ["/bin/uname"], max_retries: 0, seccomp: "'"$T"'/kill-uname.json"}
		| .tasks.ttl = {command: ["/bin/sleep", "100"], max_retries: 0, ttl_seconds: 1}
		| .tasks.hb = {command: ["/bin/sleep", "100"], max_retries: 0, heartbeat_seconds: 1}
		| .tasks.nosuch = {command: ["/no/such"], max_retries: 0}'
	start_daemon --log-target journal
	declare -A tid
	for k in oom sys ttl hb nosuch; do
		tid[$k]=$(submit_task "$k")
	done

	# kind: the daughter's message id, its reason, the task's end and message id.
	for row in "oom DAUGHTER_OOM oom failed TASK_FAILED" \
		"sys DAUGHTER_SECCOMP seccomp failed TASK_FAILED" \
		"ttl DAUGHTER_TTL ttl_expired expired TASK_EXPIRED" \
		"hb DAUGHTER_HEARTBEAT heartbeat_missed failed TASK_FAILED" \
		"nosuch DAUGHTER_SPAWN_FAILED spawn_failed failed TASK_FAILED"; do
		read -r k dmsg reason status tmsg <<<"$row"
		t=$(wait_status "${tid[$k]}" "$status" 100)
		check "$t" '.daughters[0].attempts[0].reason == $r' --arg r "$reason"
		if [[ $k == nosuch ]]; then
			j=$(jwait 3 "VX11_TASK_ID=${tid[$k]}")
			# It never ran: no start, only its failure.
			equals "$(jnames "$j")" "TASK_QUEUED $dmsg $tmsg"
		else
			j=$(jwait 4 "VX11_TASK_ID=${tid[$k]}")
			equals "$(jnames "$j")" "TASK_QUEUED TASK_STARTED $dmsg $tmsg"
		fi
		e=$(jentry "$j" "$dmsg")
		check_task_entry "$e" "$t" 0
		check "$e" '.VX11_STATUS == $r and (.VX11_ERROR | length > 0)' --arg r "$reason"
		check_prio "$e" "3 4"
		e=$(jentry "$j" "$tmsg")
		check_task_entry "$e" "$t" 0
		check "$e" '.VX11_STATUS == $s' --arg s "$status"
		check_prio "$e" "3 4"
	done
	# The journal can be searched by kind: exactly our one OOM.
	e=$(jwait 1 "MESSAGE_ID=${ID[DAUGHTER_OOM]}")
	check "$e" 'length == 1 and .[0].VX11_TASK_ID == $t' --arg t "${tid[oom]}"
}

@test "recovery: after kill -9 mid-attempt the restarted daemon logs the interrupted attempt, then the retry" {
	journald_start
	policy_file '.tasks.work = {command: ["/bin/sleep", "100"], max_retries: 1,
		backoff: {base_seconds: 0.1, max_seconds: 0.1}, mutations: [{command: ["/bin/true"]}]}'
	start_daemon --log-target journal
	work=$(submit_task work)
	wait_running "$work" >/dev/null
	kill9_daemon
	start_daemon --log-target journal
	t=$(wait_status "$work" completed)
	check "$t" '.daughters[0].attempts[0].reason == "interrupted"'

	j=$(jwait 7 "VX11_TASK_ID=$work")
	equals "$(jnames "$j")" "TASK_QUEUED TASK_STARTED RECOVERED TASK_RETRYING TASK_STARTED DAUGHTER_ENDED TASK_COMPLETED"
	e=$(jentry "$j" RECOVERED)
	check_task_entry "$e" "$t" 0
	check "$e" '.VX11_STATUS == "interrupted"'
	check_prio "$e" "3 4"
	check_task_entry "$(jentry "$j" TASK_RETRYING)" "$t" 0
	check_task_entry "$(jentry "$j" TASK_COMPLETED)" "$t" 1
	# It was found by the second daemon, which says it started after the first.
	check "$(jwait 2 "MESSAGE_ID=${ID[DAEMON_STARTED]}")" 'length == 2 and (.[0]._PID != .[1]._PID)'
	equals "$(jq -r '._PID' <<<"$e")" "$DAEMON_PID"
}
