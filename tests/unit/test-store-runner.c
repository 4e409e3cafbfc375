/* SPDX-License-Identifier: MIT */
/*
 * What the store gained for the runner (schema version 2): a version 1 file
 * migrates and keeps its rows, daughter lists filter by owner in SQL, the new
 * attempt fields round-trip, and attempts are listed per task and "still
 * running". On real database files in a temporary directory.
 */
#include <dirent.h>
#include <sqlite3.h>
#include <stdint.h>
#include <unistd.h>

#include "store-test.h"

/*
 * Migration 1 exactly as released (daemon/store/store-sqlite-schema.c), frozen here
 * on purpose: a file written by the first vx11d must keep opening, whatever
 * the schema file says today.
 */
static const char v1_schema[] =
	"CREATE TABLE intents_log ("
	" seq INTEGER PRIMARY KEY,"
	" correlation_id TEXT NOT NULL UNIQUE,"
	" created_at INTEGER NOT NULL,"
	" uid INTEGER NOT NULL, gid INTEGER NOT NULL, pid INTEGER NOT NULL,"
	" source TEXT NOT NULL, intent_type TEXT NOT NULL,"
	" require_switch INTEGER NOT NULL, require_spawner INTEGER NOT NULL,"
	" priority INTEGER NOT NULL,"
	" status TEXT NOT NULL, mode TEXT NOT NULL, provider TEXT, error TEXT,"
	" task_id TEXT, idempotency_key TEXT,"
	" text TEXT, payload_json TEXT, envelope_json TEXT);"
	"CREATE INDEX intents_log_idempotency ON intents_log(uid, idempotency_key)"
	" WHERE idempotency_key IS NOT NULL;"

	"CREATE TABLE tasks ("
	" seq INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL UNIQUE,"
	" intent_id TEXT NOT NULL,"
	" source TEXT NOT NULL, priority INTEGER NOT NULL, status TEXT NOT NULL,"
	" task_type TEXT NOT NULL, uid INTEGER NOT NULL,"
	" created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
	" current_retry INTEGER NOT NULL, max_retries INTEGER NOT NULL,"
	" mutation_level INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL,"
	" ttl_seconds INTEGER NOT NULL,"
	" description TEXT, payload_json TEXT, result_json TEXT);"
	"CREATE INDEX tasks_status ON tasks(status, id);"
	"CREATE INDEX tasks_uid ON tasks(uid, status, id);"

	"CREATE TABLE daughters ("
	" seq INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL UNIQUE,"
	" task_id TEXT NOT NULL REFERENCES tasks(id),"
	" name TEXT NOT NULL, purpose TEXT, status TEXT NOT NULL,"
	" mutation_level INTEGER NOT NULL, started_at INTEGER NOT NULL,"
	" last_heartbeat_at INTEGER NOT NULL, ended_at INTEGER NOT NULL,"
	" error_last TEXT);"
	"CREATE INDEX daughters_task ON daughters(task_id, id);"
	"CREATE INDEX daughters_status ON daughters(status, id);"

	"CREATE TABLE attempts ("
	" seq INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL UNIQUE,"
	" daughter_id TEXT NOT NULL REFERENCES daughters(id),"
	" task_id TEXT NOT NULL REFERENCES tasks(id),"
	" number INTEGER NOT NULL, status TEXT NOT NULL, reason TEXT,"
	" started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL,"
	" exit_code INTEGER NOT NULL, signal INTEGER NOT NULL,"
	" cpu_usec INTEGER NOT NULL, memory_peak_bytes INTEGER NOT NULL,"
	" tokens_used_cli INTEGER NOT NULL, tokens_used_local INTEGER NOT NULL,"
	" switch_model_used TEXT, cli_provider_used TEXT, error_message TEXT);"
	"CREATE INDEX attempts_daughter ON attempts(daughter_id, number);";

/* ---- records ---- */

static void make_task(Task *t, uid_t uid)
{
	*t = (Task){
		.source = (char *)"operator",
		.priority = 1,
		.status = TASK_RUNNING,
		.task_type = (char *)"echo",
		.uid = uid,
		.created_at = 1700000000000001ULL,
		.updated_at = 1700000000000002ULL,
		.max_retries = 2,
		.ttl_seconds = -1,
	};
	id_new_string(t->id);
	id_new_string(t->intent_id);
}

static void make_daughter(Daughter *d, const Task *t, const char *status)
{
	*d = (Daughter){
		.name = (char *)"worker",
		.status = (char *)status,
		.mutation_level = 0,
		.started_at = 1700000000000100ULL,
		.owner_uid = t->uid,
	};
	id_new_string(d->id);
	memcpy(d->task_id, t->id, ID_STRING_MAX);
}

static void make_attempt(Attempt *a, const Daughter *d, int number, const char *status)
{
	*a = (Attempt){
		.number = number,
		.status = (char *)status,
		.started_at = 1700000000000200ULL + (uint64_t)number,
		.exit_code = -1,
	};
	id_new_string(a->id);
	memcpy(a->daughter_id, d->id, ID_STRING_MAX);
	memcpy(a->task_id, d->task_id, ID_STRING_MAX);
}

/* ---- owned copies ---- */

static int list_daughters(Store *s, const char *task_id, const char *status, uid_t owner, unsigned limit,
			  Daughters *ret)
{
	daughters_done(ret);
	return store_daughter_list(s, task_id, status, owner, limit, copy_daughter, ret);
}

/* ---- a version 1 file, written without the store ---- */

static int exec_sql(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		printf("# sqlite3_exec: %s\n", msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return rc;
}

/* One statement with text parameters ?1..?n, run to completion. */
static int exec_bound(sqlite3 *db, const char *sql, const char *const *params, int n)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	for (int i = 0; rc == SQLITE_OK && i < n; i++)
		rc = sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
	if (rc != SQLITE_OK)
		printf("# %s: %s\n", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

static int64_t query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

typedef struct V1Rows {
	char task_id[ID_STRING_MAX], intent_id[ID_STRING_MAX];
	char daughter_id[ID_STRING_MAX], attempt_id[ID_STRING_MAX], attempt2_id[ID_STRING_MAX];
} V1Rows;

/* The file as the first vx11d left it after a crash: a running task, its
 * daughter, one failed attempt and one still marked running. */
static int write_v1_file(const char *path, V1Rows *ids)
{
	sqlite3 *db = NULL;
	int rc;

	id_new_string(ids->task_id);
	id_new_string(ids->intent_id);
	id_new_string(ids->daughter_id);
	id_new_string(ids->attempt_id);
	id_new_string(ids->attempt2_id);

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = exec_sql(db, "PRAGMA journal_mode = WAL;");
	if (rc == SQLITE_OK)
		rc = exec_sql(db, "BEGIN;");
	if (rc == SQLITE_OK)
		rc = exec_sql(db, v1_schema);
	if (rc == SQLITE_OK)
		rc = exec_bound(db,
				"INSERT INTO tasks (id, intent_id, source, priority, status, task_type, uid,"
				" created_at, updated_at, current_retry, max_retries, mutation_level,"
				" next_attempt_at, ttl_seconds, description, payload_json, result_json)"
				" VALUES (?1, ?2, 'shub', 0, 'running', 'build', 1234, 1700000000000011,"
				" 1700000000000012, 1, 3, 1, 0, 90, 'build it', '{\"n\":1}', NULL)",
				(const char *const[]){ ids->task_id, ids->intent_id }, 2);
	if (rc == SQLITE_OK)
		rc = exec_bound(db,
				"INSERT INTO daughters (id, task_id, name, purpose, status, mutation_level,"
				" started_at, last_heartbeat_at, ended_at, error_last)"
				" VALUES (?1, ?2, 'build', 'first try', 'running', 1, 1700000000000020,"
				" 1700000000000021, 0, NULL)",
				(const char *const[]){ ids->daughter_id, ids->task_id }, 2);
	if (rc == SQLITE_OK)
		rc = exec_bound(db,
				"INSERT INTO attempts (id, daughter_id, task_id, number, status, reason,"
				" started_at, finished_at, exit_code, signal, cpu_usec, memory_peak_bytes,"
				" tokens_used_cli, tokens_used_local, switch_model_used, cli_provider_used,"
				" error_message)"
				" VALUES (?1, ?2, ?3, 1, 'failed', 'exited', 1700000000000030, 1700000000000031,"
				" 3, 0, 4500, 1048576, 7, 8, 'm', 'p', 'exit 3')",
				(const char *const[]){ ids->attempt_id, ids->daughter_id, ids->task_id }, 3);
	if (rc == SQLITE_OK)
		rc = exec_bound(db,
				"INSERT INTO attempts (id, daughter_id, task_id, number, status, reason,"
				" started_at, finished_at, exit_code, signal, cpu_usec, memory_peak_bytes,"
				" tokens_used_cli, tokens_used_local, switch_model_used, cli_provider_used,"
				" error_message)"
				" VALUES (?1, ?2, ?3, 2, 'running', NULL, 1700000000000040, 0,"
				" -1, 0, 0, 0, 0, 0, NULL, NULL, NULL)",
				(const char *const[]){ ids->attempt2_id, ids->daughter_id, ids->task_id }, 3);
	if (rc == SQLITE_OK)
		rc = exec_sql(db, "PRAGMA user_version = 1; COMMIT;");
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -EIO;
}

static void test_v1_file_migrates_keeping_rows(void)
{
	char path[256];
	V1Rows ids;
	Daughters ds = {};
	Attempts as = {};
	Store *s;
	Task t = {};

	new_db_path(path, sizeof path);
	CHECK_INTEQ(write_v1_file(path, &ids), 0);

	s = open_path(path);
	if (!s)
		return;

	/* The rows of version 1, every column as it was. */
	CHECK_INTEQ(store_task_get(s, ids.task_id, &t), 0);
	CHECK_STREQ(t.intent_id, ids.intent_id);
	CHECK_STREQ(t.source, "shub");
	CHECK_INTEQ(t.status, TASK_RUNNING);
	CHECK_STREQ(t.task_type, "build");
	CHECK_INTEQ(t.uid, 1234);
	CHECK_INTEQ(t.created_at, 1700000000000011ULL);
	CHECK_INTEQ(t.current_retry, 1);
	CHECK_INTEQ(t.max_retries, 3);
	CHECK_INTEQ(t.mutation_level, 1);
	CHECK_INTEQ(t.ttl_seconds, 90);
	CHECK_STREQ(t.description, "build it");
	CHECK_STREQ(t.payload_json, "{\"n\":1}");
	CHECK(t.result_json == NULL);
	task_done(&t);

	CHECK_INTEQ(list_daughters(s, ids.task_id, NULL, (uid_t)-1, 0, &ds), 0);
	CHECK_INTEQ(ds.n, 1);
	if (ds.n == 1) {
		CHECK_STREQ(ds.d[0].id, ids.daughter_id);
		CHECK_STREQ(ds.d[0].name, "build");
		CHECK_STREQ(ds.d[0].purpose, "first try");
		CHECK_STREQ(ds.d[0].status, "running");
		CHECK_INTEQ(ds.d[0].mutation_level, 1);
		CHECK_INTEQ(ds.d[0].last_heartbeat_at, 1700000000000021ULL);
		/* The new column, at its default. */
		CHECK_INTEQ(ds.d[0].owner_uid, 0);
	}
	/* ... and the owner filter, which needs the new column and its index, works on old rows. */
	CHECK_INTEQ(list_daughters(s, NULL, NULL, 0, 0, &ds), 0);
	CHECK_INTEQ(ds.n, 1);
	CHECK_INTEQ(list_daughters(s, NULL, NULL, 1234, 0, &ds), 0);
	CHECK_INTEQ(ds.n, 0);

	CHECK_INTEQ(store_attempt_list_task(s, ids.task_id, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 2);
	if (as.n == 2) {
		Attempt *a = &as.a[0];
		CHECK_STREQ(a->id, ids.attempt_id);
		CHECK_STREQ(a->daughter_id, ids.daughter_id);
		CHECK_INTEQ(a->number, 1);
		CHECK_STREQ(a->status, "failed");
		CHECK_STREQ(a->reason, "exited");
		CHECK_INTEQ(a->finished_at, 1700000000000031ULL);
		CHECK_INTEQ(a->exit_code, 3);
		CHECK(a->cpu_usec == 4500);
		CHECK(a->memory_peak_bytes == 1048576);
		CHECK_INTEQ(a->tokens_used_cli, 7);
		CHECK_INTEQ(a->tokens_used_local, 8);
		CHECK_STREQ(a->switch_model_used, "m");
		CHECK_STREQ(a->cli_provider_used, "p");
		CHECK_STREQ(a->error_message, "exit 3");
		/* New columns at their defaults. */
		CHECK_INTEQ(a->uid, 0);
		CHECK(a->cgroup == NULL);
		CHECK(a->reported_status == NULL);
		CHECK(a->status_text == NULL);
		CHECK(a->unapplied == NULL);
		CHECK(a->result_json == NULL);
		CHECK_STREQ(as.a[1].id, ids.attempt2_id);
		CHECK_INTEQ(as.a[1].exit_code, -1);
	}
	attempts_done(&as);

	/* A crash under version 1 is still found after the upgrade. */
	CHECK_INTEQ(store_attempt_list_running(s, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 1);
	if (as.n == 1)
		CHECK_STREQ(as.a[0].id, ids.attempt2_id);

	/* The migrated rows take the new fields. */
	if (as.n == 1) {
		Attempt *a = &as.a[0];
		free(a->status);
		a->status = strdup("interrupted");
		a->cgroup = strdup("job-7");
		a->uid = 61200;
		CHECK_INTEQ(store_attempt_update(s, a), 0);
	}
	attempts_done(&as);
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);

	/* The file says version 2 (or later) and holds the new schema objects. */
	sqlite3 *db = NULL;
	CHECK_INTEQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	CHECK(query_int(db, "PRAGMA user_version") >= 2);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN"
				  " ('daughters_owner', 'attempts_task', 'attempts_running')"),
		    3);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM pragma_table_info('attempts') WHERE name IN"
				  " ('uid', 'cgroup', 'reported_status', 'status_text', 'unapplied', 'result_json')"),
		    6);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM tasks"), 1);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM attempts"), 2);
	int64_t version = query_int(db, "PRAGMA user_version");
	sqlite3_close(db);

	/* Reopening migrates nothing more and loses nothing. */
	s = open_path(path);
	if (!s)
		return;
	CHECK_INTEQ(store_attempt_list_running(s, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 0);
	CHECK_INTEQ(store_attempt_list(s, ids.daughter_id, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 2);
	if (as.n == 2) {
		CHECK_STREQ(as.a[1].status, "interrupted");
		CHECK_STR_OR_NULL(as.a[1].cgroup, "job-7");
		CHECK_INTEQ(as.a[1].uid, 61200);
	}
	attempts_done(&as);
	daughters_done(&ds);
	store_free(s);
	CHECK_INTEQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	CHECK_INTEQ(query_int(db, "PRAGMA user_version"), version);
	sqlite3_close(db);
}

/* A version 1 file that is not what it says (a table missing) is refused,
 * and left at version 1: the migration is one transaction. */
static void test_v1_migration_is_atomic(void)
{
	char path[256];
	sqlite3 *db = NULL;
	Store *s = (Store *)0x1;

	new_db_path(path, sizeof path);
	CHECK_INTEQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
	/* Everything of version 1 but the attempts table: step 2's ALTER of
	 * daughters succeeds, its ALTER of attempts fails. */
	CHECK_INTEQ(exec_sql(db, "CREATE TABLE tasks (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);"
				 "CREATE TABLE daughters (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);"
				 "PRAGMA user_version = 1;"),
		    SQLITE_OK);
	sqlite3_close(db);

	CHECK(store_open(path, &s) < 0);
	CHECK(s == (Store *)0x1);
	CHECK(strstr(store_last_error(NULL), "migration") != NULL);

	db = NULL;
	CHECK_INTEQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	CHECK_INTEQ(query_int(db, "PRAGMA user_version"), 1);
	/* The daughters ALTER that did succeed was rolled back with the rest. */
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM pragma_table_info('daughters') WHERE name = 'owner_uid'"), 0);
	sqlite3_close(db);
}

/* ---- daughters by owner ---- */

static void test_daughter_list_by_owner(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	Task ta, tb, tr;
	Daughter d[7];
	Daughters ds = {};
	/* Owners in insertion (= id) order; 1000's rows are not the first ones. */
	static const struct {
		char task;
		const char *status;
	} rows[7] = { { 'b', "running" }, { 'b', "running" }, { 'a', "exited" }, { 'r', "running" },
		      { 'a', "running" }, { 'b', "exited" },  { 'a', "running" } };

	if (!s)
		return;
	make_task(&ta, 1000);
	make_task(&tb, 2000);
	make_task(&tr, 0);
	CHECK_INTEQ(store_task_insert(s, &ta), 0);
	CHECK_INTEQ(store_task_insert(s, &tb), 0);
	CHECK_INTEQ(store_task_insert(s, &tr), 0);
	for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
		make_daughter(&d[i], rows[i].task == 'a' ? &ta : rows[i].task == 'b' ? &tb : &tr, rows[i].status);
		CHECK_INTEQ(store_daughter_insert(s, &d[i]), 0);
	}

	/* Only the owner's, oldest first, with the owner read back. */
	CHECK_INTEQ(list_daughters(s, NULL, NULL, 1000, 0, &ds), 0);
	CHECK_INTEQ(ds.n, 3);
	if (ds.n == 3) {
		CHECK_STREQ(ds.d[0].id, d[2].id);
		CHECK_STREQ(ds.d[1].id, d[4].id);
		CHECK_STREQ(ds.d[2].id, d[6].id);
		for (size_t i = 0; i < 3; i++) {
			CHECK_INTEQ(ds.d[i].owner_uid, 1000);
			CHECK_STREQ(ds.d[i].task_id, ta.id);
		}
	}

	/* The limit counts only the owner's rows: filtering after a LIMIT
	 * would give 0 here (the first two rows overall are 2000's). */
	CHECK_INTEQ(list_daughters(s, NULL, NULL, 1000, 2, &ds), 0);
	CHECK_INTEQ(ds.n, 2);
	if (ds.n == 2) {
		CHECK_STREQ(ds.d[0].id, d[2].id);
		CHECK_STREQ(ds.d[1].id, d[4].id);
	}

	/* Owner and status together. */
	CHECK_INTEQ(list_daughters(s, NULL, "running", 1000, 0, &ds), 0);
	CHECK_INTEQ(ds.n, 2);
	if (ds.n == 2) {
		CHECK_STREQ(ds.d[0].id, d[4].id);
		CHECK_STREQ(ds.d[1].id, d[6].id);
	}
	CHECK_INTEQ(list_daughters(s, NULL, "running", 1000, 1, &ds), 0);
	CHECK_INTEQ(ds.n, 1);
	if (ds.n == 1)
		CHECK_STREQ(ds.d[0].id, d[4].id);
	CHECK_INTEQ(list_daughters(s, NULL, "exited", 2000, 0, &ds), 0);
	CHECK_INTEQ(ds.n, 1);
	if (ds.n == 1)
		CHECK_STREQ(ds.d[0].id, d[5].id);
	CHECK_INTEQ(list_daughters(s, NULL, "killed", 1000, 0, &ds), 0);
	CHECK_INTEQ(ds.n, 0);

	/* uid 0 is an owner like any other, not "anyone". */
	CHECK_INTEQ(list_daughters(s, NULL, NULL, 0, 0, &ds), 0);
	CHECK_INTEQ(ds.n, 1);
	if (ds.n == 1)
		CHECK_STREQ(ds.d[0].id, d[3].id);
	CHECK_INTEQ(list_daughters(s, NULL, NULL, 3000, 0, &ds), 0);
	CHECK_INTEQ(ds.n, 0);

	/* (uid_t)-1 is anyone; a status alone still filters. */
	CHECK_INTEQ(list_daughters(s, NULL, NULL, (uid_t)-1, 0, &ds), 0);
	CHECK_INTEQ(ds.n, 7);
	CHECK_INTEQ(list_daughters(s, NULL, "running", (uid_t)-1, 0, &ds), 0);
	CHECK_INTEQ(ds.n, 5);

	/* A callback's non-zero return stops the walk and is returned. */
	daughters_done(&ds);
	ds.stop_after = 1;
	CHECK_INTEQ(store_daughter_list(s, NULL, NULL, 1000, 0, copy_daughter, &ds), 1);
	CHECK_INTEQ(ds.n, 1);
	ds.stop_after = 0;

	/* An update (which does not write the owner) keeps it, so the row
	 * moves between status lists but stays its owner's. */
	d[4].status = (char *)"killed";
	d[4].owner_uid = 2000; /* ignored by the update */
	CHECK_INTEQ(store_daughter_update(s, &d[4]), 0);
	CHECK_INTEQ(list_daughters(s, NULL, "running", 1000, 0, &ds), 0);
	CHECK_INTEQ(ds.n, 1);
	if (ds.n == 1)
		CHECK_STREQ(ds.d[0].id, d[6].id);
	CHECK_INTEQ(list_daughters(s, NULL, "killed", 1000, 0, &ds), 0);
	CHECK_INTEQ(ds.n, 1);
	if (ds.n == 1) {
		CHECK_STREQ(ds.d[0].id, d[4].id);
		CHECK_INTEQ(ds.d[0].owner_uid, 1000);
	}
	CHECK_INTEQ(list_daughters(s, NULL, NULL, 2000, 0, &ds), 0);
	CHECK_INTEQ(ds.n, 3);

	/* It is all on disk, with owners. */
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);
	s = open_path(path);
	if (!s)
		return;
	CHECK_INTEQ(list_daughters(s, NULL, NULL, 1000, 0, &ds), 0);
	CHECK_INTEQ(ds.n, 3);
	daughters_done(&ds);
	store_free(s);
}

/* store.h: "owner ... (ignored when task_id is given)". task.get passes
 * (uid_t)-1 today, so only this test holds the store to it. */
static void test_daughter_list_task_ignores_owner(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	Task t;
	Daughter d[2];
	Daughters ds = {};
	int r;

	if (!s)
		return;
	make_task(&t, 2000);
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	for (int i = 0; i < 2; i++) {
		make_daughter(&d[i], &t, i ? "running" : "exited");
		CHECK_INTEQ(store_daughter_insert(s, &d[i]), 0);
	}
	r = list_daughters(s, t.id, NULL, 1000, 0, &ds);
	if (r < 0)
		printf("# store_daughter_list: %s\n", store_last_error(s));
	CHECK_INTEQ(r, 0);
	CHECK_INTEQ(ds.n, 2);
	r = list_daughters(s, t.id, "running", 1000, 0, &ds);
	CHECK_INTEQ(r, 0);
	CHECK_INTEQ(ds.n, 1);
	if (ds.n == 1)
		CHECK_STREQ(ds.d[0].id, d[1].id);
	daughters_done(&ds);
	store_free(s);
}

/* ---- the new attempt fields ---- */

static void test_attempt_new_fields_roundtrip(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	Task t;
	Daughter d;
	Attempt full, bare, upd;
	Attempts as = {};

	if (!s)
		return;
	make_task(&t, 1000);
	make_daughter(&d, &t, "running");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	CHECK_INTEQ(store_daughter_insert(s, &d), 0);

	make_attempt(&full, &d, 1, "failed");
	full.reason = (char *)"exited";
	full.exit_code = 2;
	/* A uid above INT32_MAX: stored and read back unsigned. */
	full.uid = 4000000000u;
	full.cgroup = (char *)"job-3";
	full.reported_status = (char *)"halfway";
	full.status_text = (char *)"Loading \xc3\xa9l\xc3\xa9ments 3/7";
	full.unapplied = (char *)"cpu.max, memory.swap.max";
	full.result_json = (char *)"{\"files\":[\"a\",\"b\"],\"ok\":true}";
	CHECK_INTEQ(store_attempt_insert(s, &full), 0);

	make_attempt(&bare, &d, 2, "running");
	CHECK_INTEQ(store_attempt_insert(s, &bare), 0);

	CHECK_INTEQ(store_attempt_list(s, d.id, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 2);
	if (as.n == 2) {
		check_attempt_eq(&as.a[0], &full);
		check_attempt_eq(&as.a[1], &bare);
		CHECK(as.a[1].cgroup == NULL && as.a[1].result_json == NULL);
	}
	attempts_done(&as);

	/* Update: set what was empty, change and clear what was set. */
	upd = bare;
	upd.uid = 61184;
	upd.cgroup = (char *)"job-4";
	upd.reported_status = (char *)"done";
	upd.status_text = (char *)"STATUS text";
	upd.unapplied = (char *)"pids.max";
	upd.result_json = (char *)"{}";
	CHECK_INTEQ(store_attempt_update(s, &upd), 0);
	full.uid = 61185;
	full.cgroup = (char *)"job-3b";
	full.reported_status = NULL;
	full.status_text = NULL;
	full.unapplied = NULL;
	full.result_json = (char *)"[1,2,3]";
	CHECK_INTEQ(store_attempt_update(s, &full), 0);

	CHECK_INTEQ(store_attempt_list_task(s, t.id, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 2);
	if (as.n == 2) {
		check_attempt_eq(&as.a[0], &full);
		check_attempt_eq(&as.a[1], &upd);
	}
	attempts_done(&as);

	/* And from the file, after a reopen. */
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);
	s = open_path(path);
	if (!s)
		return;
	CHECK_INTEQ(store_attempt_list(s, d.id, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 2);
	if (as.n == 2) {
		check_attempt_eq(&as.a[0], &full);
		check_attempt_eq(&as.a[1], &upd);
	}
	attempts_done(&as);
	store_free(s);
}

/* ---- a task's attempts ---- */

static void test_attempt_list_task(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	Task t, other;
	Daughter d[3], od;
	Attempt a[3], oa;
	Attempts as = {};
	/* Inserted in this order; one daughter per attempt, as the runner does. */
	static const int numbers[3] = { 3, 1, 2 };

	if (!s)
		return;
	make_task(&t, 1000);
	make_task(&other, 1000);
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	CHECK_INTEQ(store_task_insert(s, &other), 0);
	make_daughter(&od, &other, "running");
	CHECK_INTEQ(store_daughter_insert(s, &od), 0);
	for (int i = 0; i < 3; i++) {
		make_daughter(&d[i], &t, "exited");
		CHECK_INTEQ(store_daughter_insert(s, &d[i]), 0);
		make_attempt(&a[i], &d[i], numbers[i], "failed");
		CHECK_INTEQ(store_attempt_insert(s, &a[i]), 0);
		if (i == 0) {
			/* Another task's attempt in between, with a number of its own. */
			make_attempt(&oa, &od, 1, "running");
			CHECK_INTEQ(store_attempt_insert(s, &oa), 0);
		}
	}

	/* By number, whatever the insertion order, across its daughters, and only this task's. */
	CHECK_INTEQ(store_attempt_list_task(s, t.id, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 3);
	if (as.n == 3) {
		CHECK_INTEQ(as.a[0].number, 1);
		CHECK_INTEQ(as.a[1].number, 2);
		CHECK_INTEQ(as.a[2].number, 3);
		CHECK_STREQ(as.a[0].id, a[1].id);
		CHECK_STREQ(as.a[1].id, a[2].id);
		CHECK_STREQ(as.a[2].id, a[0].id);
		CHECK_STREQ(as.a[0].daughter_id, d[1].id);
		for (size_t i = 0; i < 3; i++)
			CHECK_STREQ(as.a[i].task_id, t.id);
	}
	attempts_done(&as);

	CHECK_INTEQ(store_attempt_list_task(s, other.id, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 1);
	if (as.n == 1)
		CHECK_STREQ(as.a[0].id, oa.id);
	attempts_done(&as);

	/* An unknown task has none; that is not an error. */
	char none[ID_STRING_MAX];
	CHECK_INTEQ(store_attempt_list_task(s, id_new_string(none), copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 0);

	/* task.logs takes the latest by walking to the end; a stop is honoured. */
	as.stop_after = 2;
	CHECK_INTEQ(store_attempt_list_task(s, t.id, copy_attempt, &as), 1);
	CHECK_INTEQ(as.n, 2);
	attempts_done(&as);
	as.stop_after = 0;

	/* The walk's statement is reset: the same list runs again at once. */
	CHECK_INTEQ(store_attempt_list_task(s, t.id, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 3);
	attempts_done(&as);
	store_free(s);
}

/* ---- attempts still running ---- */

static void test_attempt_list_running(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	Task t[3];
	Daughter d[3];
	Attempt a[6];
	Attempts as = {};
	/* Task, number and status of each attempt, in insertion order. */
	static const struct {
		int task, number;
		const char *status;
	} rows[6] = { { 0, 2, "running" }, { 1, 1, "succeeded" }, { 2, 1, "running" },
		      { 1, 2, "running" }, { 0, 1, "failed" },     { 2, 2, "interrupted" } };

	if (!s)
		return;

	CHECK_INTEQ(store_attempt_list_running(s, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 0);

	for (int i = 0; i < 3; i++) {
		make_task(&t[i], 1000 + (uid_t)i);
		CHECK_INTEQ(store_task_insert(s, &t[i]), 0);
		make_daughter(&d[i], &t[i], "running");
		CHECK_INTEQ(store_daughter_insert(s, &d[i]), 0);
	}
	for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
		make_attempt(&a[i], &d[rows[i].task], rows[i].number, rows[i].status);
		a[i].started_at = 1700000000001000ULL + i;
		a[i].cgroup = (char *)"job-x";
		CHECK_INTEQ(store_attempt_insert(s, &a[i]), 0);
	}

	/* Only 'running', oldest first (not by task, not by number), whole records. */
	CHECK_INTEQ(store_attempt_list_running(s, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 3);
	if (as.n == 3) {
		check_attempt_eq(&as.a[0], &a[0]);
		check_attempt_eq(&as.a[1], &a[2]);
		check_attempt_eq(&as.a[2], &a[3]);
	}
	attempts_done(&as);

	/* Updates move attempts out of the list (and one back in), seen in the
	 * open transaction already. */
	a[0].status = (char *)"interrupted";
	a[0].reason = (char *)"interrupted";
	a[0].finished_at = 1700000000002000ULL;
	CHECK_INTEQ(store_attempt_update(s, &a[0]), 0);
	a[3].status = (char *)"succeeded";
	a[3].reason = (char *)"exited";
	a[3].exit_code = 0;
	CHECK_INTEQ(store_attempt_update(s, &a[3]), 0);
	CHECK_INTEQ(store_attempt_list_running(s, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 1);
	if (as.n == 1)
		CHECK_STREQ(as.a[0].id, a[2].id);
	attempts_done(&as);

	/* 'running' is matched exactly. */
	a[1].status = (char *)"Running";
	CHECK_INTEQ(store_attempt_update(s, &a[1]), 0);
	a[4].status = (char *)"running";
	CHECK_INTEQ(store_attempt_update(s, &a[4]), 0);

	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);
	s = open_path(path);
	if (!s)
		return;
	CHECK_INTEQ(store_attempt_list_running(s, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 2);
	if (as.n == 2) {
		CHECK_STREQ(as.a[0].id, a[2].id);
		CHECK_STREQ(as.a[1].id, a[4].id);
		CHECK_STREQ(as.a[1].task_id, t[0].id);
	}
	attempts_done(&as);

	/* A stop is honoured, and start-up can list again right after. */
	as.stop_after = 1;
	CHECK_INTEQ(store_attempt_list_running(s, copy_attempt, &as), 1);
	CHECK_INTEQ(as.n, 1);
	attempts_done(&as);
	as.stop_after = 0;
	CHECK_INTEQ(store_attempt_list_running(s, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 2);
	attempts_done(&as);
	store_free(s);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %m\n");
		return EXIT_FAILURE;
	}

	TEST(test_v1_file_migrates_keeping_rows);
	TEST(test_v1_migration_is_atomic);
	TEST(test_daughter_list_by_owner);
	TEST(test_daughter_list_task_ignores_owner);
	TEST(test_attempt_new_fields_roundtrip);
	TEST(test_attempt_list_task);
	TEST(test_attempt_list_running);

	remove_tmpdir();
	return tap_done();
}
