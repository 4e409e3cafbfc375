/* SPDX-License-Identifier: MIT */
/*
 * What the store gained for planning by the switch (schema version 5): the
 * plan columns of a task, and of an intent when madre finished with it, the
 * status it stands at and its notes. A version 4 file with rows in it
 * upgrades in place; the new fields round-trip; an intent row is updated.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <unistd.h>

#include "store-test.h"
#include "store/store-sqlite-internal.h"

static void make_intent(IntentRecord *rec, const char *task_id)
{
	*rec = (IntentRecord){
		.created_at = 1700000000000002ULL,
		.uid = 1000,
		.gid = 1000,
		.source = (char *)"operator",
		.intent_type = (char *)"analysis",
		.require_switch = true,
		.require_spawner = true,
		.status = (char *)"QUEUED",
		.mode = (char *)"SPAWNER",
		.task_id = (char *)task_id,
	};
	id_new_string(rec->correlation_id);
}

/* A version 4 file (the released steps 1..4) with an intent and its task
 * upgrades: the rows keep every column, the task has no plan and is not
 * degraded, the intent's result_status is its task's (what it replied
 * until step 10) and its processed_at its time. */
static void test_v4_file_upgrades_keeping_rows(void)
{
	SKIP_ON_PG("it writes an old SQLite file and migrates it; test-store-pg covers PostgreSQL's schema");
	char path[256], cid[ID_STRING_MAX], tid[ID_STRING_MAX], sql[2048];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	IntentRecord got = {};
	Task t = {};
	Store *s;
	int rc;

	CHECK(store_n_migrations >= 5);
	new_db_path(path, sizeof path);
	id_new_string(cid);
	id_new_string(tid);
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	for (unsigned i = 0; rc == SQLITE_OK && i < 4; i++)
		rc = sqlite3_exec(db, store_migrations[i], NULL, NULL, NULL);
	snprintf(sql, sizeof sql,
		 "INSERT INTO intents_log (correlation_id, created_at, uid, gid, pid, source, intent_type,"
		 " require_switch, require_spawner, priority, status, mode, provider, error, task_id,"
		 " idempotency_key, text, payload_json, envelope_json)"
		 " VALUES ('%s', 1700000000000001, 1000, 1000, 42, 'operator', 'echo', 0, 1, 1, 'QUEUED', 'SPAWNER',"
		 " 'spawner', NULL, '%s', NULL, 'hi', '{\"n\":1}', '{\"status\":\"QUEUED\"}');"
		 "INSERT INTO tasks (id, intent_id, source, priority, status, task_type, uid, created_at, updated_at,"
		 " current_retry, max_retries, mutation_level, next_attempt_at, ttl_seconds, description,"
		 " payload_json, result_json)"
		 " VALUES ('%s', '%s', 'operator', 1, 'completed', 'echo', 1000, 1700000000000001, 1700000000000009,"
		 " 0, 2, 0, 0, -1, 'hi', '{\"n\":1}', '{\"exit_code\":0}');"
		 "PRAGMA user_version = 4;",
		 cid, tid, tid, cid);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	CHECK_INTEQ(rc, SQLITE_OK);
	sqlite3_close(db);

	s = open_path(path);
	if (!s)
		return;
	CHECK_INTEQ(store_task_get(s, tid, &t), 0);
	CHECK_STREQ(t.intent_id, cid);
	CHECK_STR_OR_NULL(t.task_type, "echo");
	CHECK_STR_OR_NULL(t.description, "hi");
	CHECK_STR_OR_NULL(t.result_json, "{\"exit_code\":0}");
	CHECK(t.status == TASK_COMPLETED);
	CHECK(!t.degraded && !t.provider && !t.model && !t.plan_json);
	task_done(&t);

	CHECK_INTEQ(store_intent_get(s, cid, &got), 0);
	CHECK_STR_OR_NULL(got.status, "QUEUED");
	/* Step 5 gave it what was replied; since step 10 it reads its task's word. */
	CHECK_STR_OR_NULL(got.result_status, "DONE");
	CHECK_INTEQ((int64_t)got.processed_at, (int64_t)1700000000000001ULL);
	CHECK(got.notes == NULL);
	CHECK_STR_OR_NULL(got.envelope_json, "{\"status\":\"QUEUED\"}");
	CHECK(got.task_id && streq(got.task_id, tid));
	intent_record_done(&got);

	/* The upgraded rows take the new fields, and keep them across a reopen. */
	CHECK_INTEQ(store_task_get(s, tid, &t), 0);
	free(t.provider), t.provider = strdup("switch");
	free(t.model), t.model = strdup("m-7b");
	free(t.plan_json), t.plan_json = strdup("{\"approach\":\"x\"}");
	free(t.task_type), t.task_type = strdup("analysis");
	t.degraded = true;
	CHECK_INTEQ(store_task_update(s, &t), 0);
	task_done(&t);
	CHECK_INTEQ(store_intent_set_result(s, cid, "DONE"), 0);
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);

	s = open_path(path);
	if (!s)
		return;
	CHECK_INTEQ(store_task_get(s, tid, &t), 0);
	CHECK(t.degraded);
	CHECK_STR_OR_NULL(t.provider, "switch");
	CHECK_STR_OR_NULL(t.model, "m-7b");
	CHECK_STR_OR_NULL(t.plan_json, "{\"approach\":\"x\"}");
	CHECK_STR_OR_NULL(t.task_type, "analysis");
	task_done(&t);
	CHECK_INTEQ(store_intent_get(s, cid, &got), 0);
	CHECK_STR_OR_NULL(got.result_status, "DONE");
	CHECK_STR_OR_NULL(got.status, "QUEUED"); /* what was replied stays */
	intent_record_done(&got);
	store_free(s);

	CHECK_INTEQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		CHECK_INTEQ(sqlite3_column_int64(st, 0), (int64_t)store_n_migrations);
	else
		CHECK(!"PRAGMA user_version");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* A new intent: inserted in planning, updated once planned; an update of a
 * row that does not exist says so; result_status of one that does not exist
 * is no error (the intent of a daughter.spawn task may be older). */
static void test_intent_update_roundtrip(void)
{
	char tid[ID_STRING_MAX];
	IntentRecord rec, got = {};
	char path[256];
	Store *s = open_new(path, sizeof path);

	if (!s)
		return;
	id_new_string(tid);
	make_intent(&rec, tid);
	rec.notes = (char *)"planning";
	CHECK_INTEQ(store_intent_insert(s, &rec), 0);
	rec.provider = (char *)"switch";
	rec.envelope_json = (char *)"{\"status\":\"QUEUED\"}";
	rec.processed_at = 1700000000000500ULL;
	rec.result_status = (char *)"QUEUED";
	rec.notes = (char *)"planned by the switch: provider local-llm, model m-7b, approach a";
	CHECK_INTEQ(store_intent_update(s, &rec), 0);
	CHECK_INTEQ(store_commit(s), 0);
	CHECK_INTEQ(store_intent_get(s, rec.correlation_id, &got), 0);
	CHECK_STR_OR_NULL(got.provider, "switch");
	CHECK_STR_OR_NULL(got.envelope_json, "{\"status\":\"QUEUED\"}");
	CHECK_INTEQ((int64_t)got.processed_at, (int64_t)1700000000000500ULL);
	CHECK_STR_OR_NULL(got.result_status, "QUEUED");
	CHECK_STR_OR_NULL(got.notes, "planned by the switch: provider local-llm, model m-7b, approach a");
	CHECK_STR_OR_NULL(got.intent_type, "analysis");
	CHECK(got.require_switch && got.require_spawner);
	intent_record_done(&got);

	CHECK_INTEQ(store_intent_set_result(s, rec.correlation_id, "RUNNING"), 0);
	CHECK_INTEQ(store_intent_get(s, rec.correlation_id, &got), 0);
	CHECK_STR_OR_NULL(got.result_status, "RUNNING");
	intent_record_done(&got);

	id_new_string(rec.correlation_id);
	CHECK_INTEQ(store_intent_update(s, &rec), -ENOENT);
	CHECK_INTEQ(store_intent_set_result(s, rec.correlation_id, "DONE"), 0);
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %m\n");
		return EXIT_FAILURE;
	}

	TEST(test_v4_file_upgrades_keeping_rows);
	TEST(test_intent_update_roundtrip);

	remove_tmpdir();
	return tap_done();
}
