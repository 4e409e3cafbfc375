/* SPDX-License-Identifier: MIT */
/*
 * The daughter's side of spawn_daughter(): everything between clone3 and
 * execve, in the fixed order of lifecycle.md. The parent's side and the
 * theory of operation are in spawn.c.
 *
 * This code runs either in a forked copy of the daemon, or vfork-style in the
 * daemon's own memory, on a stack of its own, while the calling thread waits.
 * So it makes raw system calls only: no allocation, no stdio, no locks, and
 * not glibc's set*id()/setgroups(), which signal every thread of the process
 * (in a CLONE_VM child: the daemon's threads) to change their ids too. It
 * writes errno (the waiting thread's) and nothing else of the daemon's memory.
 *
 * A failed step writes one SpawnReport to the error pipe and returns 127; the
 * caller then _exits. The parent turns the report into text. Just before
 * execve it writes a report with error 0: a child that dies on the way (a
 * signal) is told apart from one that exec'd.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <sched.h>
#include <signal.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spawn.h"

/* Where private_tmp puts a fresh tmpfs. */
const char *const spawn_tmp_paths[] = { "/tmp", "/var/tmp" };
const size_t spawn_n_tmp_paths = ELEMENTSOF(spawn_tmp_paths);

/*
 * What read_only_system binds read-only (recursively: /boot/efi too). A path
 * that is missing, or a symbolic link (merged /usr: /bin -> usr/bin), is
 * skipped: what it points to is in the list. /var, /home, /srv, /run, /tmp,
 * /dev, /proc and /sys stay as they are.
 */
const char *const spawn_ro_paths[] = { "/usr", "/etc", "/boot", "/efi", "/opt",
				       "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32" };
const size_t spawn_n_ro_paths = ELEMENTSOF(spawn_ro_paths);

/*
 * The zygote (spawn-zygote.c) and its children run these under the zygote's variant of the
 * profile: every call from its recvmsg to the child's execve. A call missing here that the
 * profile denies would fail a step (fail-closed, never a hole): the list is the raw calls
 * below and in spawn-zygote.c's loop.
 */
const char *const spawn_zygote_syscalls[] = {
	/* the zygote (clone3: its children are born in their cgroup, CLONE_INTO_CGROUP) */
	"recvmsg", "sendmsg", "clone3", "close", "exit", "exit_group", "getppid",
	/* its child, in spawn_child_run()'s order */
	"getpid", "write", "rt_sigaction", "rt_sigprocmask", "openat", "fcntl", "dup3", "close_range",
	"setsid", "prlimit64", "read", "pwrite64", "prctl", "setgroups", "setresgid", "setresuid",
	"capset", "unshare", "mount", "mount_setattr", "newfstatat", "chdir", "seccomp", "execve",
	NULL,
};

static int report(const SpawnChild *c, SpawnStep step, int error, int64_t arg)
{
	SpawnReport rep = { .step = step, .error = error, .arg = arg,
			    .pid = c->zygote ? (int32_t)syscall(SYS_getpid) : 0 };

	/* One write of a few bytes to a pipe is atomic; if it fails the parent sees EOF and exit 127. */
	(void)syscall(SYS_write, c->error_fd, &rep, sizeof(rep));
	return 127;
}

/* For calls that return -1 and set errno. */
#define TRY(call, step, arg)                                                                               \
	do {                                                                                               \
		if ((call) < 0)                                                                            \
			return report(c, (step), errno, (arg));                                           \
	} while (0)

/* Step 1. CLONE_CLEAR_SIGHAND already reset every handler, so none of the
 * daemon's can run here; what is left are ignored signals (SIG_IGN survives
 * execve) and the blocked mask. The kernel's sigaction with all fields zero
 * is SIG_DFL, no flags, an empty mask, on every architecture. */
static int reset_signals(const SpawnChild *c)
{
	unsigned long dfl[4] = { 0 };
	uint64_t none = 0;

	for (int sig = 1; sig <= 64; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		TRY(syscall(SYS_rt_sigaction, sig, dfl, NULL, sizeof(none)), SPAWN_STEP_SIGNALS, sig);
	}
	TRY(syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(none)), SPAWN_STEP_SIGNALS, 0);
	return 0;
}

static int close_between(unsigned lo, unsigned hi)
{
	struct rlimit64 rl;

	if (syscall(SYS_close_range, lo, hi, 0) >= 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	/* Before 5.9: one by one, up to the fd limit (no fd can be above it but ours). */
	if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl) < 0)
		return -1;
	for (uint64_t fd = lo; fd <= hi && fd < rl.rlim_max; fd++)
		(void)syscall(SYS_close, (int)fd);
	return 0;
}

/* Step 2. Sources may be any fd, 0..2 included and in any permutation
 * (stdout_fd = 2, stderr_fd = 1): first every source below 3 is copied above
 * 2, then each is dup3'd into place, which also clears O_CLOEXEC. */
static int setup_fds(const SpawnChild *c)
{
	const SpawnRequest *r = c->r;
	int src[3] = { r->stdin_fd, r->stdout_fd, r->stderr_fd };
	int null_fd = -1;
	unsigned lo = 3;

	for (int i = 0; i < 3; i++)
		if (src[i] < 0) {
			if (null_fd < 0)
				TRY(null_fd =
				        (int)syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDWR | O_CLOEXEC),
				    SPAWN_STEP_DEV_NULL, 0);
			src[i] = null_fd;
		}
	for (int i = 0; i < 3; i++)
		if (src[i] < 3) {
			int old = src[i], moved;

			TRY(moved = (int)syscall(SYS_fcntl, old, F_DUPFD_CLOEXEC, 3), SPAWN_STEP_STDIO, i);
			for (int j = i; j < 3; j++)
				if (src[j] == old)
					src[j] = moved;
		}
	for (int i = 0; i < 3; i++)
		TRY(syscall(SYS_dup3, src[i], i, 0), SPAWN_STEP_STDIO, i);

	for (size_t k = 0; k < r->n_keep_fds; k++)
		TRY(syscall(SYS_fcntl, r->keep_fds[k], F_SETFD, 0), SPAWN_STEP_KEEP_FD, r->keep_fds[k]);

	/* Everything else goes: the gaps between the kept fds (sorted, >= 3, distinct), and above. The
	 * error pipe and the netns fd are among the kept; both are O_CLOEXEC, so execve closes them. */
	for (size_t k = 0; k < c->n_keep; k++) {
		unsigned fd = (unsigned)c->keep[k];
		if (fd > lo)
			TRY(close_between(lo, fd - 1), SPAWN_STEP_CLOSE_FDS, 0);
		lo = fd + 1;
	}
	TRY(close_between(lo, ~0U), SPAWN_STEP_CLOSE_FDS, 0);
	return 0;
}

static int set_rlimits(const SpawnChild *c)
{
	const SpawnRlimits *l = &c->r->rlimits;
	const struct {
		int resource;
		uint64_t value;
	} limits[] = {
		{ RLIMIT_NOFILE, l->nofile },
		{ RLIMIT_FSIZE, l->fsize },
		{ RLIMIT_CORE, l->core },
		{ RLIMIT_CPU, l->cpu },
	};

	for (size_t k = 0; k < ELEMENTSOF(limits); k++) {
		struct rlimit64 rl = { .rlim_cur = limits[k].value, .rlim_max = limits[k].value };

		if (limits[k].value == SPAWN_RLIMIT_UNSET)
			continue;
		TRY(syscall(SYS_prlimit64, 0, limits[k].resource, &rl, NULL), SPAWN_STEP_RLIMIT,
		    limits[k].resource);
	}
	return 0;
}

static long capset_to(uint64_t caps)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {
		{ .effective = (uint32_t)caps, .permitted = (uint32_t)caps },
		{ .effective = (uint32_t)(caps >> 32), .permitted = (uint32_t)(caps >> 32) },
	};

	return syscall(SYS_capset, &h, d);
}

/* Step 6. While still root: empty the bounding and ambient sets (nothing can
 * come back at execve, not even through a set-uid-root file if no_new_privs
 * were ever lifted), then change ids. KEEPCAPS makes setresuid keep the
 * permitted set, which capset then cuts to CAP_SYS_ADMIN (and CAP_NET_ADMIN
 * for a network of its own's lo): the namespaces of step 7 need them,
 * nothing else does. */
static int drop_to_user(const SpawnChild *c, bool keep_admin)
{
	const SpawnRequest *r = c->r;

	for (int cap = 0; cap < 64; cap++)
		if (syscall(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL) /* past the last capability this kernel knows */
				break;
			return report(c, SPAWN_STEP_CAPBSET, errno, cap);
		}
	if (syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return report(c, SPAWN_STEP_AMBIENT, errno, 0);
	if (keep_admin)
		TRY(syscall(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0), SPAWN_STEP_KEEPCAPS, 0);
	TRY(syscall(SYS_setgroups, 0, NULL), SPAWN_STEP_SETGROUPS, 0);
	TRY(syscall(SYS_setresgid, r->gid, r->gid, r->gid), SPAWN_STEP_SETRESGID, r->gid);
	TRY(syscall(SYS_setresuid, r->uid, r->uid, r->uid), SPAWN_STEP_SETRESUID, r->uid);
	if (keep_admin)
		TRY(capset_to(UINT64_C(1) << CAP_SYS_ADMIN | (c->net_admin ? UINT64_C(1) << CAP_NET_ADMIN : 0)),
		    SPAWN_STEP_CAPSET_ADMIN, 0);
	return 0;
}

/* lo up in the network namespace we just made; the ioctl needs no netlink. */
static int loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	long s = syscall(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int e = 0;

	if (s < 0)
		return errno;
	if (syscall(SYS_ioctl, s, SIOCGIFFLAGS, &ifr) < 0)
		e = errno;
	ifr.ifr_flags |= IFF_UP;
	if (!e && syscall(SYS_ioctl, s, SIOCSIFFLAGS, &ifr) < 0)
		e = errno;
	(void)syscall(SYS_close, s);
	return e;
}

static bool is_real_dir(const char *path)
{
	struct stat st;

	return syscall(SYS_newfstatat, AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISDIR(st.st_mode);
}

static int reset_oom_score(const SpawnChild *c)
{
	char buf[16];
	long fd, n;

	fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/oom_score_adj", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : report(c, SPAWN_STEP_OOM_SCORE_ADJ, errno, 0); /* no /proc: nothing inherited to undo */
	n = syscall(SYS_read, fd, buf, sizeof(buf));
	if (n > 0 && buf[0] == '-' && syscall(SYS_pwrite64, fd, "0", 1, 0) != 1) {
		int e = errno;
		(void)syscall(SYS_close, fd);
		return report(c, SPAWN_STEP_OOM_SCORE_ADJ, e, 0);
	}
	(void)syscall(SYS_close, fd);
	return 0;
}

/* Step 7, as the daughter's user holding CAP_SYS_ADMIN only; ends with no capability at all. */
static int enter_namespaces(const SpawnChild *c)
{
	const SpawnRequest *r = c->r;

	long flags = (r->private_ipc ? CLONE_NEWIPC : 0) | (r->private_network ? CLONE_NEWNET : 0) |
		     (c->mount_ns ? CLONE_NEWNS : 0);

	if (c->netns_fd >= 0) {
		TRY(syscall(SYS_setns, c->netns_fd, CLONE_NEWNET), SPAWN_STEP_SETNS, 0);
		(void)syscall(SYS_close, c->netns_fd);
	}
	/* One call for every namespace of its own (an IPC one costs next to
	 * nothing; a network one is slow, see netns.h). */
	if (flags)
		TRY(syscall(SYS_unshare, flags), SPAWN_STEP_UNSHARE_NS, flags);
	/* Without CAP_NET_ADMIN (the unit) lo stays down: no network at all. */
	if (r->private_network && c->net_admin) {
		int e = loopback_up();
		if (e)
			return report(c, SPAWN_STEP_LOOPBACK, e, 0);
	}
	if (c->mount_ns) {
		/* Our mounts must not propagate back to the host, nor the host's reach us halfway. */
		TRY(syscall(SYS_mount, NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), SPAWN_STEP_MOUNT_PRIVATE,
		    0);
		for (size_t k = 0; r->private_tmp && k < spawn_n_tmp_paths; k++)
			TRY(syscall(SYS_mount, "tmpfs", spawn_tmp_paths[k], "tmpfs", MS_NOSUID | MS_NODEV,
				    "mode=1777"),
			    SPAWN_STEP_MOUNT_TMP, (int64_t)k);
		/* POSIX shared memory of its own, as its SysV IPC is (the IPC
		 * namespace): nothing left there outlives it. */
		if (is_real_dir("/dev/shm"))
			TRY(syscall(SYS_mount, "tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"),
			    SPAWN_STEP_MOUNT_SHM, 0);
		/* A /proc that shows processes of its own uid only: not the host's. */
		if (r->hide_processes)
			TRY(syscall(SYS_mount, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
				    "hidepid=invisible"),
			    SPAWN_STEP_MOUNT_PROC, 0);
		for (size_t k = 0; r->read_only_system && k < spawn_n_ro_paths; k++) {
			const char *p = spawn_ro_paths[k];
			struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };

			if (!is_real_dir(p))
				continue;
			/* A bind mount of its own, so that read-only is ours to set; MS_REC takes the
			 * submounts along, and mount_setattr(AT_RECURSIVE) makes all of them read-only. */
			TRY(syscall(SYS_mount, p, p, NULL, MS_BIND | MS_REC, NULL), SPAWN_STEP_BIND_RO,
			    (int64_t)k);
			if (syscall(SYS_mount_setattr, AT_FDCWD, p, AT_RECURSIVE, &ro, sizeof(ro)) >= 0)
				continue;
			if (errno != ENOSYS)
				return report(c, SPAWN_STEP_REMOUNT_RO, errno, (int64_t)k);
			/* Before 5.12: the top mount only. */
			TRY(syscall(SYS_mount, NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL),
			    SPAWN_STEP_REMOUNT_RO, (int64_t)k);
		}
	}
	/* Always: setresuid() leaves the inheritable set alone, and it may not be empty in the daemon. */
	TRY(capset_to(0), SPAWN_STEP_CAPS_DROP, 0);
	TRY(syscall(SYS_prctl, PR_SET_KEEPCAPS, 0, 0, 0, 0), SPAWN_STEP_CAPS_DROP, 0);
	return 0;
}

int spawn_child_run(void *spawn_child)
{
	const SpawnChild *c = spawn_child;
	const SpawnRequest *r = c->r;
	int k;

	/* 0. Born in the job's cgroup2 group (CLONE_INTO_CGROUP, a zygote's children too); on
	 *    hybrid and legacy hosts also join its v1 groups, while we are root and their fds are
	 *    still open (a zygote's child through its copies of those fds). */
	for (size_t j = 0; j < c->n_join_fds; j++)
		TRY(syscall(SYS_write, c->join_fds[j], "0", 1), SPAWN_STEP_CGROUP_V1, (int64_t)j);
	if (r->cgroup && (k = cgroup_child_join_v1(r->cgroup)) < 0)
		return report(c, SPAWN_STEP_CGROUP_V1, -k, 0);
	/* 1. Signals: default dispositions, nothing blocked. */
	if ((k = reset_signals(c)) != 0)
		return k;
	/* 2. stdio on 0, 1, 2; keep_fds stay; every other fd is closed. */
	if ((k = setup_fds(c)) != 0)
		return k;
	/* 3. A session of its own: no controlling terminal, its own process group. */
	TRY(syscall(SYS_setsid), SPAWN_STEP_SETSID, 0);
	/* 4. Resource limits (while root, so that they may exceed the daemon's hard limits). */
	if ((k = set_rlimits(c)) != 0)
		return k;
	/* 4b. The daemon's OOM protection (OOMScoreAdjust= of its unit) is the
	 *     supervisor's, not for what it runs: a negative score goes back to 0.
	 *     (Raising it needs no capability; a positive one is left alone.) */
	if ((k = reset_oom_score(c)) != 0)
		return k;
	/* 5. Nothing exec'd from here on gains privileges (set-uid bits, file capabilities). */
	TRY(syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), SPAWN_STEP_NO_NEW_PRIVS, 0);
	/* 6. The daughter's user and group, no supplementary groups, only CAP_SYS_ADMIN if step 7
	 *    needs it. */
	if ((k = drop_to_user(c, c->netns_fd >= 0 || c->mount_ns || r->private_ipc || r->private_network)) != 0)
		return k;
	/* 7. Namespaces, then the last capability goes. */
	if ((k = enter_namespaces(c)) != 0)
		return k;
	/* Its working directory, looked up as the daughter's user in its own mounts. */
	TRY(syscall(SYS_chdir, r->working_directory ?: "/"), SPAWN_STEP_CHDIR, 0);
	/* 7b. Landlock, once its mounts are in place (rules name inodes) and
	 *     before the filter (which may deny landlock_restrict_self). */
	if (c->landlock_fd >= 0) {
		/* Rules on what it mounted afresh name the new mounts, not the
		 * host's directories under them: added here, after the mounts. */
		for (size_t j = 0; j < r->n_landlock_deferred; j++) {
			struct landlock_path_beneath_attr pb = { .allowed_access = r->landlock_deferred[j].access };
			long fd = syscall(SYS_openat, AT_FDCWD, r->landlock_deferred[j].path, O_PATH | O_CLOEXEC);
			if (fd < 0)
				continue; /* nothing there to grant */
			pb.parent_fd = (int)fd;
			long e = syscall(SYS_landlock_add_rule, c->landlock_fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
			int saved = errno;
			(void)syscall(SYS_close, fd);
			if (e < 0)
				return report(c, SPAWN_STEP_LANDLOCK, saved, 1);
		}
		TRY(syscall(SYS_landlock_restrict_self, c->landlock_fd, 0), SPAWN_STEP_LANDLOCK, 0);
		(void)syscall(SYS_close, c->landlock_fd);
	}
	/* 8. The seccomp filter, last: the steps above use calls a profile may deny. */
	if ((k = seccomp_fprog_load(c->filter)) < 0)
		return report(c, SPAWN_STEP_SECCOMP, -k, 0);
	/* 9. Tell the parent we got this far (EOF without it means we died on the way), then exec;
	 *    execve only returns on failure. */
	(void)report(c, SPAWN_STEP_EXECVE, 0, 0);
	(void)syscall(SYS_execve, r->argv[0], r->argv, r->envp);
	return report(c, SPAWN_STEP_EXECVE, errno, 0);
}
