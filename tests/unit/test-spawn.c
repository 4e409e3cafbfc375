/* SPDX-License-Identifier: MIT */
/*
 * The spawner against the real kernel, as root, part 1: a daughter's
 * plumbing and process state. Daughters are real programs (/bin/true, cat,
 * env) spawned into job cgroups under "vx11-test-spawn-<pid>", and each check
 * reads what the daughter saw from the inside (/proc/self/status, limits,
 * cgroup, fds). Each test runs twice, once per spawn method (fork- and
 * vfork-style clone3). Part 2, confinement, is test-spawn-confine.c; what
 * both share is spawn-test.h.
 */
#include <inttypes.h>
#include "spawn-test.h"

static void test_true_exits_0(void)
{
	char *argv[] = { "/bin/true", NULL };
	SpawnRequest r;
	Cgroup *cg = acquire(64);
	_cleanup_free_ char *error = NULL;
	struct pollfd p;
	siginfo_t si = { 0 };
	pid_t pid = 0;
	int pidfd = -1;

	CHECK(cg);
	if (!cg)
		return;
	base_request(&r, argv, cg);
	CHECK_INTEQ(spawn_daughter(&r, &pid, &pidfd, &error), 0);
	CHECK(!error);
	CHECK(pid > 0 && pidfd >= 0);
	if (pidfd >= 0) {
		CHECK(fcntl(pidfd, F_GETFD) & FD_CLOEXEC);
		p = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		CHECK_INTEQ(poll(&p, 1, 30000), 1);
		CHECK_INTEQ(waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED), 0);
		CHECK_INTEQ(si.si_pid, pid);
		CHECK_INTEQ(si.si_code, CLD_EXITED);
		CHECK_INTEQ(si.si_status, 0);
		close(pidfd);
	}
	CHECK_INTEQ(cgroup_wait_empty(cg, 5 * USEC_PER_SEC), 0);
	cgroup_release(mgr, cg);
	CHECK(no_children());
}
VARIANTS(test_true_exits_0)

static void test_runs_in_job_cgroup(void)
{
	char *argv[] = { "/bin/cat", "/proc/self/cgroup", NULL };
	SpawnRequest r;
	Cgroup *cg = acquire(64);
	char want[PATH_MAX], line[PATH_MAX];
	Run *res;

	CHECK(cg);
	if (!cg)
		return;
	base_request(&r, argv, cg);
	res = run(&r, NULL, cg);
	CHECK_INTEQ(res->r, 0);
	CHECK(exited_0(&res->si));
	/* cgroup2: the job's path below the unified mount. */
	pathf(want, sizeof(want), "\n0::%s\n", cgroup_path(cg) + strlen(info.unified_root));
	pathf(line, sizeof(line), "\n%s", res->out);
	CHECK(strstr(line, want));
	/* On hybrid hosts also the v1 memory and pids groups (we gave it a pids limit). */
	if (info.mode == CGROUP_MODE_HYBRID) {
		pathf(want, sizeof(want), ":memory:/%s/%s\n", rel, cgroup_name(cg));
		CHECK(strstr(res->out, want));
		pathf(want, sizeof(want), ":pids:/%s/%s\n", rel, cgroup_name(cg));
		CHECK(strstr(res->out, want));
	}
	if (tap_failed_current)
		printf("# /proc/self/cgroup:\n%s", res->out);
	run_done(res);
	cgroup_release(mgr, cg);
}
VARIANTS(test_runs_in_job_cgroup)

static void test_identity(void)
{
	char *argv[] = { "/bin/cat", "/proc/self/status", NULL };
	gid_t ours[] = { 4, 27 }, saved[64];
	int n_saved = getgroups(ELEMENTSOF(saved), saved);
	char v[256];
	Run *res;

	/* Supplementary groups of our own, which the daughter must not have. */
	CHECK(n_saved >= 0 && setgroups(ELEMENTSOF(ours), ours) == 0);
	res = run_simple(argv, NULL, NULL);
	CHECK(n_saved >= 0 && setgroups((size_t)n_saved, saved) == 0);

	CHECK_INTEQ(res->r, 0);
	CHECK(exited_0(&res->si));
	CHECK_STREQ(status_value(res->out, "Uid", v, sizeof(v)), "61184 61184 61184 61184");
	CHECK_STREQ(status_value(res->out, "Gid", v, sizeof(v)), "61190 61190 61190 61190");
	CHECK_STREQ(status_value(res->out, "Groups", v, sizeof(v)), "");
	run_done(res);
}
VARIANTS(test_identity)

static void test_environment_is_envp(void)
{
	static char *const env[] = { "ONE=1", "TWO=two words", "EMPTY=", NULL };
	static char *const none[] = { NULL };
	char *argv[] = { "/usr/bin/env", NULL };
	SpawnRequest r;
	Run *res;

	/* Something of ours that must not leak through. */
	setenv("VX11_SPAWN_TEST_LEAK", "1", 1);
	base_request(&r, argv, NULL);
	r.envp = env;
	res = run(&r, NULL, NULL);
	CHECK_INTEQ(res->r, 0);
	CHECK(exited_0(&res->si));
	CHECK_STREQ(res->out, "ONE=1\nTWO=two words\nEMPTY=\n");
	run_done(res);

	r.envp = none;
	res = run(&r, NULL, NULL);
	CHECK_INTEQ(res->r, 0);
	CHECK_STREQ(res->out, "");
	run_done(res);
	unsetenv("VX11_SPAWN_TEST_LEAK");
}
VARIANTS(test_environment_is_envp)

static void test_stdio(void)
{
	char *cat[] = { "/bin/cat", NULL };
	char *cat_missing[] = { "/bin/cat", "-", "/nonexistent-vx11", NULL };
	SpawnRequest r;
	Run *res;

	/* stdin delivered, stdout and stderr kept apart. */
	base_request(&r, cat_missing, NULL);
	res = run(&r, "{\"intent\": \"hello\"}\n", NULL);
	CHECK_INTEQ(res->r, 0);
	CHECK_STREQ(res->out, "{\"intent\": \"hello\"}\n");
	CHECK(strstr(res->err, "/nonexistent-vx11: No such file or directory"));
	CHECK(res->si.si_code == CLD_EXITED && res->si.si_status == 1);
	run_done(res);

	/* stdin -1: /dev/null, so cat ends at once. */
	base_request(&r, cat, NULL);
	res = run(&r, NULL, NULL);
	CHECK_INTEQ(res->r, 0);
	CHECK(exited_0(&res->si));
	CHECK_STREQ(res->out, "");
	run_done(res);
}
VARIANTS(test_stdio)

/* Sources on 0..2 in a crossed order: the daughter's stdout comes from our fd 2, its stderr from our
 * fd 1 (both pipes here). A naive dup2 sequence would send both to the same place. */
static void test_stdio_from_low_fds(void)
{
	char *argv[] = { "/bin/cat", "-", "/nonexistent-vx11", NULL };
	int a[2], b[2], in[2], saved1, saved2, pidfd = -1;
	char out_a[4096] = "", out_b[4096] = "";
	_cleanup_free_ char *error = NULL;
	SpawnRequest r;
	siginfo_t si;
	pid_t pid;
	int k;

	CHECK(pipe2(a, O_CLOEXEC) == 0 && pipe2(b, O_CLOEXEC) == 0 && pipe2(in, O_CLOEXEC) == 0);
	fflush(stdout);
	saved1 = fcntl(1, F_DUPFD_CLOEXEC, 3);
	saved2 = fcntl(2, F_DUPFD_CLOEXEC, 3);
	dup2(a[1], 2);
	dup2(b[1], 1);
	base_request(&r, argv, NULL);
	r.stdin_fd = in[0];
	r.stdout_fd = 2;
	r.stderr_fd = 1;
	k = spawn_daughter(&r, &pid, &pidfd, &error);
	dup2(saved1, 1);
	dup2(saved2, 2);
	close(saved1);
	close(saved2);
	close(a[1]);
	close(b[1]);
	close(in[0]);
	CHECK_INTEQ(k, 0);
	if (k == 0) {
		CHECK(write(in[1], "to stdout\n", 10) == 10);
		close(in[1]);
		CHECK(drain(a[0], out_a, sizeof(out_a)) >= 0);
		CHECK(drain(b[0], out_b, sizeof(out_b)) >= 0);
		si = reap(pidfd, NULL);
		CHECK_INTEQ(si.si_code, CLD_EXITED);
		close(pidfd);
	} else
		close(in[1]);
	CHECK_STREQ(out_a, "to stdout\n");
	CHECK(strstr(out_b, "/nonexistent-vx11: No such file or directory") && !strstr(out_b, "to stdout"));
	close(a[0]);
	close(b[0]);
}
VARIANTS(test_stdio_from_low_fds)

static void test_bad_argv0(void)
{
	char *argv[] = { "/no/such/program", NULL };
	SpawnRequest r;
	Cgroup *cg = acquire(64);
	_cleanup_free_ char *error = NULL;
	pid_t pid = 4242;
	int pidfd = 4242;

	base_request(&r, argv, cg);
	CHECK_INTEQ(spawn_daughter(&r, &pid, &pidfd, &error), -ENOENT);
	CHECK_STREQ(error, "execve(/no/such/program): No such file or directory");
	/* Outputs untouched, the failed child reaped, its cgroup empty. */
	CHECK(pid == 4242 && pidfd == 4242);
	CHECK(no_children());
	if (cg) {
		CHECK_INTEQ(cgroup_is_populated(cg), 0);
		cgroup_release(mgr, cg);
	}
}
VARIANTS(test_bad_argv0)

/* One failing step: the error names it and carries its errno; nothing is left. */
static void expect_step_error(SpawnRequest *r, int want_r, const char *want_error)
{
	_cleanup_free_ char *error = NULL;
	pid_t pid;
	int pidfd;

	CHECK_INTEQ(spawn_daughter(r, &pid, &pidfd, &error), want_r);
	CHECK_STREQ(error, want_error);
	CHECK(no_children());
}

static void test_failing_step_is_named(void)
{
	char *argv[] = { "/bin/true", NULL };
	_cleanup_close_ int not_netns = open("/dev/null", O_RDONLY | O_CLOEXEC);
	SpawnRequest r;

	base_request(&r, argv, NULL);
	r.netns_fd = not_netns;
	expect_step_error(&r, -EINVAL, "setns: Invalid argument");

	base_request(&r, argv, NULL);
	r.rlimits.nofile = UINT64_C(1) << 40; /* above fs.nr_open */
	expect_step_error(&r, -EPERM, "setrlimit(RLIMIT_NOFILE): Operation not permitted");

	base_request(&r, argv, NULL);
	r.stdout_fd = 1000; /* not open */
	expect_step_error(&r, -EBADF, "dup3(stdout): Bad file descriptor");

	base_request(&r, argv, NULL);
	r.working_directory = "/nonexistent-vx11";
	expect_step_error(&r, -ENOENT, "chdir(/nonexistent-vx11): No such file or directory");

	/* /root is 0700: looked up as the daughter's user, not as root. */
	base_request(&r, argv, NULL);
	r.working_directory = "/root";
	expect_step_error(&r, -EACCES, "chdir(/root): Permission denied");
}
VARIANTS(test_failing_step_is_named)

/* The daughter dies between its last step and execve: by a filter that kills on write(2), which
 * it calls to say "about to exec". The spawner must not call that a success. */
static void test_death_before_exec_is_an_error(void)
{
	static const char profile[] =
	    "{ \"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [ "
	    "{ \"names\": [ \"write\" ], \"action\": \"SCMP_ACT_KILL_PROCESS\" } ] }";
	char *argv[] = { "/bin/true", NULL };
	_cleanup_seccomp_program_ SeccompProgram *p = NULL;
	_cleanup_free_ char *err = NULL;
	SpawnRequest r;

	CHECK_INTEQ(seccomp_program_compile_json(profile, "kill-on-write", &p, &err), 0);
	if (!p)
		return;
	base_request(&r, argv, NULL);
	r.seccomp = p;
	expect_step_error(&r, -ECANCELED, "killed by SIGSYS before execve");
}
VARIANTS(test_death_before_exec_is_an_error)

/* The filter comes before execve, so a profile may refuse execve itself, and the error says so. */
static void test_seccomp_refusing_execve(void)
{
	static const char profile[] = "{ \"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [ "
				      "{ \"names\": [ \"execve\" ], \"action\": \"SCMP_ACT_ERRNO\" } ] }";
	char *argv[] = { "/bin/true", NULL };
	_cleanup_seccomp_program_ SeccompProgram *p = NULL;
	_cleanup_free_ char *err = NULL;
	SpawnRequest r;

	CHECK_INTEQ(seccomp_program_compile_json(profile, "no-execve", &p, &err), 0);
	if (!p)
		return;
	base_request(&r, argv, NULL);
	r.seccomp = p;
	expect_step_error(&r, -EPERM, "execve(/bin/true): Operation not permitted");
}
VARIANTS(test_seccomp_refusing_execve)

/*
 * A job cgroup killed with cgroup_kill() (cgroup.kill), released to the pool and acquired again
 * must still take a daughter, or the spawner must say it died. Linux 6.18 kills (SIGKILL, at
 * birth) every CLONE_INTO_CGROUP child of a cgroup once cgroup.kill'ed: it compares the target's
 * kill_seq with the one it read from the parent's cgroup. The spawner's part is to report it, not
 * to call it a success; the pool's part (cgroup-job.c) is not to hand such a cgroup out again.
 * Its own manager, so that no test after it gets that cgroup.
 */
static void test_killed_cgroup_reused(void)
{
	char *sleep_argv[] = { "/bin/sleep", "5", NULL };
	char *true_argv[] = { "/bin/true", NULL };
	_cleanup_free_ char *err = NULL, *error = NULL;
	CgroupManager *m = NULL;
	Cgroup *cg = NULL, *again = NULL;
	char root[96], name[64];
	SpawnRequest r;
	pid_t pid;
	int pidfd, k;

	pathf(root, sizeof(root), "%s-killed", rel);
	CHECK_INTEQ(cgroup_manager_new(&info, root, &m, &err), 0);
	if (!m)
		return;
	CHECK_INTEQ(cgroup_acquire(m, NULL, &cg, NULL, &err), 0);
	if (!cg)
		goto out;
	base_request(&r, sleep_argv, cg);
	CHECK_INTEQ(spawn_daughter(&r, &pid, &pidfd, NULL), 0);
	CHECK_INTEQ(cgroup_kill(cg), 0);
	{
		siginfo_t si = reap(pidfd, cg);
		CHECK(si.si_code == CLD_KILLED && si.si_status == SIGKILL);
		close(pidfd);
	}
	CHECK_INTEQ(cgroup_wait_empty(cg, 5 * USEC_PER_SEC), 0);
	pathf(name, sizeof(name), "%s", cgroup_name(cg));
	cgroup_release(m, cg);

	CHECK_INTEQ(cgroup_acquire(m, NULL, &again, NULL, &err), 0);
	if (!again)
		goto out;
	if (!streq(cgroup_name(again), name))
		printf("# the pool gave a fresh cgroup (%s, not %s)\n", cgroup_name(again), name);
	base_request(&r, true_argv, again);
	/* After cgroup.kill the kernel would SIGKILL every child cloned into
	 * that cgroup, so the pool must never hand it out again. */
	k = spawn_daughter(&r, &pid, &pidfd, &error);
	CHECK_INTEQ(k, 0);
	if (k == 0) {
		siginfo_t si = reap(pidfd, again);
		CHECK(exited_0(&si));
		close(pidfd);
	} else
		printf("# spawning into %s after a kill: %s\n", cgroup_name(again), error ?: "");
	CHECK(no_children());
	cgroup_release(m, again);
out:
	cgroup_manager_free(m);
}

static void test_request_validated(void)
{
	char *rel_argv[] = { "true", NULL };
	char *argv[] = { "/bin/true", NULL };
	int two = 2, closed = 1001;
	SpawnRequest r;

	base_request(&r, rel_argv, NULL);
	expect_step_error(&r, -EINVAL, "argv[0]: not an absolute path");
	base_request(&r, argv, NULL);
	r.uid = 0;
	expect_step_error(&r, -EINVAL, "uid 0: a daughter never runs as root or as an unset user");
	base_request(&r, argv, NULL);
	r.gid = 0;
	expect_step_error(&r, -EINVAL, "gid 0: a daughter never runs as group root or an unset group");
	spawn_request_init(&r); /* uid and gid left unset */
	r.argv = argv;
	r.envp = test_env;
	expect_step_error(&r, -EINVAL, "uid 4294967295: a daughter never runs as root or as an unset user");
	base_request(&r, argv, NULL);
	r.keep_fds = &two;
	r.n_keep_fds = 1;
	expect_step_error(&r, -EINVAL, "keep_fds: 2 is stdio");
	r.keep_fds = &closed;
	expect_step_error(&r, -EBADF, "keep_fds: 1001: Bad file descriptor");
}

static void test_rlimits(void)
{
	char *argv[] = { "/bin/cat", "/proc/self/limits", NULL };
	SpawnRequest r;
	Run *res;

	base_request(&r, argv, NULL);
	r.rlimits = (SpawnRlimits){ .nofile = 256, .fsize = 1048576, .core = 0, .cpu = 7 };
	res = run(&r, NULL, NULL);
	CHECK_INTEQ(res->r, 0);
	CHECK(exited_0(&res->si));
	CHECK(strstr(res->out, "Max open files            256                  256                  files"));
	CHECK(strstr(res->out, "Max file size             1048576              1048576              bytes"));
	CHECK(strstr(res->out, "Max core file size        0                    0                    bytes"));
	CHECK(
	    strstr(res->out, "Max cpu time              7                    7                    seconds"));
	if (tap_failed_current)
		printf("# %s", res->out);
	run_done(res);

	/* The defaults: core 0, the others as the daemon has them. */
	base_request(&r, argv, NULL);
	res = run(&r, NULL, NULL);
	CHECK(strstr(res->out, "Max core file size        0                    0                    bytes"));
	CHECK(
	    strstr(res->out, "Max cpu time              unlimited            unlimited            seconds"));
	run_done(res);
}
VARIANTS(test_rlimits)

static bool write_oom_score(const char *v)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	bool ok = fd >= 0 && write(fd, v, strlen(v)) == (ssize_t)strlen(v);

	if (fd >= 0)
		close(fd);
	return ok;
}

/* The daemon's OOM protection (the unit's OOMScoreAdjust=-500) is not
 * inherited: a daughter starts at 0, the daemon keeps its own. */
static void test_oom_score_reset(void)
{
	char *argv[] = { "/bin/cat", "/proc/self/oom_score_adj", NULL };
	char before[16] = "", after[16] = "";
	SpawnRequest r;
	Run *res;
	FILE *f;

	f = fopen("/proc/self/oom_score_adj", "re");
	CHECK(f && fgets(before, sizeof(before), f));
	if (f)
		fclose(f);
	/* Lowering a score takes CAP_SYS_RESOURCE, which some sandboxes (this
	 * CI's) withhold even from root; the pure v2 VM run has it. */
	if (!write_oom_score("-100")) {
		SKIP("cannot lower our own oom_score_adj here (no CAP_SYS_RESOURCE): nothing negative to inherit");
		return;
	}

	base_request(&r, argv, NULL);
	res = run(&r, NULL, NULL);
	CHECK_INTEQ(res->r, 0);
	CHECK(exited_0(&res->si));
	CHECK_STREQ(res->out, "0\n");
	run_done(res);

	f = fopen("/proc/self/oom_score_adj", "re");
	CHECK(f && fgets(after, sizeof(after), f));
	if (f)
		fclose(f);
	CHECK_STREQ(after, "-100\n");
	CHECK(write_oom_score(before));
}
VARIANTS(test_oom_score_reset)

static void test_keep_fds(void)
{
	char *ls[] = { "/bin/ls", "-1", "/proc/self/fd/", NULL };
	char *link[] = { "/usr/bin/readlink", "/proc/self/fd/50", NULL };
	int p[2], keep = 50;
	char want[64];
	struct stat st;
	SpawnRequest r;
	Run *res;

	/* fd 50: a pipe we pass on purpose (O_CLOEXEC, which the spawner clears); fd 51: its write end,
	 * not passed and without O_CLOEXEC, which must not get through. */
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	CHECK(dup3(p[0], 50, O_CLOEXEC) == 50);
	CHECK(dup2(p[1], 51) == 51);
	close(p[0]);
	close(p[1]);
	CHECK(fstat(50, &st) == 0);

	base_request(&r, ls, NULL);
	r.keep_fds = &keep;
	r.n_keep_fds = 1;
	res = run(&r, NULL, NULL);
	CHECK_INTEQ(res->r, 0);
	/* 3 is ls's own directory fd. */
	CHECK_STREQ(res->out, "0\n1\n2\n3\n50\n");
	run_done(res);

	/* The same open pipe, not just an fd of that number. */
	base_request(&r, link, NULL);
	r.keep_fds = &keep;
	r.n_keep_fds = 1;
	res = run(&r, NULL, NULL);
	CHECK(exited_0(&res->si));
	CHECK_STREQ(res->out, pathf(want, sizeof(want), "pipe:[%llu]\n", (unsigned long long)st.st_ino));
	run_done(res);
	close(50);
	close(51);
}
VARIANTS(test_keep_fds)

static void sigint_handler(int sig)
{
}

static void test_signals_reset(void)
{
	char *argv[] = { "/bin/cat", "/proc/self/status", NULL };
	struct sigaction ign = {.sa_handler = SIG_IGN}, handler = {.sa_handler = sigint_handler}, old_usr1,
	                 old_int;
	sigset_t block, old_mask;
	char v[64];
	Run *res;

	sigaction(SIGUSR1, &ign, &old_usr1);
	sigaction(SIGINT, &handler, &old_int);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old_mask);
	res = run_simple(argv, NULL, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGUSR1, &old_usr1, NULL);
	sigaction(SIGINT, &old_int, NULL);

	CHECK_INTEQ(res->r, 0);
	CHECK_STREQ(status_value(res->out, "SigBlk", v, sizeof(v)), "0000000000000000");
	CHECK_STREQ(status_value(res->out, "SigIgn", v, sizeof(v)), "0000000000000000");
	CHECK_STREQ(status_value(res->out, "SigCgt", v, sizeof(v)), "0000000000000000");
	run_done(res);
}
VARIANTS(test_signals_reset)

static void test_own_session(void)
{
	char *argv[] = { "/bin/cat", "/proc/self/stat", NULL };
	Run *res = run_simple(argv, NULL, NULL);
	long pid = 0, pgrp = 0, sid = 0;
	const char *p = strrchr(res->out, ')');

	CHECK_INTEQ(res->r, 0);
	/* "pid (comm) state ppid pgrp session ..." */
	pid = atol(res->out);
	CHECK(p && sscanf(p + 1, " %*c %*d %ld %ld", &pgrp, &sid) == 2);
	CHECK(pid > 0);
	CHECK_INTEQ(pgrp, pid);
	CHECK_INTEQ(sid, pid);
	CHECK(sid != getsid(0));
	run_done(res);
}
VARIANTS(test_own_session)

/* Child stacks mapped in this process: a PROT_NONE guard page right below a
 * 256 KiB read-write region (spawn.c's shape). Returns how many; the address
 * of the last in *ret. */
static unsigned child_stacks(uintptr_t *ret)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512], perms[8], prev_perms[8] = "";
	uintptr_t lo, hi, prev_lo = 0, prev_hi = 0;
	long page = sysconf(_SC_PAGESIZE);
	unsigned n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s", &lo, &hi, perms) != 3)
			continue;
		if (hi - lo == 256 * 1024 && strncmp(perms, "rw-p", 4) == 0 && prev_hi == lo &&
		    prev_hi - prev_lo == (uintptr_t)page && strncmp(prev_perms, "---p", 4) == 0) {
			n++;
			*ret = lo;
		}
		prev_lo = lo, prev_hi = hi;
		memcpy(prev_perms, perms, sizeof(perms));
	}
	fclose(f);
	return n;
}

static void spawn_true(void)
{
	char *argv[] = { "/bin/true", NULL };
	_cleanup_free_ char *error = NULL;
	Cgroup *cg = acquire(64);
	SpawnRequest r;
	siginfo_t si;
	pid_t pid = 0;
	int pidfd = -1;

	CHECK(cg);
	if (!cg)
		return;
	base_request(&r, argv, cg);
	CHECK_INTEQ(spawn_daughter(&r, &pid, &pidfd, &error), 0);
	if (pidfd >= 0) {
		CHECK_INTEQ(waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED), 0);
		close(pidfd);
	}
	CHECK_INTEQ(cgroup_wait_empty(cg, 5 * USEC_PER_SEC), 0);
	cgroup_release(mgr, cg);
}

/* The vfork child's stack is mapped once per spawning thread and kept: no
 * mmap and munmap (with its TLB shootdown) per daughter, and no leak. */
static void test_vfork_stack_kept(void)
{
	uintptr_t first = 0, again = 0;
	unsigned before;

	if (spawn_method_default() != SPAWN_METHOD_VFORK)
		SKIP("no vfork-style spawning on this architecture");
	method = SPAWN_METHOD_VFORK;
	before = child_stacks(&first);
	spawn_true();
	CHECK_INTEQ(child_stacks(&first), before > 0 ? before : 1);
	spawn_true();
	spawn_true();
	CHECK_INTEQ(child_stacks(&again), before > 0 ? before : 1);
	CHECK(first != 0 && again == first);
}

int main(int argc, char **argv)
{
	int r;

	if (!spawn_test_setup(argv, &r))
		return r;
	RUN(test_true_exits_0_fork);
	RUN(test_true_exits_0_vfork);
	RUN(test_runs_in_job_cgroup_fork);
	RUN(test_runs_in_job_cgroup_vfork);
	RUN(test_identity_fork);
	RUN(test_identity_vfork);
	RUN(test_environment_is_envp_fork);
	RUN(test_environment_is_envp_vfork);
	RUN(test_stdio_fork);
	RUN(test_stdio_vfork);
	RUN(test_stdio_from_low_fds_fork);
	RUN(test_stdio_from_low_fds_vfork);
	RUN(test_bad_argv0_fork);
	RUN(test_bad_argv0_vfork);
	RUN(test_failing_step_is_named_fork);
	RUN(test_failing_step_is_named_vfork);
	RUN(test_death_before_exec_is_an_error_fork);
	RUN(test_death_before_exec_is_an_error_vfork);
	RUN(test_seccomp_refusing_execve_fork);
	RUN(test_seccomp_refusing_execve_vfork);
	RUN(test_killed_cgroup_reused);
	RUN(test_request_validated);
	RUN(test_rlimits_fork);
	RUN(test_rlimits_vfork);
	RUN(test_oom_score_reset_fork);
	RUN(test_oom_score_reset_vfork);
	RUN(test_keep_fds_fork);
	RUN(test_keep_fds_vfork);
	RUN(test_signals_reset_fork);
	RUN(test_signals_reset_vfork);
	RUN(test_own_session_fork);
	RUN(test_own_session_vfork);
	RUN(test_vfork_stack_kept);
	RUN(test_nothing_left);
	return spawn_test_done();
}
