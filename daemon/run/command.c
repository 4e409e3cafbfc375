/* SPDX-License-Identifier: MIT */
/*
 * What a daughter execs: its argv, environment and working directory.
 *
 * A task type's command is the policy's; a "command": "caller" type runs
 * what its caller asked (the task's command_json, checked by intent.submit:
 * api/command.c), read again from the row because that is what survives a
 * restart. Everything else about the daughter (uid, cgroup, limits,
 * namespaces, seccomp) comes from the policy either way.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "runner-internal.h"

static char **strv_new(size_t n)
{
	return calloc(n + 1, sizeof(char *));
}

void caller_command_done(CallerCommand *c)
{
	for (char **a = c->argv; a && *a; a++)
		free(*a);
	free(c->argv);
	for (char **e = c->env; e && *e; e++)
		free(*e);
	free(c->env);
	free(c->cwd);
	*c = (CallerCommand){};
}

int caller_command_load(const char *json, CallerCommand *ret, char **ret_error)
{
	_cleanup_json_ json_object *o = json ? json_tokener_parse(json) : NULL;
	_cleanup_(caller_command_done) CallerCommand c = {};
	json_object *argv = NULL, *cwd = NULL, *env = NULL;
	size_t n, i = 0;

	if (!o || !json_object_object_get_ex(o, "argv", &argv) || !json_object_is_type(argv, json_type_array) ||
	    (n = json_object_array_length(argv)) == 0)
		return asprintf(ret_error, "the task has no command of its caller's") < 0 ? -ENOMEM : -EINVAL;
	if (!(c.argv = strv_new(n)))
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		json_object *a = json_object_array_get_idx(argv, i);
		if (!json_object_is_type(a, json_type_string))
			return asprintf(ret_error, "the task's argv[%zu] is not a string", i) < 0 ? -ENOMEM : -EINVAL;
		if (!(c.argv[i] = strdup(json_object_get_string(a))))
			return -ENOMEM;
	}

	if (json_object_object_get_ex(o, "cwd", &cwd) && cwd) {
		if (!json_object_is_type(cwd, json_type_string))
			return asprintf(ret_error, "the task's cwd is not a string") < 0 ? -ENOMEM : -EINVAL;
		if (!(c.cwd = strdup(json_object_get_string(cwd))))
			return -ENOMEM;
	}

	if (json_object_object_get_ex(o, "env", &env) && env && !json_object_is_type(env, json_type_object))
		return asprintf(ret_error, "the task's env is not an object") < 0 ? -ENOMEM : -EINVAL;
	if (!(c.env = strv_new(env ? (size_t)json_object_object_length(env) : 0)))
		return -ENOMEM;
	i = 0;
	if (env) {
		json_object_object_foreach(env, name, value)
		{
			if (asprintf(&c.env[i], "%s=%s", name, json_object_get_string(value)) < 0) {
				c.env[i] = NULL;
				return -ENOMEM;
			}
			i++;
		}
	}
	*ret = c;
	c = (CallerCommand){};
	return 0;
}

/* Copies: the spawner thread reads them while the policy may be replaced. */
static int copy_argv(char *const *argv, char ***ret)
{
	size_t n = 0;

	while (argv[n])
		n++;
	if (!(*ret = strv_new(n)))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!((*ret)[i] = strdup(argv[i])))
			return -ENOMEM;
	return 0;
}

int hija_command_prepare(Hija *h, const Task *t, const PolicyTask *pt, char **ret_error)
{
	_cleanup_(caller_command_done) CallerCommand c = {};
	Runner *r = h->runner;
	size_t n = 0, n_extra = 0;
	int k;

	if (pt->command_caller) {
		k = caller_command_load(t->command_json, &c, ret_error);
		if (k < 0)
			return k;
		h->argv = TAKE_PTR(c.argv);
		h->cwd = TAKE_PTR(c.cwd);
		while (c.env[n_extra])
			n_extra++;
	} else if (copy_argv(pt->command, &h->argv) < 0)
		return -ENOMEM;

	/* The daemon's first; a caller cannot name these (api/command.c). */
	char tp[TRACEPARENT_MAX];
	if (!(h->env = strv_new(9 + n_extra)))
		return -ENOMEM;
	if (asprintf(&h->env[n++], "VX11_TASK_ID=%s", t->id) < 0 ||
	    asprintf(&h->env[n++], "TRACEPARENT=%s", hija_traceparent(h, tp)) < 0 ||
	    asprintf(&h->env[n++], "VX11_DAUGHTER_ID=%s", h->d.id) < 0 ||
	    asprintf(&h->env[n++], "VX11_ATTEMPT=%d", h->a.number) < 0 ||
	    asprintf(&h->env[n++], "VX11_MUTATION_LEVEL=%d", t->mutation_level) < 0 ||
	    asprintf(&h->env[n++], "VX11_DAUGHTER_TOKEN=%s", h->token) < 0 ||
	    asprintf(&h->env[n++], "VX11_SOCKET=%s", r->daughter_socket) < 0 ||
	    asprintf(&h->env[n++], "NOTIFY_SOCKET=%s", r->notify_path) < 0 ||
	    (h->hb_usec > 0 && asprintf(&h->env[n++], "WATCHDOG_USEC=%" PRIu64, h->hb_usec) < 0)) {
		h->env[n - 1] = NULL;
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_extra; i++)
		h->env[n++] = TAKE_PTR(c.env[i]);
	return 0;
}
