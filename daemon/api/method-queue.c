/* SPDX-License-Identifier: MIT */
/* queue.pause and queue.resume: no new attempt starts, for the whole queue or
 * one task type (run/gate.c), until resumed; kept across restarts. */
#include <stdio.h>
#include <string.h>

#include "core/manager.h"
#include "run/runner.h"
#include "methods.h"
#include "params.h"

typedef struct PauseParams {
	const char *task_type;
} PauseParams;

const ParamSpec pause_params[] = {
	{ "task_type", PARAM_STRING, offsetof(PauseParams, task_type), PARAM_NONEMPTY, 0, 256 },
	{}
};

json_object *paused_json(Manager *m)
{
	json_object *o = json_object_new_object(), *types = json_object_new_array();
	size_t n;
	char *const *v = runner_paused_types(m->runner, &n);

	for (size_t i = 0; i < n; i++)
		json_object_array_add(types, json_object_new_string(v[i]));
	json_object_object_add(o, "all", json_object_new_boolean(runner_paused_all(m->runner)));
	json_object_object_add(o, "task_types", types);
	return o;
}

static void audit_pause(const Call *call, const char *what, const char *task_type)
{
	AuditFields f = AUDIT_FIELDS_INIT;

	f.uid = call->caller->uid;
	f.intent_type = task_type;
	f.status = what;
	log_audit(LOG_NOTICE, VX11_MSG_QUEUE_PAUSE, &f, "queue %s%s%s by uid %u", what, task_type ? " for task type " : "",
		  task_type ?: "", (unsigned)call->caller->uid);
}

static int pause_or_resume(Call *call, json_object *params, bool pause, json_object **ret, RpcError *err)
{
	Manager *m = call->m;
	PauseParams p;
	int r;

	r = params_parse(pause_params, params, "", &p, err);
	if (r < 0)
		return r;
	/* A type the policy does not have would pause nothing, silently: a typo.
	 * Resuming one is allowed, so a pause outlives its type's removal harmlessly. */
	if (pause && p.task_type && !policy_find_task(m->policy, p.task_type))
		return rpc_error(err, RPC_INVALID_PARAMS,
				 "invalid params: task_type: no task type \"%.256s\" in the policy (see the policy's tasks)",
				 p.task_type);
	r = pause ? runner_pause(m->runner, p.task_type, call->caller->uid) : runner_resume(m->runner, p.task_type);
	if (r < 0)
		return rpc_error(err, RPC_INTERNAL, "internal error: cannot %s: %s", pause ? "pause" : "resume",
				 store_last_error(m->store));
	audit_pause(call, pause ? "paused" : "resumed", p.task_type);
	*ret = json_object_new_object();
	json_object_object_add(*ret, "paused", paused_json(m));
	return 0;
}

int method_queue_pause(Call *call, json_object *params, json_object **ret, RpcError *err)
{
	return pause_or_resume(call, params, true, ret, err);
}

int method_queue_resume(Call *call, json_object *params, json_object **ret, RpcError *err)
{
	return pause_or_resume(call, params, false, ret, err);
}
