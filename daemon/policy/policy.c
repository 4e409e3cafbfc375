/* SPDX-License-Identifier: MIT */
/*
 * The policy model: built-in defaults, the file's sections read into a
 * Policy, each task type resolved once at load (defaults applied, groups and
 * users looked up, every mutation level expanded to a whole PolicyTask), so
 * that nothing later has to interpret JSON or can fail on a policy value.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "policy-internal.h"

/* The allowed ranges; man/vx11-policy.5 documents the same numbers. */
#define SECONDS_MAX INT64_C(2147483647)
#define GRACE_SECONDS_MAX INT64_C(3600)
#define RETRIES_MAX INT64_C(1000)
#define BACKOFF_SECONDS_MAX 31536000.0 /* one year */
#define MUTATIONS_MAX 64U
#define TASK_NAME_MAX 64U
#define PRIORITY_MAX 3
#define OUTPUT_MAX (256U * 1024U * 1024U)
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

static int strv_copy(char *const *l, char ***ret)
{
	char **c;
	size_t n = 0;

	if (!l) {
		*ret = NULL;
		return 0;
	}
	while (l[n])
		n++;
	c = calloc(n + 1, sizeof(char *));
	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		c[i] = strdup(l[i]);
		if (!c[i]) {
			policy_strv_free(c);
			return -ENOMEM;
		}
	}
	*ret = c;
	return 0;
}

static int groups_copy(const PolicyGroups *src, PolicyGroups *ret)
{
	gid_t *gids = NULL;

	if (src->set) {
		gids = calloc(MAX(src->n, 1U), sizeof(gid_t));
		if (!gids)
			return -ENOMEM;
		if (src->n > 0)
			memcpy(gids, src->gids, src->n * sizeof(gid_t));
	}
	*ret = (PolicyGroups){
		.set = src->set,
		.gids = gids,
		.n = src->n,
	};
	return 0;
}

static void task_done(PolicyTask *t)
{
	free(t->name);
	policy_strv_free(t->command);
	policy_groups_done(&t->groups);
	free(t->user);
	free(t->seccomp);
	for (size_t i = 0; i < t->n_mutations; i++)
		task_done(&t->mutations[i]);
	free(t->mutations);
	*t = (PolicyTask){};
}

/* A deep copy of everything but the mutations, which only the base task has. */
static int task_copy(const PolicyTask *src, PolicyTask *ret)
{
	PolicyTask t = *src;

	t.name = t.user = t.seccomp = NULL;
	t.command = NULL;
	t.groups = (PolicyGroups){};
	t.mutations = NULL;
	t.n_mutations = 0;

	if (!(t.name = strdup(src->name)) || (src->user && !(t.user = strdup(src->user))) ||
	    !(t.seccomp = strdup(src->seccomp)) || strv_copy(src->command, &t.command) < 0 ||
	    groups_copy(&src->groups, &t.groups) < 0) {
		task_done(&t);
		return -ENOMEM;
	}
	*ret = t;
	return 0;
}

/* A task as it starts before its own keys are read: the policy's defaults. */
static int task_init(PolicyTask *t, const Policy *p, const char *name)
{
	*t = (PolicyTask){
		.ttl_seconds = p->defaults.ttl_seconds,
		.heartbeat_seconds = p->defaults.heartbeat_seconds,
		.max_retries = p->defaults.max_retries,
		.grace_seconds = p->defaults.grace_seconds,
		.backoff_base_seconds = p->defaults.backoff_base_seconds,
		.backoff_max_seconds = p->defaults.backoff_max_seconds,
		.output_max = p->defaults.output_max,
		.limits = {
			.memory_max = UINT64_MAX,
			.pids_max = -1,
			.cpu_max = 0,
			.nofile = -1,
			.fsize = UINT64_MAX,
			.core = 0,
			.cpu_seconds = -1,
		},
		.network = true,
		.enforce = ENFORCE_STRICT,
	};
	t->name = strdup(name);
	t->seccomp = strdup("default");
	if (!t->name || !t->seccomp) {
		task_done(t);
		return -ENOMEM;
	}
	return 0;
}

/* One task object (or one mutation entry) being read. */
typedef struct TaskParse {
	Policy *policy; /* owns the seccomp programs */
	PolicyTask task;
	bool in_mutation;
	json_object *mutations; /* read after every other key, whatever their order */
} TaskParse;

#define TASK_OFFSET(field) (offsetof(TaskParse, task) + offsetof(PolicyTask, field))

static int parse_task_command(void *base, json_object *v, const char *path, char **error)
{
	return policy_get_command(v, path, &((TaskParse *)base)->task.command, error);
}

static int parse_task_groups(void *base, json_object *v, const char *path, char **error)
{
	return policy_get_groups(v, path, &((TaskParse *)base)->task.groups, error);
}

static int parse_task_user(void *base, json_object *v, const char *path, char **error)
{
	return policy_get_user(v, path, &((TaskParse *)base)->task.user, error);
}

static int parse_task_seccomp(void *base, json_object *v, const char *path, char **error)
{
	TaskParse *tp = base;

	return policy_get_seccomp(tp->policy, v, path, &tp->task.seccomp, &tp->task.seccomp_program, error);
}

static int parse_task_enforce(void *base, json_object *v, const char *path, char **error)
{
	PolicyTask *t = &((TaskParse *)base)->task;
	const char *s;

	if (policy_get_string(v, path, &s, NULL) >= 0) {
		if (streq(s, "strict")) {
			t->enforce = ENFORCE_STRICT;
			return 0;
		}
		if (streq(s, "best-effort")) {
			t->enforce = ENFORCE_BEST_EFFORT;
			return 0;
		}
	}
	return policy_error(error, -EINVAL, path, "expected \"strict\" or \"best-effort\"");
}

static int parse_backoff_base(void *base, json_object *v, const char *path, char **error)
{
	PolicyTask *t = base;

	return policy_get_seconds(v, path, 0, BACKOFF_SECONDS_MAX, &t->backoff_base_seconds, error);
}

static int parse_backoff_max(void *base, json_object *v, const char *path, char **error)
{
	PolicyTask *t = base;

	return policy_get_seconds(v, path, 0, BACKOFF_SECONDS_MAX, &t->backoff_max_seconds, error);
}

static const PolicyField backoff_fields[] = {
	{ "base_seconds", POLICY_FIELD_CUSTOM, .fn = parse_backoff_base },
	{ "max_seconds", POLICY_FIELD_CUSTOM, .fn = parse_backoff_max },
};

static int parse_task_backoff(void *base, json_object *v, const char *path, char **error)
{
	TaskParse *tp = base;

	return policy_parse_object(v, path, backoff_fields, ELEMENTSOF(backoff_fields), &tp->task, error);
}

#define LIMIT(field) offsetof(PolicyLimits, field)
static const PolicyField limit_fields[] = {
	{ "memory_max", POLICY_FIELD_SIZE, LIMIT(memory_max), .size_min = 4096, .size_max = UINT64_MAX },
	{ "pids_max", POLICY_FIELD_INT, LIMIT(pids_max), .min = 1, .max = 4194304 },
	{ "cpu_max", POLICY_FIELD_PERCENT, LIMIT(cpu_max), .min = 1, .max = 100000 },
	{ "nofile", POLICY_FIELD_INT, LIMIT(nofile), .min = 1, .max = 1073741816 },
	{ "fsize", POLICY_FIELD_SIZE, LIMIT(fsize), .size_min = 0, .size_max = UINT64_MAX },
	{ "core", POLICY_FIELD_SIZE, LIMIT(core), .size_min = 0, .size_max = UINT64_MAX },
	{ "cpu", POLICY_FIELD_INT, LIMIT(cpu_seconds), .min = 1, .max = SECONDS_MAX },
};

static int parse_task_limits(void *base, json_object *v, const char *path, char **error)
{
	return policy_parse_object(v, path, limit_fields, ELEMENTSOF(limit_fields),
				   &((TaskParse *)base)->task.limits, error);
}

static int parse_task_mutations(void *base, json_object *v, const char *path, char **error)
{
	TaskParse *tp = base;

	if (tp->in_mutation)
		return policy_error(error, -EINVAL, path, "not allowed inside a mutation");
	if (!json_object_is_type(v, json_type_array))
		return policy_error(error, -EINVAL, path, "expected an array of objects");
	if (json_object_array_length(v) > MUTATIONS_MAX)
		return policy_error(error, -EINVAL, path, "at most %u entries are allowed", MUTATIONS_MAX);
	tp->mutations = v;
	return 0;
}

/* The keys that "defaults" shares with the tasks come first. */
#define N_DEFAULT_FIELDS 6
static const PolicyField task_fields[] = {
	{ "ttl_seconds", POLICY_FIELD_INT, TASK_OFFSET(ttl_seconds), .min = 1, .max = SECONDS_MAX },
	{ "heartbeat_seconds", POLICY_FIELD_INT, TASK_OFFSET(heartbeat_seconds), .min = 0,
	  .max = SECONDS_MAX },
	{ "max_retries", POLICY_FIELD_INT, TASK_OFFSET(max_retries), .min = 0, .max = RETRIES_MAX },
	{ "grace_seconds", POLICY_FIELD_INT, TASK_OFFSET(grace_seconds), .min = 0,
	  .max = GRACE_SECONDS_MAX },
	{ "backoff", POLICY_FIELD_CUSTOM, .fn = parse_task_backoff },
	{ "output_max", POLICY_FIELD_SIZE, TASK_OFFSET(output_max), .size_min = 4096,
	  .size_max = OUTPUT_MAX },
	/* task-only keys */
	{ "command", POLICY_FIELD_CUSTOM, .fn = parse_task_command },
	{ "groups", POLICY_FIELD_CUSTOM, .fn = parse_task_groups },
	{ "user", POLICY_FIELD_CUSTOM, .fn = parse_task_user },
	{ "limits", POLICY_FIELD_CUSTOM, .fn = parse_task_limits },
	{ "seccomp", POLICY_FIELD_CUSTOM, .fn = parse_task_seccomp },
	{ "network", POLICY_FIELD_BOOL, TASK_OFFSET(network) },
	{ "private_tmp", POLICY_FIELD_BOOL, TASK_OFFSET(private_tmp) },
	{ "read_only_system", POLICY_FIELD_BOOL, TASK_OFFSET(read_only_system) },
	{ "enforce", POLICY_FIELD_CUSTOM, .fn = parse_task_enforce },
	{ "mutations", POLICY_FIELD_CUSTOM, .fn = parse_task_mutations },
};

/* The pair is only checked once both may have been overridden. */
static int check_backoff(const PolicyTask *t, const char *path, char **error)
{
	_cleanup_free_ char *p = NULL;

	if (t->backoff_base_seconds <= t->backoff_max_seconds)
		return 0;
	p = policy_path_key(path, "backoff.base_seconds");
	if (!p)
		return policy_oom(error);
	return policy_error(error, -EINVAL, p, "must not exceed backoff.max_seconds (%g)",
			    t->backoff_max_seconds);
}

/* Each entry applies on top of the level below it, so escalations accumulate. */
static int parse_mutations(Policy *policy, PolicyTask *t, json_object *a, const char *path, char **error)
{
	size_t n = json_object_array_length(a);
	int r;

	if (n == 0)
		return 0;
	t->mutations = calloc(n, sizeof(PolicyTask));
	if (!t->mutations)
		return policy_oom(error);

	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *p = policy_path_index(path, i);
		TaskParse mp = { .policy = policy, .in_mutation = true };

		if (!p)
			return policy_oom(error);
		if (task_copy(i == 0 ? t : &t->mutations[i - 1], &mp.task) < 0)
			return policy_oom(error);
		r = policy_parse_object(json_object_array_get_idx(a, i), p, task_fields,
					ELEMENTSOF(task_fields), &mp, error);
		if (r >= 0)
			r = check_backoff(&mp.task, p, error);
		if (r < 0) {
			task_done(&mp.task);
			return r;
		}
		t->mutations[t->n_mutations++] = mp.task;
	}
	return 0;
}

static bool task_name_is_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= TASK_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static int parse_task(Policy *p, const char *name, json_object *v, const char *path, PolicyTask *ret,
		      char **error)
{
	_cleanup_free_ char *mpath = NULL, *spath = NULL;
	TaskParse tp = { .policy = p };
	int r;

	if (task_init(&tp.task, p, name) < 0)
		return policy_oom(error);
	r = policy_parse_object(v, path, task_fields, ELEMENTSOF(task_fields), &tp, error);
	if (r < 0)
		goto fail;
	if (!tp.task.command) {
		r = policy_error(error, -EINVAL, path, "missing required key \"command\"");
		goto fail;
	}
	r = check_backoff(&tp.task, path, error);
	if (r < 0)
		goto fail;
	/* Without a "seccomp" key the task has "default", compiled here; mutations inherit it. */
	if (!tp.task.seccomp_program && !streq(tp.task.seccomp, "none")) {
		spath = policy_path_key(path, "seccomp");
		if (!spath) {
			r = policy_oom(error);
			goto fail;
		}
		r = policy_seccomp_resolve(p, tp.task.seccomp, spath, &tp.task.seccomp_program, error);
		if (r < 0)
			goto fail;
	}
	if (tp.mutations) {
		mpath = policy_path_key(path, "mutations");
		if (!mpath) {
			r = policy_oom(error);
			goto fail;
		}
		r = parse_mutations(p, &tp.task, tp.mutations, mpath, error);
		if (r < 0)
			goto fail;
	}
	*ret = tp.task;
	return 0;
fail:
	task_done(&tp.task);
	return r;
}

static int task_compare(const void *a, const void *b)
{
	return strcmp(((const PolicyTask *)a)->name, ((const PolicyTask *)b)->name);
}

static int parse_tasks(Policy *p, json_object *o, char **error)
{
	size_t n;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return policy_error(error, -EINVAL, "tasks", "expected an object");
	n = (size_t)json_object_object_length(o);
	if (n == 0)
		return 0;
	p->tasks = calloc(n, sizeof(PolicyTask));
	if (!p->tasks)
		return policy_oom(error);

	json_object_object_foreach(o, name, v)
	{
		_cleanup_free_ char *path = NULL;

		if (!task_name_is_valid(name))
			return policy_error(error, -EINVAL, "tasks",
					    "invalid task name \"%s\" (1 to %u of A-Z a-z 0-9 _ . -)", name,
					    TASK_NAME_MAX);
		path = policy_path_key("tasks", name);
		if (!path)
			return policy_oom(error);
		r = parse_task(p, name, v, path, &p->tasks[p->n_tasks], error);
		if (r < 0)
			return r;
		p->n_tasks++;
	}
	/* Sorted for policy_find_task(); names are unique since duplicate keys are refused. */
	qsort(p->tasks, p->n_tasks, sizeof(PolicyTask), task_compare);
	return 0;
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
	Policy *p = ((LoadContext *)base)->policy;
	TaskParse tp = {};
	int r;

	/* Read through the tasks' own fields so both accept the same values. */
	tp.task = (PolicyTask){
		.ttl_seconds = p->defaults.ttl_seconds,
		.heartbeat_seconds = p->defaults.heartbeat_seconds,
		.max_retries = p->defaults.max_retries,
		.grace_seconds = p->defaults.grace_seconds,
		.backoff_base_seconds = p->defaults.backoff_base_seconds,
		.backoff_max_seconds = p->defaults.backoff_max_seconds,
		.output_max = p->defaults.output_max,
	};
	r = policy_parse_object(v, path, task_fields, N_DEFAULT_FIELDS, &tp, error);
	if (r < 0)
		return r;
	r = check_backoff(&tp.task, path, error);
	if (r < 0)
		return r;

	p->defaults.output_max = tp.task.output_max;
	p->defaults.ttl_seconds = tp.task.ttl_seconds;
	p->defaults.heartbeat_seconds = tp.task.heartbeat_seconds;
	p->defaults.max_retries = tp.task.max_retries;
	p->defaults.grace_seconds = tp.task.grace_seconds;
	p->defaults.backoff_base_seconds = tp.task.backoff_base_seconds;
	p->defaults.backoff_max_seconds = tp.task.backoff_max_seconds;
	return 0;
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
	if (!p->origin || !p->admin_group)
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
		r = parse_tasks(p, ctx.tasks, error);
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
	for (size_t i = 0; i < _SOURCE_MAX; i++)
		policy_groups_done(&p->sources[i].groups);
	for (size_t i = 0; i < p->n_tasks; i++)
		task_done(&p->tasks[i]);
	free(p->tasks);
	policy_seccomp_done(p);
	free(p);
	return NULL;
}

const PolicyTask *policy_find_task(const Policy *p, const char *name)
{
	PolicyTask key = { .name = (char *)name };

	if (!p || !name || p->n_tasks == 0)
		return NULL;
	return bsearch(&key, p->tasks, p->n_tasks, sizeof(PolicyTask), task_compare);
}

const PolicyTask *policy_task_at_level(const PolicyTask *t, int mutation_level)
{
	if (!t || mutation_level <= 0 || t->n_mutations == 0)
		return t;
	/* The last entry holds for every higher level. */
	return &t->mutations[MIN((size_t)mutation_level, t->n_mutations) - 1];
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
