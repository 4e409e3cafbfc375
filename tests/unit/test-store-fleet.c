/* SPDX-License-Identifier: MIT */
/*
 * The fleet's claims on PostgreSQL (FLEET-DESIGN.md P8): nodes claiming at
 * once never get one task twice; a claim follows priority, then submission
 * order; a write about a task whose claim was taken is fenced (-ESTALE) and
 * changes nothing; an ended task gives its claim back; a node's own claims
 * are released at its start. Needs VX11_TEST_DATABASE (with-pg.sh); SQLite
 * is no fleet, which is checked without it.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include "store-core-test.h"

#define N_TASKS 200
#define N_NODES 3

static Store *open_node(const char *url, const char *node)
{
	Store *s = NULL;
	int r = store_open_url(url, node, &s);

	if (r < 0)
		printf("# store_open_url(%s, %s): %d %s\n", url, node, r, store_last_error(NULL));
	CHECK_INTEQ(r, 0);
	return s;
}

static const char *const types[] = {"echo", NULL};

typedef struct Claimer {
	Store *s;
	char (*ids)[ID_STRING_MAX];
	size_t n;
	int error;
} Claimer;

static int collect(const Task *t, void *userdata)
{
	Claimer *c = userdata;

	memcpy(c->ids[c->n++], t->id, ID_STRING_MAX);
	return 0;
}

/* Claim 1 or 2 at a time until nothing is left. */
static void *claim_all(void *userdata)
{
	Claimer *c = userdata;
	int k;

	do
		k = store_claim(c->s, types, 1 + c->n % 2, collect, c);
	while (k > 0);
	c->error = k;
	return NULL;
}

static void insert_tasks(Store *s, Task *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		make_task(&t[i], TASK_PENDING, 1000, "operator");
		t[i].priority = (int)(i % 3);
		CHECK_INTEQ(store_task_insert(s, &t[i]), 0);
	}
	CHECK_INTEQ(store_commit(s), 0);
}

static void test_concurrent_claims_disjoint(void)
{
	static Task t[N_TASKS];
	Claimer c[N_NODES] = {};
	pthread_t th[N_NODES];
	char url[256], name[8];
	size_t total = 0;

	if (!test_on_pg())
		SKIP("needs VX11_TEST_DATABASE (tests/unit/with-pg.sh)");
	new_db_path(url, sizeof url);
	for (int i = 0; i < N_NODES; i++) {
		snprintf(name, sizeof name, "n%d", i);
		c[i].s = open_node(url, name);
		c[i].ids = calloc(N_TASKS, ID_STRING_MAX);
		if (!c[i].s || !c[i].ids)
			goto out;
	}
	insert_tasks(c[0].s, t, N_TASKS);
	for (int i = 0; i < N_NODES; i++)
		CHECK_INTEQ(pthread_create(&th[i], NULL, claim_all, &c[i]), 0);
	for (int i = 0; i < N_NODES; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < N_NODES; i++) {
		CHECK_INTEQ(c[i].error, 0);
		printf("# node n%d claimed %zu\n", i, c[i].n);
		total += c[i].n;
	}
	/* Each task once: no id in two nodes' lists, none left out. */
	CHECK_INTEQ(total, N_TASKS);
	for (size_t k = 0; k < N_TASKS; k++) {
		int seen = 0;
		for (int i = 0; i < N_NODES; i++)
			for (size_t j = 0; j < c[i].n; j++)
				seen += streq(c[i].ids[j], t[k].id);
		CHECK_INTEQ(seen, 1);
	}
	CHECK_INTEQ(test_pg_query(url, "SELECT count(*) FROM tasks WHERE claimed_by IS NULL"), 0);
	CHECK_INTEQ(test_pg_query(url, "SELECT count(DISTINCT claimed_by) FROM tasks"), N_NODES);
out:
	for (int i = 0; i < N_NODES; i++) {
		store_free(c[i].s);
		free(c[i].ids);
	}
}

/* Priority first (lower runs first), then submission order; the database's
 * pauses and the node's task types are claimed around. */
static void test_claim_order_and_filters(void)
{
	Task t[6];
	Claimer c = {};
	char url[256];
	static const char *const other[] = {"other", NULL};

	if (!test_on_pg())
		SKIP("needs VX11_TEST_DATABASE (tests/unit/with-pg.sh)");
	new_db_path(url, sizeof url);
	c.s = open_node(url, "n1");
	c.ids = calloc(8, ID_STRING_MAX);
	if (!c.s || !c.ids)
		goto out;
	insert_tasks(c.s, t, 6); /* priorities 0 1 2 0 1 2 */
	CHECK_INTEQ(store_claim(c.s, other, 6, collect, &c), 0);
	CHECK_INTEQ(store_pause_set(c.s, "echo", 1, 0), 0);
	CHECK_INTEQ(store_claim(c.s, types, 6, collect, &c), -EAGAIN); /* its own transaction only */
	CHECK_INTEQ(store_commit(c.s), 0);
	CHECK_INTEQ(store_claim(c.s, types, 6, collect, &c), 0);
	CHECK_INTEQ(store_pause_clear(c.s, "echo"), 0);
	CHECK_INTEQ(store_commit(c.s), 0);
	CHECK_INTEQ(store_claim(c.s, types, 4, collect, &c), 4);
	CHECK_INTEQ(c.n, 4);
	if (c.n == 4) {
		CHECK_STREQ(c.ids[0], t[0].id);
		CHECK_STREQ(c.ids[1], t[3].id);
		CHECK_STREQ(c.ids[2], t[1].id);
		CHECK_STREQ(c.ids[3], t[4].id);
	}
out:
	store_free(c.s);
	free(c.ids);
}

static void test_fenced_writes(void)
{
	Task t[2], got = {};
	Daughter d;
	Attempt a;
	Claimer c = {};
	char url[256], sql[160];
	Store *n2 = NULL;

	if (!test_on_pg())
		SKIP("needs VX11_TEST_DATABASE (tests/unit/with-pg.sh)");
	new_db_path(url, sizeof url);
	c.s = open_node(url, "n1");
	n2 = open_node(url, "n2");
	c.ids = calloc(2, ID_STRING_MAX);
	if (!c.s || !n2 || !c.ids)
		goto out;
	insert_tasks(c.s, t, 2);
	CHECK_INTEQ(store_claim(c.s, types, 2, collect, &c), 2);

	/* Under its claim: the daughter's and attempt's rows, the task running. */
	make_daughter(&d, t[0].id, "running");
	make_attempt(&a, &d, 1);
	CHECK_INTEQ(store_daughter_insert(c.s, &d), 0);
	CHECK_INTEQ(store_attempt_insert(c.s, &a), 0);
	t[0].status = t[1].status = TASK_RUNNING;
	CHECK_INTEQ(store_task_update(c.s, &t[0]), 0);
	CHECK_INTEQ(store_task_update(c.s, &t[1]), 0);
	CHECK_INTEQ(store_commit(c.s), 0);
	CHECK_INTEQ(test_pg_query(url, "SELECT count(*) FROM tasks WHERE claimed_by = 'n1' AND status = 'running'"), 2);

	/* Taken from it (what adoption will do): every write about t[0] is fenced. */
	snprintf(sql, sizeof sql, "UPDATE tasks SET claimed_by = 'n2', claim_seq = claim_seq + 1 WHERE id = '%s'",
		 t[0].id);
	CHECK_INTEQ(test_pg_query(url, sql), 0);
	CHECK_INTEQ(store_daughter_heartbeat(c.s, d.id, 5), -ESTALE);
	CHECK(strstr(store_last_error(c.s), "fenced") != NULL);
	a.status = (char *)"succeeded";
	CHECK_INTEQ(store_attempt_update(c.s, &a), -ESTALE);
	d.status = (char *)"exited";
	CHECK_INTEQ(store_daughter_update(c.s, &d), -ESTALE);
	t[0].status = TASK_COMPLETED;
	CHECK_INTEQ(store_task_update(c.s, &t[0]), -ESTALE);
	/* The other, still its own, ends and gives its claim back. */
	t[1].status = TASK_COMPLETED;
	CHECK_INTEQ(store_task_update(c.s, &t[1]), 0);
	CHECK_INTEQ(store_commit(c.s), 0);
	CHECK_INTEQ(store_task_get(n2, t[0].id, &got), 0);
	CHECK_INTEQ(got.status, TASK_RUNNING);
	task_done(&got);
	CHECK_INTEQ(test_pg_query(url, "SELECT count(*) FROM attempts WHERE status = 'running'"), 1);
	CHECK_INTEQ(test_pg_query(url, "SELECT count(*) FROM daughters WHERE last_heartbeat_at = 5"), 0);
	CHECK_INTEQ(test_pg_query(url, "SELECT count(*) FROM tasks WHERE claimed_by IS NULL AND status = 'completed'"), 1);

	/* n2's start gives back what is in its name; n1's own are not touched. */
	CHECK_INTEQ(store_release_own(n2), 0);
	CHECK_INTEQ(store_commit(n2), 0);
	CHECK_INTEQ(test_pg_query(url, "SELECT count(*) FROM tasks WHERE claimed_by IS NOT NULL"), 0);
out:
	store_free(c.s);
	store_free(n2);
	free(c.ids);
}

static int collect_ended(const char *task_id, TaskStatus status, void *userdata)
{
	Claimer *c = userdata;

	CHECK_INTEQ(status, TASK_CANCELLED);
	memcpy(c->ids[c->n++], task_id, ID_STRING_MAX);
	return 0;
}

/* A cancel on n2 of a task n1 runs: the row says cancelled, the claim stays
 * n1's, and n1 hears it (NOTIFY vx11_ctl with the commit, or its poll). */
static void test_cancel_across_nodes(void)
{
	Task t[2];
	Claimer c = {}, e = {};
	char url[256], node[64], msg[128], want[128];
	const char *ids[2];
	TaskStatus was;
	Store *n2 = NULL;
	struct pollfd pfd;

	if (!test_on_pg())
		SKIP("needs VX11_TEST_DATABASE (tests/unit/with-pg.sh)");
	new_db_path(url, sizeof url);
	c.s = open_node(url, "n1");
	n2 = open_node(url, "n2");
	c.ids = calloc(2, ID_STRING_MAX);
	e.ids = calloc(2, ID_STRING_MAX);
	if (!c.s || !n2 || !c.ids || !e.ids)
		goto out;
	pfd = (struct pollfd){ .fd = store_wake_fd(c.s), .events = POLLIN };
	CHECK(pfd.fd >= 0);
	insert_tasks(c.s, t, 2);
	CHECK_INTEQ(store_claim(c.s, types, 1, collect, &c), 1);
	CHECK_STREQ(c.ids[0], t[0].id); /* priority 0 first */
	t[0].status = TASK_RUNNING;
	CHECK_INTEQ(store_task_update(c.s, &t[0]), 0);
	CHECK_INTEQ(store_commit(c.s), 0);
	while (poll(&pfd, 1, 0) > 0 && store_wake_drain(c.s) > 0)
		; /* its own wake-ups, not the point */
	while (store_ctl_next(c.s, msg, sizeof msg) > 0)
		CHECK(false);

	CHECK_INTEQ(store_task_cancel(n2, t[0].id, 99, &was, node, sizeof node), 0);
	CHECK_INTEQ(was, TASK_RUNNING);
	CHECK_STREQ(node, "n1");
	/* Told with the commit, not before. */
	CHECK_INTEQ(poll(&pfd, 1, 200), 0);
	CHECK_INTEQ(store_commit(n2), 0);
	CHECK_INTEQ(poll(&pfd, 1, 5000), 1);
	CHECK(store_wake_drain(c.s) >= 1);
	CHECK_INTEQ(store_ctl_next(c.s, msg, sizeof msg), 1);
	snprintf(want, sizeof want, "cancel %s", t[0].id);
	CHECK_STREQ(msg, want);
	CHECK_INTEQ(store_ctl_next(c.s, msg, sizeof msg), 0);
	snprintf(want, sizeof want, "SELECT count(*) FROM tasks WHERE id = '%s' AND claimed_by = 'n1' AND status = 'cancelled'",
		 t[0].id);
	CHECK_INTEQ(test_pg_query(url, want), 1);
	/* The poll's view: of n1's tasks, which ended elsewhere. */
	ids[0] = t[0].id;
	ids[1] = t[1].id;
	CHECK_INTEQ(store_tasks_ended(c.s, ids, 2, collect_ended, &e), 1);
	CHECK_INTEQ(e.n, 1);
	CHECK_STREQ(e.ids[0], t[0].id);

	/* A pending task nobody claimed: cancelled, nobody told. */
	CHECK_INTEQ(store_task_cancel(n2, t[1].id, 99, &was, node, sizeof node), 0);
	CHECK_INTEQ(was, TASK_PENDING);
	CHECK_STREQ(node, "");
	CHECK_INTEQ(store_commit(n2), 0);
	(void)poll(&pfd, 1, 200);
	(void)store_wake_drain(c.s);
	CHECK_INTEQ(store_ctl_next(c.s, msg, sizeof msg), 0);
	/* Ended: a cancel changes nothing, here or there. */
	CHECK_INTEQ(store_task_cancel(c.s, t[1].id, 100, &was, node, sizeof node), -EALREADY);
	CHECK_INTEQ(was, TASK_CANCELLED);
	CHECK_INTEQ(store_commit(c.s), 0);
	CHECK_INTEQ(store_claim(c.s, types, 2, collect, &c), 0);
out:
	store_free(c.s);
	store_free(n2);
	free(c.ids);
	free(e.ids);
}

typedef struct KeyLocker {
	Store *s;
	int r;
	volatile bool got;
} KeyLocker;

static void *lock_key(void *userdata)
{
	KeyLocker *k = userdata;

	k->r = store_intent_key_lock(k->s, 1000, "k");
	k->got = true;
	return NULL;
}

/* Keyed submits on two nodes: the second's lookup waits for the first's
 * commit (the key held to the end of its transaction); another uid or key
 * does not wait. */
static void test_key_lock(void)
{
	KeyLocker k = {};
	char url[256];
	Store *n1 = NULL;
	pthread_t th;

	if (!test_on_pg())
		SKIP("needs VX11_TEST_DATABASE (tests/unit/with-pg.sh)");
	new_db_path(url, sizeof url);
	n1 = open_node(url, "n1");
	k.s = open_node(url, "n2");
	if (!n1 || !k.s)
		goto out;
	CHECK_INTEQ(store_intent_key_lock(n1, 1000, "k"), 0);
	CHECK_INTEQ(store_intent_key_lock(k.s, 1001, "k"), 0);
	CHECK_INTEQ(store_intent_key_lock(k.s, 1000, "other"), 0);
	CHECK_INTEQ(store_commit(k.s), 0);
	CHECK_INTEQ(pthread_create(&th, NULL, lock_key, &k), 0);
	usleep(300 * 1000);
	CHECK(!k.got); /* still waiting for n1 */
	CHECK_INTEQ(store_commit(n1), 0);
	CHECK_INTEQ(pthread_join(th, NULL), 0);
	CHECK(k.got);
	CHECK_INTEQ(k.r, 0);
	CHECK_INTEQ(store_commit(k.s), 0);
out:
	store_free(n1);
	store_free(k.s);
}

/* One daemon's own database: no claims. */
static void test_sqlite_is_no_fleet(void)
{
	char path[256];
	Store *s;

	if (test_on_pg())
		SKIP("SQLite only: the fleet's calls on a database one daemon has alone");
	s = open_new(path, sizeof path);
	if (!s)
		return;
	CHECK(!store_is_fleet(s));
	CHECK_INTEQ(store_claim(s, types, 1, collect, NULL), -EOPNOTSUPP);
	CHECK_INTEQ(store_release_own(s), 0);
	/* Nobody else to hear from or to wait for. */
	CHECK_INTEQ(store_intent_key_lock(s, 1000, "k"), 0);
	CHECK_INTEQ(store_ctl_send(s, "pauses"), 0);
	CHECK_INTEQ(store_ctl_next(s, (char[8]){}, 8), 0);
	CHECK_INTEQ(store_tasks_ended(s, (const char *[]){ "x" }, 1, NULL, NULL), 0);
	store_free(s);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %m\n");
		return EXIT_FAILURE;
	}

	TEST(test_sqlite_is_no_fleet);
	TEST(test_concurrent_claims_disjoint);
	TEST(test_claim_order_and_filters);
	TEST(test_fenced_writes);
	TEST(test_cancel_across_nodes);
	TEST(test_key_lock);

	remove_tmpdir();
	return tap_done();
}
