/* SPDX-License-Identifier: MIT */
/*
 * What the spawner's two test programs share (test-spawn.c: the daughter's
 * plumbing and process state; test-spawn-confine.c: privileges, namespaces,
 * seccomp, the hostile probe, threads and timing): the job cgroups, the
 * shared loopback namespace and the default profile they run under, running
 * one daughter and reading what it saw, and the program's set-up and end.
 * Included by one .c file each; every helper is static inline so a program
 * that does not use one is not warned about it.
 *
 * Where the shipped seccomp profiles and the probe are: the environment's
 * VX11_SECCOMP_DIR and VX11_SPAWN_PROBE, else the paths tests/local.mk
 * compiles in (VX11_SECCOMP_TEST_DIR, VX11_SPAWN_TEST_PROBE), else
 * policy/seccomp and tests/hostile-probe under the current directory.
 *
 * Bounded: every daughter is waited for at most 30 s and then killed with
 * its whole cgroup; the confined ones have pids.max; the probe's own children
 * carry an alarm; we are a child subreaper and reap everything before we end;
 * and the whole program has an alarm of its own.
 */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/capability.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/cgroup.h"
#include "sandbox/netns.h"
#include "policy/seccomp-profile.h"
#include "sandbox/spawn.h"
#include "tap.h"
#include "util.h"

#ifndef VX11_SECCOMP_TEST_DIR
#define VX11_SECCOMP_TEST_DIR "policy/seccomp"
#endif
#ifndef VX11_SPAWN_TEST_PROBE
#define VX11_SPAWN_TEST_PROBE "tests/hostile-probe"
#endif

#define TEST_UID 61184
#define TEST_GID 61190 /* not the uid: a swapped setresuid/setresgid would show */
#define OUT_MAX 65536
#define TEST_ALARM 600

static CgroupInfo info;
static CgroupManager *mgr;
static char rel[64];                /* our cgroup root, relative to each mount */
static char testdir[PATH_MAX]; /* /run/vx11-test-spawn-<pid>: visible to daughters, private /tmp or not */
static SeccompProgram *default_profile;
static int netns_fd = -1;
static SpawnMethod method = SPAWN_METHOD_FORK;
static char *const test_env[] = { "PATH=/usr/bin:/bin", "LC_ALL=C", NULL };

/* ---- plumbing --------------------------------------------------------------------------------- */

static inline char *pathf(char *buf, size_t size, const char *fmt, ...) _printf_(3, 4);
static inline char *pathf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return buf;
}

static inline int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	buf[0] = 0;
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

static inline Cgroup *acquire(int64_t pids_max)
{
	CgroupLimits l = CGROUP_LIMITS_NONE;
	_cleanup_free_ char *err = NULL, *unapplied = NULL;
	Cgroup *c = NULL;
	int r;

	l.pids_max = pids_max;
	l.memory_max = 256ull << 20;
	r = cgroup_acquire(mgr, &l, &c, &unapplied, &err);
	if (r < 0)
		printf("# cgroup_acquire: %s (%s)\n", strerror(-r), err ?: "");
	if (unapplied)
		printf("# unapplied: %s\n", unapplied);
	return c;
}

static inline void base_request(SpawnRequest *r, char **argv, const Cgroup *cg)
{
	spawn_request_init(r);
	r->argv = argv;
	r->envp = test_env;
	r->uid = TEST_UID;
	r->gid = TEST_GID;
	r->cgroup = cg;
	r->method = method;
}

/* The whole of the full confinement, as the daemon will ask for it. */
static inline void confine(SpawnRequest *r)
{
	r->seccomp = default_profile;
	r->netns_fd = netns_fd;
	r->private_tmp = true;
	r->read_only_system = true;
	r->rlimits.nofile = 256;
}

/* Reap a daughter through its pidfd, within 30 s; else kill it (and its cgroup). si_code -1 on failure. */
static inline siginfo_t reap(int pidfd, Cgroup *cg)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	siginfo_t si = { 0 };

	if (poll(&p, 1, 30000) != 1) {
		printf("# daughter did not end: killed\n");
		(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		if (cg)
			(void)cgroup_kill(cg);
		(void)waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED);
		si.si_code = -1;
		return si;
	}
	if (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0)
		si.si_code = -1;
	return si;
}

static inline bool exited_0(const siginfo_t *si)
{
	if (si->si_code == CLD_EXITED && si->si_status == 0)
		return true;
	printf("# daughter ended: code %d status %d\n", si->si_code, si->si_status);
	return false;
}

/* Read a pipe until EOF, within 20 s. */
static inline int drain(int fd, char *buf, size_t size)
{
	size_t l = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 20000) <= 0)
			return -ETIMEDOUT;
		n = read(fd, buf + l, size - 1 - l);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		l += (size_t)n;
		if (l == size - 1)
			break;
	}
	buf[l] = 0;
	return (int)l;
}

typedef struct Run {
	int r;               /* spawn_daughter's */
	char *error;         /* its message */
	siginfo_t si;        /* how it ended, if spawned */
	char out[OUT_MAX];   /* stdout */
	char err[OUT_MAX];   /* stderr */
} Run;

static inline void run_done(Run *run)
{
	free(run->error);
	free(run);
}

/* Spawn r with stdout and stderr on pipes (and input on stdin, if not NULL), collect both, reap. */
static inline Run *run(SpawnRequest *r, const char *input, Cgroup *cg)
{
	Run *run = calloc(1, sizeof(Run));
	int out[2], err[2], in[2] = { -1, -1 }, pidfd = -1;
	pid_t pid;

	if (!run)
		abort();
	run->si.si_code = -1;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || (input && pipe2(in, O_CLOEXEC) < 0))
		abort();
	r->stdout_fd = out[1];
	r->stderr_fd = err[1];
	if (input)
		r->stdin_fd = in[0];
	run->r = spawn_daughter(r, &pid, &pidfd, &run->error);
	close(out[1]);
	close(err[1]);
	if (input) {
		close(in[0]);
		if (run->r >= 0 && write(in[1], input, strlen(input)) != (ssize_t)strlen(input))
			printf("# writing stdin: %m\n");
		close(in[1]);
	}
	if (run->r >= 0) {
		if (drain(out[0], run->out, sizeof(run->out)) < 0 ||
		    drain(err[0], run->err, sizeof(run->err)) < 0)
			printf("# reading the daughter's output timed out\n");
		run->si = reap(pidfd, cg);
		close(pidfd);
	} else
		printf("# spawn: %s (%s)\n", strerror(-run->r), run->error ?: "");
	close(out[0]);
	close(err[0]);
	return run;
}

/* Run argv in a fresh job cgroup with the base request plus what adjust() sets. */
static inline Run *run_simple(char **argv, void (*adjust)(SpawnRequest *), const char *input)
{
	SpawnRequest r;
	Cgroup *cg = acquire(64);
	Run *res;

	base_request(&r, argv, cg);
	if (adjust)
		adjust(&r);
	res = run(&r, input, cg);
	if (cg)
		cgroup_release(mgr, cg);
	return res;
}

/* The value after "<key>:" in a /proc/<pid>/status text, whitespace squeezed to single spaces. */
static inline char *status_value(const char *text, const char *key, char *buf, size_t size)
{
	char pat[64];
	const char *p;
	size_t l = 0;

	buf[0] = 0;
	pathf(pat, sizeof(pat), "\n%s:", key);
	p = strstr(text, pat);
	if (!p && strncmp(text, pat + 1, strlen(pat + 1)) == 0)
		p = text - 1;
	if (!p)
		return buf;
	p += strlen(pat);
	p += strspn(p, " \t");
	for (; *p && *p != '\n' && l + 1 < size; p++) {
		if (*p == '\t' || *p == ' ') {
			if (l > 0 && buf[l - 1] != ' ')
				buf[l++] = ' ';
			continue;
		}
		buf[l++] = *p;
	}
	while (l > 0 && buf[l - 1] == ' ')
		l--;
	buf[l] = 0;
	return buf;
}

/* No child of ours is left, zombie or not. */
static inline bool no_children(void)
{
	siginfo_t si = { 0 };

	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG) < 0 && errno == ECHILD;
}


/* Behaviour tests run once per spawn method. */
#define VARIANTS(fn)                                                                                       \
	static void fn##_fork(void)                                                                        \
	{                                                                                                  \
		method = SPAWN_METHOD_FORK;                                                                \
		fn();                                                                                      \
	}                                                                                                  \
	static void fn##_vfork(void)                                                                       \
	{                                                                                                  \
		if (spawn_method_default() != SPAWN_METHOD_VFORK)                                          \
			SKIP("no vfork-style spawning on this architecture");                             \
		method = SPAWN_METHOD_VFORK;                                                               \
		fn();                                                                                      \
	}


/* make check runs them all; "test-spawn NAME..." only those whose names contain one of NAME. */
static char **filter;

static inline bool selected(const char *name)
{
	if (!filter || !filter[0])
		return true;
	for (char **f = filter; *f; f++)
		if (strstr(name, *f))
			return true;
	return false;
}

#define RUN(fn)                                                                                            \
	do {                                                                                               \
		if (selected(#fn))                                                                         \
			TEST(fn);                                                                          \
	} while (0)

/* Root, the cgroup root, the shared network namespace, the default profile
 * and a directory daughters can see. False with *ret_exit set (after a TAP
 * plan or bail-out line) when the program cannot or need not go on. */
static inline bool spawn_test_setup(char **argv, int *ret_exit)
{
	_cleanup_free_ char *err = NULL, *profile_dir = NULL;
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	filter = argv + 1;
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root\n");
		{ *ret_exit = 0; return false; }
	}
	alarm(TEST_ALARM);
	/* Orphans of daughters (the probe's children, should it die first) come to us and are reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	cgroup_detect(&info);
	if (info.mode != CGROUP_MODE_UNIFIED && info.mode != CGROUP_MODE_HYBRID) {
		printf("1..0 # SKIP no cgroup2 tree (mode %s)\n", cgroup_mode_to_string(info.mode));
		{ *ret_exit = 0; return false; }
	}
	pathf(rel, sizeof(rel), "vx11-test-spawn-%d", (int)getpid());
	r = cgroup_manager_new(&info, rel, &mgr, &err);
	if (r < 0) {
		printf("1..0 # SKIP cgroup_manager_new: %s (%s)\n", strerror(-r), err ?: "");
		{ *ret_exit = 0; return false; }
	}
	r = netns_loopback_open(&netns_fd);
	if (r < 0) {
		printf("Bail out! netns_loopback_open: %s\n", strerror(-r));
		{ *ret_exit = 1; return false; }
	}
	profile_dir = strdup(getenv("VX11_SECCOMP_DIR") ?: VX11_SECCOMP_TEST_DIR);
	r = seccomp_program_compile("default", profile_dir, &default_profile, &err);
	if (r < 0) {
		printf("Bail out! seccomp profile \"default\" in %s: %s\n", profile_dir,
		       err ?: strerror(-r));
		{ *ret_exit = 1; return false; }
	}
	pathf(testdir, sizeof(testdir), "/run/vx11-test-spawn-%d", (int)getpid());
	if (mkdir(testdir, 0755) < 0) {
		printf("Bail out! mkdir %s: %m\n", testdir);
		{ *ret_exit = 1; return false; }
	}
	printf("# cgroups: %s; vfork-style: %s\n", cgroup_mode_to_string(info.mode),
	       spawn_method_default() == SPAWN_METHOD_VFORK ? "yes" : "no");
	return true;
}

/* The last test of each program: nothing of ours is left. */
static inline void test_nothing_left(void)
{
	_cleanup_free_ char *names = NULL;
	char p[PATH_MAX];

	CHECK(no_children());
	/* Every job cgroup we used is empty; freeing the manager removes them and our root. */
	cgroup_manager_free(mgr);
	mgr = NULL;
	CHECK(access(pathf(p, sizeof(p), "%s/%s", info.unified_root, rel), F_OK) < 0);
	if (info.mode == CGROUP_MODE_HYBRID)
		CHECK(access(pathf(p, sizeof(p), "/sys/fs/cgroup/pids/%s", rel), F_OK) < 0);
}

static inline int spawn_test_done(void)
{
	{
		char p[PATH_MAX];
		unlink(pathf(p, sizeof(p), "%s/hostile-probe", testdir));
		rmdir(testdir);
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	cgroup_manager_free(mgr);
	close(netns_fd);
	seccomp_program_free(default_profile);
	cgroup_info_done(&info);
	return tap_done();
}
