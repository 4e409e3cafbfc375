/* SPDX-License-Identifier: MIT */
/*
 * A caller's command for a task type whose policy says "command": "caller"
 * (intent.submit's argv, cwd and env; vx11ctl run): checked here, once,
 * and kept as JSON with the intent (the audit trail) and its task (what the
 * runner runs): {"argv": [...], "cwd": "/dir", "env": {"K": "V"}}, cwd and
 * env only when given.
 */
#pragma once

#include <json-c/json.h>

#include "rpc.h"

#define COMMAND_ARGV_MAX 255     /* strings in argv */
#define COMMAND_ENV_MAX 64       /* variables in env */
#define COMMAND_STRING_MAX 4096  /* bytes of one argument, value or cwd */
#define COMMAND_JSON_MAX 65536   /* bytes of the whole, as stored and journalled */

/* argv (required here), cwd and env (NULL when not given) as intent.submit
 * got them: 0 and the JSON in *ret_json (malloc'd), or -32602 in err. */
int command_build(json_object *argv, const char *cwd, json_object *env, char **ret_json, RpcError *err);
