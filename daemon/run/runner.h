/* SPDX-License-Identifier: MIT */
/*
 * The runner: takes runnable tasks from the queue in priority order and runs
 * each attempt as a confined daughter (spawn.c) in its own job cgroup
 * (cgroup.c), at most limits.max_running at once, then supervises it
 * (supervise.c) until its cgroup is empty, and settles the task: completed,
 * retrying after a backoff, failed, expired or cancelled (lifecycle.md).
 *
 * Everything is driven by events: a submission or a daughter's end enables a
 * dispatch source, a timer fires for the earliest retry deadline, and each
 * daughter has its pidfd, its cgroup.events, its output pipes, its notify
 * socket and its TTL/heartbeat timers in the loop. Nothing polls (except the
 * emptiness of a cgroup on legacy-only hosts, which have no cgroup.events).
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "policy/policy.h"
#include "metrics.h"
#include "queue.h"
#include "sandbox/cgroup.h"
#include "store/store.h"

typedef struct Runner Runner;
typedef struct Hija Hija;

/*
 * How the runner tells the layer above what it did: it never calls up. Both
 * hooks run on the loop, after the change is written to the store (in the
 * open transaction, so anything they send out waits for its commit).
 */
typedef struct RunnerHooks {
	/* A task's status changed; old is _TASK_STATUS_INVALID for a new task. */
	void (*task_changed)(void *userdata, const Task *t, TaskStatus old);
	/* A daughter started or ended (a->reason is NULL while it runs). */
	void (*daughter_status)(void *userdata, const char *task_id, const Daughter *d, const Attempt *a);
	/* A retry of t (retrying, its backoff over) is due: true when the layer
	 * above took it to plan it again (it queues the task itself once
	 * planned), false to queue it now. May be NULL. */
	bool (*replan)(void *userdata, Task *t);
	void *userdata;
	/* A finished task was removed (retention, task.prune); may be NULL. */
	void (*task_removed)(void *userdata, const char *task_id, TaskStatus status);
	/* A fleet: another node's commit woke this one (NOTIFY vx11_work,
	 * vx11_ev), maybe ending a task something here waits for, maybe with
	 * events queued (store_event_next()); may be NULL. */
	void (*fleet_woken)(void *userdata);
} RunnerHooks;

/* What the runner works with; owned by the caller, alive as long as the runner. */
/* The fleet's lease (FLEET-DESIGN.md 4.2): vx11d --lease-seconds. */
#define LEASE_SECONDS_DEFAULT 15
#define LEASE_SECONDS_MIN 2 /* tests; the design's floor for production is 5 */
#define LEASE_SECONDS_MAX 300

typedef struct RunnerConfig {
	sd_event *event;
	Store *store;
	Policy *policy;           /* the current policy: runner_set_policy() on reload */
	Queue *queue;             /* runnable tasks, priority order */
	Queue *retry_queue;       /* retrying tasks, by deadline */
	const CgroupInfo *cgroup; /* what cgroup_detect() found */
	const char *state_dir;    /* output files go under <state_dir>/output */
	const char *runtime_dir;  /* notify sockets, daughter.sock */
	const char *cgroup_root;  /* see runner_new() */
	const char *instance;     /* this vx11d's name: its job cgroups are under <root>/<instance> */
	const char *node;         /* the node (--node) each new attempt records, and the journal says */
	bool no_zygote;           /* --no-zygote: every daughter spawned directly (spawner.c) */
	unsigned lease_seconds;   /* the fleet's lease (--lease-seconds); unused on SQLite */
	RunnerHooks hooks;
} RunnerConfig;

/*
 * Set up the spawner side: the job cgroup root (cfg->cgroup_root, then
 * cfg->instance below it: see cgroup_manager_new(); NULL: "vx11/<instance>",
 * or the delegated subtree under systemd, which is the unit's own already),
 * the shared loopback network namespace, the notify and output directories.
 * Then reconcile after a crash: attempts the store says were running are
 * recorded as interrupted and their tasks retried or failed, and every job
 * cgroup left under this instance's root is killed and removed (another
 * instance's, beside it, are not this one's to touch). A host without usable
 * cgroups still starts (every spawn then fails, saying why).
 */
int runner_new(const RunnerConfig *cfg, Runner **ret);
/* Stop: kill every daughter, wait for its cgroup to empty (bounded), record
 * its attempt as interrupted and settle its task as after a crash. */
Runner *runner_free(Runner *r);

/* A new policy (reload): the spawner is drained first (its requests point
 * into the old one, which the caller frees after this), then dispatch, as
 * max_running may have grown. */
void runner_set_policy(Runner *r, Policy *p);
/* Something may be runnable now (a submission, a policy reload): dispatch soon. */
void runner_schedule(Runner *r);
/* The queues were rebuilt from the store: arm the retry timer, dispatch. */
void runner_rearm(Runner *r);
/* After each commit attempt: committed, the ends of daughters written
 * before it are in the store and their records go; else they are kept. */
void runner_ends_committed(Runner *r, bool committed);
/* The store is back after an outage: write the kept ends again (a task
 * still running is moved on as its daughter ended). */
void runner_store_back(Runner *r);
/* A task entered retrying with next_attempt_at: queue it for then. */
int runner_retry_later(Runner *r, const struct Task *t);
/* Stop the daughter of a running task (task.cancel): its cgroup is killed and
 * its attempt ends "cancelled". Returns how many daughters were stopped. */
int runner_cancel(Runner *r, const char *task_id);

/*
 * Pauses (gate.c): while the whole queue or a task type is paused, no attempt
 * of it starts (a first one or a retry); daughters already running go on.
 * Kept in the store, so a restart keeps them. task_type NULL: the whole
 * queue; resume(NULL) ends every pause.
 */
int runner_pause(Runner *r, const char *task_type, uid_t uid);
int runner_resume(Runner *r, const char *task_type);
bool runner_is_paused(const Runner *r, const char *task_type);
bool runner_paused_all(const Runner *r);
/* daemon.status: lease_seconds, and on a fleet this node's incarnation,
 * lease_until (usec, database clock), lease_fenced, lease_error, nodes_adopted. */
void runner_lease_json(const Runner *r, json_object *o);
char *const *runner_paused_types(const Runner *r, size_t *ret_n);
/* A task ended (any terminal status): the tasks that wait for it are looked
 * at again (gate.c): started, left waiting, or failed (dependency_failed). */
void runner_task_ended(Runner *r, const Task *t);

/*
 * Retention (prune.c): with a policy "retention", a timer removes finished
 * tasks (daughters, attempts, output files) and audit rows as it says, in
 * small batches off the request path. runner_prune_tasks is one batch for
 * task.prune: at most `limit` finished tasks of `status` that ended before
 * `before` (0: no bound) or are older than the newest `keep` (-1: no bound).
 */
typedef struct PruneCounts {
	unsigned tasks, files, audit;
	bool more; /* a full batch: there may be more */
} PruneCounts;
int runner_prune_tasks(Runner *r, TaskStatus status, uint64_t before, int64_t keep, unsigned limit, PruneCounts *c);

size_t runner_running(const Runner *r);
/* For daemon.metrics: seconds from clone to exec of each daughter that started. */
const MetricsHistogram *runner_spawn_latency(const Runner *r);
/* The job cgroups, for daemon.status; NULL where they could not be set up. */
const CgroupManager *runner_cgroups(const Runner *r);
/* For daemon.status: "" or why spawning cannot work on this host. */
const char *runner_problem(const Runner *r);
/* "" or why no daughter can ever run, whatever the task: the daemon lacks
 * root's privileges. Then intents that need the spawner are refused, and
 * tasks already queued wait (dispatch holds) for a daemon that can run them. */
const char *runner_spawn_problem(const Runner *r);

/* For daemon.status: how daughters are spawned (run/spawner.c). */
typedef struct SpawnerStats {
	bool zygote;            /* zygotes in use (not --no-zygote) */
	uint64_t zygotes;       /* running now */
	uint64_t zygote_starts; /* started since the daemon started (restarts included) */
	uint64_t zygote_spawns; /* daughters spawned through one */
	uint64_t direct_spawns; /* daughters spawned by spawn_daughter() */
} SpawnerStats;
void runner_spawner_stats(const Runner *r, SpawnerStats *ret);

/* daughter.heartbeat / daughter.report: the live daughter with this id whose
 * token matches, else NULL (a finished daughter cannot report). */
Hija *runner_find_daughter(Runner *r, const char *daughter_id, const char *token);
/* A heartbeat (also from WATCHDOG=1): re-arms the heartbeat deadline. */
void hija_heartbeat(Hija *h);
const char *hija_daughter_id(const Hija *h);
/* Its rows as they are kept current (a report writes into the attempt, then
 * store_attempt_update()s it). Valid while the daughter is live. */
Attempt *hija_attempt(Hija *h);
/* Write the attempt as it now is. Until the daughter has started its rows
 * do not exist yet: what was changed is written with them. */
int hija_attempt_save(Hija *h);
const Daughter *hija_daughter(const Hija *h);
int hija_attempt_number(const Hija *h);
uint64_t hija_last_heartbeat(const Hija *h);

/* The node this runner's attempts record (vx11d --node); NULL off a fleet's. */
const char *runner_node(const Runner *r);
/* Is this attempt (by id) still running? */
bool runner_attempt_is_live(const Runner *r, const char *attempt_id);
/* Where an attempt's output is kept: <state>/output/<attempt id>.<stream> */
char *runner_output_path(const Runner *r, const char *attempt_id, const char *stream);

/*
 * daughter.spawn: run argv now, outside the queue and max_running, as a task
 * of type "daughter.spawn" owned by uid, confined with the policy defaults
 * and the named seccomp profile. *ret gets the reply.
 */
typedef struct SpawnParams {
	const char *name, *purpose, *parent_task_id, *profile;
	char **argv;
	int64_t ttl_seconds; /* < 0: the policy default */
	uid_t uid;
} SpawnParams;
int runner_spawn_now(Runner *r, const SpawnParams *p, json_object **ret, char **ret_error);
