/* SPDX-License-Identifier: MIT */
/*
 * The policy's "retention" (how long finished tasks and audit rows are kept):
 * nothing bounded by default, each key read, each error naming its key path.
 */
#include <unistd.h>

#include "policy-test.h"

static void test_retention_defaults(void)
{
	Policy *p = load_ok("{}");

	CHECK(p);
	if (!p)
		return;
	CHECK_INTEQ(p->retention.interval_seconds, 300);
	for (int i = 0; i < _POLICY_RETAIN_MAX; i++) {
		CHECK_INTEQ(p->retention.tasks[i].max_age_seconds, -1);
		CHECK_INTEQ(p->retention.tasks[i].max_count, -1);
	}
	CHECK_INTEQ(p->retention.audit.max_age_seconds, -1);
	CHECK_INTEQ(p->retention.audit.max_count, -1);
	policy_free(p);
}

static void test_retention_keys(void)
{
	Policy *p = load_ok("{'retention':{'interval_seconds':5,'completed':{'max_age_seconds':3600},"
			    "'failed':{'max_count':10},'expired':{'max_age_seconds':60,'max_count':0},"
			    "'cancelled':{'max_count':3},'audit':{'max_age_seconds':86400,'max_count':1000}}}");

	CHECK(p);
	if (!p)
		return;
	CHECK_INTEQ(p->retention.interval_seconds, 5);
	CHECK_INTEQ(p->retention.tasks[POLICY_RETAIN_COMPLETED].max_age_seconds, 3600);
	CHECK_INTEQ(p->retention.tasks[POLICY_RETAIN_COMPLETED].max_count, -1);
	CHECK_INTEQ(p->retention.tasks[POLICY_RETAIN_FAILED].max_age_seconds, -1);
	CHECK_INTEQ(p->retention.tasks[POLICY_RETAIN_FAILED].max_count, 10);
	CHECK_INTEQ(p->retention.tasks[POLICY_RETAIN_EXPIRED].max_age_seconds, 60);
	CHECK_INTEQ(p->retention.tasks[POLICY_RETAIN_EXPIRED].max_count, 0);
	CHECK_INTEQ(p->retention.tasks[POLICY_RETAIN_CANCELLED].max_count, 3);
	CHECK_INTEQ(p->retention.audit.max_age_seconds, 86400);
	CHECK_INTEQ(p->retention.audit.max_count, 1000);
	policy_free(p);
}

static void test_retention_errors(void)
{
	CHECK_ERROR("{'retention':[]}", "retention: expected an object");
	CHECK_ERROR("{'retention':{'pending':{'max_count':1}}}",
		    "retention.pending: unknown key (expected interval_seconds, completed, failed, expired, cancelled "
		    "or audit: only finished tasks are ever removed)");
	CHECK_ERROR("{'retention':{'completed':{}}}", "retention.completed: expected max_age_seconds, max_count or both");
	CHECK_ERROR("{'retention':{'completed':1}}", "retention.completed: expected an object");
	CHECK_ERROR("{'retention':{'completed':{'max_age':60}}}", "retention.completed.max_age: unknown key");
	CHECK_ERROR("{'retention':{'failed':{'max_age_seconds':0}}}",
		    "retention.failed.max_age_seconds: must be between 1 and 316224000");
	CHECK_ERROR("{'retention':{'failed':{'max_age_seconds':'1d'}}}",
		    "retention.failed.max_age_seconds: expected an integer");
	CHECK_ERROR("{'retention':{'audit':{'max_count':-1}}}",
		    "retention.audit.max_count: must be between 0 and 1099511627776");
	CHECK_ERROR("{'retention':{'interval_seconds':0}}", "retention.interval_seconds: must be between 1 and 86400");
	CHECK_ERROR("{'retention':{'interval_seconds':86401}}",
		    "retention.interval_seconds: must be between 1 and 86400");
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %m\n");
		return EXIT_FAILURE;
	}
	TEST(test_retention_defaults);
	TEST(test_retention_keys);
	TEST(test_retention_errors);
	rmdir(tmpdir);
	return tap_done();
}
