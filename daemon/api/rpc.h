/* SPDX-License-Identifier: MIT */
/*
 * JSON-RPC 2.0 envelopes: everything a client's bytes reach before a method
 * runs (parse, validate, build replies). No I/O here, so the fuzzer and the
 * unit tests drive exactly the code the daemon runs.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "json-util.h"
#include "util.h"

enum {
	RPC_PARSE_ERROR = -32700,
	RPC_INVALID_REQUEST = -32600,
	RPC_NO_SUCH_METHOD = -32601,
	RPC_INVALID_PARAMS = -32602,
	RPC_INTERNAL = -32603,
	RPC_PERMISSION_DENIED = -32001,
	RPC_NOT_FOUND = -32002,
	RPC_CONFLICT = -32003,
	RPC_BUSY = -32004,
};

typedef struct RpcError {
	int code;          /* one of the RPC_* codes, 0 = none */
	const char *name;  /* data.name, e.g. "vx11.NotFound" */
	char message[512];
} RpcError;

/* Fill *e and return e->code (a negative number), so handlers can
 * `return rpc_error(err, RPC_NOT_FOUND, "no task %s", id);`. */
int rpc_error(RpcError *e, int code, const char *fmt, ...) _printf_(3, 4);
/* Same with an explicit data.name (e.g. "vx11.LineTooLong"). */
int rpc_error_named(RpcError *e, int code, const char *name, const char *fmt, ...) _printf_(4, 5);
const char *rpc_code_to_name(int code);

/*
 * Parse one line as exactly one JSON value: UTF-8 validated, no NUL bytes,
 * nothing but white space after the value. line[len] must be '\0' (LineBuf
 * guarantees it). Returns 0 and a new reference, or fills *err.
 */
int rpc_parse_line(const char *line, size_t len, json_object **ret, RpcError *err);

typedef struct RpcRequest {
	json_object *id;     /* borrowed; NULL when the request is a notification */
	bool is_notification;
	const char *method;  /* borrowed */
	json_object *params; /* borrowed; NULL when absent or null */
} RpcRequest;

/*
 * Check a JSON-RPC 2.0 request object. On failure *err is filled and, if the
 * id could be read, *ret_id_for_error points at it (else NULL = reply with
 * id null).
 */
int rpc_validate_request(json_object *msg, RpcRequest *ret, json_object **ret_id_for_error, RpcError *err);

/* Reply builders; id may be NULL (serialized as null). Return new objects. */
json_object *rpc_make_result(json_object *id, json_object *result);
json_object *rpc_make_error(json_object *id, const RpcError *err);

/* Serialize compactly without escaping '/', for the wire (no newline). */
const char *rpc_serialize(json_object *o, size_t *ret_len);
