/* SPDX-License-Identifier: MIT */
/*
 * The seccomp module, part 3: loading, and the format's semantics in the
 * kernel, in forked children. A program loads through prctl() where
 * seccomp(2) is missing and reports the kernel's errno; each action does
 * what it says (and a child a filter keeps from exiting cannot run on into
 * the tests), each comparison operator matches what it should on all 64
 * bits, architecture conditions and unlisted ABIs are honoured. Part 1,
 * compiling, is test-seccomp.c; part 2, the shipped profiles at work,
 * test-seccomp-shipped.c; what they share (and how children are bounded) is
 * seccomp-test.h.
 */
#include "seccomp-test.h"

/* ---- loading ---- */

static SeccompProgram *getppid_42;

static int load_with_seccomp_hidden(long unused)
{
	/* Under the outer filter seccomp(2) answers ENOSYS, as on a kernel before 3.17. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &getppid_42->prog) == 0 || errno != ENOSYS)
		return 200;
	if (seccomp_program_load(getppid_42) < 0)
		return 201;
	return call_raw(SYS_getppid, 0, 0);
}

static void test_load_falls_back_to_prctl(void)
{
	SeccompProgram *hide;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	hide = compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
			  "{\"names\": [\"seccomp\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38}]}");
	getppid_42 = compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				"{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 42}]}");
	if (hide && getppid_42)
		CHECK_INTEQ(in_child(hide, load_with_seccomp_hidden, 0), 42);
	seccomp_program_free(hide);
	getppid_42 = seccomp_program_free(getppid_42);
}

static int load_without_nnp(long unused)
{
	/* Without no_new_privs the kernel wants CAP_SYS_ADMIN: drop it by leaving root. */
	if (getuid() == 0 && setresuid(65534, 65534, 65534) < 0)
		return 200;
	return -seccomp_program_load(shipped_default);
}

static void test_load_reports_errno(void)
{
	int r;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	r = in_child(NULL, load_without_nnp, 0);
	if (r == 200)
		SKIP("cannot drop privileges");
	CHECK_INTEQ(r, EACCES);
}

/* ---- the format's semantics ---- */

/* Calls that ignore their arguments, so a filter can be made to look at any value. */
#define RAW_CALL(name, nr)                                                                                 \
	static int name(long a0)                                                                           \
	{                                                                                                  \
		return call_raw(nr, a0, 0);                                                                \
	}
RAW_CALL(call_getppid, SYS_getppid)
RAW_CALL(call_getuid, SYS_getuid)
RAW_CALL(call_getgid, SYS_getgid)
RAW_CALL(call_geteuid, SYS_geteuid)
RAW_CALL(call_getegid, SYS_getegid)
RAW_CALL(call_gettid, SYS_gettid)
RAW_CALL(call_getpgrp, SYS_getpgrp)
RAW_CALL(call_getsid, SYS_getsid)

static void test_actions(void)
{
	SeccompProgram *p;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	p = compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		       "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 77},"
		       "{\"names\": [\"getuid\"], \"action\": \"SCMP_ACT_ERRNO\"},"
		       "{\"names\": [\"getgid\"], \"action\": \"SCMP_ACT_TRAP\"},"
		       "{\"names\": [\"geteuid\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"},"
		       "{\"names\": [\"getegid\"], \"action\": \"SCMP_ACT_KILL\"},"
		       "{\"names\": [\"gettid\"], \"action\": \"SCMP_ACT_KILL_THREAD\"},"
		       "{\"names\": [\"getpgrp\"], \"action\": \"SCMP_ACT_LOG\"},"
		       "{\"names\": [\"getsid\"], \"action\": \"SCMP_ACT_ALLOW\"}]}");
	if (!p)
		return;
	CHECK_INTEQ(in_child(p, call_getppid, 0), 77);
	CHECK_INTEQ(in_child(NULL, call_getppid, 0), 0);
	CHECK_INTEQ(in_child(p, call_getuid, 0), EPERM); /* errnoRet defaults to EPERM */
	CHECK_INTEQ(in_child(p, call_getgid, 0), -SIGSYS);
	CHECK_INTEQ(in_child(p, call_geteuid, 0), -SIGSYS);
	CHECK_INTEQ(in_child(p, call_getegid, 0), -SIGSYS);
	CHECK_INTEQ(in_child(p, call_gettid, 0), -SIGSYS);
	CHECK_INTEQ(in_child(p, call_getpgrp, 0), 0);
	CHECK_INTEQ(in_child(p, call_getsid, 0), 0);
	seccomp_program_free(p);

	/* defaultErrnoRet; exit_group must be allowed for the child to end. */
	p = compile_ok("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 55, \"syscalls\": ["
		       "{\"names\": [\"exit_group\", \"exit\"], \"action\": \"SCMP_ACT_ALLOW\"}]}");
	if (p)
		CHECK_INTEQ(in_child(p, call_getppid, 0), 55);
	seccomp_program_free(p);
}

/* The guard against a runaway child: one that a filter keeps from exiting traps. */
static void test_child_cannot_escape(void)
{
	SeccompProgram *p;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	p = compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		       "{\"names\": [\"exit_group\", \"exit\"], \"action\": \"SCMP_ACT_ERRNO\"}]}");
	if (p)
		CHECK_INTEQ(in_child(p, call_getppid, 0), -SIGILL);
	seccomp_program_free(p);
}

/* Runs getppid(a0) for three values of a0; bit i is set when the i-th got the rule's errno 99. */
static long op_values[3];
static int op_pattern(long unused)
{
	int bits = 0;

	for (int i = 0; i < 3; i++)
		if (call_getppid(op_values[i]) == 99)
			bits |= 1 << i;
	return bits;
}

static void test_operators(void)
{
	static const struct {
		const char *op;
		uint64_t value, value_two;
		long args[3];
		int want; /* bit i: args[i] matches */
	} cases[] = {
		{ "SCMP_CMP_NE", 10, 0, { 9, 10, 11 }, 0x5 },
		{ "SCMP_CMP_LT", 10, 0, { 9, 10, 11 }, 0x1 },
		{ "SCMP_CMP_LE", 10, 0, { 9, 10, 11 }, 0x3 },
		{ "SCMP_CMP_EQ", 10, 0, { 9, 10, 11 }, 0x2 },
		{ "SCMP_CMP_GE", 10, 0, { 9, 10, 11 }, 0x6 },
		{ "SCMP_CMP_GT", 10, 0, { 9, 10, 11 }, 0x4 },
		/* value is the mask, valueTwo the result */
		{ "SCMP_CMP_MASKED_EQ", 0xf0, 0x10, { 0x1f, 0x20, 0x10 }, 0x5 },
		/* all 64 bits take part on x86_64 */
		{ "SCMP_CMP_EQ", 1ULL << 32, 0, { 0, 1L << 32, (1L << 32) | 1 }, 0x2 },
	};

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *json = NULL;
		SeccompProgram *p;

		CHECK(asprintf(&json,
			       "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"getppid\"], "
			       "\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 99, \"args\": [{\"index\": 0, "
			       "\"value\": %" PRIu64 ", \"valueTwo\": %" PRIu64 ", \"op\": \"%s\"}]}]}",
			       cases[i].value, cases[i].value_two, cases[i].op) > 0);
		p = compile_ok(json);
		if (!p)
			continue;
		memcpy(op_values, cases[i].args, sizeof(op_values));
		if (in_child(p, op_pattern, 0) != cases[i].want)
			printf("# %s %" PRIu64 ": pattern %d, want %d\n", cases[i].op, cases[i].value,
			       in_child(p, op_pattern, 0), cases[i].want);
		CHECK_INTEQ(in_child(p, op_pattern, 0), cases[i].want);
		seccomp_program_free(p);
	}
}

static void test_includes_excludes_arches(void)
{
	SeccompProgram *p;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	if (seccomp_arch_native() != SCMP_ARCH_X86_64)
		SKIP("written for an amd64 host");
	p = compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		       "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 11,"
		       " \"includes\": {\"arches\": [\"arm64\", \"amd64\"]}},"
		       "{\"names\": [\"getuid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 12,"
		       " \"includes\": {\"arches\": [\"s390x\"]}},"
		       "{\"names\": [\"getgid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13,"
		       " \"excludes\": {\"arches\": [\"amd64\"]}},"
		       "{\"names\": [\"geteuid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 14,"
		       " \"excludes\": {\"arches\": [\"x86\"]}}]}");
	if (!p)
		return;
	CHECK_INTEQ(in_child(p, call_getppid, 0), 11);
	CHECK_INTEQ(in_child(p, call_getuid, 0), 0);
	CHECK_INTEQ(in_child(p, call_getgid, 0), 0);
	CHECK_INTEQ(in_child(p, call_geteuid, 0), 14);
	seccomp_program_free(p);
}

static void test_unlisted_abi_is_killed(void)
{
#ifdef __x86_64__
	SeccompProgram *p;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	/* Only x86_64 listed: x32 and i386 calls hit KILL_PROCESS, even with an allow-all default. */
	p = compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86_64\"]}");
	if (!p)
		return;
	CHECK_INTEQ(in_child(p, do_x32, (long)__NR_getppid << 32), -SIGSYS);
	CHECK_INTEQ(in_child(p, call_getppid, 0), 0);
	if (have_int80())
		CHECK_INTEQ(in_child(p, do_int80, (long)I386_NR_GETPID << 32), -SIGSYS);
	seccomp_program_free(p);

	/* No "architectures" at all: every ABI of the host gets the rules. */
	p = compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		       "{\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 33}]}");
	if (!p)
		return;
	CHECK_INTEQ(in_child(p, do_x32, (long)__NR_getpid << 32), 33);
	if (have_int80())
		CHECK_INTEQ(in_child(p, do_int80, (long)I386_NR_GETPID << 32), 33);
	seccomp_program_free(p);
#else
	SKIP("written for x86_64");
#endif
}

int main(void)
{
	if (!seccomp_test_setup())
		return EXIT_FAILURE;
	TEST(test_load_reports_errno);
	TEST(test_load_falls_back_to_prctl);
	TEST(test_actions);
	TEST(test_child_cannot_escape);
	TEST(test_operators);
	TEST(test_includes_excludes_arches);
	TEST(test_unlisted_abi_is_killed);
	return seccomp_test_done();
}
