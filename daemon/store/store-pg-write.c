/* SPDX-License-Identifier: MIT */
/*
 * The writes of the PostgreSQL store: records, pauses, dependencies and
 * retention's deletes. Each opens the transaction if none is open
 * (pg_run()); store_commit() ends it.
 */
#include <errno.h>
#include <stdio.h>
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

int pg_intent_insert(Store *s, const IntentRecord *r)
{
	return insert_row(s, PG_INTENT_INSERT, &pg_table_intents, r, NULL);
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

/* The database numbers tasks (an identity column): the INSERT returns it. */
int pg_task_insert(Store *s, Task *t)
{
	PGresult *res;
	int r;

	r = insert_row(s, PG_TASK_INSERT, &pg_table_tasks, t, &res);
	if (r < 0)
		return r;
	if (PQntuples(res) == 1)
		t->seq = (uint64_t)pg_get_i64(res, 0, 0);
	else
		r = pg_fail(s, -EIO, "tasks: the insert returned no seq");
	PQclear(res);
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
