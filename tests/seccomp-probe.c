/* SPDX-License-Identifier: MIT */
/*
 * Helper for tests/unit/test-seccomp-shipped: it loads a filter in a child
 * and execs this program, as vx11d execs a daughter, so each check runs in a
 * fresh glibc process under the inherited filter. It performs the one check
 * named by argv[1] and prints "ok" or the errno's name ("EPERM"), then exits 0;
 * it exits 2 on a bad invocation. It ends with a bare exit_group(2): in a
 * sanitizer build, exit(), _exit() and the hook before any noreturn call do
 * work (a leak check, sigaltstack, mmap) that the filter under test may refuse.
 * Should the filter refuse exit_group itself, it traps (SIGILL): a forked
 * probe must never carry on as a second copy.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int finish(int code)
{
	fflush(stdout);
	fflush(stderr);
	syscall(SYS_exit_group, code);
	__builtin_trap();
}

static void *thread_main(void *arg)
{
	return arg;
}

/* Each returns 0 or an errno. */
static int check_pthread(void)
{
	static int token;
	pthread_t t;
	void *ret = NULL;
	int r;

	/* glibc tries clone3 first and falls back to clone on ENOSYS. */
	r = pthread_create(&t, NULL, thread_main, &token);
	if (r != 0)
		return r;
	r = pthread_join(t, &ret);
	if (r != 0)
		return r;
	return ret == &token ? 0 : EPROTO;
}

static int check_clone3(void)
{
	/* No arguments: without a filter the kernel answers EINVAL. */
	return syscall(SYS_clone3, NULL, 0) < 0 ? errno : 0;
}

static int check_fork(void)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return errno;
	if (pid == 0)
		return finish(0);
	if (waitpid(pid, &status, 0) < 0)
		return errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : ECHILD;
}

static int check_socket(int family)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int check_socket_inet(void)
{
	return check_socket(AF_INET);
}

static int check_socket_unix(void)
{
	return check_socket(AF_UNIX);
}

static int check_unshare_user(void)
{
	return unshare(CLONE_NEWUSER) < 0 ? errno : 0;
}

static const struct {
	const char *name;
	int (*fn)(void);
} checks[] = {
	{ "pthread", check_pthread },
	{ "clone3", check_clone3 },
	{ "fork", check_fork },
	{ "socket-inet", check_socket_inet },
	{ "socket-unix", check_socket_unix },
	{ "unshare-user", check_unshare_user },
};

int main(int argc, char *argv[])
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CHECK\n", argv[0]);
		return finish(2);
	}
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (strcmp(checks[i].name, argv[1]) == 0) {
			int e = checks[i].fn();

			printf("%s\n", e == 0 ? "ok" : strerrorname_np(e) ?: "unknown");
			return finish(0);
		}
	fprintf(stderr, "%s: unknown check \"%s\"\n", argv[0], argv[1]);
	return finish(2);
}
