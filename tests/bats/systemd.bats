#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# vx11d under a real systemd: `make install DESTDIR=...` of this build, then
# one container that boots systemd as PID 1 (systemd-nspawn --volatile=yes,
# /usr from the host, the staged install bound over the prefix) and the path
# an administrator takes: sysusers and tmpfiles at boot, the socket unit, a
# first client activating the service, daughters in the delegated cgroup,
# the journal with its catalog, the watchdog, stop and restart.
#
# The tests share the container and run in order.

load helpers

CT_NAME=vx11-bats-$$

# ct CMD...: run CMD inside the container (all its namespaces).
ct() {
	nsenter -t "$(cat "$BATS_FILE_TMPDIR/ct.pid")" -a "$@"
}

# ctl ARGS...: the installed vx11ctl, inside the container, as root.
ctl() {
	ct "$(install_dir bindir)/vx11ctl" "$@"
}

# ct_wait TENTHS CMD...: like wait_for, inside the container.
ct_wait() {
	local tenths=$1
	shift
	wait_for "$tenths" ct "$@"
}

# running_daughter TASK_ID: wait until the task's daughter runs; print the
# pid of a process in its job cgroup (found through the cgroup, not asked).
running_daughter() {
	local job root own
	ct_wait_task 100 "$1" '.task.status == "running" and .daughters[-1].attempts[-1].cgroup != null' || return 1
	job=$(ctl --json task "$1" | jq -r '.daughters[-1].attempts[-1].cgroup')
	root=$(ctl --json status | jq -r .cgroup.job_root)
	ct_wait 50 grep -q . "$root/$job/cgroup.procs" || return 1
	ct head -n 1 "$root/$job/cgroup.procs"
}

# The ids of the tasks waiting in the queue, sorted.
pending_tasks() {
	ctl --json tasks --status pending | jq -r '.tasks[].id' | sort
}

# ct_wait_task TENTHS TASK_ID FILTER: until FILTER holds of the task.get result.
ct_wait_task() {
	wait_for "$1" task_holds "$2" "$3"
}

# jq 1.6 -e exits 0 on empty input: a failed vx11ctl must not count as true.
task_holds() {
	local out
	out=$(ctl --json task "$1") && [[ -n $out ]] && jq -e "$2" <<<"$out" >/dev/null
}

main_pid() {
	ct systemctl show -P MainPID vx11d.service
}

# How many policy reloads vx11d has logged (POLICY_LOADED).
reloads() {
	ct journalctl -u vx11d.service -o cat MESSAGE_ID=6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f12 | grep -c . || true
}

# ct_policy JQ_FILTER: the installed default policy transformed by
# JQ_FILTER becomes the container's policy; reload it if vx11d runs.
ct_policy() {
	local conf=$VX11_CONFDIR/policy.json
	ct sh -c "jq '$1' '$(install_dir pkgdatadir)/policy/default.json' >'$conf.new' && mv '$conf.new' '$conf'"
	if [[ $(ct systemctl is-active vx11d.service) == active ]]; then
		local n
		n=$(reloads)
		ct systemctl reload vx11d.service
		wait_for 50 eval '[[ $(reloads) -gt $n ]]'
	fi
}

# The default policy's task types, runnable in this container: its cgroup v1
# controllers are read-only, so memory_max cannot be applied and a strict
# task type would (rightly) be refused; best-effort runs them and records
# what it could not apply.
RUNNABLE='.tasks |= with_entries(.value.enforce = "best-effort")'

setup_file() {
	local prefix=$VX11_PREFIX stage nspawn pid i
	[[ $(id -u) -eq 0 ]] || skip "needs root to boot a container"
	command -v systemd-nspawn >/dev/null || skip "systemd-nspawn is not installed (package systemd-container)"
	[[ -n ${VX11_INSTALL_DIRS:-} ]] || skip "needs the installation directories from make check"
	[[ $prefix != /usr ]] || skip "installed under /usr, which the container takes from the host: configure another --prefix"

	stage=$BATS_FILE_TMPDIR/stage
	stage_install "$stage"
	# The container sees the host's /usr and nothing else of it: the staged
	# prefix is bound where the binaries expect it, and its lib/ where
	# systemd looks for units, sysusers.d, tmpfiles.d and catalogs.
	local binds=(--bind="$stage$prefix:$prefix")
	[[ $prefix == /usr/local ]] || binds+=(--bind-ro="$stage$prefix/lib:/usr/local/lib")
	[[ $VX11_CONFDIR == "$prefix"/* ]] && rm -f "$stage$VX11_CONFDIR/policy.json"

	# With --keep-unit nspawn puts the container under its caller's cgroup:
	# give each run one of its own, so that two runs at once (build/ and
	# build-san/) never share a system.slice.
	local cgs=() h
	for h in /sys/fs/cgroup /sys/fs/cgroup/unified /sys/fs/cgroup/systemd; do
		[[ $(stat -fc %T "$h" 2>/dev/null) == cgroup* ]] || continue
		mkdir -p "$h/$CT_NAME" && cgs+=("$h/$CT_NAME")
	done
	printf '%s\n' "${cgs[@]}" >"$BATS_FILE_TMPDIR/cgroups"
	# run_nspawn ARGS...: a container of the host's / in this run's cgroups.
	run_nspawn() {
		for h in "${cgs[@]}"; do echo "$BASHPID" >"$h/cgroup.procs"; done
		exec systemd-nspawn --register=no --keep-unit --volatile=yes -D / --private-network "$@"
	}
	# Can this host run a container at all? Only then is a failure a skip.
	if ! (run_nspawn -q /bin/true) </dev/null >"$BATS_FILE_TMPDIR/probe.log" 2>&1; then
		skip "systemd-nspawn cannot run a container here: $(tail -n 3 "$BATS_FILE_TMPDIR/probe.log")"
	fi
	(run_nspawn -M "$CT_NAME" "${binds[@]}" -b -- systemd.firstboot=off systemd.show_status=false) \
		</dev/null >"$BATS_FILE_TMPDIR/boot.log" 2>&1 &
	nspawn=$!
	echo "$nspawn" >"$BATS_FILE_TMPDIR/nspawn.pid"
	for ((i = 0; i < 300; i++)); do
		# The container's init, once nspawn's short-lived helpers are gone.
		pid=$(ps -o pid=,comm= --ppid "$nspawn" | awk '$2 == "systemd" { print $1 }')
		[[ -n $pid ]] && break
		if ! kill -0 "$nspawn" 2>/dev/null; then
			echo "systemd-nspawn ended before booting:" >&2
			cat "$BATS_FILE_TMPDIR/boot.log" >&2
			return 1
		fi
		sleep 0.1
	done
	[[ -n $pid ]] || { cat "$BATS_FILE_TMPDIR/boot.log" >&2; return 1; }
	echo "$pid" >"$BATS_FILE_TMPDIR/ct.pid"
	# Until its bus is up systemctl cannot ask; then --wait waits for the
	# boot. "degraded" is fine: units of the host that cannot run here.
	local state= start=$SECONDS
	for ((i = 0; ; i++)); do
		state=$(timeout 5 nsenter -t "$pid" -a systemctl is-system-running --wait 2>/dev/null) || true
		[[ $state =~ ^(running|degraded)$ ]] && break
		((SECONDS < start + 120)) || break
		sleep 0.1
	done
	if ! [[ $state =~ ^(running|degraded)$ ]]; then
		echo "boot did not finish (state: $state); jobs left:" >&2
		ct systemctl list-jobs --no-pager >&2 || true
		tail -n 30 "$BATS_FILE_TMPDIR/boot.log" >&2
		return 1
	fi
	# What this build needs that the unit rightly does not give, in one
	# drop-in: a prefix the unit's sandbox hides from it (distcheck installs
	# under /tmp, which PrivateTmp= replaces), and for a sanitizer build no
	# LeakSanitizer (it stops the world with ptrace at exit, which the unit's
	# system call filter denies; leaks are checked by the other suites).
	local dropin=
	case $prefix in
	/tmp/* | /var/tmp/*) dropin+='PrivateTmp=no\n' ;;
	/home/* | /root/* | /run/user/*) dropin+='ProtectHome=no\n' ;;
	esac
	ldd "$stage$(install_dir sbindir)/vx11d" | grep -q libasan && dropin+='Environment=ASAN_OPTIONS=detect_leaks=0\n'
	if [[ -n $dropin ]]; then
		ct mkdir -p /run/systemd/system/vx11d.service.d
		ct sh -c "printf '[Service]\n$dropin' >/run/systemd/system/vx11d.service.d/build.conf"
		ct systemctl daemon-reload
		# The instance the boot started has not got it yet.
		ct systemctl stop vx11d.service
		ct systemctl reset-failed vx11d.service
	fi
}

teardown_file() {
	local nspawn i cg
	nspawn=$(cat "$BATS_FILE_TMPDIR/nspawn.pid" 2>/dev/null) || return 0
	# SIGTERM makes nspawn power the container off cleanly.
	if kill -TERM "$nspawn" 2>/dev/null; then
		for ((i = 0; i < 300; i++)); do
			kill -0 "$nspawn" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$nspawn" 2>/dev/null || true
	fi
	# This run's cgroups, deepest first (empty once the container is gone).
	while read -r cg; do
		for ((i = 0; i < 50; i++)); do
			find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
			[[ -d $cg ]] || break
			sleep 0.1
		done
	done <"$BATS_FILE_TMPDIR/cgroups"
}

setup() {
	vx11_tmpdir
}

# A failed test must not leave its drop-in to the next one.
teardown() {
	if ct test -e /run/systemd/system/vx11d.service.d/watchdog.conf; then
		ct rm -f /run/systemd/system/vx11d.service.d/watchdog.conf
		ct systemctl daemon-reload
	fi
}

@test "boot: systemd is PID 1, sysusers made the groups, tmpfiles the policy, the units verify" {
	[[ $(ct cat /proc/1/comm) == systemd ]]
	ct getent group vx11
	ct getent group vx11-admin
	ct test -d /var/lib/vx11
	ct test -d /run/vx11
	# tmpfiles.d copied the packaged default policy into the (empty) /etc.
	ct cmp "$VX11_CONFDIR/policy.json" "$(install_dir pkgdatadir)/policy/default.json"
	# Documentation= is checked against man when the pages are where man looks.
	# (--man=no: the container's /etc has no man configuration; install.bats
	# reads every page with man.)
	run ct systemd-analyze verify --man=no vx11d.service vx11d.socket
	echo "$output"
	[[ $status -eq 0 && -z $output ]]
}

@test "the socket unit listens; the first vx11ctl status starts vx11d" {
	# The first boot applied the presets (enabled, started): start over
	# from the socket alone.
	ct systemctl stop vx11d.service vx11d.socket
	ct systemctl start vx11d.socket
	[[ $(ct systemctl is-active vx11d.service) == inactive ]]
	[[ $(ct stat -c '%a %U %G' /run/vx11/vx11.sock) == "660 root vx11" ]]

	run ctl status
	[[ $status -eq 0 ]]
	[[ $output == *"journal: yes"* ]]
	[[ $(ct systemctl is-active vx11d.service) == active ]]
	[[ $(ct systemctl show -P Type vx11d.service) == notify ]]
	[[ $(ctl --json status | jq -r .pid) == "$(main_pid)" ]]
	# Started through the socket, this very instance says so in the journal.
	ct journalctl -o cat "_SYSTEMD_INVOCATION_ID=$(ct systemctl show -P InvocationID vx11d.service)" |
		grep -q "socket (from the service manager)"
	# READY=1 and a status line went to systemd.
	[[ $(ct systemctl show -P StatusText vx11d.service) == Serving* ]]
}

@test "daughters run in the service's delegated cgroup subtree" {
	ct_policy "$RUNNABLE"
	run ctl submit noop --spawner --wait --timeout 30
	echo "$output"
	[[ $status -eq 0 ]]

	local tid pid cg own job
	tid=$(ctl --json submit sleep --spawner | jq -r .response.task_id)
	pid=$(running_daughter "$tid")
	job=$(ctl --json task "$tid" | jq -r '.daughters[-1].attempts[-1].cgroup')
	cg=$(ct cat "/proc/$pid/cgroup" | sed -n 's/^0:://p')
	own=$(ct systemctl show -P ControlGroup vx11d.service)
	echo "daughter $pid ($job) in $cg, service in $own"
	[[ $cg == "$own/daughters/$job" ]]
	[[ $(ct cat "/proc/$pid/comm") == sleep ]]
	# The container's v1 controllers are read-only: vx11d treats them as
	# missing, and the best-effort attempt records the limits it ran without.
	if ct test -d /sys/fs/cgroup/memory && ! ct test -w /sys/fs/cgroup/memory; then
		[[ $(ctl --json task "$tid" | jq -r '.daughters[-1].attempts[-1].unapplied') == *memory_max* ]]
	fi
	# vx11d moved itself out of the service's root into a leaf of its own.
	[[ $(ct cat "/proc/$(main_pid)/cgroup" | sed -n 's/^0:://p') == "$own/daemon" ]]
	[[ $(ctl --json status | jq -r .cgroup.job_root) == */"${own#/}/daughters" ]]
	# Under the daughter's own uid, not the service's.
	[[ $(ct stat -c %u "/proc/$pid") == "$(ctl --json task "$tid" | jq -r '.daughters[-1].attempts[-1].uid')" ]]
	[[ $(ct stat -c %u "/proc/$pid") -ne 0 ]]
	ctl cancel "$tid"
}

@test "the unit's sandbox: no host network and no CAP_NET_ADMIN, CAP_CHOWN or CAP_SYS_RESOURCE, and daughters still work" {
	ct_policy "$RUNNABLE"' | .tasks.netcheck = {command: ["/bin/sh", "-c", "tail -n +3 /proc/self/net/dev | cut -d: -f1 | tr -d \" \"; /bin/systemd-notify WATCHDOG=1 STATUS=beat-under-unit"],
		network: true, enforce: "best-effort", heartbeat_seconds: 10, max_retries: 0}
		| .tasks.lonet = {command: ["/bin/sh", "-c", "tail -n +3 /proc/self/net/dev | cut -d: -f1 | tr -d \" \""],
		network: false, enforce: "best-effort", max_retries: 0}'
	local pid bnd tid
	pid=$(main_pid)
	bnd=$(ct sed -n 's/^CapBnd:[[:space:]]*//p' "/proc/$pid/status")
	echo "vx11d CapBnd $bnd"
	# CAP_CHOWN (0), CAP_NET_ADMIN (12), CAP_SYS_RESOURCE (24) gone; CAP_SYS_ADMIN (21), CAP_KILL (5) kept.
	(( (0x$bnd >> 0 & 1) == 0 && (0x$bnd >> 12 & 1) == 0 && (0x$bnd >> 24 & 1) == 0 ))
	(( (0x$bnd >> 21 & 1) == 1 && (0x$bnd >> 5 & 1) == 1 ))
	# vx11d's network is loopback only (PrivateNetwork=yes) ...
	[[ $(ct sh -c "tail -n +3 /proc/$pid/net/dev | cut -d: -f1 | tr -d ' '") == lo ]]
	# ... and so is every daughter's, "network": true or not; the one that
	# beats through its notify socket (no longer chowned to it) is heard.
	for t in netcheck lonet; do
		tid=$(ctl --json submit "$t" --spawner | jq -r .response.task_id)
		ct_wait_task 150 "$tid" '.task.status == "completed"'
		[[ $(ctl logs "$tid") == lo ]]
	done
	tid=$(ctl --json tasks --status completed | jq -r '[.tasks[] | select(.task_type == "netcheck")][-1].id')
	[[ $(ctl --json task "$tid" | jq -r '.daughters[-1].attempts[-1].status_text') == beat-under-unit ]]
}

@test "systemctl stop leaves no process behind; the socket brings vx11d back" {
	ct_policy "$RUNNABLE"
	local tid pid own
	tid=$(ctl --json submit sleep --spawner | jq -r .response.task_id)
	pid=$(running_daughter "$tid")
	own=$(ct systemctl show -P ControlGroup vx11d.service)
	local mnt
	mnt=$(ctl --json status | jq -r .cgroup.unified_root)
	ct test -d "$mnt$own/daughters"

	ct systemctl stop vx11d.service
	[[ $(ct systemctl is-active vx11d.service) == inactive ]]
	[[ $(ct systemctl show -P Result vx11d.service) == success ]]
	run ct test -e "/proc/$pid"
	[[ $status -ne 0 ]]
	# Nothing left in the service's cgroup, daughters' subtree included.
	if ct test -d "$mnt$own"; then
		run ct sh -c "find '$mnt$own' -name cgroup.procs -exec cat {} +"
		[[ $status -eq 0 && -z $output ]]
	fi
	run ct pgrep -f '^/bin/sleep 30'
	[[ $status -ne 0 ]]
	# The socket stays; the next client starts vx11d again, and the
	# interrupted task is no longer "running".
	[[ $(ct systemctl is-active vx11d.socket) == active ]]
	ctl status >/dev/null
	[[ $(ct systemctl is-active vx11d.service) == active ]]
	# vx11d stopped the daughter itself (KillMode=mixed): interrupted, not
	# an exit or a signal of the daughter's own.
	run ctl --json task "$tid"
	[[ $(jq -r .task.status <<<"$output") != running ]]
	[[ $(jq -r '.daughters[0].attempts[-1].reason' <<<"$output") == interrupted ]]
	ctl cancel "$tid" >/dev/null 2>&1 || true
}

@test "journalctl -u vx11d: MESSAGE_ID and the VX11_ fields; journalctl -x explains them" {
	ct_policy "$RUNNABLE"
	local tid entries
	tid=$(ctl --json submit noop --spawner | jq -r .response.task_id)
	ct_wait_task 100 "$tid" '.task.status == "completed"'
	ct journalctl --sync
	entries=$(ct journalctl -u vx11d.service -o json "VX11_TASK_ID=$tid")
	echo "$entries"
	# queued, started, the daughter's end, completed: each with its id.
	[[ $(jq -s 'length' <<<"$entries") -ge 4 ]]
	jq -se 'all(.[]; (.MESSAGE_ID | test("^[0-9a-f]{32}$")) and .VX11_TASK_ID != null and
		(.PRIORITY | tonumber) <= 6 and ._SYSTEMD_UNIT == "vx11d.service")' <<<"$entries"
	jq -se 'any(.[]; .MESSAGE_ID == "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f03" and .VX11_STATUS == "QUEUED")' <<<"$entries"
	jq -se 'any(.[]; .MESSAGE_ID == "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f07" and .VX11_STATUS == "completed")' <<<"$entries"
	jq -se 'any(.[]; .VX11_DAUGHTER_ID != null)' <<<"$entries"
	# The task's own record tells the same story.
	[[ $(ctl --json task "$tid" | jq -r '.daughters[0].id') == \
		$(jq -rs 'map(select(.VX11_DAUGHTER_ID != null))[0].VX11_DAUGHTER_ID' <<<"$entries") ]]

	# The catalog, as a package's postinst makes it live.
	ct journalctl --update-catalog
	ct journalctl --list-catalog | grep -q 6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f07
	run ct journalctl -x --no-pager -u vx11d.service "VX11_TASK_ID=$tid" MESSAGE_ID=6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f07
	echo "$output"
	[[ $output == *"Defined-By: vx11d"* ]]
	[[ $output == *"$tid"* ]]
}

@test "a hung vx11d is noticed by the watchdog, killed and restarted with its queue" {
	ct mkdir -p /run/systemd/system/vx11d.service.d
	ct sh -c 'printf "[Service]\nWatchdogSec=2s\nTimeoutAbortSec=2s\n" >/run/systemd/system/vx11d.service.d/watchdog.conf'
	ct systemctl daemon-reload
	ct_policy "$RUNNABLE | .limits.max_running = 0"
	ct systemctl restart vx11d.service
	local before after old ids
	old=$(main_pid)
	before=$(ct systemctl show -P NRestarts vx11d.service)
	ids=$(for _ in 1 2 3; do ctl --json submit noop --spawner | jq -r .response.task_id; done | sort)
	# Fed from the event loop: while vx11d serves, the watchdog stays quiet.
	sleep 3
	[[ $(main_pid) == "$old" ]]

	ct kill -STOP "$old"
	ct_wait 200 sh -c "[ \"\$(systemctl show -P NRestarts vx11d.service)\" -gt $before ] && systemctl is-active -q vx11d.service"
	ct journalctl -u vx11d.service --no-pager | grep -q "Watchdog timeout"
	after=$(main_pid)
	[[ $after != "$old" && $after -gt 0 ]]
	# Every queued task is still there, still queued.
	[[ $(pending_tasks) == "$ids" ]]

	ct rm -f /run/systemd/system/vx11d.service.d/watchdog.conf
	ct systemctl daemon-reload
}

@test "systemctl restart keeps every queued task, and they then run" {
	ct_policy "$RUNNABLE | .limits.max_running = 0"
	local ids queued id
	ids=$(for _ in 1 2 3 4 5; do ctl --json submit noop --spawner | jq -r .response.task_id; done | sort)
	ct systemctl restart vx11d.service
	queued=$(pending_tasks)
	for id in $ids; do
		grep -qx "$id" <<<"$queued" || { echo "task $id lost its place in the queue" >&2; return 1; }
	done
	ct_policy "$RUNNABLE"
	for id in $ids; do
		ct_wait_task 150 "$id" '.task.status == "completed"'
	done
}
