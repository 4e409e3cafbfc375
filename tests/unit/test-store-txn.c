/* SPDX-License-Identifier: MIT */
/*
 * The store, part 3: transactions. What is not committed is lost, reads see
 * the open transaction and other connections do not, a durable commit syncs
 * (and only that one; with store_commit_async() on the store's sync thread,
 * which reports a failed sync as such), a failed commit or write gives up the whole group and
 * the store carries on, and another connection checkpoints the WAL. On real
 * database files in a temporary directory. Part 1 is test-store.c, part 2
 * test-store-list.c; what they share is store-core-test.h.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "store-core-test.h"

/* Sync system calls made by this process (SQLite included), counted on
 * their way to the kernel: a durable commit must make one, others none. */
static unsigned sync_calls;
/* The store's sync thread counts too, and may be made to fail or be slow. */
static unsigned sync_calls_off_main;
static bool sync_fail;
static unsigned sync_delay_ms;
static pid_t main_tid;
int fdatasync(int fd)
{
	__atomic_add_fetch(&sync_calls, 1, __ATOMIC_SEQ_CST);
	if (main_tid && gettid() != main_tid)
		__atomic_add_fetch(&sync_calls_off_main, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&sync_delay_ms, __ATOMIC_SEQ_CST))
		usleep(__atomic_load_n(&sync_delay_ms, __ATOMIC_SEQ_CST) * 1000U);
	if (__atomic_load_n(&sync_fail, __ATOMIC_SEQ_CST)) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fdatasync, fd);
}
int fsync(int fd)
{
	__atomic_add_fetch(&sync_calls, 1, __ATOMIC_SEQ_CST);
	return (int)syscall(SYS_fsync, fd);
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

	CHECK_INTEQ(test_open(path, &s), 0);
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
	CHECK_INTEQ(test_open(path, &other), 0);
	CHECK_INTEQ(store_task_get(other, t.id, &got), -ENOENT);
	CHECK_INTEQ(store_commit(s), 0);
	CHECK_INTEQ(store_task_get(other, t.id, &got), 0);
	task_done(&got);
	store_free(other);
	store_free(s);
}

static void test_durable_commit_syncs(void)
{
	SKIP_ON_PG("SQLite syncs its WAL itself; PostgreSQL's COMMIT waits for the server's flush");
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

/* Wait (up to 10 s) until the sync descriptor says syncs up to ticket ended. */
static void wait_synced(Store *s, uint64_t ticket, uint64_t *done, uint64_t *failed)
{
	struct pollfd p = {.fd = store_sync_fd(s), .events = POLLIN};

	*done = *failed = 0;
	for (int i = 0; i < 100 && *done < ticket && *failed < ticket; i++) {
		(void)poll(&p, 1, 100);
		CHECK_INTEQ(store_synced(s, done, failed), 0);
	}
}

static void test_async_commit_syncs_off_thread(void)
{
	SKIP_ON_PG("the sync thread is SQLite's; PostgreSQL's blocking backend gives ticket 0");
	char path[256];
	Store *s = open_new(path, sizeof path), *other = NULL;
	uint64_t ticket = 99, t2, t3, done, failed;
	unsigned before;
	Task t, got = {};

	if (!s)
		return;
	main_tid = gettid();
	CHECK(store_sync_fd(s) >= 0);

	/* Not durable: nothing to wait for, no sync anywhere. */
	before = sync_calls;
	make_task(&t, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	CHECK_INTEQ(store_commit_async(s, &ticket), 0);
	CHECK_INTEQ(ticket, 0);
	CHECK_INTEQ(sync_calls - before, 0);

	/* Durable: committed (another connection sees it) at once, synced by
	 * the store's thread, reported through the descriptor. */
	before = sync_calls_off_main;
	make_task(&t, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	store_want_durable(s);
	CHECK_INTEQ(store_commit_async(s, &ticket), 0);
	CHECK_INTEQ(ticket, 1);
	CHECK(!store_has_pending(s));
	CHECK_INTEQ(test_open(path, &other), 0);
	CHECK_INTEQ(store_task_get(other, t.id, &got), 0);
	task_done(&got);
	store_free(other);
	wait_synced(s, ticket, &done, &failed);
	CHECK(done >= 1);
	CHECK_INTEQ(failed, 0);
	CHECK(sync_calls_off_main - before >= 1);

	/* Tickets increase; later ones end after earlier ones. */
	store_want_durable(s);
	make_task(&t, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	CHECK_INTEQ(store_commit_async(s, &t2), 0);
	store_want_durable(s);
	make_task(&t, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	CHECK_INTEQ(store_commit_async(s, &t3), 0);
	CHECK_INTEQ(t2, 2);
	CHECK_INTEQ(t3, 3);
	wait_synced(s, t3, &done, &failed);
	CHECK_INTEQ(done, 3);
	CHECK_INTEQ(failed, 0);
	main_tid = 0;
	store_free(s);
}

static void test_async_sync_failure_is_reported(void)
{
	SKIP_ON_PG("the sync thread is SQLite's; PostgreSQL's blocking backend gives ticket 0");
	char path[256];
	Store *s = open_new(path, sizeof path);
	uint64_t ticket, done, failed;
	Task t;

	if (!s)
		return;
	make_task(&t, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	store_want_durable(s);
	__atomic_store_n(&sync_fail, true, __ATOMIC_SEQ_CST);
	CHECK_INTEQ(store_commit_async(s, &ticket), 0);
	CHECK(ticket > 0);
	wait_synced(s, ticket, &done, &failed);
	__atomic_store_n(&sync_fail, false, __ATOMIC_SEQ_CST);
	CHECK(failed >= ticket);
	CHECK(done < ticket);
	CHECK(strstr(store_last_error(s), "sync WAL") != NULL);

	/* A later sync that works does not turn the failed ticket into a success. */
	make_task(&t, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	store_want_durable(s);
	CHECK_INTEQ(store_commit_async(s, &ticket), 0);
	wait_synced(s, ticket, &done, &failed);
	CHECK_INTEQ(done, ticket);
	CHECK_INTEQ(failed, ticket - 1);
	store_free(s);
}

static void test_async_free_waits_for_sync(void)
{
	SKIP_ON_PG("the sync thread is SQLite's; PostgreSQL's blocking backend gives ticket 0");
	char path[256];
	Store *s = open_new(path, sizeof path);
	uint64_t ticket;
	unsigned before;
	Task t;

	if (!s)
		return;
	make_task(&t, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	store_want_durable(s);
	__atomic_store_n(&sync_delay_ms, 300, __ATOMIC_SEQ_CST);
	before = sync_calls;
	CHECK_INTEQ(store_commit_async(s, &ticket), 0);
	CHECK(ticket > 0);
	/* Freed while the sync sleeps: it still happens, before free returns. */
	store_free(s);
	__atomic_store_n(&sync_delay_ms, 0, __ATOMIC_SEQ_CST);
	CHECK(sync_calls - before >= 1);
}

static void test_async_without_sync_thread_syncs_inline(void)
{
	SKIP_ON_PG("the sync thread is SQLite's; PostgreSQL's blocking backend gives ticket 0");
	char path[256], wal[300], away[310];
	Store *s = open_new(path, sizeof path);
	uint64_t ticket = 99;
	unsigned before;
	Task t;

	if (!s)
		return;
	/* The sync thread cannot open the WAL (it is not where it should be):
	 * durable commits then sync on the caller's thread, as they used to. */
	snprintf(wal, sizeof wal, "%s-wal", path);
	snprintf(away, sizeof away, "%s-wal.away", path);
	CHECK_INTEQ(rename(wal, away), 0);
	CHECK(store_sync_fd(s) < 0);
	CHECK(strstr(store_last_error(s), "sync thread") != NULL);
	before = sync_calls;
	make_task(&t, TASK_PENDING, 1, "operator");
	CHECK_INTEQ(store_task_insert(s, &t), 0);
	store_want_durable(s);
	CHECK_INTEQ(store_commit_async(s, &ticket), 0);
	CHECK_INTEQ(ticket, 0);
	CHECK(sync_calls - before >= 1);
	CHECK(!store_has_pending(s));
	CHECK_INTEQ(rename(away, wal), 0);
	store_free(s);
}

static void test_failed_commit_rolls_back(void)
{
	SKIP_ON_PG("it breaks the WAL file; test-store-pg loses the connection instead");
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
	CHECK_INTEQ(test_open(path, &s), 0);
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
	SKIP_ON_PG("it caps the WAL file's size; test-store-pg loses the connection instead");
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
	SKIP_ON_PG("WAL checkpoints are SQLite's");
	char path[256];
	Store *s = open_new(path, sizeof path), *ckpt = NULL;
	Task t;

	if (!s)
		return;
	CHECK_INTEQ(test_open(path, &ckpt), 0);
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

	TEST(test_uncommitted_is_lost);
	TEST(test_reads_see_open_transaction);
	TEST(test_durable_commit_syncs);
	TEST(test_async_commit_syncs_off_thread);
	TEST(test_async_sync_failure_is_reported);
	TEST(test_async_free_waits_for_sync);
	TEST(test_async_without_sync_thread_syncs_inline);
	TEST(test_failed_commit_rolls_back);
	TEST(test_failed_write_fails_group);
	TEST(test_checkpoint_from_second_store);

	remove_tmpdir();
	return tap_done();
}
