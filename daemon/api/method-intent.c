/* SPDX-License-Identifier: MIT */
/* intent.submit and result.get: the front door of the daemon (task.rerun is in method-rerun.c). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "command.h"
#include "conn.h"
#include "core/manager.h"
#include "run/runner.h"
#include "digest.h"
#include "events.h"
#include "methods.h"
#include "params.h"
#include "trace.h"
#include "intent.h"

typedef struct SubmitParams {
	const char *intent_type;
	const char *text;
	json_object *payload;
	json_object *require;
	const char *priority;
	const char *source;
	int64_t ttl_seconds;
	int64_t max_retries;
	const char *idempotency_key;
	const char *traceparent;
	json_object *argv; /* with cwd and env: the caller's command (command.h) */
	const char *cwd;
	json_object *env;
	json_object *after;
	int after_any;
} SubmitParams;

const ParamSpec submit_params[] = {
	{ "intent_type", PARAM_STRING, offsetof(SubmitParams, intent_type), PARAM_REQUIRED | PARAM_NONEMPTY, 0, 256 },
	{ "text", PARAM_STRING, offsetof(SubmitParams, text), 0, 0, 0 },
	{ "payload", PARAM_OBJECT, offsetof(SubmitParams, payload), 0, 0, 0 },
	{ "require", PARAM_OBJECT, offsetof(SubmitParams, require), 0, 0, 0 },
	{ "priority", PARAM_STRING, offsetof(SubmitParams, priority), 0, 0, 0 },
	{ "source", PARAM_STRING, offsetof(SubmitParams, source), 0, 0, 0 },
	{ "ttl_seconds", PARAM_INT, offsetof(SubmitParams, ttl_seconds), 0, 1, 30 * 24 * 3600 },
	{ "max_retries", PARAM_INT, offsetof(SubmitParams, max_retries), 0, 0, 1000 },
	{ "idempotency_key", PARAM_STRING, offsetof(SubmitParams, idempotency_key), PARAM_NONEMPTY, 0, 256 },
	{ "traceparent", PARAM_STRING, offsetof(SubmitParams, traceparent), 0, 0, 256 },
	{ "argv", PARAM_STRING_OR_ARRAY, offsetof(SubmitParams, argv), 0, 0, 0 },
	{ "cwd", PARAM_STRING, offsetof(SubmitParams, cwd), 0, 0, 0 },
	{ "env", PARAM_OBJECT, offsetof(SubmitParams, env), 0, 0, 0 },
	{ "after", PARAM_STRING_OR_ARRAY, offsetof(SubmitParams, after), 0, 0, 0 },
	{ "after_any", PARAM_BOOL, offsetof(SubmitParams, after_any), 0, 0, 0 },
	{}
};

/* Dependencies of one task, at most: each is a lookup when it ends. */
#define AFTER_MAX 64

/*
 * "after": the tasks a new one waits for, each by its task id or its intent's
 * correlation id, each one the caller may see (someone else's is unknown, as
 * everywhere). They exist before the new task does, so no cycle can form.
 * Their task ids go to ids (repeats once).
 */
static int parse_after(Call *call, json_object *v, char (*ids)[ID_STRING_MAX], size_t *ret_n, RpcError *err)
{
	Manager *m = call->m;
	bool one = json_object_is_type(v, json_type_string);
	size_t n = one ? 1 : json_object_array_length(v), k = 0;

	if (n > AFTER_MAX)
		return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: after: %zu tasks, at most %d", n, AFTER_MAX);
	for (size_t i = 0; i < n; i++) {
		const char *id = json_object_get_string(one ? v : json_object_array_get_idx(v, i));
		IntentRecord rec;
		Task t;
		int r;

		r = strlen(id) < ID_STRING_MAX ? store_task_get(m->store, id, &t) : -ENOENT;
		if (r == -ENOENT && strlen(id) < ID_STRING_MAX && store_intent_get(m->store, id, &rec) == 0) {
			r = rec.task_id ? store_task_get(m->store, rec.task_id, &t) : -ENOENT;
			intent_record_done(&rec);
		}
		if (r == 0 && !caller_may_see(call->caller, m->policy, t.uid)) {
			task_done(&t);
			r = -ENOENT;
		}
		if (r == -ENOENT)
			return rpc_error(err, RPC_INVALID_PARAMS,
					 "invalid params: after: no task \"%.64s\" (give the id of a task you submitted, or "
					 "of its intent; 'vx11ctl tasks' lists them)", id);
		if (r < 0)
			return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(m->store));
		bool seen = false;
		for (size_t j = 0; j < k; j++)
			seen = seen || streq(ids[j], t.id);
		if (!seen)
			memcpy(ids[k++], t.id, ID_STRING_MAX);
		task_done(&t);
	}
	*ret_n = k;
	return 0;
}

typedef struct RequireParams {
	int switch_;
	int spawner;
} RequireParams;

const ParamSpec require_params[] = {
	{ "switch", PARAM_BOOL, offsetof(RequireParams, switch_), 0, 0, 0 },
	{ "spawner", PARAM_BOOL, offsetof(RequireParams, spawner), 0, 0, 0 },
	{}
};

json_object *intent_envelope(const char *correlation_id, const char *status, const char *mode,
				  const char *provider, json_object *response, const char *error, uint64_t at)
{
	json_object *o = json_object_new_object();

	json_add_new(o, "correlation_id", json_object_new_string(correlation_id));
	json_add_new(o, "status", json_object_new_string(status));
	json_add_new(o, "mode", json_object_new_string(mode));
	json_add_new(o, "provider", provider ? json_object_new_string(provider) : NULL);
	json_add_new(o, "response", response ? response : json_object_new_object());
	json_add_new(o, "error", error ? json_object_new_string(error) : NULL);
	json_add_new(o, "degraded", json_object_new_boolean(false));
	json_add_new(o, "timestamp", json_timestamp(at));
	return o;
}

static json_object *reason_response(const char *reason)
{
	json_object *r = json_object_new_object();
	json_object_object_add(r, "reason", json_object_new_string(reason));
	return r;
}

/* The envelope's text as intent_record() serialized it, length first. */
typedef struct EnvelopeText {
	size_t len;
	char text[];
} EnvelopeText;

static int envelope_write_text(json_object *envelope, struct printbuf *pb, int level, int flags)
{
	const EnvelopeText *t = json_object_get_userdata(envelope);

	return printbuf_memappend(pb, t->text, (int)t->len);
}

void intent_envelope_changed(json_object *envelope)
{
	/* json-c's own object serializer again (and the text freed). */
	json_object_set_serializer(envelope, NULL, NULL, NULL);
}

/* The reply writes this text instead of serializing the envelope twice;
 * without memory for it, it is serialized twice, as before. */
static void envelope_keep_text(json_object *envelope, const char *text, size_t len)
{
	EnvelopeText *t = malloc(sizeof(*t) + len + 1);

	if (!t)
		return;
	t->len = len;
	memcpy(t->text, text, len + 1);
	json_object_set_serializer(envelope, envelope_write_text, t, json_object_free_userdata);
}

int intent_record(Manager *m, IntentRecord *rec, json_object *envelope)
{
	AuditFields f = AUDIT_FIELDS_INIT;
	size_t len;
	int r;

	/* The reply is kept for what reads it again: a replay of its
	 * idempotency key, and result.get of an intent without a task (which
	 * of one with a task reads the task). The reply then writes the same
	 * text; otherwise it is serialized once, as it goes out. */
	if (envelope && (rec->idempotency_key || !rec->task_id)) {
		rec->envelope_json = (char *)rpc_serialize(envelope, &len);
		envelope_keep_text(envelope, rec->envelope_json, len);
	}
	/* Madre is done with it: replied, or handed it to the run queue (an
	 * intent being planned is done with once planned). */
	if (!rec->processed_at && !(rec->notes && streq(rec->notes, "planning")))
		rec->processed_at = now_realtime_usec();
	if (!rec->result_status)
		rec->result_status = rec->status;
	r = store_intent_insert(m->store, rec);
	rec->envelope_json = NULL;
	if (r < 0)
		return log_error_errno(r, "cannot record intent %s: %s", rec->correlation_id, store_last_error(m->store));
	m->intents_total++;

	f.correlation_id = rec->correlation_id;
	f.task_id = rec->task_id;
	f.source = rec->source;
	f.uid = rec->uid;
	f.intent_type = rec->intent_type;
	f.status = rec->status;
	f.error = rec->error;
	f.command = rec->command_json;
	if (streq(rec->status, "ERROR"))
		log_audit(LOG_NOTICE, VX11_MSG_INTENT_REFUSED, &f, "intent %s (%s) from uid %u refused: %s",
			  rec->correlation_id, rec->intent_type, (unsigned)rec->uid, rec->error ? rec->error : "error");
	else
		log_audit(LOG_INFO, rec->task_id ? VX11_MSG_TASK_QUEUED : VX11_MSG_INTENT_ACCEPTED, &f,
			  rec->task_id ? "intent %s (%s) from uid %u: %s, task queued" : "intent %s (%s) from uid %u: %s",
			  rec->correlation_id,
			  rec->intent_type, (unsigned)rec->uid, rec->status);
	return 0;
}

/* A refusal that is a JSON-RPC error still leaves its trace in the audit log. */
static int refuse(Manager *m, IntentRecord *rec, const char *why, RpcError *err)
{
	rec->status = (char *)"ERROR";
	rec->error = (char *)why;
	rec->idempotency_key = NULL; /* a retry with the key must not get this refusal back */
	rec->params_digest = NULL;
	if (!rec->mode)
		rec->mode = (char *)(rec->require_spawner ? "SPAWNER" : "MADRE");
	(void)intent_record(m, rec, NULL);
	return err->code;
}

/*
 * What an idempotency key stands for: the params that define the intent, the
 * key left out, with the defaults the protocol fixes filled in (require.*
 * false, source operator), so that leaving one out is the same as saying it.
 * Those whose default comes from the policy (priority, ttl_seconds,
 * max_retries) count as given or not: the policy may change between two tries.
 */
static char *intent_digest(const SubmitParams *p, const RequireParams *req, PolicySourceId src)
{
	_cleanup_json_ json_object *o = json_object_new_object(), *r = json_object_new_object();

	json_object_object_add(r, "switch", json_object_new_boolean(req->switch_ == 1));
	json_object_object_add(r, "spawner", json_object_new_boolean(req->spawner == 1));
	json_object_object_add(o, "intent_type", json_object_new_string(p->intent_type));
	json_object_object_add(o, "text", p->text ? json_object_new_string(p->text) : NULL);
	json_object_object_add(o, "payload", json_object_get(p->payload));
	json_object_object_add(o, "require", json_object_get(r));
	json_object_object_add(o, "source", json_object_new_string(policy_source_to_string(src)));
	json_object_object_add(o, "priority", p->priority ? json_object_new_string(p->priority) : NULL);
	json_object_object_add(o, "ttl_seconds",
			       p->ttl_seconds != PARAM_INT_UNSET ? json_object_new_int64(p->ttl_seconds) : NULL);
	json_object_object_add(o, "max_retries",
			       p->max_retries != PARAM_INT_UNSET ? json_object_new_int64(p->max_retries) : NULL);
	/* Only when given, so that the digests of keys used before these
	 * params existed stay what they were. */
	if (p->argv)
		json_object_object_add(o, "argv", json_object_get(p->argv));
	if (p->cwd)
		json_object_object_add(o, "cwd", json_object_new_string(p->cwd));
	if (p->env)
		json_object_object_add(o, "env", json_object_get(p->env));
	if (p->after)
		json_object_object_add(o, "after", json_object_get(p->after));
	if (p->after_any == 1)
		json_object_object_add(o, "after_any", json_object_new_boolean(true));
	return json_digest(o);
}

/* planning: the switch plans it first (planner.c queues it once planned). */
static int create_task(Manager *m, const SubmitParams *p, int64_t ttl_seconds, const PolicyTask *pt,
		       const IntentRecord *rec, bool planning, char (*after)[ID_STRING_MAX], size_t n_after, Task *t)
{
	size_t len;
	int r;

	*t = (Task){
		.source = rec->source,
		.priority = rec->priority,
		.status = planning ? TASK_PLANNING : TASK_PENDING,
		.task_type = pt->name,
		.description = rec->text,
		.payload_json = rec->payload_json,
		.uid = rec->uid,
		.max_retries = p->max_retries != PARAM_INT_UNSET ? (int)p->max_retries : (int)pt->max_retries,
		.ttl_seconds = ttl_seconds != PARAM_INT_UNSET ? ttl_seconds : -1,
		.traceparent = (char *)p->traceparent, /* checked by the caller */
		.command_json = rec->command_json,
	};
	(void)len;
	id_new_string(t->id);
	memcpy(t->intent_id, rec->correlation_id, ID_STRING_MAX);
	t->created_at = t->updated_at = rec->created_at;

	r = store_task_insert(m->store, t);
	if (r < 0)
		return log_error_errno(r, "cannot store task %s: %s", t->id, store_last_error(m->store));
	for (size_t i = 0; i < n_after; i++) {
		r = store_dep_insert(m->store, t->id, after[i], p->after_any == 1);
		if (r < 0)
			return log_error_errno(r, "cannot store what task %s waits for: %s", t->id,
					       store_last_error(m->store));
	}
	/* A QUEUED reply promises the task survives a power cut. */
	store_want_durable(m->store);
	if (planning)
		return 0;

	Id id;
	(void)id_from_string(t->id, &id);
	r = queue_push(m->queue, &id, t->priority, t->seq, 0);
	if (r < 0)
		return log_error_errno(r, "cannot queue task %s: %m", t->id);
	/* Started from the dispatch source, after this iteration's commit has
	 * made the task durable; its gate (run/gate.c) sees what it waits for. */
	runner_schedule(m->runner);
	return 0;
}

/*
 * The seed's CORE MVP example spells the TTL payload.ttl: it means what
 * ttl_seconds means, with the same bounds. Given both, they must agree, as
 * silently preferring one would run the task with a TTL its caller did not
 * mean half the time. *ret_ttl: the TTL asked for, or PARAM_INT_UNSET.
 */
static int payload_ttl(const SubmitParams *p, int64_t *ret_ttl, RpcError *err)
{
	const ParamSpec *spec = NULL;
	json_object *v = NULL;
	int64_t ttl;

	*ret_ttl = p->ttl_seconds;
	if (!p->payload || !json_object_object_get_ex(p->payload, "ttl", &v) || !v)
		return 0;
	for (spec = submit_params; !streq(spec->name, "ttl_seconds"); spec++)
		;
	if (!json_object_is_type(v, json_type_int))
		return rpc_error(err, RPC_INVALID_PARAMS,
				 "invalid params: payload.ttl: expected an integer (seconds, as ttl_seconds)");
	ttl = json_object_get_int64(v);
	if ((double)ttl < spec->min || (double)ttl > spec->max || json_object_get_uint64(v) > INT64_MAX)
		return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: payload.ttl: must be between %.0f and %.0f",
				 spec->min, spec->max);
	if (p->ttl_seconds != PARAM_INT_UNSET && p->ttl_seconds != ttl)
		return rpc_error(err, RPC_INVALID_PARAMS,
				 "invalid params: payload.ttl (%" PRId64 ") and ttl_seconds (%" PRId64
				 ") differ: give one of them, or both the same",
				 ttl, p->ttl_seconds);
	*ret_ttl = ttl;
	return 0;
}

int method_intent_submit(Call *call, json_object *params, json_object **ret, RpcError *err)
{
	Manager *m = call->m;
	const Policy *pol = m->policy;
	SubmitParams p;
	RequireParams req;
	PolicySourceId src = SOURCE_OPERATOR;
	_cleanup_free_ char *payload_json = NULL, *digest = NULL, *command_json = NULL;
	char correlation_id[ID_STRING_MAX], task_id[ID_STRING_MAX] = "";
	char after[AFTER_MAX][ID_STRING_MAX];
	size_t n_after = 0;
	json_object *envelope;
	IntentRecord rec;
	int64_t ttl_seconds;
	int priority, r;

	r = params_parse(submit_params, params, "", &p, err);
	if (r < 0)
		return r;
	r = params_parse(require_params, p.require, "require.", &req, err);
	if (r < 0)
		return r;
	if (p.after_any == 1 && !p.after)
		return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: after_any: goes with after (the tasks to wait for)");
	if (p.after && req.spawner != 1)
		return rpc_error(err, RPC_INVALID_PARAMS,
				 "invalid params: after: only a task waits (require.spawner true); this intent is answered at once");
	if (p.after) {
		r = parse_after(call, p.after, after, &n_after, err);
		if (r < 0)
			return r;
	}

	if (p.source) {
		src = policy_source_from_string(p.source);
		if (src == _SOURCE_INVALID)
			return rpc_error(err, RPC_INVALID_PARAMS,
					 "invalid params: source: expected one of shub, operator, madre, hijas");
	}
	if (p.priority) {
		if (strlen(p.priority) != 2 || p.priority[0] != 'P' || p.priority[1] < '0' || p.priority[1] > '3')
			return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: priority: expected one of P0, P1, P2, P3");
		priority = p.priority[1] - '0';
	} else
		priority = pol->sources[src].priority;
	/* Refused rather than ignored: a caller who gives one wants its trace. */
	if (p.traceparent && !traceparent_parse(p.traceparent, NULL))
		return rpc_error(err, RPC_INVALID_PARAMS,
				 "invalid params: traceparent: expected a W3C traceparent, "
				 "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>, lowercase, ids not all zero");

	json_object *task_name = NULL;
	if (p.payload && json_object_object_get_ex(p.payload, "task_name", &task_name) &&
	    !json_object_is_type(task_name, json_type_string))
		return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: payload.task_name: expected a string");

	r = payload_ttl(&p, &ttl_seconds, err);
	if (r < 0)
		return r;

	if ((p.cwd || p.env) && !p.argv)
		return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: %s: goes with argv (the caller's command)",
				 p.cwd ? "cwd" : "env");
	if (p.argv && req.spawner != 1)
		return rpc_error(err, RPC_INVALID_PARAMS,
				 "invalid params: argv: a command runs as a task: give require.spawner true too");
	if (p.argv) {
		r = command_build(p.argv, p.cwd, p.env, &command_json, err);
		if (r < 0)
			return r;
	}

	if (p.payload)
		payload_json = strdup(rpc_serialize(p.payload, &(size_t){ 0 }));

	id_new_string(correlation_id);
	rec = (IntentRecord){
		.created_at = now_realtime_usec(),
		.uid = call->caller->uid,
		.gid = call->caller->gid,
		.pid = call->caller->pid,
		.source = (char *)policy_source_to_string(src),
		.intent_type = (char *)p.intent_type,
		.text = (char *)p.text,
		.payload_json = payload_json,
		.require_switch = req.switch_ == 1,
		.require_spawner = req.spawner == 1,
		.priority = priority,
		.idempotency_key = (char *)p.idempotency_key,
		.command_json = command_json,
	};
	memcpy(rec.correlation_id, correlation_id, ID_STRING_MAX);

	/* Same key from the same uid: for the same intent, the first answer
	 * again and nothing new; for another intent, a conflict, as silently
	 * answering for the first one would hide the client's bug. */
	if (p.idempotency_key) {
		IntentRecord old;

		digest = intent_digest(&p, &req, src);
		if (!digest)
			return rpc_error(err, RPC_INTERNAL, "internal error: out of memory");
		rec.params_digest = digest;
		/* A fleet: the same key on another node at once waits here for
		 * that one's commit, then finds its intent (one task, both
		 * replies naming it). */
		r = store_intent_key_lock(m->store, call->caller->uid, p.idempotency_key);
		if (r < 0)
			return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(m->store));
		r = store_intent_find_idempotent(m->store, call->caller->uid, p.idempotency_key, &old);
		if (r == 0 && old.params_digest && !streq(old.params_digest, digest)) {
			call->error_data = json_object_new_object();
			json_object_object_add(call->error_data, "correlation_id",
					       json_object_new_string(old.correlation_id));
			intent_record_done(&old);
			rpc_error_named(err, RPC_CONFLICT, "vx11.Conflict",
					"idempotency key already used for a different intent");
			return refuse(m, &rec, "idempotency_conflict", err);
		}
		if (r == 0 && !old.envelope_json && old.task_id && streq(old.status, "QUEUED")) {
			intent_record_done(&old);
			return rpc_error_named(err, RPC_BUSY, "vx11.Busy",
					       "the intent with this idempotency key is still being planned; ask again");
		}
		if (r == 0) {
			envelope = old.envelope_json ? json_tokener_parse(old.envelope_json) : NULL;
			intent_record_done(&old);
			if (!envelope)
				return rpc_error(err, RPC_INTERNAL, "internal error: stored reply unreadable");
			*ret = envelope;
			return 0;
		}
		if (r != -ENOENT)
			return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(m->store));
	}

	if (!call->admin && !policy_groups_allow(&pol->sources[src].groups, call->caller->gid, call->caller->groups,
						    call->caller->n_groups)) {
		rpc_error(err, RPC_PERMISSION_DENIED, "permission denied: you may not submit as source %s",
			  policy_source_to_string(src));
		return refuse(m, &rec, "permission_denied", err);
	}

	bool plan = rec.require_switch && pol->mode == POLICY_MODE_SWITCH;
	/* Its reply waits for the switch: a batch cannot wait for one member. */
	if (plan && call->id && !call->may_defer)
		return rpc_error(err, RPC_INVALID_PARAMS,
				 "invalid params: require.switch: an intent the switch plans cannot be part of a batch; "
				 "send it as a request of its own");

	if (rec.require_switch && pol->mode == POLICY_MODE_SOLO_MADRE) {
		json_object *resp = reason_response("the switch is off: the policy mode is solo_madre");
		json_object_object_add(resp, "policy", json_object_new_string("SOLO_MADRE"));
		rec.status = (char *)"ERROR", rec.mode = (char *)"FALLBACK", rec.error = (char *)"off_by_policy";
		envelope = intent_envelope(correlation_id, "ERROR", "FALLBACK", NULL, resp, "off_by_policy", rec.created_at);
	} else if (plan && !rec.require_spawner) {
		/* Recorded once planned, with the plan or the fallback. */
		return intent_plan(call, &rec, p.payload, NULL, ret, err);
	} else if (!rec.require_spawner) {
		char plan_id[ID_STRING_MAX];
		json_object *resp = json_object_new_object();

		json_add_new(resp, "plan_id", json_object_new_string(id_new_string(plan_id)));
		json_add_new(resp, "steps_executed", json_object_new_int(1));
		json_add_new(resp, "result", json_object_new_string("intent_processed"));
		json_add_new(resp, "notes", json_object_new_string("fallback_local execution"));
		rec.status = (char *)"DONE", rec.mode = (char *)"MADRE", rec.provider = (char *)"fallback_local";
		envelope = intent_envelope(correlation_id, "DONE", "MADRE", "fallback_local", resp, NULL, rec.created_at);
	} else {
		const char *type = task_name ? json_object_get_string(task_name) : p.intent_type;
		const PolicyTask *pt = policy_find_task(pol, type);

		if (!pt) {
			char why[384];
			snprintf(why, sizeof(why), "no task type \"%.256s\" in the policy", type);
			rec.status = (char *)"ERROR", rec.mode = (char *)"SPAWNER", rec.error = (char *)"unknown_task";
			envelope = intent_envelope(correlation_id, "ERROR", "SPAWNER", NULL, reason_response(why),
						 "unknown_task", rec.created_at);
		} else {
			Task t;

			rec.mode = (char *)"SPAWNER";
			if (!call->admin && !policy_groups_allow(&pt->groups, call->caller->gid, call->caller->groups,
								    call->caller->n_groups)) {
				rpc_error(err, RPC_PERMISSION_DENIED, "permission denied: you may not submit task type %s",
					  pt->name);
				return refuse(m, &rec, "permission_denied", err);
			}
			if (pt->user_caller && call->caller->uid == 0) {
				rpc_error(err, RPC_PERMISSION_DENIED,
					  "permission denied: task type %s runs as its caller, and daughters never run "
					  "as root: submit it as another user",
					  pt->name);
				return refuse(m, &rec, "permission_denied", err);
			}
			/* Refused, and audited with the argv that was refused. */
			if (pt->command_caller != (command_json != NULL)) {
				if (pt->command_caller)
					rpc_error(err, RPC_INVALID_PARAMS,
						  "invalid params: argv: task type %s runs the caller's command: give "
						  "argv (e.g. vx11ctl run --type %s -- COMMAND...)",
						  pt->name, pt->name);
				else
					rpc_error(err, RPC_INVALID_PARAMS,
						  "invalid params: argv: task type %s runs the policy's command, not the "
						  "caller's: only a type with \"command\": \"caller\" takes argv (see "
						  "'vx11ctl types')",
						  pt->name);
				return refuse(m, &rec, "invalid_params", err);
			}
			if (ttl_seconds != PARAM_INT_UNSET && ttl_seconds > task_type_max_ttl(pt)) {
				rpc_error(err, RPC_INVALID_PARAMS,
					  "invalid params: %s: %" PRId64 " seconds is more than task type %s allows "
					  "(max_ttl_seconds %" PRId64 "; see 'vx11ctl types')",
					  p.ttl_seconds != PARAM_INT_UNSET ? "ttl_seconds" : "payload.ttl", ttl_seconds,
					  pt->name, task_type_max_ttl(pt));
				return refuse(m, &rec, "invalid_params", err);
			}
			if (*runner_spawn_problem(m->runner)) {
				/* A task that can only fail is not queued. Once the daemon can
				 * spawn, the same key must get through: it is not kept. */
				rec.idempotency_key = NULL, rec.params_digest = NULL;
				rec.status = (char *)"ERROR", rec.error = (char *)"spawner_unavailable";
				envelope = intent_envelope(correlation_id, "ERROR", "SPAWNER", NULL,
							 reason_response(runner_spawn_problem(m->runner)),
							 "spawner_unavailable", rec.created_at);
				goto record;
			}
			/* Pending tasks held by a pause or waiting for others are out
			 * of the run queue but count all the same. */
			if (MAX(queue_size(m->queue), m->task_counts[TASK_PENDING]) >= pol->limits.max_queued) {
				rpc_error(err, RPC_BUSY, "the queue is full (%" PRIu64 " tasks, policy limits.max_queued)",
					  pol->limits.max_queued);
				return refuse(m, &rec, "queue_full", err);
			}
			r = create_task(m, &p, ttl_seconds, pt, &rec, plan, after, n_after, &t);
			if (r < 0)
				return rpc_error(err, RPC_INTERNAL, "internal error: cannot store the task: %s",
						 store_last_error(m->store));
			memcpy(task_id, t.id, ID_STRING_MAX);
			rec.task_id = task_id;
			if (plan)
				return intent_plan(call, &rec, p.payload, &t, ret, err);
			rec.status = (char *)"QUEUED", rec.provider = (char *)"spawner";

			json_object *resp = json_object_new_object();
			json_add_new(resp, "task_id", json_object_new_string(task_id));
			envelope = intent_envelope(correlation_id, "QUEUED", "SPAWNER", "spawner", resp, NULL, rec.created_at);
			manager_task_changed(m, &t, _TASK_STATUS_INVALID);
		}
	}

record:
	r = intent_record(m, &rec, envelope);
	if (r < 0) {
		json_object_put(envelope);
		return rpc_error(err, RPC_INTERNAL, "internal error: cannot record the intent: %s",
				 store_last_error(m->store));
	}
	*ret = envelope;
	return 0;
}

int result_build(Manager *m, const char *correlation_id, json_object **ret)
{
	IntentRecord rec;
	json_object *o, *result = NULL;
	const char *status, *error;
	uint64_t at;
	int r;

	r = store_intent_get(m->store, correlation_id, &rec);
	if (r < 0)
		return r;

	status = rec.status;
	error = rec.error;
	at = rec.created_at;
	bool degraded = false;
	if (rec.task_id) {
		Task t;
		r = store_task_get(m->store, rec.task_id, &t);
		if (r < 0) {
			intent_record_done(&rec);
			return r;
		}
		status = manager_result_status(t.status);
		error = t.status == TASK_CANCELLED ? "cancelled" : t.status == TASK_EXPIRED ? "expired" : NULL;
		at = t.updated_at;
		degraded = t.degraded;
		result = t.result_json ? json_tokener_parse(t.result_json) : NULL;
		if (!result) {
			/* Filled in by the spawner when an attempt ends. */
			result = json_object_new_object();
			json_object_object_add(result, "task_id", json_object_new_string(t.id));
			json_object_object_add(result, "exit_code", NULL);
			json_object_object_add(result, "signal", NULL);
			json_object_object_add(result, "reason", t.status == TASK_CANCELLED ? json_object_new_string("cancelled") : NULL);
			json_object_object_add(result, "report", NULL);
			json_object_object_add(result, "output_tail", NULL);
		}
		task_done(&t);
		if (error == NULL && t.status == TASK_FAILED)
			error = "failed";
	} else if (rec.envelope_json) {
		json_object *env = json_tokener_parse(rec.envelope_json), *resp;
		if (env && json_object_object_get_ex(env, "response", &resp))
			result = json_object_get(resp);
		if (env && json_object_object_get_ex(env, "degraded", &resp))
			degraded = json_object_get_boolean(resp);
		json_object_put(env);
	}

	o = json_object_new_object();
	json_object_object_add(o, "correlation_id", json_object_new_string(rec.correlation_id));
	json_object_object_add(o, "status", json_object_new_string(status));
	json_object_object_add(o, "result", result);
	json_object_object_add(o, "error", error ? json_object_new_string(error) : NULL);
	json_object_object_add(o, "mode", rec.mode ? json_object_new_string(rec.mode) : NULL);
	json_object_object_add(o, "provider", rec.provider ? json_object_new_string(rec.provider) : NULL);
	json_object_object_add(o, "degraded", json_object_new_boolean(degraded));
	json_object_object_add(o, "timestamp", json_timestamp(at));
	intent_record_done(&rec);
	*ret = o;
	return 0;
}

static bool result_is_final(json_object *res)
{
	json_object *st;
	return json_object_object_get_ex(res, "status", &st) && !streq(json_object_get_string(st), "QUEUED") &&
	       !streq(json_object_get_string(st), "RUNNING");
}

typedef struct ResultParams {
	const char *correlation_id;
	double wait_seconds;
} ResultParams;

const ParamSpec result_params[] = {
	{ "correlation_id", PARAM_STRING, offsetof(ResultParams, correlation_id), PARAM_REQUIRED, 0, 64 },
	{ "wait_seconds", PARAM_NUMBER, offsetof(ResultParams, wait_seconds), 0, 0, 3600 },
	{}
};

int method_result_get(Call *call, json_object *params, json_object **ret, RpcError *err)
{
	Manager *m = call->m;
	_cleanup_json_ json_object *res = NULL;
	IntentRecord rec;
	ResultParams p;
	int r;

	r = params_parse(result_params, params, "", &p, err);
	if (r < 0)
		return r;

	r = store_intent_get(m->store, p.correlation_id, &rec);
	if (r == -ENOENT || (r == 0 && !caller_may_see(call->caller, m->policy, rec.uid))) {
		if (r == 0)
			intent_record_done(&rec);
		return rpc_error(err, RPC_NOT_FOUND, "no such correlation id: %.64s", p.correlation_id);
	}
	if (r < 0)
		return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(m->store));

	r = result_build(m, p.correlation_id, &res);
	if (r == -ENOENT && rec.task_id) {
		/* The intent is kept, its finished task was not (retention, task.prune). */
		rpc_error(err, RPC_NOT_FOUND,
			  "task %.64s of intent %.64s was removed after it ended (the policy's retention, or vx11ctl "
			  "prune); 'vx11ctl audit' still lists the intent",
			  rec.task_id, rec.correlation_id);
		intent_record_done(&rec);
		return err->code;
	}
	if (r < 0) {
		intent_record_done(&rec);
		return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(m->store));
	}

	if (!isnan(p.wait_seconds) && p.wait_seconds > 0 && rec.task_id && !result_is_final(res) && call->may_defer &&
	    call->conn) {
		r = events_wait_result(call->conn, call->id, rec.correlation_id, rec.task_id,
				       (uint64_t)(p.wait_seconds * USEC_PER_SEC));
		if (r >= 0) {
			intent_record_done(&rec);
			return METHOD_DEFERRED;
		}
		/* Cannot wait: answer now, which is still correct. */
	}
	intent_record_done(&rec);
	*ret = TAKE_PTR(res);
	return 0;
}
