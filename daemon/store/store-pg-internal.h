/* SPDX-License-Identifier: MIT */
/*
 * Shared by the parts of the PostgreSQL store: store-pg-schema.c says what is
 * in the database, which SQL reads and writes it and how a record maps onto
 * parameters and result columns; store-pg.c runs it (connection,
 * transactions, errors, the ops table); store-pg-query.c reads;
 * store-pg-write.c writes; store-pg-fleet.c claims, fences and wakes. None
 * of them sees SQLite's struct Store.
 */
#pragma once

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "store-ops.h"
#include "store.h"


/* Columns of a record, as SQLite's backend describes them (same names, same
 * order); statements are generated from them and parameters bound in the
 * order of the columns a statement takes. */
typedef enum PgColType {
	PG_ID,     /* char[ID_STRING_MAX] */
	PG_STR,    /* char *, NULL allowed unless the schema says otherwise */
	PG_INT,    /* int */
	PG_BOOL,   /* bool */
	PG_U32,    /* uid_t, gid_t: bigint */
	PG_I64,    /* int64_t */
	PG_U64,    /* uint64_t, stored as the int64_t with the same bits */
	PG_STATUS, /* TaskStatus, stored as its name */
} PgColType;

enum {
	PG_KEY = 1 << 0,     /* WHERE of the UPDATE */
	PG_MUTABLE = 1 << 1, /* written by the UPDATE */
	PG_SERIAL = 1 << 2,  /* assigned by the database (identity), returned by the INSERT */
};

typedef struct PgColumn {
	const char *name;
	PgColType type;
	size_t offset;
	unsigned flags;
	const char *select; /* read as this expression; NULL: the column as stored */
} PgColumn;

typedef union PgAnyRecord {
	IntentRecord intent;
	Task task;
	Daughter daughter;
	Attempt attempt;
} PgAnyRecord;

typedef union PgAnyCallback {
	store_intent_cb intent;
	store_task_cb task;
	store_daughter_cb daughter;
	store_attempt_cb attempt;
} PgAnyCallback;

typedef struct PgTable {
	const char *name;
	const PgColumn *columns;
	unsigned n_columns;
	bool node; /* a "node" column the record does not hold: the store's node, at insert */
	int (*call)(PgAnyCallback cb, const PgAnyRecord *r, void *userdata);
} PgTable;

extern const PgTable pg_table_intents, pg_table_tasks, pg_table_daughters, pg_table_attempts;

enum {
	PG_INTENT_INSERT,
	PG_INTENT_GET,
	PG_INTENT_IDEMPOTENT,
	PG_INTENT_LIST,
	PG_INTENT_LIST_DESC,
	PG_INTENT_COUNT,
	PG_INTENT_UPDATE,
	PG_INTENT_SET_RESULT,
	PG_ID_PREFIX,
	PG_TASK_INSERT,
	PG_TASK_GET,
	PG_TASK_UPDATE,
	PG_TASK_LIST,
	PG_TASK_LIST_DESC,
	PG_TASK_TOTAL,
	PG_TASK_COUNT_STATUS,
	PG_TASK_COUNT_TYPE,
	PG_TASK_FIRST_START,
	PG_DAUGHTER_INSERT,
	PG_DAUGHTER_UPDATE,
	PG_DAUGHTER_HEARTBEAT,
	PG_DAUGHTER_LIST,
	PG_ATTEMPT_INSERT,
	PG_ATTEMPT_UPDATE,
	PG_ATTEMPT_LIST,
	PG_ATTEMPT_LIST_TASK,
	PG_ATTEMPT_LIST_RUNNING,
	PG_PAUSE_SET,
	PG_PAUSE_CLEAR,
	PG_PAUSE_LIST,
	PG_DEP_INSERT,
	PG_DEP_LIST,
	PG_DEP_DEPENDENTS,
	PG_PRUNE_TASKS_AGE,
	PG_PRUNE_TASKS_COUNT,
	PG_TASK_DELETE_ATTEMPTS,
	PG_TASK_DELETE_DAUGHTERS,
	PG_TASK_DELETE_DEPS,
	PG_TASK_DELETE_KEEP_RESULT,
	PG_TASK_DELETE,
	PG_PRUNE_INTENTS_AGE,
	PG_PRUNE_INTENTS_COUNT,
	/* The fleet's claims and fences: their SQL is store-pg-fleet.c's. */
	PG_FLEET_CLAIM,
	PG_FLEET_CLAIM_TASK,
	PG_FLEET_FENCE,
	PG_FLEET_RELEASE,
	PG_FLEET_RELEASE_OWN,
	PG_FLEET_RELEASE_MINE,
	PG_FLEET_RELEASE_UNOWNED,
	/* Cancel across nodes, ends seen, keyed submits: store-pg-control.c's. */
	PG_CTL_CANCEL,
	PG_CTL_ENDED,
	PG_CTL_KEY_LOCK,
	PG_CTL_SEND,
	PG_CTL_LOG_PUT,
	PG_CTL_LOG_GET,
	/* Leases and adoption: store-pg-lease.c's. */
	PG_LEASE_REGISTER,
	PG_LEASE_RENEW,
	PG_LEASE_LEAVE,
	PG_LEASE_ADOPT,
	PG_LEASE_ADOPT_SELF,
	PG_LEASE_ADOPTED_RUNNING,
	PG_LEASE_NODES,
	PG_LEASE_QUEUE_DEPTH,
	_PG_STMT_MAX,
};

/* The coalesced inserts of store-pg-write.c: statements past _PG_STMT_MAX,
 * prepared with the others (their SQL from pg_coalesce_sql()). */
enum {
	PG_COALESCE_INTENTS = _PG_STMT_MAX,
	PG_COALESCE_TASKS,
	PG_COALESCE_SEQS,
	_PG_ALL_STMT_MAX,
};
typedef struct PgCoalesce PgCoalesce;

/* A task this node claimed: its writes carry the claim (FLEET-DESIGN.md 2.6). */
typedef struct PgOwned {
	char id[ID_STRING_MAX];
	char daughter_id[ID_STRING_MAX]; /* its current daughter, once inserted ("" before) */
	int64_t claim_seq;
	bool locked; /* the open transaction holds the task's row under the claim */
} PgOwned;

#define PG_CTL_MAX 128 /* a control message: "cancel <task id>" */

/* One connection, its prepared statements (named "vx11_<index>"). */
struct Store {
	StoreHead head;
	PGconn *conn;
	PGconn *listen; /* LISTEN vx11_work, opened by store_wake_fd() */
	char *url;
	char *node;
	PgOwned *owned;
	size_t n_owned;
	int64_t incarnation; /* of this node's row in nodes; 0 before store_node_register() */
	bool notify_owed; /* the open transaction made a task runnable: NOTIFY at its COMMIT */
	bool in_txn;   /* BEGIN ran and COMMIT has not */
	bool txn_lost; /* the open transaction was rolled back (connection lost, failed recovery) */
	bool durable;  /* the open or next commit must reach the disk (synchronous_commit on) */
	/* The connection: how to make it again (url above), and whether it is lost. */
	char app[64];
	bool lost;              /* the connection is gone; calls fail until a reconnect */
	uint64_t lost_at;       /* realtime usec it was found lost */
	uint64_t next_attempt;  /* monotonic usec: no reconnect before (rate limit) */
	char down[512];         /* why it is unavailable, for store_unavailable() */
	char (*ctl)[PG_CTL_MAX]; /* vx11_ctl messages read, not yet taken (store_ctl_next) */
	size_t n_ctl;
	PgCoalesce *coalesce; /* intents_log and tasks rows kept for one INSERT each */
	char **ev;   /* vx11_ev payloads of other nodes, not yet taken (store_event_next) */
	size_t n_ev;
	bool walking[_PG_STMT_MAX]; /* a list of this statement is being handed to callbacks */
	StoreStats stats;
	char error[512];
};
typedef struct Store PgStore;

/* Parameters in text format; numbers are printed into buf. */
#define PG_MAX_PARAMS 32
typedef struct PgParams {
	int n;
	const char *v[PG_MAX_PARAMS];
	char buf[PG_MAX_PARAMS][24];
} PgParams;
void pg_param_str(PgParams *p, const char *v); /* NULL: SQL NULL */
void pg_param_i64(PgParams *p, int64_t v);
void pg_param_bool(PgParams *p, bool v);

/* The SQL of statement i, malloc()ed; NULL when out of memory. */
char *pg_statement_sql(unsigned i);
/* Create or migrate the schema (one transaction, under an advisory lock). */
int pg_migrate(PgStore *s);

/* Bind the columns of a record an INSERT (flags 0) or UPDATE (PG_MUTABLE |
 * PG_KEY) takes, in column order. Strings are not copied. */
int pg_bind_row(PgStore *s, PgParams *p, const PgTable *t, const void *rec, unsigned flags);
/* Fill rec from row `row` of res. copy: strings strdup()ed (owned by the
 * caller); else they point into res until it is cleared. */
int pg_read_row(PgStore *s, const PGresult *res, int row, const PgTable *t, void *rec, bool copy);

/* Record a failure for store_last_error(); returns r. */
_printf_(3, 4) int pg_fail(PgStore *s, int r, const char *fmt, ...);
/*
 * Run prepared statement idx. A write opens the transaction if none is
 * open. Inside a transaction the statement runs under a savepoint, so that
 * a failed one (a duplicate id, a missing reference) leaves the transaction
 * as it was, as SQLite's statements do. On success *ret is the result (rows
 * or not), to PQclear(); on failure a negative errno, the message kept.
 */
int pg_run(PgStore *s, unsigned idx, const PgParams *p, bool write, PGresult **ret);
/* Rows a write changed, from its result. */
uint64_t pg_changes(const PGresult *res);
/* A number column of a result. */
int64_t pg_get_i64(const PGresult *res, int row, int col);

/* Reads and writes (store-pg-query.c, store-pg-write.c), as store.h. */
int pg_intent_get(Store *s, const char *correlation_id, IntentRecord *ret);
int pg_intent_find_idempotent(Store *s, uid_t uid, const char *key, IntentRecord *ret);
int pg_intent_list(Store *s, const IntentFilter *f, store_intent_cb cb, void *userdata);
int pg_intent_count(Store *s, uint64_t *ret);
int pg_id_prefix_find(Store *s, const char *prefix, uid_t uid, IdMatch *ret, size_t max, size_t *ret_n);
int pg_task_get(Store *s, const char *id, Task *ret);
int pg_task_list(Store *s, const TaskFilter *f, store_task_cb cb, void *userdata);
int pg_task_count(Store *s, const TaskFilter *f, uint64_t *ret);
int pg_task_count_by_status(Store *s, uint64_t counts[_TASK_STATUS_MAX]);
int pg_task_count_by_type(Store *s, store_type_count_cb cb, void *userdata);
int pg_task_first_start(Store *s, const char *task_id, uint64_t *ret);
int pg_daughter_list(Store *s, const char *task_id, const char *status, uid_t owner, unsigned limit,
		     store_daughter_cb cb, void *userdata);
int pg_attempt_list(Store *s, const char *daughter_id, store_attempt_cb cb, void *userdata);
int pg_attempt_list_task(Store *s, const char *task_id, store_attempt_cb cb, void *userdata);
int pg_attempt_list_running(Store *s, store_attempt_cb cb, void *userdata);
int pg_pause_list(Store *s, store_pause_cb cb, void *userdata);
int pg_dep_list(Store *s, const char *task_id, TaskDep **ret, size_t *ret_n);
int pg_dep_dependents(Store *s, const char *after_id, char (**ret)[ID_STRING_MAX], size_t *ret_n);
int pg_prune_candidates(Store *s, TaskStatus status, uint64_t before, int64_t keep, unsigned limit,
			char (**ret)[ID_STRING_MAX], size_t *ret_n);

int pg_intent_insert(Store *s, const IntentRecord *r);
int pg_intent_update(Store *s, const IntentRecord *r);
int pg_intent_set_result(Store *s, const char *correlation_id, const char *result_status);
int pg_task_insert(Store *s, Task *t);
int pg_task_update(Store *s, const Task *t);
int pg_daughter_insert(Store *s, const Daughter *d);
int pg_daughter_update(Store *s, const Daughter *d);
int pg_daughter_heartbeat(Store *s, const char *daughter_id, uint64_t at);
int pg_attempt_insert(Store *s, const Attempt *a);
int pg_attempt_update(Store *s, const Attempt *a);
int pg_pause_set(Store *s, const char *scope, uint64_t at, uid_t uid);
int pg_pause_clear(Store *s, const char *scope);
int pg_dep_insert(Store *s, const char *task_id, const char *after_id, bool after_any);
int pg_task_delete(Store *s, const char *task_id);
int pg_intent_prune(Store *s, uint64_t before, int64_t keep, unsigned limit, unsigned *ret_n);

/* The fleet (store-pg-fleet.c). */
char *pg_fleet_sql(unsigned i);
/* Before a write about task_id's attempt (or daughter_id's, task_id NULL):
 * 0 if the task is not this node's or its claim holds (its row is then
 * locked until COMMIT); -ESTALE, "fenced", if the claim was taken from it. */
int pg_fence(PgStore *s, const char *task_id, const char *daughter_id);
void pg_fence_note_daughter(PgStore *s, const char *task_id, const char *daughter_id);
/* After t was written: a claim given back where t ended or waits for a retry. */
int pg_fleet_task_written(PgStore *s, const Task *t, bool inserted);
void pg_fleet_committed(PgStore *s);
void pg_fleet_free(PgStore *s);
int pg_claim(Store *s, const char *const *types, unsigned slots, store_task_cb cb, void *userdata);
int pg_claim_task(Store *s, const char *task_id);
int pg_task_release(Store *s, const char *task_id);
int pg_release_own(Store *s);
int pg_fleet_release_unowned(PgStore *s);
int pg_wake_fd(Store *s);
int pg_wake_drain(Store *s);
/* For adoption: what a node claimed is this one's now (store-pg-fleet.c). */
int pg_fleet_own(PgStore *s, const char *task_id, int64_t claim_seq);

/* Leases (store-pg-lease.c). */
char *pg_lease_sql(unsigned i);
int pg_node_register(Store *s, unsigned lease_seconds, unsigned max_running, StoreLease *ret);
int pg_node_renew(Store *s, unsigned lease_seconds, unsigned running, unsigned max_running, StoreLease *ret);
int pg_node_leave(Store *s);
int pg_node_adopt(Store *s, char ret_node[static STORE_NODE_MAX], char (**ret_ids)[ID_STRING_MAX], size_t *ret_n);
int pg_attempt_list_adopted(Store *s, store_attempt_cb cb, void *userdata);
int pg_fleet_nodes(Store *s, store_node_cb cb, void *userdata);
int pg_fleet_queue_depth(Store *s, uint64_t *ret);

/* Cancel across nodes, ends seen, keyed submits (store-pg-control.c). */
char *pg_control_sql(unsigned i);
int pg_task_cancel(Store *s, const char *task_id, uint64_t at, TaskStatus *ret_was, char *ret_node, size_t size);
int pg_tasks_ended(Store *s, const char *const *ids, size_t n, store_ended_cb cb, void *userdata);
int pg_intent_key_lock(Store *s, uid_t uid, const char *key);
/* A vx11_ctl notification read by pg_wake_drain(), kept for pg_ctl_next(). */
int pg_ctl_push(PgStore *s, const char *payload);
int pg_ctl_next(Store *s, char *buf, size_t size);
int pg_ctl_send(Store *s, const char *msg);
void pg_ctl_free(PgStore *s);
/* A vx11_ev notification read by pg_wake_drain(): kept unless this node sent it. */
int pg_ev_push(PgStore *s, const char *payload);
int pg_event_next(Store *s, char **ret);
int pg_attempt_log_put(Store *s, const char *task_id, int number, const char *stream, uint64_t size,
		       const void *tail, size_t len);
int pg_attempt_log_get(Store *s, const char *task_id, int number, const char *stream, uint64_t *ret_size,
		       void **ret_tail, size_t *ret_len);

/* Coalesced inserts (store-pg-write.c). pg_run() flushes the kept rows
 * before any other statement, pg_commit() before COMMIT; a failed flush
 * rolls the transaction back (txn_lost). pg_coalesce_end() at the end of
 * every transaction. */
char *pg_coalesce_sql(unsigned i);
bool pg_coalesce_pending(const PgStore *s);
int pg_coalesce_flush(PgStore *s);
void pg_coalesce_end(PgStore *s);
void pg_coalesce_free(PgStore *s);

/* The lowest id made at `at` ("0190a1b2-c3d4" for its millisecond); "" for 0. */
void pg_id_floor(uint64_t at, char buf[static ID_STRING_MAX]);
