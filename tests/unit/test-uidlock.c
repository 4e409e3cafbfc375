/* SPDX-License-Identifier: MIT */
/*
 * sandbox/uidlock.c: dynamic uids unique on the host. Two allocators (two
 * vx11d instances: separate open files, so separate OFD locks) never get the
 * same uid; a uid whose holder died with its daughter still running in a
 * real job cgroup stays taken until that cgroup is empty; systemd's in-use
 * files are respected; a lock directory others may write to is refused.
 * Done in a directory of the test's own, never the host's /run/vx11/uid.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/cgroup.h"
#include "sandbox/uidlock.h"
#include "tap.h"
#include "util.h"

#define FIRST 70000
#define LAST  70002

static char base[64], dir[96], sysdir[96];

static UidLockDirs dirs(void)
{
	return (UidLockDirs){.dir = dir, .systemd_dir = sysdir};
}

static uid_t acquire(uid_t *cursor, int *fd)
{
	UidLockDirs d = dirs();
	return uid_lock_acquire(&d, FIRST, LAST, cursor, NULL, NULL, fd);
}

static void test_two_allocators_never_share_a_uid(void)
{
	uid_t ca = 0, cb = 0;
	int a[3], b;

	for (int i = 0; i < 3; i++)
		CHECK_INTEQ(acquire(&ca, &a[i]), FIRST + i);
	/* The other one starts at the same place and finds every uid taken. */
	CHECK_INTEQ(acquire(&cb, &b), (uid_t)-1);
	CHECK_INTEQ(b, -EBUSY);
	uid_lock_release(a[1]);
	CHECK_INTEQ(acquire(&cb, &b), FIRST + 1);
	uid_lock_release(b);
	uid_lock_release(a[0]);
	uid_lock_release(a[2]);
}

/* Another process (another vx11d) holds one: this one gets the next. */
static void test_a_lock_of_another_process_is_respected(void)
{
	int p[2], fd;
	uid_t c = 0;
	char x;

	CHECK(pipe(p) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		uid_t cc = 0;
		int f;
		close(p[0]);
		if (acquire(&cc, &f) != FIRST)
			_exit(1);
		(void)!write(p[1], "x", 1);
		pause();
		_exit(0);
	}
	close(p[1]);
	CHECK(read(p[0], &x, 1) == 1);
	CHECK_INTEQ(acquire(&c, &fd), FIRST + 1);
	uid_lock_release(fd);
	/* It dies (kill -9): its lock goes with it, and it ran nothing. */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	c = 0;
	CHECK_INTEQ(acquire(&c, &fd), FIRST);
	uid_lock_release(fd);
	close(p[0]);
}

static bool first_taken(uid_t uid, void *u)
{
	(void)u;
	return uid == FIRST;
}

static void test_taken_callback_and_cursor(void)
{
	UidLockDirs d = dirs();
	uid_t c = FIRST + 2;
	int fd;

	/* Next fit from the cursor, wrapping at the end of the range. */
	CHECK_INTEQ(acquire(&c, &fd), FIRST + 2);
	CHECK_INTEQ(c, FIRST);
	uid_lock_release(fd);
	CHECK_INTEQ(uid_lock_acquire(&d, FIRST, LAST, &c, first_taken, NULL, &fd), FIRST + 1);
	uid_lock_release(fd);
}

static void test_systemd_in_use_is_skipped(void)
{
	char p[160];
	uid_t c = 0;
	int fd;

	snprintf(p, sizeof p, "%s/%u", sysdir, FIRST);
	close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	CHECK_INTEQ(acquire(&c, &fd), FIRST + 1);
	uid_lock_release(fd);
	unlink(p);
}

static void test_a_shared_lock_directory_is_refused(void)
{
	char p[160];
	UidLockDirs d = {.dir = p};
	uid_t c = 0;
	int fd;

	snprintf(p, sizeof p, "%s/open", base);
	CHECK(mkdir(p, 0777) == 0 && chmod(p, 0777) == 0);
	CHECK_INTEQ(uid_lock_acquire(&d, FIRST, LAST, &c, NULL, NULL, &fd), (uid_t)-1);
	CHECK_INTEQ(fd, -EPERM);
	CHECK_INTEQ(uid_lock_one(&d, FIRST), -EPERM);
}

/* The daemon died (its lock with it) while its daughter, in a real job
 * cgroup, still runs: the uid stays taken until the cgroup is empty. */
static void test_orphans_in_a_cgroup_keep_the_uid(void)
{
	CgroupInfo info = {};
	CgroupManager *m = NULL;
	Cgroup *cg = NULL;
	char root[64], procs[PATH_MAX];
	uid_t c = 0;
	int fd, fd2;

	if (geteuid() != 0)
		SKIP("needs root (a job cgroup)");
	if (cgroup_detect(&info) < 0 || info.mode == CGROUP_MODE_NONE)
		SKIP("no cgroups");
	snprintf(root, sizeof root, "vx11-test-uidlock-%d", (int)getpid());
	if (cgroup_manager_new(&info, root, &m, NULL) < 0 || cgroup_acquire(m, NULL, &cg, NULL, NULL) < 0) {
		cgroup_manager_free(m);
		cgroup_info_done(&info);
		SKIP("cannot make a job cgroup here");
	}
	CHECK_INTEQ(acquire(&c, &fd), FIRST);
	CHECK_INTEQ(uid_lock_set_cgroup(fd, cgroup_path(cg)), 0);
	snprintf(procs, sizeof procs, "%s/cgroup.procs", cgroup_path(cg));
	pid_t pid = fork();
	if (pid == 0) {
		int p = open(procs, O_WRONLY | O_CLOEXEC);
		if (p < 0 || write(p, "0", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	for (int i = 0; i < 100 && cgroup_is_populated(cg) != 1; i++)
		usleep(10000);
	CHECK_INTEQ(cgroup_is_populated(cg), 1);
	close(fd); /* as kill -9 of the daemon: no release, the file still names the cgroup */

	c = 0;
	CHECK_INTEQ(acquire(&c, &fd2), FIRST + 1);
	uid_lock_release(fd2);
	CHECK_INTEQ(uid_lock_one(&(UidLockDirs){.dir = dir}, FIRST), -EBUSY);

	/* Its own daemon restarts and reaps it: the uid is free again. */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	CHECK_INTEQ(cgroup_wait_empty(cg, 2000000), 0);
	c = 0;
	CHECK_INTEQ(acquire(&c, &fd2), FIRST);
	uid_lock_release(fd2);
	cgroup_release(m, cg);
	cgroup_manager_free(m);
	cgroup_info_done(&info);
}

int main(void)
{
	char cmd[128];

	snprintf(base, sizeof base, "/tmp/vx11-test-uidlock-%d", (int)getpid());
	snprintf(dir, sizeof dir, "%s/uid", base);
	snprintf(sysdir, sizeof sysdir, "%s/systemd", base);
	if (mkdir(base, 0700) < 0 || mkdir(sysdir, 0700) < 0)
		return 1;
	TEST(test_two_allocators_never_share_a_uid);
	TEST(test_a_lock_of_another_process_is_respected);
	TEST(test_taken_callback_and_cursor);
	TEST(test_systemd_in_use_is_skipped);
	TEST(test_a_shared_lock_directory_is_refused);
	TEST(test_orphans_in_a_cgroup_keep_the_uid);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", base);
	return tap_done();
}
