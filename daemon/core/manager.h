/* SPDX-License-Identifier: MIT */
/*
 * The Manager holds all of the daemon's state; main() only builds it and runs
 * its loop.
 *
 * Durability rule: nothing leaves the daemon before the store has committed
 * the changes it reports. Handlers write to the store (which opens a
 * transaction) and append replies to connection buffers; a post event source
 * commits once per loop iteration (group commit) and only then releases the
 * buffered bytes to the sockets.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

#include "sandbox/cgroup.h"
#include "list.h"
#include "log.h"
#include "policy/policy.h"
#include "run/queue.h"
#include "store/store.h"

typedef struct Server Server;
typedef struct Conn Conn;
typedef struct Runner Runner;

typedef struct ManagerConfig {
	const char *socket_path;
	const char *state_dir;
	const char *policy_path; /* NULL: the system file if it exists, else the bundled policy */
	bool policy_explicit;    /* --policy given: a missing file is an error */
	const char *runtime_dir; /* NULL: the socket's directory. Notify sockets, daughter.sock */
	const char *cgroup_root; /* NULL: "vx11", or the delegated cgroup under systemd */
} ManagerConfig;

typedef struct Manager {
	sd_event *event;
	sd_event_source *post_source;  /* commit, then flush replies */
	sd_event_source *kick_source;  /* resume connections that paused */
	sd_event_source *commit_timer; /* a paced commit (see on_post) */
	uint64_t last_commit;          /* monotonic usec */
	sd_event_source *sig_sources[3];

	Server *server;
	Store *store;
	char *db_path;
	Policy *policy;
	char *policy_path;  /* NULL: bundled */
	char *state_dir;
	char *socket_path;
	char *runtime_dir;

	Queue *queue;                           /* runnable tasks, priority order */
	Queue *retry_queue;                     /* retrying tasks, by deadline (the entry's seq) */
	Runner *runner;                         /* daughters */
	uint64_t task_counts[_TASK_STATUS_MAX]; /* kept current, so status is O(1) */
	uint64_t intents_total;

	uint64_t start_monotonic;
	CgroupInfo cgroup;

	Conn *waiters;     /* connections parked in result.get (wait_seconds) */
	Conn *subscribers; /* connections that called events.subscribe */
	Conn *resumable;   /* paused connections to run again from kick_source */

	/* WAL checkpoints run on their own thread and database connection, so a
	 * checkpoint never stalls a commit on the request path. */
	pthread_t ckpt_thread;
	bool ckpt_running;
	pthread_mutex_t ckpt_lock;
	pthread_cond_t ckpt_cond;
	bool ckpt_wanted, ckpt_stop;
} Manager;

int manager_new(const ManagerConfig *cfg, Manager **ret);
Manager *manager_free(Manager *m);
int manager_run(Manager *m);

/* Reload the policy file; on failure the old policy stays, *ret_error says why. */
int manager_reload_policy(Manager *m, char **ret_error);

/* A task's status changed (already written to the store): keep counts,
 * notify subscribers and wake result.get waiters. old = _TASK_STATUS_INVALID
 * for a new task. */
void manager_task_changed(Manager *m, const Task *t, TaskStatus old);

/* Ask the loop to run the paused connections again. */
void manager_kick(Manager *m);
