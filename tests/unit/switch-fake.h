/* SPDX-License-Identifier: MIT */
/*
 * Servers for test-switch-client.c to talk to: small fakes, each a forked
 * child with blocking I/O that serves one connection after another and
 * misbehaves in one way, and the real vx11-switch. The sockets are bound
 * before the fork, so a client may connect at once.
 */
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json-util.h"
#include "plan/switch-client.h"
#include "tap.h"
#include "util.h"

#ifndef VX11_SWITCH_BIN
#error "VX11_SWITCH_BIN: the path of the built vx11-switch"
#endif

static char tmpdir[] = "/tmp/vx11-test-switch-client-XXXXXX";

static char *sock_path(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", tmpdir, name) < 0)
		abort();
	return p;
}

typedef enum FakeMode {
	FAKE_SILENT,    /* reads, never answers */
	FAKE_GARBAGE,   /* answers every line with a line that is not JSON */
	FAKE_RPC_ERROR, /* -32601 for every request */
	FAKE_CLOSE,     /* accepts and closes at once */
	FAKE_ECHO,      /* result {"method", "params", "seen": requests so far} */
	FAKE_REVERSE,   /* holds `arg` requests, then answers them last first */
	FAKE_FLAKY,     /* -32000 for the first `arg` requests, then as ECHO */
	FAKE_LONG,      /* answers with a line of SWITCH_ANSWER_MAX + 1 bytes */
	FAKE_SLOW,      /* as ECHO, each answer `arg` ms late */
	FAKE_NULL,      /* "result": null */
} FakeMode;

static void write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

static void answer(int fd, json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	write_all(fd, s, strlen(s));
	write_all(fd, "\n", 1);
	json_object_put(o);
}

static json_object *echo_answer(json_object *req, int seen)
{
	json_object *res = json_object_new_object(), *v, *o = json_object_new_object();

	json_object_object_get_ex(req, "method", &v);
	json_object_object_add(res, "method", json_object_get(v));
	if (json_object_object_get_ex(req, "params", &v))
		json_object_object_add(res, "params", json_object_get(v));
	json_object_object_add(res, "seen", json_object_new_int(seen));
	json_object_object_get_ex(req, "id", &v);
	json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(o, "id", json_object_get(v));
	json_object_object_add(o, "result", res);
	return o;
}

static json_object *error_answer(json_object *req, int code, const char *message)
{
	json_object *o = json_object_new_object(), *err = json_object_new_object(), *v;

	json_object_object_get_ex(req, "id", &v);
	json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(o, "id", json_object_get(v));
	json_object_object_add(err, "code", json_object_new_int(code));
	json_object_object_add(err, "message", json_object_new_string(message));
	json_object_object_add(o, "error", err);
	return o;
}

static _Noreturn void fake_serve(int lfd, FakeMode mode, int arg)
{
	static char buf[64 * 1024];
	json_object *held[64];
	int seen = 0, n_held = 0;

	for (;;) {
		size_t len = 0;
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			_exit(1);
		if (mode == FAKE_CLOSE) {
			close(fd);
			continue;
		}
		for (;;) {
			ssize_t n = read(fd, buf + len, sizeof(buf) - len - 1);
			char *nl;

			if (n <= 0)
				break;
			len += (size_t)n;
			while ((nl = memchr(buf, '\n', len))) {
				json_object *req;

				*nl = '\0';
				req = json_tokener_parse(buf);
				len -= (size_t)(nl + 1 - buf);
				memmove(buf, nl + 1, len);
				seen++;
				if (!req)
					continue;
				switch (mode) {
				case FAKE_GARBAGE:
					write_all(fd, "this is not JSON\n", 17);
					break;
				case FAKE_RPC_ERROR:
					answer(fd, error_answer(req, -32601, "Method not found"));
					break;
				case FAKE_FLAKY:
					answer(fd, seen <= arg ? error_answer(req, -32000, "not yet") : echo_answer(req, seen));
					break;
				case FAKE_SLOW:
					usleep((useconds_t)arg * 1000U);
					__attribute__((fallthrough));
				case FAKE_ECHO:
					answer(fd, echo_answer(req, seen));
					break;
				case FAKE_NULL: {
					json_object *o = echo_answer(req, seen);

					json_object_object_add(o, "result", NULL);
					answer(fd, o);
					break;
				}
				case FAKE_REVERSE:
					held[n_held++] = echo_answer(req, seen);
					if (n_held == arg)
						while (n_held > 0)
							answer(fd, held[--n_held]);
					break;
				case FAKE_LONG: {
					char *big = malloc(SWITCH_ANSWER_MAX + 2);

					memset(big, 'x', SWITCH_ANSWER_MAX + 1);
					big[SWITCH_ANSWER_MAX + 1] = '\n';
					write_all(fd, big, SWITCH_ANSWER_MAX + 2);
					free(big);
					break;
				}
				default:
					break;
				}
				json_object_put(req);
			}
		}
		close(fd);
	}
}

/* A socket bound and listening before the fork, so a client may connect at once. */
static int listen_on(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	unlink(path);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0)
		abort();
	return fd;
}

static pid_t fake_start(const char *path, FakeMode mode, int arg)
{
	int lfd = listen_on(path);
	pid_t pid = fork();

	if (pid < 0)
		abort();
	if (pid == 0)
		fake_serve(lfd, mode, arg);
	close(lfd);
	return pid;
}

static void stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* ---- The real vx11-switch. ---- */

static pid_t switch_start(const char *config, const char *path)
{
	_cleanup_free_ char *log = sock_path("switch.log");
	uint64_t end = now_monotonic_usec() + 10 * USEC_PER_SEC;
	pid_t pid = fork();

	if (pid < 0)
		abort();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		execl(VX11_SWITCH_BIN, "vx11-switch", "--config", config, "--socket", path, "--log-target", "stderr",
		      (char *)NULL);
		_exit(127);
	}
	/* Ready when it accepts a connection. */
	while (now_monotonic_usec() < end) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool up;

		snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
		up = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		close(fd);
		if (up)
			return pid;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		usleep(20000);
	}
	stop(pid);
	return -1;
}

