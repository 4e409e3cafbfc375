/* SPDX-License-Identifier: MIT */
/*
 * The writes of the PostgreSQL store: records, pauses, dependencies and
 * retention's deletes. Each opens the transaction if none is open
 * (pg_run()); store_commit() ends it.
 *
 * Coalesced inserts (FLEET-DESIGN.md 3.1, P15): the intents_log and tasks
 * rows of a batch are not sent one INSERT each (a round trip, and ~3x the
 * server's CPU of one multi-row insert) but kept here as one PostgreSQL
 * array literal per column, and written by one
 * `INSERT ... SELECT * FROM unnest($1::text[], ...)` per table when anything
 * else is about to run on the connection (pg_run() calls pg_coalesce_flush()
 * first, so every later statement, read or write, sees them in order), when
 * a table holds PG_COALESCE_MAX rows, and before COMMIT. A task's seq (the
 * claim's FIFO order) is taken from the identity's sequence in blocks, once
 * per transaction, so that store_task_insert() still returns it; what a
 * transaction leaves of its block is dropped at its end (a sequence has gaps
 * anyway), so no node keeps old numbers for later tasks.
 *
 * What differs from one INSERT each: an id repeated within the batch is
 * found here (-EEXIST, as the server would say); any other failure of a
 * kept row (a repeat of a committed id, a NULL where the schema has none,
 * the connection) shows when the batch is written, and then fails the whole
 * transaction: its COMMIT reports -EIO and the loop withdraws the batch's
 * replies, as after a failed sync with SQLite. Nothing was acknowledged.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-pg-internal.h"

/* Run a write; *ret_changes (if given) the rows it changed. */
static int write_stmt(PgStore *s, unsigned idx, const PgParams *p, uint64_t *ret_changes)
{
	PGresult *res;
	int r;

	r = pg_run(s, idx, p, true, &res);
	if (r < 0)
		return r;
	if (ret_changes)
		*ret_changes = pg_changes(res);
	PQclear(res);
	return 0;
}

static int insert_row(PgStore *s, unsigned idx, const PgTable *t, const void *rec, PGresult **ret)
{
	PgParams p = {};
	PGresult *res;
	int r;

	r = pg_bind_row(s, &p, t, rec, 0);
	if (r < 0)
		return r;
	r = pg_run(s, idx, &p, true, &res);
	if (r < 0)
		return r;
	s->stats.rows_written++;
	if (ret)
		*ret = res;
	else
		PQclear(res);
	return 0;
}

static int update_row(PgStore *s, unsigned idx, const PgTable *t, const void *rec)
{
	PgParams p = {};
	uint64_t n = 0;
	int r;

	r = pg_bind_row(s, &p, t, rec, PG_MUTABLE | PG_KEY);
	if (r < 0)
		return r;
	r = write_stmt(s, idx, &p, &n);
	if (r < 0)
		return r;
	if (n == 0)
		return pg_fail(s, -ENOENT, "%s: no such id", t->name);
	s->stats.rows_written++;
	return 0;
}

static int coalesce_row(PgStore *s, unsigned which, const void *rec, uint64_t *seq);

int pg_intent_insert(Store *s, const IntentRecord *r)
{
	return coalesce_row(s, 0, r, NULL);
}

int pg_intent_update(Store *s, const IntentRecord *r)
{
	return update_row(s, PG_INTENT_UPDATE, &pg_table_intents, r);
}

int pg_intent_set_result(Store *s, const char *correlation_id, const char *result_status)
{
	PgParams p = {};
	uint64_t n = 0;
	int r;

	pg_param_str(&p, correlation_id);
	pg_param_str(&p, result_status);
	r = write_stmt(s, PG_INTENT_SET_RESULT, &p, &n);
	if (r >= 0 && n > 0)
		s->stats.rows_written++;
	return r;
}

/* The database numbers tasks (an identity column): the seq is taken from its
 * sequence here, the row written with the batch's others. */
int pg_task_insert(Store *s, Task *t)
{
	int r = coalesce_row(s, 1, t, &t->seq);

	return r < 0 ? r : pg_fleet_task_written(s, t, true);
}

/* A task this node claimed is written under its claim (pg_fence()). */
int pg_task_update(Store *s, const Task *t)
{
	int r = pg_fence(s, t->id, NULL);

	if (r >= 0)
		r = update_row(s, PG_TASK_UPDATE, &pg_table_tasks, t);
	return r < 0 ? r : pg_fleet_task_written(s, t, false);
}

int pg_daughter_insert(Store *s, const Daughter *d)
{
	int r = pg_fence(s, d->task_id, NULL);

	if (r >= 0)
		r = insert_row(s, PG_DAUGHTER_INSERT, &pg_table_daughters, d, NULL);
	if (r >= 0)
		pg_fence_note_daughter(s, d->task_id, d->id);
	return r;
}

int pg_daughter_update(Store *s, const Daughter *d)
{
	int r = pg_fence(s, d->task_id, NULL);

	return r < 0 ? r : update_row(s, PG_DAUGHTER_UPDATE, &pg_table_daughters, d);
}

int pg_daughter_heartbeat(Store *s, const char *daughter_id, uint64_t at)
{
	PgParams p = {};
	uint64_t n = 0;
	int r;

	r = pg_fence(s, NULL, daughter_id);
	if (r < 0)
		return r;
	pg_param_str(&p, daughter_id);
	pg_param_i64(&p, (int64_t)at);
	r = write_stmt(s, PG_DAUGHTER_HEARTBEAT, &p, &n);
	if (r < 0)
		return r;
	if (n == 0)
		return pg_fail(s, -ENOENT, "daughters: no such id");
	s->stats.rows_written++;
	return 0;
}

int pg_attempt_insert(Store *s, const Attempt *a)
{
	int r = pg_fence(s, a->task_id, NULL);

	return r < 0 ? r : insert_row(s, PG_ATTEMPT_INSERT, &pg_table_attempts, a, NULL);
}

int pg_attempt_update(Store *s, const Attempt *a)
{
	int r = pg_fence(s, a->task_id, NULL);

	return r < 0 ? r : update_row(s, PG_ATTEMPT_UPDATE, &pg_table_attempts, a);
}

int pg_pause_set(Store *s, const char *scope, uint64_t at, uid_t uid)
{
	PgParams p = {};

	pg_param_str(&p, scope);
	pg_param_i64(&p, (int64_t)at);
	pg_param_i64(&p, uid);
	return write_stmt(s, PG_PAUSE_SET, &p, NULL);
}

int pg_pause_clear(Store *s, const char *scope)
{
	PgParams p = {};

	pg_param_str(&p, scope);
	return write_stmt(s, PG_PAUSE_CLEAR, &p, NULL);
}

int pg_dep_insert(Store *s, const char *task_id, const char *after_id, bool after_any)
{
	PgParams p = {};
	int r;

	pg_param_str(&p, task_id);
	pg_param_str(&p, after_id);
	pg_param_bool(&p, after_any);
	/* Counted as SQLite's INSERT OR IGNORE is, a repeat too. */
	r = write_stmt(s, PG_DEP_INSERT, &p, NULL);
	if (r >= 0)
		s->stats.rows_written++;
	return r;
}

int pg_task_delete(Store *s, const char *task_id)
{
	/* Rows that point at the task first: the references are enforced. */
	static const unsigned order[] = {PG_TASK_DELETE_ATTEMPTS, PG_TASK_DELETE_DAUGHTERS, PG_TASK_DELETE_DEPS,
					 PG_TASK_DELETE_KEEP_RESULT, PG_TASK_DELETE};
	PgParams p = {};

	pg_param_str(&p, task_id);
	for (size_t i = 0; i < ELEMENTSOF(order); i++) {
		int r = write_stmt(s, order[i], &p, NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

static int prune_intents(PgStore *s, unsigned idx, uint64_t before, int64_t keep, unsigned limit, unsigned *n)
{
	char floor_id[ID_STRING_MAX];
	PgParams p = {};
	uint64_t changed = 0;
	int r;

	/* By correlation id, a UUIDv7 made at the row's created_at. */
	pg_id_floor(before, floor_id);
	pg_param_str(&p, floor_id);
	pg_param_i64(&p, keep);
	pg_param_i64(&p, limit);
	r = write_stmt(s, idx, &p, &changed);
	if (r < 0)
		return r;
	*n += (unsigned)changed;
	return 0;
}

int pg_intent_prune(Store *s, uint64_t before, int64_t keep, unsigned limit, unsigned *ret_n)
{
	int r = 0;

	*ret_n = 0;
	if (keep >= 0)
		r = prune_intents(s, PG_PRUNE_INTENTS_COUNT, before, keep, limit, ret_n);
	if (r >= 0 && before > 0 && *ret_n < limit)
		r = prune_intents(s, PG_PRUNE_INTENTS_AGE, before, keep, limit - *ret_n, ret_n);
	return r;
}

/* ---- Coalesced inserts ---- */

/* Rows of one table kept at most before they are written mid-batch: bounds
 * the memory and the linear search for a repeated id. */
#define PG_COALESCE_MAX 1024
/* The first block of seqs; then what the last transaction used, doubled. */
#define PG_SEQ_BLOCK_MIN 16

typedef struct PgBuf {
	char *p;
	size_t n, cap;
} PgBuf;

typedef struct PgPending {
	PgBuf col[PG_MAX_PARAMS]; /* "{...}": one array literal per bound column */
	unsigned n_cols;
	unsigned rows;
	char (*ids)[ID_STRING_MAX]; /* the rows' keys (column 0), to find a repeat */
	size_t ids_cap;
} PgPending;

struct PgCoalesce {
	PgPending t[2]; /* intents_log, tasks: written in this order */
	int64_t *seqs;  /* the transaction's block of task seqs */
	size_t n_seqs, next_seq, seq_cap;
	size_t block;  /* the next block's size */
	bool flushing; /* a reconnect inside the flush runs statements too */
};

static const PgTable *const coalesced[2] = {&pg_table_intents, &pg_table_tasks};

static const char *array_type(PgColType t)
{
	switch (t) {
	case PG_INT:
		return "integer";
	case PG_BOOL:
		return "boolean";
	case PG_U32:
	case PG_I64:
	case PG_U64:
		return "bigint";
	default:
		return "text";
	}
}

/* The SQL of the statements past _PG_STMT_MAX, columns as pg_bind_row()
 * binds an INSERT's (then node, or the seq given by the block). */
char *pg_coalesce_sql(unsigned i)
{
	const PgTable *t;
	const PgColumn *serial = NULL;
	char *sql = NULL;
	size_t size = 0;
	const char *sep = "";
	unsigned n = 0;
	FILE *f;

	/* The sequence looked up once (MATERIALIZED): pg_get_serial_sequence()
	 * per row was ~5 µs of the backend's CPU per task, nextval() ~1. */
	if (i == PG_COALESCE_SEQS)
		return strdup("WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence('tasks', 'seq')::regclass AS r)"
			      " SELECT nextval(s.r) FROM s, generate_series(1, $1::integer)");
	t = coalesced[i - PG_COALESCE_INTENTS];
	f = open_memstream(&sql, &size);
	if (!f)
		return NULL;
	fprintf(f, "INSERT INTO %s (", t->name);
	for (unsigned k = 0; k < t->n_columns; k++) {
		if (t->columns[k].flags & PG_SERIAL) {
			serial = &t->columns[k];
			continue;
		}
		fprintf(f, "%s%s", sep, t->columns[k].name);
		sep = ", ";
	}
	if (t->node)
		fputs(", node", f);
	if (serial)
		fprintf(f, ", %s) OVERRIDING SYSTEM VALUE", serial->name);
	else
		fputs(")", f);
	fputs(" SELECT * FROM unnest(", f);
	sep = "";
	for (unsigned k = 0; k < t->n_columns; k++) {
		if (t->columns[k].flags & PG_SERIAL)
			continue;
		fprintf(f, "%s$%u::%s[]", sep, ++n, array_type(t->columns[k].type));
		sep = ", ";
	}
	if (t->node)
		fprintf(f, ", $%u::text[]", ++n);
	if (serial)
		fprintf(f, ", $%u::bigint[]", ++n);
	fputs(")", f);
	if (fclose(f) != 0) {
		free(sql);
		return NULL;
	}
	return sql;
}

static int buf_add(PgBuf *b, const char *v, size_t len)
{
	if (b->n + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (b->n + len + 1 > cap)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, v, len);
	b->n += len;
	b->p[b->n] = 0;
	return 0;
}

/* One element of an array literal: NULL, or the value quoted, with " and \
 * escaped (the only characters that mean something inside the quotes). */
static int buf_add_element(PgBuf *b, const char *v)
{
	int r = buf_add(b, b->n ? "," : "{", 1);

	if (r < 0 || !v)
		return r < 0 ? r : buf_add(b, "NULL", 4);
	r = buf_add(b, "\"", 1);
	while (r >= 0 && *v) {
		size_t plain = strcspn(v, "\"\\");

		r = buf_add(b, v, plain);
		v += plain;
		if (r >= 0 && *v) {
			char esc[2] = {'\\', *v++};
			r = buf_add(b, esc, 2);
		}
	}
	return r < 0 ? r : buf_add(b, "\"", 1);
}

static PgCoalesce *coalesce_get(PgStore *s)
{
	if (!s->coalesce)
		s->coalesce = calloc(1, sizeof *s->coalesce);
	return s->coalesce;
}

bool pg_coalesce_pending(const PgStore *s)
{
	return s->coalesce && (s->coalesce->t[0].rows || s->coalesce->t[1].rows);
}

static void pending_clear(PgPending *q)
{
	for (unsigned k = 0; k < q->n_cols; k++)
		q->col[k].n = 0;
	q->rows = 0;
}

/* The end of a transaction, committed or not: kept rows (of a transaction
 * that failed) and the unused seqs go. */
void pg_coalesce_end(PgStore *s)
{
	PgCoalesce *c = s->coalesce;

	if (!c)
		return;
	pending_clear(&c->t[0]);
	pending_clear(&c->t[1]);
	if (c->next_seq)
		c->block = c->next_seq * 2;
	c->n_seqs = c->next_seq = 0;
}

void pg_coalesce_free(PgStore *s)
{
	PgCoalesce *c = s->coalesce;

	if (!c)
		return;
	for (unsigned i = 0; i < 2; i++) {
		for (unsigned k = 0; k < PG_MAX_PARAMS; k++)
			free(c->t[i].col[k].p);
		free(c->t[i].ids);
	}
	free(c->seqs);
	free(c);
	s->coalesce = NULL;
}

/* A failure of kept rows: the transaction goes with them (see the top). */
static int flush_failed(PgStore *s, int r)
{
	if (s->in_txn && !s->lost)
		PQclear(PQexec(s->conn, "ROLLBACK"));
	s->in_txn = false;
	s->txn_lost = true;
	pending_clear(&s->coalesce->t[0]);
	pending_clear(&s->coalesce->t[1]);
	return r;
}

static int flush_table(PgStore *s, PgCoalesce *c, unsigned i);

int pg_coalesce_flush(PgStore *s)
{
	PgCoalesce *c = s->coalesce;
	int r = 0;

	/* Once: a flush that finds the connection lost reconnects, and the
	 * reconnect's own statements (pg_reconnect()) come here again. */
	if (!c || c->flushing)
		return 0;
	c->flushing = true;
	for (unsigned i = 0; i < 2 && r >= 0; i++)
		r = flush_table(s, c, i);
	c->flushing = false;
	return r;
}

static int flush_table(PgStore *s, PgCoalesce *c, unsigned i)
{
	PgPending *q = &c->t[i];
	PgParams p = {};
	PGresult *res;
	uint64_t n;
	int r;

	if (!q->rows)
		return 0;
	for (unsigned k = 0; k < q->n_cols; k++) {
		r = buf_add(&q->col[k], "}", 1);
		if (r < 0)
			return flush_failed(s, pg_fail(s, -ENOMEM, "out of memory"));
		p.v[p.n++] = q->col[k].p;
	}
	r = pg_run(s, PG_COALESCE_INTENTS + i, &p, true, &res);
	if (r < 0)
		return flush_failed(s, r);
	n = pg_changes(res);
	PQclear(res);
	if (n != q->rows)
		return flush_failed(s, pg_fail(s, -EIO, "%s: %u rows kept, %" PRIu64 " written", coalesced[i]->name,
					       q->rows, n));
	pending_clear(q);
	return 0;
}

/* The next seq of this transaction's block, a new block when it is used up. */
static int next_seq(PgStore *s, PgCoalesce *c, int64_t *ret)
{
	if (c->next_seq == c->n_seqs) {
		size_t want = c->block < PG_SEQ_BLOCK_MIN ? PG_SEQ_BLOCK_MIN
			    : c->block > PG_COALESCE_MAX  ? PG_COALESCE_MAX
							  : c->block;
		PgParams p = {};
		PGresult *res;
		int r, rows;

		pg_param_i64(&p, (int64_t)want);
		r = pg_run(s, PG_COALESCE_SEQS, &p, false, &res);
		if (r < 0)
			return r;
		rows = PQntuples(res);
		if (c->n_seqs + (size_t)rows > c->seq_cap) {
			size_t cap = c->n_seqs + (size_t)rows + PG_COALESCE_MAX;
			int64_t *v = realloc(c->seqs, cap * sizeof *v);
			if (!v) {
				PQclear(res);
				return pg_fail(s, -ENOMEM, "out of memory");
			}
			c->seqs = v;
			c->seq_cap = cap;
		}
		for (int i = 0; i < rows; i++)
			c->seqs[c->n_seqs++] = pg_get_i64(res, i, 0);
		PQclear(res);
		if (c->next_seq == c->n_seqs)
			return pg_fail(s, -EIO, "tasks: no seq from the sequence");
		c->block = c->n_seqs * 2;
	}
	*ret = c->seqs[c->next_seq++];
	return 0;
}

/* Keep rec's row for the next flush; which = 0 intents, 1 tasks. A task's seq
 * is set from the block (*seq). */
static int coalesce_row(PgStore *s, unsigned which, const void *rec, uint64_t *seq)
{
	const PgTable *t = coalesced[which];
	PgCoalesce *c = coalesce_get(s);
	PgParams p = {};
	PgPending *q;
	int64_t v = 0;
	int r;

	if (!c)
		return pg_fail(s, -ENOMEM, "out of memory");
	if (s->txn_lost)
		return pg_fail(s, -EIO, "the transaction was rolled back after an error; commit first");
	/* As pg_run() would: a lost connection is tried again first. */
	if (s->lost && (r = store_reconnect(s)) < 0)
		return r;
	q = &c->t[which];
	r = pg_bind_row(s, &p, t, rec, 0);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < q->rows; i++)
		if (streq(q->ids[i], p.v[0]))
			return pg_fail(s, -EEXIST, "%s: UNIQUE constraint failed: %s %s is in this batch already",
				       t->name, t->columns[0].name, p.v[0]);
	if (q->rows == PG_COALESCE_MAX && (r = pg_coalesce_flush(s)) < 0)
		return r;
	if (seq) {
		r = next_seq(s, c, &v);
		if (r < 0)
			return r;
		pg_param_i64(&p, v);
	}
	if (q->rows == q->ids_cap) {
		size_t cap = q->ids_cap ? q->ids_cap * 2 : 64;
		char(*ids)[ID_STRING_MAX] = realloc(q->ids, cap * sizeof *ids);
		if (!ids)
			return pg_fail(s, -ENOMEM, "out of memory");
		q->ids = ids;
		q->ids_cap = cap;
	}
	q->n_cols = (unsigned)p.n;
	for (int k = 0; k < p.n; k++) {
		r = buf_add_element(&q->col[k], p.v[k]);
		if (r < 0) {
			/* The row is half in: the batch cannot be written as kept. */
			return flush_failed(s, pg_fail(s, -ENOMEM, "out of memory"));
		}
	}
	snprintf(q->ids[q->rows], ID_STRING_MAX, "%s", p.v[0]);
	q->rows++;
	s->stats.rows_written++;
	if (seq)
		*seq = (uint64_t)v;
	return 0;
}
