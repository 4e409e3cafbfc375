/* SPDX-License-Identifier: MIT */
/* json-c helpers every layer uses. */
#pragma once

#include <json-c/json.h>
#include <locale.h>

#include "util.h"

static inline void json_object_putp(json_object **j)
{
	if (*j)
		json_object_put(*j);
}
#define _cleanup_json_ _cleanup_(json_object_putp)

/* Add a member to an object being built: key a string literal (kept, not
 * copied) that o does not have yet (not looked up). Replies are built of
 * these, one request at a time. */
static inline int json_add_new(json_object *o, const char *key, json_object *v)
{
	return json_object_object_add_ex(o, key, v, JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY);
}

/*
 * json-c (0.16 to 0.18 at least) brackets every json_tokener_parse_ex() with
 * uselocale(NULL), duplocale(), newlocale(LC_NUMERIC_MASK, "C", ...),
 * uselocale() and freelocale(): two locale objects made and freed per parse.
 * When the calling thread's locale is glibc's static "C" object, duplocale
 * and newlocale hand that object back and freelocale does nothing. Call this
 * once on a thread that parses JSON on a hot path; the program must be one
 * that never calls setlocale() (its locale is "C" then anyway), as a thread
 * locale would hide what setlocale() chose.
 */
static inline void json_parse_locale_init(void)
{
	locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);

	if (c)
		uselocale(c);
}
