/* SPDX-License-Identifier: MIT */
/*
 * The task types a caller may submit, as daemon.status lists them: what a
 * new user needs to pick one and to know what it will be given (its TTL and
 * how long a TTL one may ask for, retries, limits, confinement), without
 * reading the policy file, which a submitter may not be able to read.
 */
#include "methods.h"

/* The protocol's bound on ttl_seconds, where a type sets none of its own. */
#define SUBMIT_TTL_MAX INT64_C(2592000)

int64_t task_type_max_ttl(const PolicyTask *pt)
{
	return pt->max_ttl_seconds > 0 && pt->max_ttl_seconds < SUBMIT_TTL_MAX ? pt->max_ttl_seconds : SUBMIT_TTL_MAX;
}

/* A limit that is not set is null, so that 0 never reads as "none". */
static json_object *limit_u64(uint64_t v)
{
	return v == UINT64_MAX ? NULL : json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

static json_object *limit_i64(int64_t v)
{
	return v < 0 ? NULL : json_object_new_int64(v);
}

static json_object *limits_json(const PolicyLimits *l)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "memory_max", limit_u64(l->memory_max));
	json_object_object_add(o, "pids_max", limit_i64(l->pids_max));
	json_object_object_add(o, "cpu_max", l->cpu_max ? json_object_new_int64(l->cpu_max) : NULL);
	json_object_object_add(o, "nofile", limit_i64(l->nofile));
	json_object_object_add(o, "fsize", limit_u64(l->fsize));
	json_object_object_add(o, "cpu", limit_i64(l->cpu_seconds));
	return o;
}

static json_object *task_type_json(const PolicyTask *pt)
{
	json_object *o = json_object_new_object(), *backoff = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(pt->name));
	json_object_object_add(o, "command", json_object_new_string(pt->command_caller ? "caller" : "fixed"));
	json_object_object_add(o, "user", json_object_new_string(pt->user ?: "dynamic")); /* or "caller" */
	json_object_object_add(o, "ttl_seconds", json_object_new_int64(pt->ttl_seconds));
	json_object_object_add(o, "max_ttl_seconds", json_object_new_int64(task_type_max_ttl(pt)));
	json_object_object_add(o, "heartbeat_seconds", json_object_new_int64(pt->heartbeat_seconds));
	json_object_object_add(o, "max_retries", json_object_new_int64(pt->max_retries));
	json_object_object_add(backoff, "base_seconds", json_object_new_double(pt->backoff_base_seconds));
	json_object_object_add(backoff, "max_seconds", json_object_new_double(pt->backoff_max_seconds));
	json_object_object_add(o, "backoff", backoff);
	json_object_object_add(o, "limits", limits_json(&pt->limits));
	json_object_object_add(o, "seccomp", json_object_new_string(pt->seccomp));
	json_object_object_add(o, "network", pt->private_network ? json_object_new_string("none")
								 : json_object_new_boolean(pt->network));
	json_object_object_add(o, "enforce",
			       json_object_new_string(pt->enforce == ENFORCE_BEST_EFFORT ? "best-effort" : "strict"));
	json_object_object_add(o, "mutations", json_object_new_int64((int64_t)pt->n_mutations));
	return o;
}

json_object *task_types_json(const Call *call, const Policy *p)
{
	json_object *a = json_object_new_array();

	/* The policy keeps them sorted by name. */
	for (size_t i = 0; i < p->n_tasks; i++) {
		const PolicyTask *pt = &p->tasks[i];

		if (!call->admin &&
		    !policy_groups_allow(&pt->groups, call->caller->gid, call->caller->groups, call->caller->n_groups))
			continue;
		json_object_array_add(a, task_type_json(pt));
	}
	return a;
}
