/* SPDX-License-Identifier: MIT */
/*
 * cgroup.c against the real kernel, as root: job cgroups are made under
 * "vx11-test-<pid>", children are created in them with clone3
 * (CLONE_INTO_CGROUP | CLONE_PIDFD) and run this same binary in a helper mode
 * (sleep, daemonize, forkbomb, eat, spin), so each check sees what a daughter
 * would do. Runs on hybrid hosts as is and on pure v2 hosts through
 * tests/run-v2.sh.
 */
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

static bool is_v2(void)
{
	return info.mode == CGROUP_MODE_UNIFIED;
}

/* ---- helper modes: what the children run ---------------------------------------------------- */

static void say(const char *fmt, ...) _printf_(1, 2);
static void say(const char *fmt, ...)
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
static char *pathf(char *buf, size_t size, const char *fmt, ...) _printf_(3, 4);
static char *pathf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return buf;
}

static uint64_t cpu_usec_self(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

static int helper(int argc, char **argv)
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

static void child_done(Child *c)
{
	closep(&c->pidfd);
	closep(&c->out);
	closep(&c->in);
}

/* clone3 into the job's cgroup (a plain fork-style clone, no CLONE_VM), join v1, exec a helper. */
static int spawn(const Cgroup *cg, const char *mode, const char *arg, bool with_stdin, Child *ret)
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
static int read_line(int fd, char *buf, size_t size)
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

static bool wait_ready(const Child *c)
{
	char buf[32];
	return read_line(c->out, buf, sizeof(buf)) >= 0 && streq(buf, "ready");
}

/* Its end, within 30 s; else it is killed and the result (si_code -1) fails the checks. */
static siginfo_t wait_child(const Child *c)
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
static pid_t wait_orphan(pid_t pid, int *status)
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

static int read_str(const char *path, char *buf, size_t size)
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

static char *file_str(const char *dir, const char *name, const char *file)
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
static const char *uni(char *buf, const char *sub)
{
	pathf(buf, PATH_MAX, "%s/%s%s%s", info.unified_root, rel, sub ? "/" : "", sub ? sub : "");
	return buf;
}

static const char *v1(char *buf, const char *ctrl, const char *sub)
{
	pathf(buf, PATH_MAX, "/sys/fs/cgroup/%s/%s%s%s", ctrl, rel, sub ? "/" : "", sub ? sub : "");
	return buf;
}

static bool exists(const char *p)
{
	return access(p, F_OK) == 0;
}

/* The cgroup path of pid in the hierarchy holding ctrl ("" = the unified one), or "". */
static char *proc_cgroup(pid_t pid, const char *ctrl)
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

static CgroupManager *manager(const char *root)
{
	CgroupManager *m = NULL;
	_cleanup_free_ char *err = NULL;
	int r = cgroup_manager_new(&info, root ? root : rel, &m, &err);

	if (r < 0)
		printf("# cgroup_manager_new: %s (%s)\n", strerror(-r), err ? err : "");
	return m;
}

static Cgroup *acquire(CgroupManager *m, CgroupLimits l)
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

static CgroupLimits limits(uint64_t mem, int64_t pids, uint32_t cpu)
{
	return (CgroupLimits){ .memory_max = mem, .pids_max = pids, .cpu_max_pct = cpu };
}

/* Kill (the way under test) and wait for empty. */
static int kill_and_wait(Cgroup *c)
{
	int r = cgroup_kill(c);
	return r < 0 ? r : cgroup_wait_empty(c, 5 * USEC_PER_SEC);
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_detect(void)
{
	struct statfs s;
	CgroupMode want = CGROUP_MODE_NONE;
	char own[256];

	if (statfs("/sys/fs/cgroup", &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC)
		want = CGROUP_MODE_UNIFIED;
	else if (statfs("/sys/fs/cgroup/unified", &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC)
		want = CGROUP_MODE_HYBRID;
	printf("# mode: %s, controllers: %s\n", cgroup_mode_to_string(info.mode), info.controllers);
	CHECK_INTEQ(info.mode, want);
	CHECK_STREQ(info.unified_root, want == CGROUP_MODE_UNIFIED ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified");
	pathf(own, sizeof(own), "%s", proc_cgroup(getpid(), ""));
	CHECK_STREQ(info.own_path, own);
	if (want == CGROUP_MODE_HYBRID)
		CHECK(strstr(info.controllers, "memory") && strstr(info.controllers, "pids"));
	else
		CHECK(strstr(info.controllers, "memory") && strstr(info.controllers, "cpu"));
}

static void test_manager_rejects_bad_roots(void)
{
	CgroupManager *m = NULL;
	CgroupInfo none = { .mode = CGROUP_MODE_NONE };
	_cleanup_free_ char *e1 = NULL, *e2 = NULL, *e3 = NULL;

	CHECK_INTEQ(cgroup_manager_new(&info, "/tmp/not-a-cgroup", &m, &e1), -EINVAL);
	CHECK(e1 && strstr(e1, "/tmp/not-a-cgroup"));
	CHECK_INTEQ(cgroup_manager_new(&info, "a/../b", &m, &e2), -EINVAL);
	CHECK_INTEQ(cgroup_manager_new(&none, NULL, &m, &e3), -EOPNOTSUPP);
	CHECK(m == NULL);
}

static void test_manager_creates_root(void)
{
	_cleanup_cgroup_manager_ CgroupManager *m = manager(NULL);
	_cleanup_free_ char *features = NULL;
	char p[PATH_MAX];

	CHECK(m);
	if (!m)
		return;
	features = cgroup_features_to_string(cgroup_manager_features(m));
	printf("# root %s, features: %s\n", cgroup_manager_root(m), features);
	CHECK_STREQ(cgroup_manager_root(m), uni(p, NULL));
	CHECK(exists(uni(p, NULL)));
	CHECK_INTEQ(cgroup_manager_controllers(m),
		    CGROUP_CONTROLLER_MEMORY | CGROUP_CONTROLLER_PIDS | CGROUP_CONTROLLER_CPU);
	if (is_v2()) {
		const char *sc = file_str(uni(p, NULL), "cgroup.subtree_control", NULL);
		CHECK(strstr(sc, "memory") && strstr(sc, "pids") && strstr(sc, "cpu"));
	} else {
		CHECK(exists(v1(p, "memory", NULL)));
		CHECK(exists(v1(p, "pids", NULL)));
		CHECK(exists(v1(p, "cpu", NULL)));
	}
	/* Found exactly when the kernel has them. */
	CHECK(!(cgroup_manager_features(m) & CGROUP_FEATURE_KILL) == !exists(uni(p, "cgroup.kill")));
	CHECK(!(cgroup_manager_features(m) & CGROUP_FEATURE_FREEZE) == !exists(uni(p, "cgroup.freeze")));
}

static void test_acquire_applies_limits(void)
{
	_cleanup_cgroup_manager_ CgroupManager *m = manager(NULL);
	Cgroup *c = m ? acquire(m, limits(64 * MIB, 32, 50)) : NULL;
	char p[PATH_MAX];

	CHECK(c);
	if (!c)
		return;
	CHECK(strncmp(cgroup_name(c), "job-", 4) == 0);
	CHECK_STREQ(cgroup_path(c), uni(p, cgroup_name(c)));
	CHECK(cgroup_dir_fd(c) >= 0);
	CHECK(cgroup_events_fd(c) >= 0);
	if (is_v2()) {
		uni(p, NULL);
		CHECK_STREQ(file_str(p, cgroup_name(c), "memory.max"), "67108864");
		CHECK_STREQ(file_str(p, cgroup_name(c), "pids.max"), "32");
		CHECK_STREQ(file_str(p, cgroup_name(c), "cpu.max"), "50000 100000");
		CHECK_STREQ(file_str(p, cgroup_name(c), "memory.oom.group"), "1");
		if (cgroup_manager_features(m) & CGROUP_FEATURE_SWAP_MAX)
			CHECK_STREQ(file_str(p, cgroup_name(c), "memory.swap.max"), "0");
	} else {
		CHECK_STREQ(file_str(v1(p, "memory", NULL), cgroup_name(c), "memory.limit_in_bytes"), "67108864");
		CHECK_STREQ(file_str(v1(p, "pids", NULL), cgroup_name(c), "pids.max"), "32");
		CHECK_STREQ(file_str(v1(p, "cpu", NULL), cgroup_name(c), "cpu.cfs_quota_us"), "50000");
		CHECK_STREQ(file_str(v1(p, "cpu", NULL), cgroup_name(c), "cpu.cfs_period_us"), "100000");
	}
	cgroup_release(m, c);
}

static void test_acquire_without_limits(void)
{
	_cleanup_cgroup_manager_ CgroupManager *m = manager(NULL);
	Cgroup *c = m ? acquire(m, CGROUP_LIMITS_NONE) : NULL;
	char p[PATH_MAX];

	CHECK(c);
	if (!c)
		return;
	if (is_v2()) {
		uni(p, NULL);
		CHECK_STREQ(file_str(p, cgroup_name(c), "memory.max"), "max");
		CHECK_STREQ(file_str(p, cgroup_name(c), "pids.max"), "max");
		CHECK_STREQ(file_str(p, cgroup_name(c), "cpu.max"), "max 100000");
	} else {
		char unlimited[64];
		pathf(unlimited, sizeof(unlimited), "%s", file_str("/sys/fs/cgroup/memory", "memory.limit_in_bytes", NULL));
		CHECK_STREQ(file_str(v1(p, "memory", NULL), cgroup_name(c), "memory.limit_in_bytes"), unlimited);
		/* Nothing to limit there: the job does not even join pids and cpu. */
		CHECK(!exists(v1(p, "pids", cgroup_name(c))));
		CHECK(!exists(v1(p, "cpu", cgroup_name(c))));
	}
	cgroup_release(m, c);
}

static void test_child_lands_in_cgroup(void)
{
	_cleanup_cgroup_manager_ CgroupManager *m = manager(NULL);
	Cgroup *c = m ? acquire(m, limits(64 * MIB, 100, 50)) : NULL;
	char want[PATH_MAX];
	Child ch;
	siginfo_t si;

	CHECK(c);
	if (!c || spawn(c, "sleep", NULL, false, &ch) < 0)
		return;
	CHECK(wait_ready(&ch));
	pathf(want, sizeof(want), "/%s/%s", rel, cgroup_name(c));
	CHECK_STREQ(proc_cgroup(ch.pid, ""), want);
	if (!is_v2()) {
		CHECK_STREQ(proc_cgroup(ch.pid, "memory"), want);
		CHECK_STREQ(proc_cgroup(ch.pid, "pids"), want);
		CHECK_STREQ(proc_cgroup(ch.pid, "cpu"), want);
	}
	CHECK_INTEQ(cgroup_is_populated(c), 1);
	CHECK_INTEQ(kill_and_wait(c), 0);
	CHECK_INTEQ(cgroup_is_populated(c), 0);
	si = wait_child(&ch);
	CHECK(si.si_code == CLD_KILLED && si.si_status == SIGKILL);
	child_done(&ch);
	cgroup_release(m, c);
}

static void test_populated_follows_exit(void)
{
	_cleanup_cgroup_manager_ CgroupManager *m = manager(NULL);
	Cgroup *c = m ? acquire(m, CGROUP_LIMITS_NONE) : NULL;
	struct pollfd p;
	Child ch;
	siginfo_t si;

	CHECK(c);
	if (!c || spawn(c, "wait-stdin", NULL, true, &ch) < 0)
		return;
	CHECK(wait_ready(&ch));
	CHECK_INTEQ(cgroup_is_populated(c), 1);
	/* Read: nothing new until the child goes. */
	p = (struct pollfd){ .fd = cgroup_events_fd(c), .events = POLLPRI };
	CHECK_INTEQ(poll(&p, 1, 0), 0);
	closep(&ch.in);
	CHECK_INTEQ(poll(&p, 1, 10000), 1);
	CHECK(p.revents & POLLPRI);
	CHECK_INTEQ(cgroup_is_populated(c), 0);
	si = wait_child(&ch);
	CHECK(si.si_code == CLD_EXITED && si.si_status == 0);
	child_done(&ch);
	cgroup_release(m, c);
}

/* The daughter daemonizes; its top process is gone but the cgroup is not empty until killed. */
static void check_kills_daemonized(CgroupManager *m)
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

static void test_kill_reaches_double_forked_setsid(void)
{
	_cleanup_cgroup_manager_ CgroupManager *m = manager(NULL);

	CHECK(m);
	if (m)
		check_kills_daemonized(m);
}

static void test_kill_by_freezing(void)
{
	_cleanup_cgroup_manager_ CgroupManager *m = manager(NULL);

	CHECK(m);
	if (!m)
		return;
	cgroup_manager_mask_features(m, CGROUP_FEATURE_KILL); /* as before 5.14 */
	check_kills_daemonized(m);
}

static void test_kill_by_signalling_each(void)
{
	_cleanup_cgroup_manager_ CgroupManager *m = manager(NULL);

	CHECK(m);
	if (!m)
		return;
	cgroup_manager_mask_features(m, CGROUP_FEATURE_KILL | CGROUP_FEATURE_FREEZE); /* as before 5.2 */
	check_kills_daemonized(m);
}

static void test_pids_max_holds_fork_bomb(void)
{
	_cleanup_cgroup_manager_ CgroupManager *m = manager(NULL);
	Cgroup *c = m ? acquire(m, limits(UINT64_MAX, 8, 0)) : NULL;
	char line[64];
	long n = -1, err = 0;
	Child ch;

	CHECK(c);
	if (!c || spawn(c, "forkbomb", NULL, false, &ch) < 0)
		return;
	CHECK(read_line(ch.out, line, sizeof(line)) > 0);
	CHECK_INTEQ(sscanf(line, "%ld %ld", &n, &err), 2);
	CHECK_INTEQ(err, EAGAIN);
	CHECK_INTEQ(n, 7); /* 8 with the bomb itself */
	CHECK_INTEQ(kill_and_wait(c), 0);
	(void)wait_child(&ch);
	child_done(&ch);
	cgroup_release(m, c);
}

static void test_memory_max_oom_kill(void)
{
	_cleanup_cgroup_manager_ CgroupManager *m = manager(NULL);
	Cgroup *c = m ? acquire(m, limits(16 * MIB, -1, 0)) : NULL;
	CgroupStats s = { 0 };
	Child ch;
	siginfo_t si;

	CHECK(c);
	if (!c || spawn(c, "eat", "64", false, &ch) < 0)
		return;
	si = wait_child(&ch);
	CHECK(si.si_code == CLD_KILLED && si.si_status == SIGKILL);
	CHECK_INTEQ(cgroup_wait_empty(c, 5 * USEC_PER_SEC), 0);
	CHECK_INTEQ(cgroup_stats(c, &s), 0);
	printf("# oom: peak %" PRIu64 " bytes, cpu %" PRIu64 " us\n", s.memory_peak_bytes, s.cpu_usec);
	CHECK(s.oom_killed);
	CHECK(s.memory_peak_bytes > 4 * MIB && s.memory_peak_bytes <= 16 * MIB);
	child_done(&ch);
	cgroup_release(m, c);
}

static void test_cpu_usage_counted(void)
{
	_cleanup_cgroup_manager_ CgroupManager *m = manager(NULL);
	Cgroup *c = m ? acquire(m, CGROUP_LIMITS_NONE) : NULL;
	CgroupStats s = { 0 };
	Child ch;
	siginfo_t si;

	CHECK(c);
	if (!c || spawn(c, "spin", "300", false, &ch) < 0)
		return;
	si = wait_child(&ch);
	CHECK(si.si_code == CLD_EXITED && si.si_status == 0);
	CHECK_INTEQ(cgroup_stats(c, &s), 0);
	printf("# cpu %" PRIu64 " us\n", s.cpu_usec);
	CHECK(s.cpu_usec >= 300 * USEC_PER_MSEC && s.cpu_usec < 30 * USEC_PER_SEC);
	CHECK(!s.oom_killed);
	child_done(&ch);
	cgroup_release(m, c);
}

static void test_cpu_max_throttles(void)
{
	_cleanup_cgroup_manager_ CgroupManager *m = manager(NULL);
	Cgroup *c = m ? acquire(m, limits(UINT64_MAX, -1, 20)) : NULL;
	CgroupStats s = { 0 };
	uint64_t wall = now_monotonic_usec();
	Child ch;

	CHECK(c);
	if (!c || spawn(c, "spin-wall", "1000", false, &ch) < 0)
		return;
	(void)wait_child(&ch);
	wall = now_monotonic_usec() - wall; /* its start-up counts too, and is slow in a VM */
	CHECK_INTEQ(cgroup_stats(c, &s), 0);
	printf("# cpu at 20%% for %" PRIu64 " ms: %" PRIu64 " us\n", wall / 1000, s.cpu_usec);
	CHECK(s.cpu_usec > 50 * USEC_PER_MSEC && s.cpu_usec < wall / 5 + 100 * USEC_PER_MSEC);
	child_done(&ch);
	cgroup_release(m, c);
}

static ino_t inode_of(const char *p)
{
	struct stat st;
	return stat(p, &st) < 0 ? 0 : st.st_ino;
}

static void run_to_end(Cgroup *c, const char *mode, const char *arg)
{
	Child ch;
	if (spawn(c, mode, arg, false, &ch) < 0)
		return;
	(void)wait_child(&ch);
	(void)cgroup_wait_empty(c, 5 * USEC_PER_SEC);
	child_done(&ch);
}

static void test_release_recycles_with_counters_reset(void)
{
	_cleanup_cgroup_manager_ CgroupManager *m = manager(NULL);
	Cgroup *c = m ? acquire(m, limits(32 * MIB, 8, 0)) : NULL;
	CgroupStats s = { 0 };
	char name[32], p[PATH_MAX];
	unsigned f;
	ino_t ino;

	CHECK(c);
	if (!c)
		return;
	f = cgroup_manager_features(m);
	run_to_end(c, "eat", "8"); /* fresh: the peak is exact everywhere */
	CHECK_INTEQ(cgroup_stats(c, &s), 0);
	CHECK(s.memory_peak_bytes >= 8 * MIB && s.memory_peak_bytes <= 32 * MIB);
	run_to_end(c, "eat", "64");
	run_to_end(c, "spin", "100");
	CHECK_INTEQ(cgroup_stats(c, &s), 0);
	CHECK(s.oom_killed && s.cpu_usec >= 100 * USEC_PER_MSEC);
	pathf(name, sizeof(name), "%s", cgroup_name(c));
	ino = inode_of(cgroup_path(c));
	cgroup_release(m, c);
	CHECK_INTEQ(cgroup_manager_pool_size(m), 1);

	c = acquire(m, CGROUP_LIMITS_NONE);
	CHECK(c);
	if (!c)
		return;
	CHECK_INTEQ(cgroup_manager_pool_size(m), 0);
	CHECK_STREQ(cgroup_name(c), name);
	CHECK(ino != 0 && inode_of(cgroup_path(c)) == ino); /* the same directory, not a new one */
	CHECK_INTEQ(cgroup_stats(c, &s), 0);
	printf("# reused: cpu %" PRIu64 " us, peak %" PRIu64 "\n", s.cpu_usec, s.memory_peak_bytes);
	CHECK_INTEQ(s.cpu_usec, 0);
	CHECK(!s.oom_killed);
	if (f & CGROUP_FEATURE_PEAK_RESET)
		CHECK(s.memory_peak_bytes < 4 * MIB);
	else /* v2 before 6.12: the old peak cannot be told from ours */
		CHECK(s.memory_peak_bytes == UINT64_MAX);
	/* The last job's limits are gone. */
	if (is_v2()) {
		CHECK_STREQ(file_str(uni(p, NULL), name, "memory.max"), "max");
		CHECK_STREQ(file_str(uni(p, NULL), name, "pids.max"), "max");
	} else {
		char unlimited[64];
		pathf(unlimited, sizeof(unlimited), "%s", file_str("/sys/fs/cgroup/memory", "memory.limit_in_bytes", NULL));
		CHECK_STREQ(file_str(v1(p, "memory", NULL), name, "memory.limit_in_bytes"), unlimited);
	}
	run_to_end(c, "eat", "48"); /* beats the old peak (32M): exact again */
	CHECK_INTEQ(cgroup_stats(c, &s), 0);
	CHECK(s.memory_peak_bytes >= 48 * MIB && s.memory_peak_bytes != UINT64_MAX);
	CHECK(!s.oom_killed);
	cgroup_release(m, c);
}

static void test_release_kills_what_is_left(void)
{
	_cleanup_cgroup_manager_ CgroupManager *m = manager(NULL);
	Cgroup *c = m ? acquire(m, CGROUP_LIMITS_NONE) : NULL;
	char name[32];
	Child ch;
	siginfo_t si;

	CHECK(c);
	if (!c || spawn(c, "sleep", NULL, false, &ch) < 0)
		return;
	CHECK(wait_ready(&ch));
	pathf(name, sizeof(name), "%s", cgroup_name(c));
	cgroup_release(m, c);
	si = wait_child(&ch);
	CHECK(si.si_code == CLD_KILLED && si.si_status == SIGKILL);
	child_done(&ch);
	/* Killed with cgroup.kill, a cgroup kills every child later cloned
	 * into it (Linux 6.x): it must be removed, not pooled. Without
	 * cgroup.kill (freeze or signals) it is as good as new. */
	bool used_kill = cgroup_manager_features(m) & CGROUP_FEATURE_KILL;
	CHECK_INTEQ(cgroup_manager_pool_size(m), used_kill ? 0 : 1);
	c = acquire(m, CGROUP_LIMITS_NONE);
	CHECK(c && cgroup_is_populated(c) == 0);
	CHECK(c && streq(cgroup_name(c), name) == !used_kill);
	/* Whatever it hands out next runs children normally. */
	if (c && spawn(c, "true", NULL, false, &ch) >= 0) {
		si = wait_child(&ch);
		CHECK(si.si_code == CLD_EXITED && si.si_status == 0);
		child_done(&ch);
	}
	cgroup_release(m, c);
}

static void test_free_list_is_lifo_and_capped(void)
{
	_cleanup_cgroup_manager_ CgroupManager *m = manager(NULL);
	Cgroup *a, *b, *c, *d;
	char na[32], nb[32], nc[32], p[PATH_MAX];

	CHECK(m);
	if (!m)
		return;
	cgroup_manager_set_pool_max(m, 2);
	a = acquire(m, CGROUP_LIMITS_NONE);
	b = acquire(m, CGROUP_LIMITS_NONE);
	c = acquire(m, CGROUP_LIMITS_NONE);
	CHECK(a && b && c);
	if (!a || !b || !c)
		return;
	pathf(na, sizeof(na), "%s", cgroup_name(a));
	pathf(nb, sizeof(nb), "%s", cgroup_name(b));
	pathf(nc, sizeof(nc), "%s", cgroup_name(c));
	cgroup_release(m, a);
	cgroup_release(m, b);
	cgroup_release(m, c); /* the pool is full: removed */
	CHECK_INTEQ(cgroup_manager_pool_size(m), 2);
	CHECK(exists(uni(p, na)) && exists(uni(p, nb)));
	CHECK(!exists(uni(p, nc)));
	if (!is_v2())
		CHECK(!exists(v1(p, "memory", nc)) && exists(v1(p, "memory", na)));
	d = acquire(m, CGROUP_LIMITS_NONE);
	CHECK(d && streq(cgroup_name(d), nb)); /* last in, first out */
	cgroup_release(m, d);
}

static void test_manager_free_leaves_nothing(void)
{
	CgroupManager *m = manager(NULL);
	Cgroup *a = m ? acquire(m, limits(32 * MIB, 16, 50)) : NULL, *b = m ? acquire(m, CGROUP_LIMITS_NONE) : NULL;
	char p[PATH_MAX];
	Child ch;
	siginfo_t si;

	CHECK(a && b);
	if (!a || !b || spawn(a, "sleep", NULL, false, &ch) < 0)
		return;
	CHECK(wait_ready(&ch));
	cgroup_release(m, b);
	cgroup_manager_free(m); /* a is still running: killed */
	si = wait_child(&ch);
	CHECK(si.si_code == CLD_KILLED && si.si_status == SIGKILL);
	CHECK(!exists(uni(p, NULL)));
	if (!is_v2()) {
		CHECK(!exists(v1(p, "memory", NULL)));
		CHECK(!exists(v1(p, "pids", NULL)));
		CHECK(!exists(v1(p, "cpu", NULL)));
	}
	child_done(&ch);
}

/* A daemon that dies with a running daughter and an idle pooled cgroup: the next one cleans up. */
static void test_reap_leftovers_after_crash(void)
{
	int pipefd[2];
	char line[64], p[PATH_MAX];
	long sleeper = 0;
	int status = 0;
	char **names = NULL;
	pid_t crashed;

	CHECK(pipe2(pipefd, O_CLOEXEC) == 0);
	fflush(stdout);
	crashed = fork();
	if (crashed == 0) {
		CgroupManager *m = manager(NULL);
		Cgroup *a = m ? acquire(m, limits(32 * MIB, 16, 50)) : NULL, *b = m ? acquire(m, CGROUP_LIMITS_NONE) : NULL;
		Child ch;
		if (!a || !b || spawn(a, "sleep", NULL, false, &ch) < 0 || !wait_ready(&ch))
			_exit(1);
		cgroup_release(m, b);
		dprintf(pipefd[1], "%d\n", (int)ch.pid);
		_exit(0); /* no cleanup at all */
	}
	close(pipefd[1]);
	CHECK(read_line(pipefd[0], line, sizeof(line)) > 0 && sscanf(line, "%ld", &sleeper) == 1);
	close(pipefd[0]);
	CHECK(waitpid(crashed, &status, 0) == crashed && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(sleeper > 0 && kill((pid_t)sleeper, 0) == 0); /* orphaned, still running */

	CgroupManager *m = manager(NULL);
	Cgroup *mine = m ? acquire(m, CGROUP_LIMITS_NONE) : NULL;
	CHECK(mine);
	if (!mine)
		return;
	CHECK_STREQ(cgroup_name(mine), "job-2"); /* job-0 and job-1 are taken by the leftovers */
	CHECK_INTEQ(cgroup_manager_reap_leftovers(m, &names), 2);
	CHECK(names && streq(names[0], "job-0") && streq(names[1], "job-1") && !names[2]);
	CHECK(sleeper > 0 && wait_orphan((pid_t)sleeper, &status) == (pid_t)sleeper && WIFSIGNALED(status) &&
	      WTERMSIG(status) == SIGKILL);
	CHECK(!exists(uni(p, "job-0")) && !exists(uni(p, "job-1")));
	if (!is_v2())
		CHECK(!exists(v1(p, "memory", "job-0")) && !exists(v1(p, "pids", "job-0")) &&
		      !exists(v1(p, "memory", "job-1")));
	CHECK(exists(uni(p, "job-2"))); /* ours is left alone */
	for (char **n = names; n && *n; n++)
		free(*n);
	free(names);
	names = NULL;
	CHECK_INTEQ(cgroup_manager_reap_leftovers(m, &names), 0);
	CHECK(names && !names[0]);
	free(names);
	cgroup_release(m, mine);
	cgroup_manager_free(m);
	/* The root was there when m came: m leaves it, empty. */
	CHECK(rmdir(uni(p, NULL)) == 0);
	if (!is_v2())
		CHECK(rmdir(v1(p, "memory", NULL)) == 0 && rmdir(v1(p, "pids", NULL)) == 0 &&
		      rmdir(v1(p, "cpu", NULL)) == 0);
}

/* Like a service with Delegate=yes: a child process moves into its own cgroup and delegates. */
static void test_delegated(void)
{
	char deleg[96], p[PATH_MAX], q[PATH_MAX];
	int status = 0;
	pid_t pid;

	pathf(deleg, sizeof(deleg), "%s-deleg", rel);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		CgroupInfo mine = { 0 };
		CgroupManager *m = NULL;
		_cleanup_free_ char *err = NULL;
		char want[PATH_MAX];
		Cgroup *c;
		Child ch;

		pathf(p, sizeof(p), "%s/%s", info.unified_root, deleg);
		CHECK(mkdir(p, 0755) == 0);
		pathf(q, sizeof(q), "%s/cgroup.procs", p);
		FILE *f = fopen(q, "we");
		CHECK(f && fprintf(f, "0") == 1 && fclose(f) == 0);
		cgroup_detect(&mine);
		pathf(want, sizeof(want), "/%s", deleg);
		CHECK_STREQ(mine.own_path, want);
		CHECK_INTEQ(cgroup_manager_new_delegated(&mine, &m, &err), 0);
		if (err)
			printf("# %s\n", err);
		if (!m)
			_exit(100);
		pathf(want, sizeof(want), "/%s/daemon", deleg);
		CHECK_STREQ(proc_cgroup(getpid(), ""), want);
		pathf(want, sizeof(want), "%s/%s/daughters", info.unified_root, deleg);
		CHECK_STREQ(cgroup_manager_root(m), want);
		CHECK_INTEQ(cgroup_manager_controllers(m),
			    CGROUP_CONTROLLER_MEMORY | CGROUP_CONTROLLER_PIDS | CGROUP_CONTROLLER_CPU);
		if (is_v2())
			CHECK(strstr(file_str(p, "cgroup.subtree_control", NULL), "memory"));
		c = acquire(m, limits(32 * MIB, 16, 50));
		CHECK(c);
		if (c && spawn(c, "sleep", NULL, false, &ch) >= 0) {
			CHECK(wait_ready(&ch));
			pathf(want, sizeof(want), "/%s/daughters/%s", deleg, cgroup_name(c));
			CHECK_STREQ(proc_cgroup(ch.pid, ""), want);
			if (!is_v2())
				CHECK_STREQ(proc_cgroup(ch.pid, "memory"), want);
			if (is_v2())
				CHECK_STREQ(file_str(info.unified_root, want + 1, "memory.max"), "33554432");
			else {
				pathf(q, sizeof(q), "/sys/fs/cgroup/memory%s", want);
				CHECK_STREQ(file_str(q, "memory.limit_in_bytes", NULL), "33554432");
			}
			cgroup_release(m, c);
			(void)wait_child(&ch);
		}
		cgroup_manager_free(m);
		pathf(q, sizeof(q), "%s/daughters", p);
		CHECK(!exists(q));
		cgroup_info_done(&mine);
		fflush(stdout);
		_exit(tap_failed_current);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	CHECK_INTEQ(WEXITSTATUS(status), 0);
	pathf(p, sizeof(p), "%s/%s/daemon", info.unified_root, deleg);
	CHECK(rmdir(p) == 0);
	pathf(p, sizeof(p), "%s/%s", info.unified_root, deleg);
	CHECK(rmdir(p) == 0);
	if (!is_v2()) {
		pathf(p, sizeof(p), "/sys/fs/cgroup/memory/%s", deleg);
		CHECK(!exists(p)); /* made by the manager, removed by it */
	}
}

static void test_delegated_needs_delegation(void)
{
	CgroupInfo root = info;
	CgroupManager *m = NULL;
	_cleanup_free_ char *err = NULL;

	root.own_path = (char *)"/";
	CHECK_INTEQ(cgroup_manager_new_delegated(&root, &m, &err), -EINVAL);
	CHECK(err && strstr(err, "root cgroup"));
	CHECK(m == NULL);
}

/* A limit whose controller is missing is reported, or refused when the caller wants fail-closed. */
static void test_unapplied_limits(void)
{
	char busy[96], p[PATH_MAX], root[160];
	_cleanup_close_ int busy_fd = -1;
	CgroupManager *m;
	CgroupLimits all = limits(32 * MIB, 8, 50);
	Cgroup *c = NULL;
	_cleanup_free_ char *unapplied = NULL, *err = NULL;
	struct clone_args a = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD };
	long pid;

	if (!is_v2())
		SKIP("every v1 controller is mounted on this host; the pure v2 run covers it");
	/* A parent cgroup with a process in it cannot enable controllers for children. */
	pathf(busy, sizeof(busy), "%s-busy", rel);
	pathf(p, sizeof(p), "%s/%s", info.unified_root, busy);
	CHECK(mkdir(p, 0755) == 0);
	busy_fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	a.cgroup = (uint64_t)busy_fd;
	pid = syscall(SYS_clone3, &a, sizeof(a));
	if (pid == 0) {
		for (;;)
			pause();
	}
	CHECK(pid > 0);
	pathf(root, sizeof(root), "%s/vx11", busy);
	m = manager(root);
	CHECK(m);
	if (m) {
		CHECK_INTEQ(cgroup_manager_controllers(m), 0);
		CHECK_INTEQ(cgroup_acquire(m, &all, &c, &unapplied, &err), 0);
		CHECK_STREQ(unapplied, "memory_max (no memory controller), pids_max (no pids controller), "
				       "cpu_max (no cpu controller)");
		cgroup_release(m, c);
		c = NULL;
		CHECK_INTEQ(cgroup_acquire(m, &all, &c, NULL, &err), -EOPNOTSUPP);
		CHECK(c == NULL && err && strstr(err, "memory_max"));
		CHECK_INTEQ(cgroup_acquire(m, NULL, &c, NULL, NULL), 0);
		cgroup_release(m, c);
		cgroup_manager_free(m);
	}
	if (pid > 0) {
		kill((pid_t)pid, SIGKILL);
		waitpid((pid_t)pid, NULL, 0);
	}
	CHECK(rmdir(p) == 0);
}

/* v1 only, as on hosts without a cgroup2 tree: the child joins every group itself, the freezer kills. */
static void test_legacy_mode(void)
{
	CgroupInfo legacy = info;
	CgroupManager *m = NULL;
	_cleanup_free_ char *err = NULL;
	static const char *const ctl[] = { "memory", "pids", "cpu", "cpuacct", "freezer" };
	char want[PATH_MAX], p[PATH_MAX];
	CgroupStats s = { 0 };
	Cgroup *c;
	Child ch;

	if (is_v2())
		SKIP("no v1 hierarchies on a pure v2 host");
	legacy.mode = CGROUP_MODE_LEGACY;
	CHECK_INTEQ(cgroup_manager_new(&legacy, rel, &m, &err), 0);
	if (!m)
		return;
	CHECK(cgroup_manager_features(m) & CGROUP_FEATURE_FREEZE);
	c = acquire(m, limits(64 * MIB, 32, 50));
	CHECK(c);
	if (!c) {
		cgroup_manager_free(m);
		return;
	}
	CHECK_INTEQ(cgroup_dir_fd(c), -1);
	CHECK_INTEQ(cgroup_events_fd(c), -1);
	CHECK_STREQ(cgroup_path(c), v1(p, "freezer", cgroup_name(c)));
	CHECK_STREQ(file_str(v1(p, "pids", NULL), cgroup_name(c), "pids.max"), "32");
	if (spawn(c, "sleep", NULL, false, &ch) >= 0) {
		CHECK(wait_ready(&ch));
		pathf(want, sizeof(want), "/%s/%s", rel, cgroup_name(c));
		for (size_t k = 0; k < ELEMENTSOF(ctl); k++)
			CHECK_STREQ(proc_cgroup(ch.pid, ctl[k]), want);
		CHECK_INTEQ(cgroup_is_populated(c), 1);
		CHECK_INTEQ(kill_and_wait(c), 0);
		siginfo_t si = wait_child(&ch);
		CHECK(si.si_code == CLD_KILLED && si.si_status == SIGKILL);
		child_done(&ch);
	}
	cgroup_release(m, c);
	c = acquire(m, CGROUP_LIMITS_NONE);
	CHECK(c);
	if (c) {
		check_kills_daemonized(m); /* the freezer way, on another job cgroup */
		run_to_end(c, "spin", "100");
		CHECK_INTEQ(cgroup_stats(c, &s), 0);
		CHECK(s.cpu_usec >= 100 * USEC_PER_MSEC && s.cpu_usec < 30 * USEC_PER_SEC); /* cpuacct */
		cgroup_release(m, c);
	}
	cgroup_manager_free(m);
	for (size_t k = 0; k < ELEMENTSOF(ctl); k++)
		CHECK(!exists(v1(p, ctl[k], NULL)));
}

/* Whatever a failed test left behind. */
static void cleanup(void)
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

/* A mkdir -p that fails half-way (here: a component too long for any file
 * system) takes back the directories it made, so a skipped v1 controller or
 * a refused root leaves nothing behind. */
static void test_mkdir_p_undoes_on_failure(void)
{
	char dir[] = "/tmp/vx11-test-mkdir-XXXXXX", path[400];
	unsigned created = 77;
	int dfd;

	CHECK(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(dfd >= 0);
	CHECK(mkdirat(dfd, "old", 0755) == 0);
	snprintf(path, sizeof(path), "old/new1/new2/%0300d", 0);
	CHECK_INTEQ(cg_mkdir_p(dfd, path, &created), -ENAMETOOLONG);
	CHECK_INTEQ(created, 77); /* untouched on failure */
	CHECK(faccessat(dfd, "old/new1", F_OK, 0) < 0 && errno == ENOENT);
	CHECK(faccessat(dfd, "old", F_OK, 0) == 0); /* not ours to remove */

	CHECK_INTEQ(cg_mkdir_p(dfd, "old/new1/new2", &created), 0);
	CHECK_INTEQ(created, 2);
	cg_rmdir_created(dfd, "old/new1/new2", created);
	CHECK(faccessat(dfd, "old/new1", F_OK, 0) < 0);
	unlinkat(dfd, "old", AT_REMOVEDIR);
	close(dfd);
	CHECK(rmdir(dir) == 0);
}

int main(int argc, char **argv)
{
	ssize_t n;

	if (argc > 1)
		return helper(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root\n");
		return 0;
	}
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0)
		return 1;
	self_exe[n] = 0;
	/* Orphans (double-forked daughters) come to us, so we can see how they died. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	cgroup_detect(&info);
	if (info.mode != CGROUP_MODE_UNIFIED && info.mode != CGROUP_MODE_HYBRID) {
		printf("1..0 # SKIP no cgroup2 tree (mode %s)\n", cgroup_mode_to_string(info.mode));
		return 0;
	}
	pathf(rel, sizeof(rel), "vx11-test-%d", (int)getpid());

	TEST(test_mkdir_p_undoes_on_failure);
	TEST(test_detect);
	TEST(test_manager_rejects_bad_roots);
	TEST(test_manager_creates_root);
	TEST(test_acquire_applies_limits);
	TEST(test_acquire_without_limits);
	TEST(test_child_lands_in_cgroup);
	TEST(test_populated_follows_exit);
	TEST(test_kill_reaches_double_forked_setsid);
	TEST(test_kill_by_freezing);
	TEST(test_kill_by_signalling_each);
	TEST(test_pids_max_holds_fork_bomb);
	TEST(test_memory_max_oom_kill);
	TEST(test_cpu_usage_counted);
	TEST(test_cpu_max_throttles);
	TEST(test_release_recycles_with_counters_reset);
	TEST(test_release_kills_what_is_left);
	TEST(test_free_list_is_lifo_and_capped);
	TEST(test_manager_free_leaves_nothing);
	TEST(test_reap_leftovers_after_crash);
	TEST(test_delegated);
	TEST(test_delegated_needs_delegation);
	TEST(test_unapplied_limits);
	TEST(test_legacy_mode);
	cleanup();
	cgroup_info_done(&info);
	return tap_done();
}
