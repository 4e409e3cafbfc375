/* SPDX-License-Identifier: MIT */
/* A daughter's Landlock ruleset (landlock.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "landlock.h"
#include "util.h"

/* Rights newer than the headers this may be built with (Debian 12: 6.1). */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

/* ABI 4 and 6, beyond the 6.1 headers: our own copies of the structures. */
struct ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4 */
	uint64_t scoped;             /* ABI 6 */
};
struct net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};
#define RULE_NET_PORT 2
#define ACCESS_NET_BIND_TCP (1ULL << 0)
#define ACCESS_NET_CONNECT_TCP (1ULL << 1)
#define SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define SCOPE_SIGNAL (1ULL << 1)

/* Rights that apply to a file itself (the others are a directory's). */
#define FS_FILE_RIGHTS                                                                                     \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |      \
	 LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)
#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_EXEC (FS_READ | LANDLOCK_ACCESS_FS_EXECUTE)
#define FS_WRITE                                                                                           \
	(FS_READ | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |                         \
	 LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |       \
	 LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SYM |       \
	 LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)

/* The file system rights an ABI knows. */
static uint64_t fs_rights(int abi)
{
	uint64_t r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1: bits 0..12 */

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

int landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return abi > 0 ? (int)abi : 0;
}

static int fail(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(char **ret_error, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (ret_error && vasprintf(ret_error, fmt, ap) < 0)
		*ret_error = NULL;
	va_end(ap);
	return r;
}

static int add_path(int rfd, const char *path, uint64_t access, uint64_t handled, char **ret_error)
{
	struct landlock_path_beneath_attr pb;
	struct stat st;
	int fd, r = 0;

	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : fail(ret_error, -errno, "filesystem: %s: %m", path);
	if (fstat(fd, &st) < 0)
		r = fail(ret_error, -errno, "filesystem: %s: %m", path);
	else {
		/* A file takes only the rights of a file. */
		pb = (struct landlock_path_beneath_attr){
			.allowed_access = access & handled & (S_ISDIR(st.st_mode) ? ~0ULL : FS_FILE_RIGHTS),
			.parent_fd = fd,
		};
		if (pb.allowed_access &&
		    syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
			r = fail(ret_error, -errno, "filesystem: landlock_add_rule(%s): %m", path);
	}
	close(fd);
	return r;
}

/* The rules on a path the child mounts afresh: its own to add (see the header). */
typedef struct Deferral {
	const char *const *remounted;
	LandlockDeferred *out;
	size_t *n;
} Deferral;

static const char *remounted_as(const Deferral *d, const char *path)
{
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	for (const char *const *m = d ? d->remounted : NULL; m && *m; m++)
		if (strlen(*m) == len && strncmp(*m, path, len) == 0)
			return *m;
	return NULL;
}

static int add_list(int rfd, char *const *list, uint64_t access, uint64_t handled, const Deferral *dfr,
		    char **ret_error)
{
	for (char *const *p = list; p && *p; p++) {
		const char *m = remounted_as(dfr, *p);
		if (m) {
			size_t i;
			for (i = 0; i < *dfr->n && dfr->out[i].path != m; i++)
				;
			if (i == *dfr->n) {
				if (i >= LANDLOCK_DEFERRED_MAX)
					return fail(ret_error, -E2BIG, "filesystem: too many rules on fresh mounts");
				dfr->out[(*dfr->n)++] = (LandlockDeferred){ .path = m };
			}
			dfr->out[i].access |= access & handled;
			continue;
		}
		int r = add_path(rfd, *p, access, handled, ret_error);
		if (r < 0)
			return r;
	}
	return 0;
}

static int add_ports(int rfd, const uint16_t *ports, size_t n, uint64_t access, char **ret_error)
{
	for (size_t i = 0; i < n; i++) {
		struct net_port_attr np = { .allowed_access = access, .port = ports[i] };
		if (syscall(SYS_landlock_add_rule, rfd, RULE_NET_PORT, &np, 0) < 0)
			return fail(ret_error, -errno, "tcp: landlock_add_rule(port %u): %m", (unsigned)ports[i]);
	}
	return 0;
}

int landlock_ruleset_new(const LandlockPaths *p, int abi, int *ret_fd, LandlockDeferred *deferred,
			 size_t *n_deferred, char **ret_error)
{
	size_t n_none = 0;
	Deferral dfr = { .remounted = p->remounted, .out = deferred, .n = n_deferred ?: &n_none };

	*dfr.n = 0;
	struct ruleset_attr attr = {
		.handled_access_fs = p->fs ? fs_rights(abi) : 0,
		.handled_access_net = p->tcp && abi >= LANDLOCK_ABI_TCP ? ACCESS_NET_BIND_TCP | ACCESS_NET_CONNECT_TCP : 0,
		.scoped = abi < LANDLOCK_ABI_SCOPE ? 0
			  : (p->scope_abstract_unix ? SCOPE_ABSTRACT_UNIX_SOCKET : 0) | (p->scope_signal ? SCOPE_SIGNAL : 0),
	};
	/* The structure as long as this ABI knows it. */
	size_t size = abi >= LANDLOCK_ABI_SCOPE ? sizeof(attr) : abi >= LANDLOCK_ABI_TCP ? 16 : 8;
	static const char *const dev_read[] = { "/dev/zero", "/dev/random", "/dev/urandom", NULL };
	static const char *const dev_write[] = { "/dev/null", NULL };
	int fd, r = 0;

	if (abi < 1)
		return fail(ret_error, -EOPNOTSUPP, "filesystem: Landlock is not available in this kernel");
	if (!attr.handled_access_fs && !attr.handled_access_net && !attr.scoped)
		return fail(ret_error, -EOPNOTSUPP, "Landlock ABI %d: nothing of what is asked can be restricted", abi);
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (fd < 0)
		return fail(ret_error, -errno, "landlock_create_ruleset: %m");
	if (attr.handled_access_net) {
		r = add_ports(fd, p->tcp_bind, p->n_tcp_bind, ACCESS_NET_BIND_TCP, ret_error);
		if (r >= 0)
			r = add_ports(fd, p->tcp_connect, p->n_tcp_connect, ACCESS_NET_CONNECT_TCP, ret_error);
	}
	if (!attr.handled_access_fs) {
		if (r < 0) {
			close(fd);
			return r;
		}
		*ret_fd = fd;
		return 0;
	}
	if (r >= 0)
		r = add_list(fd, p->read, FS_READ, attr.handled_access_fs, deferred ? &dfr : NULL, ret_error);
	if (r >= 0)
		r = add_list(fd, p->write, FS_WRITE, attr.handled_access_fs, deferred ? &dfr : NULL, ret_error);
	if (r >= 0)
		r = add_list(fd, p->exec, FS_EXEC, attr.handled_access_fs, deferred ? &dfr : NULL, ret_error);
	if (r >= 0)
		r = add_list(fd, (char *const *)dev_read, FS_READ, attr.handled_access_fs, NULL, ret_error);
	if (r >= 0)
		r = add_list(fd, (char *const *)dev_write, FS_READ | LANDLOCK_ACCESS_FS_WRITE_FILE,
			     attr.handled_access_fs, NULL, ret_error);
	if (r >= 0 && p->argv0)
		r = add_path(fd, p->argv0, FS_EXEC, attr.handled_access_fs, ret_error);
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int landlock_restrict(int ruleset_fd)
{
	return syscall(SYS_landlock_restrict_self, ruleset_fd, 0) < 0 ? -errno : 0;
}
