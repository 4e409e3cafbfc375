/* SPDX-License-Identifier: MIT */
/*
 * Schema step 11 (the node that ran an attempt, issue 13): a version 10
 * file, written here with SQLite and the released steps 1..10, upgrades in
 * place: its attempts keep every row, with no node (NULL); attempts added
 * after keep the node they were inserted with, which an update leaves as it
 * was; a new file has the column from the start. No index comes with it: an
 * attempt is still one b-tree entry (issue 12).
 */
#include <sqlite3.h>
#include <stdint.h>
#include <unistd.h>

#include "store-test.h"
#include "store/store-sqlite-internal.h"

typedef struct V10Rows {
	char task[ID_STRING_MAX], intent[ID_STRING_MAX], daughter[ID_STRING_MAX], attempt[ID_STRING_MAX];
} V10Rows;

static int64_t query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* A running task, its daughter and its first attempt, as step 10 keeps them. */
static int write_v10_file(const char *path, V10Rows *ids)
{
	char sql[4096];
	sqlite3 *db = NULL;
	int rc;

	id_new_string(ids->task);
	id_new_string(ids->intent);
	id_new_string(ids->daughter);
	id_new_string(ids->attempt);
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	for (unsigned i = 0; rc == SQLITE_OK && i < 10; i++)
		rc = sqlite3_exec(db, store_migrations[i], NULL, NULL, NULL);
	snprintf(sql, sizeof sql,
		 "INSERT INTO intents_log (correlation_id, created_at, uid, gid, pid, source, intent_type,"
		 " require_switch, require_spawner, priority, status, mode, task_id)"
		 " VALUES ('%2$s', 1, 1000, 1000, 42, 'operator', 'echo', 0, 1, 1, 'QUEUED', 'SPAWNER', '%1$s');"
		 "INSERT INTO tasks (id, intent_id, source, priority, status, task_type, uid, created_at, updated_at,"
		 " current_retry, max_retries, mutation_level, next_attempt_at, ttl_seconds)"
		 " VALUES ('%1$s', '%2$s', 'operator', 1, 'running', 'echo', 1000, 1, 2, 1, 2, 0, 0, -1);"
		 "INSERT INTO daughters (task_id, id, name, status, mutation_level, started_at, last_heartbeat_at,"
		 " ended_at, owner_uid, ttl_seconds) VALUES ('%1$s', '%3$s', 'echo', 'running', 0, 10, 11, 0, 1000, 60);"
		 "INSERT INTO attempts (task_id, number, id, daughter_id, status, reason, started_at, finished_at,"
		 " exit_code, signal, cpu_usec, memory_peak_bytes, tokens_used_cli, tokens_used_local, uid, cgroup)"
		 " VALUES ('%1$s', 1, '%4$s', '%3$s', 'exited', 'failed', 20, 21, 3, 0, 4500, 1048576, 7, 8, 61200,"
		 " 'job-1');"
		 "PRAGMA user_version = 10;",
		 ids->task, ids->intent, ids->daughter, ids->attempt);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		printf("# %s\n", sqlite3_errmsg(db));
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -EIO;
}

/* The b-tree entries statement idx writes (Insert, IdxInsert), as
 * test-store-step10.c counts them. */
static int btree_entries(sqlite3 *db, unsigned idx)
{
	_cleanup_free_ char *sql = store_statement_sql(idx), *explain = NULL;
	sqlite3_stmt *st = NULL;
	int n = 0;

	if (!sql || asprintf(&explain, "EXPLAIN %s", sql) < 0 || sqlite3_prepare_v2(db, explain, -1, &st, NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *op = (const char *)sqlite3_column_text(st, 1);
		bool noop = sqlite3_column_int(st, 6) & 0x40; /* OPFLAG_ISNOOP */
		n += op && ((streq(op, "Insert") && !noop) || streq(op, "IdxInsert"));
	}
	sqlite3_finalize(st);
	return n;
}

static void test_v10_file_upgrades(void)
{
	char path[256];
	V10Rows ids;
	Attempts as = {};
	sqlite3 *db = NULL;
	Store *s;

	new_db_path(path, sizeof path);
	CHECK_INTEQ(write_v10_file(path, &ids), 0);
	s = open_path(path);
	if (!s)
		return;

	/* The attempt from before has every column, and no node. */
	CHECK_INTEQ(store_attempt_list_task(s, ids.task, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 1);
	if (as.n == 1) {
		CHECK_STREQ(as.a[0].id, ids.attempt);
		CHECK_STR_OR_NULL(as.a[0].status, "exited");
		CHECK_STR_OR_NULL(as.a[0].cgroup, "job-1");
		CHECK_INTEQ(as.a[0].uid, 61200);
		CHECK_INTEQ((int64_t)as.a[0].memory_peak_bytes, 1048576);
		CHECK(as.a[0].node == NULL);
	}
	attempts_done(&as);

	/* A new attempt keeps its node; an update (which never names the
	 * node) leaves it, and leaves the old attempt without one. */
	Attempt n = {.number = 2, .status = (char *)"running", .exit_code = -1, .node = (char *)"alpha"};
	id_new_string(n.id);
	memcpy(n.daughter_id, ids.daughter, ID_STRING_MAX);
	memcpy(n.task_id, ids.task, ID_STRING_MAX);
	CHECK_INTEQ(store_attempt_insert(s, &n), 0);
	n.status = (char *)"exited";
	n.node = (char *)"beta";
	CHECK_INTEQ(store_attempt_update(s, &n), 0);
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);

	s = open_path(path);
	if (!s)
		return;
	CHECK_INTEQ(store_attempt_list(s, ids.daughter, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 2);
	if (as.n == 2) {
		CHECK_STREQ(as.a[0].id, ids.attempt);
		CHECK(as.a[0].node == NULL);
		CHECK_STREQ(as.a[1].id, n.id);
		CHECK_STR_OR_NULL(as.a[1].status, "exited");
		CHECK_STR_OR_NULL(as.a[1].node, "alpha");
	}
	attempts_done(&as);
	store_free(s);

	CHECK_INTEQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	CHECK_INTEQ(query_int(db, "PRAGMA user_version"), (int64_t)store_n_migrations);
	CHECK(store_n_migrations >= 11);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM attempts WHERE node IS NULL"), 1);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM attempts WHERE node = 'alpha'"), 1);
	/* Still one entry per attempt written: no index on the node. */
	CHECK_INTEQ(btree_entries(db, STMT_ATTEMPT_INSERT), 1);
	CHECK_INTEQ(btree_entries(db, STMT_ATTEMPT_UPDATE), 1);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'attempts'"
			       " AND sql LIKE '%node%'"), 0);
	sqlite3_close(db);
}

static void test_new_file_has_node(void)
{
	char path[256];
	sqlite3 *db = NULL;
	Store *s = open_new(path, sizeof path);

	if (!s)
		return;
	store_free(s);
	CHECK_INTEQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	CHECK_INTEQ(query_int(db, "PRAGMA user_version"), (int64_t)store_n_migrations);
	CHECK_INTEQ(query_int(db, "SELECT count(*) FROM pragma_table_info('attempts') WHERE name = 'node'"
			       " AND type = 'TEXT' AND \"notnull\" = 0"), 1);
	sqlite3_close(db);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %m\n");
		return EXIT_FAILURE;
	}

	TEST(test_v10_file_upgrades);
	TEST(test_new_file_has_node);

	remove_tmpdir();
	return tap_done();
}
