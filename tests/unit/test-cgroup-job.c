/* SPDX-License-Identifier: MIT */
/*
 * cgroup.c against the real kernel, as root, part 2: a job cgroup's end and
 * reuse. Killing all in it, a double-forked setsid daemon included, with
 * cgroup.kill, by freezing (as before Linux 5.14) and by signalling each (as
 * before 5.2); releasing a cgroup recycles it with its counters reset, or
 * kills what is left in it; the pool is last in, first out and capped;
 * freeing the manager leaves nothing; and the next daemon reaps what a
 * crashed one left. Part 1, detection, the manager and the limits, is
 * test-cgroup.c; what both share is cgroup-test.h.
 */
#include "cgroup-test.h"

/* ---- killing all in a job cgroup ------------------------------------------------------------- */

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

/* The fleet's fence guard (run/fence-guard.c): every process under the
 * root, in two jobs, a double-forked setsid one among them, killed through
 * the manager alone, in a process that holds nothing else (a fork, as the
 * guard is); the cgroups stay for the daemon's next start to reap. */
static void check_kill_all(CgroupManager *m)
{
	Cgroup *a = acquire(m, CGROUP_LIMITS_NONE), *b = acquire(m, CGROUP_LIMITS_NONE);
	char line[96];
	long g = 0, sid = 0;
	int status = 0;
	Child ca, cb;
	pid_t guard;
	siginfo_t si;

	CHECK(a && b);
	if (!a || !b || spawn(a, "sleep", NULL, false, &ca) < 0)
		return;
	CHECK(wait_ready(&ca));
	if (spawn(b, "daemonize", NULL, false, &cb) < 0)
		return;
	CHECK(read_line(cb.out, line, sizeof(line)) > 0 && sscanf(line, "%ld %ld", &g, &sid) == 2);
	si = wait_child(&cb);
	CHECK(si.si_code == CLD_EXITED && si.si_status == 0);
	CHECK(wait_orphan((pid_t)sid, &status) == (pid_t)sid);
	CHECK_INTEQ(cgroup_is_populated(b), 1);

	fflush(stdout);
	guard = fork();
	if (guard == 0) {
		int k = cgroup_manager_kill_all(m);
		_exit(k < 0 ? 0 : k > 100 ? 100 : k);
	}
	/* With cgroup.kill the kernel's kill is not counted; without, both (a
	 * process found again on a later round, a zombie yet, counts again). */
	CHECK(waitpid(guard, &status, 0) == guard && WIFEXITED(status));
	CHECK((cgroup_manager_features(m) & CGROUP_FEATURE_KILL) || WEXITSTATUS(status) >= 2);
	si = wait_child(&ca);
	CHECK(si.si_code == CLD_KILLED && si.si_status == SIGKILL);
	CHECK(g > 0 && wait_orphan((pid_t)g, &status) == (pid_t)g);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK_INTEQ(cgroup_wait_empty(a, 5 * USEC_PER_SEC), 0);
	CHECK_INTEQ(cgroup_wait_empty(b, 5 * USEC_PER_SEC), 0);
	/* Nothing left to kill. */
	CHECK_INTEQ(cgroup_manager_kill_all(m), 0);
	child_done(&ca);
	child_done(&cb);
	cgroup_release(m, a);
	cgroup_release(m, b);
}

static void test_kill_all(void)
{
	_cleanup_cgroup_manager_ CgroupManager *m = manager(NULL);

	CHECK(m);
	if (m)
		check_kill_all(m);
}

/* Without cgroup.kill (v1, or v2 before 5.14): the SIGKILL rounds alone. */
static void test_kill_all_by_signals(void)
{
	_cleanup_cgroup_manager_ CgroupManager *m = manager(NULL);

	CHECK(m);
	if (!m)
		return;
	cgroup_manager_mask_features(m, CGROUP_FEATURE_KILL | CGROUP_FEATURE_FREEZE);
	check_kill_all(m);
}

/* On legacy hierarchies only (this host's v1 controllers, without its cgroup2 mount). */
static void test_kill_all_legacy(void)
{
	CgroupInfo legacy = info;
	CgroupManager *m = NULL;
	_cleanup_free_ char *err = NULL;

	if (is_v2())
		SKIP("no v1 hierarchies on a pure v2 host");
	legacy.mode = CGROUP_MODE_LEGACY;
	CHECK_INTEQ(cgroup_manager_new(&legacy, rel, &m, &err), 0);
	if (!m)
		return;
	check_kill_all(m);
	cgroup_manager_free(m);
}

/* ---- release and reuse ----------------------------------------------------------------------- */

static ino_t inode_of(const char *p)
{
	struct stat st;
	return stat(p, &st) < 0 ? 0 : st.st_ino;
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

/* Write system calls this process made so far. */
static uint64_t write_calls(void)
{
	char buf[512];
	FILE *f = fopen("/proc/self/io", "re");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *p = strstr(buf, "syscw: ");
	return p ? strtoull(p + 7, NULL, 10) : 0;
}

static void test_reuse_keeps_matching_limits(void)
{
	_cleanup_cgroup_manager_ CgroupManager *m = manager(NULL);
	CgroupLimits l = limits(64 * MIB, 32, 50), other = limits(32 * MIB, 16, 25);
	Cgroup *c = m ? acquire(m, l) : NULL;
	uint64_t before, same, changed;
	char name[32], p[PATH_MAX];

	CHECK(c);
	if (!c)
		return;
	pathf(name, sizeof(name), "%s", cgroup_name(c));
	cgroup_release(m, c);

	/* The same limits again: the recycled cgroup is not written to for them. */
	before = write_calls();
	c = acquire(m, l);
	same = write_calls() - before;
	CHECK(c);
	if (!c)
		return;
	CHECK_STREQ(cgroup_name(c), name);
	if (is_v2()) {
		CHECK_STREQ(file_str(uni(p, NULL), name, "memory.max"), "67108864");
		CHECK_STREQ(file_str(uni(p, NULL), name, "pids.max"), "32");
		CHECK_STREQ(file_str(uni(p, NULL), name, "cpu.max"), "50000 100000");
	} else {
		CHECK_STREQ(file_str(v1(p, "memory", NULL), name, "memory.limit_in_bytes"), "67108864");
		CHECK_STREQ(file_str(v1(p, "pids", NULL), name, "pids.max"), "32");
		CHECK_STREQ(file_str(v1(p, "cpu", NULL), name, "cpu.cfs_quota_us"), "50000");
	}
	cgroup_release(m, c);

	/* Other limits: written, all three. */
	before = write_calls();
	c = acquire(m, other);
	changed = write_calls() - before;
	CHECK(c);
	if (!c)
		return;
	CHECK_STREQ(cgroup_name(c), name);
	printf("# write calls to acquire: %" PRIu64 " with the same limits, %" PRIu64 " with others\n", same, changed);
	CHECK(same + 3 <= changed);
	if (is_v2()) {
		CHECK_STREQ(file_str(uni(p, NULL), name, "memory.max"), "33554432");
		CHECK_STREQ(file_str(uni(p, NULL), name, "pids.max"), "16");
		CHECK_STREQ(file_str(uni(p, NULL), name, "cpu.max"), "25000 100000");
	} else {
		CHECK_STREQ(file_str(v1(p, "memory", NULL), name, "memory.limit_in_bytes"), "33554432");
		CHECK_STREQ(file_str(v1(p, "pids", NULL), name, "pids.max"), "16");
		CHECK_STREQ(file_str(v1(p, "cpu", NULL), name, "cpu.cfs_quota_us"), "25000");
	}
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

int main(int argc, char **argv)
{
	int r;

	if (!cgroup_test_setup(argc, argv, &r))
		return r;
	TEST(test_kill_reaches_double_forked_setsid);
	TEST(test_kill_by_freezing);
	TEST(test_kill_by_signalling_each);
	TEST(test_kill_all);
	TEST(test_kill_all_by_signals);
	TEST(test_kill_all_legacy);
	TEST(test_release_recycles_with_counters_reset);
	TEST(test_reuse_keeps_matching_limits);
	TEST(test_release_kills_what_is_left);
	TEST(test_free_list_is_lifo_and_capped);
	TEST(test_manager_free_leaves_nothing);
	TEST(test_reap_leftovers_after_crash);
	return cgroup_test_done();
}
