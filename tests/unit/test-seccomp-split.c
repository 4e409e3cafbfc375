/* SPDX-License-Identifier: MIT */
/*
 * The seccomp module, part 4: a profile split for the zygote (sandbox/seccomp.h,
 * policy/seccomp-profile.h). In forked children, for real: under the variant
 * alone the zygote's clone3, namespace and mount calls go through
 * (unshare(CLONE_NEWUSER) excepted); with the dropped filter stacked on it, every call answers exactly as
 * under the whole profile, errno values included. Profiles that cannot be split
 * exactly get no split.
 */
#include "seccomp-test.h"

enum { FULL, VARIANT, STACKED };

static int do_unshare(long flags)
{
	return unshare((int)flags) < 0 ? errno : 0;
}

static int do_mount(long unused)
{
	return mount("none", "/nonexistent-vx11-test", "tmpfs", 0, NULL) < 0 ? errno : 0;
}

static int do_setns(long unused)
{
	return setns(-1, 0) < 0 ? errno : 0;
}

static int do_clone3(long unused)
{
	return call_raw(SYS_clone3, 0, 0);
}

static int do_getpid(long unused)
{
	return getpid() > 0 ? 0 : EIO;
}

static int do_socket(long family)
{
	int fd = socket((int)family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* fn(arg) in a child under p's whole filter, its variant, or its variant and then its dropped rules. */
static int split_child(const SeccompProgram *p, int how, int (*fn)(long), long arg)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1000;
	if (pid == 0) {
		int code;

		child_setup();
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			code = CHILD_NNP_FAILED;
		else if (how == FULL ? seccomp_program_load(p) < 0 : seccomp_fprog_load(&p->variant) < 0)
			code = CHILD_LOAD_FAILED;
		else if (how == STACKED && seccomp_fprog_load(&p->dropped) < 0)
			code = CHILD_LOAD_FAILED;
		else
			code = fn(arg) & 0xff;
		child_exit(code);
	}
	return reap(pid);
}

/* Stacked answers as the whole profile does (and that answer is want). */
static void check_same(const SeccompProgram *p, int (*fn)(long), long arg, int want, const char *what)
{
	int full = split_child(p, FULL, fn, arg), stacked = split_child(p, STACKED, fn, arg);

	if (full != want || stacked != want)
		printf("# %s: whole profile %d, variant + dropped %d, expected %d\n", what, full, stacked, want);
	CHECK_INTEQ(full, want);
	CHECK_INTEQ(stacked, want);
}

static void test_default_split(void)
{
	const SeccompProgram *p = shipped_default;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	CHECK(p->variant.len > 0);
	printf("# default: %u instructions, variant %u, dropped %u\n", p->prog.len, p->variant.len, p->dropped.len);
	/* A few rules, not the profile again: attaching it costs little. */
	CHECK(p->dropped.len > 0 && p->dropped.len < p->prog.len / 4);
	if (getuid() != 0)
		SKIP("not root: unshare(CLONE_NEWIPC) fails without a filter too");
	/* The zygote's steps get through the variant... */
	CHECK_INTEQ(split_child(p, VARIANT, do_unshare, CLONE_NEWIPC), 0);
	CHECK_INTEQ(split_child(p, VARIANT, do_unshare, CLONE_NEWIPC | CLONE_NEWNS), 0);
	CHECK_INTEQ(split_child(p, VARIANT, do_mount, 0), ENOENT);
	/* ...but no user namespace, ever. */
	CHECK_INTEQ(split_child(p, VARIANT, do_unshare, CLONE_NEWUSER), EPERM);
	CHECK_INTEQ(split_child(p, VARIANT, do_unshare, CLONE_NEWUSER | CLONE_NEWIPC), EPERM);
	/* The zygote's clone3 (CLONE_INTO_CGROUP) gets through: the kernel's own EINVAL (no args). */
	CHECK_INTEQ(split_child(p, VARIANT, do_clone3, 0), EINVAL);
	/* What the split leaves alone stays in the variant. */
	CHECK_INTEQ(split_child(p, VARIANT, do_setns, 0), EPERM);
	/* Stacked: exactly the profile. */
	check_same(p, do_unshare, CLONE_NEWIPC, EPERM, "unshare(CLONE_NEWIPC)");
	check_same(p, do_unshare, CLONE_NEWUSER, EPERM, "unshare(CLONE_NEWUSER)");
	check_same(p, do_mount, 0, EPERM, "mount");
	check_same(p, do_setns, 0, EPERM, "setns");
	check_same(p, do_clone3, 0, ENOSYS, "clone3");
	check_same(p, do_getpid, 0, 0, "getpid");
}

static void test_strict_split(void)
{
	const SeccompProgram *p = shipped_strict;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	CHECK(p->variant.len > 0);
	CHECK(p->dropped.len > 0);
	check_same(p, do_unshare, CLONE_NEWIPC, EPERM, "unshare(CLONE_NEWIPC)");
	check_same(p, do_unshare, CLONE_NEWUSER, EPERM, "unshare(CLONE_NEWUSER)");
	check_same(p, do_mount, 0, EPERM, "mount");
	check_same(p, do_clone3, 0, ENOSYS, "clone3");
	check_same(p, do_socket, AF_INET, EPERM, "socket(AF_INET)");
	check_same(p, do_socket, AF_UNIX, 0, "socket(AF_UNIX)");
	check_same(p, do_getpid, 0, 0, "getpid");
	if (getuid() == 0)
		CHECK_INTEQ(split_child(p, VARIANT, do_unshare, CLONE_NEWIPC), 0);
}

/* The profile's own errno values survive the split: the variant and the dropped rules agree. */
static void test_errno_values_kept(void)
{
	_cleanup_seccomp_program_ SeccompProgram *p = compile_ok(
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13},"
		"{\"names\": [\"unshare\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 22}]}");

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	CHECK(p && p->variant.len > 0);
	CHECK_INTEQ(split_child(p, VARIANT, do_unshare, CLONE_NEWUSER), 22);
	check_same(p, do_mount, 0, EACCES, "mount");
	check_same(p, do_unshare, CLONE_NEWUSER, EINVAL, "unshare(CLONE_NEWUSER)");
	check_same(p, do_unshare, CLONE_NEWIPC, EINVAL, "unshare(CLONE_NEWIPC)");
}

/* A profile that allows the calls the zygote needs has nothing to drop. */
static void test_nothing_to_drop(void)
{
	_cleanup_seccomp_program_ SeccompProgram *p = compile_ok(
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_ERRNO\"}]}");

	CHECK(p && p->variant.len > 0);
	CHECK_INTEQ(p->dropped.len, 0);
}

/* Conditional rules the dropped filter could not reproduce exactly: no split, and why. */
static void test_no_split(void)
{
	_cleanup_seccomp_program_ SeccompProgram *a = compile_ok(
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"unshare\"], "
		"\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": 1073741824, "
		"\"valueTwo\": 1073741824, \"op\": \"SCMP_CMP_MASKED_EQ\"}]}]}");
	_cleanup_seccomp_program_ SeccompProgram *b = compile_ok(
		"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": ["
		"{\"names\": [\"execve\", \"exit_group\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\"},"
		"{\"names\": [\"prctl\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 38, "
		"\"op\": \"SCMP_CMP_EQ\"}]}]}");

	CHECK(a && a->variant.len == 0 && a->dropped.len == 0);
	CHECK_STREQ(a->zygote_why_not, "unshare");
	CHECK(b && b->variant.len == 0);
	CHECK_STREQ(b->zygote_why_not, "prctl");
}

int main(void)
{
	if (!seccomp_test_setup())
		return EXIT_FAILURE;
	TEST(test_default_split);
	TEST(test_strict_split);
	TEST(test_errno_values_kept);
	TEST(test_nothing_to_drop);
	TEST(test_no_split);
	return seccomp_test_done();
}
