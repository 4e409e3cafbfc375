/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "output.h"
#include "rpc-client.h"

/* Below this, a start of an id names too much; the daemon refuses it too. */
#define ID_PREFIX_MIN 4

static char *time_text(json_object *v)
{
	return json_object_is_type(v, json_type_string) ? timestamp_to_text(json_object_get_string(v)) : value_to_text(v);
}

/* An ambiguous start: the daemon's message, then the candidates, one a line. */
static int report_ambiguous(const Cmd *cmd, json_object *error, json_object *candidates)
{
	size_t n = json_array_length(candidates);
	json_object *more = json_get(json_get(error, "data"), "more");

	(void)rpc_report_error(cmd, error);
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(candidates, i);
		json_object *task = json_get(c, "task_id");
		_cleanup_free_ char *id = value_to_text(task ? task : json_get(c, "correlation_id")),
				    *type = value_to_text(json_get(c, "intent_type")),
				    *status = value_to_text(json_get(c, "status")),
				    *at = time_text(json_get(c, "created_at"));

		fprintf(stderr, "  %s  %s  %s  %s\n", id, type, status, at);
	}
	if (json_object_is_type(more, json_type_boolean) && json_object_get_boolean(more))
		fprintf(stderr, "  ...\n");
	return VX11_EXIT_USAGE;
}

static void copy_id(char dst[static ID_STRING_MAX], json_object *v)
{
	const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";

	snprintf(dst, ID_STRING_MAX, "%s", strlen(s) < ID_STRING_MAX ? s : "");
}

int resolve_id(const Cmd *cmd, const char *arg, ResolvedId *ret)
{
	_cleanup_json_ json_object *params = json_new_object(), *result = NULL, *error = NULL;
	json_object *candidates;
	int r;

	/* Said here, not by the daemon: a usage error needs no daemon. */
	if (strlen(arg) < ID_PREFIX_MIN) {
		_cleanup_free_ char *a = text_escape(arg);
		return cmd_usage_error(cmd, "'%s' is too short: give at least %d characters of a task or correlation id",
				       a, ID_PREFIX_MIN);
	}
	json_set(params, "id", json_object_new_string(arg));
	r = rpc_call_try(cmd, "task.resolve", params, &result, &error);
	if (r != 0)
		return r;
	if (error) {
		candidates = json_get(json_get(error, "data"), "candidates");
		if (json_object_is_type(candidates, json_type_array))
			return report_ambiguous(cmd, error, candidates);
		return rpc_report_error(cmd, error);
	}
	copy_id(ret->correlation_id, json_get(result, "correlation_id"));
	copy_id(ret->task_id, json_get(result, "task_id"));
	if (!ret->correlation_id[0]) {
		fprintf(stderr, "vx11ctl: malformed task.resolve reply from %s\n", cmd->socket_path);
		return VX11_EXIT_NO_DAEMON;
	}
	return 0;
}

int resolve_task(const Cmd *cmd, const char *arg, char ret_task_id[static ID_STRING_MAX])
{
	ResolvedId id;
	int r;

	r = resolve_id(cmd, arg, &id);
	if (r != 0)
		return r;
	if (!id.task_id[0]) {
		fprintf(stderr,
			"vx11ctl: intent %s has no task: the daemon answered it at once; see 'vx11ctl result %s'\n",
			id.correlation_id, id.correlation_id);
		return VX11_EXIT_FAILED;
	}
	memcpy(ret_task_id, id.task_id, ID_STRING_MAX);
	return 0;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t short_id_width(json_object *items, const char *key, bool full)
{
	size_t n = json_array_length(items), width = SHORT_ID_MIN, k = 0;
	_cleanup_free_ const char **ids = NULL;

	if (full)
		return SIZE_MAX;
	ids = calloc(n ?: 1, sizeof *ids);
	if (!ids)
		oom();
	for (size_t i = 0; i < n; i++) {
		const char *id = json_get_string(json_object_array_get_idx(items, i), key);

		if (id)
			ids[k++] = id;
	}
	/* Sorted, the longest start two ids share is between neighbours. */
	qsort(ids, k, sizeof *ids, compare_strings);
	for (size_t i = 1; i < k; i++) {
		size_t common = 0;

		while (ids[i][common] && ids[i][common] == ids[i - 1][common])
			common++;
		if (ids[i][common]) /* not the same id twice */
			width = MAX(width, common + 1);
	}
	return width;
}
