/* SPDX-License-Identifier: MIT */
/*
 * What one node asks of another through the shared database (FLEET-DESIGN.md
 * 2.7, 2.8, 5.3): cancel a task whichever node runs it, see which awaited
 * tasks other nodes ended, keep two nodes from taking one idempotency key
 * twice, and tell every node that the pauses changed.
 *
 * A cancel is one conditional statement in the open transaction: the task
 * ends cancelled only if it has not ended (a cancel never overwrites a
 * completed or failed task), and when another node holds its claim, the
 * same statement queues NOTIFY vx11_ctl "cancel <id>", which PostgreSQL
 * delivers with the COMMIT (never for a cancel rolled back). The claim is
 * left alone: its holder kills the daughter, settles the attempt and gives
 * the claim back with its own (fenced) writes. A notification lost with a
 * connection is made up for by the holder's poll (store_tasks_ended()).
 *
 * Also what every node hears or reads of the others: task status changes
 * (vx11_ev, schema step 12's trigger; 5.2) and attempts' output tails
 * (attempt_logs; 5.4).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-pg-internal.h"

#define TERMINAL "('completed', 'failed', 'expired', 'cancelled')"

/* $1 task, $2 at (usec), $3 this node. `old` locks the row and reads its
 * newest version (READ COMMITTED re-checks after a wait), so an end that
 * committed first is seen and kept; `n` is referenced so that it runs. */
static const char cancel_sql[] =
	"WITH old AS (SELECT id, status, claimed_by FROM tasks WHERE id = $1::text FOR UPDATE),"
	" c AS (UPDATE tasks t SET status = 'cancelled', updated_at = $2::bigint, next_attempt_at = 0 FROM old"
	" WHERE t.id = old.id AND old.status NOT IN " TERMINAL " RETURNING t.id),"
	" n AS (SELECT pg_notify('vx11_ctl', 'cancel ' || c.id) FROM c, old"
	" WHERE old.claimed_by IS NOT NULL AND old.claimed_by <> $3::text)"
	" SELECT old.status, coalesce(old.claimed_by, ''), (SELECT count(*) FROM c), (SELECT count(*) FROM n)"
	" FROM old";

char *pg_control_sql(unsigned i)
{
	switch (i) {
	case PG_CTL_CANCEL:
		return strdup(cancel_sql);
	case PG_CTL_ENDED: /* $1 task ids (text[]) */
		return strdup("SELECT id, status FROM tasks WHERE id = ANY ($1::text[]) AND status IN " TERMINAL);
	case PG_CTL_KEY_LOCK: /* $1 "uid key": held to the end of the transaction */
		return strdup("SELECT pg_advisory_xact_lock(1983, hashtext($1::text))");
	case PG_CTL_SEND: /* $1 the message: sent with the COMMIT */
		return strdup("SELECT pg_notify('vx11_ctl', $1::text)");
	case PG_CTL_LOG_PUT: /* $1 task, $2 number, $3 stream, $4 node, $5 size, $6 tail (hex) */
		return strdup("INSERT INTO attempt_logs (task_id, number, stream, node, size, tail)"
			      " VALUES ($1::text, $2::integer, $3::text, $4::text, $5::bigint, $6::bytea)"
			      " ON CONFLICT (task_id, number, stream) DO UPDATE SET node = excluded.node,"
			      " size = excluded.size, tail = excluded.tail");
	case PG_CTL_LOG_GET:
		return strdup("SELECT size, tail FROM attempt_logs WHERE task_id = $1::text AND number = $2::integer"
			      " AND stream = $3::text");
	default:
		return NULL;
	}
}

int pg_task_cancel(Store *s, const char *task_id, uint64_t at, TaskStatus *ret_was, char *ret_node, size_t size)
{
	PgParams p = {};
	PGresult *res;
	bool done;
	int r;

	pg_param_str(&p, task_id);
	pg_param_i64(&p, (int64_t)at);
	pg_param_str(&p, s->node);
	r = pg_run(s, PG_CTL_CANCEL, &p, true, &res);
	if (r < 0)
		return r;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return pg_fail(s, -ENOENT, "tasks: no such id");
	}
	*ret_was = task_status_from_string(PQgetvalue(res, 0, 0));
	if (ret_node && size > 0)
		snprintf(ret_node, size, "%s", PQgetvalue(res, 0, 1));
	done = pg_get_i64(res, 0, 2) > 0;
	PQclear(res);
	if (!done)
		return pg_fail(s, -EALREADY, "task %s is already %s", task_id, task_status_to_string(*ret_was));
	s->stats.rows_written++;
	/* What waited for it may run now (a dependency ended). */
	s->notify_owed = true;
	return 0;
}

/* A text[] literal of ids, each quoted (ids are hex digits and '-'; anything
 * else is refused rather than escaped). */
static char *ids_array(PgStore *s, const char *const *ids, size_t n)
{
	size_t len = 3;
	char *buf, *q;

	for (size_t i = 0; i < n; i++) {
		if (strspn(ids[i], "0123456789abcdef-") != strlen(ids[i])) {
			pg_fail(s, -EINVAL, "not a task id: %.64s", ids[i]);
			return NULL;
		}
		len += strlen(ids[i]) + 3;
	}
	buf = q = malloc(len);
	if (!buf) {
		pg_fail(s, -ENOMEM, "out of memory");
		return NULL;
	}
	*q++ = '{';
	for (size_t i = 0; i < n; i++)
		q += sprintf(q, "%s\"%s\"", i ? "," : "", ids[i]);
	*q++ = '}';
	*q = 0;
	return buf;
}

int pg_tasks_ended(Store *s, const char *const *ids, size_t n, store_ended_cb cb, void *userdata)
{
	_cleanup_free_ char *array = NULL;
	char (*ended)[ID_STRING_MAX];
	TaskStatus *status;
	PgParams p = {};
	PGresult *res;
	int r, k;

	array = ids_array(s, ids, n);
	if (!array)
		return -EINVAL; /* said by ids_array() */
	pg_param_str(&p, array);
	r = pg_run(s, PG_CTL_ENDED, &p, false, &res);
	if (r < 0)
		return r;
	/* Copied first: cb may use the store. */
	k = PQntuples(res);
	ended = calloc(k + 1, sizeof *ended);
	status = calloc(k + 1, sizeof *status);
	for (int i = 0; ended && status && i < k; i++) {
		snprintf(ended[i], sizeof ended[i], "%s", PQgetvalue(res, i, 0));
		status[i] = task_status_from_string(PQgetvalue(res, i, 1));
	}
	PQclear(res);
	if (!ended || !status)
		r = pg_fail(s, -ENOMEM, "out of memory");
	for (int i = 0; r >= 0 && i < k; i++)
		if (cb(ended[i], status[i], userdata) != 0)
			break;
	free(ended);
	free(status);
	return r < 0 ? r : k;
}

int pg_intent_key_lock(Store *s, uid_t uid, const char *key)
{
	_cleanup_free_ char *text = NULL;
	PgParams p = {};
	PGresult *res;
	int r;

	if (asprintf(&text, "%u %s", (unsigned)uid, key) < 0)
		return pg_fail(s, -ENOMEM, "out of memory");
	pg_param_str(&p, text);
	/* A write: it opens the transaction the intent's insert commits in. */
	r = pg_run(s, PG_CTL_KEY_LOCK, &p, true, &res);
	if (r < 0)
		return r;
	PQclear(res);
	return 0;
}

/* ---- Control messages (LISTEN vx11_ctl on the wake-up connection) ---- */

int pg_ctl_push(PgStore *s, const char *payload)
{
	char (*n)[PG_CTL_MAX];

	n = realloc(s->ctl, (s->n_ctl + 1) * sizeof *n);
	if (!n)
		return -ENOMEM;
	s->ctl = n;
	snprintf(s->ctl[s->n_ctl++], PG_CTL_MAX, "%s", payload);
	return 0;
}

int pg_ctl_next(Store *s, char *buf, size_t size)
{
	if (s->n_ctl == 0)
		return 0;
	snprintf(buf, size, "%s", s->ctl[0]);
	memmove(s->ctl, s->ctl + 1, --s->n_ctl * sizeof *s->ctl);
	return 1;
}

int pg_ctl_send(Store *s, const char *msg)
{
	PgParams p = {};
	PGresult *res;
	int r;

	if (strlen(msg) >= PG_CTL_MAX)
		return pg_fail(s, -EINVAL, "control message too long: %.32s...", msg);
	pg_param_str(&p, msg);
	r = pg_run(s, PG_CTL_SEND, &p, true, &res);
	if (r < 0)
		return r;
	PQclear(res);
	return 0;
}

void pg_ctl_free(PgStore *s)
{
	free(s->ctl);
	s->ctl = NULL;
	s->n_ctl = 0;
	for (size_t i = 0; i < s->n_ev; i++)
		free(s->ev[i]);
	free(s->ev);
	s->ev = NULL;
	s->n_ev = 0;
}

/* ---- Events of other nodes (LISTEN vx11_ev; schema step 12's trigger) ---- */

/* Taken at each wake-up; more than this means nobody takes them. */
#define PG_EV_MAX 4096

int pg_ev_push(PgStore *s, const char *payload)
{
	const char *nl = strchr(payload, '\n');
	size_t len = strlen(s->node);
	char **n, *copy;

	/* "N <node>\n{...}": the writer's own are sent to its subscribers locally. */
	if (strncmp(payload, "N ", 2) != 0 || !nl)
		return -EINVAL;
	if ((size_t)(nl - payload - 2) == len && strncmp(payload + 2, s->node, len) == 0)
		return 0;
	if (s->n_ev >= PG_EV_MAX)
		return -ENOBUFS;
	copy = strdup(nl + 1);
	n = copy ? realloc(s->ev, (s->n_ev + 1) * sizeof *n) : NULL;
	if (!n) {
		free(copy);
		return -ENOMEM;
	}
	s->ev = n;
	s->ev[s->n_ev++] = copy;
	return 0;
}

int pg_event_next(Store *s, char **ret)
{
	if (s->n_ev == 0)
		return 0;
	*ret = s->ev[0];
	memmove(s->ev, s->ev + 1, --s->n_ev * sizeof *s->ev);
	return 1;
}

/* ---- Output tails (FLEET-DESIGN.md 5.4) ---- */

int pg_attempt_log_put(Store *s, const char *task_id, int number, const char *stream, uint64_t size,
		       const void *tail, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	_cleanup_free_ char *text = malloc(2 * len + 3);
	const unsigned char *b = tail;
	PgParams p = {};
	PGresult *res;
	int r;

	if (!text)
		return pg_fail(s, -ENOMEM, "out of memory");
	/* Fenced as the attempt's own rows: a node whose claim was taken writes none. */
	r = pg_fence(s, task_id, NULL);
	if (r < 0)
		return r;
	text[0] = '\\';
	text[1] = 'x';
	for (size_t i = 0; i < len; i++) {
		text[2 + 2 * i] = hex[b[i] >> 4];
		text[3 + 2 * i] = hex[b[i] & 15];
	}
	text[2 + 2 * len] = 0;
	pg_param_str(&p, task_id);
	pg_param_i64(&p, number);
	pg_param_str(&p, stream);
	pg_param_str(&p, s->node);
	pg_param_i64(&p, (int64_t)size);
	pg_param_str(&p, text);
	r = pg_run(s, PG_CTL_LOG_PUT, &p, true, &res);
	if (r < 0)
		return r;
	PQclear(res);
	return 0;
}

int pg_attempt_log_get(Store *s, const char *task_id, int number, const char *stream, uint64_t *ret_size,
		       void **ret_tail, size_t *ret_len)
{
	PgParams p = {};
	PGresult *res;
	unsigned char *raw;
	size_t len;
	int r;

	pg_param_str(&p, task_id);
	pg_param_i64(&p, number);
	pg_param_str(&p, stream);
	r = pg_run(s, PG_CTL_LOG_GET, &p, false, &res);
	if (r < 0)
		return r;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return -ENOENT;
	}
	*ret_size = (uint64_t)pg_get_i64(res, 0, 0);
	raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 1), &len);
	PQclear(res);
	if (!raw)
		return pg_fail(s, -ENOMEM, "out of memory");
	*ret_tail = malloc(len + 1);
	if (*ret_tail) {
		memcpy(*ret_tail, raw, len);
		((char *)*ret_tail)[len] = 0;
	}
	PQfreemem(raw);
	if (!*ret_tail)
		return pg_fail(s, -ENOMEM, "out of memory");
	*ret_len = len;
	return 0;
}
