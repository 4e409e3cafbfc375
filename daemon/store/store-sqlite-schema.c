/* SPDX-License-Identifier: MIT */
/*
 * What the SQLite store keeps, the SQL that reads and writes it, and how a
 * record maps onto a row.
 *
 * tasks keep an INTEGER PRIMARY KEY "seq" (the rowid: insertion order,
 * which is Task.seq) plus a UNIQUE index on the text id. SQLite gives a new
 * row max(rowid)+1, so seq keeps increasing across restarts as long as the
 * row with the highest seq stays: retention (STMT_PRUNE_*) removes old
 * finished tasks with their rows, never that one. intents_log, daughters and
 * attempts (since step 10) are WITHOUT ROWID tables kept in the b-tree of
 * their key, one b-tree fewer per row; their order is their ids'. Ids are UUIDv7 strings, time ordered (common/util.c makes them
 * increase within a process), so every index keyed by (something, id) grows
 * at the right edge of its range, and an insert touches the same few pages
 * however big the table is. Large text columns come last in each row. Links from intents_log
 * to tasks are not foreign keys: the audit log is written in whatever order
 * the daemon likes, and a foreign key there would cost a lookup per insert.
 *
 * The SELECT lists, INSERT and UPDATE statements are generated from the
 * column tables, so a column cannot end up at the wrong index. Migrations, in
 * contrast, are frozen text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "store-sqlite-internal.h"

/* Released steps never change; a new schema is a new step. */
const char *const store_migrations[] = {
	/* 1: the four tables of the original design. */
	"CREATE TABLE intents_log ("
	" seq INTEGER PRIMARY KEY,"
	" correlation_id TEXT NOT NULL UNIQUE,"
	" created_at INTEGER NOT NULL,"
	" uid INTEGER NOT NULL, gid INTEGER NOT NULL, pid INTEGER NOT NULL,"
	" source TEXT NOT NULL, intent_type TEXT NOT NULL,"
	" require_switch INTEGER NOT NULL, require_spawner INTEGER NOT NULL,"
	" priority INTEGER NOT NULL,"
	" status TEXT NOT NULL, mode TEXT NOT NULL, provider TEXT, error TEXT,"
	" task_id TEXT, idempotency_key TEXT,"
	" text TEXT, payload_json TEXT, envelope_json TEXT);"
	/* Not unique: a repeated submission may be logged too; the first wins. */
	"CREATE INDEX intents_log_idempotency ON intents_log(uid, idempotency_key)"
	" WHERE idempotency_key IS NOT NULL;"

	"CREATE TABLE tasks ("
	" seq INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL UNIQUE,"
	" intent_id TEXT NOT NULL,"
	" source TEXT NOT NULL, priority INTEGER NOT NULL, status TEXT NOT NULL,"
	" task_type TEXT NOT NULL, uid INTEGER NOT NULL,"
	" created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
	" current_retry INTEGER NOT NULL, max_retries INTEGER NOT NULL,"
	" mutation_level INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL,"
	" ttl_seconds INTEGER NOT NULL,"
	" description TEXT, payload_json TEXT, result_json TEXT);"
	/* task.list: by status (admin, start-up) and by owner (submitters). */
	"CREATE INDEX tasks_status ON tasks(status, id);"
	"CREATE INDEX tasks_uid ON tasks(uid, status, id);"

	"CREATE TABLE daughters ("
	" seq INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL UNIQUE,"
	" task_id TEXT NOT NULL REFERENCES tasks(id),"
	" name TEXT NOT NULL, purpose TEXT, status TEXT NOT NULL,"
	" mutation_level INTEGER NOT NULL, started_at INTEGER NOT NULL,"
	" last_heartbeat_at INTEGER NOT NULL, ended_at INTEGER NOT NULL,"
	" error_last TEXT);"
	"CREATE INDEX daughters_task ON daughters(task_id, id);"
	"CREATE INDEX daughters_status ON daughters(status, id);"

	"CREATE TABLE attempts ("
	" seq INTEGER PRIMARY KEY,"
	" id TEXT NOT NULL UNIQUE,"
	" daughter_id TEXT NOT NULL REFERENCES daughters(id),"
	" task_id TEXT NOT NULL REFERENCES tasks(id),"
	" number INTEGER NOT NULL, status TEXT NOT NULL, reason TEXT,"
	" started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL,"
	" exit_code INTEGER NOT NULL, signal INTEGER NOT NULL,"
	" cpu_usec INTEGER NOT NULL, memory_peak_bytes INTEGER NOT NULL,"
	" tokens_used_cli INTEGER NOT NULL, tokens_used_local INTEGER NOT NULL,"
	" switch_model_used TEXT, cli_provider_used TEXT, error_message TEXT);"
	"CREATE INDEX attempts_daughter ON attempts(daughter_id, number);",

	/* 2: what the runner needs: the owner beside each daughter (so lists
	 * filter by owner in SQL), and per attempt its job cgroup (matched
	 * against leftovers after a crash), its daughter's uid, what the
	 * daughter reported, and the limits a best-effort task ran without. */
	"ALTER TABLE daughters ADD COLUMN owner_uid INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX daughters_owner ON daughters(owner_uid, id);"
	"ALTER TABLE attempts ADD COLUMN uid INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE attempts ADD COLUMN cgroup TEXT;"
	"ALTER TABLE attempts ADD COLUMN reported_status TEXT;"
	"ALTER TABLE attempts ADD COLUMN status_text TEXT;"
	"ALTER TABLE attempts ADD COLUMN unapplied TEXT;"
	"ALTER TABLE attempts ADD COLUMN result_json TEXT;"
	"CREATE INDEX attempts_task ON attempts(task_id, number);"
	/* Start-up looks for attempts a crash left running: keep that cheap. */
	"CREATE INDEX attempts_running ON attempts(seq) WHERE status = 'running';",

	/* 3: what a keyed intent said (a digest of its defining params), so a
	 * key reused for another intent is told apart from a retry. Rows from
	 * before have none: their keys answer as they always did. */
	"ALTER TABLE intents_log ADD COLUMN params_digest TEXT;",

	/* 4: what each attempt ran with (run/attest.c), as JSON, written once
	 * at its start. Rows from before have none. */
	"ALTER TABLE attempts ADD COLUMN confinement TEXT;",

	/* 5: planning by the switch (switch.md). A task keeps the plan it runs
	 * with, whether planning degraded to the local plan, and who planned
	 * it; an intent keeps when madre finished with it, the status it
	 * stands at until its task ends, and notes on how it was planned.
	 * Rows from before: no plan, not degraded, no notes; their
	 * result_status is what was replied, their processed_at its time. */
	"ALTER TABLE tasks ADD COLUMN degraded INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE tasks ADD COLUMN provider TEXT;"
	"ALTER TABLE tasks ADD COLUMN model TEXT;"
	"ALTER TABLE tasks ADD COLUMN plan_json TEXT;"
	"ALTER TABLE intents_log ADD COLUMN processed_at INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE intents_log ADD COLUMN result_status TEXT;"
	"ALTER TABLE intents_log ADD COLUMN notes TEXT;"
	"UPDATE intents_log SET processed_at = created_at, result_status = status;",

	/* 6: the seed's daughter fields: the TTL it ran under (-1: a daughter
	 * from before, not recorded) and its execution context as JSON
	 * (tools_json: argv, user, seccomp profile, limits, namespaces). */
	"ALTER TABLE daughters ADD COLUMN ttl_seconds INTEGER NOT NULL DEFAULT -1;"
	"ALTER TABLE daughters ADD COLUMN tools_json TEXT;",

	/* 7: what holds a task back (issue 15). pauses: the whole queue
	 * (scope '*') or one task type, kept across restarts. task_deps: the
	 * tasks a task waits for, in the order given (seq), and whether any
	 * end will do (after_any, the same on each row of a task); looked up
	 * both ways, by the waiting task and by the one waited for. */
	"CREATE TABLE pauses (scope TEXT PRIMARY KEY, paused_at INTEGER NOT NULL, uid INTEGER NOT NULL)"
	" WITHOUT ROWID;"
	"CREATE TABLE task_deps ("
	" seq INTEGER PRIMARY KEY,"
	" task_id TEXT NOT NULL, after_id TEXT NOT NULL, after_any INTEGER NOT NULL,"
	" UNIQUE (task_id, after_id));"
	"CREATE INDEX task_deps_after ON task_deps(after_id, task_id);",

	/* 8 (numbered by the brief of issue 15; the lead puts it after 5..7):
	 * the caller's command line of a "command": "caller" task type, with
	 * its intent (the audit trail) and its task (what the runner runs).
	 * Rows from before have none. */
	"ALTER TABLE intents_log ADD COLUMN command_json TEXT;"
	"ALTER TABLE tasks ADD COLUMN command_json TEXT;",

	/* 9: the W3C traceparent an intent.submit gave, whose trace id its
	 * daughters' TRACEPARENT carries. Rows from before have none (their
	 * daughters' trace id is the correlation id). */
	"ALTER TABLE tasks ADD COLUMN traceparent TEXT;",

	/* 10: fewer b-trees per submit and per daughter (issue 12; what each
	 * statement writes is in daemon/store/README.md). Intents, daughters
	 * and attempts become WITHOUT ROWID tables, each row kept in the
	 * b-tree of its key, so no second b-tree holds the key: an intent by
	 * its correlation id (the idempotency lookup orders by id, time
	 * ordered, instead of by seq); a daughter by (task_id, id), which was
	 * daughters_task, with a unique index on its id beside it; an attempt
	 * by (task_id, number, id) with no index at all: a daughter's attempts
	 * are found among its task's, the attempts a crash left running
	 * through their daughters' status (daughters_status; both rows are
	 * written in one transaction). An attempt refers to its daughter by
	 * (task_id, id), which its own key serves when a daughter goes (by id
	 * alone, each would scan the attempts). Every row and column is
	 * copied; nothing else refers to these tables. */
	"CREATE TABLE intents_log_10 ("
	" correlation_id TEXT NOT NULL PRIMARY KEY,"
	" created_at INTEGER NOT NULL,"
	" uid INTEGER NOT NULL, gid INTEGER NOT NULL, pid INTEGER NOT NULL,"
	" source TEXT NOT NULL, intent_type TEXT NOT NULL,"
	" require_switch INTEGER NOT NULL, require_spawner INTEGER NOT NULL,"
	" priority INTEGER NOT NULL,"
	" status TEXT NOT NULL, mode TEXT NOT NULL, provider TEXT, error TEXT,"
	" task_id TEXT, idempotency_key TEXT, params_digest TEXT,"
	" processed_at INTEGER NOT NULL DEFAULT 0, result_status TEXT, notes TEXT,"
	" text TEXT, payload_json TEXT, envelope_json TEXT, command_json TEXT) WITHOUT ROWID;"
	"INSERT INTO intents_log_10 (correlation_id, created_at, uid, gid, pid, source, intent_type, require_switch,"
	" require_spawner, priority, status, mode, provider, error, task_id,"
	" idempotency_key, params_digest, processed_at, result_status, notes, text,"
	" payload_json, envelope_json, command_json)"
	" SELECT correlation_id, created_at, uid, gid, pid, source, intent_type, require_switch,"
	" require_spawner, priority, status, mode, provider, error, task_id,"
	" idempotency_key, params_digest, processed_at, result_status, notes, text,"
	" payload_json, envelope_json, command_json FROM intents_log;"
	"DROP TABLE intents_log;"
	"ALTER TABLE intents_log_10 RENAME TO intents_log;"
	"CREATE INDEX intents_log_idempotency ON intents_log(uid, idempotency_key)"
	" WHERE idempotency_key IS NOT NULL;"

	"CREATE TABLE daughters_10 ("
	" task_id TEXT NOT NULL REFERENCES tasks(id),"
	" id TEXT NOT NULL,"
	" name TEXT NOT NULL, purpose TEXT, status TEXT NOT NULL,"
	" mutation_level INTEGER NOT NULL, started_at INTEGER NOT NULL,"
	" last_heartbeat_at INTEGER NOT NULL, ended_at INTEGER NOT NULL,"
	" error_last TEXT, owner_uid INTEGER NOT NULL DEFAULT 0,"
	" ttl_seconds INTEGER NOT NULL DEFAULT -1, tools_json TEXT,"
	" PRIMARY KEY (task_id, id)) WITHOUT ROWID;"
	"INSERT INTO daughters_10 (task_id, id, name, purpose, status, mutation_level, started_at,"
	" last_heartbeat_at, ended_at, error_last, owner_uid, ttl_seconds, tools_json)"
	" SELECT task_id, id, name, purpose, status, mutation_level, started_at,"
	" last_heartbeat_at, ended_at, error_last, owner_uid, ttl_seconds, tools_json FROM daughters;"
	"CREATE TABLE attempts_10 ("
	" task_id TEXT NOT NULL REFERENCES tasks(id),"
	" number INTEGER NOT NULL,"
	" id TEXT NOT NULL,"
	" daughter_id TEXT NOT NULL,"
	" status TEXT NOT NULL, reason TEXT,"
	" started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL,"
	" exit_code INTEGER NOT NULL, signal INTEGER NOT NULL,"
	" cpu_usec INTEGER NOT NULL, memory_peak_bytes INTEGER NOT NULL,"
	" tokens_used_cli INTEGER NOT NULL, tokens_used_local INTEGER NOT NULL,"
	" switch_model_used TEXT, cli_provider_used TEXT, error_message TEXT,"
	" uid INTEGER NOT NULL DEFAULT 0, cgroup TEXT, reported_status TEXT, status_text TEXT,"
	" unapplied TEXT, result_json TEXT, confinement TEXT,"
	" PRIMARY KEY (task_id, number, id),"
	" FOREIGN KEY (task_id, daughter_id) REFERENCES daughters_10(task_id, id)) WITHOUT ROWID;"
	"INSERT INTO attempts_10 (task_id, number, id, daughter_id, status, reason, started_at, finished_at,"
	" exit_code, signal, cpu_usec, memory_peak_bytes, tokens_used_cli,"
	" tokens_used_local, switch_model_used, cli_provider_used, error_message, uid,"
	" cgroup, reported_status, status_text, unapplied, result_json, confinement)"
	" SELECT task_id, number, id, daughter_id, status, reason, started_at, finished_at,"
	" exit_code, signal, cpu_usec, memory_peak_bytes, tokens_used_cli,"
	" tokens_used_local, switch_model_used, cli_provider_used, error_message, uid,"
	" cgroup, reported_status, status_text, unapplied, result_json, confinement FROM attempts;"
	/* Children first; renaming daughters_10 renames the reference to it. */
	"DROP TABLE attempts;"
	"DROP TABLE daughters;"
	"ALTER TABLE daughters_10 RENAME TO daughters;"
	"ALTER TABLE attempts_10 RENAME TO attempts;"
	"CREATE UNIQUE INDEX daughters_id ON daughters(id);"
	"CREATE INDEX daughters_status ON daughters(status, id);"
	"CREATE INDEX daughters_owner ON daughters(owner_uid, id);",

	/* 11: the node that ran an attempt (vx11d --node; issue 13, a fleet
	 * sharing one queue). Attempts made before have none (NULL). No
	 * index: nothing looks attempts up by node here, and issue 12 counts
	 * the b-tree entries a daughter writes. */
	"ALTER TABLE attempts ADD COLUMN node TEXT;",

	/* 12: nothing here. PostgreSQL's step 12 tells the other nodes of a
	 * fleet about each task status change; the numbers stay one. */
	";",
};
const unsigned store_n_migrations = ELEMENTSOF(store_migrations);

/* ---- Column tables: how a record maps onto a row ---- */

_Static_assert(sizeof(pid_t) == sizeof(int), "pid_t is read as an int");
_Static_assert(sizeof(uid_t) == sizeof(uint32_t) && sizeof(gid_t) == sizeof(uint32_t), "ids are 32 bits");

#define C(type, rec, field, flags) {#field, type, offsetof(rec, field), flags, NULL}
/* A column read through an expression rather than as stored. */
#define CX(type, rec, field, flags, expr) {#field, type, offsetof(rec, field), flags, expr}

/* The word an intent stands at while its task is kept (result.get's words,
 * manager_result_status()), from the task's status. */
#define RESULT_STATUS_OF(status)                                                                           \
	"CASE " status " WHEN 'running' THEN 'RUNNING' WHEN 'completed' THEN 'DONE'"                        \
	" WHEN 'failed' THEN 'ERROR' WHEN 'expired' THEN 'EXPIRED' WHEN 'cancelled' THEN 'CANCELLED'"      \
	" ELSE 'QUEUED' END"

static const Column intent_columns[] = {
	C(COL_ID, IntentRecord, correlation_id, COL_KEY),
	C(COL_U64, IntentRecord, created_at, 0),
	C(COL_U32, IntentRecord, uid, 0),
	C(COL_U32, IntentRecord, gid, 0),
	C(COL_INT, IntentRecord, pid, 0),
	C(COL_STR, IntentRecord, source, 0),
	C(COL_STR, IntentRecord, intent_type, 0),
	C(COL_STR, IntentRecord, text, 0),
	C(COL_STR, IntentRecord, payload_json, 0),
	C(COL_BOOL, IntentRecord, require_switch, 0),
	C(COL_BOOL, IntentRecord, require_spawner, 0),
	C(COL_INT, IntentRecord, priority, 0),
	C(COL_STR, IntentRecord, status, COL_MUTABLE),
	C(COL_STR, IntentRecord, mode, COL_MUTABLE),
	C(COL_STR, IntentRecord, provider, COL_MUTABLE),
	C(COL_STR, IntentRecord, error, COL_MUTABLE),
	C(COL_STR, IntentRecord, task_id, 0),
	C(COL_STR, IntentRecord, idempotency_key, 0),
	C(COL_STR, IntentRecord, envelope_json, COL_MUTABLE),
	C(COL_STR, IntentRecord, params_digest, 0),
	C(COL_U64, IntentRecord, processed_at, COL_MUTABLE),
	/* Not written as the task moves on (two rows per daughter): read from
	 * the task while it is kept, and written once when it goes (prune). */
	CX(COL_STR, IntentRecord, result_status, COL_MUTABLE,
	   "coalesce((SELECT " RESULT_STATUS_OF("t.status") " FROM tasks t WHERE t.id = intents_log.task_id),"
	   " result_status)"),
	C(COL_STR, IntentRecord, notes, COL_MUTABLE),
	C(COL_STR, IntentRecord, command_json, 0),
};

/* id first: the task list merge compares column 0. */
static const Column task_columns[] = {
	C(COL_ID, Task, id, COL_KEY),
	C(COL_ID, Task, intent_id, 0),
	C(COL_STR, Task, source, 0),
	C(COL_INT, Task, priority, 0),
	C(COL_STATUS, Task, status, COL_MUTABLE),
	C(COL_STR, Task, task_type, COL_MUTABLE), /* a plan may re-route it */
	C(COL_STR, Task, description, 0),
	C(COL_STR, Task, payload_json, 0),
	C(COL_U32, Task, uid, 0),
	C(COL_U64, Task, created_at, 0),
	C(COL_U64, Task, updated_at, COL_MUTABLE),
	C(COL_INT, Task, current_retry, COL_MUTABLE),
	C(COL_INT, Task, max_retries, 0),
	C(COL_INT, Task, mutation_level, COL_MUTABLE),
	C(COL_U64, Task, next_attempt_at, COL_MUTABLE),
	C(COL_I64, Task, ttl_seconds, 0),
	C(COL_STR, Task, result_json, COL_MUTABLE),
	C(COL_STR, Task, traceparent, 0),
	C(COL_STR, Task, command_json, 0),
	C(COL_U64, Task, seq, COL_ROWID),
	C(COL_BOOL, Task, degraded, COL_MUTABLE),
	C(COL_STR, Task, provider, COL_MUTABLE),
	C(COL_STR, Task, model, COL_MUTABLE),
	C(COL_STR, Task, plan_json, COL_MUTABLE),
};

static const Column daughter_columns[] = {
	C(COL_ID, Daughter, id, COL_KEY),
	C(COL_ID, Daughter, task_id, COL_KEY), /* with id, the key of its row */
	C(COL_STR, Daughter, name, COL_MUTABLE),
	C(COL_STR, Daughter, purpose, COL_MUTABLE),
	C(COL_STR, Daughter, status, COL_MUTABLE),
	C(COL_INT, Daughter, mutation_level, COL_MUTABLE),
	C(COL_U64, Daughter, started_at, COL_MUTABLE),
	C(COL_U64, Daughter, last_heartbeat_at, COL_MUTABLE),
	C(COL_U64, Daughter, ended_at, COL_MUTABLE),
	C(COL_STR, Daughter, error_last, COL_MUTABLE),
	C(COL_U32, Daughter, owner_uid, 0),
	C(COL_I64, Daughter, ttl_seconds, COL_MUTABLE),
	C(COL_STR, Daughter, tools_json, COL_MUTABLE),
};

static const Column attempt_columns[] = {
	C(COL_ID, Attempt, id, COL_KEY),
	C(COL_ID, Attempt, daughter_id, 0),
	C(COL_ID, Attempt, task_id, COL_KEY), /* with number and id, the key of its row */
	C(COL_INT, Attempt, number, COL_KEY), /* fixed at insert */
	C(COL_STR, Attempt, status, COL_MUTABLE),
	C(COL_STR, Attempt, reason, COL_MUTABLE),
	C(COL_U64, Attempt, started_at, COL_MUTABLE),
	C(COL_U64, Attempt, finished_at, COL_MUTABLE),
	C(COL_INT, Attempt, exit_code, COL_MUTABLE),
	C(COL_INT, Attempt, signal, COL_MUTABLE),
	C(COL_U64, Attempt, cpu_usec, COL_MUTABLE),
	C(COL_U64, Attempt, memory_peak_bytes, COL_MUTABLE),
	C(COL_I64, Attempt, tokens_used_cli, COL_MUTABLE),
	C(COL_I64, Attempt, tokens_used_local, COL_MUTABLE),
	C(COL_STR, Attempt, switch_model_used, COL_MUTABLE),
	C(COL_STR, Attempt, cli_provider_used, COL_MUTABLE),
	C(COL_STR, Attempt, error_message, COL_MUTABLE),
	C(COL_U32, Attempt, uid, COL_MUTABLE),
	C(COL_STR, Attempt, cgroup, COL_MUTABLE),
	C(COL_STR, Attempt, reported_status, COL_MUTABLE),
	C(COL_STR, Attempt, status_text, COL_MUTABLE),
	C(COL_STR, Attempt, unapplied, COL_MUTABLE),
	C(COL_STR, Attempt, result_json, COL_MUTABLE),
	C(COL_STR, Attempt, confinement, COL_MUTABLE),
	C(COL_STR, Attempt, node, 0), /* fixed at insert */
};

#undef C

static int call_intent(AnyCallback cb, const AnyRecord *r, void *userdata)
{
	return cb.intent(&r->intent, userdata);
}
static int call_task(AnyCallback cb, const AnyRecord *r, void *userdata)
{
	return cb.task(&r->task, userdata);
}
static int call_daughter(AnyCallback cb, const AnyRecord *r, void *userdata)
{
	return cb.daughter(&r->daughter, userdata);
}
static int call_attempt(AnyCallback cb, const AnyRecord *r, void *userdata)
{
	return cb.attempt(&r->attempt, userdata);
}

const Table store_table_intents = {"intents_log", intent_columns, ELEMENTSOF(intent_columns), call_intent};
const Table store_table_tasks = {"tasks", task_columns, ELEMENTSOF(task_columns), call_task};
const Table store_table_daughters = {"daughters", daughter_columns, ELEMENTSOF(daughter_columns), call_daughter};
const Table store_table_attempts = {"attempts", attempt_columns, ELEMENTSOF(attempt_columns), call_attempt};

/* ---- Statements ---- */

typedef enum SqlKind {
	SQL_PLAIN,  /* sql as is */
	SQL_SELECT, /* "SELECT <columns> FROM <table> " sql */
	SQL_INSERT, /* generated */
	SQL_UPDATE, /* generated: COL_MUTABLE columns, WHERE the COL_KEY one */
} SqlKind;

typedef struct StmtDef {
	SqlKind kind;
	const Table *table;
	const char *sql;
} StmtDef;

/* Parameters keep one numbering per family so one binding fits all of it:
 * task lists ?1 status ?2 after ?3 source ?4 limit ?5 uid ?6 lowest id
 * ?7 since ?8 until ?9 task type, and task counts ?10..?17 the statuses
 * counted (NULL for the others); daughter lists ?1 task ?2 status ?3 limit
 * ?4 owner uid. An empty "after" is below every id, "~" above every id (ids
 * are lowercase hex and '-'), and so "?1 || '~'" above every id with the prefix ?1. */
#define TASK_FILTER                                                                                        \
	" AND id >= ?6 AND (?3 IS NULL OR source = ?3) AND (?9 IS NULL OR task_type = ?9)"                 \
	" AND created_at >= ?7 AND created_at < ?8"
#define TASK_LIST_TAIL " AND id > ?2" TASK_FILTER " ORDER BY id LIMIT ?4"
#define TASK_LIST_TAIL_DESC " AND id < ?2" TASK_FILTER " ORDER BY id DESC LIMIT ?4"
#define TASK_STATUSES " status IN (?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
#define INTENT_LIST_WHERE "(?2 IS NULL OR uid = ?2)"

static const StmtDef stmt_defs[_STMT_MAX] = {
	[STMT_BEGIN] = {SQL_PLAIN, NULL, "BEGIN IMMEDIATE"},
	[STMT_COMMIT] = {SQL_PLAIN, NULL, "COMMIT"},
	[STMT_ROLLBACK] = {SQL_PLAIN, NULL, "ROLLBACK"},
	[STMT_INTENT_INSERT] = {SQL_INSERT, &store_table_intents, NULL},
	[STMT_INTENT_GET] = {SQL_SELECT, &store_table_intents, "WHERE correlation_id = ?1"},
	[STMT_INTENT_IDEMPOTENT] = {SQL_SELECT, &store_table_intents,
				    "WHERE uid = ?1 AND idempotency_key = ?2 ORDER BY correlation_id LIMIT 1"},
	[STMT_INTENT_LIST] = {SQL_SELECT, &store_table_intents,
			      "WHERE correlation_id > ?1 AND " INTENT_LIST_WHERE " ORDER BY correlation_id LIMIT ?3"},
	[STMT_INTENT_LIST_DESC] = {SQL_SELECT, &store_table_intents,
				   "WHERE correlation_id < ?1 AND " INTENT_LIST_WHERE
				   " ORDER BY correlation_id DESC LIMIT ?3"},
	[STMT_INTENT_COUNT] = {SQL_PLAIN, NULL, "SELECT count(*) FROM intents_log"},
	[STMT_INTENT_UPDATE] = {SQL_UPDATE, &store_table_intents, NULL},
	[STMT_INTENT_SET_RESULT] = {SQL_PLAIN, NULL,
				    "UPDATE intents_log SET result_status = ?2 WHERE correlation_id = ?1"},
	[STMT_TASK_INSERT] = {SQL_INSERT, &store_table_tasks, NULL},
	[STMT_TASK_GET] = {SQL_SELECT, &store_table_tasks, "WHERE id = ?1"},
	[STMT_TASK_UPDATE] = {SQL_UPDATE, &store_table_tasks, NULL},
	[STMT_TASK_LIST] = {SQL_SELECT, &store_table_tasks, "WHERE 1" TASK_LIST_TAIL},
	[STMT_TASK_LIST_DESC] = {SQL_SELECT, &store_table_tasks, "WHERE 1" TASK_LIST_TAIL_DESC},
	[STMT_TASK_COUNT] = {SQL_PLAIN, NULL, "SELECT status, count(*) FROM tasks GROUP BY status"},
	/* For daemon.metrics only (a scrape, not the request path): one pass over tasks. */
	[STMT_TASK_COUNT_TYPE] = {SQL_PLAIN, NULL,
				  "SELECT task_type, status, count(*) FROM tasks GROUP BY task_type, status"},
	/* A seek per status into tasks_status(status, id) or tasks_uid(uid,
	 * status, id), then its id range, reading the rows a filter needs; by
	 * status and owner alone, the index entries are all it counts. */
	[STMT_TASK_TOTAL] = {SQL_PLAIN, NULL, "SELECT count(*) FROM tasks WHERE" TASK_STATUSES TASK_FILTER},
	[STMT_TASK_TOTAL_UID] = {SQL_PLAIN, NULL,
				 "SELECT count(*) FROM tasks WHERE uid = ?5 AND" TASK_STATUSES TASK_FILTER},
	[STMT_TASK_TOTAL_STATUS] = {SQL_PLAIN, NULL, "SELECT count(*) FROM tasks WHERE" TASK_STATUSES},
	[STMT_TASK_TOTAL_STATUS_UID] = {SQL_PLAIN, NULL, "SELECT count(*) FROM tasks WHERE uid = ?5 AND" TASK_STATUSES},
	/* An attempt that never started (spawn_failed) has no start. */
	[STMT_TASK_FIRST_START] = {SQL_PLAIN, NULL,
				   "SELECT started_at FROM attempts WHERE task_id = ?1 AND started_at > 0"
				   " ORDER BY number, id LIMIT 1"},
	/* Both ranges are index ranges (the UNIQUE ids); UNION drops the row a
	 * task and its own intent both give, the caller merges the rest. */
	[STMT_ID_PREFIX] = {SQL_PLAIN, NULL,
			    "SELECT correlation_id, task_id FROM intents_log"
			    " WHERE correlation_id >= ?1 AND correlation_id < ?1 || '~' AND (?2 IS NULL OR uid = ?2)"
			    " UNION SELECT intent_id, id FROM tasks"
			    " WHERE id >= ?1 AND id < ?1 || '~' AND (?2 IS NULL OR uid = ?2)"
			    " ORDER BY 1, 2 LIMIT ?3"},
	[STMT_TASK_LIST_STATUS ... STMT_TASK_LIST_UID - 1] = {SQL_SELECT, &store_table_tasks,
							       "WHERE status = ?1" TASK_LIST_TAIL},
	[STMT_TASK_LIST_UID ... STMT_TASK_LIST_STATUS_DESC - 1] = {SQL_SELECT, &store_table_tasks,
								    "WHERE uid = ?5 AND status = ?1" TASK_LIST_TAIL},
	[STMT_TASK_LIST_STATUS_DESC ... STMT_TASK_LIST_UID_DESC - 1] = {SQL_SELECT, &store_table_tasks,
									 "WHERE status = ?1" TASK_LIST_TAIL_DESC},
	[STMT_TASK_LIST_UID_DESC ... STMT_DAUGHTER_INSERT - 1] = {SQL_SELECT, &store_table_tasks,
								   "WHERE uid = ?5 AND status = ?1"
								   TASK_LIST_TAIL_DESC},
	[STMT_DAUGHTER_INSERT] = {SQL_INSERT, &store_table_daughters, NULL},
	[STMT_DAUGHTER_UPDATE] = {SQL_UPDATE, &store_table_daughters, NULL},
	/* Not the whole row: status is in an index, and a heartbeat changes
	 * only this. */
	[STMT_DAUGHTER_HEARTBEAT] = {SQL_PLAIN, NULL, "UPDATE daughters SET last_heartbeat_at = ?2 WHERE id = ?1"},
	[STMT_DAUGHTER_LIST] = {SQL_SELECT, &store_table_daughters, "ORDER BY id LIMIT ?3"},
	[STMT_DAUGHTER_LIST_TASK] = {SQL_SELECT, &store_table_daughters,
				     "WHERE task_id = ?1 AND (?2 IS NULL OR status = ?2) ORDER BY id LIMIT ?3"},
	[STMT_DAUGHTER_LIST_STATUS] = {SQL_SELECT, &store_table_daughters, "WHERE status = ?2 ORDER BY id LIMIT ?3"},
	[STMT_DAUGHTER_LIST_OWNER] = {SQL_SELECT, &store_table_daughters,
				      "WHERE owner_uid = ?4 AND (?2 IS NULL OR status = ?2) ORDER BY id LIMIT ?3"},
	[STMT_ATTEMPT_INSERT] = {SQL_INSERT, &store_table_attempts, NULL},
	[STMT_ATTEMPT_UPDATE] = {SQL_UPDATE, &store_table_attempts, NULL},
	/* Through attempts_task: a daughter's attempts are among its task's. */
	[STMT_ATTEMPT_LIST] = {SQL_SELECT, &store_table_attempts,
			       "WHERE task_id = (SELECT task_id FROM daughters WHERE id = ?1) AND daughter_id = ?1"
			       " ORDER BY number, id"},
	[STMT_ATTEMPT_LIST_TASK] = {SQL_SELECT, &store_table_attempts, "WHERE task_id = ?1 ORDER BY number, id"},
	/* Through daughters_status: an attempt runs while its daughter does
	 * (their rows are written together), and few daughters run at once. */
	[STMT_ATTEMPT_LIST_RUNNING] = {SQL_SELECT, &store_table_attempts,
				       "WHERE task_id IN (SELECT task_id FROM daughters WHERE status IN ('spawning', 'running'))"
				       " AND daughter_id IN (SELECT id FROM daughters WHERE status IN ('spawning', 'running'))"
				       " AND status = 'running' ORDER BY id"},
	[STMT_PAUSE_SET] = {SQL_PLAIN, NULL, "INSERT OR REPLACE INTO pauses (scope, paused_at, uid) VALUES (?1, ?2, ?3)"},
	[STMT_PAUSE_CLEAR] = {SQL_PLAIN, NULL, "DELETE FROM pauses WHERE ?1 IS NULL OR scope = ?1"},
	[STMT_PAUSE_LIST] = {SQL_PLAIN, NULL, "SELECT scope, paused_at, uid FROM pauses ORDER BY scope"},
	[STMT_DEP_INSERT] = {SQL_PLAIN, NULL,
			     "INSERT OR IGNORE INTO task_deps (task_id, after_id, after_any) VALUES (?1, ?2, ?3)"},
	[STMT_DEP_LIST] = {SQL_PLAIN, NULL, "SELECT after_id, after_any FROM task_deps WHERE task_id = ?1 ORDER BY seq"},
	[STMT_DEP_DEPENDENTS] = {SQL_PLAIN, NULL, "SELECT task_id FROM task_deps WHERE after_id = ?1 ORDER BY task_id"},
	/* Finished tasks of one status (?1), oldest first, ?4 at most: those
	 * that ended before ?2, looked for among those made before the id ?5
	 * (a task ends after it is made: an index range), or those older than
	 * the newest ?3. Never one a task still waits for, nor one holding the
	 * highest seq of tasks (which keeps seq increasing). */
#define PRUNE_GUARDS                                                                                       \
	" AND seq < (SELECT max(seq) FROM tasks)"                                                          \
	" AND NOT EXISTS (SELECT 1 FROM task_deps d WHERE d.after_id = tasks.id AND (SELECT w.status"      \
	" FROM tasks w WHERE w.id = d.task_id) IN ('pending', 'planning', 'running', 'retrying'))"         \
	" ORDER BY id LIMIT ?4"
	[STMT_PRUNE_TASKS_AGE] = {SQL_PLAIN, NULL,
				  "SELECT id FROM tasks WHERE status = ?1 AND id < ?5 AND updated_at < ?2" PRUNE_GUARDS},
	[STMT_PRUNE_TASKS_COUNT] = {SQL_PLAIN, NULL,
				    "SELECT id FROM tasks WHERE status = ?1 AND id <= (SELECT id FROM tasks"
				    " WHERE status = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?3)" PRUNE_GUARDS},
	[STMT_TASK_DELETE_ATTEMPTS] = {SQL_PLAIN, NULL, "DELETE FROM attempts WHERE task_id = ?1"},
	[STMT_TASK_DELETE_DAUGHTERS] = {SQL_PLAIN, NULL, "DELETE FROM daughters WHERE task_id = ?1"},
	[STMT_TASK_DELETE_DEPS] = {SQL_PLAIN, NULL, "DELETE FROM task_deps WHERE task_id = ?1"},
	/* What its intent's result_status read from the task, kept with the intent. */
	[STMT_TASK_DELETE_KEEP_RESULT] = {SQL_PLAIN, NULL,
					  "UPDATE intents_log SET result_status = (SELECT " RESULT_STATUS_OF("status")
					  " FROM tasks WHERE id = ?1)"
					  " WHERE correlation_id = (SELECT intent_id FROM tasks WHERE id = ?1)"
					  " AND task_id = ?1"},
	[STMT_TASK_DELETE] = {SQL_PLAIN, NULL, "DELETE FROM tasks WHERE id = ?1"},
	/* Audit rows made before the id ?1, or older than the newest ?2 (both
	 * ranges of the table's key), ?3 at most; never one whose task is still
	 * kept, nor the newest. */
#define PRUNE_INTENT_GUARDS                                                                                \
	" AND correlation_id < (SELECT max(correlation_id) FROM intents_log)"                              \
	" AND (task_id IS NULL OR NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = i.task_id))"
	[STMT_PRUNE_INTENTS_AGE] = {SQL_PLAIN, NULL,
				    "DELETE FROM intents_log WHERE correlation_id IN (SELECT correlation_id"
				    " FROM intents_log i WHERE correlation_id < ?1" PRUNE_INTENT_GUARDS
				    " ORDER BY correlation_id LIMIT ?3)"},
	[STMT_PRUNE_INTENTS_COUNT] = {SQL_PLAIN, NULL,
				      "DELETE FROM intents_log WHERE correlation_id IN (SELECT correlation_id FROM intents_log i"
				      " WHERE correlation_id <= (SELECT correlation_id FROM intents_log"
				      " ORDER BY correlation_id DESC LIMIT 1 OFFSET ?2)"
				      PRUNE_INTENT_GUARDS " ORDER BY correlation_id LIMIT ?3)"},
	/* Never over an end: a cancel that lost the race to it changes nothing. */
	[STMT_TASK_CANCEL] = {SQL_PLAIN, NULL,
			      "UPDATE tasks SET status = 'cancelled', updated_at = ?2, next_attempt_at = 0"
			      " WHERE id = ?1 AND status NOT IN ('completed', 'failed', 'expired', 'cancelled')"},
};

typedef enum PutMode {
	PUT_NAMES,  /* a, b */
	PUT_SELECT, /* a, b, or the expression a column is read through */
	PUT_PARAMS, /* ?1, ?2 */
	PUT_ASSIGN, /* a = ?1, b = ?2 */
	PUT_MATCH,  /* a = ?1 AND b = ?2 */
} PutMode;

/* The columns that have one of want (any if 0) and none of skip. A column's
 * parameter is its position, as store_bind_row() expects. */
static void put_columns(FILE *f, const Table *t, unsigned want, unsigned skip, PutMode mode)
{
	const char *sep = "";

	for (unsigned i = 0; i < t->n_columns; i++) {
		const Column *c = &t->columns[i];

		if ((want && !(c->flags & want)) || (c->flags & skip))
			continue;
		if (mode == PUT_SELECT && c->select)
			fprintf(f, "%s%s", sep, c->select);
		else if (mode == PUT_NAMES || mode == PUT_SELECT)
			fprintf(f, "%s%s", sep, c->name);
		else if (mode == PUT_PARAMS)
			fprintf(f, "%s?%u", sep, i + 1);
		else
			fprintf(f, "%s%s = ?%u", sep, c->name, i + 1);
		sep = mode == PUT_MATCH ? " AND " : ", ";
	}
}

char *store_statement_sql(unsigned i)
{
	const StmtDef *d = &stmt_defs[i];
	const Table *t = d->table;
	char *sql = NULL;
	size_t size = 0;
	FILE *f;

	if (d->kind == SQL_PLAIN)
		return strdup(d->sql);
	f = open_memstream(&sql, &size);
	if (!f)
		return NULL;
	switch (d->kind) {
	case SQL_SELECT:
		fputs("SELECT ", f);
		put_columns(f, t, 0, 0, PUT_SELECT);
		fprintf(f, " FROM %s %s", t->name, d->sql);
		break;
	case SQL_INSERT:
		fprintf(f, "INSERT INTO %s (", t->name);
		put_columns(f, t, 0, COL_ROWID, PUT_NAMES);
		fputs(") VALUES (", f);
		put_columns(f, t, 0, COL_ROWID, PUT_PARAMS);
		fputs(")", f);
		break;
	case SQL_UPDATE:
		fprintf(f, "UPDATE %s SET ", t->name);
		put_columns(f, t, COL_MUTABLE, 0, PUT_ASSIGN);
		fputs(" WHERE ", f);
		put_columns(f, t, COL_KEY, 0, PUT_MATCH);
		break;
	default:
		abort();
	}
	if (fclose(f) != 0) {
		free(sql);
		return NULL;
	}
	return sql;
}

/* ---- Rows: records to parameters and back ---- */

int store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

int store_bind_row(Store *s, sqlite3_stmt *st, const Table *t, const void *rec, unsigned flags)
{
	for (unsigned i = 0; i < t->n_columns; i++) {
		const Column *c = &t->columns[i];
		const char *p = (const char *)rec + c->offset;
		int rc, n = (int)i + 1;

		if (c->flags & COL_ROWID || (flags && !(c->flags & flags)))
			continue;
		switch (c->type) {
		case COL_ID:
			rc = sqlite3_bind_text(st, n, p, -1, SQLITE_STATIC);
			break;
		case COL_STR:
			rc = store_bind_text(st, n, *(char *const *)p);
			break;
		case COL_INT:
			rc = sqlite3_bind_int(st, n, *(const int *)p);
			break;
		case COL_BOOL:
			rc = sqlite3_bind_int(st, n, *(const bool *)p);
			break;
		case COL_U32:
			rc = sqlite3_bind_int64(st, n, *(const uint32_t *)p);
			break;
		case COL_I64:
			rc = sqlite3_bind_int64(st, n, *(const int64_t *)p);
			break;
		case COL_U64:
			rc = sqlite3_bind_int64(st, n, (int64_t) * (const uint64_t *)p);
			break;
		case COL_STATUS: {
			const char *name = task_status_to_string(*(const TaskStatus *)p);
			if (!name)
				return store_fail(s, -EINVAL, "%s.%s: invalid task status %d", t->name,
						    c->name, (int)*(const TaskStatus *)p);
			rc = sqlite3_bind_text(st, n, name, -1, SQLITE_STATIC);
			break;
		}
		default:
			abort();
		}
		if (rc != SQLITE_OK)
			return store_fail_sqlite(s, rc, "bind");
	}
	return 0;
}

static void free_row(const Table *t, void *rec)
{
	for (unsigned i = 0; i < t->n_columns; i++)
		if (t->columns[i].type == COL_STR) {
			char **p = (char **)((char *)rec + t->columns[i].offset);
			free(*p);
			*p = NULL;
		}
}

int store_read_row(Store *s, sqlite3_stmt *st, const Table *t, void *rec, bool copy)
{
	for (unsigned i = 0; i < t->n_columns; i++) {
		const Column *c = &t->columns[i];
		char *p = (char *)rec + c->offset;
		int n = (int)i;

		switch (c->type) {
		case COL_ID: {
			const char *v = (const char *)sqlite3_column_text(st, n);
			size_t len = v ? (size_t)sqlite3_column_bytes(st, n) : 0;

			if (len >= ID_STRING_MAX) {
				store_fail(s, 0, "%s.%s: id of %zu bytes", t->name, c->name, len);
				goto fail;
			}
			memcpy(p, v ?: "", len);
			p[len] = 0;
			break;
		}
		case COL_STR: {
			char *v = NULL;

			if (sqlite3_column_type(st, n) != SQLITE_NULL) {
				v = (char *)sqlite3_column_text(st, n);
				if (v && copy)
					v = strdup(v);
				if (!v) {
					if (copy)
						free_row(t, rec);
					return store_fail(s, -ENOMEM, "%s.%s: out of memory", t->name, c->name);
				}
			}
			*(char **)p = v;
			break;
		}
		case COL_INT:
			*(int *)p = sqlite3_column_int(st, n);
			break;
		case COL_BOOL:
			*(bool *)p = sqlite3_column_int(st, n) != 0;
			break;
		case COL_U32:
			*(uint32_t *)p = (uint32_t)sqlite3_column_int64(st, n);
			break;
		case COL_I64:
			*(int64_t *)p = sqlite3_column_int64(st, n);
			break;
		case COL_U64:
			*(uint64_t *)p = (uint64_t)sqlite3_column_int64(st, n);
			break;
		case COL_STATUS: {
			const char *v = (const char *)sqlite3_column_text(st, n);
			TaskStatus ts = task_status_from_string(v);

			if (ts < 0) {
				store_fail(s, 0, "%s.%s: unknown task status '%s'", t->name, c->name,
					     v ? v : "(null)");
				goto fail;
			}
			*(TaskStatus *)p = ts;
			break;
		}
		default:
			abort();
		}
	}
	return 0;
fail:
	if (copy)
		free_row(t, rec);
	return -EBADMSG;
}
