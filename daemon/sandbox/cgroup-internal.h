/* SPDX-License-Identifier: MIT */
/*
 * Inside the cgroup module only (cgroup.c, cgroup-job.c, cgroup-v1.c): the
 * manager and job structures and the cg_* functions the files share. Nothing
 * outside daemon/cgroup*.c includes this; the public interface is cgroup.h.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"

#define CPU_PERIOD_USEC 100000

enum { V1_MEMORY, V1_PIDS, V1_CPU, V1_CPUACCT, V1_FREEZER, _V1_MAX };

typedef struct V1Hierarchy {
	int mount_fd, root_fd; /* the hierarchy's mount; <mount>/<rel>, where job directories go */
	unsigned controllers;  /* 1u << V1_*: more than one when co-mounted ("cpu,cpuacct") */
	bool always;           /* every job joins it (stats, kill); else only when it limits one */
	unsigned created;      /* components of rel we made */
	dev_t dev;             /* tells co-mounted controllers apart from separate ones */
	char *path;            /* absolute path of root_fd */
} V1Hierarchy;

typedef enum CgroupState { CGROUP_IN_USE, CGROUP_FREE, CGROUP_DRAINING } CgroupState;

struct CgroupManager {
	CgroupMode mode;
	char *rel;                    /* the root below each mount, e.g. "vx11" */
	char *root_path;              /* absolute, unified tree (legacy: first v1 hierarchy) */
	int mount_fd, root_fd;        /* unified mount and root; -1 on legacy */
	unsigned created;             /* components of rel made on the unified tree */
	unsigned controllers;         /* CGROUP_CONTROLLER_* a job can be limited by */
	unsigned features, masked;    /* CGROUP_FEATURE_*; masked: pretend absent (tests) */
	V1Hierarchy v1[_V1_MAX];
	size_t n_v1;
	int v1_of[_V1_MAX];           /* controller -> index in v1[], -1 if not used */
	int track;                    /* legacy: the hierarchy that names jobs and tells "populated" */
	Cgroup *all;                  /* every job cgroup we hold, in any state */
	Cgroup *free_list;            /* LIFO of empty ones, warmest first */
	size_t n_free, pool_max, n_draining;
	unsigned next_index;
};

struct Cgroup {
	CgroupManager *manager;
	Cgroup *prev, *next; /* manager->all */
	Cgroup *free_next;
	CgroupState state;
	char name[24];
	char *path;
	int dir_fd, events_fd, peak_fd; /* unified tree; -1 on legacy */
	bool v1_made[_V1_MAX];          /* per hierarchy index: our directory exists there */
	int v1_procs_fd[_V1_MAX];
	int join_fd[_V1_MAX];           /* what cgroup_child_join_v1() writes to this time */
	size_t n_join;
	unsigned uses;                  /* acquisitions so far; counters need baselines after the first */
	bool killed;                    /* cgroup.kill was written: never reuse (see recycle()) */
	bool have_limits;               /* limits holds what the files say (set by an earlier use) */
	CgroupLimits limits;
	uint64_t base_cpu, base_oom, base_peak;
};

/* ---- one job's cgroup (cgroup-job.c), for the manager's life in cgroup.c ------------------- */

/* A blank job cgroup on manager->all; no directory made, no fd open. NULL on ENOMEM. */
Cgroup *cg_job_alloc(CgroupManager *m);
/* Close, rmdir everywhere, forget. The cgroup must not be on the free list. */
void cg_job_destroy(Cgroup *c);
/* Open the existing <root>/<name> and its cgroup.events on the unified tree. */
int cg_job_open_unified(Cgroup *c);

/* ---- cgroup-v1.c: small file helpers (one read or write each) ----------------------------- */

int cg_write(int dfd, const char *path, const char *value);
int cg_read(int dfd, const char *path, char *buf, size_t size);
int cg_parse_keyed(const char *buf, const char *key, uint64_t *ret);
int cg_read_keyed(int dfd, const char *path, const char *key, uint64_t *ret);
int cg_read_u64(int dfd, const char *path, uint64_t *ret);
int cg_error(char **ret_error, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void cg_sleep_usec(uint64_t usec);
int cg_signal_tree(int dfd);
int cg_rmdir_tree(int dfd, const char *name);
int cg_remove_job_dir(int dfd, const char *name);
int cg_mkdir_p(int dfd, const char *rel, unsigned *created);
void cg_rmdir_created(int dfd, const char *rel, unsigned created);

/* v1 backend (cgroup-v1.c); dfd is a hierarchy's root dir, name the job's directory in it. */
int cg_v1_set_limits(int dfd, const char *name, unsigned controllers, const CgroupLimits *l, char **ret_error);
int cg_v1_memory_reset(int dfd, const char *name, bool baseline, uint64_t *ret_oom_base);
int cg_v1_memory_stats(int dfd, const char *name, uint64_t *ret_peak, uint64_t *ret_oom);
int cg_v1_cpuacct_usec(int dfd, const char *name, uint64_t *ret);
int cg_v1_populated(int dfd, const char *name);
int cg_v1_freezer_kill(int dfd, const char *name);
int cg_v1_kill_loop(int dfd, const char *name);
