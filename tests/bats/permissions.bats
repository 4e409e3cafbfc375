#!/usr/bin/env bats
# Who may do what, with real users: the socket's mode and group, submitters
# confined to their own tasks, admins (root or group vx11-admin), and the
# per-uid connection cap. Needs root to create the test users and groups.

load helpers

USERS_IN_VX11=(vx11t_a vx11t_b)

setup_file() {
	[[ $(id -u) -eq 0 ]] || skip "needs root: creates users and groups, switches users with setpriv"
	local created=$BATS_FILE_TMPDIR/created
	: >"$created"
	# Groups first: the daemon resolves them when it starts.
	for g in vx11 vx11-admin; do
		if ! getent group "$g" >/dev/null; then
			groupadd --system "$g"
			echo "group $g" >>"$created"
		fi
	done
	add_user() { # NAME [GROUPS]
		getent passwd "$1" >/dev/null && return 0
		useradd -M -N -s /usr/sbin/nologin ${2:+-G "$2"} "$1"
		echo "user $1" >>"$created"
	}
	add_user vx11t_a vx11
	add_user vx11t_b vx11
	add_user vx11t_out
	add_user vx11t_adm vx11,vx11-admin
}

teardown_file() {
	local created=$BATS_FILE_TMPDIR/created kind name
	[[ -f $created ]] || return 0
	# Users before groups, each only if this file created it.
	while read -r kind name; do
		[[ $kind == user ]] && userdel "$name"
	done <"$created"
	while read -r kind name; do
		[[ $kind == group ]] && groupdel "$name"
	done <"$created"
	return 0
}

setup() {
	vx11_setup
	# These suites look at the queue and the protocol: no task starts
	# unless a test raises max_running (daughters.bats runs them).
	VX11_POLICY_PREFIX='.limits.max_running = 0'
	start_daemon
	# A copy every user may run, wherever the build tree is.
	if [[ -x $VX11CTL ]]; then
		install -m 0755 "$VX11CTL" "$T/vx11ctl"
	fi
}

teardown() {
	vx11_teardown
}

# rpc_as USER LINE: one request as USER, its reply line.
rpc_as() {
	as_user "$1" socat -t 5 - "UNIX-CONNECT:$VX11_SOCKET" <<<"$2"
}

# call_as USER METHOD [PARAMS]
call_as() {
	local user=$1
	shift
	rpc_as "$user" "$(req "$@")"
}

@test "the socket is mode 0660, owner root, group vx11" {
	equals "$(stat -c '%a %U %G' "$VX11_SOCKET")" "660 root vx11"
}

@test "a user outside group vx11 cannot connect (vx11ctl exit 3, Permission denied)" {
	[[ -x $T/vx11ctl ]] || skip "vx11ctl is not built"
	run -3 --separate-stderr as_user vx11t_out "$T/vx11ctl" --socket "$VX11_SOCKET" status
	[[ $stderr == *"Permission denied"* ]]
	# Not even the raw socket.
	run ! as_user vx11t_out socat -t 2 - "UNIX-CONNECT:$VX11_SOCKET" <<<"$(req daemon.status)"
	# A member can.
	check "$(call_as vx11t_a daemon.status)" '.result.pid == $p' --argjson p "$DAEMON_PID"
}

@test "a submitter sees and cancels only its own tasks" {
	env=$(call_as vx11t_a intent.submit '{"intent_type":"noop","require":{"spawner":true}}' | jq -c .result)
	check "$env" '.status == "QUEUED"'
	tid=$(jq -r .response.task_id <<<"$env")
	cid=$(jq -r .correlation_id <<<"$env")

	# vx11t_b: not found, not listed, not cancellable, no result.
	check_error "$(call_as vx11t_b task.get "{\"task_id\":\"$tid\"}")" -32002 vx11.NotFound 1
	check "$(call_as vx11t_b task.list)" '.result.count == 0'
	check_error "$(call_as vx11t_b task.cancel "{\"task_id\":\"$tid\"}")" -32002 vx11.NotFound 1
	check_error "$(call_as vx11t_b result.get "{\"correlation_id\":\"$cid\"}")" -32002 vx11.NotFound 1
	check_error "$(call_as vx11t_b events.subscribe "{\"task_id\":\"$tid\"}")" -32002 vx11.NotFound 1

	# vx11t_b's own task is visible to it only.
	btid=$(call_as vx11t_b intent.submit '{"intent_type":"noop","require":{"spawner":true}}' | jq -r .result.response.task_id)
	check "$(call_as vx11t_b task.list)" '.result.count == 1 and .result.tasks[0].id == $t' --arg t "$btid"
	check "$(call_as vx11t_a task.list)" '.result.count == 1 and .result.tasks[0].id == $t' --arg t "$tid"

	# The task is untouched, and its owner may cancel it.
	check "$(call_as vx11t_a task.get "{\"task_id\":\"$tid\"}")" '.result.task.status == "pending" and .result.task.uid == $u' --argjson u "$(id -u vx11t_a)"
	check "$(call_as vx11t_a task.cancel "{\"task_id\":\"$tid\"}")" '.result.status == "cancelled"'
	check "$(call_as vx11t_a result.get "{\"correlation_id\":\"$cid\"}")" '.result.status == "CANCELLED"'
}

@test "root and members of vx11-admin see everything" {
	atid=$(call_as vx11t_a intent.submit '{"intent_type":"noop","require":{"spawner":true}}' | jq -r .result.response.task_id)
	btid=$(call_as vx11t_b intent.submit '{"intent_type":"noop","require":{"spawner":true}}' | jq -r .result.response.task_id)
	check "$(result task.list)" '.count == 2'
	check "$(call_as vx11t_adm task.list)" '.result.count == 2'
	check "$(call_as vx11t_adm task.get "{\"task_id\":\"$atid\"}")" '.result.task.id == $t' --arg t "$atid"
	check "$(call_as vx11t_adm task.cancel "{\"task_id\":\"$atid\"}")" '.result.status == "cancelled"'
	check "$(call task.cancel "{\"task_id\":\"$btid\"}")" '.result.status == "cancelled"'
}

@test "audit.list and policy.reload: -32001 for a submitter, allowed for vx11-admin" {
	call_as vx11t_a intent.submit '{"intent_type":"hello"}' >/dev/null
	check_error "$(call_as vx11t_a audit.list)" -32001 vx11.PermissionDenied 1
	check_error "$(call_as vx11t_a policy.reload)" -32001 vx11.PermissionDenied 1
	audit=$(call_as vx11t_adm audit.list)
	check "$audit" '.result.count == 1 and .result.entries[0].uid == $u' --argjson u "$(id -u vx11t_a)"
	check "$(call_as vx11t_adm policy.reload)" 'has("result")'
}

@test "a task type limited to vx11-admin: -32001 for a submitter, fine for an admin" {
	policy_file '.tasks.restricted = {"command":["/bin/true"],"groups":["vx11-admin"]} | .sources.shub.groups = ["vx11-admin"]'
	result policy.reload >/dev/null
	reply=$(call_as vx11t_a intent.submit '{"intent_type":"restricted","require":{"spawner":true}}')
	check_error "$reply" -32001 vx11.PermissionDenied 1
	check "$(call_as vx11t_adm intent.submit '{"intent_type":"restricted","require":{"spawner":true}}')" '.result.status == "QUEUED"'
	# The same for a source.
	check_error "$(call_as vx11t_a intent.submit '{"intent_type":"noop","source":"shub"}')" -32001 vx11.PermissionDenied 1
	check "$(call_as vx11t_adm intent.submit '{"intent_type":"noop","source":"shub"}')" '.result.status == "DONE"'
	check "$(call_as vx11t_a intent.submit '{"intent_type":"noop","source":"operator"}')" '.result.status == "DONE"'
	check "$(result task.list)" '.count == 1'
}

@test "max_connections_per_uid: a third connection of one uid is refused, another uid still connects" {
	policy_file '.limits.max_connections_per_uid = 2'
	result policy.reload >/dev/null
	conn_open a1 as_user vx11t_a
	conn_open a2 as_user vx11t_a
	conn_send a1 "$(req daemon.status)"
	conn_send a2 "$(req daemon.status)"
	conn_wait a1 1
	conn_wait a2 1

	out=$(as_user vx11t_a socat -s -t 5 - "UNIX-CONNECT:$VX11_SOCKET" <<<"$(req daemon.status '' 3)" 2>/dev/null)
	equals "$(count_lines "$out")" 1
	check_error "$out" -32004 vx11.Busy null
	check "$out" '.error.message | test("max_connections_per_uid")'

	check "$(call_as vx11t_b daemon.status)" '.result.pid == $p' --argjson p "$DAEMON_PID"
	# The two open connections still work.
	conn_send a1 "$(req daemon.status '' 4)"
	conn_wait a1 2
	check "$(sed -n 2p "$T/a1.out")" '.id == 4'
}
