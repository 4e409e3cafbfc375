/* SPDX-License-Identifier: MIT */
/*
 * sandbox/landlock.c: building a daughter's ruleset in the parent, and what
 * a child restricted by it can reach. Children only: the test process itself
 * is never restricted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/landlock.h"
#include "tap.h"
#include "util.h"

static char dir[64];

/* 0 when path opens for reading, else the errno. */
static int try_read(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* In a child restricted by a ruleset of these lists: bit 0 "allowed" read
 * works, bit 1 "denied" read fails with EACCES, bit 2 /dev/null opens. */
static int run_restricted(char *const *read)
{
	LandlockPaths p = { .fs = true, .read = read };
	int fd = -1, status;
	char *error = NULL;
	pid_t pid;

	if (landlock_ruleset_new(&p, landlock_abi(), &fd, NULL, NULL, &error) < 0) {
		printf("# %s\n", error ?: "?");
		free(error);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		char a[128], b[128];
		int r = 0;
		snprintf(a, sizeof a, "%s/allowed/f", dir);
		snprintf(b, sizeof b, "%s/denied/f", dir);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || landlock_restrict(fd) < 0)
			_exit(100);
		if (try_read(a) == 0)
			r |= 1;
		if (try_read(b) == EACCES)
			r |= 2;
		if (try_read("/dev/null") == 0)
			r |= 4;
		_exit(r);
	}
	close(fd);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void test_restricted_child_reaches_only_its_paths(void)
{
	char allowed[96], missing[96];

	if (landlock_abi() < 1)
		SKIP("this kernel has no Landlock");
	snprintf(allowed, sizeof allowed, "%s/allowed", dir);
	snprintf(missing, sizeof missing, "%s/not-there", dir);
	/* A path that does not exist is skipped, not an error. */
	char *read[] = { allowed, missing, NULL };
	CHECK_INTEQ(run_restricted(read), 7);
}

static void test_a_file_takes_file_rights(void)
{
	char file[96];
	LandlockPaths p = { .fs = true };
	char *error = NULL;
	int fd = -1;

	if (landlock_abi() < 1)
		SKIP("this kernel has no Landlock");
	/* write on a file: the directory rights are left out, not an EINVAL. */
	snprintf(file, sizeof file, "%s/allowed/f", dir);
	char *write[] = { file, NULL };
	p.write = write;
	CHECK_INTEQ(landlock_ruleset_new(&p, landlock_abi(), &fd, NULL, NULL, &error), 0);
	if (error)
		printf("# %s\n", error);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	free(error);
}

static void test_no_landlock_is_an_error_saying_so(void)
{
	LandlockPaths p = { .fs = true };
	char *error = NULL;
	int fd = -1;

	CHECK_INTEQ(landlock_ruleset_new(&p, 0, &fd, NULL, NULL, &error), -EOPNOTSUPP);
	CHECK(error && strstr(error, "Landlock is not available"));
	CHECK_INTEQ(fd, -1);
	free(error);
}

int main(void)
{
	char path[128];

	snprintf(dir, sizeof dir, "/tmp/vx11-test-landlock-%d", (int)getpid());
	if (mkdir(dir, 0755) < 0)
		return 1;
	snprintf(path, sizeof path, "%s/allowed", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/denied", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/allowed/f", dir);
	close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
	snprintf(path, sizeof path, "%s/denied/f", dir);
	close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));

	printf("# Landlock ABI %d\n", landlock_abi());
	TEST(test_restricted_child_reaches_only_its_paths);
	TEST(test_a_file_takes_file_rights);
	TEST(test_no_landlock_is_an_error_saying_so);

	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	if (system(path) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
