/* SPDX-License-Identifier: MIT */
/*
 * bench-pg's load engine (bench-pg.h): durable submits, each one intents_log
 * row and one tasks row, sent in libpq's pipeline mode as one INSERT per row
 * or one unnest() INSERT per table per batch, by one thread per connection.
 */
#include <errno.h>
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
/* FLEET-DESIGN.md 2.1: the two tables a submit writes and the indexes the
 * design keeps on them (6 index entries per pending submit: both keys,
 * tasks.id, tasks_status, tasks_uid, tasks_runnable). */
const char *schema_sql =
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

int exec_sql(PGconn *pg, const char *sql)
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
const char *query_text(PGconn *pg, const char *sql, char *buf, size_t size)
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

int64_t wal_position(PGconn *pg)
{
	char buf[32];

	return strtoll(query_text(pg, "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint",
	                          buf, sizeof(buf)),
	               NULL, 10);
}

/* A connection; with prepare, the INSERTs prepared (the tables must exist). */
PGconn *open_conn(const char *conninfo, bool prepare, int *ret_pid)
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
void run_row(PGconn *ctl, PGconn **pgs, const int *pids, Row *row, unsigned conns, Mode mode,
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
