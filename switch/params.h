/* SPDX-License-Identifier: MIT */
/*
 * Request params by table: each known name with its JSON type, range and
 * where it goes in a struct. Unknown names are refused (a typo never passes
 * silently), and every refusal names the param, for a -32602 reply.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json-util.h"
#include "rpc.h"

typedef enum ParamType {
	PARAM_STRING,         /* const char *, borrowed from the request */
	PARAM_STRING_OR_NULL, /* const char *, NULL for null */
	PARAM_OBJECT_OR_NULL, /* json_object *, NULL for null */
	PARAM_ANY,            /* json_object *, any JSON value */
	PARAM_INT,            /* int64_t in [min, max] */
	PARAM_STRING_ARRAY,   /* json_object * (an array of strings), NULL for null */
} ParamType;

typedef struct ParamSpec {
	const char *name;
	ParamType type;
	bool required;
	bool nonempty; /* strings: "" is refused */
	int64_t min, max;
	size_t offset; /* of the field in the target struct */
} ParamSpec;

/* Fill target from params (NULL: none given) by the specs, n of them.
 * Fields of params not given keep what target had. */
int params_parse(json_object *params, const ParamSpec *specs, size_t n, void *target, RpcError *err);
