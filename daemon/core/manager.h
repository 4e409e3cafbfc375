/* SPDX-License-Identifier: MIT */
/*
 * core/: the Manager holds the daemon's state below the API: the event loop,
 * the store, the policy, the run queues and the runner, the task counts. It
 * may call run/, policy/, store/, sandbox/ and common/, never api/: what the
 * API must hear (task changes, daughter events, when to release replies)
 * reaches it through the ManagerListener it registers.
 *
 * Durability rule: nothing leaves the daemon before the store has committed
 * the changes it reports. Handlers write to the store (which opens a
 * transaction) and append replies to connection buffers; a post event source
 * commits once per loop iteration (group commit) and only then tells the
 * listener to release the buffered bytes to the sockets.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

#include "list.h"
#include "log.h"
#include "plan/switch-client.h"
#include "planner.h"
#include "policy/policy.h"
#include "run/queue.h"
#include "instance.h"
#include "run/runner.h"
#include "sandbox/cgroup.h"
#include "store/store.h"
#include "stats.h"
#include "subtask.h"

/* What the layer above (api/) hears; every hook runs on the loop. */
typedef struct ManagerListener {
	/* A task's status changed (written, not yet committed; counts updated).
	 * old = _TASK_STATUS_INVALID for a new task. */
	void (*task_changed)(void *userdata, const Task *t, TaskStatus old);
	/* A daughter started or ended (a->reason is NULL while it runs). */
	void (*daughter_status)(void *userdata, const char *task_id, const Daughter *d, const Attempt *a);
	/* Once per loop iteration, after the commit: release what waited for it.
	 * withdrawn: the commit failed, and what this iteration queued must not
	 * be sent (it describes rows that do not exist). hold: 0, or the sync
	 * ticket of this iteration's durable commit: what this iteration queued
	 * waits for synced(hold). */
	void (*release)(void *userdata, bool withdrawn, uint64_t hold);
	/* Every ticket <= done is on the disk: release what waited for them.
	 * failed: a sync failed; everything still held must not be sent. */
	void (*synced)(void *userdata, uint64_t done, bool failed);
	/* Does a reply wait for this iteration's commit? Then the commit is not
	 * paced: only background writes (daughter bookkeeping) wait for company. */
	bool (*replies_waiting)(void *userdata);
	void *userdata;
	/* A fleet: another node's commit woke this one; may be NULL. */
	void (*fleet_woken)(void *userdata);
} ManagerListener;

typedef struct ManagerConfig {
	const char *socket_path;
	const char *state_dir;
	const char *database;    /* --database URL (store_open_url()); NULL: vx11.db in state_dir */
	const char *policy_path; /* NULL: the system file if it exists, else the bundled policy */
	bool policy_explicit;    /* --policy given: a missing file is an error */
	const char *runtime_dir; /* NULL: the socket's directory, or /run/vx11/<instance> when daughters
				  * cannot reach that one (root only). Notify sockets, daughter.sock */
	const char *cgroup_root; /* NULL: "vx11", or the delegated cgroup under systemd; then /<instance> */
	const char *instance;    /* NULL: instance_name_default() (instance.h) */
	const char *node;        /* NULL: the host name (node_name_default(), instance.h) */
	bool no_zygote;          /* --no-zygote: spawn every daughter directly, no zygote */
	unsigned lease_seconds;  /* --lease-seconds; 0: LEASE_SECONDS_DEFAULT (run/runner.h) */
} ManagerConfig;

typedef struct Manager {
	sd_event *event;
	sd_event_source *post_source;  /* commit, then release replies */
	sd_event_source *commit_timer; /* a paced commit (see on_post) */
	sd_event_source *store_watch;  /* after a failed commit: reconnect, write the kept ends again */
	bool store_down;               /* the store was found unavailable (said once in the log) */
	/* Why the last withdrawn output was withdrawn, for the errors that
	 * replace it: the store was unavailable (outage), and its words. */
	bool withdrawn_outage;
	char withdrawn_why[512];
	/* Durable commits sync on the store's thread (store_commit_async()):
	 * the last ticket synced, the last failure seen. */
	sd_event_source *sync_source; /* NULL: commits sync on the loop */
	uint64_t sync_done, sync_failed;
	uint64_t last_commit;          /* monotonic usec */
	sd_event_source *sig_sources[3];

	ManagerListener listener;
	Store *store;
	char *db_url;   /* what store_open_url() opens: a relative SQLite path made absolute */
	char *db_shown; /* for daemon.status and the log: the path, or the URL without its password */
	char *db_path;  /* SQLite's file, for the checkpoint thread's connection; NULL for another backend */
	Policy *policy;
	char *policy_path;  /* NULL: bundled */
	char *state_dir;
	char *socket_path;
	char *runtime_dir;
	char instance[INSTANCE_NAME_MAX + 1];
	char node[NODE_NAME_MAX + 1]; /* the node that runs our attempts (--node) */
	int state_lock_fd;   /* <state_dir>/vx11d.lock, held while we run */
	int runtime_lock_fd; /* <runtime_dir>/notify, flock'd while we run */
	int name_lock_fd;    /* /run/vx11/instance/<instance> (root only) */

	Queue *queue;                           /* runnable tasks, priority order */
	Queue *retry_queue;                     /* retrying tasks, by deadline (the entry's seq) */
	Runner *runner;                         /* daughters */
	Subtasks *subtasks;                     /* daughter.subtask's own switch client */
	uint64_t task_counts[_TASK_STATUS_MAX]; /* kept current, so status is O(1) */
	uint64_t intents_total;
	Stats stats; /* counters and histograms for daemon.metrics */

	uint64_t start_monotonic;
	CgroupInfo cgroup;

	/* WAL checkpoints run on their own thread and database connection, so a
	 * checkpoint never stalls a commit on the request path. */
	pthread_t ckpt_thread;
	bool ckpt_running;
	pthread_mutex_t ckpt_lock;
	pthread_cond_t ckpt_cond;
	bool ckpt_wanted, ckpt_stop;
	sd_event_source *ckpt_idle; /* asks for a checkpoint once commits stop */

	/* Planning (planner.c), in policy mode "switch". The switch client of
	 * daughter.subtask is a separate one beside it. */
	SwitchClient *plan_switch;
	ManagerPlan *plans;          /* outstanding, oldest last */
	sd_event_source *plan_defer; /* starts (or fails) plans after the commit */
	bool plans_stopping;
} Manager;

/* Opens the store, loads the policy, reconciles after a crash (runner). */
int manager_new(const ManagerConfig *cfg, Manager **ret);
/* NULL to forget it (before the listener goes away). */
void manager_set_listener(Manager *m, const ManagerListener *l);
/* The loop, until SIGTERM/SIGINT. socket_desc is for the start-up entry. */
int manager_run(Manager *m, const char *socket_desc);
/* Stop every daughter (recorded as interrupted; the listener hears it). */
void manager_stop(Manager *m);
Manager *manager_free(Manager *m);

/* Reload the policy file; on failure the old policy stays, *ret_error says why. */
int manager_reload_policy(Manager *m, char **ret_error);

/* A task's status changed (already written to the store): keep counts and
 * tell the listener. old = _TASK_STATUS_INVALID for a new task. */
void manager_task_changed(Manager *m, const Task *t, TaskStatus old);

/* stats.c: daemon.metrics' OpenMetrics text (malloc'd, ends with "# EOF\n"). */
int manager_metrics_text(Manager *m, char **ret, size_t *ret_len);
/* The status an intent stands at while its task is in state s: QUEUED,
 * RUNNING, DONE, ERROR, EXPIRED, CANCELLED. */
const char *manager_result_status(TaskStatus s);
