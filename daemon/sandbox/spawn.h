/* SPDX-License-Identifier: MIT */
/*
 * The spawner: creates one confined daughter process for one attempt of one
 * task, born in its job cgroup and confined in the fixed order of
 * lifecycle.md ("One attempt"), then execs argv. The theory of operation is at
 * the top of spawn.c; the child's side is spawn-child.c.
 *
 * Usage (the scheduler's side):
 *
 *   SpawnRequest r;
 *   spawn_request_init(&r);            // every field at its safe default
 *   r.argv = argv; r.envp = envp;      // argv[0] absolute, envp complete
 *   r.uid = r.gid = dynamic_uid;       // never 0
 *   r.stdin_fd = intent_pipe; r.stdout_fd = r.stderr_fd = log_pipe;
 *   r.cgroup = job; r.netns_fd = m->netns_fd; r.seccomp = profile;
 *   k = spawn_daughter(&r, &pid, &pidfd, &error);  // 0, or -errno and error says why
 *
 * then watch the pidfd (sd_event_add_child_pidfd, or poll + waitid(P_PIDFD))
 * and the job cgroup's events fd. spawn_daughter() returns once the daughter
 * has called execve() successfully, or with the reason it could not.
 *
 * Requires root (CAP_SETUID, CAP_SETGID, CAP_SETPCAP, CAP_SYS_RESOURCE to
 * raise limits, CAP_SYS_ADMIN for namespaces), and Linux >= 5.7 (clone3 with
 * CLONE_INTO_CGROUP); 5.12 for a recursive read-only system (mount_setattr).
 * The request is only read. Several threads may spawn at once; each call
 * blocks its thread until the child has exec'd (a few hundred microseconds).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "landlock.h"
#include "seccomp.h"

/* How the child is created. Both give the same result; see spawn.c. */
typedef enum SpawnMethod {
	SPAWN_METHOD_AUTO,  /* vfork-style where built (x86_64), else fork-style */
	SPAWN_METHOD_FORK,  /* clone3 without CLONE_VM: costs grow with the daemon's memory */
	SPAWN_METHOD_VFORK, /* clone3 with CLONE_VM|CLONE_VFORK on a stack of its own: flat cost */
} SpawnMethod;

/* Resource limits, soft = hard. SPAWN_RLIMIT_UNSET (RLIM_INFINITY) keeps the daemon's own. */
#define SPAWN_RLIMIT_UNSET UINT64_MAX
typedef struct SpawnRlimits {
	uint64_t nofile; /* RLIMIT_NOFILE: open files */
	uint64_t fsize;  /* RLIMIT_FSIZE: bytes per file written */
	uint64_t core;   /* RLIMIT_CORE: 0 (the default) means no core dumps */
	uint64_t cpu;    /* RLIMIT_CPU: seconds of CPU (SIGXCPU, then SIGKILL at +1 s hard) */
} SpawnRlimits;

/* Most keep_fds a request may pass. */
#define SPAWN_KEEP_FDS_MAX 64

typedef struct SpawnRequest {
	char *const *argv;            /* argv[0] an absolute path, exec'd as is: no shell, no PATH */
	char *const *envp;            /* the complete environment (NULL-terminated; may be empty) */
	int stdin_fd;                 /* becomes 0; -1: /dev/null. Any fd, CLOEXEC or not */
	int stdout_fd;                /* becomes 1; -1: /dev/null */
	int stderr_fd;                /* becomes 2; -1: /dev/null */
	const int *keep_fds; /* passed on purpose, kept at the same numbers (>= 3), CLOEXEC cleared */
	size_t n_keep_fds;            /* at most SPAWN_KEEP_FDS_MAX */
	const Cgroup *cgroup;         /* NULL: stay in the daemon's cgroup (tests only) */
	uid_t uid;                    /* the daughter's identity; 0 is refused */
	gid_t gid;                    /* its only group: no supplementary groups; 0 is refused */
	SpawnRlimits rlimits;
	int netns_fd;                 /* -1: the host network; else joined (netns_loopback_open()) */
	bool private_network;         /* a network namespace of its own (netns_fd must be -1), lo
	                               * brought up where the daemon holds CAP_NET_ADMIN */
	bool private_ipc;             /* an IPC namespace of its own (the default): SysV IPC and POSIX
	                               * message queues are its alone and die with it */
	bool hide_processes;          /* /proc again with hidepid=invisible: only its own uid's
	                               * processes (a mount namespace) */
	bool private_tmp;             /* fresh tmpfs (mode 1777) on /tmp and /var/tmp */
	bool read_only_system;        /* /usr /etc /boot /efi /opt (+ unmerged /bin /sbin /lib*): bound
	                               * read-only, submounts included */
	const char *working_directory; /* NULL: "/". Entered as the daughter's user, in its mounts */
	int landlock_fd;              /* -1: none; else a ruleset (landlock_ruleset_new()) the daughter
	                               * restricts itself with, after its namespaces */
	const LandlockDeferred *landlock_deferred; /* rules on its fresh mounts, added by the child */
	size_t n_landlock_deferred;
	const SeccompProgram *seccomp; /* NULL: none. Loaded last, just before execve */
	SpawnMethod method;
} SpawnRequest;

/* All fds -1 (stdio: /dev/null), no cgroup, no namespaces but a private IPC one, rlimits
 * unset except core = 0, uid/gid unset (spawn_daughter refuses them until set), method AUTO.
 * Whenever the daughter gets a mount namespace (private_tmp, read_only_system,
 * hide_processes), /dev/shm in it is a fresh tmpfs too. */
void spawn_request_init(SpawnRequest *r);

/*
 * Create the daughter and return once it has exec'd argv. On success
 * *ret_pid and *ret_pidfd (O_CLOEXEC; the caller owns it and must reap the
 * daughter, e.g. waitid(P_PIDFD)) are set and *ret_error (optional) is NULL.
 * On failure nothing is left running (a child that got as far as being
 * created is reaped), ret_pid/ret_pidfd are untouched, the return is a
 * negative errno and *ret_error a malloc'd line naming what failed:
 *   "argv[0]: not an absolute path"        the request (-EINVAL, -EBADF)
 *   "clone3: Operation not permitted"      creating the child
 *   "setresuid(61184): Operation not permitted", "setns: Invalid argument",
 *   "execve(/no/such): No such file or directory"   a step in the child
 *   "killed by SIGKILL before execve"      it died on the way (-ECANCELED)
 * (*ret_error is NULL if even that allocation failed.) One killed during or
 * after a successful execve is a success: its pidfd says how it ended.
 */
int spawn_daughter(const SpawnRequest *r, pid_t *ret_pid, int *ret_pidfd, char **ret_error);

/* Whether a daughter with private_network gets lo up (the daemon holds
 * CAP_NET_ADMIN), for the attempt's record of what it ran with. */
bool spawn_can_bring_up_loopback(void);
/* Whether the daemon may give a daughter namespaces at all (CAP_SYS_ADMIN):
 * without, even the private IPC namespace every daughter gets by default
 * cannot be made. */
bool spawn_can_make_namespaces(void);

/* The method AUTO stands for on this build. */
SpawnMethod spawn_method_default(void);
const char *spawn_method_to_string(SpawnMethod m);

/* ---- Internal: between spawn.c and spawn-child.c only ---------------------------------------- */

/* The steps of the child, in their order; each failure is reported as one. */
typedef enum SpawnStep {
	SPAWN_STEP_NONE,
	SPAWN_STEP_CGROUP_V1,      /* cgroup_child_join_v1, or a zygote's child's writes to the same fds */
	SPAWN_STEP_SIGNALS,        /* rt_sigprocmask / rt_sigaction */
	SPAWN_STEP_DEV_NULL,       /* open(/dev/null) */
	SPAWN_STEP_STDIO,          /* arg: target fd 0..2 */
	SPAWN_STEP_KEEP_FD,        /* arg: the fd */
	SPAWN_STEP_CLOSE_FDS,      /* close_range */
	SPAWN_STEP_SETSID,
	SPAWN_STEP_RLIMIT,         /* arg: RLIMIT_* */
	SPAWN_STEP_OOM_SCORE_ADJ,  /* /proc/self/oom_score_adj */
	SPAWN_STEP_NO_NEW_PRIVS,
	SPAWN_STEP_CAPBSET,        /* arg: the capability */
	SPAWN_STEP_AMBIENT,
	SPAWN_STEP_KEEPCAPS,
	SPAWN_STEP_SETGROUPS,
	SPAWN_STEP_SETRESGID,
	SPAWN_STEP_SETRESUID,
	SPAWN_STEP_CAPSET_ADMIN,   /* keep CAP_SYS_ADMIN only, for the namespaces */
	SPAWN_STEP_SETNS,
	SPAWN_STEP_UNSHARE_NS,     /* arg: the CLONE_NEW* flags */
	SPAWN_STEP_LOOPBACK,       /* lo up in a network namespace of its own */
	SPAWN_STEP_MOUNT_PRIVATE,
	SPAWN_STEP_MOUNT_TMP,      /* arg: index in spawn_tmp_paths */
	SPAWN_STEP_MOUNT_SHM,      /* tmpfs on /dev/shm */
	SPAWN_STEP_MOUNT_PROC,     /* proc on /proc, hidepid=invisible */
	SPAWN_STEP_BIND_RO,        /* arg: index in spawn_ro_paths */
	SPAWN_STEP_REMOUNT_RO,     /* arg: index in spawn_ro_paths */
	SPAWN_STEP_CAPS_DROP,
	SPAWN_STEP_CHDIR,
	SPAWN_STEP_LANDLOCK,
	SPAWN_STEP_SECCOMP,
	SPAWN_STEP_EXECVE,
	_SPAWN_STEP_MAX,
} SpawnStep;

/* What the child writes to the error pipe, one write(2) each: a failure, or
 * { SPAWN_STEP_EXECVE, 0 } just before execve. */
typedef struct SpawnReport {
	int32_t step;  /* SpawnStep */
	int32_t error; /* positive errno; 0: about to exec */
	int64_t arg;   /* see SpawnStep */
	int32_t pid;   /* a zygote's child: its pid (the zygote may die before it can say) */
	int32_t reserved;
} SpawnReport;

extern const char *const spawn_tmp_paths[];
extern const size_t spawn_n_tmp_paths;
extern const char *const spawn_ro_paths[];
extern const size_t spawn_n_ro_paths;

/* The checks every spawn passes first, whichever way it goes (a zygote's
 * too): 0, or negative errno with *ret_error saying which field is wrong. */
int spawn_request_validate(const SpawnRequest *r, char **ret_error);
/* spawn_daughter(), also saying on failure which step failed (SPAWN_STEP_NONE:
 * one of the parent's, before the child ran any), so that a caller can tell a
 * failure that would repeat (execve: ENOENT) from one that may not. */
int spawn_daughter_step(const SpawnRequest *r, pid_t *ret_pid, int *ret_pidfd, char **ret_error,
			SpawnStep *ret_step);

/* Everything the child needs, prepared by the parent: the child allocates nothing. */
typedef struct SpawnChild {
	const SpawnRequest *r;
	int error_fd;         /* write end of the error pipe, >= 3, O_CLOEXEC */
	int netns_fd;         /* our O_CLOEXEC copy (>= 3) of r->netns_fd, or -1 */
	int landlock_fd;      /* the same of r->landlock_fd */
	const int *keep;      /* sorted: r->keep_fds plus error_fd, netns_fd and landlock_fd */
	size_t n_keep;
	bool mount_ns;        /* private_tmp, read_only_system or hide_processes */
	bool net_admin;       /* the daemon holds CAP_NET_ADMIN: lo can be brought up */
	const int *join_fds;  /* a zygote's child: v1 cgroup.procs fds to write "0" to, first thing */
	size_t n_join_fds;
	const struct sock_fprog *filter; /* loaded last: the profile, or a zygote's dropped rules */
	bool zygote;          /* reports carry the pid */
} SpawnChild;

/* The calls a zygote and its children make under the zygote's variant of a profile: the
 * rules the profile has for them are split off (seccomp.h). NULL-terminated. */
extern const char *const spawn_zygote_syscalls[];

/* The text of a failed step, as spawn_daughter() gives it (r: the request it was for). */
int spawn_report_error(const SpawnRequest *r, const SpawnReport *rep, char **ret_error);

/* The child: runs the steps and execs, or reports and returns 127 (the caller _exits). */
int spawn_child_run(void *spawn_child);
struct clone_args; /* <linux/sched.h> */
/*
 * clone3(a) with the child running spawn_child_run(c) and exiting with its result:
 * vfork-style on stack (stack_size bytes, its lowest address) where this architecture has
 * the trampoline (x86_64), else, or with stack NULL, fork-style. Raw system calls only, so
 * a zygote (a fork of the multithreaded daemon) may use it too. The pid, or -errno.
 */
long spawn_clone3_run(struct clone_args *a, SpawnChild *c, uint8_t *stack, size_t stack_size);
