/* SPDX-License-Identifier: MIT */
/*
 * One network namespace for every daughter that may not use the network: it
 * has a loopback interface (up) and nothing else. Creating a namespace is
 * slow (perf/FLOORS.md: +90% on a spawn), joining one is cheap, so the daemon
 * makes it once at start-up, keeps the fd, and each daughter setns()'s into it
 * (SpawnRequest.netns_fd). Daughters in it reach each other over lo and
 * abstract unix sockets, and nothing else; path-bound unix sockets (the
 * daemon's, NOTIFY_SOCKET) work as they go through the file system.
 */
#pragma once

#include <stdbool.h>

/*
 * Returns an O_CLOEXEC fd on such a namespace in *ret_fd: the daemon's own if
 * it is one already (see below), else a new one (needs CAP_SYS_ADMIN and
 * CAP_NET_ADMIN), which lives as long as that fd (and any daughter in it)
 * does. Returns 0 or -errno; the calling thread's own namespace is not
 * touched.
 */
int netns_loopback_open(int *ret_fd);

/* Is the process's own network namespace loopback-only, with lo up (as under
 * a unit with PrivateNetwork=yes)? Then daughters get no host network at all. */
bool netns_self_is_loopback_only(void);
