/* SPDX-License-Identifier: MIT */
/*
 * Job cgroups: theory of operation.
 *
 * Every daughter runs in a job cgroup of its own, so that "the attempt is
 * over" means "the cgroup is empty", and killing it reaches processes that
 * double-forked or called setsid(). Three kinds of host:
 *
 *  - unified (pure v2): one directory per job, <root>/job-<n>, a leaf under
 *    a root whose cgroup.subtree_control has +memory +pids +cpu (enabled on
 *    the way down from where we may write: the mount root, or our own
 *    delegated cgroup). Limits are memory.max, pids.max, cpu.max; written
 *    once at mkdir: memory.oom.group=1 (an OOM takes the whole job, not one
 *    random process of it) and memory.swap.max=0.
 *  - hybrid: membership, "populated" and cgroup.kill come from the cgroup2
 *    tree (no controllers there); limits and memory stats live in per-job v1
 *    directories, same relative path under each v1 controller mount. CPU
 *    time comes from the cgroup2 cpu.stat, which needs no controller.
 *  - legacy (v1 only, no CLONE_INTO_CGROUP): the child joins every v1 group
 *    itself; the freezer hierarchy (else memory) tells populated and kills.
 *
 * Processes and fds, in order:
 *  1. The daemon (parent) calls cgroup_acquire(). It owns, per job, the
 *     cgroup2 directory fd (for clone3's .cgroup), an fd on cgroup.events
 *     opened before any child exists, so no populated change can be missed,
 *     and on v1 an O_WRONLY|O_CLOEXEC fd on each v1 cgroup.procs to join.
 *  2. clone3(CLONE_INTO_CGROUP|CLONE_PIDFD, .cgroup = cgroup_dir_fd()): the
 *     child is born in the job's cgroup2 group, so even its first fork is
 *     tracked and nothing runs outside (no fork-then-move race).
 *  3. In the child, first thing, cgroup_child_join_v1(): write(fd, "0") per
 *     v1 fd moves it into the job's v1 groups. It must come before exec
 *     (the program's own forks then inherit the v1 groups too) and before
 *     dropping privileges (the procs files are root's). One syscall each, no
 *     allocation: fine in a vfork-style child. exec closes the fds (CLOEXEC).
 *  4. The daemon watches the events fd (POLLPRI) and the pidfd. The attempt
 *     ends when "populated 0"; cgroup_stats() then reads cpu, peak memory and
 *     OOM kills. cgroup_kill() is cgroup.kill (5.14), else freeze, SIGKILL
 *     each pid, thaw (a frozen group cannot fork, so one pass catches all).
 *  5. cgroup_release(): an empty cgroup goes on a LIFO free list (a warm
 *     cgroup makes a spawn ~35% cheaper than a fresh one, perf/FLOORS.md;
 *     LIFO keeps the few in use warm), capped, rmdir beyond. The next
 *     cgroup_acquire() rewrites every limit, set or not, and resets the
 *     counters: the v1 peak and the per-fd v2 peak (6.12) by a write; what
 *     the kernel cannot reset (cpu.stat, oom_kill counts) is read as a
 *     baseline. A v2 peak before 6.12 cannot be reset at all: a reused
 *     cgroup reports it only when it beats the last job's, else "unknown".
 *
 * On hybrid hosts every job joins the v1 memory group (stats); pids and cpu
 * only when it has that limit, to keep the child's writes few. Job cgroups
 * are named "job-<n>"; the daemon stores which daughter used which. After a
 * crash, everything under the root is a leftover:
 * cgroup_manager_reap_leftovers() kills and removes it all.
 *
 * Not thread-safe: one thread owns the manager. cgroup_dir_fd() and
 * cgroup_child_join_v1() only read, and may be used from a vfork child.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#include "cgroup.h"
#include "util.h"

const char *cgroup_mode_to_string(CgroupMode m)
{
	static const char *const names[] = {
		[CGROUP_MODE_NONE] = "none",
		[CGROUP_MODE_LEGACY] = "legacy",
		[CGROUP_MODE_HYBRID] = "hybrid",
		[CGROUP_MODE_UNIFIED] = "unified",
	};
	return names[m];
}

static bool is_fs(const char *path, long magic)
{
	struct statfs sfs;
	return statfs(path, &sfs) == 0 && sfs.f_type == magic;
}

static void read_first_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	buf[0] = 0;
	if (!f)
		return;
	if (fgets(buf, (int)size, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

static char *own_cgroup2_path(void)
{
	_cleanup_free_ char *line = NULL;
	size_t n = 0;
	FILE *f = fopen("/proc/self/cgroup", "re");
	char *r = NULL;

	if (!f)
		return NULL;
	while (getline(&line, &n, f) > 0)
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = 0;
			r = strdup(line + 3);
			break;
		}
	fclose(f);
	return r;
}

int cgroup_detect(CgroupInfo *ret)
{
	CgroupInfo i = { .mode = CGROUP_MODE_NONE };

	if (is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC)) {
		i.mode = CGROUP_MODE_UNIFIED;
		strcpy(i.unified_root, "/sys/fs/cgroup");
		read_first_line("/sys/fs/cgroup/cgroup.controllers", i.controllers, sizeof(i.controllers));
	} else if (is_fs("/sys/fs/cgroup", TMPFS_MAGIC)) {
		static const char *const v1[] = { "memory", "pids", "cpu", "cpuacct", "freezer" };
		size_t l = 0;

		if (is_fs("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC)) {
			i.mode = CGROUP_MODE_HYBRID;
			strcpy(i.unified_root, "/sys/fs/cgroup/unified");
		} else
			i.mode = CGROUP_MODE_LEGACY;
		for (size_t k = 0; k < ELEMENTSOF(v1); k++) {
			char p[64];
			snprintf(p, sizeof(p), "/sys/fs/cgroup/%s", v1[k]);
			if (is_fs(p, CGROUP_SUPER_MAGIC))
				l += (size_t)snprintf(i.controllers + l, sizeof(i.controllers) - l, "%s%s", l ? " " : "", v1[k]);
		}
	}
	if (i.mode == CGROUP_MODE_UNIFIED || i.mode == CGROUP_MODE_HYBRID)
		i.own_path = own_cgroup2_path();
	*ret = i;
	return 0;
}

void cgroup_info_done(CgroupInfo *i)
{
	free(i->own_path);
	i->own_path = NULL;
}


char *cgroup_features_to_string(unsigned features)
{
	static const char *const names[] = { "kill", "freeze", "peak", "peak_reset", "oom_group", "swap_max", "oom_count" };
	char buf[128] = "";
	size_t l = 0;

	for (size_t k = 0; k < ELEMENTSOF(names); k++)
		if (features & (1u << k))
			l += (size_t)snprintf(buf + l, sizeof(buf) - l, "%s%s", l ? " " : "", names[k]);
	return strdup(buf);
}

/* ---- manager and job cgroups ---------------------------------------------------------------- */

#define V1_BASE "/sys/fs/cgroup"
#define CPU_PERIOD_USEC 100000
#define KILL_WAIT_USEC (5 * USEC_PER_SEC)     /* manager_free, reap: how long a kill may take */
#define RELEASE_WAIT_USEC (500 * USEC_PER_MSEC) /* release of a populated cgroup */

enum { V1_MEMORY, V1_PIDS, V1_CPU, V1_CPUACCT, V1_FREEZER, _V1_MAX };
static const char *const v1_names[_V1_MAX] = { "memory", "pids", "cpu", "cpuacct", "freezer" };

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
	uint64_t base_cpu, base_oom, base_peak;
};

static bool has(const CgroupManager *m, unsigned feature)
{
	return (m->features & ~m->masked & feature) != 0;
}

static bool has_word(const char *list, const char *word)
{
	size_t l = strlen(word);
	for (const char *p = strstr(list, word); p; p = strstr(p + 1, word))
		if ((p == list || p[-1] == ' ') && (p[l] == 0 || p[l] == ' ' || p[l] == '\n'))
			return true;
	return false;
}

/* "vx11", "/sys/fs/cgroup/unified/a/b" -> "a/b"; no empty, "." or ".." components. */
static int root_to_rel(const CgroupInfo *info, const char *root, char **ret, char **ret_error)
{
	const char *p = root ? root : "vx11";
	_cleanup_free_ char *s = NULL;
	size_t l = strlen(info->unified_root);

	if (p[0] == '/') {
		if (l == 0 || strncmp(p, info->unified_root, l) != 0 || p[l] != '/')
			return cg_error(ret_error, -EINVAL, "'%s' is not inside the cgroup2 mount '%s'", p,
					info->unified_root);
		p += l;
	}
	p += strspn(p, "/");
	s = strdup(p);
	if (!s)
		return -ENOMEM;
	for (size_t k = strlen(s); k > 0 && s[k - 1] == '/'; k--)
		s[k - 1] = 0;
	for (const char *c = s;; c++) {
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return cg_error(ret_error, -EINVAL, "bad cgroup root '%s'", root ? root : "");
		c += n;
		if (*c == 0)
			break;
	}
	*ret = TAKE_PTR(s);
	return 0;
}

/* v2: enable +memory +pids +cpu in subtree_control from `from` (where we may write) down to the root. */
static void enable_controllers(CgroupManager *m, const char *from)
{
	static const char *const ctl[] = { "memory", "pids", "cpu" };
	size_t len = strlen(m->rel), i = strlen(from);

	for (;;) {
		char path[PATH_MAX], cur[256];
		snprintf(path, sizeof(path), "%.*s%scgroup.subtree_control", (int)i, m->rel, i ? "/" : "");
		if (cg_read(m->mount_fd, path, cur, sizeof(cur)) < 0)
			cur[0] = 0;
		for (size_t k = 0; k < ELEMENTSOF(ctl); k++)
			if (!has_word(cur, ctl[k])) {
				char v[16];
				snprintf(v, sizeof(v), "+%s", ctl[k]);
				/* EBUSY: processes here; ENOENT: not given to us. acquire reports it per limit. */
				(void)cg_write(m->mount_fd, path, v);
			}
		if (i == len)
			break;
		i = i == 0 ? strcspn(m->rel, "/") : i + 1 + strcspn(m->rel + i + 1, "/");
	}
}

/* v2 memory features, looked at in the root: with memory enabled for the jobs it has the files. */
static void probe_memory(CgroupManager *m)
{
	_cleanup_close_ int fd = -1;
	uint64_t v;

	if (faccessat(m->root_fd, "memory.oom.group", F_OK, 0) >= 0)
		m->features |= CGROUP_FEATURE_OOM_GROUP;
	if (faccessat(m->root_fd, "memory.swap.max", F_OK, 0) >= 0)
		m->features |= CGROUP_FEATURE_SWAP_MAX;
	if (cg_read_keyed(m->root_fd, "memory.events", "oom_kill", &v) >= 0)
		m->features |= CGROUP_FEATURE_OOM_COUNT;
	/* Since 6.12 a write resets the peak as seen through that same fd; before, open(O_RDWR) fails. */
	fd = openat(m->root_fd, "memory.peak", O_RDWR | O_CLOEXEC);
	if (fd >= 0 && pwrite(fd, "reset\n", 6, 0) == 6)
		m->features |= CGROUP_FEATURE_PEAK | CGROUP_FEATURE_PEAK_RESET;
	else if (faccessat(m->root_fd, "memory.peak", F_OK, 0) >= 0)
		m->features |= CGROUP_FEATURE_PEAK;
}

static int setup_unified(CgroupManager *m, const CgroupInfo *info, const char *from, char **ret_error)
{
	char buf[256];
	int r;

	m->mount_fd = open(info->unified_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->mount_fd < 0)
		return cg_error(ret_error, -errno, "cannot open %s: %m", info->unified_root);
	if (asprintf(&m->root_path, "%s/%s", info->unified_root, m->rel) < 0)
		return -ENOMEM;
	r = cg_mkdir_p(m->mount_fd, m->rel, &m->created);
	if (r < 0)
		return cg_error(ret_error, r, "cannot create %s: %s", m->root_path, strerror(-r));
	if (m->mode == CGROUP_MODE_UNIFIED)
		enable_controllers(m, from);
	m->root_fd = openat(m->mount_fd, m->rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->root_fd < 0)
		return cg_error(ret_error, -errno, "cannot open %s: %m", m->root_path);
	if (faccessat(m->root_fd, "cgroup.kill", F_OK, 0) >= 0)
		m->features |= CGROUP_FEATURE_KILL;
	if (faccessat(m->root_fd, "cgroup.freeze", F_OK, 0) >= 0)
		m->features |= CGROUP_FEATURE_FREEZE;
	if (m->mode == CGROUP_MODE_UNIFIED && cg_read(m->root_fd, "cgroup.subtree_control", buf, sizeof(buf)) >= 0)
		m->controllers = (has_word(buf, "memory") ? CGROUP_CONTROLLER_MEMORY : 0) |
				 (has_word(buf, "pids") ? CGROUP_CONTROLLER_PIDS : 0) |
				 (has_word(buf, "cpu") ? CGROUP_CONTROLLER_CPU : 0);
	if (m->controllers & CGROUP_CONTROLLER_MEMORY)
		probe_memory(m);
	return 0;
}

static int setup_v1(CgroupManager *m, char **ret_error)
{
	bool legacy = m->mode == CGROUP_MODE_LEGACY;
	/* Hybrid: cpu time comes from cgroup2's cpu.stat and kill from cgroup.kill: no cpuacct, freezer. */
	unsigned want = legacy ? (1u << _V1_MAX) - 1 : (1u << V1_MEMORY | 1u << V1_PIDS | 1u << V1_CPU);
	char buf[256];

	for (int k = 0; k < _V1_MAX; k++) {
		_cleanup_close_ int fd = -1;
		char p[64];
		struct stat st;
		V1Hierarchy *h = NULL;
		int r;

		if (!(want & 1u << k))
			continue;
		snprintf(p, sizeof(p), V1_BASE "/%s", v1_names[k]);
		if (!is_fs(p, CGROUP_SUPER_MAGIC))
			continue;
		fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0)
			continue;
		for (size_t j = 0; j < m->n_v1; j++)
			if (m->v1[j].dev == st.st_dev)
				h = &m->v1[j];
		if (h) {
			h->controllers |= 1u << k;
			m->v1_of[k] = (int)(h - m->v1);
			continue;
		}
		h = &m->v1[m->n_v1];
		m->v1_of[k] = (int)m->n_v1++;
		h->controllers = 1u << k;
		h->dev = st.st_dev;
		h->mount_fd = TAKE_FD(fd);
		if (asprintf(&h->path, "%s/%s", p, m->rel) < 0)
			return -ENOMEM;
		r = cg_mkdir_p(h->mount_fd, m->rel, &h->created);
		if (r < 0)
			return cg_error(ret_error, r, "cannot create %s: %s", h->path, strerror(-r));
		h->root_fd = openat(h->mount_fd, m->rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (h->root_fd < 0)
			return cg_error(ret_error, -errno, "cannot open %s: %m", h->path);
	}
	for (size_t j = 0; j < m->n_v1; j++)
		m->v1[j].always = legacy || (m->v1[j].controllers & 1u << V1_MEMORY);
	if (m->v1_of[V1_MEMORY] >= 0) {
		m->controllers |= CGROUP_CONTROLLER_MEMORY;
		m->features |= CGROUP_FEATURE_PEAK | CGROUP_FEATURE_PEAK_RESET;
		if (cg_read(m->v1[m->v1_of[V1_MEMORY]].root_fd, "memory.oom_control", buf, sizeof(buf)) >= 0 &&
		    strstr(buf, "oom_kill "))
			m->features |= CGROUP_FEATURE_OOM_COUNT;
	}
	if (m->v1_of[V1_PIDS] >= 0)
		m->controllers |= CGROUP_CONTROLLER_PIDS;
	if (m->v1_of[V1_CPU] >= 0)
		m->controllers |= CGROUP_CONTROLLER_CPU;
	if (legacy && m->v1_of[V1_FREEZER] >= 0)
		m->features |= CGROUP_FEATURE_FREEZE;
	return 0;
}

static int manager_make(const CgroupInfo *info, const char *rel, const char *from, CgroupManager **ret,
			char **ret_error)
{
	_cleanup_cgroup_manager_ CgroupManager *m = NULL;
	int r;

	if (info->mode == CGROUP_MODE_NONE)
		return cg_error(ret_error, -EOPNOTSUPP, "no cgroup hierarchy is mounted");
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->mode = info->mode;
	m->mount_fd = m->root_fd = -1;
	for (size_t k = 0; k < _V1_MAX; k++) {
		m->v1[k].mount_fd = m->v1[k].root_fd = -1;
		m->v1_of[k] = -1;
	}
	m->pool_max = CGROUP_POOL_MAX_DEFAULT;
	m->rel = strdup(rel);
	if (!m->rel)
		return -ENOMEM;
	if (m->mode != CGROUP_MODE_LEGACY) {
		r = setup_unified(m, info, from, ret_error);
		if (r < 0)
			return r;
	}
	if (m->mode != CGROUP_MODE_UNIFIED) {
		r = setup_v1(m, ret_error);
		if (r < 0)
			return r;
	}
	if (m->mode == CGROUP_MODE_LEGACY) {
		if (m->n_v1 == 0)
			return cg_error(ret_error, -EOPNOTSUPP, "no v1 controller mounted under " V1_BASE);
		/* The freezer (else memory) hierarchy tells "populated" and is where we kill. */
		m->track = m->v1_of[V1_FREEZER] >= 0 ? m->v1_of[V1_FREEZER] : MAX(m->v1_of[V1_MEMORY], 0);
		m->root_path = strdup(m->v1[m->track].path);
		if (!m->root_path)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(m);
	return 0;
}

int cgroup_manager_new(const CgroupInfo *info, const char *root_or_null, CgroupManager **ret, char **ret_error)
{
	_cleanup_free_ char *rel = NULL;
	int r;

	assert(info && ret);
	r = root_to_rel(info, root_or_null, &rel, ret_error);
	if (r < 0)
		return r;
	return manager_make(info, rel, "", ret, ret_error);
}

/* Move every process of cgroup `from` into `to` (both relative to the mount). */
static int migrate_all(int mount_fd, const char *from, const char *to)
{
	char src[PATH_MAX], dst[PATH_MAX];

	snprintf(src, sizeof(src), "%s/cgroup.procs", from);
	snprintf(dst, sizeof(dst), "%s/cgroup.procs", to);
	for (int round = 0; round < 16; round++) {
		_cleanup_close_ int fd = openat(mount_fd, src, O_RDONLY | O_CLOEXEC);
		FILE *f;
		int pid, n = 0, r = 0;

		if (fd < 0)
			return -errno;
		f = fdopen(TAKE_FD(fd), "re");
		if (!f)
			return -errno;
		while (r >= 0 && fscanf(f, "%d", &pid) == 1) {
			char v[16];
			snprintf(v, sizeof(v), "%d", pid);
			r = cg_write(mount_fd, dst, v);
			if (r == -ESRCH)
				r = 0;
			n++;
		}
		fclose(f);
		if (r < 0)
			return r;
		if (n == 0)
			return 0;
	}
	return -EBUSY; /* something keeps forking in there */
}

int cgroup_manager_new_delegated(const CgroupInfo *info, CgroupManager **ret, char **ret_error)
{
	_cleanup_free_ char *own = NULL, *daemon = NULL, *rel = NULL;
	_cleanup_close_ int mount_fd = -1;
	int r;

	assert(info && ret);
	if (info->mode != CGROUP_MODE_UNIFIED && info->mode != CGROUP_MODE_HYBRID)
		return cg_error(ret_error, -EOPNOTSUPP, "delegation needs a cgroup2 tree (mode %s)",
				cgroup_mode_to_string(info->mode));
	if (!info->own_path || info->own_path[0] != '/')
		return cg_error(ret_error, -EINVAL, "own cgroup unknown");
	own = strdup(info->own_path + strspn(info->own_path, "/"));
	if (!own)
		return -ENOMEM;
	if (own[0] == 0)
		return cg_error(ret_error, -EINVAL, "we run in the root cgroup: nothing is delegated to us");
	if (asprintf(&daemon, "%s/daemon", own) < 0 || asprintf(&rel, "%s/daughters", own) < 0)
		return -ENOMEM;
	mount_fd = open(info->unified_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mount_fd < 0)
		return cg_error(ret_error, -errno, "cannot open %s: %m", info->unified_root);
	if (mkdirat(mount_fd, daemon, 0755) < 0 && errno != EEXIST)
		return cg_error(ret_error, -errno, "cannot create %s/%s: %m", info->unified_root, daemon);
	r = migrate_all(mount_fd, own, daemon);
	if (r < 0)
		return cg_error(ret_error, r, "cannot move our processes into %s/%s: %s", info->unified_root, daemon,
				strerror(-r));
	return manager_make(info, rel, own, ret, ret_error);
}

/* ---- one job's cgroup ------------------------------------------------------------------------- */

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

static Cgroup *job_alloc(CgroupManager *m)
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
static void job_destroy(Cgroup *c)
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

static int job_open_unified(Cgroup *c)
{
	c->dir_fd = openat(c->manager->root_fd, c->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->dir_fd < 0)
		return -errno;
	c->events_fd = openat(c->dir_fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
	return c->events_fd < 0 ? -errno : 0;
}

static int job_new(CgroupManager *m, Cgroup **ret, char **ret_error)
{
	Cgroup *c = job_alloc(m);
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
		r = job_open_unified(c);
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
	job_destroy(c);
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

static int set_limits_unified(Cgroup *c, const CgroupLimits *l, char **ret_error)
{
	unsigned ctl = c->manager->controllers;
	char v[64];
	int r;

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
		if ((r = cg_v1_set_limits(m->v1[h].root_fd, c->name, ctl, l, ret_error)) < 0)
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
	if (m->n_free >= m->pool_max) {
		job_destroy(c);
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
		job_destroy(c); /* empty, but in an unknown state: not worth keeping */
		return r;
	}
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
		if (has(m, CGROUP_FEATURE_KILL))
			return cg_write(c->dir_fd, "cgroup.kill", "1");
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

/* ---- the manager's life ------------------------------------------------------------------------ */

static bool owned(const CgroupManager *m, const char *name)
{
	for (const Cgroup *c = m->all; c; c = c->next)
		if (streq(c->name, name))
			return true;
	return false;
}

static void strv_free(char **l)
{
	for (char **p = l; p && *p; p++)
		free(*p);
	free(l);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add the subdirectories of dfd that are not ours and not yet listed. */
static int list_leftovers(const CgroupManager *m, int dfd, char ***names, size_t *n)
{
	_cleanup_close_ int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d)
		return -errno;
	fd = -1;
	for (struct dirent *de; (de = readdir(d));) {
		bool dup = false;
		char **l;

		if (de->d_type != DT_DIR || de->d_name[0] == '.' || owned(m, de->d_name))
			continue;
		for (size_t k = 0; k < *n; k++)
			dup = dup || streq((*names)[k], de->d_name);
		if (dup)
			continue;
		l = realloc(*names, (*n + 2) * sizeof(char *));
		if (!l || !(l[*n] = strdup(de->d_name))) {
			if (l)
				*names = l;
			closedir(d);
			return -ENOMEM;
		}
		l[++*n] = NULL;
		*names = l;
	}
	closedir(d);
	return 0;
}

int cgroup_manager_reap_leftovers(CgroupManager *m, char ***ret_names)
{
	char **names = calloc(1, sizeof(char *));
	size_t n = 0;
	Cgroup **found;
	uint64_t deadline;
	int r = 0;

	if (!names)
		return -ENOMEM;
	if (m->root_fd >= 0)
		r = list_leftovers(m, m->root_fd, &names, &n);
	for (size_t h = 0; r >= 0 && h < m->n_v1; h++)
		r = list_leftovers(m, m->v1[h].root_fd, &names, &n);
	if (r < 0)
		goto out;
	found = calloc(n + 1, sizeof(Cgroup *));
	if (!found) {
		r = -ENOMEM;
		goto out;
	}
	/* Adopt each, kill them all, then wait and remove: one grace period for all. */
	for (size_t k = 0; k < n; k++) {
		Cgroup *c = job_alloc(m);
		if (!c)
			break;
		found[k] = c;
		snprintf(c->name, sizeof(c->name), "%.23s", names[k]);
		c->uses = 1;
		if (m->root_fd >= 0 && faccessat(m->root_fd, c->name, F_OK, 0) >= 0)
			(void)job_open_unified(c);
		for (size_t h = 0; h < m->n_v1; h++)
			c->v1_made[h] = faccessat(m->v1[h].root_fd, c->name, F_OK, 0) >= 0;
		(void)cgroup_kill(c);
	}
	deadline = now_monotonic_usec() + KILL_WAIT_USEC;
	for (size_t k = 0; k < n && found[k]; k++) {
		uint64_t now = now_monotonic_usec();
		(void)cgroup_wait_empty(found[k], deadline > now ? deadline - now : 0);
		job_destroy(found[k]);
	}
	free(found);
	if (n > 1)
		qsort(names, n, sizeof(char *), cmp_str);
	r = (int)n;
out:
	if (r >= 0 && ret_names)
		*ret_names = TAKE_PTR(names);
	strv_free(names);
	return r;
}

CgroupManager *cgroup_manager_free(CgroupManager *m)
{
	uint64_t deadline;

	if (!m)
		return NULL;
	for (Cgroup *c = m->all; c; c = c->next)
		if (cgroup_is_populated(c) != 0)
			(void)cgroup_kill(c);
	deadline = now_monotonic_usec() + KILL_WAIT_USEC;
	for (Cgroup *c = m->all; c; c = c->next) {
		uint64_t now = now_monotonic_usec();
		(void)cgroup_wait_empty(c, deadline > now ? deadline - now : 0);
	}
	m->free_list = NULL;
	while (m->all)
		job_destroy(m->all);
	/* Only what we made: a root that was there may carry an admin's settings (a cap for all jobs). */
	if (m->mount_fd >= 0 && m->rel)
		cg_rmdir_created(m->mount_fd, m->rel, m->created);
	closep(&m->root_fd);
	closep(&m->mount_fd);
	for (size_t h = 0; h < m->n_v1; h++) {
		if (m->v1[h].mount_fd >= 0 && m->rel)
			cg_rmdir_created(m->v1[h].mount_fd, m->rel, m->v1[h].created);
		closep(&m->v1[h].root_fd);
		closep(&m->v1[h].mount_fd);
		free(m->v1[h].path);
	}
	free(m->rel);
	free(m->root_path);
	free(m);
	return NULL;
}

CgroupMode cgroup_manager_mode(const CgroupManager *m)
{
	return m->mode;
}

const char *cgroup_manager_root(const CgroupManager *m)
{
	return m->root_path;
}

unsigned cgroup_manager_controllers(const CgroupManager *m)
{
	return m->controllers;
}

unsigned cgroup_manager_features(const CgroupManager *m)
{
	return m->features & ~m->masked;
}

void cgroup_manager_mask_features(CgroupManager *m, unsigned features)
{
	m->masked |= features;
}

void cgroup_manager_set_pool_max(CgroupManager *m, size_t n)
{
	m->pool_max = n;
	while (m->n_free > n) {
		Cgroup *c = m->free_list;
		m->free_list = c->free_next;
		m->n_free--;
		job_destroy(c);
	}
}

size_t cgroup_manager_pool_size(const CgroupManager *m)
{
	return m->n_free;
}
