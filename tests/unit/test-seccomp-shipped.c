/* SPDX-License-Identifier: MIT */
/*
 * The seccomp module, part 2: the shipped profiles at work, for real, in
 * forked children that set no_new_privs, load the program and then either
 * make the call themselves or exec a program (tests/seccomp-probe, /bin/sh,
 * ...). default.json refuses namespaces, mounts, clone3, TIOCSTI whatever
 * the high bits, and the kernel's attack surface, through every ABI;
 * strict.json still runs programs and pipelines, allows AF_UNIX only, kills
 * the other ABIs and lets sd_notify through.
 *
 * A denial is only counted when the same call in a child without the filter
 * gets another answer: an EPERM the kernel gives anyway proves nothing, and
 * such a check is skipped with the reason.
 *
 * Part 1, compiling, is test-seccomp.c; part 3, loading and the format's
 * semantics, test-seccomp-filter.c; what they share (and how children are
 * bounded) is seccomp-test.h.
 */
#include "seccomp-test.h"

/* ---- calls made in children; each returns 0 or errno ---- */

static int do_unshare(long flags)
{
	return unshare((int)flags) < 0 ? errno : 0;
}

static int do_mount(long unused)
{
	/* A target that does not exist: without a filter, ENOENT and no mount. */
	return mount("none", "/nonexistent-vx11-test", "tmpfs", 0, NULL) < 0 ? errno : 0;
}

static int do_setns(long unused)
{
	return setns(-1, 0) < 0 ? errno : 0; /* EBADF without a filter */
}

static int do_clone3(long unused)
{
	return call_raw(SYS_clone3, 0, 0);
}

/* CLONE_THREAD without CLONE_SIGHAND: the kernel refuses with EINVAL, so nothing is created. */
static int do_clone_flags(long ns_flag)
{
	return syscall(SYS_clone, (long)(CLONE_THREAD | ns_flag), 0L, 0L, 0L, 0L) < 0 ? errno : 0;
}

static int do_fork_clone(long unused)
{
	long pid = syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
	int status;

	if (pid < 0)
		return errno;
	if (pid == 0)
		child_exit(0);
	return waitpid((pid_t)pid, &status, 0) == pid && WIFEXITED(status) ? 0 : ECHILD;
}

/*
 * A new pty whose slave becomes the child's controlling terminal (the child
 * leads a session without one), so that an unprivileged TIOCSTI is allowed
 * where dev.tty.legacy_tiocsti is on.
 */
static int open_pty(void)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	const char *name;

	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 || !(name = ptsname(master)))
		return -1;
	return open(name, O_RDWR | O_CLOEXEC);
}

static int do_ioctl_pty(long request)
{
	int fd = open_pty();
	char c = 'x';

	if (fd < 0)
		return 200; /* a setup failure, not an answer */
	/* ioctl(2)'s glibc prototype takes unsigned long: the high bits reach the kernel as given. */
	return syscall(SYS_ioctl, fd, request, request == TCGETS ? (void *)&(struct termios){} : &c) < 0 ? errno
													      : 0;
}

static int do_bpf(long unused)
{
	return call_raw(SYS_bpf, -1, 0); /* no such command: EINVAL */
}

static int do_perf_event_open(long unused)
{
	return call_raw(SYS_perf_event_open, 0, 0); /* NULL attr: EFAULT */
}

static int do_keyctl(long unused)
{
	return call_raw(SYS_keyctl, -1, 0); /* no such operation: EOPNOTSUPP */
}

static int do_userfaultfd(long unused)
{
	return call_raw(SYS_userfaultfd, -1, 0); /* bad flags: EINVAL */
}

static int do_io_uring_setup(long unused)
{
	return call_raw(SYS_io_uring_setup, 0, 0); /* 0 entries: EINVAL */
}

static int do_getpid(long unused)
{
	return syscall(SYS_getpid) == getpid() ? 0 : EPROTO;
}

static int do_socket(long family)
{
	int fd = socket((int)family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* ---- default.json at work ---- */

static void test_default_unshare(void)
{
	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	if (!check_filter_answers(shipped_default, do_unshare, CLONE_NEWUSER, EPERM, "unshare(CLONE_NEWUSER)"))
		SKIP("unshare(CLONE_NEWUSER) fails with EPERM without a filter");
}

static void test_default_setns_and_mount(void)
{
	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	check_filter_answers(shipped_default, do_mount, 0, EPERM, "mount");
	check_filter_answers(shipped_default, do_setns, 0, EPERM, "setns");
}

static void test_default_clone3_enosys(void)
{
	char out[256];

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	check_filter_answers(shipped_default, do_clone3, 0, ENOSYS, "clone3");
	if (!have_probe())
		return;
	/* glibc's pthread_create tries clone3 and, on ENOSYS, uses clone without namespace flags. */
	CHECK_INTEQ(probe(shipped_default, "pthread", out, sizeof(out)), 0);
	CHECK_STREQ(out, "ok");
	CHECK_INTEQ(probe(shipped_default, "clone3", out, sizeof(out)), 0);
	CHECK_STREQ(out, "ENOSYS");
	CHECK_INTEQ(probe(shipped_default, "fork", out, sizeof(out)), 0);
	CHECK_STREQ(out, "ok");
}

static void test_default_clone_namespace_flags(void)
{
	static const long flags[] = { CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
				      CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET };

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	for (size_t i = 0; i < ELEMENTSOF(flags); i++)
		check_filter_answers(shipped_default, do_clone_flags, flags[i], EPERM, "clone(CLONE_NEW*)");
	/* Plain fork-style clone still works. */
	CHECK_INTEQ(in_child(shipped_default, do_fork_clone, 0), 0);
}

static void test_default_ioctl_tiocsti_high_bits(void)
{
	int control;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	control = in_child(NULL, do_ioctl_pty, TIOCSTI | (1L << 32));
	if (control == 200)
		SKIP("cannot open a pty");
	if (control != 0) {
		printf("# TIOCSTI without a filter: %d\n", control);
		SKIP("TIOCSTI is refused by the kernel already (dev.tty.legacy_tiocsti is off and we lack "
		     "CAP_SYS_ADMIN)");
	}
	/* Without the filter the high bit is ignored and TIOCSTI works: that is the bypass the mask stops. */
	CHECK_INTEQ(in_child(shipped_default, do_ioctl_pty, TIOCSTI), EPERM);
	CHECK_INTEQ(in_child(shipped_default, do_ioctl_pty, TIOCSTI | (1L << 32)), EPERM);
	CHECK_INTEQ(in_child(shipped_default, do_ioctl_pty, TIOCSTI | (long)(0xffffffffUL << 32)), EPERM);
	check_filter_answers(shipped_default, do_ioctl_pty, TIOCLINUX | (1L << 33), EPERM, "TIOCLINUX");
	/* Other ioctls pass. */
	CHECK_INTEQ(in_child(shipped_default, do_ioctl_pty, TCGETS), 0);
}

static void test_default_kernel_surface(void)
{
	static const struct {
		const char *name;
		int (*fn)(long);
	} calls[] = {
		{ "bpf", do_bpf },
		{ "perf_event_open", do_perf_event_open },
		{ "keyctl", do_keyctl },
		{ "userfaultfd", do_userfaultfd },
		{ "io_uring_setup", do_io_uring_setup },
	};
	unsigned checked = 0;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	for (size_t i = 0; i < ELEMENTSOF(calls); i++)
		checked += check_filter_answers(shipped_default, calls[i].fn, 0, EPERM, calls[i].name);
	if (checked == 0)
		SKIP("the kernel refuses all of these with EPERM already");
}

static void test_default_allows_getpid(void)
{
	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	CHECK_INTEQ(in_child(shipped_default, do_getpid, 0), 0);
	CHECK_INTEQ(in_child(shipped_default, do_socket, AF_INET), 0);
}

static void test_default_x32_abi(void)
{
#ifdef __x86_64__
	int control, got;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	/*
	 * The filter runs before the kernel looks at the x32 bit, so EPERM comes
	 * from the filter's x32 rules even where x32 is disabled (ENOSYS).
	 */
	control = in_child(NULL, do_x32, ((long)__NR_unshare << 32) | CLONE_NEWUSER);
	got = in_child(shipped_default, do_x32, ((long)__NR_unshare << 32) | CLONE_NEWUSER);
	printf("# x32 unshare: %d without the filter (%s), %d with it\n", control,
	       control == ENOSYS ? "x32 disabled in this kernel" : "x32 enabled", got);
	CHECK(got != 0);
	CHECK_INTEQ(got, EPERM);
	/* An allowed x32 call is not stopped by the filter: it gets the kernel's own answer. */
	CHECK_INTEQ(in_child(shipped_default, do_x32, (long)__NR_getppid << 32),
		    in_child(NULL, do_x32, (long)__NR_getppid << 32));
#else
	SKIP("x32 exists only beside x86_64");
#endif
}

static void test_default_i386_abi(void)
{
#ifdef __x86_64__
	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	if (!have_int80())
		SKIP("the kernel has no IA32 emulation (int 0x80)");
	if (!check_filter_answers(shipped_default, do_int80, ((long)I386_NR_UNSHARE << 32) | CLONE_NEWUSER, EPERM,
				  "int 0x80 unshare"))
		SKIP("unshare(CLONE_NEWUSER) fails with EPERM without a filter");
	CHECK_INTEQ(in_child(shipped_default, do_int80, (long)I386_NR_GETPID << 32), 0);
#else
	SKIP("int 0x80 is x86");
#endif
}

/* personality(2): Docker's harmless values pass, every other value is
 * refused (ADDR_NO_RANDOMIZE would turn ASLR off, READ_IMPLIES_EXEC makes
 * data executable), through each ABI the profile filters. */
static const unsigned long personality_allowed[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };
static const unsigned long personality_denied[] = {
	0x0040000 /* ADDR_NO_RANDOMIZE */, 0x0400000 /* READ_IMPLIES_EXEC */, 0x0200000 /* ADDR_COMPAT_LAYOUT */,
	0x0100000 /* MMAP_PAGE_ZERO */,	   0x0800000 /* ADDR_LIMIT_32BIT */,  0x8000000 /* ADDR_LIMIT_3GB */,
	0x0040008,			   0x0060000,			      0x1,
	0x6 /* PER_BSD */,		   0x80000000,			      0x7fffffff,
	0xfffffffe,
};

static int do_personality(long v)
{
	return syscall(SYS_personality, (unsigned long)v) < 0 ? errno : 0;
}

static void test_default_personality(void)
{
	char what[64];

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	for (size_t i = 0; i < ELEMENTSOF(personality_allowed); i++) {
		long v = (long)personality_allowed[i];
		if (in_child(shipped_default, do_personality, v) != 0)
			printf("# personality(%#lx) refused\n", (unsigned long)v);
		CHECK_INTEQ(in_child(shipped_default, do_personality, v), 0);
#ifdef __x86_64__
		CHECK_INTEQ(in_child(shipped_default, do_x32, ((long)__NR_personality << 32) | v),
			    in_child(NULL, do_x32, ((long)__NR_personality << 32) | v));
		if (have_int80())
			CHECK_INTEQ(in_child(shipped_default, do_int80, (I386_NR_PERSONALITY << 32) | v), 0);
#endif
	}
	for (size_t i = 0; i < ELEMENTSOF(personality_denied); i++) {
		long v = (long)personality_denied[i];
		snprintf(what, sizeof(what), "personality(%#lx)", (unsigned long)v);
		check_filter_answers(shipped_default, do_personality, v, EPERM, what);
		/* The kernel reads an unsigned int: high bits set by a caller change nothing. */
		CHECK_INTEQ(in_child(shipped_default, do_personality, v | (0x5aL << 32)), EPERM);
#ifdef __x86_64__
		/* x32 and i386 meet the same rules (EPERM even where x32 is disabled). */
		CHECK_INTEQ(in_child(shipped_default, do_x32, ((long)__NR_personality << 32) | v), EPERM);
		if (have_int80())
			CHECK_INTEQ(in_child(shipped_default, do_int80, (I386_NR_PERSONALITY << 32) | v), EPERM);
#endif
	}
	/* strict.json does not list personality: refused whatever the value. */
	CHECK_INTEQ(in_child(shipped_strict, do_personality, 0x0040000), EPERM);
}

/* ---- strict.json at work ---- */

static void test_strict_runs_programs(void)
{
	char out[256];

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	CHECK_INTEQ(exec_child(shipped_strict, (char *[]){ "/bin/true", NULL }, NULL, out, sizeof(out)), 0);
	CHECK_INTEQ(exec_child(shipped_strict, (char *[]){ "/bin/sh", "-c", "echo ok", NULL }, NULL, out, sizeof(out)),
		    0);
	CHECK_STREQ(out, "ok\n");
	CHECK_INTEQ(exec_child(shipped_strict, (char *[]){ "/bin/cat", NULL }, "hello\nworld\n", out, sizeof(out)), 0);
	CHECK_STREQ(out, "hello\nworld\n");
	/* A shell pipeline forks and waits. */
	CHECK_INTEQ(exec_child(shipped_strict, (char *[]){ "/bin/sh", "-c", "echo a b | /bin/cat", NULL }, NULL, out,
			       sizeof(out)),
		    0);
	CHECK_STREQ(out, "a b\n");
}

static void test_strict_sockets(void)
{
	char out[256];

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	check_filter_answers(shipped_strict, do_socket, AF_INET, EPERM, "socket(AF_INET)");
	check_filter_answers(shipped_strict, do_socket, AF_INET6, EPERM, "socket(AF_INET6)");
	CHECK_INTEQ(in_child(shipped_strict, do_socket, AF_UNIX), 0);
	/* The AF_UNIX comparison looks at the low 32 bits only, as the kernel does. */
	check_filter_answers(shipped_strict, do_socket, AF_INET | (1L << 32), EPERM, "socket(AF_INET | 1 << 32)");
	if (!have_probe())
		return;
	CHECK_INTEQ(probe(shipped_strict, "socket-inet", out, sizeof(out)), 0);
	CHECK_STREQ(out, "EPERM");
	CHECK_INTEQ(probe(shipped_strict, "socket-unix", out, sizeof(out)), 0);
	CHECK_STREQ(out, "ok");
	CHECK_INTEQ(probe(shipped_strict, "pthread", out, sizeof(out)), 0);
	CHECK_STREQ(out, "ok");
}

static void test_strict_denies_the_rest(void)
{
	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	check_filter_answers(shipped_strict, do_unshare, CLONE_NEWUSER, EPERM, "unshare");
	check_filter_answers(shipped_strict, do_mount, 0, EPERM, "mount");
	check_filter_answers(shipped_strict, do_bpf, 0, EPERM, "bpf");
	check_filter_answers(shipped_strict, do_clone_flags, CLONE_NEWNET, EPERM, "clone(CLONE_NEWNET)");
	CHECK_INTEQ(in_child(shipped_strict, do_fork_clone, 0), 0);
}

static void test_strict_kills_other_abis(void)
{
#ifdef __x86_64__
	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	/* strict lists only native ABIs: x32 and i386 calls meet the bad-arch action. */
	CHECK_INTEQ(in_child(shipped_strict, do_x32, (long)__NR_getppid << 32), -SIGSYS);
	if (have_int80())
		CHECK_INTEQ(in_child(shipped_strict, do_int80, (long)I386_NR_GETPID << 32), -SIGSYS);
	else
		printf("# no IA32 emulation (int 0x80) in this kernel: only x32 checked\n");
#else
	SKIP("x32 and int 0x80 are x86");
#endif
}

static int do_sd_notify(long unused)
{
	int r = sd_notify(0, "READY=1\nSTATUS=confined");

	return r > 0 ? 0 : r == 0 ? ENOTCONN : -r;
}

/* sd_notify(3) from a daughter, as a job would report readiness or heartbeats. */
static void test_strict_sd_notify(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[256];
	ssize_t n;
	int fd;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/test-seccomp-notify-%d", (int)getpid());
	(void)unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(setenv("NOTIFY_SOCKET", sa.sun_path, 1) == 0);

	CHECK_INTEQ(in_child(shipped_strict, do_sd_notify, 0), 0);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	CHECK(n > 0);
	buf[MAX(n, 0)] = '\0';
	CHECK_STREQ(buf, "READY=1\nSTATUS=confined");
	/* The control: where sending is refused, sd_notify fails and nothing arrives. */
	{
		SeccompProgram *p = compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
					       "{\"names\": [\"sendmsg\", \"sendto\"], \"action\": \"SCMP_ACT_ERRNO\"}]}");

		CHECK_INTEQ(in_child(p, do_sd_notify, 0), EPERM);
		CHECK(recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT) < 0 && errno == EAGAIN);
		seccomp_program_free(p);
	}

	unsetenv("NOTIFY_SOCKET");
	close(fd);
	unlink(sa.sun_path);
}

int main(void)
{
	if (!seccomp_test_setup())
		return EXIT_FAILURE;
	TEST(test_default_unshare);
	TEST(test_default_setns_and_mount);
	TEST(test_default_clone3_enosys);
	TEST(test_default_clone_namespace_flags);
	TEST(test_default_ioctl_tiocsti_high_bits);
	TEST(test_default_kernel_surface);
	TEST(test_default_allows_getpid);
	TEST(test_default_x32_abi);
	TEST(test_default_i386_abi);
	TEST(test_default_personality);
	TEST(test_strict_runs_programs);
	TEST(test_strict_sockets);
	TEST(test_strict_denies_the_rest);
	TEST(test_strict_kills_other_abis);
	TEST(test_strict_sd_notify);
	return seccomp_test_done();
}
