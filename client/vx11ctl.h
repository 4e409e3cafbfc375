/* SPDX-License-Identifier: MIT */
/*
 * vx11ctl, the command-line client of vx11d. Each verb turns its arguments
 * into one JSON-RPC request (see vx11-protocol(7)) and prints the reply for
 * people, or as JSON with --json. Verbs return an exit status, never exit.
 */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "util.h"

/* Exit status, documented in vx11ctl(1); tests assert on these. */
enum {
	VX11_EXIT_OK = 0,
	VX11_EXIT_FAILED = 1,    /* the daemon answered with an error, or the intent failed */
	VX11_EXIT_USAGE = 2,     /* bad command line */
	VX11_EXIT_NO_DAEMON = 3, /* cannot connect, or the connection broke before the reply */
	/* How a task followed to its end (submit --wait, wait) ended, when not completed. */
	VX11_EXIT_TASK_FAILED = 4,    /* result status ERROR: the task failed */
	VX11_EXIT_TASK_EXPIRED = 5,   /* EXPIRED: its last attempt ran out of time */
	VX11_EXIT_TASK_CANCELLED = 6, /* CANCELLED */
	VX11_EXIT_TIMEOUT = 7,        /* --timeout passed before the task ended */
};

#define VERB_OPTIONS_MAX 16

typedef struct Cmd Cmd;

typedef struct Verb {
	const char *name;
	int (*run)(const Cmd *cmd);   /* returns an exit status */
	unsigned min_args, max_args;  /* operands after the verb */
	const struct option *options; /* the verb's options or NULL: .name, .has_arg, and .val a letter
					 for a short form (-f) or 0 */
	const char *summary;          /* one line, for 'vx11ctl --help' */
	const char *usage;            /* the text of 'vx11ctl VERB --help' */
	bool options_first;           /* options end at the first operand (a command line to run follows) */
} Verb;

/* One parsed command line. */
struct Cmd {
	const Verb *verb;
	const char *socket_path;
	bool json;                              /* --json: print the reply's JSON instead of text */
	const char *values[VERB_OPTIONS_MAX];   /* per verb option: its argument, "" for a flag, or NULL */
	/* per verb option: every argument it was given, in order (--env K=V --env ...) */
	const char **all_values[VERB_OPTIONS_MAX];
	size_t n_all_values[VERB_OPTIONS_MAX];
	char **args;                            /* operands, after the verb */
	unsigned n_args;
};

/* The value of the verb option `name` (NULL when not given); see Cmd.values. */
const char *cmd_option(const Cmd *cmd, const char *name);
/* Every value of the verb option `name`, given as often as the user liked, in
 * order: *ret_n of them (0: not given). */
const char *const *cmd_option_all(const Cmd *cmd, const char *name, size_t *ret_n);
static inline bool cmd_flag(const Cmd *cmd, const char *name)
{
	return cmd_option(cmd, name) != NULL;
}

/* Print "vx11ctl: MESSAGE; see 'vx11ctl VERB --help'" and return VX11_EXIT_USAGE. */
int cmd_usage_error(const Cmd *cmd, const char *format, ...) _printf_(2, 3);

/*
 * Copy the verb option `name`, when given, into params[key]: as a string; or
 * as an integer no smaller than `min`, returning 0 or VX11_EXIT_USAGE after
 * saying what is wrong. Whether a value is acceptable beyond its syntax is
 * the daemon's call (it answers vx11.InvalidParams).
 */
void cmd_param_string(const Cmd *cmd, const char *name, json_object *params, const char *key);
int cmd_param_int(const Cmd *cmd, const char *name, int64_t min, json_object *params, const char *key);
/* The verb option `name` as an integer no smaller than `min`: 0, with *ret set
 * only when the option was given (so it may hold a default), or VX11_EXIT_USAGE. */
int cmd_option_int(const Cmd *cmd, const char *name, int64_t min, int64_t *ret);

/* A client cannot do anything useful without memory: say so and exit 1. */
_Noreturn void oom(void);

/* The verbs, one file per family. */
int verb_submit(const Cmd *cmd);
int verb_result(const Cmd *cmd);
int verb_wait(const Cmd *cmd);
int verb_rerun(const Cmd *cmd);
int verb_run(const Cmd *cmd);
extern const struct option submit_options[], result_options[], wait_options[], rerun_options[], run_options[];
extern const char submit_usage[], result_usage[], wait_usage[], rerun_usage[], run_usage[];

int verb_tasks(const Cmd *cmd);
int verb_task(const Cmd *cmd);
int verb_cancel(const Cmd *cmd);
int verb_daughters(const Cmd *cmd);
extern const struct option tasks_options[], daughters_options[];
extern const char tasks_usage[], task_usage[], cancel_usage[], daughters_usage[];

int verb_pause(const Cmd *cmd);
int verb_resume(const Cmd *cmd);
int verb_prune(const Cmd *cmd);
extern const struct option pause_options[], prune_options[];
extern const char pause_usage[], resume_usage[], prune_usage[];
/* --status "a,b" becomes ["a","b"]; a single state stays a string, as the protocol allows both. */
json_object *status_filter(const char *s);
/* daemon.status "paused" in words: "everything", "task types a, b", "nothing". */
char *paused_to_text(json_object *paused);

int verb_status(const Cmd *cmd);
int verb_audit(const Cmd *cmd);
int verb_watch(const Cmd *cmd);
int verb_reload(const Cmd *cmd);
int verb_metrics(const Cmd *cmd);
extern const struct option audit_options[];
extern const char status_usage[], audit_usage[], watch_usage[], reload_usage[], metrics_usage[];

int verb_logs(const Cmd *cmd);
int verb_heartbeat(const Cmd *cmd);
int verb_report(const Cmd *cmd);
int verb_subtask(const Cmd *cmd);
int verb_spawn(const Cmd *cmd);
extern const struct option logs_options[], heartbeat_options[], report_options[], subtask_options[], spawn_options[];
extern const char logs_usage[], heartbeat_usage[], report_usage[], subtask_usage[], spawn_usage[];

int verb_types(const Cmd *cmd);
extern const char types_usage[];
