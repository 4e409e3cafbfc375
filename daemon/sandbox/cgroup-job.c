/* SPDX-License-Identifier: MIT */
/*
 * One job's cgroup: acquire (warm from the free list, else new), limits,
 * counter baselines and stats, populated/wait, kill, release. The theory of
 * operation is at the top of cgroup.c; the structures are in
 * cgroup-internal.h, the v1 backend in cgroup-v1.c.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup-internal.h"
#include "util.h"

#define RELEASE_WAIT_USEC (500 * USEC_PER_MSEC) /* release of a populated cgroup */

static bool has(const CgroupManager *m, unsigned feature)
{
	return (m->features & ~m->masked & feature) != 0;
}

static int v1_make(Cgroup *c, size_t h)
{
	const V1Hierarchy *v = &c->manager->v1[h];
	char p[64];

	if (!c->v1_made[h]) {
		if (mkdirat(v->root_fd, c->name, 0755) < 0 && errno != EEXIST)
			return -errno;
		c->v1_made[h] = true;
	}
	if (c->v1_procs_fd[h] >= 0)
		return 0;
	snprintf(p, sizeof(p), "%s/cgroup.procs", c->name);
	c->v1_procs_fd[h] = openat(v->root_fd, p, O_WRONLY | O_CLOEXEC);
	return c->v1_procs_fd[h] < 0 ? -errno : 0;
}

/* Legacy, or a v1-only leftover: the hierarchy that tells "populated". */
static int v1_track(const Cgroup *c)
{
	const CgroupManager *m = c->manager;
	int prefer[] = { m->v1_of[V1_FREEZER], m->v1_of[V1_MEMORY] };

	for (size_t k = 0; k < ELEMENTSOF(prefer); k++)
		if (prefer[k] >= 0 && c->v1_made[prefer[k]])
			return prefer[k];
	for (size_t h = 0; h < m->n_v1; h++)
		if (c->v1_made[h])
			return (int)h;
	return -1;
}

Cgroup *cg_job_alloc(CgroupManager *m)
{
	Cgroup *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->manager = m;
	c->dir_fd = c->events_fd = c->peak_fd = -1;
	for (size_t h = 0; h < _V1_MAX; h++)
		c->v1_procs_fd[h] = -1;
	c->next = m->all;
	if (m->all)
		m->all->prev = c;
	m->all = c;
	return c;
}

/* Close, rmdir everywhere, forget. The cgroup must not be on the free list. */
void cg_job_destroy(Cgroup *c)
{
	CgroupManager *m = c->manager;

	if (c->prev)
		c->prev->next = c->next;
	else
		m->all = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->state == CGROUP_DRAINING)
		m->n_draining--;
	closep(&c->dir_fd);
	closep(&c->events_fd);
	closep(&c->peak_fd);
	if (m->root_fd >= 0)
		(void)cg_remove_job_dir(m->root_fd, c->name);
	for (size_t h = 0; h < m->n_v1; h++) {
		closep(&c->v1_procs_fd[h]);
		if (c->v1_made[h])
			(void)cg_remove_job_dir(m->v1[h].root_fd, c->name);
	}
	free(c->path);
	free(c);
}

int cg_job_open_unified(Cgroup *c)
{
	c->dir_fd = openat(c->manager->root_fd, c->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->dir_fd < 0)
		return -errno;
	c->events_fd = openat(c->dir_fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
	return c->events_fd < 0 ? -errno : 0;
}

static int job_new(CgroupManager *m, Cgroup **ret, char **ret_error)
{
	Cgroup *c = cg_job_alloc(m);
	/* The name is taken on the unified tree (legacy: the tracking hierarchy); leftovers are skipped. */
	int anchor = m->root_fd >= 0 ? m->root_fd : m->v1[m->track].root_fd, r;

	if (!c)
		return -ENOMEM;
	for (;;) {
		snprintf(c->name, sizeof(c->name), "job-%u", m->next_index++);
		if (mkdirat(anchor, c->name, 0755) >= 0)
			break;
		if (errno != EEXIST) {
			r = cg_error(ret_error, -errno, "cannot create %s/%s: %m", m->root_path, c->name);
			goto fail;
		}
	}
	if (m->root_fd < 0)
		c->v1_made[m->track] = true;
	if (asprintf(&c->path, "%s/%s", m->root_path, c->name) < 0) {
		c->path = NULL;
		r = -ENOMEM;
		goto fail;
	}
	if (m->root_fd >= 0) {
		r = cg_job_open_unified(c);
		if (r < 0) {
			cg_error(ret_error, r, "cannot open %s: %s", c->path, strerror(-r));
			goto fail;
		}
	}
	if (m->mode == CGROUP_MODE_UNIFIED && (m->controllers & CGROUP_CONTROLLER_MEMORY)) {
		/* An OOM kill takes the whole job: half a job is worse than none. */
		if (has(m, CGROUP_FEATURE_OOM_GROUP) && (r = cg_write(c->dir_fd, "memory.oom.group", "1")) < 0) {
			cg_error(ret_error, r, "cannot set memory.oom.group in %s: %s", c->path, strerror(-r));
			goto fail;
		}
		if (has(m, CGROUP_FEATURE_SWAP_MAX) && (r = cg_write(c->dir_fd, "memory.swap.max", "0")) < 0) {
			cg_error(ret_error, r, "cannot set memory.swap.max in %s: %s", c->path, strerror(-r));
			goto fail;
		}
		if (has(m, CGROUP_FEATURE_PEAK))
			c->peak_fd = openat(c->dir_fd, "memory.peak",
					    (has(m, CGROUP_FEATURE_PEAK_RESET) ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	}
	for (size_t h = 0; h < m->n_v1; h++)
		if (m->v1[h].always && (r = v1_make(c, h)) < 0) {
			cg_error(ret_error, r, "cannot create %s/%s: %s", m->v1[h].path, c->name, strerror(-r));
			goto fail;
		}
	*ret = c;
	return 0;
fail:
	cg_job_destroy(c);
	return r;
}

static char *unapplied_list(const CgroupManager *m, const CgroupLimits *l)
{
	char buf[256] = "";
	size_t n = 0;

	if (l->memory_max != UINT64_MAX && !(m->controllers & CGROUP_CONTROLLER_MEMORY))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%smemory_max (no memory controller)", n ? ", " : "");
	if (l->pids_max >= 0 && !(m->controllers & CGROUP_CONTROLLER_PIDS))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%spids_max (no pids controller)", n ? ", " : "");
	if (l->cpu_max_pct > 0 && !(m->controllers & CGROUP_CONTROLLER_CPU))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%scpu_max (no cpu controller)", n ? ", " : "");
	return n ? strdup(buf) : NULL;
}

/* A recycled cgroup whose limits are those asked for again is left as it is:
 * its files say so already (no one but us writes them), and three writes
 * per daughter are saved. */
static bool limits_kept(const Cgroup *c, const CgroupLimits *l)
{
	return c->have_limits && c->limits.memory_max == l->memory_max && c->limits.pids_max == l->pids_max &&
	       c->limits.cpu_max_pct == l->cpu_max_pct;
}

static int set_limits_unified(Cgroup *c, const CgroupLimits *l, char **ret_error)
{
	unsigned ctl = c->manager->controllers;
	char v[64];
	int r;

	if (limits_kept(c, l))
		return 0;

	if (ctl & CGROUP_CONTROLLER_MEMORY) {
		if (l->memory_max == UINT64_MAX)
			strcpy(v, "max");
		else
			snprintf(v, sizeof(v), "%" PRIu64, l->memory_max);
		if ((r = cg_write(c->dir_fd, "memory.max", v)) < 0)
			return cg_error(ret_error, r, "cannot set memory.max=%s in %s: %s", v, c->path, strerror(-r));
	}
	if (ctl & CGROUP_CONTROLLER_PIDS) {
		if (l->pids_max < 0)
			strcpy(v, "max");
		else
			snprintf(v, sizeof(v), "%" PRIi64, l->pids_max);
		if ((r = cg_write(c->dir_fd, "pids.max", v)) < 0)
			return cg_error(ret_error, r, "cannot set pids.max=%s in %s: %s", v, c->path, strerror(-r));
	}
	if (ctl & CGROUP_CONTROLLER_CPU) {
		if (l->cpu_max_pct == 0)
			snprintf(v, sizeof(v), "max %u", CPU_PERIOD_USEC);
		else
			snprintf(v, sizeof(v), "%" PRIu64 " %u", (uint64_t)l->cpu_max_pct * CPU_PERIOD_USEC / 100,
				 CPU_PERIOD_USEC);
		if ((r = cg_write(c->dir_fd, "cpu.max", v)) < 0)
			return cg_error(ret_error, r, "cannot set cpu.max=%s in %s: %s", v, c->path, strerror(-r));
	}
	return 0;
}

/* v1: pick the hierarchies this job joins (always-joined ones, and those that limit something). */
static int set_limits_v1(Cgroup *c, const CgroupLimits *l, char **ret_error)
{
	CgroupManager *m = c->manager;
	int r;

	c->n_join = 0;
	for (size_t h = 0; h < m->n_v1; h++) {
		unsigned k = m->v1[h].controllers, ctl = 0;
		bool join;

		ctl |= k & 1u << V1_MEMORY ? CGROUP_CONTROLLER_MEMORY : 0;
		ctl |= k & 1u << V1_PIDS ? CGROUP_CONTROLLER_PIDS : 0;
		ctl |= k & 1u << V1_CPU ? CGROUP_CONTROLLER_CPU : 0;
		join = m->v1[h].always || ((ctl & CGROUP_CONTROLLER_MEMORY) && l->memory_max != UINT64_MAX) ||
		       ((ctl & CGROUP_CONTROLLER_PIDS) && l->pids_max >= 0) ||
		       ((ctl & CGROUP_CONTROLLER_CPU) && l->cpu_max_pct > 0);
		if (!join)
			continue;
		if ((r = v1_make(c, h)) < 0)
			return cg_error(ret_error, r, "cannot create %s/%s: %s", m->v1[h].path, c->name, strerror(-r));
		if (!limits_kept(c, l) && (r = cg_v1_set_limits(m->v1[h].root_fd, c->name, ctl, l, ret_error)) < 0)
			return r;
		c->join_fd[c->n_join++] = c->v1_procs_fd[h];
	}
	return 0;
}

static int peak_read(const Cgroup *c, uint64_t *ret)
{
	char buf[64];
	ssize_t k = pread(c->peak_fd, buf, sizeof(buf) - 1, 0);

	if (k < 0)
		return -errno;
	buf[k] = 0;
	*ret = strtoull(buf, NULL, 10);
	return 0;
}

/* Counters the kernel cannot reset are read as a baseline; a fresh cgroup's are all 0. */
static int reset_counters(Cgroup *c)
{
	CgroupManager *m = c->manager;
	bool used = c->uses > 0;
	int r, mem = m->v1_of[V1_MEMORY], acct = m->v1_of[V1_CPUACCT];

	c->base_cpu = c->base_oom = c->base_peak = 0;
	if (used && c->dir_fd >= 0 && (r = cg_read_keyed(c->dir_fd, "cpu.stat", "usage_usec", &c->base_cpu)) < 0)
		return r;
	if (c->peak_fd >= 0) {
		if (has(m, CGROUP_FEATURE_PEAK_RESET)) {
			if (pwrite(c->peak_fd, "reset\n", 6, 0) < 0)
				return -errno;
		} else if (used && (r = peak_read(c, &c->base_peak)) < 0)
			return r;
	}
	if (used && m->mode == CGROUP_MODE_UNIFIED && has(m, CGROUP_FEATURE_OOM_COUNT) &&
	    (r = cg_read_keyed(c->dir_fd, "memory.events", "oom_kill", &c->base_oom)) < 0)
		return r;
	if (mem >= 0 && c->v1_made[mem] &&
	    (r = cg_v1_memory_reset(m->v1[mem].root_fd, c->name, used && has(m, CGROUP_FEATURE_OOM_COUNT), &c->base_oom)) < 0)
		return r;
	if (used && c->dir_fd < 0 && acct >= 0 && c->v1_made[acct] &&
	    (r = cg_v1_cpuacct_usec(m->v1[acct].root_fd, c->name, &c->base_cpu)) < 0)
		return r;
	c->uses++;
	return 0;
}

static void recycle(CgroupManager *m, Cgroup *c)
{
	if (c->state == CGROUP_DRAINING)
		m->n_draining--;
	c->n_join = 0;
	/* After cgroup.kill, Linux (seen on 6.18) SIGKILLs every child later
	 * created in that cgroup with CLONE_INTO_CGROUP: its kill sequence
	 * never matches the parent's again. A killed cgroup is not reusable. */
	if (c->killed || m->n_free >= m->pool_max) {
		cg_job_destroy(c);
		return;
	}
	c->state = CGROUP_FREE;
	c->free_next = m->free_list;
	m->free_list = c;
	m->n_free++;
}

int cgroup_acquire(CgroupManager *m, const CgroupLimits *l, Cgroup **ret, char **ret_unapplied, char **ret_error)
{
	CgroupLimits lim = l ? *l : CGROUP_LIMITS_NONE;
	_cleanup_free_ char *unapplied = NULL;
	Cgroup *c = NULL;
	int r;

	assert(m && ret);
	if (lim.pids_max < -1)
		return cg_error(ret_error, -EINVAL, "pids_max %" PRIi64 " is negative", lim.pids_max);
	unapplied = unapplied_list(m, &lim);
	if (unapplied && !ret_unapplied)
		return cg_error(ret_error, -EOPNOTSUPP, "cannot apply %s", unapplied);

	/* Cgroups that were still emptying at release time may be reusable now. */
	for (Cgroup *d = m->all, *next; m->n_draining > 0 && d; d = next) {
		next = d->next;
		if (d->state == CGROUP_DRAINING && cgroup_is_populated(d) == 0)
			recycle(m, d);
	}

	if (m->free_list) {
		c = m->free_list;
		m->free_list = c->free_next;
		m->n_free--;
		c->free_next = NULL;
	} else if ((r = job_new(m, &c, ret_error)) < 0)
		return r;
	c->state = CGROUP_IN_USE;

	r = c->dir_fd >= 0 && m->mode == CGROUP_MODE_UNIFIED ? set_limits_unified(c, &lim, ret_error) : 0;
	if (r >= 0 && m->mode != CGROUP_MODE_UNIFIED)
		r = set_limits_v1(c, &lim, ret_error);
	if (r >= 0 && (r = reset_counters(c)) < 0)
		cg_error(ret_error, r, "cannot reset the counters of %s: %s", c->path, strerror(-r));
	if (r < 0) {
		cg_job_destroy(c); /* empty, but in an unknown state: not worth keeping */
		return r;
	}
	c->limits = lim;
	c->have_limits = true;
	*ret = c;
	if (ret_unapplied)
		*ret_unapplied = TAKE_PTR(unapplied);
	return 0;
}

void cgroup_release(CgroupManager *m, Cgroup *c)
{
	if (!c)
		return;
	assert(c->manager == m && c->state == CGROUP_IN_USE);
	if (cgroup_is_populated(c) != 0) {
		(void)cgroup_kill(c);
		if (cgroup_wait_empty(c, RELEASE_WAIT_USEC) < 0) {
			/* D state, say: keep it aside, acquire looks again, manager_free insists. */
			c->state = CGROUP_DRAINING;
			m->n_draining++;
			return;
		}
	}
	recycle(m, c);
}

const char *cgroup_name(const Cgroup *c)
{
	return c->name;
}

const char *cgroup_path(const Cgroup *c)
{
	return c->path;
}

int cgroup_dir_fd(const Cgroup *c)
{
	return c->dir_fd;
}

int cgroup_events_fd(const Cgroup *c)
{
	return c->events_fd;
}

size_t cgroup_join_v1_fds(const Cgroup *c, const int **ret)
{
	*ret = c->join_fd;
	return c->n_join;
}

int cgroup_child_join_v1(const Cgroup *c)
{
	for (size_t k = 0; k < c->n_join; k++)
		if (write(c->join_fd[k], "0", 1) < 0)
			return -errno;
	return 0;
}

static int events_read(const Cgroup *c, char *buf, size_t size)
{
	ssize_t k = pread(c->events_fd, buf, size - 1, 0);
	if (k < 0)
		return -errno;
	buf[k] = 0;
	return 0;
}

int cgroup_is_populated(const Cgroup *c)
{
	char buf[128];
	uint64_t v;
	int r, h;

	if (c->events_fd >= 0) {
		r = events_read(c, buf, sizeof(buf));
		if (r < 0)
			return r;
		r = cg_parse_keyed(buf, "populated", &v);
		return r < 0 ? r : v > 0;
	}
	h = v1_track(c);
	return h < 0 ? 0 : cg_v1_populated(c->manager->v1[h].root_fd, c->name);
}

/* Until populated goes 0 or key (e.g. "frozen") goes 1; kernfs flags every change with POLLPRI. */
static int wait_events(const Cgroup *c, const char *key, uint64_t timeout_usec)
{
	uint64_t deadline = now_monotonic_usec() + timeout_usec;

	for (;;) {
		uint64_t now, v;
		int r;

		if (c->events_fd >= 0) {
			char buf[128];
			if ((r = events_read(c, buf, sizeof(buf))) < 0)
				return r;
			if (cg_parse_keyed(buf, "populated", &v) >= 0 && v == 0)
				return 0;
			if (key && cg_parse_keyed(buf, key, &v) >= 0 && v == 1)
				return 0;
		} else if ((r = cgroup_is_populated(c)) <= 0)
			return r;
		now = now_monotonic_usec();
		if (now >= deadline)
			return -ETIMEDOUT;
		if (c->events_fd >= 0) {
			struct pollfd p = { .fd = c->events_fd, .events = POLLPRI };
			uint64_t ms = (deadline - now + 999) / 1000;
			if (poll(&p, 1, (int)MIN(ms, (uint64_t)INT32_MAX)) < 0 && errno != EINTR)
				return -errno;
		} else
			cg_sleep_usec(MIN(USEC_PER_MSEC, deadline - now));
	}
}

int cgroup_wait_empty(const Cgroup *c, uint64_t timeout_usec)
{
	return wait_events(c, NULL, timeout_usec);
}

int cgroup_kill(Cgroup *c)
{
	CgroupManager *m = c->manager;
	int h;

	if (c->dir_fd >= 0) {
		if (has(m, CGROUP_FEATURE_KILL)) {
			c->killed = true;
			return cg_write(c->dir_fd, "cgroup.kill", "1");
		}
		if (has(m, CGROUP_FEATURE_FREEZE) && cg_write(c->dir_fd, "cgroup.freeze", "1") >= 0) {
			/* Once frozen nothing in there can fork: one pass of SIGKILL gets everyone. */
			(void)wait_events(c, "frozen", USEC_PER_SEC);
			(void)cg_signal_tree(c->dir_fd);
			return cg_write(c->dir_fd, "cgroup.freeze", "0");
		}
		/* Neither (before 5.2): kill until nothing is left, racing forks. */
		for (int round = 0; round < 1000 && cg_signal_tree(c->dir_fd) > 0; round++)
			cg_sleep_usec(USEC_PER_MSEC);
		return 0;
	}
	if (m->v1_of[V1_FREEZER] >= 0 && c->v1_made[m->v1_of[V1_FREEZER]] && has(m, CGROUP_FEATURE_FREEZE))
		return cg_v1_freezer_kill(m->v1[m->v1_of[V1_FREEZER]].root_fd, c->name);
	h = v1_track(c);
	return h < 0 ? 0 : cg_v1_kill_loop(m->v1[h].root_fd, c->name);
}

int cgroup_stats(const Cgroup *c, CgroupStats *ret)
{
	const CgroupManager *m = c->manager;
	CgroupStats s = { .cpu_usec = UINT64_MAX, .memory_peak_bytes = UINT64_MAX };
	int r, mem = m->v1_of[V1_MEMORY], acct = m->v1_of[V1_CPUACCT];
	uint64_t v, oom;

	if (c->dir_fd >= 0) {
		if ((r = cg_read_keyed(c->dir_fd, "cpu.stat", "usage_usec", &v)) < 0)
			return r;
		s.cpu_usec = v > c->base_cpu ? v - c->base_cpu : 0;
	} else if (acct >= 0 && c->v1_made[acct]) {
		if ((r = cg_v1_cpuacct_usec(m->v1[acct].root_fd, c->name, &v)) < 0)
			return r;
		s.cpu_usec = v > c->base_cpu ? v - c->base_cpu : 0;
	}
	if (m->mode == CGROUP_MODE_UNIFIED) {
		/* Without a reset, a reused cgroup's peak is only ours if it beat the last job's. */
		if (c->peak_fd >= 0 && has(m, CGROUP_FEATURE_PEAK)) {
			if ((r = peak_read(c, &v)) < 0)
				return r;
			if (has(m, CGROUP_FEATURE_PEAK_RESET) || c->uses <= 1 || v > c->base_peak)
				s.memory_peak_bytes = v;
		}
		if (has(m, CGROUP_FEATURE_OOM_COUNT) && (m->controllers & CGROUP_CONTROLLER_MEMORY)) {
			if ((r = cg_read_keyed(c->dir_fd, "memory.events", "oom_kill", &v)) < 0)
				return r;
			s.oom_killed = v > c->base_oom;
		}
	} else if (mem >= 0 && c->v1_made[mem]) {
		if ((r = cg_v1_memory_stats(m->v1[mem].root_fd, c->name, &s.memory_peak_bytes, &oom)) < 0)
			return r;
		s.oom_killed = has(m, CGROUP_FEATURE_OOM_COUNT) && oom > c->base_oom;
	}
	*ret = s;
	return 0;
}
