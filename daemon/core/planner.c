/* SPDX-License-Identifier: MIT */
/* Planning by the switch: see planner.h and switch.md. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json-util.h"
#include "manager.h"
#include "plan-answer.h"

struct ManagerPlan {
	Manager *m;
	char task_id[ID_STRING_MAX]; /* "" for an intent without a task */
	uid_t uid;                   /* who submitted it (the journal's VX11_UID) */
	json_object *params;         /* switch.plan's params */
	ManagerPlanDone cb;
	void *userdata;
	SwitchCall *call;
	bool waiting_commit; /* its task's `planning` row is not committed yet */
	bool asked;
	bool withdrawn; /* that commit failed: the task does not exist */
	LIST_FIELDS(ManagerPlan, plans);
};

static void plan_free(ManagerPlan *p)
{
	LIST_REMOVE(plans, p->m->plans, p);
	json_object_put(p->params);
	free(p);
}

static const char *param_str(json_object *params, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(params, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

static json_object *queued_envelope(const Task *t, const char *provider, json_object *plan, bool degraded,
				    uint64_t at)
{
	json_object *o = json_object_new_object(), *resp = json_object_new_object();
	char ts[TIMESTAMP_MAX];

	json_object_object_add(resp, "task_id", json_object_new_string(t->id));
	json_object_object_add(resp, "plan", json_object_get(plan));
	json_object_object_add(o, "correlation_id", json_object_new_string(t->intent_id));
	json_object_object_add(o, "status", json_object_new_string("QUEUED"));
	json_object_object_add(o, "mode", json_object_new_string("SPAWNER"));
	json_object_object_add(o, "provider", json_object_new_string(provider));
	json_object_object_add(o, "response", resp);
	json_object_object_add(o, "error", NULL);
	json_object_object_add(o, "degraded", json_object_new_boolean(degraded));
	json_object_object_add(o, "timestamp", json_object_new_string(format_timestamp(ts, at)));
	return o;
}

/* The task stores its plan and becomes runnable; its intent row says how it
 * was planned. A failed re-plan keeps the plan the task had. */
static int settle_task(ManagerPlan *p, json_object *plan, const char *reason, const char *note, PlanOutcome *o)
{
	Manager *m = p->m;
	uint64_t now = now_realtime_usec();
	IntentRecord rec;
	Task t;
	int r;

	r = store_task_get(m->store, p->task_id, &t);
	if (r < 0)
		return log_error_errno(r, "planned task %s cannot be read: %s", p->task_id, store_last_error(m->store));
	if (t.status != TASK_PLANNING) {
		/* Cancelled while it was planned: the plan is kept, nothing runs. */
		log_info("task %s was planned, but it is %s now", t.id, task_status_to_string(t.status));
	} else {
		json_object *v;
		TaskStatus old = t.status;
		bool replan_failed = reason && t.plan_json;

		if (!replan_failed) {
			free(t.plan_json);
			t.plan_json = strdup(json_object_to_json_string_ext(plan, JSON_C_TO_STRING_PLAIN));
			free(t.provider);
			t.provider = strdup(reason ? "fallback_local" : "switch");
			free(t.model);
			t.model = !reason && json_object_object_get_ex(plan, "model", &v) && v
					  ? strdup(json_object_get_string(v))
					  : NULL;
			if (!reason && json_object_object_get_ex(plan, "task_type", &v) && v) {
				free(t.task_type);
				t.task_type = strdup(json_object_get_string(v));
			}
		}
		t.degraded = reason != NULL;
		t.status = TASK_PENDING;
		t.updated_at = now;
		r = store_task_update(m->store, &t);
		if (r < 0) {
			log_error("cannot store the plan of task %s: %s", t.id, store_last_error(m->store));
			task_done(&t);
			return r;
		}
		/* A QUEUED reply promises the task survives a power cut. */
		store_want_durable(m->store);
		Id id;
		(void)id_from_string(t.id, &id);
		if (queue_push(m->queue, &id, t.priority, t.seq, 0) < 0)
			log_error("cannot queue task %s: %m", t.id);
		runner_schedule(m->runner);
		manager_task_changed(m, &t, old);
	}

	if (store_intent_get(m->store, t.intent_id, &rec) == 0) {
		const char *provider = reason ? "spawner" : "switch";
		_cleanup_free_ char *env = NULL;

		/* The envelope replied is the first plan's; a retry's re-plan only
		 * adds its notes. (An intent replied at once has processed_at and
		 * keeps its envelope only where it is read again: intent_record().) */
		if (!rec.envelope_json && !rec.processed_at) {
			o->envelope = queued_envelope(&t, provider, plan, reason != NULL, now);
			env = strdup(json_object_to_json_string_ext(o->envelope, JSON_C_TO_STRING_PLAIN));
			free(rec.envelope_json), rec.envelope_json = TAKE_PTR(env);
			free(rec.provider), rec.provider = strdup(provider);
		}
		if (!rec.processed_at)
			rec.processed_at = now;
		free(rec.notes), rec.notes = strdup(note);
		if (store_intent_update(m->store, &rec) < 0)
			log_warning("cannot record the plan of intent %s: %s", rec.correlation_id,
				    store_last_error(m->store));
		intent_record_done(&rec);
	}
	task_done(&t);
	return 0;
}

static void plan_finish(ManagerPlan *p, json_object *res, const char *error)
{
	Manager *m = p->m;
	_cleanup_json_ json_object *plan = NULL;
	AuditFields f = AUDIT_FIELDS_INIT;
	PlanOutcome o = {};
	char note[512];
	json_object *attempt_v;
	int attempt = json_object_object_get_ex(p->params, "attempt", &attempt_v) ? json_object_get_int(attempt_v) : 1;

	if (!error) {
		json_object *types = NULL;
		(void)json_object_object_get_ex(p->params, "task_types", &types);
		error = plan_answer_check(res, p->task_id[0], types, m->policy);
	}
	if (error) {
		plan = plan_local(error);
		/* A retry's re-plan that fails keeps the task's plan (settle_task). */
		snprintf(note, sizeof note, "attempt %d: degraded: %s; %s", attempt, error,
			 attempt > 1 && p->task_id[0] ? "the previous plan kept" : "fallback_local plan");
	} else {
		const char *to = p->task_id[0] ? param_str(res, "task_type") : NULL;

		if (to && streq(to, param_str(p->params, "task_type") ?: ""))
			to = NULL; /* the type it had: no re-route */

		plan = plan_from_answer(res, p->task_id[0]);
		snprintf(note, sizeof note, "attempt %d: planned by the switch: provider %s, model %s, approach %s%s%s",
			 attempt, param_str(res, "provider"), param_str(res, "model") ?: "-", param_str(res, "approach"),
			 to ? ", re-routed to " : "", to ?: "");
	}
	stats_switch_plan(&m->stats, error != NULL);
	o.plan = plan;
	o.degraded = error != NULL;
	o.reason = error;
	o.note = note;

	if (p->task_id[0] && settle_task(p, plan, error, note, &o) < 0)
		o.failed = "the plan could not be stored";

	f.correlation_id = param_str(p->params, "correlation_id");
	f.task_id = p->task_id[0] ? p->task_id : NULL;
	f.intent_type = param_str(p->params, "intent_type");
	f.source = param_str(p->params, "source");
	f.uid = p->uid;
	f.provider = error ? "fallback_local" : "switch";
	f.degraded = error ? "true" : "false";
	log_audit(error ? LOG_NOTICE : LOG_INFO, VX11_MSG_INTENT_PLANNED, &f, "intent %s (%s)%s%s: %s",
		  f.correlation_id ?: "-", f.intent_type ?: "-", f.task_id ? ", task " : "", f.task_id ?: "", note);

	if (p->cb)
		p->cb(p->userdata, &o);
	json_object_put(o.envelope);
	plan_free(p);
}

static void on_switch_answer(void *userdata, json_object *result, const char *error, bool retry)
{
	ManagerPlan *p = userdata;

	p->call = NULL;
	/* The daemon stops: the task stays `planning`, planned at the next start. */
	if (p->m->plans_stopping) {
		plan_free(p);
		return;
	}
	if (error && streq(error, "stopping"))
		error = "switch unavailable: the policy mode is no longer switch";
	plan_finish(p, result, error);
}

static int on_plan_defer(sd_event_source *s, void *userdata)
{
	Manager *m = userdata;
	ManagerPlan *p, *n;

	LIST_FOREACH_SAFE(plans, p, n, m->plans) {
		if (p->waiting_commit || p->asked)
			continue;
		if (p->withdrawn) {
			PlanOutcome o = { .failed = "the task could not be stored" };
			if (p->cb)
				p->cb(p->userdata, &o);
			plan_free(p);
			continue;
		}
		p->asked = true;
		if (!m->plan_switch) {
			plan_finish(p, NULL, "switch unavailable: the policy mode is solo_madre");
			continue;
		}
		if (switch_client_call(m->plan_switch, "switch.plan", json_object_get(p->params), on_switch_answer, p,
				       &p->call) < 0)
			plan_finish(p, NULL, "switch unavailable: out of memory");
	}
	return 0;
}

static void plan_kick(Manager *m)
{
	if (!m->plan_defer && sd_event_add_defer(m->event, &m->plan_defer, on_plan_defer, m) >= 0)
		(void)sd_event_source_set_enabled(m->plan_defer, SD_EVENT_OFF);
	if (m->plan_defer)
		(void)sd_event_source_set_enabled(m->plan_defer, SD_EVENT_ONESHOT);
}

/* After each commit (manager.c's on_post): plans whose task is now durable
 * are asked; those whose commit failed are told. */
void manager_plans_committed(Manager *m, bool withdrawn)
{
	bool any = false;

	for (ManagerPlan *p = m->plans; p; p = p->plans_next)
		if (p->waiting_commit) {
			p->waiting_commit = false;
			p->withdrawn = withdrawn;
			any = true;
		}
	if (any)
		plan_kick(m);
}

static ManagerPlan *plan_new(Manager *m, json_object *params, ManagerPlanDone cb, void *userdata)
{
	ManagerPlan *p = calloc(1, sizeof(*p));

	if (!p) {
		json_object_put(params);
		return NULL;
	}
	p->m = m;
	p->params = params;
	p->cb = cb;
	p->userdata = userdata;
	LIST_PREPEND(plans, m->plans, p);
	return p;
}

int manager_plan_intent(Manager *m, json_object *params, uid_t uid, ManagerPlanDone cb, void *userdata,
			ManagerPlan **ret)
{
	ManagerPlan *p = plan_new(m, params, cb, userdata);

	if (!p)
		return -ENOMEM;
	p->uid = uid;
	plan_kick(m);
	if (ret)
		*ret = p;
	return 0;
}

/* switch.plan's params for a task, from the task and its intent row. */
static json_object *task_params(Manager *m, const Task *t, json_object *task_types, const char *last_reason)
{
	json_object *o = json_object_new_object();
	IntentRecord rec;
	bool have = store_intent_get(m->store, t->intent_id, &rec) == 0;

	json_object_object_add(o, "correlation_id", json_object_new_string(t->intent_id));
	json_object_object_add(o, "intent_type", json_object_new_string(have ? rec.intent_type : t->task_type));
	json_object_object_add(o, "text", t->description ? json_object_new_string(t->description) : NULL);
	json_object_object_add(o, "payload", t->payload_json ? json_tokener_parse(t->payload_json) : NULL);
	json_object_object_add(o, "priority", json_object_new_int(t->priority));
	json_object_object_add(o, "source", json_object_new_string(t->source));
	json_object_object_add(o, "task_type", json_object_new_string(t->task_type));
	if (!task_types) {
		task_types = json_object_new_array();
		json_object_array_add(task_types, json_object_new_string(t->task_type));
	}
	json_object_object_add(o, "task_types", task_types);
	json_object_object_add(o, "attempt", json_object_new_int(t->current_retry + 1));
	json_object_object_add(o, "mutation_level", json_object_new_int(t->mutation_level));
	json_object_object_add(o, "last_reason", last_reason ? json_object_new_string(last_reason) : NULL);
	if (have)
		intent_record_done(&rec);
	return o;
}

int manager_plan_task(Manager *m, const Task *t, json_object *task_types, ManagerPlanDone cb, void *userdata,
		      ManagerPlan **ret)
{
	ManagerPlan *p = plan_new(m, task_params(m, t, task_types, NULL), cb, userdata);

	if (!p)
		return -ENOMEM;
	snprintf(p->task_id, sizeof p->task_id, "%s", t->id);
	p->uid = t->uid;
	p->waiting_commit = true;
	if (ret)
		*ret = p;
	return 0;
}

void manager_plan_detach(ManagerPlan *p)
{
	if (p)
		p->cb = NULL;
}

typedef struct ReasonWalk {
	char *reason;
} ReasonWalk;

static int last_reason(const Attempt *a, void *userdata)
{
	ReasonWalk *w = userdata;

	free(w->reason);
	w->reason = a->reason ? strdup(a->reason) : NULL;
	return 0;
}

bool manager_replan_retry(Manager *m, Task *t)
{
	ReasonWalk w = {};
	ManagerPlan *p;
	TaskStatus old = t->status;

	/* Only a planned task, and only while there is a switch to ask. */
	if (!t->provider || !m->plan_switch || m->plans_stopping)
		return false;
	(void)store_attempt_list_task(m->store, t->id, last_reason, &w);
	t->status = TASK_PLANNING;
	t->updated_at = now_realtime_usec();
	if (store_task_update(m->store, t) < 0) {
		log_error("cannot update task %s: %s", t->id, store_last_error(m->store));
		t->status = old;
		free(w.reason);
		return false;
	}
	manager_task_changed(m, t, old);
	p = plan_new(m, task_params(m, t, NULL, w.reason), NULL, NULL);
	free(w.reason);
	if (!p)
		return true; /* left `planning`: planned again at the next start */
	snprintf(p->task_id, sizeof p->task_id, "%s", t->id);
	p->uid = t->uid;
	p->waiting_commit = true;
	return true;
}

static int replan_one(const Task *t, void *userdata)
{
	Manager *m = userdata;
	ManagerPlan *p = plan_new(m, task_params(m, t, NULL, NULL), NULL, NULL);

	if (!p)
		return -ENOMEM;
	snprintf(p->task_id, sizeof p->task_id, "%s", t->id);
	p->uid = t->uid;
	log_info("task %s was being planned when the daemon stopped: planning it again", t->id);
	return 0;
}

int manager_replan_interrupted(Manager *m)
{
	TaskFilter f = { .status_mask = 1u << TASK_PLANNING, .uid = (uid_t)-1 };
	int r;

	r = store_task_list(m->store, &f, replan_one, m);
	if (r < 0)
		return log_error_errno(r, "cannot list the tasks being planned: %s", store_last_error(m->store));
	if (m->plans)
		plan_kick(m);
	return 0;
}

int manager_switch_configure(Manager *m)
{
	const Policy *pol = m->policy;
	uint64_t cooldown = pol->switch_.cooldown_seconds * USEC_PER_SEC;
	int r;

	if (pol->mode != POLICY_MODE_SWITCH) {
		m->plan_switch = switch_client_free(m->plan_switch);
		return 0;
	}
	if (m->plan_switch)
		r = switch_client_reconfigure(m->plan_switch, pol->switch_.socket, pol->switch_.timeout_ms,
					      (unsigned)pol->switch_.failure_threshold, cooldown);
	else
		r = switch_client_new(m->event, pol->switch_.socket, pol->switch_.timeout_ms,
				      (unsigned)pol->switch_.failure_threshold, cooldown, &m->plan_switch);
	if (r < 0)
		return log_error_errno(r, "cannot set up the client of the switch at %s: %m", pol->switch_.socket);
	return 0;
}

void manager_planner_stop(Manager *m)
{
	PlanOutcome o = { .failed = "the daemon is stopping" };

	m->plans_stopping = true;
	/* Each asker hears of it (and frees what it kept); the tasks stay in
	 * `planning` and are planned at the next start. */
	while (m->plans) {
		ManagerPlan *p = m->plans;

		switch_call_cancel(p->call);
		if (p->cb)
			p->cb(p->userdata, &o);
		plan_free(p);
	}
	m->plan_switch = switch_client_free(m->plan_switch);
	m->plan_defer = sd_event_source_disable_unref(m->plan_defer);
}

json_object *manager_switch_status(Manager *m)
{
	const Policy *pol = m->policy;
	json_object *o = json_object_new_object(), *st = m->plan_switch ? switch_client_status(m->plan_switch) : NULL;
	json_object *v;

	json_object_object_add(o, "mode", json_object_new_string(pol->mode == POLICY_MODE_SWITCH ? "switch" : "solo_madre"));
	json_object_object_add(o, "socket", pol->switch_.socket ? json_object_new_string(pol->switch_.socket) : NULL);
	json_object_object_add(o, "state", json_object_new_string(m->plan_switch ? switch_client_state(m->plan_switch)
										  : "closed"));
	json_object_object_add(o, "consecutive_failures",
			       st && json_object_object_get_ex(st, "consecutive_failures", &v) ? json_object_get(v)
											      : json_object_new_int(0));
	json_object_object_add(o, "plans", json_object_new_int64((int64_t)m->stats.switch_plans));
	json_object_object_add(o, "degraded", json_object_new_int64((int64_t)m->stats.switch_degraded));
	json_object_object_add(o, "subtasks", json_object_new_int64((int64_t)subtasks_count(m->subtasks)));
	json_object_object_add(o, "last_error",
			       st && json_object_object_get_ex(st, "last_error", &v) ? json_object_get(v) : NULL);
	json_object_put(st);
	return o;
}
