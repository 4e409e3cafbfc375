/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for everything a client's bytes reach before a method
 * runs: line framing (LineBuf), JSON parsing, JSON-RPC validation, batches,
 * every method's parameter table, and the reply builders and serializer.
 *
 * Input layout: the first byte picks the size of the chunks the rest is fed
 * to the LineBuf in (so lines split across reads are exercised), the rest is
 * what a client would write on the socket. Every complete line goes through
 * methods_process_line() as in the daemon; a line over FUZZ_MAX_LINE ends
 * the input, as it ends the connection.
 *
 * Beyond "no crash, no leak" it checks what a client relies on:
 *  - framing: the lines handed out are exactly the input's lines, pending
 *    bytes are counted right, and the buffer stays within its memory bound;
 *  - replies: each one serializes to a single line of strict, valid UTF-8
 *    JSON that the daemon's own parser accepts, shaped as a JSON-RPC 2.0
 *    response (or a non-empty batch of them);
 *  - parameter tables: every struct fits in PARAMS_SCRATCH and what
 *    params_parse() fills in honours the table's ranges.
 * A violation aborts with a message, which libFuzzer reports as a crash.
 *
 * The same entry point is linked into fuzz/replay (replay.c) for make check.
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "api/methods.h"
#include "api/params.h"
#include "api/rpc.h"
#include "util.h"

/* Small, so inputs within -max_len reach the too-long path. */
#define FUZZ_MAX_LINE ((size_t)4096)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define fuzz_check(cond, ...)                                                                              \
	do {                                                                                               \
		if (!(cond)) {                                                                             \
			fprintf(stderr, "fuzz-rpc: %s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                                      \
			fputc('\n', stderr);                                                               \
			abort();                                                                           \
		}                                                                                          \
	} while (0)

static size_t param_size(ParamType t)
{
	switch (t) {
	case PARAM_STRING:
		return sizeof(const char *);
	case PARAM_INT:
		return sizeof(int64_t);
	case PARAM_NUMBER:
		return sizeof(double);
	case PARAM_BOOL:
		return sizeof(int);
	case PARAM_OBJECT:
	case PARAM_STRING_OR_ARRAY:
		return sizeof(json_object *);
	}
	return SIZE_MAX;
}

static void check_table(const char *method, const ParamSpec *specs)
{
	fuzz_check(specs, "%s has no parameter table", method);
	for (const ParamSpec *s = specs; s->name; s++) {
		size_t sz = param_size(s->type);
		fuzz_check(sz != SIZE_MAX, "%s.%s: bad type %d", method, s->name, (int)s->type);
		fuzz_check(s->offset + sz <= PARAMS_SCRATCH, "%s.%s: offset %zu does not fit PARAMS_SCRATCH", method,
			   s->name, s->offset);
		fuzz_check(s->offset % sz == 0, "%s.%s: misaligned offset %zu", method, s->name, s->offset);
	}
}

static void check_tables_once(void)
{
	static bool done;
	const Method *t;
	size_t n;

	if (done)
		return;
	t = methods_table(&n);
	fuzz_check(n > 0, "empty method table");
	for (size_t i = 0; i < n; i++) {
		check_table(t[i].name, t[i].params);
		fuzz_check(methods_find(t[i].name) == &t[i], "methods_find(\"%s\") finds another entry", t[i].name);
	}
	check_table("intent.submit require", require_params);
	done = true;
}

/* What params_parse() filled in must be what the table promises. */
static void check_parsed(const char *method, const ParamSpec *specs, json_object *params, const void *out)
{
	for (const ParamSpec *s = specs; s->name; s++) {
		const char *p = (const char *)out + s->offset;
		json_object *given = NULL;
		bool present = params && json_object_object_get_ex(params, s->name, &given) && given;

		if (s->flags & PARAM_REQUIRED)
			fuzz_check(present, "%s: required %s accepted while absent", method, s->name);

		switch (s->type) {
		case PARAM_STRING: {
			const char *v = *(const char *const *)p;
			fuzz_check(!!v == present, "%s.%s: presence mismatch", method, s->name);
			if (v) {
				size_t jl = (size_t)json_object_get_string_len(given);
				fuzz_check(v == json_object_get_string(given), "%s.%s: not the given string", method,
					   s->name);
				fuzz_check(v[jl] == '\0', "%s.%s: not NUL-terminated", method, s->name);
				/* Handlers use it as a C string: "a\u0000b" would silently become "a". */
				fuzz_check(strlen(v) == jl, "%s.%s: string with a NUL byte accepted", method, s->name);
				if (s->flags & PARAM_NONEMPTY)
					fuzz_check(jl > 0, "%s.%s: empty string accepted", method, s->name);
				if (s->max > 0)
					fuzz_check(jl <= (size_t)s->max, "%s.%s: %zu bytes accepted, max %.0f", method,
						   s->name, jl, s->max);
			}
			break;
		}
		case PARAM_INT: {
			int64_t v = *(const int64_t *)p;
			fuzz_check((v != PARAM_INT_UNSET) == present, "%s.%s: presence mismatch", method, s->name);
			if (present && s->min < s->max)
				fuzz_check((double)v >= s->min && (double)v <= s->max,
					   "%s.%s: %" PRId64 " accepted, range %.0f..%.0f", method, s->name, v, s->min,
					   s->max);
			break;
		}
		case PARAM_NUMBER: {
			double v = *(const double *)p;
			fuzz_check(!isnan(v) == present, "%s.%s: presence mismatch", method, s->name);
			if (present) {
				fuzz_check(isfinite(v), "%s.%s: non-finite number accepted", method, s->name);
				if (s->min < s->max)
					fuzz_check(v >= s->min && v <= s->max, "%s.%s: %g accepted, range %g..%g", method,
						   s->name, v, s->min, s->max);
			}
			break;
		}
		case PARAM_BOOL: {
			int v = *(const int *)p;
			fuzz_check(v == (present ? json_object_get_boolean(given) : -1), "%s.%s: bad boolean %d", method,
				   s->name, v);
			break;
		}
		case PARAM_OBJECT:
		case PARAM_STRING_OR_ARRAY: {
			json_object *v = *(json_object *const *)p;
			fuzz_check(v == (present ? given : NULL), "%s.%s: not the given value", method, s->name);
			if (v && s->type == PARAM_OBJECT)
				fuzz_check(json_object_is_type(v, json_type_object), "%s.%s: not an object", method,
					   s->name);
			break;
		}
		}
	}
}

static int parse_checked(const char *method, const ParamSpec *specs, json_object *params, const char *prefix,
			 RpcError *err)
{
	/* Poisoned, so a field params_parse() forgets to default shows up in check_parsed(). */
	alignas(max_align_t) char scratch[PARAMS_SCRATCH];
	int r;

	memset(scratch, 0xa5, sizeof(scratch));
	r = params_parse(specs, params, prefix, scratch, err);
	if (r < 0) {
		fuzz_check(r == RPC_INVALID_PARAMS && err->code == r, "%s: params_parse() returned %d, code %d",
			   method, r, err->code);
		return r;
	}
	fuzz_check(r == 0, "%s: params_parse() returned %d", method, r);
	check_parsed(method, specs, params, scratch);
	return 0;
}

/* Stands in for the daemon's run_method(): the same checks up to the handler, which is not run. */
static json_object *fuzz_run(void *userdata, const RpcRequest *req, bool in_batch, bool *ret_deferred)
{
	const Method *method;
	json_object *result, *require = NULL;
	RpcError err = { 0 };

	fuzz_check(req->method, "valid request without a method");
	/* A null id is json-c's NULL too, but that request is no notification. */
	fuzz_check(!req->is_notification || !req->id, "notification with an id");
	fuzz_check(!req->params || json_object_is_type(req->params, json_type_object), "params not an object");

	method = methods_find(req->method);
	if (!method) {
		rpc_error(&err, RPC_NO_SUCH_METHOD, "no such method: %.64s", req->method);
		goto error;
	}
	if (parse_checked(method->name, method->params, req->params, "", &err) < 0)
		goto error;
	if (streq(method->name, "intent.submit") && json_object_object_get_ex(req->params, "require", &require) &&
	    require && parse_checked("intent.submit", require_params, require, "require.", &err) < 0)
		goto error;

	if (req->is_notification)
		return NULL;
	/* Echo the request back, so whatever the client sent goes through the serializer. */
	result = json_object_new_object();
	json_object_object_add(result, "method", json_object_new_string(method->name));
	json_object_object_add(result, "params", json_object_get(req->params));
	json_object_object_add(result, "in_batch", json_object_new_boolean(in_batch));
	return rpc_make_result(req->id, result);

error:
	fuzz_check(err.code < 0 && err.name, "error without a code or a name");
	if (req->is_notification)
		return NULL;
	return rpc_make_error(req->id, &err);
}

static void check_response_object(json_object *o)
{
	json_object *v, *e;
	bool has_result, has_error;

	fuzz_check(json_object_is_type(o, json_type_object), "reply is not an object");
	fuzz_check(json_object_object_get_ex(o, "jsonrpc", &v) && json_object_is_type(v, json_type_string) &&
			   streq(json_object_get_string(v), "2.0"),
		   "reply without \"jsonrpc\":\"2.0\"");
	fuzz_check(json_object_object_get_ex(o, "id", &v), "reply without an id member");
	fuzz_check(!v || json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int) ||
			   json_object_is_type(v, json_type_double),
		   "reply id of type %s", json_type_to_name(json_object_get_type(v)));
	has_result = json_object_object_get_ex(o, "result", NULL);
	has_error = json_object_object_get_ex(o, "error", &e);
	fuzz_check(has_result != has_error, "reply needs exactly one of result and error");
	fuzz_check(json_object_object_length(o) == 3, "reply with %d members", json_object_object_length(o));
	if (has_error) {
		fuzz_check(json_object_is_type(e, json_type_object), "error is not an object");
		fuzz_check(json_object_object_get_ex(e, "code", &v) && json_object_is_type(v, json_type_int) &&
				   json_object_get_int(v) < 0,
			   "error without a negative integer code");
		fuzz_check(json_object_object_get_ex(e, "message", &v) && json_object_is_type(v, json_type_string),
			   "error without a message");
		fuzz_check(json_object_object_get_ex(e, "data", &v) && json_object_object_get_ex(v, "name", &v) &&
				   json_object_is_type(v, json_type_string),
			   "error without data.name");
	}
}

/* What goes on the wire: one line of JSON the daemon itself would accept back. */
static void check_reply(json_object *reply)
{
	_cleanup_json_ json_object *again = NULL;
	RpcError err = { 0 };
	const char *s;
	size_t len = 0;

	if (json_object_is_type(reply, json_type_array)) {
		size_t n = json_object_array_length(reply);
		fuzz_check(n > 0, "empty batch reply");
		for (size_t i = 0; i < n; i++)
			check_response_object(json_object_array_get_idx(reply, i));
	} else
		check_response_object(reply);

	s = rpc_serialize(reply, &len);
	fuzz_check(s, "serialization failed");
	fuzz_check(strlen(s) == len, "serialized reply has a NUL byte or a wrong length");
	fuzz_check(!memchr(s, '\n', len), "serialized reply spans lines: %s", s);
	fuzz_check(rpc_parse_line(s, len, &again, &err) == 0, "reply is not valid JSON (%s): %.300s", err.message, s);
	fuzz_check(json_object_get_type(again) == json_object_get_type(reply), "reply changed type on reparse");
}

static void process_line(const char *line, size_t len)
{
	_cleanup_json_ json_object *reply = NULL;
	bool deferred = true;

	reply = methods_process_line(line, len, fuzz_run, NULL, 64 * 1024, &deferred);
	fuzz_check(!deferred, "deferred without a handler");
	if (reply)
		check_reply(reply);
}

static void line_too_long(const LineBuf *b)
{
	_cleanup_json_ json_object *reply = NULL;
	RpcError e;

	/* As conn_process() answers it. */
	rpc_error_named(&e, RPC_INVALID_REQUEST, "vx11.LineTooLong",
			"line too long: the limit is %zu bytes (policy limits.max_line_bytes)", b->max_line);
	reply = rpc_make_error(NULL, &e);
	check_reply(reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(linebuf_done) LineBuf b;
	const uint8_t *in;
	size_t in_len, chunk, appended = 0, consumed = 0;

	linebuf_init(&b, FUZZ_MAX_LINE);
	check_tables_once();
	if (size == 0)
		return 0;

	/* 1..128 bytes, or 64..8192 in steps of 64: both sides of FUZZ_MAX_LINE. */
	chunk = data[0] < 0x80 ? (size_t)data[0] + 1 : (size_t)(data[0] - 0x7f) * 64;
	in = data + 1;
	in_len = size - 1;

	while (appended < in_len) {
		size_t n = MIN(chunk, in_len - appended), tail;
		const uint8_t *last;

		fuzz_check(linebuf_append(&b, in + appended, n) == 0, "linebuf_append failed");
		appended += n;
		/* "never beyond max_line + 1 unconsumed bytes plus want" (frame.h), plus the spare byte. */
		fuzz_check(b.cap <= MAX((size_t)4096, FUZZ_MAX_LINE + 2 + chunk), "buffer grew to %zu", b.cap);
		/* Before the new bytes are scanned: what follows the last '\n' buffered. */
		last = memrchr(in + consumed, '\n', appended - consumed);
		tail = last ? (size_t)(in + appended - last - 1) : appended - consumed;
		fuzz_check(linebuf_pending(&b) == tail, "pending %zu, expected %zu", linebuf_pending(&b), tail);

		for (;;) {
			const uint8_t *ref = in + consumed, *nl = memchr(ref, '\n', appended - consumed);
			char *line;
			size_t len;
			int r = linebuf_next(&b, &line, &len);

			if (r == 0) {
				fuzz_check(!nl && appended - consumed <= FUZZ_MAX_LINE,
					   "no line handed out, but one is complete or too long");
				fuzz_check(linebuf_pending(&b) == appended - consumed, "pending %zu, expected %zu",
					   linebuf_pending(&b), appended - consumed);
				break;
			}
			if (r == -E2BIG) {
				fuzz_check((nl ? (size_t)(nl - ref) : appended - consumed) > FUZZ_MAX_LINE,
					   "-E2BIG for a line within the limit");
				line_too_long(&b);
				return 0;
			}
			fuzz_check(r == 1, "linebuf_next returned %d", r);
			fuzz_check(nl && len == (size_t)(nl - ref) && memcmp(line, ref, len) == 0,
				   "handed out a line that is not the input's next line");
			fuzz_check(len <= FUZZ_MAX_LINE && line[len] == '\0', "line too long or not terminated");
			consumed += len + 1;
			process_line(line, len);
		}
	}
	/* A partial line at the end is a client that hung up mid-line: dropped, as conn.c does. */
	return 0;
}
