/* SPDX-License-Identifier: MIT */
/*
 * JSON as RFC 8259 has it, for the wire and the configuration file. json-c
 * in strict mode still takes a few things that are not JSON (NaN and
 * Infinity, single quotes, raw control characters, \u0000, lone surrogate
 * escapes, and in objects a key twice, the last one winning); a second pass
 * over the text it accepted refuses them, so what the switch acts on is what
 * any other JSON reader would have seen.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "json-util.h"

typedef struct JsonProblem {
	size_t offset;     /* byte offset in the text where it was found */
	char message[256]; /* what is wrong, without the position */
} JsonProblem;

/*
 * Parse len bytes of text (NUL-terminated at len) as one JSON value, nested
 * at most max_depth deep, with only whitespace after it. With unique_keys a
 * key present twice in one object is refused, naming its key path. Returns
 * 0 and the value (NULL for the text "null"), -EINVAL with *problem filled,
 * or -ENOMEM.
 */
int json_parse_strict(const char *text, size_t len, int max_depth, bool unique_keys, json_object **ret,
		      JsonProblem *problem);

/* 1-based line and column of a byte offset, for messages about a file. */
void json_offset_position(const char *text, size_t offset, unsigned *ret_line, unsigned *ret_column);
