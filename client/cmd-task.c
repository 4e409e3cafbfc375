/* SPDX-License-Identifier: MIT */
/* Verbs about tasks and daughters: tasks, task, cancel, daughters. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "ids.h"
#include "output.h"
#include "rpc-client.h"
#include "vx11ctl.h"
#include "when.h"

const struct option tasks_options[] = {
	{ "status", required_argument },
	{ "source", required_argument },
	{ "limit", required_argument },
	{ "after", required_argument },
	{ "all", no_argument },
	{ "full-ids", no_argument },
	{ "type", required_argument },
	{ "since", required_argument },
	{ "until", required_argument },
	{ "failed", no_argument },
	{}
};

const char tasks_usage[] =
	"Usage: vx11ctl tasks [--status S[,S...] | --failed] [--type NAME] [--source SOURCE]\n"
	"                     [--since WHEN] [--until WHEN] [--limit N | --all] [--after ID] [--full-ids]\n"
	"\n"
	"List tasks (task.list), newest first, as a table with the columns\n"
	"  ID  STATUS  PRIO  SOURCE  TYPE  RETRY  RUNTIME  CREATED\n"
	"or \"no tasks\". RUNTIME is from the start of the first attempt to the end, or\n"
	"so far (- when none has started); CREATED is a local time (UTC with --utc).\n"
	"A pending task that waits for others (submit --after) shows how many of them\n"
	"have not ended yet: \"pending (waits for 2)\". A submitter sees its own tasks, an admin everyone's. Ids are\n"
	"cut short (13 characters, more when two would look the same); any unique\n"
	"start of a task's id or of its correlation id names it to the other commands.\n"
	"When there are more tasks than are shown, stderr says how many (\"100 of\n"
	"2,345 tasks shown\").\n"
	"\n"
	"Options:\n"
	"  --status S[,S...]  only tasks in these states: pending, planning, running,\n"
	"                     retrying, completed, failed, expired, cancelled\n"
	"  --failed           only tasks that ended without success: failed,\n"
	"                     expired or cancelled\n"
	"  --type NAME        only tasks of this task type\n"
	"  --source SOURCE    only tasks from this source\n"
	"  --since WHEN       only tasks created at or after WHEN\n"
	"  --until WHEN       only tasks created before WHEN\n"
	"  --limit N          the newest N tasks (default 100, at most 1000)\n"
	"  --all              every task, page after page\n"
	"  --after ID         the page after task ID (the last one of the previous\n"
	"                     page): older ones\n"
	"  --full-ids         show whole ids\n"
	"\n"
	"WHEN is a time ago, as 30m, 1h or 2d (s, m, h, d, w), or a date and time of\n"
	"the local zone, as 2026-12-01 (midnight) or 2026-12-01T10:00[:SS] (a final Z:\n"
	"UTC).\n"
	"\n"
	"With --json, the task.list result (with \"total\"; with --all, one result\n"
	"holding every page's tasks).\n";

const char task_usage[] =
	"Usage: vx11ctl task TASK\n"
	"\n"
	"TASK is the task's id or its intent's correlation id, or the start of either\n"
	"(at least 4 characters, enough to name one task: an ambiguous start lists the\n"
	"candidates and exits 2).\n"
	"\n"
	"Show a task (task.get) as \"key: value\" lines (times in the local zone, UTC\n"
	"with --utc; waited: from its creation to its first attempt; runtime: from\n"
	"then to its end, \"so far\" while it goes on; node: the node, vx11d --node,\n"
	"that ran its latest attempt), then each of its daughters (\"daughter ID\")\n"
	"with its attempts (\"attempt N\", with its duration and node), indented;\n"
	"\"no daughters yet\" when none has started. Fields without a value\n"
	"are left out. A task submitted with --after shows after: the tasks it waits\n"
	"for (\"(any end)\" with --after-any) and, while pending, waiting_on: those that\n"
	"have not ended yet. A task failed for one of them has reason\n"
	"dependency_failed in its result.\n";

const char cancel_usage[] =
	"Usage: vx11ctl cancel TASK\n"
	"\n"
	"Cancel a task (task.cancel): a pending or retrying task ends at once, a\n"
	"running one has its daughter killed. Prints\n"
	"  task ID cancelled (N daughters killed)\n"
	"(\"1 daughter killed\" for one). A task that has already ended cannot be\n"
	"cancelled (vx11.Conflict, exit 1). TASK is as for 'vx11ctl task'.\n";

const struct option daughters_options[] = {
	{ "status", required_argument },
	{ "limit", required_argument },
	{}
};

const char daughters_usage[] =
	"Usage: vx11ctl daughters [--status S] [--limit N]\n"
	"\n"
	"List daughters (daughter.list), oldest first, as a table with the columns\n"
	"  ID  TASK  NAME  STATUS  LEVEL  STARTED\n"
	"or \"no daughters\". A submitter sees the daughters of its own tasks, an\n"
	"admin everyone's.\n"
	"\n"
	"Options:\n"
	"  --status S  only daughters in this state: spawning, running, exited,\n"
	"              failed, expired, killed\n"
	"  --limit N   at most N daughters (default 100, at most 1000)\n";

json_object *status_filter(const char *s)
{
	json_object *a;

	if (!strchr(s, ','))
		return json_object_new_string(s);
	a = json_object_new_array();
	if (!a)
		oom();
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, ",");

		if (n > 0) {
			json_object *e = json_object_new_string_len(p, (int)n);

			if (!e || json_object_array_add(a, e) < 0)
				oom();
		}
		p += n + (p[n] == ',');
	}
	return a;
}

/* --since or --until WHEN into params as the daemon's UTC timestamp. */
static int when_param(const Cmd *cmd, const char *name, json_object *params)
{
	const char *v = cmd_option(cmd, name);
	char buf[TIMESTAMP_MAX];
	uint64_t at;

	if (!v)
		return 0;
	if (parse_when(v, now_realtime_usec(), &at) < 0) {
		_cleanup_free_ char *e = text_escape(v);
		return cmd_usage_error(cmd,
				       "--%s wants a time ago (30m, 1h, 2d) or a local date and time (2026-12-01, "
				       "2026-12-01T10:00), not '%s'",
				       name, e);
	}
	json_set(params, name, json_object_new_string(format_timestamp(buf, at)));
	return 0;
}

/*
 * From the time `from` to `to`, or to now while `to` is null: true and the
 * span in *ret (0 if the clocks disagree), false when `from` is not a time.
 */
static bool span(json_object *from, json_object *to, uint64_t *ret)
{
	uint64_t a, b;

	if (timestamp_parse(from, &a) < 0)
		return false;
	if (timestamp_parse(to, &b) < 0)
		b = now_realtime_usec();
	*ret = b > a ? b - a : 0;
	return true;
}

/* "3.4s" under a minute, else "1h 2m 5s"; " so far" while it goes on. */
static json_object *span_to_json(uint64_t usec, bool going_on)
{
	char buf[DURATION_MAX], text[DURATION_MAX + 16];

	if (usec < 60 * USEC_PER_SEC)
		format_duration_short(buf, usec);
	else
		format_duration(buf, usec / USEC_PER_SEC);
	snprintf(text, sizeof text, "%s%s", buf, going_on ? " so far" : "");
	return json_object_new_string(text);
}

static void add_header(Table *t, const char *const *headers)
{
	for (; *headers; headers++)
		table_add(t, *headers);
}

int verb_tasks(const Cmd *cmd)
{
	static const char *const headers[] = { "ID",    "STATUS",  "PRIO",    "SOURCE", "TYPE",
					       "RETRY", "RUNTIME", "CREATED", NULL };
	_cleanup_json_ json_object *params = json_new_object(), *result = NULL;
	_cleanup_(table_done) Table t = {};
	const char *status = cmd_option(cmd, "status");
	json_object *tasks;
	int64_t limit = 100;
	size_t n, width;
	int r;

	if (status && cmd_flag(cmd, "failed"))
		return cmd_usage_error(cmd, "--failed is --status failed,expired,cancelled: give one of them");
	if (cmd_flag(cmd, "failed"))
		status = "failed,expired,cancelled";
	if (status)
		json_set(params, "status", status_filter(status));
	r = when_param(cmd, "since", params);
	if (r == 0)
		r = when_param(cmd, "until", params);
	if (r != 0)
		return r;
	cmd_param_string(cmd, "type", params, "task_type");
	cmd_param_string(cmd, "source", params, "source");
	cmd_param_string(cmd, "after", params, "after");
	if (cmd_flag(cmd, "all") && cmd_option(cmd, "limit"))
		return cmd_usage_error(cmd, "--all and --limit do not go together");
	r = cmd_param_int(cmd, "limit", 1, params, "limit");
	if (r == 0)
		r = cmd_option_int(cmd, "limit", 1, &limit);
	if (r != 0)
		return r;

	r = rpc_call_list(cmd, "task.list", params, "tasks", "id", cmd_flag(cmd, "all"), &result);
	if (r != 0)
		return r;
	if (cmd->json) {
		print_json(stdout, result, true);
		return VX11_EXIT_OK;
	}

	tasks = json_get(result, "tasks");
	n = json_array_length(tasks);
	if (n == 0) {
		printf("no tasks\n");
		return VX11_EXIT_OK;
	}

	width = short_id_width(tasks, "id", cmd_flag(cmd, "full-ids"));
	table_init(&t, ELEMENTSOF(headers) - 1);
	add_header(&t, headers);
	for (size_t i = 0; i < n; i++) {
		json_object *task = json_object_array_get_idx(tasks, i);
		char buf[DURATION_MAX];
		uint64_t usec;
		_cleanup_free_ char *retry = value_to_text(json_get(task, "current_retry")),
				    *max = value_to_text(json_get(task, "max_retries")),
				    *prio = priority_to_text(json_get(task, "priority"));

		table_addf(&t, "%.*s", (int)MIN(width, (size_t)INT_MAX), json_get_string(task, "id") ?: "-");
		size_t waits = json_array_length(json_get(task, "waiting_on"));
		if (waits > 0)
			table_addf(&t, "%s (waits for %zu)", json_get_string(task, "status") ?: "-", waits);
		else
			table_add_value(&t, json_get(task, "status"));
		table_add(&t, prio);
		table_add_value(&t, json_get(task, "source"));
		table_add_value(&t, json_get(task, "task_type"));
		table_addf(&t, "%s/%s", retry, max);
		/* From the first attempt's start to the end, or so far. */
		if (span(json_get(task, "started_at"), json_get(task, "ended_at"), &usec))
			table_add(&t, format_duration_short(buf, usec));
		else
			table_add(&t, "-");
		table_add_value(&t, json_get(task, "created_at"));
	}
	table_print(&t, stdout);
	print_more_hint(result, "tasks", "tasks", cmd_option(cmd, "after"), "id", limit);
	return VX11_EXIT_OK;
}

static void print_daughter(json_object *d)
{
	static const char *const daughter_skip[] = { "id", "attempts", NULL };
	static const char *const attempt_skip[] = { "number", NULL };
	_cleanup_free_ char *id = value_to_text(json_get(d, "id"));
	json_object *attempts = json_get(d, "attempts");
	size_t n = json_array_length(attempts);

	printf("\ndaughter %s\n", id);
	print_members(stdout, d, 2, MEMBERS_SKIP_NULL, daughter_skip);
	for (size_t i = 0; i < n; i++) {
		json_object *a = json_object_array_get_idx(attempts, i);
		_cleanup_free_ char *number = value_to_text(json_get(a, "number"));

		uint64_t usec;

		if (span(json_get(a, "started_at"), json_get(a, "finished_at"), &usec))
			json_set(a, "duration", span_to_json(usec, !json_get(a, "finished_at")));
		printf("  attempt %s\n", number);
		print_members(stdout, a, 4, MEMBERS_SKIP_NULL, attempt_skip);
	}
}

/* "id, id", or null: a list of ids on one line. */
static json_object *ids_to_text(json_object *ids)
{
	size_t n = json_array_length(ids);
	_cleanup_free_ char *s = NULL;
	size_t size = 0;
	FILE *f;

	if (n == 0)
		return NULL;
	f = open_memstream(&s, &size);
	if (!f)
		oom();
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? ", " : "", json_object_get_string(json_object_array_get_idx(ids, i)) ?: "?");
	if (fclose(f) != 0)
		oom();
	return json_object_new_string(s);
}

/* after: the ids it waits for, " (any end)" with after_any; waiting_on: those
 * not ended; neither when it waits for nothing (replaced in place). */
static void after_to_text(json_object *task)
{
	json_object *after = ids_to_text(json_get(task, "after"));
	json_object *any = json_get(task, "after_any");

	if (after && json_object_is_type(any, json_type_boolean) && json_object_get_boolean(any)) {
		char *s = NULL;
		if (asprintf(&s, "%s (any end)", json_object_get_string(after)) < 0)
			oom();
		json_object_put(after);
		after = json_object_new_string(s);
		free(s);
	}
	/* null: left out, as fields without a value are. */
	json_object_object_add(task, "after", after);
	json_object_object_add(task, "after_any", NULL);
	json_object_object_add(task, "waiting_on", ids_to_text(json_get(task, "waiting_on")));
}

int verb_task(const Cmd *cmd)
{
	_cleanup_json_ json_object *params = json_new_object(), *result = NULL;
	json_object *task, *prio, *daughters, *started;
	char id[ID_STRING_MAX];
	uint64_t usec;
	size_t n;
	int r;

	r = resolve_task(cmd, cmd->args[0], id);
	if (r != 0)
		return r;
	json_set(params, "task_id", json_object_new_string(id));
	r = rpc_call(cmd, "task.get", params, &result);
	if (r != 0)
		return r;
	if (cmd->json) {
		print_json(stdout, result, true);
		return VX11_EXIT_OK;
	}

	task = json_get(result, "task");
	/* P1, as in the table of 'vx11ctl tasks' (replaced in place: the order stays). */
	prio = json_get(task, "priority");
	if (json_object_is_type(prio, json_type_int)) {
		_cleanup_free_ char *p = priority_to_text(prio);
		json_set(task, "priority", json_object_new_string(p));
	}
	/* How long it waited for its first attempt, and ran from then on. */
	started = json_get(task, "started_at");
	if (span(json_get(task, "created_at"), started, &usec))
		json_set(task, "waited", span_to_json(usec, !started && !json_get(task, "ended_at")));
	if (span(started, json_get(task, "ended_at"), &usec))
		json_set(task, "runtime", span_to_json(usec, !json_get(task, "ended_at")));
	after_to_text(task);
	print_members(stdout, task, 0, MEMBERS_SKIP_NULL, NULL);
	daughters = json_get(result, "daughters");
	n = json_array_length(daughters);
	if (n == 0)
		printf("\nno daughters yet\n");
	for (size_t i = 0; i < n; i++)
		print_daughter(json_object_array_get_idx(daughters, i));
	return VX11_EXIT_OK;
}

int verb_cancel(const Cmd *cmd)
{
	_cleanup_json_ json_object *params = json_new_object(), *result = NULL;
	char id[ID_STRING_MAX];
	int r;

	r = resolve_task(cmd, cmd->args[0], id);
	if (r != 0)
		return r;
	json_set(params, "task_id", json_object_new_string(id));
	r = rpc_call(cmd, "task.cancel", params, &result);
	if (r != 0)
		return r;
	if (cmd->json)
		print_json(stdout, result, true);
	else {
		json_object *task_id = json_get(result, "task_id"), *count = json_get(result, "cancelled_daughters_count");
		_cleanup_free_ char *task = task_id ? value_to_text(task_id) : text_escape(id),
				    *killed = value_to_text(count);
		bool one = json_object_is_type(count, json_type_int) && json_object_get_int64(count) == 1;

		printf("task %s cancelled (%s %s killed)\n", task, killed, one ? "daughter" : "daughters");
	}
	return VX11_EXIT_OK;
}

int verb_daughters(const Cmd *cmd)
{
	static const char *const headers[] = { "ID", "TASK", "NAME", "STATUS", "LEVEL", "STARTED", NULL };
	static const char *const keys[] = { "id",     "task_id",        "name",
					    "status", "mutation_level", "started_at" };
	_cleanup_json_ json_object *params = json_new_object(), *result = NULL;
	_cleanup_(table_done) Table t = {};
	json_object *daughters;
	size_t n;
	int r;

	cmd_param_string(cmd, "status", params, "status");
	r = cmd_param_int(cmd, "limit", 1, params, "limit");
	if (r != 0)
		return r;
	r = rpc_call(cmd, "daughter.list", params, &result);
	if (r != 0)
		return r;
	if (cmd->json) {
		print_json(stdout, result, true);
		return VX11_EXIT_OK;
	}

	daughters = json_get(result, "daughters");
	n = json_array_length(daughters);
	if (n == 0) {
		printf("no daughters\n");
		return VX11_EXIT_OK;
	}

	table_init(&t, ELEMENTSOF(keys));
	add_header(&t, headers);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < ELEMENTSOF(keys); k++)
			table_add_value(&t, json_get(json_object_array_get_idx(daughters, i), keys[k]));
	table_print(&t, stdout);
	return VX11_EXIT_OK;
}
