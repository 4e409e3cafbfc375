/* SPDX-License-Identifier: MIT */
/*
 * sandbox/shm.c: what a transient uid left in /dev/shm goes, directories
 * it made 0700 included, even for a daemon without CAP_DAC_OVERRIDE or
 * CAP_FOWNER (as under its unit); what others own stays. Done on a
 * directory of the test's own, never the host's /dev/shm.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/shm.h"
#include "tap.h"
#include "util.h"

#define UID_A 65002
#define UID_B 65003

static char dir[64];

static void make_as(const char *name, uid_t uid, bool is_dir, mode_t mode)
{
	char p[128];

	snprintf(p, sizeof p, "%s/%s", dir, name);
	if (is_dir)
		(void)mkdir(p, mode);
	else
		close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, mode));
	(void)chown(p, uid, uid);
	(void)chmod(p, mode);
}

static bool exists(const char *name)
{
	char p[128];
	struct stat st;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	return lstat(p, &st) == 0;
}

/* In a child that keeps only what the unit gives vx11d (no DAC override, no
 * FOWNER): the removal, its count as the exit code. */
static int remove_without_dac_override(uid_t uid)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
		uint64_t keep = 1ULL << CAP_SETUID | 1ULL << CAP_SETGID | 1ULL << CAP_SETPCAP | 1ULL << CAP_SYS_ADMIN |
				1ULL << CAP_KILL;
		struct __user_cap_data_struct d[2] = {
			{ .effective = (uint32_t)keep, .permitted = (uint32_t)keep },
			{ .effective = (uint32_t)(keep >> 32), .permitted = (uint32_t)(keep >> 32) },
		};
		if (syscall(SYS_capset, &h, d) < 0)
			_exit(250);
		int n = shm_remove_owned(dir, uid);
		_exit(n < 0 ? 251 : n);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void test_removes_the_uids_files_and_directories_only(void)
{
	char p[160];

	if (geteuid() != 0)
		SKIP("needs root (files of other users)");
	make_as("f", UID_A, false, 0600);
	make_as("sub", UID_A, true, 0700);
	snprintf(p, sizeof p, "%s/sub/inner", dir);
	close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	(void)chown(p, UID_A, UID_A);
	make_as("other", UID_B, false, 0644);
	make_as("otherdir", UID_B, true, 0700);

	CHECK_INTEQ(remove_without_dac_override(UID_A), 2);
	CHECK(!exists("f"));
	CHECK(!exists("sub"));
	CHECK(exists("other"));
	CHECK(exists("otherdir"));
}

static void test_missing_directory_is_an_error(void)
{
	CHECK_INTEQ(shm_remove_owned("/nonexistent/vx11-shm", UID_A), -ENOENT);
}

int main(void)
{
	char cmd[128];

	snprintf(dir, sizeof dir, "/tmp/vx11-test-shm-%d", (int)getpid());
	if (mkdir(dir, 01777) < 0 || chmod(dir, 01777) < 0)
		return 1;
	TEST(test_removes_the_uids_files_and_directories_only);
	TEST(test_missing_directory_is_an_error);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
