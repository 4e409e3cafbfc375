/* SPDX-License-Identifier: MIT */
/*
 * Schema step 10 (fewer b-trees per daughter): a version 9 file, written here
 * with SQLite and the released steps 1..9, upgrades keeping every intent,
 * daughter and attempt with their columns. Then an attempt is one b-tree
 * entry, an intent two, a daughter four (the tables are kept in the b-tree
 * of their key); daughters are still listed by task, status and owner; a
 * daughter's attempts and those a crash left running are found without
 * scanning the attempts; an attempt is updated by its key; an idempotency key
 * still finds its intent; and an intent's result_status reads its task's
 * status while the task is kept and keeps it once the task is pruned.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <unistd.h>

#include "store-test.h"
#include "store/store-sqlite-internal.h"

typedef struct V9Rows {
	char task[ID_STRING_MAX], intent[ID_STRING_MAX], done_task[ID_STRING_MAX], done_intent[ID_STRING_MAX];
	char ended[ID_STRING_MAX], running[ID_STRING_MAX]; /* daughters */
	char a_ended[ID_STRING_MAX], a_running[ID_STRING_MAX];
} V9Rows;

static int64_t query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* A running task with one ended and one running daughter (one attempt each),
 * and a completed task without daughters; their intents say QUEUED. */
static int write_v9_file(const char *path, V9Rows *ids)
{
	char sql[8192];
	sqlite3 *db = NULL;
	int rc;

	id_new_string(ids->task);
	id_new_string(ids->intent);
	id_new_string(ids->done_task);
	id_new_string(ids->done_intent);
	id_new_string(ids->ended);
	id_new_string(ids->running);
	id_new_string(ids->a_ended);
	id_new_string(ids->a_running);
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	for (unsigned i = 0; rc == SQLITE_OK && i < 9; i++)
		rc = sqlite3_exec(db, store_migrations[i], NULL, NULL, NULL);
#define INTENT(cid, tid)                                                                                   \
	"INSERT INTO intents_log (correlation_id, created_at, uid, gid, pid, source, intent_type,"         \
	" require_switch, require_spawner, priority, status, mode, task_id, envelope_json, processed_at,"  \
	" result_status, idempotency_key, params_digest, command_json) VALUES ('" cid "', 1, 1000, 1000, 42,"\
	" 'operator', 'echo', 0, 1, 1, 'QUEUED', 'SPAWNER', '" tid "', '{}', 1, 'QUEUED', 'k-" tid "', 'd'," \
	" '{\"argv\":[\"x\"]}');"
#define TASK(tid, cid, status)                                                                             \
	"INSERT INTO tasks (id, intent_id, source, priority, status, task_type, uid, created_at, updated_at," \
	" current_retry, max_retries, mutation_level, next_attempt_at, ttl_seconds)"                       \
	" VALUES ('" tid "', '" cid "', 'operator', 1, '" status "', 'echo', 1000, 1, 2, 0, 2, 0, 0, -1);"
#define DAUGHTER(did, tid, status)                                                                         \
	"INSERT INTO daughters (id, task_id, name, status, mutation_level, started_at, last_heartbeat_at,"  \
	" ended_at, owner_uid, ttl_seconds) VALUES ('" did "', '" tid "', 'echo', '" status "', 0, 10, 11,"  \
	" 0, 1000, 60);"
#define ATTEMPT(seq, aid, did, tid, n, status)                                                             \
	"INSERT INTO attempts (seq, id, daughter_id, task_id, number, status, reason, started_at,"          \
	" finished_at, exit_code, signal, cpu_usec, memory_peak_bytes, tokens_used_cli, tokens_used_local," \
	" switch_model_used, cli_provider_used, error_message, uid, cgroup, reported_status, status_text,"  \
	" unapplied, result_json, confinement) VALUES (" seq ", '" aid "', '" did "', '" tid "', " n ", '"  \
	status "', 'r" n "', 20, 21, 3, 0, 4500, 1048576, 7, 8, 'm', 'p', 'e', 61200, 'job-" n "', 'ok',"    \
	" 'st', 'memory', '{\"n\":" n "}', '{\"uid\":61200}');"
	snprintf(sql, sizeof sql,
		 INTENT("%1$s", "%2$s") TASK("%2$s", "%1$s", "running") INTENT("%3$s", "%4$s")
			 TASK("%4$s", "%3$s", "completed") DAUGHTER("%5$s", "%2$s", "exited")
				 DAUGHTER("%6$s", "%2$s", "running") ATTEMPT("7", "%7$s", "%5$s", "%2$s", "1", "exited")
					 ATTEMPT("9", "%8$s", "%6$s", "%2$s", "2", "running") "PRAGMA user_version = 9;",
		 ids->intent, ids->task, ids->done_intent, ids->done_task, ids->ended, ids->running, ids->a_ended,
		 ids->a_running);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		printf("# %s\n", sqlite3_errmsg(db));
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -EIO;
}

/* The b-tree entries statement idx writes (Insert, IdxInsert), as the
 * store's counter reads them (store-sqlite.c, btree_ops()). */
static int btree_entries(sqlite3 *db, unsigned idx)
{
	_cleanup_free_ char *sql = store_statement_sql(idx), *explain = NULL;
	sqlite3_stmt *st = NULL;
	int n = 0;

	if (!sql || asprintf(&explain, "EXPLAIN %s", sql) < 0 || sqlite3_prepare_v2(db, explain, -1, &st, NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *op = (const char *)sqlite3_column_text(st, 1);
		bool noop = sqlite3_column_int(st, 6) & 0x40; /* OPFLAG_ISNOOP: the pre-update hook only */
		n += op && ((streq(op, "Insert") && !noop) || streq(op, "IdxInsert"));
	}
	sqlite3_finalize(st);
	return n;
}

/* No plan of statement idx reads the whole of attempts. */
static void check_no_attempts_scan(sqlite3 *db, unsigned idx)
{
	_cleanup_free_ char *sql = store_statement_sql(idx), *explain = NULL;
	sqlite3_stmt *st = NULL;

	CHECK(sql && asprintf(&explain, "EXPLAIN QUERY PLAN %s", sql) > 0);
	CHECK_INTEQ(sqlite3_prepare_v2(db, explain, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *d = (const char *)sqlite3_column_text(st, 3);
		if (d && strstr(d, "SCAN attempts"))
			printf("# %s: %s\n", sql, d);
		CHECK(!d || !strstr(d, "SCAN attempts"));
	}
	sqlite3_finalize(st);
}

static void test_v9_file_upgrades(void)
{
	char path[256];
	V9Rows ids;
	Attempts as = {};
	IntentRecord got = {};
	sqlite3 *db = NULL;
	Store *s;

	new_db_path(path, sizeof path);
	CHECK_INTEQ(write_v9_file(path, &ids), 0);
	s = open_path(path);
	if (!s)
		return;

	/* Every daughter, every column, by task, status and owner. */
	Daughters ds = {};
	CHECK_INTEQ(list_daughters(s, ids.task, NULL, (uid_t)-1, 0, &ds), 0);
	CHECK_INTEQ(ds.n, 2);
	if (ds.n == 2) {
		CHECK_STREQ(ds.d[0].id, ids.ended);
		CHECK_STREQ(ds.d[1].id, ids.running);
		CHECK_STREQ(ds.d[1].task_id, ids.task);
		CHECK_STR_OR_NULL(ds.d[1].name, "echo");
		CHECK_STR_OR_NULL(ds.d[1].status, "running");
		CHECK_INTEQ((int64_t)ds.d[1].last_heartbeat_at, 11);
		CHECK_INTEQ(ds.d[1].owner_uid, 1000);
		CHECK_INTEQ(ds.d[1].ttl_seconds, 60);
	}
	CHECK_INTEQ(list_daughters(s, NULL, "running", (uid_t)-1, 0, &ds), 0);
	CHECK(ds.n == 1 && streq(ds.d[0].id, ids.running));
	CHECK_INTEQ(list_daughters(s, NULL, NULL, 1000, 0, &ds), 0);
	CHECK_INTEQ(ds.n, 2);
	CHECK_INTEQ(store_daughter_heartbeat(s, ids.running, 12), 0);
	daughters_done(&ds);

	/* Every attempt, every column. */
	CHECK_INTEQ(store_attempt_list_task(s, ids.task, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 2);
	if (as.n == 2) {
		CHECK_STREQ(as.a[0].id, ids.a_ended);
		CHECK_STREQ(as.a[1].id, ids.a_running);
		CHECK_STR_OR_NULL(as.a[1].status, "running");
		CHECK_STR_OR_NULL(as.a[1].cgroup, "job-2");
		CHECK_STR_OR_NULL(as.a[1].result_json, "{\"n\":2}");
		CHECK_STR_OR_NULL(as.a[1].confinement, "{\"uid\":61200}");
		CHECK_STR_OR_NULL(as.a[1].unapplied, "memory");
		CHECK_INTEQ(as.a[1].uid, 61200);
		CHECK_INTEQ((int64_t)as.a[1].memory_peak_bytes, 1048576);
	}
	attempts_done(&as);

	/* A daughter's own attempts; the one a crash left running. */
	CHECK_INTEQ(store_attempt_list(s, ids.ended, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 1);
	if (as.n == 1)
		CHECK_STREQ(as.a[0].id, ids.a_ended);
	attempts_done(&as);
	CHECK_INTEQ(store_attempt_list_running(s, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 1);
	if (as.n == 1) {
		Attempt a = as.a[0];
		CHECK_STREQ(a.id, ids.a_running);
		/* Updated by task and id: another task's id finds nothing. */
		free(as.a[0].status);
		a.status = as.a[0].status = strdup("interrupted");
		memcpy(a.task_id, ids.done_task, ID_STRING_MAX);
		CHECK_INTEQ(store_attempt_update(s, &a), -ENOENT);
		memcpy(a.task_id, ids.task, ID_STRING_MAX);
		CHECK_INTEQ(store_attempt_update(s, &a), 0);
	}
	attempts_done(&as);
	CHECK_INTEQ(store_attempt_list_running(s, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 0);
	attempts_done(&as);

	/* The intent of a kept task reads the task's word; a pruned task's
	 * intent keeps the word it had. */
	CHECK_INTEQ(store_intent_get(s, ids.intent, &got), 0);
	CHECK_STR_OR_NULL(got.result_status, "RUNNING");
	intent_record_done(&got);
	CHECK_INTEQ(store_intent_get(s, ids.done_intent, &got), 0);
	CHECK_STR_OR_NULL(got.result_status, "DONE");
	intent_record_done(&got);
	CHECK_INTEQ(store_task_delete(s, ids.done_task), 0);
	CHECK_INTEQ(store_intent_get(s, ids.done_intent, &got), 0);
	CHECK_STR_OR_NULL(got.result_status, "DONE");
	intent_record_done(&got);

	/* Every column of a migrated intent; its key finds it. */
	CHECK_INTEQ(store_intent_find_idempotent(s, 1000, "k-" , &got), -ENOENT);
	char key[ID_STRING_MAX + 8];
	snprintf(key, sizeof key, "k-%s", ids.task);
	CHECK_INTEQ(store_intent_find_idempotent(s, 1000, key, &got), 0);
	CHECK_STREQ(got.correlation_id, ids.intent);
	CHECK_STR_OR_NULL(got.params_digest, "d");
	CHECK_STR_OR_NULL(got.command_json, "{\"argv\":[\"x\"]}");
	CHECK_STR_OR_NULL(got.envelope_json, "{}");
	CHECK_STR_OR_NULL(got.source, "operator");
	CHECK_INTEQ((int64_t)got.processed_at, 1);
	intent_record_done(&got);

	/* A new attempt goes in beside the migrated ones. */
	Attempt n = {.number = 3, .status = (char *)"running", .exit_code = -1};
	id_new_string(n.id);
	memcpy(n.daughter_id, ids.running, ID_STRING_MAX);
	memcpy(n.task_id, ids.task, ID_STRING_MAX);
	CHECK_INTEQ(store_attempt_insert(s, &n), 0);
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);

	CHECK_INTEQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	CHECK_INTEQ(query_int(db, "PRAGMA user_version"), (int64_t)store_n_migrations);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM attempts"), 3);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM intents_log"), 2);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%_10'"), 0);
	/* One b-tree entry per attempt, two per intent (the second: its
	 * idempotency key's partial index), as EXPLAIN counts them. */
	CHECK_INTEQ(btree_entries(db, STMT_ATTEMPT_INSERT), 1);
	CHECK_INTEQ(btree_entries(db, STMT_ATTEMPT_UPDATE), 1);
	CHECK_INTEQ(btree_entries(db, STMT_INTENT_INSERT), 2);
	CHECK_INTEQ(btree_entries(db, STMT_DAUGHTER_INSERT), 4);
	CHECK_INTEQ(btree_entries(db, STMT_DAUGHTER_UPDATE), 2);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM daughters"), 2);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM intents_log WHERE result_status = 'DONE'"), 1);
	check_no_attempts_scan(db, STMT_ATTEMPT_LIST);
	check_no_attempts_scan(db, STMT_ATTEMPT_LIST_RUNNING);
	check_no_attempts_scan(db, STMT_ATTEMPT_UPDATE);
	sqlite3_close(db);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %m\n");
		return EXIT_FAILURE;
	}

	TEST(test_v9_file_upgrades);

	remove_tmpdir();
	return tap_done();
}
