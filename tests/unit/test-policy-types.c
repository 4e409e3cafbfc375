/* SPDX-License-Identifier: MIT */
/*
 * The task-type keys a new user meets first: max_ttl_seconds (the longest
 * TTL a caller may ask for) and "command": "caller" (the caller's argv).
 */
#include <stdlib.h>

#include "policy-test.h"

static void test_max_ttl_seconds(void)
{
	Policy *p = load_ok("{'defaults':{'ttl_seconds':50},"
			    "'tasks':{'x':{'command':['/bin/true'],'max_ttl_seconds':60,"
			    "'mutations':[{'ttl_seconds':600,'max_ttl_seconds':900}]},"
			    "'y':{'command':['/bin/true']}}}");
	const PolicyTask *x, *y;

	CHECK(p);
	if (!p)
		return;
	x = policy_find_task(p, "x");
	y = policy_find_task(p, "y");
	CHECK(x && y);
	if (x && y) {
		CHECK_INTEQ(x->max_ttl_seconds, 60);
		CHECK_INTEQ(x->ttl_seconds, 50);
		/* Like any key, a mutation may change it. */
		CHECK_INTEQ(policy_task_at_level(x, 1)->max_ttl_seconds, 900);
		CHECK_INTEQ(policy_task_at_level(x, 1)->ttl_seconds, 600);
		/* Not given: none of its own (the protocol's bound holds). */
		CHECK_INTEQ(y->max_ttl_seconds, 0);
	}
	policy_free(p);

	CHECK_TASK_ERROR(", 'max_ttl_seconds':0", "tasks.x.max_ttl_seconds: must be between 1 and 2147483647");
	CHECK_TASK_ERROR(", 'max_ttl_seconds':'60'", "tasks.x.max_ttl_seconds: expected an integer");
	/* A task key, not one of defaults. */
	CHECK_ERROR("{'defaults':{'max_ttl_seconds':60}}", "defaults.max_ttl_seconds: unknown key");
}

static void test_command_caller(void)
{
	Policy *p = load_ok("{'tasks':{'run':{'command':'caller','groups':[],'max_retries':1,"
			    "'limits':{'memory_max':'64M'},'mutations':[{'limits':{'memory_max':'128M'}}]},"
			    "'fixed':{'command':['/bin/true']}}}");
	const PolicyTask *t;

	CHECK(p);
	if (!p)
		return;
	t = policy_find_task(p, "run");
	CHECK(t);
	if (t) {
		CHECK(t->command_caller);
		CHECK(t->command == NULL);
		CHECK_INTEQ(t->limits.memory_max, 64 * 1024 * 1024);
		CHECK(t->groups.set && t->groups.n == 0);
		/* Every level runs the caller's command; the rest escalates as usual. */
		CHECK(policy_task_at_level(t, 1)->command_caller);
		CHECK(policy_task_at_level(t, 1)->command == NULL);
		CHECK_INTEQ(policy_task_at_level(t, 1)->limits.memory_max, 128 * 1024 * 1024);
	}
	t = policy_find_task(p, "fixed");
	CHECK(t && !t->command_caller && streq(t->command[0], "/bin/true"));
	policy_free(p);

	/* "caller" is the one string a command may be. */
	CHECK_ERROR("{'tasks':{'x':{'command':'Caller'}}}",
		    "tasks.x.command: expected \"caller\" or a non-empty array of strings whose first element is an "
		    "absolute path");
	/* A mutation switches neither way. */
	CHECK_ERROR("{'tasks':{'x':{'command':'caller','mutations':[{'command':['/bin/true']}]}}}",
		    "tasks.x.mutations[0].command: not allowed in a mutation of a task type whose command is "
		    "\"caller\"");
	CHECK_ERROR("{'tasks':{'x':{'command':'caller','mutations':[{'command':'caller'}]}}}",
		    "tasks.x.mutations[0].command: not allowed in a mutation of a task type whose command is "
		    "\"caller\"");
	CHECK_TASK_ERROR(", 'mutations':[{'command':'caller'}]",
			 "tasks.x.mutations[0].command: \"caller\" is not allowed in a mutation: a task type runs the "
			 "caller's command at every level or at none");
}

static void test_user_caller(void)
{
	Policy *p = load_ok("{'tasks':{'mine':{'command':'caller','user':'caller','mutations':[{'user':'dynamic'}]},"
			    "'x':{'command':['/bin/true']}}}");
	const PolicyTask *t;

	CHECK(p);
	if (!p)
		return;
	t = policy_find_task(p, "mine");
	CHECK(t && t->user_caller && streq(t->user, "caller"));
	/* A mutation may go back to a uid of its own. */
	if (t) {
		CHECK(!policy_task_at_level(t, 1)->user_caller);
		CHECK(policy_task_at_level(t, 1)->user == NULL);
	}
	t = policy_find_task(p, "x");
	CHECK(t && !t->user_caller && !t->user);
	policy_free(p);
	CHECK_TASK_ERROR(", 'user':'Caller'", "tasks.x.user: no such user \"Caller\"");
}

int main(void)
{
	if (!mkdtemp(tmpdir))
		abort();

	TEST(test_max_ttl_seconds);
	TEST(test_command_caller);
	TEST(test_user_caller);

	rmdir(tmpdir);
	return tap_done();
}
