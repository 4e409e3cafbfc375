/* SPDX-License-Identifier: MIT */
/*
 * The policy model: built-in defaults, the file's sections read into a
 * Policy, each task type resolved once at load (policy-task.c: defaults
 * applied, groups and users looked up, every mutation level expanded to a
 * whole PolicyTask), so that nothing later has to interpret JSON or can fail
 * on a policy value.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "policy-internal.h"

/* The allowed ranges (the task keys' in policy-task.c); man/vx11-policy.5
 * documents the same numbers. */
#define PRIORITY_MAX 3
/* Ids above this are special to the kernel and to systemd (2^31-1 and up). */
#define DYNAMIC_ID_MAX INT64_C(2147483646)

static const char *const source_table[_SOURCE_MAX] = {
	[SOURCE_SHUB] = "shub",
	[SOURCE_OPERATOR] = "operator",
	[SOURCE_MADRE] = "madre",
	[SOURCE_HIJAS] = "hijas",
};

const char *policy_source_to_string(PolicySourceId s)
{
	if (s < 0 || s >= _SOURCE_MAX)
		return NULL;
	return source_table[s];
}

PolicySourceId policy_source_from_string(const char *s)
{
	for (PolicySourceId i = 0; i < _SOURCE_MAX; i++)
		if (streq(source_table[i], s))
			return i;
	return _SOURCE_INVALID;
}

static void policy_freep(Policy **p)
{
	policy_free(*p);
}

char **policy_strv_free(char **l)
{
	if (l)
		for (char **i = l; *i; i++)
			free(*i);
	free(l);
	return NULL;
}

/* The top level: everything but "tasks" is read in file order; tasks last, so that "defaults" applies. */
typedef struct LoadContext {
	Policy *policy;
	json_object *tasks;
} LoadContext;

static int parse_mode(void *base, json_object *v, const char *path, char **error)
{
	Policy *p = ((LoadContext *)base)->policy;
	const char *s;

	if (policy_get_string(v, path, &s, NULL) >= 0) {
		if (streq(s, "solo_madre")) {
			p->mode = POLICY_MODE_SOLO_MADRE;
			return 0;
		}
		if (streq(s, "switch")) {
			p->mode = POLICY_MODE_SWITCH;
			return 0;
		}
	}
	return policy_error(error, -EINVAL, path, "expected \"solo_madre\" or \"switch\"");
}

static int parse_admin_group(void *base, json_object *v, const char *path, char **error)
{
	Policy *p = ((LoadContext *)base)->policy;
	const char *s;
	char *dup;

	if (policy_get_string(v, path, &s, NULL) < 0)
		return policy_error(error, -EINVAL, path, "expected a group name");
	dup = strdup(s);
	if (!dup)
		return policy_oom(error);
	free(p->admin_group);
	p->admin_group = dup;
	return 0;
}

#define POLICY_LIMIT(field) offsetof(Policy, limits.field)
static const PolicyField policy_limit_fields[] = {
	{ "max_line_bytes", POLICY_FIELD_SIZE, POLICY_LIMIT(max_line_bytes), .size_min = 1024,
	  .size_max = 64U * 1024U * 1024U },
	{ "max_connections", POLICY_FIELD_COUNT, POLICY_LIMIT(max_connections), .min = 1, .max = 1048576 },
	{ "max_connections_per_uid", POLICY_FIELD_COUNT, POLICY_LIMIT(max_connections_per_uid), .min = 1,
	  .max = 1048576 },
	{ "max_queued", POLICY_FIELD_COUNT, POLICY_LIMIT(max_queued), .min = 1, .max = 100000000 },
	{ "max_running", POLICY_FIELD_COUNT, POLICY_LIMIT(max_running), .min = 0, .max = 4096 },
	{ "max_output_bytes", POLICY_FIELD_SIZE, POLICY_LIMIT(max_output_bytes), .size_min = 64U * 1024U,
	  .size_max = 1024U * 1024U * 1024U },
	{ "line_timeout_seconds", POLICY_FIELD_COUNT, POLICY_LIMIT(line_timeout_seconds), .min = 1, .max = 86400 },
	{ "idle_timeout_seconds", POLICY_FIELD_COUNT, POLICY_LIMIT(idle_timeout_seconds), .min = 0, .max = 30 * 86400 },
	{ "max_pending_line_bytes", POLICY_FIELD_SIZE, POLICY_LIMIT(max_pending_line_bytes), .size_min = 64U * 1024U,
	  .size_max = UINT64_C(64) * 1024U * 1024U * 1024U },
	{ "admin_reserved_connections", POLICY_FIELD_COUNT, POLICY_LIMIT(admin_reserved_connections), .min = 0,
	  .max = 1024 },
};

static int parse_limits(void *base, json_object *v, const char *path, char **error)
{
	return policy_parse_object(v, path, policy_limit_fields, ELEMENTSOF(policy_limit_fields),
				   ((LoadContext *)base)->policy, error);
}

/* The client connects to it with sun_path, which holds 107 bytes and a NUL. */
#define SWITCH_SOCKET_MAX (sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1)

static int parse_switch_socket(void *base, json_object *v, const char *path, char **error)
{
	Policy *p = base;
	const char *s;
	char *dup;

	if (policy_get_string(v, path, &s, NULL) < 0 || s[0] != '/' || strlen(s) > SWITCH_SOCKET_MAX)
		return policy_error(error, -EINVAL, path, "expected an absolute path of at most %zu bytes",
				    SWITCH_SOCKET_MAX);
	dup = strdup(s);
	if (!dup)
		return policy_oom(error);
	free(p->switch_.socket);
	p->switch_.socket = dup;
	return 0;
}

#define POLICY_SWITCH(field) offsetof(Policy, switch_.field)
static const PolicyField policy_switch_fields[] = {
	{ "socket", POLICY_FIELD_CUSTOM, .fn = parse_switch_socket },
	{ "timeout_ms", POLICY_FIELD_COUNT, POLICY_SWITCH(timeout_ms), .min = 1, .max = 600000 },
	{ "failure_threshold", POLICY_FIELD_COUNT, POLICY_SWITCH(failure_threshold), .min = 1, .max = 1000 },
	{ "cooldown_seconds", POLICY_FIELD_COUNT, POLICY_SWITCH(cooldown_seconds), .min = 1, .max = 86400 },
};

static int parse_switch(void *base, json_object *v, const char *path, char **error)
{
	return policy_parse_object(v, path, policy_switch_fields, ELEMENTSOF(policy_switch_fields),
				   ((LoadContext *)base)->policy, error);
}

typedef struct IdRange {
	int64_t first, last; /* -1: not in the file */
} IdRange;

static const PolicyField id_range_fields[] = {
	{ "first", POLICY_FIELD_INT, offsetof(IdRange, first), .min = 1, .max = DYNAMIC_ID_MAX },
	{ "last", POLICY_FIELD_INT, offsetof(IdRange, last), .min = 1, .max = DYNAMIC_ID_MAX },
};

/* Whether a user or group holds one of these ids is checked once the whole file is read. */
static int parse_dynamic_uid_range(void *base, json_object *v, const char *path, char **error)
{
	Policy *p = ((LoadContext *)base)->policy;
	_cleanup_free_ char *fpath = NULL;
	IdRange range = { -1, -1 };
	int r;

	r = policy_parse_object(v, path, id_range_fields, ELEMENTSOF(id_range_fields), &range, error);
	if (r < 0)
		return r;
	if (range.first < 0 || range.last < 0)
		return policy_error(error, -EINVAL, path, "missing required key \"%s\"",
				    range.first < 0 ? "first" : "last");
	if (range.first > range.last) {
		fpath = policy_path_key(path, "first");
		if (!fpath)
			return policy_oom(error);
		return policy_error(error, -EINVAL, fpath, "must not exceed last (%" PRIi64 ")", range.last);
	}
	p->dynamic_uids.first = (uid_t)range.first;
	p->dynamic_uids.last = (uid_t)range.last;
	return 0;
}

typedef __typeof__(((Policy *)NULL)->sources[0]) PolicySource;

static int parse_source_priority(void *base, json_object *v, const char *path, char **error)
{
	int64_t i;
	int r;

	r = policy_get_int(v, path, 0, PRIORITY_MAX, &i, error);
	if (r < 0)
		return r;
	((PolicySource *)base)->priority = (int)i;
	return 0;
}

static int parse_source_groups(void *base, json_object *v, const char *path, char **error)
{
	return policy_get_groups(v, path, &((PolicySource *)base)->groups, error);
}

static const PolicyField source_fields[] = {
	{ "priority", POLICY_FIELD_CUSTOM, .fn = parse_source_priority },
	{ "groups", POLICY_FIELD_CUSTOM, .fn = parse_source_groups },
};

static int parse_sources(void *base, json_object *v, const char *path, char **error)
{
	Policy *p = ((LoadContext *)base)->policy;
	int r;

	if (!json_object_is_type(v, json_type_object))
		return policy_error(error, -EINVAL, path, "expected an object");
	json_object_object_foreach(v, key, sv)
	{
		_cleanup_free_ char *sp = policy_path_key(path, key);
		PolicySourceId id = policy_source_from_string(key);

		if (!sp)
			return policy_oom(error);
		if (id < 0)
			return policy_error(error, -EINVAL, sp, "unknown key");
		r = policy_parse_object(sv, sp, source_fields, ELEMENTSOF(source_fields), &p->sources[id],
					error);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_defaults(void *base, json_object *v, const char *path, char **error)
{
	return policy_parse_defaults(((LoadContext *)base)->policy, v, path, error);
}

static int parse_retention(void *base, json_object *v, const char *path, char **error)
{
	return policy_parse_retention(((LoadContext *)base)->policy, v, path, error);
}

static int stash_tasks(void *base, json_object *v, const char *path, char **error)
{
	((LoadContext *)base)->tasks = v;
	return 0;
}

static const PolicyField top_fields[] = {
	{ "mode", POLICY_FIELD_CUSTOM, .fn = parse_mode },
	{ "admin_group", POLICY_FIELD_CUSTOM, .fn = parse_admin_group },
	{ "limits", POLICY_FIELD_CUSTOM, .fn = parse_limits },
	{ "dynamic_uid_range", POLICY_FIELD_CUSTOM, .fn = parse_dynamic_uid_range },
	{ "sources", POLICY_FIELD_CUSTOM, .fn = parse_sources },
	{ "defaults", POLICY_FIELD_CUSTOM, .fn = parse_defaults },
	{ "tasks", POLICY_FIELD_CUSTOM, .fn = stash_tasks },
	{ "switch", POLICY_FIELD_CUSTOM, .fn = parse_switch },
	{ "retention", POLICY_FIELD_CUSTOM, .fn = parse_retention },
};

static Policy *policy_new(const char *origin)
{
	_cleanup_(policy_freep) Policy *p = NULL;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	p = calloc(1, sizeof(Policy));
	if (!p)
		return NULL;
	p->origin = strdup(origin ? origin : "(string)");
	p->admin_group = strdup("vx11-admin");
	p->switch_.socket = strdup("/run/vx11-switch/switch.sock");
	if (!p->origin || !p->admin_group || !p->switch_.socket)
		return NULL;

	p->mode = POLICY_MODE_SOLO_MADRE;
	p->limits.max_line_bytes = 1024U * 1024U;
	p->limits.max_connections = 4096;
	p->limits.max_connections_per_uid = 256;
	p->limits.max_queued = 100000;
	p->limits.max_running = (uint64_t)MIN(MAX(cpus, 1L), 4096L);
	p->limits.max_output_bytes = 4U * 1024U * 1024U;
	p->limits.line_timeout_seconds = 30;
	p->limits.idle_timeout_seconds = 3600;
	p->limits.max_pending_line_bytes = 64U * 1024U * 1024U;
	p->limits.admin_reserved_connections = 16;
	/* systemd's DynamicUser= range */
	p->dynamic_uids.first = 61184;
	p->dynamic_uids.last = 65519;
	for (PolicySourceId i = 0; i < _SOURCE_MAX; i++)
		p->sources[i].priority = (int)i; /* shub 0, operator 1, madre 2, hijas 3 */
	p->defaults.ttl_seconds = 300;
	p->defaults.heartbeat_seconds = 0;
	p->defaults.max_retries = 3;
	p->defaults.backoff_base_seconds = 1;
	p->defaults.backoff_max_seconds = 300;
	p->defaults.grace_seconds = 2;
	p->defaults.output_max = 1024U * 1024U;
	p->switch_.timeout_ms = 2000;
	p->switch_.failure_threshold = 3;
	p->switch_.cooldown_seconds = 30;
	policy_retention_init(p);
	return TAKE_PTR(p);
}

static int policy_parse(Policy *p, const char *json, char **error)
{
	_cleanup_(json_object_putp) json_object *root = NULL;
	LoadContext ctx = { .policy = p };
	int r;

	r = policy_parse_json(json, strlen(json), &root, error);
	if (r < 0)
		return r;
	if (!json_object_is_type(root, json_type_object))
		return policy_error(error, -EINVAL, NULL, "expected a JSON object at the top level");

	r = policy_parse_object(root, "", top_fields, ELEMENTSOF(top_fields), &ctx, error);
	if (r < 0)
		return r;
	/* Also when the key is absent: the default range may hold a user of this machine. */
	r = policy_check_dynamic_ids(p->dynamic_uids.first, p->dynamic_uids.last, "dynamic_uid_range",
				     error);
	if (r < 0)
		return r;
	if (ctx.tasks) {
		r = policy_parse_tasks(p, ctx.tasks, error);
		if (r < 0)
			return r;
	}

	/* A fresh machine has no admin group yet; then only root is admin. */
	r = policy_lookup_group(p->admin_group, &p->admin_gid);
	if (r == -ENOMEM)
		return policy_oom(error);
	if (r < 0 && r != -ENOENT)
		return policy_error(error, r, "admin_group", "cannot look up group \"%s\": %s",
				    p->admin_group, strerror(-r));
	p->admin_gid_valid = r >= 0;
	return 0;
}

int policy_load_string(const char *json, const char *origin, Policy **ret, char **ret_error)
{
	_cleanup_(policy_freep) Policy *p = NULL;
	_cleanup_free_ char *error = NULL;
	int r;

	p = policy_new(origin);
	if (!p)
		r = policy_oom(&error);
	else
		r = policy_parse(p, json, &error);
	if (r < 0) {
		if (ret_error)
			*ret_error = TAKE_PTR(error);
		return r;
	}
	*ret = TAKE_PTR(p);
	return 0;
}

int policy_load_file(const char *path, Policy **ret, char **ret_error)
{
	_cleanup_free_ char *text = NULL, *error = NULL;
	int r;

	r = policy_read_file(path, POLICY_FILE_MAX, &text, NULL);
	if (r < 0) {
		if (r == -ENOMEM)
			policy_oom(&error);
		else
			policy_error(&error, r, path, "%s", policy_read_strerror(r));
		if (ret_error)
			*ret_error = TAKE_PTR(error);
		return r;
	}
	return policy_load_string(text, path, ret, ret_error);
}

int policy_load_bundled(Policy **ret, char **ret_error)
{
	return policy_load_string(vx11_default_policy_json, "(bundled)", ret, ret_error);
}

Policy *policy_free(Policy *p)
{
	if (!p)
		return NULL;
	free(p->origin);
	free(p->admin_group);
	free(p->switch_.socket);
	for (size_t i = 0; i < _SOURCE_MAX; i++)
		policy_groups_done(&p->sources[i].groups);
	for (size_t i = 0; i < p->n_tasks; i++)
		policy_task_done(&p->tasks[i]);
	free(p->tasks);
	policy_seccomp_done(p);
	free(p);
	return NULL;
}

bool policy_groups_allow(const PolicyGroups *g, gid_t gid, const gid_t *groups, size_t n_groups)
{
	if (!g || !g->set)
		return true;
	for (size_t i = 0; i < g->n; i++) {
		if (g->gids[i] == gid)
			return true;
		for (size_t k = 0; k < n_groups; k++)
			if (g->gids[i] == groups[k])
				return true;
	}
	return false;
}
