/* SPDX-License-Identifier: MIT */
/*
 * The store, part 2: walks. Daughters and attempts listed (by task, by
 * status, in number order) and updated, intents paged, task.list against
 * every combination of its filters and a slow reference, paging, what a walk's
 * callback may do, and counts by status. On real database files in a
 * temporary directory. Part 1 is test-store.c, part 3 test-store-txn.c; what
 * they share is store-core-test.h.
 */
#include <inttypes.h>
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
	CHECK_INTEQ(store_intent_list(s, &(IntentFilter){.uid = (uid_t)-1}, collect_intent_id, &ids), 0);
	CHECK_INTEQ(ids.n, 10);
	for (size_t i = 0; i < 10 && i < ids.n; i++)
		CHECK_STREQ(ids.ids[i], r[i].correlation_id);

	ids.n = 0;
	CHECK_INTEQ(store_intent_list(s, &(IntentFilter){.uid = (uid_t)-1, .after = r[3].correlation_id, .limit = 4},
				     collect_intent_id, &ids), 0);
	CHECK_INTEQ(ids.n, 4);
	for (size_t i = 0; i < 4 && i < ids.n; i++)
		CHECK_STREQ(ids.ids[i], r[4 + i].correlation_id);

	ids.n = 0;
	CHECK_INTEQ(store_intent_list(s, &(IntentFilter){.uid = 7}, collect_intent_id, &ids), 0);
	CHECK_INTEQ(ids.n, 4); /* 0, 3, 6, 9 */
	CHECK_STREQ(ids.ids[0], r[0].correlation_id);
	CHECK_STREQ(ids.ids[3], r[9].correlation_id);

	ids.n = 0;
	CHECK_INTEQ(store_intent_list(s, &(IntentFilter){.uid = (uid_t)-1, .after = r[9].correlation_id}, collect_intent_id, &ids), 0);
	CHECK_INTEQ(ids.n, 0);
	store_free(s);
}

static void test_intent_list_newest_first_and_count(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	IntentRecord r[10];
	Ids ids = {};
	uint64_t n = 99;

	if (!s)
		return;
	CHECK_INTEQ(store_intent_count(s, &n), 0);
	CHECK_INTEQ(n, 0);
	for (int i = 0; i < 10; i++) {
		make_intent(&r[i], i % 3 == 0 ? 7 : 8, NULL);
		CHECK_INTEQ(store_intent_insert(s, &r[i]), 0);
	}
	CHECK_INTEQ(store_intent_count(s, &n), 0);
	CHECK_INTEQ(n, 10);

	CHECK_INTEQ(store_intent_list(s, &(IntentFilter){.uid = (uid_t)-1, .desc = true}, collect_intent_id, &ids), 0);
	CHECK_INTEQ(ids.n, 10);
	for (size_t i = 0; i < 10 && i < ids.n; i++)
		CHECK_STREQ(ids.ids[i], r[9 - i].correlation_id);

	/* The page after entry 6, newest first: 5, 4, 3. */
	ids.n = 0;
	CHECK_INTEQ(store_intent_list(s, &(IntentFilter){.uid = (uid_t)-1, .desc = true, .after = r[6].correlation_id, .limit = 3},
				      collect_intent_id, &ids),
		    0);
	CHECK_INTEQ(ids.n, 3);
	for (size_t i = 0; i < 3 && i < ids.n; i++)
		CHECK_STREQ(ids.ids[i], r[5 - i].correlation_id);

	ids.n = 0;
	CHECK_INTEQ(store_intent_list(s, &(IntentFilter){.uid = 7, .desc = true, .limit = 2}, collect_intent_id, &ids), 0);
	CHECK_INTEQ(ids.n, 2);
	CHECK_STREQ(ids.ids[0], r[9].correlation_id);
	CHECK_STREQ(ids.ids[1], r[6].correlation_id);

	ids.n = 0;
	CHECK_INTEQ(store_intent_list(s, &(IntentFilter){.uid = (uid_t)-1, .desc = true, .after = r[0].correlation_id},
				      collect_intent_id, &ids),
		    0);
	CHECK_INTEQ(ids.n, 0);
	store_free(s);
}

/* ---- ids by prefix ---- */

/* An intent with the ids given (and a task, when task_id is not NULL, whose
 * audit row names it only when linked). */
static void put_intent(Store *s, const char *cid, const char *task_id, bool linked, uid_t uid)
{
	IntentRecord r;
	Task t;

	make_intent(&r, uid, NULL);
	snprintf(r.correlation_id, sizeof r.correlation_id, "%s", cid);
	r.task_id = (char *)(task_id && linked ? task_id : NULL);
	CHECK_INTEQ(store_intent_insert(s, &r), 0);
	if (!task_id)
		return;
	make_task(&t, TASK_PENDING, uid, "operator");
	snprintf(t.id, sizeof t.id, "%s", task_id);
	snprintf(t.intent_id, sizeof t.intent_id, "%s", cid);
	CHECK_INTEQ(store_task_insert(s, &t), 0);
}

static void test_id_prefix_find(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	const char *a = "01900000-aaaa-7000-8000-00000000000a", *ta = "01900000-aaab-7000-8000-00000000000b",
		   *b = "01900000-bbbb-7000-8000-00000000000b", *c = "01900000-aaac-7000-8000-00000000000c",
		   *tc = "01900000-cccc-7000-8000-00000000000c", *d = "01900000-dddd-7000-8000-00000000000d",
		   *td = "01900000-ddde-7000-8000-00000000000d";
	IdMatch m[4];
	size_t n;

	if (!s)
		return;
	put_intent(s, a, ta, true, 7);
	put_intent(s, b, NULL, false, 8);
	put_intent(s, c, tc, true, 7);
	put_intent(s, d, td, false, 9);

	/* A task's id names its intent. */
	CHECK_INTEQ(store_id_prefix_find(s, "01900000-aaab", (uid_t)-1, m, 4, &n), 0);
	CHECK_INTEQ(n, 1);
	CHECK_STREQ(m[0].correlation_id, a);
	CHECK_STREQ(m[0].task_id, ta);
	/* A correlation id too, with its task's id. */
	CHECK_INTEQ(store_id_prefix_find(s, a, (uid_t)-1, m, 4, &n), 0);
	CHECK_INTEQ(n, 1);
	CHECK_STREQ(m[0].task_id, ta);
	/* One intent by its own id and its task's: once. Two: both, in order. */
	CHECK_INTEQ(store_id_prefix_find(s, "01900000-aaa", (uid_t)-1, m, 4, &n), 0);
	CHECK_INTEQ(n, 2);
	CHECK_STREQ(m[0].correlation_id, a);
	CHECK_STREQ(m[0].task_id, ta);
	CHECK_STREQ(m[1].correlation_id, c);
	CHECK_STREQ(m[1].task_id, tc);
	/* No task: an empty task id. */
	CHECK_INTEQ(store_id_prefix_find(s, "01900000-b", (uid_t)-1, m, 4, &n), 0);
	CHECK_INTEQ(n, 1);
	CHECK_STREQ(m[0].correlation_id, b);
	CHECK_STREQ(m[0].task_id, "");
	/* An audit row that does not name its task, and the task: one intent. */
	CHECK_INTEQ(store_id_prefix_find(s, "01900000-ddd", (uid_t)-1, m, 4, &n), 0);
	CHECK_INTEQ(n, 1);
	CHECK_STREQ(m[0].correlation_id, d);
	CHECK_STREQ(m[0].task_id, td);
	/* Someone else's are not there. */
	CHECK_INTEQ(store_id_prefix_find(s, "01900000", 8, m, 4, &n), 0);
	CHECK_INTEQ(n, 1);
	CHECK_STREQ(m[0].correlation_id, b);
	CHECK_INTEQ(store_id_prefix_find(s, ta, 8, m, 4, &n), 0);
	CHECK_INTEQ(n, 0);
	/* More than max: max given, max + 1 counted. */
	CHECK_INTEQ(store_id_prefix_find(s, "0190", (uid_t)-1, m, 2, &n), 0);
	CHECK_INTEQ(n, 3);
	CHECK_STREQ(m[0].correlation_id, a);
	CHECK_STREQ(m[1].correlation_id, c);
	CHECK_INTEQ(store_id_prefix_find(s, "0190", (uid_t)-1, m, 4, &n), 0);
	CHECK_INTEQ(n, 4);
	CHECK_INTEQ(store_id_prefix_find(s, "01900001", (uid_t)-1, m, 4, &n), 0);
	CHECK_INTEQ(n, 0);
	CHECK_INTEQ(store_id_prefix_find(s, "ffff", (uid_t)-1, m, 4, &n), 0);
	CHECK_INTEQ(n, 0);
	store_free(s);
}

static void test_task_first_start(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	Daughter d;
	Attempt at[3];
	Task t;
	uint64_t start = 1;

	if (!s)
		return;
	make_task(&t, TASK_RUNNING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	CHECK_INTEQ(store_task_first_start(s, t.id, &start), 0);
	CHECK_INTEQ(start, 0);
	make_daughter(&d, t.id, "exited");
	CHECK_INTEQ(store_daughter_insert(s, &d), 0);
	/* Attempt 1 never started (spawn_failed); 2 did, then 3. */
	for (int i = 0; i < 3; i++) {
		make_attempt(&at[i], &d, 3 - i);
		at[i].started_at = i == 2 ? 0 : 1000 - 100 * (uint64_t)i;
		CHECK_INTEQ(store_attempt_insert(s, &at[i]), 0);
	}
	CHECK_INTEQ(store_task_first_start(s, t.id, &start), 0);
	CHECK_INTEQ(start, 900);
	CHECK_INTEQ(store_task_first_start(s, "no-such-task", &start), 0);
	CHECK_INTEQ(start, 0);
	store_free(s);
}

/* ---- task.list ---- */

#define N_LIST_TASKS 300
static Task list_tasks[N_LIST_TASKS];
static const char *const list_sources[] = {"shub", "operator", "madre", "hijas"};

/* Whether t passes f's filters, after and limit aside. */
static bool matches(const TaskFilter *f, const Task *t)
{
	return (!f->status_mask || (f->status_mask & (1u << t->status))) &&
	       (!f->source || strcmp(f->source, t->source) == 0) &&
	       (!f->task_type || strcmp(f->task_type, t->task_type) == 0) &&
	       (f->uid == (uid_t)-1 || f->uid == t->uid) && t->created_at >= f->since &&
	       (!f->until || t->created_at < f->until);
}

/* What the store must return, computed the slow way. */
static size_t expected_ids(const TaskFilter *f, Ids *ret)
{
	ret->n = 0;
	for (size_t k = 0; k < N_LIST_TASKS; k++) {
		const Task *t = &list_tasks[f->desc ? N_LIST_TASKS - 1 - k : k];

		if (!matches(f, t))
			continue;
		if (f->after && (f->desc ? strcmp(t->id, f->after) >= 0 : strcmp(t->id, f->after) <= 0))
			continue;
		if (f->limit && ret->n >= f->limit)
			break;
		collect_task_id(t, ret);
	}
	return ret->n;
}

static uint64_t expected_count(const TaskFilter *f)
{
	uint64_t n = 0;

	for (size_t i = 0; i < N_LIST_TASKS; i++)
		n += matches(f, &list_tasks[i]);
	return n;
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

/* A page after page walk with f (its limit the page size) gives every task
 * f matches once, in f's order. */
static void check_paging(Store *s, TaskFilter f)
{
	char after[ID_STRING_MAX] = "";
	size_t seen = 0;

	for (;;) {
		Ids page = {};

		f.after = after[0] ? after : NULL;
		CHECK_INTEQ(store_task_list(s, &f, collect_task_id, &page), 0);
		if (page.n == 0)
			break;
		for (size_t i = 0; i < page.n; i++) {
			if (after[0])
				CHECK(f.desc ? strcmp(page.ids[i], after) < 0 : strcmp(page.ids[i], after) > 0);
			memcpy(after, page.ids[i], ID_STRING_MAX);
		}
		seen += page.n;
		if (seen > N_LIST_TASKS)
			break;
	}
	CHECK_INTEQ(seen, expected_count(&f));
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
	static const char *const types[] = {NULL, "sleep"};
	static const unsigned limits[] = {0, 1, 7, 1000};
	char path[256];
	Store *s = open_new(path, sizeof path);
	unsigned seed = 12345, combos = 0, mismatches = 0, counted = 0, miscounts = 0;
	/* Ten seconds ago, a millisecond apart: the ids, made now, are newer
	 * than their created_at, as in the daemon. */
	uint64_t base = now_realtime_usec() - 10 * USEC_PER_SEC;

	if (!s)
		return;
	for (size_t i = 0; i < N_LIST_TASKS; i++) {
		seed = seed * 1103515245 + 12345;
		make_task(&list_tasks[i], (TaskStatus)((seed >> 8) % 7), 1000 + (seed >> 12) % 3,
			  list_sources[(seed >> 16) % 4]);
		list_tasks[i].task_type = (char *)((seed >> 20) % 3 == 0 ? "sleep" : "echo");
		list_tasks[i].created_at = base + i * USEC_PER_MSEC;
		CHECK_INTEQ(store_task_insert(s, &list_tasks[i]), 0);
	}
	CHECK_INTEQ(store_commit(s), 0);

	/* Created times: none; from task 100 on; from 100 to before 200; up to
	 * before 37; from a time between two tasks' to a time in the future. */
	const struct {
		uint64_t since, until;
	} windows[] = {
		{ 0, 0 },
		{ list_tasks[100].created_at, 0 },
		{ list_tasks[100].created_at, list_tasks[200].created_at },
		{ 0, list_tasks[37].created_at },
		{ list_tasks[250].created_at - 1, now_realtime_usec() + USEC_PER_SEC },
	};

	/* Every combination: k counts through them, each digit one choice. */
	const size_t n_combos = ELEMENTSOF(masks) * ELEMENTSOF(uids) * ELEMENTSOF(sources) * ELEMENTSOF(types) *
				ELEMENTSOF(windows) * ELEMENTSOF(limits) * 8;
	for (size_t k = 0, x; k < n_combos; k++) {
		size_t m, u, so, ty, w, l, a;
		Ids want, got = {};
		uint64_t n = UINT64_MAX;

		x = k;
		m = x % ELEMENTSOF(masks), x /= ELEMENTSOF(masks);
		u = x % ELEMENTSOF(uids), x /= ELEMENTSOF(uids);
		so = x % ELEMENTSOF(sources), x /= ELEMENTSOF(sources);
		ty = x % ELEMENTSOF(types), x /= ELEMENTSOF(types);
		w = x % ELEMENTSOF(windows), x /= ELEMENTSOF(windows);
		l = x % ELEMENTSOF(limits), x /= ELEMENTSOF(limits);
		a = x; /* 0..3 oldest first, 4..7 newest first: no after, the middle, the newest, the oldest */

		TaskFilter f = {
			.status_mask = masks[m],
			.uid = uids[u],
			.source = sources[so],
			.task_type = types[ty],
			.since = windows[w].since,
			.until = windows[w].until,
			.limit = limits[l],
			.desc = a >= 4,
			.after = a % 4 == 0   ? NULL
				 : a % 4 == 1 ? list_tasks[N_LIST_TASKS / 2].id
				 : a % 4 == 2 ? list_tasks[N_LIST_TASKS - 1].id
					      : list_tasks[0].id,
		};
		if (!f.limit && expected_ids(&f, &want) > 64)
			f.limit = 64; /* what Ids holds */
		expected_ids(&f, &want);
		CHECK_INTEQ(store_task_list(s, &f, collect_task_id, &got), 0);
		combos++;
		if (!same_ids(&want, &got)) {
			mismatches++;
			printf("# mask %#x uid %u source %s type %s window %zu limit %u after %zu: %zu ids, expected %zu\n",
			       f.status_mask, (unsigned)f.uid, f.source ?: "-", f.task_type ?: "-", w, f.limit, a, got.n,
			       want.n);
		}
		/* The count ignores after, limit and order. */
		if (a == 0 && l == 0) {
			counted++;
			CHECK_INTEQ(store_task_count(s, &f, &n), 0);
			if (n != expected_count(&f)) {
				miscounts++;
				printf("# count: mask %#x uid %u source %s type %s window %zu: %" PRIu64
				       ", expected %" PRIu64 "\n",
				       f.status_mask, (unsigned)f.uid, f.source ?: "-", f.task_type ?: "-", w, n,
				       expected_count(&f));
			}
		}
	}
	CHECK_INTEQ(mismatches, 0);
	CHECK_INTEQ(miscounts, 0);
	CHECK(combos > 10000);
	CHECK(counted > 1000);

	/* Paging through a status set, 7 at a time, either way, with and without
	 * a window, gives every one once, in order. */
	TaskFilter f = {.status_mask = (1u << TASK_PENDING) | (1u << TASK_RETRYING), .uid = (uid_t)-1, .limit = 7};
	check_paging(s, f);
	f.desc = true;
	check_paging(s, f);
	f.since = windows[2].since;
	f.until = windows[2].until;
	check_paging(s, f);
	f = (TaskFilter){.uid = 1001, .desc = true, .limit = 5, .task_type = "echo"};
	check_paging(s, f);
	f = (TaskFilter){.uid = (uid_t)-1, .desc = true, .limit = 11};
	check_paging(s, f);
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

typedef struct TypeCounts {
	uint64_t echo_pending, sleep_pending, sleep_failed;
	int calls;
} TypeCounts;

static int count_type(const char *type, TaskStatus st, uint64_t n, void *userdata)
{
	TypeCounts *c = userdata;

	c->calls++;
	if (streq(type, "echo") && st == TASK_PENDING)
		c->echo_pending = n;
	else if (streq(type, "sleep") && st == TASK_PENDING)
		c->sleep_pending = n;
	else if (streq(type, "sleep") && st == TASK_FAILED)
		c->sleep_failed = n;
	return 0;
}

static void test_count_by_type(void)
{
	char path[256];
	Store *s = open_new(path, sizeof path);
	TypeCounts c = {};
	Task t;

	if (!s)
		return;
	CHECK_INTEQ(store_task_count_by_type(s, count_type, &c), 0);
	CHECK_INTEQ(c.calls, 0);
	for (int i = 0; i < 3; i++) {
		make_task(&t, TASK_PENDING, 1, "operator");
		CHECK_INTEQ(store_task_insert(s, &t), 0);
	}
	make_task(&t, TASK_PENDING, 1, "operator");
	t.task_type = (char *)"sleep";
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	make_task(&t, TASK_FAILED, 1, "operator");
	t.task_type = (char *)"sleep";
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	CHECK_INTEQ(store_task_count_by_type(s, count_type, &c), 0);
	CHECK_INTEQ(c.calls, 3);
	CHECK_INTEQ(c.echo_pending, 3);
	CHECK_INTEQ(c.sleep_pending, 1);
	CHECK_INTEQ(c.sleep_failed, 1);
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
	TEST(test_intent_list_newest_first_and_count);
	TEST(test_id_prefix_find);
	TEST(test_task_first_start);
	TEST(test_task_list_filters_and_paging);
	TEST(test_task_list_callbacks);
	TEST(test_count_by_status);
	TEST(test_count_by_type);

	remove_tmpdir();
	return tap_done();
}
