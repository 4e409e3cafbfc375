/* SPDX-License-Identifier: MIT */
/*
 * A switch.plan answer as vx11d takes it (core/plan-answer.c, switch.md):
 * what is a plan and what is malformed (and so degrades), re-routing only
 * to a type of the caller's and of the policy, the plan kept of an answer,
 * and the local plan of a degraded intent.
 */
#include "core/plan-answer.h"
#include "json-util.h"
#include "policy-test.h"

static Policy *pol;

static json_object *P(const char *fmt)
{
	_cleanup_free_ char *s = J("%s", fmt);
	json_object *o = json_tokener_parse(s);

	if (!o && !streq(s, "null"))
		printf("# not JSON: %s\n", s);
	return o;
}

/* The reason for an answer (NULL: a plan), for a task whose caller may
 * submit noop and echo. */
static const char *why(const char *answer, bool for_task)
{
	static char buf[256];
	_cleanup_json_ json_object *res = P(answer), *types = P("['noop','echo']");
	const char *r = plan_answer_check(res, for_task, types, pol);

	if (!r)
		return NULL;
	snprintf(buf, sizeof buf, "%s", r);
	return buf;
}

static void test_a_plan(void)
{
	CHECK(why("{'provider':'local-llm','approach':'a'}", false) == NULL);
	CHECK(why("{'provider':'local-llm','approach':'a','model':'m','plan_id':'p','score':0.5,'steps':[1],"
		  "'response':{'x':1}}",
		  true) == NULL);
	/* null is as absent; an integer score is a number. */
	CHECK(why("{'provider':'p','approach':'a','model':null,'plan_id':null,'score':1,'steps':null}", true) == NULL);
}

static void test_malformed(void)
{
	CHECK_STREQ(why("[1]", false), "switch malformed answer: the result is not an object");
	CHECK_STREQ(why("null", false), "switch malformed answer: the result is not an object");
	CHECK_STREQ(why("{'approach':'a'}", false), "switch malformed answer: provider is not a string");
	CHECK_STREQ(why("{'provider':3,'approach':'a'}", false), "switch malformed answer: provider is not a string");
	CHECK_STREQ(why("{'provider':'p'}", false), "switch malformed answer: approach is not a string");
	CHECK_STREQ(why("{'provider':'p','approach':null}", false), "switch malformed answer: approach is not a string");
	CHECK_STREQ(why("{'provider':'p','approach':'a','model':1}", false), "switch malformed answer: model is not a string");
	CHECK_STREQ(why("{'provider':'p','approach':'a','plan_id':{}}", false),
		    "switch malformed answer: plan_id is not a string");
	CHECK_STREQ(why("{'provider':'p','approach':'a','score':'high'}", false),
		    "switch malformed answer: score is not a number");
	CHECK_STREQ(why("{'provider':'p','approach':'a','steps':'one'}", false),
		    "switch malformed answer: steps is not an array");
}

static void test_reroute(void)
{
	static const char *const bad = "switch malformed answer: task_type is not one of the caller's task types";

	/* One of the caller's types and of the policy: a re-route. */
	CHECK(why("{'provider':'p','approach':'a','task_type':'echo'}", true) == NULL);
	/* In the policy, not the caller's; the caller's, not in the policy; not a string. */
	CHECK_STREQ(why("{'provider':'p','approach':'a','task_type':'fails'}", true), bad);
	CHECK_STREQ(why("{'provider':'p','approach':'a','task_type':'gone'}", true), bad);
	CHECK_STREQ(why("{'provider':'p','approach':'a','task_type':7}", true),
		    "switch malformed answer: task_type is not a string");
	/* Without a task there is nothing to re-route: not looked at. */
	CHECK(why("{'provider':'p','approach':'a','task_type':'fails'}", false) == NULL);
	/* No task_types given: no re-route is allowed. */
	_cleanup_json_ json_object *res = P("{'provider':'p','approach':'a','task_type':'echo'}");
	CHECK_STREQ(plan_answer_check(res, true, NULL, pol), bad);
}

static void test_plan_kept(void)
{
	_cleanup_json_ json_object *res =
		P("{'provider':'p','approach':'a','score':0.5,'task_type':'echo','extra':1}"), *plan = NULL,
		*bare = NULL;
	json_object *v;

	plan = plan_from_answer(res, true);
	CHECK(json_object_object_length(plan) == 8);
	CHECK(json_object_object_get_ex(plan, "approach", &v) && streq(json_object_get_string(v), "a"));
	CHECK(json_object_object_get_ex(plan, "model", &v) && v == NULL);
	CHECK(json_object_object_get_ex(plan, "task_type", &v) && streq(json_object_get_string(v), "echo"));
	CHECK(!json_object_object_get_ex(plan, "extra", NULL));
	bare = plan_from_answer(res, false);
	CHECK(json_object_object_length(bare) == 7 && !json_object_object_get_ex(bare, "task_type", NULL));
}

static void test_local_plan(void)
{
	_cleanup_json_ json_object *plan = plan_local("switch circuit open");
	json_object *v;

	CHECK(json_object_object_get_ex(plan, "degraded_reason", &v) && streq(json_object_get_string(v), "switch circuit open"));
	CHECK(json_object_object_get_ex(plan, "result", &v) && streq(json_object_get_string(v), "intent_processed"));
	CHECK(json_object_object_get_ex(plan, "notes", &v) && streq(json_object_get_string(v), "fallback_local execution"));
	CHECK(json_object_object_get_ex(plan, "plan_id", &v) && json_object_get_string_len(v) == ID_STRING_MAX - 1);
}

int main(void)
{
	_cleanup_free_ char *error = NULL;
	_cleanup_free_ char *text = J("{'tasks':{'noop':{'command':['/bin/true']},'echo':{'command':['/bin/cat']},"
				      "'fails':{'command':['/bin/false']}}}");

	if (policy_load_string(text, "test", &pol, &error) < 0) {
		printf("Bail out! policy: %s\n", error ? error : "?");
		return EXIT_FAILURE;
	}
	TEST(test_a_plan);
	TEST(test_malformed);
	TEST(test_reroute);
	TEST(test_plan_kept);
	TEST(test_local_plan);
	policy_free(pol);
	return tap_done();
}
