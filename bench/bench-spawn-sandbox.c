/* SPDX-License-Identifier: MIT */
/*
 * Row 2 of bench-spawn: spawn_daughter() without the daemon, called as the
 * daemon will call it. Set up once, as the daemon does at start and at
 * policy load: a cgroup manager (its own root, the warm LIFO pool), the
 * shared loopback network namespace, and the default seccomp profile
 * compiled to BPF. Then per daughter: a job cgroup from the pool with the
 * bundled policy's limits, spawn_daughter() with a dynamic-style uid, the
 * filter, the netns and rlimits, and the end awaited as the daemon's event
 * loop will: the pidfd readable (then reaped), and the cgroup's
 * cgroup.events saying "populated 0" (POLLPRI); then the cgroup goes back.
 */
#include <errno.h>
#include <json-c/json.h>
#include <sched.h>
#include <stdlib.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "bench.h"
#include "bench-spawn.h"
#include "sandbox/cgroup.h"
#include "sandbox/netns.h"
#include "policy/seccomp-profile.h"
#include "sandbox/spawn.h"
#include "util.h"

#define CHILD_TIMEOUT_MS 10000

/* Set up once. The cgroup manager is not thread-safe: the lock guards it (the daemon will use it
 * from its one loop thread). */
static struct {
	CgroupInfo info;
	CgroupManager *mgr;
	SeccompProgram *prog;
	SeccompProgram *prog_ipc; /* row 2zi: without the rule against clone(CLONE_NEWIPC) */
	int netns_fd;
	char unapplied[160];
	pthread_mutex_t lock;
} sb = {.netns_fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER};

/* Fills why with "skipped (...)" and returns r. */
static int skipped(int r, char *why, size_t size, const char *fmt, ...) _printf_(4, 5);
static int skipped(int r, char *why, size_t size, const char *fmt, ...)
{
	va_list ap;
	int l = snprintf(why, size, "skipped (");

	va_start(ap, fmt);
	if (l > 0 && (size_t)l < size)
		(void)vsnprintf(why + l, size - (size_t)l, fmt, ap);
	va_end(ap);
	if (strlen(why) + 2 <= size)
		strcat(why, ")");
	return r;
}

/* The profile without its rule that denies clone with CLONE_NEWIPC (args[0] masked 0x08000000), for a
 * zygote that gives each daughter an IPC namespace: NULL if there is no such rule. */
static char *without_newipc_rule(const char *json)
{
	json_object *root = json_tokener_parse(json), *calls, *kept;
	char *out = NULL;
	bool dropped = false;

	if (!root || !json_object_object_get_ex(root, "syscalls", &calls))
		goto done;
	kept = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(calls); i++) {
		json_object *rule = json_object_array_get_idx(calls, i), *args, *value;

		if (json_object_object_get_ex(rule, "args", &args) && json_object_array_length(args) == 1 &&
		    json_object_object_get_ex(json_object_array_get_idx(args, 0), "value", &value) &&
		    json_object_get_int64(value) == CLONE_NEWIPC && strstr(json_object_to_json_string(rule), "\"clone\"")) {
			dropped = true;
			continue;
		}
		json_object_array_add(kept, json_object_get(rule));
	}
	json_object_object_add(root, "syscalls", kept);
	if (dropped)
		out = strdup(json_object_to_json_string(root));
done:
	json_object_put(root);
	return out;
}

int sandbox_setup(const char *seccomp_dir, char *why, size_t size)
{
	_cleanup_free_ char *err = NULL, *json = NULL, *path = NULL, *json_ipc = NULL;
	char rel[64];
	FILE *f;
	size_t len = 0;
	int r;

	if (geteuid() != 0)
		return skipped(-EPERM, why, size, "needs root");
	r = cgroup_detect(&sb.info);
	if (r < 0 || (sb.info.mode != CGROUP_MODE_UNIFIED && sb.info.mode != CGROUP_MODE_HYBRID))
		return skipped(-EOPNOTSUPP, why, size, "no cgroup2 tree: %s",
		               cgroup_mode_to_string(sb.info.mode));
	snprintf(rel, sizeof(rel), "vx11-bench-spawn-%d", (int)getpid());
	r = cgroup_manager_new(&sb.info, rel, &sb.mgr, &err);
	if (r < 0)
		return skipped(r, why, size, "cgroup_manager_new: %s", err ?: strerror(-r));
	r = netns_loopback_open(&sb.netns_fd);
	if (r < 0)
		return skipped(r, why, size, "netns_loopback_open: %s", strerror(-r));
	path = bench_strdupf("%s/default.json", seccomp_dir);
	if (!path)
		return -ENOMEM;
	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		return skipped(r, why, size, "%s: %s", path, strerror(-r));
	}
	r = getdelim(&json, &len, 0, f) < 0 ? -EIO : 0;
	fclose(f);
	if (r < 0)
		return skipped(r, why, size, "cannot read %s", path);
	/* Once, as the daemon does at policy load; each daughter only loads the program. */
	r = seccomp_program_compile_json(json, "default", &sb.prog, &err);
	if (r < 0)
		return skipped(r, why, size, "%s: %s", path, err ?: strerror(-r));
	json_ipc = without_newipc_rule(json);
	if (json_ipc)
		(void)seccomp_program_compile_json(json_ipc, "default-newipc", &sb.prog_ipc, NULL);
	return 0;
}

void sandbox_done(void)
{
	zygote_done();
	sb.mgr = cgroup_manager_free(sb.mgr);
	if (sb.netns_fd >= 0)
		close(sb.netns_fd);
	sb.prog = seccomp_program_free(sb.prog);
	sb.prog_ipc = seccomp_program_free(sb.prog_ipc);
	cgroup_info_done(&sb.info);
}

/* Until the daughter is reaped and its cgroup is empty: what the daemon's event loop will watch. */
static int wait_end(int pidfd, const Cgroup *cg, char **ret_error)
{
	uint64_t deadline = bench_now_ns() + (uint64_t)CHILD_TIMEOUT_MS * 1000000u;
	bool reaped = false;
	int r = 0;

	for (;;) {
		struct pollfd p[2] = {
		    {.fd = reaped ? -1 : pidfd, .events = POLLIN},
		    {.fd = cgroup_events_fd(cg), .events = POLLPRI},
		};
		uint64_t now;
		int k;

		if (!reaped) {
			siginfo_t si = {0};

			if (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG) < 0)
				return -errno;
			if (si.si_pid != 0) {
				reaped = true;
				if (si.si_code != CLD_EXITED || si.si_status != 0) {
					if (ret_error)
						*ret_error = bench_strdupf("daughter ended: code %d status %d",
						                     si.si_code, si.si_status);
					r = -ECHILD;
				}
			}
		}
		if (reaped) {
			k = cgroup_is_populated(cg);
			if (k <= 0)
				return k < 0 ? k : r;
			if (p[1].fd < 0) /* legacy host: no events file */
				return cgroup_wait_empty(cg, CHILD_TIMEOUT_MS * USEC_PER_MSEC) < 0
				           ? -ETIMEDOUT
				           : r;
		}
		now = bench_now_ns();
		if (now >= deadline)
			break;
		k = poll(p, 2, (int)((deadline - now) / 1000000 + 1));
		if (k < 0 && errno != EINTR)
			return -errno;
	}
	if (!reaped) {
		siginfo_t si;

		(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		(void)waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED);
	}
	if (ret_error && !*ret_error)
		*ret_error = bench_strdupf("no end within %d s", CHILD_TIMEOUT_MS / 1000);
	return -ETIMEDOUT; /* cgroup_release() kills what is left */
}

/* Rows 2z and 2zi (bench-spawn-zygote.c): their zygotes, forked once the filter is compiled. */
int sandbox_zygote_setup(bool ipc_each, char *why, size_t size)
{
	const SeccompProgram *prog = ipc_each ? sb.prog_ipc : sb.prog;

	if (!prog)
		return skipped(-ENOENT, why, size, "%s", ipc_each ? "no clone(CLONE_NEWIPC) rule to drop" : "row 2 is not set up");
	return zygote_setup(ipc_each, prog, sb.netns_fd, why, size);
}

typedef enum Via { VIA_SPAWN, VIA_ZYGOTE, VIA_ZYGOTE_IPC } Via;

/* Rows 2, 2z and 2zi: the same job cgroup, uid, rlimits and end; through spawn_daughter() or a zygote. */
static int run(char *const argv[], char *const envp[], unsigned k, Via via, char **ret_error)
{
	CgroupLimits lim = CGROUP_LIMITS_NONE;
	_cleanup_free_ char *unapplied = NULL;
	Cgroup *cg = NULL;
	SpawnRequest req;
	pid_t pid;
	int pidfd, r;

	lim.memory_max = BENCH_MEMORY_BYTES;
	lim.pids_max = BENCH_PIDS_MAX;
	pthread_mutex_lock(&sb.lock);
	r = cgroup_acquire(sb.mgr, &lim, &cg, &unapplied, ret_error);
	if (unapplied && !sb.unapplied[0])
		snprintf(sb.unapplied, sizeof(sb.unapplied), "%s", unapplied);
	pthread_mutex_unlock(&sb.lock);
	if (r < 0)
		return r;

	spawn_request_init(&req);
	req.argv = argv;
	req.envp = envp;
	req.uid = req.gid = BENCH_UID + k; /* each worker its own, as dynamic users are */
	req.cgroup = cg;
	req.netns_fd = sb.netns_fd;
	req.seccomp = sb.prog;
	req.rlimits.nofile = BENCH_NOFILE;
	req.rlimits.fsize = BENCH_FSIZE_BYTES;
	if (via != VIA_SPAWN)
		r = zygote_spawn(via == VIA_ZYGOTE_IPC, argv[0], req.uid, req.rlimits.nofile, req.rlimits.fsize, cg, k, &pidfd,
		                 ret_error);
	else
		r = spawn_daughter(&req, &pid, &pidfd, ret_error);
	if (r >= 0) {
		r = wait_end(pidfd, cg, ret_error);
		close(pidfd);
	}
	pthread_mutex_lock(&sb.lock);
	cgroup_release(sb.mgr, cg);
	pthread_mutex_unlock(&sb.lock);
	return r;
}

int sandbox_run(char *const argv[], char *const envp[], unsigned k, char **ret_error)
{
	return run(argv, envp, k, VIA_SPAWN, ret_error);
}

int sandbox_zygote_run(bool ipc_each, char *const argv[], char *const envp[], unsigned k, char **ret_error)
{
	return run(argv, envp, k, ipc_each ? VIA_ZYGOTE_IPC : VIA_ZYGOTE, ret_error);
}

const char *sandbox_cgroup_mode(void)
{
	return cgroup_mode_to_string(sb.info.mode);
}

const char *sandbox_unapplied(void)
{
	return sb.unapplied;
}
