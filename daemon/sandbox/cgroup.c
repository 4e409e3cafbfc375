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
 *
 * Files: this one detects the hierarchy and runs the manager (the root and
 * its controllers, delegation, the free list's size, leftover reaping);
 * cgroup-job.c is one job's cgroup (acquire, limits, counters and stats,
 * kill, release); cgroup-v1.c is the v1 backend and the small cgroupfs file
 * helpers. cgroup-internal.h holds the structures and the cg_* functions
 * they share; cgroup.h is the public interface only.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "cgroup-internal.h"
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

/* ---- the manager ---------------------------------------------------------------------------- */

#define V1_BASE "/sys/fs/cgroup"
#define KILL_WAIT_USEC (5 * USEC_PER_SEC) /* manager_free, reap: how long a kill may take */

static const char *const v1_names[_V1_MAX] = { "memory", "pids", "cpu", "cpuacct", "freezer" };

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
		r = cg_mkdir_p(fd, m->rel, &h->created);
		/* On a hybrid host the v1 controllers only carry limits. One we may
		 * not write (mounted read-only, as in a container) is one we do not
		 * have: its limits are then "unapplied", and a strict task type that
		 * asks for them is refused with that reason. */
		if (!legacy && (r == -EROFS || r == -EACCES || r == -EPERM))
			continue;
		if (r < 0)
			return cg_error(ret_error, r, "cannot create %s/%s: %s", p, m->rel, strerror(-r));
		m->v1_of[k] = (int)m->n_v1++;
		h->controllers = 1u << k;
		h->dev = st.st_dev;
		h->mount_fd = TAKE_FD(fd);
		if (asprintf(&h->path, "%s/%s", p, m->rel) < 0)
			return -ENOMEM;
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
		Cgroup *c = cg_job_alloc(m);
		if (!c)
			break;
		found[k] = c;
		snprintf(c->name, sizeof(c->name), "%.23s", names[k]);
		c->uses = 1;
		if (m->root_fd >= 0 && faccessat(m->root_fd, c->name, F_OK, 0) >= 0)
			(void)cg_job_open_unified(c);
		for (size_t h = 0; h < m->n_v1; h++)
			c->v1_made[h] = faccessat(m->v1[h].root_fd, c->name, F_OK, 0) >= 0;
		(void)cgroup_kill(c);
	}
	deadline = now_monotonic_usec() + KILL_WAIT_USEC;
	for (size_t k = 0; k < n && found[k]; k++) {
		uint64_t now = now_monotonic_usec();
		(void)cgroup_wait_empty(found[k], deadline > now ? deadline - now : 0);
		cg_job_destroy(found[k]);
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
		cg_job_destroy(m->all);
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

size_t cgroup_manager_fds(const CgroupManager *m, int *fds, size_t max)
{
	size_t n = 0;

	if (m->root_fd >= 0 && n < max)
		fds[n++] = m->root_fd;
	for (size_t h = 0; h < m->n_v1 && n < max; h++)
		if (m->v1[h].root_fd >= 0)
			fds[n++] = m->v1[h].root_fd;
	return n;
}

int cgroup_manager_kill_all(const CgroupManager *m)
{
	int total = 0;

	/* One write kills the subtree where the kernel can; the SIGKILL rounds
	 * are for v1 and older kernels, and catch a fork that raced a round. */
	if (m->root_fd >= 0 && (cgroup_manager_features(m) & CGROUP_FEATURE_KILL))
		(void)cg_write(m->root_fd, "cgroup.kill", "1");
	for (int round = 0; round < 50; round++) {
		int n = 0, k;

		if (m->root_fd >= 0 && (k = cg_signal_tree(m->root_fd)) > 0)
			n += k;
		for (size_t h = 0; h < m->n_v1; h++)
			if ((k = cg_signal_tree(m->v1[h].root_fd)) > 0)
				n += k;
		if (n == 0)
			break;
		total += n;
		cg_sleep_usec(10 * 1000);
	}
	return total;
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
		cg_job_destroy(c);
	}
}

size_t cgroup_manager_pool_size(const CgroupManager *m)
{
	return m->n_free;
}
