/* SPDX-License-Identifier: MIT */
/*
 * What holds a task back, in the store (schema step 7, issue 15): pauses of
 * the whole queue or of a task type, and the tasks a task waits for, looked
 * up both ways; written in the open transaction, kept by its commit, gone
 * with a rollback; and a database from just before the step upgrades in
 * place keeping its rows. On real database files in a temporary directory.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <unistd.h>

#include "store-test.h"
#include "store/store-sqlite-internal.h"

typedef struct Pauses {
	char scope[8][64];
	uid_t uid[8];
	uint64_t at[8];
	unsigned n;
} Pauses;

static int copy_pause(const char *scope, uint64_t at, uid_t uid, void *userdata)
{
	Pauses *p = userdata;

	if (p->n < 8) {
		snprintf(p->scope[p->n], sizeof p->scope[0], "%s", scope);
		p->uid[p->n] = uid;
		p->at[p->n] = at;
	}
	p->n++;
	return 0;
}

static Pauses list_pauses(Store *s)
{
	Pauses p = {};

	CHECK_INTEQ(store_pause_list(s, copy_pause, &p), 0);
	return p;
}

static int count_attempts(const Attempt *a, void *userdata)
{
	(*(size_t *)userdata)++;
	return 0;
}

static void make_task(Task *t)
{
	*t = (Task){
		.source = (char *)"operator",
		.priority = 1,
		.status = TASK_PENDING,
		.task_type = (char *)"echo",
		.uid = 1000,
		.created_at = 1700000000000001ULL,
		.updated_at = 1700000000000001ULL,
		.ttl_seconds = -1,
	};
	id_new_string(t->id);
	id_new_string(t->intent_id);
}

static void test_pauses(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	Pauses p;

	if (!s)
		return;
	p = list_pauses(s);
	CHECK_INTEQ(p.n, 0);

	CHECK_INTEQ(store_pause_set(s, "echo", 11, 1000), 0);
	CHECK_INTEQ(store_pause_set(s, STORE_PAUSE_ALL, 12, 0), 0);
	/* Again: replaced, not repeated. */
	CHECK_INTEQ(store_pause_set(s, "echo", 13, 1001), 0);
	p = list_pauses(s);
	CHECK_INTEQ(p.n, 2);
	CHECK_STREQ(p.scope[0], "*");
	CHECK_STREQ(p.scope[1], "echo");
	CHECK_INTEQ(p.uid[1], 1001);
	CHECK(p.at[1] == 13);
	CHECK_INTEQ(store_commit(s), 0);

	/* Kept by the commit, across a reopen. */
	store_free(s);
	s = open_path(path);
	if (!s)
		return;
	p = list_pauses(s);
	CHECK_INTEQ(p.n, 2);

	/* One scope, then all of them. */
	CHECK_INTEQ(store_pause_clear(s, "*"), 0);
	p = list_pauses(s);
	CHECK_INTEQ(p.n, 1);
	CHECK_STREQ(p.scope[0], "echo");
	CHECK_INTEQ(store_pause_clear(s, "nosuch"), 0);
	CHECK_INTEQ(list_pauses(s).n, 1);
	CHECK_INTEQ(store_pause_set(s, "noop", 14, 0), 0);
	CHECK_INTEQ(store_pause_clear(s, NULL), 0);
	CHECK_INTEQ(list_pauses(s).n, 0);
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);
}

/* task.cancel's write: never over an end, even one made after the caller
 * read the task (the lost update a whole-row write from that read made). */
static void test_cancel_never_over_an_end(void)
{
	char path[256], node[64];
	Store *s = open_new(path, sizeof path);
	Task t[2], stale, got;
	TaskStatus was = _TASK_STATUS_INVALID;

	if (!s)
		return;
	make_task(&t[0]);
	make_task(&t[1]);
	t[1].status = TASK_RUNNING;
	CHECK_INTEQ(store_task_insert(s, &t[0]), 0);
	CHECK_INTEQ(store_task_insert(s, &t[1]), 0);
	CHECK_INTEQ(store_commit(s), 0);

	CHECK_INTEQ(store_task_cancel(s, t[0].id, 77, &was, node, sizeof node), 0);
	CHECK_INTEQ(was, TASK_PENDING);
	CHECK_STREQ(node, ""); /* nobody's claim */
	CHECK_INTEQ(store_commit(s), 0);
	CHECK_INTEQ(store_task_get(s, t[0].id, &got), 0);
	CHECK_INTEQ(got.status, TASK_CANCELLED);
	CHECK(got.updated_at == 77 && got.next_attempt_at == 0);
	task_done(&got);
	/* Twice: the second says it has ended. */
	CHECK_INTEQ(store_task_cancel(s, t[0].id, 78, &was, node, sizeof node), -EALREADY);
	CHECK_INTEQ(was, TASK_CANCELLED);

	/* Read running, then it completes, then the cancel comes: it loses. */
	CHECK_INTEQ(store_task_get(s, t[1].id, &stale), 0);
	CHECK_INTEQ(stale.status, TASK_RUNNING);
	t[1].status = TASK_COMPLETED;
	t[1].updated_at = 50;
	CHECK_INTEQ(store_task_update(s, &t[1]), 0);
	CHECK_INTEQ(store_commit(s), 0);
	CHECK_INTEQ(store_task_cancel(s, stale.id, 79, &was, node, sizeof node), -EALREADY);
	CHECK_INTEQ(was, TASK_COMPLETED);
	CHECK_INTEQ(store_commit(s), 0);
	CHECK_INTEQ(store_task_get(s, t[1].id, &got), 0);
	CHECK_INTEQ(got.status, TASK_COMPLETED);
	CHECK(got.updated_at == 50);
	task_done(&got);
	task_done(&stale);

	CHECK_INTEQ(store_task_cancel(s, "0190a1b2-c3d4-7000-8000-000000000000", 80, &was, node, sizeof node), -ENOENT);
	store_free(s);
}

static void test_dependencies(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	Task a, b, c;
	TaskDep *deps = NULL;
	char (*ids)[ID_STRING_MAX] = NULL;
	size_t n = 99;

	if (!s)
		return;
	make_task(&a);
	make_task(&b);
	make_task(&c);
	CHECK_INTEQ(store_task_insert(s, &a), 0);
	CHECK_INTEQ(store_task_insert(s, &b), 0);
	CHECK_INTEQ(store_task_insert(s, &c), 0);

	/* None: no array, none counted. */
	CHECK_INTEQ(store_dep_list(s, a.id, &deps, &n), 0);
	CHECK_INTEQ(n, 0);
	CHECK(deps == NULL);
	CHECK_INTEQ(store_dep_dependents(s, a.id, &ids, &n), 0);
	CHECK_INTEQ(n, 0);

	/* c waits for b then a, in that order; a repeat is one. */
	CHECK_INTEQ(store_dep_insert(s, c.id, b.id, true), 0);
	CHECK_INTEQ(store_dep_insert(s, c.id, a.id, true), 0);
	CHECK_INTEQ(store_dep_insert(s, c.id, b.id, true), 0);
	CHECK_INTEQ(store_dep_insert(s, b.id, a.id, false), 0);
	CHECK_INTEQ(store_commit(s), 0);

	CHECK_INTEQ(store_dep_list(s, c.id, &deps, &n), 0);
	CHECK_INTEQ(n, 2);
	if (n == 2) {
		CHECK_STREQ(deps[0].after_id, b.id);
		CHECK_STREQ(deps[1].after_id, a.id);
		CHECK(deps[0].after_any && deps[1].after_any);
	}
	free(deps);
	CHECK_INTEQ(store_dep_list(s, b.id, &deps, &n), 0);
	CHECK_INTEQ(n, 1);
	if (n == 1)
		CHECK(!deps[0].after_any);
	free(deps);

	/* Who waits for a: b and c, by id. */
	CHECK_INTEQ(store_dep_dependents(s, a.id, &ids, &n), 0);
	CHECK_INTEQ(n, 2);
	if (n == 2) {
		const char *lo = strcmp(b.id, c.id) < 0 ? b.id : c.id, *hi = lo == b.id ? c.id : b.id;
		CHECK_STREQ(ids[0], lo);
		CHECK_STREQ(ids[1], hi);
	}
	free(ids);
	CHECK_INTEQ(store_dep_dependents(s, c.id, &ids, &n), 0);
	CHECK_INTEQ(n, 0);
	free(ids);

	/* Many, past the array's first growth. */
	for (int i = 0; i < 40; i++) {
		Task t;
		make_task(&t);
		CHECK_INTEQ(store_task_insert(s, &t), 0);
		CHECK_INTEQ(store_dep_insert(s, t.id, a.id, false), 0);
	}
	CHECK_INTEQ(store_dep_dependents(s, a.id, &ids, &n), 0);
	CHECK_INTEQ(n, 42);
	free(ids);
	store_free(s); /* without a commit: the 40 go */

	s = open_path(path);
	if (!s)
		return;
	CHECK_INTEQ(store_dep_dependents(s, a.id, &ids, &n), 0);
	CHECK_INTEQ(n, 2);
	free(ids);
	store_free(s);
}

/* ---- retention ---- */

static void finished(Store *s, Task *t, TaskStatus status, uint64_t ended)
{
	make_task(t);
	t->status = status;
	t->updated_at = ended;
	CHECK_INTEQ(store_task_insert(s, t), 0);
}

static size_t candidates(Store *s, TaskStatus status, uint64_t before, int64_t keep, char (**ids)[ID_STRING_MAX])
{
	size_t n = 0;

	free(*ids);
	*ids = NULL;
	CHECK_INTEQ(store_prune_candidates(s, status, before, keep, 100, ids, &n), 0);
	return n;
}

static void test_prune_tasks(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	char (*ids)[ID_STRING_MAX] = NULL;
	Task t[6], waiting, last;
	Daughter d = { .name = (char *)"w", .status = (char *)"exited", .started_at = 1 };
	Attempt a = { .number = 1, .status = (char *)"succeeded", .started_at = 1, .exit_code = 0 };
	size_t n;
	/* Times after every id made here, as a task's end always is. */
	const uint64_t base = now_realtime_usec() + 10 * USEC_PER_SEC;
#define AT(ms) (base + (uint64_t)(ms) * USEC_PER_MSEC)

	if (!s)
		return;
	/* Completed at 100..500, one failed at 50, one completed still waited for. */
	for (int i = 0; i < 5; i++)
		finished(s, &t[i], TASK_COMPLETED, AT(100 * (i + 1)));
	finished(s, &t[5], TASK_FAILED, AT(50));
	make_task(&waiting);
	CHECK_INTEQ(store_task_insert(s, &waiting), 0);
	CHECK_INTEQ(store_dep_insert(s, waiting.id, t[1].id, false), 0);
	/* t[0] has a daughter and an attempt, which go with it. */
	id_new_string(d.id);
	memcpy(d.task_id, t[0].id, ID_STRING_MAX);
	id_new_string(a.id);
	memcpy(a.daughter_id, d.id, ID_STRING_MAX);
	memcpy(a.task_id, t[0].id, ID_STRING_MAX);
	CHECK_INTEQ(store_daughter_insert(s, &d), 0);
	CHECK_INTEQ(store_attempt_insert(s, &a), 0);
	/* The newest row: never removed, whatever its age; it has the newest
	 * daughter and attempt too (or t[0] would keep them, and so stay). */
	finished(s, &last, TASK_COMPLETED, AT(1));
	Daughter d2 = d;
	Attempt a2 = a;
	id_new_string(d2.id);
	memcpy(d2.task_id, last.id, ID_STRING_MAX);
	id_new_string(a2.id);
	memcpy(a2.daughter_id, d2.id, ID_STRING_MAX);
	memcpy(a2.task_id, last.id, ID_STRING_MAX);
	CHECK_INTEQ(store_daughter_insert(s, &d2), 0);
	CHECK_INTEQ(store_attempt_insert(s, &a2), 0);

	CHECK(store_prune_candidates(s, TASK_PENDING, AT(1000), -1, 10, &ids, &n) < 0);
	/* Neither bound: nothing. */
	CHECK_INTEQ(candidates(s, TASK_COMPLETED, 0, -1, &ids), 0);
	/* Ended before 350: t[0] (t[1] is waited for); oldest first. */
	n = candidates(s, TASK_COMPLETED, AT(350), -1, &ids);
	CHECK_INTEQ(n, 2);
	if (n == 2) {
		CHECK_STREQ(ids[0], t[0].id);
		CHECK_STREQ(ids[1], t[2].id);
	}
	/* Keep the newest 2 of 6 completed: t[0], t[2] and t[3] beyond them (t[1] waited for). */
	n = candidates(s, TASK_COMPLETED, 0, 2, &ids);
	CHECK_INTEQ(n, 3);
	if (n == 3)
		CHECK_STREQ(ids[2], t[3].id);
	/* Keep none: all but the waited for and the newest. */
	CHECK_INTEQ(candidates(s, TASK_COMPLETED, 0, 0, &ids), 4);
	/* Age or count: either one is enough. */
	CHECK_INTEQ(candidates(s, TASK_COMPLETED, AT(150), 5, &ids), 1);
	CHECK_INTEQ(candidates(s, TASK_COMPLETED, AT(350), 5, &ids), 2);
	CHECK_INTEQ(candidates(s, TASK_COMPLETED, AT(150), 3, &ids), 2);
	CHECK_INTEQ(candidates(s, TASK_FAILED, AT(51), -1, &ids), 1);
	CHECK_INTEQ(candidates(s, TASK_FAILED, AT(50), -1, &ids), 0);

	/* Deleting t[0] takes its daughter and attempt; its neighbours stay. */
	CHECK_INTEQ(store_task_delete(s, t[0].id), 0);
	Task got;
	CHECK_INTEQ(store_task_get(s, t[0].id, &got), -ENOENT);
	CHECK_INTEQ(store_task_get(s, t[2].id, &got), 0);
	task_done(&got);
	size_t na = 0;
	CHECK_INTEQ(store_attempt_list_task(s, t[0].id, count_attempts, &na), 0);
	CHECK_INTEQ(na, 0);
	CHECK_INTEQ(store_commit(s), 0);

	/* Once the waiting task has ended, what it waited for may go too. */
	waiting.status = TASK_COMPLETED;
	waiting.updated_at = AT(10);
	CHECK_INTEQ(store_task_update(s, &waiting), 0);
	n = candidates(s, TASK_COMPLETED, AT(250), -1, &ids);
	CHECK_INTEQ(n, 2);
	if (n == 2)
		CHECK_STREQ(ids[0], t[1].id);
	free(ids);

	/* A task made after a removal gets a higher seq than any before. */
	Task more;
	uint64_t top = last.seq;
	for (int i = 1; i < 5; i++)
		CHECK_INTEQ(store_task_delete(s, t[i].id), 0);
	make_task(&more);
	CHECK_INTEQ(store_task_insert(s, &more), 0);
	CHECK(more.seq > top);
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);
#undef AT
}

static void test_prune_intents(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	IntentRecord r[4];
	Task t;
	unsigned n = 99;

	if (!s)
		return;
	make_task(&t);
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	for (int i = 0; i < 4; i++) {
		r[i] = (IntentRecord){ .created_at = 1, .source = (char *)"operator", .intent_type = (char *)"x",
				       .status = (char *)"DONE", .mode = (char *)"MADRE" };
		id_new_string(r[i].correlation_id);
		usleep(2000); /* ids of different milliseconds */
	}
	r[1].task_id = t.id; /* its task is kept: so is it */
	for (int i = 0; i < 4; i++)
		CHECK_INTEQ(store_intent_insert(s, &r[i]), 0);
	CHECK_INTEQ(store_commit(s), 0);

	/* Nothing bounded: nothing goes. */
	CHECK_INTEQ(store_intent_prune(s, 0, -1, 100, &n), 0);
	CHECK_INTEQ(n, 0);
	/* Made before now: all but the one with a task and the newest. */
	CHECK_INTEQ(store_intent_prune(s, now_realtime_usec() + USEC_PER_SEC, -1, 1, &n), 0);
	CHECK_INTEQ(n, 1);
	CHECK_INTEQ(store_intent_prune(s, now_realtime_usec() + USEC_PER_SEC, -1, 100, &n), 0);
	CHECK_INTEQ(n, 1);
	uint64_t total = 0;
	CHECK_INTEQ(store_intent_count(s, &total), 0);
	CHECK_INTEQ(total, 2);
	IntentRecord got;
	CHECK_INTEQ(store_intent_get(s, r[1].correlation_id, &got), 0);
	intent_record_done(&got);
	CHECK_INTEQ(store_intent_get(s, r[3].correlation_id, &got), 0);
	intent_record_done(&got);
	/* By count: keep the newest 0, but never those two. */
	CHECK_INTEQ(store_intent_prune(s, 0, 0, 100, &n), 0);
	CHECK_INTEQ(n, 0);
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);
}

/* ---- the upgrade of a database from before step 7 ---- */

static int64_t query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The step that adds pauses and task_deps, wherever the lead numbered it. */
static unsigned hold_step(void)
{
	for (unsigned i = 0; i < store_n_migrations; i++)
		if (strstr(store_migrations[i], "CREATE TABLE pauses"))
			return i;
	return store_n_migrations;
}

static void test_upgrade_keeps_rows(void)
{
	SKIP_ON_PG("it writes an old SQLite file and migrates it; test-store-pg covers PostgreSQL's schema");
	char path[256];
	unsigned step = hold_step();
	sqlite3 *db = NULL;
	char sql[512], *msg = NULL;
	Store *s;
	Task t = {}, later;
	char id[ID_STRING_MAX];
	TaskDep *deps = NULL;
	size_t n;

	CHECK(step < store_n_migrations);
	if (step >= store_n_migrations)
		return;
	new_db_path(path, sizeof path);
	id_new_string(id);

	/* The database as the release before the step left it, with a task. */
	CHECK_INTEQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	CHECK_INTEQ(sqlite3_exec(db, "PRAGMA journal_mode = WAL; BEGIN;", NULL, NULL, NULL), SQLITE_OK);
	for (unsigned i = 0; i < step; i++) {
		int rc = sqlite3_exec(db, store_migrations[i], NULL, NULL, &msg);
		if (rc != SQLITE_OK)
			printf("# step %u: %s\n", i + 1, msg ?: "?");
		CHECK_INTEQ(rc, SQLITE_OK);
		sqlite3_free(msg);
		msg = NULL;
	}
	snprintf(sql, sizeof sql,
		 "INSERT INTO tasks (id, intent_id, source, priority, status, task_type, uid, created_at, updated_at,"
		 " current_retry, max_retries, mutation_level, next_attempt_at, ttl_seconds, description)"
		 " VALUES ('%s', '%s', 'operator', 1, 'pending', 'echo', 1000, 1700000000000001, 1700000000000002,"
		 " 0, 2, 0, 0, -1, 'old task');"
		 "PRAGMA user_version = %u; COMMIT;",
		 id, id, step);
	CHECK_INTEQ(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	s = open_path(path);
	if (!s)
		return;
	/* The old row, as it was. */
	CHECK_INTEQ(store_task_get(s, id, &t), 0);
	CHECK_INTEQ(t.status, TASK_PENDING);
	CHECK_STREQ(t.task_type, "echo");
	CHECK_STR_OR_NULL(t.description, "old task");
	CHECK_INTEQ(t.max_retries, 2);
	task_done(&t);
	/* Nothing paused, nothing waited for; and both work on it. */
	CHECK_INTEQ(list_pauses(s).n, 0);
	CHECK_INTEQ(store_dep_list(s, id, &deps, &n), 0);
	CHECK_INTEQ(n, 0);
	make_task(&later);
	CHECK_INTEQ(store_task_insert(s, &later), 0);
	CHECK_INTEQ(store_dep_insert(s, later.id, id, false), 0);
	CHECK_INTEQ(store_pause_set(s, "echo", 1, 0), 0);
	CHECK_INTEQ(store_commit(s), 0);
	CHECK_INTEQ(store_dep_list(s, later.id, &deps, &n), 0);
	CHECK_INTEQ(n, 1);
	if (n == 1)
		CHECK_STREQ(deps[0].after_id, id);
	free(deps);
	store_free(s);

	CHECK_INTEQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	CHECK_INTEQ(query_int(db, "PRAGMA user_version"), (int64_t)store_n_migrations);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM tasks"), 2);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN"
				  " ('pauses', 'task_deps', 'task_deps_after')"),
		    3);
	sqlite3_close(db);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %m\n");
		return EXIT_FAILURE;
	}

	TEST(test_pauses);
	TEST(test_cancel_never_over_an_end);
	TEST(test_dependencies);
	TEST(test_prune_tasks);
	TEST(test_prune_intents);
	TEST(test_upgrade_keeps_rows);

	remove_tmpdir();
	return tap_done();
}
