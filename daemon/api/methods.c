/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "conn.h"
#include "core/manager.h"
#include "methods.h"
#include "params.h"

/* The whole API on one screen. Daughter methods arrive with the spawner. */
static const Method method_table[] = {
	{ "intent.submit", ROLE_SUBMITTER, method_intent_submit, submit_params },
	{ "result.get", ROLE_SUBMITTER, method_result_get, result_params },
	{ "task.list", ROLE_SUBMITTER, method_task_list, list_params },
	{ "task.get", ROLE_SUBMITTER, method_task_get, task_id_params },
	{ "task.resolve", ROLE_SUBMITTER, method_task_resolve, resolve_params },
	{ "task.rerun", ROLE_SUBMITTER, method_task_rerun, rerun_params },
	{ "task.cancel", ROLE_SUBMITTER, method_task_cancel, task_id_params },
	{ "daughter.list", ROLE_SUBMITTER, method_daughter_list, daughter_list_params },
	{ "daemon.status", ROLE_ANYONE, method_daemon_status, no_params, .without_store = true },
	{ "events.subscribe", ROLE_SUBMITTER, method_events_subscribe, subscribe_params },
	{ "audit.list", ROLE_ADMIN, method_audit_list, audit_params },
	{ "daemon.metrics", ROLE_ADMIN, method_daemon_metrics, no_params },
	{ "policy.reload", ROLE_ADMIN, method_policy_reload, no_params },
	{ "queue.pause", ROLE_ADMIN, method_queue_pause, pause_params },
	{ "queue.resume", ROLE_ADMIN, method_queue_resume, pause_params },
	{ "task.prune", ROLE_ADMIN, method_task_prune, prune_params },
	{ "task.logs", ROLE_SUBMITTER, method_task_logs, logs_params },
	/* A running daughter is not told of an outage: what it says is kept in its Hija. */
	{ "daughter.heartbeat", ROLE_DAUGHTER, method_daughter_heartbeat, heartbeat_params, .without_store = true },
	{ "daughter.report", ROLE_DAUGHTER, method_daughter_report, report_params, .without_store = true },
	{ "daughter.subtask", ROLE_DAUGHTER, method_daughter_subtask, subtask_params },
	{ "daughter.spawn", ROLE_ADMIN, method_daughter_spawn, spawn_params },
};

const Method *methods_table(size_t *ret_n)
{
	*ret_n = ELEMENTSOF(method_table);
	return method_table;
}

const Method *methods_find(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(method_table); i++)
		if (streq(method_table[i].name, name))
			return &method_table[i];
	return NULL;
}

static json_object *process_one(json_object *msg, methods_run_fn run, void *userdata, bool in_batch,
				bool *ret_deferred)
{
	RpcRequest req;
	RpcError err;
	json_object *id_for_error;

	if (rpc_validate_request(msg, &req, &id_for_error, &err) < 0)
		return rpc_make_error(id_for_error, &err);
	return run(userdata, &req, in_batch, ret_deferred);
}

json_object *methods_process_line(const char *line, size_t len, methods_run_fn run, void *userdata, size_t reply_budget,
				  bool *ret_deferred)
{
	_cleanup_json_ json_object *msg = NULL;
	json_object *replies;
	RpcError err;
	size_t n;

	*ret_deferred = false;
	if (rpc_parse_line(line, len, &msg, &err) < 0)
		return rpc_make_error(NULL, &err);

	if (!json_object_is_type(msg, json_type_array))
		return process_one(msg, run, userdata, false, ret_deferred);

	n = json_object_array_length(msg);
	if (n == 0) {
		rpc_error(&err, RPC_INVALID_REQUEST, "invalid request: empty batch");
		return rpc_make_error(NULL, &err);
	}
	/* Each request costs a reply: bound what one line can make us build. */
	if (n > METHODS_MAX_BATCH) {
		rpc_error(&err, RPC_INVALID_REQUEST, "invalid request: batch of %zu requests (the limit is %d)", n,
			  METHODS_MAX_BATCH);
		return rpc_make_error(NULL, &err);
	}
	replies = json_object_new_array_ext((int)n);
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		bool deferred = false;
		json_object *r, *e = json_object_array_get_idx(msg, i);

		/* One line may not make us build more than a connection may hold:
		 * the rest of the batch is refused, cheaply. */
		if (used > reply_budget) {
			json_object *id = NULL;
			if (!json_object_is_type(e, json_type_object) || !json_object_object_get_ex(e, "id", &id))
				continue; /* not answerable, or a notification */
			rpc_error(&err, RPC_BUSY, "batch replies exceed %zu bytes; send the rest again", reply_budget);
			json_object_array_add(replies, rpc_make_error(id, &err));
			continue;
		}
		r = process_one(e, run, userdata, true, &deferred);
		if (r) {
			size_t rlen;
			rpc_serialize(r, &rlen);
			used += rlen;
			json_object_array_add(replies, r);
		}
	}
	/* A batch of notifications only gets no reply at all. */
	if (json_object_array_length(replies) == 0) {
		json_object_put(replies);
		return NULL;
	}
	return replies;
}

/* The error reply, with what the handler added to its data. */
static json_object *make_error(json_object *id, const RpcError *err, json_object *extra)
{
	json_object *reply = rpc_make_error(id, err), *e, *data;

	if (!extra || !json_object_object_get_ex(reply, "error", &e) || !json_object_object_get_ex(e, "data", &data))
		return reply;
	json_object_object_foreach(extra, key, val)
		if (!streq(key, "name"))
			json_object_object_add(data, key, json_object_get(val));
	return reply;
}

static json_object *run_method(void *userdata, const RpcRequest *req, bool in_batch, bool *ret_deferred)
{
	Conn *c = userdata;
	Manager *m = c->manager;
	const Method *method;
	json_object *result = NULL;
	_cleanup_json_ json_object *error_data = NULL;
	RpcError err = { 0 };
	int r;

	/* Cut off earlier in this batch: nothing more may run for it. */
	if (c->dead)
		return NULL;
	method = methods_find(req->method);
	if (!method) {
		rpc_error(&err, RPC_NO_SUCH_METHOD, "no such method: %.64s", req->method);
		goto error;
	}

	Call call = {
		.m = m,
		.conn = c,
		.caller = &c->caller,
		.id = req->id,
		.may_defer = !in_batch && !req->is_notification,
		.admin = caller_is_admin(&c->caller, m->policy),
	};
	if (c->daughter_only && method->role != ROLE_DAUGHTER) {
		rpc_error(&err, RPC_PERMISSION_DENIED,
			  "permission denied: the daughter socket serves only daughter.heartbeat, daughter.report and "
			  "daughter.subtask");
		goto error;
	}
	if (method->role == ROLE_ADMIN && !call.admin) {
		rpc_error(&err, RPC_PERMISSION_DENIED, "permission denied: %s needs an administrator (uid 0 or group %s)",
			  method->name, m->policy->admin_group);
		goto error;
	}

	/* Refused before any side effect: nothing half done to withdraw later. */
	if (!method->without_store && !store_available(m->store)) {
		rpc_error_named(&err, RPC_BUSY, "vx11.StoreUnavailable", "%s; nothing was done: retry later",
				store_unavailable(m->store));
		goto error;
	}

	r = method->handler(&call, req->params, &result, &err);
	error_data = call.error_data;
	if (r == METHOD_DEFERRED) {
		/* Counted when parked: what it answers later is not seen here. */
		stats_request(&m->stats, method->name, 0);
		*ret_deferred = true;
		return NULL;
	}
	if (r < 0)
		goto error;
	stats_request(&m->stats, method->name, 0);
	if (req->is_notification) {
		json_object_put(result);
		return NULL;
	}
	return rpc_make_result(req->id, result);

error:
	if (!err.code)
		rpc_error(&err, RPC_INTERNAL, "internal error");
	/* The store went away under this request: its write failed, so nothing
	 * of it is done (or, inside an open group, the group's commit fails and
	 * this reply is withdrawn). Said as the outage it is, not as a bug. */
	if (err.code == RPC_INTERNAL && method && !store_available(m->store))
		rpc_error_named(&err, RPC_BUSY, "vx11.StoreUnavailable", "%s; nothing was done: retry later",
				store_unavailable(m->store));
	/* Only names of the table are labels: a client cannot add label values. */
	stats_request(&m->stats, method ? method->name : "unknown", err.code);
	if (req->is_notification)
		return NULL;
	return make_error(req->id, &err, error_data);
}

void methods_handle_line(Manager *m, Conn *c, const char *line, size_t len)
{
	bool deferred;
	size_t limit = m->policy->limits.max_output_bytes, n;
	_cleanup_json_ json_object *reply = methods_process_line(line, len, run_method, c, limit / 4, &deferred);

	if (!reply)
		return;
	/* A reply the connection could never hold gets an error instead, so
	 * the client learns why rather than seeing its connection cut. */
	/* Serialized once: the size check and the send share the text. */
	const char *text = rpc_serialize(reply, &n);
	if (n > limit / 2) {
		json_object *id = NULL;
		RpcError err;

		if (json_object_is_type(reply, json_type_object))
			json_object_object_get_ex(reply, "id", &id);
		rpc_error(&err, RPC_BUSY, "the reply would be %zu bytes, over half of limits.max_output_bytes (%zu); ask for less",
			  n, limit);
		json_object *e = rpc_make_error(id, &err);
		conn_send(c, e);
		json_object_put(e);
		return;
	}
	conn_send_text(c, text, n);
}

json_object *json_timestamp(uint64_t usec)
{
	char buf[TIMESTAMP_MAX];

	if (usec == 0)
		return NULL;
	return json_object_new_string(format_timestamp(buf, usec));
}
