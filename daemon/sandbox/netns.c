/* SPDX-License-Identifier: MIT */
/*
 * The loopback-only network namespace (netns.h). A namespace belongs to a
 * thread, not to the process, so a short-lived thread unshares a new one,
 * brings lo up in it, opens /proc/thread-self/ns/net and ends: the daemon's
 * own threads never leave the host's namespace, there is no way back to
 * forget, and no process to reap. The fd keeps the namespace alive.
 *
 * Where the daemon itself already lives in such a namespace (a unit with
 * PrivateNetwork=yes), that one is used as it is: nothing to create, and no
 * CAP_NET_ADMIN needed to bring up a loopback that is already up.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netns.h"
#include "util.h"

typedef struct NetnsResult {
	int fd;
	int error; /* -errno */
} NetnsResult;

static int loopback_up(void)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { .ifr_name = "lo" };

	if (s < 0)
		return -errno;
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	if (ifr.ifr_flags & IFF_UP)
		return 0;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return -errno;
	return 0;
}

/* Is our own namespace loopback-only, with lo up? /proc/self/net/dev lists
 * the interfaces of the process's namespace (no netlink needed), after two
 * lines of headers. */
bool netns_self_is_loopback_only(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/net/dev", "re");
	_cleanup_close_ int s = -1;
	struct ifreq ifr = { .ifr_name = "lo" };
	char line[512];
	int n = 0, lo = 0;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char name[IFNAMSIZ + 1];
		if (++n <= 2)
			continue;
		if (sscanf(line, " %16[^:]:", name) != 1)
			return false;
		if (!streq(name, "lo"))
			return false;
		lo++;
	}
	if (lo != 1)
		return false;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return s >= 0 && ioctl(s, SIOCGIFFLAGS, &ifr) >= 0 && (ifr.ifr_flags & IFF_UP);
}

static void *make_netns(void *arg)
{
	NetnsResult *res = arg;
	int r;

	if (unshare(CLONE_NEWNET) < 0) {
		res->error = -errno;
		return NULL;
	}
	r = loopback_up();
	if (r < 0) {
		res->error = r;
		return NULL;
	}
	res->fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (res->fd < 0)
		res->error = -errno;
	return NULL;
}

int netns_loopback_open(int *ret_fd)
{
	NetnsResult res = { .fd = -1, .error = 0 };
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all;
	int r;

	if (netns_self_is_loopback_only()) {
		int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		*ret_fd = fd;
		return 0;
	}

	r = -pthread_attr_init(&attr);
	if (r < 0)
		return r;
	/* No signal of the daemon's may land on the helper thread. */
	sigfillset(&all);
	r = -pthread_attr_setsigmask_np(&attr, &all);
	if (r == 0)
		r = -pthread_create(&t, &attr, make_netns, &res);
	pthread_attr_destroy(&attr);
	if (r < 0)
		return r;
	r = -pthread_join(t, NULL);
	if (r < 0)
		return r;
	if (res.error < 0)
		return res.error;
	*ret_fd = res.fd;
	return 0;
}
