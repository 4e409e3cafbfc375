/* SPDX-License-Identifier: MIT */
/* vx11-switch's routing: which route plans a request, the re-route rule, the
 * plan's members, which provider runs a sub-task; and the params tables. */
#include <string.h>

#include "../../switch/params.h"
#include "../../switch/route.h"
#include "tap.h"

static const char config_text[] =
	"{\"routes\": ["
	"  {\"name\": \"urgent\", \"intent_type\": \"*\", \"text\": \"^urgent\", \"provider\": \"pager\", \"approach\": \"now\"},"
	"  {\"intent_type\": \"analysis*\", \"text\": \"summar(y|ise)\", \"provider\": \"llm\", \"approach\": \"split\","
	"   \"model\": \"m-7b\", \"score\": 0.82, \"task_type\": \"analysis\", \"steps\": [\"a\"], \"response\": {\"k\": 1}},"
	"  {\"intent_type\": \"analysis*\", \"provider\": \"llm\", \"approach\": \"direct\"},"
	"  {\"intent_type\": \"code.[a-c]?\", \"provider\": \"cli\", \"approach\": \"single\"}"
	" ],"
	" \"default_route\": {\"provider\": \"fallback\", \"approach\": \"plain\"},"
	" \"providers\": {\"echo\": {\"argv\": [\"/bin/cat\"]}, \"gpu\": {\"argv\": [\"/bin/cat\"]}},"
	" \"subtasks\": [{\"subtask_type\": \"render.*\", \"provider\": \"gpu\"}, {\"subtask_type\": \"*.gpu\", \"provider\": \"gpu\"}],"
	" \"default_provider\": \"echo\"}";

static SwitchConfig *config(void)
{
	SwitchConfig *c = NULL;
	_cleanup_free_ char *error = NULL;

	if (switch_config_parse(config_text, strlen(config_text), &c, &error) < 0)
		printf("# %s\n", error);
	return c;
}

static void test_route_match(void)
{
	_cleanup_config_ SwitchConfig *c = config();
	static const struct {
		const char *intent_type, *text;
		ssize_t index;
	} cases[] = {
		{ "analysis", "please summarise", 1 },
		{ "analysis.logs", "a summary", 1 },
		{ "analysis.logs", "count them", 2 },
		{ "analysis", NULL, 2 },          /* no text: not a route with a regex */
		{ "analysis", "", 2 },
		{ "code", "urgent: fix", 0 },     /* order: the first that matches */
		{ "analysis", "urgent summary", 0 },
		{ "code.ab", NULL, 3 },
		{ "code.d", NULL, -1 },
		{ "code", NULL, -1 },             /* whole-string glob */
		{ "xanalysis", "summary", -1 },
		{ "ANALYSIS", "summary", -1 },    /* case matters */
		{ "analysis", "SUMMARY", 2 },
	};
	ssize_t index;

	CHECK(c);
	if (!c)
		return;
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		const Route *r = route_match(c, cases[i].intent_type, cases[i].text, &index);
		if (index != cases[i].index || r != (index < 0 ? &c->default_route : &c->routes[index])) {
			printf("# case %zu (%s, %s): route %zd, expected %zd\n", i, cases[i].intent_type,
			       cases[i].text ?: "null", index, cases[i].index);
			tap_failed_current++;
		}
	}
}

static PlanRequest request(const char *task_type, json_object *task_types)
{
	PlanRequest p = PLAN_REQUEST_INIT;

	p.intent_type = "analysis";
	p.text = "summary";
	p.task_type = task_type;
	p.task_types = task_types;
	return p;
}

static void test_reroute_rule(void)
{
	_cleanup_config_ SwitchConfig *c = config();
	_cleanup_json_ json_object *both = json_tokener_parse("[\"echo\", \"analysis\"]");
	_cleanup_json_ json_object *other = json_tokener_parse("[\"echo\", \"analysis2\"]");
	_cleanup_json_ json_object *none = json_tokener_parse("[]");
	PlanRequest p;

	if (!c)
		return;
	const Route *r = &c->routes[1];
	p = request("echo", both);
	CHECK(route_reroutes(r, &p));
	p = request("echo", other);
	CHECK(!route_reroutes(r, &p));
	p = request("echo", none);
	CHECK(!route_reroutes(r, &p));
	p = request("echo", NULL);
	CHECK(!route_reroutes(r, &p));
	p = request(NULL, both); /* not a spawner intent */
	CHECK(!route_reroutes(r, &p));
	p = request("echo", both); /* a route without task_type */
	CHECK(!route_reroutes(&c->routes[2], &p));
}

static void test_plan_build(void)
{
	_cleanup_config_ SwitchConfig *c = config();
	_cleanup_json_ json_object *both = json_tokener_parse("[\"echo\", \"analysis\"]");
	_cleanup_json_ json_object *plan = NULL, *plain = NULL, *kept = NULL;
	PlanRequest p;

	if (!c)
		return;
	p = request("echo", both);
	plan = plan_build(&c->routes[1], &p, "id-1");
	CHECK_STREQ(json_object_to_json_string_ext(plan, JSON_C_TO_STRING_PLAIN),
		    "{\"plan_id\":\"id-1\",\"provider\":\"llm\",\"model\":\"m-7b\",\"approach\":\"split\",\"score\":0.82,"
		    "\"task_type\":\"analysis\",\"steps\":[\"a\"],\"response\":{\"k\":1}}");
	p = request("echo", NULL);
	kept = plan_build(&c->routes[1], &p, "id-2");
	CHECK(!json_object_object_get_ex(kept, "task_type", NULL));
	plain = plan_build(&c->default_route, &p, "id-3");
	CHECK_STREQ(json_object_to_json_string_ext(plain, JSON_C_TO_STRING_PLAIN),
		    "{\"plan_id\":\"id-3\",\"provider\":\"fallback\",\"approach\":\"plain\"}");
}

static void test_subtask_provider(void)
{
	_cleanup_config_ SwitchConfig *c = config();
	ssize_t rule;

	if (!c)
		return;
	CHECK(subtask_provider(c, "render.png", &rule) == switch_config_find_provider(c, "gpu"));
	CHECK_INTEQ(rule, 0);
	CHECK(subtask_provider(c, "big.gpu", &rule) == switch_config_find_provider(c, "gpu"));
	CHECK_INTEQ(rule, 1);
	CHECK(subtask_provider(c, "render", &rule) == switch_config_find_provider(c, "echo"));
	CHECK_INTEQ(rule, -1);
	c->default_provider = NULL;
	CHECK(subtask_provider(c, "render", &rule) == NULL);
	CHECK_INTEQ(rule, -1);
}

typedef struct T {
	const char *s;
	const char *sn;
	json_object *o;
	json_object *any;
	int64_t i;
	json_object *arr;
} T;

static const ParamSpec specs[] = {
	{ .name = "s", .type = PARAM_STRING, .required = true, .nonempty = true, .offset = offsetof(T, s) },
	{ .name = "sn", .type = PARAM_STRING_OR_NULL, .offset = offsetof(T, sn) },
	{ .name = "o", .type = PARAM_OBJECT_OR_NULL, .offset = offsetof(T, o) },
	{ .name = "any", .type = PARAM_ANY, .offset = offsetof(T, any) },
	{ .name = "i", .type = PARAM_INT, .min = 1, .max = 3, .offset = offsetof(T, i) },
	{ .name = "arr", .type = PARAM_STRING_ARRAY, .offset = offsetof(T, arr) },
};

static const char *params_error(const char *text, T *t)
{
	static RpcError e;
	_cleanup_json_ json_object *o = json_tokener_parse(text);

	*t = (T){ .i = -1, .sn = "unset" };
	if (params_parse(o, specs, ELEMENTSOF(specs), t, &e) < 0) {
		CHECK_INTEQ(e.code, RPC_INVALID_PARAMS);
		return e.message;
	}
	return NULL;
}

static void test_params(void)
{
	T t;

	CHECK(params_error("{\"s\": \"x\", \"sn\": null, \"o\": {}, \"any\": 1, \"i\": 3, \"arr\": [\"a\"]}", &t) == NULL);
	CHECK(params_error("{\"s\": \"x\"}", &t) == NULL);
	CHECK(t.sn && streq(t.sn, "unset") && t.i == -1); /* absent: left alone */
	CHECK_STREQ(params_error("{}", &t), "invalid params: missing \"s\"");
	CHECK_STREQ(params_error("{\"s\": \"\"}", &t), "invalid params: \"s\" must not be empty");
	CHECK_STREQ(params_error("{\"s\": 1}", &t), "invalid params: \"s\" must be a string");
	CHECK_STREQ(params_error("{\"s\": \"x\", \"sn\": 1}", &t), "invalid params: \"sn\" must be a string or null");
	CHECK_STREQ(params_error("{\"s\": \"x\", \"o\": []}", &t), "invalid params: \"o\" must be an object or null");
	CHECK_STREQ(params_error("{\"s\": \"x\", \"i\": 4}", &t), "invalid params: \"i\" must be an integer between 1 and 3");
	CHECK_STREQ(params_error("{\"s\": \"x\", \"i\": 1.0}", &t), "invalid params: \"i\" must be an integer between 1 and 3");
	CHECK_STREQ(params_error("{\"s\": \"x\", \"arr\": [\"a\", null]}", &t), "invalid params: \"arr[1]\" must be a string");
	CHECK_STREQ(params_error("{\"s\": \"x\", \"arr\": \"a\"}", &t), "invalid params: \"arr\" must be an array of strings or null");
	CHECK(params_error("{\"s\": \"x\", \"arr\": null}", &t) == NULL && t.arr == NULL);
	CHECK_STREQ(params_error("{\"s\": \"x\", \"zz\": 1}", &t), "invalid params: unknown param \"zz\"");
}

static void test_rpc_envelope(void)
{
	static const struct {
		const char *line;
		int code; /* 0: a valid request */
	} cases[] = {
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"}", 0 },
		{ "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{}}", 0 },
		{ "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"m\",\"params\":null}", 0 },
		{ "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"m\"}", RPC_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1}", RPC_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"m\"}", RPC_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"extra\":1}", RPC_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":[]}", RPC_INVALID_PARAMS },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":3}", RPC_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":99999999999999999999,\"method\":\"m\"}", RPC_INVALID_REQUEST },
		{ "\"text\"", RPC_INVALID_REQUEST },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"", RPC_PARSE_ERROR },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"} {}", RPC_PARSE_ERROR },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_json_ json_object *msg = NULL;
		json_object *id;
		RpcRequest req;
		RpcError e;
		int r = rpc_parse_line(cases[i].line, strlen(cases[i].line), &msg, &e);
		if (r == 0)
			r = rpc_validate_request(msg, &req, &id, &e);
		if (r != cases[i].code) {
			printf("# case %zu (%s): %d, expected %d (%s)\n", i, cases[i].line, r, cases[i].code,
			       r ? e.message : "");
			tap_failed_current++;
		}
	}
}

int main(void)
{
	TEST(test_route_match);
	TEST(test_reroute_rule);
	TEST(test_plan_build);
	TEST(test_subtask_provider);
	TEST(test_params);
	TEST(test_rpc_envelope);
	return tap_done();
}
