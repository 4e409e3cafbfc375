/* SPDX-License-Identifier: MIT */
/*
 * Node liveness on PostgreSQL (FLEET-DESIGN.md 2.4, 2.5, 4; P9, blocking
 * cut): each node's row in `nodes` says until when it promises to be alive,
 * by the database's clock (nodes never compare their own clocks). A node
 * registers at start (incarnation + 1), renews every lease/5, and any node
 * may adopt one whose lease ended: the row locked with SKIP LOCKED, so two
 * sweepers never adopt one node, its incarnation bumped, so the node, if it
 * comes back, learns from its next renewal that it was swept; its running
 * tasks become the adopter's under a new claim_seq, so the dead node's
 * fenced writes can no longer land (store-pg-fleet.c).
 *
 * Each statement here runs on its own, outside any transaction, so that
 * now() is the statement's time and its effect is committed when it returns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-pg-internal.h"

#define USEC(x) "(extract(epoch FROM " x ") * 1000000)::bigint"

char *pg_lease_sql(unsigned i)
{
	switch (i) {
	case PG_LEASE_REGISTER:
		/* $1 node, $2 lease s, $3 host, $4 pid, $5 version, $6 max_running.
		 * No condition on the row: the node's name is held by this
		 * session's advisory lock (store-pg.c), so whoever had it is gone. */
		return strdup("INSERT INTO nodes (name, incarnation, lease_until, state, started_at, renewed_at, host,"
			      " pid, version, max_running)"
			      " VALUES ($1::text, 1, now() + make_interval(secs => $2::integer), 'up', now(), now(),"
			      " $3::text, $4::integer, $5::text, $6::integer)"
			      " ON CONFLICT (name) DO UPDATE SET incarnation = nodes.incarnation + 1,"
			      " lease_until = EXCLUDED.lease_until, state = 'up', started_at = now(), renewed_at = now(),"
			      " host = EXCLUDED.host, pid = EXCLUDED.pid, version = EXCLUDED.version,"
			      " max_running = EXCLUDED.max_running, running = 0, swept_by = NULL, swept_at = NULL"
			      " RETURNING incarnation, " USEC("now()") ", " USEC("lease_until"));
	case PG_LEASE_RENEW:
		/* $1 node, $2 incarnation, $3 lease s, $4 running, $5 max_running.
		 * It succeeds after lease_until passed if nobody swept: a database
		 * outage every node saw costs no one its tasks. */
		return strdup("UPDATE nodes SET lease_until = now() + make_interval(secs => $3::integer),"
			      " renewed_at = now(), running = $4::integer, max_running = $5::integer"
			      " WHERE name = $1::text AND incarnation = $2::bigint"
			      " RETURNING incarnation, " USEC("now()") ", " USEC("lease_until"));
	case PG_LEASE_LEAVE:
		/* A node that still holds a running or planning task (an
		 * adoption not settled yet, a start that failed after its
		 * registration) stays up with its lease ended: another node
		 * adopts it at once instead of never. */
		return strdup("UPDATE nodes SET state = CASE WHEN EXISTS (SELECT 1 FROM tasks WHERE claimed_by = $1::text"
			      " AND status IN ('running', 'planning')) THEN 'up' ELSE 'left' END,"
			      " lease_until = now(), running = 0"
			      " WHERE name = $1::text AND incarnation = $2::bigint");
	case PG_LEASE_ADOPT:
		/* $1 node, $2 now (usec, the claims' clock). One expired node per
		 * statement; its claimed, not started tasks go back to the pool. */
		return strdup("WITH dead AS (SELECT name FROM nodes WHERE state = 'up' AND lease_until < now()"
			      " AND name <> $1::text ORDER BY lease_until LIMIT 1 FOR UPDATE SKIP LOCKED),"
			      " gone AS (UPDATE nodes n SET incarnation = n.incarnation + 1, state = 'down',"
			      " running = 0, swept_by = $1::text, swept_at = now() FROM dead WHERE n.name = dead.name"
			      " RETURNING n.name),"
			      " moved AS (UPDATE tasks t SET claimed_by = CASE WHEN t.status IN"
			      " ('running', 'planning', 'cancelled') THEN $1::text ELSE NULL END,"
			      " claim_seq = t.claim_seq + 1, claimed_at = $2::bigint FROM gone"
			      " WHERE t.claimed_by = gone.name RETURNING t.id, t.claimed_by, t.claim_seq)"
			      " SELECT g.name, m.id, m.claim_seq FROM gone g LEFT JOIN moved m ON m.claimed_by = $1::text");
	case PG_LEASE_ADOPT_SELF:
		/* $1 node, $2 now: at start, the running tasks it left are its own
		 * again under a new claim, its recovery's writes fenced by it. */
		return strdup("UPDATE tasks SET claim_seq = claim_seq + 1, claimed_at = $2::bigint"
			      " WHERE claimed_by = $1::text AND status IN ('running', 'planning', 'cancelled')"
			      " RETURNING id, claim_seq");
	case PG_LEASE_NODES:
		return strdup("SELECT name, state, host, version, swept_by, incarnation, " USEC("lease_until") ", "
			      USEC("renewed_at") ", " USEC("started_at") ", lease_until >= now(), running,"
			      " max_running, pid FROM nodes ORDER BY name");
	case PG_LEASE_QUEUE_DEPTH:
		return strdup("SELECT count(*) FROM tasks WHERE claimed_by IS NULL AND status IN ('pending', 'retrying')");
	default:
		return NULL;
	}
}

static void read_lease(const PGresult *res, StoreLease *ret)
{
	if (!ret)
		return;
	ret->incarnation = pg_get_i64(res, 0, 0);
	ret->db_now = (uint64_t)pg_get_i64(res, 0, 1);
	ret->lease_until = (uint64_t)pg_get_i64(res, 0, 2);
}

/* Statements here commit on their own: not inside the caller's transaction. */
static int outside_txn(PgStore *s, const char *what)
{
	if (s->in_txn || s->txn_lost)
		return pg_fail(s, -EAGAIN, "%s: a transaction is open", what);
	return 0;
}

int pg_node_register(Store *s, unsigned lease_seconds, unsigned max_running, StoreLease *ret)
{
	char host[256];
	PgParams p = {};
	PGresult *res;
	int r, n;

	r = outside_txn(s, "register");
	if (r < 0)
		return r;
	if (gethostname(host, sizeof host) < 0)
		snprintf(host, sizeof host, "?");
	host[sizeof host - 1] = 0;
	pg_param_str(&p, s->node);
	pg_param_i64(&p, lease_seconds);
	pg_param_str(&p, host);
	pg_param_i64(&p, getpid());
	pg_param_str(&p, PACKAGE_VERSION);
	pg_param_i64(&p, max_running);
	r = pg_run(s, PG_LEASE_REGISTER, &p, false, &res);
	if (r < 0)
		return r;
	read_lease(res, ret);
	s->incarnation = pg_get_i64(res, 0, 0);
	PQclear(res);

	p = (PgParams){};
	pg_param_str(&p, s->node);
	pg_param_i64(&p, (int64_t)now_realtime_usec());
	r = pg_run(s, PG_LEASE_ADOPT_SELF, &p, false, &res);
	if (r < 0)
		return r;
	n = PQntuples(res);
	for (int i = 0; i < n && r >= 0; i++)
		r = pg_fleet_own(s, PQgetvalue(res, i, 0), pg_get_i64(res, i, 1));
	PQclear(res);
	return r;
}

int pg_node_renew(Store *s, unsigned lease_seconds, unsigned running, unsigned max_running, StoreLease *ret)
{
	PgParams p = {};
	PGresult *res;
	int r;

	r = outside_txn(s, "renew the lease");
	if (r < 0)
		return r;
	pg_param_str(&p, s->node);
	pg_param_i64(&p, s->incarnation);
	pg_param_i64(&p, lease_seconds);
	pg_param_i64(&p, running);
	pg_param_i64(&p, max_running);
	r = pg_run(s, PG_LEASE_RENEW, &p, false, &res);
	if (r < 0)
		return r;
	if (PQntuples(res) != 1)
		r = pg_fail(s, -ESTALE, "its incarnation %lld was adopted by another node (its lease had ended)",
			    (long long)s->incarnation);
	else
		read_lease(res, ret);
	PQclear(res);
	return r;
}

int pg_node_leave(Store *s)
{
	PgParams p = {};
	PGresult *res;
	int r;

	if (s->incarnation == 0)
		return 0;
	pg_param_str(&p, s->node);
	pg_param_i64(&p, s->incarnation);
	/* With the stop's last writes: "left" once their settles are in. */
	r = pg_run(s, PG_LEASE_LEAVE, &p, true, &res);
	if (r < 0)
		return r;
	PQclear(res);
	return 0;
}

int pg_node_adopt(Store *s, char ret_node[static STORE_NODE_MAX], char (**ret_ids)[ID_STRING_MAX], size_t *ret_n)
{
	char (*ids)[ID_STRING_MAX] = NULL;
	PgParams p = {};
	PGresult *res;
	size_t k = 0;
	int r, n;

	r = outside_txn(s, "adopt");
	if (r < 0)
		return r;
	pg_param_str(&p, s->node);
	pg_param_i64(&p, (int64_t)now_realtime_usec());
	r = pg_run(s, PG_LEASE_ADOPT, &p, false, &res);
	if (r < 0)
		return r;
	n = PQntuples(res);
	if (n == 0) {
		PQclear(res);
		return 0;
	}
	/* Committed: whatever fails below, the node is adopted, its tasks ours. */
	snprintf(ret_node, STORE_NODE_MAX, "%s", PQgetvalue(res, 0, 0));
	ids = calloc(n, sizeof *ids);
	for (int i = 0; ids && i < n; i++) {
		if (PQgetisnull(res, i, 1))
			continue;
		snprintf(ids[k++], ID_STRING_MAX, "%s", PQgetvalue(res, i, 1));
		if (r >= 0)
			r = pg_fleet_own(s, PQgetvalue(res, i, 1), pg_get_i64(res, i, 2));
	}
	PQclear(res);
	/* What went back to the pool is anyone's: wake the others. */
	PQclear(PQexec(s->conn, "NOTIFY vx11_work"));
	if (!ids)
		r = pg_fail(s, -ENOMEM, "out of memory");
	*ret_ids = ids;
	*ret_n = k;
	return r < 0 ? r : 1;
}

int pg_fleet_nodes(Store *s, store_node_cb cb, void *userdata)
{
	PGresult *res;
	int r;

	r = pg_run(s, PG_LEASE_NODES, NULL, false, &res);
	if (r < 0)
		return r;
	for (int i = 0; i < PQntuples(res) && r == 0; i++) {
		StoreNode n = {
			.name = PQgetvalue(res, i, 0),
			.state = PQgetvalue(res, i, 1),
			.host = PQgetvalue(res, i, 2),
			.version = PQgetvalue(res, i, 3),
			.swept_by = PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4),
			.incarnation = pg_get_i64(res, i, 5),
			.lease_until = (uint64_t)pg_get_i64(res, i, 6),
			.renewed_at = (uint64_t)pg_get_i64(res, i, 7),
			.started_at = (uint64_t)pg_get_i64(res, i, 8),
			.lease_ok = streq(PQgetvalue(res, i, 9), "t"),
			.running = (unsigned)pg_get_i64(res, i, 10),
			.max_running = (unsigned)pg_get_i64(res, i, 11),
			.pid = (int)pg_get_i64(res, i, 12),
		};
		r = cb(&n, userdata);
	}
	PQclear(res);
	return r;
}

int pg_fleet_queue_depth(Store *s, uint64_t *ret)
{
	PGresult *res;
	int r;

	r = pg_run(s, PG_LEASE_QUEUE_DEPTH, NULL, false, &res);
	if (r < 0)
		return r;
	*ret = (uint64_t)pg_get_i64(res, 0, 0);
	PQclear(res);
	return 0;
}
