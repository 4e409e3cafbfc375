/* SPDX-License-Identifier: MIT */
/*
 * intent.submit of an intent the switch plans (switch.md): the connection
 * parks until the plan (or the local fallback) is stored, then gets its
 * reply; a client gone meanwhile loses nothing, the intent is planned all
 * the same. The planning itself is core/planner.c's.
 */
#include <string.h>

#include "conn.h"
#include "core/manager.h"
#include "intent.h"
#include "json-util.h"
#include "methods.h"

/* The reply of an intent being planned: sent when the plan (or the
 * fallback) is stored, on the connection that asked, if still there. */
typedef struct PlanReply {
	Manager *m;
	Conn *conn;
	json_object *id;
	bool has_task;
	IntentRecord rec; /* without a task: recorded once planned (owned) */
	char *rerun_of;
} PlanReply;

static void plan_reply_free(PlanReply *pr)
{
	json_object_put(pr->id);
	intent_record_done(&pr->rec);
	free(pr->rerun_of);
	free(pr);
}

void intent_plan_detach(void *plan_reply)
{
	PlanReply *pr = plan_reply;
	pr->conn = NULL;
}

static void plan_reply_send(PlanReply *pr, json_object *envelope, const char *internal)
{
	_cleanup_json_ json_object *reply = NULL;

	if (!pr->conn) {
		json_object_put(envelope);
		return;
	}
	if (internal) {
		RpcError err;
		rpc_error(&err, RPC_INTERNAL, "internal error: %s", internal);
		reply = rpc_make_error(pr->id, &err);
	} else {
		if (pr->rerun_of) {
			intent_envelope_changed(envelope);
			json_object_object_add(envelope, "rerun_of", json_object_new_string(pr->rerun_of));
		}
		reply = rpc_make_result(pr->id, envelope);
	}
	conn_plan_finish(pr->conn, reply);
}

static void on_task_planned(void *userdata, const PlanOutcome *o)
{
	PlanReply *pr = userdata;

	if (o->failed || !o->envelope)
		plan_reply_send(pr, NULL, o->failed ?: "the plan could not be stored");
	else
		plan_reply_send(pr, json_object_get(o->envelope), NULL);
	plan_reply_free(pr);
}

static void on_intent_planned(void *userdata, const PlanOutcome *o)
{
	PlanReply *pr = userdata;
	IntentRecord *rec = &pr->rec;
	json_object *envelope;

	if (o->failed) {
		/* The daemon stops: this intent was never answered. */
		plan_reply_send(pr, NULL, o->failed);
		plan_reply_free(pr);
		return;
	}
	rec->status = strdup("DONE");
	rec->result_status = strdup("DONE");
	rec->mode = strdup(o->degraded ? "FALLBACK" : "MADRE");
	rec->provider = strdup(o->degraded ? "fallback_local" : "switch");
	rec->notes = o->note ? strdup(o->note) : NULL;
	envelope = intent_envelope(rec->correlation_id, "DONE", rec->mode, rec->provider, json_object_get(o->plan), NULL,
				 rec->created_at);
	json_object_object_add(envelope, "degraded", json_object_new_boolean(o->degraded));
	json_object_object_add(envelope, "timestamp", json_timestamp(now_realtime_usec()));
	if (intent_record(pr->m, rec, envelope) < 0) {
		json_object_put(envelope);
		plan_reply_send(pr, NULL, "cannot record the intent");
	} else
		plan_reply_send(pr, envelope, NULL);
	plan_reply_free(pr);
}

static char *strdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static PlanReply *plan_reply_new(Call *call, const IntentRecord *rec, bool has_task)
{
	PlanReply *pr = calloc(1, sizeof(*pr));

	if (!pr)
		return NULL;
	pr->m = call->m;
	/* A notification waits for nothing: planned all the same, nobody told. */
	pr->conn = call->id && call->may_defer ? call->conn : NULL;
	pr->id = json_object_get(call->id);
	pr->has_task = has_task;
	pr->rerun_of = strdup_or_null(call->rerun_of);
	if (!has_task) {
		pr->rec = *rec;
		pr->rec.source = strdup_or_null(rec->source);
		pr->rec.intent_type = strdup_or_null(rec->intent_type);
		pr->rec.text = strdup_or_null(rec->text);
		pr->rec.payload_json = strdup_or_null(rec->payload_json);
		pr->rec.idempotency_key = strdup_or_null(rec->idempotency_key);
		pr->rec.params_digest = strdup_or_null(rec->params_digest);
		pr->rec.status = pr->rec.mode = pr->rec.provider = pr->rec.error = NULL;
		pr->rec.task_id = pr->rec.envelope_json = pr->rec.result_status = pr->rec.notes = NULL;
	}
	return pr;
}

/* The task types the caller may submit: where a plan may re-route to. */
static json_object *caller_task_types(Call *call)
{
	const Policy *pol = call->m->policy;
	json_object *a = json_object_new_array();

	for (size_t i = 0; i < pol->n_tasks; i++)
		if (call->admin || policy_groups_allow(&pol->tasks[i].groups, call->caller->gid, call->caller->groups,
						       call->caller->n_groups))
			json_object_array_add(a, json_object_new_string(pol->tasks[i].name));
	return a;
}

/* switch.plan's params for an intent without a task. */
static json_object *intent_plan_params(Call *call, const IntentRecord *rec, json_object *payload)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "correlation_id", json_object_new_string(rec->correlation_id));
	json_object_object_add(o, "intent_type", json_object_new_string(rec->intent_type));
	json_object_object_add(o, "text", rec->text ? json_object_new_string(rec->text) : NULL);
	json_object_object_add(o, "payload", json_object_get(payload));
	json_object_object_add(o, "priority", json_object_new_int(rec->priority));
	json_object_object_add(o, "source", json_object_new_string(rec->source));
	json_object_object_add(o, "task_type", NULL);
	json_object_object_add(o, "task_types", caller_task_types(call));
	json_object_object_add(o, "attempt", json_object_new_int(1));
	json_object_object_add(o, "mutation_level", json_object_new_int(0));
	json_object_object_add(o, "last_reason", NULL);
	return o;
}

/* Park the connection until pr is answered (or answer nothing: a notification). */
static int plan_deferred(Call *call, PlanReply *pr, json_object **ret)
{
	if (pr->conn) {
		pr->conn->plan_reply = pr;
		return METHOD_DEFERRED;
	}
	*ret = NULL;
	return 0;
}

int intent_plan(Call *call, IntentRecord *rec, json_object *payload, const Task *t, json_object **ret, RpcError *err)
{
	Manager *m = call->m;
	PlanReply *pr = plan_reply_new(call, rec, t != NULL);
	int r;

	if (!pr)
		return rpc_error(err, RPC_INTERNAL, "internal error: out of memory");
	if (!t) {
		if (manager_plan_intent(m, intent_plan_params(call, rec, payload), rec->uid, on_intent_planned, pr,
					NULL) < 0) {
			plan_reply_free(pr);
			return rpc_error(err, RPC_INTERNAL, "internal error: out of memory");
		}
		return plan_deferred(call, pr, ret);
	}

	/* The task is committed in `planning` first; the QUEUED reply, the
	 * provider and processed_at come with the plan. */
	rec->status = (char *)"QUEUED", rec->result_status = (char *)"QUEUED";
	rec->notes = (char *)"planning";
	r = intent_record(m, rec, NULL);
	manager_task_changed(m, t, _TASK_STATUS_INVALID);
	if (r < 0 || manager_plan_task(m, t, caller_task_types(call), on_task_planned, pr, NULL) < 0) {
		plan_reply_free(pr);
		/* Left in `planning`, the task is planned at the next start. */
		return rpc_error(err, RPC_INTERNAL, "internal error: cannot plan the task: %s", store_last_error(m->store));
	}
	return plan_deferred(call, pr, ret);
}
