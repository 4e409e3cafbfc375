/* SPDX-License-Identifier: MIT */
/* daemon.status, audit.list, events.subscribe and policy.reload. */
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

#include "conn.h"
#include "core/manager.h"
#include "run/runner.h"
#include "methods.h"
#include "params.h"
#include "server.h"

const ParamSpec no_params[] = { {} };

static json_object *seccomp_json(void)
{
	const struct scmp_version *v = seccomp_version();
	json_object *o = json_object_new_object();
	char buf[32];
	unsigned api = seccomp_api_get();

	snprintf(buf, sizeof(buf), "%u.%u.%u", v->major, v->minor, v->micro);
	/* API level 0 means the kernel has no usable seccomp filter support. */
	json_object_object_add(o, "available", json_object_new_boolean(api >= 1));
	json_object_object_add(o, "api_level", json_object_new_int((int)api));
	json_object_object_add(o, "libseccomp", json_object_new_string(buf));
	return o;
}

static int add_node(const StoreNode *n, void *userdata)
{
	json_object *a = userdata, *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(n->name));
	json_object_object_add(o, "state", json_object_new_string(n->state));
	json_object_object_add(o, "alive", json_object_new_boolean(streq(n->state, "up") && n->lease_ok));
	json_object_object_add(o, "lease_until", json_object_new_int64((int64_t)n->lease_until));
	json_object_object_add(o, "lease_ok", json_object_new_boolean(n->lease_ok));
	json_object_object_add(o, "renewed_at", json_object_new_int64((int64_t)n->renewed_at));
	json_object_object_add(o, "started_at", json_object_new_int64((int64_t)n->started_at));
	json_object_object_add(o, "incarnation", json_object_new_int64(n->incarnation));
	json_object_object_add(o, "running", json_object_new_int64(n->running));
	json_object_object_add(o, "max_running", json_object_new_int64(n->max_running));
	json_object_object_add(o, "host", json_object_new_string(n->host));
	json_object_object_add(o, "pid", json_object_new_int64(n->pid));
	json_object_object_add(o, "version", json_object_new_string(n->version));
	json_object_object_add(o, "swept_by", n->swept_by ? json_object_new_string(n->swept_by) : NULL);
	json_object_array_add(a, o);
	return 0;
}

/* The fleet's view, from the database (FLEET-DESIGN.md 5.5); the top-level
 * queue_depth and counts stay this node's. A read that fails says why. */
static json_object *fleet_json(Manager *m)
{
	json_object *o = json_object_new_object(), *counts = json_object_new_object(), *nodes = json_object_new_array();
	uint64_t depth = 0, by_status[_TASK_STATUS_MAX] = {};
	int k;

	k = store_fleet_queue_depth(m->store, &depth);
	if (k >= 0)
		k = store_task_count_by_status(m->store, by_status);
	if (k >= 0)
		k = store_fleet_nodes(m->store, add_node, nodes);
	if (k < 0) {
		json_object_put(counts);
		json_object_put(nodes);
		json_object_object_add(o, "error", json_object_new_string(store_last_error(m->store)));
		return o;
	}
	for (int i = 0; i < _TASK_STATUS_MAX; i++)
		json_object_object_add(counts, task_status_to_string((TaskStatus)i), json_object_new_int64((int64_t)by_status[i]));
	json_object_object_add(o, "queue_depth", json_object_new_int64((int64_t)depth));
	json_object_object_add(o, "counts", counts);
	json_object_object_add(o, "nodes", nodes);
	return o;
}

int method_daemon_status(Call *call, json_object *params, json_object **ret, RpcError *err)
{
	Manager *m = call->m;
	json_object *o, *counts, *cg;
	int r;

	r = params_parse(no_params, params, "", &(char){ 0 }, err);
	if (r < 0)
		return r;

	counts = json_object_new_object();
	for (int s = 0; s < _TASK_STATUS_MAX; s++)
		json_object_object_add(counts, task_status_to_string(s), json_object_new_int64((int64_t)m->task_counts[s]));

	cg = json_object_new_object();
	json_object_object_add(cg, "mode", json_object_new_string(cgroup_mode_to_string(m->cgroup.mode)));
	json_object_object_add(cg, "unified_root", m->cgroup.unified_root[0] ? json_object_new_string(m->cgroup.unified_root) : NULL);
	json_object_object_add(cg, "own_path", m->cgroup.own_path ? json_object_new_string(m->cgroup.own_path) : NULL);
	json_object_object_add(cg, "controllers", json_object_new_string(m->cgroup.controllers));
	const CgroupManager *jobs = runner_cgroups(m->runner);
	if (jobs) {
		_cleanup_free_ char *features = cgroup_features_to_string(cgroup_manager_features(jobs));
		json_object_object_add(cg, "job_root", json_object_new_string(cgroup_manager_root(jobs)));
		json_object_object_add(cg, "job_features", features ? json_object_new_string(features) : NULL);
	}
	json_object_object_add(cg, "problem", *runner_problem(m->runner) ? json_object_new_string(runner_problem(m->runner)) : NULL);

	o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(o, "pid", json_object_new_int((int)getpid()));
	json_object_object_add(o, "instance", json_object_new_string(m->instance));
	json_object_object_add(o, "node", json_object_new_string(m->node));
	json_object_object_add(o, "state_dir", json_object_new_string(m->state_dir));
	json_object_object_add(o, "runtime_dir", json_object_new_string(m->runtime_dir));
	json_object_object_add(o, "uptime_seconds",
			       json_object_new_int64((int64_t)((now_monotonic_usec() - m->start_monotonic) / USEC_PER_SEC)));
	json_object_object_add(o, "policy_mode",
			       json_object_new_string(m->policy->mode == POLICY_MODE_SWITCH ? "switch" : "solo_madre"));
	json_object_object_add(o, "policy", json_object_new_string(m->policy->origin));
	json_object_object_add(o, "switch", manager_switch_status(m));
	json_object_object_add(o, "cgroup", cg);
	json_object_object_add(o, "seccomp", seccomp_json());
	json_object_object_add(o, "counts", counts);
	json_object *sp = json_object_new_object();
	const char *why = runner_spawn_problem(m->runner);
	json_object_object_add(sp, "available", json_object_new_boolean(!*why));
	json_object_object_add(sp, "problem", *why ? json_object_new_string(why) : NULL);
	SpawnerStats st;
	runner_spawner_stats(m->runner, &st);
	json_object_object_add(sp, "zygote", json_object_new_boolean(st.zygote));
	json_object_object_add(sp, "zygotes", json_object_new_int64((int64_t)st.zygotes));
	json_object_object_add(sp, "zygote_starts", json_object_new_int64((int64_t)st.zygote_starts));
	json_object_object_add(sp, "zygote_spawns", json_object_new_int64((int64_t)st.zygote_spawns));
	json_object_object_add(sp, "direct_spawns", json_object_new_int64((int64_t)st.direct_spawns));
	json_object_object_add(o, "spawner", sp);
	json_object_object_add(o, "daughters_running", json_object_new_int64((int64_t)runner_running(m->runner)));
	json_object_object_add(o, "retry_depth", json_object_new_int64((int64_t)queue_size(m->retry_queue)));
	json_object_object_add(o, "queue_depth", json_object_new_int64((int64_t)queue_size(m->queue)));
	json_object_object_add(o, "paused", paused_json(m));
	json_object_object_add(o, "connections", json_object_new_int64(call->conn ? (int64_t)call->conn->server->n_conns : 0));
	json_object_object_add(o, "intents_total", json_object_new_int64((int64_t)m->intents_total));
	StoreStats ss;
	store_stats(m->store, &ss);
	json_object *so = json_object_new_object();
	json_object_object_add(so, "backend", json_object_new_string(store_backend_name(m->store)));
	json_object_object_add(so, "database", json_object_new_string(m->db_shown));
	json_object_object_add(so, "commits", json_object_new_int64((int64_t)ss.commits));
	json_object_object_add(so, "durable_commits", json_object_new_int64((int64_t)ss.durable_commits));
	json_object_object_add(so, "rows_written", json_object_new_int64((int64_t)ss.rows_written));
	json_object_object_add(so, "btree_writes", json_object_new_int64((int64_t)ss.btree_writes));
	json_object_object_add(so, "available", json_object_new_boolean(store_available(m->store)));
	json_object_object_add(so, "last_error",
			       store_available(m->store) ? NULL : json_object_new_string(store_unavailable(m->store)));
	json_object_object_add(so, "reconnects", json_object_new_int64((int64_t)ss.reconnects));
	runner_lease_json(m->runner, so);
	json_object_object_add(o, "store", so);
	if (store_is_fleet(m->store))
		json_object_object_add(o, "fleet", fleet_json(m));
	json_object_object_add(o, "journal", json_object_new_boolean(log_to_journal()));
	json_object_object_add(o, "task_types", task_types_json(call, m->policy));
	*ret = o;
	return 0;
}

/* The text, in a JSON string: the socket speaks JSON-RPC only. A scraper
 * that wants the bare text reads vx11ctl metrics or --metrics-socket. */
int method_daemon_metrics(Call *call, json_object *params, json_object **ret, RpcError *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	json_object *o;
	int r;

	r = params_parse(no_params, params, "", &(char){ 0 }, err);
	if (r < 0)
		return r;
	r = manager_metrics_text(call->m, &text, &len);
	if (r == -ENOMEM)
		return rpc_error(err, RPC_INTERNAL, "internal error: out of memory");
	if (r < 0)
		return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(call->m->store));
	o = json_object_new_object();
	json_object_object_add(o, "content_type", json_object_new_string(METRICS_CONTENT_TYPE));
	json_object_object_add(o, "text", json_object_new_string_len(text, (int)len));
	*ret = o;
	return 0;
}

typedef struct AuditParams {
	int64_t limit;
	const char *after;
	const char *order;
	int total;
} AuditParams;

const ParamSpec audit_params[] = {
	{ "limit", PARAM_INT, offsetof(AuditParams, limit), 0, 1, 1000 },
	{ "after", PARAM_STRING, offsetof(AuditParams, after), 0, 0, 64 },
	{ "order", PARAM_STRING, offsetof(AuditParams, order), 0, 0, 0 },
	{ "total", PARAM_BOOL, offsetof(AuditParams, total), 0, 0, 0 },
	{}
};

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

typedef struct AuditPage {
	json_object *array;
	size_t bytes;
} AuditPage;

static int add_entry(const IntentRecord *r, void *userdata)
{
	json_object *o = json_object_new_object();

	add_str(o, "correlation_id", r->correlation_id);
	json_object_object_add(o, "created_at", json_timestamp(r->created_at));
	json_object_object_add(o, "uid", json_object_new_int64(r->uid));
	json_object_object_add(o, "gid", json_object_new_int64(r->gid));
	json_object_object_add(o, "pid", json_object_new_int64(r->pid));
	add_str(o, "source", r->source);
	add_str(o, "intent_type", r->intent_type);
	json_object_object_add(o, "priority", json_object_new_int(r->priority));
	json_object_object_add(o, "require_switch", json_object_new_boolean(r->require_switch));
	json_object_object_add(o, "require_spawner", json_object_new_boolean(r->require_spawner));
	add_str(o, "status", r->status);
	add_str(o, "mode", r->mode);
	add_str(o, "provider", r->provider);
	add_str(o, "error", r->error);
	add_str(o, "task_id", r->task_id);
	json_object_object_add(o, "payload", r->payload_json ? json_tokener_parse(r->payload_json) : NULL);
	json_object_object_add(o, "processed_at", json_timestamp(r->processed_at));
	add_str(o, "result_status", r->result_status);
	add_str(o, "notes", r->notes);
	/* The command line a caller gave ("command": "caller" types), as it was asked. */
	json_object_object_add(o, "command", r->command_json ? json_tokener_parse(r->command_json) : NULL);
	AuditPage *page = userdata;
	size_t len;
	rpc_serialize(o, &len);
	json_object_array_add(page->array, o);
	page->bytes += len;
	/* Entries are small; keep a page under 1 MiB all the same. */
	return page->bytes > 1024 * 1024;
}

int method_audit_list(Call *call, json_object *params, json_object **ret, RpcError *err)
{
	AuditParams p;
	IntentFilter f = { .uid = (uid_t)-1 };
	json_object *entries, *o;
	uint64_t total = 0;
	int r;

	r = params_parse(audit_params, params, "", &p, err);
	if (r < 0)
		return r;
	r = param_order("order", p.order, &f.desc, err);
	if (r < 0)
		return r;
	f.after = p.after;
	f.limit = p.limit == PARAM_INT_UNSET ? 100 : (unsigned)p.limit;
	if (p.total == 1 && store_intent_count(call->m->store, &total) < 0)
		return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(call->m->store));
	AuditPage page = { .array = json_object_new_array() };
	entries = page.array;
	r = store_intent_list(call->m->store, &f, add_entry, &page);
	if (r < 0) {
		json_object_put(entries);
		return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(call->m->store));
	}
	o = json_object_new_object();
	json_object_object_add(o, "count", json_object_new_int((int)json_object_array_length(entries)));
	if (p.total == 1)
		json_object_object_add(o, "total", json_object_new_int64((int64_t)total));
	json_object_object_add(o, "entries", entries);
	*ret = o;
	return 0;
}

typedef struct SubscribeParams {
	const char *task_id;
} SubscribeParams;

const ParamSpec subscribe_params[] = {
	{ "task_id", PARAM_STRING, offsetof(SubscribeParams, task_id), 0, 0, 64 },
	{}
};

int method_events_subscribe(Call *call, json_object *params, json_object **ret, RpcError *err)
{
	Manager *m = call->m;
	Conn *c = call->conn;
	SubscribeParams p;
	json_object *o;
	int r;

	r = params_parse(subscribe_params, params, "", &p, err);
	if (r < 0)
		return r;
	if (p.task_id) {
		Task t;
		r = store_task_get(m->store, p.task_id, &t);
		if (r == 0 && !caller_may_see(call->caller, m->policy, t.uid))
			r = -ENOENT;
		if (r == 0)
			task_done(&t);
		if (r == -ENOENT)
			return rpc_error(err, RPC_NOT_FOUND, "no such task: %.64s", p.task_id);
		if (r < 0)
			return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(m->store));
	}
	if (!c)
		return rpc_error(err, RPC_INTERNAL, "internal error: no connection to subscribe");

	snprintf(c->sub_task_id, sizeof(c->sub_task_id), "%s", p.task_id ? p.task_id : "");
	if (!c->subscribed) {
		LIST_PREPEND(subscribers, c->server->subscribers, c);
		c->subscribed = true;
	}
	o = json_object_new_object();
	json_object_object_add(o, "subscribed", json_object_new_boolean(true));
	*ret = o;
	return 0;
}

/* The key path a policy error names ("tasks.x.limits.memory_max: expected
 * ..."), or NULL: the file itself (missing, unreadable) or its syntax
 * ("line 3, column 7: ...") is the problem. */
static char *policy_error_key(const char *error, const char *file)
{
	const char *colon = error ? strstr(error, ": ") : NULL;

	if (!colon || colon == error || (file && strncmp(error, file, strlen(file)) == 0 && error + strlen(file) == colon))
		return NULL;
	for (const char *c = error; c < colon; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.[]", *c))
			return NULL;
	return strndup(error, (size_t)(colon - error));
}

/*
 * What the operator must fix is the policy, not the request nor the daemon:
 * -32602 vx11.InvalidPolicy, also for a file gone or unreadable (the reload
 * is refused the same way and the fix is the same: the file). data says where:
 * "policy" (the file) and, when the error names one, "key" (its key path).
 */
static int invalid_policy(Call *call, const char *file, const char *error, RpcError *err)
{
	_cleanup_free_ char *key = policy_error_key(error, file);

	call->error_data = json_object_new_object();
	json_object_object_add(call->error_data, "policy", json_object_new_string(file ?: "(bundled)"));
	if (key)
		json_object_object_add(call->error_data, "key", json_object_new_string(key));
	return rpc_error_named(err, RPC_INVALID_PARAMS, "vx11.InvalidPolicy",
			       "policy not reloaded, the previous one stays: %s", error ?: "invalid policy");
}

int method_policy_reload(Call *call, json_object *params, json_object **ret, RpcError *err)
{
	Manager *m = call->m;
	_cleanup_free_ char *error = NULL;
	json_object *o;
	int r;

	r = params_parse(no_params, params, "", &(char){ 0 }, err);
	if (r < 0)
		return r;
	r = manager_reload_policy(m, &error);
	if (r == -ENOMEM)
		return rpc_error(err, RPC_INTERNAL, "policy not reloaded, the previous one stays: out of memory");
	if (r < 0)
		return invalid_policy(call, m->policy_path, error, err);
	o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string("reloaded"));
	json_object_object_add(o, "policy", json_object_new_string(m->policy->origin));
	json_object_object_add(o, "switch", manager_switch_status(m));
	json_object_object_add(o, "mode", json_object_new_string(m->policy->mode == POLICY_MODE_SWITCH ? "switch" : "solo_madre"));
	json_object_object_add(o, "tasks", json_object_new_int((int)m->policy->n_tasks));
	*ret = o;
	return 0;
}
