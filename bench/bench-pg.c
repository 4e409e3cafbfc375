/* SPDX-License-Identifier: MIT */
/*
 * bench-pg: issue 13's main risk measured first (FLEET-DESIGN.md 7, P0):
 * how many durable submits per second PostgreSQL takes on this machine.
 *
 * A durable submit is what the QUEUED path writes (bench-sqlite.c): one
 * intents_log row and one tasks row, here into the PostgreSQL tables of
 * FLEET-DESIGN.md 2.1 with the indexes it keeps, committed with
 * synchronous_commit on (the server's default: COMMIT returns once the WAL
 * is flushed). No daemon: the rate a store thread that batched perfectly
 * could reach. Rows:
 *   (a) one submit per transaction, one at a time: the commit latency
 *   (b) libpq pipeline mode, --batch submits per transaction (one
 *       prepared INSERT per row), up to --inflight transactions in flight
 *   (c) the same with one multi-row INSERT ... unnest($1::text[], ...) per
 *       table per batch (the coalescing of FLEET-DESIGN.md 3.1)
 *   (d) --conns connections in parallel, each as (b) or (c), whichever
 *       was faster
 *   (e) as (c), SET LOCAL synchronous_commit = off: not durable, for
 *       scale only (what the work costs without waiting for the flush)
 * Then vx11d's own PostgreSQL store (store-pg*.c, blocking: one round trip
 * per statement) through the store API, the rows of bench-sqlite.c: in
 * durable batches of --batch (beside row b and the SQLite floor) and one per
 * durable commit (beside row a), in a schema of its own.
 * Floors measured in the same run on the same disk (--sync-dir): a bare
 * write+fdatasync loop (the latency under row a) and the SQLite floor of
 * bench-submit (the same rows through vx11d's store, batches of --batch).
 * Each row starts on empty tables after a CHECKPOINT, so that each pays
 * its full-page writes alike. WAL bytes per submit come from the server's
 * WAL insert position: a count that does not depend on the machine's speed.
 *
 * The cluster is not started here: bench/run.sh --pg-only starts a private
 * one (bench/pg-cluster.sh) and passes its URI.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench-pg.h"
#include "bench.h"
#include "store/store.h"

typedef struct Options {
	const char *conninfo, *sync_dir;
	uint64_t submits, one;
	unsigned batch, inflight, conns;
	double max_seconds;
	bool quick;
} Options;

/* The latency under row (a): append a small record and fdatasync it, one at a time. */
static int fsync_floor(const char *dir, uint64_t n, double max_seconds, double *p50_us, double *p99_us,
                       double *rate)
{
	char path[4096], rec[256];
	uint64_t *lat = calloc(n + 1, sizeof(uint64_t)), t0, i;
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/bench-pg-floor-%d.sync", dir, (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !lat) {
		r = -errno;
		fprintf(stderr, "bench-pg: %s: %s\n", path, strerror(errno));
		free(lat);
		if (fd >= 0)
			close(fd);
		return r;
	}
	memset(rec, 'x', sizeof(rec));
	t0 = bench_now_ns();
	for (i = 0; i < n && (max_seconds <= 0 || bench_now_ns() - t0 < (uint64_t)(max_seconds * 1e9));
	     i++) {
		uint64_t s = bench_now_ns();
		if (write(fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec) || fdatasync(fd) < 0) {
			r = -errno;
			break;
		}
		lat[i] = bench_now_ns() - s;
	}
	*rate = (double)i / ((double)(bench_now_ns() - t0) / 1e9);
	bench_sort_u64(lat, i);
	*p50_us = bench_percentile(lat, i, 0.50) / 1000.0;
	*p99_us = bench_percentile(lat, i, 0.99) / 1000.0;
	free(lat);
	close(fd);
	(void)unlink(path);
	return r;
}

static void usage(void)
{
	printf(
	    "Usage: bench-pg --conninfo URI [options]\n"
	    "Durable submits (an intents_log row and a tasks row) on PostgreSQL, beside floors.\n"
	    "      --conninfo URI       the database (bench/run.sh --pg-only starts a private cluster)\n"
	    "      --sync-dir DIR       where the fdatasync and SQLite floors write (the cluster's disk)\n"
	    "      --submits N          submits per pipelined row (default 100000)\n"
	    "      --one N              submits one at a time in row (a) (default 2000, at most 10 s)\n"
	    "      --batch N            submits per transaction when pipelined (default 256)\n"
	    "      --inflight N         transactions in flight per connection (default 4)\n"
	    "      --conns N            connections of row (d) (default 4)\n"
	    "      --quick              a short run (figures indicative only)\n");
}

static int parse_options(int argc, char *argv[], Options *o)
{
	enum {
		ARG_CONNINFO = 0x100,
		ARG_SYNC_DIR,
		ARG_SUBMITS,
		ARG_ONE,
		ARG_BATCH,
		ARG_INFLIGHT,
		ARG_CONNS,
		ARG_QUICK
	};
	static const struct option opts[] = {{"conninfo", required_argument, NULL, ARG_CONNINFO},
	                                     {"sync-dir", required_argument, NULL, ARG_SYNC_DIR},
	                                     {"submits", required_argument, NULL, ARG_SUBMITS},
	                                     {"one", required_argument, NULL, ARG_ONE},
	                                     {"batch", required_argument, NULL, ARG_BATCH},
	                                     {"inflight", required_argument, NULL, ARG_INFLIGHT},
	                                     {"conns", required_argument, NULL, ARG_CONNS},
	                                     {"quick", no_argument, NULL, ARG_QUICK},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {}};
	bool submits_set = false, one_set = false;
	int c;

	*o = (Options){
	    .submits = 100000, .one = 2000, .batch = 256, .inflight = 4, .conns = 4, .max_seconds = 10};
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
		char *end = NULL;
		unsigned long long v = optarg ? strtoull(optarg, &end, 10) : 0;
		bool bad = optarg && (*end || v == 0);
		switch (c) {
		case ARG_CONNINFO:
			o->conninfo = optarg;
			bad = false;
			break;
		case ARG_SYNC_DIR:
			o->sync_dir = optarg;
			bad = false;
			break;
		case ARG_SUBMITS:
			o->submits = v;
			submits_set = true;
			break;
		case ARG_ONE:
			o->one = v;
			one_set = true;
			break;
		case ARG_BATCH:
			o->batch = (unsigned)v;
			break;
		case ARG_INFLIGHT:
			bad = bad || v > INFLIGHT_MAX;
			o->inflight = (unsigned)v;
			break;
		case ARG_CONNS:
			bad = bad || v > MAX_CONNS;
			o->conns = (unsigned)v;
			break;
		case ARG_QUICK:
			o->quick = true;
			break;
		case 'h':
			usage();
			exit(0);
		default:
			return -EINVAL;
		}
		if (bad) {
			fprintf(stderr, "bench-pg: bad value for --%s: %s\n", opts[c - ARG_CONNINFO].name,
			        optarg);
			return -EINVAL;
		}
	}
	if (optind < argc || !o->conninfo) {
		fprintf(stderr, "bench-pg: %s\n",
		        optind < argc ? "unexpected arguments" : "--conninfo is required");
		return -EINVAL;
	}
	if (o->quick) {
		if (!submits_set)
			o->submits = 20000;
		if (!one_set)
			o->one = 300;
		o->max_seconds = 3;
	}
	return 0;
}

/* n submits through vx11d's PostgreSQL store, batches of `batch`, in a
 * schema of its own (store_floor()). */
static int pg_store_rate(PGconn *ctl, const char *conninfo, uint64_t n, unsigned batch, double *ret_rate,
                         double *ret_cpu_us)
{
	char url[2048];
	Store *s = NULL;
	int r;

	if (exec_sql(ctl, "DROP SCHEMA IF EXISTS vx11_store_bench CASCADE; CREATE SCHEMA vx11_store_bench") < 0)
		return -EIO;
	if (strncmp(conninfo, "postgres", 8) == 0)
		snprintf(url, sizeof(url), "%s%soptions=-csearch_path%%3Dvx11_store_bench", conninfo,
		         strchr(conninfo, '?') ? "&" : "?");
	else
		snprintf(url, sizeof(url), "%s options=-csearch_path=vx11_store_bench", conninfo);
	r = store_open_url(url, "bench", &s);
	if (r < 0)
		fprintf(stderr, "bench-pg: the PostgreSQL store cannot open: %s\n", store_last_error(NULL));
	else
		r = store_floor(s, n, batch, ret_rate, ret_cpu_us);
	store_free(s);
	(void)exec_sql(ctl, "DROP SCHEMA IF EXISTS vx11_store_bench CASCADE");
	return r;
}

static void goal_line(const Row *r)
{
	if (!r->measured)
		return;
	double x = r->rate / GOAL_RATE;
	printf("  %-58s %9s/s  %5.2fx of %s/s  %s\n", r->name, GROUP(r->rate), x, GROUP(GOAL_RATE),
	       r->errors     ? "INVALID (errors)"
	       : !r->durable ? "(not durable: not a goal row)"
	       : x >= 1      ? "PASS"
	                     : "MISS");
}

int main(int argc, char *argv[])
{
	enum { ROW_ONE, ROW_ROWS, ROW_UNNEST, ROW_PARALLEL, ROW_ASYNC, _ROW_MAX };
	Row rows[_ROW_MAX] = {};
	PGconn *pgs[MAX_CONNS] = {}, *ctl;
	int pids[MAX_CONNS], ctl_pid, rc = 0;
	double fs_p50 = 0, fs_p99 = 0, fs_rate = 0, sq_rate = 0, sq_cpu = 0;
	double st_rate = 0, st_cpu = 0, st1_rate = 0, st1_cpu = 0;
	bool fs_ok = false, sq_ok = false, st_ok, st1_ok;
	char buf[4][64], name[5][96];
	Options o;

	if (parse_options(argc, argv, &o) < 0)
		return 2;
	ctl = open_conn(o.conninfo, false, &ctl_pid);
	if (!ctl || exec_sql(ctl, schema_sql) < 0)
		return 1;
	for (unsigned i = 0; i < o.conns; i++)
		if (!(pgs[i] = open_conn(o.conninfo, true, &pids[i])))
			return 1;

	bench_print_machine("vx11d PostgreSQL durable submits (issue 13, P0)");
	bench_print_load("at the start");
	printf("server: PostgreSQL %s; fsync %s, synchronous_commit %s, full_page_writes %s, "
	       "wal_sync_method %s, "
	       "data on %s\n",
	       query_text(ctl, "SHOW server_version", buf[0], sizeof(buf[0])),
	       query_text(ctl, "SHOW fsync", buf[1], sizeof(buf[1])),
	       query_text(ctl, "SHOW synchronous_commit", buf[2], sizeof(buf[2])),
	       query_text(ctl, "SHOW full_page_writes", buf[3], sizeof(buf[3])),
	       query_text(ctl, "SHOW wal_sync_method", (char[64]){}, 64),
	       o.sync_dir ? o.sync_dir : "(unknown)");
	printf("settings: %" PRIu64 " submits per pipelined row, %" PRIu64
	       " one at a time (at most %.0f s), "
	       "batches of %u, %u in flight per connection, %u connections in row (d)%s\n",
	       o.submits, o.one, o.max_seconds, o.batch, o.inflight, o.conns, o.quick ? " (--quick)" : "");
	fflush(stdout);

	fprintf(stderr, "measuring:\n");
	if (o.sync_dir) {
		fprintf(stderr, "  floor: write+fdatasync\n");
		fs_ok = fsync_floor(o.sync_dir, o.one, o.max_seconds, &fs_p50, &fs_p99, &fs_rate) >= 0;
	}
	snprintf(name[0], sizeof(name[0]), "(a) 1 submit/txn, one at a time");
	snprintf(name[1], sizeof(name[1]), "(b) pipeline, %u/txn, row INSERTs, 1 conn", o.batch);
	snprintf(name[2], sizeof(name[2]), "(c) pipeline, %u/txn, unnest INSERTs, 1 conn", o.batch);
	snprintf(name[4], sizeof(name[4]), "(e) as (c), synchronous_commit off");
	rows[ROW_ONE].name = name[0];
	rows[ROW_ROWS].name = name[1];
	rows[ROW_UNNEST].name = name[2];
	rows[ROW_ASYNC].name = name[4];
	run_row(ctl, pgs, pids, &rows[ROW_ONE], 1, MODE_ROWS, 1, 1, false, o.one, o.max_seconds);
	run_row(ctl, pgs, pids, &rows[ROW_ROWS], 1, MODE_ROWS, o.batch, o.inflight, false, o.submits, 0);
	run_row(ctl, pgs, pids, &rows[ROW_UNNEST], 1, MODE_UNNEST, o.batch, o.inflight, false, o.submits, 0);
	Mode best = rows[ROW_UNNEST].rate >= rows[ROW_ROWS].rate ? MODE_UNNEST : MODE_ROWS;
	snprintf(name[3], sizeof(name[3]), "(d) as (%c), %u conns", best == MODE_UNNEST ? 'c' : 'b',
	         o.conns);
	rows[ROW_PARALLEL].name = name[3];
	run_row(ctl, pgs, pids, &rows[ROW_PARALLEL], o.conns, best, o.batch, o.inflight, false,
	        o.submits * o.conns, 0);
	run_row(ctl, pgs, pids, &rows[ROW_ASYNC], 1, MODE_UNNEST, o.batch, o.inflight, true, o.submits, 0);
	if (o.sync_dir) {
		fprintf(stderr, "  floor: SQLite, %" PRIu64 " submits in synced batches of %u\n", o.submits,
		        o.batch);
		sq_ok = sqlite_floor(o.sync_dir, o.submits, o.batch, &sq_rate, &sq_cpu) >= 0;
	}
	fprintf(stderr, "  vx11d's PostgreSQL store: %" PRIu64 " submits in durable batches of %u, %" PRIu64
	        " one per commit\n", o.submits, o.batch, o.one);
	st_ok = pg_store_rate(ctl, o.conninfo, o.submits, o.batch, &st_rate, &st_cpu) >= 0;
	st1_ok = pg_store_rate(ctl, o.conninfo, o.one, 1, &st1_rate, &st1_cpu) >= 0;
	if (!st_ok || !st1_ok)
		rc = 1;

	printf("\n%-46s %9s %10s %7s %9s %9s %8s %8s %8s\n", "row", "submits", "submits/s", "x SQLite",
	       "txn p50", "txn p99", "WAL B", "srv µs", "cli µs");
	for (unsigned i = 0; i < _ROW_MAX; i++) {
		const Row *r = &rows[i];
		if (!r->measured)
			continue;
		printf("%-46s %9s %10s %7.2fx %7.0fµs %7.0fµs %8.0f %8.1f %8.1f%s\n", r->name,
		       GROUP(r->submits), GROUP(r->rate), sq_ok && sq_rate > 0 ? r->rate / sq_rate : 0,
		       r->p50_us, r->p99_us, r->wal_bytes, r->backend_cpu_us, r->client_cpu_us,
		       r->errors ? "  ERRORS" : "");
		if (r->errors) {
			printf("  %" PRIu64 " submits failed; first error: %s\n", r->errors, r->first_error);
			rc = 1;
		}
	}
	printf(
	    "x SQLite: submits/s / the SQLite floor's. txn p50/p99: send to COMMIT's sync, per transaction "
	    "(pipelined: behind up to %u in flight).\n"
	    "WAL B: WAL bytes the server wrote per submit (pg_current_wal_insert_lsn, full-page images "
	    "after the row's CHECKPOINT included).\n"
	    "srv µs / cli µs: CPU per submit of the backend(s) (/proc; the WAL writer and checkpointer not "
	    "counted) and of this program's thread(s) (libpq + building the statements).\n",
	    o.inflight);
	if (fs_ok)
		printf("\nfloor: write+fdatasync one at a time on %s: p50 %.0f µs, p99 %.0f µs (%s/s)\n",
		       o.sync_dir, fs_p50, fs_p99, GROUP(fs_rate));
	if (sq_ok)
		printf("floor: SQLite, the same rows through vx11d's store in synced batches of %u: %s "
		       "submits/s, "
		       "%.1f µs CPU per submit\n",
		       o.batch, GROUP(sq_rate), sq_cpu);
	if (st_ok)
		printf("store: vx11d's PostgreSQL store (blocking), the same rows in durable batches of %u: %s "
		       "submits/s, %.2fx row (b), %.2fx the SQLite floor; %.1f µs CPU per submit\n",
		       o.batch, GROUP(st_rate), rows[ROW_ROWS].rate > 0 ? st_rate / rows[ROW_ROWS].rate : 0,
		       sq_ok && sq_rate > 0 ? st_rate / sq_rate : 0, st_cpu);
	if (st1_ok)
		printf("store: the same, one submit per durable commit: %s submits/s, %.2fx row (a); %.1f µs "
		       "CPU per submit\n",
		       GROUP(st1_rate), rows[ROW_ONE].rate > 0 ? st1_rate / rows[ROW_ONE].rate : 0, st1_cpu);
	if (fs_ok && rows[ROW_ONE].measured && fs_p50 > 0)
		printf("(a) p50 / fdatasync p50: %.2fx, p99 / fdatasync p99: %.2fx\n",
		       rows[ROW_ONE].p50_us / fs_p50, fs_p99 > 0 ? rows[ROW_ONE].p99_us / fs_p99 : 0);

	printf("\ngoal: durable submits >= %s/s pipelined (issue 13)%s:\n", GROUP(GOAL_RATE),
	       o.quick ? " (--quick: indicative only)" : "");
	for (unsigned i = 0; i < _ROW_MAX; i++)
		goal_line(&rows[i]);
	printf("\n");
	bench_print_load("at the end");
	for (unsigned i = 0; i < o.conns; i++)
		PQfinish(pgs[i]);
	(void)exec_sql(ctl, "DROP TABLE IF EXISTS intents_log, tasks");
	PQfinish(ctl);
	return rc;
}
