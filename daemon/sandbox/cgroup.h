/* SPDX-License-Identifier: MIT */
/*
 * cgroups: hierarchy detection (for daemon.status) and the lifecycle of the
 * per-daughter job cgroups (for the spawner). Real hosts are mostly pure
 * cgroup v2; hybrid hosts (like CI's) have v1 controllers plus a cgroup2 tree
 * at /sys/fs/cgroup/unified used only for membership and cgroup.kill.
 * The theory of operation is at the top of cgroup.c.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum CgroupMode {
	CGROUP_MODE_NONE,
	CGROUP_MODE_LEGACY,  /* v1 only */
	CGROUP_MODE_HYBRID,  /* v1 controllers + a cgroup2 tree for membership */
	CGROUP_MODE_UNIFIED, /* pure v2 */
} CgroupMode;

typedef struct CgroupInfo {
	CgroupMode mode;
	char unified_root[64];  /* mount point of the cgroup2 tree, "" if none */
	char *own_path;         /* our cgroup2 path, from /proc/self/cgroup ("0::") */
	char controllers[256];  /* v2: cgroup.controllers of the root; v1: mounted controllers */
} CgroupInfo;

const char *cgroup_mode_to_string(CgroupMode m);
int cgroup_detect(CgroupInfo *ret);
void cgroup_info_done(CgroupInfo *i);

/* ---- Job cgroups ---------------------------------------------------------------------------- */

typedef struct CgroupManager CgroupManager; /* the root, the v1 mirrors, the free list */
typedef struct Cgroup Cgroup;               /* one job's cgroup(s) */

/* Controllers that can limit a job (cgroup_manager_controllers()). */
enum {
	CGROUP_CONTROLLER_MEMORY = 1u << 0,
	CGROUP_CONTROLLER_PIDS = 1u << 1,
	CGROUP_CONTROLLER_CPU = 1u << 2,
};

/* Kernel features found under the root (cgroup_manager_features()). */
enum {
	CGROUP_FEATURE_KILL = 1u << 0,       /* cgroup.kill (5.14) */
	CGROUP_FEATURE_FREEZE = 1u << 1,     /* cgroup.freeze (5.2), or the v1 freezer on legacy */
	CGROUP_FEATURE_PEAK = 1u << 2,       /* memory.peak (5.19) or v1 memory.max_usage_in_bytes */
	CGROUP_FEATURE_PEAK_RESET = 1u << 3, /* peak resettable: v1, or per-fd memory.peak (6.12) */
	CGROUP_FEATURE_OOM_GROUP = 1u << 4,  /* memory.oom.group (4.19) */
	CGROUP_FEATURE_SWAP_MAX = 1u << 5,   /* memory.swap.max (swap accounting on) */
	CGROUP_FEATURE_OOM_COUNT = 1u << 6,  /* memory.events oom_kill, v1 oom_control oom_kill (4.13) */
};

/* Pool size: emptied job cgroups kept for reuse, newest first. */
#define CGROUP_POOL_MAX_DEFAULT 16

/*
 * Take charge of job cgroups under root_or_null: an absolute path inside the
 * unified mount ("/sys/fs/cgroup/vx11") or a path relative to every
 * hierarchy's mount ("vx11", also how it is given on legacy hosts). NULL means
 * "vx11". The root is created; on v2 +memory +pids +cpu are enabled on the way
 * down to it (a controller that cannot be enabled is reported per job by
 * cgroup_acquire()); on hybrid and legacy hosts the same path is made under
 * each v1 controller used. Leftover job cgroups already there are left alone
 * until cgroup_manager_reap_leftovers(). *ret_error (optional) says what failed.
 */
int cgroup_manager_new(const CgroupInfo *info, const char *root_or_null, CgroupManager **ret, char **ret_error);
/*
 * Under systemd with Delegate=yes: our own cgroup (info->own_path) is ours, but
 * a cgroup with processes cannot enable controllers for its children, so move
 * every process of it (us included) into the leaf "<own>/daemon" and put jobs
 * in "<own>/daughters". Call it before starting any helper process.
 */
int cgroup_manager_new_delegated(const CgroupInfo *info, CgroupManager **ret, char **ret_error);
/* Kill what is left in every job cgroup this manager holds and remove them
 * all, and the root (and its parents) if this manager created them. Cgroup
 * pointers the caller still holds become invalid. */
CgroupManager *cgroup_manager_free(CgroupManager *m);
static inline void cgroup_manager_freep(CgroupManager **m)
{
	cgroup_manager_free(*m);
}
#define _cleanup_cgroup_manager_ __attribute__((cleanup(cgroup_manager_freep)))

CgroupMode cgroup_manager_mode(const CgroupManager *m);
/* Absolute path of the root on the unified tree; on legacy, in the freezer (else memory) hierarchy. */
const char *cgroup_manager_root(const CgroupManager *m);
unsigned cgroup_manager_controllers(const CgroupManager *m);
unsigned cgroup_manager_features(const CgroupManager *m);
/* "kill freeze peak ..." for daemon.status; malloc'd. */
char *cgroup_features_to_string(unsigned features);
void cgroup_manager_set_pool_max(CgroupManager *m, size_t n);
size_t cgroup_manager_pool_size(const CgroupManager *m);
/* For tests: pretend the kernel lacks some CGROUP_FEATURE_*, to run the fallbacks. */
void cgroup_manager_mask_features(CgroupManager *m, unsigned features);

/*
 * After a daemon crash: kill and remove every job cgroup under the root that
 * this manager does not own (call it right after cgroup_manager_new()).
 * *ret_names (optional) gets a sorted NULL-terminated list of their names
 * ("job-3"), populated or not, so the daemon can match them against the
 * attempts SQLite says were running. Returns how many were found.
 */
int cgroup_manager_reap_leftovers(CgroupManager *m, char ***ret_names);
/*
 * For the fleet's fence guard (run/fence-guard.c), in a process of its own:
 * the descriptors the manager needs (its roots; up to max), and a kill of
 * every process under the root in every hierarchy (cgroup.kill where the
 * kernel has it, then SIGKILL rounds until one finds nobody: v1, and a fork
 * racing the kill). Nothing is removed: the daemon's next start reaps the
 * directories. Returns how many processes were signalled.
 */
size_t cgroup_manager_fds(const CgroupManager *m, int *fds, size_t max);
int cgroup_manager_kill_all(const CgroupManager *m);

/* Limits; UINT64_MAX / -1 / 0 leave one unset (unlimited). */
typedef struct CgroupLimits {
	uint64_t memory_max;  /* bytes */
	int64_t pids_max;     /* processes and threads */
	uint32_t cpu_max_pct; /* percent of one CPU (200 = two CPUs) */
} CgroupLimits;
#define CGROUP_LIMITS_NONE ((CgroupLimits){ .memory_max = UINT64_MAX, .pids_max = -1, .cpu_max_pct = 0 })

/*
 * Get an empty job cgroup, warm from the free list (newest first) or new, with
 * limits l (NULL: none) applied and its counters reset. A limit the host cannot
 * apply is described in *ret_unapplied, e.g. "cpu_max (no cpu controller)"
 * (NULL when all were applied); passing ret_unapplied NULL instead makes that
 * an error (-EOPNOTSUPP): fail closed.
 */
int cgroup_acquire(CgroupManager *m, const CgroupLimits *l, Cgroup **ret, char **ret_unapplied, char **ret_error);
/*
 * Give it back, normally once it is empty. If processes are left they are
 * killed first and we wait for them, at most 0.5 s (a cgroup still not empty
 * is kept aside and recycled once it is). Reuse is LIFO up to the pool size;
 * beyond it the cgroup is removed. Stop watching its events fd first.
 */
void cgroup_release(CgroupManager *m, Cgroup *c);

/* "job-<n>": unique under the root, stable while the cgroup exists. */
const char *cgroup_name(const Cgroup *c);
/* Absolute path (unified tree; on legacy, the freezer (else memory) hierarchy). */
const char *cgroup_path(const Cgroup *c);
/* Directory fd for clone3()'s .cgroup with CLONE_INTO_CGROUP; -1 on legacy hosts (no unified tree). */
int cgroup_dir_fd(const Cgroup *c);
/*
 * In the child, before anything else (while still privileged, before closing
 * fds): join this job's v1 groups by writing "0" to each cgroup.procs fd opened
 * in the parent (O_CLOEXEC, so exec closes them). One write(2) each, no
 * allocation: async-signal-safe, fine in a vfork-style child. 0 or -errno.
 */
int cgroup_child_join_v1(const Cgroup *c);
/* The fds cgroup_child_join_v1() writes to (*ret, valid while c is held): for a child
 * created in another process (a zygote's), which gets copies. */
size_t cgroup_join_v1_fds(const Cgroup *c, const int **ret);
/* cgroup.events of the unified group, kept open (the same fd across reuse):
 * poll it for POLLPRI (sd-event: EPOLLPRI; inotify IN_MODIFY on the path also
 * works), then ask cgroup_is_populated(), which also re-arms it. -1 on legacy
 * hosts: there, watch the pidfd and poll cgroup_is_populated(). */
int cgroup_events_fd(const Cgroup *c);
/* 1 while any process is in the cgroup, 0 when empty, or -errno. */
int cgroup_is_populated(const Cgroup *c);
/* Block until empty, at most timeout_usec: 0, -ETIMEDOUT or -errno. */
int cgroup_wait_empty(const Cgroup *c, uint64_t timeout_usec);
/* SIGKILL every process in it, also double-forked or setsid() ones: cgroup.kill,
 * else freeze + kill each + thaw. Returns at once; they are gone when it is
 * empty (watch the events fd or cgroup_wait_empty()). */
int cgroup_kill(Cgroup *c);

/* Usage since cgroup_acquire(). */
typedef struct CgroupStats {
	uint64_t cpu_usec;          /* UINT64_MAX: unknown */
	uint64_t memory_peak_bytes; /* UINT64_MAX: unknown */
	bool oom_killed;            /* the kernel OOM-killed a process in it */
} CgroupStats;
int cgroup_stats(const Cgroup *c, CgroupStats *ret);
