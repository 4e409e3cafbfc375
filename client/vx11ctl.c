/* SPDX-License-Identifier: MIT */
/*
 * vx11ctl: main, the global options and the verb table.
 *
 * The command line is read in two getopt_long passes: the first takes the
 * global options before the verb and stops at it; the second takes the verb's
 * own options mixed with the global ones, so `vx11ctl tasks --json` and
 * `vx11ctl --json tasks` mean the same. A verb's options are stored by name in
 * Cmd.values, so each handler reads what it needs and builds its request.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "rpc-client.h"
#include "vx11ctl.h"

#ifndef VX11_RUNSTATEDIR
#define VX11_RUNSTATEDIR "/run/vx11"
#endif
#define DEFAULT_SOCKET VX11_RUNSTATEDIR "/vx11.sock"

/* clang-format off */
static const Verb verbs[] = {
	/* name        handler         args  options            summary                    usage */
	{ "submit",    verb_submit,    1, 1, submit_options,    "submit an intent",        submit_usage },
	{ "run",       verb_run,       1, UINT_MAX, run_options, "run a command as a task (a \"caller\" type)",
	  run_usage, .options_first = true },
	{ "result",    verb_result,    1, 1, result_options,    "show an intent's result", result_usage },
	{ "wait",      verb_wait,      1, UINT_MAX, wait_options, "wait for tasks to end",  wait_usage },
	{ "rerun",     verb_rerun,     1, 1, rerun_options,     "submit a task's intent again", rerun_usage },
	{ "tasks",     verb_tasks,     0, 0, tasks_options,     "list tasks",              tasks_usage },
	{ "task",      verb_task,      1, 1, NULL,              "show one task",           task_usage },
	{ "logs",      verb_logs,      1, 1, logs_options,      "show a task's output",    logs_usage },
	{ "cancel",    verb_cancel,    1, 1, NULL,              "cancel a task",           cancel_usage },
	{ "daughters", verb_daughters, 0, 0, daughters_options, "list daughters",          daughters_usage },
	{ "spawn",     verb_spawn,     1, UINT_MAX, spawn_options, "run a command as a daughter",
	  spawn_usage, .options_first = true },
	{ "status",    verb_status,    0, 0, NULL,              "show the daemon's state", status_usage },
	{ "types",     verb_types,     0, 0, NULL,              "list the task types you may submit", types_usage },
	{ "pause",     verb_pause,     0, 0, pause_options,     "start no new tasks",      pause_usage },
	{ "resume",    verb_resume,    0, 0, pause_options,     "start tasks again",       resume_usage },
	{ "prune",     verb_prune,     0, 0, prune_options,     "remove finished tasks",   prune_usage },
	{ "audit",     verb_audit,     0, 0, audit_options,     "list the audit log",      audit_usage },
	{ "watch",     verb_watch,     0, 1, NULL,              "print events live",       watch_usage },
	{ "reload",    verb_reload,    0, 0, NULL,              "reload the policy",       reload_usage },
	{ "metrics",   verb_metrics,   0, 0, NULL,              "print the daemon's metrics", metrics_usage },
	{ "heartbeat", verb_heartbeat, 0, 0, heartbeat_options, "say a daughter is alive", heartbeat_usage },
	{ "report",    verb_report,    0, 0, report_options,    "report from a daughter",  report_usage },
	{ "subtask",   verb_subtask,   1, 1, subtask_options,   "run a sub-task through the switch", subtask_usage },
};
/* clang-format on */

enum {
	ARG_SOCKET = 0x100,
	ARG_JSON,
	ARG_UTC,
	ARG_VERSION,
	ARG_VERB_FIRST = 0x200, /* + the option's index in Verb.options */
};

static const struct option global_options[] = {
	{ "socket", required_argument, NULL, ARG_SOCKET },
	{ "json", no_argument, NULL, ARG_JSON },
	{ "utc", no_argument, NULL, ARG_UTC },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, ARG_VERSION },
};

/* parse_options(): the command line is fine so far, go on. */
#define PARSE_GO_ON (-1)

_Noreturn void oom(void)
{
	fputs("vx11ctl: out of memory\n", stderr);
	exit(VX11_EXIT_FAILED);
}

static void help(void)
{
	printf("Usage: vx11ctl [OPTIONS] COMMAND [ARGS...]\n"
	       "\n"
	       "Send intents to vx11d and look at its tasks, over the daemon's Unix socket.\n"
	       "\n"
	       "Commands:\n");
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		printf("  %-10s  %s\n", verbs[i].name, verbs[i].summary);
	printf("\n"
	       "Options (before or after the command):\n"
	       "  --socket PATH  the daemon's socket (default: $VX11_SOCKET, else %s)\n"
	       "  --json         print the reply as JSON: the result, or the error object\n"
	       "  --utc          print times in UTC, not in the local zone\n"
	       "  -h, --help     show this help; 'vx11ctl COMMAND --help' for one command\n"
	       "  --version      show the version\n"
	       "\n"
	       "Exit status: 0 success; 1 the daemon refused the request or the intent failed;\n"
	       "2 bad usage; 3 vx11d could not be reached; and for 'submit --wait' and 'wait',\n"
	       "4 a task failed, 5 it expired, 6 it was cancelled, 7 --timeout passed. See\n"
	       "vx11ctl(1).\n",
	       DEFAULT_SOCKET);
}

static void verb_help(const Verb *verb)
{
	fputs(verb->usage, stdout);
	printf("\nGlobal options: --socket PATH, --json, --utc, -h/--help, --version; see 'vx11ctl --help'.\n");
}

static const Verb *find_verb(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (streq(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

int cmd_usage_error(const Cmd *cmd, const char *format, ...)
{
	va_list ap;

	fputs("vx11ctl: ", stderr);
	va_start(ap, format);
	vfprintf(stderr, format, ap);
	va_end(ap);
	if (cmd->verb)
		fprintf(stderr, "; see 'vx11ctl %s --help'\n", cmd->verb->name);
	else
		fputs("; see 'vx11ctl --help'\n", stderr);
	return VX11_EXIT_USAGE;
}

static int verb_option_index(const Verb *verb, const char *name)
{
	for (int i = 0; verb->options && verb->options[i].name; i++)
		if (streq(verb->options[i].name, name))
			return i;
	return -1;
}

/* The index of the verb option written as -LETTER (its .val), -1 if none. */
static int verb_letter_index(const Verb *verb, int letter)
{
	for (int i = 0; verb->options && verb->options[i].name; i++)
		if (verb->options[i].val == letter)
			return i;
	return -1;
}

const char *cmd_option(const Cmd *cmd, const char *name)
{
	int i = verb_option_index(cmd->verb, name);

	assert(i >= 0); /* a handler asked for an option its verb does not declare */
	return cmd->values[i];
}

const char *const *cmd_option_all(const Cmd *cmd, const char *name, size_t *ret_n)
{
	int i = verb_option_index(cmd->verb, name);

	assert(i >= 0);
	*ret_n = cmd->n_all_values[i];
	return cmd->all_values[i];
}

void cmd_param_string(const Cmd *cmd, const char *name, json_object *params, const char *key)
{
	const char *v = cmd_option(cmd, name);

	if (v)
		json_set(params, key, json_object_new_string(v));
}

int cmd_option_int(const Cmd *cmd, const char *name, int64_t min, int64_t *ret)
{
	const char *v = cmd_option(cmd, name);
	int64_t n;

	if (!v)
		return 0;
	if (parse_int64(v, &n) < 0)
		return cmd_usage_error(cmd, "--%s wants an integer, not '%s'", name, v);
	if (n < min)
		return cmd_usage_error(cmd, "--%s must be at least %" PRId64, name, min);
	*ret = n;
	return 0;
}

int cmd_param_int(const Cmd *cmd, const char *name, int64_t min, json_object *params, const char *key)
{
	int64_t n;
	int r;

	if (!cmd_option(cmd, name))
		return 0;
	r = cmd_option_int(cmd, name, min, &n);
	if (r != 0)
		return r;
	json_set(params, key, json_object_new_int64(n));
	return 0;
}

/*
 * How the user wrote the option getopt_long complained about. A long option
 * is the word before any '='; anything else was a letter, alone ("-x") or in
 * a cluster ("-fx"). --help is the one long option whose value is a letter.
 */
static void option_token(char *argv[], char buf[static 64])
{
	const char *word = optind > 0 ? argv[optind - 1] : "";

	if (optopt > 0 && optopt < 0x100 && optopt != 'h' && strncmp(word, "--", 2) != 0) {
		snprintf(buf, 64, "-%c", optopt);
		return;
	}
	snprintf(buf, 64, "%.*s", (int)strcspn(word, "="), word);
}

static bool takes_no_argument(const struct option *options, const char *token)
{
	for (; options->name; options++)
		if (streq(options->name, token + 2))
			return options->has_arg == no_argument;
	return false;
}

/*
 * One getopt_long pass over argv. Before the verb (cmd->verb NULL) it stops at
 * the first operand; after it, operands and options may be mixed, unless the
 * verb runs a command line (Verb.options_first), whose options are its own. Returns
 * PARSE_GO_ON, or the exit status when there is nothing more to do (help,
 * version, a usage error).
 */
static int parse_options(Cmd *cmd, int argc, char *argv[])
{
	struct option options[ELEMENTSOF(global_options) + VERB_OPTIONS_MAX + 1] = {};
	size_t n = 0;
	char shortopts[4 + 2 * VERB_OPTIONS_MAX], token[64];
	size_t k = 0;
	int c;

	for (size_t i = 0; i < ELEMENTSOF(global_options); i++)
		options[n++] = global_options[i];
	for (int i = 0; cmd->verb && cmd->verb->options && cmd->verb->options[i].name; i++) {
		assert(i < VERB_OPTIONS_MAX);
		options[n] = cmd->verb->options[i];
		options[n].flag = NULL;
		options[n].val = ARG_VERB_FIRST + i;
		n++;
	}

	opterr = 0;
	optind = 0;
	/* "+": stop at the first operand (the verb, or the command line `spawn` runs). */
	if (!cmd->verb || cmd->verb->options_first)
		shortopts[k++] = '+';
	shortopts[k++] = ':';
	shortopts[k++] = 'h';
	for (int i = 0; cmd->verb && cmd->verb->options && cmd->verb->options[i].name; i++) {
		const struct option *o = &cmd->verb->options[i];

		if (o->val > 0 && o->val < 0x100) { /* a verb option that has a letter too */
			assert(o->val != 'h' && o->val != ':' && o->val != '+');
			shortopts[k++] = (char)o->val;
			if (o->has_arg == required_argument)
				shortopts[k++] = ':';
		}
	}
	shortopts[k] = '\0';

	while ((c = getopt_long(argc, argv, shortopts, options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			if (cmd->verb)
				verb_help(cmd->verb);
			else
				help();
			return VX11_EXIT_OK;
		case ARG_VERSION:
			printf("vx11ctl %s\n", PACKAGE_VERSION);
			return VX11_EXIT_OK;
		case ARG_SOCKET:
			if (!*optarg)
				return cmd_usage_error(cmd, "--socket wants a path");
			cmd->socket_path = optarg;
			break;
		case ARG_JSON:
			cmd->json = true;
			break;
		case ARG_UTC:
			output_set_utc(true);
			break;
		case ':':
			option_token(argv, token);
			return cmd_usage_error(cmd, "option %s needs an argument", token);
		case '?':
			option_token(argv, token);
			if (strchr(argv[optind - 1], '=') && takes_no_argument(options, token))
				return cmd_usage_error(cmd, "option %s takes no argument", token);
			return cmd_usage_error(cmd, "unknown option %s", token);
		default:
			if (c < ARG_VERB_FIRST)
				c = ARG_VERB_FIRST + verb_letter_index(cmd->verb, c);
			assert(c >= ARG_VERB_FIRST && c < ARG_VERB_FIRST + VERB_OPTIONS_MAX);
			c -= ARG_VERB_FIRST;
			cmd->values[c] = optarg ? optarg : "";
			/* Kept for the process's life (main's Cmd is static), as argv is. */
			cmd->all_values[c] = realloc(cmd->all_values[c], (cmd->n_all_values[c] + 1) * sizeof(char *));
			if (!cmd->all_values[c])
				oom();
			cmd->all_values[c][cmd->n_all_values[c]++] = cmd->values[c];
		}
	}
	return PARSE_GO_ON;
}

int main(int argc, char *argv[])
{
	/* Static: what parse_options() allocates for repeated options stays
	 * reachable until the process exits, with argv. */
	static Cmd cmd;
	const char *e = getenv("VX11_SOCKET");
	int r;

	/* A daemon that goes away mid-write is an error to report, not a reason to die silently. */
	signal(SIGPIPE, SIG_IGN);

	cmd.socket_path = e && *e ? e : DEFAULT_SOCKET;

	r = parse_options(&cmd, argc, argv);
	if (r != PARSE_GO_ON)
		return r;
	if (optind >= argc)
		return cmd_usage_error(&cmd, "no command given");
	cmd.verb = find_verb(argv[optind]);
	if (!cmd.verb)
		return cmd_usage_error(&cmd, "unknown command '%s'", argv[optind]);

	argc -= optind;
	argv += optind;
	r = parse_options(&cmd, argc, argv);
	if (r != PARSE_GO_ON)
		return r;
	cmd.args = argv + optind;
	cmd.n_args = (unsigned)(argc - optind);
	if (cmd.n_args < cmd.verb->min_args)
		return cmd_usage_error(&cmd, "%s: missing argument", cmd.verb->name);
	if (cmd.n_args > cmd.verb->max_args)
		return cmd_usage_error(&cmd, "%s: unexpected argument '%s'", cmd.verb->name,
				       cmd.args[cmd.verb->max_args]);

	r = cmd.verb->run(&cmd);

	/* A reader that stopped reading ("vx11ctl tasks | head -1") got what it wanted: no error. */
	if ((fflush(stdout) != 0 || ferror(stdout)) && errno != EPIPE) {
		fprintf(stderr, "vx11ctl: cannot write output: %s\n", strerror(errno));
		if (r == VX11_EXIT_OK)
			r = VX11_EXIT_FAILED;
	}
	return r;
}
