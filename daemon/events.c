/* SPDX-License-Identifier: MIT */
#include "conn.h"
#include "events.h"
#include "manager.h"
#include "methods.h"

void events_task_status(Manager *m, const Task *t)
{
	_cleanup_json_ json_object *note = NULL;
	json_object *params;
	Conn *c, *n;

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
	note = json_object_new_object();
	json_object_object_add(note, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(note, "method", json_object_new_string("event"));
	json_object_object_add(note, "params", params);

	LIST_FOREACH_SAFE(subscribers, c, n, m->subscribers) {
		if (c->sub_task_id[0] && !streq(c->sub_task_id, t->id))
			continue;
		if (!caller_may_see(&c->caller, m->policy, t->uid))
			continue;
		conn_send(c, note);
	}
}
