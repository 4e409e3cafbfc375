/* SPDX-License-Identifier: MIT */
/*
 * The switch client (daemon/plan/switch-client.c) on a real sd_event loop:
 * against the real vx11-switch started here in a temporary directory, and
 * against small fake servers, each a forked child with blocking I/O that
 * misbehaves in one way (never answers, answers garbage, a JSON-RPC error,
 * accepts and closes, answers in reverse order, an over-long line). Timings
 * are measured, not assumed.
 */
#include <errno.h>
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
static sd_event *loop;
static int seq; /* orders callbacks across calls */

/* What one call's callback saw. */
typedef struct Outcome {
	int n;         /* times called: must end at 1 (or 0 when cancelled) */
	char *error;
	char *result;  /* the result as JSON text */
	bool retry;
	uint64_t at;   /* when, monotonic */
	int order;
} Outcome;

static void on_outcome(void *userdata, json_object *result, const char *error, bool retry)
{
	Outcome *o = userdata;

	o->n++;
	o->at = now_monotonic_usec();
	o->order = ++seq;
	o->retry = retry;
	free(o->error);
	free(o->result);
	o->error = error ? strdup(error) : NULL;
	o->result = !error ? strdup(result ? json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN) : "null")
			   : NULL;
}

static void outcome_done(Outcome *o, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(o[i].error);
		free(o[i].result);
		o[i] = (Outcome){ 0 };
	}
}

static bool all_called(const Outcome *o, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (o[i].n == 0)
			return false;
	return true;
}

/* Runs the loop until every outcome is in, or max_ms pass. */
static bool run_until(const Outcome *o, size_t n, unsigned max_ms)
{
	uint64_t end = now_monotonic_usec() + max_ms * USEC_PER_MSEC;

	while (!all_called(o, n) && now_monotonic_usec() < end)
		if (sd_event_run(loop, 10 * USEC_PER_MSEC) < 0)
			return false;
	return all_called(o, n);
}

static void run_for(unsigned ms)
{
	uint64_t end = now_monotonic_usec() + ms * USEC_PER_MSEC;

	while (now_monotonic_usec() < end)
		sd_event_run(loop, 5 * USEC_PER_MSEC);
}

static json_object *P(const char *json)
{
	return json ? json_tokener_parse(json) : NULL;
}

static int call(SwitchClient *c, const char *method, const char *params, Outcome *o, SwitchCall **ret)
{
	return switch_client_call(c, method, P(params), on_outcome, o, ret);
}

static bool starts_with(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static int64_t status_int(SwitchClient *c, const char *key)
{
	_cleanup_json_ json_object *st = switch_client_status(c);
	json_object *v;

	return st && json_object_object_get_ex(st, key, &v) ? json_object_get_int64(v) : -1;
}

static char *sock_path(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", tmpdir, name) < 0)
		abort();
	return p;
}

/* ---- Fake servers: one forked child each, sequential connections. ---- */

typedef enum FakeMode {
	FAKE_SILENT,    /* reads, never answers */
	FAKE_GARBAGE,   /* answers every line with a line that is not JSON */
	FAKE_RPC_ERROR, /* -32601 for every request */
	FAKE_CLOSE,     /* accepts and closes at once */
	FAKE_ECHO,      /* result {"method", "params", "seen": requests so far} */
	FAKE_REVERSE,   /* holds `arg` requests, then answers them last first */
	FAKE_FLAKY,     /* -32000 for the first `arg` requests, then as ECHO */
	FAKE_LONG,      /* answers with a line of SWITCH_ANSWER_MAX + 1 bytes */
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
				case FAKE_ECHO:
					answer(fd, echo_answer(req, seen));
					break;
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

static char *switch_config(void)
{
	_cleanup_free_ char *path = sock_path("switch.json");
	FILE *f = fopen(path, "we");

	if (!f)
		abort();
	fprintf(f, "{\"routes\": [{\"intent_type\": \"analysis*\", \"provider\": \"local-llm\", \"model\": \"m-7b\","
		   " \"approach\": \"split-and-summarise\"}],"
		   " \"default_route\": {\"provider\": \"fallback\", \"approach\": \"direct\"},"
		   " \"providers\": {\"slow\": {\"argv\": [\"/bin/sh\", \"-c\", \"exec sleep 3\"], \"timeout_ms\": 10000}},"
		   " \"default_provider\": \"slow\"}\n");
	fclose(f);
	return TAKE_PTR(path);
}

static void test_real_switch(void)
{
	_cleanup_free_ char *config = switch_config(), *path = sock_path("real.sock");
	Outcome o[4] = { 0 }, late[2] = { 0 };
	SwitchClient *c = NULL;
	pid_t pid = switch_start(config, path);

	CHECK(pid > 0);
	if (pid <= 0)
		return;
	CHECK_INTEQ(switch_client_new(loop, path, 5000, 100, 30 * USEC_PER_SEC, &c), 0);
	/* Pipelined before the loop runs: one connection, three requests. */
	CHECK_INTEQ(call(c, "switch.health", NULL, &o[0], NULL), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{\"intent_type\":\"analysis.logs\",\"text\":\"x\"}", &o[1], NULL), 0);
	CHECK_INTEQ(call(c, "switch.nope", "{}", &o[2], NULL), 0);
	CHECK_INTEQ(o[0].n + o[1].n + o[2].n, 0); /* never from inside the call */
	CHECK(run_until(o, 3, 5000));
	CHECK_STREQ(o[0].result, "{\"status\":\"ok\"}");
	CHECK(o[0].error == NULL);
	CHECK(o[1].result && strstr(o[1].result, "\"provider\":\"local-llm\"") &&
	      strstr(o[1].result, "\"approach\":\"split-and-summarise\"") && strstr(o[1].result, "\"plan_id\""));
	CHECK(starts_with(o[2].error, "switch error -32601: "));
	CHECK(!o[2].retry);
	CHECK_INTEQ(status_int(c, "answered"), 2);
	CHECK_INTEQ(status_int(c, "consecutive_failures"), 1);
	CHECK_STREQ(switch_client_state(c), "closed");

	/* A sub-task slower than the timeout: the caller hears at the deadline. */
	CHECK_INTEQ(switch_client_reconfigure(c, path, 300, 100, 30 * USEC_PER_SEC), 0);
	CHECK_INTEQ(call(c, "switch.subtask",
			 "{\"task_id\":\"t\",\"daughter_id\":\"d\",\"attempt\":1,\"subtask_type\":\"x\",\"payload\":{}}",
			 &o[3], NULL),
		    0);
	CHECK(run_until(&o[3], 1, 2000));
	CHECK_STREQ(o[3].error, "switch timeout after 300 ms");
	CHECK(o[3].retry);

	/* The switch dies with a call in flight: it fails at once; a new switch on
	 * the same socket is reached by the next calls (reconnect after the backoff). */
	CHECK_INTEQ(switch_client_reconfigure(c, path, 5000, 100, 30 * USEC_PER_SEC), 0);
	CHECK_INTEQ(call(c, "switch.subtask",
			 "{\"task_id\":\"t\",\"daughter_id\":\"d\",\"attempt\":1,\"subtask_type\":\"x\",\"payload\":{}}",
			 &late[0], NULL),
		    0);
	run_for(200);
	CHECK_INTEQ(late[0].n, 0);
	stop(pid);
	CHECK(run_until(&late[0], 1, 1000));
	CHECK(starts_with(late[0].error, "switch unavailable: "));
	CHECK(late[0].retry);
	CHECK_INTEQ(status_int(c, "connected"), 0);
	pid = switch_start(config, path);
	CHECK(pid > 0);
	CHECK_INTEQ(call(c, "switch.health", NULL, &late[1], NULL), 0);
	CHECK(run_until(&late[1], 1, 3000));
	CHECK_STREQ(late[1].result, "{\"status\":\"ok\"}");
	CHECK_INTEQ(status_int(c, "consecutive_failures"), 0);
	CHECK_INTEQ(status_int(c, "connected"), 1);

	switch_client_free(c);
	stop(pid);
	outcome_done(o, 4);
	outcome_done(late, 2);
}

static void test_timeout_honoured(void)
{
	_cleanup_free_ char *path = sock_path("silent.sock");
	pid_t pid = fake_start(path, FAKE_SILENT, 0);
	Outcome o[2] = { 0 };
	SwitchClient *c = NULL;
	uint64_t t0;

	CHECK_INTEQ(switch_client_new(loop, path, 500, 100, USEC_PER_SEC, &c), 0);
	t0 = now_monotonic_usec();
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[0], NULL), 0);
	run_for(100);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[1], NULL), 0);
	CHECK(run_until(o, 2, 2000));
	printf("# timeouts after %llu and %llu ms (of 500)\n", (unsigned long long)(o[0].at - t0) / 1000,
	       (unsigned long long)(o[1].at - t0) / 1000);
	CHECK(o[0].at - t0 >= 500 * USEC_PER_MSEC && o[0].at - t0 <= 550 * USEC_PER_MSEC);
	/* Each call has its own deadline, counted from its own start. */
	CHECK(o[1].at - t0 >= 600 * USEC_PER_MSEC && o[1].at - t0 <= 660 * USEC_PER_MSEC);
	CHECK_STREQ(o[0].error, "switch timeout after 500 ms");
	CHECK(o[0].retry && o[1].retry);
	CHECK_INTEQ(status_int(c, "timeouts"), 2);
	CHECK_INTEQ(status_int(c, "consecutive_failures"), 2);
	/* A timeout does not drop the connection. */
	CHECK_INTEQ(status_int(c, "connected"), 1);
	switch_client_free(c);
	stop(pid);
	outcome_done(o, 2);
}

/* A malformed line fails every call in flight at once, counts once, and drops the connection. */
static void test_garbage_answer(void)
{
	_cleanup_free_ char *path = sock_path("garbage.sock");
	pid_t pid = fake_start(path, FAKE_GARBAGE, 0);
	Outcome o[3] = { 0 };
	SwitchClient *c = NULL;

	CHECK_INTEQ(switch_client_new(loop, path, 2000, 10, USEC_PER_SEC, &c), 0);
	for (int i = 0; i < 3; i++)
		CHECK_INTEQ(call(c, "switch.plan", "{}", &o[i], NULL), 0);
	CHECK(run_until(o, 3, 1000));
	for (int i = 0; i < 3; i++) {
		CHECK_STREQ(o[i].error, "switch malformed answer: not JSON");
		CHECK(!o[i].retry);
		CHECK(o[i].at - o[0].at < 50 * USEC_PER_MSEC);
	}
	CHECK_INTEQ(status_int(c, "consecutive_failures"), 1);
	CHECK_INTEQ(status_int(c, "connected"), 0);
	CHECK_INTEQ(status_int(c, "in_flight"), 0);
	switch_client_free(c);
	stop(pid);
	outcome_done(o, 3);
}

static void test_long_line(void)
{
	_cleanup_free_ char *path = sock_path("long.sock");
	pid_t pid = fake_start(path, FAKE_LONG, 0);
	Outcome o[2] = { 0 };
	SwitchClient *c = NULL;

	CHECK_INTEQ(switch_client_new(loop, path, 5000, 10, USEC_PER_SEC, &c), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[0], NULL), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[1], NULL), 0);
	CHECK(run_until(o, 2, 4000));
	CHECK_STREQ(o[0].error, "switch malformed answer: a line longer than 1048576 bytes");
	CHECK_STREQ(o[1].error, o[0].error);
	CHECK_INTEQ(status_int(c, "connected"), 0);
	switch_client_free(c);
	stop(pid);
	outcome_done(o, 2);
}

static void test_rpc_error(void)
{
	_cleanup_free_ char *path = sock_path("error.sock");
	pid_t pid = fake_start(path, FAKE_RPC_ERROR, 0);
	Outcome o[2] = { 0 };
	SwitchClient *c = NULL;
	json_object *st, *v;

	CHECK_INTEQ(switch_client_new(loop, path, 2000, 10, USEC_PER_SEC, &c), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[0], NULL), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[1], NULL), 0);
	CHECK(run_until(o, 2, 1000));
	CHECK_STREQ(o[0].error, "switch error -32601: Method not found");
	CHECK_STREQ(o[1].error, "switch error -32601: Method not found");
	CHECK(!o[0].retry);
	/* Each error answer is a failure; the connection stays. */
	st = switch_client_status(c);
	CHECK(st);
	if (st) {
		CHECK(json_object_object_get_ex(st, "consecutive_failures", &v) && json_object_get_int(v) == 2);
		CHECK(json_object_object_get_ex(st, "last_error", &v) &&
		      streq(json_object_get_string(v), "switch error -32601: Method not found"));
		CHECK(json_object_object_get_ex(st, "connected", &v) && json_object_get_boolean(v));
		CHECK(json_object_object_get_ex(st, "socket", &v) && streq(json_object_get_string(v), path));
		CHECK(json_object_object_get_ex(st, "state", &v) && streq(json_object_get_string(v), "closed"));
		CHECK(json_object_object_get_ex(st, "requests", &v) && json_object_get_int(v) == 2);
		json_object_put(st);
	}
	switch_client_free(c);
	stop(pid);
	outcome_done(o, 2);
}

static void test_accept_then_close(void)
{
	_cleanup_free_ char *path = sock_path("close.sock");
	pid_t pid = fake_start(path, FAKE_CLOSE, 0);
	Outcome o[2] = { 0 };
	SwitchClient *c = NULL;

	CHECK_INTEQ(switch_client_new(loop, path, 2000, 10, USEC_PER_SEC, &c), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[0], NULL), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[1], NULL), 0);
	CHECK(run_until(o, 2, 1000));
	/* Closed, or reset when the request was still unread. */
	CHECK(starts_with(o[0].error, "switch unavailable: connection "));
	CHECK_STREQ(o[1].error, o[0].error);
	CHECK(o[0].retry);
	CHECK_INTEQ(status_int(c, "consecutive_failures"), 1);
	switch_client_free(c);
	stop(pid);
	outcome_done(o, 2);
}

/* Nobody listens: each attempt is one failure; during the backoff a call
 * that can wait for the next attempt waits, one that cannot fails at once. */
static void test_unavailable(void)
{
	_cleanup_free_ char *missing = sock_path("missing.sock"), *dead = sock_path("dead.sock");
	Outcome o[4] = { 0 };
	SwitchClient *c = NULL;
	uint64_t t0;

	close(listen_on(dead)); /* the file stays, nobody listens */
	CHECK_INTEQ(switch_client_new(loop, missing, 2000, 10, USEC_PER_SEC, &c), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[0], NULL), 0);
	CHECK(run_until(&o[0], 1, 1000));
	CHECK_STREQ(o[0].error, "switch unavailable: no such file or directory");
	CHECK(o[0].retry);
	CHECK_INTEQ(status_int(c, "consecutive_failures"), 1);

	CHECK_INTEQ(switch_client_reconfigure(c, dead, 2000, 10, USEC_PER_SEC), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[1], NULL), 0);
	CHECK(run_until(&o[1], 1, 1000));
	CHECK_STREQ(o[1].error, "switch unavailable: connection refused");
	CHECK_INTEQ(status_int(c, "consecutive_failures"), 1); /* a new socket starts afresh */
	/* The next attempt is 100 ms away, within the deadline: the call waits for it. */
	t0 = now_monotonic_usec();
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[2], NULL), 0);
	CHECK(run_until(&o[2], 1, 1000));
	CHECK_STREQ(o[2].error, "switch unavailable: connection refused");
	CHECK(o[2].at - t0 >= 90 * USEC_PER_MSEC);
	CHECK_INTEQ(status_int(c, "consecutive_failures"), 2);
	/* Now 200 ms away, beyond a 50 ms deadline: at once, and not counted. */
	CHECK_INTEQ(switch_client_reconfigure(c, dead, 50, 10, USEC_PER_SEC), 0);
	t0 = now_monotonic_usec();
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[3], NULL), 0);
	CHECK(run_until(&o[3], 1, 1000));
	CHECK_STREQ(o[3].error, "switch unavailable: connection refused");
	CHECK(o[3].at - t0 < 30 * USEC_PER_MSEC);
	CHECK_INTEQ(status_int(c, "consecutive_failures"), 2);
	CHECK_INTEQ(status_int(c, "rejected"), 1);
	switch_client_free(c);
	outcome_done(o, 4);
}

/* Closed -> open after N failures -> fails fast -> half open after the
 * cooldown -> a failed probe opens it again -> a good probe closes it. The
 * fake counts what reaches it: nothing while the breaker is open. */
static void test_breaker(void)
{
	_cleanup_free_ char *path = sock_path("flaky.sock");
	pid_t pid = fake_start(path, FAKE_FLAKY, 4);
	Outcome o[9] = { 0 };
	SwitchClient *c = NULL;
	uint64_t t0, opened;

	CHECK_INTEQ(switch_client_new(loop, path, 2000, 3, USEC_PER_SEC, &c), 0);
	for (int i = 0; i < 3; i++) {
		CHECK_STREQ(switch_client_state(c), "closed");
		CHECK_INTEQ(call(c, "switch.plan", "{}", &o[i], NULL), 0);
		CHECK(run_until(&o[i], 1, 1000));
		CHECK_STREQ(o[i].error, "switch error -32000: not yet");
	}
	opened = now_monotonic_usec();
	CHECK_STREQ(switch_client_state(c), "open");
	CHECK_INTEQ(status_int(c, "consecutive_failures"), 3);

	/* Open: at once, retry true, nothing sent. */
	t0 = now_monotonic_usec();
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[3], NULL), 0);
	CHECK_INTEQ(o[3].n, 0);
	CHECK(run_until(&o[3], 1, 1000));
	CHECK_STREQ(o[3].error, "switch circuit open");
	CHECK(o[3].retry);
	CHECK(o[3].at - t0 < 30 * USEC_PER_MSEC);
	CHECK_INTEQ(status_int(c, "consecutive_failures"), 3);
	run_for(700);
	CHECK_STREQ(switch_client_state(c), "open");

	/* After the cooldown: half open; one probe goes, the call beside it does not. */
	while (now_monotonic_usec() < opened + USEC_PER_SEC + 20 * USEC_PER_MSEC)
		run_for(10);
	CHECK_STREQ(switch_client_state(c), "half_open");
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[4], NULL), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[5], NULL), 0);
	CHECK(run_until(&o[4], 2, 1000));
	CHECK_STREQ(o[5].error, "switch circuit open");
	CHECK_STREQ(o[4].error, "switch error -32000: not yet"); /* the fake's 4th request */
	opened = now_monotonic_usec();
	CHECK_STREQ(switch_client_state(c), "open");

	while (now_monotonic_usec() < opened + USEC_PER_SEC + 20 * USEC_PER_MSEC)
		run_for(10);
	CHECK_STREQ(switch_client_state(c), "half_open");
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[6], NULL), 0);
	CHECK(run_until(&o[6], 1, 1000));
	/* The 5th request to reach the fake: the two calls refused never did. */
	CHECK(o[6].result && strstr(o[6].result, "\"seen\":5"));
	CHECK_STREQ(switch_client_state(c), "closed");
	CHECK_INTEQ(status_int(c, "consecutive_failures"), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[7], NULL), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[8], NULL), 0);
	CHECK(run_until(&o[7], 2, 1000));
	CHECK(o[7].result && strstr(o[7].result, "\"seen\":6"));
	CHECK(o[8].result && strstr(o[8].result, "\"seen\":7"));
	CHECK_INTEQ(status_int(c, "rejected"), 2);
	switch_client_free(c);
	stop(pid);
	outcome_done(o, 9);
}

static void test_out_of_order(void)
{
	_cleanup_free_ char *path = sock_path("reverse.sock");
	pid_t pid = fake_start(path, FAKE_REVERSE, 5);
	Outcome o[5] = { 0 };
	SwitchClient *c = NULL;

	CHECK_INTEQ(switch_client_new(loop, path, 2000, 3, USEC_PER_SEC, &c), 0);
	for (int i = 0; i < 5; i++) {
		char params[32];

		snprintf(params, sizeof(params), "{\"i\":%d}", i);
		CHECK_INTEQ(call(c, i % 2 ? "switch.plan" : "switch.subtask", params, &o[i], NULL), 0);
	}
	CHECK(run_until(o, 5, 1000));
	for (int i = 0; i < 5; i++) {
		char want[96];

		snprintf(want, sizeof(want), "{\"method\":\"%s\",\"params\":{\"i\":%d},\"seen\":%d}",
			 i % 2 ? "switch.plan" : "switch.subtask", i, i + 1);
		CHECK_STREQ(o[i].result, want);
		CHECK_INTEQ(o[i].n, 1);
		if (i > 0)
			CHECK(o[i].order < o[i - 1].order); /* answered last first */
	}
	switch_client_free(c);
	stop(pid);
	outcome_done(o, 5);
}

/* A cancelled call never calls back, answered or timed out; its outcome
 * still counts. */
static void test_cancel(void)
{
	_cleanup_free_ char *echo = sock_path("echo.sock"), *silent = sock_path("silent2.sock");
	pid_t p1 = fake_start(echo, FAKE_ECHO, 0), p2 = fake_start(silent, FAKE_SILENT, 0);
	Outcome o[4] = { 0 };
	SwitchClient *c = NULL;
	SwitchCall *a = NULL, *b = NULL;

	CHECK_INTEQ(switch_client_new(loop, echo, 200, 10, USEC_PER_SEC, &c), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{\"n\":0}", &o[0], &a), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{\"n\":1}", &o[1], NULL), 0);
	CHECK(a);
	switch_call_cancel(a);
	CHECK(run_until(&o[1], 1, 1000));
	run_for(100);
	CHECK_INTEQ(o[0].n, 0);
	CHECK(o[1].result && strstr(o[1].result, "\"n\":1"));
	CHECK_INTEQ(status_int(c, "answered"), 2);

	CHECK_INTEQ(switch_client_reconfigure(c, silent, 200, 10, USEC_PER_SEC), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[2], &b), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[3], NULL), 0);
	switch_call_cancel(b);
	CHECK(run_until(&o[3], 1, 1000));
	run_for(100);
	CHECK_INTEQ(o[2].n, 0);
	CHECK_STREQ(o[3].error, "switch timeout after 200 ms");
	CHECK_INTEQ(status_int(c, "timeouts"), 2);
	switch_call_cancel(NULL);
	switch_client_free(c);
	stop(p1);
	stop(p2);
	outcome_done(o, 4);
}

/* Free: every call still outstanding hears "stopping" before it returns, except a cancelled one. */
static void test_free_stopping(void)
{
	_cleanup_free_ char *path = sock_path("silent3.sock");
	pid_t pid = fake_start(path, FAKE_SILENT, 0);
	Outcome o[4] = { 0 };
	SwitchClient *c = NULL;
	SwitchCall *x = NULL;

	CHECK_INTEQ(switch_client_new(loop, path, 5000, 1, 30 * USEC_PER_SEC, &c), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[0], NULL), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[1], NULL), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[2], &x), 0);
	switch_call_cancel(x);
	run_for(100); /* sent, unanswered */
	CHECK_INTEQ(status_int(c, "in_flight"), 3);
	CHECK_INTEQ(status_int(c, "connected"), 1);
	CHECK_INTEQ(o[0].n + o[1].n + o[2].n, 0);
	switch_client_free(c);
	CHECK_INTEQ(o[0].n, 1);
	CHECK_INTEQ(o[1].n, 1);
	CHECK_INTEQ(o[2].n, 0);
	CHECK_STREQ(o[0].error, "stopping");
	CHECK_STREQ(o[1].error, "stopping");
	CHECK(!o[0].retry);
	run_for(50);
	CHECK_INTEQ(o[0].n, 1);
	CHECK(switch_client_free(NULL) == NULL);
	stop(pid);
	outcome_done(o, 4);
}

/* A new socket: calls in flight fail from the loop, not inside reconfigure;
 * the breaker starts afresh; the next call goes to the new switch. */
static void test_reconfigure_socket(void)
{
	_cleanup_free_ char *silent = sock_path("silent4.sock"), *echo = sock_path("echo2.sock");
	pid_t p1 = fake_start(silent, FAKE_SILENT, 0), p2 = fake_start(echo, FAKE_ECHO, 0);
	Outcome o[3] = { 0 };
	SwitchClient *c = NULL;
	SwitchCall *x = NULL;

	CHECK_INTEQ(switch_client_new(loop, silent, 100, 1, 30 * USEC_PER_SEC, &c), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[0], NULL), 0);
	CHECK(run_until(&o[0], 1, 1000));
	CHECK_STREQ(switch_client_state(c), "open");
	CHECK_INTEQ(switch_client_reconfigure(c, silent, 5000, 1, 30 * USEC_PER_SEC), 0);
	CHECK_STREQ(switch_client_state(c), "open"); /* same socket: it stays open */
	CHECK_INTEQ(switch_client_reconfigure(c, silent, 5000, 5, 30 * USEC_PER_SEC), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[1], &x), 0);
	CHECK(x && o[1].n == 0); /* not from inside the call */
	run_until(&o[1], 1, 100);
	CHECK_STREQ(o[1].error, "switch circuit open");

	CHECK_INTEQ(switch_client_reconfigure(c, echo, 5000, 5, 30 * USEC_PER_SEC), 0);
	CHECK_STREQ(switch_client_state(c), "closed");
	CHECK_INTEQ(call(c, "switch.plan", "{\"k\":1}", &o[2], NULL), 0);
	CHECK(run_until(&o[2], 1, 1000));
	CHECK(o[2].result && strstr(o[2].result, "\"k\":1"));
	switch_client_free(c);

	/* In flight when the socket changes. */
	outcome_done(o, 3);
	CHECK_INTEQ(switch_client_new(loop, silent, 5000, 1, 30 * USEC_PER_SEC, &c), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[0], NULL), 0);
	run_for(100);
	CHECK_INTEQ(switch_client_reconfigure(c, echo, 5000, 1, 30 * USEC_PER_SEC), 0);
	CHECK_INTEQ(o[0].n, 0);
	CHECK(run_until(&o[0], 1, 1000));
	CHECK_STREQ(o[0].error, "switch unavailable: socket changed");
	CHECK_INTEQ(status_int(c, "consecutive_failures"), 0);
	CHECK_STREQ(switch_client_state(c), "closed");
	switch_client_free(c);
	stop(p1);
	stop(p2);
	outcome_done(o, 3);
}

static void test_bad_arguments(void)
{
	SwitchClient *c = NULL;
	char longpath[120];

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	CHECK_INTEQ(switch_client_new(loop, "rel.sock", 1, 1, 1, &c), -EINVAL);
	CHECK_INTEQ(switch_client_new(loop, longpath, 1, 1, 1, &c), -EINVAL);
	CHECK_INTEQ(switch_client_new(loop, "/x.sock", 0, 1, 1, &c), -EINVAL);
	CHECK_INTEQ(switch_client_new(loop, "/x.sock", 1, 0, 1, &c), -EINVAL);
	CHECK(c == NULL);
	CHECK_INTEQ(switch_client_new(loop, "/x.sock", 1, 1, 1, &c), 0);
	CHECK_INTEQ(switch_client_call(c, "", P("{}"), on_outcome, NULL, NULL), -EINVAL);
	CHECK_INTEQ(switch_client_reconfigure(c, "x", 1, 1, 1), -EINVAL);
	CHECK_INTEQ(status_int(c, "requests"), 0);
	switch_client_free(c);
}

int main(void)
{
	sigset_t mask;

	if (!mkdtemp(tmpdir))
		abort();
	/* A dead fake's socket must not kill the test with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	if (sd_event_new(&loop) < 0)
		abort();

	TEST(test_bad_arguments);
	TEST(test_real_switch);
	TEST(test_timeout_honoured);
	TEST(test_garbage_answer);
	TEST(test_long_line);
	TEST(test_rpc_error);
	TEST(test_accept_then_close);
	TEST(test_unavailable);
	TEST(test_breaker);
	TEST(test_out_of_order);
	TEST(test_cancel);
	TEST(test_free_stopping);
	TEST(test_reconfigure_socket);

	sd_event_unref(loop);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", tmpdir);
	}
	return tap_done();
}
