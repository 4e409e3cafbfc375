# SPDX-License-Identifier: MIT
# A private PostgreSQL cluster for a bats file (bench/pg-cluster.sh: initdb in
# /var/tmp as the postgres user, Unix socket only), a database of its own per
# test. Loaded after helpers by the files that run vx11d on PostgreSQL:
#   setup_file: pg_setup_file     teardown_file: pg_teardown_file
#   setup:      pg_setup_test (skips with the reason when no cluster can be
#               had; sets DB and URL, this test's database)

pg_setup_file() {
	if ! grep -q '^#define HAVE_STORE_PG' "$VX11_BUILDDIR/config.h"; then
		export PG_SKIP="this vx11d was built without libpq (configure found none)"
		return 0
	fi
	if [[ ! -x ${PG_BIN:-/usr/lib/postgresql/15/bin}/initdb ]]; then
		export PG_SKIP="no PostgreSQL server binaries (install postgresql-15, or set PG_BIN)"
		return 0
	fi
	PG_DIR=$(mktemp -d /var/tmp/vx11-bats-pg.XXXXXX)
	rmdir "$PG_DIR"
	PG_URL=$("$VX11_SRCDIR/bench/pg-cluster.sh" start "$PG_DIR")
	export PG_DIR PG_URL
}

pg_teardown_file() {
	[[ -z ${PG_DIR:-} ]] || "$VX11_SRCDIR/bench/pg-cluster.sh" stop "$PG_DIR"
}

pg_setup_test() {
	[[ -z ${PG_SKIP:-} ]] || skip "$PG_SKIP"
	DB=t$BATS_TEST_NUMBER
	psql "$PG_URL" -qAtc "CREATE DATABASE $DB"
	# The cluster's URI names database vx11: this test's instead.
	URL=${PG_URL/\/\/\/vx11\?/\/\/\/$DB?}
}
