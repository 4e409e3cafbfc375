#!/bin/sh
# SPDX-License-Identifier: MIT
#
# A private PostgreSQL cluster in a directory of its own, for benchmarks and
# tests (FLEET-DESIGN.md 6.2); it never touches a cluster it did not create.
#
#   bench/pg-cluster.sh start DIR   create DIR, initdb, start, create the
#                                   database; print its libpq URI on stdout
#   bench/pg-cluster.sh stop DIR    stop the postmaster DIR/data/postmaster.pid
#                                   names, then remove DIR
#
# DIR must not exist yet (or be empty); its parents must be traversable by
# the cluster's user (/var/tmp is: put DIR there, on a real disk, so that
# fsync costs what it costs). DIR is 0755 and holds data/ (0700), the Unix
# socket and the server log; no TCP port is opened.
#
# Environment:
#   PG_BIN   the server's binaries (default /usr/lib/postgresql/15/bin)
#   PG_USER  the user the cluster runs as when started by root (default
#            postgres); initdb refuses root. As another user, that user.
#   PG_PORT  names the socket file only (default 5432: the socket is in DIR)
#   PG_DB    the database created (default vx11)
#
# Why the postgres user: the server package creates it for running clusters
# and nothing else runs as it here. "nobody" is shared by unrelated services
# (any of them could then signal the postmaster or read its files), and a
# user made by this script would be a change to the system to undo.
#
# Who may connect: the socket is 0700 (unix_socket_permissions), so only
# the cluster's user and root (the daemon, the suite, the benchmark) can,
# with trust authentication; test daughters running under other uids cannot.
# Durability settings stay the server's defaults (fsync, synchronous_commit,
# full_page_writes on): the figures measured on it are honest.
set -eu

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PORT=${PG_PORT:-5432}
PG_DB=${PG_DB:-vx11}
MARK=.vx11-pg-cluster

die() {
	echo "pg-cluster.sh: $*" >&2
	exit 1
}

if [ "$(id -u)" -eq 0 ]; then
	PG_USER=${PG_USER:-postgres}
	id -u "$PG_USER" >/dev/null 2>&1 || die "no user $PG_USER (is postgresql-15 installed?)"
	[ "$(id -u "$PG_USER")" -ne 0 ] || die "PG_USER must not be root: initdb refuses it"
	as_user() { runuser -u "$PG_USER" -- "$@"; }
else
	PG_USER=$(id -un)
	as_user() { "$@"; }
fi

[ $# -eq 2 ] || die "usage: pg-cluster.sh start|stop DIR"
cmd=$1
case $2 in
/*) dir=$2 ;;
*) dir=$PWD/$2 ;;
esac

start() {
	[ -x "$PG_BIN/initdb" ] || die "no $PG_BIN/initdb (install postgresql-15, or set PG_BIN)"
	if [ -e "$dir" ]; then
		if [ ! -d "$dir" ] || [ -n "$(ls -A "$dir")" ]; then
			die "$dir exists and is not an empty directory"
		fi
	else
		mkdir "$dir"
	fi
	: >"$dir/$MARK"
	chmod 0755 "$dir"
	chown "$PG_USER" "$dir" "$dir/$MARK"
	# The user's own view: every parent must let it through.
	as_user test -x "$dir" -a -w "$dir" ||
		{ rm -rf "$dir"; die "$PG_USER cannot reach $dir: put it under a traversable parent (/var/tmp)"; }
	# From here a failure leaves nothing behind.
	trap 'stop >/dev/null 2>&1 || :' EXIT
	cd "$dir"
	# --no-sync: the catalogs of a throwaway cluster need not survive a
	# power cut; the measured writes still do (the server's own fsync).
	as_user "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale --no-sync \
		--no-instructions >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; die "initdb failed"; }
	as_user "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -s \
		-o "-k $dir -p $PG_PORT -c listen_addresses='' -c unix_socket_permissions=0700 -c fsync=on" \
		start ||
		{ tail -n 20 "$dir/server.log" >&2; die "pg_ctl start failed"; }
	as_user "$PG_BIN/psql" -X -q -h "$dir" -p "$PG_PORT" -U postgres -d postgres \
		-c "CREATE DATABASE $PG_DB" || die "CREATE DATABASE $PG_DB failed"
	trap - EXIT
	echo "postgresql:///$PG_DB?host=$dir&port=$PG_PORT&user=postgres"
}

# Stop by the pid the cluster wrote, after checking that it is the
# postmaster of this data directory (a pid may have been reused).
stop_cluster() {
	pidfile=$dir/data/postmaster.pid
	[ -f "$pidfile" ] || return 0
	pid=$(head -n 1 "$pidfile")
	case $pid in '' | *[!0-9]*) die "$pidfile: no pid in it" ;; esac
	[ -r "/proc/$pid/cmdline" ] || return 0
	if ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir/data"; then
		echo "pg-cluster.sh: pid $pid is not the postmaster of $dir/data; not signalled" >&2
		return 0
	fi
	# SIGINT: fast shutdown (rolls back sessions, writes a checkpoint);
	# SIGQUIT after 30 s: immediate; SIGKILL last.
	for sig in INT QUIT KILL; do
		kill -s "$sig" "$pid" 2>/dev/null || return 0
		i=0
		while [ $i -lt 300 ]; do
			kill -0 "$pid" 2>/dev/null || return 0
			sleep 0.1
			i=$((i + 1))
		done
	done
	die "pid $pid survived SIGKILL"
}

stop() {
	[ -d "$dir" ] || return 0
	# An empty one: a start that failed before it began (mktemp -d's).
	[ -n "$(ls -A "$dir")" ] || { rmdir "$dir"; return 0; }
	[ -f "$dir/$MARK" ] || die "$dir was not made by pg-cluster.sh (no $MARK): not touched"
	stop_cluster
	rm -rf "$dir"
}

case $cmd in
start) start ;;
stop) stop ;;
*) die "usage: pg-cluster.sh start|stop DIR" ;;
esac
