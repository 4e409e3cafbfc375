/* SPDX-License-Identifier: MIT */
/*
 * What the PostgreSQL store keeps (FLEET-DESIGN.md 2.1), the SQL that reads
 * and writes it, and how a record maps onto parameters and result columns.
 *
 * Step numbers are SQLite's (store-sqlite-schema.c): steps 1..10 have
 * nothing to do here, step 11 creates the whole schema at once, with the
 * fleet's columns and tables (claims, leases, output tails) that later work
 * items fill, so the schema does not change for them. Types: ids text
 * COLLATE "C" (byte order, as SQLite's, so `id > $after` pages and a prefix
 * is an index range); times bigint realtime usec; JSON text (an envelope must
 * come back byte for byte); uid/gid bigint.
 *
 * Every parameter is sent as text; statements written by hand cast each one,
 * so that a parameter first seen in `$n IS NULL` has a type.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-pg-internal.h"

/* Released steps never change; a new schema is a new step, in both backends. */
static const char *const pg_migrations[] = {
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	/* 11: SQLite's steps 1..11 (11: the node that ran each attempt), the
	 * node that wrote each intent and daughter, and the fleet's claims and
	 * leases. */
	"CREATE FUNCTION vx11_now() RETURNS bigint LANGUAGE sql STABLE"
	" AS $$ SELECT (extract(epoch FROM now()) * 1000000)::bigint $$;"
	"CREATE TABLE intents_log ("
	" correlation_id text COLLATE \"C\" PRIMARY KEY, created_at bigint NOT NULL,"
	" uid bigint NOT NULL, gid bigint NOT NULL, pid integer NOT NULL, source text NOT NULL,"
	" intent_type text NOT NULL, require_switch boolean NOT NULL, require_spawner boolean NOT NULL,"
	" priority smallint NOT NULL, status text NOT NULL, mode text NOT NULL, provider text, error text,"
	" task_id text COLLATE \"C\", idempotency_key text, params_digest text,"
	" processed_at bigint NOT NULL DEFAULT 0, result_status text, notes text, text text,"
	" payload_json text, envelope_json text, command_json text,"
	" node text NOT NULL);"
	/* Not unique yet, as SQLite's: a repeat may be logged with its key and
	 * the first wins. The fleet's keyed submit (design 2.8) makes it so. */
	"CREATE INDEX intents_log_idempotency ON intents_log (uid, idempotency_key)"
	" WHERE idempotency_key IS NOT NULL;"
	"CREATE TABLE tasks ("
	" seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, id text COLLATE \"C\" NOT NULL UNIQUE,"
	" intent_id text COLLATE \"C\" NOT NULL, source text NOT NULL, priority smallint NOT NULL,"
	" status text NOT NULL, task_type text NOT NULL, uid bigint NOT NULL,"
	" created_at bigint NOT NULL, updated_at bigint NOT NULL, current_retry integer NOT NULL,"
	" max_retries integer NOT NULL, mutation_level integer NOT NULL, next_attempt_at bigint NOT NULL,"
	" ttl_seconds bigint NOT NULL, description text, payload_json text, result_json text,"
	" command_json text, traceparent text, degraded boolean NOT NULL DEFAULT false,"
	" provider text, model text, plan_json text,"
	" claimed_by text, claim_seq integer NOT NULL DEFAULT 0, claimed_at bigint NOT NULL DEFAULT 0);"
	"CREATE INDEX tasks_status ON tasks (status, id);"
	"CREATE INDEX tasks_uid ON tasks (uid, status, id);"
	"CREATE INDEX tasks_runnable ON tasks (priority, seq)"
	" WHERE claimed_by IS NULL AND status IN ('pending', 'retrying');"
	"CREATE INDEX tasks_retry ON tasks (next_attempt_at) WHERE claimed_by IS NULL AND status = 'retrying';"
	"CREATE INDEX tasks_claimed ON tasks (claimed_by) WHERE claimed_by IS NOT NULL;"
	"CREATE TABLE daughters ("
	" task_id text COLLATE \"C\" NOT NULL REFERENCES tasks (id), id text COLLATE \"C\" NOT NULL,"
	" name text NOT NULL, purpose text, status text NOT NULL, mutation_level integer NOT NULL,"
	" started_at bigint NOT NULL, last_heartbeat_at bigint NOT NULL, ended_at bigint NOT NULL,"
	" error_last text, owner_uid bigint NOT NULL DEFAULT 0, ttl_seconds bigint NOT NULL DEFAULT -1,"
	" tools_json text, node text NOT NULL, PRIMARY KEY (task_id, id));"
	"CREATE UNIQUE INDEX daughters_id ON daughters (id);"
	"CREATE INDEX daughters_status ON daughters (status, id);"
	"CREATE INDEX daughters_owner ON daughters (owner_uid, id);"
	"CREATE TABLE attempts ("
	" task_id text COLLATE \"C\" NOT NULL, number integer NOT NULL, id text COLLATE \"C\" NOT NULL,"
	" daughter_id text COLLATE \"C\" NOT NULL, status text NOT NULL, reason text,"
	" started_at bigint NOT NULL, finished_at bigint NOT NULL, exit_code integer NOT NULL,"
	" signal integer NOT NULL, cpu_usec bigint NOT NULL, memory_peak_bytes bigint NOT NULL,"
	" tokens_used_cli bigint NOT NULL, tokens_used_local bigint NOT NULL, switch_model_used text,"
	" cli_provider_used text, error_message text, uid bigint NOT NULL DEFAULT 0, cgroup text,"
	" reported_status text, status_text text, unapplied text, result_json text, confinement text,"
	" node text, claim_seq integer NOT NULL DEFAULT 0,"
	" PRIMARY KEY (task_id, number, id),"
	" FOREIGN KEY (task_id, daughter_id) REFERENCES daughters (task_id, id));"
	"CREATE TABLE attempt_logs ("
	" task_id text COLLATE \"C\" NOT NULL, number integer NOT NULL, stream text NOT NULL,"
	" node text NOT NULL, size bigint NOT NULL, tail bytea NOT NULL,"
	" PRIMARY KEY (task_id, number, stream));"
	"CREATE TABLE pauses (scope text PRIMARY KEY, paused_at bigint NOT NULL, uid bigint NOT NULL);"
	"CREATE TABLE task_deps ("
	" seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, task_id text COLLATE \"C\" NOT NULL,"
	" after_id text COLLATE \"C\" NOT NULL, after_any boolean NOT NULL, UNIQUE (task_id, after_id));"
	"CREATE INDEX task_deps_after ON task_deps (after_id, task_id);"
	"CREATE TABLE nodes ("
	" name text PRIMARY KEY, incarnation bigint NOT NULL,"
	" lease_until timestamptz NOT NULL, state text NOT NULL,"
	" started_at timestamptz NOT NULL, renewed_at timestamptz NOT NULL, host text NOT NULL,"
	" pid integer NOT NULL, version text NOT NULL, running integer NOT NULL DEFAULT 0,"
	" max_running integer NOT NULL DEFAULT 0, listeners integer NOT NULL DEFAULT 0,"
	" swept_by text, swept_at timestamptz);",
	/* 12: a task's status change tells every node (FLEET-DESIGN.md 5.2):
	 * NOTIFY vx11_ev, delivered with the COMMIT (never for a rollback),
	 * by a trigger, so a write costs no extra round trip. The first line
	 * names the writing node (the session's vx11.node, set when it takes
	 * its name; "" for a hand-made write), so it skips its own. A payload
	 * too long for NOTIFY (8000 bytes) is not sent: a write never fails
	 * for an event. */
	"CREATE FUNCTION vx11_task_event() RETURNS trigger LANGUAGE plpgsql AS $$"
	" DECLARE p text; BEGIN"
	" IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status THEN RETURN NULL; END IF;"
	" p := 'N ' || coalesce(current_setting('vx11.node', true), '') || chr(10) || json_build_object("
	" 'task_id', NEW.id, 'status', NEW.status, 'at', NEW.updated_at, 'correlation_id', NEW.intent_id,"
	" 'task_type', NEW.task_type, 'priority', NEW.priority, 'current_retry', NEW.current_retry,"
	" 'mutation_level', NEW.mutation_level, 'uid', NEW.uid)::text;"
	" IF octet_length(p) < 7900 THEN PERFORM pg_notify('vx11_ev', p); END IF;"
	" RETURN NULL; END $$;"
	"CREATE TRIGGER tasks_event AFTER INSERT OR UPDATE OF status ON tasks"
	" FOR EACH ROW EXECUTE PROCEDURE vx11_task_event();",
};
#define PG_N_MIGRATIONS ELEMENTSOF(pg_migrations)

/* 0 if an exec or query succeeded; else its failure, recorded. */
static int exec_ok(PgStore *s, PGresult *res, const char *what)
{
	ExecStatusType st = PQresultStatus(res);
	int r = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		r = pg_fail(s, -EIO, "%s: %s", what, PQresultErrorMessage(res));
	return r;
}

static int exec(PgStore *s, const char *sql, const char *what)
{
	PGresult *res = PQexec(s->conn, sql);
	int r = exec_ok(s, res, what);

	PQclear(res);
	return r;
}

/*
 * One transaction: the advisory lock (held to its end) makes a second node
 * opening at the same time wait and then find the schema made; a database
 * written by a newer vx11d is refused before anything in it changes.
 */
int pg_migrate(PgStore *s)
{
	PGresult *res = NULL;
	const char *params[2];
	char step[16];
	int64_t v;
	int r;

	r = exec(s, "BEGIN", "begin migration");
	if (r < 0)
		return r;
	r = exec(s,
		 "SELECT pg_advisory_xact_lock(hashtext('vx11d.migrate'));"
		 "CREATE TABLE IF NOT EXISTS vx11_migrations (step integer PRIMARY KEY,"
		 " applied_at timestamptz NOT NULL DEFAULT now(), node text NOT NULL)",
		 "lock for migration");
	if (r < 0)
		goto fail;
	res = PQexec(s->conn, "SELECT coalesce(max(step), 0) FROM vx11_migrations");
	r = exec_ok(s, res, "schema version");
	if (r < 0)
		goto fail;
	v = pg_get_i64(res, 0, 0);
	PQclear(res);
	res = NULL;
	if (v < 0 || v > (int64_t)PG_N_MIGRATIONS) {
		r = pg_fail(s, -EPROTONOSUPPORT, "database schema version %" PRId64 " is newer than this vx11d (%zu)",
			    v, PG_N_MIGRATIONS);
		goto fail;
	}
	for (; v < (int64_t)PG_N_MIGRATIONS; v++) {
		if (pg_migrations[v]) {
			r = exec(s, pg_migrations[v], "migration");
			if (r < 0) {
				pg_fail(s, r, "schema migration to version %" PRId64 " failed: %.400s", v + 1, s->error);
				goto fail;
			}
		}
		snprintf(step, sizeof step, "%" PRId64, v + 1);
		params[0] = step;
		params[1] = s->node;
		res = PQexecParams(s->conn, "INSERT INTO vx11_migrations (step, node) VALUES ($1::integer, $2::text)", 2,
				   NULL, params, NULL, NULL, 0);
		r = exec_ok(s, res, "record migration");
		PQclear(res);
		res = NULL;
		if (r < 0)
			goto fail;
	}
	return exec(s, "COMMIT", "commit migration");
fail:
	PQclear(res);
	PQclear(PQexec(s->conn, "ROLLBACK"));
	return r;
}

/* ---- Column tables ---- */

_Static_assert(sizeof(pid_t) == sizeof(int), "pid_t is read as an int");
_Static_assert(sizeof(uid_t) == sizeof(uint32_t) && sizeof(gid_t) == sizeof(uint32_t), "ids are 32 bits");

#define C(type, rec, field, flags) {#field, type, offsetof(rec, field), flags, NULL}
#define CX(type, rec, field, flags, expr) {#field, type, offsetof(rec, field), flags, expr}

/* The word an intent stands at while its task is kept (as SQLite's). */
#define RESULT_STATUS_OF(status)                                                                           \
	"CASE " status " WHEN 'running' THEN 'RUNNING' WHEN 'completed' THEN 'DONE'"                        \
	" WHEN 'failed' THEN 'ERROR' WHEN 'expired' THEN 'EXPIRED' WHEN 'cancelled' THEN 'CANCELLED'"      \
	" ELSE 'QUEUED' END"

static const PgColumn intent_columns[] = {
	C(PG_ID, IntentRecord, correlation_id, PG_KEY),
	C(PG_U64, IntentRecord, created_at, 0),
	C(PG_U32, IntentRecord, uid, 0),
	C(PG_U32, IntentRecord, gid, 0),
	C(PG_INT, IntentRecord, pid, 0),
	C(PG_STR, IntentRecord, source, 0),
	C(PG_STR, IntentRecord, intent_type, 0),
	C(PG_STR, IntentRecord, text, 0),
	C(PG_STR, IntentRecord, payload_json, 0),
	C(PG_BOOL, IntentRecord, require_switch, 0),
	C(PG_BOOL, IntentRecord, require_spawner, 0),
	C(PG_INT, IntentRecord, priority, 0),
	C(PG_STR, IntentRecord, status, PG_MUTABLE),
	C(PG_STR, IntentRecord, mode, PG_MUTABLE),
	C(PG_STR, IntentRecord, provider, PG_MUTABLE),
	C(PG_STR, IntentRecord, error, PG_MUTABLE),
	C(PG_STR, IntentRecord, task_id, 0),
	C(PG_STR, IntentRecord, idempotency_key, 0),
	C(PG_STR, IntentRecord, envelope_json, PG_MUTABLE),
	C(PG_STR, IntentRecord, params_digest, 0),
	C(PG_U64, IntentRecord, processed_at, PG_MUTABLE),
	CX(PG_STR, IntentRecord, result_status, PG_MUTABLE,
	   "coalesce((SELECT " RESULT_STATUS_OF("t.status") " FROM tasks t WHERE t.id = intents_log.task_id),"
	   " result_status)"),
	C(PG_STR, IntentRecord, notes, PG_MUTABLE),
	C(PG_STR, IntentRecord, command_json, 0),
};

static const PgColumn task_columns[] = {
	C(PG_ID, Task, id, PG_KEY),
	C(PG_ID, Task, intent_id, 0),
	C(PG_STR, Task, source, 0),
	C(PG_INT, Task, priority, 0),
	C(PG_STATUS, Task, status, PG_MUTABLE),
	C(PG_STR, Task, task_type, PG_MUTABLE),
	C(PG_STR, Task, description, 0),
	C(PG_STR, Task, payload_json, 0),
	C(PG_U32, Task, uid, 0),
	C(PG_U64, Task, created_at, 0),
	C(PG_U64, Task, updated_at, PG_MUTABLE),
	C(PG_INT, Task, current_retry, PG_MUTABLE),
	C(PG_INT, Task, max_retries, 0),
	C(PG_INT, Task, mutation_level, PG_MUTABLE),
	C(PG_U64, Task, next_attempt_at, PG_MUTABLE),
	C(PG_I64, Task, ttl_seconds, 0),
	C(PG_STR, Task, result_json, PG_MUTABLE),
	C(PG_STR, Task, traceparent, 0),
	C(PG_STR, Task, command_json, 0),
	C(PG_U64, Task, seq, PG_SERIAL),
	C(PG_BOOL, Task, degraded, PG_MUTABLE),
	C(PG_STR, Task, provider, PG_MUTABLE),
	C(PG_STR, Task, model, PG_MUTABLE),
	C(PG_STR, Task, plan_json, PG_MUTABLE),
};

static const PgColumn daughter_columns[] = {
	C(PG_ID, Daughter, id, PG_KEY),
	C(PG_ID, Daughter, task_id, PG_KEY),
	C(PG_STR, Daughter, name, PG_MUTABLE),
	C(PG_STR, Daughter, purpose, PG_MUTABLE),
	C(PG_STR, Daughter, status, PG_MUTABLE),
	C(PG_INT, Daughter, mutation_level, PG_MUTABLE),
	C(PG_U64, Daughter, started_at, PG_MUTABLE),
	C(PG_U64, Daughter, last_heartbeat_at, PG_MUTABLE),
	C(PG_U64, Daughter, ended_at, PG_MUTABLE),
	C(PG_STR, Daughter, error_last, PG_MUTABLE),
	C(PG_U32, Daughter, owner_uid, 0),
	C(PG_I64, Daughter, ttl_seconds, PG_MUTABLE),
	C(PG_STR, Daughter, tools_json, PG_MUTABLE),
};

static const PgColumn attempt_columns[] = {
	C(PG_ID, Attempt, id, PG_KEY),
	C(PG_ID, Attempt, daughter_id, 0),
	C(PG_ID, Attempt, task_id, PG_KEY),
	C(PG_INT, Attempt, number, PG_KEY),
	C(PG_STR, Attempt, status, PG_MUTABLE),
	C(PG_STR, Attempt, reason, PG_MUTABLE),
	C(PG_U64, Attempt, started_at, PG_MUTABLE),
	C(PG_U64, Attempt, finished_at, PG_MUTABLE),
	C(PG_INT, Attempt, exit_code, PG_MUTABLE),
	C(PG_INT, Attempt, signal, PG_MUTABLE),
	C(PG_U64, Attempt, cpu_usec, PG_MUTABLE),
	C(PG_U64, Attempt, memory_peak_bytes, PG_MUTABLE),
	C(PG_I64, Attempt, tokens_used_cli, PG_MUTABLE),
	C(PG_I64, Attempt, tokens_used_local, PG_MUTABLE),
	C(PG_STR, Attempt, switch_model_used, PG_MUTABLE),
	C(PG_STR, Attempt, cli_provider_used, PG_MUTABLE),
	C(PG_STR, Attempt, error_message, PG_MUTABLE),
	C(PG_U32, Attempt, uid, PG_MUTABLE),
	C(PG_STR, Attempt, cgroup, PG_MUTABLE),
	C(PG_STR, Attempt, reported_status, PG_MUTABLE),
	C(PG_STR, Attempt, status_text, PG_MUTABLE),
	C(PG_STR, Attempt, unapplied, PG_MUTABLE),
	C(PG_STR, Attempt, result_json, PG_MUTABLE),
	C(PG_STR, Attempt, confinement, PG_MUTABLE),
	/* Fixed at insert: the node that ran it, as the runner says (NULL
	 * stays NULL, as in SQLite's step 11). */
	C(PG_STR, Attempt, node, 0),
};

#undef C
#undef CX

static int call_intent(PgAnyCallback cb, const PgAnyRecord *r, void *userdata)
{
	return cb.intent(&r->intent, userdata);
}
static int call_task(PgAnyCallback cb, const PgAnyRecord *r, void *userdata)
{
	return cb.task(&r->task, userdata);
}
static int call_daughter(PgAnyCallback cb, const PgAnyRecord *r, void *userdata)
{
	return cb.daughter(&r->daughter, userdata);
}
static int call_attempt(PgAnyCallback cb, const PgAnyRecord *r, void *userdata)
{
	return cb.attempt(&r->attempt, userdata);
}

const PgTable pg_table_intents = {"intents_log", intent_columns, ELEMENTSOF(intent_columns), true, call_intent};
const PgTable pg_table_tasks = {"tasks", task_columns, ELEMENTSOF(task_columns), false, call_task};
const PgTable pg_table_daughters = {"daughters", daughter_columns, ELEMENTSOF(daughter_columns), true, call_daughter};
const PgTable pg_table_attempts = {"attempts", attempt_columns, ELEMENTSOF(attempt_columns), false, call_attempt};

/* ---- Statements ---- */

typedef enum SqlKind {
	SQL_PLAIN,  /* sql as is */
	SQL_SELECT, /* "SELECT <columns> FROM <table> " sql */
	SQL_INSERT, /* generated; sql appended ("RETURNING seq") */
	SQL_UPDATE, /* generated: PG_MUTABLE columns, WHERE the PG_KEY ones */
} SqlKind;

typedef struct StmtDef {
	SqlKind kind;
	const PgTable *table;
	const char *sql;
} StmtDef;

/* Task lists and counts: $1 statuses (text[]), $2 after, $3 source, $4
 * limit (NULL: none), $5 uid, $6 lowest id, $7 since, $8 until, $9 type. */
#define TASK_FILTER                                                                                        \
	" status = ANY ($1::text[]) AND ($5::bigint IS NULL OR uid = $5::bigint) AND id >= $6::text"       \
	" AND ($3::text IS NULL OR source = $3::text) AND ($9::text IS NULL OR task_type = $9::text)"      \
	" AND created_at >= $7::bigint AND created_at < $8::bigint"
#define INTENT_LIST_WHERE "($2::bigint IS NULL OR uid = $2::bigint)"
#define PRUNE_GUARDS                                                                                       \
	" AND seq < (SELECT max(seq) FROM tasks)"                                                          \
	" AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks w ON w.id = d.task_id"                      \
	" WHERE d.after_id = tasks.id AND w.status IN ('pending', 'planning', 'running', 'retrying'))"     \
	" ORDER BY id LIMIT $4::bigint"
#define PRUNE_INTENT_GUARDS                                                                                \
	" AND correlation_id < (SELECT max(correlation_id) FROM intents_log)"                              \
	" AND (task_id IS NULL OR NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = i.task_id))"

static const StmtDef stmt_defs[_PG_STMT_MAX] = {
	[PG_INTENT_INSERT] = {SQL_INSERT, &pg_table_intents, ""},
	[PG_INTENT_GET] = {SQL_SELECT, &pg_table_intents, "WHERE correlation_id = $1::text"},
	[PG_INTENT_IDEMPOTENT] = {SQL_SELECT, &pg_table_intents,
				  "WHERE uid = $1::bigint AND idempotency_key = $2::text ORDER BY correlation_id LIMIT 1"},
	[PG_INTENT_LIST] = {SQL_SELECT, &pg_table_intents,
			    "WHERE correlation_id > $1::text AND " INTENT_LIST_WHERE
			    " ORDER BY correlation_id LIMIT $3::bigint"},
	[PG_INTENT_LIST_DESC] = {SQL_SELECT, &pg_table_intents,
				 "WHERE correlation_id < $1::text AND " INTENT_LIST_WHERE
				 " ORDER BY correlation_id DESC LIMIT $3::bigint"},
	[PG_INTENT_COUNT] = {SQL_PLAIN, NULL, "SELECT count(*) FROM intents_log"},
	[PG_INTENT_UPDATE] = {SQL_UPDATE, &pg_table_intents, NULL},
	[PG_INTENT_SET_RESULT] = {SQL_PLAIN, NULL,
				  "UPDATE intents_log SET result_status = $2::text WHERE correlation_id = $1::text"},
	/* Both ranges are index ranges; UNION drops the row a task and its own
	 * intent both give, the caller merges the rest. */
	[PG_ID_PREFIX] = {SQL_PLAIN, NULL,
			  "SELECT correlation_id, task_id FROM intents_log"
			  " WHERE correlation_id >= $1::text AND correlation_id < $1::text || '~'"
			  " AND ($2::bigint IS NULL OR uid = $2::bigint)"
			  " UNION SELECT intent_id, id FROM tasks"
			  " WHERE id >= $1::text AND id < $1::text || '~' AND ($2::bigint IS NULL OR uid = $2::bigint)"
			  " ORDER BY 1, 2 LIMIT $3::bigint"},
	[PG_TASK_INSERT] = {SQL_INSERT, &pg_table_tasks, " RETURNING seq"},
	[PG_TASK_GET] = {SQL_SELECT, &pg_table_tasks, "WHERE id = $1::text"},
	[PG_TASK_UPDATE] = {SQL_UPDATE, &pg_table_tasks, NULL},
	[PG_TASK_LIST] = {SQL_SELECT, &pg_table_tasks,
			  "WHERE id > $2::text AND" TASK_FILTER " ORDER BY id LIMIT $4::bigint"},
	[PG_TASK_LIST_DESC] = {SQL_SELECT, &pg_table_tasks,
			       "WHERE id < $2::text AND" TASK_FILTER " ORDER BY id DESC LIMIT $4::bigint"},
	/* $2 and $4 are in the list's numbering but unused: a count takes neither. */
	[PG_TASK_TOTAL] = {SQL_PLAIN, NULL,
			   "SELECT count(*) FROM tasks WHERE $2::text IS NULL AND $4::bigint IS NULL AND" TASK_FILTER},
	[PG_TASK_COUNT_STATUS] = {SQL_PLAIN, NULL, "SELECT status, count(*) FROM tasks GROUP BY status"},
	[PG_TASK_COUNT_TYPE] = {SQL_PLAIN, NULL,
				"SELECT task_type, status, count(*) FROM tasks GROUP BY task_type, status"},
	[PG_TASK_FIRST_START] = {SQL_PLAIN, NULL,
				 "SELECT started_at FROM attempts WHERE task_id = $1::text AND started_at > 0"
				 " ORDER BY number, id LIMIT 1"},
	[PG_DAUGHTER_INSERT] = {SQL_INSERT, &pg_table_daughters, ""},
	[PG_DAUGHTER_UPDATE] = {SQL_UPDATE, &pg_table_daughters, NULL},
	[PG_DAUGHTER_HEARTBEAT] = {SQL_PLAIN, NULL,
				   "UPDATE daughters SET last_heartbeat_at = $2::bigint WHERE id = $1::text"},
	/* $1 task, $2 status, $3 limit, $4 owner (ignored with a task). */
	[PG_DAUGHTER_LIST] = {SQL_SELECT, &pg_table_daughters,
			      "WHERE ($1::text IS NULL OR task_id = $1::text) AND ($2::text IS NULL OR status = $2::text)"
			      " AND ($1::text IS NOT NULL OR $4::bigint IS NULL OR owner_uid = $4::bigint)"
			      " ORDER BY id LIMIT $3::bigint"},
	[PG_ATTEMPT_INSERT] = {SQL_INSERT, &pg_table_attempts, ""},
	[PG_ATTEMPT_UPDATE] = {SQL_UPDATE, &pg_table_attempts, NULL},
	[PG_ATTEMPT_LIST] = {SQL_SELECT, &pg_table_attempts,
			     "WHERE task_id = (SELECT task_id FROM daughters WHERE id = $1::text)"
			     " AND daughter_id = $1::text ORDER BY number, id"},
	[PG_ATTEMPT_LIST_TASK] = {SQL_SELECT, &pg_table_attempts, "WHERE task_id = $1::text ORDER BY number, id"},
	[PG_ATTEMPT_LIST_RUNNING] = {SQL_SELECT, &pg_table_attempts,
				     "WHERE (task_id, daughter_id) IN (SELECT task_id, id FROM daughters"
				     " WHERE status IN ('spawning', 'running')) AND status = 'running'"
				     /* A node settles its own only (NULL: made before the fleet's step),
				      * and not those another node adopted (FLEET-DESIGN.md 2.5). */
				     " AND (node IS NULL OR node = $1::text) AND task_id NOT IN (SELECT id FROM tasks"
				     " WHERE claimed_by IS NOT NULL AND claimed_by <> $1::text) ORDER BY id"},
	/* Adopted from a node whose lease ended: running there, claimed here. */
	[PG_LEASE_ADOPTED_RUNNING] = {SQL_SELECT, &pg_table_attempts,
				      "WHERE (task_id, daughter_id) IN (SELECT task_id, id FROM daughters"
				      " WHERE status IN ('spawning', 'running')) AND status = 'running'"
				      " AND node IS DISTINCT FROM $1::text"
				      " AND task_id IN (SELECT id FROM tasks WHERE claimed_by = $1::text) ORDER BY id"},
	[PG_PAUSE_SET] = {SQL_PLAIN, NULL,
			  "INSERT INTO pauses (scope, paused_at, uid) VALUES ($1::text, $2::bigint, $3::bigint)"
			  " ON CONFLICT (scope) DO UPDATE SET paused_at = EXCLUDED.paused_at, uid = EXCLUDED.uid"},
	[PG_PAUSE_CLEAR] = {SQL_PLAIN, NULL, "DELETE FROM pauses WHERE $1::text IS NULL OR scope = $1::text"},
	/* By scope, '*' first: byte order, whatever the database's collation. */
	[PG_PAUSE_LIST] = {SQL_PLAIN, NULL, "SELECT scope, paused_at, uid FROM pauses ORDER BY scope COLLATE \"C\""},
	[PG_DEP_INSERT] = {SQL_PLAIN, NULL,
			   "INSERT INTO task_deps (task_id, after_id, after_any) VALUES ($1::text, $2::text, $3::boolean)"
			   " ON CONFLICT (task_id, after_id) DO NOTHING"},
	[PG_DEP_LIST] = {SQL_PLAIN, NULL,
			 "SELECT after_id, after_any FROM task_deps WHERE task_id = $1::text ORDER BY seq"},
	[PG_DEP_DEPENDENTS] = {SQL_PLAIN, NULL,
			       "SELECT task_id FROM task_deps WHERE after_id = $1::text ORDER BY task_id"},
	/* $1 status, $2 before, $3 keep, $4 limit, $5 id floor (as SQLite's). */
	[PG_PRUNE_TASKS_AGE] = {SQL_PLAIN, NULL,
				"SELECT id FROM tasks WHERE status = $1::text AND id < $5::text AND updated_at < $2::bigint"
				" AND $3::bigint IS NOT NULL" PRUNE_GUARDS},
	[PG_PRUNE_TASKS_COUNT] = {SQL_PLAIN, NULL,
				  "SELECT id FROM tasks WHERE status = $1::text AND id <= (SELECT id FROM tasks"
				  " WHERE status = $1::text ORDER BY id DESC LIMIT 1 OFFSET $3::bigint)"
				  " AND $2::bigint IS NOT NULL AND $5::text IS NOT NULL" PRUNE_GUARDS},
	/* The output tails kept for other nodes go with the attempts (pruned
	 * output must not stay readable in the database). */
	[PG_TASK_DELETE_ATTEMPTS] = {SQL_PLAIN, NULL,
				     "WITH tails AS (DELETE FROM attempt_logs WHERE task_id = $1::text)"
				     " DELETE FROM attempts WHERE task_id = $1::text"},
	[PG_TASK_DELETE_DAUGHTERS] = {SQL_PLAIN, NULL, "DELETE FROM daughters WHERE task_id = $1::text"},
	[PG_TASK_DELETE_DEPS] = {SQL_PLAIN, NULL, "DELETE FROM task_deps WHERE task_id = $1::text"},
	[PG_TASK_DELETE_KEEP_RESULT] = {SQL_PLAIN, NULL,
					"UPDATE intents_log SET result_status = (SELECT " RESULT_STATUS_OF("status")
					" FROM tasks WHERE id = $1::text)"
					" WHERE correlation_id = (SELECT intent_id FROM tasks WHERE id = $1::text)"
					" AND task_id = $1::text"},
	[PG_TASK_DELETE] = {SQL_PLAIN, NULL, "DELETE FROM tasks WHERE id = $1::text"},
	/* $1 id floor, $2 keep, $3 limit. */
	[PG_PRUNE_INTENTS_AGE] = {SQL_PLAIN, NULL,
				  "DELETE FROM intents_log WHERE correlation_id IN (SELECT correlation_id"
				  " FROM intents_log i WHERE correlation_id < $1::text AND $2::bigint IS NOT NULL"
				  PRUNE_INTENT_GUARDS " ORDER BY correlation_id LIMIT $3::bigint)"},
	[PG_PRUNE_INTENTS_COUNT] = {SQL_PLAIN, NULL,
				    "DELETE FROM intents_log WHERE correlation_id IN (SELECT correlation_id FROM intents_log i"
				    " WHERE correlation_id <= (SELECT correlation_id FROM intents_log"
				    " ORDER BY correlation_id DESC LIMIT 1 OFFSET $2::bigint) AND $1::text IS NOT NULL"
				    PRUNE_INTENT_GUARDS " ORDER BY correlation_id LIMIT $3::bigint)"},
};

/* Does an INSERT (flags 0) or UPDATE (flags set) take column c? */
static bool takes(const PgColumn *c, unsigned flags)
{
	if (flags)
		return c->flags & flags;
	return !(c->flags & PG_SERIAL);
}

char *pg_statement_sql(unsigned i)
{
	const StmtDef *d = &stmt_defs[i];
	const PgTable *t = d->table;
	const char *sep = "";
	char *sql = NULL;
	size_t size = 0;
	unsigned n = 0;
	FILE *f;

	if (i >= PG_FLEET_CLAIM && i != PG_LEASE_ADOPTED_RUNNING)
		return pg_fleet_sql(i);
	if (d->kind == SQL_PLAIN)
		return strdup(d->sql);
	f = open_memstream(&sql, &size);
	if (!f)
		return NULL;
	switch (d->kind) {
	case SQL_SELECT:
		fputs("SELECT ", f);
		for (unsigned k = 0; k < t->n_columns; k++, sep = ", ")
			fprintf(f, "%s%s", sep, t->columns[k].select ?: t->columns[k].name);
		fprintf(f, " FROM %s %s", t->name, d->sql);
		break;
	case SQL_INSERT:
		fprintf(f, "INSERT INTO %s (", t->name);
		for (unsigned k = 0; k < t->n_columns; k++)
			if (takes(&t->columns[k], 0)) {
				fprintf(f, "%s%s", sep, t->columns[k].name);
				sep = ", ";
			}
		if (t->node)
			fputs(", node", f);
		fputs(") VALUES (", f);
		sep = "";
		for (unsigned k = 0; k < t->n_columns; k++)
			if (takes(&t->columns[k], 0)) {
				fprintf(f, "%s$%u", sep, ++n);
				sep = ", ";
			}
		if (t->node)
			fprintf(f, ", $%u", ++n);
		fprintf(f, ")%s", d->sql);
		break;
	case SQL_UPDATE:
		/* Parameters in column order, as pg_bind_row() binds them. */
		fprintf(f, "UPDATE %s SET ", t->name);
		for (unsigned k = 0; k < t->n_columns; k++) {
			const PgColumn *c = &t->columns[k];
			if (takes(c, PG_MUTABLE | PG_KEY))
				n++;
			if (c->flags & PG_MUTABLE) {
				fprintf(f, "%s%s = $%u", sep, c->name, n);
				sep = ", ";
			}
		}
		fputs(" WHERE ", f);
		sep = "";
		n = 0;
		for (unsigned k = 0; k < t->n_columns; k++) {
			const PgColumn *c = &t->columns[k];
			if (takes(c, PG_MUTABLE | PG_KEY))
				n++;
			if (c->flags & PG_KEY) {
				fprintf(f, "%s%s = $%u", sep, c->name, n);
				sep = " AND ";
			}
		}
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

/* ---- Codecs: records to parameters and back ---- */

void pg_param_str(PgParams *p, const char *v)
{
	p->v[p->n++] = v;
}

void pg_param_i64(PgParams *p, int64_t v)
{
	snprintf(p->buf[p->n], sizeof p->buf[p->n], "%" PRId64, v);
	p->v[p->n] = p->buf[p->n];
	p->n++;
}

void pg_param_bool(PgParams *p, bool v)
{
	p->v[p->n++] = v ? "t" : "f";
}

int pg_bind_row(PgStore *s, PgParams *p, const PgTable *t, const void *rec, unsigned flags)
{
	for (unsigned i = 0; i < t->n_columns; i++) {
		const PgColumn *c = &t->columns[i];
		const char *f = (const char *)rec + c->offset;

		if (!takes(c, flags))
			continue;
		switch (c->type) {
		case PG_ID:
			pg_param_str(p, f);
			break;
		case PG_STR:
			pg_param_str(p, *(char *const *)f);
			break;
		case PG_INT:
			pg_param_i64(p, *(const int *)f);
			break;
		case PG_BOOL:
			pg_param_bool(p, *(const bool *)f);
			break;
		case PG_U32:
			pg_param_i64(p, *(const uint32_t *)f);
			break;
		case PG_I64:
			pg_param_i64(p, *(const int64_t *)f);
			break;
		case PG_U64:
			pg_param_i64(p, (int64_t) * (const uint64_t *)f);
			break;
		case PG_STATUS: {
			const char *name = task_status_to_string(*(const TaskStatus *)f);
			if (!name)
				return pg_fail(s, -EINVAL, "%s.%s: invalid task status %d", t->name, c->name,
					       (int)*(const TaskStatus *)f);
			pg_param_str(p, name);
			break;
		}
		default:
			abort();
		}
	}
	if (!flags && t->node)
		pg_param_str(p, s->node);
	return 0;
}

static void free_row(const PgTable *t, void *rec)
{
	for (unsigned i = 0; i < t->n_columns; i++)
		if (t->columns[i].type == PG_STR) {
			char **p = (char **)((char *)rec + t->columns[i].offset);
			free(*p);
			*p = NULL;
		}
}

int pg_read_row(PgStore *s, const PGresult *res, int row, const PgTable *t, void *rec, bool copy)
{
	for (unsigned i = 0; i < t->n_columns; i++) {
		const PgColumn *c = &t->columns[i];
		char *p = (char *)rec + c->offset;
		const char *v = PQgetisnull(res, row, (int)i) ? NULL : PQgetvalue(res, row, (int)i);

		switch (c->type) {
		case PG_ID: {
			size_t len = v ? strlen(v) : 0;

			if (len >= ID_STRING_MAX) {
				pg_fail(s, 0, "%s.%s: id of %zu bytes", t->name, c->name, len);
				goto fail;
			}
			memcpy(p, v ?: "", len);
			p[len] = 0;
			break;
		}
		case PG_STR:
			if (v && copy) {
				v = strdup(v);
				if (!v) {
					free_row(t, rec);
					return pg_fail(s, -ENOMEM, "%s.%s: out of memory", t->name, c->name);
				}
			}
			*(char **)p = (char *)v;
			break;
		case PG_INT:
			*(int *)p = v ? (int)strtol(v, NULL, 10) : 0;
			break;
		case PG_BOOL:
			*(bool *)p = v && v[0] == 't';
			break;
		case PG_U32:
			*(uint32_t *)p = v ? (uint32_t)strtoll(v, NULL, 10) : 0;
			break;
		case PG_I64:
			*(int64_t *)p = v ? strtoll(v, NULL, 10) : 0;
			break;
		case PG_U64:
			*(uint64_t *)p = v ? (uint64_t)strtoll(v, NULL, 10) : 0;
			break;
		case PG_STATUS: {
			TaskStatus ts = task_status_from_string(v);

			if (ts < 0) {
				pg_fail(s, 0, "%s.%s: unknown task status '%s'", t->name, c->name, v ?: "(null)");
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
