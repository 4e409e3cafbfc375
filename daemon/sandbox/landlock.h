/* SPDX-License-Identifier: MIT */
/*
 * Landlock (Linux >= 5.13): a daughter's file system allow-list. The parent
 * builds the ruleset (opening each path, which may allocate and fail with a
 * message); the child only calls landlock_restrict_self() on it, after its
 * namespaces and before its seccomp filter. A ruleset handles every file
 * system right the kernel's ABI knows, so anything not granted by a rule is
 * denied; rights a newer ABI adds (truncate: 3, device ioctls: 5) are simply
 * not restricted on an older kernel, which the caller may refuse instead.
 *
 * Granted, besides the lists: argv[0] executable, reading /dev/null,
 * /dev/zero, /dev/random and /dev/urandom, and writing /dev/null.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The lists, NULL-terminated (a NULL list is empty). */
typedef struct LandlockPaths {
	bool fs;            /* restrict the file system (the lists below) */
	char *const *read;  /* read files, list directories */
	char *const *write; /* that, and create, write, truncate, remove, rename */
	char *const *exec;  /* read, and execute (the ELF interpreter included) */
	const char *argv0;  /* the program itself: executable */
	bool tcp;           /* restrict TCP bind and connect to these ports (ABI 4) */
	const uint16_t *tcp_bind, *tcp_connect;
	size_t n_tcp_bind, n_tcp_connect;
	bool scope_abstract_unix; /* no abstract socket outside its domain (ABI 6) */
	bool scope_signal;        /* no signal to a process outside its domain (ABI 6) */
	/* Paths the child mounts afresh (private /tmp, /dev/shm, /proc): a rule
	 * on one made here would name the host's directory, hidden under the
	 * new mount, so it goes to *deferred for the child to add (NULL-terminated). */
	const char *const *remounted;
} LandlockPaths;

/* A rule the child adds itself, after its mounts (spawn.h). */
#define LANDLOCK_DEFERRED_MAX 8
typedef struct LandlockDeferred {
	const char *path;   /* from LandlockPaths.remounted: lives as long as that */
	uint64_t access;    /* the rights of a directory, already within the ruleset's */
} LandlockDeferred;

#define LANDLOCK_ABI_TCP 4
#define LANDLOCK_ABI_SCOPE 6

/* The kernel's Landlock ABI version (1, 2, ...), 0 where there is none. */
int landlock_abi(void);

/* The lowest ABI that restricts everything "write" means (truncate: 3). */
#define LANDLOCK_ABI_FULL 3

/*
 * Builds the ruleset: an O_CLOEXEC fd in *ret_fd, or -errno with *ret_error
 * saying which path or call failed. A path that does not exist is skipped
 * (nothing there to grant). abi: what landlock_abi() said.
 */
int landlock_ruleset_new(const LandlockPaths *p, int abi, int *ret_fd, LandlockDeferred *deferred,
			 size_t *n_deferred, char **ret_error);

/* In the child (async-signal-safe): confine the calling thread for good.
 * Needs no_new_privs (or CAP_SYS_ADMIN). Returns 0 or -errno. */
int landlock_restrict(int ruleset_fd);
