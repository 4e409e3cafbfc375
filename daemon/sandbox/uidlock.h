/* SPDX-License-Identifier: MIT */
/*
 * Dynamic uids unique on the host, across vx11d instances. Each uid handed
 * out is held with an OFD write lock on <dir>/<uid> (the daemon uses
 * /run/vx11/uid, like systemd's /run/systemd/dynamic-uid) for as long as a
 * daughter may run under it; another instance finds the lock taken and moves
 * on. The lock dies with the daemon, but its daughters may not (kill -9):
 * so the file also names the job cgroup of the daughter that has the uid, and
 * a uid whose file names a cgroup that still has processes stays taken until
 * that cgroup is empty (its own daemon, restarted, reaps it). A uid that
 * systemd shows in use in its own directory is skipped too.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#define UID_LOCK_DIR         "/run/vx11/uid"
#define UID_LOCK_SYSTEMD_DIR "/run/systemd/dynamic-uid"

typedef struct UidLockDirs {
	const char *dir;         /* where the lock files are; created 0700 if missing */
	const char *systemd_dir; /* NULL: do not look at systemd's */
} UidLockDirs;

/* Whether the caller already uses uid itself (its own daughters' uids are locked by it already). */
typedef bool (*UidTakenFn)(uid_t uid, void *userdata);

/*
 * Lock a free uid of [first, last], next fit from *cursor (advanced past it).
 * On success *ret_fd holds the lock (close it with uid_lock_release()) and the
 * uid is returned; (uid_t)-1 with *ret_fd = -errno when none is free
 * (-EBUSY) or the lock directory cannot be used.
 */
uid_t uid_lock_acquire(const UidLockDirs *d, uid_t first, uid_t last, uid_t *cursor, UidTakenFn taken,
                       void *userdata, int *ret_fd);
/* Lock one given uid (after a restart: the uids of interrupted attempts, held
 * while what they left is cleaned). The fd, -EBUSY when another holds it or
 * its cgroup still has processes, or -errno. */
int uid_lock_one(const UidLockDirs *d, uid_t uid);
/* Record the job cgroup (a directory with cgroup.procs) the uid is used in. 0 or -errno. */
int uid_lock_set_cgroup(int fd, const char *cgroup_dir);
/* The uid is free again: the file is emptied and the lock dropped. Returns -1. */
int uid_lock_release(int fd);
