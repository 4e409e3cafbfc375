/* SPDX-License-Identifier: MIT */
/* Housekeeping verbs: pause and resume (queue.pause, queue.resume), and
 * prune (task.prune). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "output.h"
#include "rpc-client.h"
#include "vx11ctl.h"
#include "when.h"

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

const struct option prune_options[] = {
	{ "older-than", required_argument },
	{ "status", required_argument },
	{}
};

const char prune_usage[] =
	"Usage: vx11ctl prune [--older-than WHEN] [--status S[,S...]]\n"
	"\n"
	"Remove finished tasks (task.prune, admin only), each with its daughters,\n"
	"attempts and output files; their intents stay in the audit log (see the\n"
	"policy's retention for that, and for pruning on its own). Pending, running\n"
	"and retrying tasks are never removed, nor one a task that has not ended\n"
	"waits for. The daemon removes them in batches; this asks until none is left.\n"
	"Prints \"pruned N tasks (M output files)\".\n"
	"\n"
	"Options:\n"
	"  --older-than WHEN  only tasks that ended before WHEN: a time ago, as 30m,\n"
	"                     1h or 2d (s, m, h, d, w), or a local date and time, as\n"
	"                     2026-12-01 or 2026-12-01T10:00 (default: now, every one)\n"
	"  --status S[,S...]  only tasks in these states: completed, failed, expired,\n"
	"                     cancelled (default: all four)\n"
	"\n"
	"With --json, {\"pruned\": N, \"output_files\": M}.\n";

int verb_prune(const Cmd *cmd)
{
	_cleanup_json_ json_object *params = json_new_object();
	const char *older = cmd_option(cmd, "older-than"), *status = cmd_option(cmd, "status");
	int64_t pruned = 0, files = 0;
	bool more = true;
	int r;

	if (older) {
		char buf[TIMESTAMP_MAX];
		uint64_t at;

		if (parse_when(older, now_realtime_usec(), &at) < 0) {
			_cleanup_free_ char *e = text_escape(older);
			return cmd_usage_error(cmd,
					       "--older-than wants a time ago (30m, 1h, 2d) or a local date and time "
					       "(2026-12-01, 2026-12-01T10:00), not '%s'",
					       e);
		}
		json_set(params, "before", json_object_new_string(format_timestamp(buf, at)));
	}
	if (status)
		json_set(params, "status", status_filter(status));
	/* Batch after batch: each call is one small transaction in the daemon. */
	while (more) {
		_cleanup_json_ json_object *result = NULL;
		json_object *m;

		r = rpc_call(cmd, "task.prune", params, &result);
		if (r != 0)
			return r;
		pruned += json_object_get_int64(json_get(result, "pruned"));
		files += json_object_get_int64(json_get(result, "output_files"));
		m = json_get(result, "more");
		more = json_object_is_type(m, json_type_boolean) && json_object_get_boolean(m);
	}
	if (cmd->json) {
		_cleanup_json_ json_object *o = json_new_object();
		json_set(o, "pruned", json_object_new_int64(pruned));
		json_set(o, "output_files", json_object_new_int64(files));
		print_json(stdout, o, true);
	} else
		printf("pruned %" PRId64 " task%s (%" PRId64 " output file%s)\n", pruned, pruned == 1 ? "" : "s", files,
		       files == 1 ? "" : "s");
	return VX11_EXIT_OK;
}
