/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "caller.h"

int caller_from_socket(int fd, Caller *ret)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t *groups = NULL;
	socklen_t glen = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;

	/* First ask for the size; the kernel answers ERANGE with the size needed. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, NULL, &glen) < 0 && errno != ERANGE)
		return -errno;
	if (glen > 0) {
		groups = malloc(glen);
		if (!groups)
			return -ENOMEM;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) < 0) {
			int r = -errno;
			free(groups);
			return r;
		}
	}

	*ret = (Caller){
		.uid = cred.uid,
		.gid = cred.gid,
		.pid = cred.pid,
		.groups = groups,
		.n_groups = glen / sizeof(gid_t),
	};
	return 0;
}

void caller_done(Caller *c)
{
	free(c->groups);
	c->groups = NULL;
	c->n_groups = 0;
}

bool caller_in_group(const Caller *c, gid_t gid)
{
	if (c->gid == gid)
		return true;
	for (size_t i = 0; i < c->n_groups; i++)
		if (c->groups[i] == gid)
			return true;
	return false;
}

bool caller_is_admin(const Caller *c, const Policy *p)
{
	return c->uid == 0 || (p->admin_gid_valid && caller_in_group(c, p->admin_gid));
}

bool caller_may_see(const Caller *c, const Policy *p, uid_t owner)
{
	return c->uid == owner || caller_is_admin(c, p);
}
