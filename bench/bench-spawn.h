/* SPDX-License-Identifier: MIT */
/*
 * bench-spawn: the spawn floors and sandboxes (bench-spawn.c) and vx11d end
 * to end (bench-spawn-daemon.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct SeccompProgram SeccompProgram;
typedef struct Cgroup Cgroup;

/* The confinement of every measured daughter: the bundled policy's "noop" task. */
#define BENCH_UID          61184 /* a uid from systemd's dynamic range; worker k uses +k */
#define BENCH_MEMORY_MAX   "256M"
#define BENCH_MEMORY_BYTES (UINT64_C(256) << 20)
#define BENCH_PIDS_MAX     64
#define BENCH_NOFILE       256
#define BENCH_FSIZE        "64M"
#define BENCH_FSIZE_BYTES  (UINT64_C(64) << 20)

/* vx11d end to end: N QUEUED intents submitted at once, timed until all are completed. */
typedef struct DaemonBench {
	/* in */
	const char *vx11d;      /* the daemon binary */
	const char *true_path;  /* the policy's command */
	const char *state_base; /* where the temporary state directory goes (a real disk) */
	unsigned daughters;     /* measured intents */
	unsigned warm_up;       /* intents run (and completed) before the clock starts */
	unsigned max_running;   /* the policy's limits.max_running */
	double timeout;         /* seconds, for the warm-up and the measured burst each */
	double stall;           /* seconds without any event: give up early */
	bool keep;              /* leave the state directory (policy, database, log) */
	bool no_zygote;         /* run it with --no-zygote */

	/* out */
	char error[512];                     /* why the row has no valid figures; "" when it has */
	char dir[256];                       /* the state directory */
	uint64_t replied;                    /* submissions answered QUEUED */
	uint64_t completed;                  /* measured tasks seen completed */
	uint64_t failed;                     /* measured tasks that ended otherwise */
	double seconds;                      /* first submission to the last completion */
	double rate;                         /* completed per second */
	double submit_p50_us, submit_p99_us; /* submission written to its completed event received */
	double run_p50_us, run_p99_us;       /* "running" to "completed", by the daemon's timestamps */
	uint64_t n_run;                      /* tasks with both timestamps */

	/* database work, per daughter; < 0: unknown */
	double cpu_us;    /* the daemon's CPU time (all threads) */
	double write_kib; /* bytes the daemon dirtied for storage (WAL, checkpoints), minus its log */
	double rows[4];   /* rows in intents_log, tasks, daughters, attempts */
	/* from daemon.status.store, per daughter (its submission included); < 0: unknown */
	double rows_written, btree_writes, commits;
	uint64_t zygote_spawns, direct_spawns; /* of the measured burst */
	double spawn_us;                       /* its mean clone-to-exec on the spawner thread; < 0: unknown */
} DaemonBench;

extern const char *const daemon_bench_tables[4];

/* Run it; the figures or d->error are filled in. 0, or -errno when the row has no figures. */
int daemon_bench_run(DaemonBench *d);

/* Row 2 (bench-spawn-sandbox.c). Setup: 0, or -errno with a "skipped (...)" reason in why. */
int sandbox_setup(const char *seccomp_dir, char *why, size_t size);
void sandbox_done(void);
/* One daughter, as worker k (its own uid), to its end and its cgroup's release: 0 or -errno. */
int sandbox_run(char *const argv[], char *const envp[], unsigned k, char **ret_error);
/* Rows 2z and 2zi: the same through a zygote under the filter (bench-spawn-zygote.c); after
 * sandbox_setup(). 2zi (ipc_each): an IPC namespace each, under the default profile without its
 * rule against clone(CLONE_NEWIPC). */
int sandbox_zygote_setup(bool ipc_each, char *why, size_t size);
int sandbox_zygote_run(bool ipc_each, char *const argv[], char *const envp[], unsigned k, char **ret_error);
const char *sandbox_cgroup_mode(void);
/* What the host could not apply of the limits ("" when all were). */
const char *sandbox_unapplied(void);

/* bench-spawn-zygote.c: ZYGOTES zygotes under prog, worker k uses number k % ZYGOTES. Their
 * daughters share the zygote's IPC namespace, or (ipc_each) get one each at clone, which prog must
 * allow. */
int zygote_setup(bool ipc_each, const SeccompProgram *prog, int netns_fd, char *why, size_t size);
void zygote_done(void);
/* Spawns path; its end is the caller's to await through *ret_pidfd (it is our child). */
int zygote_spawn(bool ipc_each, const char *path, uid_t uid, uint64_t nofile, uint64_t fsize, const Cgroup *cg,
                 unsigned k, int *ret_pidfd, char **ret_error);
