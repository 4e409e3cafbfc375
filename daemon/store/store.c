/* SPDX-License-Identifier: MIT */
/*
 * The parts of the store that do not depend on a backend, and the dispatch of
 * every public store_*() call to the backend that opened s (store-ops.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "store-ops.h"
#include "store-sqlite-internal.h"
#include "store.h"

/* Why the last open of this thread failed, whichever backend it asked. */
static _Thread_local char open_error[512];

void store_set_open_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(open_error, sizeof open_error, fmt, ap);
	va_end(ap);
}

int store_open(const char *path, Store **ret)
{
	return store_sqlite_open(path, ret);
}

const char *store_backend_name(const Store *s)
{
	return STORE_OPS(s)->name;
}

Store *store_free(Store *s)
{
	if (!s)
		return NULL;
	return STORE_OPS(s)->free(s);
}

const char *store_last_error(const Store *s)
{
	return s ? STORE_OPS(s)->last_error(s) : open_error;
}

int store_commit(Store *s)
{
	return STORE_OPS(s)->commit(s);
}

bool store_has_pending(const Store *s)
{
	return STORE_OPS(s)->has_pending(s);
}

int store_commit_async(Store *s, uint64_t *ret_ticket)
{
	return STORE_OPS(s)->commit_async(s, ret_ticket);
}

int store_sync_fd(Store *s)
{
	return STORE_OPS(s)->sync_fd(s);
}

int store_synced(Store *s, uint64_t *ret_done, uint64_t *ret_failed)
{
	return STORE_OPS(s)->synced(s, ret_done, ret_failed);
}

void store_want_durable(Store *s)
{
	STORE_OPS(s)->want_durable(s);
}

bool store_pending_is_durable(const Store *s)
{
	return STORE_OPS(s)->pending_is_durable(s);
}

void store_stats(const Store *s, StoreStats *ret)
{
	STORE_OPS(s)->stats(s, ret);
}

/* A backend without SQLite's WAL has nothing to checkpoint. */
int store_checkpoint(Store *s)
{
	return STORE_OPS(s)->checkpoint ? STORE_OPS(s)->checkpoint(s) : 0;
}

/* The fleet's: a store one daemon has alone has no claims to take or give
 * back, and nothing to wake it but its own submissions. */
bool store_is_fleet(const Store *s)
{
	return STORE_OPS(s)->claim != NULL;
}

int store_claim(Store *s, const char *const *types, unsigned slots, store_task_cb cb, void *userdata)
{
	return STORE_OPS(s)->claim ? STORE_OPS(s)->claim(s, types, slots, cb, userdata) : -EOPNOTSUPP;
}

int store_claim_task(Store *s, const char *task_id)
{
	return STORE_OPS(s)->claim_task ? STORE_OPS(s)->claim_task(s, task_id) : 0;
}

int store_task_release(Store *s, const char *task_id)
{
	return STORE_OPS(s)->task_release ? STORE_OPS(s)->task_release(s, task_id) : 0;
}

int store_release_own(Store *s)
{
	return STORE_OPS(s)->release_own ? STORE_OPS(s)->release_own(s) : 0;
}

int store_wake_fd(Store *s)
{
	return STORE_OPS(s)->wake_fd ? STORE_OPS(s)->wake_fd(s) : -EOPNOTSUPP;
}

int store_wake_drain(Store *s)
{
	return STORE_OPS(s)->wake_drain ? STORE_OPS(s)->wake_drain(s) : 0;
}

int store_task_cancel(Store *s, const char *task_id, uint64_t at, TaskStatus *ret_was, char *ret_node, size_t size)
{
	if (ret_node && size > 0)
		ret_node[0] = 0;
	return STORE_OPS(s)->task_cancel(s, task_id, at, ret_was, ret_node, size);
}

int store_tasks_ended(Store *s, const char *const *ids, size_t n, store_ended_cb cb, void *userdata)
{
	return STORE_OPS(s)->tasks_ended && n > 0 ? STORE_OPS(s)->tasks_ended(s, ids, n, cb, userdata) : 0;
}

int store_ctl_next(Store *s, char *buf, size_t size)
{
	return STORE_OPS(s)->ctl_next ? STORE_OPS(s)->ctl_next(s, buf, size) : 0;
}

int store_ctl_send(Store *s, const char *msg)
{
	return STORE_OPS(s)->ctl_send ? STORE_OPS(s)->ctl_send(s, msg) : 0;
}

int store_event_next(Store *s, char **ret)
{
	return STORE_OPS(s)->event_next ? STORE_OPS(s)->event_next(s, ret) : 0;
}

int store_attempt_log_put(Store *s, const char *task_id, int number, const char *stream, uint64_t size,
			  const void *tail, size_t len)
{
	return STORE_OPS(s)->attempt_log_put ? STORE_OPS(s)->attempt_log_put(s, task_id, number, stream, size, tail, len)
					     : 0;
}

int store_attempt_log_get(Store *s, const char *task_id, int number, const char *stream, uint64_t *ret_size,
			  void **ret_tail, size_t *ret_len)
{
	return STORE_OPS(s)->attempt_log_get
		       ? STORE_OPS(s)->attempt_log_get(s, task_id, number, stream, ret_size, ret_tail, ret_len)
		       : -ENOENT;
}

int store_intent_key_lock(Store *s, uid_t uid, const char *key)
{
	return STORE_OPS(s)->intent_key_lock ? STORE_OPS(s)->intent_key_lock(s, uid, key) : 0;
}

int store_node_register(Store *s, unsigned lease_seconds, unsigned max_running, StoreLease *ret)
{
	return STORE_OPS(s)->node_register ? STORE_OPS(s)->node_register(s, lease_seconds, max_running, ret) : 0;
}

int store_node_renew(Store *s, unsigned lease_seconds, unsigned running, unsigned max_running, StoreLease *ret)
{
	return STORE_OPS(s)->node_renew ? STORE_OPS(s)->node_renew(s, lease_seconds, running, max_running, ret) : 0;
}

int store_node_leave(Store *s)
{
	return STORE_OPS(s)->node_leave ? STORE_OPS(s)->node_leave(s) : 0;
}

int store_node_adopt(Store *s, char ret_node[static STORE_NODE_MAX], char (**ret_ids)[ID_STRING_MAX], size_t *ret_n)
{
	*ret_ids = NULL;
	*ret_n = 0;
	return STORE_OPS(s)->node_adopt ? STORE_OPS(s)->node_adopt(s, ret_node, ret_ids, ret_n) : 0;
}

int store_attempt_list_adopted(Store *s, store_attempt_cb cb, void *userdata)
{
	return STORE_OPS(s)->attempt_list_adopted ? STORE_OPS(s)->attempt_list_adopted(s, cb, userdata) : 0;
}

int store_fleet_nodes(Store *s, store_node_cb cb, void *userdata)
{
	return STORE_OPS(s)->fleet_nodes ? STORE_OPS(s)->fleet_nodes(s, cb, userdata) : 0;
}

int store_fleet_queue_depth(Store *s, uint64_t *ret)
{
	*ret = 0;
	return STORE_OPS(s)->fleet_queue_depth ? STORE_OPS(s)->fleet_queue_depth(s, ret) : 0;
}

const char *store_unavailable(const Store *s)
{
	return STORE_OPS(s)->unavailable ? STORE_OPS(s)->unavailable(s) : NULL;
}

bool store_available(const Store *s)
{
	return !store_unavailable(s);
}

int store_reconnect(Store *s)
{
	return STORE_OPS(s)->reconnect ? STORE_OPS(s)->reconnect(s) : 0;
}

int store_wal_pages(const Store *s)
{
	return STORE_OPS(s)->wal_pages ? STORE_OPS(s)->wal_pages(s) : 0;
}

int store_intent_insert(Store *s, const IntentRecord *r)
{
	return STORE_OPS(s)->intent_insert(s, r);
}

int store_intent_get(Store *s, const char *correlation_id, IntentRecord *ret)
{
	return STORE_OPS(s)->intent_get(s, correlation_id, ret);
}

int store_intent_update(Store *s, const IntentRecord *r)
{
	return STORE_OPS(s)->intent_update(s, r);
}

int store_intent_set_result(Store *s, const char *correlation_id, const char *result_status)
{
	return STORE_OPS(s)->intent_set_result(s, correlation_id, result_status);
}

int store_intent_find_idempotent(Store *s, uid_t uid, const char *key, IntentRecord *ret)
{
	return STORE_OPS(s)->intent_find_idempotent(s, uid, key, ret);
}

int store_intent_list(Store *s, const IntentFilter *f, store_intent_cb cb, void *userdata)
{
	return STORE_OPS(s)->intent_list(s, f, cb, userdata);
}

int store_intent_count(Store *s, uint64_t *ret)
{
	return STORE_OPS(s)->intent_count(s, ret);
}

int store_id_prefix_find(Store *s, const char *prefix, uid_t uid, IdMatch *ret, size_t max, size_t *ret_n)
{
	return STORE_OPS(s)->id_prefix_find(s, prefix, uid, ret, max, ret_n);
}

int store_task_insert(Store *s, Task *t)
{
	return STORE_OPS(s)->task_insert(s, t);
}

int store_task_get(Store *s, const char *id, Task *ret)
{
	return STORE_OPS(s)->task_get(s, id, ret);
}

int store_task_update(Store *s, const Task *t)
{
	return STORE_OPS(s)->task_update(s, t);
}

int store_task_list(Store *s, const TaskFilter *f, store_task_cb cb, void *userdata)
{
	return STORE_OPS(s)->task_list(s, f, cb, userdata);
}

int store_task_count(Store *s, const TaskFilter *f, uint64_t *ret)
{
	return STORE_OPS(s)->task_count(s, f, ret);
}

int store_task_count_by_status(Store *s, uint64_t counts[_TASK_STATUS_MAX])
{
	return STORE_OPS(s)->task_count_by_status(s, counts);
}

int store_task_count_by_type(Store *s, store_type_count_cb cb, void *userdata)
{
	return STORE_OPS(s)->task_count_by_type(s, cb, userdata);
}

int store_task_first_start(Store *s, const char *task_id, uint64_t *ret)
{
	return STORE_OPS(s)->task_first_start(s, task_id, ret);
}

int store_daughter_insert(Store *s, const Daughter *d)
{
	return STORE_OPS(s)->daughter_insert(s, d);
}

int store_daughter_update(Store *s, const Daughter *d)
{
	return STORE_OPS(s)->daughter_update(s, d);
}

int store_daughter_heartbeat(Store *s, const char *daughter_id, uint64_t at)
{
	return STORE_OPS(s)->daughter_heartbeat(s, daughter_id, at);
}

int store_daughter_list(Store *s, const char *task_id, const char *status, uid_t owner, unsigned limit,
			store_daughter_cb cb, void *userdata)
{
	return STORE_OPS(s)->daughter_list(s, task_id, status, owner, limit, cb, userdata);
}

int store_attempt_insert(Store *s, const Attempt *a)
{
	return STORE_OPS(s)->attempt_insert(s, a);
}

int store_attempt_update(Store *s, const Attempt *a)
{
	return STORE_OPS(s)->attempt_update(s, a);
}

int store_attempt_list(Store *s, const char *daughter_id, store_attempt_cb cb, void *userdata)
{
	return STORE_OPS(s)->attempt_list(s, daughter_id, cb, userdata);
}

int store_attempt_list_task(Store *s, const char *task_id, store_attempt_cb cb, void *userdata)
{
	return STORE_OPS(s)->attempt_list_task(s, task_id, cb, userdata);
}

int store_attempt_list_running(Store *s, store_attempt_cb cb, void *userdata)
{
	return STORE_OPS(s)->attempt_list_running(s, cb, userdata);
}

int store_pause_set(Store *s, const char *scope, uint64_t at, uid_t uid)
{
	return STORE_OPS(s)->pause_set(s, scope, at, uid);
}

int store_pause_clear(Store *s, const char *scope)
{
	return STORE_OPS(s)->pause_clear(s, scope);
}

int store_pause_list(Store *s, store_pause_cb cb, void *userdata)
{
	return STORE_OPS(s)->pause_list(s, cb, userdata);
}

int store_dep_insert(Store *s, const char *task_id, const char *after_id, bool after_any)
{
	return STORE_OPS(s)->dep_insert(s, task_id, after_id, after_any);
}

int store_dep_list(Store *s, const char *task_id, TaskDep **ret, size_t *ret_n)
{
	return STORE_OPS(s)->dep_list(s, task_id, ret, ret_n);
}

int store_dep_dependents(Store *s, const char *after_id, char (**ret)[ID_STRING_MAX], size_t *ret_n)
{
	return STORE_OPS(s)->dep_dependents(s, after_id, ret, ret_n);
}

int store_prune_candidates(Store *s, TaskStatus status, uint64_t before, int64_t keep, unsigned limit,
			   char (**ret)[ID_STRING_MAX], size_t *ret_n)
{
	return STORE_OPS(s)->prune_candidates(s, status, before, keep, limit, ret, ret_n);
}

int store_task_delete(Store *s, const char *task_id)
{
	return STORE_OPS(s)->task_delete(s, task_id);
}

int store_intent_prune(Store *s, uint64_t before, int64_t keep, unsigned limit, unsigned *ret_n)
{
	return STORE_OPS(s)->intent_prune(s, before, keep, limit, ret_n);
}

/* The protocol's names; the store keeps them as text too. */
static const char *const task_status_table[_TASK_STATUS_MAX] = {
	[TASK_PENDING] = "pending",
	[TASK_PLANNING] = "planning",
	[TASK_RUNNING] = "running",
	[TASK_RETRYING] = "retrying",
	[TASK_COMPLETED] = "completed",
	[TASK_FAILED] = "failed",
	[TASK_EXPIRED] = "expired",
	[TASK_CANCELLED] = "cancelled",
};

const char *task_status_to_string(TaskStatus s)
{
	if (s < 0 || s >= _TASK_STATUS_MAX)
		return NULL;
	return task_status_table[s];
}

TaskStatus task_status_from_string(const char *s)
{
	if (!s)
		return _TASK_STATUS_INVALID;
	for (TaskStatus i = 0; i < _TASK_STATUS_MAX; i++)
		if (strcmp(task_status_table[i], s) == 0)
			return i;
	return _TASK_STATUS_INVALID;
}

bool task_status_is_terminal(TaskStatus s)
{
	return s == TASK_COMPLETED || s == TASK_FAILED || s == TASK_EXPIRED || s == TASK_CANCELLED;
}

/* The *_done() functions free what a record owns and leave it safe to free
 * again or to refill. */
#define FREE_AND_NULL(p)                                                                                   \
	do {                                                                                               \
		free(p);                                                                                   \
		(p) = NULL;                                                                                \
	} while (0)

void intent_record_done(IntentRecord *r)
{
	if (!r)
		return;
	FREE_AND_NULL(r->source);
	FREE_AND_NULL(r->intent_type);
	FREE_AND_NULL(r->text);
	FREE_AND_NULL(r->payload_json);
	FREE_AND_NULL(r->status);
	FREE_AND_NULL(r->mode);
	FREE_AND_NULL(r->provider);
	FREE_AND_NULL(r->error);
	FREE_AND_NULL(r->task_id);
	FREE_AND_NULL(r->idempotency_key);
	FREE_AND_NULL(r->envelope_json);
	FREE_AND_NULL(r->params_digest);
	FREE_AND_NULL(r->result_status);
	FREE_AND_NULL(r->notes);
	FREE_AND_NULL(r->command_json);
}

void task_done(Task *t)
{
	if (!t)
		return;
	FREE_AND_NULL(t->source);
	FREE_AND_NULL(t->task_type);
	FREE_AND_NULL(t->description);
	FREE_AND_NULL(t->payload_json);
	FREE_AND_NULL(t->result_json);
	FREE_AND_NULL(t->traceparent);
	FREE_AND_NULL(t->provider);
	FREE_AND_NULL(t->model);
	FREE_AND_NULL(t->plan_json);
	FREE_AND_NULL(t->command_json);
}

void daughter_done(Daughter *d)
{
	if (!d)
		return;
	FREE_AND_NULL(d->name);
	FREE_AND_NULL(d->purpose);
	FREE_AND_NULL(d->status);
	FREE_AND_NULL(d->error_last);
	FREE_AND_NULL(d->tools_json);
}

void attempt_done(Attempt *a)
{
	if (!a)
		return;
	FREE_AND_NULL(a->status);
	FREE_AND_NULL(a->reason);
	FREE_AND_NULL(a->switch_model_used);
	FREE_AND_NULL(a->cli_provider_used);
	FREE_AND_NULL(a->error_message);
	FREE_AND_NULL(a->cgroup);
	FREE_AND_NULL(a->reported_status);
	FREE_AND_NULL(a->status_text);
	FREE_AND_NULL(a->unapplied);
	FREE_AND_NULL(a->confinement);
	FREE_AND_NULL(a->result_json);
	FREE_AND_NULL(a->node);
}
