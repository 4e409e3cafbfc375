/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json-strict.h"
#include "rpc.h"

/* Requests are shallow; json-c's own default (32) is more than they need. */
#define RPC_MAX_DEPTH 64

static const char *code_name(int code)
{
	switch (code) {
	case RPC_PARSE_ERROR:
		return "vx11.ParseError";
	case RPC_INVALID_REQUEST:
		return "vx11.InvalidRequest";
	case RPC_NO_SUCH_METHOD:
		return "vx11.NoSuchMethod";
	case RPC_INVALID_PARAMS:
		return "vx11.InvalidParams";
	case RPC_BUSY:
		return "vx11.Busy";
	default:
		return "vx11.Internal";
	}
}

_printf_(4, 0) static int rpc_verror(RpcError *e, int code, const char *name, const char *fmt, va_list ap)
{
	e->code = code;
	e->name = name ? name : code_name(code);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	/* Messages quote client text cut at a byte count, maybe mid-character. */
	utf8_scrub(e->message);
	return code;
}

int rpc_error(RpcError *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rpc_verror(e, code, NULL, fmt, ap);
	va_end(ap);
	return code;
}

int rpc_error_named(RpcError *e, int code, const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rpc_verror(e, code, name, fmt, ap);
	va_end(ap);
	return code;
}

int rpc_parse_line(const char *line, size_t len, json_object **ret, RpcError *err)
{
	JsonProblem problem;
	int r;

	r = json_parse_strict(line, len, RPC_MAX_DEPTH, false, ret, &problem);
	if (r == -ENOMEM)
		return rpc_error(err, RPC_INTERNAL, "out of memory");
	if (r < 0)
		return rpc_error(err, RPC_PARSE_ERROR, "parse error: %s at offset %zu", problem.message,
				 problem.offset);
	return 0;
}

static bool id_is_valid(json_object *id)
{
	/* JSON-RPC 2.0: a string, a number or null. */
	switch (json_object_get_type(id)) {
	case json_type_null:
	case json_type_string:
	case json_type_double:
		return true;
	case json_type_int:
		/* json-c saturates integers beyond 64 bits: such an id would come
		 * back changed and the client could not match its reply. */
		return json_object_get_int64(id) != INT64_MIN && json_object_get_uint64(id) != UINT64_MAX;
	default:
		return false;
	}
}

int rpc_validate_request(json_object *msg, RpcRequest *ret, json_object **ret_id_for_error, RpcError *err)
{
	json_object *v, *id = NULL;
	bool has_id;

	*ret_id_for_error = NULL;
	if (!json_object_is_type(msg, json_type_object))
		return rpc_error(err, RPC_INVALID_REQUEST, "invalid request: expected a JSON-RPC 2.0 request object");

	has_id = json_object_object_get_ex(msg, "id", &id);
	if (has_id) {
		if (!id_is_valid(id))
			return rpc_error(err, RPC_INVALID_REQUEST, "invalid request: id must be a string, a number or null");
		*ret_id_for_error = id;
	}
	if (!json_object_object_get_ex(msg, "jsonrpc", &v) || !json_object_is_type(v, json_type_string) ||
	    !streq(json_object_get_string(v), "2.0"))
		return rpc_error(err, RPC_INVALID_REQUEST, "invalid request: \"jsonrpc\" must be \"2.0\"");
	if (!json_object_object_get_ex(msg, "method", &v) || !json_object_is_type(v, json_type_string))
		return rpc_error(err, RPC_INVALID_REQUEST, "invalid request: \"method\" must be a string");
	ret->method = json_object_get_string(v);

	ret->params = NULL;
	if (json_object_object_get_ex(msg, "params", &v) && v) {
		if (json_object_is_type(v, json_type_array))
			return rpc_error(err, RPC_INVALID_PARAMS,
					 "invalid params: \"params\" must be an object (parameters are passed by name)");
		if (!json_object_is_type(v, json_type_object))
			return rpc_error(err, RPC_INVALID_REQUEST, "invalid request: \"params\" must be an object");
		ret->params = v;
	}

	json_object_object_foreach(msg, key, val)
	{
		(void)val;
		if (!streq(key, "jsonrpc") && !streq(key, "id") && !streq(key, "method") && !streq(key, "params"))
			return rpc_error(err, RPC_INVALID_REQUEST, "invalid request: unknown member \"%.64s\"", key);
	}

	ret->id = has_id ? id : NULL;
	ret->is_notification = !has_id;
	return 0;
}

json_object *rpc_make_result(json_object *id, json_object *result)
{
	_cleanup_json_ json_object *res = result;
	_cleanup_json_ json_object *o = json_object_new_object();

	if (!o || !res)
		return NULL;
	if (json_object_object_add(o, "jsonrpc", json_object_new_string("2.0")) < 0 ||
	    json_object_object_add(o, "id", json_object_get(id)) < 0 ||
	    json_object_object_add(o, "result", TAKE_PTR(res)) < 0)
		return NULL;
	return TAKE_PTR(o);
}

json_object *rpc_make_error(json_object *id, const RpcError *e)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	json_object *eo = json_object_new_object(), *data = json_object_new_object();

	if (!o || !eo || !data) {
		json_object_put(eo);
		json_object_put(data);
		return NULL;
	}
	json_object_object_add(data, "name", json_object_new_string(e->name ? e->name : code_name(e->code)));
	json_object_object_add(eo, "code", json_object_new_int(e->code));
	json_object_object_add(eo, "message", json_object_new_string(e->message));
	json_object_object_add(eo, "data", data);
	json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(o, "id", json_object_get(id));
	json_object_object_add(o, "error", eo);
	return TAKE_PTR(o);
}
