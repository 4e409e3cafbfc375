/* SPDX-License-Identifier: MIT */
/*
 * sync-gate.so: an LD_PRELOAD shim for tests that holds a durable commit's
 * sync in flight. While the file named by $VX11_TEST_SYNC_GATE exists, an
 * fdatasync() of a file whose name ends in "-wal" (SQLite's WAL), made by
 * any thread but the main one (the store's sync thread, the checkpoint
 * thread), waits for the file to go (at most 60 s), after creating
 * "$VX11_TEST_SYNC_GATE.held" so the test knows a sync is being held. The
 * main thread is let through: SQLite syncs the WAL header there itself on
 * the first commit after the WAL restarts. Nothing else changes: the sync
 * itself is the real one.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int is_wal(int fd)
{
	char link[64], path[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof path - 1);
	if (n < 4)
		return 0;
	path[n] = '\0';
	return strcmp(path + n - 4, "-wal") == 0;
}

int fdatasync(int fd)
{
	static int (*real)(int);
	const char *gate = getenv("VX11_TEST_SYNC_GATE");

	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	if (gate && gettid() != getpid() && access(gate, F_OK) == 0 && is_wal(fd)) {
		char held[PATH_MAX];
		snprintf(held, sizeof held, "%s.held", gate);
		int h = open(held, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (h >= 0)
			close(h);
		for (int i = 0; i < 600 && access(gate, F_OK) == 0; i++)
			usleep(100 * 1000);
	}
	return real(fd);
}
