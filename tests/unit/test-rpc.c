/* SPDX-License-Identifier: MIT */
/* JSON-RPC envelope handling: parsing, validation, batches, reply shapes. */
#include <string.h>

#include "api/methods.h"
#include "api/rpc.h"
#include "tap.h"

static json_object *parse_ok(const char *s)
{
	json_object *o = NULL;
	RpcError e = { 0 };
	if (rpc_parse_line(s, strlen(s), &o, &e) < 0)
		return NULL;
	return o;
}

static int parse_code(const char *s, size_t len)
{
	json_object *o = NULL;
	RpcError e = { 0 };
	int r = rpc_parse_line(s, len, &o, &e);
	json_object_put(o);
	return r;
}

static void test_parse_valid(void)
{
	json_object *o = parse_ok("{\"a\": [1, 2, \"\\u00e9\"]}  ");
	CHECK(o && json_object_is_type(o, json_type_object));
	json_object_put(o);
	o = parse_ok("[]");
	CHECK(o && json_object_is_type(o, json_type_array));
	json_object_put(o);
}

static void test_parse_errors(void)
{
	CHECK_INTEQ(parse_code("", 0), RPC_PARSE_ERROR);
	CHECK_INTEQ(parse_code("not json", 8), RPC_PARSE_ERROR);
	CHECK_INTEQ(parse_code("{\"a\":1", 6), RPC_PARSE_ERROR);
	CHECK_INTEQ(parse_code("{} {}", 5), RPC_PARSE_ERROR);     /* trailing data */
	CHECK_INTEQ(parse_code("{\"a\":\"\xff\"}", 9), RPC_PARSE_ERROR); /* invalid UTF-8 */
	CHECK_INTEQ(parse_code("{\"a\":1}\0{}", 10), RPC_PARSE_ERROR);  /* NUL byte */
	CHECK_INTEQ(parse_code("{'a':1}", 7), RPC_PARSE_ERROR);    /* strict: no single quotes */
	CHECK_INTEQ(parse_code("[NaN]", 5), RPC_PARSE_ERROR);
	CHECK_INTEQ(parse_code("[-Infinity]", 11), RPC_PARSE_ERROR);
	CHECK_INTEQ(parse_code("[\"a\tb\"]", 7), RPC_PARSE_ERROR); /* raw tab in a string */
	CHECK_INTEQ(parse_code("[1,]", 4), RPC_PARSE_ERROR);
	CHECK_INTEQ(parse_code("17", 2), 0);                      /* a bare number is JSON */
	CHECK_INTEQ(parse_code("[\"a\\u0000b\"]", 11), RPC_PARSE_ERROR);
	CHECK_INTEQ(parse_code("{\"k\\u0000x\":1}", 14), RPC_PARSE_ERROR);
	CHECK_INTEQ(parse_code("[1e5, true, false, null, \"it's\"]", 32), 0);
}

/* RFC 3629, byte by byte: what json-c's own check let through. */
static void test_parse_strict_utf8(void)
{
	static const struct {
		const char *s;
		int code;
	} cases[] = {
		{ "[\"\xc0\xaf\"]", RPC_PARSE_ERROR },             /* overlong '/' */
		{ "[\"\xe0\x80\xaf\"]", RPC_PARSE_ERROR },         /* overlong, 3 bytes */
		{ "[\"\xf0\x80\x80\xaf\"]", RPC_PARSE_ERROR },     /* overlong, 4 bytes */
		{ "[\"\xed\xa0\x80\"]", RPC_PARSE_ERROR },         /* U+D800, a surrogate */
		{ "[\"\xed\xbf\xbf\"]", RPC_PARSE_ERROR },         /* U+DFFF */
		{ "[\"\xf4\x90\x80\x80\"]", RPC_PARSE_ERROR },     /* above U+10FFFF */
		{ "[\"\xe2\x82\"]", RPC_PARSE_ERROR },             /* cut short */
		{ "[\"\\ud800\"]", RPC_PARSE_ERROR },              /* lone high surrogate escape */
		{ "[\"\\udc00\"]", RPC_PARSE_ERROR },              /* lone low surrogate escape */
		{ "[\"\\ud800\\u0041\"]", RPC_PARSE_ERROR },      /* high, then not a low one */
		{ "[\"\\ud83d\\ude00\"]", 0 },                    /* a pair: U+1F600 */
		{ "[\"\xf0\x9f\x98\x80 \xe2\x82\xac \xc3\xa9 \xed\x9f\xbf \xee\x80\x80\"]", 0 },
	};
	RpcError e = { 0 };
	json_object *o = NULL;

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		int r = parse_code(cases[i].s, strlen(cases[i].s));
		if (r != cases[i].code)
			printf("# case %zu: got %d, want %d\n", i, r, cases[i].code);
		CHECK_INTEQ(r, cases[i].code);
	}
	/* The error names where. */
	CHECK_INTEQ(rpc_parse_line("[\"ab\xc0\xaf\"]", 7, &o, &e), RPC_PARSE_ERROR);
	CHECK(strstr(e.message, "invalid UTF-8 at offset 4") != NULL);
}

static int validate(const char *s, RpcRequest *req, const char **ret_name)
{
	json_object *o = parse_ok(s), *id;
	RpcError e = { 0 };
	int r;

	if (!o)
		return 1;
	r = rpc_validate_request(o, req, &id, &e);
	if (ret_name)
		*ret_name = e.name;
	json_object_put(o);
	return r;
}

static void test_validate(void)
{
	RpcRequest req;
	const char *name = NULL;

	CHECK_INTEQ(validate("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"daemon.status\"}", &req, NULL), 0);
	CHECK_INTEQ(validate("{\"jsonrpc\":\"2.0\",\"method\":\"x\"}", &req, NULL), 0);
	CHECK(req.is_notification);
	CHECK_INTEQ(validate("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"x\"}", &req, NULL), 0);
	CHECK(!req.is_notification); /* id null is a request, not a notification */
	CHECK_INTEQ(validate("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"x\"}", &req, &name), RPC_INVALID_REQUEST);
	CHECK_STREQ(name, "vx11.InvalidRequest");
	CHECK_INTEQ(validate("{\"id\":1,\"method\":\"x\"}", &req, NULL), RPC_INVALID_REQUEST);
	CHECK_INTEQ(validate("{\"jsonrpc\":\"2.0\",\"id\":1}", &req, NULL), RPC_INVALID_REQUEST);
	CHECK_INTEQ(validate("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}", &req, NULL), RPC_INVALID_REQUEST);
	CHECK_INTEQ(validate("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"x\"}", &req, NULL), RPC_INVALID_REQUEST);
	CHECK_INTEQ(validate("{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"x\"}", &req, NULL), RPC_INVALID_REQUEST);
	CHECK_INTEQ(validate("{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"x\"}", &req, NULL), RPC_INVALID_REQUEST);
	CHECK_INTEQ(validate("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"extra\":1}", &req, NULL),
		    RPC_INVALID_REQUEST);
	CHECK_INTEQ(validate("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":[1]}", &req, &name),
		    RPC_INVALID_PARAMS);
	CHECK_STREQ(name, "vx11.InvalidParams");
	CHECK_INTEQ(validate("[1]", &req, NULL), RPC_INVALID_REQUEST);
	CHECK_INTEQ(validate("{\"jsonrpc\":\"2.0\",\"id\":123456789012345678901234567890,\"method\":\"x\"}", &req, NULL),
		    RPC_INVALID_REQUEST);
	CHECK_INTEQ(validate("{\"jsonrpc\":\"2.0\",\"id\":-9223372036854775809,\"method\":\"x\"}", &req, NULL),
		    RPC_INVALID_REQUEST);
	CHECK_INTEQ(validate("{\"jsonrpc\":\"2.0\",\"id\":9223372036854775807,\"method\":\"x\"}", &req, NULL), 0);
}

static void test_reply_shapes(void)
{
	json_object *id = json_object_new_int(7), *r, *e, *v;
	RpcError err = { 0 };
	size_t len;

	r = rpc_make_result(id, json_object_new_object());
	CHECK_STREQ(rpc_serialize(r, &len), "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}");
	json_object_put(r);

	rpc_error(&err, RPC_NOT_FOUND, "no task %s", "x/y");
	e = rpc_make_error(NULL, &err);
	CHECK_STREQ(rpc_serialize(e, &len),
		    "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32002,\"message\":\"no task x/y\","
		    "\"data\":{\"name\":\"vx11.NotFound\"}}}");
	CHECK(json_object_object_get_ex(e, "error", &v));
	json_object_put(e);

	rpc_error_named(&err, RPC_INVALID_REQUEST, "vx11.LineTooLong", "too long");
	CHECK_STREQ(err.name, "vx11.LineTooLong");
	CHECK_INTEQ(err.code, -32600);
	json_object_put(id);
}

static void test_code_names(void)
{
	CHECK_STREQ(rpc_code_to_name(RPC_PARSE_ERROR), "vx11.ParseError");
	CHECK_STREQ(rpc_code_to_name(RPC_NO_SUCH_METHOD), "vx11.NoSuchMethod");
	CHECK_STREQ(rpc_code_to_name(RPC_INTERNAL), "vx11.Internal");
	CHECK_STREQ(rpc_code_to_name(RPC_PERMISSION_DENIED), "vx11.PermissionDenied");
	CHECK_STREQ(rpc_code_to_name(RPC_CONFLICT), "vx11.Conflict");
	CHECK_STREQ(rpc_code_to_name(RPC_BUSY), "vx11.Busy");
}

/* A `run` that answers every valid request with {"method": name}. */
static int runs;
static json_object *echo_run(void *userdata, const RpcRequest *req, bool in_batch, bool *ret_deferred)
{
	json_object *res = json_object_new_object();
	runs++;
	if (req->is_notification) {
		json_object_put(res);
		return NULL;
	}
	json_object_object_add(res, "method", json_object_new_string(req->method));
	json_object_object_add(res, "batch", json_object_new_boolean(in_batch));
	return rpc_make_result(req->id, res);
}

static size_t process_budget = 1 << 20;

static const char *process(const char *line, json_object **keep)
{
	bool deferred;
	size_t len;
	json_object *r = methods_process_line(line, strlen(line), echo_run, NULL, process_budget, &deferred);
	*keep = r;
	return r ? rpc_serialize(r, &len) : NULL;
}

static void test_process_single_and_notification(void)
{
	json_object *k;

	runs = 0;
	CHECK_STREQ(process("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"m\"}", &k),
		    "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"result\":{\"method\":\"m\",\"batch\":false}}");
	json_object_put(k);
	CHECK(process("{\"jsonrpc\":\"2.0\",\"method\":\"m\"}", &k) == NULL);
	CHECK_INTEQ(runs, 2);
}

static void test_process_batches(void)
{
	json_object *k;
	const char *s;

	s = process("[]", &k);
	CHECK(s && strstr(s, "\"code\":-32600") && json_object_is_type(k, json_type_object));
	json_object_put(k);

	/* Order kept, notifications silent, invalid members answered in place. */
	s = process("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"},{\"jsonrpc\":\"2.0\",\"method\":\"n\"},5,"
		    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"b\"}]",
		    &k);
	CHECK(json_object_is_type(k, json_type_array));
	CHECK_INTEQ(json_object_array_length(k), 3);
	CHECK(s && strstr(s, "\"id\":1") < strstr(s, "-32600") && strstr(s, "-32600") < strstr(s, "\"id\":2"));
	CHECK(s && strstr(s, "\"batch\":true"));
	json_object_put(k);

	CHECK(process("[{\"jsonrpc\":\"2.0\",\"method\":\"n\"},{\"jsonrpc\":\"2.0\",\"method\":\"n\"}]", &k) == NULL);

	/* A batch over the limit is refused whole, before anything runs. */
	char big[8 * (METHODS_MAX_BATCH + 1) + 8];
	size_t l = 0;
	big[l++] = '[';
	for (int i = 0; i <= METHODS_MAX_BATCH; i++)
		l += (size_t)sprintf(big + l, "%s{}", i ? "," : "");
	big[l++] = ']';
	big[l] = 0;
	runs = 0;
	s = process(big, &k);
	CHECK(s && strstr(s, "-32600") && strstr(s, "limit") && json_object_is_type(k, json_type_object));
	CHECK_INTEQ(runs, 0);
	json_object_put(k);

	/* Past the reply budget the rest of a batch is refused without running. */
	process_budget = 100;
	runs = 0;
	s = process("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"},"
		    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"b\"},{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"c\"},"
		    "{\"jsonrpc\":\"2.0\",\"method\":\"n\"}]",
		    &k);
	CHECK_INTEQ(runs, 1); /* the first reply alone passes the budget */
	CHECK_INTEQ(json_object_array_length(k), 3); /* the notification gets nothing */
	CHECK(s && strstr(s, "\"id\":2,\"error\":{\"code\":-32004"));
	CHECK(s && strstr(s, "\"id\":3,\"error\":{\"code\":-32004"));
	json_object_put(k);
	process_budget = 1 << 20;

	s = process("{bad", &k);
	CHECK(s && strstr(s, "\"id\":null") && strstr(s, "-32700") && strstr(s, "vx11.ParseError"));
	json_object_put(k);

	/* The id of an invalid request is echoed when it could be read. */
	s = process("{\"jsonrpc\":\"2.0\",\"id\":9}", &k);
	CHECK(s && strstr(s, "\"id\":9") && strstr(s, "-32600"));
	json_object_put(k);
}

int main(void)
{
	TEST(test_parse_valid);
	TEST(test_parse_errors);
	TEST(test_parse_strict_utf8);
	TEST(test_validate);
	TEST(test_reply_shapes);
	TEST(test_code_names);
	TEST(test_process_single_and_notification);
	TEST(test_process_batches);
	return tap_done();
}
