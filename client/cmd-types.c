/* SPDX-License-Identifier: MIT */
/* The task types one may submit: types (daemon.status's task_types). */
#include <inttypes.h>
#include <stdio.h>

#include "output.h"
#include "rpc-client.h"
#include "vx11ctl.h"

const char types_usage[] =
	"Usage: vx11ctl types\n"
	"\n"
	"List the task types of the policy that you may submit (daemon.status's\n"
	"task_types; an admin sees all), as a table with the columns\n"
	"  NAME  COMMAND  TTL  MAX_TTL  RETRIES  MEMORY  PIDS  CPU  NETWORK  USER\n"
	"where COMMAND is \"fixed\" (the policy's) or \"caller\" (yours: 'vx11ctl run'),\n"
	"TTL the time limit of an attempt, MAX_TTL the longest one --ttl may ask for,\n"
	"RETRIES the retries after a failed attempt, MEMORY, PIDS and CPU the limits\n"
	"(\"-\": none), NETWORK \"host\", \"loopback\" (a namespace shared with the\n"
	"other such daughters) or \"none\", and USER \"dynamic\" (a uid of its own per\n"
	"daughter), \"caller\" (you) or the user it runs as. --json shows every field,\n"
	"among them the heartbeat, the backoff, the seccomp profile and the other\n"
	"limits.\n";

/* 268435456 -> "256M", as the policy writes sizes. */
static void add_size(Table *t, json_object *v)
{
	static const char units[] = "KMGT";
	uint64_t n;
	int u = -1;

	if (!json_object_is_type(v, json_type_int)) {
		table_add(t, "-");
		return;
	}
	n = (uint64_t)json_object_get_int64(v);
	while (u < 3 && n >= 1024 && n % 1024 == 0) {
		n /= 1024;
		u++;
	}
	if (u < 0)
		table_addf(t, "%" PRIu64, n);
	else
		table_addf(t, "%" PRIu64 "%c", n, units[u]);
}

static void add_seconds(Table *t, json_object *v)
{
	if (json_object_is_type(v, json_type_int))
		table_addf(t, "%" PRId64 "s", json_object_get_int64(v));
	else
		table_add(t, "-");
}

static const char *network_text(json_object *v)
{
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v) ? "host" : "loopback";
	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "-";
}

int verb_types(const Cmd *cmd)
{
	static const char *const headers[] = { "NAME", "COMMAND", "TTL", "MAX_TTL", "RETRIES",
					       "MEMORY", "PIDS", "CPU", "NETWORK", "USER" };
	_cleanup_json_ json_object *result = NULL;
	_cleanup_(table_done) Table t = {};
	json_object *types;
	size_t n;
	int r;

	r = rpc_call(cmd, "daemon.status", NULL, &result);
	if (r != 0)
		return r;
	types = json_get(result, "task_types");
	if (!json_object_is_type(types, json_type_array)) {
		fprintf(stderr, "vx11ctl: the daemon at %s does not list task types (an older vx11d?)\n",
			cmd->socket_path);
		return VX11_EXIT_FAILED;
	}
	if (cmd->json) {
		print_json(stdout, types, true);
		return VX11_EXIT_OK;
	}
	n = json_array_length(types);
	if (n == 0) {
		printf("no task types you may submit\n");
		return VX11_EXIT_OK;
	}

	table_init(&t, ELEMENTSOF(headers));
	for (size_t i = 0; i < ELEMENTSOF(headers); i++)
		table_add(&t, headers[i]);
	for (size_t i = 0; i < n; i++) {
		json_object *tt = json_object_array_get_idx(types, i), *limits = json_get(tt, "limits"),
			    *cpu = json_get(limits, "cpu_max");

		table_add_value(&t, json_get(tt, "name"));
		table_add(&t, json_get_string(tt, "command") ?: "fixed");
		add_seconds(&t, json_get(tt, "ttl_seconds"));
		add_seconds(&t, json_get(tt, "max_ttl_seconds"));
		table_add_value(&t, json_get(tt, "max_retries"));
		add_size(&t, json_get(limits, "memory_max"));
		table_add_value(&t, json_get(limits, "pids_max"));
		if (json_object_is_type(cpu, json_type_int))
			table_addf(&t, "%" PRId64 "%%", json_object_get_int64(cpu));
		else
			table_add(&t, "-");
		table_add(&t, network_text(json_get(tt, "network")));
		table_add_value(&t, json_get(tt, "user"));
	}
	table_print(&t, stdout);
	return VX11_EXIT_OK;
}
