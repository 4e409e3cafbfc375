/* SPDX-License-Identifier: MIT */
/*
 * A digest of a JSON value that depends on what it says, not on how it was
 * written: object keys in any order, any white space or escapes, 1 and 1.0
 * alike. intent.submit keeps one per idempotency key, to tell a retry of the
 * same intent from a different intent reusing the key (man vx11-protocol(7)).
 */
#pragma once

#include <json-c/json.h>

/* SHA-256 of the canonical form of v (NULL: JSON null), as 64 lowercase hex
 * digits; malloc'd, NULL when out of memory. */
char *json_digest(json_object *v);
