/* SPDX-License-Identifier: MIT */
/*
 * A zygote: a process forked from the daemon that already holds one seccomp
 * profile's filter (its variant, seccomp.h) and, if asked, the shared network
 * namespace, and spawns daughters with CLONE_PARENT, so that they inherit the
 * filter instead of attaching it (the kernel's per-call cache is what costs,
 * README.md "The zygote") while the daemon stays their parent and holds their
 * pidfds. Each child is born in its job's cgroup2 group (clone3 with
 * CLONE_INTO_CGROUP), runs spawn_child_run()'s steps (joining the v1 groups
 * first on hybrid hosts), and stacks the profile's dropped rules last: the
 * daughter runs under exactly its profile.
 *
 * Used by the spawner thread only (run/spawner.c); one call at a time per
 * zygote. The theory of operation is at the top of spawn-zygote.c.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "spawn.h"

typedef struct Zygote Zygote;

/* Whether a zygote can spawn this request exactly as spawn_daughter() would: a profile with
 * a split, a job cgroup, no network of its own, no Landlock, no keep_fds, argv and envp of
 * a reasonable size. The others go to spawn_daughter(). */
bool zygote_can_serve(const SpawnRequest *r);

/* Forks a zygote for r's profile (r->seccomp, which must have a split) and network
 * namespace (r->netns_fd, -1: the host's). It dies with the calling thread
 * (PR_SET_PDEATHSIG). 0, or -errno and *ret_error says why. */
int zygote_start(const SpawnRequest *r, Zygote **ret, char **ret_error);

/* Whether it serves requests like r (the same filter, the same namespace). */
bool zygote_matches(const Zygote *z, const SpawnRequest *r);
/* False once it has exited (its pidfd). */
bool zygote_alive(const Zygote *z);
pid_t zygote_pid(const Zygote *z);

/*
 * spawn_daughter_step() through the zygote: the same results, error texts and steps.
 * *ret_lost is set (and the return is negative) when the zygote failed before any child
 * of it ran (it died, or could not clone): nothing was started, the caller may spawn the
 * request on the direct path and should drop this zygote.
 */
int zygote_spawn(Zygote *z, const SpawnRequest *r, pid_t *ret_pid, int *ret_pidfd, char **ret_error,
		 SpawnStep *ret_step, bool *ret_lost);

/* Ends it (EOF on its socket, SIGKILL) and reaps it. Its daughters are not its children:
 * they go on. Accepts NULL; returns NULL. */
Zygote *zygote_free(Zygote *z);
