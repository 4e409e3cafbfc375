/* SPDX-License-Identifier: MIT */
/*
 * JSON-RPC 2.0 envelopes as vx11-protocol(7) has them, on the switch's
 * socket: the error codes and their data.name, the request object's checks,
 * result and error replies.
 */
#pragma once

#include <stdbool.h>

#include "json-util.h"

enum {
	RPC_PARSE_ERROR = -32700,
	RPC_INVALID_REQUEST = -32600,
	RPC_NO_SUCH_METHOD = -32601,
	RPC_INVALID_PARAMS = -32602,
	RPC_INTERNAL = -32603,
	RPC_BUSY = -32004,
};

typedef struct RpcError {
	int code;
	const char *name; /* data.name; NULL: the code's own */
	char message[512];
} RpcError;

typedef struct RpcRequest {
	const char *method;
	json_object *params; /* an object, or NULL when absent or null */
	json_object *id;     /* borrowed from the message; NULL for a notification */
	bool is_notification;
} RpcRequest;

/* Fill e; returns code so a caller can `return rpc_error(...)`. */
int rpc_error(RpcError *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int rpc_error_named(RpcError *e, int code, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* One line to a JSON value (which may be NULL, for "null"): -32700 on text that is not JSON. */
int rpc_parse_line(const char *line, size_t len, json_object **ret, RpcError *err);

/*
 * Check one request object. On failure, *ret_id_for_error is the id to
 * answer with (the request's when it has a valid one, else NULL = null).
 */
int rpc_validate_request(json_object *msg, RpcRequest *ret, json_object **ret_id_for_error, RpcError *err);

/* Replies; both take ownership of result, neither of id. NULL when out of memory. */
json_object *rpc_make_result(json_object *id, json_object *result);
json_object *rpc_make_error(json_object *id, const RpcError *e);
