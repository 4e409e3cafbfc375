/* SPDX-License-Identifier: MIT */
/*
 * What a store backend provides: one function per public store_*() call of
 * store.h, with the same arguments and the same meaning. store.c dispatches
 * through the table; a backend's own struct Store begins with a StoreHead so
 * that the dispatch finds the table without knowing the rest.
 *
 * The SQLite backend (store-sqlite*.c) fills every entry. A backend may leave
 * checkpoint and wal_pages NULL (they are SQLite's WAL): store.c then answers
 * 0; reconnect and unavailable NULL (a file is always there). The fleet's
 * entries (claim ... wake_drain) go together: all NULL for a database one
 * daemon has alone (SQLite), all set for a shared one. Every other entry is
 * required.
 */
#pragma once

#include "store.h"

typedef struct StoreOps {
	const char *name; /* "sqlite", "postgresql": for daemon.status and messages */
	Store *(*free)(Store *s);
	const char *(*last_error)(const Store *s);
	int (*commit)(Store *s);
	bool (*has_pending)(const Store *s);
	int (*commit_async)(Store *s, uint64_t *ret_ticket);
	int (*sync_fd)(Store *s);
	int (*synced)(Store *s, uint64_t *ret_done, uint64_t *ret_failed);
	void (*want_durable)(Store *s);
	bool (*pending_is_durable)(const Store *s);
	void (*stats)(const Store *s, StoreStats *ret);
	int (*checkpoint)(Store *s);
	int (*wal_pages)(const Store *s);
	int (*reconnect)(Store *s);                /* NULL: never unavailable */
	const char *(*unavailable)(const Store *s); /* NULL: never unavailable */
	int (*intent_insert)(Store *s, const IntentRecord *r);
	int (*intent_get)(Store *s, const char *correlation_id, IntentRecord *ret);
	int (*intent_update)(Store *s, const IntentRecord *r);
	int (*intent_set_result)(Store *s, const char *correlation_id, const char *result_status);
	int (*intent_find_idempotent)(Store *s, uid_t uid, const char *key, IntentRecord *ret);
	int (*intent_list)(Store *s, const IntentFilter *f, store_intent_cb cb, void *userdata);
	int (*intent_count)(Store *s, uint64_t *ret);
	int (*id_prefix_find)(Store *s, const char *prefix, uid_t uid, IdMatch *ret, size_t max, size_t *ret_n);
	int (*task_insert)(Store *s, Task *t);
	int (*task_get)(Store *s, const char *id, Task *ret);
	int (*task_update)(Store *s, const Task *t);
	int (*task_list)(Store *s, const TaskFilter *f, store_task_cb cb, void *userdata);
	int (*task_count)(Store *s, const TaskFilter *f, uint64_t *ret);
	int (*task_count_by_status)(Store *s, uint64_t counts[_TASK_STATUS_MAX]);
	int (*task_count_by_type)(Store *s, store_type_count_cb cb, void *userdata);
	int (*task_first_start)(Store *s, const char *task_id, uint64_t *ret);
	int (*daughter_insert)(Store *s, const Daughter *d);
	int (*daughter_update)(Store *s, const Daughter *d);
	int (*daughter_heartbeat)(Store *s, const char *daughter_id, uint64_t at);
	int (*daughter_list)(Store *s, const char *task_id, const char *status, uid_t owner, unsigned limit, store_daughter_cb cb, void *userdata);
	int (*attempt_insert)(Store *s, const Attempt *a);
	int (*attempt_update)(Store *s, const Attempt *a);
	int (*attempt_list)(Store *s, const char *daughter_id, store_attempt_cb cb, void *userdata);
	int (*attempt_list_task)(Store *s, const char *task_id, store_attempt_cb cb, void *userdata);
	int (*attempt_list_running)(Store *s, store_attempt_cb cb, void *userdata);
	int (*pause_set)(Store *s, const char *scope, uint64_t at, uid_t uid);
	int (*pause_clear)(Store *s, const char *scope);
	int (*pause_list)(Store *s, store_pause_cb cb, void *userdata);
	int (*dep_insert)(Store *s, const char *task_id, const char *after_id, bool after_any);
	int (*dep_list)(Store *s, const char *task_id, TaskDep **ret, size_t *ret_n);
	int (*dep_dependents)(Store *s, const char *after_id, char (**ret)[ID_STRING_MAX], size_t *ret_n);
	int (*prune_candidates)(Store *s, TaskStatus status, uint64_t before, int64_t keep, unsigned limit, char (**ret)[ID_STRING_MAX], size_t *ret_n);
	int (*task_delete)(Store *s, const char *task_id);
	int (*intent_prune)(Store *s, uint64_t before, int64_t keep, unsigned limit, unsigned *ret_n);
	/* The fleet's (PostgreSQL); all NULL for a store one daemon has alone. */
	int (*claim)(Store *s, const char *const *types, unsigned slots, store_task_cb cb, void *userdata);
	int (*claim_task)(Store *s, const char *task_id);
	int (*task_release)(Store *s, const char *task_id);
	int (*release_own)(Store *s);
	int (*wake_fd)(Store *s);
	int (*wake_drain)(Store *s);
	int (*task_cancel)(Store *s, const char *task_id, uint64_t at, TaskStatus *ret_was, char *ret_node, size_t size); /* required */
	/* The fleet's again; NULL for a store one daemon has alone. */
	int (*tasks_ended)(Store *s, const char *const *ids, size_t n, store_ended_cb cb, void *userdata);
	int (*ctl_next)(Store *s, char *buf, size_t size);
	int (*ctl_send)(Store *s, const char *msg);
	int (*event_next)(Store *s, char **ret);
	int (*attempt_log_put)(Store *s, const char *task_id, int number, const char *stream, uint64_t size,
			       const void *tail, size_t len);
	int (*attempt_log_get)(Store *s, const char *task_id, int number, const char *stream, uint64_t *ret_size,
			       void **ret_tail, size_t *ret_len);
	int (*intent_key_lock)(Store *s, uid_t uid, const char *key);
	int (*node_register)(Store *s, unsigned lease_seconds, unsigned max_running, StoreLease *ret);
	int (*node_renew)(Store *s, unsigned lease_seconds, unsigned running, unsigned max_running, StoreLease *ret);
	int (*node_leave)(Store *s);
	int (*node_adopt)(Store *s, char ret_node[static STORE_NODE_MAX], char (**ret_ids)[ID_STRING_MAX], size_t *ret_n);
	int (*attempt_list_adopted)(Store *s, store_attempt_cb cb, void *userdata);
	int (*fleet_nodes)(Store *s, store_node_cb cb, void *userdata);
	int (*fleet_queue_depth)(Store *s, uint64_t *ret);
} StoreOps;

typedef struct StoreHead {
	const StoreOps *ops;
} StoreHead;

#define STORE_OPS(s) (((const StoreHead *)(s))->ops)

/* For a backend's open function: what store_last_error(NULL) says on this
 * thread until the next failed open, of whichever backend. */
_printf_(1, 2) void store_set_open_error(const char *fmt, ...);
