/* SPDX-License-Identifier: MIT */
/*
 * The SQLite backend of the store: the connection, transactions and writes.
 * What is in the database, the SQL text and the mapping of records onto rows
 * are in store-sqlite-schema.c; the reads (gets, lists, counts, id prefixes)
 * in store-sqlite-query.c; no other file has SQL.
 *
 * One database file in WAL mode; every statement is prepared once at open
 * and bound by index. Schema migrations run at open, each step in its own
 * transaction, counted by PRAGMA user_version; a newer file is refused before
 * anything in it changes.
 *
 * Transactions: the first write after a commit runs BEGIN IMMEDIATE;
 * sqlite_commit() runs COMMIT. The connection stays at synchronous=NORMAL:
 * SQLite refuses to change the safety level inside a transaction ("Safety
 * level may not be changed inside a transaction"), and a transaction is often
 * open before anyone knows it must be durable. So a durable commit is COMMIT at
 * NORMAL followed by a sync of the WAL file, through the sqlite3_file that
 * SQLITE_FCNTL_JOURNAL_POINTER hands out. That is the one sync FULL would have
 * done at commit; the frames and their checksummed commit record reach the
 * disk before sqlite_commit() returns.
 *
 * If SQLite rolls the whole transaction back on an error (I/O, disk full),
 * every further write fails until sqlite_commit() reports -EIO, so a group of
 * writes is all or nothing.
 *
 * Errors: SQLITE_NOMEM -ENOMEM, BUSY/LOCKED -EBUSY, FULL -ENOSPC, duplicate
 * id -EEXIST, a reference to a missing task or daughter -ENOENT, a NOT NULL
 * violation -EINVAL, a value the code does not know (status, id too long)
 * -EBADMSG, else -EIO. The message is kept for sqlite_last_error().
 *
 * A Store is one connection and must be used by one thread at a time (it is
 * opened SQLITE_OPEN_NOMUTEX); the checkpoint thread opens its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>

#include "store-sqlite-internal.h"

static Store *sqlite_free(Store *s);

/* ---- Errors ---- */

static int errno_from_sqlite(sqlite3 *db, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN: {
		int e = db ? sqlite3_system_errno(db) : 0;
		return e > 0 ? -e : -EIO;
	}
	case SQLITE_CONSTRAINT:
		switch (rc) {
		case SQLITE_CONSTRAINT_UNIQUE:
		case SQLITE_CONSTRAINT_PRIMARYKEY:
			return -EEXIST;
		case SQLITE_CONSTRAINT_FOREIGNKEY:
			return -ENOENT;
		default:
			return -EINVAL;
		}
	default:
		return -EIO;
	}
}

/* Keep SQLite's words for sqlite_last_error() and turn its code into an errno.
 * Also notices when SQLite ended the open transaction on its own. */
int store_fail_sqlite(Store *s, int rc, const char *what)
{
	const char *msg = sqlite3_errmsg(s->db), *str = sqlite3_errstr(rc);

	if (strcmp(msg, str) == 0)
		snprintf(s->error, sizeof s->error, "%s: %s", what, msg);
	else
		snprintf(s->error, sizeof s->error, "%s: %s (%s)", what, msg, str);
	if (s->in_txn && sqlite3_get_autocommit(s->db)) {
		s->in_txn = false;
		s->txn_lost = true;
	}
	return errno_from_sqlite(s->db, rc);
}

int store_fail(Store *s, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->error, sizeof s->error, fmt, ap);
	va_end(ap);
	return r;
}

static const char *sqlite_last_error(const Store *s)
{
	return s->error;
}

int store_step_done(Store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st), r = 0;

	if (rc != SQLITE_DONE)
		r = store_fail_sqlite(s, rc, what);
	sqlite3_reset(st);
	return r;
}

int store_get_one(Store *s, sqlite3_stmt *st, const Table *t, void *ret, size_t size)
{
	AnyRecord rec = {};
	int rc, r;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = store_read_row(s, st, t, &rec, true);
	else if (rc == SQLITE_DONE)
		r = -ENOENT;
	else
		r = store_fail_sqlite(s, rc, t->name);
	sqlite3_reset(st);
	if (r < 0)
		return r;
	memcpy(ret, &rec, size);
	return 0;
}

int store_walk(Store *s, sqlite3_stmt *st, const Table *t, AnyCallback cb, void *userdata)
{
	int r;

	for (;;) {
		AnyRecord rec = {};
		int rc = sqlite3_step(st);

		if (rc == SQLITE_DONE) {
			r = 0;
			break;
		}
		if (rc != SQLITE_ROW) {
			r = store_fail_sqlite(s, rc, t->name);
			break;
		}
		r = store_read_row(s, st, t, &rec, false);
		if (r < 0)
			break;
		r = t->call(cb, &rec, userdata);
		if (r != 0)
			break;
	}
	sqlite3_reset(st);
	return r;
}

sqlite3_stmt *store_stmt_for_walk(Store *s, unsigned idx)
{
	sqlite3_stmt *st = s->stmt[idx];

	if (sqlite3_stmt_busy(st)) {
		store_fail(s, 0, "a list of this kind is already being walked");
		return NULL;
	}
	return st;
}


/* ---- Transactions ---- */

int store_begin_write(Store *s)
{
	int r;

	if (s->txn_lost)
		return store_fail(s, -EIO, "the transaction was rolled back after an error; commit first");
	if (s->in_txn)
		return 0;
	r = store_step_done(s, s->stmt[STMT_BEGIN], "begin");
	if (r < 0)
		return r;
	s->in_txn = true;
	return 0;
}

static int sync_wal(Store *s)
{
	sqlite3_file *f = NULL;
	int rc;

	rc = sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(s, rc, "find WAL file");
	if (!f || !f->pMethods)
		return store_fail(s, -EIO, "sync WAL: no WAL file is open");
	rc = f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
	if (rc != SQLITE_OK)
		return store_fail(s, -EIO, "sync WAL: %s", sqlite3_errstr(rc));
	return 0;
}

/* COMMIT, without the sync a durable transaction needs: the caller syncs
 * (sqlite_commit()) or hands the sync to the sync thread (store-sqlite-sync.c). */
int store_commit_nosync(Store *s)
{
	int r;

	if (s->txn_lost) {
		s->txn_lost = false;
		s->durable = false;
		return -EIO; /* s->error still says why */
	}
	if (!s->in_txn)
		return 0;

	r = store_step_done(s, s->stmt[STMT_COMMIT], "commit");
	if (r < 0) {
		if (!sqlite3_get_autocommit(s->db))
			(void)store_step_done(s, s->stmt[STMT_ROLLBACK], "rollback");
		s->in_txn = s->txn_lost = s->durable = false;
		return -EIO;
	}
	s->in_txn = false;
	s->stats.commits++;
	s->stats.durable_commits += s->durable;
	s->durable = false;
	return 0;
}

int sqlite_commit(Store *s)
{
	bool durable = sqlite_pending_is_durable(s);
	int r;

	r = store_commit_nosync(s);
	if (r < 0)
		return r;
	/* Committed but maybe not on disk: the caller must not report it. */
	if (durable && sync_wal(s) < 0)
		return -EIO;
	return 0;
}

static bool sqlite_has_pending(const Store *s)
{
	/* A transaction SQLite rolled back on its own still has to be
	 * reported by sqlite_commit(), so its replies are withdrawn. */
	return s->in_txn || s->txn_lost;
}

static void sqlite_want_durable(Store *s)
{
	s->durable = true;
}

bool sqlite_pending_is_durable(const Store *s)
{
	return s->txn_lost || (s->in_txn && s->durable);
}

static int sqlite_checkpoint(Store *s)
{
	int log = -1, done = -1, rc;

	rc = sqlite3_wal_checkpoint_v2(s->db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(s, rc, "checkpoint");
	s->wal_pages = log > done ? log - done : 0;
	return 0;
}

static int sqlite_wal_pages(const Store *s)
{
	return s->wal_pages;
}

static int wal_hook(void *userdata, sqlite3 *db, const char *name, int pages)
{
	Store *s = userdata;

	s->wal_pages = pages;
	return SQLITE_OK;
}

/* ---- Open, migrate, close ---- */

static int exec(Store *s, const char *sql, const char *what)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : store_fail_sqlite(s, rc, what);
}

/* The first column of the first row of a pragma, as an integer or text. */
static int pragma(Store *s, const char *sql, int64_t *ret_int, char *ret_text, size_t text_size)
{
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_fail_sqlite(s, rc, sql);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (ret_int)
			*ret_int = sqlite3_column_int64(st, 0);
		if (ret_text)
			snprintf(ret_text, text_size, "%s", (const char *)sqlite3_column_text(st, 0) ?: "");
	} else
		r = rc == SQLITE_DONE ? store_fail(s, -EIO, "%s: no result", sql) : store_fail_sqlite(s, rc, sql);
	sqlite3_finalize(st);
	return r;
}

static int check_version(Store *s, int64_t *ret)
{
	int64_t v;
	int r;

	r = pragma(s, "PRAGMA user_version", &v, NULL, 0);
	if (r < 0)
		return r;
	if (v < 0 || v > (int64_t)store_n_migrations)
		return store_fail(s, -EPROTONOSUPPORT, "database schema version %" PRId64 " is newer than this vx11d (%u)",
				  v, store_n_migrations);
	*ret = v;
	return 0;
}

static int migrate(Store *s)
{
	for (;;) {
		char sql[64];
		int64_t v;
		int r;

		r = check_version(s, &v);
		if (r < 0 || v == (int64_t)store_n_migrations)
			return r;
		r = exec(s, "BEGIN IMMEDIATE", "begin migration");
		if (r < 0)
			return r;
		/* Another connection may have migrated while we waited for the lock. */
		r = check_version(s, &v);
		if (r >= 0 && v < (int64_t)store_n_migrations) {
			snprintf(sql, sizeof sql, "PRAGMA user_version = %" PRId64, v + 1);
			r = exec(s, store_migrations[v], "migration");
			if (r >= 0)
				r = exec(s, sql, "migration");
			if (r >= 0)
				r = exec(s, "COMMIT", "commit migration");
		}
		if (r < 0) {
			if (!sqlite3_get_autocommit(s->db))
				(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			if (r != -EPROTONOSUPPORT)
				store_fail(s, r, "schema migration to version %" PRId64 " failed: %.400s", v + 1,
					   s->error);
			return r;
		}
	}
}

/*
 * The b-tree entries one execution of a write statement puts, read off the
 * program SQLite compiled for it (EXPLAIN): one per Insert (a table row) and
 * IdxInsert (an index entry; a rewritten one counts once). A partial index
 * counts as written whether or not the row falls in it this time. An Insert
 * flagged as a no-op (p5 OPFLAG_ISNOOP, 0x40: what a WITHOUT ROWID table
 * emits only to call the pre-update hook; its row is the IdxInsert beside
 * it) writes nothing. So the count follows the schema and the statements,
 * not the machine's speed.
 */
static unsigned btree_ops(Store *s, const char *sql)
{
	_cleanup_free_ char *explain = NULL;
	sqlite3_stmt *st = NULL;
	unsigned n = 0;

	if (asprintf(&explain, "EXPLAIN %s", sql) < 0 ||
	    sqlite3_prepare_v2(s->db, explain, -1, &st, NULL) != SQLITE_OK)
		return 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *op = (const char *)sqlite3_column_text(st, 1);
		bool noop = sqlite3_column_int(st, 6) & 0x40;
		if (op && ((strcmp(op, "Insert") == 0 && !noop) || strcmp(op, "IdxInsert") == 0))
			n++;
	}
	sqlite3_finalize(st);
	return MIN(n, 255u);
}

static int prepare_all(Store *s)
{
	for (unsigned i = 0; i < _STMT_MAX; i++) {
		_cleanup_free_ char *sql = store_statement_sql(i);
		int rc;

		if (!sql)
			return store_fail(s, -ENOMEM, "out of memory");
		rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL);
		if (rc != SQLITE_OK)
			return store_fail_sqlite(s, rc, "prepare");
		if (!sqlite3_stmt_readonly(s->stmt[i]))
			s->btree_ops[i] = (uint8_t)btree_ops(s, sql);
	}
	return 0;
}

void store_count_write(Store *s, unsigned idx)
{
	s->stats.rows_written++;
	s->stats.btree_writes += s->btree_ops[idx];
}

static void sqlite_stats(const Store *s, StoreStats *ret)
{
	*ret = s->stats;
}

/* SQLite's allocation statistics take a global mutex on every malloc; we
 * never read them. This must run before SQLite initializes, and only once. */
static void sqlite_global_setup(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int store_sqlite_open(const char *path, Store **ret)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	char what[320], mode[16];
	int64_t v, fk;
	Store *s;
	int rc, r;

	(void)pthread_once(&once, sqlite_global_setup);
	s = calloc(1, sizeof *s);
	if (!s) {
		store_set_open_error("out of memory");
		return -ENOMEM;
	}
	s->head.ops = &store_sqlite_ops;

	/* The daemon's alone, whatever the umask: SQLite would create the file
	 * 0644 less the umask, and gives the WAL and shm files the database
	 * file's mode, so the file is made (or narrowed) 0600 first. */
	if (strcmp(path, ":memory:") != 0) {
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0 || fchmod(fd, 0600) < 0) {
			r = -errno;
			if (fd >= 0)
				close(fd);
			store_set_open_error("%.300s: %s", path, strerror(-r));
			free(s);
			return r;
		}
		close(fd);
		/* WAL and shm files an unclean stop left keep their mode: narrow them too. */
		for (const char *suffix = "-wal"; suffix; suffix = streq(suffix, "-wal") ? "-shm" : NULL) {
			char side[PATH_MAX];
			if ((size_t)snprintf(side, sizeof side, "%s%s", path, suffix) < sizeof side)
				(void)chmod(side, 0600);
		}
	}
	rc = sqlite3_open_v2(path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
				     SQLITE_OPEN_EXRESCODE,
			     NULL);
	if (rc != SQLITE_OK) {
		snprintf(what, sizeof what, "open %.300s", path);
		r = store_fail_sqlite(s, rc, what);
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);

	/* Refuse a newer schema before changing anything in the file. */
	r = check_version(s, &v);
	if (r < 0)
		goto fail;

	/* Switching a new file to WAL needs an exclusive lock, and SQLite skips
	 * the busy handler when two connections race for it: retry ourselves. */
	for (unsigned i = 0;; i++) {
		r = pragma(s, "PRAGMA journal_mode = WAL", NULL, mode, sizeof mode);
		if (r != -EBUSY || i >= 500)
			break;
		(void)usleep(10 * USEC_PER_MSEC);
	}
	if (r < 0)
		goto fail;
	if (strcmp(mode, "wal") != 0) {
		r = store_fail(s, -EOPNOTSUPP, "journal_mode is '%s', WAL is not available", mode);
		goto fail;
	}
	/* We checkpoint ourselves (sqlite_checkpoint()), off the commit path;
	 * a bigger page cache keeps the right edges of the indexes in memory. */
	r = exec(s,
		 "PRAGMA synchronous = NORMAL;"
		 "PRAGMA foreign_keys = ON;"
		 "PRAGMA wal_autocheckpoint = 0;"
		 "PRAGMA cache_size = -16384;"
		 "PRAGMA temp_store = MEMORY;"
		 "PRAGMA journal_size_limit = 67108864;",
		 "set pragmas");
	if (r < 0)
		goto fail;
	r = pragma(s, "PRAGMA foreign_keys", &fk, NULL, 0);
	if (r < 0)
		goto fail;
	if (fk != 1) {
		r = store_fail(s, -EOPNOTSUPP, "this SQLite does not enforce foreign keys");
		goto fail;
	}

	r = migrate(s);
	if (r < 0)
		goto fail;
	r = prepare_all(s);
	if (r < 0)
		goto fail;
	sqlite3_wal_hook(s->db, wal_hook, s);

	*ret = s;
	return 0;
fail:
	store_set_open_error("%s", s->error);
	sqlite_free(s);
	return r;
}

static Store *sqlite_free(Store *s)
{
	if (!s)
		return NULL;
	/* Before the connection goes: SQLite may remove the WAL at close. */
	store_syncer_free(s->syncer);
	for (unsigned i = 0; i < _STMT_MAX; i++)
		sqlite3_finalize(s->stmt[i]);
	/* An open transaction is rolled back: uncommitted means never told. */
	sqlite3_close(s->db);
	free(s);
	return NULL;
}

/* ---- Writes ---- */

static int insert_row(Store *s, unsigned idx, const Table *t, const void *rec)
{
	sqlite3_stmt *st = s->stmt[idx];
	int r;

	r = store_begin_write(s);
	if (r < 0)
		return r;
	r = store_bind_row(s, st, t, rec, 0);
	if (r < 0)
		return r;
	r = store_step_done(s, st, t->name);
	if (r >= 0)
		store_count_write(s, idx);
	return r;
}

static int update_row(Store *s, unsigned idx, const Table *t, const void *rec)
{
	sqlite3_stmt *st = s->stmt[idx];
	int r;

	r = store_begin_write(s);
	if (r < 0)
		return r;
	r = store_bind_row(s, st, t, rec, COL_MUTABLE | COL_KEY);
	if (r < 0)
		return r;
	r = store_step_done(s, st, t->name);
	if (r < 0)
		return r;
	if (sqlite3_changes(s->db) == 0)
		return store_fail(s, -ENOENT, "%s: no such id", t->name);
	store_count_write(s, idx);
	return 0;
}

static int sqlite_intent_insert(Store *s, const IntentRecord *r)
{
	return insert_row(s, STMT_INTENT_INSERT, &store_table_intents, r);
}

static int sqlite_intent_update(Store *s, const IntentRecord *r)
{
	return update_row(s, STMT_INTENT_UPDATE, &store_table_intents, r);
}

static int sqlite_intent_set_result(Store *s, const char *correlation_id, const char *result_status)
{
	sqlite3_stmt *st = s->stmt[STMT_INTENT_SET_RESULT];
	int r;

	r = store_begin_write(s);
	if (r < 0)
		return r;
	r = store_bind_text(st, 1, correlation_id);
	if (r == SQLITE_OK)
		r = store_bind_text(st, 2, result_status);
	if (r != SQLITE_OK)
		return store_fail_sqlite(s, r, "bind");
	r = store_step_done(s, st, "intents_log");
	if (r >= 0 && sqlite3_changes(s->db) > 0)
		store_count_write(s, STMT_INTENT_SET_RESULT);
	return r;
}

static int sqlite_task_insert(Store *s, Task *t)
{
	int r;

	r = insert_row(s, STMT_TASK_INSERT, &store_table_tasks, t);
	if (r < 0)
		return r;
	t->seq = (uint64_t)sqlite3_last_insert_rowid(s->db);
	return 0;
}

static int sqlite_task_update(Store *s, const Task *t)
{
	return update_row(s, STMT_TASK_UPDATE, &store_table_tasks, t);
}

static int sqlite_daughter_insert(Store *s, const Daughter *d)
{
	return insert_row(s, STMT_DAUGHTER_INSERT, &store_table_daughters, d);
}

static int sqlite_daughter_update(Store *s, const Daughter *d)
{
	return update_row(s, STMT_DAUGHTER_UPDATE, &store_table_daughters, d);
}

static int sqlite_daughter_heartbeat(Store *s, const char *daughter_id, uint64_t at)
{
	sqlite3_stmt *st = s->stmt[STMT_DAUGHTER_HEARTBEAT];
	int r;

	r = store_begin_write(s);
	if (r < 0)
		return r;
	if (store_bind_text(st, 1, daughter_id) != SQLITE_OK || sqlite3_bind_int64(st, 2, (sqlite3_int64)at) != SQLITE_OK)
		return store_fail_sqlite(s, sqlite3_errcode(s->db), "bind heartbeat");
	r = store_step_done(s, st, "daughters");
	if (r < 0)
		return r;
	if (sqlite3_changes(s->db) == 0)
		return store_fail(s, -ENOENT, "daughters: no such id");
	store_count_write(s, STMT_DAUGHTER_HEARTBEAT);
	return 0;
}

static int sqlite_attempt_insert(Store *s, const Attempt *a)
{
	return insert_row(s, STMT_ATTEMPT_INSERT, &store_table_attempts, a);
}

static int sqlite_attempt_update(Store *s, const Attempt *a)
{
	return update_row(s, STMT_ATTEMPT_UPDATE, &store_table_attempts, a);
}

const StoreOps store_sqlite_ops = {
	.name = "sqlite",
	.free = sqlite_free,
	.last_error = sqlite_last_error,
	.commit = sqlite_commit,
	.has_pending = sqlite_has_pending,
	.commit_async = sqlite_commit_async,
	.sync_fd = sqlite_sync_fd,
	.synced = sqlite_synced,
	.want_durable = sqlite_want_durable,
	.pending_is_durable = sqlite_pending_is_durable,
	.stats = sqlite_stats,
	.checkpoint = sqlite_checkpoint,
	.wal_pages = sqlite_wal_pages,
	.intent_insert = sqlite_intent_insert,
	.intent_get = sqlite_intent_get,
	.intent_update = sqlite_intent_update,
	.intent_set_result = sqlite_intent_set_result,
	.intent_find_idempotent = sqlite_intent_find_idempotent,
	.intent_list = sqlite_intent_list,
	.intent_count = sqlite_intent_count,
	.id_prefix_find = sqlite_id_prefix_find,
	.task_insert = sqlite_task_insert,
	.task_get = sqlite_task_get,
	.task_update = sqlite_task_update,
	.task_list = sqlite_task_list,
	.task_count = sqlite_task_count,
	.task_count_by_status = sqlite_task_count_by_status,
	.task_count_by_type = sqlite_task_count_by_type,
	.task_first_start = sqlite_task_first_start,
	.daughter_insert = sqlite_daughter_insert,
	.daughter_update = sqlite_daughter_update,
	.daughter_heartbeat = sqlite_daughter_heartbeat,
	.daughter_list = sqlite_daughter_list,
	.attempt_insert = sqlite_attempt_insert,
	.attempt_update = sqlite_attempt_update,
	.attempt_list = sqlite_attempt_list,
	.attempt_list_task = sqlite_attempt_list_task,
	.attempt_list_running = sqlite_attempt_list_running,
	.pause_set = sqlite_pause_set,
	.pause_clear = sqlite_pause_clear,
	.pause_list = sqlite_pause_list,
	.dep_insert = sqlite_dep_insert,
	.dep_list = sqlite_dep_list,
	.dep_dependents = sqlite_dep_dependents,
	.prune_candidates = sqlite_prune_candidates,
	.task_delete = sqlite_task_delete,
	.intent_prune = sqlite_intent_prune,
	.task_cancel = sqlite_task_cancel,
};
