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
	/* Its own wake-ups, not the point: the running status's event
	 * (vx11_ev, schema step 12) comes after the commit, so waited for. */
	while (poll(&pfd, 1, 200) > 0 && store_wake_drain(c.s) > 0)
		;
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

typedef struct Adopter {
	Store *s;
	int k;
	char node[STORE_NODE_MAX];
	char (*ids)[ID_STRING_MAX];
	size_t n;
} Adopter;

static void *adopt_one(void *userdata)
{
	Adopter *a = userdata;

	a->k = store_node_adopt(a->s, a->node, &a->ids, &a->n);
	return NULL;
}

static int count_attempt(const Attempt *a, void *userdata)
{
	(*(int *)userdata)++;
	return 0;
}

static int count_node(const StoreNode *n, void *userdata)
{
	(*(int *)userdata)++;
	return 0;
}

/* Leases (FLEET-DESIGN.md 2.4, 2.5): a node whose lease ended is adopted
 * once, however many sweep at once; its running task is the adopter's under
 * a new claim, its claimed and not started one anyone's; the node, back,
 * learns it was swept from its renewal and its writes are fenced. */
static void test_lease_adoption(void)
{
	Task t[2];
	Daughter d;
	Attempt a;
	Claimer c = {};
	Adopter ad[2] = {};
	pthread_t th[2];
	StoreLease l = {};
	char url[256], sql[200];
	Store *n2 = NULL, *n3 = NULL;
	uint64_t depth = 0;
	int won = -1, n = 0;

	if (!test_on_pg())
		SKIP("needs VX11_TEST_DATABASE (tests/unit/with-pg.sh)");
	new_db_path(url, sizeof url);
	c.s = open_node(url, "n1");
	n2 = open_node(url, "n2");
	n3 = open_node(url, "n3");
	c.ids = calloc(2, ID_STRING_MAX);
	if (!c.s || !n2 || !n3 || !c.ids)
		goto out;
	/* n1's lease ends as it is taken (0 s); the others' in a minute. */
	CHECK_INTEQ(store_node_register(c.s, 0, 4, &l), 0);
	CHECK_INTEQ(l.incarnation, 1);
	CHECK(l.db_now > 0 && l.lease_until > 0);
	CHECK_INTEQ(store_node_register(n2, 60, 4, &l), 0);
	CHECK_INTEQ(store_node_register(n3, 60, 4, &l), 0);
	CHECK_INTEQ(store_node_renew(n3, 60, 0, 4, &l), 0);
	CHECK(l.lease_until > l.db_now + 59 * USEC_PER_SEC);

	insert_tasks(c.s, t, 2);
	CHECK_INTEQ(store_claim(c.s, types, 2, collect, &c), 2);
	make_daughter(&d, t[0].id, "running");
	make_attempt(&a, &d, 1);
	CHECK_INTEQ(store_daughter_insert(c.s, &d), 0);
	CHECK_INTEQ(store_attempt_insert(c.s, &a), 0);
	t[0].status = TASK_RUNNING;
	CHECK_INTEQ(store_task_update(c.s, &t[0]), 0);
	CHECK_INTEQ(store_commit(c.s), 0);

	/* Not inside a transaction: it commits on its own. */
	CHECK_INTEQ(store_pause_set(n2, "nothing", 1, 0), 0);
	CHECK_INTEQ(store_node_adopt(n2, ad[0].node, &ad[0].ids, &ad[0].n), -EAGAIN);
	CHECK_INTEQ(store_commit(n2), 0);

	ad[0].s = n2;
	ad[1].s = n3;
	for (int i = 0; i < 2; i++)
		CHECK_INTEQ(pthread_create(&th[i], NULL, adopt_one, &ad[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	/* Once: one adopter, n1, with its running task only. */
	CHECK_INTEQ(ad[0].k + ad[1].k, 1);
	for (int i = 0; i < 2; i++)
		if (ad[i].k == 1)
			won = i;
	if (won < 0)
		goto out;
	CHECK_STREQ(ad[won].node, "n1");
	CHECK_INTEQ(ad[won].n, 1);
	if (ad[won].n == 1)
		CHECK_STREQ(ad[won].ids[0], t[0].id);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM nodes WHERE name = 'n1' AND state = 'down' AND incarnation = 2"
		 " AND swept_by = 'n%d'", won + 2);
	CHECK_INTEQ(test_pg_query(url, sql), 1);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM tasks WHERE id = '%s' AND claimed_by = 'n%d' AND claim_seq = 2",
		 t[0].id, won + 2);
	CHECK_INTEQ(test_pg_query(url, sql), 1);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM tasks WHERE id = '%s' AND claimed_by IS NULL", t[1].id);
	CHECK_INTEQ(test_pg_query(url, sql), 1);
	/* Nobody left to adopt. */
	{
		char again[STORE_NODE_MAX] = "", (*none)[ID_STRING_MAX] = NULL;
		size_t n_none = 0;

		CHECK_INTEQ(store_node_adopt(ad[won].s, again, &none, &n_none), 0);
		free(none);
	}

	/* The adopter sees the attempt n1 left running; the other does not. */
	CHECK_INTEQ(store_attempt_list_adopted(ad[won].s, count_attempt, &n), 0);
	CHECK_INTEQ(n, 1);
	n = 0;
	CHECK_INTEQ(store_attempt_list_adopted(ad[1 - won].s, count_attempt, &n), 0);
	CHECK_INTEQ(n, 0);
	/* n1's own recovery would not settle it either: it is the adopter's. */
	n = 0;
	CHECK_INTEQ(store_attempt_list_running(c.s, count_attempt, &n), 0);
	CHECK_INTEQ(n, 0);

	/* n1 back: swept, its writes fenced; registered again it is up. */
	CHECK_INTEQ(store_node_renew(c.s, 60, 1, 4, &l), -ESTALE);
	CHECK(strstr(store_last_error(c.s), "adopted") != NULL);
	CHECK_INTEQ(store_daughter_heartbeat(c.s, d.id, 5), -ESTALE);
	(void)store_commit(c.s);
	CHECK_INTEQ(store_node_register(c.s, 60, 4, &l), 0);
	CHECK_INTEQ(l.incarnation, 3);
	CHECK_INTEQ(store_node_renew(c.s, 60, 0, 4, &l), 0);

	/* Status: three nodes, the claimable task counted. */
	n = 0;
	CHECK_INTEQ(store_fleet_nodes(n2, count_node, &n), 0);
	CHECK_INTEQ(n, 3);
	CHECK_INTEQ(store_fleet_queue_depth(n2, &depth), 0);
	CHECK_INTEQ(depth, 1);

	/* The adopter restarts: the task it holds running is its own again,
	 * under a new claim (its recovery's writes fenced). */
	store_free(ad[won].s);
	ad[won].s = open_node(url, won ? "n3" : "n2");
	if (won)
		n3 = ad[won].s;
	else
		n2 = ad[won].s;
	if (!ad[won].s)
		goto out;
	CHECK_INTEQ(store_node_register(ad[won].s, 60, 4, &l), 0);
	CHECK_INTEQ(l.incarnation, 2);
	snprintf(sql, sizeof sql, "SELECT claim_seq FROM tasks WHERE id = '%s'", t[0].id);
	CHECK_INTEQ(test_pg_query(url, sql), 3);

	/* A node that left is nobody's to adopt; one that leaves holding a
	 * running task (the adopter, t[0]) stays up, its lease ended, to be
	 * adopted at once. */
	{
		Store *idle = won ? n2 : n3, *holder = ad[won].s;
		const char *idle_name = won ? "n2" : "n3", *holder_name = won ? "n3" : "n2";

		CHECK_INTEQ(store_node_leave(idle), 0);
		CHECK_INTEQ(store_commit(idle), 0);
		snprintf(sql, sizeof sql, "SELECT count(*) FROM nodes WHERE name = '%s' AND state = 'left'", idle_name);
		CHECK_INTEQ(test_pg_query(url, sql), 1);
		CHECK_INTEQ(store_node_leave(holder), 0);
		CHECK_INTEQ(store_commit(holder), 0);
		snprintf(sql, sizeof sql,
			 "SELECT count(*) FROM nodes WHERE name = '%s' AND state = 'up' AND lease_until <= now()",
			 holder_name);
		CHECK_INTEQ(test_pg_query(url, sql), 1);
	}
out:
	for (int i = 0; i < 2; i++)
		free(ad[i].ids);
	store_free(c.s);
	store_free(n2);
	store_free(n3);
	free(c.ids);
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
	/* No leases either: nothing registered, nobody to adopt. */
	CHECK_INTEQ(store_node_register(s, 15, 4, &(StoreLease){}), 0);
	CHECK_INTEQ(store_node_renew(s, 15, 0, 4, &(StoreLease){}), 0);
	{
		char node[STORE_NODE_MAX], (*ids)[ID_STRING_MAX];
		size_t n;
		CHECK_INTEQ(store_node_adopt(s, node, &ids, &n), 0);
	}
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
	TEST(test_lease_adoption);

	remove_tmpdir();
	return tap_done();
}
