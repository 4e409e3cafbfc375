/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "command.h"

/* Set by the daemon for every daughter (lifecycle.md): a caller may not
 * forge them, as a daughter's identity and its sockets rest on them. */
static bool env_name_is_reserved(const char *name)
{
	return strncmp(name, "VX11_", 5) == 0 || streq(name, "NOTIFY_SOCKET") || streq(name, "WATCHDOG_USEC") ||
	       streq(name, "WATCHDOG_PID") || streq(name, "TRACEPARENT");
}

static bool env_name_is_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 128 && !(s[0] >= '0' && s[0] <= '9') &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n;
}

/* A string that C code downstream (execve, chdir) takes whole. */
static bool string_is_plain(json_object *v)
{
	return json_object_is_type(v, json_type_string) && json_object_get_string_len(v) <= COMMAND_STRING_MAX &&
	       !memchr(json_object_get_string(v), 0, (size_t)json_object_get_string_len(v));
}

int command_build(json_object *argv, const char *cwd, json_object *env, char **ret_json, RpcError *err)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	const char *text;
	size_t n, len;

	n = json_object_is_type(argv, json_type_array) ? json_object_array_length(argv) : 0;
	if (n == 0 || n > COMMAND_ARGV_MAX)
		return rpc_error(err, RPC_INVALID_PARAMS,
				 "invalid params: argv: expected an array of 1 to %d strings (the command line; no shell)",
				 COMMAND_ARGV_MAX);
	for (size_t i = 0; i < n; i++)
		if (!string_is_plain(json_object_array_get_idx(argv, i)))
			return rpc_error(err, RPC_INVALID_PARAMS,
					 "invalid params: argv[%zu]: expected a string of at most %d bytes without NUL", i,
					 COMMAND_STRING_MAX);
	if (json_object_get_string(json_object_array_get_idx(argv, 0))[0] != '/')
		return rpc_error(err, RPC_INVALID_PARAMS,
				 "invalid params: argv[0]: must be an absolute path (nothing is looked up in PATH)");
	json_object_object_add(o, "argv", json_object_get(argv));

	if (cwd) {
		if (cwd[0] != '/' || strlen(cwd) > COMMAND_STRING_MAX)
			return rpc_error(err, RPC_INVALID_PARAMS,
					 "invalid params: cwd: expected an absolute path of at most %d bytes",
					 COMMAND_STRING_MAX);
		json_object_object_add(o, "cwd", json_object_new_string(cwd));
	}

	if (env) {
		if (json_object_object_length(env) > COMMAND_ENV_MAX)
			return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: env: at most %d variables",
					 COMMAND_ENV_MAX);
		json_object_object_foreach(env, name, value)
		{
			if (!env_name_is_valid(name))
				return rpc_error(err, RPC_INVALID_PARAMS,
						 "invalid params: env: \"%.64s\" is not a variable name (A-Z a-z 0-9 _, "
						 "not starting with a digit)",
						 name);
			if (env_name_is_reserved(name))
				return rpc_error(err, RPC_INVALID_PARAMS,
						 "invalid params: env.%s: set by the daemon for every daughter; choose "
						 "another name",
						 name);
			if (!string_is_plain(value))
				return rpc_error(err, RPC_INVALID_PARAMS,
						 "invalid params: env.%s: expected a string of at most %d bytes without NUL",
						 name, COMMAND_STRING_MAX);
		}
		json_object_object_add(o, "env", json_object_get(env));
	}

	text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (len > COMMAND_JSON_MAX)
		return rpc_error(err, RPC_INVALID_PARAMS,
				 "invalid params: argv, cwd and env together take %zu bytes as JSON, more than %d", len,
				 COMMAND_JSON_MAX);
	*ret_json = strdup(text);
	if (!*ret_json)
		return rpc_error(err, RPC_INTERNAL, "internal error: out of memory");
	return 0;
}
