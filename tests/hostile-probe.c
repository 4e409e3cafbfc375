/* SPDX-License-Identifier: MIT */
/*
 * A hostile daughter, for tests/unit/test-spawn: run under full confinement,
 * it tries each way out it knows and prints one line per check on stdout,
 *   <name> blocked
 *   <name> ESCAPED <detail>
 * then exits 0 if every check was blocked, 1 otherwise (2: bad usage). How a
 * blocked attempt failed (the errno) goes to stderr as "# <name>: <detail>".
 * A check that cannot be made (its target is gone) counts as ESCAPED: an
 * untested way out is not a closed one.
 *
 * Options name the targets that only the test knows:
 *   --sibling PID        another daughter: ptrace, process_vm_readv (default: our parent)
 *   --kill PID           a process to SIGTERM, standing in for vx11d
 *   --cgroup-procs PATH  another cgroup's cgroup.procs to move into
 *   --limit-file PATH    a limit of our own cgroup to raise ("max")
 *   --secret PATH        a file of another user's, mode 0600, to read
 *   --netns              we should be in a loopback-only network namespace
 *
 * Calls that change the caller if they work (unshare, ptrace, ...) run in a
 * forked child, one at a time, each with an alarm, reaped before the next:
 * a success does not spoil the checks after it. It ends with a bare
 * exit_group(): the sanitizers' exit hooks (LeakSanitizer uses ptrace) would
 * be refused by the very filter under test.
 *
 * Run as root, it tries nothing at all (one "uid ESCAPED" line, exit 1): its
 * targets are real processes and files, and root's attempts would succeed.
 */
#include <asm/unistd.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <linux/userfaultfd.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define I386_NR_UNSHARE 310
#define CHILD_ALARM 5
/* A forked check's exit code when it could not be made at all. */
#define UNTESTABLE 250

static struct {
	pid_t sibling, kill_target;
	const char *cgroup_procs, *limit_file, *secret;
	bool netns;
} opt;

static int failures;

static _Noreturn void finish(int code)
{
	fflush(stdout);
	fflush(stderr);
	syscall(SYS_exit_group, code);
	__builtin_trap();
}

static void blocked(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void blocked(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s blocked\n", name);
	fflush(stdout);
	fprintf(stderr, "# %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void escaped(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void escaped(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s ESCAPED ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	failures++;
}

static const char *errname(int e)
{
	return strerrorname_np(e) ?: "?";
}

/* ---- checks run in a forked child: each returns 0 if the forbidden call worked, else an errno ---- */

static int try_unshare_user(void)
{
	return unshare(CLONE_NEWUSER) < 0 ? errno : 0;
}

static int try_setns_host(void)
{
	int fd = open("/proc/1/ns/net", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno;
	return setns(fd, CLONE_NEWNET) < 0 ? errno : 0;
}

static int try_mount(void)
{
	return mount("none", "/tmp", "tmpfs", 0, NULL) < 0 ? errno : 0;
}

static int try_fsopen(void)
{
	return syscall(SYS_fsopen, "tmpfs", 0) < 0 ? errno : 0;
}

/* The sibling, else the process that started us (not the forked check's parent: that is us). */
static pid_t target(void)
{
	return opt.sibling;
}

static int try_ptrace(void)
{
	if (ptrace(PTRACE_ATTACH, target(), NULL, NULL) < 0)
		return errno == ESRCH ? UNTESTABLE : errno;
	/* It worked: let the target go again rather than leave it stopped. */
	(void)waitpid(target(), NULL, __WALL);
	(void)ptrace(PTRACE_DETACH, target(), NULL, NULL);
	return 0;
}

static int try_process_vm_readv(void)
{
	char buf[8];
	struct iovec local = { buf, sizeof(buf) }, remote = { (void *)0x10000, sizeof(buf) };

	/* The permission check comes before the address is looked at: EFAULT means we were let in. */
	if (process_vm_readv(target(), &local, 1, &remote, 1, 0) < 0)
		return errno == ESRCH ? UNTESTABLE : errno == EFAULT ? 0 : errno;
	return 0;
}

static int try_bpf(void)
{
	union bpf_attr a = {
	    .map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1};

	return syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof(a)) < 0 ? errno : 0;
}

static int try_perf_event_open(void)
{
	/* Counting our own user-space CPU time is allowed at perf_event_paranoid 2. */
	struct perf_event_attr a = { .type = PERF_TYPE_SOFTWARE,
				     .size = sizeof(a),
				     .config = PERF_COUNT_SW_CPU_CLOCK,
				     .exclude_kernel = 1,
				     .exclude_hv = 1 };

	return syscall(SYS_perf_event_open, &a, 0, -1, -1, 0) < 0 ? errno : 0;
}

static int try_keyctl(void)
{
	return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1) < 0 ? errno : 0;
}

static int try_userfaultfd(void)
{
	/* User-mode-only faults need no privilege (5.11). */
	return syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY) < 0 ? errno : 0;
}

static int try_io_uring_setup(void)
{
	struct io_uring_params p = { 0 };

	return syscall(SYS_io_uring_setup, 1, &p) < 0 ? errno : 0;
}

static void *thread_main(void *arg)
{
	return arg;
}

/* 0: clone3 made a user namespace. ENOSYS: blocked as it must be (glibc falls back to clone);
 * another errno: refused, but not so that glibc falls back. EPROTO: pthread_create broke. */
static int try_clone3_newuser(void)
{
	struct clone_args a = { .flags = CLONE_NEWUSER, .exit_signal = SIGCHLD };
	long pid = syscall(SYS_clone3, &a, sizeof(a));
	int e = errno;
	pthread_t t;
	void *ret = NULL;

	if (pid == 0)
		syscall(SYS_exit_group, 0);
	if (pid > 0) {
		waitpid((pid_t)pid, NULL, 0);
		return 0;
	}
	if (pthread_create(&t, NULL, thread_main, &a) != 0 || pthread_join(t, &ret) != 0 || ret != &a)
		return EPROTO;
	return e;
}

#ifdef __x86_64__
static int try_x32_unshare(void)
{
	return syscall(__X32_SYSCALL_BIT | __NR_unshare, CLONE_NEWUSER) < 0 ? errno : 0;
}

static int try_int80_unshare(void)
{
	long r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(I386_NR_UNSHARE), "b"(CLONE_NEWUSER)
			 : "memory", "cc", "r8", "r9", "r10", "r11");
	r = (int)r;
	return r < 0 ? (int)-r : 0;
}
#endif

/* personality(2) flags that weaken the address space: ASLR off, and data
 * made executable. It worked only if the kernel kept the flag. */
static int try_personality(unsigned long flag)
{
	if (syscall(SYS_personality, flag) < 0)
		return errno;
	return (syscall(SYS_personality, 0xffffffffUL) & (long)flag) ? 0 : EPERM;
}

static int try_personality_no_aslr(void)
{
	return try_personality(0x0040000); /* ADDR_NO_RANDOMIZE */
}

static int try_personality_exec(void)
{
	return try_personality(0x0400000); /* READ_IMPLIES_EXEC */
}

#if defined(__x86_64__)
/* The same through the i386 ABI (int $0x80, personality is 136 there). */
static int try_int80_personality(void)
{
	long r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(136L), "b"(0x0040000L)
			 : "memory", "cc", "r8", "r9", "r10", "r11");
	r = (int)r;
	if (r < 0)
		return (int)-r;
	return (syscall(SYS_personality, 0xffffffffUL) & 0x0040000L) ? 0 : EPERM;
}
#endif

static int try_tiocsti(void)
{
	char name[64], c = 'x';
	int m, s;

	/* Lead a session without a terminal, so that the pty opened next becomes ours. */
	if (setsid() < 0)
		return UNTESTABLE;
	m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return errno;
	if (unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name)) != 0)
		return UNTESTABLE;
	s = open(name, O_RDWR | O_CLOEXEC);
	if (s < 0)
		return errno;
	return ioctl(s, TIOCSTI, &c) < 0 ? errno : 0;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return errno;
	if (write(fd, text, strlen(text)) < 0)
		return errno;
	return close(fd) < 0 ? errno : 0;
}

static int try_cgroup_procs(void)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	return write_file(opt.cgroup_procs, pid);
}

static int try_limit_file(void)
{
	return write_file(opt.limit_file, "max\n");
}

static int try_kill(void)
{
	if (kill(opt.kill_target, SIGTERM) < 0)
		return errno == ESRCH ? UNTESTABLE : errno;
	return 0;
}

static int try_read_secret(void)
{
	char buf[16];
	int fd = open(opt.secret, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? UNTESTABLE : errno;
	return read(fd, buf, sizeof(buf)) < 0 ? errno : 0;
}

/* Runs fn in a child and says how it went. */
static void forked(const char *name, int (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		escaped(name, "untestable: fork: %s", errname(errno));
		return;
	}
	if (pid == 0) {
		alarm(CHILD_ALARM);
		finish(fn());
	}
	if (waitpid(pid, &status, 0) != pid) {
		escaped(name, "untestable: waitpid: %s", errname(errno));
		return;
	}
	if (WIFSIGNALED(status))
		blocked(name, "killed by %s", sigabbrev_np(WTERMSIG(status)) ?: "?");
	else if (WEXITSTATUS(status) == 0)
		escaped(name, "the call succeeded");
	else if (WEXITSTATUS(status) == UNTESTABLE)
		escaped(name, "untestable: the target is missing");
	else
		blocked(name, "%s", errname(WEXITSTATUS(status)));
}

static void check_clone3(void)
{
	int status, e;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		alarm(CHILD_ALARM);
		finish(try_clone3_newuser());
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		escaped("clone3-newuser", "untestable: fork/waitpid: %s", errname(errno));
		return;
	}
	e = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	if (e == ENOSYS)
		blocked("clone3-newuser", "ENOSYS, and pthread_create works");
	else if (e == 0)
		escaped("clone3-newuser", "clone3(CLONE_NEWUSER) succeeded");
	else if (e == EPROTO)
		escaped("clone3-newuser", "pthread_create fails: glibc found no way to make threads");
	else if (e < 0)
		escaped("clone3-newuser", "the check died of signal %d", WTERMSIG(status));
	else
		escaped("clone3-newuser", "refused with %s, not ENOSYS: glibc would not fall back to clone",
		        errname(e));
}

/* ---- checks of our own state ------------------------------------------------------------------ */

static void check_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char extra[256] = "";
	size_t l = 0;

	if (!d) {
		escaped("inherited-fds", "untestable: /proc/self/fd: %s", errname(errno));
		return;
	}
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);
		char path[64], dest[128];
		ssize_t n;

		if (de->d_name[0] == '.' || fd <= 2 || fd == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, dest, sizeof(dest) - 1);
		dest[n < 0 ? 0 : n] = 0;
		l += (size_t)snprintf(extra + l, l < sizeof(extra) ? sizeof(extra) - l : 0, " %d->%s", fd,
		                      dest);
		if (l >= sizeof(extra))
			l = sizeof(extra) - 1;
	}
	closedir(d);
	if (extra[0])
		escaped("inherited-fds", "open:%s", extra);
	else
		blocked("inherited-fds", "only 0, 1, 2");
}

/* The value of "<key>:" in /proc/self/status, in buf ("" if absent). */
static char *status_field(const char *key, char *buf, size_t size)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[512];
	size_t kl = strlen(key);

	buf[0] = 0;
	if (!f)
		return buf;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			char *v = line + kl + 1;
			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = 0;
			snprintf(buf, size, "%s", v);
			break;
		}
	fclose(f);
	return buf;
}

static void check_status(void)
{
	static const char *const caps[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
	char v[256], bad[256] = "";
	size_t l = 0;

	if (strcmp(status_field("NoNewPrivs", v, sizeof(v)), "1") == 0)
		blocked("no-new-privs", "NoNewPrivs: 1");
	else
		escaped("no-new-privs", "NoNewPrivs: %s", v);

	for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++)
		if (strcmp(status_field(caps[k], v, sizeof(v)), "0000000000000000") != 0)
			l += (size_t)snprintf(bad + l, sizeof(bad) - l, " %s=%s", caps[k], v);
	if (bad[0])
		escaped("capabilities", "not empty:%s", bad);
	else
		blocked("capabilities", "all five sets empty");

	if (strcmp(status_field("Seccomp", v, sizeof(v)), "2") == 0)
		blocked("seccomp", "filter mode");
	else
		escaped("seccomp", "Seccomp: %s (no filter)", v);
}

static bool all_nonzero(const char *ids)
{
	int n = 0;

	for (const char *p = ids; *p;) {
		char *end;
		unsigned long id = strtoul(p, &end, 10);
		if (end == p)
			break;
		if (id == 0)
			return false;
		n++;
		p = end + strspn(end, " \t");
	}
	return n == 4;
}

static void check_ids(void)
{
	char u[128], g[128], groups[128];

	status_field("Uid", u, sizeof(u));
	status_field("Gid", g, sizeof(g));
	status_field("Groups", groups, sizeof(groups));
	if (!all_nonzero(u) || !all_nonzero(g) || groups[0])
		escaped("uid", "Uid: %s, Gid: %s, Groups: %s", u, g, groups);
	else
		blocked("uid", "Uid: %s, Gid: %s, no supplementary groups", u, g);
}

static void check_network(void)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	char names[256] = "";
	size_t l = 0;
	bool only_lo = true;

	if (!ifs) {
		escaped("network", "untestable: if_nameindex: %s", errname(errno));
		return;
	}
	for (i = ifs; i->if_index; i++) {
		if (strcmp(i->if_name, "lo") != 0)
			only_lo = false;
		l += (size_t)snprintf(names + l, l < sizeof(names) ? sizeof(names) - l : 0, " %s",
		                      i->if_name);
		if (l >= sizeof(names))
			l = sizeof(names) - 1;
	}
	if_freenameindex(ifs);
	if (only_lo)
		blocked("network", "interfaces:%s", names);
	else
		escaped("network", "interfaces:%s", names);
}

static pid_t parse_pid(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == 0 || *end || v <= 0 || v > INT32_MAX) {
		fprintf(stderr, "hostile-probe: bad pid \"%s\"\n", s);
		finish(2);
	}
	return (pid_t)v;
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {{"sibling", required_argument, NULL, 's'},
	                                        {"kill", required_argument, NULL, 'k'},
	                                        {"cgroup-procs", required_argument, NULL, 'c'},
	                                        {"limit-file", required_argument, NULL, 'l'},
	                                        {"secret", required_argument, NULL, 'r'},
	                                        {"netns", no_argument, NULL, 'n'},
	                                        {}};
	int c;

	/* As root every "escape" would be real, against the real targets: stop before trying any. */
	if (geteuid() == 0 || getuid() == 0) {
		escaped("uid", "running as root: no check made");
		finish(1);
	}
	/* First, before this program opens anything of its own. */
	check_fds();

	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
		switch (c) {
		case 's':
			opt.sibling = parse_pid(optarg);
			break;
		case 'k':
			opt.kill_target = parse_pid(optarg);
			break;
		case 'c':
			opt.cgroup_procs = optarg;
			break;
		case 'l':
			opt.limit_file = optarg;
			break;
		case 'r':
			opt.secret = optarg;
			break;
		case 'n':
			opt.netns = true;
			break;
		default:
			finish(2);
		}
	if (opt.sibling == 0)
		opt.sibling = getppid();
	if (optind != argc) {
		fprintf(stderr, "hostile-probe: unexpected argument \"%s\"\n", argv[optind]);
		finish(2);
	}

	check_status();
	check_ids();
	forked("unshare-user", try_unshare_user);
	forked("setns-host-net", try_setns_host);
	forked("mount", try_mount);
	forked("fsopen", try_fsopen);
	forked("ptrace", try_ptrace);
	forked("process_vm_readv", try_process_vm_readv);
	forked("bpf", try_bpf);
	forked("perf_event_open", try_perf_event_open);
	forked("keyctl", try_keyctl);
	forked("userfaultfd", try_userfaultfd);
	forked("io_uring_setup", try_io_uring_setup);
	check_clone3();
#ifdef __x86_64__
	forked("x32-unshare", try_x32_unshare);
	forked("int80-unshare", try_int80_unshare);
	forked("int80-personality", try_int80_personality);
#endif
	forked("personality-no-aslr", try_personality_no_aslr);
	forked("personality-exec", try_personality_exec);
	forked("tiocsti", try_tiocsti);
	if (opt.cgroup_procs)
		forked("cgroup-procs", try_cgroup_procs);
	if (opt.limit_file)
		forked("cgroup-limit", try_limit_file);
	if (opt.kill_target)
		forked("kill", try_kill);
	if (opt.secret)
		forked("read-secret", try_read_secret);
	if (opt.netns)
		check_network();
	finish(failures ? 1 : 0);
}
