/* SPDX-License-Identifier: MIT */
/*
 * The zygote: theory of operation (the interface is spawn-zygote.h).
 *
 * Start. The spawner thread forks the zygote (clone3 without CLONE_VM, with
 * CLONE_PIDFD and CLONE_CLEAR_SIGHAND). The daemon is multithreaded, so the
 * forked copy makes raw system calls only, as a vfork-style child does, and
 * allocates nothing (its buffers are mmap'd). It dies with the thread that
 * forked it (PR_SET_PDEATHSIG), names itself "vx11d-zygote", puts /dev/null
 * on 0-2 and closes every fd but its socket, joins the network namespace,
 * sets no_new_privs, loads the profile's variant (seccomp.h), and says ready.
 *
 * One spawn. The spawner sends one SOCK_SEQPACKET message: the request
 * (ZygoteWire, then argv, envp and the working directory as NUL-terminated
 * strings) and, by SCM_RIGHTS, the error pipe's write end, the job's v1 join
 * fds, its cgroup2 directory, and stdio. The zygote clones with clone3, as
 * spawn_daughter() does (spawn_clone3_run(): vfork-style on its own stack),
 * with CLONE_PARENT | CLONE_PIDFD | CLONE_INTO_CGROUP: the daemon is the
 * daughter's parent (it reaps it; the zygote could not), and the daughter is
 * born in its job's cgroup2 group, never for a moment in the daemon's
 * (lifecycle.md, "One attempt" step 1). The variant allows clone3 for this;
 * the dropped filter gives the daughter the profile's clone3 rule back. A
 * clone3 refused (a kernel without CLONE_INTO_CGROUP, a variant that denies
 * it) is a failed clone: nothing runs, the pair goes to the direct path. The
 * child runs spawn_child_run()'s steps with the received fds, its first
 * writing "0" to the v1 join fds (hybrid and legacy hosts), its last loading
 * the dropped filter. The zygote replies {pid} with the pidfd. The spawner
 * then reads the error pipe exactly as spawn_daughter() does.
 *
 * The zygote dies (kill -9). Before it read the request: sendmsg fails, or the
 * reply is EOF and the pipe says nothing: no child, the request goes to the
 * direct path (*ret_lost). After it cloned: the child's reports carry its pid
 * and it is our child, so pidfd_open() on that pid is race-free: the spawn
 * completes (or fails) as if the zygote had replied. Daughters already
 * running are the daemon's children and are not affected.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn-zygote.h"

#define STACK_SIZE   (256u * 1024u)
#define MSG_MAX      (128u * 1024u) /* the request; larger ones go to the direct path */
#define STRINGS_MAX  4096u          /* argv + envp entries */
#define FDS_MAX      (2 + 3 + 8)    /* error pipe, cgroup2 directory, stdio, v1 join fds */
#define ZYGOTE_REPLY_TIMEOUT_SEC 30 /* a clone takes a millisecond; this is a hang */

typedef struct ZygoteWire {
	uint32_t uid, gid;
	SpawnRlimits rlimits;
	uint8_t private_ipc, private_tmp, read_only_system, hide_processes;
	uint32_t argc, envc, has_cwd;
	int32_t stdio[3]; /* index into the fds, or -1: /dev/null */
	uint32_t n_join;  /* fds[1 .. n_join]: v1 cgroup.procs to write to */
	uint32_t has_cgroup; /* fds[1 + n_join]: the job's cgroup2 directory, for CLONE_INTO_CGROUP */
} ZygoteWire;

typedef struct ZygoteReply {
	int32_t pid; /* or -errno */
	int32_t reserved;
} ZygoteReply;

struct Zygote {
	pid_t pid;
	int pidfd, sock;
	char sha256[65];
	int netns_fd; /* the daemon's fd number it was started with: one netns per fd */
};

bool zygote_can_serve(const SpawnRequest *r)
{
	size_t size = sizeof(ZygoteWire), n = 0;
	const int *v1;

	if (!r->seccomp || r->seccomp->variant.len == 0 || !r->cgroup || r->private_network ||
	    r->landlock_fd >= 0 || r->n_keep_fds > 0 || cgroup_join_v1_fds(r->cgroup, &v1) > 8)
		return false;
	for (char *const *a = r->argv; *a; a++, n++)
		size += strlen(*a) + 1;
	for (char *const *e = r->envp; *e; e++, n++)
		size += strlen(*e) + 1;
	size += r->working_directory ? strlen(r->working_directory) + 1 : 0;
	return size <= MSG_MAX && n + 2 <= STRINGS_MAX;
}

bool zygote_matches(const Zygote *z, const SpawnRequest *r)
{
	return r->seccomp && strcmp(z->sha256, r->seccomp->sha256) == 0 && z->netns_fd == r->netns_fd;
}

bool zygote_alive(const Zygote *z)
{
	struct pollfd p = { .fd = z->pidfd, .events = POLLIN };

	return poll(&p, 1, 0) == 0;
}

pid_t zygote_pid(const Zygote *z)
{
	return z->pid;
}

/* ---- The zygote's side: raw system calls only (a fork of a multithreaded process) ---------- */

typedef struct ZygoteChild {
	SpawnRequest r;
	SpawnChild c;
	int keep[1];
} ZygoteChild;

static ssize_t send_fds(int sock, const void *buf, size_t size, const int *fds, size_t n_fds)
{
	char control[CMSG_SPACE(FDS_MAX * sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = size };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (n_fds > 0) {
		struct cmsghdr *c;

		m.msg_control = control;
		m.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, n_fds * sizeof(int));
	}
	do
		n = syscall(SYS_sendmsg, sock, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* Up to FDS_MAX fds into fds (*n_fds); O_CLOEXEC. */
static ssize_t recv_fds(int sock, void *buf, size_t size, int *fds, size_t *n_fds)
{
	char control[CMSG_SPACE(FDS_MAX * sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			    .msg_controllen = sizeof(control) };
	ssize_t n;

	*n_fds = 0;
	do
		n = syscall(SYS_recvmsg, sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(fds + *n_fds, CMSG_DATA(c), k * sizeof(int));
			*n_fds += k;
		}
	if (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		return -EMSGSIZE;
	return n;
}

/* Splits n bytes of NUL-terminated strings into out[count] + NULL; the next string after. */
static const char *split_strings(const char *p, const char *end, uint32_t count, char **out)
{
	for (uint32_t i = 0; i < count; i++) {
		const char *z = memchr(p, 0, (size_t)(end - p));
		if (!z)
			return NULL;
		out[i] = (char *)p;
		p = z + 1;
	}
	out[count] = NULL;
	return p;
}

/* One request: its reply's pid (or -errno) and the pidfd. */
static int32_t serve(const SpawnRequest *proto, const SeccompProgram *prog, char *buf, size_t n, char **strings,
		     uint8_t *stack, const int *fds, size_t n_fds, int *ret_pidfd)
{
	ZygoteWire w;
	ZygoteChild z = { .r = *proto };
	const char *p, *end = buf + n;
	char **argv = strings, **envp;
	struct clone_args a = {
		.flags = CLONE_PARENT | CLONE_PIDFD | CLONE_CLEAR_SIGHAND,
		.pidfd = (uint64_t)(uintptr_t)ret_pidfd,
		/* 0: with CLONE_PARENT the kernel takes the zygote's own (SIGCHLD, to the daemon). */
		.exit_signal = 0,
	};
	size_t first_stdio;

	if (n < sizeof(w) || n_fds < 1)
		return -EBADMSG;
	memcpy(&w, buf, sizeof(w));
	first_stdio = 1 + (size_t)w.n_join + (w.has_cgroup ? 1 : 0);
	if (w.argc < 1 || (size_t)w.argc + w.envc + 2 > STRINGS_MAX || first_stdio > n_fds)
		return -EBADMSG;
	for (int i = 0; i < 3; i++)
		if (w.stdio[i] >= (int32_t)n_fds || (w.stdio[i] >= 0 && (size_t)w.stdio[i] < first_stdio))
			return -EBADMSG;
	envp = strings + w.argc + 1;
	p = split_strings(buf + sizeof(w), end, w.argc, argv);
	if (p)
		p = split_strings(p, end, w.envc, envp);
	if (!p || (w.has_cwd && !memchr(p, 0, (size_t)(end - p))))
		return -EBADMSG;

	z.r.argv = argv;
	z.r.envp = envp;
	z.r.working_directory = w.has_cwd ? p : NULL;
	z.r.uid = w.uid;
	z.r.gid = w.gid;
	z.r.rlimits = w.rlimits;
	z.r.private_ipc = w.private_ipc;
	z.r.private_tmp = w.private_tmp;
	z.r.read_only_system = w.read_only_system;
	z.r.hide_processes = w.hide_processes;
	z.r.stdin_fd = w.stdio[0] >= 0 ? fds[w.stdio[0]] : -1;
	z.r.stdout_fd = w.stdio[1] >= 0 ? fds[w.stdio[1]] : -1;
	z.r.stderr_fd = w.stdio[2] >= 0 ? fds[w.stdio[2]] : -1;
	z.keep[0] = fds[0];
	z.c = (SpawnChild){
		.r = &z.r,
		.error_fd = fds[0],
		.netns_fd = -1, /* the zygote's own */
		.landlock_fd = -1,
		.keep = z.keep,
		.n_keep = 1,
		.mount_ns = w.private_tmp || w.read_only_system || w.hide_processes,
		.join_fds = fds + 1,
		.n_join_fds = w.n_join,
		.filter = prog->dropped.len > 0 ? &prog->dropped : NULL,
		.zygote = true,
	};
	if (w.has_cgroup) {
		a.flags |= CLONE_INTO_CGROUP;
		a.cgroup = (uint64_t)fds[1 + w.n_join];
	}
	/* Vfork-style: returns once the child has exec'd or exited, the stack is free again. */
	return (int32_t)spawn_clone3_run(&a, &z.c, stack, STACK_SIZE);
}

static _Noreturn void zygote_main(int sock, const SpawnRequest *proto, pid_t parent)
{
	const SeccompProgram *prog = proto->seccomp;
	ZygoteReply rep = { 0 };
	uint64_t none = 0;
	uint8_t *stack, *area;
	int e = 0, null_fd;

	/* With the spawner thread, not later: else an orphan zygote could outlive the daemon. */
	if (syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || syscall(SYS_getppid) != parent)
		syscall(SYS_exit_group, 1);
	(void)syscall(SYS_prctl, PR_SET_NAME, "vx11d-zygote", 0, 0, 0);
	(void)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(none));
	null_fd = (int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3; fd++)
		if (null_fd < 0 || (null_fd != fd && syscall(SYS_dup3, null_fd, fd, 0) < 0))
			e = e ?: errno ?: EBADF;
	/* Nothing of the daemon's but this socket (and the netns, until joined): the fds between. */
	{
		int a = sock, b = proto->netns_fd;
		if (b >= 0 && b < a) {
			int t = a;
			a = b;
			b = t;
		}
		(void)syscall(SYS_close_range, 3, (unsigned)a - 1, 0);
		if (b > a)
			(void)syscall(SYS_close_range, (unsigned)a + 1, (unsigned)b - 1, 0);
		(void)syscall(SYS_close_range, (unsigned)(b > a ? b : a) + 1, ~0U, 0);
	}
	if (!e && proto->netns_fd >= 0 && syscall(SYS_setns, proto->netns_fd, CLONE_NEWNET) < 0)
		e = errno;
	if (proto->netns_fd >= 0)
		(void)syscall(SYS_close, proto->netns_fd);
	stack = (void *)syscall(SYS_mmap, NULL, STACK_SIZE + MSG_MAX + STRINGS_MAX * sizeof(char *),
				PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (!e && stack == MAP_FAILED)
		e = errno;
	area = stack + STACK_SIZE;
	if (!e && syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		e = errno;
	if (!e)
		e = -seccomp_fprog_load(&prog->variant);
	rep.pid = -e;
	(void)send_fds(sock, &rep, sizeof(rep), NULL, 0);
	if (e)
		syscall(SYS_exit_group, 1);

	for (;;) {
		int fds[FDS_MAX], pidfd = -1;
		size_t n_fds = 0;
		ssize_t n = recv_fds(sock, area, MSG_MAX, fds, &n_fds);

		if (n == 0 || n == -ECONNRESET)
			syscall(SYS_exit_group, 0); /* the daemon closed it */
		rep.pid = n < 0 ? (int32_t)n
				: serve(proto, prog, (char *)area, (size_t)n, (char **)(area + MSG_MAX), stack,
					fds, n_fds, &pidfd);
		for (size_t j = 0; j < n_fds; j++)
			(void)syscall(SYS_close, fds[j]);
		(void)send_fds(sock, &rep, sizeof(rep), &pidfd, pidfd >= 0 ? 1 : 0);
		if (pidfd >= 0)
			(void)syscall(SYS_close, pidfd);
	}
}

/* ---- The spawner's side ----------------------------------------------------------------------- */

static int zy_error(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int zy_error(char **ret_error, int r, const char *fmt, ...)
{
	va_list ap;

	if (!ret_error)
		return r;
	free(*ret_error);
	va_start(ap, fmt);
	if (vasprintf(ret_error, fmt, ap) < 0)
		*ret_error = NULL;
	va_end(ap);
	return r;
}

int zygote_start(const SpawnRequest *r, Zygote **ret, char **ret_error)
{
	_cleanup_close_ int mine = -1, theirs = -1, pidfd = -1;
	struct clone_args a = { .flags = CLONE_PIDFD | CLONE_CLEAR_SIGHAND, .exit_signal = SIGCHLD };
	SpawnRequest proto;
	ZygoteReply rep = { 0 };
	int sv[2], fds[FDS_MAX];
	size_t n_fds = 0;
	pid_t self = getpid();
	Zygote *z;
	ssize_t n;
	long pid;

	if (ret_error)
		*ret_error = NULL;
	if (!r->seccomp || r->seccomp->variant.len == 0)
		return zy_error(ret_error, -EINVAL, "zygote: no split of the seccomp profile");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return zy_error(ret_error, -errno, "zygote: socketpair: %m");
	mine = sv[0];
	theirs = sv[1];
	/* What every request shares: the filter and the namespace. */
	spawn_request_init(&proto);
	proto.seccomp = r->seccomp;
	proto.netns_fd = r->netns_fd;
	a.pidfd = (uint64_t)(uintptr_t)&pidfd;
	pid = syscall(SYS_clone3, &a, sizeof(a));
	if (pid < 0)
		return zy_error(ret_error, -errno, "zygote: clone3: %m");
	if (pid == 0) {
		(void)syscall(SYS_close, mine);
		zygote_main(theirs, &proto, self);
	}
	theirs = safe_close(theirs);
	/* A zygote that stops answering (SIGSTOP, a hang) must not hold the spawner for ever. */
	(void)setsockopt(mine, SOL_SOCKET, SO_RCVTIMEO,
			 &(struct timeval){ .tv_sec = ZYGOTE_REPLY_TIMEOUT_SEC }, sizeof(struct timeval));
	n = recv_fds(mine, &rep, sizeof(rep), fds, &n_fds);
	if (n != (ssize_t)sizeof(rep) || rep.pid < 0) {
		int e = n < 0 ? (int)n : rep.pid < 0 ? rep.pid : -EIO;
		siginfo_t si;
		(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
			;
		return zy_error(ret_error, e, "zygote: %s", strerror(-e));
	}
	z = calloc(1, sizeof(*z));
	if (!z)
		return zy_error(ret_error, -ENOMEM, "zygote: %s", strerror(ENOMEM));
	z->pid = (pid_t)pid;
	z->pidfd = TAKE_FD(pidfd);
	z->sock = TAKE_FD(mine);
	z->netns_fd = r->netns_fd;
	memcpy(z->sha256, r->seccomp->sha256, sizeof(z->sha256));
	*ret = z;
	return 0;
}

Zygote *zygote_free(Zygote *z)
{
	siginfo_t si;

	if (!z)
		return NULL;
	safe_close(z->sock);
	(void)syscall(SYS_pidfd_send_signal, z->pidfd, SIGKILL, NULL, 0);
	while (waitid(P_PIDFD, (id_t)z->pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
	safe_close(z->pidfd);
	free(z);
	return NULL;
}

/* The request as one message; *ret and *ret_size, or -errno. */
static int encode(const SpawnRequest *r, const int32_t stdio[3], uint32_t n_join, bool has_cgroup, char **ret,
		  size_t *ret_size)
{
	ZygoteWire w = {
		.uid = r->uid, .gid = r->gid, .rlimits = r->rlimits,
		.private_ipc = r->private_ipc, .private_tmp = r->private_tmp,
		.read_only_system = r->read_only_system, .hide_processes = r->hide_processes,
		.has_cwd = r->working_directory != NULL, .n_join = n_join, .has_cgroup = has_cgroup,
		.stdio = { stdio[0], stdio[1], stdio[2] },
	};
	size_t size = sizeof(w), at;
	char *buf;

	for (char *const *s = r->argv; *s; s++, w.argc++)
		size += strlen(*s) + 1;
	for (char *const *s = r->envp; *s; s++, w.envc++)
		size += strlen(*s) + 1;
	size += r->working_directory ? strlen(r->working_directory) + 1 : 0;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, &w, sizeof(w));
	at = sizeof(w);
	for (char *const *s = r->argv; *s; s++)
		at += (size_t)(stpcpy(buf + at, *s) - (buf + at)) + 1;
	for (char *const *s = r->envp; *s; s++)
		at += (size_t)(stpcpy(buf + at, *s) - (buf + at)) + 1;
	if (r->working_directory)
		strcpy(buf + at, r->working_directory);
	*ret = buf;
	*ret_size = size;
	return 0;
}

/* The child's pidfd from the pid in its report: it is our child (CLONE_PARENT), unreaped, so
 * the pid cannot have been reused. */
static int pidfd_of_child(pid_t pid)
{
	long fd = pid > 0 ? syscall(SYS_pidfd_open, pid, 0) : -1;

	return fd < 0 ? -1 : (int)fd;
}

int zygote_spawn(Zygote *z, const SpawnRequest *r, pid_t *ret_pid, int *ret_pidfd, char **ret_error,
		 SpawnStep *ret_step, bool *ret_lost)
{
	_cleanup_close_ int err_r = -1, err_w = -1, pidfd = -1;
	_cleanup_free_ char *msg = NULL;
	int fds[FDS_MAX], got_fds[FDS_MAX], p[2];
	int32_t stdio[3] = { -1, -1, -1 };
	const int src[3] = { r->stdin_fd, r->stdout_fd, r->stderr_fd };
	const int *v1;
	size_t n_fds = 0, n_v1, size, got = 0;
	ZygoteReply rep = { 0 };
	SpawnReport sr = { 0 };
	bool exec_reached = false, replied, hung;
	pid_t pid;
	ssize_t n;

	*ret_lost = false;
	if (ret_error)
		*ret_error = NULL;
	if (ret_step)
		*ret_step = SPAWN_STEP_NONE;
	/* The direct path's checks (never root, an absolute argv[0], ...): the
	 * last word before a daughter runs is the same on both paths. */
	int k = spawn_request_validate(r, ret_error);
	if (k < 0)
		return k;
	if (pipe2(p, O_CLOEXEC) < 0)
		return zy_error(ret_error, -errno, "pipe2: %m");
	err_r = p[0];
	err_w = p[1];
	fds[n_fds++] = err_w;
	n_v1 = cgroup_join_v1_fds(r->cgroup, &v1);
	for (size_t j = 0; j < n_v1; j++)
		fds[n_fds++] = v1[j];
	/* The zygote clones into it: it never writes the unified tree's cgroup.procs. */
	if (cgroup_dir_fd(r->cgroup) >= 0)
		fds[n_fds++] = cgroup_dir_fd(r->cgroup);
	for (int i = 0; i < 3; i++)
		if (src[i] >= 0) {
			stdio[i] = (int32_t)n_fds;
			fds[n_fds++] = src[i];
		}
	if (encode(r, stdio, (uint32_t)n_v1, cgroup_dir_fd(r->cgroup) >= 0, &msg, &size) < 0)
		return zy_error(ret_error, -ENOMEM, "%s", strerror(ENOMEM));

	n = send_fds(z->sock, msg, size, fds, n_fds);
	err_w = safe_close(err_w);
	if (n < 0) {
		*ret_lost = true;
		return zy_error(ret_error, (int)n, "zygote %d: sendmsg: %s", (int)z->pid, strerror((int)-n));
	}
	/* Room for as many as a message can carry: one is expected, the rest closed. */
	n = recv_fds(z->sock, &rep, sizeof(rep), got_fds, &got);
	for (size_t i = 0; i < got; i++) {
		if (i == 0)
			pidfd = got_fds[0];
		else
			(void)safe_close(got_fds[i]);
	}
	replied = n == (ssize_t)sizeof(rep);
	hung = n == -EAGAIN;
	if (hung)
		/* No answer in time: it is ended, and then this is as if it had died. */
		(void)syscall(SYS_pidfd_send_signal, z->pidfd, SIGKILL, NULL, 0);
	if (replied && rep.pid < 0) {
		/* It could not clone (a kernel without CLONE_INTO_CGROUP, a variant denying clone3):
		 * no child, and never one outside its cgroup. */
		*ret_lost = true;
		return zy_error(ret_error, rep.pid, "zygote %d: clone: %s", (int)z->pid, strerror(-rep.pid));
	}
	if (replied && rep.pid == 0) {
		/* Not a child's pid (0 would name our own process group below). */
		*ret_lost = true;
		return zy_error(ret_error, -EBADMSG, "zygote %d: a reply without a pid", (int)z->pid);
	}
	if (replied && got != 1 && (pidfd = pidfd_of_child(rep.pid)) < 0) {
		/* A child runs and we cannot hold it: end it (ours, unreaped: the pid is its own). */
		(void)kill(rep.pid, SIGKILL);
		(void)waitpid(rep.pid, NULL, 0);
		return zy_error(ret_error, -EBADMSG, "zygote %d: no pidfd for its child %d", (int)z->pid,
				(int)rep.pid);
	}
	/* Replied or not (it died), the child's reports say what it did, and carry its pid. */
	for (;;) {
		n = read(err_r, &sr, sizeof(sr));
		if (n < 0 && errno == EINTR)
			continue;
		if (n == (ssize_t)sizeof(sr) && sr.step == SPAWN_STEP_EXECVE && sr.error == 0) {
			exec_reached = true;
			if (!replied)
				rep.pid = sr.pid;
			continue;
		}
		break;
	}
	if (!replied) {
		if (n == (ssize_t)sizeof(sr))
			rep.pid = sr.pid;
		if (rep.pid <= 0 || (pidfd = pidfd_of_child(rep.pid)) < 0) {
			/* No report: it died before cloning, nothing runs. */
			*ret_lost = true;
			if (hung)
				return zy_error(ret_error, -ETIMEDOUT, "zygote %d: no answer in %d s, killed", (int)z->pid,
						ZYGOTE_REPLY_TIMEOUT_SEC);
			return zy_error(ret_error, -ECONNRESET, "zygote %d: died before replying", (int)z->pid);
		}
	}
	pid = rep.pid;
	if (n == 0 && exec_reached) {
		*ret_pid = pid;
		*ret_pidfd = TAKE_FD(pidfd);
		return 0;
	}

	siginfo_t si = { 0 };
	while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
	if (n == 0) {
		if (si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED)
			return zy_error(ret_error, -ECANCELED, "killed by SIG%s before execve",
					sigabbrev_np(si.si_status) ?: "?");
		return zy_error(ret_error, -ECANCELED, "exited with %d before execve", si.si_status);
	}
	if (n != (ssize_t)sizeof(sr))
		return zy_error(ret_error, n < 0 ? -errno : -EIO, "reading the child's report: %s",
				n < 0 ? strerror(errno) : "short read");
	if (ret_step && sr.step > SPAWN_STEP_NONE && sr.step < _SPAWN_STEP_MAX)
		*ret_step = (SpawnStep)sr.step;
	return spawn_report_error(r, &sr, ret_error);
}
