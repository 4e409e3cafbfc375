/* SPDX-License-Identifier: MIT */
#include "conn.h"
#include "events.h"
#include "core/manager.h"
#include "methods.h"

static json_object *notification(json_object *params)
{
	json_object *note = json_object_new_object();

	json_object_object_add(note, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(note, "method", json_object_new_string("event"));
	json_object_object_add(note, "params", params);
	return note;
}

static void broadcast(Manager *m, const char *task_id, uid_t owner, json_object *note)
{
	Conn *c, *n;

	LIST_FOREACH_SAFE(subscribers, c, n, m->subscribers) {
		if (c->sub_task_id[0] && !streq(c->sub_task_id, task_id))
			continue;
		if (!caller_may_see(&c->caller, m->policy, owner))
			continue;
		conn_send(c, note);
	}
}

void events_daughter_status(Manager *m, const char *task_id, const Daughter *d, const Attempt *a)
{
	_cleanup_json_ json_object *note = NULL;
	json_object *params;

	if (!m->subscribers)
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
	broadcast(m, task_id, d->owner_uid, note);
}

void events_task_status(Manager *m, const Task *t)
{
	_cleanup_json_ json_object *note = NULL;
	json_object *params;

	if (!m->subscribers)
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
	broadcast(m, t->id, t->uid, note);
}
