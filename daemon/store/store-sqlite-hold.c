/* SPDX-License-Identifier: MIT */
/* What holds a task back (pauses, dependencies) and what lets one go
 * (retention), in SQLite (store.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-sqlite-internal.h"

int sqlite_pause_set(Store *s, const char *scope, uint64_t at, uid_t uid)
{
	sqlite3_stmt *st = s->stmt[STMT_PAUSE_SET];
	int rc, r;

	r = store_begin_write(s);
	if (r < 0)
		return r;
	rc = sqlite3_bind_text(st, 1, scope, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, (int64_t)at);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, uid);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(s, rc, "bind");
	return store_step_done(s, st, "pauses");
}

int sqlite_pause_clear(Store *s, const char *scope)
{
	sqlite3_stmt *st = s->stmt[STMT_PAUSE_CLEAR];
	int rc, r;

	r = store_begin_write(s);
	if (r < 0)
		return r;
	rc = store_bind_text(st, 1, scope);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(s, rc, "bind");
	return store_step_done(s, st, "pauses");
}

int sqlite_pause_list(Store *s, store_pause_cb cb, void *userdata)
{
	sqlite3_stmt *st = store_stmt_for_walk(s, STMT_PAUSE_LIST);
	int rc, r = 0;

	if (!st)
		return -EBUSY;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = cb((const char *)sqlite3_column_text(st, 0), (uint64_t)sqlite3_column_int64(st, 1),
		       (uid_t)sqlite3_column_int64(st, 2), userdata);
		if (r != 0)
			break;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail_sqlite(s, rc, "pauses");
	sqlite3_reset(st);
	return r;
}

int sqlite_dep_insert(Store *s, const char *task_id, const char *after_id, bool after_any)
{
	sqlite3_stmt *st = s->stmt[STMT_DEP_INSERT];
	int rc, r;

	r = store_begin_write(s);
	if (r < 0)
		return r;
	rc = sqlite3_bind_text(st, 1, task_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, after_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(st, 3, after_any);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(s, rc, "bind");
	r = store_step_done(s, st, "task_deps");
	if (r >= 0)
		store_count_write(s, STMT_DEP_INSERT);
	return r;
}

/* Each row's first column as an id (and the second as a bool, with_any) into
 * an array grown as needed: TaskDep or bare ids, elem bytes each. */
static int collect(Store *s, unsigned idx, const char *key, size_t elem, bool with_any, void **ret, size_t *ret_n)
{
	sqlite3_stmt *st = s->stmt[idx];
	char *v = NULL;
	size_t n = 0, cap = 0;
	int rc;

	*ret = NULL;
	*ret_n = 0;
	rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(s, rc, "bind");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);

		if (n == cap) {
			char *nv = reallocarray(v, cap = cap ? 2 * cap : 4, elem);
			if (!nv) {
				sqlite3_reset(st);
				free(v);
				return store_fail(s, -ENOMEM, "task_deps: out of memory");
			}
			v = nv;
		}
		memset(v + n * elem, 0, elem);
		/* Both layouts start with the id. */
		snprintf(v + n * elem, ID_STRING_MAX, "%s", id ?: "");
		if (with_any)
			((TaskDep *)(void *)v)[n].after_any = sqlite3_column_int(st, 1) != 0;
		n++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return store_fail_sqlite(s, rc, "task_deps");
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int sqlite_dep_list(Store *s, const char *task_id, TaskDep **ret, size_t *ret_n)
{
	_Static_assert(offsetof(TaskDep, after_id) == 0, "the id comes first");
	return collect(s, STMT_DEP_LIST, task_id, sizeof(TaskDep), true, (void **)ret, ret_n);
}

int sqlite_dep_dependents(Store *s, const char *after_id, char (**ret)[ID_STRING_MAX], size_t *ret_n)
{
	return collect(s, STMT_DEP_DEPENDENTS, after_id, ID_STRING_MAX, false, (void **)ret, ret_n);
}

/* ---- Retention ---- */

/* The lowest id made at `at`: every id made before it sorts below
 * ("0190a1b2-c3d4" for its millisecond). */
static void id_floor(uint64_t at, char buf[static ID_STRING_MAX])
{
	uint64_t ms = at / USEC_PER_MSEC;

	snprintf(buf, ID_STRING_MAX, "%08" PRIx64 "-%04" PRIx64, (ms >> 16) & 0xffffffff, ms & 0xffff);
}

/* The ids one statement gives (?1 status, ?2 before, ?3 keep, ?4 limit, ?5
 * id floor), added to v[*n..limit) unless there already. */
static int collect_candidates(Store *s, unsigned idx, TaskStatus status, uint64_t before, int64_t keep,
			      unsigned limit, char (*v)[ID_STRING_MAX], size_t *n)
{
	sqlite3_stmt *st = s->stmt[idx];
	char floor_id[ID_STRING_MAX];
	int rc;

	id_floor(before, floor_id);
	rc = sqlite3_bind_text(st, 1, task_status_to_string(status), -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, (int64_t)before);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, keep);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, limit);
	/* Only the age statement has ?5. */
	if (rc == SQLITE_OK && sqlite3_bind_parameter_count(st) >= 5)
		rc = sqlite3_bind_text(st, 5, floor_id, -1, SQLITE_TRANSIENT);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(s, rc, "bind");
	while (*n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0) ?: "";
		bool seen = false;

		for (size_t i = 0; i < *n && !seen; i++)
			seen = streq(v[i], id);
		if (!seen)
			snprintf(v[(*n)++], ID_STRING_MAX, "%s", id);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail_sqlite(s, rc, "prune");
	return 0;
}

int sqlite_prune_candidates(Store *s, TaskStatus status, uint64_t before, int64_t keep, unsigned limit,
			    char (**ret)[ID_STRING_MAX], size_t *ret_n)
{
	char (*v)[ID_STRING_MAX] = NULL;
	size_t n = 0;
	int r = 0;

	*ret = NULL;
	*ret_n = 0;
	if (!task_status_is_terminal(status))
		return store_fail(s, -EINVAL, "only finished tasks are pruned");
	v = calloc(limit ?: 1, sizeof *v);
	if (!v)
		return store_fail(s, -ENOMEM, "prune: out of memory");
	/* Each an index range: beyond the count, then by age. */
	if (keep >= 0)
		r = collect_candidates(s, STMT_PRUNE_TASKS_COUNT, status, before, keep, limit, v, &n);
	if (r >= 0 && before > 0)
		r = collect_candidates(s, STMT_PRUNE_TASKS_AGE, status, before, keep, limit, v, &n);
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

int sqlite_task_delete(Store *s, const char *task_id)
{
	/* Rows that point at the task first: the references are enforced. */
	static const unsigned order[] = { STMT_TASK_DELETE_ATTEMPTS, STMT_TASK_DELETE_DAUGHTERS, STMT_TASK_DELETE_DEPS,
					  STMT_TASK_DELETE_KEEP_RESULT, STMT_TASK_DELETE };
	int r;

	r = store_begin_write(s);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ELEMENTSOF(order); i++) {
		sqlite3_stmt *st = s->stmt[order[i]];
		int rc = sqlite3_bind_text(st, 1, task_id, -1, SQLITE_STATIC);

		if (rc != SQLITE_OK)
			return store_fail_sqlite(s, rc, "bind");
		r = store_step_done(s, st, "delete task");
		if (r < 0)
			return r;
	}
	return 0;
}

static int prune_intents(Store *s, unsigned idx, uint64_t before, int64_t keep, unsigned limit, unsigned *n)
{
	sqlite3_stmt *st = s->stmt[idx];
	char floor_id[ID_STRING_MAX];
	int rc, r;

	/* By correlation id, a UUIDv7 made at the row's created_at. */
	id_floor(before, floor_id);
	rc = sqlite3_bind_text(st, 1, floor_id, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, keep);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, limit);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(s, rc, "bind");
	r = store_step_done(s, st, "prune intents_log");
	if (r < 0)
		return r;
	*n += (unsigned)sqlite3_changes(s->db);
	return 0;
}

int sqlite_intent_prune(Store *s, uint64_t before, int64_t keep, unsigned limit, unsigned *ret_n)
{
	int r;

	*ret_n = 0;
	r = store_begin_write(s);
	if (r < 0)
		return r;
	if (keep >= 0)
		r = prune_intents(s, STMT_PRUNE_INTENTS_COUNT, before, keep, limit, ret_n);
	if (r >= 0 && before > 0 && *ret_n < limit)
		r = prune_intents(s, STMT_PRUNE_INTENTS_AGE, before, keep, limit - *ret_n, ret_n);
	return r;
}

int sqlite_task_cancel(Store *s, const char *task_id, uint64_t at, TaskStatus *ret_was, char *ret_node, size_t size)
{
	sqlite3_stmt *st = s->stmt[STMT_TASK_CANCEL];
	Task t;
	int rc, r;

	(void)ret_node, (void)size; /* one daemon: no claims ("" from store.c) */
	r = sqlite_task_get(s, task_id, &t);
	if (r < 0)
		return r;
	*ret_was = t.status;
	task_done(&t);
	if (task_status_is_terminal(*ret_was))
		return store_fail(s, -EALREADY, "task %s is already %s", task_id, task_status_to_string(*ret_was));
	r = store_begin_write(s);
	if (r < 0)
		return r;
	rc = store_bind_text(st, 1, task_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, (int64_t)at);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(s, rc, "bind");
	r = store_step_done(s, st, "tasks");
	if (r < 0)
		return r;
	/* One connection, one writer: what was read above is still so. */
	if (sqlite3_changes(s->db) == 0)
		return store_fail(s, -EALREADY, "task %s has ended", task_id);
	store_count_write(s, STMT_TASK_CANCEL);
	return 0;
}
