/* SPDX-License-Identifier: MIT */
/* Host-wide locks on dynamic uids: see uidlock.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uidlock.h"
#include "util.h"

/* Does the cgroup directory named in the lock file still hold a process? */
static bool cgroup_busy(int fd)
{
	char path[PATH_MAX + 32], c;
	ssize_t n = pread(fd, path, PATH_MAX, 0);

	if (n <= 0)
		return false;
	path[n] = 0;
	path[strcspn(path, "\n")] = 0;
	if (path[0] != '/')
		return false;
	strcat(path, "/cgroup.procs");
	_cleanup_close_ int p = open(path, O_RDONLY | O_CLOEXEC);
	/* Gone (reaped): free. Unreadable but there: taken, to be safe. */
	if (p < 0)
		return errno != ENOENT;
	return read(p, &c, 1) != 0;
}

/* The lock of one uid: the fd, -EBUSY, or -errno. */
static int try_lock(const UidLockDirs *d, uid_t uid)
{
	char path[PATH_MAX];
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};

	if (d->systemd_dir) {
		snprintf(path, sizeof path, "%s/%u", d->systemd_dir, (unsigned)uid);
		if (access(path, F_OK) == 0)
			return -EBUSY;
	}
	snprintf(path, sizeof path, "%s/%u", d->dir, (unsigned)uid);
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0)
		return -errno;
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
		return errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
	if (cgroup_busy(fd))
		return -EBUSY;
	return TAKE_FD(fd);
}

static int make_lock_dir(const UidLockDirs *d)
{
	struct stat st;
	/* Parents searchable (/run/vx11 is also where daughters may find the
	 * daemon's sockets), the directory itself the daemon's alone. */
	int k = mkdir_parents(d->dir, 0755);

	if (k < 0)
		return k;
	if (mkdir(d->dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	/* Fail closed: a directory others may write to is no lock at all. */
	if (lstat(d->dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return -EPERM;
	return 0;
}

uid_t uid_lock_acquire(const UidLockDirs *d, uid_t first, uid_t last, uid_t *cursor, UidTakenFn taken,
                       void *userdata, int *ret_fd)
{
	uint64_t n = (uint64_t)last - first + 1;
	int k = make_lock_dir(d);

	*ret_fd = k;
	if (k < 0)
		return (uid_t)-1;
	if (*cursor < first || *cursor > last)
		*cursor = first;
	/* Next fit: a uid is not reused soon after, which keeps stray files'
	 * owners distinct. */
	for (uint64_t i = 0; i < n; i++) {
		uid_t uid = *cursor;
		*cursor = uid == last ? first : uid + 1;
		if (taken && taken(uid, userdata))
			continue;
		k = try_lock(d, uid);
		if (k >= 0) {
			*ret_fd = k;
			return uid;
		}
		if (k != -EBUSY) {
			*ret_fd = k;
			return (uid_t)-1;
		}
	}
	*ret_fd = -EBUSY;
	return (uid_t)-1;
}

int uid_lock_one(const UidLockDirs *d, uid_t uid)
{
	int k = make_lock_dir(d);
	return k < 0 ? k : try_lock(d, uid);
}

int uid_lock_set_cgroup(int fd, const char *cgroup_dir)
{
	size_t len = strlen(cgroup_dir);

	if (ftruncate(fd, 0) < 0)
		return -errno;
	if (pwrite(fd, cgroup_dir, len, 0) != (ssize_t)len || pwrite(fd, "\n", 1, (off_t)len) != 1)
		return errno ? -errno : -EIO;
	return 0;
}

int uid_lock_release(int fd)
{
	if (fd >= 0) {
		(void)ftruncate(fd, 0);
		close(fd);
	}
	return -1;
}
