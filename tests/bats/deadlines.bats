#!/usr/bin/env bats
# Deadlines of daughters through the real daemon: the TTL (SIGTERM, a grace,
# then the whole cgroup killed, double-forked and setsid processes included),
# TTLs per mutation level and how a task ends by its last attempt, and the
# heartbeat (WATCHDOG=1 on $NOTIFY_SOCKET, or daughter.heartbeat).
#
# Times are asserted from the daemon's own timestamps (started_at, ended_at,
# last_heartbeat_at) and, for "nothing left by TTL + grace + 1 s", from the
# wall clock against started_at. Waits are bounded polls.

load helpers

setup() {
	# Daughters need root: cgroups, dynamic uids.
	require_root
	vx11_setup
}

teardown() {
	vx11_teardown
}

attempt_of() {
	jq -c ".daughters[${2:--1}].attempts[0]" <<<"$1"
}

# Seconds between two timestamps of a task.get result: elapsed JSON FROM TO.
elapsed() {
	jq "$JQ_TS"'(.'"$3"' | ts) - (.'"$2"' | ts)' <<<"$1"
}

@test "TTL: SIGTERM, then after grace_seconds the whole cgroup is killed, setsid and double-forked processes too" {
	s=$(daughter_script ttl.sh <<'EOF'
#!/bin/sh
# Deaf to SIGTERM, and so is everything it starts: only the cgroup kill ends them.
trap '' TERM
/usr/bin/setsid /bin/sleep 100 &
/bin/sh -c '/bin/sleep 100 &'
exec /bin/sleep 100
EOF
)
	policy_file '.tasks.ttl = {command: ["'"$s"'"], ttl_seconds: 1, grace_seconds: 1, max_retries: 0}'
	start_daemon
	env=$(submit_queued ttl)
	id=$(jq -r .response.task_id <<<"$env")
	t=$(wait_running "$id")
	wait_for 30 eval '(($(task_pids "$id" | wc -l) == 3))'
	# One of them is in a session of its own.
	sessions=$(for p in $(task_pids "$id"); do awk '{ print $6 }' "/proc/$p/stat"; done | sort -u | wc -l)
	equals "$sessions" 2

	started=$(ts_s "$(jq -r '.daughters[0].started_at' <<<"$t")")
	while [[ -n $(task_pids "$id") ]] && holds "$(now_s) < $started + 10" 2>/dev/null; do
		sleep 0.05
	done
	gone=$(now_s)
	holds "$gone <= $started + 1 + 1 + 1"

	t=$(wait_status "$id" expired)
	check_json "$t" '.daughters[0].status == "expired"'
	check_json "$(attempt_of "$t")" '.status == "expired" and .reason == "ttl_expired" and .signal == 9 and .exit_code == null'
	# SIGTERM was ignored: the end came with the kill, after the grace.
	took=$(elapsed "$t" 'daughters[0].started_at' 'daughters[0].ended_at')
	holds "$took >= 1 + 1 - 0.01 && $took <= 1 + 1 + 1"
	r=$(result result.get "$(jq -c '{correlation_id}' <<<"$env")")
	check_json "$r" '.status == "EXPIRED" and .result.reason == "ttl_expired"'
}

@test "TTL: a daughter that ends on SIGTERM is not made to wait for the grace; the reason is still ttl_expired" {
	s=$(daughter_script polite.sh <<'EOF'
#!/bin/sh
trap 'echo "got TERM"; exit 0' TERM
while :; do /bin/sleep 0.1; done
EOF
)
	policy_file '.tasks.polite = {command: ["'"$s"'"], ttl_seconds: 1, grace_seconds: 5, max_retries: 0}'
	start_daemon
	id=$(submit_task polite)
	t=$(wait_status "$id" expired 50)
	check_json "$(attempt_of "$t")" '.reason == "ttl_expired" and .status == "expired"'
	took=$(elapsed "$t" 'daughters[0].started_at' 'daughters[0].ended_at')
	holds "$took >= 1 - 0.01 && $took < 1 + 1"
	equals "$(task_logs "$id" stdout)" "got TERM"
}

@test "TTL per mutation level; a task whose retries run out ends expired only if its last attempt hit the TTL" {
	policy_file '.limits.max_running = 4
		| .defaults.backoff = {base_seconds: 0.1, max_seconds: 0.1}
		| .defaults.grace_seconds = 0
		| .tasks.longer = {command: ["/bin/sleep", "2"], ttl_seconds: 1, max_retries: 1, mutations: [{ttl_seconds: 5}]}
		| .tasks.last_ttl = {command: ["/bin/false"], ttl_seconds: 1, max_retries: 1, mutations: [{command: ["/bin/sleep", "100"]}]}
		| .tasks.last_exit = {command: ["/bin/sleep", "100"], ttl_seconds: 1, max_retries: 1, mutations: [{command: ["/bin/false"]}]}'
	start_daemon
	longer=$(submit_task longer)
	last_ttl=$(submit_task last_ttl)
	last_exit=$(submit_task last_exit)

	t=$(wait_status "$longer" completed 80)
	check_json "$t" '[.daughters[] | [.mutation_level, .status, .attempts[0].reason]] == [[0, "expired", "ttl_expired"], [1, "exited", "exited"]]'

	t=$(wait_status "$last_ttl" expired 80)
	check_json "$t" '[.daughters[] | [.status, .attempts[0].reason, .attempts[0].exit_code]] == [["failed", "exited", 1], ["expired", "ttl_expired", null]]'

	t=$(wait_status "$last_exit" failed 80)
	check_json "$t" '[.daughters[] | [.status, .attempts[0].reason, .attempts[0].exit_code]] == [["expired", "ttl_expired", null], ["failed", "exited", 1]]'
}

@test "heartbeat: a silent daughter is killed heartbeat_missed; its retry beating with WATCHDOG=1 completes, STATUS= kept" {
	s=$(daughter_script beat.sh <<'EOF'
#!/bin/sh
i=1
while [ $i -le 8 ]; do
	/bin/systemd-notify WATCHDOG=1 "STATUS=beat $i of 8"
	/bin/sleep 0.3
	i=$((i + 1))
done
EOF
)
	policy_file '.tasks.hb = {command: ["/bin/sleep", "100"], heartbeat_seconds: 1, grace_seconds: 1, max_retries: 1,
		backoff: {base_seconds: 0.1, max_seconds: 1}, mutations: [{command: ["'"$s"'"]}]}'
	start_daemon
	id=$(submit_task hb)
	t=$(wait_status "$id" completed 80)
	check_json "$t" '.task.current_retry == 1'

	# Attempt 1: no heartbeat for 1 s; sleep(1) dies of the SIGTERM.
	check_json "$t" '.daughters[0].status == "killed"'
	check_json "$(attempt_of "$t" 0)" '.reason == "heartbeat_missed" and .status == "killed" and .signal == 15'
	took=$(elapsed "$t" 'daughters[0].started_at' 'daughters[0].ended_at')
	holds "$took >= 1 - 0.01 && $took <= 1 + 1"

	# Attempt 2 beat for 2.4 s, past the heartbeat period, and ended by itself.
	check_json "$t" '.daughters[1].status == "exited" and .daughters[1].mutation_level == 1'
	check_json "$(attempt_of "$t" 1)" '.reason == "exited" and .exit_code == 0 and .status_text == "beat 8 of 8"'
	beat=$(elapsed "$t" 'daughters[1].started_at' 'daughters[1].last_heartbeat_at')
	holds "$beat >= 1.5"
}

@test "heartbeat: daughter.heartbeat keeps a daughter alive; once it stops, it is killed a heartbeat period after the last" {
	s=$(daughter_script rpcbeat.sh <<'EOF'
#!/bin/sh
i=1
while [ $i -le 7 ]; do
	printf '{"jsonrpc":"2.0","id":%d,"method":"daughter.heartbeat","params":{"daughter_id":"%s","token":"%s"}}\n' \
		$i "$VX11_DAUGHTER_ID" "$VX11_DAUGHTER_TOKEN" | /usr/bin/socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET"
	/bin/sleep 0.3
	i=$((i + 1))
done
exec /bin/sleep 100
EOF
)
	policy_file '.tasks.rpcbeat = {command: ["'"$s"'"], heartbeat_seconds: 1, grace_seconds: 1, max_retries: 0}'
	start_daemon
	id=$(submit_task rpcbeat)
	t=$(wait_status "$id" failed 80)
	check_json "$(attempt_of "$t")" '.reason == "heartbeat_missed" and .status == "killed"'
	# Alive well past one period, then killed about one period after its last beat.
	check_json "$t" "$JQ_TS"'((.daughters[0].ended_at | ts) - (.daughters[0].started_at | ts)) >= 2.5'
	quiet=$(elapsed "$t" 'daughters[0].last_heartbeat_at' 'daughters[0].ended_at')
	holds "$quiet >= 1 - 0.01 && $quiet <= 1 + 1"
	replies=$(task_logs "$id" stdout | grep -c '"result":{"status":"ok"')
	equals "$replies" 7
}

@test "heartbeat: WATCHDOG=1 from another uid on the daughters' NOTIFY_SOCKET is ignored; the daughter is still killed" {
	require_root
	# A period long enough for the forged beats to land inside it on a loaded machine.
	policy_file '.tasks.quiet = {command: ["/bin/sleep", "100"], heartbeat_seconds: 3, grace_seconds: 1, max_retries: 0}'
	start_daemon
	id=$(submit_task quiet)
	wait_for 50 eval '[[ $(task_get "$id" | jq -r ".daughters[0].status") == running ]]'
	# One socket for every daughter (the NOTIFY_SOCKET each one gets).
	sock=$T/notify/notify
	[[ -S $sock ]]
	# The socket takes anyone's datagrams (the daemon keeps no CAP_CHOWN to
	# give it to the daughter's uid) and keeps only those of a daughter's uid.
	# Beats within the first heartbeat period: they reach it, as socat's
	# success says, and change nothing.
	for _ in 1 2; do
		printf 'WATCHDOG=1\nSTATUS=forged' | setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
			socat -u - "UNIX-SENDTO:$sock"
		sleep 0.2
	done
	t=$(wait_status "$id" failed 80)
	check_json "$(attempt_of "$t")" '.reason == "heartbeat_missed" and .status_text != "forged"'
	# No heartbeat was taken after its start.
	check_json "$t" '.daughters[0].last_heartbeat_at <= .daughters[0].started_at'
}

@test "heartbeat: two daughters of one fixed user share the notify socket; each beat and STATUS= lands on its sender's attempt" {
	require_root
	s=$(daughter_script beat.sh <<'EOF'
#!/bin/sh
i=1
while [ $i -le 8 ]; do
	/bin/systemd-notify WATCHDOG=1 "STATUS=beat $i of 8"
	/bin/sleep 0.3
	i=$((i + 1))
done
EOF
)
	# Same uid for both: the sender's cgroup tells them apart. The silent
	# one starts first, so taking the first or the last daughter of that
	# uid, rather than the sender's, would credit it with the beats.
	policy_file '.limits.max_running = 2
		| .tasks.beater = {command: ["'"$s"'"], user: "nobody", heartbeat_seconds: 1, grace_seconds: 1, max_retries: 0}
		| .tasks.silent = {command: ["/bin/sleep", "100"], user: "nobody", heartbeat_seconds: 1, grace_seconds: 1, max_retries: 0}'
	start_daemon
	silent=$(submit_task silent)
	beater=$(submit_task beater)
	t=$(wait_status "$beater" completed 80)
	check_json "$(attempt_of "$t")" '.reason == "exited" and .status_text == "beat 8 of 8"'
	t=$(wait_status "$silent" failed 80)
	check_json "$(attempt_of "$t")" '.reason == "heartbeat_missed" and .status_text == null'
	check_json "$t" '.daughters[0].last_heartbeat_at <= .daughters[0].started_at'
}
