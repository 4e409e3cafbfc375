/* SPDX-License-Identifier: MIT */
/*
 * The spawner, parent side: theory of operation.
 *
 * One call, one daughter. Processes and fds, in order:
 *  1. The caller (the daemon's spawning thread) prepares everything the child
 *     will need, so that the child allocates nothing: a SpawnChild with the
 *     request, the write end of an O_CLOEXEC error pipe (moved above 2 so that
 *     no stdio dup can land on it), an O_CLOEXEC copy of the netns fd (same
 *     reason, and so that a caller's fd without CLOEXEC is not leaked), and
 *     the sorted list of fds that survive step 2 of the child.
 *  2. clone3(CLONE_PIDFD | CLONE_INTO_CGROUP | CLONE_CLEAR_SIGHAND): the
 *     child is born in the job's cgroup2 group (nothing runs outside it, not
 *     even for a moment), we get its pidfd (supervision never uses the pid
 *     number), and none of the daemon's signal handlers can run in it.
 *  3. The child (spawn-child.c) runs the fixed steps and execs. A failed step
 *     writes {step, errno, arg} to the pipe and exits 127. Just before execve
 *     it writes {execve, 0}, and a successful execve closes the pipe. So the
 *     parent reads either that report and then EOF (the daughter runs the new
 *     program), or a failure report, or EOF alone (it was killed on the way):
 *     never a silent death. On failure the parent reaps the child through the
 *     pidfd and returns -errno with a line of text
 *     ("setresuid(61184): Operation not permitted").
 *
 * Two ways to create the child, same steps, same result:
 *  - fork-style: clone3 without CLONE_VM. The kernel copies the page tables
 *    of the daemon, so each spawn costs more as the daemon grows
 *    (perf/FLOORS.md: 4.5 ms at 256 MiB RSS against 0.75 ms).
 *  - vfork-style (x86_64): CLONE_VM | CLONE_VFORK. The child shares our
 *    memory and the calling thread sleeps until the child execs or exits, so
 *    the report is there to read at once and the cost stays flat. The child
 *    cannot run on our stack (returning from syscall() in the child would
 *    tear down the frame the parent resumes into), so it gets a stack of its
 *    own (mapped once per spawning thread and kept), and a few lines of
 *    assembly that make the clone3 system call and, in the child, call
 *    spawn_child_run() on that stack and exit with its result. That the child only makes raw system calls
 *    (spawn-child.c) is what makes sharing our memory safe.
 * Both are spawn_clone3_run(), which the zygote (spawn-zygote.c) uses too, on a
 * stack of its own, so that its children are born in their cgroup the same way.
 * The vfork-style child also blocks only the calling thread: the daemon's
 * other threads go on. Run spawns from a thread of their own to keep the
 * request loop free (perf/FLOORS.md point 4). Threads may spawn at once: a
 * child created by another thread meanwhile holds a copy of our pipe's write
 * end (O_CLOEXEC) only until its own execve, which at worst delays our EOF.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#endif

#include "spawn.h"

/* The vfork-style child's stack: spawn-child.c needs a few KiB; sanitizers make frames larger. */
#define CHILD_STACK_SIZE (256u * 1024u)

#if defined(__x86_64__)
#define HAVE_VFORK_TRAMPOLINE 1
/*
 * long spawn_clone3_vfork(struct clone_args *args, size_t size, int (*fn)(void *), void *arg)
 *
 * The parent gets the clone3 result (a pid, or -errno) back. The child starts
 * on args->stack with every register as the parent had it, except rax (0) and
 * rcx/r11 (clobbered by syscall): so fn and arg travel in r8/r9. It calls
 * fn(arg) with the stack 16-byte aligned as the ABI wants at a call, and
 * exit_group()s with what fn returned. It never returns: there is nothing to
 * return to on that stack.
 */
long spawn_clone3_vfork(struct clone_args *args, size_t size, int (*fn)(void *), void *arg);
__asm__(".text\n"
	".globl spawn_clone3_vfork\n"
	".hidden spawn_clone3_vfork\n"
	".type spawn_clone3_vfork,@function\n"
	"spawn_clone3_vfork:\n"
	"	.cfi_startproc\n"
	"	movq %rdx, %r8\n"
	"	movq %rcx, %r9\n"
	"	movl $" /* __NR_clone3 */ "435, %eax\n"
	"	syscall\n"
	"	testq %rax, %rax\n"
	"	jz 1f\n"
	"	ret\n"
	"1:\n"
	"	.cfi_undefined rip\n"
	"	xorl %ebp, %ebp\n"
	"	movq %r9, %rdi\n"
	"	call *%r8\n"
	"	movl %eax, %edi\n"
	"	movl $" /* __NR_exit_group */ "231, %eax\n"
	"	syscall\n"
	"	hlt\n"
	"	.cfi_endproc\n"
	".size spawn_clone3_vfork, .-spawn_clone3_vfork\n");
_Static_assert(SYS_clone3 == 435 && SYS_exit_group == 231, "x86_64 system call numbers");
#else
#define HAVE_VFORK_TRAMPOLINE 0
#endif

void spawn_request_init(SpawnRequest *r)
{
	*r = (SpawnRequest){
		.stdin_fd = -1,
		.stdout_fd = -1,
		.stderr_fd = -1,
		.uid = (uid_t)-1,
		.gid = (gid_t)-1,
		.rlimits = { .nofile = SPAWN_RLIMIT_UNSET, .fsize = SPAWN_RLIMIT_UNSET, .core = 0,
			     .cpu = SPAWN_RLIMIT_UNSET },
		.netns_fd = -1,
		.landlock_fd = -1,
		.private_ipc = true,
		.method = SPAWN_METHOD_AUTO,
	};
}

/* Does this process hold the capability (its effective set)? */
static bool have_cap(int cap)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};

	return syscall(SYS_capget, &h, d) >= 0 && (d[cap / 32].effective & (1u << (cap % 32)));
}

/* Under the unit vx11d has no CAP_NET_ADMIN: a daughter's own network then
 * keeps lo down. */
static bool have_net_admin(void)
{
	return have_cap(CAP_NET_ADMIN);
}

bool spawn_can_bring_up_loopback(void)
{
	return have_net_admin();
}

bool spawn_can_make_namespaces(void)
{
	return have_cap(CAP_SYS_ADMIN);
}

SpawnMethod spawn_method_default(void)
{
	return HAVE_VFORK_TRAMPOLINE ? SPAWN_METHOD_VFORK : SPAWN_METHOD_FORK;
}

const char *spawn_method_to_string(SpawnMethod m)
{
	switch (m) {
	case SPAWN_METHOD_AUTO:
		return "auto";
	case SPAWN_METHOD_FORK:
		return "fork";
	case SPAWN_METHOD_VFORK:
		return "vfork";
	}
	return "?";
}

static int spawn_error(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int spawn_error(char **ret_error, int r, const char *fmt, ...)
{
	va_list ap;

	assert(r < 0);
	if (!ret_error)
		return r;
	va_start(ap, fmt);
	if (vasprintf(ret_error, fmt, ap) < 0)
		*ret_error = NULL;
	va_end(ap);
	return r;
}

static const char *rlimit_name(int64_t resource)
{
	switch (resource) {
	case RLIMIT_NOFILE:
		return "RLIMIT_NOFILE";
	case RLIMIT_FSIZE:
		return "RLIMIT_FSIZE";
	case RLIMIT_CORE:
		return "RLIMIT_CORE";
	case RLIMIT_CPU:
		return "RLIMIT_CPU";
	}
	return "?";
}

static const char *path_at(const char *const *paths, size_t n, int64_t k)
{
	return k >= 0 && (size_t)k < n ? paths[k] : "?";
}

/* "<step>: <strerror>", from what the child reported. */
int spawn_report_error(const SpawnRequest *r, const SpawnReport *rep, char **ret_error)
{
	static const char *const stdio_names[] = { "stdin", "stdout", "stderr" };
	int e = rep->error > 0 ? -rep->error : -EIO;
	const char *msg = strerror(-e);
	int64_t a = rep->arg;

	switch ((SpawnStep)rep->step) {
	case SPAWN_STEP_CGROUP_V1:
		return spawn_error(ret_error, e, "cgroup_child_join_v1(%s): %s", cgroup_name(r->cgroup),
		                   msg);
	case SPAWN_STEP_SIGNALS:
		if (a == 0)
			return spawn_error(ret_error, e, "rt_sigprocmask: %s", msg);
		return spawn_error(ret_error, e, "rt_sigaction(%" PRIi64 "): %s", a, msg);
	case SPAWN_STEP_DEV_NULL:
		return spawn_error(ret_error, e, "open(/dev/null): %s", msg);
	case SPAWN_STEP_STDIO:
		return spawn_error(ret_error, e, "dup3(%s): %s", a >= 0 && a < 3 ? stdio_names[a] : "?",
		                   msg);
	case SPAWN_STEP_KEEP_FD:
		return spawn_error(ret_error, e, "fcntl(%" PRIi64 ", F_SETFD): %s", a, msg);
	case SPAWN_STEP_CLOSE_FDS:
		return spawn_error(ret_error, e, "close_range: %s", msg);
	case SPAWN_STEP_SETSID:
		return spawn_error(ret_error, e, "setsid: %s", msg);
	case SPAWN_STEP_RLIMIT:
		return spawn_error(ret_error, e, "setrlimit(%s): %s", rlimit_name(a), msg);
	case SPAWN_STEP_OOM_SCORE_ADJ:
		return spawn_error(ret_error, e, "resetting /proc/self/oom_score_adj: %s", msg);
	case SPAWN_STEP_NO_NEW_PRIVS:
		return spawn_error(ret_error, e, "prctl(PR_SET_NO_NEW_PRIVS): %s", msg);
	case SPAWN_STEP_CAPBSET:
		return spawn_error(ret_error, e, "prctl(PR_CAPBSET_DROP, %" PRIi64 "): %s", a, msg);
	case SPAWN_STEP_AMBIENT:
		return spawn_error(ret_error, e, "prctl(PR_CAP_AMBIENT_CLEAR_ALL): %s", msg);
	case SPAWN_STEP_KEEPCAPS:
		return spawn_error(ret_error, e, "prctl(PR_SET_KEEPCAPS): %s", msg);
	case SPAWN_STEP_SETGROUPS:
		return spawn_error(ret_error, e, "setgroups(0): %s", msg);
	case SPAWN_STEP_SETRESGID:
		return spawn_error(ret_error, e, "setresgid(%u): %s", (unsigned)r->gid, msg);
	case SPAWN_STEP_SETRESUID:
		return spawn_error(ret_error, e, "setresuid(%u): %s", (unsigned)r->uid, msg);
	case SPAWN_STEP_CAPSET_ADMIN:
		return spawn_error(ret_error, e, "capset(CAP_SYS_ADMIN): %s", msg);
	case SPAWN_STEP_SETNS:
		return spawn_error(ret_error, e, "setns: %s", msg);
	case SPAWN_STEP_UNSHARE_NS:
		return spawn_error(ret_error, e, "unshare(%s%s%s): %s", a & CLONE_NEWIPC ? "CLONE_NEWIPC " : "",
				   a & CLONE_NEWNET ? "CLONE_NEWNET " : "", a & CLONE_NEWNS ? "CLONE_NEWNS" : "", msg);
	case SPAWN_STEP_LOOPBACK:
		return spawn_error(ret_error, e, "bringing up lo in its network namespace: %s", msg);
	case SPAWN_STEP_MOUNT_SHM:
		return spawn_error(ret_error, e, "mount(tmpfs, /dev/shm): %s", msg);
	case SPAWN_STEP_MOUNT_PROC:
		return spawn_error(ret_error, e, "mount(proc, /proc, hidepid=invisible): %s", msg);
	case SPAWN_STEP_MOUNT_PRIVATE:
		return spawn_error(ret_error, e, "mount(/, MS_REC|MS_PRIVATE): %s", msg);
	case SPAWN_STEP_MOUNT_TMP:
		return spawn_error(ret_error, e, "mount(tmpfs, %s): %s",
				   path_at(spawn_tmp_paths, spawn_n_tmp_paths, a), msg);
	case SPAWN_STEP_BIND_RO:
		return spawn_error(ret_error, e, "mount(%s, MS_BIND|MS_REC): %s",
				   path_at(spawn_ro_paths, spawn_n_ro_paths, a), msg);
	case SPAWN_STEP_REMOUNT_RO:
		return spawn_error(ret_error, e, "mount_setattr(%s, MOUNT_ATTR_RDONLY): %s",
				   path_at(spawn_ro_paths, spawn_n_ro_paths, a), msg);
	case SPAWN_STEP_CAPS_DROP:
		return spawn_error(ret_error, e, "capset(0): %s", msg);
	case SPAWN_STEP_CHDIR:
		return spawn_error(ret_error, e, "chdir(%s): %s", r->working_directory ?: "/", msg);
	case SPAWN_STEP_LANDLOCK:
		return spawn_error(ret_error, e, "%s: %s", a ? "landlock_add_rule (a fresh mount)" : "landlock_restrict_self",
				   msg);
	case SPAWN_STEP_SECCOMP:
		return spawn_error(ret_error, e, "seccomp(%s): %s",
		                   r->seccomp && r->seccomp->origin ? r->seccomp->origin : "?", msg);
	case SPAWN_STEP_EXECVE:
		return spawn_error(ret_error, e, "execve(%s): %s", r->argv[0], msg);
	case SPAWN_STEP_NONE:
	case _SPAWN_STEP_MAX:
		break;
	}
	return spawn_error(ret_error, -EIO, "child: unknown step %d: %s", (int)rep->step, msg);
}

static int validate(const SpawnRequest *r, SpawnMethod method, char **ret_error);

int spawn_request_validate(const SpawnRequest *r, char **ret_error)
{
	return validate(r, SPAWN_METHOD_FORK, ret_error);
}

static int validate(const SpawnRequest *r, SpawnMethod method, char **ret_error)
{
	if (!r->argv || !r->argv[0] || r->argv[0][0] != '/')
		return spawn_error(ret_error, -EINVAL, "argv[0]: not an absolute path");
	if (!r->envp)
		return spawn_error(ret_error, -EINVAL, "envp: missing");
	if (r->uid == 0 || r->uid == (uid_t)-1)
		return spawn_error(ret_error, -EINVAL,
		                   "uid %u: a daughter never runs as root or as an unset user",
		                   (unsigned)r->uid);
	if (r->gid == 0 || r->gid == (gid_t)-1)
		return spawn_error(ret_error, -EINVAL,
		                   "gid %u: a daughter never runs as group root or an unset group",
		                   (unsigned)r->gid);
	if (r->n_keep_fds > SPAWN_KEEP_FDS_MAX || (r->n_keep_fds > 0 && !r->keep_fds))
		return spawn_error(ret_error, -EINVAL, "keep_fds: at most %d", SPAWN_KEEP_FDS_MAX);
	for (size_t k = 0; k < r->n_keep_fds; k++) {
		if (r->keep_fds[k] < 3)
			return spawn_error(ret_error, -EINVAL, "keep_fds: %d is stdio", r->keep_fds[k]);
		if (fcntl(r->keep_fds[k], F_GETFD) < 0)
			return spawn_error(ret_error, -errno, "keep_fds: %d: %m", r->keep_fds[k]);
	}
	if (r->private_network && r->netns_fd >= 0)
		return spawn_error(ret_error, -EINVAL, "private_network: and a netns_fd to join, both");
	if (method == SPAWN_METHOD_VFORK && !HAVE_VFORK_TRAMPOLINE)
		return spawn_error(ret_error, -EOPNOTSUPP,
		                   "vfork-style spawning is not built on this architecture");
	return 0;
}

static int close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
	return -1;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* fd itself if it is above 2, else an O_CLOEXEC copy above 2 (fd is closed). */
static int fd_above_stdio(int fd)
{
	int moved;

	if (fd >= 3)
		return fd;
	moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (moved < 0)
		moved = -errno;
	close(fd);
	return moved;
}

#if HAVE_VFORK_TRAMPOLINE
/*
 * The vfork child's stack, one per thread that spawns, mapped once and kept:
 * the parent is suspended until the child has exec'd or exited, so the stack
 * is free again when clone returns, and unmapping it each time would cost a
 * TLB shootdown per daughter. Unmapped when the thread ends.
 */
typedef struct ChildStack {
	uint8_t *base;
	size_t len;
} ChildStack;

static pthread_key_t stack_key;
static pthread_once_t stack_once = PTHREAD_ONCE_INIT;
static int stack_key_error;

static void child_stack_free(void *p)
{
	ChildStack *s = p;

	munmap(s->base, s->len);
	free(s);
}

static void child_stack_key(void)
{
	stack_key_error = pthread_key_create(&stack_key, child_stack_free);
}

static int child_stack(ChildStack **ret)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	ChildStack *s;
	int r;

	(void)pthread_once(&stack_once, child_stack_key);
	if (stack_key_error)
		return -stack_key_error;
	s = pthread_getspecific(stack_key);
	if (s) {
		*ret = s;
		return 0;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->len = CHILD_STACK_SIZE + page;
	/* The lowest page stays unmapped-in-effect: an overflow faults instead of writing below. */
	s->base = mmap(NULL, s->len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (s->base == MAP_FAILED) {
		r = -errno;
		free(s);
		return r;
	}
	if (mprotect(s->base + page, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE) < 0 ||
	    (errno = pthread_setspecific(stack_key, s)) != 0) {
		r = -errno;
		munmap(s->base, s->len);
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}
#endif

long spawn_clone3_run(struct clone_args *a, SpawnChild *c, uint8_t *stack, size_t stack_size)
{
	long pid;

#if HAVE_VFORK_TRAMPOLINE
	if (stack) {
		a->flags |= CLONE_VM | CLONE_VFORK;
		a->stack = (uint64_t)(uintptr_t)stack;
		a->stack_size = stack_size;
		/* Returns once the child has exec'd or exited: the stack is free again. */
		pid = spawn_clone3_vfork(a, sizeof(*a), spawn_child_run, c);
#ifdef __SANITIZE_ADDRESS__
		/* The child's frames never returned: clear their poison before the next child's. */
		__asan_unpoison_memory_region(stack, stack_size);
#endif
		return pid;
	}
#else
	(void)stack;
	(void)stack_size;
#endif
	pid = syscall(SYS_clone3, a, sizeof(*a));
	if (pid < 0)
		return -errno;
	if (pid == 0)
		/* Not exit() or _exit(): nothing of the daemon's (atexit, sanitizer hooks) may run here. */
		syscall(SYS_exit_group, spawn_child_run(c));
	return pid;
}

static long clone_child(struct clone_args *a, SpawnMethod method, SpawnChild *c)
{
#if HAVE_VFORK_TRAMPOLINE
	if (method == SPAWN_METHOD_VFORK) {
		ChildStack *s = NULL;
		int r;

		r = child_stack(&s);
		if (r < 0)
			return r;
		return spawn_clone3_run(a, c, s->base + s->len - CHILD_STACK_SIZE, CHILD_STACK_SIZE);
	}
#endif
	return spawn_clone3_run(a, c, NULL, 0);
}

int spawn_daughter(const SpawnRequest *r, pid_t *ret_pid, int *ret_pidfd, char **ret_error)
{
	return spawn_daughter_step(r, ret_pid, ret_pidfd, ret_error, NULL);
}

int spawn_daughter_step(const SpawnRequest *r, pid_t *ret_pid, int *ret_pidfd, char **ret_error,
			SpawnStep *ret_step)
{
	SpawnMethod method = r->method == SPAWN_METHOD_AUTO ? spawn_method_default() : r->method;
	_cleanup_close_ int err_r = -1, err_w = -1, netns = -1, landlock = -1, pidfd = -1;
	_cleanup_free_ int *keep = NULL;
	int p[2], k;
	size_t n_keep = 0;
	SpawnReport rep = { 0 };
	bool exec_reached = false;
	ssize_t n;
	long pid;

	assert(r);
	assert(ret_pid);
	assert(ret_pidfd);

	if (ret_error)
		*ret_error = NULL;
	if (ret_step)
		*ret_step = SPAWN_STEP_NONE;
	k = validate(r, method, ret_error);
	if (k < 0)
		return k;

	if (pipe2(p, O_CLOEXEC) < 0)
		return spawn_error(ret_error, -errno, "pipe2: %m");
	err_r = p[0];
	err_w = fd_above_stdio(p[1]);
	if (err_w < 0)
		return spawn_error(ret_error, err_w, "fcntl(F_DUPFD_CLOEXEC): %s", strerror(-err_w));
	if (r->netns_fd >= 0) {
		netns = fcntl(r->netns_fd, F_DUPFD_CLOEXEC, 3);
		if (netns < 0)
			return spawn_error(ret_error, -errno, "netns_fd %d: %m", r->netns_fd);
	}
	if (r->landlock_fd >= 0) {
		landlock = fcntl(r->landlock_fd, F_DUPFD_CLOEXEC, 3);
		if (landlock < 0)
			return spawn_error(ret_error, -errno, "landlock_fd %d: %m", r->landlock_fd);
	}

	keep = malloc((r->n_keep_fds + 3) * sizeof(int));
	if (!keep)
		return spawn_error(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
	for (size_t i = 0; i < r->n_keep_fds; i++)
		keep[n_keep++] = r->keep_fds[i];
	keep[n_keep++] = err_w;
	if (netns >= 0)
		keep[n_keep++] = netns;
	if (landlock >= 0)
		keep[n_keep++] = landlock;
	qsort(keep, n_keep, sizeof(int), cmp_int);
	k = 0; /* drop duplicates: the child closes the gaps between neighbours */
	for (size_t i = 0; i < n_keep; i++)
		if (i == 0 || keep[i] != keep[k - 1])
			keep[k++] = keep[i];
	n_keep = (size_t)k;

	SpawnChild child = {
		.r = r,
		.error_fd = err_w,
		.netns_fd = netns,
		.landlock_fd = landlock,
		.keep = keep,
		.n_keep = n_keep,
		.mount_ns = r->private_tmp || r->read_only_system || r->hide_processes,
		.net_admin = r->private_network && have_net_admin(),
		.filter = r->seccomp ? &r->seccomp->prog : NULL,
	};
	struct clone_args a = {
		.flags = CLONE_PIDFD | CLONE_CLEAR_SIGHAND,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.exit_signal = SIGCHLD,
	};
	if (r->cgroup && cgroup_dir_fd(r->cgroup) >= 0) {
		a.flags |= CLONE_INTO_CGROUP;
		a.cgroup = (uint64_t)cgroup_dir_fd(r->cgroup);
	}

	pid = clone_child(&a, method, &child);
	if (pid < 0)
		return spawn_error(ret_error, (int)pid, "clone3: %s", strerror((int)-pid));

	/* Ours closed, the child's copy is the only write end left: EOF after the "about to exec" report
	 * means it exec'd; a failure report, or EOF without it, means it did not. */
	err_w = close_fd(err_w);
	netns = close_fd(netns);
	landlock = close_fd(landlock);
	for (;;) {
		n = read(err_r, &rep, sizeof(rep));
		if (n < 0 && errno == EINTR)
			continue;
		if (n == (ssize_t)sizeof(rep) && rep.step == SPAWN_STEP_EXECVE && rep.error == 0) {
			exec_reached = true;
			continue;
		}
		break;
	}
	if (n == 0 && exec_reached) {
		*ret_pid = (pid_t)pid;
		*ret_pidfd = TAKE_FD(pidfd);
		return 0;
	}

	/* It failed or died, and exits (or has exited): reap it, so that nothing is left. */
	siginfo_t si = { 0 };
	while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
	if (n == 0) {
		/* A signal on the way: cgroup.kill, the OOM killer, a seccomp kill; or SIGKILL at birth,
		 * which Linux 6.18 sends to every CLONE_INTO_CGROUP child of a cgroup that was once
		 * cgroup.kill'ed (it compares the target's kill_seq with that of our own cgroup). */
		if (si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED)
			return spawn_error(ret_error, -ECANCELED, "killed by SIG%s before execve",
					   sigabbrev_np(si.si_status) ?: "?");
		return spawn_error(ret_error, -ECANCELED, "exited with %d before execve", si.si_status);
	}
	if (n != (ssize_t)sizeof(rep))
		return spawn_error(ret_error, n < 0 ? -errno : -EIO, "reading the child's report: %s",
				   n < 0 ? strerror(errno) : "short read");
	if (ret_step && rep.step > SPAWN_STEP_NONE && rep.step < _SPAWN_STEP_MAX)
		*ret_step = (SpawnStep)rep.step;
	return spawn_report_error(r, &rep, ret_error);
}
