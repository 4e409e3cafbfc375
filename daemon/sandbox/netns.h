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

/*
 * Creates the namespace (needs CAP_SYS_ADMIN) and returns an O_CLOEXEC fd on
 * it in *ret_fd; it lives as long as that fd (and any daughter in it) does.
 * Returns 0 or -errno; the calling thread's own namespace is not touched.
 */
int netns_loopback_open(int *ret_fd);
