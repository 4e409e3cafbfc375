/* SPDX-License-Identifier: MIT */
/*
 * bench-json: the JSON work of one intent.submit on vx11d's request path,
 * json-c beside cJSON, in one run, in this process (no daemon, no I/O):
 *
 *   parse  one request line parsed and its fields read the way rpc.c and
 *          params.c read them (envelope members, each params key matched
 *          against the table, require.spawner), then the tree freed. Two
 *          lines: the one bench-submit sends for QUEUED, and a fuller one.
 *          json-c with one reused strict tokener, as vx11d does, twice: with
 *          the process's global locale (json-c then makes and frees two
 *          locale objects per parse) and with the thread on glibc's static
 *          "C" object (json_parse_locale_init(), what vx11d does since).
 *   reply  the QUEUED reply built (json-c: json_add_new(), as vx11d builds
 *          its replies) and serialized compactly, then freed (cJSON prints
 *          into a buffer of the caller's, as a connection's output buffer
 *          would be).
 *   vx11d  for scale: rpc_parse_line() and rpc_validate_request(), the
 *          daemon's own envelope path (UTF-8 and strictness checks around
 *          json-c), on the QUEUED line.
 *
 * Each figure is the best of several interleaved runs, in ns per operation.
 * Without cJSON (libcjson-dev) at configure time its column says so.
 */
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "api/rpc.h"
#include "bench.h"
#include "json-util.h"

#if HAVE_CJSON
#include <cJSON.h>
#endif

static const char line_queued[] =
	"{\"jsonrpc\":\"2.0\",\"id\":123457,\"method\":\"intent.submit\","
	"\"params\":{\"intent_type\":\"noop\",\"require\":{\"spawner\":true}}}";
static const char line_full[] =
	"{\"jsonrpc\":\"2.0\",\"id\":123457,\"method\":\"intent.submit\",\"params\":{\"intent_type\":\"noop\","
	"\"text\":\"rebuild the search index of project alpha\",\"payload\":{\"task_name\":\"noop\",\"ttl\":600,"
	"\"args\":[\"--full\",\"--verbose\"]},\"require\":{\"spawner\":true},\"priority\":\"P2\",\"source\":\"operator\","
	"\"idempotency_key\":\"k-0001-2026-12-07\","
	"\"traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\"}}";

/* intent.submit's parameter names, as params_parse() matches them. */
static const char *const submit_keys[] = {
	"intent_type", "text", "payload", "require", "priority", "source", "ttl_seconds", "max_retries",
	"idempotency_key", "traceparent", "argv", "cwd", "env", "after", "after_any", NULL,
};

static int key_index(const char *k)
{
	for (int i = 0; submit_keys[i]; i++)
		if (streq(submit_keys[i], k))
			return i;
	return -1;
}

/* What is read adds up to a number, so that nothing read can be optimized away. */
static volatile uint64_t sink;

static json_tokener *tok;

static void jsonc_parse(const char *line, size_t len)
{
	json_object *msg, *v, *params = NULL;
	uint64_t sum = 0;

	json_tokener_reset(tok);
	msg = json_tokener_parse_ex(tok, line, (int)len + 1);
	if (!msg || json_tokener_get_error(tok) != json_tokener_success)
		abort();
	if (json_object_object_get_ex(msg, "id", &v))
		sum += (uint64_t)json_object_get_int64(v);
	if (json_object_object_get_ex(msg, "jsonrpc", &v) && streq(json_object_get_string(v), "2.0"))
		sum++;
	if (json_object_object_get_ex(msg, "method", &v))
		sum += (uint64_t)json_object_get_string_len(v);
	json_object_object_get_ex(msg, "params", &params);
	json_object_object_foreach(msg, k, x)
	{
		(void)x;
		sum += (uint64_t)k[0];
	}
	json_object_object_foreach(params, key, val)
	{
		sum += (uint64_t)key_index(key);
		if (json_object_is_type(val, json_type_string))
			sum += (uint64_t)json_object_get_string_len(val);
		else if (streq(key, "require")) {
			json_object_object_foreach(val, rk, rv)
			{
				(void)rk;
				sum += (uint64_t)json_object_get_boolean(rv);
			}
		}
	}
	json_object_put(msg);
	sink += sum;
}

static char reply_jsonc[512];

static void jsonc_reply(void)
{
	json_object *o = json_object_new_object(), *r = json_object_new_object(), *resp = json_object_new_object();
	size_t n;

	json_add_new(resp, "task_id", json_object_new_string("019af7c2d1e44b7a9c5e2f0a1b3c4d5e"));
	json_add_new(r, "correlation_id", json_object_new_string("019af7c2d1e34a1b8c2d3e4f5a6b7c8d"));
	json_add_new(r, "status", json_object_new_string("QUEUED"));
	json_add_new(r, "mode", json_object_new_string("SPAWNER"));
	json_add_new(r, "provider", json_object_new_string("spawner"));
	json_add_new(r, "response", resp);
	json_add_new(r, "error", NULL);
	json_add_new(r, "degraded", json_object_new_boolean(false));
	json_add_new(r, "timestamp", json_object_new_string("2026-12-07T12:00:00.123456Z"));
	json_add_new(o, "jsonrpc", json_object_new_string("2.0"));
	json_add_new(o, "id", json_object_new_int64(123457));
	json_add_new(o, "result", r);
	const char *s = rpc_serialize(o, &n);
	if (n < sizeof(reply_jsonc))
		memcpy(reply_jsonc, s, n + 1);
	json_object_put(o);
	sink += n;
}

static void vx11d_parse(const char *line, size_t len)
{
	json_object *msg, *id;
	RpcRequest req;
	RpcError err;

	if (rpc_parse_line(line, len, &msg, &err) < 0 || rpc_validate_request(msg, &req, &id, &err) < 0)
		abort();
	sink += strlen(req.method);
	json_object_put(msg);
}

#if HAVE_CJSON
static void cjson_parse(const char *line, size_t len)
{
	cJSON *msg = cJSON_ParseWithLength(line, len), *v, *params = NULL;
	uint64_t sum = 0;

	if (!msg)
		abort();
	cJSON_ArrayForEach(v, msg)
	{
		sum += (uint64_t)v->string[0];
		if (streq(v->string, "id"))
			sum += (uint64_t)v->valuedouble;
		else if (streq(v->string, "jsonrpc") && cJSON_IsString(v) && streq(v->valuestring, "2.0"))
			sum++;
		else if (streq(v->string, "method") && cJSON_IsString(v))
			sum += strlen(v->valuestring);
		else if (streq(v->string, "params"))
			params = v;
	}
	cJSON_ArrayForEach(v, params)
	{
		sum += (uint64_t)key_index(v->string);
		if (cJSON_IsString(v))
			sum += strlen(v->valuestring);
		else if (streq(v->string, "require")) {
			cJSON *r;
			cJSON_ArrayForEach(r, v)
				sum += (uint64_t)cJSON_IsTrue(r);
		}
	}
	cJSON_Delete(msg);
	sink += sum;
}

static char reply_cjson[512];

static void cjson_reply(void)
{
	cJSON *o = cJSON_CreateObject(), *r = cJSON_CreateObject(), *resp = cJSON_CreateObject();

	cJSON_AddStringToObject(resp, "task_id", "019af7c2d1e44b7a9c5e2f0a1b3c4d5e");
	cJSON_AddStringToObject(r, "correlation_id", "019af7c2d1e34a1b8c2d3e4f5a6b7c8d");
	cJSON_AddStringToObject(r, "status", "QUEUED");
	cJSON_AddStringToObject(r, "mode", "SPAWNER");
	cJSON_AddStringToObject(r, "provider", "spawner");
	cJSON_AddItemToObject(r, "response", resp);
	cJSON_AddNullToObject(r, "error");
	cJSON_AddFalseToObject(r, "degraded");
	cJSON_AddStringToObject(r, "timestamp", "2026-12-07T12:00:00.123456Z");
	cJSON_AddStringToObject(o, "jsonrpc", "2.0");
	cJSON_AddNumberToObject(o, "id", 123457);
	cJSON_AddItemToObject(o, "result", r);
	if (!cJSON_PrintPreallocated(o, reply_cjson, sizeof(reply_cjson), 0))
		abort();
	sink += strlen(reply_cjson);
	cJSON_Delete(o);
}
#endif

typedef enum Case {
	PARSE_QUEUED, PARSE_FULL, REPLY, VX11D, _CASE_MAX
} Case;
typedef enum Col { JSONC_GLOBAL, JSONC_C, CJSON, _COL_MAX } Col;

static const char *case_name[_CASE_MAX] = {
	"parse + read, the QUEUED line", "parse + read, a fuller line",
	"build + serialize the QUEUED reply", "vx11d rpc_parse_line + validate, QUEUED",
};

static bool available(Case c, Col col)
{
#if !HAVE_CJSON
	if (col == CJSON)
		return false;
#endif
	/* The reply and vx11d's own path parse nothing: no locale column. */
	if ((c == REPLY || c == VX11D) && col == JSONC_GLOBAL)
		return false;
	return !(c == VX11D && col == CJSON);
}

static void run_one(Case c, Col col)
{
	const char *line = c == PARSE_FULL ? line_full : line_queued;
	size_t len = c == PARSE_FULL ? sizeof(line_full) - 1 : sizeof(line_queued) - 1;

	switch (c) {
	case PARSE_QUEUED:
	case PARSE_FULL:
#if HAVE_CJSON
		if (col == CJSON) {
			cjson_parse(line, len);
			return;
		}
#endif
		jsonc_parse(line, len);
		return;
	case REPLY:
#if HAVE_CJSON
		if (col == CJSON) {
			cjson_reply();
			return;
		}
#endif
		jsonc_reply();
		return;
	case VX11D:
		vx11d_parse(line, len);
		return;
	case _CASE_MAX:
		break;
	}
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	double best[_CASE_MAX][_COL_MAX];
	locale_t c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	unsigned runs = 7, iters = 100000;
	int opt;

	while ((opt = getopt_long(argc, argv, "qh", options, NULL)) >= 0)
		switch (opt) {
		case 'q':
			runs = 5, iters = 20000;
			break;
		case 'h':
			printf("Usage: bench-json [--quick]\n\n"
			       "JSON work of one intent.submit: json-c as vx11d uses it beside cJSON.\n");
			return 0;
		default:
			return 2;
		}
	if (!c_locale)
		return 1;
	tok = json_tokener_new_ex(64);
	if (!tok)
		return 1;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);

	bench_print_machine("vx11d JSON benchmark (bench-json)");
	bench_print_load("at the start");
	for (int c = 0; c < _CASE_MAX; c++)
		for (int col = 0; col < _COL_MAX; col++)
			best[c][col] = -1;
	/* Interleaved: every run measures each cell once, so that a noisy
	 * moment of the machine hits all of them alike; the best run counts. */
	for (unsigned r = 0; r < runs + 1; r++)
		for (Case c = 0; c < _CASE_MAX; c++)
			for (Col col = 0; col < _COL_MAX; col++) {
				if (!available(c, col))
					continue;
				uselocale(col == JSONC_GLOBAL ? LC_GLOBAL_LOCALE : c_locale);
				uint64_t t0 = bench_now_ns();
				for (unsigned i = 0; i < iters; i++)
					run_one(c, col);
				double ns = (double)(bench_now_ns() - t0) / iters;
				/* Run 0 warms caches and the allocator up. */
				if (r > 0 && (best[c][col] < 0 || ns < best[c][col]))
					best[c][col] = ns;
			}
	uselocale(LC_GLOBAL_LOCALE);

	printf("best of %u runs of %u, ns per operation\n\n", runs, iters);
	printf("%-50s %14s %14s %11s %15s\n", "case", "json-c global", "json-c vx11d", "cJSON", "vx11d / cJSON");
	for (Case c = 0; c < _CASE_MAX; c++) {
		char name[80], cell[_COL_MAX][16];
		size_t n = c == PARSE_FULL ? sizeof(line_full) - 1 : c == REPLY ? strlen(reply_jsonc) : sizeof(line_queued) - 1;

		snprintf(name, sizeof(name), "%s (%zu B)", case_name[c], n);
		for (Col col = 0; col < _COL_MAX; col++)
			if (best[c][col] < 0)
				snprintf(cell[col], sizeof(cell[col]), "%s",
					 col == CJSON && !HAVE_CJSON && c != VX11D ? "(no cJSON)" : "-");
			else
				snprintf(cell[col], sizeof(cell[col]), "%.0f", best[c][col]);
		printf("%-50s %14s %14s %11s", name, cell[JSONC_GLOBAL], cell[JSONC_C], cell[CJSON]);
		if (best[c][CJSON] > 0)
			printf(" %14.2fx", best[c][JSONC_C] / best[c][CJSON]);
		printf("\n");
	}
	printf("\njson-c global: the process's global locale (json-c makes and frees two locale objects per parse);\n"
	       "json-c vx11d: the thread on glibc's static \"C\" locale, as vx11d's event loop is.\n");
#if HAVE_CJSON
	if (!streq(reply_jsonc, reply_cjson))
		printf("WARNING: the two replies differ:\n  json-c %s\n  cJSON  %s\n", reply_jsonc, reply_cjson);
#endif
	bench_print_load("at the end");
	json_tokener_free(tok);
	return 0;
}
