#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Run store test programs against the PostgreSQL backend:
#   tests/unit/with-pg.sh PROGRAM...
# starts a private cluster (bench/pg-cluster.sh, in /var/tmp), runs each
# program with VX11_TEST_DATABASE set to its URI (store-test.h then makes a
# schema per database), stops the cluster, and prints one TAP stream: each
# program's cases renumbered in sequence, named after their program.
# Exit 77 (skip) when PostgreSQL's server binaries are not installed; any
# other failure fails.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
export PG_BIN

if [ ! -x "$PG_BIN/initdb" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
	echo "1..0 # SKIP no PostgreSQL server in $PG_BIN (install postgresql-15, or set PG_BIN)"
	exit 77
fi
[ $# -gt 0 ] || { echo "Bail out! usage: with-pg.sh PROGRAM..."; exit 1; }

dir=$(mktemp -d /var/tmp/vx11-pg-test.XXXXXX) || { echo "Bail out! mktemp failed"; exit 1; }
out=$(mktemp /tmp/vx11-pg-out.XXXXXX) || { rmdir "$dir"; echo "Bail out! mktemp failed"; exit 1; }
cleanup() {
	"$top/bench/pg-cluster.sh" stop "$dir" >/dev/null || echo "# pg-cluster.sh stop $dir failed"
	rm -f "$out" "$out.tap"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

url=$("$top/bench/pg-cluster.sh" start "$dir" 2>"$out") || {
	sed 's/^/# /' "$out"
	echo "Bail out! cannot start a PostgreSQL cluster"
	exit 1
}
echo "# PostgreSQL: $url"

n=0
failed=0
for prog in "$@"; do
	name=$(basename "$prog")
	VX11_TEST_DATABASE=$url "$prog" >"$out" 2>&1
	rc=$?
	# Renumber "ok N - x" as the next case, "name: x"; keep comments.
	awk -v base="$n" -v name="$name" -v rc="$rc" '
		/^1\.\.[0-9]+/ { next }
		/^(not )?ok [0-9]+/ {
			k++
			not = ($1 == "not")
			sub(/^(not )?ok [0-9]+ - /, "")
			printf "%sok %d - %s: %s\n", not ? "not " : "", base + k, name, $0
			next
		}
		/^Bail out!/ { bail = 1; printf "# %s: %s\n", name, $0; next }
		{ print }
		END {
			# A crash or a bail out is a failed case of its own.
			if (bail || (rc != 0 && rc != 1))
				printf "not ok %d - %s: bailed out or exited with status %d\n", base + k + 1, name, rc
		}' "$out" >"$out.tap"
	cat "$out.tap"
	n=$((n + $(grep -cE '^(not )?ok ' "$out.tap")))
	rm -f "$out.tap"
	[ "$rc" -eq 0 ] || failed=1
done
echo "1..$n"
exit $failed
