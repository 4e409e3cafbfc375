/* SPDX-License-Identifier: MIT */
/*
 * The fence guard (FLEET-DESIGN.md 4.4): on a shared database, daughters
 * must not outlive their node's right to run them, or a task adopted by
 * another node after the lease ended would run twice at once. A daemon
 * killed with -9, stopped or hung cannot kill anything, and its daughters
 * (own cgroups, own sessions) keep running. So a fleet node forks this small
 * process at start. It holds the node's job cgroup roots and the read end of
 * a pipe whose write end only the daemon has (close-on-exec; the zygote
 * closes what it does not know). The daemon writes the fence deadline
 * (CLOCK_MONOTONIC usec, one clock for both processes) after each renewal of
 * its lease. On EOF (the daemon is gone, however it died) or when the
 * deadline passes unrenewed, the guard kills every process under the roots
 * (cgroup_manager_kill_all(): cgroup.kill on v2, SIGKILL rounds on v1, so it
 * works on hybrid and legacy hosts as on unified ones). EOF ends it; past a
 * deadline it sweeps again every 100 ms until the next one comes (a spawn
 * the daemon had under way must not outlive the fence). A deadline of 0 is
 * a clean stop: the daemon has stopped its daughters itself, the guard exits.
 * It is in a session of its own and ignores the signals meant for the daemon
 * (a `pkill -HUP vx11d` matches "vx11d-fence" too): only its pipe ends it.
 *
 * Only in fleet mode: one daemon on its own SQLite database lets daughters
 * survive its kill -9 and settles them when it is back (instances.bats).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner-internal.h"

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Every descriptor but keep[] goes: the guard must not hold the daemon's
 * database session, its socket or its state directory's lock past it. */
static void close_all_but(int *keep, size_t n)
{
	int from = 3;

	qsort(keep, n, sizeof *keep, cmp_int);
	for (size_t i = 0; i < n; i++) {
		if (keep[i] > from)
			(void)syscall(SYS_close_range, (unsigned)from, (unsigned)keep[i] - 1, 0);
		if (keep[i] + 1 > from)
			from = keep[i] + 1;
	}
	(void)syscall(SYS_close_range, (unsigned)from, ~0U, 0);
}

__attribute__((noreturn)) static void guard_main(const CgroupManager *m, int fd)
{
	int keep[8];
	size_t n = cgroup_manager_fds(m, keep, ELEMENTSOF(keep) - 1);
	uint64_t deadline = 0;
	bool fenced = false;
	sigset_t none;

	keep[n++] = fd;
	close_all_but(keep, n);
	(void)prctl(PR_SET_NAME, "vx11d-fence");
	(void)setsid();
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD && sig != SIGSEGV && sig != SIGBUS &&
		    sig != SIGFPE && sig != SIGILL && sig != SIGABRT && sig != SIGCONT)
			signal(sig, SIG_IGN);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = now_monotonic_usec(), value;
		int timeout = -1, k;
		ssize_t got;

		if (fenced)
			timeout = 100;
		else if (deadline)
			timeout = deadline > now ? (int)MIN((deadline - now + 999) / 1000, (uint64_t)INT_MAX) : 0;
		k = poll(&p, 1, timeout);
		if (k < 0 && errno == EINTR)
			continue;
		if (k == 0) {
			/* Not renewed in time: the node's right to run them is over. */
			(void)cgroup_manager_kill_all(m);
			fenced = true;
			continue;
		}
		got = read(fd, &value, sizeof value);
		if (got < 0 && errno == EINTR)
			continue;
		if (got == sizeof value && value == 0)
			_exit(0);
		if (got == sizeof value) {
			deadline = value;
			fenced = false;
			continue;
		}
		/* EOF or an error: the daemon is gone. */
		(void)cgroup_manager_kill_all(m);
		_exit(0);
	}
}

int fence_guard_start(Runner *r)
{
	int p[2];
	pid_t pid;

	if (!r->cgroups)
		return 0; /* no job cgroups: no daughter runs */
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int k = -errno;
		close(p[0]);
		close(p[1]);
		return k;
	}
	if (pid == 0) {
		close(p[1]);
		guard_main(r->cgroups, p[0]);
	}
	close(p[0]);
	(void)fcntl(p[1], F_SETFL, O_NONBLOCK);
	r->guard_pid = pid;
	r->guard_fd = p[1];
	return 0;
}

void fence_guard_deadline(Runner *r, uint64_t monotonic_usec)
{
	/* A full pipe (a guard that stopped reading) must not block the loop. */
	if (r->guard_fd >= 0 && write(r->guard_fd, &monotonic_usec, sizeof monotonic_usec) < 0 && errno != EAGAIN)
		log_warning("fence guard: %m");
}

void fence_guard_stop(Runner *r)
{
	if (r->guard_fd < 0)
		return;
	fence_guard_deadline(r, 0);
	r->guard_fd = safe_close(r->guard_fd);
	if (r->guard_pid > 0)
		while (waitpid(r->guard_pid, NULL, 0) < 0 && errno == EINTR)
			;
	r->guard_pid = 0;
}
