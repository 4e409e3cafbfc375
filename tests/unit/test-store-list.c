/* SPDX-License-Identifier: MIT */
/*
 * The store, part 2: walks. Daughters and attempts listed (by task, by
 * status, in number order) and updated, intents paged, task.list against
 * every combination of its filters and a slow reference, paging, what a walk's
 * callback may do, and counts by status. On real database files in a
 * temporary directory. Part 1 is test-store.c, part 3 test-store-txn.c; what
 * they share is store-core-test.h.
 */
#include <stdint.h>

#include "store-core-test.h"

/* ---- daughters and attempts ---- */

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

/* ---- intents ---- */

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

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %m\n");
		return EXIT_FAILURE;
	}

	TEST(test_daughter_and_attempt_updates_and_lists);
	TEST(test_intent_list_paging);
	TEST(test_task_list_filters_and_paging);
	TEST(test_task_list_callbacks);
	TEST(test_count_by_status);

	remove_tmpdir();
	return tap_done();
}
