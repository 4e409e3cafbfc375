/* SPDX-License-Identifier: MIT */
/* Verbs about the run queue: pause and resume (queue.pause, queue.resume). */
#include <stdio.h>
#include <string.h>

#include "output.h"
#include "rpc-client.h"
#include "vx11ctl.h"

const struct option pause_options[] = {
	{ "type", required_argument },
	{}
};

const char pause_usage[] =
	"Usage: vx11ctl pause [--type NAME]\n"
	"\n"
	"Pause the run queue (queue.pause, admin only): no attempt starts, neither a\n"
	"first one nor a retry, until 'vx11ctl resume'; daughters already running go\n"
	"on to their end. New tasks are still accepted: they stay pending. The pause\n"
	"is kept in the daemon's database, so it lasts across restarts. 'vx11ctl\n"
	"status' shows it. Prints what is paused now:\n"
	"  paused: everything | task types NAME[, NAME...] | nothing\n"
	"Tasks started with 'vx11ctl spawn' do not use the queue and are not paused.\n"
	"\n"
	"Options:\n"
	"  --type NAME  pause only the tasks of this task type of the policy\n";

const char resume_usage[] =
	"Usage: vx11ctl resume [--type NAME]\n"
	"\n"
	"End a pause (queue.resume, admin only): without --type every pause, of the\n"
	"whole queue and of each task type; with --type NAME only that type's (while\n"
	"the whole queue is paused, its tasks still wait). Waiting tasks start in\n"
	"their usual order. Prints what is still paused, as 'vx11ctl pause' does.\n"
	"\n"
	"Options:\n"
	"  --type NAME  resume only the tasks of this task type\n";

static char *copy(const char *s)
{
	char *c = strdup(s);
	if (!c)
		oom();
	return c;
}

char *paused_to_text(json_object *paused)
{
	json_object *all = json_get(paused, "all"), *types = json_get(paused, "task_types");
	size_t n = json_array_length(types);
	char *s = NULL;
	size_t size = 0;
	FILE *f;

	if (json_object_is_type(all, json_type_boolean) && json_object_get_boolean(all))
		return copy("everything");
	if (n == 0)
		return copy("nothing");
	f = open_memstream(&s, &size);
	if (!f)
		oom();
	fputs(n == 1 ? "task type " : "task types ", f);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *t = value_to_text(json_object_array_get_idx(types, i));
		fprintf(f, "%s%s", i ? ", " : "", t);
	}
	if (fclose(f) != 0)
		oom();
	return s;
}

static int pause_or_resume(const Cmd *cmd, const char *method)
{
	_cleanup_json_ json_object *params = json_new_object(), *result = NULL;
	int r;

	cmd_param_string(cmd, "type", params, "task_type");
	r = rpc_call(cmd, method, params, &result);
	if (r != 0)
		return r;
	if (cmd->json)
		print_json(stdout, result, true);
	else {
		_cleanup_free_ char *what = paused_to_text(json_get(result, "paused"));
		printf("paused: %s\n", what);
	}
	return VX11_EXIT_OK;
}

int verb_pause(const Cmd *cmd)
{
	return pause_or_resume(cmd, "queue.pause");
}

int verb_resume(const Cmd *cmd)
{
	return pause_or_resume(cmd, "queue.resume");
}
