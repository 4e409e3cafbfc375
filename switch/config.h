/* SPDX-License-Identifier: MIT */
/*
 * vx11-switch's configuration (vx11-switch(8) documents every key): the
 * routes that turn a switch.plan request into a plan, the providers that run
 * sub-tasks, and which provider serves which subtask_type. Read from a JSON
 * file and validated whole before use: any mistake, an unknown key included,
 * refuses the file with a message naming the key path ("routes[2].text:
 * ..."), and a running switch keeps its previous configuration.
 */
#pragma once

#include <regex.h>
#include <stdint.h>

#include "json-util.h"

#define SWITCH_DEFAULT_SOCKET "/run/vx11-switch/switch.sock"

typedef struct Provider {
	char *name;
	char **argv;         /* NULL-terminated; argv[0] an absolute path or a name looked up in $PATH */
	uint64_t timeout_ms; /* the whole process group is killed after this */
	char *model;         /* reported when the provider's output names none, or NULL */
} Provider;

typedef struct Route {
	char *name;        /* for the log only, or NULL */
	char *intent_type; /* fnmatch(3) pattern; NULL in the default route */
	char *text;        /* POSIX extended regex source, or NULL: any text, null too */
	regex_t text_re;   /* compiled when text is set */
	char *provider;
	char *approach;
	char *model;           /* or NULL */
	char *task_type;       /* re-route to this task type (see route.h), or NULL */
	json_object *score;    /* a number in [0, 1] as written, or NULL */
	json_object *steps;    /* an array, or NULL */
	json_object *response; /* an object, or NULL */
} Route;

typedef struct SubtaskRule {
	char *subtask_type; /* fnmatch(3) pattern */
	const Provider *provider;
} SubtaskRule;

typedef struct SwitchLimits {
	size_t max_line_bytes;   /* longest request line */
	unsigned max_connections; /* clients at once */
	unsigned max_pending;    /* requests of one connection read and not yet answered */
	unsigned max_subtasks;   /* providers running at once, all clients together */
	size_t max_output_bytes; /* what one provider may write on stdout */
} SwitchLimits;

typedef struct SwitchConfig {
	char *socket; /* or NULL: --socket, else SWITCH_DEFAULT_SOCKET */
	SwitchLimits limits;
	Route *routes; /* matched in order; the first match wins */
	size_t n_routes;
	Route default_route; /* when none matches */
	Provider *providers;
	size_t n_providers;
	SubtaskRule *subtasks; /* matched in order on subtask_type */
	size_t n_subtasks;
	const Provider *default_provider; /* when no subtask rule matches, or NULL */
} SwitchConfig;

/* Parse and validate. On failure *error (to free) says what and where. */
int switch_config_parse(const char *text, size_t len, SwitchConfig **ret, char **error);
/* Read path and parse it; errors name the file. */
int switch_config_load(const char *path, SwitchConfig **ret, char **error);
SwitchConfig *switch_config_free(SwitchConfig *c);
static inline void switch_config_freep(SwitchConfig **c)
{
	switch_config_free(*c);
}
#define _cleanup_config_ _cleanup_(switch_config_freep)

const Provider *switch_config_find_provider(const SwitchConfig *c, const char *name);
