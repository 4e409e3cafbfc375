/* SPDX-License-Identifier: MIT */
/*
 * Task types: one object of the file's "tasks" (and "defaults", read through
 * the same fields so both accept the same values) into a whole PolicyTask,
 * with its mutation levels expanded, its groups and user looked up and its
 * seccomp profile compiled. What policy.c's loader calls (policy-internal.h).
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
#define OUTPUT_MAX (256U * 1024U * 1024U)

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

void policy_task_done(PolicyTask *t)
{
	free(t->name);
	policy_strv_free(t->command);
	policy_strv_free(t->fs.read);
	policy_strv_free(t->fs.write);
	policy_strv_free(t->fs.exec);
	policy_groups_done(&t->groups);
	free(t->user);
	free(t->seccomp);
	for (size_t i = 0; i < t->n_mutations; i++)
		policy_task_done(&t->mutations[i]);
	free(t->mutations);
	*t = (PolicyTask){};
}

/* A deep copy of everything but the mutations, which only the base task has. */
static int task_copy(const PolicyTask *src, PolicyTask *ret)
{
	PolicyTask t = *src;

	t.name = t.user = t.seccomp = NULL;
	t.command = t.fs.read = t.fs.write = t.fs.exec = NULL;
	t.groups = (PolicyGroups){};
	t.mutations = NULL;
	t.n_mutations = 0;

	if (!(t.name = strdup(src->name)) || (src->user && !(t.user = strdup(src->user))) ||
	    !(t.seccomp = strdup(src->seccomp)) || strv_copy(src->command, &t.command) < 0 ||
	    strv_copy(src->fs.read, &t.fs.read) < 0 || strv_copy(src->fs.write, &t.fs.write) < 0 ||
	    strv_copy(src->fs.exec, &t.fs.exec) < 0 ||
	    groups_copy(&src->groups, &t.groups) < 0) {
		policy_task_done(&t);
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
		policy_task_done(t);
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
	TaskParse *tp = base;
	bool caller = json_object_is_type(v, json_type_string) && streq(json_object_get_string(v), "caller");
	int r;

	/* What a caller's argv replaces is the whole command: a retry that
	 * switched between the two would run something nobody asked for. */
	if (tp->in_mutation && tp->task.command_caller)
		return policy_error(error, -EINVAL, path,
				    "not allowed in a mutation of a task type whose command is \"caller\"");
	if (tp->in_mutation && caller)
		return policy_error(error, -EINVAL, path,
				    "\"caller\" is not allowed in a mutation: a task type runs the caller's command "
				    "at every level or at none");
	if (caller) {
		policy_strv_free(tp->task.command);
		tp->task.command = NULL;
		tp->task.command_caller = true;
		return 0;
	}
	if (json_object_is_type(v, json_type_string))
		return policy_error(error, -EINVAL, path,
				    "expected \"caller\" or a non-empty array of strings whose first element is an "
				    "absolute path");
	r = policy_get_command(v, path, &tp->task.command, error);
	if (r >= 0)
		tp->task.command_caller = false;
	return r;
}

static int parse_task_groups(void *base, json_object *v, const char *path, char **error)
{
	return policy_get_groups(v, path, &((TaskParse *)base)->task.groups, error);
}

static int parse_task_user(void *base, json_object *v, const char *path, char **error)
{
	PolicyTask *t = &((TaskParse *)base)->task;
	int r;

	/* The submitter's own uid, resolved per task (run/supervise.c). */
	if (json_object_is_type(v, json_type_string) && streq(json_object_get_string(v), "caller")) {
		free(t->user);
		t->user = strdup("caller");
		if (!t->user)
			return policy_oom(error);
		t->user_caller = true;
		return 0;
	}
	r = policy_get_user(v, path, &t->user, error);
	if (r >= 0)
		t->user_caller = false;
	return r;
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

/* true (the host's), false (one loopback-only namespace shared by such
 * daughters) or "none" (a namespace of each daughter's own, loopback only). */
static int parse_task_network(void *base, json_object *v, const char *path, char **error)
{
	PolicyTask *t = &((TaskParse *)base)->task;
	const char *s;

	if (json_object_is_type(v, json_type_boolean)) {
		t->network = json_object_get_boolean(v);
		t->private_network = false;
		return 0;
	}
	if (policy_get_string(v, path, &s, NULL) >= 0 && streq(s, "none")) {
		t->network = false;
		t->private_network = true;
		return 0;
	}
	return policy_error(error, -EINVAL, path, "expected true, false or \"none\"");
}

/* An array of absolute paths (none may be empty, hold a NUL or be relative). */
static int get_paths(json_object *v, const char *path, char ***ret, char **error)
{
	char **l;
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return policy_error(error, -EINVAL, path, "expected an array of absolute paths");
	n = json_object_array_length(v);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		if (!json_object_is_type(e, json_type_string) || json_object_get_string(e)[0] != '/' ||
		    strlen(json_object_get_string(e)) != (size_t)json_object_get_string_len(e)) {
			_cleanup_free_ char *p = policy_path_index(path, i);
			return p ? policy_error(error, -EINVAL, p, "expected an absolute path") : policy_oom(error);
		}
	}
	l = calloc(n + 1, sizeof(char *));
	if (!l)
		return policy_oom(error);
	for (size_t i = 0; i < n; i++)
		if (!(l[i] = strdup(json_object_get_string(json_object_array_get_idx(v, i))))) {
			policy_strv_free(l);
			return policy_oom(error);
		}
	policy_strv_free(*ret);
	*ret = l;
	return 0;
}

static int parse_fs_read(void *base, json_object *v, const char *path, char **error)
{
	return get_paths(v, path, &((PolicyTask *)base)->fs.read, error);
}

static int parse_fs_write(void *base, json_object *v, const char *path, char **error)
{
	return get_paths(v, path, &((PolicyTask *)base)->fs.write, error);
}

static int parse_fs_exec(void *base, json_object *v, const char *path, char **error)
{
	return get_paths(v, path, &((PolicyTask *)base)->fs.exec, error);
}

static const PolicyField fs_fields[] = {
	{ "read", POLICY_FIELD_CUSTOM, .fn = parse_fs_read },
	{ "write", POLICY_FIELD_CUSTOM, .fn = parse_fs_write },
	{ "exec", POLICY_FIELD_CUSTOM, .fn = parse_fs_exec },
};

/* "filesystem": {"read": [...], "write": [...], "exec": [...]}, a Landlock
 * allow-list; a mutation that gives it replaces the whole list. */
static int parse_task_filesystem(void *base, json_object *v, const char *path, char **error)
{
	PolicyTask *t = &((TaskParse *)base)->task;

	if (!json_object_is_type(v, json_type_object))
		return policy_error(error, -EINVAL, path, "expected an object with read, write and exec");
	t->fs.read = policy_strv_free(t->fs.read);
	t->fs.write = policy_strv_free(t->fs.write);
	t->fs.exec = policy_strv_free(t->fs.exec);
	t->fs.set = true;
	return policy_parse_object(v, path, fs_fields, ELEMENTSOF(fs_fields), t, error);
}

/* Up to POLICY_PORTS_MAX TCP ports, 1 to 65535. */
static int get_ports(json_object *v, const char *path, uint16_t *ports, uint8_t *n, char **error)
{
	size_t len;

	if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > POLICY_PORTS_MAX)
		return policy_error(error, -EINVAL, path, "expected an array of at most %d TCP ports", POLICY_PORTS_MAX);
	len = json_object_array_length(v);
	for (size_t i = 0; i < len; i++) {
		_cleanup_free_ char *p = policy_path_index(path, i);
		int64_t port;
		int r;

		if (!p)
			return policy_oom(error);
		r = policy_get_int(json_object_array_get_idx(v, i), p, 1, 65535, &port, error);
		if (r < 0)
			return r;
		ports[i] = (uint16_t)port;
	}
	*n = (uint8_t)len;
	return 0;
}

static int parse_tcp_bind(void *base, json_object *v, const char *path, char **error)
{
	PolicyTask *t = base;
	return get_ports(v, path, t->tcp.bind, &t->tcp.n_bind, error);
}

static int parse_tcp_connect(void *base, json_object *v, const char *path, char **error)
{
	PolicyTask *t = base;
	return get_ports(v, path, t->tcp.connect, &t->tcp.n_connect, error);
}

static const PolicyField tcp_fields[] = {
	{ "bind", POLICY_FIELD_CUSTOM, .fn = parse_tcp_bind },
	{ "connect", POLICY_FIELD_CUSTOM, .fn = parse_tcp_connect },
};

/* "tcp": {"bind": [ports], "connect": [ports]}: every other port denied. */
static int parse_task_tcp(void *base, json_object *v, const char *path, char **error)
{
	PolicyTask *t = &((TaskParse *)base)->task;

	if (!json_object_is_type(v, json_type_object))
		return policy_error(error, -EINVAL, path, "expected an object with bind and connect");
	t->tcp.set = true;
	t->tcp.n_bind = t->tcp.n_connect = 0;
	return policy_parse_object(v, path, tcp_fields, ELEMENTSOF(tcp_fields), t, error);
}

/* "scope": ["abstract_unix_socket", "signal"]. */
static int parse_task_scope(void *base, json_object *v, const char *path, char **error)
{
	PolicyTask *t = &((TaskParse *)base)->task;
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return policy_error(error, -EINVAL, path, "expected an array of \"abstract_unix_socket\", \"signal\"");
	t->scope_abstract_unix = t->scope_signal = false;
	n = json_object_array_length(v);
	for (size_t i = 0; i < n; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(v, i));
		if (json_object_is_type(json_object_array_get_idx(v, i), json_type_string) && streq(s, "abstract_unix_socket"))
			t->scope_abstract_unix = true;
		else if (json_object_is_type(json_object_array_get_idx(v, i), json_type_string) && streq(s, "signal"))
			t->scope_signal = true;
		else {
			_cleanup_free_ char *p = policy_path_index(path, i);
			return p ? policy_error(error, -EINVAL, p, "expected \"abstract_unix_socket\" or \"signal\"")
				 : policy_oom(error);
		}
	}
	return 0;
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
	{ "max_ttl_seconds", POLICY_FIELD_INT, TASK_OFFSET(max_ttl_seconds), .min = 1, .max = SECONDS_MAX },
	{ "groups", POLICY_FIELD_CUSTOM, .fn = parse_task_groups },
	{ "user", POLICY_FIELD_CUSTOM, .fn = parse_task_user },
	{ "limits", POLICY_FIELD_CUSTOM, .fn = parse_task_limits },
	{ "seccomp", POLICY_FIELD_CUSTOM, .fn = parse_task_seccomp },
	{ "network", POLICY_FIELD_CUSTOM, .fn = parse_task_network },
	{ "hide_processes", POLICY_FIELD_BOOL, TASK_OFFSET(hide_processes) },
	{ "filesystem", POLICY_FIELD_CUSTOM, .fn = parse_task_filesystem },
	{ "tcp", POLICY_FIELD_CUSTOM, .fn = parse_task_tcp },
	{ "scope", POLICY_FIELD_CUSTOM, .fn = parse_task_scope },
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
			policy_task_done(&mp.task);
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
	if (!tp.task.command && !tp.task.command_caller) {
		r = policy_error(error, -EINVAL, path,
				 "missing required key \"command\" (an argv array, or \"caller\" for the caller's)");
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
	policy_task_done(&tp.task);
	return r;
}

static int task_compare(const void *a, const void *b)
{
	return strcmp(((const PolicyTask *)a)->name, ((const PolicyTask *)b)->name);
}

int policy_parse_tasks(Policy *p, json_object *o, char **error)
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

int policy_parse_defaults(Policy *p, json_object *v, const char *path, char **error)
{
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
