/* SPDX-License-Identifier: MIT */
/* Between runner.c (scheduling, settling tasks) and supervise.c (one live daughter). */
#pragma once

#include <signal.h>
#include <systemd/sd-event.h>

#include "sandbox/cgroup.h"
#include "sandbox/landlock.h"
#include "sandbox/shm.h"
#include "json-util.h"
#include "list.h"
#include "trace.h"
#include "log.h"
#include "policy/policy.h"
#include "runner.h"
#include "policy/seccomp-profile.h"
#include "sandbox/spawn.h"
#include "sandbox/uidlock.h"
#include "store/store.h"

/* Why the daemon stopped a daughter; the first reason wins. */
typedef enum KillReason {
	KILL_NONE,
	KILL_TTL,
	KILL_HEARTBEAT,
	KILL_CANCEL,
	KILL_SHUTDOWN,
	KILL_FENCED, /* its task's claim is no longer this node's (store.h: the fleet) */
} KillReason;

enum { OUT_STDOUT, OUT_STDERR, _OUT_MAX };

typedef struct Spawner Spawner;
#define OUTPUT_TAIL_MAX 4096

typedef struct Output {
	int pipe_fd;             /* read end; -1 once at EOF */
	int file_fd;             /* opened at the first byte; -1 before */
	sd_event_source *source;
	uint64_t kept, dropped;  /* bytes written to the file / beyond output_max */
	uint64_t max;
	char tail[OUTPUT_TAIL_MAX]; /* the last bytes seen (a ring), for the result */
	size_t tail_len, tail_pos;
} Output;

struct Hija {
	Runner *runner;

	/* What this attempt is for, copied from its task. */
	char task_id[ID_STRING_MAX];
	char intent_id[ID_STRING_MAX];
	char *source, *task_type;
	uid_t owner;

	Daughter d; /* its rows, kept current; strings owned */
	Attempt a;
	char token[33];

	uid_t uid;
	gid_t gid;
	int uid_lock_fd;   /* a dynamic uid's host-wide lock (uidlock.h); -1: none */
	Cgroup *cgroup;
	pid_t pid;
	int pidfd;

	/* Prepared on the loop, spawned on the spawner thread (spawner.c). */
	SpawnRequest req;
	char **argv;
	char **env;        /* NULL-terminated: the daemon's variables, then a caller's */
	char *cwd;         /* a caller's working directory, or NULL ("/") */
	int stdin_fd, out_w[_OUT_MAX];
	bool spawning;     /* with the spawner thread: only it touches req and the results */
	bool clean_shm;    /* a transient uid and the host's /dev/shm: clean it up after */
	int spawn_rc;
	char *spawn_error;
	SpawnStep spawn_step;  /* the step that failed, when spawn_rc < 0 */
	uint64_t spawned_at;   /* realtime usec when the spawn returned */
	uint64_t spawn_usec;   /* how long spawn_daughter took (clone to exec), for the metrics */
	char trace_id[TRACE_ID_HEX + 1]; /* TRACEPARENT's: the submitter's, or "" (the intent's) */
	Hija *spawn_next;
	int landlock_fd;   /* the ruleset, until the spawn is done; -1: none */
	LandlockDeferred landlock_deferred[LANDLOCK_DEFERRED_MAX]; /* rules its child adds */
	Output out[_OUT_MAX];

	sd_event_source *child_source, *cgroup_source;
	sd_event_source *ttl_timer, *hb_timer, *kill_timer, *poll_timer;
	uint64_t ttl_usec, hb_usec, grace_usec;
	uint64_t heartbeat_persisted; /* realtime usec of the last heartbeat written */

	bool rows_written; /* its daughter and attempt rows exist (hija_write_rows) */
	bool exited;    /* the main process was reaped: si holds how */
	bool empty;     /* its cgroup has no process left */
	bool finished;  /* settled; freed after the callback */
	siginfo_t si;
	KillReason kill_reason;

	/* How it ended, to write again if the commit of its end failed
	 * (runner_store_back()). */
	const char *end_reason;
	bool end_success, end_final;
	bool end_written; /* the last settle's writes went into the open transaction */
	uint64_t end_at;

	LIST_FIELDS(Hija, hijas);
	LIST_FIELDS(Hija, ended);
};

struct Runner {
	RunnerConfig env;
	CgroupManager *cgroups; /* NULL: spawning fails with cgroup_problem */
	char *cgroup_problem;
	char *spawn_problem;    /* not privileged: no daughter can run (runner_spawn_problem) */
	int netns_fd;           /* the shared loopback-only namespace, -1 until first needed */
	char *netns_problem;
	char *output_dir;
	char *notify_dir;
	char *notify_path;      /* NOTIFY_SOCKET of every daughter (notify.c) */
	int notify_fd;
	sd_event_source *notify_source;
	char *daughter_socket;  /* VX11_SOCKET for daughters */
	int landlock_abi;       /* the kernel's, found at start; 0: none */
	bool netns_is_own;      /* netns_fd is the daemon's own namespace (loopback-only already) */
	uid_t next_uid;         /* next-fit cursor in the dynamic range */
	UidLockDirs uid_locks;  /* host-wide locks of dynamic uids (uidlock.h) */

	Hija *hijas;
	size_t n_running;
	/* Ended, its daughter's resources released: kept until the commit of
	 * its end succeeds, to write that end again once the store is back. */
	Hija *ended;

	sd_event_source *dispatch_source;
	sd_event_source *retry_timer;

	/* source-claim.c: the fleet's (a shared database) */
	sd_event_source *wake_source; /* another node's commit made work */
	sd_event_source *poll_timer;  /* and in case a wake-up was missed */

	Spawner *spawner;
	MetricsHistogram spawn_latency; /* seconds from clone to exec, daughters that started */

	/* gate.c */
	Queue *held;           /* popped while their type was paused, until resume */
	bool paused_all;       /* the whole queue */
	char **paused_types;
	size_t n_paused_types;

	sd_event_source *prune_timer; /* prune.c */

	/* lease.c: this node's lease in the fleet (FLEET-DESIGN.md 4) */
	sd_event_source *lease_timer;
	sd_event_source *fence_timer; /* lease - margin after the last renewal's send */
	uint64_t lease_ok_at;        /* monotonic usec: send time of the last renewal that succeeded */
	uint64_t lease_since;        /* monotonic usec: renewing without a failure since; 0: failing */
	uint64_t lease_reconnects;   /* the store's reconnects at the last renewal */
	StoreLease lease;            /* what the last renewal said (database clock) */
	bool lease_fenced;           /* not renewed for lease - margin: daughters killed, no claims */
	char *lease_error;           /* why the last renewal failed; NULL if it did not */
	uint64_t nodes_adopted;      /* other nodes this one adopted since its start */
	pid_t guard_pid;             /* fence-guard.c */
	int guard_fd;                /* its pipe; -1: no guard */
};

/* lease.c */
int runner_lease_setup(Runner *r);
void runner_lease_free(Runner *r);
/* runner-life.c: settle the adopted node's running attempts as a restart
 * settles its own (interrupted, then retry or fail), and give back the claims. */
/* The ends whose writes a failed commit or an outage lost, written again
 * (runner_store_back(); on a fleet, after a renewal proved the lease). */
void runner_ends_rewrite(Runner *r);
void runner_recover_adopted(Runner *r, const char *node, char (*ids)[ID_STRING_MAX], size_t n);
/* fence-guard.c */
int fence_guard_start(Runner *r);
void fence_guard_deadline(Runner *r, uint64_t monotonic_usec);
void fence_guard_stop(Runner *r);

/* source-claim.c: where a fleet node's runnable tasks come from (the
 * database's claims, not the local queue, which is only a wake-up there). */
void runner_claim(Runner *r);
int runner_fleet_setup(Runner *r);
void runner_fleet_free(Runner *r);
/* k from a write about task_id's attempt: if -ESTALE (fenced), its daughter
 * is stopped and the task left to whoever holds the claim now. */
void runner_fenced(Runner *r, const char *task_id, int k);
/* source-control.c: cancels asked by other nodes, from their notifications
 * (after each wake-up) and from the poll (daughters' tasks cancelled). */
void runner_fleet_control(Runner *r);
void runner_fleet_poll_cancels(Runner *r);

/* trace.c: "00-<trace id>-<span id>-01" for TRACEPARENT (see there). */
#define TRACEPARENT_MAX 56
const char *hija_traceparent(const Hija *h, char buf[static TRACEPARENT_MAX]);

/* supervise.c */
/* Everything for the daughter of h (task t as policy task pt) but the spawn
 * itself: uid, job cgroup, stdin, pipes, notify socket, h->req. 0, or -errno
 * with *ret_error saying why (the attempt then ends spawn_failed). */
int hija_prepare(Hija *h, const Task *t, const PolicyTask *pt, const SeccompProgram *prog, char **ret_error);
/* attest.c: what the prepared h runs with, as JSON (malloc'd; NULL: OOM). */
char *hija_confinement_json(const Hija *h, const PolicyTask *pt);
/* attest.c: the daughter's execution context (the seed's tools_json): argv,
 * user, uid, seccomp profile, limits, rlimits, namespaces (malloc'd; NULL: OOM). */
char *hija_tools_json(const Hija *h, const PolicyTask *pt);
/* After the spawn (either way): drop our copies of the daughter's ends. */
void hija_spawn_done(Hija *h);
/* It runs: watch its pidfd, cgroup, pipes, notify socket; arm its deadlines. */
int hija_watch(Hija *h);

/* notify.c: the daughters' shared notify socket, demultiplexed by sender. */
int notify_open(Runner *r);
void notify_close(Runner *r);

/* spawner.c: spawn_daughter() on a thread of its own, so the loop keeps
 * serving while a child is set up (a vfork-style child holds its caller). */
int spawner_new(Runner *r, Spawner **ret);
/* Drains it first: every request submitted is spawned and handed back. */
Spawner *spawner_free(Spawner *s);
void spawner_submit(Spawner *s, Hija *h);
/* Wait until nothing is queued or in flight, and hand back what is done
 * (before a policy reload frees what requests point to). */
void spawner_drain(Spawner *s);
void spawner_stats(const Spawner *s, SpawnerStats *ret);
/* runner.c: the spawner is done with h (h->spawn_rc, h->pidfd or h->spawn_error). */
void runner_spawned(Hija *h);
/* Stop it: SIGTERM and a grace period for TTL and heartbeat, at once otherwise. */
void hija_kill(Hija *h, KillReason why);
/* Release every resource (sources, fds, cgroup, files); h itself too. */
void hija_free(Hija *h);
/* Give back what the daughter held (sources, fds, cgroup, uid); h stays for
 * its rows. hija_free() after it frees the rest. */
void hija_release(Hija *h);
/*
 * Write how the attempt ended (h->end_*) and move its task on (runner.c).
 * given: the task as read before; NULL: read it now, as runner_store_back()
 * does for an end whose commit failed, and then only a task still running
 * this attempt is moved (the failed commit may have happened after all).
 */
void runner_attempt_settle(Hija *h, Task *given);
/* The output tail of one stream, as a string (malloc'd, UTF-8 scrubbed). */
char *hija_output_tail(const Hija *h, int stream);
/* Read what is left in the pipes (the writers are gone once the cgroup is empty). */
void hija_drain(Hija *h);
/* A fleet: the tails of both kept streams into the open transaction, for
 * task.logs on the other nodes (FLEET-DESIGN.md 5.4). */
#define LOG_TAIL_BYTES (64 * 1024)
void hija_keep_tails(Hija *h);

/* gate.c: may task t (pending or retrying, just popped) start now? */
typedef enum GateVerdict {
	GATE_GO,
	GATE_HELD,   /* paused: kept in r->held until resume */
	GATE_WAIT,   /* a task it waits for has not ended: queued again when one does */
	GATE_FAILED, /* one ended otherwise than completed: t is failed (dependency_failed) */
} GateVerdict;
GateVerdict runner_gate(Runner *r, Task *t);
/* The pauses the store keeps (at start). */
int runner_load_pauses(Runner *r);
/* prune.c: the retention timer, and after a policy change. */
int runner_prune_setup(Runner *r);
void runner_prune_rearm(Runner *r);

/* runner.c: the audit entry of a task's change; daughter_id and node those of
 * the attempt it follows, if any. */
void runner_audit_task(const Task *t, const char *daughter_id, const char *node, const char *what,
		       const char *detail, const char *confinement);
/* runner.c: tell the layer above (RunnerHooks). */
void runner_task_changed(Runner *r, const Task *t, TaskStatus old);
void runner_daughter_status(Runner *r, const char *task_id, const Daughter *d, const Attempt *a);
/* runner.c: the daughter of h has ended (both reaped and its cgroup empty):
 * record it, settle its task, free h. */
void runner_attempt_ended(Hija *h);
/* The dispatch source and the retry timer (armed for the retry queue's head). */
int runner_setup_sources(Runner *r);
/* Start one attempt of task t (pending or retrying): its rows, then the
 * spawner. *ret (optional): the daughter, left NULL when the attempt could not
 * even be prepared (it is then recorded spawn_failed and the task settled). */
int runner_start_attempt(Runner *r, Task *t, const char *purpose, Hija **ret);
/* runner-spawn.c: the PolicyTask of a daughter.spawn task, from its payload
 * (argv points into *ret_payload, which the caller keeps while it is used). */
int spawn_task_init(Runner *r, PolicyTask *pt, const Task *t, char **argv_storage, size_t n_max,
		    json_object **ret_payload, const SeccompProgram **ret_prog, char **ret_error);
/* command.c: h's argv, env and cwd, from the policy's command or (a
 * "command": "caller" type) from the task's. 0, or a negative errno with
 * *ret_error set unless it is -ENOMEM. */
int hija_command_prepare(Hija *h, const Task *t, const PolicyTask *pt, char **ret_error);
/* command.c: what a "command": "caller" task runs, from its
 * command_json: argv, extra environment ("K=V", NULL-terminated, maybe
 * empty) and working directory (NULL: none asked). */
typedef struct CallerCommand {
	char **argv, **env;
	char *cwd;
} CallerCommand;
int caller_command_load(const char *json, CallerCommand *ret, char **ret_error);
void caller_command_done(CallerCommand *c);
/* A task whose attempt the daemon's death interrupted: retried or failed. */
void runner_settle_interrupted(Runner *r, Task *t, const char *daughter_id, const char *node);

/* outcome.c: how an ended attempt is judged. */
typedef struct Outcome {
	const char *reason;   /* attempt reason */
	const char *attempt;  /* attempt status */
	const char *daughter; /* daughter status */
	const char *msg_id;
	bool success;
} Outcome;
Outcome runner_outcome_of(const Hija *h, const CgroupStats *st);
/* NULL, or why the failed spawn of h would fail again at the next attempt. */
const char *runner_spawn_failure_is_final(const Hija *h);
/* The result object (JSON text, malloc()ed) a task keeps of its attempt h. */
char *runner_result_json(const Hija *h, const char *reason);
