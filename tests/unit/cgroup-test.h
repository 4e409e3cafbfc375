/* SPDX-License-Identifier: MIT */
/*
 * What cgroup.c's two test programs share (test-cgroup.c: detection, the
 * manager's root and the limits; test-cgroup-job.c: killing a job cgroup,
 * releasing and reusing it, and what a crashed daemon left): the helper modes
 * the children run, spawning one into a job cgroup and waiting for it,
 * reading cgroupfs and /proc, and the program's set-up and end. Included by
 * one .c file each; every helper is static inline so a program that does not
 * use one is not warned about it.
 *
 * Job cgroups are made under "vx11-test-<pid>", children are created in them
 * with clone3 (CLONE_INTO_CGROUP | CLONE_PIDFD) and run the test program's
 * own binary in a helper mode (sleep, daemonize, forkbomb, eat, spin), so
 * each check sees what a daughter would do. Runs on hybrid hosts as is and
 * on pure v2 hosts through tests/run-v2.sh.
 */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/cgroup-internal.h"
#include "sandbox/cgroup.h"
#include "tap.h"
#include "util.h"

#define MIB (UINT64_C(1) << 20)

static CgroupInfo info;
static char rel[64];  /* our test root, relative to each mount */
static char self_exe[PATH_MAX];

static inline bool is_v2(void)
{
	return info.mode == CGROUP_MODE_UNIFIED;
}

/* ---- helper modes: what the children run ---------------------------------------------------- */

static inline void say(const char *fmt, ...) _printf_(1, 2);
static inline void say(const char *fmt, ...)
{
	char buf[96];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (write(STDOUT_FILENO, buf, (size_t)n) < 0)
		_exit(3);
}

/* snprintf for paths: these never truncate in practice, and a truncated one would just not match. */
static inline char *pathf(char *buf, size_t size, const char *fmt, ...) _printf_(3, 4);
static inline char *pathf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return buf;
}

static inline uint64_t cpu_usec_self(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

static inline int helper(int argc, char **argv)
{
	const char *mode = argv[1];
	long arg = argc > 2 ? atol(argv[2]) : 0;

	if (streq(mode, "true"))
		return 0;
	if (streq(mode, "sleep")) {
		say("ready\n");
		for (;;)
			pause();
	}
	if (streq(mode, "wait-stdin")) { /* exits when the test closes the pipe */
		char c;
		say("ready\n");
		while (read(STDIN_FILENO, &c, 1) > 0)
			;
		_exit(0);
	}
	if (streq(mode, "daemonize")) { /* fork, setsid, fork: "<grandchild> <its sid>" */
		pid_t middle = fork();
		if (middle < 0)
			_exit(1);
		if (middle > 0)
			_exit(0);
		if (setsid() < 0)
			_exit(1);
		pid_t g = fork();
		if (g < 0)
			_exit(1);
		if (g > 0)
			_exit(0);
		say("%ld %ld\n", (long)getpid(), (long)getsid(0));
		close(STDOUT_FILENO);
		for (;;)
			pause();
	}
	if (streq(mode, "forkbomb")) { /* "<children made> <errno of the failed fork>" */
		long n = 0;
		for (;;) {
			pid_t p = fork();
			if (p == 0)
				for (;;)
					pause();
			if (p < 0) {
				say("%ld %ld\n", n, (long)errno);
				_exit(0);
			}
			n++;
		}
	}
	if (streq(mode, "eat")) { /* touch arg MiB */
		size_t len = (size_t)arg * MIB;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(2);
		for (size_t k = 0; k < len; k += 4096)
			p[k] = 1;
		_exit(0);
	}
	if (streq(mode, "spin")) { /* arg ms of CPU */
		uint64_t end = cpu_usec_self() + (uint64_t)arg * USEC_PER_MSEC;
		while (cpu_usec_self() < end)
			;
		_exit(0);
	}
	if (streq(mode, "spin-wall")) { /* arg ms of wall time, spinning */
		uint64_t end = now_monotonic_usec() + (uint64_t)arg * USEC_PER_MSEC;
		while (now_monotonic_usec() < end)
			;
		_exit(0);
	}
	return 99;
}

/* ---- test plumbing ---------------------------------------------------------------------------- */

typedef struct Child {
	pid_t pid;
	int pidfd;
	int out; /* read end of its stdout */
	int in;  /* write end of its stdin, or -1 */
} Child;

static inline void child_done(Child *c)
{
	closep(&c->pidfd);
	closep(&c->out);
	closep(&c->in);
}

/* clone3 into the job's cgroup (a plain fork-style clone, no CLONE_VM), join v1, exec a helper. */
static inline int spawn(const Cgroup *cg, const char *mode, const char *arg, bool with_stdin, Child *ret)
{
	char *argv[] = { self_exe, (char *)mode, (char *)arg, NULL };
	int out[2], in[2] = { -1, -1 }, pidfd = -1;
	struct clone_args a = { .flags = CLONE_PIDFD, .pidfd = (uint64_t)(uintptr_t)&pidfd, .exit_signal = SIGCHLD };
	long pid;

	if (pipe2(out, O_CLOEXEC) < 0 || (with_stdin && pipe2(in, O_CLOEXEC) < 0))
		return -errno;
	if (cgroup_dir_fd(cg) >= 0) {
		a.flags |= CLONE_INTO_CGROUP;
		a.cgroup = (uint64_t)cgroup_dir_fd(cg);
	}
	fflush(stdout);
	pid = syscall(SYS_clone3, &a, sizeof(a));
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (cgroup_child_join_v1(cg) < 0)
			_exit(126);
		dup2(out[1], STDOUT_FILENO);
		if (with_stdin)
			dup2(in[0], STDIN_FILENO);
		execv(self_exe, argv);
		_exit(127);
	}
	close(out[1]);
	if (with_stdin)
		close(in[0]);
	*ret = (Child){ .pid = (pid_t)pid, .pidfd = pidfd, .out = out[0], .in = in[1] };
	return 0;
}

/* One line of the child's stdout, waiting at most 20 s (the VM is slow). */
static inline int read_line(int fd, char *buf, size_t size)
{
	size_t l = 0;

	while (l + 1 < size) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t k;
		if (poll(&p, 1, 20000) <= 0)
			return -ETIMEDOUT;
		k = read(fd, buf + l, 1);
		if (k <= 0)
			return k == 0 ? -EPIPE : -errno;
		if (buf[l] == '\n')
			break;
		l++;
	}
	buf[l] = 0;
	return (int)l;
}

static inline bool wait_ready(const Child *c)
{
	char buf[32];
	return read_line(c->out, buf, sizeof(buf)) >= 0 && streq(buf, "ready");
}

/* Its end, within 30 s; else it is killed and the result (si_code -1) fails the checks. */
static inline siginfo_t wait_child(const Child *c)
{
	struct pollfd p = { .fd = c->pidfd, .events = POLLIN };
	siginfo_t si = { 0 };

	if (poll(&p, 1, 30000) != 1) {
		printf("# child %d did not end\n", (int)c->pid);
		(void)syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
		(void)waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED);
		si.si_code = -1;
		return si;
	}
	if (waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED) < 0)
		si.si_code = -1;
	return si;
}

/* waitpid() for an orphan that came to us, within 10 s; else SIGKILL it and return -1. */
static inline pid_t wait_orphan(pid_t pid, int *status)
{
	for (int k = 0; k < 1000; k++) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r != 0)
			return r;
		usleep(10000);
	}
	printf("# process %d did not end\n", (int)pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static inline int read_str(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n;

	buf[0] = 0;
	if (!f)
		return -errno;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static inline char *file_str(const char *dir, const char *name, const char *file)
{
	static char buf[8][256];
	static int k;
	char p[PATH_MAX];

	k = (k + 1) % 8;
	pathf(p, sizeof(p), "%s/%s%s%s", dir, name, file ? "/" : "", file ? file : "");
	if (read_str(p, buf[k], sizeof(buf[k])) < 0)
		pathf(buf[k], sizeof(buf[k]), "(cannot read %s)", p);
	return buf[k];
}

/* Paths in the unified tree and in a v1 hierarchy, below our test root. */
static inline const char *uni(char *buf, const char *sub)
{
	pathf(buf, PATH_MAX, "%s/%s%s%s", info.unified_root, rel, sub ? "/" : "", sub ? sub : "");
	return buf;
}

static inline const char *v1(char *buf, const char *ctrl, const char *sub)
{
	pathf(buf, PATH_MAX, "/sys/fs/cgroup/%s/%s%s%s", ctrl, rel, sub ? "/" : "", sub ? sub : "");
	return buf;
}

static inline bool exists(const char *p)
{
	return access(p, F_OK) == 0;
}

/* The cgroup path of pid in the hierarchy holding ctrl ("" = the unified one), or "". */
static inline char *proc_cgroup(pid_t pid, const char *ctrl)
{
	static char out[256];
	char p[64], line[512];
	FILE *f;

	out[0] = 0;
	pathf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
	f = fopen(p, "re");
	if (!f)
		return out;
	while (fgets(line, sizeof(line), f)) {
		char *ctrls = strchr(line, ':'), *path, *save = NULL;

		line[strcspn(line, "\n")] = 0;
		path = ctrls ? strchr(ctrls + 1, ':') : NULL;
		if (!path)
			continue;
		*ctrls++ = 0;
		*path++ = 0;
		if (ctrl[0] == 0) {
			if (ctrls[0] == 0)
				pathf(out, sizeof(out), "%s", path);
			continue;
		}
		for (char *tok = strtok_r(ctrls, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			if (streq(tok, ctrl))
				pathf(out, sizeof(out), "%s", path);
	}
	fclose(f);
	return out;
}

static inline CgroupManager *manager(const char *root)
{
	CgroupManager *m = NULL;
	_cleanup_free_ char *err = NULL;
	int r = cgroup_manager_new(&info, root ? root : rel, &m, &err);

	if (r < 0)
		printf("# cgroup_manager_new: %s (%s)\n", strerror(-r), err ? err : "");
	return m;
}

static inline Cgroup *acquire(CgroupManager *m, CgroupLimits l)
{
	Cgroup *c = NULL;
	_cleanup_free_ char *err = NULL, *unapplied = NULL;
	int r = cgroup_acquire(m, &l, &c, &unapplied, &err);

	if (r < 0)
		printf("# cgroup_acquire: %s (%s)\n", strerror(-r), err ? err : "");
	if (unapplied)
		printf("# unapplied: %s\n", unapplied);
	return c;
}

static inline CgroupLimits limits(uint64_t mem, int64_t pids, uint32_t cpu)
{
	return (CgroupLimits){ .memory_max = mem, .pids_max = pids, .cpu_max_pct = cpu };
}

/* Kill (the way under test) and wait for empty. */
static inline int kill_and_wait(Cgroup *c)
{
	int r = cgroup_kill(c);
	return r < 0 ? r : cgroup_wait_empty(c, 5 * USEC_PER_SEC);
}

/* The daughter daemonizes; its top process is gone but the cgroup is not empty until killed. */
static inline void check_kills_daemonized(CgroupManager *m)
{
	Cgroup *c = acquire(m, CGROUP_LIMITS_NONE);
	char line[96];
	long g = 0, sid = 0;
	int status = 0;
	Child ch;
	siginfo_t si;

	CHECK(c);
	if (!c || spawn(c, "daemonize", NULL, false, &ch) < 0)
		return;
	CHECK(read_line(ch.out, line, sizeof(line)) > 0);
	CHECK_INTEQ(sscanf(line, "%ld %ld", &g, &sid), 2);
	CHECK(sid > 0 && sid != g && sid != getsid(0)); /* a session of its own, led by the middle one */
	si = wait_child(&ch);
	CHECK(si.si_code == CLD_EXITED && si.si_status == 0);
	CHECK(wait_orphan((pid_t)sid, &status) == (pid_t)sid); /* the middle one: we are the subreaper */
	CHECK_INTEQ(cgroup_is_populated(c), 1);
	CHECK_INTEQ(kill_and_wait(c), 0);
	CHECK(g > 0 && wait_orphan((pid_t)g, &status) == (pid_t)g);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK(kill((pid_t)g, 0) < 0 && errno == ESRCH);
	child_done(&ch);
	cgroup_release(m, c);
}

static inline void run_to_end(Cgroup *c, const char *mode, const char *arg)
{
	Child ch;
	if (spawn(c, mode, arg, false, &ch) < 0)
		return;
	(void)wait_child(&ch);
	(void)cgroup_wait_empty(c, 5 * USEC_PER_SEC);
	child_done(&ch);
}

/* Whatever a failed test left behind. */
static inline void cleanup(void)
{
	static const char *const ctl[] = { "memory", "pids", "cpu", "cpuacct", "freezer" };
	CgroupManager *m = manager(NULL);
	char p[PATH_MAX];

	if (m) {
		(void)cgroup_manager_reap_leftovers(m, NULL);
		cgroup_manager_free(m);
	}
	(void)rmdir(uni(p, NULL));
	for (size_t k = 0; !is_v2() && k < ELEMENTSOF(ctl); k++)
		(void)rmdir(v1(p, ctl[k], NULL));
	(void)rmdir(pathf(p, sizeof(p), "%s/%s-busy", info.unified_root, rel));
}

/* ---- set-up and end -------------------------------------------------------------------------- */

/* A helper mode (argv[1] names it), or the tests: root, the real path of our
 * binary for the children, a subreaper, a cgroup2 tree and our test root's
 * name. False with *ret_exit set (a helper's status, or after a TAP plan
 * line) when the program cannot or need not go on to the tests. */
static inline bool cgroup_test_setup(int argc, char **argv, int *ret_exit)
{
	ssize_t n;

	if (argc > 1) {
		*ret_exit = helper(argc, argv);
		return false;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root\n");
		*ret_exit = 0;
		return false;
	}
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0) {
		*ret_exit = 1;
		return false;
	}
	self_exe[n] = 0;
	/* Orphans (double-forked daughters) come to us, so we can see how they died. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	cgroup_detect(&info);
	if (info.mode != CGROUP_MODE_UNIFIED && info.mode != CGROUP_MODE_HYBRID) {
		printf("1..0 # SKIP no cgroup2 tree (mode %s)\n", cgroup_mode_to_string(info.mode));
		*ret_exit = 0;
		return false;
	}
	pathf(rel, sizeof(rel), "vx11-test-%d", (int)getpid());
	return true;
}

static inline int cgroup_test_done(void)
{
	cleanup();
	cgroup_info_done(&info);
	return tap_done();
}
