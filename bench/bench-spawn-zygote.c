/* SPDX-License-Identifier: MIT */
/*
 * Rows 2z and 2zi of bench-spawn: a zygote prototype (issue 12), to decide whether
 * the daemon should spawn through one. What it tries to save: attaching the
 * seccomp filter in every child (the kernel builds the filter's per-syscall
 * action cache per ABI at each attach; inherited through clone, the filter
 * is only referenced).
 *
 * The zygote is forked once per worker at setup. It joins the shared
 * loopback netns (and, for 2z, an IPC namespace of its own), sets no_new_privs,
 * attaches the default filter, and from then on only serves requests on a
 * socketpair: {uid, rlimits} plus fds (the error pipe's write end, the job's
 * cgroup2 and v1 procs files). It clone()s vfork-style with CLONE_PARENT |
 * CLONE_PIDFD, so the requester (the bench process, standing for vx11d) is
 * the daughter's parent and reaps it, and the pidfd goes back by
 * SCM_RIGHTS. The child writes "0" to the procs files (no clone3 under the
 * filter, so no CLONE_INTO_CGROUP: it is born in the zygote's cgroup and
 * moved), then runs spawn_child_run()'s steps without namespaces or seccomp.
 *
 * Row 2z's daughters share the zygote's IPC namespace (row 2 gives each its
 * own); row 2zi's zygote clones each with CLONE_NEWIPC, which needs the
 * default profile minus its rule against clone(CLONE_NEWIPC): as shipped,
 * the filter denies unshare, setns, mount, clone3 and clone with namespace
 * flags to the zygote too, so a zygote under it cannot give its daughters
 * namespaces of their own (README.md, "The zygote").
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "bench-spawn.h"
#include "sandbox/cgroup-internal.h" /* a prototype: the job's v1 procs fds */
#include "sandbox/spawn.h"
#include "util.h"

#define ZYGOTES     2 /* one per worker, as one per spawning thread */
#define MAX_FDS     (2 + _V1_MAX)
#define STACK_SIZE  (256u * 1024u)

typedef struct ZygoteRequest {
	uint32_t uid, gid;
	uint64_t nofile, fsize;
	char path[256];
} ZygoteRequest;

typedef struct ZygoteReply {
	int32_t pid; /* or -errno */
} ZygoteReply;

typedef struct ZygoteChild {
	SpawnChild child;
	const int *procs;
	size_t n_procs;
} ZygoteChild;

static struct {
	pid_t pid;
	int sock;
} zygotes[2][ZYGOTES] = {{{0, -1}, {0, -1}}, {{0, -1}, {0, -1}}};

/* fds: sent (n_fds > 0) or received (up to *n_fds). */
static ssize_t msg_io(int sock, bool send, void *buf, size_t size, int *fds, size_t *n_fds)
{
	char control[CMSG_SPACE(MAX_FDS * sizeof(int))] = {0};
	struct iovec iov = {.iov_base = buf, .iov_len = size};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control};
	struct cmsghdr *c;
	ssize_t n;

	if (send) {
		m.msg_controllen = *n_fds ? CMSG_SPACE(*n_fds * sizeof(int)) : 0;
		if (*n_fds) {
			c = CMSG_FIRSTHDR(&m);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(*n_fds * sizeof(int));
			memcpy(CMSG_DATA(c), fds, *n_fds * sizeof(int));
		}
		do
			n = sendmsg(sock, &m, MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		return n < 0 ? -errno : n;
	}
	m.msg_controllen = sizeof(control);
	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	*n_fds = 0;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			memcpy(fds + *n_fds, CMSG_DATA(c), k * sizeof(int));
			*n_fds += k;
		}
	return n;
}

/* In the zygote's vfork child: into the job's cgroups, then the usual steps. */
static int zygote_child(void *arg)
{
	const ZygoteChild *z = arg;

	for (size_t k = 0; k < z->n_procs; k++)
		if (syscall(SYS_write, z->procs[k], "0", 1) < 0) {
			SpawnReport rep = {.step = SPAWN_STEP_CGROUP_V1, .error = errno};
			(void)syscall(SYS_write, z->child.error_fd, &rep, sizeof(rep));
			return 127;
		}
	return spawn_child_run((void *)&z->child);
}

static __attribute__((noreturn)) void zygote_main(int sock, bool ipc_each, const SeccompProgram *prog,
                                                  int netns_fd)
{
	char *const envp[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", NULL};
	ZygoteReply rep = {0};
	uint8_t *stack;
	size_t n;
	int e = 0;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* Everything a daughter cannot do for itself under the filter, once, for all of them. */
	if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0)
		e = errno;
	if (!e && !ipc_each && unshare(CLONE_NEWIPC) < 0)
		e = errno;
	if (!e && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		e = errno;
	if (!e)
		e = -seccomp_program_load(prog);
	stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (!e && stack == MAP_FAILED)
		e = errno;
	rep.pid = -e;
	n = 0;
	(void)msg_io(sock, true, &rep, sizeof(rep), NULL, &n);
	if (e)
		_exit(1);

	for (;;) {
		ZygoteRequest q;
		int fds[MAX_FDS], pidfd = -1;
		char *argv[2] = {q.path, NULL};
		SpawnRequest r;
		ssize_t k = msg_io(sock, false, &q, sizeof(q), fds, &n);

		if (k <= 0)
			_exit(0);
		q.path[sizeof(q.path) - 1] = 0;
		if (k != sizeof(q) || n < 1) {
			rep.pid = -EBADMSG;
			goto reply;
		}
		spawn_request_init(&r);
		r.argv = argv;
		r.envp = envp;
		r.uid = q.uid;
		r.gid = q.gid;
		r.rlimits.nofile = q.nofile;
		r.rlimits.fsize = q.fsize;
		r.private_ipc = false; /* the zygote's, shared; or made at clone */
		ZygoteChild z = {
		    .child = {.r = &r, .error_fd = fds[0], .netns_fd = -1, .landlock_fd = -1, .keep = fds,
		              .n_keep = 1},
		    .procs = fds + 1,
		    .n_procs = n - 1,
		};
		/* Returns once the child has exec'd or failed: the stack is free again. */
		long pid = clone(zygote_child, stack + STACK_SIZE,
		                 CLONE_VM | CLONE_VFORK | CLONE_PARENT | CLONE_PIDFD | (ipc_each ? CLONE_NEWIPC : 0),
		                 &z, &pidfd);
		rep.pid = pid < 0 ? -errno : (int32_t)pid;
	reply:
		for (size_t j = 0; j < n; j++)
			close(fds[j]);
		n = pidfd >= 0 ? 1 : 0;
		(void)msg_io(sock, true, &rep, sizeof(rep), &pidfd, &n);
		if (pidfd >= 0)
			close(pidfd);
	}
}

int zygote_setup(bool ipc_each, const SeccompProgram *prog, int netns_fd, char *why, size_t size)
{
	for (unsigned i = 0; i < ZYGOTES; i++) {
		ZygoteReply rep = {0};
		size_t n = 0;
		int sv[2];
		pid_t pid;

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			return snprintf(why, size, "skipped (socketpair: %m)"), -errno;
		pid = fork();
		if (pid < 0)
			return snprintf(why, size, "skipped (fork: %m)"), -errno;
		if (pid == 0) {
			close(sv[0]);
			for (unsigned t = 0; t < 2; t++) /* else the others never see EOF */
				for (unsigned j = 0; j < ZYGOTES; j++)
					if (zygotes[t][j].sock >= 0)
						close(zygotes[t][j].sock);
			zygote_main(sv[1], ipc_each, prog, netns_fd);
		}
		close(sv[1]);
		zygotes[ipc_each][i].pid = pid;
		zygotes[ipc_each][i].sock = sv[0];
		if (msg_io(sv[0], false, &rep, sizeof(rep), NULL, &n) != sizeof(rep) || rep.pid < 0)
			return snprintf(why, size, "skipped (zygote: %s)", strerror(rep.pid < 0 ? -rep.pid : EIO)),
			       -EIO;
	}
	return 0;
}

void zygote_done(void)
{
	for (unsigned t = 0; t < 2; t++)
		for (unsigned i = 0; i < ZYGOTES; i++) {
			if (zygotes[t][i].sock >= 0)
				close(zygotes[t][i].sock); /* EOF: it exits */
			if (zygotes[t][i].pid > 0)
				(void)waitpid(zygotes[t][i].pid, NULL, 0);
			zygotes[t][i].sock = -1;
			zygotes[t][i].pid = 0;
		}
}

int zygote_spawn(bool ipc_each, const char *path, uid_t uid, uint64_t nofile, uint64_t fsize, const Cgroup *cg,
                 unsigned k, int *ret_pidfd, char **ret_error)
{
	ZygoteRequest q = {.uid = uid, .gid = uid, .nofile = nofile, .fsize = fsize};
	ZygoteReply rep = {0};
	int fds[MAX_FDS], p[2], pidfd = -1, r = 0;
	size_t n = 0, got = 0;
	SpawnReport sr;
	bool exec_reached = false;
	ssize_t m;

	snprintf(q.path, sizeof(q.path), "%s", path);
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fds[n++] = p[1];
	/* A real zygote would keep this open with the job's cgroup. */
	if (cg->dir_fd >= 0 && (fds[n++] = openat(cg->dir_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC)) < 0) {
		r = -errno;
		n--;
		goto out;
	}
	for (size_t j = 0; j < cg->n_join; j++)
		fds[n++] = cg->join_fd[j];
	m = msg_io(zygotes[ipc_each][k % ZYGOTES].sock, true, &q, sizeof(q), fds, &n);
	if (m >= 0)
		m = msg_io(zygotes[ipc_each][k % ZYGOTES].sock, false, &rep, sizeof(rep), &pidfd, &got);
	close(p[1]);
	if (cg->dir_fd >= 0)
		close(fds[1]);
	if (m < 0 || rep.pid < 0 || got != 1) {
		r = m < 0 ? (int)m : rep.pid < 0 ? rep.pid : -EIO;
		if (ret_error)
			*ret_error = bench_strdupf("zygote: %s", strerror(-r));
		close(p[0]);
		return r;
	}
	for (;;) {
		m = read(p[0], &sr, sizeof(sr));
		if (m < 0 && errno == EINTR)
			continue;
		if (m == (ssize_t)sizeof(sr) && sr.step == SPAWN_STEP_EXECVE && sr.error == 0) {
			exec_reached = true;
			continue;
		}
		break;
	}
	close(p[0]);
	if (m == 0 && exec_reached) {
		*ret_pidfd = pidfd;
		return 0;
	}
	siginfo_t si;
	(void)waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED);
	close(pidfd);
	r = m == (ssize_t)sizeof(sr) && sr.error > 0 ? -sr.error : -ECANCELED;
	if (ret_error)
		*ret_error = bench_strdupf("zygote's child: step %d: %s", m == (ssize_t)sizeof(sr) ? sr.step : -1,
		                           strerror(-r));
	return r;
out:
	close(p[0]);
	close(p[1]);
	return r;
}
