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

int main(void)
{
	if (!mkdtemp(tmpdir))
		abort();

	TEST(test_max_ttl_seconds);

	rmdir(tmpdir);
	return tap_done();
}
