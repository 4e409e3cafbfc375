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

#include "bench.h"
#include "store/store.h"

#define GOAL_RATE     30000.0 /* issue 13: durable submits/s, pipelined */
#define INFLIGHT_MAX  64
#define MAX_CONNS     16
#define INTENT_PARAMS 15
#define TASK_PARAMS   14

/* FLEET-DESIGN.md 2.1: the two tables a submit writes and the indexes the
 * design keeps on them (6 index entries per pending submit: both keys,
 * tasks.id, tasks_status, tasks_uid, tasks_runnable). */
static const char *schema_sql =
    "SET client_min_messages = warning;"
    "DROP TABLE IF EXISTS intents_log, tasks;"
    "CREATE TABLE intents_log ("
    " correlation_id text COLLATE \"C\" PRIMARY KEY, created_at bigint NOT NULL,"
    " uid bigint NOT NULL, gid bigint NOT NULL, pid integer NOT NULL, source text NOT NULL,"
    " intent_type text NOT NULL, require_switch boolean NOT NULL, require_spawner boolean NOT NULL,"
    " priority smallint NOT NULL, status text NOT NULL, mode text NOT NULL, provider text, error text,"
    " task_id text COLLATE \"C\", idempotency_key text, params_digest text,"
    " processed_at bigint NOT NULL DEFAULT 0, result_status text, notes text, text text,"
    " payload_json text, envelope_json text, command_json text, node text NOT NULL);"
    "CREATE UNIQUE INDEX intents_log_idempotency ON intents_log (uid, idempotency_key)"
    " WHERE idempotency_key IS NOT NULL;"
    "CREATE TABLE tasks ("
    " seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, id text COLLATE \"C\" NOT NULL UNIQUE,"
    " intent_id text COLLATE \"C\" NOT NULL, source text NOT NULL, priority smallint NOT NULL,"
    " status text NOT NULL, task_type text NOT NULL, uid bigint NOT NULL,"
    " created_at bigint NOT NULL, updated_at bigint NOT NULL, current_retry integer NOT NULL,"
    " max_retries integer NOT NULL, mutation_level integer NOT NULL, next_attempt_at bigint NOT NULL,"
    " ttl_seconds bigint NOT NULL, description text, payload_json text, result_json text,"
    " command_json text, traceparent text, degraded boolean NOT NULL DEFAULT false,"
    " provider text, model text, plan_json text, claimed_by text,"
    " claim_seq integer NOT NULL DEFAULT 0, claimed_at bigint NOT NULL DEFAULT 0);"
    "CREATE INDEX tasks_status ON tasks (status, id);"
    "CREATE INDEX tasks_uid ON tasks (uid, status, id);"
    "CREATE INDEX tasks_runnable ON tasks (priority, seq)"
    " WHERE claimed_by IS NULL AND status IN ('pending', 'retrying');"
    "CREATE INDEX tasks_retry ON tasks (next_attempt_at) WHERE claimed_by IS NULL AND status = 'retrying';"
    "CREATE INDEX tasks_claimed ON tasks (claimed_by) WHERE claimed_by IS NOT NULL;";

#define INTENT_COLS                                                                                         \
	"correlation_id, created_at, uid, gid, pid, source, intent_type, require_switch, require_spawner, " \
	"priority, status, mode, provider, task_id, node"
#define TASK_COLS                                                                                           \
	"id, intent_id, source, priority, status, task_type, uid, created_at, updated_at, current_retry, "  \
	"max_retries, mutation_level, next_attempt_at, ttl_seconds"

static const char *prepare_sql[][2] = {
    {"ins_intent", "INSERT INTO intents_log (" INTENT_COLS ") VALUES "
                   "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"},
    {"ins_task", "INSERT INTO tasks (" TASK_COLS ") VALUES "
                 "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"},
    {"ins_intents",
     "INSERT INTO intents_log (" INTENT_COLS ") SELECT * FROM unnest("
     "$1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::int[], $6::text[], $7::text[], "
     "$8::bool[], $9::bool[], $10::smallint[], $11::text[], $12::text[], $13::text[], "
     "$14::text[], $15::text[])"},
    {"ins_tasks",
     "INSERT INTO tasks (" TASK_COLS ") SELECT * FROM unnest("
     "$1::text[], $2::text[], $3::text[], $4::smallint[], $5::text[], $6::text[], $7::bigint[], "
     "$8::bigint[], $9::bigint[], $10::int[], $11::int[], $12::int[], $13::bigint[], "
     "$14::bigint[])"},
};

typedef enum Mode { MODE_ROWS, MODE_UNNEST } Mode;

/* One connection's share of a row, run by run_work() (in a thread of its own for row d). */
typedef struct Work {
	PGconn *pg;
	int backend_pid;
	Mode mode;
	unsigned batch, inflight;
	bool sync_off;
	uint64_t total;
	double max_seconds;       /* stop sending after this long (0: never) */
	pthread_barrier_t *start; /* row d: everyone starts at once */
	/* out */
	uint64_t done, errors, t0_ns, t1_ns, backend_cpu_ns, client_cpu_ns;
	uint64_t *latency_ns; /* one per transaction */
	size_t n_latency;
	char first_error[200];
} Work;

/* What a row reports. */
typedef struct Row {
	const char *name;
	bool measured, durable;
	uint64_t submits, errors, commits;
	double rate, p50_us, p99_us, wal_bytes, backend_cpu_us, client_cpu_us;
	char first_error[200];
} Row;

typedef struct Options {
	const char *conninfo, *sync_dir;
	uint64_t submits, one;
	unsigned batch, inflight, conns;
	double max_seconds;
	bool quick;
} Options;

/* A Postgres array literal of values that need no quoting (ids, words, numbers). */
typedef struct Arr {
	char *buf;
	size_t len, cap;
} Arr;

static void arr_start(Arr *a)
{
	a->len = 0;
	if (a->cap < 2) {
		a->cap = 4096;
		a->buf = realloc(a->buf, a->cap);
		if (!a->buf)
			abort();
	}
	a->buf[a->len++] = '{';
}

static void arr_add(Arr *a, const char *v)
{
	size_t n = strlen(v);

	if (a->len + n + 3 > a->cap) {
		a->cap = (a->len + n + 3) * 2;
		a->buf = realloc(a->buf, a->cap);
		if (!a->buf)
			abort();
	}
	if (a->buf[a->len - 1] != '{')
		a->buf[a->len++] = ',';
	memcpy(a->buf + a->len, v, n);
	a->len += n;
}

static const char *arr_end(Arr *a)
{
	a->buf[a->len++] = '}';
	a->buf[a->len] = 0;
	return a->buf;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The values of one submit, as text parameters. */
typedef struct Submit {
	char cid[ID_STRING_MAX], tid[ID_STRING_MAX], now[24], pid[16];
	const char *intent[INTENT_PARAMS], *task[TASK_PARAMS];
} Submit;

/* id_new() keeps process-wide state; row (d) makes ids on several threads. */
static pthread_mutex_t id_lock = PTHREAD_MUTEX_INITIALIZER;

static void submit_new(Submit *s)
{
	pthread_mutex_lock(&id_lock);
	id_new_string(s->cid);
	id_new_string(s->tid);
	pthread_mutex_unlock(&id_lock);
	snprintf(s->now, sizeof(s->now), "%" PRIu64, now_realtime_usec());
	snprintf(s->pid, sizeof(s->pid), "%d", (int)getpid());
	const char *in[INTENT_PARAMS] = {s->cid,     s->now,    "0",       "0",    s->pid,
	                                 "operator", "noop",    "f",       "t",    "1",
	                                 "QUEUED",   "SPAWNER", "spawner", s->tid, "bench-node"};
	const char *t[TASK_PARAMS] = {s->tid, s->cid, "operator", "1", "pending", "noop", "0",
	                              s->now, s->now, "0",        "1", "0",       "0",    "-1"};
	memcpy(s->intent, in, sizeof(in));
	memcpy(s->task, t, sizeof(t));
}

static int send_plain(Work *w, const char *sql)
{
	return PQsendQueryParams(w->pg, sql, 0, NULL, NULL, NULL, NULL, 0) == 1 ? 0 : -EIO;
}

/* Queue one transaction of n submits and its sync; nothing waits here. */
static int send_batch(Work *w, unsigned n)
{
	static _Thread_local Arr ia[INTENT_PARAMS], ta[TASK_PARAMS];
	const char *iv[INTENT_PARAMS], *tv[TASK_PARAMS];
	Submit s;
	int r = send_plain(w, "BEGIN");

	if (r == 0 && w->sync_off)
		r = send_plain(w, "SET LOCAL synchronous_commit = off");
	if (r == 0 && w->mode == MODE_ROWS)
		for (unsigned i = 0; i < n && r == 0; i++) {
			submit_new(&s);
			if (PQsendQueryPrepared(w->pg, "ins_intent", INTENT_PARAMS, s.intent, NULL, NULL,
			                        0) != 1 ||
			    PQsendQueryPrepared(w->pg, "ins_task", TASK_PARAMS, s.task, NULL, NULL, 0) != 1)
				r = -EIO;
		}
	else if (r == 0) {
		for (unsigned k = 0; k < INTENT_PARAMS; k++)
			arr_start(&ia[k]);
		for (unsigned k = 0; k < TASK_PARAMS; k++)
			arr_start(&ta[k]);
		for (unsigned i = 0; i < n; i++) {
			submit_new(&s);
			for (unsigned k = 0; k < INTENT_PARAMS; k++)
				arr_add(&ia[k], s.intent[k]);
			for (unsigned k = 0; k < TASK_PARAMS; k++)
				arr_add(&ta[k], s.task[k]);
		}
		for (unsigned k = 0; k < INTENT_PARAMS; k++)
			iv[k] = arr_end(&ia[k]);
		for (unsigned k = 0; k < TASK_PARAMS; k++)
			tv[k] = arr_end(&ta[k]);
		if (PQsendQueryPrepared(w->pg, "ins_intents", INTENT_PARAMS, iv, NULL, NULL, 0) != 1 ||
		    PQsendQueryPrepared(w->pg, "ins_tasks", TASK_PARAMS, tv, NULL, NULL, 0) != 1)
			r = -EIO;
	}
	if (r == 0)
		r = send_plain(w, "COMMIT");
	if (r == 0 && PQpipelineSync(w->pg) != 1)
		r = -EIO;
	return r;
}

static void note_error(Work *w, const char *what)
{
	if (!w->first_error[0])
		snprintf(w->first_error, sizeof(w->first_error), "%s", what);
	w->first_error[strcspn(w->first_error, "\n")] = 0;
}

/*
 * Send transactions and read their results on one connection in pipeline
 * mode, keeping up to w->inflight of them in flight (transaction N+1 goes
 * out while N's flush runs). Transactions end in order, at their sync.
 */
static void *run_work(void *userdata)
{
	Work *w = userdata;
	struct {
		uint64_t sent_ns;
		unsigned n;
		bool failed;
	} ring[INFLIGHT_MAX];
	unsigned head = 0, tail = 0, inflight = 0;
	uint64_t sent = 0, deadline = 0, cpu0, backend0 = 0, backend1 = 0;
	size_t cap = (size_t)(w->total / w->batch + 2);
	bool stop = false;

	w->latency_ns = calloc(cap, sizeof(uint64_t));
	if (!w->latency_ns || PQenterPipelineMode(w->pg) != 1 || PQsetnonblocking(w->pg, 1) != 0) {
		note_error(w, "cannot enter pipeline mode");
		w->errors = w->total;
		return NULL;
	}
	if (w->start)
		pthread_barrier_wait(w->start);
	(void)bench_proc_cpu_ns(w->backend_pid, &backend0);
	cpu0 = thread_cpu_ns();
	w->t0_ns = bench_now_ns();
	if (w->max_seconds > 0)
		deadline = w->t0_ns + (uint64_t)(w->max_seconds * 1e9);
	while (!stop || inflight > 0) {
		while (!stop && inflight < w->inflight) {
			unsigned n = (unsigned)MIN((uint64_t)w->batch, w->total - sent);
			if (n == 0 || (deadline && bench_now_ns() > deadline)) {
				stop = true;
				break;
			}
			if (send_batch(w, n) < 0) {
				note_error(w, PQerrorMessage(w->pg));
				w->errors += w->total - sent;
				goto out;
			}
			ring[head] = (typeof(ring[0])){bench_now_ns(), n, false};
			head = (head + 1) % INFLIGHT_MAX;
			inflight++;
			sent += n;
		}
		int f = PQflush(w->pg);
		if (f < 0) {
			note_error(w, PQerrorMessage(w->pg));
			w->errors += w->total - w->done;
			goto out;
		}
		struct pollfd p = {PQsocket(w->pg), POLLIN | (f == 1 ? POLLOUT : 0), 0};
		if (inflight == 0)
			continue;
		if (poll(&p, 1, 30000) <= 0) {
			note_error(w, "no answer from the server in 30 s");
			w->errors += w->total - w->done;
			goto out;
		}
		if (!(p.revents & (POLLIN | POLLERR | POLLHUP)))
			continue;
		if (PQconsumeInput(w->pg) != 1) {
			note_error(w, PQerrorMessage(w->pg));
			w->errors += w->total - w->done;
			goto out;
		}
		/* A NULL ends one statement's results; two in a row: nothing more yet. */
		for (unsigned nulls = 0; inflight > 0 && nulls < 2 && !PQisBusy(w->pg);) {
			PGresult *res = PQgetResult(w->pg);
			if (!res) {
				nulls++;
				continue;
			}
			nulls = 0;
			switch (PQresultStatus(res)) {
			case PGRES_PIPELINE_SYNC:
				if (ring[tail].failed)
					w->errors += ring[tail].n;
				else
					w->done += ring[tail].n;
				if (w->n_latency < cap)
					w->latency_ns[w->n_latency++] = bench_now_ns() - ring[tail].sent_ns;
				tail = (tail + 1) % INFLIGHT_MAX;
				inflight--;
				break;
			case PGRES_COMMAND_OK:
			case PGRES_TUPLES_OK:
				break;
			default: /* an error, or the rest of its transaction aborted */
				note_error(w, PQresultErrorMessage(res));
				ring[tail].failed = true;
				break;
			}
			PQclear(res);
		}
	}
out:
	w->t1_ns = bench_now_ns();
	w->client_cpu_ns = thread_cpu_ns() - cpu0;
	if (bench_proc_cpu_ns(w->backend_pid, &backend1) == 0 && backend1 >= backend0)
		w->backend_cpu_ns = backend1 - backend0;
	(void)PQsetnonblocking(w->pg, 0);
	(void)PQexitPipelineMode(w->pg);
	return NULL;
}

static int exec_sql(PGconn *pg, const char *sql)
{
	PGresult *res = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(res);
	int r = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -EIO;

	if (r < 0)
		fprintf(stderr, "bench-pg: %.60s...: %s", sql, PQerrorMessage(pg));
	PQclear(res);
	return r;
}

/* The first column of the first row of a query, as text (empty on failure). */
static const char *query_text(PGconn *pg, const char *sql, char *buf, size_t size)
{
	PGresult *res = PQexec(pg, sql);

	buf[0] = 0;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
		snprintf(buf, size, "%s", PQgetvalue(res, 0, 0));
	else
		fprintf(stderr, "bench-pg: %s: %s", sql, PQerrorMessage(pg));
	PQclear(res);
	return buf;
}

static int64_t wal_position(PGconn *pg)
{
	char buf[32];

	return strtoll(query_text(pg, "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint",
	                          buf, sizeof(buf)),
	               NULL, 10);
}

/* A connection; with prepare, the INSERTs prepared (the tables must exist). */
static PGconn *open_conn(const char *conninfo, bool prepare, int *ret_pid)
{
	PGconn *pg = PQconnectdb(conninfo);

	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "bench-pg: cannot connect to %s: %s", conninfo, PQerrorMessage(pg));
		PQfinish(pg);
		return NULL;
	}
	for (size_t i = 0; prepare && i < ELEMENTSOF(prepare_sql); i++) {
		PGresult *res = PQprepare(pg, prepare_sql[i][0], prepare_sql[i][1], 0, NULL);
		bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
		PQclear(res);
		if (!ok) {
			fprintf(stderr, "bench-pg: prepare %s: %s", prepare_sql[i][0], PQerrorMessage(pg));
			PQfinish(pg);
			return NULL;
		}
	}
	*ret_pid = PQbackendPID(pg);
	return pg;
}

/* One row: empty tables, a checkpoint, then `conns` Works at once. */
static void run_row(PGconn *ctl, PGconn **pgs, const int *pids, Row *row, unsigned conns, Mode mode,
                    unsigned batch, unsigned inflight, bool sync_off, uint64_t total, double max_seconds)
{
	Work w[MAX_CONNS] = {};
	pthread_t th[MAX_CONNS];
	pthread_barrier_t barrier;
	uint64_t t0 = UINT64_MAX, t1 = 0, backend = 0, client = 0, *lat;
	size_t n_lat = 0;
	int64_t wal0;

	fprintf(stderr, "  %s\n", row->name);
	if (exec_sql(ctl, "TRUNCATE intents_log, tasks") < 0 || exec_sql(ctl, "CHECKPOINT") < 0)
		return;
	wal0 = wal_position(ctl);
	pthread_barrier_init(&barrier, NULL, conns);
	for (unsigned i = 0; i < conns; i++) {
		w[i] = (Work){.pg = pgs[i],
		              .backend_pid = pids[i],
		              .mode = mode,
		              .batch = batch,
		              .inflight = inflight,
		              .sync_off = sync_off,
		              .total = total / conns,
		              .max_seconds = max_seconds,
		              .start = conns > 1 ? &barrier : NULL};
		if (conns == 1)
			run_work(&w[0]);
		else if (pthread_create(&th[i], NULL, run_work, &w[i]) != 0)
			abort();
	}
	for (unsigned i = 0; conns > 1 && i < conns; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&barrier);

	row->durable = !sync_off;
	for (unsigned i = 0; i < conns; i++) {
		row->submits += w[i].done;
		row->errors += w[i].errors;
		t0 = MIN(t0, w[i].t0_ns);
		t1 = MAX(t1, w[i].t1_ns);
		backend += w[i].backend_cpu_ns;
		client += w[i].client_cpu_ns;
		n_lat += w[i].n_latency;
		if (!row->first_error[0] && w[i].first_error[0])
			snprintf(row->first_error, sizeof(row->first_error), "%s", w[i].first_error);
	}
	lat = calloc(n_lat + 1, sizeof(uint64_t));
	if (!lat)
		abort();
	n_lat = 0;
	for (unsigned i = 0; i < conns; i++) {
		memcpy(lat + n_lat, w[i].latency_ns, w[i].n_latency * sizeof(uint64_t));
		n_lat += w[i].n_latency;
		free(w[i].latency_ns);
	}
	bench_sort_u64(lat, n_lat);
	row->commits = n_lat;
	row->p50_us = bench_percentile(lat, n_lat, 0.50) / 1000.0;
	row->p99_us = bench_percentile(lat, n_lat, 0.99) / 1000.0;
	free(lat);
	if (row->submits > 0 && t1 > t0) {
		row->rate = (double)row->submits / ((double)(t1 - t0) / 1e9);
		row->backend_cpu_us = (double)backend / 1000.0 / (double)row->submits;
		row->client_cpu_us = (double)client / 1000.0 / (double)row->submits;
		row->wal_bytes = (double)(wal_position(ctl) - wal0) / (double)row->submits;
	}
	row->measured = true;
}

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
