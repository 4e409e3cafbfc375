/* SPDX-License-Identifier: MIT */
/*
 * The spawner against the real kernel, as root, part 2: confinement. No
 * privileges, private /tmp and read-only system mounts, the shared loopback
 * network namespace, the seccomp filter last, the whole sandbox against
 * tests/hostile-probe, many threads spawning at once, and what a spawn costs.
 * Part 1, a daughter's plumbing, is test-spawn.c; what both share is
 * spawn-test.h.
 */
#include "spawn-test.h"

static volatile sig_atomic_t got_sigterm;

static void check_unprivileged(const char *status)
{
	static const char *const caps[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
	char v[64];

	CHECK_STREQ(status_value(status, "NoNewPrivs", v, sizeof(v)), "1");
	for (size_t k = 0; k < ELEMENTSOF(caps); k++)
		CHECK_STREQ(status_value(status, caps[k], v, sizeof(v)), "0000000000000000");
}

static void with_namespaces(SpawnRequest *r)
{
	r->netns_fd = netns_fd;
	r->private_tmp = true;
}

static void test_no_privileges(void)
{
	char *argv[] = { "/bin/cat", "/proc/self/status", NULL };
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct saved[2], inh[2];
	Run *res;

	/* An inheritable capability of ours: setresuid() keeps the inheritable set and execve() passes it
	 * on, so only the spawner's own capset() empties it. */
	CHECK(syscall(SYS_capget, &h, saved) == 0);
	memcpy(inh, saved, sizeof(inh));
	inh[0].inheritable |= 1u << CAP_NET_BIND_SERVICE;
	CHECK(syscall(SYS_capset, &h, inh) == 0);

	/* Without namespaces (setresuid drops the capabilities) and with (CAP_SYS_ADMIN kept, then dropped).
	 */
	res = run_simple(argv, NULL, NULL);
	CHECK_INTEQ(res->r, 0);
	check_unprivileged(res->out);
	run_done(res);
	res = run_simple(argv, with_namespaces, NULL);
	CHECK_INTEQ(res->r, 0);
	check_unprivileged(res->out);
	run_done(res);
	CHECK(syscall(SYS_capset, &h, saved) == 0);
}
VARIANTS(test_no_privileges)

/* Lines of mountinfo whose mount point is path (field 5). */
static int mounts_at(const char *mountinfo, const char *path, char *opts, size_t size)
{
	int n = 0;

	for (const char *l = mountinfo; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char point[PATH_MAX], o[256];

		if (sscanf(l, "%*d %*d %*s %*s %4095s %255s", point, o) == 2 && streq(point, path)) {
			n++;
			if (opts)
				pathf(opts, size, "%s", o);
		}
	}
	return n;
}

static void private_tmp(SpawnRequest *r)
{
	r->private_tmp = true;
}

static void test_private_tmp(void)
{
	char *ls[] = { "/bin/ls", "-A", "/tmp", "/var/tmp", NULL };
	char *touch[] = { "/usr/bin/touch", "/tmp/vx11-spawn-daughter-file", NULL };
	char *mounts[] = { "/bin/cat", "/proc/self/mountinfo", NULL };
	char marker[PATH_MAX], host_before[OUT_MAX], host_after[OUT_MAX];
	Run *res;
	int fd;

	pathf(marker, sizeof(marker), "/tmp/vx11-spawn-marker-%d", (int)getpid());
	fd = open(marker, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	close(fd);
	read_file("/proc/self/mountinfo", host_before, sizeof(host_before));

	res = run_simple(ls, private_tmp, NULL);
	CHECK_INTEQ(res->r, 0);
	CHECK(exited_0(&res->si));
	CHECK_STREQ(res->out, "/tmp:\n\n/var/tmp:\n");
	run_done(res);

	/* Writable by the daughter, and what it writes stays in its own tmpfs. */
	res = run_simple(touch, private_tmp, NULL);
	CHECK(exited_0(&res->si));
	CHECK(access("/tmp/vx11-spawn-daughter-file", F_OK) < 0 && errno == ENOENT);
	run_done(res);

	res = run_simple(mounts, private_tmp, NULL);
	CHECK(exited_0(&res->si));
	CHECK(strstr(res->out, " /tmp rw,nosuid,nodev") && strstr(res->out, " /var/tmp rw,nosuid,nodev"));
	run_done(res);

	/* Nothing of it reached the host's mounts (other mounts may come and go meanwhile). */
	read_file("/proc/self/mountinfo", host_after, sizeof(host_after));
	CHECK_INTEQ(mounts_at(host_after, "/tmp", NULL, 0), mounts_at(host_before, "/tmp", NULL, 0));
	CHECK_INTEQ(mounts_at(host_after, "/var/tmp", NULL, 0), mounts_at(host_before, "/var/tmp", NULL, 0));
	unlink(marker);
}
VARIANTS(test_private_tmp)

/*
 * On systemd hosts "/" is a shared mount: a daughter that made its mount namespace without
 * making it private first would hand its tmpfs and bind mounts back to the host. This host's
 * "/" may well be private, so a helper process makes a namespace of its own where everything
 * is shared (cut from the host first), spawns from there, and counts its own mounts after.
 */
static int count_mounts(const char *const *paths, size_t n)
{
	char buf[OUT_MAX];
	int total = 0;

	if (read_file("/proc/self/mountinfo", buf, sizeof(buf)) < 0)
		return -1;
	for (size_t k = 0; k < n; k++)
		total += mounts_at(buf, paths[k], NULL, 0);
	return total;
}

static void test_mounts_do_not_propagate(void)
{
	static const char *const paths[] = { "/tmp", "/var/tmp", "/usr", "/etc", "/opt", "/boot" };
	int status = -1;
	pid_t helper;

	fflush(stdout);
	helper = fork();
	if (helper == 0) {
		char *argv[] = { "/bin/true", NULL };
		SpawnRequest r;
		pid_t pid;
		int pidfd, before, after;

		alarm(60);
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_SHARED, NULL) < 0)
			_exit(2);
		before = count_mounts(paths, ELEMENTSOF(paths));
		base_request(&r, argv, NULL);
		r.private_tmp = r.read_only_system = true;
		if (spawn_daughter(&r, &pid, &pidfd, NULL) < 0)
			_exit(3);
		siginfo_t si = reap(pidfd, NULL);
		if (si.si_code != CLD_EXITED || si.si_status != 0)
			_exit(4);
		after = count_mounts(paths, ELEMENTSOF(paths));
		if (after != before)
			printf("# %d mounts at /tmp, /usr, ... before the daughter, %d after\n", before,
			       after);
		fflush(stdout);
		_exit(after == before && before >= 0 ? 0 : 1);
	}
	CHECK(helper > 0);
	if (helper > 0)
		CHECK(waitpid(helper, &status, 0) == helper);
	CHECK(WIFEXITED(status));
	CHECK_INTEQ(WEXITSTATUS(status), 0);
}
VARIANTS(test_mounts_do_not_propagate)

static void read_only(SpawnRequest *r)
{
	r->read_only_system = true;
}

static void test_read_only_system(void)
{
	char dir[PATH_MAX], sub[PATH_MAX], f[PATH_MAX], g[PATH_MAX], opts[256];
	char *touch_f[] = { "/usr/bin/touch", f, NULL };
	char *touch_g[] = { "/usr/bin/touch", g, NULL };
	char *mounts[] = { "/bin/cat", "/proc/self/mountinfo", NULL };
	bool mounted;
	Run *res;

	/* A directory the daughter's user owns, under /opt (read-only in it), with a submount. */
	pathf(dir, sizeof(dir), "/opt/vx11-test-spawn-%d", (int)getpid());
	pathf(sub, sizeof(sub), "%s/sub", dir);
	pathf(f, sizeof(f), "%s/file", dir);
	pathf(g, sizeof(g), "%s/file", sub);
	CHECK(mkdir(dir, 0755) == 0 && mkdir(sub, 0755) == 0);
	mounted = mount("tmpfs", sub, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") == 0;
	CHECK(mounted);
	CHECK(chown(dir, TEST_UID, TEST_GID) == 0 && chown(sub, TEST_UID, TEST_GID) == 0);

	/* Control: without read_only_system the user may write there. */
	res = run_simple(touch_f, NULL, NULL);
	CHECK(exited_0(&res->si));
	run_done(res);
	res = run_simple(touch_g, NULL, NULL);
	CHECK(exited_0(&res->si));
	run_done(res);
	unlink(f);
	unlink(g);

	res = run_simple(touch_f, read_only, NULL);
	CHECK_INTEQ(res->r, 0);
	CHECK(res->si.si_code == CLD_EXITED && res->si.si_status == 1);
	CHECK(strstr(res->err, "Read-only file system"));
	run_done(res);
	/* The submount too (MS_REC and AT_RECURSIVE). */
	res = run_simple(touch_g, read_only, NULL);
	CHECK(res->si.si_code == CLD_EXITED && res->si.si_status == 1);
	CHECK(strstr(res->err, "Read-only file system"));
	run_done(res);
	CHECK(access(f, F_OK) < 0 && access(g, F_OK) < 0);

	res = run_simple(mounts, read_only, NULL);
	CHECK(exited_0(&res->si));
	for (size_t k = 0; k < spawn_n_ro_paths; k++) {
		struct stat st;
		const char *p = spawn_ro_paths[k];

		if (lstat(p, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		opts[0] = 0;
		CHECK(mounts_at(res->out, p, opts, sizeof(opts)) >= 1);
		if (strncmp(opts, "ro", 2) != 0)
			printf("# %s mounted \"%s\"\n", p, opts);
		CHECK(strncmp(opts, "ro", 2) == 0);
	}
	CHECK(mounts_at(res->out, sub, opts, sizeof(opts)) >= 1 && strncmp(opts, "ro", 2) == 0);
	/* What it must leave writable. */
	CHECK(mounts_at(res->out, "/var", NULL, 0) == 0);
	run_done(res);

	if (mounted)
		CHECK(umount2(sub, MNT_DETACH) == 0);
	CHECK(rmdir(sub) == 0 && rmdir(dir) == 0);
}
VARIANTS(test_read_only_system)

static void netns_only(SpawnRequest *r)
{
	r->netns_fd = netns_fd;
}

static void test_netns_joined(void)
{
	char *dev[] = { "/bin/cat", "/proc/net/dev", NULL };
	char *ns[] = { "/usr/bin/readlink", "/proc/self/ns/net", NULL };
	char want[64];
	struct stat st;
	Run *res;
	int n = 0;

	CHECK(fstat(netns_fd, &st) == 0);
	res = run_simple(dev, netns_only, NULL);
	CHECK(exited_0(&res->si));
	/* Two header lines, then one per interface: only lo. */
	for (const char *l = res->out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *colon = strchr(l, ':'), *nl = strchr(l, '\n');
		if (colon && (!nl || colon < nl))
			n++;
	}
	CHECK_INTEQ(n, 1);
	CHECK(strstr(res->out, "    lo:"));
	if (tap_failed_current)
		printf("# %s", res->out);
	run_done(res);

	/* Every daughter joins the same namespace. */
	pathf(want, sizeof(want), "net:[%llu]\n", (unsigned long long)st.st_ino);
	for (int k = 0; k < 2; k++) {
		res = run_simple(ns, netns_only, NULL);
		CHECK_STREQ(res->out, want);
		run_done(res);
	}
}
VARIANTS(test_netns_joined)

static void full(SpawnRequest *r)
{
	confine(r);
}

static void test_seccomp_last(void)
{
	char *argv[] = { "/bin/cat", "/proc/self/status", NULL };
	char v[64];
	Run *res;

	/* The default profile denies setns, unshare and mount: that the namespaces were made at all
	 * shows it came after them. */
	res = run_simple(argv, full, NULL);
	CHECK_INTEQ(res->r, 0);
	CHECK(exited_0(&res->si));
	CHECK_STREQ(status_value(res->out, "Seccomp", v, sizeof(v)), "2");
	CHECK_STREQ(status_value(res->out, "Seccomp_filters", v, sizeof(v)), "1");
	run_done(res);
}
VARIANTS(test_seccomp_last)

/* ---- module tests ----------------------------------------------------------------------------- */

static void *lo_flags_in_netns(void *arg)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int *flags = arg, s;

	*flags = -1;
	if (setns(netns_fd, CLONE_NEWNET) < 0)
		return NULL;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0)
		*flags = ifr.ifr_flags;
	if (s >= 0)
		close(s);
	return NULL;
}

static void test_netns_loopback_up(void)
{
	char own[64] = "", made[64];
	pthread_t t;
	int flags = -1;
	struct stat st;

	CHECK(netns_fd >= 0);
	CHECK(fcntl(netns_fd, F_GETFD) & FD_CLOEXEC);
	/* A new namespace, and ours is not changed; or, where ours is
	 * loopback-only already (the v2 VM, a unit with PrivateNetwork=), ours. */
	CHECK(readlink("/proc/thread-self/ns/net", own, sizeof(own)) > 0);
	CHECK(fstat(netns_fd, &st) == 0);
	pathf(made, sizeof(made), "net:[%llu]", (unsigned long long)st.st_ino);
	if (netns_self_is_loopback_only())
		CHECK(strncmp(own, made, strlen(made)) == 0);
	else
		CHECK(strncmp(own, made, strlen(made)) != 0);
	/* lo is up in it (in a thread, so that we need no way back). */
	CHECK(pthread_create(&t, NULL, lo_flags_in_netns, &flags) == 0 && pthread_join(t, NULL) == 0);
	CHECK(flags >= 0 && (flags & IFF_UP));
}

/* ---- the hostile daughter --------------------------------------------------------------------- */

static void on_sigterm(int sig)
{
	got_sigterm++;
}

static const char *probe_path(void)
{
	return getenv("VX11_SPAWN_PROBE") ?: VX11_SPAWN_TEST_PROBE;
}

/* The probe, copied where a daughter with a private /tmp can see it (the build dir may be in /tmp). */
static int install_probe(char *ret, size_t size)
{
	char buf[65536];
	int in, out;
	ssize_t n;

	pathf(ret, size, "%s/hostile-probe", testdir);
	if (access(ret, X_OK) == 0)
		return 0;
	in = open(probe_path(), O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(ret, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0755);
	if (out < 0) {
		close(in);
		return -errno;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	close(in);
	if (close(out) < 0 || n < 0)
		return -EIO;
	return 0;
}

/* A pids.max of the job's own: in the v1 pids hierarchy on hybrid hosts, else in the job's directory. */
static char *own_limit_file(const Cgroup *cg, char *buf, size_t size)
{
	if (info.mode == CGROUP_MODE_HYBRID)
		return pathf(buf, size, "/sys/fs/cgroup/pids/%s/%s/pids.max", rel, cgroup_name(cg));
	return pathf(buf, size, "%s/pids.max", cgroup_path(cg));
}

static void test_full_confinement(void)
{
	static const char *const expected[] = {
		"inherited-fds", "no-new-privs",    "capabilities",	"seccomp",     "uid",
		"unshare-user",	 "setns-host-net",  "mount",		"fsopen",      "ptrace",
		"process_vm_readv", "bpf",	    "perf_event_open",	"keyctl",      "userfaultfd",
		"io_uring_setup", "clone3-newuser", "x32-unshare",	"int80-unshare", "tiocsti",
		"cgroup-procs",	 "cgroup-limit",    "kill",		"read-secret", "network",
		"personality-no-aslr", "personality-exec", "int80-personality",
	};
	char probe[PATH_MAX], secret[PATH_MAX], procs[PATH_MAX], limit[PATH_MAX], sib_pid[16], kill_pid[16];
	char *sleep_argv[] = { "/bin/sleep", "5", NULL };
	char *argv[] = { probe,	       "--sibling", sib_pid, "--kill",	   kill_pid, "--cgroup-procs", procs,
			 "--limit-file", limit,	    "--secret", secret, "--netns", NULL };
	struct sigaction term = { .sa_handler = on_sigterm }, old_term;
	_cleanup_free_ char *sib_error = NULL;
	Cgroup *cg = NULL, *sib_cg = NULL;
	SpawnRequest r;
	pid_t sib = 0;
	int sib_pidfd = -1, fd, k;
	char failures[4096] = "", state = '?', stat[512];
	size_t fl = 0;
	Run *res;

	k = install_probe(probe, sizeof(probe));
	if (k < 0) {
		printf("# %s: %s\n", probe_path(), strerror(-k));
		CHECK(k == 0);
		return;
	}
	pathf(secret, sizeof(secret), "%s/secret", testdir);
	fd = open(secret, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && write(fd, "root's\n", 7) == 7);
	close(fd);
	pathf(procs, sizeof(procs), "%s/cgroup.procs", info.unified_root);

	cg = acquire(16);
	sib_cg = acquire(16);
	CHECK(cg && sib_cg);
	if (!cg || !sib_cg)
		goto out;

	/* The sibling: another confined daughter, another uid, another job cgroup. */
	base_request(&r, sleep_argv, sib_cg);
	confine(&r);
	r.uid = r.gid = TEST_UID + 1;
	k = spawn_daughter(&r, &sib, &sib_pidfd, &sib_error);
	CHECK_INTEQ(k, 0);
	if (k < 0) {
		printf("# sibling: %s\n", sib_error ?: "");
		goto out;
	}
	pathf(sib_pid, sizeof(sib_pid), "%d", (int)sib);
	pathf(kill_pid, sizeof(kill_pid), "%d", (int)getpid()); /* we stand in for vx11d */
	own_limit_file(cg, limit, sizeof(limit));

	sigaction(SIGTERM, &term, &old_term);
	got_sigterm = 0;
	base_request(&r, argv, cg);
	confine(&r);
	r.uid = r.gid = TEST_UID + 2; /* a dynamic uid */
	res = run(&r, NULL, cg);
	sigaction(SIGTERM, &old_term, NULL);

	CHECK_INTEQ(res->r, 0);
	for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
		char want[64];

		pathf(want, sizeof(want), "%s blocked\n", expected[i]);
		if (!(strncmp(res->out, want, strlen(want)) == 0 ||
		      strstr(res->out, pathf(want, sizeof(want), "\n%s blocked\n", expected[i]))))
			fl += (size_t)snprintf(failures + fl,
			                       fl < sizeof(failures) ? sizeof(failures) - fl : 0, " %s",
			                       expected[i]);
		if (fl >= sizeof(failures))
			fl = sizeof(failures) - 1;
	}
	if (failures[0])
		printf("# not blocked:%s\n", failures);
	CHECK_STREQ(failures, "");
	CHECK(!strstr(res->out, "ESCAPED"));
	CHECK(exited_0(&res->si));
	CHECK_INTEQ(got_sigterm, 0);
	if (tap_failed_current) {
		printf("# probe stdout:\n");
		for (char *l = strtok(res->out, "\n"); l; l = strtok(NULL, "\n"))
			printf("#   %s\n", l);
	}
	printf("# probe details:\n");
	for (char *l = strtok(res->err, "\n"); l; l = strtok(NULL, "\n"))
		printf("#   %s\n", l);
	run_done(res);

	/* The sibling was neither stopped (ptrace) nor killed. */
	if (read_file(pathf(limit, sizeof(limit), "/proc/%d/stat", (int)sib), stat, sizeof(stat)) == 0 &&
	    strrchr(stat, ')'))
		state = strrchr(stat, ')')[2];
	CHECK(state == 'S' || state == 'R');
	/* Not cgroup_kill(): on some kernels a cgroup once killed that way kills every later
	 * CLONE_INTO_CGROUP child (test_killed_cgroup_reused), and this one goes back to the pool. */
	CHECK(syscall(SYS_pidfd_send_signal, sib_pidfd, SIGKILL, NULL, 0) == 0);
	{
		siginfo_t si = reap(sib_pidfd, sib_cg);
		CHECK(si.si_code == CLD_KILLED && si.si_status == SIGKILL);
	}
	close(sib_pidfd);
	sib_pidfd = -1;

	/* Nothing left: both cgroups empty, no child. */
	CHECK_INTEQ(cgroup_wait_empty(cg, 5 * USEC_PER_SEC), 0);
	CHECK_INTEQ(cgroup_wait_empty(sib_cg, 5 * USEC_PER_SEC), 0);
	CHECK(no_children());
out:
	if (sib_pidfd >= 0) {
		(void)cgroup_kill(sib_cg);
		(void)reap(sib_pidfd, sib_cg);
		close(sib_pidfd);
	}
	if (cg)
		cgroup_release(mgr, cg);
	if (sib_cg)
		cgroup_release(mgr, sib_cg);
	unlink(secret);
}
VARIANTS(test_full_confinement)

/* The probe itself: unconfined (as an ordinary user, no filter) it must see ways out, or its
 * "blocked" lines would prove nothing. */
static void test_probe_detects_escapes(void)
{
	char probe[PATH_MAX];
	char *argv[] = { probe, NULL };
	Run *res;
	int k = install_probe(probe, sizeof(probe));

	CHECK_INTEQ(k, 0);
	if (k < 0)
		return;
	method = SPAWN_METHOD_FORK;
	res = run_simple(argv, NULL, NULL);
	CHECK_INTEQ(res->r, 0);
	CHECK(res->si.si_code == CLD_EXITED && res->si.si_status == 1);
	CHECK(strstr(res->out, "seccomp ESCAPED"));
	CHECK(strstr(res->out, "uid blocked"));
	CHECK(strstr(res->out, "no-new-privs blocked")); /* the spawner's own doing */
	CHECK(strstr(res->out, "clone3-newuser ESCAPED") || strstr(res->out, "unshare-user ESCAPED") ||
	      strstr(res->out, "perf_event_open ESCAPED"));
	if (tap_failed_current)
		printf("# %s", res->out);
	run_done(res);
}

/* ---- several threads at once ------------------------------------------------------------------ */

typedef struct ThreadRun {
	SpawnMethod method;
	int ok;
} ThreadRun;

static void *spawn_many(void *arg)
{
	ThreadRun *t = arg;
	char *argv[] = { "/bin/true", NULL };

	for (int i = 0; i < 50; i++) {
		SpawnRequest r;
		pid_t pid;
		int pidfd;

		spawn_request_init(&r);
		r.argv = argv;
		r.envp = test_env;
		r.uid = TEST_UID;
		r.gid = TEST_GID;
		r.method = t->method;
		if (spawn_daughter(&r, &pid, &pidfd, NULL) < 0)
			continue;
		siginfo_t si = reap(pidfd, NULL);
		close(pidfd);
		t->ok += si.si_code == CLD_EXITED && si.si_status == 0;
	}
	return NULL;
}

static void test_threads_spawn_at_once(void)
{
	ThreadRun t[4] = {
	    {SPAWN_METHOD_FORK}, {SPAWN_METHOD_VFORK}, {SPAWN_METHOD_FORK}, {SPAWN_METHOD_VFORK}};
	pthread_t th[4];
	size_t n = spawn_method_default() == SPAWN_METHOD_VFORK ? 4 : 1;

	for (size_t k = 0; k < n; k++)
		CHECK(pthread_create(&th[k], NULL, spawn_many, &t[k]) == 0);
	for (size_t k = 0; k < n; k++) {
		pthread_join(th[k], NULL);
		CHECK_INTEQ(t[k].ok, 50);
	}
	CHECK(no_children());
}

/* ---- timing ----------------------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static uint64_t median(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

static bool fork_exec_wait(void)
{
	static char *const argv[] = { "/bin/true", NULL };
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return false;
	if (pid == 0) {
		execve(argv[0], argv, test_env);
		_exit(127);
	}
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* How much of the confinement a timed spawn gets. */
typedef enum Level {
	LEVEL_UID,        /* uid/gid, no_new_privs, caps, fds: what every spawn does */
	LEVEL_CG_SECCOMP, /* + a warm job cgroup (pids, memory) and the default filter */
	LEVEL_NETNS,      /* + joining the loopback netns */
	LEVEL_FULL,       /* + a mount namespace: private /tmp, read-only system */
} Level;

/* One spawn and reap of /bin/true. */
static bool spawn_true(SpawnMethod m, Level level)
{
	char *argv[] = { "/bin/true", NULL };
	Cgroup *cg = level >= LEVEL_CG_SECCOMP ? acquire(16) : NULL;
	_cleanup_free_ char *error = NULL;
	SpawnRequest r;
	pid_t pid;
	int pidfd, k;
	bool ok = false;

	base_request(&r, argv, cg);
	r.method = m;
	if (level >= LEVEL_CG_SECCOMP) {
		r.seccomp = default_profile;
		r.rlimits.nofile = 256;
	}
	if (level >= LEVEL_NETNS)
		r.netns_fd = netns_fd;
	if (level >= LEVEL_FULL)
		r.private_tmp = r.read_only_system = true;
	k = spawn_daughter(&r, &pid, &pidfd, &error);
	if (k == 0) {
		siginfo_t si = reap(pidfd, cg);
		close(pidfd);
		ok = si.si_code == CLD_EXITED && si.si_status == 0;
		if (!ok)
			printf("# /bin/true ended: code %d status %d\n", si.si_code, si.si_status);
	} else
		printf("# spawn: %s\n", error ?: strerror(-k));
	if (cg)
		cgroup_release(mgr, cg);
	return ok;
}

#define ROUNDS 200
#define BIG_ROUNDS 40

static const struct Variant {
	const char *name;
	SpawnMethod method; /* AUTO: plain fork+execve+waitpid */
	Level level;
} variants[] = {
	{ "fork+execve+waitpid (the floor)", SPAWN_METHOD_AUTO, LEVEL_UID },
	{ "fork-style, uid only", SPAWN_METHOD_FORK, LEVEL_UID },
	{ "vfork-style, uid only", SPAWN_METHOD_VFORK, LEVEL_UID },
	{ "vfork-style, + job cgroup + seccomp", SPAWN_METHOD_VFORK, LEVEL_CG_SECCOMP },
	{ "vfork-style, + netns", SPAWN_METHOD_VFORK, LEVEL_NETNS },
	{ "vfork-style, + mounts (full confinement)", SPAWN_METHOD_VFORK, LEVEL_FULL },
	{ "fork-style, full confinement", SPAWN_METHOD_FORK, LEVEL_FULL },
};

static bool run_variant(const struct Variant *v)
{
	if (v->method == SPAWN_METHOD_AUTO)
		return fork_exec_wait();
	if (v->method == SPAWN_METHOD_VFORK && spawn_method_default() != SPAWN_METHOD_VFORK)
		return true;
	return spawn_true(v->method, v->level);
}

/* Medians of spawn-to-reap times, variants interleaved so that the VM's noise hits them alike. */
static void time_variants(size_t n_variants, int rounds, uint64_t t[][ROUNDS])
{
	unsigned failed = 0;

	for (int i = 0; i < rounds; i++)
		for (size_t v = 0; v < n_variants; v++) {
			uint64_t t0 = now_monotonic_usec();
			failed += !run_variant(&variants[v]);
			t[v][i] = now_monotonic_usec() - t0;
		}
	CHECK_INTEQ(failed, 0);
}

static void test_spawn_timing(void)
{
	static uint64_t t[ELEMENTSOF(variants)][ROUNDS];
	size_t big = (size_t)256 << 20, n_small = 3;
	uint64_t floor_us;
	char *mem;

	time_variants(ELEMENTSOF(variants), ROUNDS, t);
	floor_us = median(t[0], ROUNDS);
	printf("# spawn of /bin/true to its reap, median of %d (cgroup acquire+release included):\n",
	       ROUNDS);
	for (size_t v = 0; v < ELEMENTSOF(variants); v++) {
		uint64_t m = median(t[v], ROUNDS);
		printf("#   %-42s %6" PRIu64 " us  %.2fx\n", variants[v].name, m,
		       (double)m / (double)(floor_us ?: 1));
	}

	/* The daemon grown to 256 MiB: fork-style copies its page tables, vfork-style does not. */
	mem = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(mem != MAP_FAILED);
	if (mem == MAP_FAILED)
		return;
	memset(mem, 1, big);
	time_variants(n_small, BIG_ROUNDS, t);
	munmap(mem, big);
	printf("# the same from a parent with 256 MiB resident, median of %d:\n", BIG_ROUNDS);
	for (size_t v = 0; v < n_small; v++)
		printf("#   %-42s %6" PRIu64 " us\n", variants[v].name, median(t[v], BIG_ROUNDS));
}

/* ---- set-up and tear-down --------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	int r;

	if (!spawn_test_setup(argv, &r))
		return r;
	RUN(test_no_privileges_fork);
	RUN(test_no_privileges_vfork);
	RUN(test_private_tmp_fork);
	RUN(test_private_tmp_vfork);
	RUN(test_read_only_system_fork);
	RUN(test_read_only_system_vfork);
	RUN(test_mounts_do_not_propagate_fork);
	RUN(test_mounts_do_not_propagate_vfork);
	RUN(test_netns_loopback_up);
	RUN(test_netns_joined_fork);
	RUN(test_netns_joined_vfork);
	RUN(test_seccomp_last_fork);
	RUN(test_seccomp_last_vfork);
	RUN(test_probe_detects_escapes);
	RUN(test_full_confinement_fork);
	RUN(test_full_confinement_vfork);
	RUN(test_threads_spawn_at_once);
	RUN(test_spawn_timing);
	RUN(test_nothing_left);
	return spawn_test_done();
}
