/* SPDX-License-Identifier: MIT */
/*
 * Verbs about daughters: logs (task.logs), spawn (daughter.spawn), and the
 * three a daughter uses to talk back, heartbeat, report and subtask
 * (daughter.heartbeat, daughter.report, daughter.subtask), which take its
 * identity from the environment vx11d gave it.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "follow.h"
#include "ids.h"
#include "output.h"
#include "rpc-client.h"
#include "vx11ctl.h"

const struct option logs_options[] = {
	{ "attempt", required_argument },
	{ "stderr", no_argument },
	{ "both", no_argument },
	{ "follow", no_argument, NULL, 'f' },
	{}
};

const char logs_usage[] =
	"Usage: vx11ctl logs TASK [--attempt N] [--stderr | --both] [-f | --follow]\n"
	"\n"
	"Print what an attempt of a task (TASK as for 'vx11ctl task') wrote\n"
	"(task.logs): its standard output to standard output, its standard error to\n"
	"standard error, as it is (but for bytes JSON text cannot carry, NUL and\n"
	"invalid UTF-8, which the daemon replaces), with nothing added. The default\n"
	"is the latest attempt's standard output. On a terminal, control characters\n"
	"other than newline and tab are shown escaped (\\xNN).\n"
	"With --json, each task.logs result that carries data or says eof is printed\n"
	"instead, compact, one a line.\n"
	"\n"
	"Options:\n"
	"  --attempt N   attempt N (1 is the first) instead of the latest\n"
	"  --stderr      print standard error instead of standard output\n"
	"  --both        print both\n"
	"  -f, --follow  keep reading, every 200 ms, until the attempt has ended and\n"
	"                all of it is printed; wait for the attempt to start if it\n"
	"                has not yet\n"
	"\n"
	"The exit status is 0 when the output was printed, whatever the task's fate;\n"
	"1 when there is no such task or attempt (vx11.NotFound).\n";

const struct option heartbeat_options[] = {
	{ "status", required_argument },
	{}
};

const char heartbeat_usage[] =
	"Usage: vx11ctl heartbeat [--status TEXT]\n"
	"\n"
	"From inside a daughter: tell vx11d that it is alive (daughter.heartbeat),\n"
	"which keeps a task with heartbeat_seconds from being killed. The daughter's\n"
	"identity comes from $VX11_DAUGHTER_ID and $VX11_DAUGHTER_TOKEN, the socket\n"
	"from $VX11_SOCKET. Prints nothing on success (the daughter's output is its\n"
	"log), the reply with --json. Outside a daughter it fails with exit status 2.\n"
	"\n"
	"Options:\n"
	"  --status TEXT  what the daughter is doing, sent along as \"status\"\n";

const struct option report_options[] = {
	{ "status", required_argument },
	{ "error-message", required_argument },
	{ "tokens-cli", required_argument },
	{ "tokens-local", required_argument },
	{ "switch-model", required_argument },
	{ "cli-provider", required_argument },
	{ "result", required_argument },
	{}
};

const char report_usage[] =
	"Usage: vx11ctl report [OPTIONS]\n"
	"\n"
	"From inside a daughter: report to vx11d (daughter.report). The last report's\n"
	"result becomes part of the task's result. Identity, socket, output and exit\n"
	"status as for 'vx11ctl heartbeat'.\n"
	"\n"
	"Options:\n"
	"  --status S           the daughter's own word on how it goes\n"
	"  --error-message M    what went wrong\n"
	"  --tokens-cli N       tokens used through the CLI provider\n"
	"  --tokens-local N     tokens used locally\n"
	"  --switch-model M     the switch model used\n"
	"  --cli-provider P     the CLI provider used\n"
	"  --result JSON        a JSON object: the daughter's result\n";

const struct option subtask_options[] = {
	{ "payload", required_argument },
	{}
};

const char subtask_usage[] =
	"Usage: vx11ctl subtask TYPE [--payload JSON]\n"
	"\n"
	"From inside a daughter: have the switch run a sub-task of type TYPE\n"
	"(daughter.subtask, e.g. route a request to a model) and print its \"result\"\n"
	"as one line of JSON. The tokens it used, its model and provider are added\n"
	"to the daughter's attempt. Needs policy mode \"switch\". Identity and socket\n"
	"as for 'vx11ctl heartbeat'. With --json, the whole answer is printed:\n"
	"  {\"status\": \"ok\"|\"error\", \"result\", \"tokens_used_cli\",\n"
	"   \"tokens_used_local\", \"model\", \"provider\", \"error\"}\n"
	"or, when the switch could not answer, {\"status\": \"timeout\"|\"error\",\n"
	"\"retry\": true|false, \"error\"} (retry true: the switch is down, slow or\n"
	"its breaker is open; trying again later may work).\n"
	"\n"
	"Options:\n"
	"  --payload JSON  a JSON object handed to the switch as the sub-task's payload\n"
	"\n"
	"The exit status is 0 when the status is \"ok\"; 1 otherwise (the error is\n"
	"printed on standard error, with whether to retry), also when vx11d refuses\n"
	"the request (e.g. off_by_policy in mode solo_madre); 2 outside a daughter.\n";

const struct option spawn_options[] = {
	{ "name", required_argument },
	{ "purpose", required_argument },
	{ "ttl", required_argument },
	{ "profile", required_argument },
	{ "parent", required_argument },
	{ "wait", no_argument },
	{ "timeout", required_argument },
	{}
};

const char spawn_usage[] =
	"Usage: vx11ctl spawn [OPTIONS] [--] COMMAND [ARGS...]\n"
	"\n"
	"Run COMMAND (an absolute path; no shell is involved) as a daughter of its\n"
	"own task (daughter.spawn, admin only), and print the reply as \"key: value\"\n"
	"lines, among them\n"
	"  status: STATUS\n"
	"  daughter_id: ID\n"
	"  attempt_id: ID\n"
	"  task_id: ID\n"
	"Options come before COMMAND: everything from COMMAND on is its command line.\n"
	"With --wait, the task is then followed to its end and its result printed, as\n"
	"'vx11ctl submit --wait' does, with the same exit status (0 completed, 4\n"
	"failed, 5 expired, 6 cancelled, 7 --timeout passed first).\n"
	"\n"
	"Options:\n"
	"  --name NAME        the daughter's name: 1 to 64 of A-Z a-z 0-9 _ . + @ : -\n"
	"                     (default: COMMAND's file name, other characters as _)\n"
	"  --purpose TEXT     what it is for\n"
	"  --ttl SECONDS      its time limit\n"
	"  --profile P        its seccomp profile: default, strict or none\n"
	"  --parent TASK      the task it works for (as for 'vx11ctl task')\n"
	"  --wait             wait for the task to end and exit with its outcome\n"
	"  --timeout SECONDS  with --wait: give up after SECONDS (exit 7)\n";

/* ---------------------------------------------------------------------------
 * logs */

/* task.logs' largest max_bytes: the fewest round trips. */
#define LOGS_CHUNK_BYTES 1048576
#define LOGS_POLL_USEC (200 * USEC_PER_MSEC)

/* logs_drain(): the task or attempt does not exist (yet); nothing was reported. */
#define LOGS_NOT_FOUND (-1)
/* logs_drain(): the reader of our output went away; stop, successfully. */
#define LOGS_OUTPUT_GONE (-2)

typedef struct LogStream {
	const char *name; /* "stdout" or "stderr", as task.logs calls it */
	FILE *out;
	int64_t offset; /* the next byte to ask for */
	bool eof;       /* the attempt has ended and every byte is printed */
} LogStream;

typedef struct Logs {
	const Cmd *cmd;
	const char *task_id;
	int64_t attempt; /* 0 for the latest, until a reply names it */
	bool attempt_seen; /* a reply came for the attempt: later requests name it, offsets stay its own */
	bool follow;
	bool task_ended; /* follow: task.get said the task has ended (so no attempt will start) */
	json_object *not_found; /* follow: the last NotFound error, reported if we give up */
} Logs;

static void logs_done(Logs *l)
{
	json_object_put(l->not_found);
	l->not_found = NULL;
}

/*
 * Write what a daughter wrote. A terminal is not given control characters
 * from a task it may not own (see vx11ctl(1)); anything else gets the bytes
 * as they are, for scripts and files.
 */
static void write_log_data(FILE *f, const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;

	if (!isatty(fileno(f))) {
		fwrite(p, 1, n, f);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f) {
			fprintf(f, "\\u%04x", s[i + 1]); /* a C1 control in UTF-8 */
			i++;
		} else if ((s[i] < 0x20 && s[i] != '\n' && s[i] != '\t') || s[i] == 0x7f)
			fprintf(f, "\\x%02x", s[i]);
		else
			fputc(s[i], f);
	}
}

static bool get_int64(json_object *obj, const char *key, int64_t *ret)
{
	json_object *v = json_get(obj, key);

	if (!json_object_is_type(v, json_type_int))
		return false;
	*ret = json_object_get_int64(v);
	return true;
}

/* One task.logs result: check it, print its data, move the stream on. Sets *ret_progress. */
static int logs_take(Logs *l, LogStream *s, json_object *result, bool *ret_progress)
{
	json_object *data = json_get(result, "data"), *eof = json_get(result, "eof");
	int64_t attempt, next;

	if (!get_int64(result, "attempt", &attempt) || attempt < 1 ||
	    (l->attempt_seen && attempt != l->attempt) || !get_int64(result, "next_offset", &next) ||
	    next < s->offset || !json_object_is_type(data, json_type_string) ||
	    !json_object_is_type(eof, json_type_boolean)) {
		fprintf(stderr, "vx11ctl: malformed task.logs reply from %s\n", l->cmd->socket_path);
		return VX11_EXIT_NO_DAEMON;
	}
	l->attempt = attempt;
	l->attempt_seen = true;

	if (l->cmd->json) {
		/* Not the empty answers of each look while following. */
		if (next > s->offset || json_object_get_boolean(eof))
			print_json(stdout, result, false);
	} else
		write_log_data(s->out, json_object_get_string(data),
			       (size_t)json_object_get_string_len(data));
	/* Whoever follows through a pipe sees each piece at once. A failed write is reported by main(). */
	if (fflush(l->cmd->json ? stdout : s->out) != 0)
		return errno == EPIPE ? LOGS_OUTPUT_GONE : VX11_EXIT_FAILED;

	*ret_progress = next > s->offset;
	s->offset = next;
	s->eof = json_object_get_boolean(eof);
	return 0;
}

/*
 * Print everything the stream has now, chunk after chunk. Returns 0,
 * LOGS_NOT_FOUND (only when following an attempt not seen yet: the error is
 * kept in l->not_found), LOGS_OUTPUT_GONE, or an exit status.
 */
static int logs_drain(Logs *l, LogStream *s)
{
	bool progress = true;

	while (!s->eof && progress) {
		_cleanup_json_ json_object *params = json_new_object(), *result = NULL, *error = NULL;
		int r;

		json_set(params, "task_id", json_object_new_string(l->task_id));
		if (l->attempt > 0)
			json_set(params, "attempt", json_object_new_int64(l->attempt));
		json_set(params, "stream", json_object_new_string(s->name));
		json_set(params, "offset", json_object_new_int64(s->offset));
		json_set(params, "max_bytes", json_object_new_int(LOGS_CHUNK_BYTES));

		r = rpc_call_try(l->cmd, "task.logs", params, &result, &error);
		if (r != 0)
			return r;
		if (error) {
			if (!l->follow || l->attempt_seen || rpc_error_code(error) != RPC_CODE_NOT_FOUND)
				return rpc_report_error(l->cmd, error);
			json_object_put(l->not_found);
			l->not_found = TAKE_PTR(error);
			return LOGS_NOT_FOUND;
		}
		r = logs_take(l, s, result, &progress);
		if (r != 0)
			return r;
	}
	return 0;
}

static bool task_status_is_final(const char *status)
{
	return streq(status, "completed") || streq(status, "failed") || streq(status, "expired") ||
	       streq(status, "cancelled");
}

/*
 * Following, and the attempt is not there: a task that does not exist is an
 * error at once; one that has not started yet is waited for; one that has
 * ended gets one more look (its attempt may have come and gone since), and
 * if that still finds nothing, the error is reported.
 */
static int logs_not_found(Logs *l)
{
	_cleanup_json_ json_object *params = json_new_object(), *result = NULL, *error = NULL;
	int r;

	if (l->task_ended)
		return rpc_report_error(l->cmd, l->not_found);

	json_set(params, "task_id", json_object_new_string(l->task_id));
	r = rpc_call_try(l->cmd, "task.get", params, &result, &error);
	if (r != 0)
		return r;
	if (error) /* the task's own NotFound says no more than the one we have */
		return rpc_report_error(l->cmd,
					rpc_error_code(error) == RPC_CODE_NOT_FOUND ? l->not_found : error);
	l->task_ended = task_status_is_final(json_get_string(json_get(result, "task"), "status"));
	return 0;
}

/*
 * The pause between two looks, spent watching where the output goes: when
 * its reader has gone ("vx11ctl logs -f T | head -1"), stop then, not at the
 * next piece of output, which may never come. Returns 0 or LOGS_OUTPUT_GONE.
 */
static int logs_pause(const LogStream *first, const LogStream *end, bool json)
{
	struct pollfd p[2];
	nfds_t n = 0;

	/* Events 0: only errors and hangups, which a pipe whose reader left reports. */
	if (json)
		p[n++] = (struct pollfd){ .fd = STDOUT_FILENO };
	else
		for (const LogStream *s = first; s < end; s++)
			p[n++] = (struct pollfd){ .fd = fileno(s->out) };
	if (poll(p, n, (int)(LOGS_POLL_USEC / USEC_PER_MSEC)) <= 0)
		return 0; /* time is up; or a signal, whose handler decides */
	for (nfds_t i = 0; i < n; i++)
		if (p[i].revents & (POLLERR | POLLHUP | POLLNVAL))
			return LOGS_OUTPUT_GONE;
	return 0;
}

int verb_logs(const Cmd *cmd)
{
	_cleanup_(logs_done) Logs l = {
		.cmd = cmd,
		.follow = cmd_flag(cmd, "follow"),
	};
	LogStream streams[2] = {
		{ .name = "stdout", .out = stdout },
		{ .name = "stderr", .out = stderr },
	};
	LogStream *first = &streams[0], *end = &streams[1];
	char id[ID_STRING_MAX];
	int r;

	r = cmd_option_int(cmd, "attempt", 1, &l.attempt);
	if (r != 0)
		return r;
	if (cmd_flag(cmd, "stderr") && cmd_flag(cmd, "both"))
		return cmd_usage_error(cmd, "--stderr and --both do not go together");
	if (cmd_flag(cmd, "stderr"))
		first = &streams[1];
	if (cmd_flag(cmd, "stderr") || cmd_flag(cmd, "both"))
		end = &streams[2];
	r = resolve_task(cmd, cmd->args[0], id);
	if (r != 0)
		return r;
	l.task_id = id;

	for (;;) {
		bool all_eof = true;

		for (LogStream *s = first; s < end; s++) {
			r = logs_drain(&l, s);
			if (r == LOGS_NOT_FOUND) {
				r = logs_not_found(&l);
				if (r != 0)
					return r;
				break; /* the other stream has no attempt either */
			}
			if (r == LOGS_OUTPUT_GONE)
				return VX11_EXIT_OK;
			if (r != 0)
				return r;
			all_eof = all_eof && s->eof;
		}
		if (!l.follow || (l.attempt_seen && all_eof))
			return VX11_EXIT_OK;
		if (logs_pause(first, end, cmd->json) == LOGS_OUTPUT_GONE)
			return VX11_EXIT_OK;
	}
}

/* ---------------------------------------------------------------------------
 * heartbeat, report */

/* Add {daughter_id, token} from the environment a daughter runs in to params; a usage error outside one. */
static int add_daughter_identity(const Cmd *cmd, json_object *params)
{
	static const struct {
		const char *var, *key;
	} ids[] = {
		{ "VX11_DAUGHTER_ID", "daughter_id" },
		{ "VX11_DAUGHTER_TOKEN", "token" },
	};

	for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
		const char *v = getenv(ids[i].var);

		if (!v || !*v)
			return cmd_usage_error(cmd, "%s works only inside a daughter: $%s is not set",
					       cmd->verb->name, ids[i].var);
		json_set(params, ids[i].key, json_object_new_string(v));
	}
	return 0;
}

/* Send a daughter's request; on success print nothing but, with --json, the result. */
static int daughter_call(const Cmd *cmd, const char *method, json_object *params)
{
	_cleanup_json_ json_object *result = NULL;
	int r;

	r = rpc_call(cmd, method, params, &result);
	if (r != 0)
		return r;
	if (cmd->json)
		print_json(stdout, result, true);
	return VX11_EXIT_OK;
}

int verb_heartbeat(const Cmd *cmd)
{
	_cleanup_json_ json_object *params = json_new_object();
	int r;

	r = add_daughter_identity(cmd, params);
	if (r != 0)
		return r;
	cmd_param_string(cmd, "status", params, "status");
	return daughter_call(cmd, "daughter.heartbeat", params);
}

int verb_report(const Cmd *cmd)
{
	static const struct {
		const char *option, *key;
	} strings[] = {
		{ "status", "status" },
		{ "error-message", "error_message" },
		{ "switch-model", "switch_model_used" },
		{ "cli-provider", "cli_provider_used" },
	}, ints[] = {
		{ "tokens-cli", "tokens_used_cli" },
		{ "tokens-local", "tokens_used_local" },
	};
	_cleanup_json_ json_object *params = json_new_object();
	const char *result = cmd_option(cmd, "result");
	int r;

	/* The command line first: a usage error is one whether in a daughter or not. */
	for (size_t i = 0; i < ELEMENTSOF(strings); i++)
		cmd_param_string(cmd, strings[i].option, params, strings[i].key);
	for (size_t i = 0; i < ELEMENTSOF(ints); i++) {
		r = cmd_param_int(cmd, ints[i].option, 0, params, ints[i].key);
		if (r != 0)
			return r;
	}
	if (result) {
		_cleanup_json_ json_object *o = NULL;

		if (json_parse_object(result, strlen(result), &o) < 0)
			return cmd_usage_error(cmd, "--result wants a JSON object, not '%s'", result);
		json_set(params, "result", TAKE_PTR(o));
	}

	r = add_daughter_identity(cmd, params);
	if (r != 0)
		return r;
	return daughter_call(cmd, "daughter.report", params);
}

int verb_subtask(const Cmd *cmd)
{
	_cleanup_json_ json_object *params = json_new_object(), *result = NULL;
	const char *payload = cmd_option(cmd, "payload"), *status, *error;
	json_object *retry;
	int r;

	json_set(params, "subtask_type", json_object_new_string(cmd->args[0]));
	if (payload) {
		_cleanup_json_ json_object *o = NULL;

		if (json_parse_object(payload, strlen(payload), &o) < 0)
			return cmd_usage_error(cmd, "--payload wants a JSON object, not '%s'", payload);
		json_set(params, "payload", TAKE_PTR(o));
	}
	r = add_daughter_identity(cmd, params);
	if (r != 0)
		return r;

	r = rpc_call(cmd, "daughter.subtask", params, &result);
	if (r != 0)
		return r;
	status = json_get_string(result, "status");
	if (cmd->json)
		print_json(stdout, result, true);
	if (status && streq(status, "ok")) {
		if (!cmd->json)
			print_json(stdout, json_get(result, "result"), false);
		return VX11_EXIT_OK;
	}
	error = json_get_string(result, "error");
	retry = json_get(result, "retry");
	fprintf(stderr, "vx11ctl: subtask %s: %s: %s%s\n", cmd->args[0], status ?: "no status", error ?: "no reason given",
		json_object_get_boolean(retry) ? " (retry later)" : "");
	return VX11_EXIT_FAILED;
}

/* ---------------------------------------------------------------------------
 * spawn */

/* The default name, COMMAND's file name, made into one the daemon takes
 * (see daughter.spawn in vx11-protocol(7)). */
static void default_spawn_name(const char *command, char buf[static 65])
{
	const char *base = strrchr(command, '/') + 1;
	size_t n = 0;

	for (; base[n] && n < 64; n++)
		buf[n] = strchr("_.+@:-", base[n]) || (isascii(base[n]) && isalnum(base[n])) ? base[n] : '_';
	buf[n] = '\0';
	if (n == 0) /* COMMAND ends in '/': the daemon refuses it anyway, as no program */
		strcpy(buf, "spawn");
}

int verb_spawn(const Cmd *cmd)
{
	_cleanup_json_ json_object *params = json_new_object(), *result = NULL;
	char name[65];
	int64_t timeout = 0;
	json_object *argv;
	int r;

	/* The daemon would refuse it too; here the user learns it is the command line. */
	if (cmd->args[0][0] != '/')
		return cmd_usage_error(cmd, "COMMAND must be an absolute path, not '%s'", cmd->args[0]);

	argv = json_object_new_array();
	json_set(params, "cmd", argv);
	for (unsigned i = 0; i < cmd->n_args; i++) {
		json_object *a = json_object_new_string(cmd->args[i]);

		if (!a || json_object_array_add(argv, a) < 0)
			oom();
	}
	/* The daemon wants a name; the program's is the obvious one. */
	default_spawn_name(cmd->args[0], name);
	json_set(params, "name", json_object_new_string(cmd_option(cmd, "name") ?: name));
	r = wait_options_check(cmd, &timeout);
	if (r != 0)
		return r;
	cmd_param_string(cmd, "purpose", params, "purpose");
	cmd_param_string(cmd, "profile", params, "profile");
	r = cmd_param_int(cmd, "ttl", 0, params, "ttl_seconds");
	if (r != 0)
		return r;
	if (cmd_option(cmd, "parent")) {
		char parent[ID_STRING_MAX];

		r = resolve_task(cmd, cmd_option(cmd, "parent"), parent);
		if (r != 0)
			return r;
		json_set(params, "parent_task_id", json_object_new_string(parent));
	}

	r = rpc_call(cmd, "daughter.spawn", params, &result);
	if (r != 0)
		return r;
	if (cmd->json)
		print_json(stdout, result, true);
	else
		print_members(stdout, result, 0, 0, NULL);
	if (!cmd_flag(cmd, "wait"))
		return VX11_EXIT_OK;
	if (!json_get_string(result, "correlation_id")) {
		fprintf(stderr, "vx11ctl: malformed reply from %s: no correlation_id\n", cmd->socket_path);
		return VX11_EXIT_NO_DAEMON;
	}
	/* Whoever reads through a pipe learns the task id before the wait. */
	fflush(stdout);
	return follow_and_print(cmd, json_get_string(result, "correlation_id"), timeout,
				timeout_deadline(timeout, cmd_option(cmd, "timeout") != NULL));
}
