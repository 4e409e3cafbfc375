/* SPDX-License-Identifier: MIT */
/*
 * The store, part 1: records and files. Status names, opening, migrating and
 * reopening a file (a newer schema refused, first opens racing, a missing or
 * foreign file), each kind of record written and read back, references,
 * duplicate ids and idempotency keys. On real database files in a temporary
 * directory. Lists are test-store-list.c, transactions test-store-txn.c; what
 * they share is store-core-test.h.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include "store-core-test.h"

/* The schema version of a database: SQLite's header field user_version,
 * or on PostgreSQL the last step recorded in vx11_migrations. */
static int64_t header_user_version(const char *path)
{
	unsigned char b[4];

#ifdef HAVE_STORE_PG
	if (test_on_pg())
		return test_pg_query(path, "SELECT coalesce(max(step), 0) FROM vx11_migrations");
#endif
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, b, 4, 60);
	close(fd);
	if (n != 4)
		return -1;
	return (int64_t)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
}

static int set_header_user_version(const char *path, uint32_t v)
{
	unsigned char b[4] = {v >> 24, v >> 16, v >> 8, v};

#ifdef HAVE_STORE_PG
	if (test_on_pg()) {
		char sql[160];

		snprintf(sql, sizeof sql,
			 "DELETE FROM vx11_migrations WHERE step > %u;"
			 " INSERT INTO vx11_migrations (step, node) SELECT %u, 'test' WHERE %u > 0"
			 " ON CONFLICT DO NOTHING", v, v, v);
		return test_pg_query(path, sql) < 0 ? -1 : 0;
	}
#endif
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pwrite(fd, b, 4, 60);
	close(fd);
	return n == 4 ? 0 : -1;
}

static void check_intent_eq(const IntentRecord *a, const IntentRecord *b)
{
	CHECK_STREQ(a->correlation_id, b->correlation_id);
	CHECK_INTEQ(a->created_at, b->created_at);
	CHECK_INTEQ(a->uid, b->uid);
	CHECK_INTEQ(a->gid, b->gid);
	CHECK_INTEQ(a->pid, b->pid);
	CHECK_STR_OR_NULL(a->source, b->source);
	CHECK_STR_OR_NULL(a->intent_type, b->intent_type);
	CHECK_STR_OR_NULL(a->text, b->text);
	CHECK_STR_OR_NULL(a->payload_json, b->payload_json);
	CHECK_INTEQ(a->require_switch, b->require_switch);
	CHECK_INTEQ(a->require_spawner, b->require_spawner);
	CHECK_INTEQ(a->priority, b->priority);
	CHECK_STR_OR_NULL(a->status, b->status);
	CHECK_STR_OR_NULL(a->mode, b->mode);
	CHECK_STR_OR_NULL(a->provider, b->provider);
	CHECK_STR_OR_NULL(a->error, b->error);
	CHECK_STR_OR_NULL(a->task_id, b->task_id);
	CHECK_STR_OR_NULL(a->idempotency_key, b->idempotency_key);
	CHECK_STR_OR_NULL(a->envelope_json, b->envelope_json);
}

static void check_task_eq(const Task *a, const Task *b)
{
	CHECK_STREQ(a->id, b->id);
	CHECK_STREQ(a->intent_id, b->intent_id);
	CHECK_STR_OR_NULL(a->source, b->source);
	CHECK_INTEQ(a->priority, b->priority);
	CHECK_INTEQ(a->status, b->status);
	CHECK_STR_OR_NULL(a->task_type, b->task_type);
	CHECK_STR_OR_NULL(a->description, b->description);
	CHECK_STR_OR_NULL(a->payload_json, b->payload_json);
	CHECK_INTEQ(a->uid, b->uid);
	CHECK_INTEQ(a->created_at, b->created_at);
	CHECK_INTEQ(a->updated_at, b->updated_at);
	CHECK_INTEQ(a->current_retry, b->current_retry);
	CHECK_INTEQ(a->max_retries, b->max_retries);
	CHECK_INTEQ(a->mutation_level, b->mutation_level);
	CHECK_INTEQ(a->next_attempt_at, b->next_attempt_at);
	CHECK_INTEQ(a->ttl_seconds, b->ttl_seconds);
	CHECK_STR_OR_NULL(a->result_json, b->result_json);
	CHECK_STR_OR_NULL(a->traceparent, b->traceparent);
	CHECK_INTEQ(a->seq, b->seq);
}

/* ---- status names ---- */

static void test_task_status_strings(void)
{
	for (TaskStatus i = 0; i < _TASK_STATUS_MAX; i++) {
		CHECK(task_status_to_string(i) != NULL);
		CHECK_INTEQ(task_status_from_string(task_status_to_string(i)), i);
	}
	CHECK_STREQ(task_status_to_string(TASK_PENDING), "pending");
	CHECK_STREQ(task_status_to_string(TASK_CANCELLED), "cancelled");
	CHECK(task_status_to_string(_TASK_STATUS_MAX) == NULL);
	CHECK(task_status_to_string(_TASK_STATUS_INVALID) == NULL);
	CHECK_INTEQ(task_status_from_string("Pending"), _TASK_STATUS_INVALID);
	CHECK_INTEQ(task_status_from_string(""), _TASK_STATUS_INVALID);
	CHECK_INTEQ(task_status_from_string(NULL), _TASK_STATUS_INVALID);
	CHECK(!task_status_is_terminal(TASK_PENDING));
	CHECK(!task_status_is_terminal(TASK_PLANNING));
	CHECK(!task_status_is_terminal(TASK_RUNNING));
	CHECK(!task_status_is_terminal(TASK_RETRYING));
	CHECK(task_status_is_terminal(TASK_COMPLETED));
	CHECK(task_status_is_terminal(TASK_FAILED));
	CHECK(task_status_is_terminal(TASK_EXPIRED));
	CHECK(task_status_is_terminal(TASK_CANCELLED));
}

static void test_done_functions_reset(void)
{
	Task t = {.source = strdup("a"), .task_type = strdup("b"), .result_json = strdup("{}")};
	IntentRecord i = {.source = strdup("a"), .envelope_json = strdup("{}")};
	Daughter d = {.name = strdup("n"), .error_last = strdup("e")};
	Attempt a = {.status = strdup("s"), .error_message = strdup("m")};

	task_done(&t);
	CHECK(!t.source && !t.task_type && !t.result_json);
	task_done(&t); /* twice is fine */
	intent_record_done(&i);
	CHECK(!i.source && !i.envelope_json);
	daughter_done(&d);
	CHECK(!d.name && !d.error_last);
	attempt_done(&a);
	CHECK(!a.status && !a.error_message);
	task_done(NULL);
}

/* ---- open, migrate, reopen ---- */

static void test_open_migrates_and_reopens(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	Task t, got = {};
	int64_t v;

	CHECK(s);
	if (!s)
		return;
	make_task(&t, TASK_PENDING, 1000, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);

	v = header_user_version(path);
	CHECK(v >= 1);

	s = NULL;
	CHECK_INTEQ(test_open(path, &s), 0);
	CHECK(s);
	if (!s)
		return;
	CHECK_INTEQ(store_task_get(s, t.id, &got), 0);
	CHECK_STREQ(got.id, t.id);
	CHECK_INTEQ(got.seq, t.seq);
	task_done(&got);
	store_free(s);
	/* Reopening an up-to-date file migrates nothing. */
	CHECK_INTEQ(header_user_version(path), v);
}

static void test_newer_schema_refused(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path), *s2 = (Store *)0x1;
	int64_t v;

	CHECK(s);
	store_free(s);
	v = header_user_version(path);
	CHECK(v >= 1);
	CHECK_INTEQ(set_header_user_version(path, (uint32_t)v + 1), 0);
	CHECK_INTEQ(test_open(path, &s2), -EPROTONOSUPPORT);
	CHECK(s2 == (Store *)0x1); /* untouched */
	CHECK(strstr(store_last_error(NULL), "newer") != NULL);

	/* The refusal changed nothing: back at the known version it opens. */
	CHECK_INTEQ(set_header_user_version(path, (uint32_t)v), 0);
	s = NULL;
	CHECK_INTEQ(test_open(path, &s), 0);
	store_free(s);
}

static void *open_and_close(void *path)
{
	Store *s = NULL;
	int r = test_open(path, &s);

	store_free(s);
	return (void *)(intptr_t)r;
}

/* Connections racing to create and migrate the same file all succeed, and
 * the schema is created once. */
static void test_concurrent_first_open(void)
{
	pthread_t th[4];
	char path[256];
	Store *s = NULL;
	Task t;

	new_db_path(path, sizeof path);
	for (size_t i = 0; i < ELEMENTSOF(th); i++)
		CHECK_INTEQ(pthread_create(&th[i], NULL, open_and_close, path), 0);
	for (size_t i = 0; i < ELEMENTSOF(th); i++) {
		void *r = NULL;

		CHECK_INTEQ(pthread_join(th[i], &r), 0);
		CHECK_INTEQ((intptr_t)r, 0);
	}
	CHECK_INTEQ(test_open(path, &s), 0);
	if (!s)
		return;
	make_task(&t, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);
	CHECK(header_user_version(path) >= 1);
}

static void test_open_failure_reports(void)
{
	Store *s = NULL;
	char path[256];

	snprintf(path, sizeof path, "%s/no-such-dir/db.sqlite", tmpdir);
	CHECK_INTEQ(store_open(path, &s), -ENOENT);
	CHECK(s == NULL);
	CHECK(strlen(store_last_error(NULL)) > 0);

	/* Not a database: refused, not overwritten. */
	snprintf(path, sizeof path, "%s/garbage", tmpdir);
	FILE *f = fopen(path, "w");
	CHECK(f);
	if (!f)
		return;
	for (int i = 0; i < 512; i++)
		fputs("this is not an sqlite database\n", f);
	fclose(f);
	CHECK(store_open(path, &s) < 0);
	CHECK(s == NULL);
	CHECK(strlen(store_last_error(NULL)) > 0);
	unlink(path);
}

/* ---- roundtrips ---- */

static void test_intent_roundtrip(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	IntentRecord full, sparse, got = {};

	if (!s)
		return;
	make_intent(&full, 1000, "key-1");
	full.text = (char *)"hello \"world\"\n";
	full.payload_json = (char *)"{\"task_name\":\"echo\"}";
	full.require_switch = true;
	full.require_spawner = true;
	full.priority = 3;
	full.provider = (char *)"spawner";
	full.error = (char *)"unknown_task";
	full.task_id = (char *)"0190a0a0-0000-7000-8000-000000000000";
	full.uid = (uid_t)-2;
	full.gid = (gid_t)-3;
	full.pid = -4;
	full.created_at = UINT64_MAX - 1;
	make_intent(&sparse, 1000, NULL);

	CHECK_INTEQ(store_intent_insert(s, &full), 0);
	CHECK_INTEQ(store_intent_insert(s, &sparse), 0);

	CHECK_INTEQ(store_intent_get(s, full.correlation_id, &got), 0);
	check_intent_eq(&got, &full);
	intent_record_done(&got);
	CHECK_INTEQ(store_intent_get(s, sparse.correlation_id, &got), 0);
	check_intent_eq(&got, &sparse);
	CHECK(got.text == NULL && got.payload_json == NULL && got.provider == NULL && got.error == NULL &&
	      got.task_id == NULL && got.idempotency_key == NULL);
	intent_record_done(&got);

	/* Also after a commit and a reopen. */
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);
	CHECK_INTEQ(test_open(path, &s), 0);
	CHECK_INTEQ(store_intent_get(s, full.correlation_id, &got), 0);
	check_intent_eq(&got, &full);
	intent_record_done(&got);

	got.source = (char *)"untouched";
	CHECK_INTEQ(store_intent_get(s, "0190a0a0-0000-7000-8000-000000000000", &got), -ENOENT);
	CHECK_STREQ(got.source, "untouched");
	store_free(s);
}

static void test_task_roundtrip(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	Task a, b, got = {};

	if (!s)
		return;
	make_task(&a, TASK_RETRYING, 1000, "shub");
	a.priority = 0;
	a.description = (char *)"do the thing";
	a.payload_json = (char *)"{\"x\":[1,2,3]}";
	a.current_retry = 2;
	a.max_retries = 5;
	a.mutation_level = 7;
	a.next_attempt_at = 1700000000999999ULL;
	a.ttl_seconds = INT64_MAX;
	a.result_json = (char *)"{\"exit_code\":0}";
	a.created_at = UINT64_MAX;
	make_task(&b, TASK_PENDING, (uid_t)-2, "operator");
	b.ttl_seconds = -1;

	a.seq = b.seq = 12345;
	CHECK_INTEQ(store_task_insert(s, &a), 0);
	CHECK_INTEQ(store_task_insert(s, &b), 0);
	CHECK(a.seq > 0 && a.seq != 12345);
	CHECK(b.seq > a.seq);

	CHECK_INTEQ(store_task_get(s, a.id, &got), 0);
	check_task_eq(&got, &a);
	task_done(&got);
	CHECK_INTEQ(store_task_get(s, b.id, &got), 0);
	check_task_eq(&got, &b);
	CHECK(!got.description && !got.payload_json && !got.result_json);
	task_done(&got);

	CHECK_INTEQ(store_task_get(s, "nope", &got), -ENOENT);
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);
}

static void test_task_seq_survives_restart(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	Task a, b;

	if (!s)
		return;
	make_task(&a, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &a), 0);
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);
	CHECK_INTEQ(test_open(path, &s), 0);
	make_task(&b, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &b), 0);
	CHECK(b.seq > a.seq);
	store_free(s);
}

static void test_task_update(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	Task t, u, got = {};

	if (!s)
		return;
	make_task(&t, TASK_PENDING, 1000, "operator");
	t.description = (char *)"desc";
	CHECK_INTEQ(store_task_insert(s, &t), 0);

	u = t;
	u.status = TASK_COMPLETED;
	u.updated_at = 1800000000000000ULL;
	u.current_retry = 1;
	u.mutation_level = 2;
	u.next_attempt_at = 1800000000000001ULL;
	u.result_json = (char *)"{\"ok\":true}";
	/* Not written by an update: */
	u.source = (char *)"hijas";
	u.description = NULL;
	u.max_retries = 99;
	u.uid = 1;
	CHECK_INTEQ(store_task_update(s, &u), 0);

	CHECK_INTEQ(store_task_get(s, t.id, &got), 0);
	CHECK_INTEQ(got.status, TASK_COMPLETED);
	CHECK_INTEQ(got.updated_at, 1800000000000000ULL);
	CHECK_INTEQ(got.current_retry, 1);
	CHECK_INTEQ(got.mutation_level, 2);
	CHECK_INTEQ(got.next_attempt_at, 1800000000000001ULL);
	CHECK_STREQ(got.result_json, "{\"ok\":true}");
	CHECK_STREQ(got.source, "operator");
	CHECK_STREQ(got.description, "desc");
	CHECK_INTEQ(got.max_retries, 3);
	CHECK_INTEQ(got.uid, 1000);
	task_done(&got);

	/* result_json back to NULL. */
	u.result_json = NULL;
	CHECK_INTEQ(store_task_update(s, &u), 0);
	CHECK_INTEQ(store_task_get(s, t.id, &got), 0);
	CHECK(got.result_json == NULL);
	task_done(&got);

	u.status = (TaskStatus)42;
	CHECK_INTEQ(store_task_update(s, &u), -EINVAL);
	make_task(&u, TASK_FAILED, 1000, "operator");
	CHECK_INTEQ(store_task_update(s, &u), -ENOENT);
	CHECK(strlen(store_last_error(s)) > 0);
	store_free(s);
}

static void test_daughter_and_attempt_roundtrip(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	Daughter d, d2;
	Attempt a, a2;
	Task t;

	if (!s)
		return;
	make_task(&t, TASK_RUNNING, 1000, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);

	make_daughter(&d, t.id, "running");
	d.purpose = (char *)"testing";
	d.last_heartbeat_at = 1700000000000300ULL;
	d.ended_at = 1700000000000400ULL;
	d.error_last = (char *)"boom";
	CHECK_INTEQ(store_daughter_insert(s, &d), 0);
	make_daughter(&d2, t.id, "spawning");
	CHECK_INTEQ(store_daughter_insert(s, &d2), 0);

	make_attempt(&a, &d, 1);
	a.reason = (char *)"exited";
	a.finished_at = 1700000000000500ULL;
	a.exit_code = 3;
	a.signal = 9;
	a.cpu_usec = UINT64_MAX;
	a.memory_peak_bytes = UINT64_C(1) << 40;
	a.tokens_used_cli = -5;
	a.tokens_used_local = INT64_MAX;
	a.switch_model_used = (char *)"m";
	a.cli_provider_used = (char *)"p";
	a.error_message = (char *)"e";
	CHECK_INTEQ(store_attempt_insert(s, &a), 0);
	make_attempt(&a2, &d, 2);
	CHECK_INTEQ(store_attempt_insert(s, &a2), 0);
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);
	CHECK_INTEQ(test_open(path, &s), 0);

	/* No get for these: read back through the lists. */
	Daughters ds = {};
	CHECK_INTEQ(store_daughter_list(s, t.id, NULL, (uid_t)-1, 0, copy_daughter, &ds), 0);
	CHECK_INTEQ(ds.n, 2);
	if (ds.n == 2) {
		check_daughter_eq(&ds.d[0], &d);
		check_daughter_eq(&ds.d[1], &d2);
		CHECK(ds.d[1].purpose == NULL && ds.d[1].error_last == NULL);
	}
	daughters_done(&ds);

	Attempts as = {};
	CHECK_INTEQ(store_attempt_list(s, d.id, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 2);
	if (as.n == 2) {
		check_attempt_eq(&as.a[0], &a);
		check_attempt_eq(&as.a[1], &a2);
		CHECK(as.a[1].reason == NULL && as.a[1].error_message == NULL);
	}
	attempts_done(&as);
	store_free(s);
}

static void test_references_enforced(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	Daughter d, real;
	Attempt a;
	Task t;

	if (!s)
		return;
	make_daughter(&d, "0190a0a0-0000-7000-8000-000000000000", "running");
	CHECK_INTEQ(store_daughter_insert(s, &d), -ENOENT);
	make_task(&t, TASK_RUNNING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	make_daughter(&real, t.id, "running");
	CHECK_INTEQ(store_daughter_insert(s, &real), 0);
	make_attempt(&a, &d, 1); /* daughter d does not exist */
	CHECK_INTEQ(store_attempt_insert(s, &a), -ENOENT);
	/* A failed statement leaves the transaction usable. */
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);
}

static void test_duplicate_id(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	Task t, dup, other, got = {};
	IntentRecord i;

	if (!s)
		return;
	make_task(&t, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	make_task(&dup, TASK_PENDING, 2, "shub");
	memcpy(dup.id, t.id, ID_STRING_MAX);
	CHECK_INTEQ(store_task_insert(s, &dup), -EEXIST);
	CHECK(strstr(store_last_error(s), "UNIQUE") != NULL);
	make_intent(&i, 1, NULL);
	CHECK_INTEQ(store_intent_insert(s, &i), 0);
	CHECK_INTEQ(store_intent_insert(s, &i), -EEXIST);
	make_task(&other, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &other), 0);
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);

	CHECK_INTEQ(test_open(path, &s), 0);
	CHECK_INTEQ(store_task_get(s, t.id, &got), 0);
	CHECK_INTEQ(got.uid, 1);
	task_done(&got);
	CHECK_INTEQ(store_task_get(s, other.id, &got), 0);
	task_done(&got);
	store_free(s);
}

/* ---- idempotency ---- */

static void test_idempotency_per_uid(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	IntentRecord first, again, other_uid, nokey, got = {};

	if (!s)
		return;
	make_intent(&first, 1000, "abc");
	first.envelope_json = (char *)"{\"first\":true}";
	make_intent(&again, 1000, "abc");
	again.envelope_json = (char *)"{\"first\":false}";
	make_intent(&other_uid, 1001, "abc");
	make_intent(&nokey, 1000, NULL);
	CHECK_INTEQ(store_intent_insert(s, &first), 0);
	CHECK_INTEQ(store_intent_insert(s, &nokey), 0);
	CHECK_INTEQ(store_intent_find_idempotent(s, 1000, "abc", &got), 0);
	CHECK_STREQ(got.correlation_id, first.correlation_id);
	intent_record_done(&got);

	/* Another uid's key is not ours. */
	CHECK_INTEQ(store_intent_find_idempotent(s, 1001, "abc", &got), -ENOENT);
	CHECK_INTEQ(store_intent_insert(s, &other_uid), 0);
	CHECK_INTEQ(store_intent_find_idempotent(s, 1001, "abc", &got), 0);
	CHECK_STREQ(got.correlation_id, other_uid.correlation_id);
	intent_record_done(&got);

	/* A repeat logged with the same key: the first submission still wins. */
	CHECK_INTEQ(store_intent_insert(s, &again), 0);
	CHECK_INTEQ(store_intent_find_idempotent(s, 1000, "abc", &got), 0);
	CHECK_STREQ(got.correlation_id, first.correlation_id);
	CHECK_STREQ(got.envelope_json, "{\"first\":true}");
	intent_record_done(&got);

	CHECK_INTEQ(store_intent_find_idempotent(s, 1000, "abd", &got), -ENOENT);
	CHECK_INTEQ(store_intent_find_idempotent(s, 1000, NULL, &got), -ENOENT);
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %m\n");
		return EXIT_FAILURE;
	}

	TEST(test_task_status_strings);
	TEST(test_done_functions_reset);
	TEST(test_open_migrates_and_reopens);
	TEST(test_newer_schema_refused);
	TEST(test_concurrent_first_open);
	TEST(test_open_failure_reports);
	TEST(test_intent_roundtrip);
	TEST(test_task_roundtrip);
	TEST(test_task_seq_survives_restart);
	TEST(test_task_update);
	TEST(test_daughter_and_attempt_roundtrip);
	TEST(test_references_enforced);
	TEST(test_duplicate_id);
	TEST(test_idempotency_per_uid);

	remove_tmpdir();
	return tap_done();
}
