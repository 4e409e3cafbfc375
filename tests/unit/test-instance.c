/* SPDX-License-Identifier: MIT */
/*
 * core/instance.c: names (an instance's, a node's), the default name of a
 * state dir and of a node, the state-dir lock that keeps a second daemon off
 * it (naming the first one's pid), and whether daughters can reach a
 * directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/instance.h"
#include "tap.h"
#include "util.h"

static char base[64];

static void test_names(void)
{
	CHECK(instance_name_valid("default"));
	CHECK(instance_name_valid("a-b_C9"));
	CHECK(!instance_name_valid(""));
	CHECK(!instance_name_valid("-x"));
	CHECK(!instance_name_valid("a/b"));
	CHECK(!instance_name_valid(".."));
	CHECK(!instance_name_valid("012345678901234567890123456789012"));
	CHECK(instance_name_valid("01234567890123456789012345678901"));
}

static void test_node_names(void)
{
	char host[256] = "", node[NODE_NAME_MAX + 1];
	int r;

	CHECK(node_name_valid("alpha"));
	CHECK(node_name_valid("web-1.example.org"));
	CHECK(node_name_valid("-a_b."));
	CHECK(!node_name_valid(""));
	CHECK(!node_name_valid("a/b"));
	CHECK(!node_name_valid("a b"));
	CHECK(!node_name_valid("caf\xc3\xa9"));
	CHECK(node_name_valid("012345678901234567890123456789012345678901234567890123456789012"));
	CHECK(!node_name_valid("0123456789012345678901234567890123456789012345678901234567890123"));
	/* The default is the host name, when it is a valid one. */
	CHECK_INTEQ(gethostname(host, sizeof host), 0);
	r = node_name_default(node);
	if (node_name_valid(host)) {
		CHECK_INTEQ(r, 0);
		CHECK_STREQ(node, host);
	} else
		CHECK_INTEQ(r, 1);
	CHECK(node_name_valid(node));
	/* A host name that is not a node name still gives one (a VM's "(none)"). */
	CHECK_INTEQ(node_name_from_host("web-1.example.org", node), 0);
	CHECK_STREQ(node, "web-1.example.org");
	CHECK_INTEQ(node_name_from_host("(none)", node), 1);
	CHECK_STREQ(node, "localhost");
	CHECK_INTEQ(node_name_from_host("", node), 1);
	CHECK_STREQ(node, "localhost");
	CHECK_INTEQ(node_name_from_host("caf\xc3\xa9 b", node), 1);
	CHECK_STREQ(node, "caf---b");
	CHECK_INTEQ(node_name_from_host("0123456789012345678901234567890123456789012345678901234567890123", node), 1);
	CHECK_STREQ(node, "012345678901234567890123456789012345678901234567890123456789012");
}

static void test_default_names(void)
{
	char a[160], b[160], na[INSTANCE_NAME_MAX + 1], nb[INSTANCE_NAME_MAX + 1], n2[INSTANCE_NAME_MAX + 1];

	snprintf(a, sizeof a, "%s/a", base);
	snprintf(b, sizeof b, "%s/b", base);
	CHECK(mkdir(a, 0700) == 0 && mkdir(b, 0700) == 0);
	CHECK_INTEQ(instance_name_default(a, "/nonexistent", na), 0);
	CHECK_INTEQ(instance_name_default(b, "/nonexistent", nb), 0);
	CHECK(instance_name_valid(na) && instance_name_valid(nb));
	CHECK(strcmp(na, nb) != 0);
	/* Stable, whatever way the same directory is named. */
	snprintf(b, sizeof b, "%s/b/../a/", base);
	CHECK_INTEQ(instance_name_default(b, "/nonexistent", n2), 0);
	CHECK_STREQ(n2, na);
	/* The system's own state dir is "default". */
	CHECK_INTEQ(instance_name_default(a, b, n2), 0);
	CHECK_STREQ(n2, "default");
	CHECK_INTEQ(instance_name_default("/nonexistent/x", "/nonexistent", n2), -ENOENT);
}

static void test_state_dir_lock(void)
{
	pid_t holder = -1;
	int fd = instance_lock_state_dir(base, "one", &holder);

	CHECK(fd >= 0);
	/* A second daemon (another open file: its own lock) is refused, and told who runs. */
	CHECK_INTEQ(instance_lock_state_dir(base, "two", &holder), -EBUSY);
	CHECK_INTEQ(holder, getpid());
	close(fd);
	fd = instance_lock_state_dir(base, "two", &holder);
	CHECK(fd >= 0);
	close(fd);
}

static void test_name_lock(void)
{
	char dir[160];
	pid_t holder = -1;
	int fd, fd2;

	snprintf(dir, sizeof dir, "%s/names", base);
	fd = instance_lock_name(dir, "one", "/var/lib/a", &holder);
	CHECK(fd >= 0);
	/* The same name from another state dir: refused, naming the holder. */
	CHECK_INTEQ(instance_lock_name(dir, "one", "/var/lib/b", &holder), -EBUSY);
	CHECK_INTEQ(holder, getpid());
	fd2 = instance_lock_name(dir, "two", "/var/lib/b", &holder);
	CHECK(fd2 >= 0);
	close(fd2);
	/* A daemon that stops removes its file; one that opened it just
	 * before gets a lock on a file of its own, not on the removed one. */
	char path[192];
	snprintf(path, sizeof path, "%s/one", dir);
	int early = open(path, O_RDWR | O_CLOEXEC);
	instance_unlock_name(dir, "one", fd);
	CHECK(access(path, F_OK) < 0);
	CHECK(fcntl(early, F_OFD_SETLK, &(struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET}) == 0);
	fd = instance_lock_name(dir, "one", "/var/lib/b", &holder);
	CHECK(fd >= 0);
	CHECK(access(path, F_OK) == 0);
	close(early);
	instance_unlock_name(dir, "one", fd);
}

static void test_reachable(void)
{
	char d[160];

	snprintf(d, sizeof d, "%s/open/run", base);
	CHECK(mkdir_p(d, 0755) == 0);
	CHECK(chmod(base, 0755) == 0);
	CHECK(instance_dir_reachable(d));
	/* One directory on the way that others cannot search is enough. */
	CHECK(chmod(base, 0700) == 0);
	CHECK(!instance_dir_reachable(d));
	CHECK(!instance_dir_reachable(base));
	CHECK(instance_dir_reachable("/"));
}

static void test_runtime_dir(void)
{
	char sock[160], exp[160], own[64], name[32];
	char *d1 = NULL, *d2 = NULL;
	int f1, f2;

	CHECK(chmod(base, 0755) == 0);
	snprintf(exp, sizeof exp, "%s/rt", base);
	f1 = instance_runtime_dir("/unused.sock", exp, "one", &d1);
	CHECK(f1 >= 0);
	CHECK_STREQ(d1, exp);
	/* Asked for explicitly and in use: refused, never shared. */
	CHECK_INTEQ(instance_runtime_dir("/unused.sock", exp, "two", &d2), -EBUSY);
	CHECK(d2 == NULL);

	/* By default beside the socket; in use there, root's own under /run/vx11. */
	snprintf(sock, sizeof sock, "%s/rt/vx11.sock", base);
	if (geteuid() != 0) {
		close(f1);
		free(d1);
		SKIP("needs root (/run/vx11)");
	}
	snprintf(name, sizeof name, "vx11-test-%d", (int)getpid());
	snprintf(own, sizeof own, "/run/vx11/%s", name);
	f2 = instance_runtime_dir(sock, NULL, name, &d2);
	CHECK(f2 >= 0);
	CHECK_STREQ(d2, own);
	/* Its own, made for it: gone at the end (not someone else's). */
	instance_runtime_dir_done(d2, name, f2);
	CHECK(access(own, F_OK) < 0 && errno == ENOENT);
	free(d2);
	instance_runtime_dir_done(d1, name, f1);
	CHECK(access(exp, F_OK) == 0);
	free(d1);
	/* Free again: beside the socket. */
	f2 = instance_runtime_dir(sock, NULL, name, &d2);
	CHECK_STREQ(d2, exp);
	close(f2);
	free(d2);
	snprintf(sock, sizeof sock, "rm -rf '%s'", own);
	CHECK(system(sock) == 0);
}

int main(void)
{
	char cmd[128];

	snprintf(base, sizeof base, "/tmp/vx11-test-instance-%d", (int)getpid());
	if (mkdir(base, 0700) < 0)
		return 1;
	TEST(test_names);
	TEST(test_node_names);
	TEST(test_default_names);
	TEST(test_state_dir_lock);
	TEST(test_name_lock);
	TEST(test_reachable);
	TEST(test_runtime_dir);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", base);
	return tap_done();
}
