/* SPDX-License-Identifier: MIT */
/*
 * The SQLite backend's sync thread: the fdatasync() of the WAL that makes a
 * durable commit durable, taken off the caller's thread.
 *
 * Why this is safe. A durable commit is a COMMIT at synchronous=NORMAL: its
 * frames and their checksummed commit record are in the WAL file (in the page
 * cache) when COMMIT returns. An fdatasync() of that file begun afterwards
 * puts them on the disk, whatever was appended since. A checkpoint cannot
 * take them away first: at NORMAL, SQLite syncs the WAL before it copies
 * frames into the database and syncs the database after, and the WAL only
 * restarts from its beginning once every frame of it is in the synced
 * database. So "every ticket up to N was committed before the sync began"
 * means "every ticket up to N is on the disk" when it returns.
 *
 * The thread syncs its own descriptor of the WAL file, opened once: fsync
 * acts on the file, not on the descriptor, and SQLite keeps that file (it
 * truncates it, never unlinks it) while our connection is open. Requests
 * coalesce: one fdatasync() covers every ticket issued before it began.
 *
 * SQLite still syncs on the caller's thread once per WAL cycle: the first
 * commit after a checkpoint restarted the WAL syncs its new header.
 *
 * After a failed fdatasync() the kernel may have dropped the dirty pages, so
 * a later success says nothing about them: the tickets it covered are
 * reported failed, never retried into a success.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <sqlite3.h>

#include "store-sqlite-internal.h"

struct StoreSyncer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int wal_fd;
	int efd; /* readable when a sync ended: sqlite_sync_fd() */
	/* Under lock. */
	uint64_t issued; /* the last ticket handed out */
	uint64_t done;   /* every ticket <= done is on the disk */
	uint64_t failed; /* every ticket <= failed may not be */
	int error;       /* the errno of the last failure */
	bool stop;
};

static void *sync_thread(void *userdata)
{
	StoreSyncer *y = userdata;

	pthread_mutex_lock(&y->lock);
	for (;;) {
		while (!y->stop && y->issued == MAX(y->done, y->failed))
			pthread_cond_wait(&y->cond, &y->lock);
		if (y->issued == MAX(y->done, y->failed))
			break; /* stopping, and nothing left to sync */
		uint64_t target = y->issued;
		pthread_mutex_unlock(&y->lock);

		int r = fdatasync(y->wal_fd) < 0 ? -errno : 0;

		pthread_mutex_lock(&y->lock);
		if (r < 0) {
			y->failed = target;
			y->error = r;
		} else
			y->done = target;
		(void)eventfd_write(y->efd, 1);
	}
	pthread_mutex_unlock(&y->lock);
	return NULL;
}

static int syncer_start(Store *s)
{
	_cleanup_free_ StoreSyncer *y = NULL;
	const char *wal;
	int r;

	wal = sqlite3_filename_wal(sqlite3_db_filename(s->db, "main"));
	if (!wal || !*wal)
		return store_fail(s, -EINVAL, "sync thread: the database has no WAL file (in memory?)");
	y = calloc(1, sizeof(*y));
	if (!y)
		return store_fail(s, -ENOMEM, "sync thread: out of memory");
	y->wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
	if (y->wal_fd < 0)
		return store_fail(s, -errno, "sync thread: open %.300s: %s", wal, strerror(errno));
	y->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (y->efd < 0) {
		r = -errno;
		close(y->wal_fd);
		return store_fail(s, r, "sync thread: eventfd: %s", strerror(-r));
	}
	pthread_mutex_init(&y->lock, NULL);
	pthread_cond_init(&y->cond, NULL);
	r = pthread_create(&y->thread, NULL, sync_thread, y);
	if (r != 0) {
		pthread_mutex_destroy(&y->lock);
		pthread_cond_destroy(&y->cond);
		close(y->efd);
		close(y->wal_fd);
		return store_fail(s, -r, "sync thread: %s", strerror(r));
	}
	s->syncer = TAKE_PTR(y);
	return 0;
}

void store_syncer_free(StoreSyncer *y)
{
	if (!y)
		return;
	/* What was issued is still synced: a stop never leaves a commit that
	 * was promised to the disk unsynced. */
	pthread_mutex_lock(&y->lock);
	y->stop = true;
	pthread_cond_signal(&y->cond);
	pthread_mutex_unlock(&y->lock);
	pthread_join(y->thread, NULL);
	pthread_mutex_destroy(&y->lock);
	pthread_cond_destroy(&y->cond);
	close(y->efd);
	close(y->wal_fd);
	free(y);
}

int sqlite_commit_async(Store *s, uint64_t *ret_ticket)
{
	bool durable = sqlite_pending_is_durable(s);
	int r;

	*ret_ticket = 0;
	if (!durable || s->txn_lost)
		return sqlite_commit(s);
	if (!s->syncer) {
		r = syncer_start(s);
		if (r < 0)
			return sqlite_commit(s); /* the old way: sync here */
	}
	r = store_commit_nosync(s);
	if (r < 0)
		return r;
	pthread_mutex_lock(&s->syncer->lock);
	*ret_ticket = ++s->syncer->issued;
	pthread_cond_signal(&s->syncer->cond);
	pthread_mutex_unlock(&s->syncer->lock);
	return 0;
}

int sqlite_sync_fd(Store *s)
{
	if (!s->syncer) {
		int r = syncer_start(s);
		if (r < 0)
			return r;
	}
	return s->syncer->efd;
}

int sqlite_synced(Store *s, uint64_t *ret_done, uint64_t *ret_failed)
{
	StoreSyncer *y = s->syncer;
	eventfd_t v;
	int error;

	*ret_done = *ret_failed = 0;
	if (!y)
		return 0;
	(void)eventfd_read(y->efd, &v);
	pthread_mutex_lock(&y->lock);
	*ret_done = y->done;
	*ret_failed = y->failed;
	error = y->error;
	pthread_mutex_unlock(&y->lock);
	if (*ret_failed > 0)
		(void)store_fail(s, error, "sync WAL: %s", strerror(-error));
	return 0;
}
