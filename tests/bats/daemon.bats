#!/usr/bin/env bats
# vx11d as a process: command line, signals, its socket file, socket
# activation, and logging to the journal.

load helpers

JOURNALD_PID=
JOURNAL_CREATED=()

setup() {
	vx11_setup
	# These suites look at the queue and the protocol: no task starts
	# unless a test raises max_running (daughters.bats runs them).
	VX11_POLICY_PREFIX='.limits.max_running = 0'
}

teardown() {
	vx11_teardown
	if [[ -n $JOURNALD_PID ]]; then
		kill "$JOURNALD_PID" 2>/dev/null || true
		if ! wait_exit "$JOURNALD_PID" 50; then
			kill -9 "$JOURNALD_PID" 2>/dev/null || true
			wait "$JOURNALD_PID" 2>/dev/null || true
		fi
		JOURNALD_PID=
		# Leave no sockets of a dead journald behind for others to log into.
		for d in "${JOURNAL_CREATED[@]}"; do
			rm -rf "$d"
		done
	fi
}

@test "--help and --version exit 0" {
	run -0 "$VX11D" --help
	[[ $output == "Usage: vx11d"* && $output == *--socket* && $output == *--state-dir* && $output == *--policy* ]]
	run -0 "$VX11D" -h
	[[ $output == "Usage: vx11d"* ]]
	run -0 "$VX11D" --version
	[[ $output =~ ^vx11d\ [0-9]+\.[0-9]+\.[0-9]+ ]]
}

@test "bad command lines exit 2 and start nothing" {
	run -2 "$VX11D" --no-such-option
	run -2 "$VX11D" --socket "$T/x.sock" stray-argument
	run -2 "$VX11D" --log-target syslog
	run -2 "$VX11D" --log-level loud
	run -2 "$VX11D" --socket
	[[ ! -e $T/x.sock ]]
}

@test "SIGTERM: clean exit 0, socket file removed" {
	start_daemon
	[[ -S $VX11_SOCKET ]]
	stop_daemon TERM
	equals "$DAEMON_STATUS" 0
	[[ ! -e $VX11_SOCKET ]]
}

@test "SIGINT: clean exit 0, socket file removed" {
	start_daemon
	stop_daemon INT
	equals "$DAEMON_STATUS" 0
	[[ ! -e $VX11_SOCKET ]]
}

@test "SIGTERM with clients connected and a result.get waiting still exits at once" {
	start_daemon
	cid=$(submit_queued noop | jq -r .correlation_id)
	conn_open waiter
	conn_send waiter "$(req result.get "{\"correlation_id\":\"$cid\",\"wait_seconds\":60}")"
	conn_open idle
	sleep 0.2
	kill -TERM "$DAEMON_PID"
	wait_exit "$DAEMON_PID" 50
	DAEMON_PID=
	equals "$DAEMON_STATUS" 0
	conn_close waiter
	conn_close idle
}

@test "the state directory and database are created, not world-readable" {
	start_daemon --state-dir "$T/deep/er/state"
	[[ -f $T/deep/er/state/vx11.db ]]
	equals "$(stat -c %a "$T/deep/er/state")" 750
}

@test "the database, its WAL and shm, and a daughter's output are 0600 whatever the umask" {
	require_root
	umask 000
	policy_file '.limits.max_running = 1 | .tasks.say = {command: ["/bin/echo", "hi"], max_retries: 0}'
	start_daemon
	id=$(submit_task say)
	wait_status "$id" completed 80 >/dev/null
	local f n=0
	for f in "$T/state/vx11.db" "$T/state/vx11.db-wal" "$T/state/vx11.db-shm" "$T"/state/output/*; do
		[[ -e $f ]] || continue
		echo "$f $(stat -c %a "$f")"
		equals "$(stat -c %a "$f")" 600
		n=$((n + 1))
	done
	# The database, the WAL and shm files, and at least the stdout file.
	((n >= 4))
	# A file an older vx11d left readable is narrowed at start.
	stop_daemon
	chmod 0644 "$T/state/vx11.db"
	start_daemon
	equals "$(stat -c %a "$T/state/vx11.db")" 600
}

@test "a state directory writable by others is refused, saying why" {
	mkdir -m 0777 "$T/open"
	chmod 0777 "$T/open"
	launch_daemon --state-dir "$T/open"
	wait_exit "$DAEMON_PID" 100
	DAEMON_PID=
	[[ $DAEMON_STATUS -ne 0 ]]
	grep -q "the state directory $T/open is writable by others (mode 0777" "$T/vx11d.log"
	[[ ! -e $T/open/vx11.db ]]
}

@test "a socket in a directory that does not exist yet: parents are created" {
	launch_daemon --socket "$T/run/vx11/vx11.sock"
	VX11_SOCKET=$T/run/vx11/vx11.sock
	wait_daemon_ready
	[[ -S $T/run/vx11/vx11.sock ]]
}

@test "a state directory that cannot be made: non-zero exit and a message" {
	touch "$T/afile"
	launch_daemon --state-dir "$T/afile/state"
	wait_exit "$DAEMON_PID" 100
	DAEMON_PID=
	[[ $DAEMON_STATUS -ne 0 ]]
	grep -q "$T/afile/state" "$T/vx11d.log"
}

@test "a stale socket file left by kill -9 is replaced on restart" {
	start_daemon
	tid=$(submit_queued noop | jq -r .response.task_id)
	kill9_daemon
	# The file is still there, but nobody answers on it.
	[[ -S $VX11_SOCKET ]]
	start_daemon
	check "$(result task.get "{\"task_id\":\"$tid\"}")" '.task.status == "pending"'
	check "$(result daemon.status)" '.pid == $p' --argjson p "$DAEMON_PID"
}

@test "run as a user without root's privileges: one line says what cannot work; spawner intents are refused, the rest served" {
	require_root
	# A task queued by the daemon run as root before.
	start_daemon
	held=$(submit_task noop)
	stop_daemon
	# Now as nobody, with a state directory of its own and room to run.
	policy_file '.limits.max_running = 1'
	chown -R nobody: "$T"
	VX11D_WRAP="setpriv --reuid=nobody --regid=nogroup --clear-groups --" start_daemon

	# One line says it all, and nothing else says every spawn will fail.
	line=$(grep "without root's privileges" "$T/vx11d.log")
	equals "$(count_lines "$line")" 1
	[[ $line == *"uid $(id -u nobody)"* && $line == *"uid of its own"* && $line == *"cgroup"* && $line == *"namespaces"* ]]
	[[ $line == *"refused"* ]]
	! grep -q "every daughter will fail to spawn" "$T/vx11d.log"
	check "$(result daemon.status)" '.spawner.available == false and (.spawner.problem | test("root"))'

	# An intent that would queue a task: refused, as a result, and no task.
	env=$(submit '{"intent_type":"noop","require":{"spawner":true}}')
	check "$env" '.status == "ERROR" and .mode == "SPAWNER" and .error == "spawner_unavailable" and .provider == null'
	check "$env" '.response.reason | test("root") and test("uid")'
	check "$(result result.get "$(jq -c '{correlation_id}' <<<"$env")")" '.status == "ERROR" and .error == "spawner_unavailable"'
	# The fallback path still works.
	check "$(submit '{"intent_type":"hello"}')" '.status == "DONE" and .mode == "MADRE"'
	# The task queued before is held, not run to failure: no attempt, still pending.
	sleep 1.5
	check "$(task_get "$held")" '.task.status == "pending" and .task.current_retry == 0 and .daughters == []'
	check "$(result task.list)" '.count == 1'
}

@test "a second daemon on the same socket refuses to start (already listening)" {
	start_daemon
	first=$DAEMON_PID
	run --separate-stderr "$VX11D" --socket "$VX11_SOCKET" --state-dir "$T/state2" --policy "$T/policy.json" --log-target stderr
	[[ $status -ne 0 ]]
	[[ $stderr == *"already listening"* ]]
	# The first one is untouched and still owns the socket.
	[[ -S $VX11_SOCKET ]]
	check "$(result daemon.status)" '.pid == $p' --argjson p "$first"
}

@test "a daemon that stops removes its socket file only while it is its own, not a second daemon's that replaced it" {
	start_daemon
	first=$DAEMON_PID
	# Removed by hand while the first one runs, then bound by a second one
	# (a state and runtime directory of its own: the first holds $T's).
	rm "$VX11_SOCKET"
	mkdir "$T/second"
	start_daemon --state-dir "$T/second/state" --runtime-dir "$T/second/run"
	kill -TERM "$first"
	wait_exit "$first"
	[[ $DAEMON_STATUS -eq 0 ]]
	# The second one is still reached; its own stop removes the file.
	check "$(result daemon.status)" '.pid == $p' --argjson p "$DAEMON_PID"
	stop_daemon
	[[ ! -e $VX11_SOCKET && ! -e $T/second/run/daughter.sock ]]
}

@test "socket activation: systemd-socket-activate passes the socket, vx11d serves on it" {
	sa=$(command -v systemd-socket-activate || true)
	[[ -n $sa ]] || sa=/lib/systemd/systemd-socket-activate
	[[ -x $sa ]] || skip "systemd-socket-activate is not installed (package systemd)"
	policy_file
	VX11_SOCKET=$T/vx11.sock
	(
		_bg_close_fds
		exec "$sa" -l "$VX11_SOCKET" "$VX11D" --socket "$T/elsewhere/not-this.sock" --state-dir "$T/state" \
			--policy "$T/policy.json" --log-target stderr
	) 2>>"$T/vx11d.log" </dev/null >/dev/null &
	DAEMON_PID=$!
	wait_daemon_ready
	# systemd-socket-activate execs vx11d in place: the same pid serves.
	check "$(result daemon.status)" '.pid == $p' --argjson p "$DAEMON_PID"
	check "$(submit_queued noop)" '.status == "QUEUED"'
	# It did not bind a socket of its own, and the daughters' socket is
	# beside the one it was given (getsockname), not beside --socket.
	[[ ! -e $T/elsewhere ]]
	[[ -S $T/daughter.sock ]]
	grep -q "from the service manager" "$T/vx11d.log"
	stop_daemon
	equals "$DAEMON_STATUS" 0
	# The socket belongs to the service manager: vx11d leaves it alone.
	[[ -S $T/vx11.sock ]]
}

@test "the journal: each intent is an entry with MESSAGE_ID and the VX11_ fields" {
	command -v journalctl >/dev/null || skip "journalctl is not installed"
	if [[ ! -S /run/systemd/journal/socket ]]; then
		jd=
		for c in /lib/systemd/systemd-journald /usr/lib/systemd/systemd-journald; do
			[[ -x $c ]] && jd=$c && break
		done
		[[ -n $jd ]] || skip "no journald running and none to start"
		for d in /run/systemd/journal /run/log/journal; do
			[[ -e $d ]] || JOURNAL_CREATED+=("$d")
		done
		(
			_bg_close_fds
			exec "$jd"
		) >"$T/journald.log" 2>&1 </dev/null &
		JOURNALD_PID=$!
		for _ in $(seq 100); do
			[[ -S /run/systemd/journal/socket ]] && break
			sleep 0.05
		done
		[[ -S /run/systemd/journal/socket ]]
	fi

	start_daemon --log-target journal
	env=$(submit_queued noop '{"source":"madre"}')
	cid=$(jq -r .correlation_id <<<"$env")
	tid=$(jq -r .response.task_id <<<"$env")
	refused=$(submit '{"intent_type":"hello","require":{"switch":true}}' | jq -r .correlation_id)

	entry=
	for _ in $(seq 50); do
		journalctl --sync 2>/dev/null || true
		entry=$(journalctl --no-pager -o json "VX11_CORRELATION_ID=$cid" 2>/dev/null | head -n1)
		[[ -n $entry ]] && break
		sleep 0.1
	done
	check "$entry" '(.MESSAGE_ID | test("^[0-9a-f]{32}$")) and .VX11_CORRELATION_ID == $c and .VX11_TASK_ID == $t
		and .VX11_SOURCE == "madre" and .VX11_UID == "0"' --arg c "$cid" --arg t "$tid"
	# Exactly one entry per intent.
	equals "$(journalctl --no-pager -o json "VX11_CORRELATION_ID=$cid" | wc -l)" 1

	entry=$(journalctl --no-pager -o json "VX11_CORRELATION_ID=$refused" | head -n1)
	check "$entry" '.VX11_SOURCE == "operator" and .VX11_UID == "0" and (.MESSAGE_ID | length == 32)'
	# Nothing of it went to stderr instead.
	run ! grep -q "VX11_CORRELATION_ID=$cid" "$T/vx11d.log"
}

@test "the stderr log: lines start with the local time to the millisecond; the fields only at --log-level debug" {
	# A zone of our own, 5:30 ahead of UTC: the time shown is the local one, with its offset.
	export TZ=VXT-05:30
	ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}\+05:30'
	start_daemon --log-level info
	before=$(date +%s)
	cid=$(submit '{"intent_type":"hello"}' | jq -r .correlation_id)
	refused=$(submit '{"intent_type":"nope","require":{"spawner":true}}' | jq -r .correlation_id)
	stop_daemon
	after=$(date +%s)
	# Every line is "TIME vx11d: MESSAGE", and no more: the fields stay in the journal.
	run ! grep -Ev "^$ts vx11d: " "$T/vx11d.log"
	run ! grep -E 'MESSAGE_ID=|VX11_[A-Z_]+=' "$T/vx11d.log"
	line=$(grep -F "intent $cid " "$T/vx11d.log")
	[[ $line =~ ^($ts)\ vx11d:\ intent\ $cid\ \(hello\)\ from\ uid\ 0:\ DONE$ ]]
	at=$(date -d "${BASH_REMATCH[1]}" +%s)
	holds "$at >= $before - 1 && $at <= $after + 1"
	grep -Eq "^$ts vx11d: intent $refused \(nope\) from uid 0 refused: unknown_task$" "$T/vx11d.log"

	# At debug (as the other suites run it) the journal's fields follow the message.
	: >"$T/vx11d.log"
	start_daemon
	cid=$(submit '{"intent_type":"hello"}' | jq -r .correlation_id)
	stop_daemon
	run ! grep -Ev "^$ts vx11d: " "$T/vx11d.log"
	grep -Eq "^$ts vx11d: intent $cid \(hello\) from uid 0: DONE MESSAGE_ID=[0-9a-f]{32} VX11_CORRELATION_ID=$cid .*VX11_STATUS=DONE$" "$T/vx11d.log"
}
