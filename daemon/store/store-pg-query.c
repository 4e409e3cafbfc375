/* SPDX-License-Identifier: MIT */
/*
 * The reads of the PostgreSQL store: one record by id, walks of a list,
 * counts, the intents an id prefix names, what holds a task back and what
 * retention may take. The SQL is in store-pg-schema.c.
 *
 * A blocking libpq call hands back the whole result, so a walk's rows are in
 * memory before its first callback: a callback may write, and even walk
 * again, without disturbing it. A second walk of the same kind from a
 * callback is still refused (-EBUSY), as SQLite's backend must, so callers
 * keep to what both backends do.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-pg-internal.h"

/* No limit is NULL (LIMIT NULL: all rows). */
static void param_limit(PgParams *p, uint64_t limit)
{
	if (limit)
		pg_param_i64(p, (int64_t)MIN(limit, (uint64_t)INT64_MAX));
	else
		pg_param_str(p, NULL);
}

static void param_uid(PgParams *p, uid_t uid)
{
	if (uid == (uid_t)-1)
		pg_param_str(p, NULL);
	else
		pg_param_i64(p, uid);
}

/* What an "after" of NULL means: below every id, or above it walking down. */
static const char *after_or_edge(const char *after, bool desc)
{
	return after ?: desc ? "~" : "";
}

void pg_id_floor(uint64_t at, char buf[static ID_STRING_MAX])
{
	uint64_t ms = at / USEC_PER_MSEC;

	if (at == 0)
		buf[0] = '\0';
	else
		snprintf(buf, ID_STRING_MAX, "%08" PRIx64 "-%04" PRIx64, (ms >> 16) & 0xffffffff, ms & 0xffff);
}

static int get_one(PgStore *s, unsigned idx, const PgParams *p, const PgTable *t, void *ret, size_t size)
{
	PgAnyRecord rec = {};
	PGresult *res;
	int r;

	r = pg_run(s, idx, p, false, &res);
	if (r < 0)
		return r;
	if (PQntuples(res) == 0)
		r = -ENOENT;
	else
		r = pg_read_row(s, res, 0, t, &rec, true);
	PQclear(res);
	if (r < 0)
		return r;
	memcpy(ret, &rec, size);
	return 0;
}

static int walk(PgStore *s, unsigned idx, const PgParams *p, const PgTable *t, PgAnyCallback cb, void *userdata)
{
	PGresult *res;
	int r;

	if (s->walking[idx])
		return pg_fail(s, -EBUSY, "a list of this kind is already being walked");
	r = pg_run(s, idx, p, false, &res);
	if (r < 0)
		return r;
	s->walking[idx] = true;
	for (int i = 0; i < PQntuples(res); i++) {
		PgAnyRecord rec = {};

		r = pg_read_row(s, res, i, t, &rec, false);
		if (r < 0)
			break;
		r = t->call(cb, &rec, userdata);
		if (r != 0)
			break;
	}
	s->walking[idx] = false;
	PQclear(res);
	return r;
}

/* The first column of a one-row result, as a number. */
static int count_one(PgStore *s, unsigned idx, const PgParams *p, uint64_t *ret)
{
	PGresult *res;
	int r;

	r = pg_run(s, idx, p, false, &res);
	if (r < 0)
		return r;
	if (PQntuples(res) != 1)
		r = pg_fail(s, -EIO, "count: %d rows", PQntuples(res));
	else
		*ret = (uint64_t)pg_get_i64(res, 0, 0);
	PQclear(res);
	return r;
}

int pg_intent_get(Store *s, const char *correlation_id, IntentRecord *ret)
{
	PgParams p = {};

	pg_param_str(&p, correlation_id);
	return get_one(s, PG_INTENT_GET, &p, &pg_table_intents, ret, sizeof *ret);
}

int pg_intent_find_idempotent(Store *s, uid_t uid, const char *key, IntentRecord *ret)
{
	PgParams p = {};

	if (!key)
		return -ENOENT;
	pg_param_i64(&p, uid);
	pg_param_str(&p, key);
	return get_one(s, PG_INTENT_IDEMPOTENT, &p, &pg_table_intents, ret, sizeof *ret);
}

int pg_intent_list(Store *s, const IntentFilter *f, store_intent_cb cb, void *userdata)
{
	PgParams p = {};

	pg_param_str(&p, after_or_edge(f->after, f->desc));
	param_uid(&p, f->uid);
	param_limit(&p, f->limit);
	return walk(s, f->desc ? PG_INTENT_LIST_DESC : PG_INTENT_LIST, &p, &pg_table_intents,
		    (PgAnyCallback){.intent = cb}, userdata);
}

int pg_intent_count(Store *s, uint64_t *ret)
{
	return count_one(s, PG_INTENT_COUNT, NULL, ret);
}

int pg_id_prefix_find(Store *s, const char *prefix, uid_t uid, IdMatch *ret, size_t max, size_t *ret_n)
{
	char last[ID_STRING_MAX] = "";
	PgParams p = {};
	PGresult *res;
	size_t n = 0;
	int r;

	/* Each intent gives at most two rows (its own, its task's). */
	pg_param_str(&p, prefix);
	param_uid(&p, uid);
	pg_param_i64(&p, 2 * ((int64_t)max + 1));
	r = pg_run(s, PG_ID_PREFIX, &p, false, &res);
	if (r < 0)
		return r;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *cid = PQgetisnull(res, i, 0) ? NULL : PQgetvalue(res, i, 0),
			   *tid = PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1);

		if (!cid || strlen(cid) >= ID_STRING_MAX || (tid && strlen(tid) >= ID_STRING_MAX)) {
			r = pg_fail(s, -EBADMSG, "id prefix: an id of the wrong length");
			break;
		}
		/* Sorted by correlation id: one intent's rows are neighbours. */
		if (streq(last, cid)) {
			if (tid && n <= max)
				snprintf(ret[n - 1].task_id, ID_STRING_MAX, "%s", tid);
			continue;
		}
		if (n > max)
			break;
		snprintf(last, sizeof last, "%s", cid);
		if (n < max) {
			snprintf(ret[n].correlation_id, ID_STRING_MAX, "%s", cid);
			snprintf(ret[n].task_id, ID_STRING_MAX, "%s", tid ?: "");
		}
		n++;
	}
	PQclear(res);
	if (r < 0)
		return r;
	*ret_n = n;
	return 0;
}

int pg_task_get(Store *s, const char *id, Task *ret)
{
	PgParams p = {};

	pg_param_str(&p, id);
	return get_one(s, PG_TASK_GET, &p, &pg_table_tasks, ret, sizeof *ret);
}

int pg_task_first_start(Store *s, const char *task_id, uint64_t *ret)
{
	PgParams p = {};
	PGresult *res;
	int r;

	pg_param_str(&p, task_id);
	r = pg_run(s, PG_TASK_FIRST_START, &p, false, &res);
	if (r < 0)
		return r;
	*ret = PQntuples(res) > 0 ? (uint64_t)pg_get_i64(res, 0, 0) : 0;
	PQclear(res);
	return 0;
}

/* A list's or a count's parameters ($1..$9, store-pg-schema.c); the
 * strings live in the caller's buffers until the statement ran. */
static void task_params(PgParams *p, const TaskFilter *f, bool list, char statuses[static 128],
			char id_min[static ID_STRING_MAX])
{
	const unsigned all = (1u << _TASK_STATUS_MAX) - 1;
	unsigned mask = f->status_mask ? f->status_mask & all : all;
	size_t len = 0;

	len += (size_t)snprintf(statuses, 128, "{");
	for (TaskStatus i = 0; i < _TASK_STATUS_MAX; i++)
		if (mask & (1u << i))
			len += (size_t)snprintf(statuses + len, 128 - len, "%s%s", len > 1 ? "," : "",
						task_status_to_string(i));
	snprintf(statuses + len, 128 - len, "}");
	pg_id_floor(f->since, id_min);

	pg_param_str(p, statuses);
	pg_param_str(p, list ? after_or_edge(f->after, f->desc) : NULL);
	pg_param_str(p, f->source);
	if (list)
		param_limit(p, f->limit);
	else
		pg_param_str(p, NULL);
	param_uid(p, f->uid);
	pg_param_str(p, id_min);
	pg_param_i64(p, (int64_t)MIN(f->since, (uint64_t)INT64_MAX));
	pg_param_i64(p, f->until ? (int64_t)MIN(f->until, (uint64_t)INT64_MAX) : INT64_MAX);
	pg_param_str(p, f->task_type);
}

int pg_task_list(Store *s, const TaskFilter *f, store_task_cb cb, void *userdata)
{
	char statuses[128], id_min[ID_STRING_MAX];
	PgParams p = {};

	task_params(&p, f, true, statuses, id_min);
	return walk(s, f->desc ? PG_TASK_LIST_DESC : PG_TASK_LIST, &p, &pg_table_tasks, (PgAnyCallback){.task = cb},
		    userdata);
}

int pg_task_count(Store *s, const TaskFilter *f, uint64_t *ret)
{
	char statuses[128], id_min[ID_STRING_MAX];
	PgParams p = {};

	task_params(&p, f, false, statuses, id_min);
	return count_one(s, PG_TASK_TOTAL, &p, ret);
}

int pg_task_count_by_status(Store *s, uint64_t counts[_TASK_STATUS_MAX])
{
	uint64_t c[_TASK_STATUS_MAX] = {};
	PGresult *res;
	int r;

	r = pg_run(s, PG_TASK_COUNT_STATUS, NULL, false, &res);
	if (r < 0)
		return r;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *name = PQgetvalue(res, i, 0);
		TaskStatus ts = task_status_from_string(name);

		if (ts < 0) {
			r = pg_fail(s, -EBADMSG, "tasks.status: unknown task status '%s'", name);
			break;
		}
		c[ts] = (uint64_t)pg_get_i64(res, i, 1);
	}
	PQclear(res);
	if (r < 0)
		return r;
	memcpy(counts, c, sizeof c);
	return 0;
}

int pg_task_count_by_type(Store *s, store_type_count_cb cb, void *userdata)
{
	PGresult *res;
	int r;

	r = pg_run(s, PG_TASK_COUNT_TYPE, NULL, false, &res);
	if (r < 0)
		return r;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *name = PQgetvalue(res, i, 1);
		TaskStatus ts = task_status_from_string(name);

		if (ts < 0) {
			r = pg_fail(s, -EBADMSG, "tasks.status: unknown task status '%s'", name);
			break;
		}
		if (cb(PQgetvalue(res, i, 0), ts, (uint64_t)pg_get_i64(res, i, 2), userdata))
			break;
	}
	PQclear(res);
	return r;
}

int pg_daughter_list(Store *s, const char *task_id, const char *status, uid_t owner, unsigned limit,
		     store_daughter_cb cb, void *userdata)
{
	PgParams p = {};

	pg_param_str(&p, task_id);
	pg_param_str(&p, status);
	param_limit(&p, limit);
	param_uid(&p, owner);
	return walk(s, PG_DAUGHTER_LIST, &p, &pg_table_daughters, (PgAnyCallback){.daughter = cb}, userdata);
}

static int attempt_walk(PgStore *s, unsigned idx, const char *key, store_attempt_cb cb, void *userdata)
{
	PgParams p = {};

	if (key)
		pg_param_str(&p, key);
	return walk(s, idx, &p, &pg_table_attempts, (PgAnyCallback){.attempt = cb}, userdata);
}

int pg_attempt_list(Store *s, const char *daughter_id, store_attempt_cb cb, void *userdata)
{
	return attempt_walk(s, PG_ATTEMPT_LIST, daughter_id, cb, userdata);
}

int pg_attempt_list_task(Store *s, const char *task_id, store_attempt_cb cb, void *userdata)
{
	return attempt_walk(s, PG_ATTEMPT_LIST_TASK, task_id, cb, userdata);
}

int pg_attempt_list_running(Store *s, store_attempt_cb cb, void *userdata)
{
	return attempt_walk(s, PG_ATTEMPT_LIST_RUNNING, s->node, cb, userdata);
}

int pg_attempt_list_adopted(Store *s, store_attempt_cb cb, void *userdata)
{
	return attempt_walk(s, PG_LEASE_ADOPTED_RUNNING, s->node, cb, userdata);
}

/* ---- What holds a task back ---- */

int pg_pause_list(Store *s, store_pause_cb cb, void *userdata)
{
	PGresult *res;
	int r;

	if (s->walking[PG_PAUSE_LIST])
		return pg_fail(s, -EBUSY, "a list of this kind is already being walked");
	r = pg_run(s, PG_PAUSE_LIST, NULL, false, &res);
	if (r < 0)
		return r;
	s->walking[PG_PAUSE_LIST] = true;
	for (int i = 0; i < PQntuples(res) && r == 0; i++)
		r = cb(PQgetvalue(res, i, 0), (uint64_t)pg_get_i64(res, i, 1), (uid_t)pg_get_i64(res, i, 2), userdata);
	s->walking[PG_PAUSE_LIST] = false;
	PQclear(res);
	return r;
}

/* Each row's first column as an id (and the second as a bool, with_any)
 * into an array: TaskDep or bare ids, elem bytes each. */
static int collect(PgStore *s, unsigned idx, const char *key, size_t elem, bool with_any, void **ret, size_t *ret_n)
{
	PgParams p = {};
	PGresult *res;
	char *v = NULL;
	size_t n;
	int r;

	*ret = NULL;
	*ret_n = 0;
	pg_param_str(&p, key);
	r = pg_run(s, idx, &p, false, &res);
	if (r < 0)
		return r;
	n = (size_t)PQntuples(res);
	if (n > 0) {
		v = calloc(n, elem);
		if (!v) {
			PQclear(res);
			return pg_fail(s, -ENOMEM, "task_deps: out of memory");
		}
	}
	for (size_t i = 0; i < n; i++) {
		/* Both layouts start with the id. */
		snprintf(v + i * elem, ID_STRING_MAX, "%s", PQgetvalue(res, (int)i, 0));
		if (with_any)
			((TaskDep *)(void *)v)[i].after_any = PQgetvalue(res, (int)i, 1)[0] == 't';
	}
	PQclear(res);
	*ret = v;
	*ret_n = n;
	return 0;
}

int pg_dep_list(Store *s, const char *task_id, TaskDep **ret, size_t *ret_n)
{
	_Static_assert(offsetof(TaskDep, after_id) == 0, "the id comes first");
	return collect(s, PG_DEP_LIST, task_id, sizeof(TaskDep), true, (void **)ret, ret_n);
}

int pg_dep_dependents(Store *s, const char *after_id, char (**ret)[ID_STRING_MAX], size_t *ret_n)
{
	return collect(s, PG_DEP_DEPENDENTS, after_id, ID_STRING_MAX, false, (void **)ret, ret_n);
}

/* ---- Retention ---- */

/* The ids one statement gives, added to v[*n..limit) unless there already. */
static int collect_candidates(PgStore *s, unsigned idx, TaskStatus status, uint64_t before, int64_t keep,
			      unsigned limit, char (*v)[ID_STRING_MAX], size_t *n)
{
	char floor_id[ID_STRING_MAX];
	PgParams p = {};
	PGresult *res;
	int r;

	/* Not pg_id_floor(): 0 is the epoch's millisecond here, as SQLite's. */
	snprintf(floor_id, sizeof floor_id, "%08" PRIx64 "-%04" PRIx64, ((before / USEC_PER_MSEC) >> 16) & 0xffffffff,
		 (before / USEC_PER_MSEC) & 0xffff);
	pg_param_str(&p, task_status_to_string(status));
	pg_param_i64(&p, (int64_t)MIN(before, (uint64_t)INT64_MAX));
	pg_param_i64(&p, keep);
	pg_param_i64(&p, limit);
	pg_param_str(&p, floor_id);
	r = pg_run(s, idx, &p, false, &res);
	if (r < 0)
		return r;
	for (int i = 0; i < PQntuples(res) && *n < limit; i++) {
		const char *id = PQgetvalue(res, i, 0);
		bool seen = false;

		for (size_t k = 0; k < *n && !seen; k++)
			seen = streq(v[k], id);
		if (!seen)
			snprintf(v[(*n)++], ID_STRING_MAX, "%s", id);
	}
	PQclear(res);
	return 0;
}

int pg_prune_candidates(Store *s, TaskStatus status, uint64_t before, int64_t keep, unsigned limit,
			char (**ret)[ID_STRING_MAX], size_t *ret_n)
{
	char (*v)[ID_STRING_MAX] = NULL;
	size_t n = 0;
	int r = 0;

	*ret = NULL;
	*ret_n = 0;
	if (!task_status_is_terminal(status))
		return pg_fail(s, -EINVAL, "only finished tasks are pruned");
	v = calloc(limit ?: 1, sizeof *v);
	if (!v)
		return pg_fail(s, -ENOMEM, "prune: out of memory");
	if (keep >= 0)
		r = collect_candidates(s, PG_PRUNE_TASKS_COUNT, status, before, keep, limit, v, &n);
	if (r >= 0 && before > 0)
		r = collect_candidates(s, PG_PRUNE_TASKS_AGE, status, before, keep, limit, v, &n);
	if (r < 0) {
		free(v);
		return r;
	}
	/* Oldest first, whichever bound found them. */
	qsort(v, n, sizeof *v, (int (*)(const void *, const void *))strcmp);
	*ret = v;
	*ret_n = n;
	return 0;
}
