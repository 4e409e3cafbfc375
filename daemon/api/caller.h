/* SPDX-License-Identifier: MIT */
/*
 * Who is on the other end of a connection: read once at accept from the
 * kernel (SO_PEERCRED, SO_PEERGROUPS), never from anything the peer says,
 * and never by its pid (pids are recycled).
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "policy/policy.h"

typedef struct Caller {
	uid_t uid;
	gid_t gid;
	pid_t pid;      /* for the audit trail only */
	gid_t *groups;  /* supplementary groups at connect time */
	size_t n_groups;
} Caller;

int caller_from_socket(int fd, Caller *ret);
void caller_done(Caller *c);

bool caller_in_group(const Caller *c, gid_t gid);
/* uid 0, or a member of the policy's admin_group. */
bool caller_is_admin(const Caller *c, const Policy *p);
/* May the caller act on something owned by uid? Its own, or any as admin. */
bool caller_may_see(const Caller *c, const Policy *p, uid_t owner);
