/* SPDX-License-Identifier: MIT */
/*
 * What holds a task back before its attempt starts: a pause (the whole queue
 * or its task type) and its dependencies (runner.h).
 *
 * The run queue stays the one place a runnable task waits, and dispatch asks
 * the gate about the task it popped. A paused task goes to the held queue
 * and comes back on resume; a task whose dependencies have not all ended is
 * dropped, and comes back when one of them ends (runner_task_ended); start-up
 * queues every pending task, so the gate sees each again after a restart.
 * Nothing is scanned: a pause costs nothing per task until resume, a
 * dependency one index lookup when the task it waits for ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner-internal.h"

bool runner_is_paused(const Runner *r, const char *task_type)
{
	if (r->paused_all)
		return true;
	for (size_t i = 0; task_type && i < r->n_paused_types; i++)
		if (streq(r->paused_types[i], task_type))
			return true;
	return false;
}

bool runner_paused_all(const Runner *r)
{
	return r && r->paused_all;
}

char *const *runner_paused_types(const Runner *r, size_t *ret_n)
{
	*ret_n = r ? r->n_paused_types : 0;
	return r ? r->paused_types : NULL;
}

static int remember_pause(Runner *r, const char *scope)
{
	char **v;

	if (streq(scope, STORE_PAUSE_ALL)) {
		r->paused_all = true;
		return 0;
	}
	for (size_t i = 0; i < r->n_paused_types; i++)
		if (streq(r->paused_types[i], scope))
			return 0;
	v = reallocarray(r->paused_types, r->n_paused_types + 1, sizeof *v);
	if (!v)
		return -ENOMEM;
	r->paused_types = v;
	v[r->n_paused_types] = strdup(scope);
	if (!v[r->n_paused_types])
		return -ENOMEM;
	r->n_paused_types++;
	return 0;
}

static void forget_pauses(Runner *r)
{
	for (size_t i = 0; i < r->n_paused_types; i++)
		free(r->paused_types[i]);
	free(r->paused_types);
	r->paused_types = NULL;
	r->n_paused_types = 0;
	r->paused_all = false;
}

static int load_pause(const char *scope, uint64_t paused_at, uid_t uid, void *userdata)
{
	return remember_pause(userdata, scope);
}

int runner_load_pauses(Runner *r)
{
	int k;

	forget_pauses(r);
	k = store_pause_list(r->env.store, load_pause, r);
	if (k < 0)
		return log_error_errno(k, "cannot read the pauses: %s", store_last_error(r->env.store));
	if (r->paused_all || r->n_paused_types > 0)
		log_notice("the queue is paused%s: tasks of %s start after 'vx11ctl resume'",
			   r->paused_all ? "" : " for some task types", r->paused_all ? "any type" : "those types");
	return 0;
}

int runner_pause(Runner *r, const char *task_type, uid_t uid)
{
	const char *scope = task_type ?: STORE_PAUSE_ALL;
	int k;

	k = store_pause_set(r->env.store, scope, now_realtime_usec(), uid);
	if (k >= 0) /* the other nodes read the pauses again (source-control.c) */
		k = store_ctl_send(r->env.store, "pauses");
	if (k < 0)
		return k;
	return remember_pause(r, scope);
}

/* Back to the run queue: whatever the gate held for a pause. */
static void release_held(Runner *r)
{
	QueueEntry e;

	while (queue_pop(r->held, &e))
		(void)queue_push(r->env.queue, &e.id, e.priority, e.seq, 0);
	runner_schedule(r);
}

int runner_resume(Runner *r, const char *task_type)
{
	int k;

	k = store_pause_clear(r->env.store, task_type);
	if (k >= 0)
		k = store_ctl_send(r->env.store, "pauses");
	if (k < 0)
		return k;
	if (!task_type)
		forget_pauses(r);
	else
		for (size_t i = 0; i < r->n_paused_types; i++)
			if (streq(r->paused_types[i], task_type)) {
				free(r->paused_types[i]);
				r->paused_types[i] = r->paused_types[--r->n_paused_types];
				break;
			}
	/* Those still paused are held again when dispatch pops them. */
	release_held(r);
	return 0;
}

void runner_task_ended(Runner *r, const Task *t)
{
	char (*ids)[ID_STRING_MAX] = NULL;
	size_t n = 0;

	if (!r || store_dep_dependents(r->env.store, t->id, &ids, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		Task d;
		Id id;

		/* The gate decides when dispatch pops it: it may wait on another. */
		if (store_task_get(r->env.store, ids[i], &d) < 0)
			continue;
		if (d.status == TASK_PENDING && id_from_string(d.id, &id) == 0)
			(void)queue_push(r->env.queue, &id, d.priority, d.seq, 0);
		task_done(&d);
	}
	free(ids);
	if (n > 0)
		runner_schedule(r);
}

/* Settle t failed: a task it waited for did not complete. */
static void fail_dependency(Runner *r, Task *t, const TaskDep *dep, TaskStatus dep_status)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	TaskStatus old = t->status;
	char detail[160];

	json_object_object_add(o, "task_id", json_object_new_string(t->id));
	json_object_object_add(o, "reason", json_object_new_string("dependency_failed"));
	json_object_object_add(o, "after", json_object_new_string(dep->after_id));
	json_object_object_add(o, "after_status", json_object_new_string(task_status_to_string(dep_status)));
	snprintf(detail, sizeof detail, "dependency_failed: task %s ended %s", dep->after_id,
		 task_status_to_string(dep_status));
	json_object_object_add(o, "error_message", json_object_new_string(detail));
	free(t->result_json);
	t->result_json = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	t->status = TASK_FAILED;
	t->updated_at = now_realtime_usec();
	t->next_attempt_at = 0;
	if (store_task_update(r->env.store, t) < 0) {
		log_error("cannot update task %s: %s", t->id, store_last_error(r->env.store));
		return;
	}
	runner_task_changed(r, t, old);
	runner_audit_task(t, NULL, NULL, "ended", detail, NULL);
}

GateVerdict runner_gate(Runner *r, Task *t)
{
	_cleanup_free_ TaskDep *deps = NULL;
	size_t n = 0;
	bool waiting = false;
	Id id;

	if (runner_is_paused(r, t->task_type)) {
		if (id_from_string(t->id, &id) == 0)
			(void)queue_push(r->held, &id, t->priority, t->seq, 0);
		return GATE_HELD;
	}
	/* Only a first attempt waits: a retry's dependencies were met. */
	if (t->status == TASK_RETRYING)
		return GATE_GO;
	if (store_dep_list(r->env.store, t->id, &deps, &n) < 0) {
		log_error("cannot read what task %s waits for: %s", t->id, store_last_error(r->env.store));
		return GATE_WAIT; /* fail closed; it is looked at again when one of them ends */
	}
	for (size_t i = 0; i < n; i++) {
		Task d;

		if (store_task_get(r->env.store, deps[i].after_id, &d) < 0) {
			/* Refused at submit, so only a pruned task: it had ended. */
			if (!deps[i].after_any) {
				fail_dependency(r, t, &deps[i], TASK_FAILED);
				return GATE_FAILED;
			}
			continue;
		}
		TaskStatus s = d.status;
		task_done(&d);
		if (!task_status_is_terminal(s))
			waiting = true;
		else if (s != TASK_COMPLETED && !deps[i].after_any) {
			fail_dependency(r, t, &deps[i], s);
			return GATE_FAILED;
		}
	}
	return waiting ? GATE_WAIT : GATE_GO;
}
