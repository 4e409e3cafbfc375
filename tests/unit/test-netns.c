/* SPDX-License-Identifier: MIT */
/*
 * sandbox/netns.c: the loopback-only namespace daughters without network
 * join. Made anew where the daemon's own namespace has more than lo; where it
 * is loopback-only already (a unit with PrivateNetwork=yes), that very one,
 * with no CAP_NET_ADMIN needed. Each case runs in a forked child that
 * unshares a namespace of its own, so the host's is never touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/netns.h"
#include "tap.h"
#include "util.h"

static ino_t fd_ino(int fd)
{
	struct stat st;

	return fstat(fd, &st) < 0 ? 0 : st.st_ino;
}

static ino_t own_ino(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) < 0 ? 0 : st.st_ino;
}

static int lo_up(void)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { .ifr_name = "lo" };

	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

/* In a child in a fresh namespace: 1 (lo down: not usable as it is), then
 * with lo up the daemon's own namespace is handed out, not a new one. Exit
 * code: 0 when all of that holds, else the step that failed. */
static int child_fresh_namespace(void)
{
	int fd = -1;

	if (unshare(CLONE_NEWNET) < 0)
		return 10;
	if (netns_self_is_loopback_only())
		return 1; /* lo is down in a new namespace */
	if (lo_up() < 0)
		return 11;
	if (!netns_self_is_loopback_only())
		return 2;
	if (netns_loopback_open(&fd) < 0)
		return 3;
	if (fd_ino(fd) != own_ino())
		return 4;
	return 0;
}

static int run_child(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(fn());
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_own_loopback_namespace_is_reused(void)
{
	int r;

	if (geteuid() != 0)
		SKIP("needs root (CLONE_NEWNET)");
	r = run_child(child_fresh_namespace);
	if (r != 0)
		printf("# child failed at step %d\n", r);
	CHECK_INTEQ(r, 0);
}

/* Where the daemon's namespace has more than lo (a host's), a new one is
 * made: not the daemon's, and with lo up. */
static int child_host_like(void)
{
	int fd = -1, s;
	struct ifreq ifr = { .ifr_name = "lo" };

	if (netns_self_is_loopback_only())
		return 20; /* cannot be checked here: see the caller */
	if (netns_loopback_open(&fd) < 0)
		return 1;
	if (fd_ino(fd) == own_ino())
		return 2;
	if (setns(fd, CLONE_NEWNET) < 0)
		return 3;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0 || !(ifr.ifr_flags & IFF_UP))
		return 4;
	return netns_self_is_loopback_only() ? 0 : 5;
}

static void test_other_namespace_gets_a_new_one(void)
{
	int r;

	if (geteuid() != 0)
		SKIP("needs root (CLONE_NEWNET)");
	r = run_child(child_host_like);
	if (r == 20)
		SKIP("this process's network namespace is loopback-only already");
	if (r != 0)
		printf("# child failed at step %d\n", r);
	CHECK_INTEQ(r, 0);
}

int main(void)
{
	TEST(test_own_loopback_namespace_is_reused);
	TEST(test_other_namespace_gets_a_new_one);
	return tap_done();
}
