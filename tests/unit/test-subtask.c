/* SPDX-License-Identifier: MIT */
/*
 * Sub-tasks (daemon/core/subtask.c) on a real sd_event loop: forwarded to
 * the real vx11-switch running a provider script, and to fake switches
 * (switch-fake.h) that are down, silent, answer a JSON-RPC error or a result
 * without a status. What the daughter gets back in each case, what is
 * accounted on its attempt (through a recording SubtaskAccount), a daughter
 * that ends or a caller that goes away mid-call, and policy changes.
 */
#include <errno.h>
#include <sys/stat.h>

#include "core/subtask.h"
#include "switch-fake.h"

static sd_event *loop;

/* A string that must be there and be this. */
#define CHECK_STR(a, b)                                                                                    \
	do {                                                                                               \
		const char *a_ = (a);                                                                      \
		CHECK(a_ && streq(a_, (b)));                                                               \
		if (!a_ || !streq(a_, (b)))                                                                \
			printf("# got %s, expected %s\n", a_ ?: "(null)", (b));                           \
	} while (0)

typedef struct Reply {
	int n;
	json_object *reply;
} Reply;

static void on_reply(void *userdata, json_object *reply)
{
	Reply *r = userdata;

	r->n++;
	json_object_put(r->reply);
	r->reply = reply;
}

typedef struct Account {
	int n;
	bool alive; /* what the runner would say: is the daughter still live? */
	int64_t cli, local;
	char model[64], provider[64];
} Account;

static bool account(void *userdata, const char *daughter_id, const char *token, int64_t cli, int64_t local,
		    const char *model, const char *provider)
{
	Account *a = userdata;

	if (!a->alive || !streq(daughter_id, "d-1") || !streq(token, "tok"))
		return false;
	a->n++;
	a->cli += cli;
	a->local += local;
	snprintf(a->model, sizeof(a->model), "%s", model ?: "");
	snprintf(a->provider, sizeof(a->provider), "%s", provider ?: "");
	return true;
}

static const SubtaskWho who = { .task_id = "t-1", .daughter_id = "d-1", .token = "tok", .attempt = 2 };

static void run_until(const Reply *r, unsigned max_ms)
{
	uint64_t end = now_monotonic_usec() + max_ms * USEC_PER_MSEC, now;

	while (r->n == 0 && (now = now_monotonic_usec()) < end)
		if (sd_event_run(loop, end - now) < 0)
			return;
}

static void run_for(unsigned ms)
{
	uint64_t end = now_monotonic_usec() + ms * USEC_PER_MSEC, now;

	while ((now = now_monotonic_usec()) < end)
		sd_event_run(loop, end - now);
}

static Policy policy_for(const char *socket, uint64_t timeout_ms)
{
	Policy p = { .mode = POLICY_MODE_SWITCH };

	p.switch_.socket = (char *)socket;
	p.switch_.timeout_ms = timeout_ms;
	p.switch_.failure_threshold = 100;
	p.switch_.cooldown_seconds = 30;
	return p;
}

/* Start a sub-task that must wait for the switch. */
static SubtaskCall *start(Subtasks *s, const char *type, const char *payload, Reply *r)
{
	SubtaskCall *call = NULL;
	json_object *now = NULL;

	CHECK_INTEQ(subtask_start(s, &who, type, payload ? json_tokener_parse(payload) : NULL, on_reply, r, &call, &now),
		    0);
	CHECK(call != NULL && now == NULL);
	json_object_put(now);
	return call;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

static int boolean(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean)
		       ? json_object_get_boolean(v)
		       : -1;
}

static bool starts_with(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static void test_solo_madre_refuses(void)
{
	Account acc = { .alive = true };
	Policy p = policy_for("/nonexistent/s.sock", 1000);
	Subtasks *s = NULL;
	SubtaskCall *call = (SubtaskCall *)1;
	json_object *now = (json_object *)1;

	CHECK_INTEQ(subtasks_new_with(loop, account, &acc, &s), 0);
	/* Before any policy, and in mode solo_madre: not supported. */
	CHECK_INTEQ(subtask_start(s, &who, "x", NULL, on_reply, NULL, &call, &now), -EOPNOTSUPP);
	p.mode = POLICY_MODE_SOLO_MADRE;
	CHECK_INTEQ(subtasks_set_policy(s, &p), 0);
	CHECK_INTEQ(subtask_start(s, &who, "x", json_object_new_object(), on_reply, NULL, &call, &now), -EOPNOTSUPP);
	CHECK(call == NULL && now == NULL);
	CHECK(subtasks_client_status(s) == NULL);
	CHECK_INTEQ(subtasks_count(s), 0);
	subtasks_free(s);
}

static char *provider_config(void)
{
	_cleanup_free_ char *script = sock_path("provider.sh");
	_cleanup_free_ char *path = sock_path("switch.json");
	FILE *f = fopen(script, "we");

	if (!f)
		abort();
	/* It answers with what it was asked. */
	fprintf(f, "#!/bin/sh\nreq=$(cat)\n"
		   "printf '{\"result\":{\"asked\":%%s},\"tokens_used_cli\":5,\"tokens_used_local\":7,\"model\":\"m-x\"}\\n' \"$req\"\n");
	fclose(f);
	chmod(script, 0755);
	f = fopen(path, "we");
	if (!f)
		abort();
	fprintf(f, "{\"routes\": [], \"default_route\": {\"provider\": \"fallback\", \"approach\": \"direct\"},"
		   " \"providers\": {\"p\": {\"argv\": [\"%s\"], \"timeout_ms\": 5000}}, \"default_provider\": \"p\"}\n",
		script);
	fclose(f);
	return TAKE_PTR(path);
}

static void test_real_switch_answer_accounted(void)
{
	_cleanup_free_ char *config = provider_config(), *path = sock_path("real.sock");
	Account acc = { .alive = true };
	Policy p = policy_for(path, 10000);
	Subtasks *s = NULL;
	Reply r1 = {}, r2 = {};
	pid_t pid = switch_start(config, path);
	json_object *asked;

	CHECK(pid > 0);
	CHECK_INTEQ(subtasks_new_with(loop, account, &acc, &s), 0);
	CHECK_INTEQ(subtasks_set_policy(s, &p), 0);
	start(s, "summarise", "{\"text\":\"hi\"}", &r1);
	/* Nothing is answered from inside the call. */
	CHECK_INTEQ(r1.n, 0);
	run_until(&r1, 10000);
	CHECK_INTEQ(r1.n, 1);
	CHECK_STR(str(r1.reply, "status"), "ok");
	CHECK_STR(str(r1.reply, "provider"), "p");
	CHECK_STR(str(r1.reply, "model"), "m-x");
	/* The switch got the request of switch.md. */
	json_object *res = NULL;
	CHECK(json_object_object_get_ex(r1.reply, "result", &res) && json_object_object_get_ex(res, "asked", &asked));
	CHECK_STR(str(asked, "task_id"), "t-1");
	CHECK_STR(str(asked, "daughter_id"), "d-1");
	CHECK_STR(str(asked, "subtask_type"), "summarise");
	json_object *v = NULL;
	CHECK(json_object_object_get_ex(asked, "attempt", &v) && json_object_get_int(v) == 2);
	CHECK(json_object_object_get_ex(asked, "payload", &v) && str(v, "text") && streq(str(v, "text"), "hi"));

	/* A second one adds up. */
	start(s, "count", NULL, &r2);
	run_until(&r2, 10000);
	CHECK_STR(str(r2.reply, "status"), "ok");
	CHECK_INTEQ(acc.n, 2);
	CHECK_INTEQ(acc.cli, 10);
	CHECK_INTEQ(acc.local, 14);
	CHECK_STREQ(acc.model, "m-x");
	CHECK_STREQ(acc.provider, "p");
	CHECK_INTEQ(subtasks_count(s), 2);
	json_object *st = subtasks_client_status(s);
	CHECK(st != NULL);
	json_object_put(st);

	json_object_put(r1.reply);
	json_object_put(r2.reply);
	subtasks_free(s);
	stop(pid);
}

static void test_switch_down_says_retry(void)
{
	_cleanup_free_ char *path = sock_path("nobody.sock");
	Account acc = { .alive = true };
	Policy p = policy_for(path, 2000);
	Subtasks *s = NULL;
	Reply r = {};

	CHECK_INTEQ(subtasks_new_with(loop, account, &acc, &s), 0);
	CHECK_INTEQ(subtasks_set_policy(s, &p), 0);
	start(s, "x", NULL, &r);
	run_until(&r, 5000);
	CHECK_INTEQ(r.n, 1);
	/* The seed's shape: exactly status, retry, error. */
	CHECK_STR(str(r.reply, "status"), "timeout");
	CHECK_INTEQ(boolean(r.reply, "retry"), 1);
	CHECK(starts_with(str(r.reply, "error"), "switch unavailable"));
	CHECK_INTEQ(json_object_object_length(r.reply), 3);
	CHECK_INTEQ(acc.n, 0);
	json_object_put(r.reply);

	/* One failure opens the breaker: the next is refused at once, and may
	 * be retried too. */
	p.switch_.failure_threshold = 1;
	CHECK_INTEQ(subtasks_set_policy(s, &p), 0);
	r = (Reply){};
	start(s, "x", NULL, &r);
	run_until(&r, 5000);
	json_object_put(r.reply);
	r = (Reply){};
	start(s, "x", NULL, &r);
	run_until(&r, 5000);
	CHECK_INTEQ(r.n, 1);
	CHECK_STR(str(r.reply, "status"), "timeout");
	CHECK_INTEQ(boolean(r.reply, "retry"), 1);
	CHECK_STR(str(r.reply, "error"), "switch circuit open");
	json_object_put(r.reply);
	subtasks_free(s);
}

static void test_silent_switch_times_out(void)
{
	_cleanup_free_ char *path = sock_path("silent.sock");
	pid_t pid = fake_start(path, FAKE_SILENT, 0);
	Account acc = { .alive = true };
	Policy p = policy_for(path, 300);
	Subtasks *s = NULL;
	Reply r = {};

	CHECK_INTEQ(subtasks_new_with(loop, account, &acc, &s), 0);
	CHECK_INTEQ(subtasks_set_policy(s, &p), 0);
	start(s, "x", NULL, &r);
	run_until(&r, 10000);
	CHECK_INTEQ(r.n, 1);
	CHECK_STR(str(r.reply, "status"), "timeout");
	CHECK_INTEQ(boolean(r.reply, "retry"), 1);
	CHECK_STR(str(r.reply, "error"), "switch timeout after 300 ms");
	CHECK_INTEQ(acc.n, 0);
	json_object_put(r.reply);
	subtasks_free(s);
	stop(pid);
}

/* Answers that are not a sub-task's: an error, no retry, nothing accounted. */
static void test_wrong_answers(void)
{
	static const struct {
		FakeMode mode;
		const char *error;
	} cases[] = {
		{ FAKE_RPC_ERROR, "switch error -32601" },
		{ FAKE_ECHO, "switch malformed answer: no status" },
		{ FAKE_GARBAGE, "switch malformed answer" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *path = sock_path("wrong.sock");
		pid_t pid = fake_start(path, cases[i].mode, 0);
		Account acc = { .alive = true };
		Policy p = policy_for(path, 5000);
		Subtasks *s = NULL;
		Reply r = {};

		CHECK_INTEQ(subtasks_new_with(loop, account, &acc, &s), 0);
		CHECK_INTEQ(subtasks_set_policy(s, &p), 0);
		start(s, "x", NULL, &r);
		run_until(&r, 5000);
		CHECK_INTEQ(r.n, 1);
		CHECK_STR(str(r.reply, "status"), "error");
		CHECK_INTEQ(boolean(r.reply, "retry"), 0);
		CHECK(starts_with(str(r.reply, "error"), cases[i].error));
		if (!starts_with(str(r.reply, "error"), cases[i].error))
			printf("# case %zu: %s\n", i, json_object_to_json_string(r.reply));
		CHECK_INTEQ(acc.n, 0);
		json_object_put(r.reply);
		subtasks_free(s);
		stop(pid);
	}
}

/* A daughter that ends mid-call is answered at once; the late answer is
 * neither delivered nor accounted. A caller that goes away is never called,
 * but what the switch spent still counts on a live daughter. */
static void test_daughter_gone_and_cancel(void)
{
	_cleanup_free_ char *config = provider_config(), *path = sock_path("real2.sock");
	pid_t pid = switch_start(config, path);
	Account acc = { .alive = true };
	Policy p = policy_for(path, 10000);
	Subtasks *s = NULL;
	Reply gone = {}, cancelled = {};
	SubtaskCall *call;

	CHECK(pid > 0);
	CHECK_INTEQ(subtasks_new_with(loop, account, &acc, &s), 0);
	CHECK_INTEQ(subtasks_set_policy(s, &p), 0);

	start(s, "x", NULL, &gone);
	subtasks_daughter_gone(s, "someone-else");
	CHECK_INTEQ(gone.n, 0);
	acc.alive = false;
	subtasks_daughter_gone(s, "d-1");
	CHECK_INTEQ(gone.n, 1);
	CHECK_STR(str(gone.reply, "status"), "error");
	CHECK_INTEQ(boolean(gone.reply, "retry"), 0);
	run_for(1500); /* the provider's answer arrives meanwhile */
	CHECK_INTEQ(gone.n, 1);
	CHECK_INTEQ(acc.n, 0);

	acc.alive = true;
	call = start(s, "x", NULL, &cancelled);
	subtask_cancel(call);
	run_for(1500);
	CHECK_INTEQ(cancelled.n, 0);
	CHECK_INTEQ(acc.n, 1);

	json_object_put(gone.reply);
	subtasks_free(s);
	stop(pid);
}

/* A reload to solo_madre fails the calls in flight; one back to "switch"
 * works again. */
static void test_policy_changes(void)
{
	_cleanup_free_ char *path = sock_path("slow.sock");
	pid_t pid = fake_start(path, FAKE_SILENT, 0);
	Account acc = { .alive = true };
	Policy p = policy_for(path, 5000), solo = { .mode = POLICY_MODE_SOLO_MADRE };
	Subtasks *s = NULL;
	Reply r = {};
	SubtaskCall *call = NULL;
	json_object *now = NULL;

	CHECK_INTEQ(subtasks_new_with(loop, account, &acc, &s), 0);
	CHECK_INTEQ(subtasks_set_policy(s, &p), 0);
	start(s, "x", NULL, &r);
	CHECK_INTEQ(subtasks_set_policy(s, &solo), 0);
	run_until(&r, 2000);
	CHECK_INTEQ(r.n, 1);
	CHECK_STR(str(r.reply, "status"), "error");
	CHECK(starts_with(str(r.reply, "error"), "the switch was turned off"));
	CHECK_INTEQ(subtask_start(s, &who, "x", NULL, on_reply, &r, &call, &now), -EOPNOTSUPP);

	/* A socket the client cannot use: answered now, saying why. */
	Policy bad = policy_for("relative.sock", 1000);
	CHECK(subtasks_set_policy(s, &bad) < 0);
	CHECK_INTEQ(subtask_start(s, &who, "x", NULL, on_reply, &r, &call, &now), 0);
	CHECK(call == NULL && now != NULL);
	CHECK(starts_with(str(now, "error"), "switch unavailable: cannot use socket relative.sock"));
	json_object_put(now);

	json_object_put(r.reply);
	subtasks_free(s);
	stop(pid);
}

/* Freeing with calls in flight answers each of them once. */
static void test_free_answers(void)
{
	_cleanup_free_ char *path = sock_path("silent2.sock");
	pid_t pid = fake_start(path, FAKE_SILENT, 0);
	Account acc = { .alive = true };
	Policy p = policy_for(path, 5000);
	Subtasks *s = NULL;
	Reply r = {};

	CHECK_INTEQ(subtasks_new_with(loop, account, &acc, &s), 0);
	CHECK_INTEQ(subtasks_set_policy(s, &p), 0);
	start(s, "x", NULL, &r);
	run_for(100);
	subtasks_free(s);
	CHECK_INTEQ(r.n, 1);
	CHECK_STR(str(r.reply, "status"), "error");
	json_object_put(r.reply);
	stop(pid);
}

int main(void)
{
	sigset_t mask;

	/* A dead fake's socket must not kill the test with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %m\n");
		return EXIT_FAILURE;
	}
	chmod(tmpdir, 0755);
	if (sd_event_new(&loop) < 0) {
		printf("Bail out! sd_event_new\n");
		return EXIT_FAILURE;
	}

	TEST(test_solo_madre_refuses);
	TEST(test_real_switch_answer_accounted);
	TEST(test_switch_down_says_retry);
	TEST(test_silent_switch_times_out);
	TEST(test_wrong_answers);
	TEST(test_daughter_gone_and_cancel);
	TEST(test_policy_changes);
	TEST(test_free_answers);

	sd_event_unref(loop);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", tmpdir);
	}
	return tap_done();
}
