/* SPDX-License-Identifier: MIT */
/*
 * The seccomp module: the shipped profiles compile, every error names its
 * place in the profile, and the filters do what they say, for real, in forked
 * children that set no_new_privs, load the program and then either make the
 * call themselves or exec a program (tests/seccomp-probe, /bin/sh, ...).
 *
 * A denial is only counted when the same call in a child without the filter
 * gets another answer: an EPERM the kernel gives anyway proves nothing, and
 * such a check is skipped with the reason.
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

static const char *profile_dir(void)
{
	return getenv("VX11_SECCOMP_DIR") ?: VX11_SECCOMP_TEST_DIR;
}

/* A shipped profile by absolute path (the directory may be given relative); malloc'd. */
static char *profile_file(const char *file)
{
	_cleanup_free_ char *path = NULL;

	if (asprintf(&path, "%s/%s", profile_dir(), file) < 0)
		return NULL;
	return realpath(path, NULL);
}

static const char *probe_path(void)
{
	return getenv("VX11_SECCOMP_PROBE") ?: VX11_SECCOMP_TEST_PROBE;
}

/* RLIMIT_NPROC for children, set by main(); RLIM_INFINITY for root, who is exempt anyway. */
static rlim_t child_nproc = RLIM_INFINITY;

/* Tasks (threads included, as RLIMIT_NPROC counts them) whose real uid is uid. */
static rlim_t count_tasks(uid_t uid)
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

static void limit_children(void)
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
static void child_setup(void)
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
static int reap(pid_t pid)
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

static bool kernel_has_seccomp(void)
{
	return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 && seccomp_api_get() >= 3;
}

/* The shipped profiles, compiled once for the whole run. */
static SeccompProgram *shipped_default, *shipped_strict;

static SeccompProgram *compile_ok(const char *json)
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
static const char *compile_error(const char *json)
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
static void child_exit(int code)
{
	syscall(SYS_exit_group, code);
	__builtin_trap();
}

/*
 * Runs fn in a forked child, under p (after no_new_privs) unless p is NULL. Returns what fn
 * returns (0 or an errno), -signal when the child was killed, or one of the
 * CHILD_* codes.
 */
static int in_child(const SeccompProgram *p, int (*fn)(long), long arg)
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
static int exec_child(const SeccompProgram *p, char *const argv[], const char *input, char *out, size_t size)
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
static int probe(const SeccompProgram *p, const char *check, char *out, size_t size)
{
	char *argv[] = { (char *)probe_path(), (char *)check, NULL };
	int r = exec_child(p, argv, NULL, out, size);

	out[strcspn(out, "\n")] = '\0';
	return r;
}

/* The probe is built with the tests, so its absence is a failure, not a reason to skip. */
static bool have_probe(void)
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
static bool check_filter_answers(const SeccompProgram *p, int (*fn)(long), long arg, int want, const char *what)
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

/* ---- calls made in children; each returns 0 or errno ---- */

static int call_raw(long nr, long a0, long a1)
{
	return syscall(nr, a0, a1, 0, 0, 0, 0) < 0 ? errno : 0;
}

static int do_unshare(long flags)
{
	return unshare((int)flags) < 0 ? errno : 0;
}

static int do_mount(long unused)
{
	/* A target that does not exist: without a filter, ENOENT and no mount. */
	return mount("none", "/nonexistent-vx11-test", "tmpfs", 0, NULL) < 0 ? errno : 0;
}

static int do_setns(long unused)
{
	return setns(-1, 0) < 0 ? errno : 0; /* EBADF without a filter */
}

static int do_clone3(long unused)
{
	return call_raw(SYS_clone3, 0, 0);
}

/* CLONE_THREAD without CLONE_SIGHAND: the kernel refuses with EINVAL, so nothing is created. */
static int do_clone_flags(long ns_flag)
{
	return syscall(SYS_clone, (long)(CLONE_THREAD | ns_flag), 0L, 0L, 0L, 0L) < 0 ? errno : 0;
}

static int do_fork_clone(long unused)
{
	long pid = syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
	int status;

	if (pid < 0)
		return errno;
	if (pid == 0)
		child_exit(0);
	return waitpid((pid_t)pid, &status, 0) == pid && WIFEXITED(status) ? 0 : ECHILD;
}

/*
 * A new pty whose slave becomes the child's controlling terminal (the child
 * leads a session without one), so that an unprivileged TIOCSTI is allowed
 * where dev.tty.legacy_tiocsti is on.
 */
static int open_pty(void)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	const char *name;

	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 || !(name = ptsname(master)))
		return -1;
	return open(name, O_RDWR | O_CLOEXEC);
}

static int do_ioctl_pty(long request)
{
	int fd = open_pty();
	char c = 'x';

	if (fd < 0)
		return 200; /* a setup failure, not an answer */
	/* ioctl(2)'s glibc prototype takes unsigned long: the high bits reach the kernel as given. */
	return syscall(SYS_ioctl, fd, request, request == TCGETS ? (void *)&(struct termios){} : &c) < 0 ? errno
													      : 0;
}

static int do_bpf(long unused)
{
	return call_raw(SYS_bpf, -1, 0); /* no such command: EINVAL */
}

static int do_perf_event_open(long unused)
{
	return call_raw(SYS_perf_event_open, 0, 0); /* NULL attr: EFAULT */
}

static int do_keyctl(long unused)
{
	return call_raw(SYS_keyctl, -1, 0); /* no such operation: EOPNOTSUPP */
}

static int do_userfaultfd(long unused)
{
	return call_raw(SYS_userfaultfd, -1, 0); /* bad flags: EINVAL */
}

static int do_io_uring_setup(long unused)
{
	return call_raw(SYS_io_uring_setup, 0, 0); /* 0 entries: EINVAL */
}

static int do_getpid(long unused)
{
	return syscall(SYS_getpid) == getpid() ? 0 : EPROTO;
}

static int do_socket(long family)
{
	int fd = socket((int)family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

#ifdef __x86_64__
static int do_x32(long nr_and_arg)
{
	/* x32 numbers are the x86_64 ones with __X32_SYSCALL_BIT set. */
	return call_raw(__X32_SYSCALL_BIT | (nr_and_arg >> 32), nr_and_arg & 0xffffffff, 0);
}

static long int80(long nr, long a0)
{
	long r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a0) : "memory", "cc", "r8", "r9", "r10", "r11");
	return (int)r;
}

static int do_int80(long nr_and_arg)
{
	long r = int80(nr_and_arg >> 32, nr_and_arg & 0xffffffff);

	if (r < 0 && r > -4096)
		return (int)-r;
	return 0;
}

static bool have_int80(void)
{
	return in_child(NULL, do_int80, (long)I386_NR_GETPID << 32) == 0;
}
#endif

/* ---- compiling ---- */

static void test_shipped_profiles_compile(void)
{
	_cleanup_free_ char *error = NULL, *error2 = NULL;
	int r;

	r = seccomp_program_compile("default", profile_dir(), &shipped_default, &error);
	if (r < 0)
		printf("# default: %s\n", error);
	CHECK_INTEQ(r, 0);
	CHECK(shipped_default && shipped_default->prog.len > 0 && shipped_default->prog.filter);
	CHECK_STREQ(shipped_default ? shipped_default->origin : NULL, "default");

	r = seccomp_program_compile("strict", profile_dir(), &shipped_strict, &error2);
	if (r < 0)
		printf("# strict: %s\n", error2);
	CHECK_INTEQ(r, 0);
	CHECK(shipped_strict && shipped_strict->prog.len > 0 && shipped_strict->prog.filter);
	CHECK_STREQ(shipped_strict ? shipped_strict->origin : NULL, "strict");
	if (shipped_default && shipped_strict)
		printf("# default: %u instructions, strict: %u\n", shipped_default->prog.len,
		       shipped_strict->prog.len);
}

static void test_profile_by_path(void)
{
	_cleanup_seccomp_program_ SeccompProgram *p = NULL;
	_cleanup_free_ char *path = NULL, *error = NULL;

	path = profile_file("strict.json");
	CHECK(path);
	if (!path)
		return;
	CHECK_INTEQ(seccomp_program_compile(path, NULL, &p, &error), 0);
	CHECK_STREQ(p ? p->origin : NULL, path);
}

static void test_none_is_null(void)
{
	SeccompProgram *p = (SeccompProgram *)0x1;
	char *error = NULL;

	CHECK_INTEQ(seccomp_program_compile("none", NULL, &p, &error), 0);
	CHECK(p == NULL);
	CHECK(error == NULL);
	/* Loading "none" is a no-op, so a child may call it unconditionally. */
	CHECK_INTEQ(seccomp_program_load(NULL), 0);
	CHECK(seccomp_program_free(NULL) == NULL);
}

static void test_unknown_profile_name(void)
{
	SeccompProgram *p = (SeccompProgram *)0x1;
	_cleanup_free_ char *error = NULL, *error2 = NULL;

	CHECK_INTEQ(seccomp_program_compile("relative.json", profile_dir(), &p, &error), -EINVAL);
	CHECK_STREQ(error, "unknown seccomp profile \"relative.json\" (expected \"default\", \"strict\", "
			   "\"none\" or an absolute path)");
	CHECK(p == (SeccompProgram *)0x1);
	CHECK_INTEQ(seccomp_program_compile("default", NULL, &p, &error2), -EINVAL);
	CHECK_STREQ(error2, "no directory to look up the \"default\" seccomp profile in");
}

static void test_missing_file(void)
{
	SeccompProgram *p = (SeccompProgram *)0x1;
	_cleanup_free_ char *error = NULL, *error2 = NULL;

	CHECK_INTEQ(seccomp_program_compile("/nonexistent/profile.json", NULL, &p, &error), -ENOENT);
	CHECK_STREQ(error, "/nonexistent/profile.json: No such file or directory");
	/* A profile directory without the shipped files names the file it looked for. */
	CHECK_INTEQ(seccomp_program_compile("strict", "/nonexistent", &p, &error2), -ENOENT);
	CHECK_STREQ(error2, "/nonexistent/strict.json: No such file or directory");
	CHECK(p == (SeccompProgram *)0x1);
}

static void test_file_not_json(void)
{
	char path[] = "/tmp/test-seccomp-XXXXXX";
	SeccompProgram *p = (SeccompProgram *)0x1;
	_cleanup_free_ char *error = NULL, *error2 = NULL, *want = NULL;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK(write(fd, "{\n  \"defaultAction\": SCMP_ACT_ALLOW\n}\n", 38) == 38);
	close(fd);
	CHECK_INTEQ(seccomp_program_compile(path, NULL, &p, &error), -EINVAL);
	CHECK(asprintf(&want, "%s: line 2, column 20: unexpected character", path) > 0);
	CHECK_STREQ(error, want);
	unlink(path);

	CHECK_INTEQ(seccomp_program_compile("/tmp", NULL, &p, &error2), -EISDIR);
	CHECK_STREQ(error2, "/tmp: Is a directory");
	CHECK(p == (SeccompProgram *)0x1);
}

static void test_duplicate_key_refused(void)
{
	/* json-c alone would keep the last defaultAction, turning a deny-list into allow-all. */
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_KILL\",\n \"defaultAction\": \"SCMP_ACT_ALLOW\"}"),
		    "defaultAction: duplicate key (line 2)");
}

static void test_error_unknown_syscall(void)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\"},"
				  "{\"names\": [\"bpf\"], \"action\": \"SCMP_ACT_ERRNO\"},"
				  "{\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_ERRNO\"},"
				  "{\"names\": [\"reboot\", \"foo\"], \"action\": \"SCMP_ACT_ERRNO\"}]}"),
		    "syscalls[3].names[1]: unknown system call \"foo\"");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [], \"action\": \"SCMP_ACT_ERRNO\"}]}"),
		    "syscalls[0].names: expected a non-empty array of system call names");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"read\", 3], \"action\": \"SCMP_ACT_ERRNO\"}]}"),
		    "syscalls[0].names[1]: expected a string");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"action\": \"SCMP_ACT_ERRNO\"}]}"),
		    "syscalls[0]: missing \"names\"");
}

static void test_error_unknown_action(void)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_FOO\"}"),
		    "defaultAction: unknown action \"SCMP_ACT_FOO\"");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\"},"
				  "{\"names\": [\"bpf\"], \"action\": \"SCMP_ACT_BAR\"}]}"),
		    "syscalls[1].action: unknown action \"SCMP_ACT_BAR\"");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_TRACE\"}]}"),
		    "syscalls[0].action: SCMP_ACT_TRACE is not supported: vx11d does not trace daughters "
		    "(use SCMP_ACT_ERRNO)");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}"),
		    "defaultAction: SCMP_ACT_NOTIFY is not supported: vx11d runs no seccomp agent");
	CHECK_STREQ(compile_error("{\"syscalls\": []}"), "missing \"defaultAction\"");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"]}]}"),
		    "syscalls[0]: missing \"action\"");
}

static void test_error_errno_values(void)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 4096}]}"),
		    "syscalls[0].errnoRet: expected an integer from 0 to 4095");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_KILL\", \"errnoRet\": 1}]}"),
		    "syscalls[0].errnoRet: only allowed with SCMP_ACT_ERRNO");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultErrnoRet\": 1}"),
		    "defaultErrnoRet: only allowed with SCMP_ACT_ERRNO");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": -1}"),
		    "defaultErrnoRet: expected an integer from 0 to 4095");
}

static void test_error_unknown_operator(void)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\"},"
				  "{\"names\": [\"bpf\"], \"action\": \"SCMP_ACT_ERRNO\"},"
				  "{\"names\": [\"clone\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": ["
				  "{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_X\"}]}]}"),
		    "syscalls[2].args[0].op: unknown operator \"SCMP_CMP_X\"");
}

static void test_error_arguments(void)
{
#define ARGS_PROFILE(args)                                                                                 \
	"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"clone\"], "                   \
	"\"action\": \"SCMP_ACT_ERRNO\", \"args\": [" args "]}]}"
	CHECK_STREQ(compile_error(ARGS_PROFILE("{\"index\": 6, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}")),
		    "syscalls[0].args[0].index: expected an integer from 0 to 5");
	CHECK_STREQ(compile_error(ARGS_PROFILE("{\"index\": 0, \"value\": -1, \"op\": \"SCMP_CMP_EQ\"}")),
		    "syscalls[0].args[0].value: expected an integer from 0 to 18446744073709551615");
	CHECK_STREQ(compile_error(ARGS_PROFILE("{\"index\": 0, \"value\": 1.5, \"op\": \"SCMP_CMP_EQ\"}")),
		    "syscalls[0].args[0].value: expected an integer from 0 to 18446744073709551615");
	CHECK_STREQ(compile_error(ARGS_PROFILE(
			    "{\"index\": 0, \"value\": 1, \"valueTwo\": 2, \"op\": \"SCMP_CMP_EQ\"}")),
		    "syscalls[0].args[0].valueTwo: only used with SCMP_CMP_MASKED_EQ");
	CHECK_STREQ(compile_error(ARGS_PROFILE("{\"index\": 1, \"value\": 1, \"op\": \"SCMP_CMP_GE\"},"
					       "{\"index\": 1, \"value\": 9, \"op\": \"SCMP_CMP_LE\"}")),
		    "syscalls[0].args[1].index: argument 1 is already compared by args[0] (one comparison per "
		    "argument and rule)");
	CHECK_STREQ(compile_error(ARGS_PROFILE("{\"index\": 0, \"op\": \"SCMP_CMP_EQ\"}")),
		    "syscalls[0].args[0]: missing \"value\"");
	CHECK_STREQ(compile_error(ARGS_PROFILE("{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\", \"x\": 1}")),
		    "syscalls[0].args[0].x: unknown key");
	/* valueTwo 0 beside other operators is what Docker's profiles write. */
	seccomp_program_free(compile_ok(ARGS_PROFILE(
		"{\"index\": 0, \"value\": 1, \"valueTwo\": 0, \"op\": \"SCMP_CMP_EQ\"}")));
#undef ARGS_PROFILE
}

static void test_error_unknown_keys(void)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": []}"), "flags: unknown key");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"archMap\": []}"),
		    "archMap: unknown key (Docker's \"archMap\" is not supported, list \"architectures\" instead)");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\", \"nmae\": 1}]}"),
		    "syscalls[0].nmae: unknown key");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"name\": \"mount\", \"action\": \"SCMP_ACT_ERRNO\"}]}"),
		    "syscalls[0].name: unknown key (write \"names\": [...])");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\", "
				  "\"includes\": {\"minKernel\": \"5.8\"}}]}"),
		    "syscalls[0].includes.minKernel: unknown key");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": null}]}"),
		    "syscalls[0].errnoRet: null is not allowed here");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\", \"comment\": 7}]}"),
		    "syscalls[0].comment: expected a string");
	CHECK_STREQ(compile_error("[]"), "expected an object");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}"),
		    "syscalls: expected an array of rules");
}

static void test_error_architectures(void)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", "
				  "\"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_FOO\"]}"),
		    "architectures[1]: unknown architecture \"SCMP_ARCH_FOO\"");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\", "
				  "\"excludes\": {\"arches\": [\"amd64\", \"vax\"]}}]}"),
		    "syscalls[0].excludes.arches[1]: unknown architecture \"vax\"");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ALLOW\", "
				  "\"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}}]}"),
		    "syscalls[0].includes.caps: capability conditions are not supported (a daughter's "
		    "capabilities are not known when the profile is compiled)");
	/* Empty conditions and foreign architectures are fine. */
	seccomp_program_free(compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", "
					"\"architectures\": [\"SCMP_ARCH_S390X\", \"SCMP_ARCH_PPC64LE\"], "
					"\"syscalls\": [{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\", "
					"\"includes\": {}, \"excludes\": {\"caps\": [], \"arches\": []}}]}"));
}

static void test_error_conflicting_rules(void)
{
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"mount\", \"umount2\"], \"action\": \"SCMP_ACT_ERRNO\"},"
				  "{\"names\": [\"bpf\", \"umount2\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"}]}"),
		    "syscalls[1].names[1]: \"umount2\" is given SCMP_ACT_ERRNO(1) by syscalls[0] and "
		    "SCMP_ACT_KILL_PROCESS here");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"clone\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": "
				  "[{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]},"
				  "{\"names\": [\"clone\"], \"action\": \"SCMP_ACT_KILL\"}]}"),
		    "syscalls[1].names[0]: \"clone\" has an unconditional rule (SCMP_ACT_KILL, syscalls[1]) and "
		    "a conditional one (SCMP_ACT_ERRNO(1), syscalls[0]) with different actions");
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				  "{\"names\": [\"clone\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": "
				  "[{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]},"
				  "{\"names\": [\"clone\"], \"action\": \"SCMP_ACT_KILL\", \"args\": "
				  "[{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}"),
		    "syscalls[1].names[0]: \"clone\": an earlier rule has the same comparisons and another action");
	/* The same action twice, or the default action, is harmless. */
	seccomp_program_free(compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
					"{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ERRNO\"},"
					"{\"names\": [\"mount\", \"read\"], \"action\": \"SCMP_ACT_ERRNO\"},"
					"{\"names\": [\"write\"], \"action\": \"SCMP_ACT_ALLOW\"}]}"));
}

static void test_error_multiplexed_arguments(void)
{
	/* On x86 socket() may come through socketcall(2), where libseccomp cannot compare arguments. */
	CHECK_STREQ(compile_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", "
				  "\"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"], \"syscalls\": ["
				  "{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": "
				  "[{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}"),
		    "syscalls[0].names[0]: \"socket\" cannot be filtered by its arguments on SCMP_ARCH_X86, where it "
		    "may come through a multiplexer call; leave SCMP_ARCH_X86 out of \"architectures\"");
	seccomp_program_free(compile_ok("{\"defaultAction\": \"SCMP_ACT_ERRNO\", "
					"\"architectures\": [\"SCMP_ARCH_X86_64\"], \"syscalls\": ["
					"{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": "
					"[{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}"));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Not an assertion: the machine may be busy. The figure to compare is the compile floor in FLOORS.md. */
static void test_compile_time(void)
{
	_cleanup_free_ char *path = NULL;
	uint64_t t[51];

	path = profile_file("default.json");
	CHECK(path);
	if (!path)
		return;
	for (size_t i = 0; i < ELEMENTSOF(t); i++) {
		SeccompProgram *p = NULL;
		uint64_t start = now_monotonic_usec();

		CHECK_INTEQ(seccomp_program_compile(path, NULL, &p, NULL), 0);
		t[i] = now_monotonic_usec() - start;
		seccomp_program_free(p);
	}
	qsort(t, ELEMENTSOF(t), sizeof(t[0]), cmp_u64);
	printf("# compiling default.json (read, parse, build, export): median %" PRIu64 " us, fastest %" PRIu64
	       " us, over %zu runs\n",
	       t[ELEMENTSOF(t) / 2], t[0], ELEMENTSOF(t));
}

/* ---- default.json at work ---- */

static void test_default_unshare(void)
{
	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	if (!check_filter_answers(shipped_default, do_unshare, CLONE_NEWUSER, EPERM, "unshare(CLONE_NEWUSER)"))
		SKIP("unshare(CLONE_NEWUSER) fails with EPERM without a filter");
}

static void test_default_setns_and_mount(void)
{
	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	check_filter_answers(shipped_default, do_mount, 0, EPERM, "mount");
	check_filter_answers(shipped_default, do_setns, 0, EPERM, "setns");
}

static void test_default_clone3_enosys(void)
{
	char out[256];

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	check_filter_answers(shipped_default, do_clone3, 0, ENOSYS, "clone3");
	if (!have_probe())
		return;
	/* glibc's pthread_create tries clone3 and, on ENOSYS, uses clone without namespace flags. */
	CHECK_INTEQ(probe(shipped_default, "pthread", out, sizeof(out)), 0);
	CHECK_STREQ(out, "ok");
	CHECK_INTEQ(probe(shipped_default, "clone3", out, sizeof(out)), 0);
	CHECK_STREQ(out, "ENOSYS");
	CHECK_INTEQ(probe(shipped_default, "fork", out, sizeof(out)), 0);
	CHECK_STREQ(out, "ok");
}

static void test_default_clone_namespace_flags(void)
{
	static const long flags[] = { CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
				      CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET };

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	for (size_t i = 0; i < ELEMENTSOF(flags); i++)
		check_filter_answers(shipped_default, do_clone_flags, flags[i], EPERM, "clone(CLONE_NEW*)");
	/* Plain fork-style clone still works. */
	CHECK_INTEQ(in_child(shipped_default, do_fork_clone, 0), 0);
}

static void test_default_ioctl_tiocsti_high_bits(void)
{
	int control;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	control = in_child(NULL, do_ioctl_pty, TIOCSTI | (1L << 32));
	if (control == 200)
		SKIP("cannot open a pty");
	if (control != 0) {
		printf("# TIOCSTI without a filter: %d\n", control);
		SKIP("TIOCSTI is refused by the kernel already (dev.tty.legacy_tiocsti is off and we lack "
		     "CAP_SYS_ADMIN)");
	}
	/* Without the filter the high bit is ignored and TIOCSTI works: that is the bypass the mask stops. */
	CHECK_INTEQ(in_child(shipped_default, do_ioctl_pty, TIOCSTI), EPERM);
	CHECK_INTEQ(in_child(shipped_default, do_ioctl_pty, TIOCSTI | (1L << 32)), EPERM);
	CHECK_INTEQ(in_child(shipped_default, do_ioctl_pty, TIOCSTI | (long)(0xffffffffUL << 32)), EPERM);
	check_filter_answers(shipped_default, do_ioctl_pty, TIOCLINUX | (1L << 33), EPERM, "TIOCLINUX");
	/* Other ioctls pass. */
	CHECK_INTEQ(in_child(shipped_default, do_ioctl_pty, TCGETS), 0);
}

static void test_default_kernel_surface(void)
{
	static const struct {
		const char *name;
		int (*fn)(long);
	} calls[] = {
		{ "bpf", do_bpf },
		{ "perf_event_open", do_perf_event_open },
		{ "keyctl", do_keyctl },
		{ "userfaultfd", do_userfaultfd },
		{ "io_uring_setup", do_io_uring_setup },
	};
	unsigned checked = 0;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	for (size_t i = 0; i < ELEMENTSOF(calls); i++)
		checked += check_filter_answers(shipped_default, calls[i].fn, 0, EPERM, calls[i].name);
	if (checked == 0)
		SKIP("the kernel refuses all of these with EPERM already");
}

static void test_default_allows_getpid(void)
{
	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	CHECK_INTEQ(in_child(shipped_default, do_getpid, 0), 0);
	CHECK_INTEQ(in_child(shipped_default, do_socket, AF_INET), 0);
}

static void test_default_x32_abi(void)
{
#ifdef __x86_64__
	int control, got;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	/*
	 * The filter runs before the kernel looks at the x32 bit, so EPERM comes
	 * from the filter's x32 rules even where x32 is disabled (ENOSYS).
	 */
	control = in_child(NULL, do_x32, ((long)__NR_unshare << 32) | CLONE_NEWUSER);
	got = in_child(shipped_default, do_x32, ((long)__NR_unshare << 32) | CLONE_NEWUSER);
	printf("# x32 unshare: %d without the filter (%s), %d with it\n", control,
	       control == ENOSYS ? "x32 disabled in this kernel" : "x32 enabled", got);
	CHECK(got != 0);
	CHECK_INTEQ(got, EPERM);
	/* An allowed x32 call is not stopped by the filter: it gets the kernel's own answer. */
	CHECK_INTEQ(in_child(shipped_default, do_x32, (long)__NR_getppid << 32),
		    in_child(NULL, do_x32, (long)__NR_getppid << 32));
#else
	SKIP("x32 exists only beside x86_64");
#endif
}

static void test_default_i386_abi(void)
{
#ifdef __x86_64__
	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	if (!have_int80())
		SKIP("the kernel has no IA32 emulation (int 0x80)");
	if (!check_filter_answers(shipped_default, do_int80, ((long)I386_NR_UNSHARE << 32) | CLONE_NEWUSER, EPERM,
				  "int 0x80 unshare"))
		SKIP("unshare(CLONE_NEWUSER) fails with EPERM without a filter");
	CHECK_INTEQ(in_child(shipped_default, do_int80, (long)I386_NR_GETPID << 32), 0);
#else
	SKIP("int 0x80 is x86");
#endif
}

/* ---- strict.json at work ---- */

static void test_strict_runs_programs(void)
{
	char out[256];

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	CHECK_INTEQ(exec_child(shipped_strict, (char *[]){ "/bin/true", NULL }, NULL, out, sizeof(out)), 0);
	CHECK_INTEQ(exec_child(shipped_strict, (char *[]){ "/bin/sh", "-c", "echo ok", NULL }, NULL, out, sizeof(out)),
		    0);
	CHECK_STREQ(out, "ok\n");
	CHECK_INTEQ(exec_child(shipped_strict, (char *[]){ "/bin/cat", NULL }, "hello\nworld\n", out, sizeof(out)), 0);
	CHECK_STREQ(out, "hello\nworld\n");
	/* A shell pipeline forks and waits. */
	CHECK_INTEQ(exec_child(shipped_strict, (char *[]){ "/bin/sh", "-c", "echo a b | /bin/cat", NULL }, NULL, out,
			       sizeof(out)),
		    0);
	CHECK_STREQ(out, "a b\n");
}

static void test_strict_sockets(void)
{
	char out[256];

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	check_filter_answers(shipped_strict, do_socket, AF_INET, EPERM, "socket(AF_INET)");
	check_filter_answers(shipped_strict, do_socket, AF_INET6, EPERM, "socket(AF_INET6)");
	CHECK_INTEQ(in_child(shipped_strict, do_socket, AF_UNIX), 0);
	/* The AF_UNIX comparison looks at the low 32 bits only, as the kernel does. */
	check_filter_answers(shipped_strict, do_socket, AF_INET | (1L << 32), EPERM, "socket(AF_INET | 1 << 32)");
	if (!have_probe())
		return;
	CHECK_INTEQ(probe(shipped_strict, "socket-inet", out, sizeof(out)), 0);
	CHECK_STREQ(out, "EPERM");
	CHECK_INTEQ(probe(shipped_strict, "socket-unix", out, sizeof(out)), 0);
	CHECK_STREQ(out, "ok");
	CHECK_INTEQ(probe(shipped_strict, "pthread", out, sizeof(out)), 0);
	CHECK_STREQ(out, "ok");
}

static void test_strict_denies_the_rest(void)
{
	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	check_filter_answers(shipped_strict, do_unshare, CLONE_NEWUSER, EPERM, "unshare");
	check_filter_answers(shipped_strict, do_mount, 0, EPERM, "mount");
	check_filter_answers(shipped_strict, do_bpf, 0, EPERM, "bpf");
	check_filter_answers(shipped_strict, do_clone_flags, CLONE_NEWNET, EPERM, "clone(CLONE_NEWNET)");
	CHECK_INTEQ(in_child(shipped_strict, do_fork_clone, 0), 0);
}

static void test_strict_kills_other_abis(void)
{
#ifdef __x86_64__
	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	/* strict lists only native ABIs: x32 and i386 calls meet the bad-arch action. */
	CHECK_INTEQ(in_child(shipped_strict, do_x32, (long)__NR_getppid << 32), -SIGSYS);
	if (have_int80())
		CHECK_INTEQ(in_child(shipped_strict, do_int80, (long)I386_NR_GETPID << 32), -SIGSYS);
	else
		printf("# no IA32 emulation (int 0x80) in this kernel: only x32 checked\n");
#else
	SKIP("x32 and int 0x80 are x86");
#endif
}

static int do_sd_notify(long unused)
{
	int r = sd_notify(0, "READY=1\nSTATUS=confined");

	return r > 0 ? 0 : r == 0 ? ENOTCONN : -r;
}

/* sd_notify(3) from a daughter, as a job would report readiness or heartbeats. */
static void test_strict_sd_notify(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[256];
	ssize_t n;
	int fd;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/test-seccomp-notify-%d", (int)getpid());
	(void)unlink(sa.sun_path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(setenv("NOTIFY_SOCKET", sa.sun_path, 1) == 0);

	CHECK_INTEQ(in_child(shipped_strict, do_sd_notify, 0), 0);
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	CHECK(n > 0);
	buf[MAX(n, 0)] = '\0';
	CHECK_STREQ(buf, "READY=1\nSTATUS=confined");
	/* The control: where sending is refused, sd_notify fails and nothing arrives. */
	{
		SeccompProgram *p = compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
					       "{\"names\": [\"sendmsg\", \"sendto\"], \"action\": \"SCMP_ACT_ERRNO\"}]}");

		CHECK_INTEQ(in_child(p, do_sd_notify, 0), EPERM);
		CHECK(recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT) < 0 && errno == EAGAIN);
		seccomp_program_free(p);
	}

	unsetenv("NOTIFY_SOCKET");
	close(fd);
	unlink(sa.sun_path);
}

static SeccompProgram *getppid_42;

static int load_with_seccomp_hidden(long unused)
{
	/* Under the outer filter seccomp(2) answers ENOSYS, as on a kernel before 3.17. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &getppid_42->prog) == 0 || errno != ENOSYS)
		return 200;
	if (seccomp_program_load(getppid_42) < 0)
		return 201;
	return call_raw(SYS_getppid, 0, 0);
}

static void test_load_falls_back_to_prctl(void)
{
	SeccompProgram *hide;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	hide = compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
			  "{\"names\": [\"seccomp\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38}]}");
	getppid_42 = compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
				"{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 42}]}");
	if (hide && getppid_42)
		CHECK_INTEQ(in_child(hide, load_with_seccomp_hidden, 0), 42);
	seccomp_program_free(hide);
	getppid_42 = seccomp_program_free(getppid_42);
}

static int load_without_nnp(long unused)
{
	/* Without no_new_privs the kernel wants CAP_SYS_ADMIN: drop it by leaving root. */
	if (getuid() == 0 && setresuid(65534, 65534, 65534) < 0)
		return 200;
	return -seccomp_program_load(shipped_default);
}

static void test_load_reports_errno(void)
{
	int r;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	r = in_child(NULL, load_without_nnp, 0);
	if (r == 200)
		SKIP("cannot drop privileges");
	CHECK_INTEQ(r, EACCES);
}

/* ---- the format's semantics ---- */

/* Calls that ignore their arguments, so a filter can be made to look at any value. */
#define RAW_CALL(name, nr)                                                                                 \
	static int name(long a0)                                                                           \
	{                                                                                                  \
		return call_raw(nr, a0, 0);                                                                \
	}
RAW_CALL(call_getppid, SYS_getppid)
RAW_CALL(call_getuid, SYS_getuid)
RAW_CALL(call_getgid, SYS_getgid)
RAW_CALL(call_geteuid, SYS_geteuid)
RAW_CALL(call_getegid, SYS_getegid)
RAW_CALL(call_gettid, SYS_gettid)
RAW_CALL(call_getpgrp, SYS_getpgrp)
RAW_CALL(call_getsid, SYS_getsid)

static void test_actions(void)
{
	SeccompProgram *p;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	p = compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		       "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 77},"
		       "{\"names\": [\"getuid\"], \"action\": \"SCMP_ACT_ERRNO\"},"
		       "{\"names\": [\"getgid\"], \"action\": \"SCMP_ACT_TRAP\"},"
		       "{\"names\": [\"geteuid\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"},"
		       "{\"names\": [\"getegid\"], \"action\": \"SCMP_ACT_KILL\"},"
		       "{\"names\": [\"gettid\"], \"action\": \"SCMP_ACT_KILL_THREAD\"},"
		       "{\"names\": [\"getpgrp\"], \"action\": \"SCMP_ACT_LOG\"},"
		       "{\"names\": [\"getsid\"], \"action\": \"SCMP_ACT_ALLOW\"}]}");
	if (!p)
		return;
	CHECK_INTEQ(in_child(p, call_getppid, 0), 77);
	CHECK_INTEQ(in_child(NULL, call_getppid, 0), 0);
	CHECK_INTEQ(in_child(p, call_getuid, 0), EPERM); /* errnoRet defaults to EPERM */
	CHECK_INTEQ(in_child(p, call_getgid, 0), -SIGSYS);
	CHECK_INTEQ(in_child(p, call_geteuid, 0), -SIGSYS);
	CHECK_INTEQ(in_child(p, call_getegid, 0), -SIGSYS);
	CHECK_INTEQ(in_child(p, call_gettid, 0), -SIGSYS);
	CHECK_INTEQ(in_child(p, call_getpgrp, 0), 0);
	CHECK_INTEQ(in_child(p, call_getsid, 0), 0);
	seccomp_program_free(p);

	/* defaultErrnoRet; exit_group must be allowed for the child to end. */
	p = compile_ok("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 55, \"syscalls\": ["
		       "{\"names\": [\"exit_group\", \"exit\"], \"action\": \"SCMP_ACT_ALLOW\"}]}");
	if (p)
		CHECK_INTEQ(in_child(p, call_getppid, 0), 55);
	seccomp_program_free(p);
}

/* The guard against a runaway child: one that a filter keeps from exiting traps. */
static void test_child_cannot_escape(void)
{
	SeccompProgram *p;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	p = compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		       "{\"names\": [\"exit_group\", \"exit\"], \"action\": \"SCMP_ACT_ERRNO\"}]}");
	if (p)
		CHECK_INTEQ(in_child(p, call_getppid, 0), -SIGILL);
	seccomp_program_free(p);
}

/* Runs getppid(a0) for three values of a0; bit i is set when the i-th got the rule's errno 99. */
static long op_values[3];
static int op_pattern(long unused)
{
	int bits = 0;

	for (int i = 0; i < 3; i++)
		if (call_getppid(op_values[i]) == 99)
			bits |= 1 << i;
	return bits;
}

static void test_operators(void)
{
	static const struct {
		const char *op;
		uint64_t value, value_two;
		long args[3];
		int want; /* bit i: args[i] matches */
	} cases[] = {
		{ "SCMP_CMP_NE", 10, 0, { 9, 10, 11 }, 0x5 },
		{ "SCMP_CMP_LT", 10, 0, { 9, 10, 11 }, 0x1 },
		{ "SCMP_CMP_LE", 10, 0, { 9, 10, 11 }, 0x3 },
		{ "SCMP_CMP_EQ", 10, 0, { 9, 10, 11 }, 0x2 },
		{ "SCMP_CMP_GE", 10, 0, { 9, 10, 11 }, 0x6 },
		{ "SCMP_CMP_GT", 10, 0, { 9, 10, 11 }, 0x4 },
		/* value is the mask, valueTwo the result */
		{ "SCMP_CMP_MASKED_EQ", 0xf0, 0x10, { 0x1f, 0x20, 0x10 }, 0x5 },
		/* all 64 bits take part on x86_64 */
		{ "SCMP_CMP_EQ", 1ULL << 32, 0, { 0, 1L << 32, (1L << 32) | 1 }, 0x2 },
	};

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *json = NULL;
		SeccompProgram *p;

		CHECK(asprintf(&json,
			       "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"getppid\"], "
			       "\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 99, \"args\": [{\"index\": 0, "
			       "\"value\": %" PRIu64 ", \"valueTwo\": %" PRIu64 ", \"op\": \"%s\"}]}]}",
			       cases[i].value, cases[i].value_two, cases[i].op) > 0);
		p = compile_ok(json);
		if (!p)
			continue;
		memcpy(op_values, cases[i].args, sizeof(op_values));
		if (in_child(p, op_pattern, 0) != cases[i].want)
			printf("# %s %" PRIu64 ": pattern %d, want %d\n", cases[i].op, cases[i].value,
			       in_child(p, op_pattern, 0), cases[i].want);
		CHECK_INTEQ(in_child(p, op_pattern, 0), cases[i].want);
		seccomp_program_free(p);
	}
}

static void test_includes_excludes_arches(void)
{
	SeccompProgram *p;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	if (seccomp_arch_native() != SCMP_ARCH_X86_64)
		SKIP("written for an amd64 host");
	p = compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		       "{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 11,"
		       " \"includes\": {\"arches\": [\"arm64\", \"amd64\"]}},"
		       "{\"names\": [\"getuid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 12,"
		       " \"includes\": {\"arches\": [\"s390x\"]}},"
		       "{\"names\": [\"getgid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13,"
		       " \"excludes\": {\"arches\": [\"amd64\"]}},"
		       "{\"names\": [\"geteuid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 14,"
		       " \"excludes\": {\"arches\": [\"x86\"]}}]}");
	if (!p)
		return;
	CHECK_INTEQ(in_child(p, call_getppid, 0), 11);
	CHECK_INTEQ(in_child(p, call_getuid, 0), 0);
	CHECK_INTEQ(in_child(p, call_getgid, 0), 0);
	CHECK_INTEQ(in_child(p, call_geteuid, 0), 14);
	seccomp_program_free(p);
}

static void test_unlisted_abi_is_killed(void)
{
#ifdef __x86_64__
	SeccompProgram *p;

	if (!kernel_has_seccomp())
		SKIP("the kernel has no seccomp filters");
	/* Only x86_64 listed: x32 and i386 calls hit KILL_PROCESS, even with an allow-all default. */
	p = compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86_64\"]}");
	if (!p)
		return;
	CHECK_INTEQ(in_child(p, do_x32, (long)__NR_getppid << 32), -SIGSYS);
	CHECK_INTEQ(in_child(p, call_getppid, 0), 0);
	if (have_int80())
		CHECK_INTEQ(in_child(p, do_int80, (long)I386_NR_GETPID << 32), -SIGSYS);
	seccomp_program_free(p);

	/* No "architectures" at all: every ABI of the host gets the rules. */
	p = compile_ok("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		       "{\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 33}]}");
	if (!p)
		return;
	CHECK_INTEQ(in_child(p, do_x32, (long)__NR_getpid << 32), 33);
	if (have_int80())
		CHECK_INTEQ(in_child(p, do_int80, (long)I386_NR_GETPID << 32), 33);
	seccomp_program_free(p);
#else
	SKIP("written for x86_64");
#endif
}

int main(void)
{
	/* Orphans of our children come to us, so that reap() can kill and collect them. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		printf("# PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));
	limit_children();
	if (child_nproc != RLIM_INFINITY)
		printf("# children run with RLIMIT_NPROC %llu\n", (unsigned long long)child_nproc);

	TEST(test_shipped_profiles_compile);
	TEST(test_profile_by_path);
	TEST(test_none_is_null);
	TEST(test_unknown_profile_name);
	TEST(test_missing_file);
	TEST(test_file_not_json);
	TEST(test_duplicate_key_refused);
	TEST(test_error_unknown_syscall);
	TEST(test_error_unknown_action);
	TEST(test_error_errno_values);
	TEST(test_error_unknown_operator);
	TEST(test_error_arguments);
	TEST(test_error_unknown_keys);
	TEST(test_error_architectures);
	TEST(test_error_conflicting_rules);
	TEST(test_error_multiplexed_arguments);
	TEST(test_compile_time);

	if (!shipped_default || !shipped_strict) {
		printf("Bail out! the shipped profiles did not compile (VX11_SECCOMP_DIR=%s)\n", profile_dir());
		return EXIT_FAILURE;
	}
	TEST(test_default_unshare);
	TEST(test_default_setns_and_mount);
	TEST(test_default_clone3_enosys);
	TEST(test_default_clone_namespace_flags);
	TEST(test_default_ioctl_tiocsti_high_bits);
	TEST(test_default_kernel_surface);
	TEST(test_default_allows_getpid);
	TEST(test_default_x32_abi);
	TEST(test_default_i386_abi);
	TEST(test_strict_runs_programs);
	TEST(test_strict_sockets);
	TEST(test_strict_denies_the_rest);
	TEST(test_strict_kills_other_abis);
	TEST(test_strict_sd_notify);
	TEST(test_load_reports_errno);
	TEST(test_load_falls_back_to_prctl);
	TEST(test_actions);
	TEST(test_child_cannot_escape);
	TEST(test_operators);
	TEST(test_includes_excludes_arches);
	TEST(test_unlisted_abi_is_killed);

	seccomp_program_free(shipped_default);
	seccomp_program_free(shipped_strict);
	return tap_done();
}
