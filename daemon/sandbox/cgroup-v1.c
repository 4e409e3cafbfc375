/* SPDX-License-Identifier: MIT */
/*
 * The cgroupfs plumbing under cgroup.c and cgroup-job.c (tiny files read and
 * written with one syscall each, relative to directory fds) and the cgroup v1
 * backend: limits, counters and the freezer, for hybrid and legacy hosts.
 * Everything here works on a hierarchy's root directory fd plus a job
 * directory name, so it knows nothing of the manager's state.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cgroup-internal.h"
#include "util.h"

/* ---- small file helpers (cgroupfs files are tiny, one read or write each) -------------------- */

int cg_write(int dfd, const char *path, const char *value)
{
	_cleanup_close_ int fd = openat(dfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	size_t n = strlen(value);
	ssize_t k;

	if (fd < 0)
		return -errno;
	k = write(fd, value, n);
	if (k < 0)
		return -errno;
	return (size_t)k == n ? 0 : -EIO;
}

int cg_read(int dfd, const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t l = 0;

	if (fd < 0)
		return -errno;
	while (l + 1 < size) {
		ssize_t k = read(fd, buf + l, size - 1 - l);
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		l += (size_t)k;
	}
	buf[l] = 0;
	return (int)l;
}

/* "key value" lines (cpu.stat, memory.events, memory.oom_control). */
int cg_parse_keyed(const char *buf, const char *key, uint64_t *ret)
{
	size_t kl = strlen(key);

	for (const char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, key, kl) == 0 && p[kl] == ' ') {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(p + kl + 1, &end, 10);
			if (errno != 0 || end == p + kl + 1)
				return -EBADMSG;
			*ret = v;
			return 0;
		}
	return -ENOENT;
}

int cg_read_keyed(int dfd, const char *path, const char *key, uint64_t *ret)
{
	char buf[2048];
	int r = cg_read(dfd, path, buf, sizeof(buf));
	return r < 0 ? r : cg_parse_keyed(buf, key, ret);
}

/* A single number, "max" being UINT64_MAX. */
int cg_read_u64(int dfd, const char *path, uint64_t *ret)
{
	char buf[64], *end;
	unsigned long long v;
	int r = cg_read(dfd, path, buf, sizeof(buf));

	if (r < 0)
		return r;
	if (strncmp(buf, "max", 3) == 0) {
		*ret = UINT64_MAX;
		return 0;
	}
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno != 0 || end == buf)
		return -EBADMSG;
	*ret = v;
	return 0;
}

int cg_error(char **ret_error, int r, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	assert(r < 0);
	if (!ret_error)
		return r;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(*ret_error);
	*ret_error = s;
	return r;
}

void cg_sleep_usec(uint64_t usec)
{
	struct timespec ts = { .tv_sec = (time_t)(usec / USEC_PER_SEC), .tv_nsec = (long)(usec % USEC_PER_SEC) * 1000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* SIGKILL every process listed in <dfd>/cgroup.procs and in its sub-cgroups. Returns how many. */
int cg_signal_tree(int dfd)
{
	_cleanup_close_ int procs = openat(dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int dup_fd = -1;
	FILE *f;
	DIR *d;
	int n = 0, pid;

	if (procs < 0)
		return -errno;
	f = fdopen(TAKE_FD(procs), "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%d", &pid) == 1)
		if (pid > 0 && kill(pid, SIGKILL) >= 0)
			n++;
	fclose(f);

	dup_fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dup_fd < 0)
		return n;
	d = fdopendir(dup_fd);
	if (!d)
		return n;
	dup_fd = -1;
	for (struct dirent *de; (de = readdir(d));) {
		_cleanup_close_ int sub = -1;
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub >= 0) {
			int k = cg_signal_tree(sub);
			if (k > 0)
				n += k;
		}
	}
	closedir(d);
	return n;
}

/* rmdir a cgroup and its sub-cgroups (a root daughter may have made some). */
int cg_rmdir_tree(int dfd, const char *name)
{
	_cleanup_close_ int fd = -1;
	DIR *d;

	if (unlinkat(dfd, name, AT_REMOVEDIR) >= 0 || errno == ENOENT)
		return 0;
	if (errno != EBUSY && errno != ENOTEMPTY)
		return -errno;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d)
		return -errno;
	fd = -1;
	for (struct dirent *de; (de = readdir(d));)
		if (de->d_type == DT_DIR && de->d_name[0] != '.')
			(void)cg_rmdir_tree(dirfd(d), de->d_name);
	closedir(d);
	return unlinkat(dfd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

/* rmdir, killing stragglers first if it is still busy (leftovers, a draining cgroup at exit). */
int cg_remove_job_dir(int dfd, const char *name)
{
	int r = cg_rmdir_tree(dfd, name);

	for (int round = 0; r == -EBUSY && round < 100; round++) {
		_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0)
			(void)cg_signal_tree(fd);
		cg_sleep_usec(2 * USEC_PER_MSEC);
		r = cg_rmdir_tree(dfd, name);
	}
	return r;
}

static int mkdir_p_once(int dfd, const char *rel, unsigned *created)
{
	_cleanup_free_ char *p = strdup(rel);
	unsigned n = 0;

	if (!p)
		return -ENOMEM;
	for (char *s = p;; s++) {
		if (*s == '/' || *s == 0) {
			char c = *s;
			*s = 0;
			if (mkdirat(dfd, p, 0755) >= 0)
				n++;
			else if (errno != EEXIST) {
				int r = -errno;
				char *parent = strrchr(p, '/');

				if (parent) {
					*parent = 0;
					cg_rmdir_created(dfd, p, n);
				}
				return r;
			}
			*s = c;
			if (c == 0)
				break;
		}
	}
	*created = n;
	return 0;
}

/* mkdir -p of a relative path; *created counts the components that were new.
 * On failure nothing it made is left behind. A parent may vanish between two
 * steps: another vx11d instance that made the shared base ("vx11" of
 * "vx11/<instance>") removes it as it stops; then the path is made again. */
int cg_mkdir_p(int dfd, const char *rel, unsigned *created)
{
	int r;

	for (int i = 0; i < 3; i++)
		if ((r = mkdir_p_once(dfd, rel, created)) != -ENOENT)
			break;
	return r;
}

/* Undo cg_mkdir_p(): rmdir the last `created` components of rel, deepest first. */
void cg_rmdir_created(int dfd, const char *rel, unsigned created)
{
	_cleanup_free_ char *p = strdup(rel);

	for (unsigned k = 0; p && k < created; k++) {
		char *slash;
		(void)unlinkat(dfd, p, AT_REMOVEDIR);
		slash = strrchr(p, '/');
		if (!slash)
			break;
		*slash = 0;
	}
}

/* ---- v1 backend ---------------------------------------------------------------------------- */

/* Write every limit of `controllers` (CGROUP_CONTROLLER_* held by this hierarchy), set or not:
 * a reused cgroup must not keep the last job's. */
int cg_v1_set_limits(int dfd, const char *name, unsigned controllers, const CgroupLimits *l, char **ret_error)
{
	char p[PATH_MAX], v[32];
	int r;

	if (controllers & CGROUP_CONTROLLER_MEMORY) {
		snprintf(p, sizeof(p), "%s/memory.limit_in_bytes", name);
		if (l->memory_max == UINT64_MAX)
			strcpy(v, "-1");
		else
			snprintf(v, sizeof(v), "%" PRIu64, l->memory_max);
		r = cg_write(dfd, p, v);
		if (r == -EBUSY) {
			/* The last job's page cache is above the new limit and cannot be reclaimed
			 * under it: drop it (allowed, the group is empty) and try again. */
			char q[PATH_MAX];
			snprintf(q, sizeof(q), "%s/memory.force_empty", name);
			(void)cg_write(dfd, q, "0");
			r = cg_write(dfd, p, v);
		}
		if (r < 0)
			return cg_error(ret_error, r, "cannot set %s=%s: %s", p, v, strerror(-r));
	}
	if (controllers & CGROUP_CONTROLLER_PIDS) {
		snprintf(p, sizeof(p), "%s/pids.max", name);
		if (l->pids_max < 0)
			strcpy(v, "max");
		else
			snprintf(v, sizeof(v), "%" PRIi64, l->pids_max);
		if ((r = cg_write(dfd, p, v)) < 0)
			return cg_error(ret_error, r, "cannot set %s=%s: %s", p, v, strerror(-r));
	}
	if (controllers & CGROUP_CONTROLLER_CPU) {
		snprintf(p, sizeof(p), "%s/cpu.cfs_period_us", name);
		snprintf(v, sizeof(v), "%u", CPU_PERIOD_USEC);
		if ((r = cg_write(dfd, p, v)) < 0)
			return cg_error(ret_error, r, "cannot set %s=%s: %s", p, v, strerror(-r));
		snprintf(p, sizeof(p), "%s/cpu.cfs_quota_us", name);
		if (l->cpu_max_pct == 0)
			strcpy(v, "-1");
		else
			snprintf(v, sizeof(v), "%" PRIu64, (uint64_t)l->cpu_max_pct * CPU_PERIOD_USEC / 100);
		if ((r = cg_write(dfd, p, v)) < 0)
			return cg_error(ret_error, r, "cannot set %s=%s: %s", p, v, strerror(-r));
	}
	return 0;
}

/* The peak can be reset (to the current usage); the OOM kill count only read as a baseline. */
int cg_v1_memory_reset(int dfd, const char *name, bool baseline, uint64_t *ret_oom_base)
{
	char p[PATH_MAX];
	int r;

	snprintf(p, sizeof(p), "%s/memory.max_usage_in_bytes", name);
	if ((r = cg_write(dfd, p, "0")) < 0)
		return r;
	if (!baseline)
		return 0;
	snprintf(p, sizeof(p), "%s/memory.oom_control", name);
	return cg_read_keyed(dfd, p, "oom_kill", ret_oom_base);
}

int cg_v1_memory_stats(int dfd, const char *name, uint64_t *ret_peak, uint64_t *ret_oom)
{
	char p[PATH_MAX];
	uint64_t peak, oom = 0;
	int r;

	snprintf(p, sizeof(p), "%s/memory.max_usage_in_bytes", name);
	if ((r = cg_read_u64(dfd, p, &peak)) < 0)
		return r;
	snprintf(p, sizeof(p), "%s/memory.oom_control", name);
	r = cg_read_keyed(dfd, p, "oom_kill", &oom); /* before 4.13: not there */
	if (r < 0 && r != -ENOENT)
		return r;
	*ret_peak = peak;
	*ret_oom = oom;
	return 0;
}

int cg_v1_cpuacct_usec(int dfd, const char *name, uint64_t *ret)
{
	char p[PATH_MAX];
	uint64_t ns;
	int r;

	snprintf(p, sizeof(p), "%s/cpuacct.usage", name);
	if ((r = cg_read_u64(dfd, p, &ns)) < 0)
		return r;
	*ret = ns / 1000;
	return 0;
}

/* v1 has no "populated" file: any pid in cgroup.procs. */
int cg_v1_populated(int dfd, const char *name)
{
	char p[PATH_MAX], buf[16];
	int r;

	snprintf(p, sizeof(p), "%s/cgroup.procs", name);
	r = cg_read(dfd, p, buf, sizeof(buf));
	return r < 0 ? r : r > 0;
}

/* Freeze (no more forks), SIGKILL each, thaw: the frozen ones die as they wake. */
int cg_v1_freezer_kill(int dfd, const char *name)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -errno;
	if ((r = cg_write(fd, "freezer.state", "FROZEN")) < 0)
		return cg_v1_kill_loop(dfd, name);
	for (int k = 0; k < 1000; k++) {
		char s[32];
		if (cg_read(fd, "freezer.state", s, sizeof(s)) < 0 || strncmp(s, "FROZEN", 6) == 0)
			break;
		cg_sleep_usec(USEC_PER_MSEC);
	}
	(void)cg_signal_tree(fd);
	return cg_write(fd, "freezer.state", "THAWED");
}

/* No freezer: kill until nobody is left, racing any forks. */
int cg_v1_kill_loop(int dfd, const char *name)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (int round = 0; round < 1000 && cg_signal_tree(fd) > 0; round++)
		cg_sleep_usec(USEC_PER_MSEC);
	return 0;
}
