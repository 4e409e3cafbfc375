/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "params.h"

static const char *type_name(ParamType t)
{
	switch (t) {
	case PARAM_STRING:
		return "a string";
	case PARAM_INT:
		return "an integer";
	case PARAM_NUMBER:
		return "a number";
	case PARAM_BOOL:
		return "a boolean";
	case PARAM_OBJECT:
		return "an object";
	case PARAM_STRING_OR_ARRAY:
		return "a string or an array of strings";
	}
	return "?";
}

static void set_default(const ParamSpec *s, void *out)
{
	char *p = (char *)out + s->offset;

	switch (s->type) {
	case PARAM_STRING:
		*(const char **)p = NULL;
		break;
	case PARAM_INT:
		*(int64_t *)p = PARAM_INT_UNSET;
		break;
	case PARAM_NUMBER:
		*(double *)p = NAN;
		break;
	case PARAM_BOOL:
		*(int *)p = -1;
		break;
	case PARAM_OBJECT:
	case PARAM_STRING_OR_ARRAY:
		*(json_object **)p = NULL;
		break;
	}
}

static int parse_one(const ParamSpec *s, json_object *v, const char *prefix, void *out, RpcError *err)
{
	char *p = (char *)out + s->offset;
	enum json_type t = json_object_get_type(v);

#define BAD() rpc_error(err, RPC_INVALID_PARAMS, "invalid params: %s%s: expected %s", prefix, s->name, type_name(s->type))
	switch (s->type) {
	case PARAM_STRING:
		if (t != json_type_string)
			return BAD();
		/* C code downstream would silently cut the string at the NUL. */
		if (memchr(json_object_get_string(v), '\0', (size_t)json_object_get_string_len(v)))
			return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: %s%s: must not contain NUL characters",
					 prefix, s->name);
		if ((s->flags & PARAM_NONEMPTY) && json_object_get_string_len(v) == 0)
			return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: %s%s: must not be empty", prefix, s->name);
		if (s->max > 0 && json_object_get_string_len(v) > (int)s->max)
			return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: %s%s: longer than %.0f bytes", prefix,
					 s->name, s->max);
		*(const char **)p = json_object_get_string(v);
		return 0;
	case PARAM_INT: {
		if (t != json_type_int)
			return BAD();
		int64_t i = json_object_get_int64(v);
		/* json-c saturates what does not fit in 64 bits; the extremes also
		 * collide with PARAM_INT_UNSET, so refuse them. */
		if (i == INT64_MIN || json_object_get_uint64(v) > INT64_MAX)
			return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: %s%s: integer out of range", prefix, s->name);
		if (s->min < s->max && ((double)i < s->min || (double)i > s->max))
			return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: %s%s: must be between %.0f and %.0f", prefix,
					 s->name, s->min, s->max);
		*(int64_t *)p = i;
		return 0;
	}
	case PARAM_NUMBER: {
		if (t != json_type_int && t != json_type_double)
			return BAD();
		double d = json_object_get_double(v);
		if (!isfinite(d) || (s->min < s->max && (d < s->min || d > s->max)))
			return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: %s%s: must be between %g and %g", prefix,
					 s->name, s->min, s->max);
		*(double *)p = d;
		return 0;
	}
	case PARAM_BOOL:
		if (t != json_type_boolean)
			return BAD();
		*(int *)p = json_object_get_boolean(v);
		return 0;
	case PARAM_OBJECT:
		if (t != json_type_object)
			return BAD();
		*(json_object **)p = v;
		return 0;
	case PARAM_STRING_OR_ARRAY:
		if (t == json_type_array) {
			size_t n = json_object_array_length(v);
			for (size_t i = 0; i < n; i++)
				if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
					return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: %s%s[%zu]: expected a string",
							 prefix, s->name, i);
		} else if (t != json_type_string)
			return BAD();
		*(json_object **)p = v;
		return 0;
	}
#undef BAD
	return rpc_error(err, RPC_INTERNAL, "internal error: bad parameter table");
}

int params_parse(const ParamSpec *specs, json_object *params, const char *prefix, void *out, RpcError *err)
{
	const ParamSpec *s;
	int r;

	for (s = specs; s->name; s++)
		set_default(s, out);

	if (params) {
		if (!json_object_is_type(params, json_type_object))
			return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: %s must be an object",
					 *prefix ? prefix : "params");

		json_object_object_foreach(params, key, val)
		{
			for (s = specs; s->name; s++)
				if (streq(s->name, key))
					break;
			if (!s->name)
				return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: %s%.64s: unknown parameter", prefix,
						 key);
			/* null means "not given", as JSON clients often send it. */
			if (!val)
				continue;
			r = parse_one(s, val, prefix, out, err);
			if (r < 0)
				return r;
		}
	}

	for (s = specs; s->name; s++) {
		if (!(s->flags & PARAM_REQUIRED))
			continue;
		json_object *v = NULL;
		if (!params || !json_object_object_get_ex(params, s->name, &v) || !v)
			return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: %s%s: required", prefix, s->name);
	}
	return 0;
}

int param_order(const char *name, const char *value, bool *ret_desc, RpcError *err)
{
	if (!value || streq(value, "asc"))
		*ret_desc = false;
	else if (streq(value, "desc"))
		*ret_desc = true;
	else
		return rpc_error(err, RPC_INVALID_PARAMS,
				 "invalid params: %s: expected \"asc\" (oldest first) or \"desc\" (newest first)", name);
	return 0;
}

int param_timestamp(const char *name, const char *value, uint64_t *ret, RpcError *err)
{
	char buf[TIMESTAMP_MAX];

	if (!value)
		return 0;
	/* Seconds alone are as good: "...T10:00:00Z". */
	if (strlen(value) == 20 && value[19] == 'Z') {
		snprintf(buf, sizeof buf, "%.19s.000000Z", value);
		value = buf;
	}
	if (parse_timestamp(value, ret) < 0)
		return rpc_error(err, RPC_INVALID_PARAMS,
				 "invalid params: %s: expected an RFC 3339 UTC time such as 2026-12-01T10:00:00Z or "
				 "2026-12-01T10:00:00.000000Z",
				 name);
	return 0;
}
