/* SPDX-License-Identifier: MIT */
/*
 * The store: every intent, task, daughter and attempt, durably.
 *
 * This is the only module that talks to SQLite; no SQL exists anywhere else.
 * Its interface is narrow and typed so that a second backend (PostgreSQL, for
 * fleets sharing one queue) can slot in beside store-sqlite.c: each call goes
 * to the backend that opened s, through its table of store-ops.h.
 *
 * Transactions are implicit and grouped: the first write after a commit opens
 * one, and the daemon calls store_commit() once per event-loop iteration
 * (group commit). Writes that must survive a power cut before anyone is told
 * of them (a QUEUED task) mark the transaction durable; its commit then runs
 * with synchronous=FULL. Other commits run with synchronous=NORMAL, which in
 * WAL mode still survives a crash of the daemon, only not of the machine.
 *
 * Reads see the open transaction's own writes. Strings in records passed to
 * callbacks are borrowed and valid only during the callback; records returned
 * through ret_ parameters are owned by the caller (free with *_done()).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

typedef struct Store Store;

typedef enum TaskStatus {
	TASK_PENDING,
	TASK_PLANNING,
	TASK_RUNNING,
	TASK_RETRYING,
	TASK_COMPLETED,
	TASK_FAILED,
	TASK_EXPIRED,
	TASK_CANCELLED,
	_TASK_STATUS_MAX,
	_TASK_STATUS_INVALID = -1,
} TaskStatus;

const char *task_status_to_string(TaskStatus s);
TaskStatus task_status_from_string(const char *s);
bool task_status_is_terminal(TaskStatus s);

/* One row of intents_log: every submission, accepted or refused. */
typedef struct IntentRecord {
	char correlation_id[ID_STRING_MAX];
	uint64_t created_at; /* realtime usec */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char *source;          /* "operator", ... */
	char *intent_type;
	char *text;            /* may be NULL */
	char *payload_json;    /* serialized object, may be NULL */
	bool require_switch;
	bool require_spawner;
	int priority;          /* 0..3 */
	char *status;          /* "DONE" | "QUEUED" | "ERROR" */
	char *mode;            /* "MADRE" | "SPAWNER" | "FALLBACK" */
	char *provider;        /* may be NULL */
	char *error;           /* may be NULL */
	char *task_id;         /* may be NULL; set when a task was created */
	char *idempotency_key; /* may be NULL */
	char *envelope_json;   /* the intent.submit result exactly as replied, where it is read again
				* (a keyed intent, one without a task, a planned one); else NULL */
	char *params_digest;   /* with a key: the digest of the params that define the intent; may be NULL */
	uint64_t processed_at; /* realtime usec madre finished with it (replied, or planned); 0 = not yet */
	char *result_status;   /* QUEUED, RUNNING, DONE, ERROR, CANCELLED, EXPIRED: read from its task's status
				* while the task is kept (no write as it moves on), as written once it is not */
	char *notes;           /* how it was planned (switch.md), may be NULL */
	char *command_json;    /* a caller's command ({"argv","cwd","env"}) for a "command": "caller" type; may be NULL */
} IntentRecord;
void intent_record_done(IntentRecord *r);

typedef struct Task {
	char id[ID_STRING_MAX];
	char intent_id[ID_STRING_MAX]; /* the correlation id of its intent */
	char *source;
	int priority;
	TaskStatus status;
	char *task_type;
	char *description;  /* the intent's text, may be NULL */
	char *payload_json; /* the intent's payload, may be NULL */
	uid_t uid;          /* the submitter */
	uint64_t created_at, updated_at;
	int current_retry;
	int max_retries;
	int mutation_level;
	uint64_t next_attempt_at; /* realtime usec, 0 = none */
	int64_t ttl_seconds;      /* as submitted, -1 = policy default */
	char *result_json;        /* the final result object, may be NULL */
	char *traceparent;        /* the W3C traceparent given at submit, may be NULL (schema step 9) */
	char *command_json;       /* what a "command": "caller" type runs ({"argv","cwd","env"}), else NULL */
	uint64_t seq;             /* insertion order, assigned by the store */
	bool degraded;            /* planning fell back to the local plan */
	char *provider;           /* who planned it: "switch", "fallback_local"; NULL = not planned */
	char *model;              /* the plan's model, may be NULL */
	char *plan_json;          /* the plan it runs with, may be NULL */
} Task;
void task_done(Task *t);

typedef struct Daughter {
	char id[ID_STRING_MAX];
	char task_id[ID_STRING_MAX];
	char *name;
	char *purpose;
	char *status; /* spawning, running, exited, failed, expired, killed */
	int mutation_level;
	uint64_t started_at, last_heartbeat_at, ended_at; /* 0 = unset */
	char *error_last;
	uid_t owner_uid; /* the task's submitter, copied so lists filter in SQL */
	int64_t ttl_seconds; /* the TTL it ran under, 0 = none, -1 = not recorded (before schema 6) */
	char *tools_json;    /* JSON: its execution context (argv, user, seccomp, limits, namespaces), may be NULL */
} Daughter;
void daughter_done(Daughter *d);

typedef struct Attempt {
	char id[ID_STRING_MAX];
	char daughter_id[ID_STRING_MAX];
	char task_id[ID_STRING_MAX];
	int number;
	char *status;
	char *reason;        /* may be NULL while running */
	uint64_t started_at, finished_at;
	int exit_code;       /* -1 = none */
	int signal;          /* 0 = none */
	uint64_t cpu_usec;
	uint64_t memory_peak_bytes;
	int64_t tokens_used_cli, tokens_used_local;
	char *switch_model_used, *cli_provider_used, *error_message;
	uid_t uid;             /* the daughter ran as this uid */
	char *cgroup;          /* its job cgroup's name ("job-3"), may be NULL */
	char *reported_status; /* the last daughter.report "status", may be NULL */
	char *status_text;     /* the last STATUS= sent to NOTIFY_SOCKET, may be NULL */
	char *unapplied;       /* best-effort: the limits the host could not apply, may be NULL */
	char *confinement;     /* JSON: what it ran with (uid, limits, seccomp, namespaces, Landlock) */
	char *result_json;     /* the last daughter.report "result" object, may be NULL */
	char *node;            /* the node that ran it (vx11d --node), may be NULL */
} Attempt;
void attempt_done(Attempt *a);

/* Open (creating and migrating as needed) the SQLite database at path. */
int store_open(const char *path, Store **ret);
/* Closes s with its backend; s == NULL is nothing. Returns NULL. */
Store *store_free(Store *s);
/* The backend that opened s: "sqlite" (or "postgresql"), for daemon.status. */
const char *store_backend_name(const Store *s);
/*
 * A database server can go away (PostgreSQL): store_available() is false
 * from the call that found the connection lost until a reconnect, and every
 * call meanwhile fails at once (-ENOTCONN). store_unavailable() says why
 * ("the database is unreachable since T: ..."), NULL when available.
 * store_reconnect() tries now, at most once a second (a call does too); it
 * blocks for the attempt. SQLite: always available, nothing to do.
 */
bool store_available(const Store *s);
const char *store_unavailable(const Store *s);
int store_reconnect(Store *s);

/*
 * The database a URL names (vx11d --database): a PATH or "sqlite:PATH" is
 * SQLite, opened as store_open(path) does; "postgresql://..." or
 * "postgres://..." is PostgreSQL (a libpq URI), node being this daemon's name
 * in the fleet (unused by SQLite). Anything else with a scheme ("mysql://",
 * "sqlite:" without a path, ...) is -EINVAL; PostgreSQL in a build without it
 * -EPROTONOSUPPORT. On failure store_last_error(NULL) says why, without the
 * URL (the caller names it, redacted).
 */
int store_open_url(const char *url, const char *node, Store **ret);
/* Only the checks of store_open_url() on the URL's form: 0 when a backend of
 * this build takes it; no file or connection is touched. */
int store_url_check(const char *url);
/* The path a SQLite URL names (pointing into url); NULL for any other URL. */
const char *store_url_sqlite_path(const char *url);
/* url as it may be shown or logged: a URI's password (user:PASSWORD@host,
 * ?password=) left out. malloc()ed; NULL when out of memory. */
char *store_url_redact(const char *url);
/* What the backend said about the last failure of s (never NULL, "" if none),
 * for the caller's log message. s == NULL: the last failed store_open() of
 * this thread. */
const char *store_last_error(const Store *s);

/* Commit the open transaction, if any. Returns 0 or -EIO (rolled back). */
int store_commit(Store *s);
bool store_has_pending(const Store *s);
/*
 * The same, except that a durable transaction's sync may end later, off the
 * caller's thread: *ret_ticket is then a number (increasing from 1) that
 * store_synced() reports once the transaction is on the disk; 0 when nothing
 * waits (not durable, or synced already). Until then the commit is visible
 * but must not be reported. Returns 0 or -EIO (rolled back) as
 * store_commit(). A backend without a sync thread syncs here and gives 0.
 */
int store_commit_async(Store *s, uint64_t *ret_ticket);
/* A descriptor that polls readable when a ticket's sync ended; read it with
 * store_synced(). Negative errno if the sync thread cannot start. */
int store_sync_fd(Store *s);
/*
 * Every ticket <= *ret_done whose sync did not fail is on the disk; every
 * ticket <= *ret_failed may not be (a sync failed: store_last_error() says
 * why; 0 if none ever did). Tickets above both are still being synced.
 * Clears the descriptor's readiness.
 */
int store_synced(Store *s, uint64_t *ret_done, uint64_t *ret_failed);
/* Mark the open (or next) transaction as needing synchronous=FULL. */
void store_want_durable(Store *s);
/* Is there an open transaction that must reach the disk before it is reported? */
bool store_pending_is_durable(const Store *s);
/* What the store has done since it was opened; counts that do not depend on
 * the machine's speed, for daemon.status and the benchmarks. */
typedef struct StoreStats {
	uint64_t commits;         /* transactions committed */
	uint64_t durable_commits; /* of which synced before being reported */
	uint64_t rows_written;    /* rows inserted or updated */
	uint64_t btree_writes;    /* b-tree entries those writes put: table rows and index entries */
	uint64_t reconnects;      /* connections made again after one was lost (PostgreSQL) */
} StoreStats;
void store_stats(const Store *s, StoreStats *ret);
/* Checkpoint the WAL (PASSIVE); meant for a quiet moment or another thread. */
int store_checkpoint(Store *s);
/* Pages in the WAL since the last checkpoint, as reported by SQLite. */
int store_wal_pages(const Store *s);

/* intents_log */
int store_intent_insert(Store *s, const IntentRecord *r);
int store_intent_get(Store *s, const char *correlation_id, IntentRecord *ret);
/* Writes status, mode, provider, error, envelope_json, processed_at,
 * result_status and notes of the row r->correlation_id names (-ENOENT). */
int store_intent_update(Store *s, const IntentRecord *r);
/* Only result_status (what it reads once its task is gone, or for an
 * intent whose task_id names no task); a row that does not exist is not an
 * error. */
int store_intent_set_result(Store *s, const char *correlation_id, const char *result_status);
/* -ENOENT when uid never used this key. */
int store_intent_find_idempotent(Store *s, uid_t uid, const char *key, IntentRecord *ret);
typedef int (*store_intent_cb)(const IntentRecord *r, void *userdata);
typedef struct IntentFilter {
	uid_t uid;         /* (uid_t)-1 = anyone's */
	const char *after; /* correlation id; NULL = from the start */
	bool desc;         /* newest first: `after` then continues with older ones */
	unsigned limit;    /* 0 = no limit */
} IntentFilter;
/* Oldest first (or newest, f->desc); a callback returning non-zero stops
 * the walk and is returned. */
int store_intent_list(Store *s, const IntentFilter *f, store_intent_cb cb, void *userdata);
/* All rows of intents_log. */
int store_intent_count(Store *s, uint64_t *ret);

/* An intent an id prefix names: its correlation id, and its task's id ("" when
 * it has none). */
typedef struct IdMatch {
	char correlation_id[ID_STRING_MAX];
	char task_id[ID_STRING_MAX];
} IdMatch;
/*
 * The intents whose correlation id or whose task's id starts with prefix
 * (ids are lowercase: so must prefix be), of uid ((uid_t)-1: anyone's), each
 * once, by correlation id: a prefix both of a task's id and of its intent's
 * names one intent. The first max go to ret; *ret_n is how many there are,
 * counted up to max + 1 (more than max: ambiguous however many).
 */
int store_id_prefix_find(Store *s, const char *prefix, uid_t uid, IdMatch *ret, size_t max, size_t *ret_n);

/* tasks: t->seq is assigned on insert. */
int store_task_insert(Store *s, Task *t);
int store_task_get(Store *s, const char *id, Task *ret); /* -ENOENT */
/* Writes status, updated_at, current_retry, mutation_level, next_attempt_at, result_json. */
int store_task_update(Store *s, const Task *t);

/*
 * Which tasks a list or a count takes. A task's id is made just after its
 * created_at is read, from the same clock, and an id's time is never behind
 * that clock (util.h): so an id is never older than its task's created_at,
 * and `since` also bounds the ids, which keeps a walk or a count over a
 * recent window to that window.
 */
typedef struct TaskFilter {
	unsigned status_mask;  /* bit (1u << TaskStatus); 0 = any */
	const char *source;    /* NULL = any */
	const char *task_type; /* NULL = any */
	uid_t uid;             /* (uid_t)-1 = any */
	uint64_t since, until; /* created_at >= since, < until (realtime usec); 0 = no bound */
	const char *after;     /* id; NULL = from the start */
	bool desc;             /* newest first: `after` then continues with older ids */
	unsigned limit;        /* 0 = no limit */
} TaskFilter;
typedef int (*store_task_cb)(const Task *t, void *userdata);
/* In id order (which is submission order), or its reverse (f->desc). */
int store_task_list(Store *s, const TaskFilter *f, store_task_cb cb, void *userdata);
/* How many tasks store_task_list() would give without after and limit, from
 * an index range per status (a count, not a walk of the rows, unless source
 * or task_type asks to look at them). */
int store_task_count(Store *s, const TaskFilter *f, uint64_t *ret);
int store_task_count_by_status(Store *s, uint64_t counts[_TASK_STATUS_MAX]);
/* The tasks per (task type, status), one call each; a scan of every task,
 * for daemon.metrics. cb returning nonzero stops the walk. */
typedef int (*store_type_count_cb)(const char *task_type, TaskStatus status, uint64_t n, void *userdata);
int store_task_count_by_type(Store *s, store_type_count_cb cb, void *userdata);
/* When the task's first attempt started (realtime usec), 0 when none has. */
int store_task_first_start(Store *s, const char *task_id, uint64_t *ret);

/*
 * The fleet (FLEET-DESIGN.md P8): several daemons, one PostgreSQL database.
 * A daemon runs only the tasks it claimed; every later write about such a
 * task's attempt (task, attempt, daughter rows, heartbeats) carries the claim
 * and fails with -ESTALE ("fenced") if it is no longer this node's. A task
 * written retrying or ended gives its claim back. SQLite: not a fleet; the
 * calls below answer 0 (store_claim and store_wake_fd -EOPNOTSUPP).
 */
bool store_is_fleet(const Store *s);
/* Claim up to `slots` runnable tasks (pending, or retrying and due; of one of
 * `types`, NULL-terminated; not paused; whatever they wait for ended), in
 * (priority, seq) order, and hand each to cb, which may write. The claim is
 * committed before this returns: -EAGAIN, nothing claimed, while the
 * caller's transaction is still open (commit it first). */
int store_claim(Store *s, const char *const *types, unsigned slots, store_task_cb cb, void *userdata);
/* Claim a task the open transaction inserted (daughter.spawn runs it now). */
int store_claim_task(Store *s, const char *task_id);
/* Give back a claimed task that does not start (held by a pause). */
int store_task_release(Store *s, const char *task_id);
/* At start, after the node's own interrupted attempts are settled: every
 * claim still in this node's name is given back. */
int store_release_own(Store *s);
/* A descriptor that turns readable when another commit made work (NOTIFY
 * vx11_work), sent a control message (vx11_ctl) or changed a task's status
 * (vx11_ev); store_wake_drain() reads it (>= 0: how many work or control
 * messages arrived; events are left for store_event_next()). */
int store_wake_fd(Store *s);
int store_wake_drain(Store *s);

/*
 * task.cancel (FLEET-DESIGN.md 2.7): the task ends cancelled unless it has
 * ended already, in one conditional write, so that a cancel racing its
 * task's end (here or on another node) never overwrites a completed or
 * failed task. 0: cancelled, *ret_was its status before; -EALREADY: it had
 * ended (*ret_was says how); -ENOENT: no such task. ret_node (size bytes):
 * the node that holds its claim, "" for none (SQLite: always ""); on a
 * fleet that node is told (NOTIFY vx11_ctl "cancel <id>") by the commit.
 */
int store_task_cancel(Store *s, const char *task_id, uint64_t at, TaskStatus *ret_was, char *ret_node, size_t size);
/* Of ids (n), those that have ended, each handed to cb with its status (one
 * read; a fleet's poll for what other nodes settled or cancelled). SQLite:
 * 0, nothing (this daemon knows its own ends). */
typedef int (*store_ended_cb)(const char *task_id, TaskStatus status, void *userdata);
int store_tasks_ended(Store *s, const char *const *ids, size_t n, store_ended_cb cb, void *userdata);
/* The next control message from another node (vx11_ctl, read by
 * store_wake_drain()): 1 with it in buf ("cancel <task id>"), 0 when none. */
int store_ctl_next(Store *s, char *buf, size_t size);
/* Tell every node (this one too) msg with the open transaction's commit
 * (NOTIFY vx11_ctl). SQLite: 0, nobody to tell. */
int store_ctl_send(Store *s, const char *msg);
/* The next task status change another node committed (FLEET-DESIGN.md 5.2,
 * read by store_wake_drain()): 1 with *ret a JSON object (free() it) of the
 * fields of a task.status event and the owner's "uid"; 0 when none. */
int store_event_next(Store *s, char **ret);
/* The last len bytes of what an attempt wrote to stream ("stdout",
 * "stderr"), size bytes in all, kept in the open transaction (fenced like
 * the attempt) for task.logs on the other nodes (FLEET-DESIGN.md 5.4).
 * SQLite: 0, nothing kept (the file is on this host). */
int store_attempt_log_put(Store *s, const char *task_id, int number, const char *stream, uint64_t size,
			  const void *tail, size_t len);
/* That tail: *ret_tail malloc()ed (NUL after *ret_len bytes), *ret_size the
 * stream's size. -ENOENT: none kept. */
int store_attempt_log_get(Store *s, const char *task_id, int number, const char *stream, uint64_t *ret_size,
			  void **ret_tail, size_t *ret_len);
/* Before looking a keyed submission up: on a fleet, hold (uid, key) to the
 * end of the open transaction, so that the same key submitted on two nodes
 * at once is looked up by the second only once the first's intent is
 * committed (one task). SQLite: 0 (one daemon; the loop orders them). */
int store_intent_key_lock(Store *s, uid_t uid, const char *key);

/* daughters and attempts */
int store_daughter_insert(Store *s, const Daughter *d);
int store_daughter_update(Store *s, const Daughter *d);
/* Only last_heartbeat_at: cheaper than the whole row (no index changes). */
int store_daughter_heartbeat(Store *s, const char *daughter_id, uint64_t at);
typedef int (*store_daughter_cb)(const Daughter *d, void *userdata);
/* task_id NULL: all daughters; status NULL: any; owner (uid_t)-1: anyone's
 * (ignored when task_id is given). Oldest first. */
int store_daughter_list(Store *s, const char *task_id, const char *status, uid_t owner, unsigned limit,
			store_daughter_cb cb, void *userdata);
int store_attempt_insert(Store *s, const Attempt *a);
int store_attempt_update(Store *s, const Attempt *a);
typedef int (*store_attempt_cb)(const Attempt *a, void *userdata);
int store_attempt_list(Store *s, const char *daughter_id, store_attempt_cb cb, void *userdata);
/* A task's attempts by number. */
int store_attempt_list_task(Store *s, const char *task_id, store_attempt_cb cb, void *userdata);
/* Attempts still marked running (after a crash: the ones it interrupted). */
int store_attempt_list_running(Store *s, store_attempt_cb cb, void *userdata);

/*
 * What holds a task back (run/gate.c): pauses and dependencies.
 *
 * A pause's scope is a task type's name, or STORE_PAUSE_ALL for the whole
 * queue. Setting one again replaces it; store_pause_clear(s, NULL) clears
 * every pause.
 */
#define STORE_PAUSE_ALL "*"
int store_pause_set(Store *s, const char *scope, uint64_t at, uid_t uid);
int store_pause_clear(Store *s, const char *scope);
typedef int (*store_pause_cb)(const char *scope, uint64_t paused_at, uid_t uid, void *userdata);
/* By scope ("*" first). */
int store_pause_list(Store *s, store_pause_cb cb, void *userdata);

/* One task another waits for. */
typedef struct TaskDep {
	char after_id[ID_STRING_MAX];
	bool after_any; /* any end will do, not only completed */
} TaskDep;
/* task_id waits for after_id (a second time: nothing). */
int store_dep_insert(Store *s, const char *task_id, const char *after_id, bool after_any);
/* What task_id waits for, in the order given: *ret malloc()ed (NULL when none). */
int store_dep_list(Store *s, const char *task_id, TaskDep **ret, size_t *ret_n);
/* The tasks that wait for after_id, by id: *ret malloc()ed (NULL when none). */
int store_dep_dependents(Store *s, const char *after_id, char (**ret)[ID_STRING_MAX], size_t *ret_n);

/*
 * Retention. The finished tasks of one status (terminal) that ended before
 * `before` (realtime usec; 0: no age bound) or are older than its newest
 * `keep` (-1: no count bound), oldest first, at most `limit`: *ret malloc()ed.
 * Never a task another one that has not ended waits for, nor one holding the
 * highest seq of tasks (seq must keep increasing).
 */
int store_prune_candidates(Store *s, TaskStatus status, uint64_t before, int64_t keep, unsigned limit,
			   char (**ret)[ID_STRING_MAX], size_t *ret_n);
/* A task and its daughters, attempts and dependencies; its intent stays,
 * with the result_status its task gave (the audit log has its own retention). */
int store_task_delete(Store *s, const char *task_id);
/* Audit rows made before `before` (0: no age bound) or older than the newest
 * `keep` (-1: none), at most `limit`; never one whose task is kept, nor the
 * newest. *ret_n: how many went. */
int store_intent_prune(Store *s, uint64_t before, int64_t keep, unsigned limit, unsigned *ret_n);

/*
 * Leases (FLEET-DESIGN.md 4, P9): a node's row in `nodes` says until when
 * (the database's clock) it promises to be alive. Registered at start (its
 * incarnation +1; the tasks it had claimed and left running become its own
 * again under a new claim, so that its recovery's writes are fenced against
 * a sweeper), renewed every lease/5. A renewal that finds the incarnation
 * changed answers -ESTALE: another node adopted this one ("swept").
 * SQLite: not a fleet; register and renew answer 0 and fill nothing.
 */
#define STORE_NODE_MAX 64
typedef struct StoreLease {
	int64_t incarnation;
	uint64_t db_now;      /* the database's clock, realtime usec */
	uint64_t lease_until; /* realtime usec, database clock */
} StoreLease;
int store_node_register(Store *s, unsigned lease_seconds, unsigned max_running, StoreLease *ret);
int store_node_renew(Store *s, unsigned lease_seconds, unsigned running, unsigned max_running, StoreLease *ret);
/* A clean stop: the node's row says it left (nobody adopts it). */
int store_node_leave(Store *s);
/*
 * Adopt one node whose lease ended (lease_until < now() of the database),
 * at most once fleet-wide: its row is locked (SKIP LOCKED), marked down
 * and its incarnation bumped; the tasks it had claimed and not started go
 * back to the pool, its running ones are this node's under a new claim,
 * committed before this returns. 1: *ret_node adopted, *ret_ids (malloc'd)
 * the tasks now this node's to settle; 0: nobody to adopt; -EAGAIN while a
 * transaction is open.
 */
int store_node_adopt(Store *s, char ret_node[static STORE_NODE_MAX], char (**ret_ids)[ID_STRING_MAX], size_t *ret_n);
/* The attempts still `running` of tasks this node adopted, run by another node. */
int store_attempt_list_adopted(Store *s, store_attempt_cb cb, void *userdata);
typedef struct StoreNode {
	const char *name, *state, *host, *version, *swept_by;
	int64_t incarnation;
	uint64_t lease_until, renewed_at, started_at; /* realtime usec */
	bool lease_ok;                                /* lease_until >= now() of the database */
	unsigned running, max_running;
	int pid;
} StoreNode;
typedef int (*store_node_cb)(const StoreNode *n, void *userdata);
int store_fleet_nodes(Store *s, store_node_cb cb, void *userdata);
/* Tasks any node may claim (pending, retrying; none claimed). */
int store_fleet_queue_depth(Store *s, uint64_t *ret);
