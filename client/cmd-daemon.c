/* SPDX-License-Identifier: MIT */
/* Verbs about the daemon itself: status, audit, watch, reload, metrics. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "ids.h"
#include "output.h"
#include "rpc-client.h"
#include "vx11ctl.h"

const char status_usage[] =
	"Usage: vx11ctl status\n"
	"\n"
	"Show the daemon's state (daemon.status) as \"key: value\" lines: version, pid,\n"
	"instance, node (vx11d --node), uptime, policy_mode, cgroup mode, seccomp,\n"
	"task counts by status, daughters_running, queue_depth, paused (everything,\n"
	"the task types paused, or nothing: see 'vx11ctl pause'), the store (its\n"
	"backend, the database's path or URL, what it wrote; on PostgreSQL this node's\n"
	"lease), on a fleet its queue depth, counts and one line per node (state,\n"
	"lease, running/max_running, host, who adopted it), the names of the task\n"
	"types you may submit (see 'vx11ctl types'), then whatever else the daemon\n"
	"reports.\n";

const struct option audit_options[] = {
	{ "limit", required_argument },
	{ "after", required_argument },
	{ "all", no_argument },
	{ "full-ids", no_argument },
	{}
};

const char audit_usage[] =
	"Usage: vx11ctl audit [--limit N | --all] [--after CORRELATION_ID] [--full-ids]\n"
	"\n"
	"List the audit log of intents (audit.list, admin only), newest first, as a\n"
	"table with the columns\n"
	"  TIME  CORRELATION_ID  UID  SOURCE  TYPE  STATUS  ERROR\n"
	"or \"no audit entries\". Correlation ids are cut short (13 characters, more\n"
	"when two would look the same); any unique start of one names it. When there\n"
	"are more entries than are shown, stderr says how many. --json shows every\n"
	"field, and the total.\n"
	"\n"
	"Options:\n"
	"  --limit N                the newest N entries (default 100, at most 1000)\n"
	"  --all                    every entry, page after page\n"
	"  --after CORRELATION_ID   the page after this entry: older ones\n"
	"  --full-ids               show whole correlation ids\n";

const char watch_usage[] =
	"Usage: vx11ctl watch [TASK]\n"
	"\n"
	"Subscribe to events (events.subscribe), of one task (TASK as for 'vx11ctl\n"
	"task') or of all those visible to you, and print each as one line as it\n"
	"happens:\n"
	"  AT task.status task=TASK_ID status=STATUS [KEY=VALUE...]\n"
	"  AT daughter.status task=TASK_ID daughter=ID attempt=N status=STATUS [KEY=VALUE...]\n"
	"where a daughter's status is running, exited, failed, expired or killed, and\n"
	"once it has ended reason=, exit_code= and signal= say how. Members whose\n"
	"value is null are left out. With --json, each event's params are printed\n"
	"instead, as one compact JSON object per line.\n"
	"Once subscribed, \"vx11ctl: watching ...\" is written to stderr. Runs until\n"
	"the daemon closes the connection, SIGINT or SIGTERM arrives, or the reader\n"
	"of the output goes away; all exit 0.\n";

const char reload_usage[] =
	"Usage: vx11ctl reload\n"
	"\n"
	"Make the daemon read its policy file again (policy.reload, admin only).\n"
	"If the new policy is not valid, the old one stays and the error is shown.\n";

const char metrics_usage[] =
	"Usage: vx11ctl metrics\n"
	"\n"
	"Print the daemon's metrics (daemon.metrics, admin only) as OpenMetrics text,\n"
	"ending with \"# EOF\": tasks by type and status, queue depth, running\n"
	"daughters, attempts by end reason, spawn latency and attempt duration\n"
	"histograms, requests by method and error code, store commit latency, switch\n"
	"plans and sub-tasks, and tokens by provider and model. The text suits a\n"
	"node_exporter textfile collector, e.g.\n"
	"  vx11ctl metrics > /var/lib/node_exporter/vx11.prom.tmp &&\n"
	"  mv /var/lib/node_exporter/vx11.prom.tmp /var/lib/node_exporter/vx11.prom\n"
	"--json prints the result instead: {\"content_type\", \"text\"}. The families\n"
	"are listed in vx11-protocol(7).\n";

static void print_status_member(const char *key, json_object *v)
{
	if (streq(key, "uptime_seconds") && json_object_is_type(v, json_type_int)) {
		char buf[DURATION_MAX];

		printf("uptime: %s\n", format_duration(buf, (uint64_t)MAX(json_object_get_int64(v), 0)));
	} else if (streq(key, "cgroup") && json_get_string(v, "mode")) {
		static const char *const skip[] = { "mode", NULL };
		_cleanup_free_ char *mode = text_escape(json_get_string(v, "mode"));

		printf("cgroup: %s\n", mode);
		print_members(stdout, v, 2, 0, skip);
	} else if (streq(key, "store") && json_get_string(v, "backend")) {
		/* Which database first; the counts after it. */
		static const char *const skip[] = { "backend", "database", NULL };
		_cleanup_free_ char *backend = text_escape(json_get_string(v, "backend"));
		_cleanup_free_ char *database = text_escape(json_get_string(v, "database") ?: "-");

		printf("store: %s %s\n", backend, database);
		print_members(stdout, v, 2, 0, skip);
	} else if (streq(key, "task_types") && json_object_is_type(v, json_type_array)) {
		/* The names; 'vx11ctl types' has the rest. */
		fputs("task_types:", stdout);
		for (size_t i = 0; i < json_array_length(v); i++) {
			_cleanup_free_ char *name = value_to_text(json_get(json_object_array_get_idx(v, i), "name"));
			printf("%s %s", i ? "," : "", name);
		}
		fputs(json_array_length(v) ? " (see 'vx11ctl types')\n" : " -\n", stdout);
	} else if (streq(key, "fleet") && json_object_is_type(v, json_type_object)) {
		/* One line per node: the lease is what the fleet judges it by. */
		static const char *const skip[] = { "nodes", NULL };
		json_object *nodes = json_get(v, "nodes");

		fputs("fleet:\n", stdout);
		print_members(stdout, v, 2, 0, skip);
		for (size_t i = 0; nodes && json_object_is_type(nodes, json_type_array) && i < json_array_length(nodes); i++) {
			json_object *n = json_object_array_get_idx(nodes, i);
			_cleanup_free_ char *name = value_to_text(json_get(n, "name"));
			_cleanup_free_ char *state = value_to_text(json_get(n, "state"));
			_cleanup_free_ char *host = value_to_text(json_get(n, "host"));
			_cleanup_free_ char *swept = value_to_text(json_get(n, "swept_by"));
			json_object *alive = json_get(n, "alive");

			printf("  node %s: %s, %s, running %" PRId64 "/%" PRId64 ", host %s%s%s\n", name, state,
			       alive && json_object_get_boolean(alive) ? "lease ok" : "lease ended",
			       json_object_get_int64(json_get(n, "running")), json_object_get_int64(json_get(n, "max_running")),
			       host, json_get(n, "swept_by") ? ", adopted by " : "", json_get(n, "swept_by") ? swept : "");
		}
	} else if (streq(key, "paused") && json_object_is_type(v, json_type_object)) {
		_cleanup_free_ char *what = paused_to_text(v);
		printf("paused: %s\n", what);
	} else
		print_member(stdout, key, v, 0, 0);
}

int verb_status(const Cmd *cmd)
{
	/* First these, in this order; then anything newer, as the daemon sends it. */
	static const char *const known[] = {
		"version", "pid",    "instance", "node", "uptime_seconds",    "policy_mode", "cgroup",
		"seccomp", "counts", "daughters_running", "queue_depth", "paused", "store", "fleet", "task_types", NULL,
	};
	_cleanup_json_ json_object *result = NULL;
	int r;

	r = rpc_call(cmd, "daemon.status", NULL, &result);
	if (r != 0)
		return r;
	if (cmd->json) {
		print_json(stdout, result, true);
		return VX11_EXIT_OK;
	}

	for (const char *const *k = known; *k; k++) {
		json_object *v;

		if (json_object_object_get_ex(result, *k, &v))
			print_status_member(*k, v);
	}
	print_members(stdout, result, 0, 0, known);
	return VX11_EXIT_OK;
}

int verb_audit(const Cmd *cmd)
{
	static const char *const headers[] = { "TIME", "CORRELATION_ID", "UID",  "SOURCE",
					       "TYPE", "STATUS",         "ERROR" };
	static const char *const keys[] = { "created_at",  "correlation_id", "uid",  "source",
					    "intent_type", "status",         "error" };
	_cleanup_json_ json_object *params = json_new_object(), *result = NULL;
	_cleanup_(table_done) Table t = {};
	json_object *entries;
	int64_t limit = 100;
	size_t n, width;
	int r;

	cmd_param_string(cmd, "after", params, "after");
	if (cmd_flag(cmd, "all") && cmd_option(cmd, "limit"))
		return cmd_usage_error(cmd, "--all and --limit do not go together");
	r = cmd_param_int(cmd, "limit", 1, params, "limit");
	if (r == 0)
		r = cmd_option_int(cmd, "limit", 1, &limit);
	if (r != 0)
		return r;
	r = rpc_call_list(cmd, "audit.list", params, "entries", "correlation_id", cmd_flag(cmd, "all"), &result);
	if (r != 0)
		return r;
	if (cmd->json) {
		print_json(stdout, result, true);
		return VX11_EXIT_OK;
	}

	entries = json_get(result, "entries");
	n = json_array_length(entries);
	if (n == 0) {
		printf("no audit entries\n");
		return VX11_EXIT_OK;
	}

	width = short_id_width(entries, "correlation_id", cmd_flag(cmd, "full-ids"));
	table_init(&t, ELEMENTSOF(keys));
	for (size_t k = 0; k < ELEMENTSOF(headers); k++)
		table_add(&t, headers[k]);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
			json_object *v = json_get(json_object_array_get_idx(entries, i), keys[k]);

			if (streq(keys[k], "correlation_id") && json_object_is_type(v, json_type_string))
				table_addf(&t, "%.*s", (int)MIN(width, (size_t)INT_MAX), json_object_get_string(v));
			else
				table_add_value(&t, v);
		}
	table_print(&t, stdout);
	print_more_hint(result, "entries", "entries", cmd_option(cmd, "after"), "correlation_id", limit);
	return VX11_EXIT_OK;
}

/* An event's value as one word: quoted, with '"' and '\' escaped, when it has a blank or is empty.
 * A priority is P0..P3, as everywhere else. */
static void print_event_value(const char *key, json_object *v)
{
	_cleanup_free_ char *text = NULL;

	if (streq(key, "priority"))
		text = priority_to_text(v);
	else if (is_time_key(key) && json_object_is_type(v, json_type_string))
		text = timestamp_to_text(json_object_get_string(v));
	else
		text = value_to_text(v);

	if (*text && !strpbrk(text, " \"")) {
		fputs(text, stdout);
		return;
	}
	putchar('"');
	for (const char *p = text; *p; p++) {
		if (*p == '"' || *p == '\\')
			putchar('\\');
		putchar(*p);
	}
	putchar('"');
}

static void print_event(json_object *event)
{
	/* First these, in this order, under these shorter names; then the rest as the daemon sends them. */
	static const struct {
		const char *key, *word;
	} leading[] = {
		{ "task_id", "task" },
		{ "daughter_id", "daughter" },
		{ "attempt", "attempt" },
		{ "status", "status" },
	};
	_cleanup_free_ char *at = json_get_string(event, "at") ? timestamp_to_text(json_get_string(event, "at"))
							       : value_to_text(json_get(event, "at")),
			    *type = value_to_text(json_get(event, "type"));

	printf("%s %s", at, type);
	for (size_t i = 0; i < ELEMENTSOF(leading); i++) {
		json_object *v = json_get(event, leading[i].key);

		if (v) {
			printf(" %s=", leading[i].word);
			print_event_value(leading[i].key, v);
		}
	}
	json_object_object_foreach(event, key, v) {
		_cleanup_free_ char *k = NULL;
		bool skip = !v || streq(key, "at") || streq(key, "type");

		for (size_t i = 0; i < ELEMENTSOF(leading) && !skip; i++)
			skip = streq(key, leading[i].key);
		if (skip)
			continue;
		k = text_escape(key);
		printf(" %s=", k);
		print_event_value(key, v);
	}
	putchar('\n');
}

static int on_subscribed(const Cmd *cmd, json_object *result, void *userdata)
{
	/* On stderr, so that stdout holds only events; a script can wait for this line. */
	if (cmd->n_args > 0) {
		_cleanup_free_ char *task = text_escape(userdata); /* the resolved id */
		fprintf(stderr, "vx11ctl: watching task %s; interrupt to stop\n", task);
	} else
		fprintf(stderr, "vx11ctl: watching all tasks; interrupt to stop\n");
	return 0;
}

static int on_notification(const Cmd *cmd, json_object *msg, void *userdata)
{
	json_object *event = json_get(msg, "params");

	if (!streq(json_get_string(msg, "method"), "event") || !json_object_is_type(event, json_type_object))
		return 0;
	if (cmd->json)
		print_json(stdout, event, false);
	else
		print_event(event);
	/* Whoever reads through a pipe sees each event at once. A failed write is reported by main(). */
	if (fflush(stdout) == 0)
		return 0;
	return errno == EPIPE ? RPC_STREAM_END : VX11_EXIT_FAILED;
}

int verb_watch(const Cmd *cmd)
{
	_cleanup_json_ json_object *params = json_new_object();
	char id[ID_STRING_MAX] = "";
	int r;

	if (cmd->n_args > 0) {
		r = resolve_task(cmd, cmd->args[0], id);
		if (r != 0)
			return r;
		json_set(params, "task_id", json_object_new_string(id));
	}
	return rpc_stream(cmd, "events.subscribe", params, on_subscribed, on_notification, id);
}

int verb_reload(const Cmd *cmd)
{
	static const char *const skip[] = { "status", NULL };
	_cleanup_json_ json_object *result = NULL;
	int r;

	r = rpc_call(cmd, "policy.reload", NULL, &result);
	if (r != 0)
		return r;
	if (cmd->json)
		print_json(stdout, result, true);
	else {
		printf("policy reloaded\n");
		print_members(stdout, result, 2, 0, skip);
	}
	return VX11_EXIT_OK;
}

int verb_metrics(const Cmd *cmd)
{
	_cleanup_json_ json_object *result = NULL;
	const char *text;
	int r;

	r = rpc_call(cmd, "daemon.metrics", NULL, &result);
	if (r != 0)
		return r;
	if (cmd->json) {
		print_json(stdout, result, true);
		return VX11_EXIT_OK;
	}
	text = json_get_string(result, "text");
	if (!text) {
		fprintf(stderr, "vx11ctl: daemon.metrics: the reply has no text\n");
		return VX11_EXIT_FAILED;
	}
	/* The text as is: a scraper reads it byte for byte. */
	fputs(text, stdout);
	return VX11_EXIT_OK;
}
