/* SPDX-License-Identifier: MIT */
/*
 * Method dispatch: one line in, replies out through conn_send(). The table
 * in methods.c names each method, the role it needs and its handler; the
 * handlers live in one file per family (method-intent.c, method-task.c,
 * method-daemon.c).
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "caller.h"
#include "params.h"
#include "rpc.h"

typedef struct Manager Manager;
typedef struct Conn Conn;

typedef struct Call {
	Manager *m;
	Conn *conn;           /* NULL in the fuzzer and unit tests */
	const Caller *caller;
	json_object *id;      /* the request id (borrowed), NULL for notifications */
	bool may_defer;       /* false inside a batch */
	bool admin;           /* caller_is_admin(), computed once per call */
	/* Set by a handler that fails: members added to the error's data beside
	 * its name (e.g. the correlation id a conflict is with); owned by the call. */
	json_object *error_data;
	/* task.rerun: the intent this one runs again ("rerun_of" in the reply). */
	const char *rerun_of;
} Call;

/* Returns 0 and sets *ret_result, METHOD_DEFERRED when the handler parked the
 * connection (it will answer later), or a negative RPC_* code with *err set. */
#define METHOD_DEFERRED 1
typedef int (*MethodHandler)(Call *call, json_object *params, json_object **ret_result, RpcError *err);

typedef enum Role {
	ROLE_ANYONE,
	ROLE_SUBMITTER, /* anyone who can open the socket */
	ROLE_ADMIN,
	ROLE_DAUGHTER, /* a live daughter, authenticated by its token (any socket) */
} Role;

typedef struct Method {
	const char *name;
	Role role;
	MethodHandler handler;
	const ParamSpec *params; /* the table the handler parses with (for the fuzzer) */
	bool without_store;      /* answers while the store is unavailable (else vx11.StoreUnavailable) */
} Method;

/* Every method's parameter table; the structs they fill fit in PARAMS_SCRATCH bytes. */
#define PARAMS_SCRATCH 256
extern const ParamSpec submit_params[], require_params[], result_params[], list_params[], task_id_params[], resolve_params[],
	rerun_params[],
	daughter_list_params[], no_params[], audit_params[], subscribe_params[], logs_params[], heartbeat_params[],
	report_params[], subtask_params[], spawn_params[], pause_params[], prune_params[];
const Method *methods_table(size_t *ret_n);

const Method *methods_find(const char *name);

#define METHODS_MAX_BATCH 1000

/* Handle one line from a client (a request, a notification or a batch). */
void methods_handle_line(Manager *m, Conn *c, const char *line, size_t len);

/*
 * The part before any method runs: parse the line and validate each request.
 * For every request that is valid, `run` is called; for invalid ones an error
 * reply is built. Once a batch's replies pass reply_budget bytes, its other
 * requests get -32004 instead of running. Returns the reply to send (NULL:
 * nothing to send). Shared by the daemon and the fuzzer.
 */
typedef json_object *(*methods_run_fn)(void *userdata, const RpcRequest *req, bool in_batch, bool *ret_deferred);
json_object *methods_process_line(const char *line, size_t len, methods_run_fn run, void *userdata, size_t reply_budget,
				  bool *ret_deferred);

/* The connection an intent's plan answers on is gone (conn_close()). */
void intent_plan_detach(void *plan_reply);
/* The task types the caller may submit, for daemon.status (task-types.c). */
json_object *task_types_json(const Call *call, const Policy *p);
/* The longest TTL a caller may ask of a task type. */
int64_t task_type_max_ttl(const PolicyTask *pt);

/* Handlers. */
int method_intent_submit(Call *call, json_object *params, json_object **ret, RpcError *err);
int method_result_get(Call *call, json_object *params, json_object **ret, RpcError *err);
int method_task_list(Call *call, json_object *params, json_object **ret, RpcError *err);
int method_task_get(Call *call, json_object *params, json_object **ret, RpcError *err);
int method_task_resolve(Call *call, json_object *params, json_object **ret, RpcError *err);
int method_task_rerun(Call *call, json_object *params, json_object **ret, RpcError *err);
int method_task_cancel(Call *call, json_object *params, json_object **ret, RpcError *err);
int method_daughter_list(Call *call, json_object *params, json_object **ret, RpcError *err);
int method_daemon_status(Call *call, json_object *params, json_object **ret, RpcError *err);
int method_audit_list(Call *call, json_object *params, json_object **ret, RpcError *err);
int method_daemon_metrics(Call *call, json_object *params, json_object **ret, RpcError *err);
int method_events_subscribe(Call *call, json_object *params, json_object **ret, RpcError *err);
int method_policy_reload(Call *call, json_object *params, json_object **ret, RpcError *err);
int method_task_logs(Call *call, json_object *params, json_object **ret, RpcError *err);
int method_daughter_heartbeat(Call *call, json_object *params, json_object **ret, RpcError *err);
int method_daughter_report(Call *call, json_object *params, json_object **ret, RpcError *err);
int method_daughter_subtask(Call *call, json_object *params, json_object **ret, RpcError *err);
int method_daughter_spawn(Call *call, json_object *params, json_object **ret, RpcError *err);
int method_queue_pause(Call *call, json_object *params, json_object **ret, RpcError *err);
int method_queue_resume(Call *call, json_object *params, json_object **ret, RpcError *err);
int method_task_prune(Call *call, json_object *params, json_object **ret, RpcError *err);

/* daemon.status "paused" and the pause replies: {"all": bool, "task_types": [...]}. */
json_object *paused_json(Manager *m);

/* Shared by handlers: a task / a timestamp / an intent in their wire form. */
json_object *json_timestamp(uint64_t usec); /* null for 0 */
struct Task;
json_object *task_to_json(const struct Task *t);
/* Load a task the caller may see: its own, or any for an admin. Someone
 * else's is "not found", not "forbidden", so ids leak nothing. */
int task_visible(Call *call, const char *task_id, struct Task *ret, RpcError *err);
/* result.get's reply for an intent, from the store; -ENOENT etc. */
int result_build(Manager *m, const char *correlation_id, json_object **ret);

