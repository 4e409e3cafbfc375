/* SPDX-License-Identifier: MIT */
/*
 * cgroup.c against the real kernel, as root, part 1: detection, the manager
 * and the limits. The cgroup mode as the host has it; the manager's root,
 * refused, created with its controllers, delegated (as a service with
 * Delegate=yes) and v1 only; limits applied, or reported unapplied when a
 * controller is missing; a child lands in its job cgroup and "populated"
 * follows it; pids.max holds a fork bomb, memory.max OOM-kills, CPU time is
 * counted and cpu.max throttles; and a failed mkdir -p takes back what it
 * made. Part 2, killing and reusing a job cgroup, is test-cgroup-job.c; what
 * both share is cgroup-test.h.
 */
#include "cgroup-test.h"

/* ---- detection, the manager, a job cgroup ---------------------------------------------------- */

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

/* ---- limits at work -------------------------------------------------------------------------- */

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

/* ---- other roots: delegated, without controllers, v1 only ------------------------------------ */

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

/* ---- mkdir -p -------------------------------------------------------------------------------- */

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
	int r;

	if (!cgroup_test_setup(argc, argv, &r))
		return r;
	TEST(test_mkdir_p_undoes_on_failure);
	TEST(test_detect);
	TEST(test_manager_rejects_bad_roots);
	TEST(test_manager_creates_root);
	TEST(test_acquire_applies_limits);
	TEST(test_acquire_without_limits);
	TEST(test_child_lands_in_cgroup);
	TEST(test_populated_follows_exit);
	TEST(test_pids_max_holds_fork_bomb);
	TEST(test_memory_max_oom_kill);
	TEST(test_cpu_usage_counted);
	TEST(test_cpu_max_throttles);
	TEST(test_delegated);
	TEST(test_delegated_needs_delegation);
	TEST(test_unapplied_limits);
	TEST(test_legacy_mode);
	return cgroup_test_done();
}
