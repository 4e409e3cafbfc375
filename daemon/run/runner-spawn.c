/* SPDX-License-Identifier: MIT */
/*
 * daughter.spawn: an admin's command run now, outside the queue and
 * max_running, as a task of its own so that task.get, logs and the audit
 * trail cover it like any other.
 */
#include <stdio.h>
#include <string.h>

#include "runner-internal.h"

/* daughter.spawn's profiles: the shipped ones, from the policy's cache of
 * compiled programs (compiled there on first use, freed with the policy). */
static int spawn_profile(Runner *r, const char *name, const SeccompProgram **ret, char **ret_error)
{
	*ret = NULL;
	*ret_error = NULL;
	if (!streq(name, "default") && !streq(name, "strict") && !streq(name, "none"))
		return asprintf(ret_error, "profile: unknown seccomp profile \"%s\" (expected default, strict or none)",
				name) < 0 ? -ENOMEM : -EINVAL;
	return policy_seccomp_resolve(r->env.policy, name, "profile", ret, ret_error);
}

/* Its tasks carry their own command; confinement comes from the policy defaults. */
int spawn_task_init(Runner *r, PolicyTask *pt, const Task *t, char **argv_storage, size_t n_max,
			   json_object **ret_payload, const SeccompProgram **ret_prog, char **ret_error)
{
	const Policy *p = r->env.policy;
	json_object *o, *cmd = NULL, *profile = NULL;
	size_t n;

	*pt = (PolicyTask){
		.name = (char *)"daughter.spawn",
		.ttl_seconds = p->defaults.ttl_seconds,
		.max_retries = 0,
		.grace_seconds = p->defaults.grace_seconds,
		.backoff_base_seconds = p->defaults.backoff_base_seconds,
		.backoff_max_seconds = p->defaults.backoff_max_seconds,
		.limits = { .memory_max = UINT64_MAX, .pids_max = -1, .nofile = -1, .fsize = UINT64_MAX,
			    .core = 0, .cpu_seconds = -1 },
		.network = false,
		.enforce = ENFORCE_STRICT,
		.output_max = p->defaults.output_max,
	};
	/* argv points into the payload: the caller keeps it as long as argv is used. */
	o = *ret_payload = t->payload_json ? json_tokener_parse(t->payload_json) : NULL;
	if (!o || !json_object_object_get_ex(o, "cmd", &cmd) || !json_object_is_type(cmd, json_type_array) ||
	    (n = json_object_array_length(cmd)) == 0 || n >= n_max)
		return asprintf(ret_error, "daughter.spawn: the task has no usable cmd") < 0 ? -ENOMEM : -EINVAL;
	for (size_t i = 0; i < n; i++)
		argv_storage[i] = (char *)json_object_get_string(json_object_array_get_idx(cmd, i));
	argv_storage[n] = NULL;
	pt->command = argv_storage;
	(void)json_object_object_get_ex(o, "profile", &profile);
	return spawn_profile(r, profile ? json_object_get_string(profile) : "default", ret_prog, ret_error);
}

int runner_spawn_now(Runner *r, const SpawnParams *p, json_object **ret, char **ret_error)
{
	RunnerConfig *env = &r->env;
	_cleanup_json_ json_object *payload = json_object_new_object(), *cmd = json_object_new_array();
	_cleanup_free_ char *error = NULL;
	IntentRecord rec = {};
	Task t;
	Hija *h = NULL;
	int k;

	/* A fleet node whose lease is not renewed starts nothing (lease.c). */
	if (r->lease_fenced) {
		*ret_error = strdup("this node's lease in the fleet is not renewed: it starts nothing until it is");
		return -EAGAIN;
	}
	const SeccompProgram *prog;
	k = spawn_profile(r, p->profile ?: "default", &prog, &error);
	if (k < 0) {
		*ret_error = TAKE_PTR(error);
		return k == -ENOMEM ? k : -EINVAL;
	}
	for (char **a = p->argv; *a; a++)
		json_object_array_add(cmd, json_object_new_string(*a));
	json_object_object_add(payload, "cmd", json_object_get(cmd));
	json_object_object_add(payload, "name", json_object_new_string(p->name));
	json_object_object_add(payload, "purpose", p->purpose ? json_object_new_string(p->purpose) : NULL);
	json_object_object_add(payload, "parent_task_id",
			       p->parent_task_id ? json_object_new_string(p->parent_task_id) : NULL);
	json_object_object_add(payload, "profile", json_object_new_string(p->profile ?: "default"));

	/* A task and an audit entry like any other, so task.get, logs and the
	 * audit trail cover admin spawns too. */
	id_new_string(rec.correlation_id);
	rec.created_at = now_realtime_usec();
	rec.uid = p->uid;
	rec.gid = (gid_t)-1;
	rec.source = (char *)"madre";
	rec.intent_type = (char *)"daughter.spawn";
	rec.text = (char *)p->name;
	rec.payload_json = (char *)json_object_to_json_string_ext(payload, JSON_C_TO_STRING_PLAIN);
	rec.require_spawner = true;
	rec.priority = 0;
	rec.status = (char *)"QUEUED";
	rec.mode = (char *)"SPAWNER";
	rec.provider = (char *)"spawner";
	rec.processed_at = rec.created_at;
	rec.result_status = (char *)"QUEUED";

	t = (Task){
		.source = (char *)"madre",
		.priority = 0,
		.status = TASK_PENDING,
		.task_type = (char *)"daughter.spawn",
		.description = (char *)p->name,
		.payload_json = rec.payload_json,
		.uid = p->uid,
		.max_retries = 0,
		.ttl_seconds = p->ttl_seconds,
	};
	id_new_string(t.id);
	memcpy(t.intent_id, rec.correlation_id, ID_STRING_MAX);
	t.created_at = t.updated_at = rec.created_at;
	rec.task_id = t.id;
	k = store_task_insert(env->store, &t);
	if (k >= 0)
		k = store_intent_insert(env->store, &rec);
	/* Run here and now: claimed in the transaction that inserts it, so no
	 * other node of a fleet ever sees it unclaimed. */
	if (k >= 0)
		k = store_claim_task(env->store, t.id);
	if (k < 0) {
		*ret_error = strdup(store_last_error(env->store));
		return -EIO;
	}
	store_want_durable(env->store);
	runner_task_changed(r, &t, _TASK_STATUS_INVALID);

	k = runner_start_attempt(r, &t, p->purpose, &h);
	if (k < 0) {
		*ret_error = strdup("cannot record the daughter");
		return k;
	}
	json_object *o = json_object_new_object();
	/* start_attempt() settled the task already if it could not even prepare. */
	json_object_object_add(o, "status", json_object_new_string(h ? "spawning" : "spawn_failed"));
	json_object_object_add(o, "daughter_id", h ? json_object_new_string(h->d.id) : NULL);
	json_object_object_add(o, "attempt_id", h ? json_object_new_string(h->a.id) : NULL);
	json_object_object_add(o, "task_id", json_object_new_string(t.id));
	json_object_object_add(o, "correlation_id", json_object_new_string(rec.correlation_id));
	*ret = o;
	return 0;
}
