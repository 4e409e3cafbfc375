/* SPDX-License-Identifier: MIT */
/* Verbs about intents: submit (intent.submit), result (result.get), wait
 * (result.get, for several) and rerun (task.rerun). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "after.h"
#include "follow.h"
#include "ids.h"
#include "output.h"
#include "rpc-client.h"
#include "vx11ctl.h"

const struct option submit_options[] = {
	{ "text", required_argument },
	{ "payload", required_argument },
	{ "task", required_argument },
	{ "spawner", no_argument },
	{ "switch", no_argument },
	{ "priority", required_argument },
	{ "source", required_argument },
	{ "ttl", required_argument },
	{ "retries", required_argument },
	{ "idempotency-key", required_argument },
	{ "wait", no_argument },
	{ "timeout", required_argument },
	AFTER_OPTIONS,
	{}
};

const char submit_usage[] =
	"Usage: vx11ctl submit INTENT_TYPE [OPTIONS]\n"
	"\n"
	"Submit an intent (intent.submit) and print its envelope on one line:\n"
	"  CORRELATION_ID  STATUS  MODE  PROVIDER\n"
	"then \"task ID queued\" when the status is QUEUED, the response when it is\n"
	"DONE, and \"error: ERROR: REASON\" when it is ERROR. The exit status is 1\n"
	"when the status is ERROR (e.g. off_by_policy, unknown_task), else 0.\n"
	"\n"
	"With --wait, a QUEUED intent is followed to the end of its task, whose result\n"
	"is then printed as 'vx11ctl result' prints it; the exit status is 0 when the\n"
	"task completed (status DONE), 4 when it failed (ERROR), 5 when it expired,\n"
	"6 when it was cancelled, and 7 when --timeout passed first. When standard\n"
	"error is a terminal, it shows meanwhile how the task goes: its states, which\n"
	"attempt of how many, and the countdown to a retry; nothing otherwise.\n"
	"\n"
	"With --after TASK (and --spawner: only a task waits), the new task stays\n"
	"pending until TASK has completed; 'vx11ctl tasks' shows it as \"pending\n"
	"(waits for N)\".\n"
	"\n"
	"Options:\n"
	"  --text TEXT            what the intent asks, in words\n"
	"  --payload JSON         a JSON object given to the task\n"
	"  --task NAME            the policy's task to run (sets payload.task_name;\n"
	"                         default: INTENT_TYPE)\n"
	"  --spawner              queue it as a task run by a daughter (status QUEUED)\n"
	"                         instead of handling it at once in the daemon\n"
	"  --switch               require the switch provider: planned by the switch in\n"
	"                         policy mode switch (degraded: the local plan), refused\n"
	"                         in solo_madre\n"
	"  --priority P0..P3      priority, P0 first (default: from the source)\n"
	"  --source SOURCE        shub, operator (default), madre or hijas\n"
	"  --ttl SECONDS          time limit of each attempt\n"
	"  --retries N            retries after a failed attempt\n"
	"  --idempotency-key KEY  a resubmission with the same key returns the first\n"
	"                         envelope and creates nothing\n"
	AFTER_USAGE
	"  --wait                 wait for the task to end and exit with its outcome\n"
	"  --timeout SECONDS      with --wait: give up after SECONDS (exit 7)\n";

const struct option run_options[] = {
	{ "type", required_argument },
	{ "cwd", required_argument },
	{ "env", required_argument },
	{ "ttl", required_argument },
	{ "retries", required_argument },
	AFTER_OPTIONS,
	{ "wait", no_argument },
	{ "timeout", required_argument },
	{}
};

const char run_usage[] =
	"Usage: vx11ctl run [OPTIONS] [--] COMMAND [ARGS...]\n"
	"\n"
	"Run COMMAND with its ARGS as a task of a type whose policy says\n"
	"\"command\": \"caller\" (intent.submit with argv): queued, then run by a\n"
	"daughter confined as the policy says for that type (its uid, limits,\n"
	"namespaces, seccomp), never as you unless its user is \"caller\". No shell\n"
	"is involved; a COMMAND without '/' is looked up in your PATH here. The\n"
	"command line is kept in the audit log. Prints the envelope and exits as 'vx11ctl\n"
	"submit' does; with --wait, follows the task to its end and prints its result,\n"
	"the command's output in output_tail (all of it: 'vx11ctl logs TASK').\n"
	"Options come before COMMAND: everything from COMMAND on is its command line.\n"
	"\n"
	"The daughter starts in / with only the daemon's VX11_* variables in its\n"
	"environment: give --cwd and --env (PATH too, if it runs a shell) as needed;\n"
	"its uid must be able to enter --cwd, else the attempt fails.\n"
	"\n"
	"Options:\n"
	"  --type NAME        the task type (default: run); 'vx11ctl types' shows\n"
	"                     which ones are \"caller\"\n"
	"  --cwd DIR          its working directory (made absolute here)\n"
	"  --env NAME=VALUE   a variable of its environment; repeat for more\n"
	"  --ttl SECONDS      time limit of each attempt\n"
	"  --retries N        retries after a failed attempt\n"
	AFTER_USAGE
	"  --wait             wait for the task to end and exit with its outcome\n"
	"  --timeout SECONDS  with --wait: give up after SECONDS (exit 7)\n";

const struct option wait_options[] = {
	{ "timeout", required_argument },
	{}
};

const char wait_usage[] =
	"Usage: vx11ctl wait ID... [--timeout SECONDS]\n"
	"\n"
	"Wait until the task of each intent has ended (result.get; each ID as for\n"
	"'vx11ctl result'), printing a line for each, in the order given:\n"
	"  ID  STATUS  [HOW]\n"
	"ID is the task's (the correlation id for an intent the daemon answered at\n"
	"once), STATUS the result's: DONE, ERROR, EXPIRED or CANCELLED, or QUEUED or\n"
	"RUNNING when --timeout came first; HOW is why its last attempt ended (its\n"
	"exit code or signal), or the intent's error.\n"
	"The exit status is the worst outcome, the highest of: 0 every task completed,\n"
	"4 one failed, 5 one expired, 6 one was cancelled, 7 --timeout passed before\n"
	"one ended (as 'vx11ctl submit --wait'). With --json, an array of each one's\n"
	"last result.get result, in the order given.\n"
	"\n"
	"Options:\n"
	"  --timeout SECONDS  stop waiting after SECONDS in all; the tasks go on\n";

const struct option rerun_options[] = {
	{ "wait", no_argument },
	{ "timeout", required_argument },
	{}
};

const char rerun_usage[] =
	"Usage: vx11ctl rerun TASK [--wait [--timeout SECONDS]]\n"
	"\n"
	"Submit again the intent of a task (task.rerun; TASK as for 'vx11ctl task', or\n"
	"the correlation id of any intent): the same type, text, payload, source,\n"
	"priority, requirements, time limit and retries, with new ids. Yours, or\n"
	"anyone's for an admin; it is submitted as you, so the policy decides again.\n"
	"Prints the new envelope, and exits, as 'vx11ctl submit' does.\n"
	"\n"
	"Options:\n"
	"  --wait             wait for the new task to end and exit with its outcome\n"
	"  --timeout SECONDS  with --wait: give up after SECONDS (exit 7)\n";

const struct option result_options[] = {
	{ "wait", required_argument },
	{}
};

const char result_usage[] =
	"Usage: vx11ctl result ID [--wait SECONDS]\n"
	"\n"
	"ID is the intent's correlation id or its task's id, or the start of either\n"
	"(at least 4 characters, enough to name one intent).\n"
	"\n"
	"Show the result of an intent (result.get) as \"key: value\" lines. With\n"
	"--wait, wait up to SECONDS for its task to finish first. The exit status is\n"
	"1 when the status is ERROR, CANCELLED or EXPIRED; 0 for DONE, QUEUED and\n"
	"RUNNING.\n";

static void print_envelope(json_object *envelope)
{
	const char *status = json_get_string(envelope, "status");
	json_object *response = json_get(envelope, "response");
	_cleanup_free_ char *id = value_to_text(json_get(envelope, "correlation_id")),
			    *s = value_to_text(json_get(envelope, "status")),
			    *mode = value_to_text(json_get(envelope, "mode")),
			    *provider = value_to_text(json_get(envelope, "provider"));

	printf("%s  %s  %s  %s\n", id, s, mode, provider);

	if (streq(status, "QUEUED")) {
		_cleanup_free_ char *task = value_to_text(json_get(response, "task_id"));
		printf("task %s queued\n", task);
	} else if (streq(status, "ERROR")) {
		_cleanup_free_ char *error = value_to_text(json_get(envelope, "error"));
		json_object *reason = json_get(response, "reason");

		if (reason) {
			_cleanup_free_ char *r = value_to_text(reason);
			printf("error: %s: %s\n", error, r);
		} else
			printf("error: %s\n", error);
	} else
		print_members(stdout, response, 2, 0, NULL);

	if (json_object_is_type(json_get(envelope, "degraded"), json_type_boolean) &&
	    json_object_get_boolean(json_get(envelope, "degraded")))
		printf("degraded: yes\n");
}


/* result.get with {correlation_id, wait_seconds?}: print it; the exit status tells how it ended. */
static int show_result(const Cmd *cmd, json_object *params)
{
	_cleanup_json_ json_object *result = NULL;
	const char *status;
	int r;

	r = rpc_call(cmd, "result.get", params, &result);
	if (r != 0)
		return r;
	if (cmd->json)
		print_json(stdout, result, true);
	else
		print_members(stdout, result, 0, 0, NULL);

	status = json_get_string(result, "status");
	if (streq(status, "ERROR") || streq(status, "CANCELLED") || streq(status, "EXPIRED"))
		return VX11_EXIT_FAILED;
	return VX11_EXIT_OK;
}

/*
 * A new intent's envelope (submit, rerun): print it, then with --wait follow
 * its task. The exit status: 1 for status ERROR, else 0, or with --wait how
 * the task ended.
 */
static int submitted(const Cmd *cmd, json_object *envelope, int64_t timeout)
{
	const char *status = json_get_string(envelope, "status"), *correlation_id;

	if (cmd->json)
		print_json(stdout, envelope, true);
	else
		print_envelope(envelope);
	if (streq(status, "ERROR"))
		return VX11_EXIT_FAILED;
	if (!cmd_flag(cmd, "wait") || !streq(status, "QUEUED"))
		return VX11_EXIT_OK; /* DONE: the intent is already handled */

	correlation_id = json_get_string(envelope, "correlation_id");
	if (!correlation_id) {
		fprintf(stderr, "vx11ctl: malformed reply from %s: no correlation_id\n", cmd->socket_path);
		return VX11_EXIT_NO_DAEMON;
	}
	/* Whoever reads through a pipe learns the task id before the wait. */
	fflush(stdout);
	return follow_and_print(cmd, correlation_id, timeout,
				timeout_deadline(timeout, cmd_option(cmd, "timeout") != NULL));
}

/* COMMAND as the daemon wants it: an absolute path. Without a '/', the
 * first executable file of that name in PATH, as a shell would find it. */
static int resolve_command(const Cmd *cmd, const char *name, char **ret)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = NULL;
	char *dir, *save = NULL;

	if (strchr(name, '/')) {
		if (name[0] == '/')
			*ret = strdup(name);
		else
			*ret = realpath(name, NULL);
		if (!*ret)
			return cmd_usage_error(cmd, "COMMAND '%s': %s", name, strerror(errno));
		return 0;
	}
	copy = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	if (!copy)
		oom();
	for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *p = NULL;

		if (*dir != '/')
			continue; /* a relative PATH entry means nothing to the daughter */
		if (asprintf(&p, "%s/%s", dir, name) < 0)
			oom();
		if (access(p, X_OK) == 0) {
			*ret = TAKE_PTR(p);
			return 0;
		}
	}
	return cmd_usage_error(cmd, "COMMAND '%s' is not in PATH; give its absolute path", name);
}

int verb_run(const Cmd *cmd)
{
	_cleanup_json_ json_object *params = json_new_object(), *envelope = NULL;
	const char *const *env;
	const char *cwd = cmd_option(cmd, "cwd");
	json_object *argv, *require, *vars = NULL;
	_cleanup_free_ char *command = NULL;
	int64_t timeout = 0;
	size_t n_env;
	int r;

	r = wait_options_check(cmd, &timeout);
	if (r != 0)
		return r;
	r = resolve_command(cmd, cmd->args[0], &command);
	if (r != 0)
		return r;

	json_set(params, "intent_type", json_object_new_string(cmd_option(cmd, "type") ?: "run"));
	require = json_new_object();
	json_set(params, "require", require);
	json_set(require, "spawner", json_object_new_boolean(true));
	argv = json_object_new_array();
	json_set(params, "argv", argv);
	for (unsigned i = 0; i < cmd->n_args; i++) {
		json_object *a = json_object_new_string(i == 0 ? command : cmd->args[i]);

		if (!a || json_object_array_add(argv, a) < 0)
			oom();
	}

	if (cwd) {
		_cleanup_free_ char *abs = realpath(cwd, NULL);

		if (!abs)
			return cmd_usage_error(cmd, "--cwd '%s': %s", cwd, strerror(errno));
		json_set(params, "cwd", json_object_new_string(abs));
	}
	env = cmd_option_all(cmd, "env", &n_env);
	for (size_t i = 0; i < n_env; i++) {
		const char *eq = strchr(env[i], '=');
		_cleanup_free_ char *name = NULL;

		if (!eq || eq == env[i])
			return cmd_usage_error(cmd, "--env wants NAME=VALUE, not '%s'", env[i]);
		name = strndup(env[i], (size_t)(eq - env[i]));
		if (!name)
			oom();
		if (!vars) {
			vars = json_new_object();
			json_set(params, "env", vars);
		}
		json_set(vars, name, json_object_new_string(eq + 1));
	}
	r = cmd_param_int(cmd, "ttl", 0, params, "ttl_seconds");
	if (r != 0)
		return r;
	r = cmd_param_int(cmd, "retries", 0, params, "max_retries");
	if (r != 0)
		return r;
	r = after_params(cmd, params);
	if (r != 0)
		return r;

	r = rpc_call(cmd, "intent.submit", params, &envelope);
	if (r != 0)
		return r;
	r = submitted(cmd, envelope, timeout);
	/* The bundled policy has no "run" type: say what to do about it. */
	if (!cmd_option(cmd, "type") && streq(json_get_string(envelope, "error"), "unknown_task"))
		fprintf(stderr, "vx11ctl: the policy has no task type \"run\": give --type with one whose command is "
				"\"caller\" ('vx11ctl types'), or ask an administrator to add one (vx11-policy(5))\n");
	return r;
}

int verb_submit(const Cmd *cmd)
{
	_cleanup_json_ json_object *params = json_new_object(), *envelope = NULL;
	const char *payload = cmd_option(cmd, "payload"), *task = cmd_option(cmd, "task");
	int64_t timeout = 0;
	int r;

	json_set(params, "intent_type", json_object_new_string(cmd->args[0]));
	cmd_param_string(cmd, "text", params, "text");

	if (payload || task) {
		_cleanup_json_ json_object *p = NULL;

		if (!payload)
			p = json_new_object();
		else if (json_parse_object(payload, strlen(payload), &p) < 0)
			return cmd_usage_error(cmd, "--payload wants a JSON object, not '%s'", payload);
		if (task)
			json_set(p, "task_name", json_object_new_string(task));
		json_set(params, "payload", TAKE_PTR(p));
	}

	if (cmd_flag(cmd, "spawner") || cmd_flag(cmd, "switch")) {
		json_object *require = json_new_object();

		json_set(params, "require", require);
		json_set(require, "switch", json_object_new_boolean(cmd_flag(cmd, "switch")));
		json_set(require, "spawner", json_object_new_boolean(cmd_flag(cmd, "spawner")));
	}

	r = wait_options_check(cmd, &timeout);
	if (r != 0)
		return r;
	if (cmd_option(cmd, "after") && !cmd_flag(cmd, "spawner"))
		return cmd_usage_error(cmd, "--after goes with --spawner: only a task waits for others");
	r = after_params(cmd, params);
	if (r != 0)
		return r;

	cmd_param_string(cmd, "priority", params, "priority");
	cmd_param_string(cmd, "source", params, "source");
	cmd_param_string(cmd, "idempotency-key", params, "idempotency_key");
	r = cmd_param_int(cmd, "ttl", 0, params, "ttl_seconds");
	if (r != 0)
		return r;
	r = cmd_param_int(cmd, "retries", 0, params, "max_retries");
	if (r != 0)
		return r;

	r = rpc_call(cmd, "intent.submit", params, &envelope);
	if (r != 0)
		return r;
	return submitted(cmd, envelope, timeout);
}


int verb_result(const Cmd *cmd)
{
	_cleanup_json_ json_object *params = json_new_object();
	ResolvedId id;
	int r;

	r = cmd_param_int(cmd, "wait", 0, params, "wait_seconds");
	if (r != 0)
		return r;
	r = resolve_id(cmd, cmd->args[0], &id);
	if (r != 0)
		return r;
	json_set(params, "correlation_id", json_object_new_string(id.correlation_id));
	return show_result(cmd, params);
}

/* "exited (exit code 1)", "signaled (signal 9)", or the intent's error. */
static char *how_it_ended(json_object *result)
{
	json_object *r = json_get(result, "result"), *code = json_get(r, "exit_code"), *sig = json_get(r, "signal");
	const char *reason = json_get_string(r, "reason"), *error = json_get_string(result, "error");
	char *s = NULL;
	int k;

	if (!reason)
		return text_escape(error ?: "");
	if (json_object_is_type(code, json_type_int))
		k = asprintf(&s, "%s (exit code %" PRId64 ")", reason, json_object_get_int64(code));
	else if (json_object_is_type(sig, json_type_int))
		k = asprintf(&s, "%s (signal %" PRId64 ")", reason, json_object_get_int64(sig));
	else
		k = asprintf(&s, "%s", reason);
	if (k < 0)
		oom();
	return TAKE_PTR(s);
}

int verb_wait(const Cmd *cmd)
{
	_cleanup_free_ ResolvedId *ids = calloc(cmd->n_args, sizeof *ids);
	_cleanup_json_ json_object *all = json_object_new_array();
	unsigned open_ = 0;
	int64_t timeout = 0;
	uint64_t deadline;
	int worst = VX11_EXIT_OK, r;

	if (!ids || !all)
		oom();
	r = cmd_option_int(cmd, "timeout", 0, &timeout);
	if (r != 0)
		return r;
	/* Every id first: a typo is told before any wait. */
	for (unsigned i = 0; i < cmd->n_args; i++) {
		r = resolve_id(cmd, cmd->args[i], &ids[i]);
		if (r != 0)
			return r;
	}

	/* One deadline for all: after it, each is only looked at. */
	deadline = timeout_deadline(timeout, cmd_option(cmd, "timeout") != NULL);
	for (unsigned i = 0; i < cmd->n_args; i++) {
		_cleanup_json_ json_object *result = NULL;
		int outcome;

		r = follow_result(cmd, ids[i].correlation_id, deadline, false, &result);
		if (r != 0)
			return r;
		outcome = task_outcome(json_get_string(result, "status"));
		if (outcome < 0) {
			outcome = VX11_EXIT_TIMEOUT;
			open_++;
		}
		worst = MAX(worst, outcome);
		if (cmd->json) {
			if (json_object_array_add(all, json_object_get(result)) < 0)
				oom();
			continue;
		}
		_cleanup_free_ char *status = value_to_text(json_get(result, "status")), *how = how_it_ended(result);
		printf("%s  %s%s%s\n", ids[i].task_id[0] ? ids[i].task_id : ids[i].correlation_id, status,
		       *how ? "  " : "", how);
		/* Whoever reads through a pipe learns of each as it ends. */
		fflush(stdout);
	}
	if (cmd->json)
		print_json(stdout, all, true);
	if (open_ > 0)
		fprintf(stderr, "vx11ctl: %u of %u tasks had not ended after %" PRId64 " s\n", open_, cmd->n_args,
			timeout);
	return worst;
}

int verb_rerun(const Cmd *cmd)
{
	_cleanup_json_ json_object *params = json_new_object(), *envelope = NULL;
	int64_t timeout = 0;
	ResolvedId id;
	int r;

	r = wait_options_check(cmd, &timeout);
	if (r != 0)
		return r;
	r = resolve_id(cmd, cmd->args[0], &id);
	if (r != 0)
		return r;
	json_set(params, "correlation_id", json_object_new_string(id.correlation_id));
	r = rpc_call(cmd, "task.rerun", params, &envelope);
	if (r != 0)
		return r;
	return submitted(cmd, envelope, timeout);
}
