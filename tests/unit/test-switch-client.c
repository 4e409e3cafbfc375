/* SPDX-License-Identifier: MIT */
/*
 * The switch client (daemon/plan/switch-client.c) on a real sd_event loop:
 * against the real vx11-switch started here in a temporary directory, and
 * against small fake servers (switch-fake.h), each a forked child that
 * misbehaves in one way (never answers, answers garbage, late, null, a
 * JSON-RPC error, accepts and closes, answers in reverse order, an over-long
 * line). Timings are measured, not assumed. The wire (switch-wire.c) alone.
 */
#include <errno.h>

#include "plan/switch-wire.h"
#include "switch-fake.h"

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

/* Runs the loop until every outcome is in, or max_ms pass. It sleeps until
 * something happens, as the daemon's loop does: no polling that would fire
 * a late timer on time by chance. */
static bool run_until(const Outcome *o, size_t n, unsigned max_ms)
{
	uint64_t end = now_monotonic_usec() + max_ms * USEC_PER_MSEC, now;

	while (!all_called(o, n) && (now = now_monotonic_usec()) < end)
		if (sd_event_run(loop, end - now) < 0)
			return false;
	return all_called(o, n);
}

static void run_for(unsigned ms)
{
	uint64_t end = now_monotonic_usec() + ms * USEC_PER_MSEC, now;

	while ((now = now_monotonic_usec()) < end)
		sd_event_run(loop, end - now);
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
	CHECK_STREQ(o[0].error, "switch malformed answer: a line longer than 4194304 bytes");
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

/* A well-formed answer, 7 the highest id sent. */
static int parse(const char *line, SwitchAnswer *a)
{
	const char *why = NULL;

	return switch_answer_parse(line, strlen(line), 7, a, &why);
}

/* Every malformed shape of an answer, and the well-formed ones, without a socket. */
static void test_wire(void)
{
	static const struct {
		const char *line, *why;
	} bad[] = {
		{ "hello", "not JSON" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1} x", "not JSON" },
		{ "{'jsonrpc':'2.0','id':1,'result':1}", "not JSON" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":NaN}", "not JSON" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"a\":[1,-Infinity]}}", "not JSON" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"\xff\"}", "not JSON" },
		{ "[1]", "not a JSON-RPC 2.0 response" },
		{ "{\"id\":1,\"result\":1}", "not a JSON-RPC 2.0 response" },
		{ "{\"jsonrpc\":\"1.0\",\"id\":1,\"result\":1}", "not a JSON-RPC 2.0 response" },
		{ "{\"jsonrpc\":\"2.0\",\"result\":1}", "an id that was never sent" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"x\"}}",
		  "an id that was never sent" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":1}", "an id that was never sent" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":1}", "an id that was never sent" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":8,\"result\":1}", "an id that was never sent" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1}", "not exactly one of result and error" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"error\":{\"code\":1,\"message\":\"x\"}}",
		  "not exactly one of result and error" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":null}", "an error without an integer code and a message" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":\"1\",\"message\":\"x\"}}",
		  "an error without an integer code and a message" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1}}",
		  "an error without an integer code and a message" },
	};
	_cleanup_json_ json_object *params = P("{\"text\":\"a/b\"}");
	_cleanup_free_ char *req = NULL;
	SwitchAnswer a;
	const char *why;
	size_t len = 0;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		why = NULL;
		CHECK_INTEQ(switch_answer_parse(bad[i].line, strlen(bad[i].line), 7, &a, &why), -EBADMSG);
		if (!why || !streq(why, bad[i].why))
			printf("# %s: %s\n", bad[i].line, why ? why : "(none)");
		CHECK(why && streq(why, bad[i].why));
	}
	CHECK_INTEQ(switch_answer_parse(" \r", 2, 7, &a, &why), 0);
	CHECK_INTEQ(switch_answer_parse("", 0, 7, &a, &why), 0);

	CHECK_INTEQ(parse("{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"a\":1}}\r", &a), 1);
	CHECK(a.id == 7 && !a.is_error && a.result && json_object_is_type(a.result, json_type_object));
	switch_answer_done(&a);
	CHECK(a.root == NULL);
	CHECK_INTEQ(parse("{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":null}", &a), 1);
	CHECK(a.id == 2 && !a.is_error && a.result == NULL);
	switch_answer_done(&a);
	CHECK_INTEQ(parse("{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32004,\"message\":\"busy\",\"data\":1}}", &a),
		    1);
	CHECK(a.id == 3 && a.is_error && a.code == -32004 && a.message && streq(a.message, "busy"));
	switch_answer_done(&a);

	req = switch_request_line(42, "switch.plan", params, &len);
	CHECK_STREQ(req, "{\"jsonrpc\":\"2.0\",\"id\":42,\"method\":\"switch.plan\",\"params\":{\"text\":\"a/b\"}}\n");
	CHECK(req && len == strlen(req));
	free(req);
	req = switch_request_line(1, "switch.health", NULL, &len);
	CHECK_STREQ(req, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"switch.health\"}\n");
}

/* An answer after its call timed out is ignored: no second callback, the
 * connection stays, and it is not counted as answered. "result": null is a
 * result, NULL without an error. */
static void test_late_answer(void)
{
	_cleanup_free_ char *slow = sock_path("slow.sock"), *null = sock_path("null.sock");
	pid_t p1 = fake_start(slow, FAKE_SLOW, 300), p2 = fake_start(null, FAKE_NULL, 0);
	Outcome o[3] = { 0 };
	SwitchClient *c = NULL;

	CHECK_INTEQ(switch_client_new(loop, slow, 100, 10, USEC_PER_SEC, &c), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[0], NULL), 0);
	CHECK(run_until(&o[0], 1, 1000));
	CHECK_STREQ(o[0].error, "switch timeout after 100 ms");
	run_for(400); /* the answer came meanwhile */
	CHECK_INTEQ(o[0].n, 1);
	CHECK_INTEQ(status_int(c, "connected"), 1);
	CHECK_INTEQ(status_int(c, "answered"), 0);
	CHECK_INTEQ(status_int(c, "consecutive_failures"), 1);
	CHECK_INTEQ(switch_client_reconfigure(c, slow, 2000, 10, USEC_PER_SEC), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{\"x\":2}", &o[1], NULL), 0);
	CHECK(run_until(&o[1], 1, 2000));
	CHECK(o[1].result && strstr(o[1].result, "\"x\":2") && strstr(o[1].result, "\"seen\":2"));
	CHECK_INTEQ(status_int(c, "answered"), 1);
	CHECK_INTEQ(status_int(c, "consecutive_failures"), 0);

	CHECK_INTEQ(switch_client_reconfigure(c, null, 2000, 10, USEC_PER_SEC), 0);
	CHECK_INTEQ(call(c, "switch.plan", "{}", &o[2], NULL), 0);
	CHECK(run_until(&o[2], 1, 2000));
	CHECK(o[2].error == NULL);
	CHECK_STREQ(o[2].result, "null");
	switch_client_free(c);
	stop(p1);
	stop(p2);
	outcome_done(o, 3);
}

/* Callbacks that re-enter the client: one makes the next call, one frees it
 * while another call is in flight (that one hears "stopping" at once). */
typedef struct Chain {
	SwitchClient *c;
	int left;
	Outcome last;
	Outcome *other;
	bool free_it;
} Chain;

static void on_chain(void *userdata, json_object *result, const char *error, bool retry)
{
	Chain *ch = userdata;

	on_outcome(&ch->last, result, error, retry);
	if (ch->free_it) {
		switch_client_free(ch->c);
		ch->c = NULL;
		/* Stopping is said from inside free, before it returns. */
		CHECK(ch->other->n == 1 && ch->other->error && streq(ch->other->error, "stopping"));
		return;
	}
	if (--ch->left > 0)
		CHECK_INTEQ(switch_client_call(ch->c, "switch.plan", NULL, on_chain, ch, NULL), 0);
}

static void test_reentrant_callbacks(void)
{
	_cleanup_free_ char *echo = sock_path("echo3.sock"), *silent = sock_path("silent5.sock");
	pid_t p1 = fake_start(echo, FAKE_ECHO, 0), p2 = fake_start(silent, FAKE_SILENT, 0);
	Chain ch = { .left = 3 };
	Outcome other = { 0 };
	uint64_t end;

	CHECK_INTEQ(switch_client_new(loop, echo, 2000, 10, USEC_PER_SEC, &ch.c), 0);
	CHECK_INTEQ(switch_client_call(ch.c, "switch.plan", NULL, on_chain, &ch, NULL), 0);
	end = now_monotonic_usec() + USEC_PER_SEC;
	while (ch.left > 0 && now_monotonic_usec() < end)
		sd_event_run(loop, 10 * USEC_PER_MSEC);
	CHECK_INTEQ(ch.left, 0);
	CHECK(ch.last.result && strstr(ch.last.result, "\"seen\":3"));
	CHECK_INTEQ(status_int(ch.c, "answered"), 3);
	switch_client_free(ch.c);
	outcome_done(&ch.last, 1);

	/* Freed from the callback of a rejected call: the breaker is open (threshold 1). */
	ch = (Chain){ .free_it = true, .other = &other };
	CHECK_INTEQ(switch_client_new(loop, silent, 50, 1, 30 * USEC_PER_SEC, &ch.c), 0);
	CHECK_INTEQ(call(ch.c, "switch.plan", NULL, &other, NULL), 0);
	CHECK(run_until(&other, 1, 1000));
	outcome_done(&other, 1);
	CHECK_STREQ(switch_client_state(ch.c), "open");
	CHECK_INTEQ(switch_client_reconfigure(ch.c, silent, 5000, 1, USEC_PER_SEC / 10), 0);
	run_for(150); /* half open */
	CHECK_INTEQ(call(ch.c, "switch.plan", NULL, &other, NULL), 0);  /* the probe, in flight */
	CHECK_INTEQ(switch_client_call(ch.c, "switch.plan", NULL, on_chain, &ch, NULL), 0); /* rejected */
	CHECK(run_until(&ch.last, 1, 1000));
	CHECK_STREQ(ch.last.error, "switch circuit open");
	CHECK(ch.c == NULL);
	CHECK_INTEQ(other.n, 1);
	run_for(50);
	stop(p1);
	stop(p2);
	outcome_done(&ch.last, 1);
	outcome_done(&other, 1);
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

	TEST(test_wire);
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
	TEST(test_late_answer);
	TEST(test_reentrant_callbacks);

	sd_event_unref(loop);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", tmpdir);
	}
	return tap_done();
}
