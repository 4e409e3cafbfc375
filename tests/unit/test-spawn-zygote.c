/* SPDX-License-Identifier: MIT */
/*
 * The zygote (sandbox/spawn-zygote.c), for real: a daughter spawned through it
 * is our child (CLONE_PARENT), born in its job cgroup (CLONE_INTO_CGROUP),
 * with its uid and gid, the shared network namespace, an IPC namespace of its
 * own, its mounts, and the profile's two filters; it looks to itself as one
 * from spawn_daughter() does (capabilities, no_new_privs, limits); a failed
 * step is named as spawn_daughter() names it; and a zygote killed with
 * SIGKILL, or one whose clone3 is refused, is reported lost with nothing
 * started. What the filters allow is test-seccomp-split.c's.
 */
#include "sandbox/spawn-zygote.h"
#include "spawn-test.h"

static Zygote *zygote;
static bool own_mounts; /* this program runs in a mount namespace of its own */

static void zygote_request(SpawnRequest *r, char **argv, const Cgroup *cg)
{
	base_request(r, argv, cg);
	r->seccomp = default_profile;
	r->netns_fd = netns_fd;
	r->rlimits.nofile = 256;
}

static Zygote *the_zygote(void)
{
	_cleanup_free_ char *error = NULL;
	SpawnRequest r;
	int k;

	if (zygote && zygote_alive(zygote))
		return zygote;
	zygote = zygote_free(zygote);
	zygote_request(&r, (char *[]){ "/bin/true", NULL }, NULL);
	k = zygote_start(&r, &zygote, &error);
	if (k < 0)
		printf("# zygote_start: %s\n", error ?: strerror(-k));
	return zygote;
}

/* run() of spawn-test.h, through the zygote (or spawn_daughter() when direct). */
static Run *run_via(bool direct, char **argv, void (*adjust)(SpawnRequest *), SpawnStep *ret_step)
{
	Run *res = calloc(1, sizeof(Run));
	Cgroup *cg = acquire(64);
	int out[2], err[2], pidfd = -1;
	SpawnRequest r;
	bool lost = false;
	pid_t pid;

	if (!res || !cg || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		abort();
	res->si.si_code = -1;
	zygote_request(&r, argv, cg);
	if (adjust)
		adjust(&r);
	r.stdout_fd = out[1];
	r.stderr_fd = err[1];
	CHECK(direct || zygote_can_serve(&r));
	if (direct)
		res->r = spawn_daughter_step(&r, &pid, &pidfd, &res->error, ret_step);
	else if (the_zygote())
		res->r = zygote_spawn(zygote, &r, &pid, &pidfd, &res->error, ret_step, &lost);
	else
		res->r = -ESRCH;
	CHECK(!lost);
	close(out[1]);
	close(err[1]);
	if (res->r >= 0) {
		if (drain(out[0], res->out, sizeof(res->out)) < 0 || drain(err[0], res->err, sizeof(res->err)) < 0)
			printf("# reading the daughter's output timed out\n");
		res->si = reap(pidfd, cg);
		close(pidfd);
	}
	close(out[0]);
	close(err[0]);
	cgroup_release(mgr, cg);
	return res;
}

static const char status_script[] =
	"id -u; id -g; echo \"ppid $PPID\"; ulimit -n; cat /proc/self/cgroup;"
	"readlink /proc/self/ns/ipc /proc/self/ns/net;"
	"grep -E '^(Seccomp|NoNewPrivs|Cap)' /proc/self/status";

static void test_confined_as_direct(void)
{
	char *sh[] = { "/bin/sh", "-c", (char *)status_script, NULL };
	char ipc[64], net[64], zipc[64], p[64], line[128], buf[64];
	Run *z = run_via(false, sh, NULL, NULL), *d = run_via(true, sh, NULL, NULL);
	struct stat st;

	CHECK_INTEQ(z->r, 0);
	CHECK(exited_0(&z->si));
	CHECK(exited_0(&d->si));
	pathf(line, sizeof(line), "%d\n%d\nppid %d\n256\n", TEST_UID, TEST_GID, (int)getpid());
	CHECK(strncmp(z->out, line, strlen(line)) == 0);
	/* In its job cgroup (its name differs from run to run: the path's root part). */
	pathf(line, sizeof(line), "0::/%s/job-", rel);
	CHECK(strstr(z->out, line));
	/* On a hybrid host, its v1 pids group too (it has a pids.max). */
	pathf(line, sizeof(line), ":pids:/%s/job-", rel);
	CHECK(info.mode != CGROUP_MODE_HYBRID || strstr(z->out, line));
	/* The shared network namespace, an IPC namespace of its own (not ours, not the zygote's). */
	CHECK(fstat(netns_fd, &st) == 0);
	pathf(net, sizeof(net), "net:[%lu]\n", (unsigned long)st.st_ino);
	CHECK(strstr(z->out, net));
	CHECK(readlink("/proc/self/ns/ipc", ipc, sizeof(ipc) - 1) > 0);
	CHECK(!strstr(z->out, ipc));
	memset(zipc, 0, sizeof(zipc));
	CHECK(readlink(pathf(p, sizeof(p), "/proc/%d/ns/ipc", (int)zygote_pid(zygote)), zipc, sizeof(zipc) - 1) > 0);
	CHECK(!strstr(z->out, zipc));
	/* Two filters (the zygote's variant, its dropped rules), one when direct; the rest alike. */
	CHECK_STREQ(status_value(z->out, "Seccomp_filters", buf, sizeof(buf)), "2");
	CHECK_STREQ(status_value(d->out, "Seccomp_filters", buf, sizeof(buf)), "1");
	for (const char *const *k = (const char *const[]){ "Seccomp", "NoNewPrivs", "CapInh", "CapPrm", "CapEff",
							   "CapBnd", "CapAmb", NULL };
	     *k; k++) {
		char a[64], b[64];
		CHECK_STREQ(status_value(z->out, *k, a, sizeof(a)), status_value(d->out, *k, b, sizeof(b)));
	}
	run_done(z);
	run_done(d);
}

/*
 * lifecycle.md "One attempt" step 1: the daughter is created already inside its job cgroup.
 * Here the job's cgroup.procs is masked by /dev/null (in our own mount namespace, where the
 * cgroup's directory fd was opened): a child that joined by writing cgroup.procs would stay
 * in our cgroup; only clone3(CLONE_INTO_CGROUP) on the directory fd puts it in the job's.
 */
static void test_born_in_cgroup(void)
{
	char *cat[] = { "/bin/cat", "/proc/self/cgroup", NULL };
	char procs[PATH_MAX], line[128], out[OUT_MAX] = "";
	_cleanup_free_ char *error = NULL;
	int o[2], pidfd = -1, k;
	bool lost = false;
	SpawnRequest r;
	Cgroup *cg;
	pid_t pid;

	if (!own_mounts)
		SKIP("no mount namespace of our own to mask cgroup.procs in");
	cg = acquire(64);
	CHECK(cg && the_zygote() && pipe2(o, O_CLOEXEC) == 0);
	pathf(procs, sizeof(procs), "%s/cgroup.procs", cgroup_path(cg));
	CHECK(mount("/dev/null", procs, NULL, MS_BIND, NULL) == 0);
	zygote_request(&r, cat, cg);
	r.stdout_fd = o[1];
	k = zygote_spawn(zygote, &r, &pid, &pidfd, &error, NULL, &lost);
	close(o[1]);
	if (error)
		printf("# %s\n", error);
	CHECK_INTEQ(k, 0);
	if (k == 0) {
		siginfo_t si;
		CHECK(drain(o[0], out, sizeof(out)) >= 0);
		si = reap(pidfd, cg);
		CHECK(exited_0(&si));
		close(pidfd);
	}
	close(o[0]);
	CHECK(umount2(procs, 0) == 0);
	CHECK(strstr(out, pathf(line, sizeof(line), "0::/%s/%s\n", rel, cgroup_name(cg))));
	cgroup_release(mgr, cg);
}

static void mounts(SpawnRequest *r)
{
	r->private_tmp = true;
	r->read_only_system = true;
}

static void test_mounts(void)
{
	char *sh[] = { "/bin/sh", "-c", "ls -A /tmp; touch /usr/vx11-zygote-test 2>/dev/null && echo writable;"
				       "unshare -i true 2>/dev/null && echo unshared; echo done", NULL };
	Run *z = run_via(false, sh, mounts, NULL);

	CHECK(exited_0(&z->si));
	/* An empty /tmp of its own, /usr read-only, and unshare denied by its profile. */
	CHECK_STREQ(z->out, "done\n");
	CHECK(access("/usr/vx11-zygote-test", F_OK) < 0);
	run_done(z);
}

static void test_failed_step_named_as_direct(void)
{
	char *nope[] = { "/no/such/program", NULL };
	SpawnStep zs = SPAWN_STEP_NONE, ds = SPAWN_STEP_NONE;
	Run *z = run_via(false, nope, NULL, &zs), *d = run_via(true, nope, NULL, &ds);

	CHECK_INTEQ(z->r, -ENOENT);
	CHECK_INTEQ(z->r, d->r);
	CHECK_STREQ(z->error ?: "", d->error ?: "");
	CHECK_INTEQ((int)zs, (int)SPAWN_STEP_EXECVE);
	CHECK_INTEQ((int)zs, (int)ds);
	run_done(z);
	run_done(d);
}

static void test_zygote_killed(void)
{
	char *t[] = { "/bin/true", NULL };
	Cgroup *cg = acquire(64);
	SpawnRequest r;
	_cleanup_free_ char *error = NULL;
	int pidfd = -1, k;
	bool lost = false;
	pid_t pid = 0;
	Run *res;

	CHECK(the_zygote() != NULL);
	CHECK(kill(zygote_pid(zygote), SIGKILL) == 0);
	for (int i = 0; i < 200 && zygote_alive(zygote); i++)
		usleep(10000);
	CHECK(!zygote_alive(zygote));
	zygote_request(&r, t, cg);
	k = zygote_spawn(zygote, &r, &pid, &pidfd, &error, NULL, &lost);
	printf("# %s\n", error ?: "");
	CHECK(k < 0);
	CHECK(lost);
	CHECK(pidfd < 0 && pid == 0);
	cgroup_release(mgr, cg);
	zygote = zygote_free(zygote);
	/* A new one serves. */
	res = run_via(false, t, NULL, NULL);
	CHECK(exited_0(&res->si));
	run_done(res);
	zygote = zygote_free(zygote);
}

/* Fail-closed: a child that cannot stack the dropped rules does not run, and says why. */
static void test_dropped_rules_refused(void)
{
	struct sock_filter bad[] = { { .code = 0xffff } }; /* no such instruction: EINVAL */
	SeccompProgram broken = *default_profile;
	char *marker_argv[] = { "/usr/bin/touch", NULL, NULL }, marker[PATH_MAX];
	_cleanup_free_ char *error = NULL;
	Cgroup *cg = acquire(64);
	SeccompProgram *saved = default_profile;
	SpawnStep step = SPAWN_STEP_NONE;
	Zygote *z = NULL;
	SpawnRequest r;
	int pidfd = -1, k;
	bool lost = false;
	pid_t pid = 0;

	broken.dropped = (struct sock_fprog){ .len = 1, .filter = bad };
	/* Where the daughter's uid could write, had it run. */
	pathf(marker, sizeof(marker), "%s/w", testdir);
	CHECK((mkdir(marker, 0777) == 0 || errno == EEXIST) && chmod(marker, 0777) == 0);
	marker_argv[1] = pathf(marker, sizeof(marker), "%s/w/ran", testdir);
	default_profile = &broken;
	zygote_request(&r, marker_argv, cg);
	default_profile = saved;
	k = zygote_start(&r, &z, &error);
	CHECK_INTEQ(k, 0);
	free(error);
	error = NULL;
	k = zygote_spawn(z, &r, &pid, &pidfd, &error, &step, &lost);
	printf("# %s\n", error ?: "");
	CHECK_INTEQ(k, -EINVAL);
	CHECK(!lost);
	CHECK_INTEQ((int)step, (int)SPAWN_STEP_SECCOMP);
	CHECK(error && strstr(error, "seccomp(default): Invalid argument"));
	CHECK(access(marker, F_OK) < 0);
	CHECK_INTEQ(cgroup_is_populated(cg), 0);
	zygote_free(z);
	/* The control: with its rules intact, the same request runs and leaves its mark. */
	free(error);
	error = NULL;
	zygote_request(&r, marker_argv, cg);
	CHECK_INTEQ(zygote_start(&r, &z, &error), 0);
	k = zygote_spawn(z, &r, &pid, &pidfd, &error, &step, &lost);
	CHECK_INTEQ(k, 0);
	if (k == 0) {
		siginfo_t si = reap(pidfd, cg);
		CHECK(exited_0(&si));
		close(pidfd);
	}
	CHECK(access(marker, F_OK) == 0);
	unlink(marker);
	rmdir(pathf(marker, sizeof(marker), "%s/w", testdir));
	zygote_free(z);
	cgroup_release(mgr, cg);
}

/*
 * Fail-closed: a zygote whose clone3 is refused (its variant here is the whole profile, which
 * answers ENOSYS: as a kernel without CLONE_INTO_CGROUP would refuse) starts no daughter, not
 * one outside its cgroup: the request is lost, for the direct path.
 */
static void test_clone3_refused(void)
{
	char *t[] = { "/bin/true", NULL };
	SeccompProgram whole = *default_profile, *saved = default_profile;
	_cleanup_free_ char *error = NULL;
	Cgroup *cg = acquire(64);
	Zygote *z = NULL;
	SpawnRequest r;
	int pidfd = -1, k;
	bool lost = false;
	pid_t pid = 0;

	whole.variant = whole.prog;
	whole.dropped = (struct sock_fprog){ 0 };
	default_profile = &whole;
	zygote_request(&r, t, cg);
	default_profile = saved;
	r.netns_fd = -1; /* the whole profile denies setns */
	CHECK_INTEQ(zygote_start(&r, &z, &error), 0);
	if (!z)
		return;
	k = zygote_spawn(z, &r, &pid, &pidfd, &error, NULL, &lost);
	printf("# %s\n", error ?: "");
	CHECK_INTEQ(k, -ENOSYS);
	CHECK(lost);
	CHECK(pidfd < 0 && pid == 0);
	CHECK_INTEQ(cgroup_is_populated(cg), 0);
	zygote_free(z);
	cgroup_release(mgr, cg);
}

/* The zygote path checks a request as the direct path does: never root. */
static void test_root_refused(void)
{
	char *t[] = { "/bin/true", NULL };
	_cleanup_free_ char *error = NULL;
	Cgroup *cg = acquire(64);
	SpawnRequest r;
	int pidfd = -1, k;
	bool lost = false;
	pid_t pid = 0;

	CHECK(cg && the_zygote());
	if (!cg || !zygote)
		return;
	zygote_request(&r, t, cg);
	r.uid = 0;
	k = zygote_spawn(zygote, &r, &pid, &pidfd, &error, NULL, &lost);
	CHECK_INTEQ(k, -EINVAL);
	CHECK(!lost);
	CHECK(error && strstr(error, "uid 0: a daughter never runs as root"));
	CHECK(pidfd < 0 && pid == 0);
	CHECK_INTEQ(cgroup_is_populated(cg), 0);
	cgroup_release(mgr, cg);
}

int main(int argc, char *argv[])
{
	int code;

	/* Before the cgroup manager opens its directories: test_born_in_cgroup's mask must be seen
	 * through them, and not outside this program. */
	own_mounts = geteuid() == 0 && unshare(CLONE_NEWNS) == 0 &&
		     mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
	if (!spawn_test_setup(argv, &code))
		return code;
	RUN(test_confined_as_direct);
	RUN(test_born_in_cgroup);
	RUN(test_mounts);
	RUN(test_failed_step_named_as_direct);
	RUN(test_zygote_killed);
	RUN(test_dropped_rules_refused);
	RUN(test_clone3_refused);
	RUN(test_root_refused);
	zygote = zygote_free(zygote);
	RUN(test_nothing_left);
	return spawn_test_done();
}
