/* SPDX-License-Identifier: MIT */
/*
 * What a daughter may leave behind in /dev/shm. Its SysV IPC and POSIX
 * message queues live in an IPC namespace of its own and go with it
 * (SpawnRequest.private_ipc); /dev/shm is a file system, private to it only
 * when it has a mount namespace. Otherwise, once its cgroup is empty, what
 * its transient uid left there is removed, as systemd's RemoveIPC= does, so
 * that the next daughter given that uid finds nothing.
 */
#pragma once

#include <sys/types.h>

/* Removes every file, link and directory (with what is in it) under dir
 * (NULL: /dev/shm) owned by uid. Returns how many entries went, or -errno
 * when dir cannot be read; an entry that cannot be removed is skipped. */
int shm_remove_owned(const char *dir, uid_t uid);
