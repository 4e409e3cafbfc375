/* SPDX-License-Identifier: MIT */
/* The store, on real database files in a temporary directory. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "store-test.h"

/* Sync system calls made by this process (SQLite included), counted on
 * their way to the kernel: a durable commit must make one, others none. */
static unsigned sync_calls;
int fdatasync(int fd)
{
	sync_calls++;
	return (int)syscall(SYS_fdatasync, fd);
}
int fsync(int fd)
{
	sync_calls++;
	return (int)syscall(SYS_fsync, fd);
}

static int64_t header_user_version(const char *path)
{
	unsigned char b[4];
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
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pwrite(fd, b, 4, 60);
	close(fd);
	return n == 4 ? 0 : -1;
}

static void make_intent(IntentRecord *r, uid_t uid, const char *key)
{
	*r = (IntentRecord){
		.created_at = 1700000000123456ULL,
		.uid = uid,
		.gid = 4242,
		.pid = 31337,
		.source = (char *)"operator",
		.intent_type = (char *)"build",
		.priority = 1,
		.status = (char *)"QUEUED",
		.mode = (char *)"SPAWNER",
		.idempotency_key = (char *)key,
		.envelope_json = (char *)"{\"status\":\"QUEUED\"}",
	};
	id_new_string(r->correlation_id);
}

static void make_task(Task *t, TaskStatus st, uid_t uid, const char *source)
{
	*t = (Task){
		.source = (char *)source,
		.priority = 2,
		.status = st,
		.task_type = (char *)"echo",
		.uid = uid,
		.created_at = 1700000000000001ULL,
		.updated_at = 1700000000000002ULL,
		.max_retries = 3,
		.ttl_seconds = -1,
	};
	id_new_string(t->id);
	id_new_string(t->intent_id);
}

static void make_daughter(Daughter *d, const char *task_id, const char *status)
{
	*d = (Daughter){
		.name = (char *)"worker",
		.status = (char *)status,
		.mutation_level = 1,
		.started_at = 1700000000000100ULL,
	};
	id_new_string(d->id);
	snprintf(d->task_id, sizeof d->task_id, "%s", task_id);
}

static void make_attempt(Attempt *a, const Daughter *d, int number)
{
	*a = (Attempt){
		.number = number,
		.status = (char *)"running",
		.started_at = 1700000000000200ULL,
		.exit_code = -1,
	};
	id_new_string(a->id);
	snprintf(a->daughter_id, sizeof a->daughter_id, "%s", d->id);
	snprintf(a->task_id, sizeof a->task_id, "%s", d->task_id);
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
	CHECK_INTEQ(store_open(path, &s), 0);
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
	CHECK_INTEQ(store_open(path, &s2), -EPROTONOSUPPORT);
	CHECK(s2 == (Store *)0x1); /* untouched */
	CHECK(strstr(store_last_error(NULL), "newer") != NULL);

	/* The refusal changed nothing: back at the known version it opens. */
	CHECK_INTEQ(set_header_user_version(path, (uint32_t)v), 0);
	s = NULL;
	CHECK_INTEQ(store_open(path, &s), 0);
	store_free(s);
}

static void *open_and_close(void *path)
{
	Store *s = NULL;
	int r = store_open(path, &s);

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
	CHECK_INTEQ(store_open(path, &s), 0);
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
	CHECK_INTEQ(store_open(path, &s), 0);
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
	CHECK_INTEQ(store_open(path, &s), 0);
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
	CHECK_INTEQ(store_open(path, &s), 0);

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

/* Remember the ids a walk produced, in order. */
typedef struct Ids {
	char ids[64][ID_STRING_MAX];
	size_t n;
} Ids;

static int collect_task_id(const Task *t, void *userdata)
{
	Ids *ids = userdata;

	if (ids->n < ELEMENTSOF(ids->ids))
		memcpy(ids->ids[ids->n], t->id, ID_STRING_MAX);
	ids->n++;
	return 0;
}

static int collect_daughter_id(const Daughter *d, void *userdata)
{
	Ids *ids = userdata;

	if (ids->n < ELEMENTSOF(ids->ids))
		memcpy(ids->ids[ids->n], d->id, ID_STRING_MAX);
	ids->n++;
	return 0;
}

static int collect_attempt_number(const Attempt *a, void *userdata)
{
	Ids *ids = userdata;

	if (ids->n < ELEMENTSOF(ids->ids))
		snprintf(ids->ids[ids->n], ID_STRING_MAX, "%d", a->number);
	ids->n++;
	return 0;
}

static int collect_intent_id(const IntentRecord *r, void *userdata)
{
	Ids *ids = userdata;

	if (ids->n < ELEMENTSOF(ids->ids))
		memcpy(ids->ids[ids->n], r->correlation_id, ID_STRING_MAX);
	ids->n++;
	return 0;
}

static void test_daughter_and_attempt_updates_and_lists(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	Daughter d[4];
	Attempt a[3];
	Task t1, t2;
	Ids ids = {};

	if (!s)
		return;
	make_task(&t1, TASK_RUNNING, 1, "operator");
	make_task(&t2, TASK_RUNNING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t1), 0);
	CHECK_INTEQ(store_task_insert(s, &t2), 0);
	make_daughter(&d[0], t1.id, "exited");
	make_daughter(&d[1], t2.id, "running");
	make_daughter(&d[2], t1.id, "running");
	make_daughter(&d[3], t2.id, "exited");
	for (int i = 0; i < 4; i++)
		CHECK_INTEQ(store_daughter_insert(s, &d[i]), 0);

	CHECK_INTEQ(store_daughter_list(s, NULL, NULL, (uid_t)-1, 0, collect_daughter_id, &ids), 0);
	CHECK_INTEQ(ids.n, 4);
	for (size_t i = 0; i < 4 && i < ids.n; i++)
		CHECK_STREQ(ids.ids[i], d[i].id);

	ids.n = 0;
	CHECK_INTEQ(store_daughter_list(s, NULL, "running", (uid_t)-1, 0, collect_daughter_id, &ids), 0);
	CHECK_INTEQ(ids.n, 2);
	CHECK_STREQ(ids.ids[0], d[1].id);
	CHECK_STREQ(ids.ids[1], d[2].id);

	ids.n = 0;
	CHECK_INTEQ(store_daughter_list(s, t2.id, NULL, (uid_t)-1, 0, collect_daughter_id, &ids), 0);
	CHECK_INTEQ(ids.n, 2);
	CHECK_STREQ(ids.ids[0], d[1].id);
	CHECK_STREQ(ids.ids[1], d[3].id);

	ids.n = 0;
	CHECK_INTEQ(store_daughter_list(s, t2.id, "exited", (uid_t)-1, 0, collect_daughter_id, &ids), 0);
	CHECK_INTEQ(ids.n, 1);
	CHECK_STREQ(ids.ids[0], d[3].id);

	ids.n = 0;
	CHECK_INTEQ(store_daughter_list(s, NULL, NULL, (uid_t)-1, 3, collect_daughter_id, &ids), 0);
	CHECK_INTEQ(ids.n, 3);

	/* Update: every field but the ids; the status index follows. */
	d[1].status = (char *)"killed";
	d[1].name = (char *)"renamed";
	d[1].purpose = (char *)"p";
	d[1].mutation_level = 9;
	d[1].last_heartbeat_at = 11;
	d[1].ended_at = 12;
	d[1].started_at = 10;
	d[1].error_last = (char *)"killed by cancel";
	CHECK_INTEQ(store_daughter_update(s, &d[1]), 0);
	ids.n = 0;
	CHECK_INTEQ(store_daughter_list(s, NULL, "running", (uid_t)-1, 0, collect_daughter_id, &ids), 0);
	CHECK_INTEQ(ids.n, 1);
	CHECK_STREQ(ids.ids[0], d[2].id);
	Daughters ds = {};
	CHECK_INTEQ(store_daughter_list(s, t2.id, "killed", (uid_t)-1, 0, copy_daughter, &ds), 0);
	CHECK_INTEQ(ds.n, 1);
	if (ds.n == 1)
		check_daughter_eq(&ds.d[0], &d[1]);
	daughters_done(&ds);

	Daughter ghost;
	make_daughter(&ghost, t1.id, "running");
	CHECK_INTEQ(store_daughter_update(s, &ghost), -ENOENT);

	/* Attempts come back in number order, whatever the insert order. */
	make_attempt(&a[0], &d[0], 2);
	make_attempt(&a[1], &d[0], 1);
	make_attempt(&a[2], &d[2], 1);
	for (int i = 0; i < 3; i++)
		CHECK_INTEQ(store_attempt_insert(s, &a[i]), 0);
	ids.n = 0;
	CHECK_INTEQ(store_attempt_list(s, d[0].id, collect_attempt_number, &ids), 0);
	CHECK_INTEQ(ids.n, 2);
	CHECK_STREQ(ids.ids[0], "1");
	CHECK_STREQ(ids.ids[1], "2");
	ids.n = 0;
	CHECK_INTEQ(store_attempt_list(s, d[3].id, collect_attempt_number, &ids), 0);
	CHECK_INTEQ(ids.n, 0);

	a[1].status = (char *)"exited";
	a[1].reason = (char *)"signaled";
	a[1].finished_at = 99;
	a[1].exit_code = -1;
	a[1].signal = 15;
	a[1].cpu_usec = 123;
	a[1].memory_peak_bytes = 456;
	a[1].tokens_used_cli = 7;
	a[1].tokens_used_local = 8;
	a[1].error_message = (char *)"terminated";
	CHECK_INTEQ(store_attempt_update(s, &a[1]), 0);
	Attempts as = {};
	CHECK_INTEQ(store_attempt_list(s, d[0].id, copy_attempt, &as), 0);
	CHECK_INTEQ(as.n, 2);
	if (as.n == 2)
		check_attempt_eq(&as.a[0], &a[1]);
	attempts_done(&as);
	Attempt aghost;
	make_attempt(&aghost, &d[0], 3);
	CHECK_INTEQ(store_attempt_update(s, &aghost), -ENOENT);
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

	CHECK_INTEQ(store_open(path, &s), 0);
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

static void test_intent_list_paging(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	IntentRecord r[10];
	Ids ids = {};

	if (!s)
		return;
	for (int i = 0; i < 10; i++) {
		make_intent(&r[i], i % 3 == 0 ? 7 : 8, NULL);
		CHECK_INTEQ(store_intent_insert(s, &r[i]), 0);
	}
	CHECK_INTEQ(store_intent_list(s, NULL, 0, (uid_t)-1, collect_intent_id, &ids), 0);
	CHECK_INTEQ(ids.n, 10);
	for (size_t i = 0; i < 10 && i < ids.n; i++)
		CHECK_STREQ(ids.ids[i], r[i].correlation_id);

	ids.n = 0;
	CHECK_INTEQ(store_intent_list(s, r[3].correlation_id, 4, (uid_t)-1, collect_intent_id, &ids), 0);
	CHECK_INTEQ(ids.n, 4);
	for (size_t i = 0; i < 4 && i < ids.n; i++)
		CHECK_STREQ(ids.ids[i], r[4 + i].correlation_id);

	ids.n = 0;
	CHECK_INTEQ(store_intent_list(s, NULL, 0, 7, collect_intent_id, &ids), 0);
	CHECK_INTEQ(ids.n, 4); /* 0, 3, 6, 9 */
	CHECK_STREQ(ids.ids[0], r[0].correlation_id);
	CHECK_STREQ(ids.ids[3], r[9].correlation_id);

	ids.n = 0;
	CHECK_INTEQ(store_intent_list(s, r[9].correlation_id, 0, (uid_t)-1, collect_intent_id, &ids), 0);
	CHECK_INTEQ(ids.n, 0);
	store_free(s);
}

/* ---- task.list ---- */

#define N_LIST_TASKS 300
static Task list_tasks[N_LIST_TASKS];
static const char *const list_sources[] = {"shub", "operator", "madre", "hijas"};

/* What the store must return, computed the slow way. */
static size_t expected_ids(const TaskFilter *f, Ids *ret)
{
	ret->n = 0;
	for (size_t i = 0; i < N_LIST_TASKS; i++) {
		const Task *t = &list_tasks[i];

		if (f->status_mask && !(f->status_mask & (1u << t->status)))
			continue;
		if (f->source && strcmp(f->source, t->source) != 0)
			continue;
		if (f->uid != (uid_t)-1 && f->uid != t->uid)
			continue;
		if (f->after && strcmp(t->id, f->after) <= 0)
			continue;
		if (f->limit && ret->n >= f->limit)
			break;
		collect_task_id(t, ret);
	}
	return ret->n;
}

static bool same_ids(const Ids *a, const Ids *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n && i < ELEMENTSOF(a->ids); i++)
		if (strcmp(a->ids[i], b->ids[i]) != 0)
			return false;
	return true;
}

static void test_task_list_filters_and_paging(void)
{
	static const unsigned masks[] = {
		0,
		1u << TASK_PENDING,
		1u << TASK_CANCELLED,
		(1u << TASK_PENDING) | (1u << TASK_RETRYING),
		(1u << TASK_RUNNING) | (1u << TASK_COMPLETED) | (1u << TASK_FAILED),
		(1u << _TASK_STATUS_MAX) - 1,
		((1u << _TASK_STATUS_MAX) - 1) & ~(1u << TASK_PLANNING),
	};
	static const uid_t uids[] = {(uid_t)-1, 1000, 1001, 1002, 4242};
	static const char *const sources[] = {NULL, "shub", "hijas", "nobody"};
	static const unsigned limits[] = {0, 1, 7, 1000};
	char path[256];
	Store *s = open_new(path, sizeof path);
	unsigned seed = 12345, combos = 0, mismatches = 0;

	if (!s)
		return;
	for (size_t i = 0; i < N_LIST_TASKS; i++) {
		seed = seed * 1103515245 + 12345;
		make_task(&list_tasks[i], (TaskStatus)((seed >> 8) % 7), 1000 + (seed >> 12) % 3,
			  list_sources[(seed >> 16) % 4]);
		CHECK_INTEQ(store_task_insert(s, &list_tasks[i]), 0);
	}
	CHECK_INTEQ(store_commit(s), 0);

	for (size_t m = 0; m < ELEMENTSOF(masks); m++)
		for (size_t u = 0; u < ELEMENTSOF(uids); u++)
			for (size_t so = 0; so < ELEMENTSOF(sources); so++)
				for (size_t l = 0; l < ELEMENTSOF(limits); l++)
					for (int a = 0; a < 3; a++) {
						TaskFilter f = {
							.status_mask = masks[m],
							.uid = uids[u],
							.source = sources[so],
							.limit = limits[l],
							.after = a == 0   ? NULL
								 : a == 1 ? list_tasks[N_LIST_TASKS / 2].id
									  : list_tasks[N_LIST_TASKS - 1].id,
						};
						Ids want, got = {};

						if (!f.limit && expected_ids(&f, &want) > 64)
							f.limit = 64; /* what Ids holds */
						expected_ids(&f, &want);
						CHECK_INTEQ(store_task_list(s, &f, collect_task_id, &got), 0);
						combos++;
						if (!same_ids(&want, &got)) {
							mismatches++;
							printf("# mask %#x uid %u source %s limit %u after %d: "
							       "%zu ids, expected %zu\n",
							       f.status_mask, (unsigned)f.uid, f.source ?: "-",
							       f.limit, a, got.n, want.n);
						}
					}
	CHECK_INTEQ(mismatches, 0);
	CHECK(combos > 1000);

	/* Paging through everything pending or retrying, 7 at a time, gives
	 * every one once, in id order. */
	TaskFilter f = {.status_mask = (1u << TASK_PENDING) | (1u << TASK_RETRYING), .uid = (uid_t)-1, .limit = 7};
	size_t seen = 0, expected = 0;
	char after[ID_STRING_MAX] = "";
	for (size_t i = 0; i < N_LIST_TASKS; i++)
		expected += list_tasks[i].status == TASK_PENDING || list_tasks[i].status == TASK_RETRYING;
	for (;;) {
		Ids page = {};

		f.after = after[0] ? after : NULL;
		CHECK_INTEQ(store_task_list(s, &f, collect_task_id, &page), 0);
		if (page.n == 0)
			break;
		for (size_t i = 0; i < page.n; i++) {
			CHECK(strcmp(page.ids[i], after) > 0);
			memcpy(after, page.ids[i], ID_STRING_MAX);
		}
		seen += page.n;
		if (seen > N_LIST_TASKS)
			break;
	}
	CHECK_INTEQ(seen, expected);
	store_free(s);
}

static int stop_after_two(const Task *t, void *userdata)
{
	int *n = userdata;
	return ++*n == 2 ? 42 : 0;
}

static int fail_now(const Task *t, void *userdata)
{
	return -ECANCELED;
}

static int nested_walk(const Task *t, void *userdata)
{
	Store *s = userdata;
	TaskFilter f = {.uid = (uid_t)-1};
	Ids ids = {};

	return store_task_list(s, &f, collect_task_id, &ids);
}

static int nested_get_and_update(const Task *t, void *userdata)
{
	Store *s = userdata;
	Task copy = *t, got = {};
	int r;

	r = store_task_get(s, t->id, &got);
	if (r < 0)
		return r;
	task_done(&got);
	copy.status = TASK_RUNNING;
	return store_task_update(s, &copy);
}

static void test_task_list_callbacks(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	TaskFilter all = {.uid = (uid_t)-1};
	TaskFilter pending = {.status_mask = 1u << TASK_PENDING, .uid = (uid_t)-1};
	uint64_t counts[_TASK_STATUS_MAX];
	Task t;
	int n = 0;

	if (!s)
		return;
	for (int i = 0; i < 5; i++) {
		make_task(&t, TASK_PENDING, 1, "operator");
		CHECK_INTEQ(store_task_insert(s, &t), 0);
	}
	CHECK_INTEQ(store_commit(s), 0);

	CHECK_INTEQ(store_task_list(s, &all, stop_after_two, &n), 42);
	CHECK_INTEQ(n, 2);
	n = 0;
	CHECK_INTEQ(store_task_list(s, &pending, stop_after_two, &n), 42);
	CHECK_INTEQ(n, 2);
	CHECK_INTEQ(store_task_list(s, &pending, fail_now, NULL), -ECANCELED);
	/* A walk inside a walk of the same kind is refused, not corrupted. */
	CHECK_INTEQ(store_task_list(s, &all, nested_walk, s), -EBUSY);
	/* Writes and gets from a callback are fine. */
	CHECK_INTEQ(store_task_list(s, &pending, nested_get_and_update, s), 0);
	CHECK_INTEQ(store_commit(s), 0);
	CHECK_INTEQ(store_task_count_by_status(s, counts), 0);
	CHECK_INTEQ(counts[TASK_PENDING], 0);
	CHECK_INTEQ(counts[TASK_RUNNING], 5);
	/* And the walks still work afterwards. */
	n = 0;
	CHECK_INTEQ(store_task_list(s, &all, stop_after_two, &n), 42);
	store_free(s);
}

static void test_count_by_status(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	uint64_t counts[_TASK_STATUS_MAX], before[_TASK_STATUS_MAX];
	Task t;

	if (!s)
		return;
	CHECK_INTEQ(store_task_count_by_status(s, counts), 0);
	for (int i = 0; i < _TASK_STATUS_MAX; i++)
		CHECK_INTEQ(counts[i], 0);
	for (int i = 0; i < 3; i++) {
		make_task(&t, TASK_PENDING, 1, "operator");
		CHECK_INTEQ(store_task_insert(s, &t), 0);
	}
	make_task(&t, TASK_FAILED, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	CHECK_INTEQ(store_task_count_by_status(s, counts), 0);
	CHECK_INTEQ(counts[TASK_PENDING], 3);
	CHECK_INTEQ(counts[TASK_FAILED], 1);
	CHECK_INTEQ(counts[TASK_RUNNING], 0);
	t.status = TASK_CANCELLED;
	CHECK_INTEQ(store_task_update(s, &t), 0);
	memcpy(before, counts, sizeof counts);
	CHECK_INTEQ(store_task_count_by_status(s, counts), 0);
	CHECK_INTEQ(counts[TASK_FAILED], 0);
	CHECK_INTEQ(counts[TASK_CANCELLED], 1);
	CHECK_INTEQ(counts[TASK_PENDING], 3);
	store_free(s);
}

/* ---- transactions ---- */

static void test_uncommitted_is_lost(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	Task kept, lost, got = {};
	IntentRecord i;

	if (!s)
		return;
	CHECK(!store_has_pending(s));
	CHECK_INTEQ(store_commit(s), 0); /* nothing to do */
	make_task(&kept, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &kept), 0);
	CHECK(store_has_pending(s));
	CHECK_INTEQ(store_commit(s), 0);
	CHECK(!store_has_pending(s));

	make_task(&lost, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &lost), 0);
	make_intent(&i, 1, NULL);
	CHECK_INTEQ(store_intent_insert(s, &i), 0);
	kept.status = TASK_CANCELLED;
	CHECK_INTEQ(store_task_update(s, &kept), 0);
	CHECK(store_has_pending(s));
	store_free(s); /* no commit */

	CHECK_INTEQ(store_open(path, &s), 0);
	CHECK_INTEQ(store_task_get(s, lost.id, &got), -ENOENT);
	CHECK_INTEQ(store_intent_get(s, i.correlation_id, &(IntentRecord){}), -ENOENT);
	CHECK_INTEQ(store_task_get(s, kept.id, &got), 0);
	CHECK_INTEQ(got.status, TASK_PENDING);
	task_done(&got);
	store_free(s);
}

static void test_reads_see_open_transaction(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path), *other = NULL;
	TaskFilter all = {.uid = (uid_t)-1}, mine = {.uid = 77};
	uint64_t counts[_TASK_STATUS_MAX];
	Task t, got = {};
	Ids ids = {};

	if (!s)
		return;
	make_task(&t, TASK_PLANNING, 77, "madre");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	CHECK_INTEQ(store_task_get(s, t.id, &got), 0);
	task_done(&got);
	CHECK_INTEQ(store_task_list(s, &all, collect_task_id, &ids), 0);
	CHECK_INTEQ(ids.n, 1);
	ids.n = 0;
	CHECK_INTEQ(store_task_list(s, &mine, collect_task_id, &ids), 0);
	CHECK_INTEQ(ids.n, 1);
	CHECK_INTEQ(store_task_count_by_status(s, counts), 0);
	CHECK_INTEQ(counts[TASK_PLANNING], 1);

	/* Another connection does not see it until the commit. */
	CHECK_INTEQ(store_open(path, &other), 0);
	CHECK_INTEQ(store_task_get(other, t.id, &got), -ENOENT);
	CHECK_INTEQ(store_commit(s), 0);
	CHECK_INTEQ(store_task_get(other, t.id, &got), 0);
	task_done(&got);
	store_free(other);
	store_free(s);
}

static void test_durable_commit_syncs(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	unsigned before;
	Task t;

	if (!s)
		return;
	/* Warm up: the WAL exists and has been synced once. */
	make_task(&t, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	store_want_durable(s);
	CHECK_INTEQ(store_commit(s), 0);

	before = sync_calls;
	make_task(&t, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	CHECK_INTEQ(store_commit(s), 0);
	CHECK_INTEQ(sync_calls - before, 0);

	/* Durable asked before the first write of the transaction... */
	before = sync_calls;
	store_want_durable(s);
	make_task(&t, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	CHECK_INTEQ(store_commit(s), 0);
	CHECK(sync_calls - before >= 1);

	/* ...and after it, while the transaction is open. */
	before = sync_calls;
	make_task(&t, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	store_want_durable(s);
	CHECK_INTEQ(store_commit(s), 0);
	CHECK(sync_calls - before >= 1);

	/* The mark is for one commit only. */
	before = sync_calls;
	make_task(&t, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	CHECK_INTEQ(store_commit(s), 0);
	CHECK_INTEQ(sync_calls - before, 0);
	store_free(s);
}

static void test_failed_commit_rolls_back(void)
{
	char path[256], wal[300];
	Store *s = open_new(path, sizeof path);
	struct rlimit old, lim;
	struct stat st;
	Task first, t, got = {};
	int r;

	if (!s)
		return;
	make_task(&first, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &first), 0);
	CHECK_INTEQ(store_commit(s), 0);

	/* The WAL may not grow: the next commit cannot write its frames. */
	snprintf(wal, sizeof wal, "%s-wal", path);
	CHECK_INTEQ(stat(wal, &st), 0);
	CHECK_INTEQ(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size;
	CHECK_INTEQ(setrlimit(RLIMIT_FSIZE, &lim), 0);

	make_task(&t, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	r = store_commit(s);

	CHECK_INTEQ(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	CHECK_INTEQ(r, -EIO);
	CHECK(strlen(store_last_error(s)) > 0);
	CHECK(!store_has_pending(s));
	CHECK_INTEQ(store_task_get(s, t.id, &got), -ENOENT);

	/* The store carries on. */
	make_task(&t, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	CHECK_INTEQ(store_commit(s), 0);
	store_free(s);
	CHECK_INTEQ(store_open(path, &s), 0);
	CHECK_INTEQ(store_task_get(s, t.id, &got), 0);
	task_done(&got);
	CHECK_INTEQ(store_task_get(s, first.id, &got), 0);
	task_done(&got);
	store_free(s);
}

/* When SQLite gives up the whole transaction in the middle of a group (here:
 * a write that spills the page cache into a WAL that may not grow), the rest
 * of the group fails too, and the commit says so: all or nothing. */
static void test_failed_write_fails_group(void)
{
	char path[256], wal[300];
	Store *s = open_new(path, sizeof path);
	struct rlimit old, lim;
	struct stat st;
	Task before, big, after, got = {};
	size_t size = 32u << 20; /* twice the page cache */
	char *payload;
	int r;

	if (!s)
		return;
	payload = malloc(size + 1);
	CHECK(payload);
	if (!payload)
		return;
	memset(payload, 'x', size);
	payload[size] = 0;
	make_task(&before, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &before), 0);
	CHECK_INTEQ(store_commit(s), 0);

	snprintf(wal, sizeof wal, "%s-wal", path);
	CHECK_INTEQ(stat(wal, &st), 0);
	CHECK_INTEQ(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size;
	CHECK_INTEQ(setrlimit(RLIMIT_FSIZE, &lim), 0);

	before.status = TASK_RUNNING;
	CHECK_INTEQ(store_task_update(s, &before), 0);
	make_task(&big, TASK_PENDING, 1, "operator");
	big.payload_json = payload;
	r = store_task_insert(s, &big);
	make_task(&after, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &after), -EIO);
	CHECK_INTEQ(store_commit(s), -EIO);

	CHECK_INTEQ(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	free(payload);
	CHECK_INTEQ(r, -EIO);
	CHECK(!store_has_pending(s));
	CHECK_INTEQ(store_task_get(s, after.id, &got), -ENOENT);
	CHECK_INTEQ(store_task_get(s, big.id, &got), -ENOENT);
	CHECK_INTEQ(store_task_get(s, before.id, &got), 0);
	CHECK_INTEQ(got.status, TASK_PENDING);
	task_done(&got);

	/* The next group works. */
	CHECK_INTEQ(store_task_insert(s, &after), 0);
	CHECK_INTEQ(store_commit(s), 0);
	CHECK_INTEQ(store_task_get(s, after.id, &got), 0);
	task_done(&got);
	store_free(s);
}

static void test_checkpoint_from_second_store(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path), *ckpt = NULL;
	Task t;

	if (!s)
		return;
	CHECK_INTEQ(store_open(path, &ckpt), 0);
	for (int i = 0; i < 50; i++) {
		make_task(&t, TASK_PENDING, 1, "operator");
		CHECK_INTEQ(store_task_insert(s, &t), 0);
	}
	CHECK_INTEQ(store_commit(s), 0);
	int pages = store_wal_pages(s);
	CHECK(pages > 0);

	CHECK_INTEQ(store_checkpoint(ckpt), 0);
	CHECK_INTEQ(store_wal_pages(ckpt), 0);

	/* Everything was checkpointed, so the next commit starts the WAL over. */
	make_task(&t, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	CHECK_INTEQ(store_commit(s), 0);
	CHECK(store_wal_pages(s) > 0);
	CHECK(store_wal_pages(s) < pages);
	store_free(ckpt);
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
	TEST(test_daughter_and_attempt_updates_and_lists);
	TEST(test_references_enforced);
	TEST(test_duplicate_id);
	TEST(test_idempotency_per_uid);
	TEST(test_intent_list_paging);
	TEST(test_task_list_filters_and_paging);
	TEST(test_task_list_callbacks);
	TEST(test_count_by_status);
	TEST(test_uncommitted_is_lost);
	TEST(test_reads_see_open_transaction);
	TEST(test_durable_commit_syncs);
	TEST(test_failed_commit_rolls_back);
	TEST(test_failed_write_fails_group);
	TEST(test_checkpoint_from_second_store);

	remove_tmpdir();
	return tap_done();
}
