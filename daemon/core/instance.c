/* SPDX-License-Identifier: MIT */
/* Instance identity and the state-dir lock: see instance.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "instance.h"
#include "log.h"
#include "util.h"

bool instance_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > INSTANCE_NAME_MAX || name[0] == '-')
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

bool node_name_valid(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= NODE_NAME_MAX &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

int node_name_default(char ret[static NODE_NAME_MAX + 1])
{
	/* Room for any host name Linux allows (HOST_NAME_MAX, 64: one more than
	 * a node name), so that a longer one is seen whole. */
	char host[HOST_NAME_MAX + 1] = "";

	if (gethostname(host, sizeof host) < 0)
		return -errno;
	host[sizeof host - 1] = 0;
	return node_name_from_host(host, ret);
}

int node_name_from_host(const char *host, char ret[static NODE_NAME_MAX + 1])
{
	size_t i;

	if (node_name_valid(host)) {
		strcpy(ret, host);
		return 0;
	}
	if (!*host || streq(host, "(none)")) {
		strcpy(ret, "localhost");
		return 1;
	}
	for (i = 0; host[i] && i < NODE_NAME_MAX; i++)
		ret[i] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", host[i]) ? host[i] : '-';
	ret[i] = 0;
	return 1;
}

int instance_name_default(const char *state_dir, const char *system_state_dir,
                          char ret[static INSTANCE_NAME_MAX + 1])
{
	_cleanup_free_ char *abs = realpath(state_dir, NULL), *sys = realpath(system_state_dir, NULL);
	uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a: stable, and enough to tell dirs apart */

	if (!abs)
		return -errno;
	if (sys && streq(abs, sys)) {
		strcpy(ret, "default");
		return 0;
	}
	for (const char *c = abs; *c; c++)
		h = (h ^ (unsigned char)*c) * UINT64_C(1099511628211);
	snprintf(ret, INSTANCE_NAME_MAX + 1, "s%08x", (unsigned)(h ^ (h >> 32)));
	return 0;
}

/* Lock path (an OFD write lock, dropped with the process) and write
 * "<pid> <text>" in it: the fd, or -EBUSY with *ret_holder the pid the
 * holder wrote (0 if unknown), or -errno. */
static int lock_file(const char *path, const char *text, pid_t *ret_holder)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	_cleanup_free_ char *line = NULL;
	_cleanup_close_ int fd = -1;
	char buf[64];
	int n;

	*ret_holder = 0;
	/* A holder that stops may remove the file (instance_unlock_name): a
	 * lock taken on the file it has just removed is no lock: again. */
	for (int i = 0;; i++) {
		struct stat a, b;

		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
		if (fd < 0)
			return -errno;
		if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
			if (errno != EAGAIN && errno != EACCES)
				return -errno;
			/* OFD locks do not say their holder (F_OFD_GETLK gives
			 * pid -1): the holder wrote its pid in the file. */
			ssize_t k = pread(fd, buf, sizeof buf - 1, 0);
			buf[k > 0 ? k : 0] = 0;
			*ret_holder = (pid_t)strtol(buf, NULL, 10);
			return -EBUSY;
		}
		if (fstat(fd, &a) < 0)
			return -errno;
		if (stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev)
			break;
		if (i == 3)
			return -EBUSY;
		fd = safe_close(fd);
	}
	n = asprintf(&line, "%d %s\n", (int)getpid(), text);
	if (n < 0)
		return -ENOMEM;
	if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)n, 0) != n)
		return errno ? -errno : -EIO;
	return TAKE_FD(fd);
}

int instance_lock_state_dir(const char *state_dir, const char *name, pid_t *ret_holder)
{
	_cleanup_free_ char *path = NULL;

	*ret_holder = 0;
	if (asprintf(&path, "%s/vx11d.lock", state_dir) < 0)
		return -ENOMEM;
	return lock_file(path, name, ret_holder);
}

int instance_lock_name(const char *lock_dir, const char *name, const char *state_dir, pid_t *ret_holder)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	int k;

	*ret_holder = 0;
	k = mkdir_p(lock_dir, 0755);
	if (k < 0)
		return k;
	if (asprintf(&path, "%s/%s", lock_dir, name) < 0 || asprintf(&text, "%s", state_dir) < 0)
		return -ENOMEM;
	return lock_file(path, text, ret_holder);
}

bool instance_dir_reachable(const char *dir)
{
	_cleanup_free_ char *p = realpath(dir, NULL) ?: strdup(dir);
	struct stat st;

	if (!p)
		return true; /* out of memory: assume so, as before */
	for (;;) {
		/* One not there yet is made 0755. */
		if (stat(p[0] ? p : "/", &st) == 0 && !(st.st_mode & S_IXOTH))
			return false;
		char *s = strrchr(p, '/');
		if (!s || !p[0])
			return true;
		*s = 0;
	}
}

/* The fd of dir/notify, flock'd; -EBUSY when another instance has it. */
static int lock_runtime_dir(const char *dir)
{
	_cleanup_free_ char *notify = NULL;
	int k;

	if (asprintf(&notify, "%s/notify", dir) < 0)
		return -ENOMEM;
	/* The runtime directory may be someone's (the socket's): made if
	 * missing, its mode never changed. */
	k = mkdir_p(dir, 0755);
	if (k < 0)
		return k;
	if (mkdir(notify, 0711) < 0 && errno != EEXIST)
		return -errno;
	_cleanup_close_ int fd = open(notify, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	return TAKE_FD(fd);
}

int instance_runtime_dir(const char *socket_path, const char *explicit_dir, const char *name, char **ret_dir)
{
	_cleanup_free_ char *dir = NULL, *own = NULL;
	int fd;

	*ret_dir = NULL;
	if (asprintf(&own, "/run/vx11/%s", name) < 0)
		return log_error_errno(ENOMEM, "out of memory");
	if (explicit_dir) {
		fd = lock_runtime_dir(explicit_dir);
		if (fd == -EBUSY)
			return log_error_errno(EBUSY, "the runtime directory %s is in use by another vx11d: give each its own "
					       "--runtime-dir", explicit_dir);
		if (fd < 0)
			return log_error_errno(fd, "cannot use the runtime directory %s: %m", explicit_dir);
		*ret_dir = strdup(explicit_dir);
		return *ret_dir ? fd : log_error_errno(ENOMEM, "out of memory");
	}

	dir = strdup(socket_path);
	if (!dir)
		return log_error_errno(ENOMEM, "out of memory");
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = 0;
	else
		strcpy(dir, slash ? "/" : ".");
	bool root = geteuid() == 0;
	if (root && !streq(dir, own) && !instance_dir_reachable(dir)) {
		log_info("daughters cannot reach %s (a directory above it is not searchable by others): they find "
			 "the daemon in %s", dir, own);
		free(dir);
		dir = TAKE_PTR(own);
	}
	fd = lock_runtime_dir(dir);
	if (fd == -EBUSY && root && own && !streq(dir, own)) {
		log_info("another vx11d uses %s for its daughters: this one's find it in %s", dir, own);
		free(dir);
		dir = TAKE_PTR(own);
		fd = lock_runtime_dir(dir);
	}
	if (fd == -EBUSY)
		return log_error_errno(EBUSY, "the runtime directory %s is in use by another vx11d: give this one "
				       "a --socket in another directory, or a --runtime-dir", dir);
	if (fd < 0)
		return log_error_errno(fd, "cannot use the runtime directory %s: %m", dir);
	*ret_dir = TAKE_PTR(dir);
	return fd;
}

int instance_runtime_dir_done(const char *dir, const char *name, int lock_fd)
{
	_cleanup_free_ char *own = NULL, *notify = NULL;

	if (lock_fd < 0)
		return -1;
	if (dir && asprintf(&own, "/run/vx11/%s", name) >= 0 && streq(dir, own) &&
	    asprintf(&notify, "%s/notify", dir) >= 0) {
		(void)rmdir(notify);
		(void)rmdir(dir);
	}
	close(lock_fd);
	return -1;
}

int instance_unlock_name(const char *lock_dir, const char *name, int fd)
{
	_cleanup_free_ char *path = NULL;

	if (fd < 0)
		return -1;
	/* Still holding it: whoever opens the file meanwhile finds it unlinked
	 * once it has the lock, and makes a new one (lock_file). */
	if (asprintf(&path, "%s/%s", lock_dir, name) >= 0)
		(void)unlink(path);
	close(fd);
	return -1;
}
