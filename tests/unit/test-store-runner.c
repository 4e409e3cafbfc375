/* SPDX-License-Identifier: MIT */
/*
 * What the store gained for the runner (schema version 2), at work: daughter
 * lists filter by owner in SQL, the new attempt fields round-trip, and
 * attempts are listed per task and "still running". On real database files
 * in a temporary directory. The migration of a version 1 file is
 * test-store-migrate.c; what every store test program shares is store-test.h.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <unistd.h>

#include "store-test.h"
#include "store/store-sqlite-internal.h"

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
	full.confinement = (char *)"{\"uid\":61184,\"seccomp\":{\"profile\":\"default\"}}";
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
	upd.confinement = (char *)"{\"uid\":61185}";
	upd.result_json = (char *)"{}";
	CHECK_INTEQ(store_attempt_update(s, &upd), 0);
	full.uid = 61185;
	full.cgroup = (char *)"job-3b";
	full.reported_status = NULL;
	full.status_text = NULL;
	full.unapplied = NULL;
	full.confinement = NULL;
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

/* ---- schema version 3: what a keyed intent said ---- */

/* A version 2 file, written with the released migrations 1 and 2 and holding
 * a keyed intent, migrates in place: the row keeps every column and has no
 * digest (so its key answers as it always did); new rows keep theirs. */
static void test_v2_file_migrates_to_v3_keeping_intents(void)
{
	SKIP_ON_PG("it writes an old SQLite file and migrates it; test-store-pg covers PostgreSQL's schema");
	char path[256], cid[ID_STRING_MAX], sql[1024];
	static const char digest[] = "5f2b51ca2fdc5baa31ec02e002f69aec6d6b5a9b0c0e0f1a2b3c4d5e6f708192";
	IntentRecord got = {}, rec;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	Store *s;
	int rc;

	new_db_path(path, sizeof path);
	id_new_string(cid);
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	for (unsigned i = 0; rc == SQLITE_OK && i < 2; i++)
		rc = sqlite3_exec(db, store_migrations[i], NULL, NULL, NULL);
	snprintf(sql, sizeof sql,
		 "INSERT INTO intents_log (correlation_id, created_at, uid, gid, pid, source, intent_type,"
		 " require_switch, require_spawner, priority, status, mode, provider, error, task_id,"
		 " idempotency_key, text, payload_json, envelope_json)"
		 " VALUES ('%s', 1700000000000001, 1000, 1000, 42, 'operator', 'hello', 0, 0, 1, 'DONE', 'MADRE',"
		 " 'fallback_local', NULL, NULL, 'k', 'hi', '{\"n\":1}', '{\"status\":\"DONE\"}');"
		 "PRAGMA user_version = 2;",
		 cid);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	CHECK_INTEQ(rc, SQLITE_OK);
	sqlite3_close(db);

	s = open_path(path);
	if (!s)
		return;
	CHECK_INTEQ(store_intent_find_idempotent(s, 1000, "k", &got), 0);
	CHECK_STREQ(got.correlation_id, cid);
	CHECK(got.params_digest == NULL);
	CHECK_STR_OR_NULL(got.text, "hi");
	CHECK_STR_OR_NULL(got.payload_json, "{\"n\":1}");
	CHECK_STR_OR_NULL(got.envelope_json, "{\"status\":\"DONE\"}");
	CHECK_INTEQ(got.pid, 42);
	intent_record_done(&got);

	/* A new keyed intent keeps its digest, across a reopen. */
	rec = (IntentRecord){
		.created_at = 1700000000000002ULL,
		.uid = 1000,
		.gid = 1000,
		.source = (char *)"operator",
		.intent_type = (char *)"hello",
		.status = (char *)"DONE",
		.mode = (char *)"MADRE",
		.idempotency_key = (char *)"k2",
		.params_digest = (char *)digest,
	};
	id_new_string(rec.correlation_id);
	CHECK_INTEQ(store_intent_insert(s, &rec), 0);
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);
	s = open_path(path);
	if (!s)
		return;
	CHECK_INTEQ(store_intent_find_idempotent(s, 1000, "k2", &got), 0);
	CHECK(got.params_digest && streq(got.params_digest, digest));
	intent_record_done(&got);
	store_free(s);

	CHECK_INTEQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		CHECK_INTEQ(sqlite3_column_int64(st, 0), (int64_t)store_n_migrations);
	else
		CHECK(!"PRAGMA user_version");
	CHECK(store_n_migrations >= 3);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* ---- schema version 6: the seed's daughter fields ---- */

/* A file from just before the step that added daughters.ttl_seconds and
 * tools_json, with a task and a daughter in it, migrates in place: the
 * daughter keeps every column, its TTL reads -1 (not recorded) and it has
 * no tools; the fields are then written and read back, across a reopen. */
static void test_daughters_gain_ttl_and_tools(void)
{
	SKIP_ON_PG("it writes an old SQLite file and migrates it; test-store-pg covers PostgreSQL's schema");
	char path[256], tid[ID_STRING_MAX], did[ID_STRING_MAX], sql[2048];
	static const char tools[] = "{\"argv\":[\"/bin/true\"],\"user\":\"dynamic\",\"uid\":61234}";
	Daughters ds = {};
	sqlite3 *db = NULL;
	Store *s;
	int rc;

	new_db_path(path, sizeof path);
	id_new_string(tid);
	id_new_string(did);
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	for (unsigned i = 0; rc == SQLITE_OK && i + 1 < store_n_migrations; i++)
		rc = sqlite3_exec(db, store_migrations[i], NULL, NULL, NULL);
	snprintf(sql, sizeof sql,
		 "INSERT INTO tasks (id, intent_id, source, priority, status, task_type, uid, created_at, updated_at,"
		 " current_retry, max_retries, mutation_level, next_attempt_at, ttl_seconds, description,"
		 " payload_json, result_json)"
		 " VALUES ('%s', '%s', 'operator', 1, 'completed', 'noop', 1000, 1700000000000001,"
		 " 1700000000000009, 0, 1, 0, 0, -1, NULL, NULL, NULL);"
		 "INSERT INTO daughters (id, task_id, name, purpose, status, mutation_level, started_at,"
		 " last_heartbeat_at, ended_at, error_last, owner_uid)"
		 " VALUES ('%s', '%s', 'noop', 'p', 'exited', 0, 1700000000000002, 1700000000000003,"
		 " 1700000000000004, NULL, 1000);"
		 "PRAGMA user_version = %u;",
		 tid, tid, did, tid, store_n_migrations - 1);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	CHECK_INTEQ(rc, SQLITE_OK);
	sqlite3_close(db);

	s = open_path(path);
	if (!s)
		return;
	CHECK_INTEQ(list_daughters(s, tid, NULL, (uid_t)-1, 0, &ds), 0);
	CHECK_INTEQ(ds.n, 1);
	if (ds.n != 1) {
		store_free(s);
		return;
	}
	Daughter *d = &ds.d[0];
	CHECK_STREQ(d->id, did);
	CHECK_STR_OR_NULL(d->name, "noop");
	CHECK_STR_OR_NULL(d->purpose, "p");
	CHECK_STR_OR_NULL(d->status, "exited");
	CHECK(d->started_at == 1700000000000002ULL && d->last_heartbeat_at == 1700000000000003ULL &&
	      d->ended_at == 1700000000000004ULL);
	CHECK_INTEQ(d->owner_uid, 1000);
	CHECK_INTEQ(d->ttl_seconds, -1);
	CHECK(d->tools_json == NULL);

	/* Written like any mutable column, kept across a reopen. */
	d->ttl_seconds = 30;
	d->tools_json = strdup(tools);
	CHECK_INTEQ(store_daughter_update(s, d), 0);
	CHECK_INTEQ(store_commit(s), 0);
	daughters_done(&ds);
	store_free(s);
	s = open_path(path);
	if (!s)
		return;
	CHECK_INTEQ(list_daughters(s, tid, NULL, (uid_t)-1, 0, &ds), 0);
	CHECK_INTEQ(ds.n, 1);
	if (ds.n == 1) {
		CHECK_INTEQ(ds.d[0].ttl_seconds, 30);
		CHECK(ds.d[0].tools_json && streq(ds.d[0].tools_json, tools));
		CHECK_STR_OR_NULL(ds.d[0].name, "noop");
	}
	daughters_done(&ds);
	store_free(s);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %m\n");
		return EXIT_FAILURE;
	}

	TEST(test_daughter_list_by_owner);
	TEST(test_daughter_list_task_ignores_owner);
	TEST(test_attempt_new_fields_roundtrip);
	TEST(test_attempt_list_task);
	TEST(test_attempt_list_running);
	TEST(test_v2_file_migrates_to_v3_keeping_intents);
	TEST(test_daughters_gain_ttl_and_tools);

	remove_tmpdir();
	return tap_done();
}
