#!/usr/bin/env bats
# Confinement of daughters through the real daemon: the hostile probe run as
# a daughter beside another one, memory_max ending an attempt "oom", a fork
# bomb bounded by pids_max and a TTL while the daemon keeps answering, and
# the user a daughter runs as.
#
# The probe (tests/hostile-probe) only ever runs as a daughter here, and
# refuses to try anything at all when it finds itself root.

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

@test "the hostile probe, run as a daughter beside another, finds every way out blocked; the daemon carries on" {
	probe=$VX11_BUILDDIR/tests/hostile-probe
	if [[ ! -x $probe ]]; then
		echo "$probe not found: build it (make check builds it; by hand: make tests/hostile-probe)" >&2
		return 1
	fi
	# Where the daughter's uid can reach it, whatever the build directory's modes.
	cp "$probe" "$T/hostile-probe"
	chmod 0755 "$T/hostile-probe"
	# A file of another user's, 0600: nobody's, not the daughter's dynamic uid.
	echo "not for daughters" >"$T/secret"
	chown nobody "$T/secret"
	chmod 0600 "$T/secret"
	# The probe's own pids.max: in the v1 pids hierarchy on a hybrid host,
	# else in its unified cgroup. Known only inside, so a wrapper finds it.
	wrapper=$(daughter_script hostile.sh <<'EOF'
#!/bin/sh
probe=$1
shift
p=$(/usr/bin/sed -n 's/^[0-9]*:pids://p' /proc/self/cgroup)
if [ -n "$p" ] && [ "$p" != / ]; then
	limit=/sys/fs/cgroup/pids$p/pids.max
else
	limit=/sys/fs/cgroup$(/usr/bin/sed -n 's/^0:://p' /proc/self/cgroup)/pids.max
fi
exec "$probe" --limit-file "$limit" "$@"
EOF
)
	base='.limits.max_running = 2 | .tasks.sleeper = {command: ["/bin/sleep", "100"], max_retries: 0, ttl_seconds: 300}'
	policy_file "$base"
	start_daemon

	sleeper=$(submit_task sleeper)
	t=$(wait_running "$sleeper")
	wait_for 30 eval '[[ -n $(task_pids "$sleeper") ]]'
	spid=$(task_pids "$sleeper")
	procs=$(result daemon.status | jq -r .cgroup.job_root)/$(attempt_of "$t" | jq -r .cgroup)/cgroup.procs
	equals "$(cat "$procs")" "$spid"

	cmd=$(json_argv "$wrapper" "$T/hostile-probe" --kill "$DAEMON_PID" --sibling "$spid" \
		--cgroup-procs "$procs" --secret "$T/secret" --netns)
	policy_file "$base | .tasks.hostile = {command: $cmd, network: false, seccomp: \"default\", max_retries: 0,
		ttl_seconds: 30, limits: {pids_max: 32}}"
	check_json "$(result policy.reload)" '.status == "reloaded"'
	id=$(submit_task hostile)
	t=$(wait_status "$id" completed 300) || {
		task_logs "$id" stdout >&2
		task_logs "$id" stderr >&2
		return 1
	}
	out=$(task_logs "$id" stdout)
	echo "$out"
	# Every check the options ask for was made, and each one was blocked.
	for name in inherited-fds no-new-privs capabilities seccomp uid unshare-user mount ptrace \
		process_vm_readv bpf personality-no-aslr personality-exec cgroup-procs cgroup-limit kill read-secret network; do
		grep -qx "$name blocked" <<<"$out"
	done
	equals "$(grep -cv ' blocked$' <<<"$out")" 0
	check_json "$(attempt_of "$t")" '.reason == "exited" and .exit_code == 0'

	# Its targets are as they were, and the daemon still answers.
	alive "$DAEMON_PID"
	check_json "$(result daemon.status)" '.pid == $p and .daughters_running == 1' --argjson p "$DAEMON_PID"
	alive "$spid"
	equals "$(cat "$procs")" "$spid"
	check_json "$(task_get "$sleeper")" '.task.status == "running"'
	result task.cancel "$(jq -cn --arg id "$sleeper" '{task_id:$id}')" >/dev/null
	wait_status "$sleeper" cancelled >/dev/null
}

@test "memory_max: a daughter that allocates past it ends with reason oom; one that stays below it completes" {
	s=$(daughter_script grow.sh <<'EOF'
#!/bin/sh
x=$(/usr/bin/head -c "$1" /dev/zero | /usr/bin/tr '\0' a)
echo "${#x}"
EOF
)
	policy_file '.limits.max_running = 2
		| .tasks.big = {command: ["'"$s"'", "200000000"], max_retries: 0, limits: {memory_max: "32M"}}
		| .tasks.small = {command: ["'"$s"'", "1000000"], max_retries: 0, limits: {memory_max: "32M"}}'
	start_daemon
	big=$(submit_queued big)
	small=$(submit_task small)

	t=$(wait_status "$(jq -r .response.task_id <<<"$big")" failed 200)
	check_json "$t" '.daughters[0].status == "failed"'
	check_json "$(attempt_of "$t")" '.reason == "oom" and .status == "failed" and .exit_code == null
		and .memory_peak_bytes > 16777216 and .memory_peak_bytes <= 33554432'
	r=$(result result.get "$(jq -c '{correlation_id}' <<<"$big")")
	check_json "$r" '.status == "ERROR" and .result.reason == "oom"'

	t=$(wait_status "$small" completed 100)
	check_json "$(attempt_of "$t")" '.reason == "exited" and .exit_code == 0'
	equals "$(task_logs "$small" stdout)" 1000000
}

@test "a fork bomb is held to pids_max and ended by its TTL while the daemon keeps answering; nothing is left" {
	# prlimit's RLIMIT_NPROC (the daughter's uid is its own) is a second
	# bound in case pids_max were not applied: this test must never run wild.
	# The bomb collapses once its forks fail, so a sampled peak may miss it
	# (in the emulated v2 VM it did); the forks the cap refused leave bash's
	# complaint in the daughter's stderr.
	policy_file '.tasks.bomb = {command: ["/usr/bin/prlimit", "--nproc=64", "/bin/bash", "-c", ":(){ :|:& };:; exec /bin/sleep 100"],
		ttl_seconds: 6, grace_seconds: 0, max_retries: 0, limits: {pids_max: 4}}'
	start_daemon
	id=$(submit_task bomb)
	wait_running "$id" >/dev/null

	most=0
	slowest=0
	end=$(awk -v n="$(now_s)" 'BEGIN { printf "%.6f\n", n + 15 }')
	while holds "$(now_s) < $end" 2>/dev/null; do
		n=$(task_pids "$id" | wc -l)
		((n > most)) && most=$n
		t0=$(now_s)
		st=$(rpc "$(req daemon.status)")
		t1=$(now_s)
		check_json "$st" '.result.pid == $p' --argjson p "$DAEMON_PID"
		slowest=$(awk -v a="$slowest" -v x="$t0" -v y="$t1" 'BEGIN { d = y - x; print (d > a ? d : a) }')
		t=$(task_get "$id")
		jq -e '.task.status == "running"' >/dev/null <<<"$t" || break
		sleep 0.1
	done
	echo "most processes at once: $most; slowest daemon.status: $slowest s"
	# The cap held.
	((most <= 4))
	# Answered all along: a bound for a daemon stalled by the bomb, not a
	# speed (the emulated v2 VM on a loaded host took 1.2 s once).
	holds "$slowest < 5"

	t=$(wait_status "$id" expired 50)
	check_json "$(attempt_of "$t")" '.reason == "ttl_expired" and .status == "expired"'
	took=$(jq "$JQ_TS"'(.daughters[0].ended_at | ts) - (.daughters[0].started_at | ts)' <<<"$t")
	holds "$took >= 6 - 0.01 && $took <= 6 + 0 + 1"
	no_task_pids "$id"
	# The bomb ran into the cap: forks refused (EAGAIN).
	err=$(task_logs "$id" stderr)
	[[ $err == *fork*"Resource temporarily unavailable"* ]]
}

@test "user: a named user runs the daughter with that user's ids; root is refused when the policy loads" {
	s=$(daughter_script ids.sh <<'EOF'
#!/bin/sh
/usr/bin/id -u
/usr/bin/id -g
/usr/bin/id -G
EOF
)
	policy_file '.limits.max_running = 2
		| .tasks.nobody = {command: ["'"$s"'"], user: "nobody", max_retries: 0}'
	start_daemon
	nobody=$(submit_task nobody)

	t=$(wait_status "$nobody" completed)
	check_json "$(attempt_of "$t")" '.uid == $u' --argjson u "$(id -u nobody)"
	equals "$(task_logs "$nobody" stdout)" "$(id -u nobody)"$'\n'"$(id -g nobody)"$'\n'"$(id -G nobody)"

	policy_file '.limits.max_running = 2 | .tasks.root = {command: ["'"$s"'"], user: "root", max_retries: 0}'
	reply=$(call policy.reload)
	check_json "$reply" '.error.message | test("tasks.root.user: user \"root\" is uid 0")'
	check_json "$(submit '{"intent_type":"root","require":{"spawner":true}}')" '.status == "ERROR" and .error == "unknown_task"'
}

@test "seccomp: default and strict load a filter, strict refuses the AF_INET socket default allows, none loads none" {
	s=$(daughter_script inet.sh <<'EOF'
#!/bin/bash
/bin/grep '^Seccomp:' /proc/self/status
# Nothing listens on the discard port of the daughter's own loopback.
exec 3<>/dev/tcp/127.0.0.1/9
EOF
)
	policy_file '.limits.max_running = 3
		| .tasks.default = {command: ["'"$s"'"], max_retries: 0, network: false}
		| .tasks.strict = {command: ["'"$s"'"], max_retries: 0, network: false, seccomp: "strict"}
		| .tasks.none = {command: ["'"$s"'"], max_retries: 0, network: false, seccomp: "none"}'
	start_daemon
	declare -A ids
	for p in default strict none; do
		ids[$p]=$(submit_task "$p")
	done
	for p in default strict none; do
		t=$(wait_status "${ids[$p]}" failed)
		check_json "$(attempt_of "$t")" '.reason == "exited" and .exit_code == 1'
	done
	equals "$(task_logs "${ids[default]}" stdout)" $'Seccomp:\t2'
	equals "$(task_logs "${ids[strict]}" stdout)" $'Seccomp:\t2'
	equals "$(task_logs "${ids[none]}" stdout)" $'Seccomp:\t0'
	grep -q 'socket: Operation not permitted' <<<"$(task_logs "${ids[strict]}" stderr)"
	grep -q 'connect: Connection refused' <<<"$(task_logs "${ids[default]}" stderr)"
	grep -q 'connect: Connection refused' <<<"$(task_logs "${ids[none]}" stderr)"
}

@test "daughter.spawn: the profile names the filter (strict refuses what default allows); an unknown one is -32602" {
	start_daemon
	script='/bin/grep "^Seccomp:" /proc/self/status; exec 3<>/dev/tcp/127.0.0.1/9'
	declare -A ids
	for p in default strict none; do
		ids[$p]=$(result daughter.spawn "$(jq -cn --arg p "$p" --arg s "$script" \
			'{name: ("probe-" + $p), profile: $p, cmd: ["/bin/bash", "-c", $s]}')" | jq -r .task_id)
	done
	for p in default strict none; do
		t=$(wait_status "${ids[$p]}" failed)
		check_json "$(attempt_of "$t")" '.reason == "exited" and .exit_code == 1'
	done
	equals "$(task_logs "${ids[default]}" stdout)" $'Seccomp:\t2'
	equals "$(task_logs "${ids[strict]}" stdout)" $'Seccomp:\t2'
	equals "$(task_logs "${ids[none]}" stdout)" $'Seccomp:\t0'
	grep -q 'socket: Operation not permitted' <<<"$(task_logs "${ids[strict]}" stderr)"
	grep -q 'connect: Connection refused' <<<"$(task_logs "${ids[default]}" stderr)"

	reply=$(call daughter.spawn '{"name":"x","profile":"lax","cmd":["/bin/true"]}')
	check_error "$reply" -32602 vx11.InvalidParams 1
	check_json "$reply" '.error.message | test("unknown seccomp profile \"lax\"")'
}

# One transient uid for every daughter, so the second gets the first's.
ONE_UID='.dynamic_uid_range = {first: 65001, last: 65001}'

@test "a daughter's SysV IPC, message queues and /dev/shm files do not reach the next daughter with its uid" {
	leave=$(daughter_script leave.sh <<'EOF'
#!/bin/sh
set -e
echo secret >/dev/shm/vx11-left-behind
chmod 0600 /dev/shm/vx11-left-behind
/usr/bin/ipcmk -M 4096 >/dev/null
/usr/bin/ipcmk -Q >/dev/null
/usr/bin/ipcmk -S 1 >/dev/null
/usr/bin/ipcs -m -q -s | grep -c "^0x"
EOF
)
	look=$(daughter_script look.sh <<'EOF'
#!/bin/sh
echo "shm: $(ls -A /dev/shm | grep -c vx11-left-behind)"
echo "ipc: $(/usr/bin/ipcs -m -q -s | grep -c '^0x')"
cat /dev/shm/vx11-left-behind 2>/dev/null || echo "nothing to read"
EOF
)
	policy_file "$ONE_UID"' | .limits.max_running = 1
		| .tasks.leave = {command: ["'"$leave"'"], network: false, max_retries: 0}
		| .tasks.look = {command: ["'"$look"'"], network: false, max_retries: 0}
		| .tasks.leave_ns = {command: ["'"$leave"'"], network: false, hide_processes: true, max_retries: 0}'
	start_daemon
	for first in leave leave_ns; do
		id=$(submit_task "$first")
		wait_status "$id" completed 80 >/dev/null
		# It made its three objects, and they were there to count.
		equals "$(task_logs "$id" stdout)" 3
		id=$(submit_task look)
		t=$(wait_status "$id" completed 80)
		check_json "$(attempt_of "$t")" '.uid == 65001'
		equals "$(task_logs "$id" stdout)" "shm: 0
ipc: 0
nothing to read"
	done
	# And nothing of that uid is left on the host.
	equals "$(find /dev/shm -maxdepth 1 -uid 65001 | wc -l)" 0
	equals "$(ipcs -m -q -s | awk '$3 == 65001' | wc -l)" 0
}

@test "network \"none\": a namespace of its own with loopback up; the shared one's ports are out of reach" {
	server=$(daughter_script server.sh <<'EOF'
#!/bin/sh
exec /usr/bin/socat -u TCP-LISTEN:5601,bind=127.0.0.1,reuseaddr,fork -
EOF
)
	probe=$(daughter_script probe.sh <<'EOF'
#!/bin/sh
echo "interfaces: $(tail -n +3 /proc/self/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')"
# Its own loopback works ...
/usr/bin/socat -u TCP-LISTEN:5602,bind=127.0.0.1 - >/tmp/got.$$ &
sleep 0.3
echo own | /usr/bin/socat -u - TCP:127.0.0.1:5602 && sleep 0.2 && echo "own loopback: $(cat /tmp/got.$$)"
rm -f /tmp/got.$$
# ... and the shared namespace's listener is not there.
if echo hi | /usr/bin/socat -u - TCP:127.0.0.1:5601,connect-timeout=1 2>/dev/null; then
	echo "shared: reached"
else
	echo "shared: unreachable"
fi
EOF
)
	policy_file '.limits.max_running = 2
		| .tasks.server = {command: ["'"$server"'"], network: false, max_retries: 0, ttl_seconds: 20}
		| .tasks.probe = {command: ["'"$probe"'"], network: "none", max_retries: 0}
		| .tasks.probe_shared = {command: ["'"$probe"'"], network: false, max_retries: 0}'
	start_daemon
	sid=$(submit_task server)
	wait_running "$sid"
	sleep 0.5
	id=$(submit_task probe)
	wait_status "$id" completed 80 >/dev/null
	out=$(task_logs "$id" stdout)
	echo "$out"
	grep -qx 'interfaces: lo ' <<<"$out"
	grep -qx 'own loopback: own' <<<"$out"
	grep -qx 'shared: unreachable' <<<"$out"
	# Control: a daughter of the shared namespace does reach it.
	id=$(submit_task probe_shared)
	wait_status "$id" completed 80 >/dev/null
	grep -qx 'shared: reached' <<<"$(task_logs "$id" stdout)"
	call task.cancel "{\"task_id\":\"$sid\"}" >/dev/null
}

@test "hide_processes: the daughter's /proc shows its own uid's processes only" {
	ps_count=$(daughter_script ps.sh <<'EOF'
#!/bin/sh
n=0
for d in /proc/[0-9]*; do n=$((n + 1)); done
echo "pids: $n"
if [ -e /proc/1 ]; then echo "init: visible"; else echo "init: hidden"; fi
EOF
)
	policy_file '.limits.max_running = 1
		| .tasks.hidden = {command: ["'"$ps_count"'"], hide_processes: true, max_retries: 0}
		| .tasks.shown = {command: ["'"$ps_count"'"], max_retries: 0}'
	start_daemon
	id=$(submit_task hidden)
	wait_status "$id" completed 80 >/dev/null
	out=$(task_logs "$id" stdout)
	echo "$out"
	grep -qx 'init: hidden' <<<"$out"
	(( $(sed -n 's/^pids: //p' <<<"$out") <= 3 ))
	id=$(submit_task shown)
	wait_status "$id" completed 80 >/dev/null
	grep -qx 'init: visible' <<<"$(task_logs "$id" stdout)"
}

@test "filesystem: a Landlock allow-list; a daughter reaches what it names and nothing else" {
	mkdir -p "$T/ro" "$T/rw" "$T/no"
	echo readable >"$T/ro/f"
	echo secret >"$T/no/f"
	chmod 0755 "$T/ro" "$T/no"
	chmod 0644 "$T/ro/f" "$T/no/f"
	chmod 0777 "$T/rw"
	fs=$(daughter_script fs.sh <<EOF
#!/bin/sh
cat $T/ro/f >/dev/null 2>&1 && echo "ro: read" || echo "ro: not read"
(echo x >$T/ro/g) 2>/dev/null && echo "ro: written" || echo "ro: not written"
cat $T/no/f >/dev/null 2>&1 && echo "no: read" || echo "no: not read"
(echo x >$T/rw/g.\$\$) 2>/dev/null && echo "rw: written" || echo "rw: not written"
ls /etc >/dev/null 2>&1 && echo "etc: listed" || echo "etc: not listed"
EOF
)
	policy_file '.limits.max_running = 1
		| .tasks.fs = {command: ["'"$fs"'"], max_retries: 0,
			filesystem: {read: ["'"$T/ro"'"], write: ["'"$T/rw"'"], exec: ["/usr", "/bin", "/lib", "/lib64"]}}
		| .tasks.open = {command: ["'"$fs"'"], max_retries: 0}'
	start_daemon
	id=$(submit_task fs)
	t=$(wait_task "$id" '.task.status == "completed" or .task.status == "failed"' 80)
	if [[ $(jq -r .task.status <<<"$t") == failed ]]; then
		# Fail closed: a strict task type on a kernel without Landlock.
		check_json "$(attempt_of "$t")" '.reason == "spawn_failed" and (.error_message | test("Landlock"))'
		skip "this kernel has no Landlock (the strict task type was refused, as it should be)"
	fi
	check_json "$(attempt_of "$t")" '.unapplied == null'
	equals "$(task_logs "$id" stdout)" "ro: read
ro: not written
no: not read
rw: written
etc: not listed"
	# The same script without the key reaches all of it.
	id=$(submit_task open)
	wait_status "$id" completed 80 >/dev/null
	equals "$(task_logs "$id" stdout)" "ro: read
ro: not written
no: read
rw: written
etc: listed"
}

@test "attestation: each attempt records what it ran with, in task.get and in its start's log entry" {
	policy_file '.limits.max_running = 1
		| .tasks.att = {command: ["/bin/true"], max_retries: 0, network: false, hide_processes: true,
			limits: {memory_max: "64M", pids_max: 16, nofile: 64}, enforce: "best-effort",
			filesystem: {exec: ["/usr", "/bin", "/lib", "/lib64"], read: ["/etc"]}}'
	start_daemon
	id=$(submit_task att)
	t=$(wait_status "$id" completed 80)
	c=$(attempt_of "$t" | jq -c .confinement)
	echo "$c"
	check_json "$c" '.uid == ('"$(attempt_of "$t" | jq .uid)"') and .user == "dynamic" and .cgroup != null'
	check_json "$c" '.limits == {memory_max: 67108864, pids_max: 16} and .rlimits.nofile == 64 and .rlimits.core == 0'
	check_json "$c" '.no_new_privs == true and .capabilities == []'
	check_json "$c" '.seccomp.profile == "default" and (.seccomp.sha256 | test("^[0-9a-f]{64}$")) and .seccomp.instructions > 100'
	# "shared", or where the daemon's own namespace is loopback-only already
	# (the v2 VM, a unit with PrivateNetwork=) that one, and the record says so.
	check_json "$c" '.namespaces.ipc == "own" and (.namespaces.net | test("^shared$|loopback only")) and .namespaces.mnt == "own"'
	check_json "$c" '.mounts.hide_processes == true and .mounts.private_shm == true and .mounts.private_tmp == false'
	# Landlock, or (a kernel without it, best-effort) the record that it was not.
	check_json "$c" '(.landlock.abi >= 1 and .landlock.read == ["/etc"] and (.landlock.exec | length) == 4)
		or (.landlock == null and (.unapplied | test("filesystem")))'
	# The start's entry carries the same (the log holds the fields at debug).
	grep -F "VX11_CONFINEMENT=$c" "$T/vx11d.log"
	# The same profile compiled twice is the same filter: the digest says which.
	id2=$(submit_task att)
	t2=$(wait_status "$id2" completed 80)
	equals "$(attempt_of "$t2" | jq -r .confinement.seccomp.sha256)" "$(jq -r .seccomp.sha256 <<<"$c")"
}

# Whether this kernel's Landlock has TCP rules (4) and scoping (6): a strict
# task type that needs it completes, or is refused saying so.
landlock_has() { # ABI_NEEDED TASK_ID
	local t
	t=$(wait_task "$2" '.task.status == "completed" or .task.status == "failed"' 80)
	if [[ $(jq -r .task.status <<<"$t") == failed ]]; then
		check_json "$(attempt_of "$t")" '.reason == "spawn_failed" and (.error_message | test("Landlock ABI < '"$1"'"))'
		return 1
	fi
}

@test "tcp: Landlock lets a daughter bind and connect to its ports only" {
	tcp=$(daughter_script tcp.sh <<'EOF'
#!/bin/sh
/usr/bin/socat -u TCP-LISTEN:5711,bind=127.0.0.1,reuseaddr - >/dev/null 2>&1 &
sleep 0.3
echo x | /usr/bin/socat -u - TCP:127.0.0.1:5711 2>/dev/null && echo "5711: bound and reached"
/usr/bin/timeout 1 /usr/bin/socat -u TCP-LISTEN:5713,bind=127.0.0.1 - 2>&1 </dev/null | grep -q 'Permission denied' && echo "bind 5713: denied"
echo x | /usr/bin/socat -u - TCP:127.0.0.1:5714 2>&1 | grep -q 'Permission denied' && echo "connect 5714: denied"
exit 0
EOF
)
	policy_file '.limits.max_running = 1
		| .tasks.tcp = {command: ["'"$tcp"'"], network: "none", max_retries: 0, tcp: {bind: [5711], connect: [5711]}}
		| .tasks.free = {command: ["'"$tcp"'"], network: "none", max_retries: 0}'
	start_daemon
	id=$(submit_task tcp)
	landlock_has 4 "$id" || skip "this kernel's Landlock has no TCP rules (the strict task type was refused, as it should be)"
	equals "$(task_logs "$id" stdout)" "5711: bound and reached
bind 5713: denied
connect 5714: denied"
	check_json "$(attempt_of "$(task_get "$id")")" '.confinement.landlock.tcp == {bind: [5711], connect: [5711]}'
	id=$(submit_task free)
	wait_status "$id" completed 80 >/dev/null
	equals "$(task_logs "$id" stdout)" "5711: bound and reached"
}

@test "scope: no abstract socket or signal outside the daughter's own Landlock domain" {
	require_root
	server=$(daughter_script abs.sh <<'EOF'
#!/bin/sh
echo $$ >/dev/shm/vx11-scope-pid
exec /usr/bin/socat -u ABSTRACT-LISTEN:vx11-scope-test,fork -
EOF
)
	client=$(daughter_script absc.sh <<'EOF'
#!/bin/sh
pid=$(cat /dev/shm/vx11-scope-pid)
echo x | /usr/bin/socat -u - ABSTRACT-CONNECT:vx11-scope-test 2>/dev/null && echo "abstract: reached" || echo "abstract: denied"
kill -0 "$pid" 2>/dev/null && echo "signal: sent" || echo "signal: denied"
exit 0
EOF
)
	# All as one named user, so that only the scope stands between them.
	policy_file '.limits.max_running = 2
		| .tasks.server = {command: ["'"$server"'"], user: "nobody", network: false, max_retries: 0, ttl_seconds: 30}
		| .tasks.scoped = {command: ["'"$client"'"], user: "nobody", network: false, max_retries: 0,
			scope: ["abstract_unix_socket", "signal"]}
		| .tasks.open = {command: ["'"$client"'"], user: "nobody", network: false, max_retries: 0}'
	rm -f /dev/shm/vx11-scope-pid
	start_daemon
	sid=$(submit_task server)
	wait_running "$sid"
	wait_for 30 test -s /dev/shm/vx11-scope-pid
	id=$(submit_task scoped)
	if ! landlock_has 6 "$id"; then
		call task.cancel "{\"task_id\":\"$sid\"}" >/dev/null
		rm -f /dev/shm/vx11-scope-pid
		skip "this kernel's Landlock has no scoping (the strict task type was refused, as it should be)"
	fi
	equals "$(task_logs "$id" stdout)" "abstract: denied
signal: denied"
	id=$(submit_task open)
	wait_status "$id" completed 80 >/dev/null
	equals "$(task_logs "$id" stdout)" "abstract: reached
signal: sent"
	call task.cancel "{\"task_id\":\"$sid\"}" >/dev/null
	rm -f /dev/shm/vx11-scope-pid
}

@test "filesystem with private_tmp: a rule on /tmp covers the daughter's own fresh /tmp" {
	policy_file '.limits.max_running = 1
		| .tasks.tmpw = {command: ["/bin/sh", "-c", "echo x >/tmp/ok && cat /tmp/ok && echo written; echo y >/var/tmp/no 2>/dev/null || echo \"var/tmp: not written\""],
			private_tmp: true, max_retries: 0,
			filesystem: {write: ["/tmp"], exec: ["/usr", "/bin", "/lib", "/lib64"]}}'
	start_daemon
	id=$(submit_task tmpw)
	t=$(wait_task "$id" '.task.status == "completed" or .task.status == "failed"' 80)
	if [[ $(jq -r .task.status <<<"$t") == failed ]]; then
		check_json "$(attempt_of "$t")" '(.error_message | test("Landlock"))'
		skip "this kernel has no Landlock"
	fi
	equals "$(task_logs "$id" stdout)" "x
written
var/tmp: not written"
}
