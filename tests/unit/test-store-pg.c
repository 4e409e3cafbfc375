/* SPDX-License-Identifier: MIT */
/*
 * The PostgreSQL store, what the SQLite-shaped tests cannot show: two Store
 * handles on one database (two nodes), the node each row names, the schema
 * and its migration record, durable commits, a connection lost in the
 * middle of a group and the reconnect after it. Needs VX11_TEST_DATABASE (tests/unit/with-pg.sh);
 * without it every case is skipped.
 */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "store-core-test.h"

#define NEED_PG()                                                                                          \
	do {                                                                                               \
		if (!test_on_pg())                                                                         \
			SKIP("needs VX11_TEST_DATABASE (tests/unit/with-pg.sh)");                          \
	} while (0)

static Store *open_node(const char *url, const char *node)
{
	Store *s = NULL;
	int r = store_open_url(url, node, &s);

	if (r < 0)
		printf("# store_open_url(%s, %s): %d %s\n", url, node, r, store_last_error(NULL));
	CHECK_INTEQ(r, 0);
	return s;
}

static int64_t count_rows(const char *url, const char *sql)
{
	return test_pg_query(url, sql);
}

/* What one node committed the other reads; what it has not, the other does not. */
static void test_two_nodes_share_tasks(void)
{
	char url[256];
	Store *n1, *n2;
	Task t, t2, got = {};
	IntentRecord i, igot = {};

	NEED_PG();
	new_db_path(url, sizeof url);
	n1 = open_node(url, "n1");
	n2 = open_node(url, "n2");
	if (!n1 || !n2)
		goto out;
	CHECK_STREQ(store_backend_name(n1), "postgresql");

	make_intent(&i, 1000, "k");
	make_task(&t, TASK_PENDING, 1000, "operator");
	memcpy(t.intent_id, i.correlation_id, ID_STRING_MAX);
	i.task_id = t.id; /* its result_status is read from the task */
	CHECK_INTEQ(store_intent_insert(n1, &i), 0);
	CHECK_INTEQ(store_task_insert(n1, &t), 0);
	CHECK(t.seq > 0);
	CHECK(store_has_pending(n1));
	/* n1 sees its own open transaction; n2 does not. */
	CHECK_INTEQ(store_task_get(n1, t.id, &got), 0);
	task_done(&got);
	CHECK_INTEQ(store_task_get(n2, t.id, &got), -ENOENT);
	CHECK_INTEQ(store_intent_get(n2, i.correlation_id, &igot), -ENOENT);

	CHECK_INTEQ(store_commit(n1), 0);
	CHECK_INTEQ(store_task_get(n2, t.id, &got), 0);
	CHECK_STREQ(got.intent_id, i.correlation_id);
	CHECK_INTEQ(got.seq, t.seq);
	task_done(&got);
	CHECK_INTEQ(store_intent_get(n2, i.correlation_id, &igot), 0);
	CHECK_STR_OR_NULL(igot.result_status, "QUEUED");
	intent_record_done(&igot);

	/* One sequence for the fleet: n2's task comes after n1's. */
	make_task(&t2, TASK_PENDING, 1000, "operator");
	CHECK_INTEQ(store_task_insert(n2, &t2), 0);
	CHECK(t2.seq > t.seq);
	CHECK_INTEQ(store_commit(n2), 0);

	/* A write by n2 to n1's task, committed: n1 reads it. */
	t.status = TASK_RUNNING;
	CHECK_INTEQ(store_task_update(n2, &t), 0);
	CHECK_INTEQ(store_task_get(n1, t.id, &got), 0);
	CHECK_INTEQ(got.status, TASK_PENDING);
	task_done(&got);
	CHECK_INTEQ(store_commit(n2), 0);
	CHECK_INTEQ(store_task_get(n1, t.id, &got), 0);
	CHECK_INTEQ(got.status, TASK_RUNNING);
	task_done(&got);
	CHECK_INTEQ(store_intent_get(n1, i.correlation_id, &igot), 0);
	CHECK_STR_OR_NULL(igot.result_status, "RUNNING");
	intent_record_done(&igot);
out:
	store_free(n1);
	store_free(n2);
}

/* Intents and daughters name the node that wrote them; an attempt keeps the
 * node its runner gave (Attempt.node). */
static void test_rows_name_their_node(void)
{
	char url[256], sql[200];
	Store *n1, *n2;
	IntentRecord i;
	Daughter d;
	Attempt a, b;
	Attempts as = {};
	Task t;

	NEED_PG();
	new_db_path(url, sizeof url);
	n1 = open_node(url, "n1");
	n2 = open_node(url, "n2");
	if (!n1 || !n2)
		goto out;
	make_intent(&i, 1, NULL);
	make_task(&t, TASK_RUNNING, 1, "operator");
	make_daughter(&d, t.id, "running");
	make_attempt(&a, &d, 1);
	CHECK_INTEQ(store_intent_insert(n1, &i), 0);
	CHECK_INTEQ(store_task_insert(n1, &t), 0);
	CHECK_INTEQ(store_daughter_insert(n1, &d), 0);
	CHECK_INTEQ(store_attempt_insert(n1, &a), 0); /* node NULL: as given, as SQLite keeps it */
	CHECK_INTEQ(store_commit(n1), 0);
	make_attempt(&b, &d, 2);
	b.node = (char *)"elsewhere";
	CHECK_INTEQ(store_attempt_insert(n2, &b), 0);
	CHECK_INTEQ(store_commit(n2), 0);

	CHECK_INTEQ(store_attempt_list_task(n2, t.id, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 2);
	if (as.n == 2) {
		CHECK(as.a[0].node == NULL);
		CHECK_STR_OR_NULL(as.a[1].node, "elsewhere");
	}
	attempts_done(&as);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM intents_log WHERE node = 'n1' AND correlation_id = '%s'",
		 i.correlation_id);
	CHECK_INTEQ(count_rows(url, sql), 1);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM daughters WHERE node = 'n1' AND id = '%s'", d.id);
	CHECK_INTEQ(count_rows(url, sql), 1);
out:
	store_free(n1);
	store_free(n2);
}

/* Step 11 is the whole schema, fleet tables included, step 12 the trigger
 * of the events across nodes; recorded once with the node that made them; a
 * second open changes nothing. */
static void test_schema_recorded(void)
{
	char url[256];
	Store *s, *again;

	NEED_PG();
	new_db_path(url, sizeof url);
	s = open_node(url, "maker");
	if (!s)
		return;
	CHECK_INTEQ(count_rows(url, "SELECT max(step) FROM vx11_migrations"), 12);
	CHECK_INTEQ(count_rows(url, "SELECT count(*) FROM vx11_migrations"), 12);
	CHECK_INTEQ(count_rows(url, "SELECT count(*) FROM vx11_migrations WHERE node = 'maker'"), 12);
	CHECK_INTEQ(count_rows(url, "SELECT count(*) FROM information_schema.tables WHERE table_schema ="
				    " current_schema() AND table_name IN ('nodes', 'attempt_logs', 'task_deps', 'pauses')"),
		    4);
	CHECK_INTEQ(count_rows(url, "SELECT count(*) FROM information_schema.columns WHERE table_schema ="
				    " current_schema() AND table_name = 'tasks' AND column_name IN"
				    " ('claimed_by', 'claim_seq', 'claimed_at')"),
		    3);
	CHECK_INTEQ(count_rows(url, "SELECT count(*) FROM information_schema.triggers WHERE trigger_schema ="
				    " current_schema() AND trigger_name = 'tasks_event'"),
		    2); /* a row per event: INSERT, UPDATE */
	again = open_node(url, "second");
	CHECK_INTEQ(count_rows(url, "SELECT count(*) FROM vx11_migrations"), 12);
	store_free(again);
	store_free(s);
}

/* Durable commits are counted as such; there is no sync thread (ticket 0). */
static void test_durable_commit(void)
{
	char url[256];
	StoreStats st;
	uint64_t ticket = 99;
	Store *s;
	Task t;

	NEED_PG();
	new_db_path(url, sizeof url);
	s = open_node(url, "n1");
	if (!s)
		return;
	CHECK(store_sync_fd(s) < 0);
	CHECK(strlen(store_last_error(s)) > 0);
	make_task(&t, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	store_want_durable(s);
	CHECK(store_pending_is_durable(s));
	CHECK_INTEQ(store_commit_async(s, &ticket), 0);
	CHECK_INTEQ(ticket, 0);
	CHECK(!store_has_pending(s));
	make_task(&t, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	CHECK(!store_pending_is_durable(s));
	CHECK_INTEQ(store_commit(s), 0);
	store_stats(s, &st);
	CHECK_INTEQ(st.commits, 2);
	CHECK_INTEQ(st.durable_commits, 1);
	CHECK_INTEQ(st.rows_written, 2);
	CHECK_INTEQ(store_wal_pages(s), 0);
	CHECK_INTEQ(store_checkpoint(s), 0);
	store_free(s);
}

/* The connection goes in the middle of a group: the rest of the group
 * fails, the commit says so, and none of it was written. */
static void test_lost_connection_fails_group(void)
{
	char url[256];
	Store *s, *other = NULL;
	Task before, t2, after, got = {};

	NEED_PG();
	new_db_path(url, sizeof url);
	s = open_node(url, "n1");
	if (!s)
		return;
	make_task(&before, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &before), 0);
	CHECK_INTEQ(store_commit(s), 0);

	before.status = TASK_RUNNING;
	CHECK_INTEQ(store_task_update(s, &before), 0);
	make_task(&t2, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t2), 0);
	/* Ours is the one connection of vx11d in a transaction. */
	CHECK_INTEQ(count_rows(url, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
				    " WHERE application_name LIKE 'vx11d%' AND state LIKE 'idle in transaction%'"),
		    1);
	make_task(&after, TASK_PENDING, 1, "operator");
	/* Inserts are kept for one coalesced INSERT (store-pg-write.c), without
	 * a round trip: the loss shows at the next statement that runs. */
	CHECK_INTEQ(store_task_insert(s, &after), 0);
	before.status = TASK_COMPLETED;
	CHECK_INTEQ(store_task_update(s, &before), -EIO);
	CHECK(strlen(store_last_error(s)) > 0);
	CHECK(store_has_pending(s));
	CHECK_INTEQ(store_commit(s), -EIO);
	CHECK(!store_has_pending(s));
	store_free(s);

	other = open_node(url, "n2");
	if (!other)
		return;
	CHECK_INTEQ(store_task_get(other, before.id, &got), 0);
	CHECK_INTEQ(got.status, TASK_PENDING);
	task_done(&got);
	CHECK_INTEQ(store_task_get(other, t2.id, &got), -ENOENT);
	CHECK_INTEQ(store_task_get(other, after.id, &got), -ENOENT);
	store_free(other);
}

/* A batch's intents and tasks are written as one INSERT per table
 * (store-pg-write.c): reads in the batch see them, seqs go up in insert
 * order, text that means something in an array literal (quotes,
 * backslashes, braces, commas, "NULL") and NULLs come back as given; a
 * repeated id in the batch is refused at once; one the database has
 * already fails the whole batch at its commit, none of it written. */
static void test_coalesced_inserts(void)
{
	static const char *const odd[] = {"a \"quoted\" \\ back\\slash", "{x,y}", "NULL", "", "é ünï"};
	char url[256];
	Store *s;
	Task t[5], dup, late, got = {};
	IntentRecord in, again, gotin = {};
	StoreStats st;

	NEED_PG();
	new_db_path(url, sizeof url);
	s = open_node(url, "n1");
	if (!s)
		return;
	for (unsigned i = 0; i < ELEMENTSOF(t); i++) {
		make_task(&t[i], TASK_PENDING, 1, "operator");
		t[i].description = (char *)odd[i];
		t[i].payload_json = i % 2 ? NULL : (char *)"{\"k\": \"v,\\\"w\"}";
		CHECK_INTEQ(store_task_insert(s, &t[i]), 0);
		CHECK(i == 0 || t[i].seq > t[i - 1].seq);
	}
	make_intent(&in, 1000, "k\"ey");
	in.text = (char *)odd[0];
	CHECK_INTEQ(store_intent_insert(s, &in), 0);
	again = in;
	CHECK_INTEQ(store_intent_insert(s, &again), -EEXIST);
	CHECK(strstr(store_last_error(s), "UNIQUE") != NULL);
	make_task(&dup, TASK_PENDING, 1, "operator");
	memcpy(dup.id, t[2].id, ID_STRING_MAX);
	CHECK_INTEQ(store_task_insert(s, &dup), -EEXIST);
	CHECK(store_has_pending(s));
	/* A read in the batch sees its rows. */
	CHECK_INTEQ(store_task_get(s, t[0].id, &got), 0);
	CHECK_INTEQ(got.seq, t[0].seq);
	task_done(&got);
	CHECK_INTEQ(store_commit(s), 0);
	store_stats(s, &st);
	CHECK_INTEQ(st.rows_written, 6);

	for (unsigned i = 0; i < ELEMENTSOF(t); i++) {
		CHECK_INTEQ(store_task_get(s, t[i].id, &got), 0);
		CHECK_STREQ(got.description, odd[i]);
		if (i % 2)
			CHECK(got.payload_json == NULL);
		else
			CHECK_STREQ(got.payload_json, "{\"k\": \"v,\\\"w\"}");
		CHECK_INTEQ(got.seq, t[i].seq);
		task_done(&got);
	}
	CHECK_INTEQ(store_intent_get(s, in.correlation_id, &gotin), 0);
	CHECK_STREQ(gotin.text, odd[0]);
	CHECK_STREQ(gotin.idempotency_key, "k\"ey");
	intent_record_done(&gotin);

	/* A repeat of a committed id: found when the batch is written. */
	make_task(&late, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &late), 0);
	make_task(&dup, TASK_PENDING, 1, "operator");
	memcpy(dup.id, t[1].id, ID_STRING_MAX);
	CHECK_INTEQ(store_task_insert(s, &dup), 0);
	CHECK_INTEQ(store_commit(s), -EIO);
	CHECK(strstr(store_last_error(s), "UNIQUE") != NULL);
	CHECK(!store_has_pending(s));
	CHECK_INTEQ(store_task_get(s, late.id, &got), -ENOENT);
	/* The next batch works. */
	CHECK_INTEQ(store_task_insert(s, &late), 0);
	CHECK_INTEQ(store_commit(s), 0);
	CHECK_INTEQ(store_task_get(s, late.id, &got), 0);
	CHECK(got.seq > t[4].seq);
	task_done(&got);

	/* The connection lost between two batches: kept rows are written
	 * after the reconnect (whose own statements do not write them twice). */
	CHECK_INTEQ(count_rows(url, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
				    " WHERE application_name = 'vx11d node n1'"),
		    1);
	make_intent(&again, 1000, NULL);
	CHECK_INTEQ(store_intent_insert(s, &again), 0);
	CHECK_INTEQ(store_commit(s), 0);
	CHECK_INTEQ(store_intent_get(s, again.correlation_id, &gotin), 0);
	intent_record_done(&gotin);
	store_stats(s, &st);
	CHECK_INTEQ(st.reconnects, 1);
	store_free(s);
}

/* The connection goes (pg_terminate_backend): the store says it is
 * unavailable, reconnects on its own, prepares its statements again and
 * holds the database again; a connection lost between two calls is not seen
 * at all (the call reconnects and runs). */
static void test_reconnect_after_terminate(void)
{
	char url[256];
	Store *s;
	Task t, t2, got = {};
	StoreStats st;

	NEED_PG();
	new_db_path(url, sizeof url);
	s = open_node(url, "n1");
	if (!s)
		return;
	CHECK(store_available(s));
	CHECK(store_unavailable(s) == NULL);
	make_task(&t, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	CHECK_INTEQ(store_commit(s), 0);

	/* Lost inside a group: the group fails and the store is unavailable. */
	t.status = TASK_RUNNING;
	CHECK_INTEQ(store_task_update(s, &t), 0);
	CHECK_INTEQ(count_rows(url, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
				    " WHERE application_name = 'vx11d node n1'"),
		    1);
	make_task(&t2, TASK_PENDING, 1, "operator");
	CHECK(store_task_insert(s, &t2) < 0);
	CHECK(!store_available(s));
	CHECK(store_unavailable(s) && strstr(store_unavailable(s), "unreachable since"));
	CHECK_INTEQ(store_commit(s), -EIO);

	/* The first attempt is at once; the statements are there again. */
	CHECK_INTEQ(store_reconnect(s), 0);
	CHECK(store_available(s));
	store_stats(s, &st);
	CHECK_INTEQ(st.reconnects, 1);
	CHECK_INTEQ(store_task_get(s, t.id, &got), 0);
	CHECK_INTEQ(got.status, TASK_PENDING); /* the lost group's update is not there */
	task_done(&got);
	CHECK_INTEQ(store_task_insert(s, &t2), 0);
	CHECK_INTEQ(store_commit(s), 0);

	/* Lost between two calls: the next call reconnects and runs. */
	CHECK_INTEQ(count_rows(url, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
				    " WHERE application_name = 'vx11d node n1'"),
		    1);
	CHECK_INTEQ(store_task_get(s, t2.id, &got), 0);
	task_done(&got);
	CHECK(store_available(s));
	store_stats(s, &st);
	CHECK_INTEQ(st.reconnects, 2);
	store_free(s);
}

/* An unreachable server is an open error that says so. */
static void test_unreachable_refused(void)
{
	char url[256];
	Store *s = (Store *)0x1;

	NEED_PG();
	snprintf(url, sizeof url, "postgresql:///vx11?host=%s/no-such-dir&connect_timeout=1", tmpdir);
	CHECK(store_open_url(url, "n1", &s) < 0);
	CHECK(s == (Store *)0x1);
	CHECK(strstr(store_last_error(NULL), "connect") != NULL);
}

/* A node's name is one session's at a time; its end frees it. */
static void test_node_name_held(void)
{
	char url[256];
	Store *a, *b = NULL;

	NEED_PG();
	new_db_path(url, sizeof url);
	a = open_node(url, "same");
	if (!a)
		return;
	CHECK_INTEQ(store_open_url(url, "same", &b), -EBUSY);
	CHECK(strstr(store_last_error(NULL), "the node name \"same\" is in use by another vx11d"));
	CHECK(strstr(store_last_error(NULL), "(vx11d node same (server pid "));
	store_free(a);
	b = open_node(url, "same");
	store_free(b);
}

static int ignore_task(const Task *t, void *userdata)
{
	return 0;
}

/* A claim whose answer was lost with the connection: the node does not know
 * it holds the task. The reconnect gives it back; what it knows it keeps. */
static void test_reconnect_releases_unknown_claims(void)
{
	const char *types[] = {"echo", NULL};
	char url[256], sql[256];
	Store *s;
	Task lost, kept, got = {};

	NEED_PG();
	new_db_path(url, sizeof url);
	s = open_node(url, "r1");
	if (!s)
		return;
	make_task(&lost, TASK_PENDING, 1, "operator");
	make_task(&kept, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &lost), 0);
	CHECK_INTEQ(store_task_insert(s, &kept), 0);
	CHECK_INTEQ(store_commit(s), 0);
	snprintf(sql, sizeof sql,
		 "WITH u AS (UPDATE tasks SET claimed_by = 'r1', claim_seq = claim_seq + 1 WHERE id = '%s'"
		 " RETURNING 1) SELECT count(*) FROM u", lost.id);
	CHECK_INTEQ(count_rows(url, sql), 1);
	CHECK_INTEQ(store_claim(s, types, 5, ignore_task, NULL), 1); /* kept: the other is taken */
	CHECK_INTEQ(store_commit(s), 0);

	CHECK_INTEQ(count_rows(url, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
				    " WHERE application_name = 'vx11d node r1'"),
		    1);
	CHECK_INTEQ(store_task_get(s, kept.id, &got), 0); /* reconnects */
	task_done(&got);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM tasks WHERE id = '%s' AND claimed_by IS NULL", lost.id);
	CHECK_INTEQ(count_rows(url, sql), 1);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM tasks WHERE id = '%s' AND claimed_by = 'r1'", kept.id);
	CHECK_INTEQ(count_rows(url, sql), 1);
	store_free(s);
}

/* An attempt's output tail (FLEET-DESIGN.md 5.4): bytes as written, NULs
 * too, with the stream's whole size; written again, replaced; none, -ENOENT. */
static void test_attempt_log_tail(void)
{
	static const char tail[] = {'a', 0, '\xff', '\n'};
	char url[256];
	Store *n1, *n2;
	uint64_t size = 0;
	void *got = NULL;
	size_t len = 0;

	NEED_PG();
	new_db_path(url, sizeof url);
	n1 = open_node(url, "n1");
	n2 = open_node(url, "n2");
	if (!n1 || !n2)
		goto out;
	CHECK_INTEQ(store_attempt_log_put(n1, "t1", 1, "stdout", 70000, tail, sizeof tail), 0);
	CHECK_INTEQ(store_attempt_log_put(n1, "t1", 1, "stderr", 0, "", 0), 0);
	CHECK_INTEQ(store_commit(n1), 0);
	CHECK_INTEQ(store_attempt_log_get(n2, "t1", 1, "stdout", &size, &got, &len), 0);
	CHECK_INTEQ(size, 70000);
	CHECK_INTEQ(len, sizeof tail);
	CHECK(got && memcmp(got, tail, sizeof tail) == 0);
	free(got);
	got = NULL;
	CHECK_INTEQ(store_attempt_log_get(n2, "t1", 1, "stderr", &size, &got, &len), 0);
	CHECK_INTEQ(size, 0);
	CHECK_INTEQ(len, 0);
	free(got);
	got = NULL;
	CHECK_INTEQ(store_attempt_log_put(n1, "t1", 1, "stderr", 2, "ok", 2), 0);
	CHECK_INTEQ(store_commit(n1), 0);
	CHECK_INTEQ(store_attempt_log_get(n2, "t1", 1, "stderr", &size, &got, &len), 0);
	CHECK(size == 2 && len == 2 && got && memcmp(got, "ok", 2) == 0);
	free(got);
	got = NULL;
	CHECK_INTEQ(store_attempt_log_get(n2, "t1", 2, "stdout", &size, &got, &len), -ENOENT);
	CHECK(got == NULL);
	/* Pruned with its task: the tails go too. */
	(void)store_task_delete(n1, "t1");
	CHECK_INTEQ(store_commit(n1), 0);
	CHECK_INTEQ(store_attempt_log_get(n2, "t1", 1, "stdout", &size, &got, &len), -ENOENT);
	CHECK(got == NULL);
out:
	store_free(n1);
	store_free(n2);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %m\n");
		return EXIT_FAILURE;
	}

	TEST(test_two_nodes_share_tasks);
	TEST(test_rows_name_their_node);
	TEST(test_schema_recorded);
	TEST(test_durable_commit);
	TEST(test_lost_connection_fails_group);
	TEST(test_coalesced_inserts);
	TEST(test_reconnect_after_terminate);
	TEST(test_unreachable_refused);
	TEST(test_node_name_held);
	TEST(test_reconnect_releases_unknown_claims);
	TEST(test_attempt_log_tail);

	remove_tmpdir();
	return tap_done();
}
