/* SPDX-License-Identifier: MIT */
/* Table-driven parameter parsing, and the real tables of the methods. */
#include <math.h>
#include <string.h>

#include "api/methods.h"
#include "api/params.h"
#include "tap.h"

typedef struct P {
	const char *s;
	int64_t i;
	double d;
	int b;
	json_object *o;
	json_object *sa;
} P;

static const ParamSpec specs[] = {
	{ "s", PARAM_STRING, offsetof(P, s), PARAM_REQUIRED | PARAM_NONEMPTY, 0, 8 },
	{ "i", PARAM_INT, offsetof(P, i), 0, 1, 10 },
	{ "d", PARAM_NUMBER, offsetof(P, d), 0, 0, 5 },
	{ "b", PARAM_BOOL, offsetof(P, b), 0, 0, 0 },
	{ "o", PARAM_OBJECT, offsetof(P, o), 0, 0, 0 },
	{ "sa", PARAM_STRING_OR_ARRAY, offsetof(P, sa), 0, 0, 0 },
	{}
};

/* The parsed objects stay alive until the end, since P borrows from them. */
static json_object *kept[64];
static int n_kept;

static int run(const char *json, P *p, RpcError *e)
{
	json_object *o = json_tokener_parse(json);
	int r = params_parse(specs, o, "", p, e);
	if (n_kept < 64)
		kept[n_kept++] = o;
	else
		json_object_put(o);
	return r;
}

static void test_defaults_and_values(void)
{
	P p;
	RpcError e;

	CHECK_INTEQ(run("{\"s\":\"abc\"}", &p, &e), 0);
	CHECK_STREQ(p.s, "abc");
	CHECK(p.i == PARAM_INT_UNSET);
	CHECK(isnan(p.d));
	CHECK_INTEQ(p.b, -1);
	CHECK(p.o == NULL && p.sa == NULL);

	CHECK_INTEQ(run("{\"s\":\"x\",\"i\":3,\"d\":2.5,\"b\":false,\"o\":{},\"sa\":[\"a\",\"b\"]}", &p, &e), 0);
	CHECK_INTEQ(p.i, 3);
	CHECK(p.d == 2.5);
	CHECK_INTEQ(p.b, 0);
	CHECK(p.o && p.sa);
	CHECK_INTEQ(run("{\"s\":\"x\",\"d\":2}", &p, &e), 0); /* an integer is a number */
	CHECK(p.d == 2.0);
	CHECK_INTEQ(run("{\"s\":\"x\",\"i\":null}", &p, &e), 0); /* null = not given */
	CHECK(p.i == PARAM_INT_UNSET);
}

static void expect_error(const char *json, const char *fragment)
{
	P p;
	RpcError e = { 0 };
	int r = run(json, &p, &e);
	CHECK_INTEQ(r, RPC_INVALID_PARAMS);
	CHECK_STREQ(e.name, "vx11.InvalidParams");
	if (!strstr(e.message, fragment)) {
		printf("# message \"%s\" lacks \"%s\"\n", e.message, fragment);
		tap_failed_current++;
	}
}

static void test_errors_name_the_field(void)
{
	expect_error("{}", "s: required");
	expect_error("{\"s\":\"\"}", "s: must not be empty");
	expect_error("{\"s\":\"123456789\"}", "s: longer than 8");
	expect_error("{\"s\":1}", "s: expected a string");
	expect_error("{\"s\":\"a\\u0000b\"}", "s: must not contain NUL");
	expect_error("{\"s\":\"x\",\"i\":\"3\"}", "i: expected an integer");
	expect_error("{\"s\":\"x\",\"i\":2.5}", "i: expected an integer");
	expect_error("{\"s\":\"x\",\"i\":11}", "i: must be between 1 and 10");
	expect_error("{\"s\":\"x\",\"i\":99999999999999999999}", "i:");
	expect_error("{\"s\":\"x\",\"d\":6}", "d: must be between");
	expect_error("{\"s\":\"x\",\"b\":1}", "b: expected a boolean");
	expect_error("{\"s\":\"x\",\"o\":[]}", "o: expected an object");
	expect_error("{\"s\":\"x\",\"sa\":[\"a\",1]}", "sa[1]: expected a string");
	expect_error("{\"s\":\"x\",\"typo\":1}", "typo: unknown parameter");
}

static void test_prefix(void)
{
	json_object *o = json_tokener_parse("{\"switch\":1}");
	char scratch[PARAMS_SCRATCH] __attribute__((aligned(16)));
	RpcError e = { 0 };
	CHECK_INTEQ(params_parse(require_params, o, "require.", scratch, &e), RPC_INVALID_PARAMS);
	CHECK(strstr(e.message, "require.switch: expected a boolean") != NULL);
	json_object_put(o);
}

/* Every method's table is well formed: it accepts no params unless
 * something is required, and refuses an unknown key. */
static void test_method_tables(void)
{
	size_t n;
	const Method *t = methods_table(&n);
	json_object *unknown = json_tokener_parse("{\"no_such_key_\":1}");

	CHECK(n >= 10);
	for (size_t i = 0; i < n; i++) {
		char scratch[PARAMS_SCRATCH] __attribute__((aligned(16)));
		RpcError e = { 0 };
		bool required = false;

		CHECK(t[i].params != NULL);
		for (const ParamSpec *s = t[i].params; s->name; s++)
			required = required || (s->flags & PARAM_REQUIRED);
		CHECK_INTEQ(params_parse(t[i].params, NULL, "", scratch, &e), required ? RPC_INVALID_PARAMS : 0);
		CHECK_INTEQ(params_parse(t[i].params, unknown, "", scratch, &e), RPC_INVALID_PARAMS);
		CHECK(methods_find(t[i].name) == &t[i]);
	}
	CHECK(methods_find("no.such.method") == NULL);
	json_object_put(unknown);
}

int main(void)
{
	TEST(test_defaults_and_values);
	TEST(test_errors_name_the_field);
	TEST(test_prefix);
	TEST(test_method_tables);
	while (n_kept > 0)
		json_object_put(kept[--n_kept]);
	return tap_done();
}
