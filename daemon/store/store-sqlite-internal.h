/* SPDX-License-Identifier: MIT */
/*
 * Shared by the parts of the SQLite store: store-sqlite-schema.c says what is
 * in the database and which SQL reads and writes it; store-sqlite.c runs it
 * (connection, transactions, writes, errors); store-sqlite-query.c reads;
 * store-sqlite-hold.c keeps what holds a task back (pauses, dependencies).
 */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "store-ops.h"
#include "store.h"

/* The table store.c dispatches through, and the open that fills it in
 * (store_open() and store_open_url() for "sqlite:PATH" or a path). */
extern const StoreOps store_sqlite_ops;
int store_sqlite_open(const char *path, Store **ret);

/* Each record type is described by a table of columns. Statements are
 * generated from it, and a row is bound (parameter ?N+1) and read (result
 * column N) by the position N of each column in it. */
typedef enum ColumnType {
	COL_ID,     /* char[ID_STRING_MAX] */
	COL_STR,    /* char *, NULL allowed unless the schema says otherwise */
	COL_INT,    /* int */
	COL_BOOL,   /* bool */
	COL_U32,    /* uid_t, gid_t */
	COL_I64,    /* int64_t */
	COL_U64,    /* uint64_t, stored as the int64_t with the same bits */
	COL_STATUS, /* TaskStatus, stored as its name */
} ColumnType;

enum {
	COL_KEY = 1 << 0,     /* the id (and what finds it): WHERE of the UPDATE */
	COL_MUTABLE = 1 << 1, /* written by the UPDATE */
	COL_ROWID = 1 << 2,   /* assigned by SQLite, not inserted */
};

typedef struct Column {
	const char *name;
	ColumnType type;
	size_t offset;
	unsigned flags;
	const char *select; /* read as this expression; NULL: the column as stored */
} Column;

typedef union AnyRecord {
	IntentRecord intent;
	Task task;
	Daughter daughter;
	Attempt attempt;
} AnyRecord;

typedef union AnyCallback {
	store_intent_cb intent;
	store_task_cb task;
	store_daughter_cb daughter;
	store_attempt_cb attempt;
} AnyCallback;

typedef struct Table {
	const char *name;
	const Column *columns;
	unsigned n_columns;
	/* Hand a record to the list callback of its type. */
	int (*call)(AnyCallback cb, const AnyRecord *r, void *userdata);
} Table;

extern const Table store_table_intents, store_table_tasks, store_table_daughters, store_table_attempts;

enum {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_INTENT_INSERT,
	STMT_INTENT_GET,
	STMT_INTENT_IDEMPOTENT,
	STMT_INTENT_LIST,
	STMT_INTENT_LIST_DESC,
	STMT_INTENT_COUNT,
	STMT_INTENT_UPDATE,
	STMT_INTENT_SET_RESULT,
	STMT_TASK_INSERT,
	STMT_TASK_GET,
	STMT_TASK_UPDATE,
	STMT_TASK_LIST,
	STMT_TASK_LIST_DESC,
	STMT_TASK_COUNT,
	STMT_TASK_COUNT_TYPE,
	/* Each count is followed by its form for one owner. */
	STMT_TASK_TOTAL,
	STMT_TASK_TOTAL_UID,
	STMT_TASK_TOTAL_STATUS,
	STMT_TASK_TOTAL_STATUS_UID,
	STMT_TASK_FIRST_START,
	STMT_ID_PREFIX,
	/* One per status, so that their cursors can be merged in id order;
	 * each block _TASK_STATUS_MAX long. */
	STMT_TASK_LIST_STATUS,
	STMT_TASK_LIST_UID = STMT_TASK_LIST_STATUS + _TASK_STATUS_MAX,
	STMT_TASK_LIST_STATUS_DESC = STMT_TASK_LIST_UID + _TASK_STATUS_MAX,
	STMT_TASK_LIST_UID_DESC = STMT_TASK_LIST_STATUS_DESC + _TASK_STATUS_MAX,
	STMT_DAUGHTER_INSERT = STMT_TASK_LIST_UID_DESC + _TASK_STATUS_MAX,
	STMT_DAUGHTER_UPDATE,
	STMT_DAUGHTER_HEARTBEAT,
	STMT_DAUGHTER_LIST,
	STMT_DAUGHTER_LIST_TASK,
	STMT_DAUGHTER_LIST_STATUS,
	STMT_DAUGHTER_LIST_OWNER,
	STMT_ATTEMPT_INSERT,
	STMT_ATTEMPT_UPDATE,
	STMT_ATTEMPT_LIST,
	STMT_ATTEMPT_LIST_TASK,
	STMT_ATTEMPT_LIST_RUNNING,
	STMT_PAUSE_SET,
	STMT_PAUSE_CLEAR,
	STMT_PAUSE_LIST,
	STMT_DEP_INSERT,
	STMT_DEP_LIST,
	STMT_DEP_DEPENDENTS,
	STMT_PRUNE_TASKS_AGE,
	STMT_PRUNE_TASKS_COUNT,
	STMT_TASK_DELETE_ATTEMPTS,
	STMT_TASK_DELETE_DAUGHTERS,
	STMT_TASK_DELETE_DEPS,
	STMT_TASK_DELETE_KEEP_RESULT,
	STMT_TASK_DELETE,
	STMT_PRUNE_INTENTS_AGE,
	STMT_PRUNE_INTENTS_COUNT,
	STMT_TASK_CANCEL,
	_STMT_MAX,
};

typedef struct StoreSyncer StoreSyncer;
/* Stops the sync thread once what was issued is synced. Accepts NULL. */
void store_syncer_free(StoreSyncer *y);
int store_commit_nosync(Store *s);

/* One connection and its prepared statements. */
struct Store {
	StoreHead head; /* first: store.c finds store_sqlite_ops through it */
	sqlite3 *db;
	sqlite3_stmt *stmt[_STMT_MAX];
	bool in_txn;   /* BEGIN ran and COMMIT has not */
	bool txn_lost; /* SQLite rolled the open transaction back by itself */
	bool durable;  /* the open or next commit must reach the disk */
	int wal_pages; /* from the WAL hook after each commit, or our checkpoint */
	StoreSyncer *syncer; /* started by the first sqlite_commit_async() or sqlite_sync_fd() */
	uint8_t btree_ops[_STMT_MAX]; /* b-tree entries one execution writes (store_count_write) */
	StoreStats stats;
	char error[512];
};

/* The SQL of statement i, malloc()ed; NULL when out of memory. */
char *store_statement_sql(unsigned i);

/* Applied in order, each in its own transaction; user_version counts them. */
extern const char *const store_migrations[];
extern const unsigned store_n_migrations;

/* Record the failure for sqlite_last_error() and return its errno: from an
 * SQLite result code, or r with a message of our own. */
int store_fail_sqlite(Store *s, int rc, const char *what);
_printf_(3, 4) int store_fail(Store *s, int r, const char *fmt, ...);

/* Bind the columns that have any of flags (all but the rowid if 0) to their
 * parameters. Strings are not copied: run and reset the statement before the
 * record changes. */
int store_bind_row(Store *s, sqlite3_stmt *st, const Table *t, const void *rec, unsigned flags);
/* Fill rec from the current row. copy: strings are strdup()ed and the caller
 * owns them; else they point into the statement until its next step. */
int store_read_row(Store *s, sqlite3_stmt *st, const Table *t, void *rec, bool copy);
/* Open the write transaction, if none is (store-sqlite.c). */
int store_begin_write(Store *s);
/* NULL binds NULL. */
int store_bind_text(sqlite3_stmt *st, int i, const char *v);

/* Statement idx wrote a row (count it in the stats). */
void store_count_write(Store *s, unsigned idx);
/* Run a statement that returns no rows. */
int store_step_done(Store *s, sqlite3_stmt *st, const char *what);
/* Fetch at most one row into *ret (owned); -ENOENT when there is none. */
int store_get_one(Store *s, sqlite3_stmt *st, const Table *t, void *ret, size_t size);
/* Hand each row to cb, borrowed. A callback may write to the store but must
 * not start a walk of the same kind again (-EBUSY). */
int store_walk(Store *s, sqlite3_stmt *st, const Table *t, AnyCallback cb, void *userdata);
/* Statement idx, unless a walk is already using it (NULL, the error set). */
sqlite3_stmt *store_stmt_for_walk(Store *s, unsigned idx);

/*
 * The entries of store_sqlite_ops that live outside store-sqlite.c, and the
 * two of store-sqlite.c that store-sqlite-sync.c calls. Each is the store_*()
 * of store.h with the same name, for a Store that store_sqlite_open() made.
 */
int sqlite_commit(Store *s);
bool sqlite_pending_is_durable(const Store *s);
/* store-sqlite-sync.c */
int sqlite_commit_async(Store *s, uint64_t *ret_ticket);
int sqlite_sync_fd(Store *s);
int sqlite_synced(Store *s, uint64_t *ret_done, uint64_t *ret_failed);
/* store-sqlite-query.c */
int sqlite_intent_get(Store *s, const char *correlation_id, IntentRecord *ret);
int sqlite_intent_find_idempotent(Store *s, uid_t uid, const char *key, IntentRecord *ret);
int sqlite_intent_list(Store *s, const IntentFilter *f, store_intent_cb cb, void *userdata);
int sqlite_intent_count(Store *s, uint64_t *ret);
int sqlite_id_prefix_find(Store *s, const char *prefix, uid_t uid, IdMatch *ret, size_t max, size_t *ret_n);
int sqlite_task_get(Store *s, const char *id, Task *ret);
int sqlite_task_list(Store *s, const TaskFilter *f, store_task_cb cb, void *userdata);
int sqlite_task_count(Store *s, const TaskFilter *f, uint64_t *ret);
int sqlite_task_count_by_status(Store *s, uint64_t counts[_TASK_STATUS_MAX]);
int sqlite_task_count_by_type(Store *s, store_type_count_cb cb, void *userdata);
int sqlite_task_first_start(Store *s, const char *task_id, uint64_t *ret);
int sqlite_daughter_list(Store *s, const char *task_id, const char *status, uid_t owner, unsigned limit,
			 store_daughter_cb cb, void *userdata);
int sqlite_attempt_list(Store *s, const char *daughter_id, store_attempt_cb cb, void *userdata);
int sqlite_attempt_list_task(Store *s, const char *task_id, store_attempt_cb cb, void *userdata);
int sqlite_attempt_list_running(Store *s, store_attempt_cb cb, void *userdata);
/* store-sqlite-hold.c */
int sqlite_pause_set(Store *s, const char *scope, uint64_t at, uid_t uid);
int sqlite_pause_clear(Store *s, const char *scope);
int sqlite_pause_list(Store *s, store_pause_cb cb, void *userdata);
int sqlite_dep_insert(Store *s, const char *task_id, const char *after_id, bool after_any);
int sqlite_dep_list(Store *s, const char *task_id, TaskDep **ret, size_t *ret_n);
int sqlite_dep_dependents(Store *s, const char *after_id, char (**ret)[ID_STRING_MAX], size_t *ret_n);
int sqlite_prune_candidates(Store *s, TaskStatus status, uint64_t before, int64_t keep, unsigned limit,
			    char (**ret)[ID_STRING_MAX], size_t *ret_n);
int sqlite_task_delete(Store *s, const char *task_id);
int sqlite_task_cancel(Store *s, const char *task_id, uint64_t at, TaskStatus *ret_was, char *ret_node, size_t size);
int sqlite_intent_prune(Store *s, uint64_t before, int64_t keep, unsigned limit, unsigned *ret_n);
