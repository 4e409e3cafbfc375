/* SPDX-License-Identifier: MIT */
/*
 * The caller's command of a "command": "caller" task (schema step 8:
 * intents_log.command_json and tasks.command_json): a database of the schema
 * before it (version 4), with rows, upgrades in place keeping them, its old
 * rows having no command; then intents and tasks keep the command they are
 * given, across a reopen. On real database files in a temporary directory.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <unistd.h>

#include "store-test.h"
#include "store/store-sqlite-internal.h"

/* The schema every vx11d before step 8 left: the released steps 1..4. */
#define VERSION_BEFORE 4

static int exec_sql(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		printf("# sqlite3_exec: %s\n", msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
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

/* A version 4 file with one intent and its queued task. */
static int write_v4_file(const char *path, const char *intent_id, const char *task_id)
{
	_cleanup_free_ char *rows = NULL;
	sqlite3 *db = NULL;
	int rc;

	if (asprintf(&rows,
		     "INSERT INTO intents_log (correlation_id, created_at, uid, gid, pid, source, intent_type,"
		     " require_switch, require_spawner, priority, status, mode, provider, error, task_id,"
		     " idempotency_key, text, payload_json, envelope_json, params_digest)"
		     " VALUES ('%s', 1700000000000001, 1000, 1000, 42, 'operator', 'echo', 0, 1, 1, 'QUEUED',"
		     " 'SPAWNER', 'spawner', NULL, '%s', NULL, 'hi', '{\"k\":1}', '{}', NULL);"
		     "INSERT INTO tasks (id, intent_id, source, priority, status, task_type, uid, created_at,"
		     " updated_at, current_retry, max_retries, mutation_level, next_attempt_at, ttl_seconds,"
		     " description, payload_json, result_json)"
		     " VALUES ('%s', '%s', 'operator', 1, 'pending', 'echo', 1000, 1700000000000001,"
		     " 1700000000000001, 0, 3, 0, 0, -1, 'hi', '{\"k\":1}', NULL);",
		     intent_id, task_id, task_id, intent_id) < 0)
		return -ENOMEM;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = exec_sql(db, "PRAGMA journal_mode = WAL; BEGIN;");
	for (unsigned i = 0; rc == SQLITE_OK && i < VERSION_BEFORE; i++)
		rc = exec_sql(db, store_migrations[i]);
	if (rc == SQLITE_OK)
		rc = exec_sql(db, rows);
	if (rc == SQLITE_OK)
		rc = exec_sql(db, "PRAGMA user_version = 4; COMMIT;");
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -EIO;
}

static void test_upgrade_keeps_rows_and_takes_commands(void)
{
	SKIP_ON_PG("it writes an old SQLite file and migrates it; test-store-pg covers PostgreSQL's schema");
	static const char cmd[] = "{\"argv\":[\"/bin/echo\",\"hi there\"],\"cwd\":\"/tmp\",\"env\":{\"A\":\"1\"}}";
	char path[256], intent_id[ID_STRING_MAX], task_id[ID_STRING_MAX], new_task[ID_STRING_MAX],
		new_intent[ID_STRING_MAX];
	IntentRecord rec = {};
	Task t = {};
	Store *s;

	new_db_path(path, sizeof path);
	id_new_string(intent_id);
	id_new_string(task_id);
	CHECK_INTEQ(write_v4_file(path, intent_id, task_id), 0);

	s = open_path(path);
	if (!s)
		return;
	/* The old rows, whole, with no command. */
	CHECK_INTEQ(store_task_get(s, task_id, &t), 0);
	CHECK_STREQ(t.task_type, "echo");
	CHECK_STREQ(t.payload_json, "{\"k\":1}");
	CHECK_INTEQ(t.max_retries, 3);
	CHECK(t.command_json == NULL);
	task_done(&t);
	CHECK_INTEQ(store_intent_get(s, intent_id, &rec), 0);
	CHECK_STREQ(rec.intent_type, "echo");
	CHECK_STREQ(rec.task_id, task_id);
	CHECK_STREQ(rec.text, "hi");
	CHECK(rec.command_json == NULL);
	intent_record_done(&rec);

	/* New rows keep their command. */
	id_new_string(new_task);
	id_new_string(new_intent);
	rec = (IntentRecord){
		.created_at = 1700000000000100,
		.uid = 1000,
		.gid = 1000,
		.source = (char *)"operator",
		.intent_type = (char *)"run",
		.require_spawner = true,
		.status = (char *)"QUEUED",
		.mode = (char *)"SPAWNER",
		.task_id = new_task,
		.command_json = (char *)cmd,
	};
	memcpy(rec.correlation_id, new_intent, ID_STRING_MAX);
	CHECK_INTEQ(store_intent_insert(s, &rec), 0);
	t = (Task){
		.source = (char *)"operator",
		.status = TASK_PENDING,
		.task_type = (char *)"run",
		.uid = 1000,
		.created_at = 1700000000000100,
		.updated_at = 1700000000000100,
		.ttl_seconds = -1,
		.command_json = (char *)cmd,
	};
	memcpy(t.id, new_task, ID_STRING_MAX);
	memcpy(t.intent_id, new_intent, ID_STRING_MAX);
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	/* An update (a status change) leaves it as it was. */
	t.status = TASK_RUNNING;
	t.command_json = NULL;
	CHECK_INTEQ(store_task_update(s, &t), 0);
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);

	s = open_path(path);
	if (!s)
		return;
	t = (Task){};
	CHECK_INTEQ(store_task_get(s, new_task, &t), 0);
	CHECK_INTEQ(t.status, TASK_RUNNING);
	CHECK(t.command_json && streq(t.command_json, cmd));
	task_done(&t);
	rec = (IntentRecord){};
	CHECK_INTEQ(store_intent_get(s, new_intent, &rec), 0);
	CHECK(rec.command_json && streq(rec.command_json, cmd));
	intent_record_done(&rec);
	CHECK_INTEQ(store_task_get(s, task_id, &t), 0);
	CHECK(t.command_json == NULL);
	task_done(&t);
	store_free(s);

	sqlite3 *db = NULL;
	CHECK_INTEQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	CHECK_INTEQ(query_int(db, "PRAGMA user_version"), (int64_t)store_n_migrations);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM pragma_table_info('tasks') WHERE name = 'command_json'"), 1);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM pragma_table_info('intents_log') WHERE name = 'command_json'"),
		    1);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM tasks"), 2);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM intents_log"), 2);
	sqlite3_close(db);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %m\n");
		return EXIT_FAILURE;
	}

	TEST(test_upgrade_keeps_rows_and_takes_commands);

	remove_tmpdir();
	return tap_done();
}
