/* SPDX-License-Identifier: MIT */
/*
 * The fleet on PostgreSQL (FLEET-DESIGN.md P8, blocking cut): claims, the
 * fence on the writes of a claimed task's attempt, giving claims back, and
 * the vx11_work wake-ups.
 *
 * A claim is one statement in a transaction of its own, committed before the
 * caller starts anything: (claimed_by, claim_seq) on the task's row say which
 * node may run it, SKIP LOCKED lets nodes claim at once without waiting on
 * each other and without two taking one row. The node keeps what it claimed
 * (PgOwned) so that every later write about such a task first re-checks the
 * claim with the row locked to the end of the transaction (pg_fence()): a
 * claim taken away (adoption, later work; an operator by hand) makes the
 * write fail with -ESTALE, never reach the rows, and whatever takes the claim
 * waits for the lock, so "settled by us first" and "taken first" are the only
 * orders. One extra round trip per claimed task per transaction.
 *
 * Wake-ups: a transaction that made a task runnable sends NOTIFY vx11_work
 * with its COMMIT (store-pg.c: once per commit, however many rows); each
 * node LISTENs on a second connection whose socket the caller polls.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-pg-internal.h"

/* $1 node, $2 task types (text[]), $3 free slots, $4 now (usec). Ends are
 * the statuses a dependency may be in to let its dependent run; a failed
 * one still lets the claim through, for the runner's gate to fail it with
 * its reason (dependency_failed). */
#define TERMINAL "('completed', 'failed', 'expired', 'cancelled')"
static const char claim_sql[] =
	"WITH cand AS (SELECT t.seq FROM tasks t"
	" WHERE t.claimed_by IS NULL AND t.status IN ('pending', 'retrying')"
	" AND (t.status = 'pending' OR t.next_attempt_at <= $4::bigint)"
	" AND t.task_type = ANY ($2::text[])"
	" AND NOT EXISTS (SELECT 1 FROM pauses p WHERE p.scope IN ('*', t.task_type))"
	" AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks a ON a.id = d.after_id"
	" WHERE d.task_id = t.id AND a.status NOT IN " TERMINAL ")"
	" ORDER BY t.priority, t.seq LIMIT $3::bigint FOR UPDATE OF t SKIP LOCKED),"
	" claimed AS (UPDATE tasks t SET claimed_by = $1::text, claim_seq = t.claim_seq + 1,"
	" claimed_at = $4::bigint FROM cand WHERE t.seq = cand.seq RETURNING t.id, t.claim_seq, t.priority, t.seq)"
	" SELECT id, claim_seq FROM claimed ORDER BY priority, seq";

char *pg_fleet_sql(unsigned i)
{
	switch (i) {
	case PG_FLEET_CLAIM:
		return strdup(claim_sql);
	case PG_FLEET_CLAIM_TASK: /* $1 node, $2 task, $3 now: a task this transaction inserted */
		return strdup("UPDATE tasks SET claimed_by = $1::text, claim_seq = claim_seq + 1,"
			      " claimed_at = $3::bigint WHERE id = $2::text AND claimed_by IS NULL RETURNING claim_seq");
	case PG_FLEET_FENCE: /* $1 task, $2 node, $3 claim_seq: locks the row to COMMIT */
		return strdup("SELECT 1 FROM tasks WHERE id = $1::text AND claimed_by = $2::text"
			      " AND claim_seq = $3::integer FOR NO KEY UPDATE");
	case PG_FLEET_RELEASE:
		return strdup("UPDATE tasks SET claimed_by = NULL WHERE id = $1::text AND claimed_by = $2::text"
			      " AND claim_seq = $3::integer");
	case PG_FLEET_RELEASE_OWN:
		return strdup("UPDATE tasks SET claimed_by = NULL WHERE claimed_by = $1::text");
	case PG_FLEET_RELEASE_MINE: /* $1 task, $2 node: whatever claim of ours it still has */
		return strdup("UPDATE tasks SET claimed_by = NULL WHERE id = $1::text AND claimed_by = $2::text");
	case PG_FLEET_RELEASE_UNOWNED: /* $1 node, $2 the tasks it knows it has (text[]) */
		return strdup("UPDATE tasks SET claimed_by = NULL WHERE claimed_by = $1::text"
			      " AND status IN ('pending', 'retrying') AND NOT (id = ANY ($2::text[]))");
	default:
	{
		char *sql = pg_control_sql(i);
		return sql ? sql : pg_lease_sql(i);
	}
	}
}

/* ---- What this node claimed ---- */

static PgOwned *owned_find(PgStore *s, const char *task_id, const char *daughter_id)
{
	for (size_t i = 0; i < s->n_owned; i++)
		if (task_id ? streq(s->owned[i].id, task_id) : streq(s->owned[i].daughter_id, daughter_id))
			return &s->owned[i];
	return NULL;
}

static int owned_add(PgStore *s, const char *task_id, int64_t claim_seq)
{
	PgOwned *o = owned_find(s, task_id, NULL);

	if (!o) {
		PgOwned *n = realloc(s->owned, (s->n_owned + 1) * sizeof *n);
		if (!n)
			return pg_fail(s, -ENOMEM, "out of memory");
		s->owned = n;
		o = &s->owned[s->n_owned++];
	}
	*o = (PgOwned){.claim_seq = claim_seq};
	snprintf(o->id, sizeof o->id, "%s", task_id);
	return 0;
}

int pg_fleet_own(PgStore *s, const char *task_id, int64_t claim_seq)
{
	return owned_add(s, task_id, claim_seq);
}

static void owned_drop(PgStore *s, PgOwned *o)
{
	*o = s->owned[--s->n_owned];
}

void pg_fleet_free(PgStore *s)
{
	free(s->owned);
	s->owned = NULL;
	s->n_owned = 0;
	PQfinish(s->listen);
	s->listen = NULL;
}

/* The locks went with the transaction, committed or not. */
void pg_fleet_committed(PgStore *s)
{
	for (size_t i = 0; i < s->n_owned; i++)
		s->owned[i].locked = false;
}

static void bind_claim(PgParams *p, const PgStore *s, const PgOwned *o)
{
	pg_param_str(p, o->id);
	pg_param_str(p, s->node);
	pg_param_i64(p, o->claim_seq);
}

int pg_fence(PgStore *s, const char *task_id, const char *daughter_id)
{
	PgOwned *o = owned_find(s, task_id, daughter_id);
	PgParams p = {};
	PGresult *res;
	int r, n;

	if (!o || (o->locked && s->in_txn))
		return 0;
	bind_claim(&p, s, o);
	r = pg_run(s, PG_FLEET_FENCE, &p, true, &res);
	if (r < 0)
		return r;
	n = PQntuples(res);
	PQclear(res);
	if (n == 0)
		return pg_fail(s, -ESTALE, "task %s: fenced: its claim %lld by node %s is no longer this node's", o->id,
			       (long long)o->claim_seq, s->node);
	o->locked = true;
	return 0;
}

void pg_fence_note_daughter(PgStore *s, const char *task_id, const char *daughter_id)
{
	PgOwned *o = owned_find(s, task_id, NULL);

	if (o)
		snprintf(o->daughter_id, sizeof o->daughter_id, "%s", daughter_id);
}

static int release(PgStore *s, PgOwned *o)
{
	PgParams p = {};
	PGresult *res;
	int r;

	bind_claim(&p, s, o);
	r = pg_run(s, PG_FLEET_RELEASE, &p, true, &res);
	if (r < 0)
		return r;
	PQclear(res);
	owned_drop(s, o);
	s->notify_owed = true;
	return 0;
}

int pg_fleet_task_written(PgStore *s, const Task *t, bool inserted)
{
	PgOwned *o = owned_find(s, t->id, NULL);

	/* Pending: runnable at once; an ended one may be what others wait for. */
	if (t->status == TASK_PENDING || (!inserted && task_status_is_terminal(t->status)))
		s->notify_owed = true;
	/* Retrying: any node may run the retry once its backoff is over. */
	if (o && (t->status == TASK_RETRYING || task_status_is_terminal(t->status)))
		return release(s, o);
	/* Not known as ours, yet ours in the database: a release whose commit
	 * was lost with the connection forgot it (the settle is written again
	 * when the database is back). Give it back with the settle. */
	if (!o && (t->status == TASK_RETRYING || task_status_is_terminal(t->status))) {
		PgParams p = {};
		PGresult *res;
		int r;

		pg_param_str(&p, t->id);
		pg_param_str(&p, s->node);
		r = pg_run(s, PG_FLEET_RELEASE_MINE, &p, true, &res);
		if (r < 0)
			return r;
		if (pg_changes(res) > 0)
			s->notify_owed = true;
		PQclear(res);
	}
	return 0;
}

/* ---- Claims ---- */

/* A text[] literal: each name quoted, its quotes and backslashes escaped. */
static char *types_array(const char *const *types)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return NULL;
	fputc('{', f);
	for (size_t i = 0; types && types[i]; i++) {
		fputs(i ? ",\"" : "\"", f);
		for (const char *c = types[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				fputc('\\', f);
			fputc(*c, f);
		}
		fputc('"', f);
	}
	fputc('}', f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int pg_claim(Store *s, const char *const *types, unsigned slots, store_task_cb cb, void *userdata)
{
	_cleanup_free_ char *array = NULL;
	char (*ids)[ID_STRING_MAX] = NULL;
	PgParams p = {};
	PGresult *res;
	int r, n;

	/* Its own transaction: committed before anything claimed starts. */
	if (s->in_txn || s->txn_lost)
		return pg_fail(s, -EAGAIN, "claim: a transaction is open");
	if (slots == 0)
		return 0;
	array = types_array(types);
	if (!array)
		return pg_fail(s, -ENOMEM, "out of memory");
	pg_param_str(&p, s->node);
	pg_param_str(&p, array);
	pg_param_i64(&p, slots);
	pg_param_i64(&p, (int64_t)now_realtime_usec());
	r = pg_run(s, PG_FLEET_CLAIM, &p, false, &res);
	if (r < 0)
		return r;
	n = PQntuples(res);
	ids = calloc(n + 1, sizeof *ids);
	for (int i = 0; ids && i < n; i++) {
		snprintf(ids[i], sizeof ids[i], "%s", PQgetvalue(res, i, 0));
		if (r >= 0)
			r = owned_add(s, ids[i], pg_get_i64(res, i, 1));
	}
	PQclear(res);
	if (!ids)
		r = pg_fail(s, -ENOMEM, "out of memory");
	/* Claimed and committed: each is this node's to run or give back. */
	for (int i = 0; r >= 0 && i < n; i++) {
		Task t;

		if (pg_task_get(s, ids[i], &t) < 0) {
			/* Not this node's to run unread: anyone's again. */
			(void)pg_task_release(s, ids[i]);
			continue;
		}
		r = cb(&t, userdata);
		task_done(&t);
	}
	free(ids);
	return r < 0 ? r : n;
}

int pg_claim_task(Store *s, const char *task_id)
{
	PgParams p = {};
	PGresult *res;
	int r;

	pg_param_str(&p, s->node);
	pg_param_str(&p, task_id);
	pg_param_i64(&p, (int64_t)now_realtime_usec());
	r = pg_run(s, PG_FLEET_CLAIM_TASK, &p, true, &res);
	if (r < 0)
		return r;
	if (PQntuples(res) != 1)
		r = pg_fail(s, -ESTALE, "task %s: claimed already", task_id);
	else
		r = owned_add(s, task_id, pg_get_i64(res, 0, 0));
	PQclear(res);
	return r;
}

int pg_task_release(Store *s, const char *task_id)
{
	PgOwned *o = owned_find(s, task_id, NULL);

	return o ? release(s, o) : 0;
}

int pg_release_own(Store *s)
{
	PgParams p = {};
	PGresult *res;
	int r;

	pg_param_str(&p, s->node);
	r = pg_run(s, PG_FLEET_RELEASE_OWN, &p, true, &res);
	if (r < 0)
		return r;
	if (pg_changes(res) > 0)
		s->notify_owed = true;
	PQclear(res);
	s->n_owned = 0;
	return 0;
}

/* ---- Wake-ups ---- */

int pg_wake_fd(Store *s)
{
	/* A peer gone silent is found as on the main connection (store-pg.c). */
	const char *keys[] = {"connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
			      "keepalives_count", "tcp_user_timeout", "application_name", "dbname", NULL};
	char app[64];
	const char *values[] = {"5", "1", "10", "5", "3", "30000", app, s->url, NULL};
	PGresult *res;
	bool ok;

	/* A listening connection an outage broke is made again (the caller has
	 * let go of the old descriptor's event source first). */
	if (s->listen && PQstatus(s->listen) == CONNECTION_OK)
		return PQsocket(s->listen);
	PQfinish(s->listen);
	s->listen = NULL;
	snprintf(app, sizeof app, "vx11d node %.43s listen", s->node);
	s->listen = PQconnectdbParams(keys, values, 1);
	if (!s->listen || PQstatus(s->listen) != CONNECTION_OK) {
		pg_fail(s, -ECONNREFUSED, "listen: connect to PostgreSQL: %s",
			s->listen ? PQerrorMessage(s->listen) : "out of memory");
		PQfinish(s->listen);
		s->listen = NULL;
		return -ECONNREFUSED;
	}
	/* vx11_ctl: what another node asks of this one (store-pg-control.c). */
	/* vx11_ev: task status changes other nodes committed (5.2). */
	res = PQexec(s->listen, "LISTEN vx11_work; LISTEN vx11_ctl; LISTEN vx11_ev");
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	if (!ok || PQsetnonblocking(s->listen, 1) != 0) {
		pg_fail(s, -EIO, "listen: %s", PQerrorMessage(s->listen));
		PQfinish(s->listen);
		s->listen = NULL;
		return -EIO;
	}
	return PQsocket(s->listen);
}

int pg_wake_drain(Store *s)
{
	PGnotify *n;
	int count = 0;

	if (!s->listen)
		return 0;
	if (PQconsumeInput(s->listen) != 1)
		return pg_fail(s, -EIO, "listen: %s", PQerrorMessage(s->listen));
	while ((n = PQnotifies(s->listen))) {
		/* Out of memory: lost, the receiver's poll makes up for it. */
		if (streq(n->relname, "vx11_ctl"))
			(void)pg_ctl_push(s, n->extra);
		/* Not counted: an event is no work to claim (one per status
		 * change of every task: a claim each would double the fleet's
		 * reads); store_event_next() takes them. */
		else if (streq(n->relname, "vx11_ev")) {
			(void)pg_ev_push(s, n->extra);
			PQfreemem(n);
			continue;
		}
		PQfreemem(n);
		count++;
	}
	return count;
}

/*
 * After a reconnect: the claims of this node on runnable tasks it does not
 * know it has are given back. A claim whose answer was lost with the
 * connection (the statement ran, its reply never came), or a release the
 * server rolled back with a lost commit, would else hold its task until this
 * node restarts.
 */
int pg_fleet_release_unowned(PgStore *s)
{
	_cleanup_free_ const char **ids = calloc(s->n_owned + 1, sizeof *ids);
	_cleanup_free_ char *array = NULL;
	PgParams p = {};
	PGresult *res;
	int r;

	if (!ids)
		return pg_fail(s, -ENOMEM, "out of memory");
	for (size_t i = 0; i < s->n_owned; i++)
		ids[i] = s->owned[i].id;
	array = types_array(ids);
	if (!array)
		return pg_fail(s, -ENOMEM, "out of memory");
	pg_param_str(&p, s->node);
	pg_param_str(&p, array);
	/* On its own, not in a group: a claim retried after this reconnect must
	 * not land in a transaction that commits only later. */
	r = pg_run(s, PG_FLEET_RELEASE_UNOWNED, &p, false, &res);
	if (r < 0)
		return r;
	if (pg_changes(res) > 0)
		s->notify_owed = true;
	PQclear(res);
	return 0;
}
