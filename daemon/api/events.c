/* SPDX-License-Identifier: MIT */
/* Live notifications (see events.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "conn.h"
#include "core/manager.h"
#include "events.h"
#include "methods.h"
#include "server.h"

static json_object *notification(json_object *params)
{
	json_object *note = json_object_new_object();

	json_object_object_add(note, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(note, "method", json_object_new_string("event"));
	json_object_object_add(note, "params", params);
	return note;
}

static void broadcast(Server *s, const char *task_id, uid_t owner, json_object *note)
{
	Conn *c, *n;

	LIST_FOREACH_SAFE(subscribers, c, n, s->subscribers) {
		if (c->sub_task_id[0] && !streq(c->sub_task_id, task_id))
			continue;
		if (!caller_may_see(&c->caller, s->manager->policy, owner))
			continue;
		conn_send_event(c, note);
	}
}

void events_daughter_status(Server *s, const char *task_id, const Daughter *d, const Attempt *a)
{
	_cleanup_json_ json_object *note = NULL;
	json_object *params;

	if (!s->subscribers)
		return;
	params = json_object_new_object();
	json_object_object_add(params, "type", json_object_new_string("daughter.status"));
	json_object_object_add(params, "task_id", json_object_new_string(task_id));
	json_object_object_add(params, "daughter_id", json_object_new_string(d->id));
	json_object_object_add(params, "attempt", json_object_new_int(a->number));
	json_object_object_add(params, "status", json_object_new_string(d->status));
	json_object_object_add(params, "reason", a->reason ? json_object_new_string(a->reason) : NULL);
	json_object_object_add(params, "exit_code", a->exit_code >= 0 ? json_object_new_int(a->exit_code) : NULL);
	json_object_object_add(params, "signal", a->signal > 0 ? json_object_new_int(a->signal) : NULL);
	json_object_object_add(params, "mutation_level", json_object_new_int(d->mutation_level));
	json_object_object_add(params, "at", json_timestamp(a->finished_at ? a->finished_at : a->started_at));
	note = notification(params);
	broadcast(s, task_id, d->owner_uid, note);
}

void events_task_status(Server *s, const Task *t)
{
	_cleanup_json_ json_object *note = NULL;
	json_object *params;

	if (!s->subscribers)
		return;

	/* Built once, sent to all; a notification has no id. */
	params = json_object_new_object();
	json_object_object_add(params, "type", json_object_new_string("task.status"));
	json_object_object_add(params, "task_id", json_object_new_string(t->id));
	json_object_object_add(params, "status", json_object_new_string(task_status_to_string(t->status)));
	json_object_object_add(params, "at", json_timestamp(t->updated_at));
	json_object_object_add(params, "correlation_id", json_object_new_string(t->intent_id));
	json_object_object_add(params, "task_type", json_object_new_string(t->task_type));
	json_object_object_add(params, "priority", json_object_new_int(t->priority));
	json_object_object_add(params, "current_retry", json_object_new_int(t->current_retry));
	json_object_object_add(params, "mutation_level", json_object_new_int(t->mutation_level));
	note = notification(params);
	broadcast(s, t->id, t->uid, note);
}

/* One vx11_ev payload (schema step 12's trigger) as the Task fields a
 * task.status event and a waiter need; task_type points into o. */
static int remote_task(json_object *o, Task *t)
{
	json_object *v;
	const char *id, *cid;

	*t = (Task){};
	if (!json_object_is_type(o, json_type_object))
		return -EINVAL;
	id = json_object_object_get_ex(o, "task_id", &v) ? json_object_get_string(v) : NULL;
	cid = json_object_object_get_ex(o, "correlation_id", &v) ? json_object_get_string(v) : NULL;
	t->task_type = json_object_object_get_ex(o, "task_type", &v) ? (char *)json_object_get_string(v) : NULL;
	t->status = json_object_object_get_ex(o, "status", &v) ? task_status_from_string(json_object_get_string(v))
							       : _TASK_STATUS_INVALID;
	if (!id || !cid || !t->task_type || t->status < 0 || !json_object_object_get_ex(o, "uid", &v))
		return -EINVAL;
	t->uid = (uid_t)json_object_get_int64(v);
	snprintf(t->id, sizeof t->id, "%s", id);
	snprintf(t->intent_id, sizeof t->intent_id, "%s", cid);
	if (json_object_object_get_ex(o, "at", &v))
		t->updated_at = (uint64_t)json_object_get_int64(v);
	if (json_object_object_get_ex(o, "priority", &v))
		t->priority = json_object_get_int(v);
	if (json_object_object_get_ex(o, "current_retry", &v))
		t->current_retry = json_object_get_int(v);
	if (json_object_object_get_ex(o, "mutation_level", &v))
		t->mutation_level = json_object_get_int(v);
	return 0;
}

void events_fleet(Server *s)
{
	char *payload;

	/* Taken whoever listens, so that they do not pile up. */
	while (store_event_next(s->manager->store, &payload) > 0) {
		_cleanup_json_ json_object *o = NULL;
		Task t;

		if ((s->subscribers || s->waiters) && (o = json_tokener_parse(payload)) && remote_task(o, &t) >= 0) {
			events_task_status(s, &t);
			/* Committed before it was sent: the waiter reads the end. */
			if (task_status_is_terminal(t.status))
				events_wake_waiters(s, &t);
		} else if (s->subscribers || s->waiters)
			log_debug("an event of another node is not understood: %.200s", payload);
		free(payload);
	}
}

#define WAITERS_POLL_USEC USEC_PER_SEC

static int on_wait_timeout(sd_event_source *source, uint64_t usec, void *userdata);

static int answer_ended(const char *task_id, TaskStatus status, void *userdata)
{
	Server *s = userdata;
	Conn *c, *n;

	/* As events_wake_waiters() for an end here. */
	LIST_FOREACH_SAFE(waiters, c, n, s->waiters)
		if (streq(c->wait.task_id, task_id))
			on_wait_timeout(NULL, 0, c);
	return 0;
}

static int on_waiters_poll(sd_event_source *source, uint64_t usec, void *userdata)
{
	Server *s = userdata;
	Store *store = s->manager->store;
	const char **ids;
	size_t n = 0;
	Conn *c;
	int r;

	for (c = s->waiters; c; c = c->waiters_next)
		n++;
	if (n == 0)
		return 0; /* off until the next waiter */
	/* Down: looked for again once it is back. */
	if (!store_available(store)) {
		events_check_waiters(s, WAITERS_POLL_USEC);
		return 0;
	}
	ids = calloc(n, sizeof *ids);
	if (!ids)
		return 0;
	n = 0;
	for (c = s->waiters; c; c = c->waiters_next)
		ids[n++] = c->wait.task_id;
	r = store_tasks_ended(store, ids, n, answer_ended, s);
	free(ids);
	if (r < 0)
		log_warning("cannot look for the ends of awaited tasks: %s", store_last_error(store));
	events_check_waiters(s, WAITERS_POLL_USEC);
	return 0;
}

void events_check_waiters(Server *s, uint64_t usec)
{
	sd_event *e = s->manager->event;
	uint64_t now, when, armed;
	int enabled = SD_EVENT_OFF;

	if (!s->waiters || !store_is_fleet(s->manager->store))
		return;
	if (!s->waiters_poll) {
		if (sd_event_add_time_relative(e, &s->waiters_poll, CLOCK_MONOTONIC, usec, USEC_PER_MSEC,
					       on_waiters_poll, s) < 0)
			log_warning("result.get waits for tasks of other nodes until their timeout: out of memory");
		return;
	}
	if (sd_event_now(e, CLOCK_MONOTONIC, &now) < 0)
		return;
	when = now + usec;
	/* One pending sooner stands. */
	(void)sd_event_source_get_enabled(s->waiters_poll, &enabled);
	if (enabled != SD_EVENT_OFF && sd_event_source_get_time(s->waiters_poll, &armed) >= 0 && armed <= when)
		return;
	(void)sd_event_source_set_time(s->waiters_poll, when);
	(void)sd_event_source_set_enabled(s->waiters_poll, SD_EVENT_ONESHOT);
}

static int on_wait_timeout(sd_event_source *source, uint64_t usec, void *userdata)
{
	Conn *c = userdata;
	json_object *res = NULL;
	_cleanup_json_ json_object *reply = NULL;
	RpcError err;

	if (result_build(c->manager, c->wait.correlation_id, &res) < 0) {
		rpc_error(&err, RPC_NOT_FOUND, "no such correlation id: %s", c->wait.correlation_id);
		reply = rpc_make_error(c->wait.id, &err);
	} else
		reply = rpc_make_result(c->wait.id, res);
	conn_wait_finish(c, reply);
	return 0;
}

int events_wait_result(Conn *c, json_object *id, const char *correlation_id, const char *task_id, uint64_t usec)
{
	int r;

	r = sd_event_add_time_relative(c->manager->event, &c->wait.timer, CLOCK_MONOTONIC, usec, USEC_PER_MSEC,
				       on_wait_timeout, c);
	if (r < 0)
		return r;
	c->wait.active = true;
	c->wait.id = json_object_get(id);
	snprintf(c->wait.correlation_id, sizeof(c->wait.correlation_id), "%s", correlation_id);
	snprintf(c->wait.task_id, sizeof(c->wait.task_id), "%s", task_id);
	LIST_PREPEND(waiters, c->server->waiters, c);
	/* Run on another node, it ends there: looked for about once a second. */
	events_check_waiters(c->server, WAITERS_POLL_USEC);
	return 0;
}

void events_wake_waiters(Server *s, const Task *t)
{
	Conn *c, *n;

	LIST_FOREACH_SAFE(waiters, c, n, s->waiters)
		if (streq(c->wait.task_id, t->id))
			on_wait_timeout(NULL, 0, c);
}
