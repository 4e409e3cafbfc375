/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rpc.h"

const char *rpc_code_to_name(int code)
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
	case RPC_PERMISSION_DENIED:
		return "vx11.PermissionDenied";
	case RPC_NOT_FOUND:
		return "vx11.NotFound";
	case RPC_CONFLICT:
		return "vx11.Conflict";
	case RPC_BUSY:
		return "vx11.Busy";
	default:
		return "vx11.Internal";
	}
}

_printf_(4, 0) static int rpc_verror(RpcError *e, int code, const char *name, const char *fmt, va_list ap)
{
	e->code = code;
	e->name = name ? name : rpc_code_to_name(code);
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

/*
 * json-c accepts, even in strict mode, a few things that are not JSON:
 * single-quoted keys, NaN and Infinity, raw control characters in strings.
 * One pass over text json-c already accepted finds them.
 */
/* The value of 4 hex digits, or 0 (not a surrogate) when they are not. */
static unsigned hex4(const char *s)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return 0;
		v = v * 16 + (unsigned)d;
	}
	return v;
}

static const char *not_json(const char *s, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (in_string) {
			if (c == '\\') {
				/* json-c would cut keys and C strings at a decoded NUL. */
				if (len - i > 5 && memcmp(s + i + 1, "u0000", 5) == 0)
					return "\\u0000 is not allowed in a string";
				/* A lone surrogate escape would decode to bytes that are
				 * not UTF-8: a high one must be followed by a low one. */
				unsigned hi = len - i > 5 && s[i + 1] == 'u' ? hex4(s + i + 2) : 0;
				if (hi >= 0xdc00 && hi <= 0xdfff)
					return "a lone low surrogate escape is not a character";
				if (hi >= 0xd800 && hi <= 0xdbff) {
					unsigned lo = len - i > 11 && s[i + 6] == '\\' && s[i + 7] == 'u' ? hex4(s + i + 8) : 0;
					if (lo < 0xdc00 || lo > 0xdfff)
						return "a lone high surrogate escape is not a character";
					i += 6;
				}
				i++;
			}
			else if (c == '"')
				in_string = false;
			else if (c < 0x20)
				return "control character in a string (escape it)";
		} else if (c == '"')
			in_string = true;
		else if (c == '\'')
			return "single quotes are not JSON";
		else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			/* Outside strings only true, false, null and exponents have letters. */
			if (!strchr("truefalsnE", c))
				return "not a JSON value (NaN and Infinity are not JSON)";
		}
	}
	return NULL;
}

int rpc_parse_line(const char *line, size_t len, json_object **ret, RpcError *err)
{
	const char *why;
	json_object *o;
	enum json_tokener_error jerr;
	size_t used;

	/* json-c would stop at a NUL and call the rest trailing garbage; say it plainly. */
	if (memchr(line, '\0', len))
		return rpc_error(err, RPC_PARSE_ERROR, "parse error: NUL byte in message");
	/* json-c's own check lets overlong forms and encoded surrogates through,
	 * which would be stored and sent back: every byte is checked here. */
	ssize_t bad = utf8_invalid_at(line, len);
	if (bad >= 0)
		return rpc_error(err, RPC_PARSE_ERROR, "parse error: invalid UTF-8 at offset %zd", bad);

	/* One tokener for every line, reset each time instead of made and freed:
	 * lines are parsed on the event loop only, one at a time. */
	static json_tokener *tok;
	if (!tok) {
		tok = json_tokener_new_ex(64);
		if (!tok)
			return rpc_error(err, RPC_INTERNAL, "out of memory");
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	}
	json_tokener_reset(tok);
	/* len + 1 hands json-c the terminating NUL, so that a bare number at the
	 * end of the line is complete rather than "continue". */
	o = json_tokener_parse_ex(tok, line, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);

	/* A JSON null parses to NULL with success: valid JSON, an invalid request. */
	if (jerr != json_tokener_success) {
		json_object_put(o);
		if (jerr == json_tokener_continue)
			return rpc_error(err, RPC_PARSE_ERROR, "parse error: incomplete JSON value");
		return rpc_error(err, RPC_PARSE_ERROR, "parse error: %s at offset %zu", json_tokener_error_desc(jerr),
				 used);
	}
	why = not_json(line, len);
	if (why) {
		json_object_put(o);
		return rpc_error(err, RPC_PARSE_ERROR, "parse error: %s", why);
	}
	for (size_t i = used; i < len; i++)
		if (!strchr(" \t\r", line[i])) {
			json_object_put(o);
			return rpc_error(err, RPC_PARSE_ERROR, "parse error: trailing data after the JSON value at offset %zu",
					 i);
		}
	*ret = o;
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
		/* json-c saturates integers beyond 64 bits; such an id would come
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
	    strcmp(json_object_get_string(v), "2.0") != 0)
		return rpc_error(err, RPC_INVALID_REQUEST, "invalid request: \"jsonrpc\" must be \"2.0\"");

	if (!json_object_object_get_ex(msg, "method", &v) || !json_object_is_type(v, json_type_string))
		return rpc_error(err, RPC_INVALID_REQUEST, "invalid request: \"method\" must be a string");
	ret->method = json_object_get_string(v);

	ret->params = NULL;
	if (json_object_object_get_ex(msg, "params", &v) && v) {
		/* JSON-RPC allows only a structured value here; an array (by
		 * position) is valid JSON-RPC, but every method takes names. */
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
	json_object *o = json_object_new_object();

	json_add_new(o, "jsonrpc", json_object_new_string("2.0"));
	json_add_new(o, "id", json_object_get(id));
	json_add_new(o, "result", result ? result : json_object_new_object());
	return o;
}

json_object *rpc_make_error(json_object *id, const RpcError *e)
{
	json_object *o = json_object_new_object(), *eo = json_object_new_object(), *data = json_object_new_object();

	json_add_new(data, "name", json_object_new_string(e->name ? e->name : rpc_code_to_name(e->code)));
	json_add_new(eo, "code", json_object_new_int(e->code));
	json_add_new(eo, "message", json_object_new_string(e->message));
	json_add_new(eo, "data", data);
	json_add_new(o, "jsonrpc", json_object_new_string("2.0"));
	json_add_new(o, "id", json_object_get(id));
	json_add_new(o, "error", eo);
	return o;
}

const char *rpc_serialize(json_object *o, size_t *ret_len)
{
	return json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, ret_len);
}
