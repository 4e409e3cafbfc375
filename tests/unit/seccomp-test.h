/* SPDX-License-Identifier: MIT */
/*
 * What the seccomp test programs share (test-seccomp.c: compiling profiles,
 * and every error naming its place; test-seccomp-shipped.c: default.json and
 * strict.json at work; test-seccomp-filter.c: loading a program, and what the
 * format's actions, operators and architecture conditions do in the kernel):
 * where the shipped profiles and the probe are, compiling, running a call or
 * a program in a bounded child under a filter, raw calls through the other
 * x86 ABIs, and the set-up and end of the programs. Included by one .c file
 * each; every helper is static inline so a program that does not use one is
 * not warned about it.
 *
 * Where the shipped profiles and the probe are: the environment's
 * VX11_SECCOMP_DIR and VX11_SECCOMP_PROBE, else the paths tests/local.mk
 * compiles in (VX11_SECCOMP_TEST_DIR, VX11_SECCOMP_TEST_PROBE), else
 * policy/seccomp and tests/seccomp-probe under the current directory.
 *
 * Children are bounded: each test forks a fixed number of them; every child
 * gets its own session and process group, an alarm that outlives execve, and (unless
 * root, whom the kernel exempts) an RLIMIT_NPROC just above what our uid
 * already runs; a child that a filter keeps from exiting traps instead of
 * returning into the tests; and the parent, a child subreaper, kills and
 * reaps each child's whole process group before it goes on.
 */
#pragma once

#include <asm/unistd.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <termios.h>
#include <time.h>

#include "policy/seccomp-profile.h"
#include "tap.h"

#define I386_NR_GETPID 20
#define I386_NR_UNSHARE 310
#define I386_NR_PERSONALITY 136L

#ifndef VX11_SECCOMP_TEST_DIR
#define VX11_SECCOMP_TEST_DIR "policy/seccomp"
#endif
#ifndef VX11_SECCOMP_TEST_PROBE
#define VX11_SECCOMP_TEST_PROBE "tests/seccomp-probe"
#endif

/* Exit codes of a child that could not get as far as the call under test. */
#define CHILD_NNP_FAILED 250
#define CHILD_LOAD_FAILED 251
#define CHILD_EXEC_FAILED 252

/* Seconds a child (and what it execs) may live; each needs milliseconds. */
#define CHILD_ALARM 30
/* Tasks a child may add to those our uid already runs. */
#define CHILD_TASKS_MAX 64

static inline const char *profile_dir(void)
{
	return getenv("VX11_SECCOMP_DIR") ?: VX11_SECCOMP_TEST_DIR;
}

/* A shipped profile by absolute path (the directory may be given relative); malloc'd. */
static inline char *profile_file(const char *file)
{
	_cleanup_free_ char *path = NULL;

	if (asprintf(&path, "%s/%s", profile_dir(), file) < 0)
		return NULL;
	return realpath(path, NULL);
}

static inline const char *probe_path(void)
{
	return getenv("VX11_SECCOMP_PROBE") ?: VX11_SECCOMP_TEST_PROBE;
}

/* RLIMIT_NPROC for children, set by seccomp_test_setup(); RLIM_INFINITY for root, who is exempt anyway. */
static rlim_t child_nproc = RLIM_INFINITY;

/* Tasks (threads included, as RLIMIT_NPROC counts them) whose real uid is uid. */
static inline rlim_t count_tasks(uid_t uid)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	rlim_t n = 0;

	if (!d)
		return RLIM_INFINITY;
	while ((de = readdir(d))) {
		char path[300], line[256];
		unsigned long real_uid = ULONG_MAX, threads = 0;
		FILE *f;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			sscanf(line, "Uid: %lu", &real_uid);
			sscanf(line, "Threads: %lu", &threads);
		}
		fclose(f);
		if (real_uid == uid)
			n += threads;
	}
	closedir(d);
	return n;
}

static inline void limit_children(void)
{
	struct rlimit rl;
	rlim_t n;

	if (getuid() == 0 || getrlimit(RLIMIT_NPROC, &rl) < 0)
		return;
	n = count_tasks(getuid());
	if (n != RLIM_INFINITY && n + CHILD_TASKS_MAX < rl.rlim_max)
		child_nproc = n + CHILD_TASKS_MAX;
}

/* The first thing a forked child does (see the top of the file). */
static inline void child_setup(void)
{
	(void)setsid(); /* also a process group, and no controlling terminal: see open_pty() */
	alarm(CHILD_ALARM);
	if (child_nproc != RLIM_INFINITY)
		(void)setrlimit(RLIMIT_NPROC, &(struct rlimit){ child_nproc, child_nproc });
}

/*
 * Waits for the child pid, then kills and reaps what is left of its process
 * group: as a subreaper we inherit its orphans. Returns the child's exit
 * status, -signal when it was killed, or -1001.
 */
static inline int reap(pid_t pid)
{
	int status, r;

	while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	(void)kill(-pid, SIGKILL);
	while (waitpid(-pid, NULL, 0) > 0 || errno == EINTR)
		;
	if (r < 0)
		return -1001;
	if (WIFSIGNALED(status))
		return -WTERMSIG(status);
	return WEXITSTATUS(status);
}

static inline bool kernel_has_seccomp(void)
{
	return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 && seccomp_api_get() >= 3;
}

/* The shipped profiles, compiled once for the whole run. */
static SeccompProgram *shipped_default, *shipped_strict;

static inline SeccompProgram *compile_ok(const char *json)
{
	SeccompProgram *p = NULL;
	_cleanup_free_ char *error = NULL;
	int r = seccomp_program_compile_json(json, "test", &p, &error);

	if (r < 0)
		printf("# compile failed: %d %s\n", r, error ?: "(no message)");
	CHECK_INTEQ(r, 0);
	return p;
}

/* Compiles json expecting failure; returns the message (static storage). */
static inline const char *compile_error(const char *json)
{
	static char msg[1024];
	SeccompProgram *p = (SeccompProgram *)0x1; /* must stay untouched */
	_cleanup_free_ char *error = NULL;
	int r = seccomp_program_compile_json(json, "test", &p, &error);

	CHECK_INTEQ(r, -EINVAL);
	CHECK(p == (SeccompProgram *)0x1);
	snprintf(msg, sizeof(msg), "%s", error ?: "(no message)");
	return msg;
}

/*
 * Ends a child with a bare exit_group(2): ASan's _exit() interceptor, and the
 * hook ASan puts before any call to a noreturn function, do work (sigaltstack,
 * mmap) that the filter under test may refuse. Hence also no _Noreturn here.
 * Should a filter refuse exit_group itself, the child traps (SIGILL) rather
 * than return into the tests and run them, forking, a second time.
 */
static inline void child_exit(int code)
{
	syscall(SYS_exit_group, code);
	__builtin_trap();
}

/*
 * Runs fn in a forked child, under p (after no_new_privs) unless p is NULL. Returns what fn
 * returns (0 or an errno), -signal when the child was killed, or one of the
 * CHILD_* codes.
 */
static inline int in_child(const SeccompProgram *p, int (*fn)(long), long arg)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1000;
	if (pid == 0) {
		int code;

		child_setup();
		if (p && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			code = CHILD_NNP_FAILED;
		else if (seccomp_program_load(p) < 0)
			code = CHILD_LOAD_FAILED;
		else
			code = fn(arg) & 0xff;
		child_exit(code);
	}
	return reap(pid);
}

/*
 * Execs argv under p with input on stdin; stdout goes to out. Returns the
 * exit status as in_child() does.
 */
static inline int exec_child(const SeccompProgram *p, char *const argv[], const char *input, char *out,
			     size_t size)
{
	static char *const envp[] = { "PATH=/usr/bin:/bin", "LC_ALL=C", NULL };
	int in_pipe[2], out_pipe[2];
	size_t len = 0;
	pid_t pid;

	out[0] = '\0';
	if (pipe2(in_pipe, O_CLOEXEC) < 0)
		return -1000;
	if (pipe2(out_pipe, O_CLOEXEC) < 0) {
		close(in_pipe[0]);
		close(in_pipe[1]);
		return -1000;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(in_pipe[0]);
		close(in_pipe[1]);
		close(out_pipe[0]);
		close(out_pipe[1]);
		return -1000;
	}
	if (pid == 0) {
		int code = CHILD_EXEC_FAILED;

		child_setup();
		if (dup2(in_pipe[0], STDIN_FILENO) < 0 || dup2(out_pipe[1], STDOUT_FILENO) < 0)
			code = CHILD_EXEC_FAILED;
		else if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			code = CHILD_NNP_FAILED;
		else if (seccomp_program_load(p) < 0)
			code = CHILD_LOAD_FAILED;
		else
			execve(argv[0], argv, envp);
		child_exit(code);
	}
	close(in_pipe[0]);
	close(out_pipe[1]);
	if (input && write(in_pipe[1], input, strlen(input)) < 0)
		printf("# write to child: %s\n", strerror(errno));
	close(in_pipe[1]);
	for (;;) {
		ssize_t n = read(out_pipe[0], out + len, size - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == size - 1)
			break;
	}
	out[len] = '\0';
	close(out_pipe[0]);
	return reap(pid);
}

/* Runs the probe's check under p; its one-line answer goes to out. */
static inline int probe(const SeccompProgram *p, const char *check, char *out, size_t size)
{
	char *argv[] = { (char *)probe_path(), (char *)check, NULL };
	int r = exec_child(p, argv, NULL, out, size);

	out[strcspn(out, "\n")] = '\0';
	return r;
}

/* The probe is built with the tests, so its absence is a failure, not a reason to skip. */
static inline bool have_probe(void)
{
	if (access(probe_path(), X_OK) == 0)
		return true;
	printf("# no probe at %s (set VX11_SECCOMP_PROBE): %s\n", probe_path(), strerror(errno));
	CHECK(!"tests/seccomp-probe is missing");
	return false;
}

/*
 * Checks that fn(arg) gives want under p while the kernel alone gives
 * something else. Returns false when the kernel's own answer is already want
 * (the caller skips), true otherwise.
 */
static inline bool check_filter_answers(const SeccompProgram *p, int (*fn)(long), long arg, int want,
					const char *what)
{
	int control = in_child(NULL, fn, arg);
	int got = in_child(p, fn, arg);

	if (control == want) {
		printf("# %s: the kernel already answers %d without a filter\n", what, want);
		return false;
	}
	if (got != want)
		printf("# %s: got %d (%s), without the filter %d\n", what, got,
		       got > 0 ? strerrorname_np(got) ?: "?" : got == 0 ? "success" : "signal or setup failure",
		       control);
	CHECK_INTEQ(got, want);
	return true;
}

/* ---- raw calls in children, also through x32 and i386; each returns 0 or errno ---- */

static inline int call_raw(long nr, long a0, long a1)
{
	return syscall(nr, a0, a1, 0, 0, 0, 0) < 0 ? errno : 0;
}

#ifdef __x86_64__
static inline int do_x32(long nr_and_arg)
{
	/* x32 numbers are the x86_64 ones with __X32_SYSCALL_BIT set. */
	return call_raw(__X32_SYSCALL_BIT | (nr_and_arg >> 32), nr_and_arg & 0xffffffff, 0);
}

static inline long int80(long nr, long a0)
{
	long r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a0) : "memory", "cc", "r8", "r9", "r10", "r11");
	return (int)r;
}

static inline int do_int80(long nr_and_arg)
{
	long r = int80(nr_and_arg >> 32, nr_and_arg & 0xffffffff);

	if (r < 0 && r > -4096)
		return (int)-r;
	return 0;
}

static inline bool have_int80(void)
{
	return in_child(NULL, do_int80, (long)I386_NR_GETPID << 32) == 0;
}
#endif

/* ---- set-up and end ---- */

/* Orphans of our children come to us, so that reap() can kill and collect
 * them; children run with a bounded RLIMIT_NPROC; the shipped profiles are
 * compiled (that they do, and how fast, is test-seccomp's to check). False,
 * after a bail-out line, when they do not. */
static inline bool seccomp_test_setup(void)
{
	_cleanup_free_ char *error = NULL, *error2 = NULL;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		printf("# PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));
	limit_children();
	if (child_nproc != RLIM_INFINITY)
		printf("# children run with RLIMIT_NPROC %llu\n", (unsigned long long)child_nproc);
	if (seccomp_program_compile("default", profile_dir(), &shipped_default, &error) < 0)
		printf("# default: %s\n", error ?: "(no message)");
	if (seccomp_program_compile("strict", profile_dir(), &shipped_strict, &error2) < 0)
		printf("# strict: %s\n", error2 ?: "(no message)");
	if (!shipped_default || !shipped_strict) {
		printf("Bail out! the shipped profiles did not compile (VX11_SECCOMP_DIR=%s)\n", profile_dir());
		shipped_default = seccomp_program_free(shipped_default);
		shipped_strict = seccomp_program_free(shipped_strict);
		return false;
	}
	return true;
}

static inline int seccomp_test_done(void)
{
	seccomp_program_free(shipped_default);
	seccomp_program_free(shipped_strict);
	return tap_done();
}
