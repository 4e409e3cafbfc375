/* SPDX-License-Identifier: MIT */
/*
 * The reads of the SQLite store: one record by id, walks of a list, counts,
 * and the intents an id prefix names. The SQL is in store-sqlite-schema.c,
 * the connection and the writes in store-sqlite.c.
 *
 * Lists never sort: each walks an index in id order, or backwards for newest
 * first, and stops after its limit; a list of several statuses merges one
 * cursor per status. Counts of a filtered list count index entries.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sqlite3.h>

#include "store-sqlite-internal.h"

/* 0 (no limit) becomes SQLite's -1. */
static int64_t sql_limit(unsigned limit)
{
	return limit ? (int64_t)limit : -1;
}

/* What an "after" of NULL means: below every id, or above it walking down. */
static const char *after_or_edge(const char *after, bool desc)
{
	return after ?: desc ? "~" : "";
}

int sqlite_intent_get(Store *s, const char *correlation_id, IntentRecord *ret)
{
	sqlite3_stmt *st = s->stmt[STMT_INTENT_GET];
	int rc;

	rc = sqlite3_bind_text(st, 1, correlation_id, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(s, rc, "bind");
	return store_get_one(s, st, &store_table_intents, ret, sizeof *ret);
}

int sqlite_intent_find_idempotent(Store *s, uid_t uid, const char *key, IntentRecord *ret)
{
	sqlite3_stmt *st = s->stmt[STMT_INTENT_IDEMPOTENT];
	int rc;

	if (!key)
		return -ENOENT;
	rc = sqlite3_bind_int64(st, 1, uid);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(s, rc, "bind");
	return store_get_one(s, st, &store_table_intents, ret, sizeof *ret);
}

int sqlite_intent_list(Store *s, const IntentFilter *f, store_intent_cb cb, void *userdata)
{
	sqlite3_stmt *st = store_stmt_for_walk(s, f->desc ? STMT_INTENT_LIST_DESC : STMT_INTENT_LIST);
	int rc;

	if (!st)
		return -EBUSY;
	rc = sqlite3_bind_text(st, 1, after_or_edge(f->after, f->desc), -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = f->uid == (uid_t)-1 ? sqlite3_bind_null(st, 2) : sqlite3_bind_int64(st, 2, f->uid);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, sql_limit(f->limit));
	if (rc != SQLITE_OK)
		return store_fail_sqlite(s, rc, "bind");
	return store_walk(s, st, &store_table_intents, (AnyCallback){.intent = cb}, userdata);
}

/* The first column of a statement's one row, as an integer. */
static int count_one(Store *s, sqlite3_stmt *st, const char *what, uint64_t *ret)
{
	int rc = sqlite3_step(st), r = 0;

	if (rc == SQLITE_ROW)
		*ret = (uint64_t)sqlite3_column_int64(st, 0);
	else
		r = store_fail_sqlite(s, rc == SQLITE_DONE ? SQLITE_INTERNAL : rc, what);
	sqlite3_reset(st);
	return r;
}

int sqlite_intent_count(Store *s, uint64_t *ret)
{
	return count_one(s, s->stmt[STMT_INTENT_COUNT], "count intents", ret);
}

int sqlite_id_prefix_find(Store *s, const char *prefix, uid_t uid, IdMatch *ret, size_t max, size_t *ret_n)
{
	sqlite3_stmt *st = s->stmt[STMT_ID_PREFIX];
	char last[ID_STRING_MAX] = "";
	size_t n = 0;
	int rc, r = 0;

	/* Each intent gives at most two rows (its own, its task's). */
	rc = sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = uid == (uid_t)-1 ? sqlite3_bind_null(st, 2) : sqlite3_bind_int64(st, 2, uid);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, 2 * ((int64_t)max + 1));
	if (rc != SQLITE_OK)
		return store_fail_sqlite(s, rc, "bind");

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *cid = (const char *)sqlite3_column_text(st, 0),
			   *tid = (const char *)sqlite3_column_text(st, 1);

		if (!cid || strlen(cid) >= ID_STRING_MAX || (tid && strlen(tid) >= ID_STRING_MAX)) {
			r = store_fail(s, -EBADMSG, "id prefix: an id of the wrong length");
			break;
		}
		/* Sorted by correlation id: one intent's rows are neighbours (an
		 * audit row without its task's id, then the task's). */
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
	if (r == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = store_fail_sqlite(s, rc, "id prefix");
	sqlite3_reset(st);
	if (r < 0)
		return r;
	*ret_n = n;
	return 0;
}

int sqlite_task_get(Store *s, const char *id, Task *ret)
{
	sqlite3_stmt *st = s->stmt[STMT_TASK_GET];
	int rc;

	rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(s, rc, "bind");
	return store_get_one(s, st, &store_table_tasks, ret, sizeof *ret);
}

int sqlite_task_first_start(Store *s, const char *task_id, uint64_t *ret)
{
	sqlite3_stmt *st = s->stmt[STMT_TASK_FIRST_START];
	int rc, r = 0;

	rc = sqlite3_bind_text(st, 1, task_id, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(s, rc, "bind");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = (uint64_t)sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*ret = 0;
	else
		r = store_fail_sqlite(s, rc, "first attempt");
	sqlite3_reset(st);
	return r;
}

/* The lowest id a task created at or after `since` can have: the id of its
 * millisecond with nothing after it ("0190a1b2-c3d4"). */
static void id_floor(uint64_t since, char buf[static ID_STRING_MAX])
{
	uint64_t ms = since / USEC_PER_MSEC;

	if (since == 0)
		buf[0] = '\0';
	else
		snprintf(buf, ID_STRING_MAX, "%08" PRIx64 "-%04" PRIx64, (ms >> 16) & 0xffffffff, ms & 0xffff);
}

/* Bind what lists and counts share (?3, ?5..?9); id_min outlives the statement's run. */
static int task_filter_bind(sqlite3_stmt *st, const TaskFilter *f, const char *id_min)
{
	int rc;

	rc = store_bind_text(st, 3, f->source);
	if (rc == SQLITE_OK && f->uid != (uid_t)-1)
		rc = sqlite3_bind_int64(st, 5, f->uid);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 6, id_min, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 7, (int64_t)MIN(f->since, (uint64_t)INT64_MAX));
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 8, f->until ? (int64_t)MIN(f->until, (uint64_t)INT64_MAX) : INT64_MAX);
	if (rc == SQLITE_OK)
		rc = store_bind_text(st, 9, f->task_type);
	return rc;
}

static int task_list_bind(Store *s, sqlite3_stmt *st, const TaskFilter *f, TaskStatus status, const char *id_min)
{
	int rc = SQLITE_OK;

	if (status >= 0)
		rc = sqlite3_bind_text(st, 1, task_status_to_string(status), -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 2, after_or_edge(f->after, f->desc), -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, sql_limit(f->limit));
	if (rc == SQLITE_OK)
		rc = task_filter_bind(st, f, id_min);
	return rc == SQLITE_OK ? 0 : store_fail_sqlite(s, rc, "bind");
}

/* Which of two cursors' ids comes first in the walk's order. */
static bool comes_before(sqlite3_stmt *a, sqlite3_stmt *b, bool desc)
{
	int c = strcmp_ptr((const char *)sqlite3_column_text(a, 0), (const char *)sqlite3_column_text(b, 0));

	return desc ? c > 0 : c < 0;
}

/*
 * A status filter (and every uid filter) walks one index range per status,
 * each already in id order, and merges them: a mask of several statuses
 * never sorts the table, and the walk stops after limit rows.
 */
int sqlite_task_list(Store *s, const TaskFilter *f, store_task_cb cb, void *userdata)
{
	const unsigned all = (1u << _TASK_STATUS_MAX) - 1;
	unsigned mask = f->status_mask ? f->status_mask & all : all;
	sqlite3_stmt *cur[_TASK_STATUS_MAX];
	char id_min[ID_STRING_MAX];
	unsigned base;
	size_t n = 0, emitted = 0;
	int r = 0;

	id_floor(f->since, id_min);
	if (mask == all && f->uid == (uid_t)-1) {
		sqlite3_stmt *st = store_stmt_for_walk(s, f->desc ? STMT_TASK_LIST_DESC : STMT_TASK_LIST);

		if (!st)
			return -EBUSY;
		r = task_list_bind(s, st, f, _TASK_STATUS_INVALID, id_min);
		if (r < 0)
			return r;
		return store_walk(s, st, &store_table_tasks, (AnyCallback){.task = cb}, userdata);
	}

	if (f->uid == (uid_t)-1)
		base = f->desc ? STMT_TASK_LIST_STATUS_DESC : STMT_TASK_LIST_STATUS;
	else
		base = f->desc ? STMT_TASK_LIST_UID_DESC : STMT_TASK_LIST_UID;
	for (TaskStatus i = 0; i < _TASK_STATUS_MAX; i++) {
		sqlite3_stmt *st;
		int rc;

		if (!(mask & (1u << i)))
			continue;
		st = store_stmt_for_walk(s, base + i);
		if (!st) {
			r = -EBUSY;
			goto finish;
		}
		r = task_list_bind(s, st, f, i, id_min);
		if (r < 0)
			goto finish;
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			cur[n++] = st;
		else {
			sqlite3_reset(st);
			if (rc != SQLITE_DONE) {
				r = store_fail_sqlite(s, rc, "tasks");
				goto finish;
			}
		}
	}

	while (n > 0) {
		size_t m = 0;
		Task t = {};
		int rc;

		for (size_t i = 1; i < n; i++)
			if (comes_before(cur[i], cur[m], f->desc))
				m = i;
		r = store_read_row(s, cur[m], &store_table_tasks, &t, false);
		if (r < 0)
			break;
		r = cb(&t, userdata);
		if (r != 0 || (f->limit && ++emitted >= f->limit))
			break;
		rc = sqlite3_step(cur[m]);
		if (rc != SQLITE_ROW) {
			sqlite3_reset(cur[m]);
			cur[m] = cur[--n];
			if (rc != SQLITE_DONE) {
				r = store_fail_sqlite(s, rc, "tasks");
				break;
			}
		}
	}
finish:
	for (size_t i = 0; i < n; i++)
		sqlite3_reset(cur[i]);
	return r;
}

int sqlite_task_count(Store *s, const TaskFilter *f, uint64_t *ret)
{
	bool rows = f->source || f->task_type || f->since || f->until;
	unsigned idx = rows ? STMT_TASK_TOTAL : STMT_TASK_TOTAL_STATUS;
	sqlite3_stmt *st = s->stmt[f->uid == (uid_t)-1 ? idx : idx + 1];
	char id_min[ID_STRING_MAX];
	int rc;

	id_floor(f->since, id_min);
	rc = rows ? task_filter_bind(st, f, id_min)
		  : f->uid == (uid_t)-1 ? SQLITE_OK : sqlite3_bind_int64(st, 5, f->uid);
	for (TaskStatus i = 0; rc == SQLITE_OK && i < _TASK_STATUS_MAX; i++)
		rc = !f->status_mask || (f->status_mask & (1u << i))
			     ? sqlite3_bind_text(st, 10 + i, task_status_to_string(i), -1, SQLITE_STATIC)
			     : sqlite3_bind_null(st, 10 + i);
	if (rc != SQLITE_OK) {
		sqlite3_clear_bindings(st);
		return store_fail_sqlite(s, rc, "bind");
	}
	return count_one(s, st, "count tasks", ret);
}

int sqlite_task_count_by_status(Store *s, uint64_t counts[_TASK_STATUS_MAX])
{
	sqlite3_stmt *st = s->stmt[STMT_TASK_COUNT];
	uint64_t c[_TASK_STATUS_MAX] = {};
	int rc, r = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		TaskStatus ts = task_status_from_string(name);

		if (ts < 0) {
			r = store_fail(s, -EBADMSG, "tasks.status: unknown task status '%s'", name ?: "(null)");
			break;
		}
		c[ts] = (uint64_t)sqlite3_column_int64(st, 1);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail_sqlite(s, rc, "count tasks");
	sqlite3_reset(st);
	if (r < 0)
		return r;
	memcpy(counts, c, sizeof c);
	return 0;
}

int sqlite_task_count_by_type(Store *s, store_type_count_cb cb, void *userdata)
{
	sqlite3_stmt *st = s->stmt[STMT_TASK_COUNT_TYPE];
	int rc, r = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		TaskStatus ts = task_status_from_string(name);

		if (ts < 0) {
			r = store_fail(s, -EBADMSG, "tasks.status: unknown task status '%s'", name ?: "(null)");
			break;
		}
		if (cb(type ?: "", ts, (uint64_t)sqlite3_column_int64(st, 2), userdata))
			break;
	}
	if (r == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = store_fail_sqlite(s, rc, "count tasks by type");
	sqlite3_reset(st);
	return r;
}

int sqlite_daughter_list(Store *s, const char *task_id, const char *status, uid_t owner, unsigned limit,
			 store_daughter_cb cb, void *userdata)
{
	sqlite3_stmt *st = store_stmt_for_walk(s, task_id		? STMT_DAUGHTER_LIST_TASK
					    : owner != (uid_t)-1 ? STMT_DAUGHTER_LIST_OWNER
					    : status		? STMT_DAUGHTER_LIST_STATUS
								: STMT_DAUGHTER_LIST);
	int rc;

	if (!st)
		return -EBUSY;
	rc = store_bind_text(st, 1, task_id);
	if (rc == SQLITE_OK)
		rc = store_bind_text(st, 2, status);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, sql_limit(limit));
	if (rc == SQLITE_OK && owner != (uid_t)-1 && !task_id)
		rc = sqlite3_bind_int64(st, 4, owner);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(s, rc, "bind");
	return store_walk(s, st, &store_table_daughters, (AnyCallback){.daughter = cb}, userdata);
}

static int attempt_walk(Store *s, unsigned idx, const char *key, store_attempt_cb cb, void *userdata)
{
	sqlite3_stmt *st = store_stmt_for_walk(s, idx);
	int rc;

	if (!st)
		return -EBUSY;
	if (key) {
		rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		if (rc != SQLITE_OK)
			return store_fail_sqlite(s, rc, "bind");
	}
	return store_walk(s, st, &store_table_attempts, (AnyCallback){.attempt = cb}, userdata);
}

int sqlite_attempt_list(Store *s, const char *daughter_id, store_attempt_cb cb, void *userdata)
{
	return attempt_walk(s, STMT_ATTEMPT_LIST, daughter_id, cb, userdata);
}

int sqlite_attempt_list_task(Store *s, const char *task_id, store_attempt_cb cb, void *userdata)
{
	return attempt_walk(s, STMT_ATTEMPT_LIST_TASK, task_id, cb, userdata);
}

int sqlite_attempt_list_running(Store *s, store_attempt_cb cb, void *userdata)
{
	return attempt_walk(s, STMT_ATTEMPT_LIST_RUNNING, NULL, cb, userdata);
}
