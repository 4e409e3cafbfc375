/* SPDX-License-Identifier: MIT */
/*
 * The W3C Trace Context (https://www.w3.org/TR/trace-context/) a daughter
 * gets as TRACEPARENT, so the traces it makes join its intent's: version 00,
 * the trace id is the intent's correlation id (a UUIDv7 is 16 bytes, as a
 * trace id is; it is never all zero), the parent id is the attempt's (the
 * last 8 bytes of its UUIDv7, which are random, so a fresh span per
 * attempt), flags 01 (sampled: we ask nothing of the daughter's sampler but
 * to keep what it records, as the daemon keeps every attempt). An intent
 * submitted with a traceparent gives its trace id instead: the daughters
 * join the submitter's trace.
 */
#include <stdio.h>
#include <string.h>

#include "runner-internal.h"

static void hex(char *out, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = 0;
}

const char *hija_traceparent(const Hija *h, char buf[static TRACEPARENT_MAX])
{
	Id trace = {}, span = {};
	char t[33], s[17];
	bool zero = true;

	(void)id_from_string(h->intent_id, &trace);
	(void)id_from_string(h->a.id, &span);
	for (size_t i = 8; i < 16; i++)
		zero = zero && span.bytes[i] == 0;
	if (zero) /* not an id we made; the spec forbids an all-zero parent id */
		span.bytes[15] = 1;
	if (h->trace_id[0])
		memcpy(t, h->trace_id, sizeof t);
	else
		hex(t, trace.bytes, 16);
	hex(s, span.bytes + 8, 8);
	snprintf(buf, TRACEPARENT_MAX, "00-%s-%s-01", t, s);
	return buf;
}
