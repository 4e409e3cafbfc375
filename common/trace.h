/* SPDX-License-Identifier: MIT */
/* W3C Trace Context (https://www.w3.org/TR/trace-context/): the traceparent header. */
#pragma once

#include <stdbool.h>

#define TRACE_ID_HEX 32

/* Is s a valid traceparent ("00-<32 hex>-<16 hex>-<2 hex>", lowercase; the
 * ids not all zero; a later version than 00 may carry more after a '-', as
 * the spec asks parsers to accept; version ff is invalid)? If so and
 * ret_trace_id is not NULL, its trace id goes there (32 hex digits + NUL). */
bool traceparent_parse(const char *s, char *ret_trace_id);
