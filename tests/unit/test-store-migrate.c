/* SPDX-License-Identifier: MIT */
/*
 * The store's own migration, from schema version 1 to 2 (what it gained for
 * the runner): a file as the first vx11d left it, written here with SQLite
 * alone, migrates keeping every row and column, takes the new fields and says
 * version 2; a version 1 file that is not what it says is refused and left as
 * it was, the migration being one transaction. On real database files in a
 * temporary directory. What version 2 added, at work, is test-store-runner.c;
 * what every store test program shares is store-test.h.
 */
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
	CHECK(t.traceparent == NULL); /* from before step 9: none */
	task_done(&t);

	/* A task of the upgraded file keeps the traceparent it is given. */
	Task nt = { .source = (char *)"operator", .status = TASK_PENDING, .task_type = (char *)"echo", .ttl_seconds = -1 };
	id_new_string(nt.id);
	id_new_string(nt.intent_id);
	nt.traceparent = (char *)"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
	CHECK_INTEQ(store_task_insert(s, &nt), 0);
	CHECK_INTEQ(store_task_get(s, nt.id, &t), 0);
	CHECK_STR_OR_NULL(t.traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
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
		CHECK(a->confinement == NULL); /* from before migration 4: none */
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
	/* attempts_task and attempts_running came with version 2 and went
	 * with 10 (test-store-step10.c). */
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN"
				  " ('daughters_owner')"),
		    1);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM pragma_table_info('attempts') WHERE name IN"
				  " ('uid', 'cgroup', 'reported_status', 'status_text', 'unapplied', 'result_json',"
				  " 'confinement')"),
		    7);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM pragma_table_info('tasks') WHERE name = 'traceparent'"), 1);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM tasks"), 2);
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

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %m\n");
		return EXIT_FAILURE;
	}

	TEST(test_v1_file_migrates_keeping_rows);
	TEST(test_v1_migration_is_atomic);

	remove_tmpdir();
	return tap_done();
}
