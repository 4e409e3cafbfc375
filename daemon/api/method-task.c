/* SPDX-License-Identifier: MIT */
/* task.list, task.resolve, task.get, task.cancel and daughter.list. A
 * submitter sees only its own tasks; someone else's task is "not found", not
 * "forbidden", so ids leak nothing. */
#include <string.h>

#include "core/manager.h"
#include "methods.h"
#include "params.h"
#include "run/runner.h"

json_object *task_to_json(const Task *t)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(t->id));
	json_object_object_add(o, "intent_id", json_object_new_string(t->intent_id));
	json_object_object_add(o, "source", json_object_new_string(t->source));
	json_object_object_add(o, "priority", json_object_new_int(t->priority));
	json_object_object_add(o, "status", json_object_new_string(task_status_to_string(t->status)));
	json_object_object_add(o, "task_type", json_object_new_string(t->task_type));
	json_object_object_add(o, "description", t->description ? json_object_new_string(t->description) : NULL);
	json_object_object_add(o, "created_at", json_timestamp(t->created_at));
	json_object_object_add(o, "updated_at", json_timestamp(t->updated_at));
	json_object_object_add(o, "current_retry", json_object_new_int(t->current_retry));
	json_object_object_add(o, "max_retries", json_object_new_int(t->max_retries));
	json_object_object_add(o, "mutation_level", json_object_new_int(t->mutation_level));
	json_object_object_add(o, "next_attempt_at", json_timestamp(t->next_attempt_at));
	json_object_object_add(o, "uid", json_object_new_int64(t->uid));
	/* What a "command": "caller" type runs: {"argv", "cwd", "env"}; else null. */
	json_object_object_add(o, "command", t->command_json ? json_tokener_parse(t->command_json) : NULL);
	return o;
}

/*
 * Beyond protocol.md, what durations are made of: when the first attempt
 * started (null before one has), and when the task ended (its last change,
 * once it is terminal; null before). An index lookup per task.
 */
static int add_times(Store *store, json_object *o, const Task *t)
{
	uint64_t started;
	int r;

	r = store_task_first_start(store, t->id, &started);
	if (r < 0)
		return r;
	json_object_object_add(o, "started_at", json_timestamp(started));
	json_object_object_add(o, "ended_at", json_timestamp(task_status_is_terminal(t->status) ? t->updated_at : 0));
	return 0;
}

/*
 * What the task waits for (intent.submit "after"): "after", the ids in the
 * order given, "after_any", and for a pending task "waiting_on", those that
 * have not ended yet (nothing else holds it back but a pause or a free slot).
 * An index lookup per task, one more per dependency of a pending one.
 */
static int add_after(Store *store, json_object *o, const Task *t)
{
	_cleanup_free_ TaskDep *deps = NULL;
	json_object *after = json_object_new_array(), *waiting = NULL;
	size_t n;
	int r;

	r = store_dep_list(store, t->id, &deps, &n);
	if (r < 0) {
		json_object_put(after);
		return r;
	}
	if (t->status == TASK_PENDING)
		waiting = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		Task d;

		json_object_array_add(after, json_object_new_string(deps[i].after_id));
		if (!waiting || store_task_get(store, deps[i].after_id, &d) < 0)
			continue;
		if (!task_status_is_terminal(d.status))
			json_object_array_add(waiting, json_object_new_string(d.id));
		task_done(&d);
	}
	json_object_object_add(o, "after", after);
	json_object_object_add(o, "after_any", json_object_new_boolean(n > 0 && deps[0].after_any));
	json_object_object_add(o, "waiting_on", waiting ?: json_object_new_array());
	return 0;
}

static int status_mask_from_json(json_object *v, unsigned *ret, RpcError *err)
{
	unsigned mask = 0;
	size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 1;

	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_is_type(v, json_type_array) ? json_object_array_get_idx(v, i) : v;
		TaskStatus s = task_status_from_string(json_object_get_string(e));
		if (s == _TASK_STATUS_INVALID)
			return rpc_error(err, RPC_INVALID_PARAMS,
					 "invalid params: status: unknown task status \"%.32s\" (expected pending, planning, "
					 "running, retrying, completed, failed, expired or cancelled)",
					 json_object_get_string(e));
		mask |= 1u << s;
	}
	if (mask == 0)
		return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: status: an empty list matches nothing");
	*ret = mask;
	return 0;
}

typedef struct ListParams {
	json_object *status;
	const char *source;
	int64_t limit;
	const char *after;
	const char *order;
	int total;
	const char *task_type;
	const char *since;
	const char *until;
} ListParams;

const ParamSpec list_params[] = {
	{ "status", PARAM_STRING_OR_ARRAY, offsetof(ListParams, status), 0, 0, 0 },
	{ "source", PARAM_STRING, offsetof(ListParams, source), 0, 0, 0 },
	{ "limit", PARAM_INT, offsetof(ListParams, limit), 0, 1, 1000 },
	{ "after", PARAM_STRING, offsetof(ListParams, after), 0, 0, 64 },
	{ "order", PARAM_STRING, offsetof(ListParams, order), 0, 0, 0 },
	{ "total", PARAM_BOOL, offsetof(ListParams, total), 0, 0, 0 },
	{ "task_type", PARAM_STRING, offsetof(ListParams, task_type), PARAM_NONEMPTY, 0, 256 },
	{ "since", PARAM_STRING, offsetof(ListParams, since), 0, 0, 64 },
	{ "until", PARAM_STRING, offsetof(ListParams, until), 0, 0, 64 },
	{}
};

/* A page stops early past this many bytes of JSON; `after` continues it. */
#define PAGE_BUDGET (1024 * 1024)

typedef struct Page {
	Store *store;
	json_object *array;
	size_t bytes;
} Page;

static int add_task(const Task *t, void *userdata)
{
	Page *p = userdata;
	json_object *o = task_to_json(t);
	size_t len;
	int r;

	r = add_times(p->store, o, t);
	if (r >= 0)
		r = add_after(p->store, o, t);
	if (r < 0) {
		json_object_put(o);
		return r;
	}
	rpc_serialize(o, &len);
	json_object_array_add(p->array, o);
	p->bytes += len;
	return p->bytes > PAGE_BUDGET; /* non-zero stops the walk */
}

int method_task_list(Call *call, json_object *params, json_object **ret, RpcError *err)
{
	ListParams p;
	TaskFilter f = { .uid = (uid_t)-1 };
	json_object *tasks, *o;
	uint64_t total = 0;
	int r;

	r = params_parse(list_params, params, "", &p, err);
	if (r < 0)
		return r;
	if (p.status && (r = status_mask_from_json(p.status, &f.status_mask, err)) < 0)
		return r;
	if (p.source && policy_source_from_string(p.source) == _SOURCE_INVALID)
		return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: source: expected one of shub, operator, madre, hijas");
	r = param_order("order", p.order, &f.desc, err);
	if (r == 0)
		r = param_timestamp("since", p.since, &f.since, err);
	if (r == 0)
		r = param_timestamp("until", p.until, &f.until, err);
	if (r < 0)
		return r;
	f.task_type = p.task_type;
	f.source = p.source;
	f.after = p.after;
	f.limit = p.limit == PARAM_INT_UNSET ? 100 : (unsigned)p.limit;
	if (!call->admin)
		f.uid = call->caller->uid;

	/* Asked for, not always: a client paging through everything needs it once. */
	if (p.total == 1) {
		r = store_task_count(call->m->store, &f, &total);
		if (r < 0)
			return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(call->m->store));
	}
	Page page = { .store = call->m->store, .array = json_object_new_array() };
	tasks = page.array;
	r = store_task_list(call->m->store, &f, add_task, &page);
	if (r < 0) {
		json_object_put(tasks);
		return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(call->m->store));
	}
	o = json_object_new_object();
	json_object_object_add(o, "count", json_object_new_int((int)json_object_array_length(tasks)));
	if (p.total == 1)
		json_object_object_add(o, "total", json_object_new_int64((int64_t)total));
	json_object_object_add(o, "tasks", tasks);
	*ret = o;
	return 0;
}

typedef struct TaskIdParams {
	const char *task_id;
} TaskIdParams;

const ParamSpec task_id_params[] = {
	{ "task_id", PARAM_STRING, offsetof(TaskIdParams, task_id), PARAM_REQUIRED, 0, 64 },
	{}
};

int task_visible(Call *call, const char *task_id, Task *ret, RpcError *err)
{
	int r = store_task_get(call->m->store, task_id, ret);

	if (r == 0 && !caller_may_see(call->caller, call->m->policy, ret->uid)) {
		task_done(ret);
		r = -ENOENT;
	}
	if (r == -ENOENT)
		return rpc_error(err, RPC_NOT_FOUND, "no such task: %.64s", task_id);
	if (r < 0)
		return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(call->m->store));
	return 0;
}

/* ---- task.resolve ---- */

typedef struct ResolveParams {
	const char *id;
} ResolveParams;

const ParamSpec resolve_params[] = {
	{ "id", PARAM_STRING, offsetof(ResolveParams, id), PARAM_REQUIRED, 0, 64 },
	{}
};

/* How many of the intents an ambiguous prefix names are listed. */
#define RESOLVE_CANDIDATES_MAX 10
/* A prefix shorter than this names too much to be meant. */
#define RESOLVE_PREFIX_MIN 4

/* A candidate of an ambiguous prefix: enough for a person to pick one. */
static json_object *candidate_to_json(Manager *m, const IdMatch *match)
{
	json_object *o = json_object_new_object();
	IntentRecord rec;
	Task t;

	json_object_object_add(o, "correlation_id", json_object_new_string(match->correlation_id));
	json_object_object_add(o, "task_id", match->task_id[0] ? json_object_new_string(match->task_id) : NULL);
	if (store_intent_get(m->store, match->correlation_id, &rec) == 0) {
		json_object_object_add(o, "intent_type", json_object_new_string(rec.intent_type));
		json_object_object_add(o, "created_at", json_timestamp(rec.created_at));
		json_object_object_add(o, "status", json_object_new_string(rec.status));
		intent_record_done(&rec);
	}
	/* A task's own state says more than its intent's QUEUED. */
	if (match->task_id[0] && store_task_get(m->store, match->task_id, &t) == 0) {
		json_object_object_add(o, "status", json_object_new_string(task_status_to_string(t.status)));
		task_done(&t);
	}
	return o;
}

/*
 * Which intent a task id, a correlation id, or the start of either names
 * (git-style): among the caller's own, or everyone's for an admin, so someone
 * else's id is not found, as everywhere. A task and its own intent are one.
 */
int method_task_resolve(Call *call, json_object *params, json_object **ret, RpcError *err)
{
	IdMatch found[RESOLVE_CANDIDATES_MAX];
	char prefix[ID_STRING_MAX];
	ResolveParams p;
	json_object *o;
	size_t n, len;
	int r;

	r = params_parse(resolve_params, params, "", &p, err);
	if (r < 0)
		return r;
	len = strlen(p.id);
	if (len < RESOLVE_PREFIX_MIN)
		return rpc_error(err, RPC_INVALID_PARAMS,
				 "invalid params: id: \"%s\" is too short; give at least %d characters of a task or "
				 "correlation id",
				 p.id, RESOLVE_PREFIX_MIN);
	/* Nothing could match it: as not found as any other. */
	if (len >= ID_STRING_MAX || strspn(p.id, "0123456789abcdefABCDEF-") != len)
		return rpc_error(err, RPC_NOT_FOUND,
				 "no task or intent has an id that starts with \"%.64s\" (ids are hexadecimal digits "
				 "and dashes, as in 01a2f3c4-5d6e-...)",
				 p.id);
	for (size_t i = 0; i <= len; i++)
		prefix[i] = (char)(p.id[i] >= 'A' && p.id[i] <= 'F' ? p.id[i] - 'A' + 'a' : p.id[i]);

	r = store_id_prefix_find(call->m->store, prefix, call->admin ? (uid_t)-1 : call->caller->uid, found,
				 ELEMENTSOF(found), &n);
	if (r < 0)
		return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(call->m->store));
	if (n == 0)
		return rpc_error(err, RPC_NOT_FOUND, "no task or intent%s has an id that starts with \"%s\"",
				 call->admin ? "" : " of yours", prefix);
	if (n > 1) {
		json_object *candidates = json_object_new_array();

		for (size_t i = 0; i < n && i < ELEMENTSOF(found); i++)
			json_object_array_add(candidates, candidate_to_json(call->m, &found[i]));
		call->error_data = json_object_new_object();
		json_object_object_add(call->error_data, "candidates", candidates);
		json_object_object_add(call->error_data, "more", json_object_new_boolean(n > ELEMENTSOF(found)));
		return rpc_error(err, RPC_INVALID_PARAMS, "\"%s\" is the start of %s%zu tasks' or intents' ids; give more of it",
				 prefix, n > ELEMENTSOF(found) ? "more than " : "", MIN(n, ELEMENTSOF(found)));
	}

	o = json_object_new_object();
	json_object_object_add(o, "correlation_id", json_object_new_string(found[0].correlation_id));
	json_object_object_add(o, "task_id", found[0].task_id[0] ? json_object_new_string(found[0].task_id) : NULL);
	*ret = o;
	return 0;
}

/* The task named by params' task_id, if the caller may see it. */
static int visible_task(Call *call, json_object *params, Task *ret, RpcError *err)
{
	TaskIdParams p;
	int r;

	r = params_parse(task_id_params, params, "", &p, err);
	if (r < 0)
		return r;
	return task_visible(call, p.task_id, ret, err);
}

typedef struct DaughterWalk {
	Store *store;
	json_object *array;
	json_object *attempts; /* the daughter's, being filled */
	int latest;            /* the task's latest attempt so far: its number, */
	char *latest_node;     /* and its node (NULL: none recorded) */
	int r;
} DaughterWalk;

static int add_attempt(const Attempt *a, void *userdata)
{
	DaughterWalk *w = userdata;
	json_object *o;

	/* Daughters come in the order they started: of two attempts with one
	 * number (cannot happen today), the later one. */
	if (a->number >= w->latest) {
		char *node = a->node ? strdup(a->node) : NULL;
		if (a->node && !node)
			return -ENOMEM;
		free(w->latest_node);
		w->latest_node = node;
		w->latest = a->number;
	}
	o = json_object_new_object();

	json_object_object_add(o, "number", json_object_new_int(a->number));
	json_object_object_add(o, "status", a->status ? json_object_new_string(a->status) : NULL);
	json_object_object_add(o, "reason", a->reason ? json_object_new_string(a->reason) : NULL);
	json_object_object_add(o, "started_at", json_timestamp(a->started_at));
	json_object_object_add(o, "finished_at", json_timestamp(a->finished_at));
	json_object_object_add(o, "exit_code", a->exit_code >= 0 ? json_object_new_int(a->exit_code) : NULL);
	json_object_object_add(o, "signal", a->signal > 0 ? json_object_new_int(a->signal) : NULL);
	json_object_object_add(o, "cpu_usec", json_object_new_int64((int64_t)a->cpu_usec));
	json_object_object_add(o, "memory_peak_bytes", json_object_new_int64((int64_t)a->memory_peak_bytes));
	json_object_object_add(o, "tokens_used_cli", json_object_new_int64(a->tokens_used_cli));
	json_object_object_add(o, "tokens_used_local", json_object_new_int64(a->tokens_used_local));
	json_object_object_add(o, "switch_model_used", a->switch_model_used ? json_object_new_string(a->switch_model_used) : NULL);
	json_object_object_add(o, "cli_provider_used", a->cli_provider_used ? json_object_new_string(a->cli_provider_used) : NULL);
	json_object_object_add(o, "error_message", a->error_message ? json_object_new_string(a->error_message) : NULL);
	/* Beyond protocol.md: who it ran as, what it said, what it ran without. */
	json_object_object_add(o, "id", json_object_new_string(a->id));
	json_object_object_add(o, "uid", json_object_new_int64(a->uid));
	json_object_object_add(o, "cgroup", a->cgroup ? json_object_new_string(a->cgroup) : NULL);
	json_object_object_add(o, "reported_status", a->reported_status ? json_object_new_string(a->reported_status) : NULL);
	json_object_object_add(o, "status_text", a->status_text ? json_object_new_string(a->status_text) : NULL);
	json_object_object_add(o, "unapplied", a->unapplied ? json_object_new_string(a->unapplied) : NULL);
	json_object_object_add(o, "confinement", a->confinement ? json_tokener_parse(a->confinement) : NULL);
	json_object_object_add(o, "result", a->result_json ? json_tokener_parse(a->result_json) : NULL);
	/* The node that ran it (vx11d --node); null for attempts of a daemon
	 * before schema step 11. */
	json_object_object_add(o, "node", a->node ? json_object_new_string(a->node) : NULL);
	json_object_array_add(w->attempts, o);
	return 0;
}

static json_object *daughter_to_json(const Daughter *d, bool with_task)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(d->id));
	if (with_task)
		json_object_object_add(o, "task_id", json_object_new_string(d->task_id));
	json_object_object_add(o, "name", d->name ? json_object_new_string(d->name) : NULL);
	json_object_object_add(o, "purpose", d->purpose ? json_object_new_string(d->purpose) : NULL);
	json_object_object_add(o, "status", d->status ? json_object_new_string(d->status) : NULL);
	json_object_object_add(o, "mutation_level", json_object_new_int(d->mutation_level));
	json_object_object_add(o, "started_at", json_timestamp(d->started_at));
	json_object_object_add(o, "ttl_seconds", d->ttl_seconds >= 0 ? json_object_new_int64(d->ttl_seconds) : NULL);
	json_object_object_add(o, "tools", d->tools_json ? json_tokener_parse(d->tools_json) : NULL);
	return o;
}

static int add_daughter_nested(const Daughter *d, void *userdata)
{
	DaughterWalk *w = userdata;
	json_object *o = daughter_to_json(d, false), *attempts = json_object_new_array();

	json_object_object_add(o, "last_heartbeat_at", json_timestamp(d->last_heartbeat_at));
	json_object_object_add(o, "ended_at", json_timestamp(d->ended_at));
	json_object_object_add(o, "error_last", d->error_last ? json_object_new_string(d->error_last) : NULL);
	w->attempts = attempts;
	w->r = store_attempt_list(w->store, d->id, add_attempt, w);
	json_object_object_add(o, "attempts", attempts);
	json_object_array_add(w->array, o);
	return w->r < 0 ? w->r : 0;
}

int method_task_get(Call *call, json_object *params, json_object **ret, RpcError *err)
{
	DaughterWalk w = { .store = call->m->store };
	json_object *o;
	Task t;
	int r;

	r = visible_task(call, params, &t, err);
	if (r < 0)
		return r;
	w.array = json_object_new_array();
	r = store_daughter_list(call->m->store, t.id, NULL, (uid_t)-1, 0, add_daughter_nested, &w);
	if (r < 0) {
		task_done(&t);
		free(w.latest_node);
		json_object_put(w.array);
		return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(call->m->store));
	}
	json_object *task = task_to_json(&t);
	/* The seed's metadata_json; only here, not in task.list, where it would
	 * weigh on every page. */
	json_object_object_add(task, "payload", t.payload_json ? json_tokener_parse(t.payload_json) : NULL);
	if (add_times(call->m->store, task, &t) < 0 || add_after(call->m->store, task, &t) < 0) {
		json_object_put(task);
		task_done(&t);
		free(w.latest_node);
		json_object_put(w.array);
		return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(call->m->store));
	}
	/* The plan only here: a list of tasks stays small (switch.md). */
	json_object_object_add(task, "plan", t.plan_json ? json_tokener_parse(t.plan_json) : NULL);
	json_object_object_add(task, "degraded", json_object_new_boolean(t.degraded));
	json_object_object_add(task, "provider", t.provider ? json_object_new_string(t.provider) : NULL);
	json_object_object_add(task, "model", t.model ? json_object_new_string(t.model) : NULL);
	/* Where it ran last: null when it never ran (or only before step 11). */
	json_object_object_add(task, "node", w.latest_node ? json_object_new_string(w.latest_node) : NULL);
	free(w.latest_node);
	o = json_object_new_object();
	json_object_object_add(o, "task", task);
	json_object_object_add(o, "daughters", w.array);
	task_done(&t);
	*ret = o;
	return 0;
}

int method_task_cancel(Call *call, json_object *params, json_object **ret, RpcError *err)
{
	Manager *m = call->m;
	char node[NODE_NAME_MAX + 1];
	TaskStatus old;
	json_object *o;
	int killed;
	Id id;
	Task t;
	int r;

	r = visible_task(call, params, &t, err);
	if (r < 0)
		return r;
	if (task_status_is_terminal(t.status)) {
		rpc_error(err, RPC_CONFLICT, "task %s is already %s", t.id, task_status_to_string(t.status));
		task_done(&t);
		return err->code;
	}
	/* Only if it has not ended meanwhile (on a fleet, on another node): a
	 * cancel never overwrites a completed or failed task. The node that
	 * runs it, if another, is told with the commit and kills its daughter. */
	t.updated_at = now_realtime_usec();
	r = store_task_cancel(m->store, t.id, t.updated_at, &old, node, sizeof node);
	if (r == -EALREADY) {
		rpc_error(err, RPC_CONFLICT, "task %s is already %s", t.id, task_status_to_string(old));
		task_done(&t);
		return err->code;
	}
	if (r < 0) {
		task_done(&t);
		return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(m->store));
	}
	/* A running task's daughter is killed now (its whole cgroup); its
	 * attempt ends "cancelled" once the cgroup is empty. */
	killed = runner_cancel(m->runner, t.id); /* also one still being spawned */
	if (killed == 0 && old == TASK_RUNNING && node[0] && !streq(node, m->node))
		killed = 1; /* by its node, within a second */

	t.status = TASK_CANCELLED;
	t.next_attempt_at = 0;
	store_want_durable(m->store);
	if (id_from_string(t.id, &id) == 0)
		(void)queue_remove(m->queue, &id);
	manager_task_changed(m, &t, old);

	AuditFields f = AUDIT_FIELDS_INIT;
	f.task_id = t.id;
	f.correlation_id = t.intent_id;
	f.source = t.source;
	f.uid = call->caller->uid;
	f.intent_type = t.task_type;
	f.status = "cancelled";
	log_audit(LOG_INFO, VX11_MSG_TASK_CANCELLED, &f, "task %s cancelled by uid %u (was %s)", t.id,
		  (unsigned)call->caller->uid, task_status_to_string(old));

	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string("cancelled"));
	json_object_object_add(o, "task_id", json_object_new_string(t.id));
	json_object_object_add(o, "cancelled_daughters_count", json_object_new_int(killed));
	task_done(&t);
	*ret = o;
	return 0;
}

typedef struct DaughterListParams {
	const char *status;
	int64_t limit;
} DaughterListParams;

const ParamSpec daughter_list_params[] = {
	{ "status", PARAM_STRING, offsetof(DaughterListParams, status), 0, 0, 0 },
	{ "limit", PARAM_INT, offsetof(DaughterListParams, limit), 0, 1, 1000 },
	{}
};

static int add_daughter(const Daughter *d, void *userdata)
{
	json_object_array_add(userdata, daughter_to_json(d, true));
	return 0;
}

int method_daughter_list(Call *call, json_object *params, json_object **ret, RpcError *err)
{
	static const char *const states[] = { "spawning", "running", "exited", "failed", "expired", "killed" };
	DaughterListParams p;
	json_object *o, *array;
	bool known = false;
	int r;

	r = params_parse(daughter_list_params, params, "", &p, err);
	if (r < 0)
		return r;
	for (size_t i = 0; p.status && i < ELEMENTSOF(states); i++)
		known = known || streq(p.status, states[i]);
	if (p.status && !known)
		return rpc_error(err, RPC_INVALID_PARAMS,
				 "invalid params: status: unknown daughter status \"%.32s\" (expected spawning, running, "
				 "exited, failed, expired or killed)",
				 p.status);

	/* A submitter's filter is in the query, so the limit counts only its own. */
	array = json_object_new_array();
	r = store_daughter_list(call->m->store, NULL, p.status, call->admin ? (uid_t)-1 : call->caller->uid,
				p.limit == PARAM_INT_UNSET ? 100 : (unsigned)p.limit, add_daughter, array);
	if (r < 0) {
		json_object_put(array);
		return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(call->m->store));
	}
	o = json_object_new_object();
	json_object_object_add(o, "count", json_object_new_int((int)json_object_array_length(array)));
	json_object_object_add(o, "daughters", array);
	*ret = o;
	return 0;
}
