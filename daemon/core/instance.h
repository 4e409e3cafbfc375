/* SPDX-License-Identifier: MIT */
/*
 * The identity of one vx11d on a host. Several may run side by side, each
 * with its own state dir; the name scopes what they would otherwise share:
 * the job cgroup root (<root>/<instance>), the runtime dir when the socket's
 * is out of daughters' reach (/run/vx11/<instance>), and what start-up
 * reconciliation reaps. One state dir has one daemon: a lock file in it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define INSTANCE_NAME_MAX 32

/* [A-Za-z0-9_-], 1 to INSTANCE_NAME_MAX characters, not starting with '-'. */
bool instance_name_valid(const char *name);
/*
 * The node: this daemon's name in a fleet sharing one queue (issue 13), kept
 * on every attempt it runs. [A-Za-z0-9._-], 1 to NODE_NAME_MAX characters
 * (a DNS label's length, so that a host name fits).
 */
#define NODE_NAME_MAX 63
bool node_name_valid(const char *name);
/*
 * A node name made of a host name: the host name itself when it is a valid
 * one (0); else 1 and a name made valid: "localhost" for a host that has
 * none ("" or the kernel's "(none)"), any other character '-', cut to
 * NODE_NAME_MAX. A daemon must start on such a host (a VM, a fresh container):
 * a fleet, where names must differ, gives --node.
 */
int node_name_from_host(const char *host, char ret[static NODE_NAME_MAX + 1]);
/* node_name_from_host() of gethostname(): 0, 1 (made valid), or -errno. */
int node_name_default(char ret[static NODE_NAME_MAX + 1]);
/*
 * The default name for an existing state_dir: "default" for the compiled-in
 * state dir (the system service), else "s" and 8 hex digits of a hash of its
 * absolute path, stable across restarts. 0 or -errno.
 */
int instance_name_default(const char *state_dir, const char *system_state_dir,
                          char ret[static INSTANCE_NAME_MAX + 1]);
/*
 * Take <state_dir>/vx11d.lock (an OFD write lock, dropped with the process)
 * and write our pid and name in it. The fd (keep it open), or -EBUSY with
 * *ret_holder the pid the running one wrote (0 if unknown), or -errno.
 */
int instance_lock_state_dir(const char *state_dir, const char *name, pid_t *ret_holder);
/*
 * One daemon per name on the host (root's daemons: the name scopes their job
 * cgroups and /run/vx11/<name>): lock <lock_dir>/<name> (the daemon uses
 * INSTANCE_LOCK_DIR) the same way, writing our pid and state_dir in it.
 */
#define INSTANCE_LOCK_DIR "/run/vx11/instance"
int instance_lock_name(const char *lock_dir, const char *name, const char *state_dir, pid_t *ret_holder);
/* At the end: remove the file and drop the lock. Returns -1. */
int instance_unlock_name(const char *lock_dir, const char *name, int fd);
/* Can another user reach dir, i.e. is it and every directory above it searchable by others? */
bool instance_dir_reachable(const char *dir);
/*
 * Where daughters find this daemon (notify sockets, daughter.sock): explicit
 * (--runtime-dir), else the socket's directory, else, for root, when
 * daughters cannot reach that one or another instance uses it already,
 * /run/vx11/<name>. The directory is made and its notify/ subdirectory
 * flock'd, so that no two instances share one. The lock's fd and *ret_dir
 * (malloc'd), or -errno, said in the log.
 */
int instance_runtime_dir(const char *socket_path, const char *explicit_dir, const char *name, char **ret_dir);
/* At the end, once its sockets are gone: drop the lock; /run/vx11/<name>,
 * made for this instance alone, is removed (when empty). Returns -1. */
int instance_runtime_dir_done(const char *dir, const char *name, int lock_fd);
