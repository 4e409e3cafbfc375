/* SPDX-License-Identifier: MIT */
/*
 * --after ID (repeatable) and --after-any: the tasks a new task waits for
 * (intent.submit "after" and "after_any"). Any verb that submits a task puts
 * AFTER_OPTIONS in its option table and AFTER_USAGE in its help, and calls
 * after_params() while it builds its request.
 */
#pragma once

#include <json-c/json.h>

#include "vx11ctl.h"

#define AFTER_OPTIONS { "after", required_argument }, { "after-any", no_argument }

#define AFTER_USAGE                                                                                          \
	"  --after TASK           start only once TASK has completed (repeatable: all of\n"                    \
	"                         them); if one fails, expires or is cancelled, this task\n"                   \
	"                         fails too (dependency_failed). TASK as for 'vx11ctl task'\n"                \
	"  --after-any            with --after: start once they have ended, however\n"                        \
	"                         they ended\n"

/*
 * Each --after resolved to its task id (a unique start of either id, as
 * 'vx11ctl task' takes it, among the tasks the caller may see) into
 * params["after"], and --after-any as params["after_any"]. Returns 0, or an
 * exit status having said why (resolve_task(); --after-any alone is a usage
 * error).
 */
int after_params(const Cmd *cmd, json_object *params);
