/* SPDX-License-Identifier: MIT */
/*
 * The PostgreSQL backend of the store, first cut (FLEET-DESIGN.md P6):
 * blocking libpq calls on the caller's thread, one connection (and a
 * second that only LISTENs, store-pg-fleet.c). The fleet's claims, fences
 * and wake-ups are store-pg-fleet.c's (P8); the store thread with its
 * pipeline, and leases, come later.
 *
 * Transactions as SQLite's: the first write after a commit opens one
 * (BEGIN), store_commit() commits it, reads see its writes (one
 * connection). A durable transaction commits with synchronous_commit on (the
 * server's default: COMMIT returns once its WAL is flushed); any other runs
 * `SET LOCAL synchronous_commit = off` before its COMMIT. A later durable
 * commit flushes the WAL up to its own record, so earlier ones with it.
 *
 * A statement that fails inside a transaction would abort the whole of it
 * in PostgreSQL; SQLite only undoes the statement. So inside a transaction
 * each statement runs under a savepoint, sent in one round trip with it
 * (pipeline mode: SAVEPOINT, the statement, RELEASE), and a failure rolls
 * back to the savepoint: the transaction goes on without that statement.
 * If the connection is lost, the transaction is: every further write fails
 * until store_commit() reports -EIO, as with SQLite's own rollbacks.
 *
 * Reconnecting: a call that finds the connection gone (PQstatus
 * CONNECTION_BAD after it) marks the store unavailable. The next call, or
 * store_reconnect(), connects again, at most once per PG_RECONNECT_USEC,
 * prepares the statements again; until then every call fails at once (-ENOTCONN,
 * "the database is unreachable since ..."). A call that was not inside a
 * transaction and lost the connection is retried once after an immediate
 * reconnect, so a server restarted between two calls is not seen. In this
 * blocking cut an attempt blocks the caller: connection refused returns at
 * once, an unanswered host takes up to connect_timeout (2 s on reconnect,
 * libpq's least, unless the URL says otherwise).
 *
 * Errors: duplicate key -EEXIST, missing reference -ENOENT, NOT NULL or a
 * bad value -EINVAL, serialization/deadlock/lock timeout -EBUSY, disk full
 * -ENOSPC, out of memory -ENOMEM, privileges -EACCES, a value the code does
 * not know -EBADMSG, else -EIO; the server's message is kept for
 * store_last_error().
 *
 * A Store is one connection, for one thread at a time.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-pg-internal.h"
#include "store-pg.h"

/* ---- Errors ---- */

int pg_fail(PgStore *s, int r, const char *fmt, ...)
{
	char msg[sizeof s->error];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* Drop libpq's trailing newline. */
	msg[strcspn(msg, "\n")] = 0;
	memcpy(s->error, msg, sizeof msg);
	return r;
}

static int errno_from_sqlstate(const char *state)
{
	if (!state)
		return -EIO;
	if (streq(state, "23505"))
		return -EEXIST;
	if (streq(state, "23503"))
		return -ENOENT;
	if (streq(state, "23502") || streq(state, "23514") || strncmp(state, "22", 2) == 0)
		return -EINVAL;
	if (streq(state, "40001") || streq(state, "40P01") || streq(state, "55P03"))
		return -EBUSY;
	if (streq(state, "53100"))
		return -ENOSPC;
	if (streq(state, "53200"))
		return -ENOMEM;
	if (streq(state, "42501"))
		return -EACCES;
	return -EIO;
}

/* Keep the server's words (with SQLite's name of a duplicate, "UNIQUE",
 * which callers and tests look for) and turn its SQLSTATE into an errno. */
static int fail_result(PgStore *s, const PGresult *res, const char *what)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : "";
	int r = errno_from_sqlstate(state);

	if (!*msg)
		msg = PQerrorMessage(s->conn);
	return pg_fail(s, r, "%s: %s%s", what, r == -EEXIST ? "UNIQUE constraint failed: " : "", msg);
}

static const char *pg_last_error(const Store *s)
{
	return s->error;
}

/* ---- Running statements ---- */

uint64_t pg_changes(const PGresult *res)
{
	const char *n = PQcmdTuples((PGresult *)res);
	return n && *n ? strtoull(n, NULL, 10) : 0;
}

int64_t pg_get_i64(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static bool result_ok(const PGresult *res)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

#define PG_RECONNECT_USEC (1000 * 1000)

/* The connection went: so did the open transaction, and the store is
 * unavailable until a reconnect. */
static void check_connection(PgStore *s)
{
	char since[TIMESTAMP_MAX];

	if (PQstatus(s->conn) != CONNECTION_BAD)
		return;
	if (s->in_txn) {
		s->in_txn = false;
		s->txn_lost = true;
	}
	if (s->lost)
		return;
	s->lost = true;
	s->lost_at = now_realtime_usec();
	s->next_attempt = 0; /* the first attempt at once: a restarted server is back already */
	snprintf(s->down, sizeof s->down, "the database is unreachable since %s: %s",
		 format_timestamp(since, s->lost_at), PQerrorMessage(s->conn));
	s->down[strcspn(s->down, "\n")] = 0;
}

/* The one result of the next query of a pipeline (NULL if it has none). */
static PGresult *pipeline_result(PGconn *c)
{
	PGresult *res = PQgetResult(c), *extra;

	if (res && PQresultStatus(res) == PGRES_PIPELINE_SYNC)
		return res;
	while ((extra = PQgetResult(c)))
		PQclear(extra);
	return res;
}

static void stmt_name(unsigned idx, char buf[static 16])
{
	snprintf(buf, 16, "vx11_%u", idx);
}

static int pg_run_once(PgStore *s, unsigned idx, const PgParams *p, bool write, PGresult **ret)
{
	bool begin = write && !s->in_txn, guard = s->in_txn;
	PGresult *res = NULL, *pre = NULL, *post = NULL, *sync = NULL;
	char name[16];
	int r = 0;

	*ret = NULL;
	if (write && s->txn_lost)
		return pg_fail(s, -EIO, "the transaction was rolled back after an error; commit first");
	stmt_name(idx, name);
	if (!begin && !guard) {
		res = PQexecPrepared(s->conn, name, p ? p->n : 0, p ? p->v : NULL, NULL, NULL, 0);
		if (!result_ok(res)) {
			r = fail_result(s, res, "statement");
			PQclear(res);
			check_connection(s);
			return r;
		}
		*ret = res;
		return 0;
	}

	/* One round trip: [BEGIN | SAVEPOINT], the statement, [RELEASE], sync. */
	if (PQenterPipelineMode(s->conn) != 1)
		return pg_fail(s, -EIO, "pipeline mode: %s", PQerrorMessage(s->conn));
	if (PQsendQueryParams(s->conn, begin ? "BEGIN" : "SAVEPOINT vx11_stmt", 0, NULL, NULL, NULL, NULL, 0) != 1 ||
	    PQsendQueryPrepared(s->conn, name, p ? p->n : 0, p ? p->v : NULL, NULL, NULL, 0) != 1 ||
	    (guard && PQsendQueryParams(s->conn, "RELEASE SAVEPOINT vx11_stmt", 0, NULL, NULL, NULL, NULL, 0) != 1) ||
	    PQpipelineSync(s->conn) != 1) {
		r = pg_fail(s, -EIO, "send: %s", PQerrorMessage(s->conn));
		(void)PQexitPipelineMode(s->conn);
		if (s->in_txn) {
			s->in_txn = false;
			s->txn_lost = true;
		}
		check_connection(s);
		return r;
	}
	pre = pipeline_result(s->conn);
	res = pipeline_result(s->conn);
	if (guard)
		post = pipeline_result(s->conn);
	sync = pipeline_result(s->conn);
	if (PQexitPipelineMode(s->conn) != 1)
		r = pg_fail(s, -EIO, "pipeline mode: %s", PQerrorMessage(s->conn));
	if (r == 0 && !result_ok(pre))
		r = fail_result(s, pre, begin ? "begin" : "savepoint");
	else if (r == 0 && !result_ok(res))
		r = fail_result(s, res, "statement");
	else if (r == 0 && guard && !result_ok(post))
		r = fail_result(s, post, "release savepoint");
	PQclear(pre);
	PQclear(post);
	PQclear(sync);
	check_connection(s);

	if (r < 0) {
		PQclear(res);
		if (begin)
			PQclear(PQexec(s->conn, "ROLLBACK"));
		else if (s->in_txn) {
			/* Undo the statement only; if even that fails, the whole transaction goes. */
			PGresult *undo = PQexec(s->conn, "ROLLBACK TO SAVEPOINT vx11_stmt; RELEASE SAVEPOINT vx11_stmt");
			if (!result_ok(undo)) {
				PQclear(PQexec(s->conn, "ROLLBACK"));
				s->in_txn = false;
				s->txn_lost = true;
			}
			PQclear(undo);
		}
		return r;
	}
	if (begin)
		s->in_txn = true;
	*ret = res;
	return 0;
}

static int pg_reconnect(Store *s);

int pg_run(PgStore *s, unsigned idx, const PgParams *p, bool write, PGresult **ret)
{
	bool fresh;
	int r;

	*ret = NULL;
	/* Kept inserts go first: this statement may read or change them. A
	 * failed flush has rolled the transaction back; a read still runs. */
	if (idx < _PG_STMT_MAX && pg_coalesce_pending(s) && (r = pg_coalesce_flush(s)) < 0 && s->lost)
		return r;
	fresh = !s->in_txn; /* no open transaction to lose with the connection */
	if (s->lost && (r = pg_reconnect(s)) < 0)
		return r;
	r = pg_run_once(s, idx, p, write, ret);
	if (r < 0 && fresh && s->lost && pg_reconnect(s) == 0)
		r = pg_run_once(s, idx, p, write, ret);
	return r;
}

/* ---- Transactions ---- */

static int pg_commit(Store *s)
{
	PGresult *res;
	bool ok;

	/* The batch's kept rows, in its transaction (a failure rolls it back). */
	if (!s->txn_lost && pg_coalesce_pending(s))
		(void)pg_coalesce_flush(s);
	pg_coalesce_end(s);
	pg_fleet_committed(s);
	if (s->txn_lost) {
		s->txn_lost = false;
		s->durable = false;
		s->notify_owed = false;
		return -EIO; /* s->error still says why */
	}
	if (!s->in_txn)
		return 0;
	/* In one round trip; a later durable COMMIT flushes this one too. One
	 * notify per commit that made work, delivered by the COMMIT itself. */
	static const char *const commits[2][2] = {
		{"SET LOCAL synchronous_commit = off; COMMIT", "COMMIT"},
		{"SET LOCAL synchronous_commit = off; NOTIFY vx11_work; COMMIT", "NOTIFY vx11_work; COMMIT"},
	};
	res = PQexec(s->conn, commits[s->notify_owed][s->durable]);
	s->notify_owed = false;
	/* Over, committed or not: a lost connection makes nothing lost after it. */
	s->in_txn = false;
	check_connection(s);
	/* COMMIT of a transaction the server aborted answers ROLLBACK, not an error. */
	ok = PQresultStatus(res) == PGRES_COMMAND_OK && streq(PQcmdStatus(res), "COMMIT");
	if (!ok) {
		if (PQresultStatus(res) == PGRES_COMMAND_OK)
			pg_fail(s, -EIO, "commit: the transaction was rolled back");
		else
			fail_result(s, res, "commit");
	}
	PQclear(res);
	if (!ok && PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		PQclear(PQexec(s->conn, "ROLLBACK"));
	if (!ok) {
		s->durable = false;
		return -EIO;
	}
	s->stats.commits++;
	s->stats.durable_commits += s->durable;
	s->durable = false;
	return 0;
}

static bool pg_has_pending(const Store *s)
{
	return s->in_txn || s->txn_lost || pg_coalesce_pending(s);
}

/* No sync thread: a durable COMMIT has waited for its flush already. */
static int pg_commit_async(Store *s, uint64_t *ret_ticket)
{
	*ret_ticket = 0;
	return pg_commit(s);
}

/* The manager then commits with store_commit() on the loop, which is what
 * this blocking backend does anyway. */
static int pg_sync_fd(Store *s)
{
	return pg_fail(s, -EOPNOTSUPP, "the PostgreSQL store commits on the caller's thread (no sync thread yet)");
}

static int pg_synced(Store *s, uint64_t *ret_done, uint64_t *ret_failed)
{
	*ret_done = 0;
	*ret_failed = 0;
	return 0;
}

static void pg_want_durable(Store *s)
{
	s->durable = true;
}

static bool pg_pending_is_durable(const Store *s)
{
	return s->txn_lost || ((s->in_txn || pg_coalesce_pending(s)) && s->durable);
}

/* btree_writes stays 0: it counts SQLite's b-tree entries (store/README.md). */
static void pg_stats(const Store *s, StoreStats *ret)
{
	*ret = s->stats;
}

/* ---- Open, close ---- */

static Store *pg_free(Store *s)
{
	if (!s)
		return NULL;
	/* An open transaction is rolled back by the server: uncommitted means never told. */
	pg_fleet_free(s);
	pg_ctl_free(s);
	pg_coalesce_free(s);
	PQfinish(s->conn);
	free(s->url);
	free(s->node);
	free(s);
	return NULL;
}

static int prepare_all(PgStore *s)
{
	for (unsigned i = 0; i < _PG_ALL_STMT_MAX; i++) {
		_cleanup_free_ char *sql = i < _PG_STMT_MAX ? pg_statement_sql(i) : pg_coalesce_sql(i);
		char name[16];
		PGresult *res;
		int r = 0;

		if (!sql)
			return pg_fail(s, -ENOMEM, "out of memory");
		stmt_name(i, name);
		res = PQprepare(s->conn, name, sql, 0, NULL);
		if (!result_ok(res))
			r = fail_result(s, res, "prepare");
		PQclear(res);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The server's notices ("relation already exists, skipping") are not
 * errors, and a daemon's stderr is its journal. */
static void ignore_notice(void *userdata, const char *message)
{
}

/* A new connection with this store's URL and name. connect_timeout is a
 * default the URL may override, as are the others: a node whose host dies
 * mid-transaction must not hold its rows' locks (and so every other node's
 * adoption of it, in a blocking call on their loops) for the two hours of
 * TCP's default keepalive. The server ends a session idle inside a
 * transaction after 10 s (a batch's statements follow each other within one
 * loop iteration) and probes a silent peer; a lock is waited for 5 s at most
 * (the write fails, the caller says so; a tick later it is tried again). */
static int pg_connect(PgStore *s, const char *connect_timeout)
{
	const char *keys[] = {"connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
			      "keepalives_count", "tcp_user_timeout", "options", "application_name", "dbname",
			      NULL};
	const char *values[] = {connect_timeout, "1", "10", "5", "3", "30000",
				"-c idle_in_transaction_session_timeout=10s -c lock_timeout=5s -c tcp_keepalives_idle=10 "
				"-c tcp_keepalives_interval=5 -c tcp_keepalives_count=3",
				s->app, s->url, NULL};

	PQfinish(s->conn);
	/* Defaults first: what the URL itself says comes later and wins. */
	s->conn = PQconnectdbParams(keys, values, 1);
	if (!s->conn)
		return pg_fail(s, -ENOMEM, "out of memory");
	if (PQstatus(s->conn) != CONNECTION_OK)
		return pg_fail(s, -ECONNREFUSED, "connect to PostgreSQL: %s", PQerrorMessage(s->conn));
	PQsetNoticeProcessor(s->conn, ignore_notice, NULL);
	return 0;
}

/* Connect again, at most once per PG_RECONNECT_USEC: the database comes back
 * as it was left (statements prepared, the database taken). */
/*
 * The node's name, held for as long as its session lasts: claims, fences and
 * a restart's recovery all go by the name, so two daemons under one name
 * would settle and give back each other's tasks. The server drops the lock
 * with the session, so a node killed with -9 frees its name at once.
 */
static int pg_take_node(PgStore *s)
{
	const char *sql = "SELECT pg_try_advisory_lock(hashtext('vx11d.node:' || current_schema() || ':' || $1)), "
			  "(SELECT a.application_name || ' (server pid ' || a.pid || ')' FROM pg_locks l "
			  "JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND l.granted "
			  "AND l.objid = hashtext('vx11d.node:' || current_schema() || ':' || $1)::oid "
			  "AND a.pid <> pg_backend_pid() LIMIT 1), "
			  /* What the vx11_ev trigger names as the writer (schema step 12). */
			  "set_config('vx11.node', $1, false)";
	const char *v[1] = {s->node};
	PGresult *res = PQexecParams(s->conn, sql, 1, NULL, v, NULL, NULL, 0);
	int r = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		r = pg_fail(s, -EIO, "take the node name: %s", PQerrorMessage(s->conn));
	else if (!streq(PQgetvalue(res, 0, 0), "t"))
		r = pg_fail(s, -EBUSY,
			    "the node name \"%s\" is in use by another vx11d on this database (%s): give each "
			    "node its own --node",
			    s->node, PQgetisnull(res, 0, 1) ? "its session is ending" : PQgetvalue(res, 0, 1));
	PQclear(res);
	check_connection(s);
	return r;
}

static int pg_reconnect(Store *s)
{
	char since[TIMESTAMP_MAX];
	uint64_t now = now_monotonic_usec();
	int r;

	if (!s->lost)
		return 0;
	if (now < s->next_attempt)
		return pg_fail(s, -ENOTCONN, "%s", s->down);
	s->next_attempt = now + PG_RECONNECT_USEC;
	r = pg_connect(s, "2");
	if (r >= 0)
		r = prepare_all(s);
	if (r >= 0)
		r = pg_take_node(s);
	if (r < 0) {
		/* Kept for store_unavailable(): why it is still down. */
		snprintf(s->down, sizeof s->down, "the database is unreachable since %s: %.400s",
			 format_timestamp(since, s->lost_at), s->error);
		PQfinish(s->conn);
		s->conn = NULL;
		return pg_fail(s, -ENOTCONN, "%s", s->down);
	}
	s->lost = false;
	s->stats.reconnects++;
	/* Claims this node holds without knowing (a lost answer or commit). */
	if (pg_fleet_release_unowned(s) < 0 && s->lost)
		return pg_fail(s, -ENOTCONN, "%s", s->down);
	return 0;
}

static const char *pg_unavailable(const Store *s)
{
	return s->lost ? s->down : NULL;
}

const StoreOps store_pg_ops = {
	.name = "postgresql",
	.free = pg_free,
	.last_error = pg_last_error,
	.commit = pg_commit,
	.has_pending = pg_has_pending,
	.commit_async = pg_commit_async,
	.sync_fd = pg_sync_fd,
	.synced = pg_synced,
	.want_durable = pg_want_durable,
	.pending_is_durable = pg_pending_is_durable,
	.stats = pg_stats,
	.checkpoint = NULL,
	.wal_pages = NULL,
	.intent_insert = pg_intent_insert,
	.intent_get = pg_intent_get,
	.intent_update = pg_intent_update,
	.intent_set_result = pg_intent_set_result,
	.intent_find_idempotent = pg_intent_find_idempotent,
	.intent_list = pg_intent_list,
	.intent_count = pg_intent_count,
	.id_prefix_find = pg_id_prefix_find,
	.task_insert = pg_task_insert,
	.task_get = pg_task_get,
	.task_update = pg_task_update,
	.task_list = pg_task_list,
	.task_count = pg_task_count,
	.task_count_by_status = pg_task_count_by_status,
	.task_count_by_type = pg_task_count_by_type,
	.task_first_start = pg_task_first_start,
	.daughter_insert = pg_daughter_insert,
	.daughter_update = pg_daughter_update,
	.daughter_heartbeat = pg_daughter_heartbeat,
	.daughter_list = pg_daughter_list,
	.attempt_insert = pg_attempt_insert,
	.attempt_update = pg_attempt_update,
	.attempt_list = pg_attempt_list,
	.attempt_list_task = pg_attempt_list_task,
	.attempt_list_running = pg_attempt_list_running,
	.pause_set = pg_pause_set,
	.pause_clear = pg_pause_clear,
	.pause_list = pg_pause_list,
	.dep_insert = pg_dep_insert,
	.dep_list = pg_dep_list,
	.dep_dependents = pg_dep_dependents,
	.prune_candidates = pg_prune_candidates,
	.task_delete = pg_task_delete,
	.intent_prune = pg_intent_prune,
	.reconnect = pg_reconnect,
	.unavailable = pg_unavailable,
	.claim = pg_claim,
	.claim_task = pg_claim_task,
	.task_release = pg_task_release,
	.release_own = pg_release_own,
	.wake_fd = pg_wake_fd,
	.wake_drain = pg_wake_drain,
	.task_cancel = pg_task_cancel,
	.tasks_ended = pg_tasks_ended,
	.ctl_next = pg_ctl_next,
	.ctl_send = pg_ctl_send,
	.event_next = pg_event_next,
	.attempt_log_put = pg_attempt_log_put,
	.attempt_log_get = pg_attempt_log_get,
	.intent_key_lock = pg_intent_key_lock,
	.node_register = pg_node_register,
	.node_renew = pg_node_renew,
	.node_leave = pg_node_leave,
	.node_adopt = pg_node_adopt,
	.attempt_list_adopted = pg_attempt_list_adopted,
	.fleet_nodes = pg_fleet_nodes,
	.fleet_queue_depth = pg_fleet_queue_depth,
};

int store_pg_open(const char *url, const char *node, Store **ret)
{
	char host[256];
	PgStore *s;
	int r;

	s = calloc(1, sizeof *s);
	if (!s) {
		store_set_open_error("out of memory");
		return -ENOMEM;
	}
	s->head.ops = &store_pg_ops;
	if (!node) {
		if (gethostname(host, sizeof host) < 0)
			snprintf(host, sizeof host, "localhost");
		host[sizeof host - 1] = 0;
		node = host;
	}
	s->node = strdup(node);
	s->url = strdup(url);
	if (!s->node || !s->url) {
		r = pg_fail(s, -ENOMEM, "out of memory");
		goto fail;
	}
	/* The node in pg_stat_activity: what names the holder of the database. */
	snprintf(s->app, sizeof s->app, "vx11d node %.50s", node); /* NAMEDATALEN 64 */
	r = pg_connect(s, "5");
	if (r < 0)
		goto fail;
	r = pg_migrate(s);
	if (r < 0)
		goto fail;
	r = prepare_all(s);
	if (r < 0)
		goto fail;
	r = pg_take_node(s);
	if (r < 0)
		goto fail;
	*ret = s;
	return 0;
fail:
	store_set_open_error("%s", s->error);
	pg_free(s);
	return r;
}
