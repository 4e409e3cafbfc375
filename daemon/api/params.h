/* SPDX-License-Identifier: MIT */
/*
 * Table-driven parameter parsing: a method declares
 *   { name, type, offsetof(Params, field), flags, min, max }
 * and params_parse() fills the struct, sentinel defaults first, so a typo or
 * a wrong type never passes silently: unknown keys, missing required keys and
 * ill-typed values are -32602 errors whose message names the field.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc.h"

typedef enum ParamType {
	PARAM_STRING,           /* const char *, NULL when absent */
	PARAM_INT,              /* int64_t, PARAM_INT_UNSET when absent */
	PARAM_NUMBER,           /* double (int or float in JSON), NAN when absent */
	PARAM_BOOL,             /* int, -1 when absent */
	PARAM_OBJECT,           /* json_object *, NULL when absent */
	PARAM_STRING_OR_ARRAY,  /* json_object * (a string, or an array of strings) */
} ParamType;

#define PARAM_INT_UNSET INT64_MIN

enum {
	PARAM_REQUIRED = 1 << 0,
	PARAM_NONEMPTY = 1 << 1, /* strings: not "" */
};

typedef struct ParamSpec {
	const char *name;
	ParamType type;
	size_t offset;
	unsigned flags;
	double min, max; /* PARAM_INT/NUMBER: inclusive range when min < max; PARAM_STRING: max length when max > 0 */
} ParamSpec;

/* Parse params (may be NULL: no params) per the table, terminated by {NULL}.
 * `prefix` names the object in messages ("" at the top, "require." inside). */
int params_parse(const ParamSpec *specs, json_object *params, const char *prefix, void *out, RpcError *err);

/* A list's "order": NULL or "asc" (oldest first, the default), or "desc"
 * (newest first). `name` names the parameter in the message. */
int param_order(const char *name, const char *value, bool *ret_desc, RpcError *err);
/* An RFC 3339 timestamp as the daemon writes them ("2026-12-01T10:00:00.000000Z",
 * or without the fraction): realtime usec; NULL leaves *ret as it is. */
int param_timestamp(const char *name, const char *value, uint64_t *ret, RpcError *err);
