/* SPDX-License-Identifier: MIT */
/* task.rerun: an intent again, made from what the store kept of it, through intent.submit. */
#include <stdio.h>
#include <string.h>

#include "core/manager.h"
#include "intent.h"
#include "methods.h"
#include "params.h"

typedef struct RerunParams {
	const char *task_id;
	const char *correlation_id;
} RerunParams;

const ParamSpec rerun_params[] = {
	{ "task_id", PARAM_STRING, offsetof(RerunParams, task_id), 0, 0, 64 },
	{ "correlation_id", PARAM_STRING, offsetof(RerunParams, correlation_id), 0, 0, 64 },
	{}
};

/* The intent.submit params that make the intent again, from what the store
 * kept of it (and of its task: ttl and retries as it had them). */
static json_object *intent_params(const IntentRecord *rec, const Task *t)
{
	json_object *o = json_object_new_object(), *require = json_object_new_object();
	char priority[4];

	json_object_object_add(o, "intent_type", json_object_new_string(rec->intent_type));
	if (rec->text)
		json_object_object_add(o, "text", json_object_new_string(rec->text));
	if (rec->payload_json)
		json_object_object_add(o, "payload", json_tokener_parse(rec->payload_json));
	json_object_object_add(require, "switch", json_object_new_boolean(rec->require_switch));
	json_object_object_add(require, "spawner", json_object_new_boolean(rec->require_spawner));
	json_object_object_add(o, "require", require);
	snprintf(priority, sizeof priority, "P%d", rec->priority);
	json_object_object_add(o, "priority", json_object_new_string(priority));
	json_object_object_add(o, "source", json_object_new_string(rec->source));
	if (t && t->ttl_seconds > 0)
		json_object_object_add(o, "ttl_seconds", json_object_new_int64(t->ttl_seconds));
	if (t)
		json_object_object_add(o, "max_retries", json_object_new_int(t->max_retries));
	if (rec->command_json) {
		_cleanup_json_ json_object *c = json_tokener_parse(rec->command_json);

		/* What the store kept is what intent.submit checked; a row that
		 * is not an object (damaged) gives no argv, and the type refuses. */
		if (json_object_is_type(c, json_type_object)) {
			json_object_object_foreach(c, key, value)
				json_object_object_add(o, key, json_object_get(value));
		}
	}
	return o;
}

/*
 * A new intent the same as an old one: its owner's or any for an admin (as
 * for result.get, someone else's is not found), submitted as the caller
 * through intent.submit, so the policy decides again, and a refusal is
 * audited as any other. New ids; the idempotency key is not reused.
 */
int method_task_rerun(Call *call, json_object *params, json_object **ret, RpcError *err)
{
	Manager *m = call->m;
	_cleanup_json_ json_object *again = NULL;
	IntentRecord rec;
	RerunParams p;
	Task t = {};
	bool have_task = false;
	int r;

	r = params_parse(rerun_params, params, "", &p, err);
	if (r < 0)
		return r;
	if (!p.task_id == !p.correlation_id)
		return rpc_error(err, RPC_INVALID_PARAMS,
				 "invalid params: give task_id or correlation_id (one of them) of the intent to run again");

	if (p.task_id) {
		r = task_visible(call, p.task_id, &t, err);
		if (r < 0)
			return r;
		have_task = true;
	}
	r = store_intent_get(m->store, p.task_id ? t.intent_id : p.correlation_id, &rec);
	if (r == 0 && !caller_may_see(call->caller, m->policy, rec.uid)) {
		intent_record_done(&rec);
		r = -ENOENT;
	}
	if (r < 0) {
		task_done(&t);
		if (r == -ENOENT)
			return rpc_error(err, RPC_NOT_FOUND, "no such correlation id: %.64s",
					 p.correlation_id ?: t.intent_id);
		return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(m->store));
	}
	if (!have_task && rec.task_id && store_task_get(m->store, rec.task_id, &t) == 0)
		have_task = true;

	/* Its params describe a command line, not an intent of the policy's. */
	if (have_task && streq(t.task_type, "daughter.spawn"))
		r = rpc_error(err, RPC_CONFLICT,
			      "task %s was made by daughter.spawn, not by an intent: run it again with 'vx11ctl spawn'",
			      t.id);
	else {
		again = intent_params(&rec, have_task ? &t : NULL);
		call->rerun_of = rec.correlation_id;
		r = method_intent_submit(call, again, ret, err);
		call->rerun_of = NULL;
		if (r == 0 && *ret) {
			intent_envelope_changed(*ret);
			json_object_object_add(*ret, "rerun_of", json_object_new_string(rec.correlation_id));
		}
	}
	intent_record_done(&rec);
	task_done(&t);
	return r;
}
