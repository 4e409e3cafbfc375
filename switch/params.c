/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <string.h>

#include "params.h"

static int invalid(RpcError *err, const char *name, const char *what)
{
	return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: \"%s\" %s", name, what);
}

static int parse_one(const ParamSpec *p, json_object *v, void *target, RpcError *err)
{
	char *field = (char *)target + p->offset;
	json_type t = json_object_get_type(v);

	switch (p->type) {
	case PARAM_STRING_OR_NULL:
		if (t == json_type_null) {
			*(const char **)field = NULL;
			return 0;
		}
		__attribute__((fallthrough));
	case PARAM_STRING:
		if (t != json_type_string)
			return invalid(err, p->name,
				       p->type == PARAM_STRING ? "must be a string" : "must be a string or null");
		if (p->nonempty && json_object_get_string_len(v) == 0)
			return invalid(err, p->name, "must not be empty");
		*(const char **)field = json_object_get_string(v);
		return 0;
	case PARAM_OBJECT_OR_NULL:
		if (t != json_type_null && t != json_type_object)
			return invalid(err, p->name, "must be an object or null");
		*(json_object **)field = v;
		return 0;
	case PARAM_ANY:
		*(json_object **)field = v;
		return 0;
	case PARAM_INT: {
		int64_t i = json_object_get_int64(v);
		if (t != json_type_int || i < p->min || i > p->max)
			return rpc_error(err, RPC_INVALID_PARAMS,
					 "invalid params: \"%s\" must be an integer between %" PRId64 " and %" PRId64,
					 p->name, p->min, p->max);
		*(int64_t *)field = i;
		return 0;
	}
	case PARAM_STRING_ARRAY: {
		size_t n = t == json_type_array ? json_object_array_length(v) : 0;
		if (t == json_type_null) {
			*(json_object **)field = NULL;
			return 0;
		}
		if (t != json_type_array)
			return invalid(err, p->name, "must be an array of strings or null");
		for (size_t i = 0; i < n; i++)
			if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
				return rpc_error(err, RPC_INVALID_PARAMS,
						 "invalid params: \"%s[%zu]\" must be a string", p->name, i);
		*(json_object **)field = v;
		return 0;
	}
	}
	return rpc_error(err, RPC_INTERNAL, "unknown param type");
}

int params_parse(json_object *params, const ParamSpec *specs, size_t n, void *target, RpcError *err)
{
	int r;

	if (params) {
		json_object_object_foreach(params, key, v)
		{
			const ParamSpec *p = NULL;
			for (size_t i = 0; i < n && !p; i++)
				if (streq(specs[i].name, key))
					p = &specs[i];
			if (!p)
				return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: unknown param \"%.64s\"", key);
			r = parse_one(p, v, target, err);
			if (r < 0)
				return r;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (specs[i].required && !(params && json_object_object_get_ex(params, specs[i].name, NULL)))
			return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: missing \"%s\"", specs[i].name);
	return 0;
}
