/* SPDX-License-Identifier: MIT */
/*
 * switch.plan is answered at once from the routes. switch.subtask starts its
 * provider and answers when the provider is over: the request becomes a Job
 * that remembers where its answer goes (connection, slot, index) until then.
 * A connection that closes first cuts its jobs loose and kills their
 * providers; each job still logs its line when its provider ends.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "methods.h"
#include "params.h"
#include "route.h"
#include "rpc.h"

struct Job {
	LIST_FIELDS(Job, jobs);
	Conn *conn; /* NULL once cut loose (or for a notification) */
	Slot *slot;
	size_t index;
	json_object *id;
	json_object *params; /* the request's params: for the log line */
	const char *subtask_type, *task_id, *daughter_id;
	char *provider;
	ProviderRun *run; /* NULL until started */
	uint64_t started_usec;
};

typedef struct SubtaskRequest {
	const char *task_id;
	const char *daughter_id;
	int64_t attempt;
	const char *subtask_type;
	json_object *payload;
} SubtaskRequest;

/* A param named as its field of T. */
#define PARAM(T, type_, field_, ...) \
	{ .name = #field_, .type = PARAM_##type_, .offset = offsetof(T, field_), __VA_ARGS__ }

static const ParamSpec plan_params[] = {
	PARAM(PlanRequest, STRING_OR_NULL, correlation_id),
	PARAM(PlanRequest, STRING, intent_type, .required = true, .nonempty = true),
	PARAM(PlanRequest, STRING_OR_NULL, text),
	PARAM(PlanRequest, OBJECT_OR_NULL, payload),
	PARAM(PlanRequest, INT, priority, .min = 0, .max = 3),
	PARAM(PlanRequest, STRING_OR_NULL, source),
	PARAM(PlanRequest, STRING_OR_NULL, task_type),
	PARAM(PlanRequest, STRING_ARRAY, task_types),
	PARAM(PlanRequest, INT, attempt, .min = 1, .max = INT32_MAX),
	PARAM(PlanRequest, INT, mutation_level, .min = 0, .max = INT32_MAX),
	PARAM(PlanRequest, STRING_OR_NULL, last_reason),
};

static const ParamSpec subtask_params[] = {
	PARAM(SubtaskRequest, STRING_OR_NULL, task_id),
	PARAM(SubtaskRequest, STRING_OR_NULL, daughter_id),
	PARAM(SubtaskRequest, INT, attempt, .min = 1, .max = INT32_MAX),
	PARAM(SubtaskRequest, STRING, subtask_type, .required = true, .nonempty = true),
	PARAM(SubtaskRequest, ANY, payload),
};

static void answer(Conn *c, Slot *slot, json_object *id, json_object *result)
{
	conn_answer(c, slot, slot_reserve(slot), rpc_make_result(id, result));
}

static void answer_error(Conn *c, Slot *slot, json_object *id, const RpcError *e)
{
	conn_answer(c, slot, slot_reserve(slot), rpc_make_error(id, e));
}

static void method_plan(Conn *c, Slot *slot, const RpcRequest *req)
{
	PlanRequest p = PLAN_REQUEST_INIT;
	char plan_id[ID_STRING_MAX], where[96], line[1024];
	const char *task_type;
	const Route *route;
	json_object *plan;
	ssize_t index;
	RpcError e;

	if (params_parse(req->params, plan_params, ELEMENTSOF(plan_params), &p, &e) < 0) {
		if (!req->is_notification)
			answer_error(c, slot, req->id, &e);
		return;
	}

	route = route_match(c->server->config, p.intent_type, p.text, &index);
	id_new_string(plan_id);
	plan = plan_build(route, &p, plan_id);

	if (index < 0)
		snprintf(where, sizeof(where), "the default route");
	else if (route->name)
		snprintf(where, sizeof(where), "route %zd (%.64s)", index, route->name);
	else
		snprintf(where, sizeof(where), "route %zd", index);
	task_type = route_reroutes(route, &p) ? route->task_type : NULL;
	snprintf(line, sizeof(line), "plan %s: intent_type %.128s by %s: provider %s, approach %s%s%.128s%s%.128s",
		 plan_id, p.intent_type, where, route->provider, route->approach, task_type ? ", task_type " : "",
		 task_type ?: "", p.correlation_id ? ", correlation_id " : "", p.correlation_id ?: "");
	log_event(LOG_INFO, line, "PLAN_ID", plan_id, "CORRELATION_ID", p.correlation_id, "INTENT_TYPE",
		  p.intent_type, "PROVIDER", route->provider, "APPROACH", route->approach, "TASK_TYPE", task_type, NULL);

	if (req->is_notification)
		json_object_put(plan);
	else
		answer(c, slot, req->id, plan);
}

static void job_free(Job *j)
{
	if (j->conn)
		LIST_REMOVE(jobs, j->conn->jobs, j);
	json_object_put(j->id);
	json_object_put(j->params);
	free(j->provider);
	free(j);
}

static void log_subtask(const char *subtask_type, const char *task_id, const char *daughter_id,
			const char *provider, json_object *result, uint64_t usec)
{
	const char *status = "error", *model = NULL, *error = NULL;
	int64_t cli = 0, local = 0;
	char line[1536];
	size_t l = 0;
	json_object *v;

	if (json_object_object_get_ex(result, "status", &v))
		status = json_object_get_string(v);
	if (json_object_object_get_ex(result, "model", &v))
		model = json_object_get_string(v);
	if (json_object_object_get_ex(result, "error", &v))
		error = json_object_get_string(v);
	if (json_object_object_get_ex(result, "tokens_used_cli", &v))
		cli = json_object_get_int64(v);
	if (json_object_object_get_ex(result, "tokens_used_local", &v))
		local = json_object_get_int64(v);

#define APPEND(...) l += (size_t)snprintf(line + MIN(l, sizeof(line)), sizeof(line) - MIN(l, sizeof(line)), __VA_ARGS__)
	APPEND("subtask %.128s: provider %s, %s", subtask_type, provider ?: "none", status);
	if (error)
		APPEND(": %s", error);
	else
		APPEND(", tokens %" PRId64 " cli %" PRId64 " local", cli, local);
	if (model)
		APPEND(", model %.128s", model);
	APPEND(", in %" PRIu64 " ms", usec / USEC_PER_MSEC);
	if (task_id)
		APPEND(", task_id %.64s", task_id);
	if (daughter_id)
		APPEND(", daughter_id %.64s", daughter_id);
#undef APPEND
	log_event(error ? LOG_WARNING : LOG_INFO, line, "SUBTASK_TYPE", subtask_type, "TASK_ID", task_id,
		  "DAUGHTER_ID", daughter_id, "PROVIDER", provider, "STATUS", status, "MODEL", model, "ERROR", error,
		  NULL);
}

static void job_done(json_object *result, void *userdata)
{
	Job *j = userdata;
	Conn *c = j->conn;
	Slot *slot = j->slot;
	size_t index = j->index;
	json_object *reply;

	if (!result) {
		/* The switch is stopping. */
		job_free(j);
		return;
	}
	log_subtask(j->subtask_type, j->task_id, j->daughter_id, j->provider, result,
		    now_monotonic_usec() - j->started_usec);
	reply = c ? rpc_make_result(j->id, result) : (json_object_put(result), NULL);
	job_free(j);
	/* Last: it may free the connection. */
	if (c)
		conn_answer(c, slot, index, reply);
}

static void method_subtask(Conn *c, Slot *slot, const RpcRequest *req)
{
	const SwitchConfig *cfg = c->server->config;
	SubtaskRequest p = { .attempt = -1 };
	const Provider *provider;
	json_object *error_result = NULL;
	_cleanup_free_ char *input = NULL;
	ssize_t rule;
	size_t len;
	RpcError e;
	Job *j;

	if (params_parse(req->params, subtask_params, ELEMENTSOF(subtask_params), &p, &e) < 0) {
		if (!req->is_notification)
			answer_error(c, slot, req->id, &e);
		return;
	}

	provider = subtask_provider(cfg, p.subtask_type, &rule);
	if (!provider) {
		json_object *res = subtask_error(NULL, "no provider for subtask_type \"%.128s\"", p.subtask_type);
		log_subtask(p.subtask_type, p.task_id, p.daughter_id, NULL, res, 0);
		if (req->is_notification)
			json_object_put(res);
		else
			answer(c, slot, req->id, res);
		return;
	}
	/* A limit of the switch, not a failure of the provider: the caller may retry. */
	if (provider_pool_running(c->server->pool) >= cfg->limits.max_subtasks) {
		rpc_error(&e, RPC_BUSY, "busy: %u sub-tasks are running (limits.max_subtasks)", cfg->limits.max_subtasks);
		if (!req->is_notification)
			answer_error(c, slot, req->id, &e);
		log_warning("subtask %.128s refused: %u sub-tasks are running", p.subtask_type, cfg->limits.max_subtasks);
		return;
	}

	/* The provider reads the params, as they came, on one line. */
	{
		const char *text = json_object_to_json_string_length(
			req->params, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
		if (!text || asprintf(&input, "%s\n", text) < 0) {
			input = NULL;
			rpc_error(&e, RPC_INTERNAL, "out of memory");
			if (!req->is_notification)
				answer_error(c, slot, req->id, &e);
			return;
		}
		len++;
	}

	j = calloc(1, sizeof(*j));
	if (!j || !(j->provider = strdup(provider->name))) {
		free(j);
		rpc_error(&e, RPC_INTERNAL, "out of memory");
		if (!req->is_notification)
			answer_error(c, slot, req->id, &e);
		return;
	}
	/* The strings of p live in params, which the job keeps. */
	j->params = json_object_get(req->params);
	j->subtask_type = p.subtask_type;
	j->task_id = p.task_id;
	j->daughter_id = p.daughter_id;
	j->started_usec = now_monotonic_usec();
	if (!req->is_notification) {
		j->conn = c;
		j->slot = slot;
		j->index = slot_reserve(slot);
		j->id = json_object_get(req->id);
		LIST_PREPEND(jobs, c->jobs, j);
	}

	ProviderRun *run;
	if (provider_run(c->server->pool, provider, cfg->limits.max_output_bytes, input, len, job_done, j, &run,
			 &error_result) < 0)
		job_done(error_result ?: subtask_error(provider->name, "cannot start"), j);
	else
		j->run = run;
}

static void method_health(Conn *c, Slot *slot, const RpcRequest *req)
{
	json_object *o;
	RpcError e;

	if (req->params && json_object_object_length(req->params) > 0) {
		json_object_object_foreach(req->params, key, v)
		{
			(void)v;
			rpc_error(&e, RPC_INVALID_PARAMS, "invalid params: unknown param \"%.64s\"", key);
			break;
		}
		if (!req->is_notification)
			answer_error(c, slot, req->id, &e);
		return;
	}
	if (req->is_notification)
		return;
	o = json_object_new_object();
	if (o && json_object_object_add(o, "status", json_object_new_string("ok")) < 0)
		o = NULL;
	answer(c, slot, req->id, o);
}

static const struct {
	const char *name;
	void (*handler)(Conn *c, Slot *slot, const RpcRequest *req);
} methods[] = {
	{ "switch.plan", method_plan },
	{ "switch.subtask", method_subtask },
	{ "switch.health", method_health },
};

void methods_handle(Conn *c, Slot *slot, json_object *msg)
{
	json_object *id_for_error;
	RpcRequest req;
	RpcError e;

	if (rpc_validate_request(msg, &req, &id_for_error, &e) < 0) {
		/* Not a request: whether it meant to be a notification is unknown, answer. */
		answer_error(c, slot, id_for_error, &e);
		return;
	}
	for (size_t i = 0; i < ELEMENTSOF(methods); i++)
		if (streq(methods[i].name, req.method)) {
			methods[i].handler(c, slot, &req);
			return;
		}
	rpc_error(&e, RPC_NO_SUCH_METHOD, "no such method \"%.64s\" (the switch serves switch.plan, switch.subtask, "
		  "switch.health)", req.method);
	if (!req.is_notification)
		answer_error(c, slot, req.id, &e);
}

void methods_conn_closed(Conn *c)
{
	while (c->jobs) {
		Job *j = c->jobs;
		LIST_REMOVE(jobs, c->jobs, j);
		j->conn = NULL;
		j->slot = NULL;
		if (j->run)
			provider_run_cancel(j->run);
	}
}
