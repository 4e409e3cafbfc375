/* SPDX-License-Identifier: MIT */
/* Removing a transient uid's leftovers from /dev/shm (shm.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm.h"
#include "util.h"

/* Everything in the directory dfd (which is closed), recursively; only
 * entries of owner uid, unless all is set (inside a directory of uid's). */
static int remove_in(int dfd, uid_t uid, bool all, unsigned depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int n = 0;

	if (!d) {
		close(dfd);
		return -errno;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!all && st.st_uid != uid)
			continue;
		if (S_ISDIR(st.st_mode)) {
			/* Bounded: a daughter cannot make us recurse for ever. */
			int sub = depth < 64 ? openat(dirfd(d), de->d_name,
						      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
					     : -1;
			if (sub >= 0) {
				int k = remove_in(sub, uid, true, depth + 1);
				if (k > 0)
					n += k;
			}
			if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) >= 0)
				n++;
		} else if (unlinkat(dirfd(d), de->d_name, 0) >= 0)
			n++;
	}
	closedir(d);
	return n;
}

int shm_remove_owned(const char *dir, uid_t uid)
{
	int dfd = open(dir ?: "/dev/shm", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (dfd < 0)
		return -errno;
	return remove_in(dfd, uid, false, 0);
}
