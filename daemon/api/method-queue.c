/* SPDX-License-Identifier: MIT */
/* Housekeeping: queue.pause and queue.resume (no new attempt starts, for the
 * whole queue or one task type (run/gate.c), until resumed; kept across
 * restarts), and task.prune (finished tasks removed, run/prune.c). */
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

/* ---- task.prune ---- */

typedef struct PruneParams {
	const char *before;
	json_object *status;
	int64_t limit;
} PruneParams;

const ParamSpec prune_params[] = {
	{ "before", PARAM_STRING, offsetof(PruneParams, before), 0, 0, 64 },
	{ "status", PARAM_STRING_OR_ARRAY, offsetof(PruneParams, status), 0, 0, 0 },
	{ "limit", PARAM_INT, offsetof(PruneParams, limit), 0, 1, 10000 },
	{}
};

/* "status": finished states only; the running ones are never removed. */
static int prune_statuses(json_object *v, unsigned *ret, RpcError *err)
{
	size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 1;
	unsigned mask = 0;

	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_is_type(v, json_type_array) ? json_object_array_get_idx(v, i) : v;
		TaskStatus s = task_status_from_string(json_object_get_string(e));

		if (s == _TASK_STATUS_INVALID || !task_status_is_terminal(s))
			return rpc_error(err, RPC_INVALID_PARAMS,
					 "invalid params: status: \"%.32s\" is not the state of a finished task (expected "
					 "completed, failed, expired or cancelled: only those are removed)",
					 json_object_get_string(e));
		mask |= 1u << s;
	}
	if (mask == 0)
		return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: status: an empty list matches nothing");
	*ret = mask;
	return 0;
}

/*
 * One batch of finished tasks, each with its daughters, attempts, and output
 * files: at most `limit` (default 1000) per call, one commit; "more" says
 * to call again. Their intents stay in the audit log.
 */
int method_task_prune(Call *call, json_object *params, json_object **ret, RpcError *err)
{
	Manager *m = call->m;
	uint64_t before = now_realtime_usec();
	unsigned mask = (1u << TASK_COMPLETED) | (1u << TASK_FAILED) | (1u << TASK_EXPIRED) | (1u << TASK_CANCELLED);
	PruneCounts c = {};
	PruneParams p;
	unsigned limit;
	int r;

	r = params_parse(prune_params, params, "", &p, err);
	if (r < 0)
		return r;
	r = param_timestamp("before", p.before, &before, err);
	if (r < 0)
		return r;
	if (p.status && (r = prune_statuses(p.status, &mask, err)) < 0)
		return r;
	limit = p.limit == PARAM_INT_UNSET ? 1000 : (unsigned)p.limit;
	for (TaskStatus s = 0; s < _TASK_STATUS_MAX && c.tasks < limit; s++) {
		if (!(mask & (1u << s)))
			continue;
		if (runner_prune_tasks(m->runner, s, before, -1, limit - c.tasks, &c) < 0)
			return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(m->store));
	}

	AuditFields f = AUDIT_FIELDS_INIT;
	f.uid = call->caller->uid;
	f.status = "pruned";
	log_audit(LOG_NOTICE, VX11_MSG_QUEUE_PAUSE, &f, "uid %u pruned %u finished tasks (%u output files)",
		  (unsigned)call->caller->uid, c.tasks, c.files);

	*ret = json_object_new_object();
	json_object_object_add(*ret, "pruned", json_object_new_int64(c.tasks));
	json_object_object_add(*ret, "output_files", json_object_new_int64(c.files));
	json_object_object_add(*ret, "more", json_object_new_boolean(c.more));
	return 0;
}
