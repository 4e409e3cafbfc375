/* SPDX-License-Identifier: MIT */
/* Removing a transient uid's leftovers from /dev/shm (shm.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm.h"
#include "util.h"

#define DIRS_MAX 256

/* Its directories go as the uid itself: a directory it made 0700 cannot be
 * opened by the daemon without CAP_DAC_OVERRIDE, which its unit does not
 * give it. A child that becomes the uid and execs rm does it; everything it
 * needs is made before the fork (the daemon has threads: the child only
 * makes system calls). */
static int remove_dirs_as(uid_t uid, char **argv)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		static char *const envp[] = { NULL };
		if (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, uid, uid, uid) < 0 ||
		    syscall(SYS_setresuid, uid, uid, uid) < 0)
			_exit(126);
		execve("/bin/rm", argv, envp);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

int shm_remove_owned(const char *dir, uid_t uid)
{
	const char *top = dir ?: "/dev/shm";
	char *argv[DIRS_MAX + 4] = { (char *)"rm", (char *)"-rf", (char *)"--" };
	size_t n_dirs = 0;
	struct stat top_st;
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir(top);
	if (!d)
		return -errno;
	if (fstat(dirfd(d), &top_st) < 0) {
		closedir(d);
		return -errno;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_uid != uid)
			continue;
		/* Files and links: the directory's owner (root, on /dev/shm) may
		 * unlink them, sticky bit or not. A mount point is left alone. */
		if (!S_ISDIR(st.st_mode)) {
			if (unlinkat(dirfd(d), de->d_name, 0) >= 0)
				n++;
			continue;
		}
		if (st.st_dev != top_st.st_dev || n_dirs >= DIRS_MAX)
			continue;
		if (asprintf(&argv[3 + n_dirs], "%s/%s", top, de->d_name) < 0)
			break;
		n_dirs++;
	}
	closedir(d);
	if (n_dirs > 0 && remove_dirs_as(uid, argv) >= 0)
		n += (int)n_dirs;
	for (size_t i = 0; i < n_dirs; i++)
		free(argv[3 + i]);
	return n;
}
