/* SPDX-License-Identifier: MIT */
/*
 * One live daughter: how it is started and watched until its cgroup is empty.
 *
 * Sources per daughter, all in the daemon's sd-event loop:
 *   pidfd         readable when the main process exits: reaped with waitid(P_PIDFD)
 *   cgroup.events EPOLLPRI when "populated" flips: the attempt ends at 0, so
 *                 grandchildren (double-forked, setsid) are waited for too
 *   stdout/stderr pipes into per-attempt files, kept up to output_max each
 *   notify        a datagram socket of its own, so sd_notify(3) and
 *                 systemd-notify work unchanged: WATCHDOG=1 is a heartbeat
 *   timers        TTL and heartbeat deadlines; then SIGTERM, grace, cgroup.kill
 * A daughter is identified by its pidfd and its cgroup, never by a pid number.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/netns.h"
#include "runner-internal.h"
#include "sandbox/uidlock.h"
#include "sandbox/spawn.h"

#define KILL_STUCK_USEC (5 * USEC_PER_SEC) /* after cgroup.kill, give up waiting for "populated 0" */
#define LEGACY_POLL_USEC (20 * USEC_PER_MSEC)
/* sd-event's default timer slack is 250 ms; deadlines here are meant to the millisecond. */
#define TIMER_ACCURACY USEC_PER_MSEC

static void check_done(Hija *h);

static sd_event *loop(const Hija *h)
{
	return h->runner->env.event;
}

/* ---- Output ------------------------------------------------------------------------------- */

static const char *const stream_names[_OUT_MAX] = { "stdout", "stderr" };

static void output_keep(Hija *h, int i, const char *buf, size_t n)
{
	Output *o = &h->out[i];

	/* The tail ring sees everything, also what the file no longer takes. */
	for (size_t k = n > OUTPUT_TAIL_MAX ? n - OUTPUT_TAIL_MAX : 0; k < n; k++) {
		o->tail[o->tail_pos] = buf[k];
		o->tail_pos = (o->tail_pos + 1) % OUTPUT_TAIL_MAX;
		if (o->tail_len < OUTPUT_TAIL_MAX)
			o->tail_len++;
	}
	if (o->kept >= o->max) {
		o->dropped += n;
		return;
	}
	size_t take = MIN(n, (size_t)(o->max - o->kept));
	if (o->file_fd < 0) {
		_cleanup_free_ char *path = runner_output_path(h->runner, h->a.id, stream_names[i]);
		o->file_fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
		if (o->file_fd < 0) {
			log_warning_errno(errno, "daughter %s: cannot keep its %s: %m", h->d.id, stream_names[i]);
			o->kept = o->max; /* do not try again for every chunk */
			o->dropped += n;
			return;
		}
	}
	ssize_t w = write(o->file_fd, buf, take);
	if (w > 0)
		o->kept += (uint64_t)w;
	o->dropped += n - (w > 0 ? (size_t)w : 0);
}

void hija_keep_tails(Hija *h)
{
	Store *s = h->runner->env.store;

	if (!store_is_fleet(s))
		return;
	for (int i = 0; i < _OUT_MAX; i++) {
		_cleanup_free_ char *path = runner_output_path(h->runner, h->a.id, stream_names[i]);
		_cleanup_free_ char *buf = malloc(LOG_TAIL_BYTES);
		_cleanup_close_ int fd = -1;
		struct stat st = {};
		ssize_t n = 0;
		off_t from;

		if (!path || !buf)
			return;
		/* None written: kept as empty, so a reader elsewhere sees the end. */
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0) {
			from = st.st_size > LOG_TAIL_BYTES ? st.st_size - LOG_TAIL_BYTES : 0;
			n = pread(fd, buf, (size_t)(st.st_size - from), from);
		}
		if (n < 0)
			n = 0;
		if (store_attempt_log_put(s, h->task_id, h->a.number, stream_names[i], (uint64_t)st.st_size, buf,
					  (size_t)n) < 0) {
			log_warning("daughter %s: its %s tail is not kept for the other nodes: %s", h->d.id,
				    stream_names[i], store_last_error(s));
			return;
		}
	}
}

/* Read what is there, at most a few chunks per wake-up so one chatty daughter
 * cannot hold the loop. Returns true at EOF. */
static bool output_read(Hija *h, int i, int max_chunks)
{
	Output *o = &h->out[i];
	char buf[65536];

	for (int k = 0; o->pipe_fd >= 0 && k < max_chunks; k++) {
		ssize_t n = read(o->pipe_fd, buf, sizeof buf);
		if (n > 0) {
			output_keep(h, i, buf, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EINTR))
			continue;
		if (n < 0 && errno == EAGAIN)
			return false;
		/* EOF, or an error that will not go away. */
		o->source = sd_event_source_disable_unref(o->source);
		o->pipe_fd = safe_close(o->pipe_fd);
		return true;
	}
	return o->pipe_fd < 0;
}

static int on_output(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	Hija *h = userdata;
	int i = fd == h->out[OUT_STDOUT].pipe_fd ? OUT_STDOUT : OUT_STDERR;

	(void)output_read(h, i, 4);
	return 0;
}

void hija_drain(Hija *h)
{
	/* Once the cgroup is empty no writer is left, unless the daughter handed
	 * its pipe to someone outside: read what is buffered, then stop. */
	for (int i = 0; i < _OUT_MAX; i++) {
		(void)output_read(h, i, 64);
		h->out[i].source = sd_event_source_disable_unref(h->out[i].source);
		h->out[i].pipe_fd = safe_close(h->out[i].pipe_fd);
		h->out[i].file_fd = safe_close(h->out[i].file_fd);
	}
}

char *hija_output_tail(const Hija *h, int stream)
{
	const Output *o = &h->out[stream];
	char *s = malloc(o->tail_len + 1);
	size_t start = (o->tail_pos + OUTPUT_TAIL_MAX - o->tail_len) % OUTPUT_TAIL_MAX;

	if (!s)
		return NULL;
	for (size_t k = 0; k < o->tail_len; k++)
		s[k] = o->tail[(start + k) % OUTPUT_TAIL_MAX] ?: ' '; /* no NUL inside a JSON string */
	s[o->tail_len] = 0;
	utf8_scrub(s);
	return s;
}

/* ---- Heartbeats and notify ------------------------------------------------------------------ */

void hija_heartbeat(Hija *h)
{
	uint64_t now = now_realtime_usec();

	/* The deadline moves every time; the row at most once a second, so a
	 * daughter sending heartbeats in a loop costs the store nothing much. */
	h->d.last_heartbeat_at = now;
	if (h->rows_written && now >= h->heartbeat_persisted + USEC_PER_SEC) {
		h->heartbeat_persisted = now;
		runner_fenced(h->runner, h->task_id, store_daughter_heartbeat(h->runner->env.store, h->d.id, now));
	}
	if (h->hb_timer && h->kill_reason == KILL_NONE) {
		(void)sd_event_source_set_time_relative(h->hb_timer, h->hb_usec);
		(void)sd_event_source_set_enabled(h->hb_timer, SD_EVENT_ONESHOT);
	}
}

/* ---- Deadlines and kills -------------------------------------------------------------------- */

static int on_kill_stuck(sd_event_source *s, uint64_t usec, void *userdata)
{
	Hija *h = userdata;

	/* A process in uninterruptible sleep can hold a cgroup for a long time.
	 * Settle the attempt anyway; cgroup_release() keeps the cgroup aside
	 * until it empties, so it is never reused while occupied. */
	log_error("daughter %s: cgroup %s still not empty %u s after it was killed; giving up on it", h->d.id,
		  cgroup_name(h->cgroup), (unsigned)(KILL_STUCK_USEC / USEC_PER_SEC));
	if (!h->exited) {
		h->exited = true;
		h->si.si_code = CLD_KILLED;
		h->si.si_status = SIGKILL;
	}
	h->empty = true;
	check_done(h);
	return 0;
}

static void kill_cgroup_now(Hija *h)
{
	int r = cgroup_kill(h->cgroup);
	if (r < 0)
		log_error_errno(r, "daughter %s: cannot kill cgroup %s: %m", h->d.id, cgroup_name(h->cgroup));
	h->kill_timer = sd_event_source_disable_unref(h->kill_timer);
	(void)sd_event_add_time_relative(loop(h), &h->kill_timer, CLOCK_MONOTONIC, KILL_STUCK_USEC, TIMER_ACCURACY, on_kill_stuck, h);
}

static int on_grace_over(sd_event_source *s, uint64_t usec, void *userdata)
{
	kill_cgroup_now(userdata);
	return 0;
}

void hija_kill(Hija *h, KillReason why)
{
	if (h->finished)
		return;
	/* The first reason wins, but a cancel says what the task became. */
	if (h->kill_reason == KILL_NONE || why == KILL_CANCEL)
		h->kill_reason = why;
	if (h->spawning)
		return; /* acted on once the spawner hands it back */
	h->ttl_timer = sd_event_source_disable_unref(h->ttl_timer);
	h->hb_timer = sd_event_source_disable_unref(h->hb_timer);

	bool now = why == KILL_CANCEL || why == KILL_SHUTDOWN || why == KILL_FENCED || h->exited || h->grace_usec == 0;
	if (!now) {
		if (h->kill_timer)
			return; /* already in its grace period */
		/* The main process first, politely; the whole cgroup after the grace. */
		if (syscall(SYS_pidfd_send_signal, h->pidfd, SIGTERM, NULL, 0) < 0 && errno != ESRCH)
			log_warning_errno(errno, "daughter %s: cannot send SIGTERM: %m", h->d.id);
		(void)sd_event_add_time_relative(loop(h), &h->kill_timer, CLOCK_MONOTONIC, h->grace_usec, TIMER_ACCURACY,
						 on_grace_over, h);
		return;
	}
	kill_cgroup_now(h);
}

static int on_ttl(sd_event_source *s, uint64_t usec, void *userdata)
{
	Hija *h = userdata;

	log_info("daughter %s of task %s: TTL of %" PRIu64 " s reached, stopping it", h->d.id, h->task_id,
		 h->ttl_usec / USEC_PER_SEC);
	hija_kill(h, KILL_TTL);
	return 0;
}

static int on_heartbeat_missed(sd_event_source *s, uint64_t usec, void *userdata)
{
	Hija *h = userdata;

	log_info("daughter %s of task %s: no heartbeat for %" PRIu64 " s, stopping it", h->d.id, h->task_id,
		 h->hb_usec / USEC_PER_SEC);
	hija_kill(h, KILL_HEARTBEAT);
	return 0;
}

/* ---- The end: reaped and empty -------------------------------------------------------------- */

static void check_done(Hija *h)
{
	if (!h->exited || !h->empty || h->finished)
		return;
	h->finished = true;
	h->poll_timer = sd_event_source_disable_unref(h->poll_timer);
	h->kill_timer = sd_event_source_disable_unref(h->kill_timer);
	hija_drain(h);
	runner_attempt_ended(h);
}

static void check_empty(Hija *h)
{
	int r = cgroup_is_populated(h->cgroup);
	if (r == 0)
		h->empty = true;
	else if (r < 0) {
		log_warning_errno(r, "daughter %s: cannot read cgroup %s: %m", h->d.id, cgroup_name(h->cgroup));
		h->empty = true; /* gone: nothing left to wait for */
	}
}

static int on_legacy_poll(sd_event_source *s, uint64_t usec, void *userdata)
{
	Hija *h = userdata;

	check_empty(h);
	if (!h->empty) {
		(void)sd_event_source_set_time_relative(s, LEGACY_POLL_USEC);
		(void)sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
		return 0;
	}
	check_done(h);
	return 0;
}

static int on_cgroup_event(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	Hija *h = userdata;

	check_empty(h);
	if (h->empty)
		h->cgroup_source = sd_event_source_disable_unref(h->cgroup_source);
	check_done(h);
	return 0;
}

static int on_child(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	Hija *h = userdata;
	siginfo_t si = {};

	if (waitid(P_PIDFD, (id_t)h->pidfd, &si, WEXITED | WNOHANG) < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		log_error_errno(errno, "daughter %s: waitid: %m", h->d.id);
		si.si_code = CLD_KILLED;
		si.si_status = SIGKILL;
	} else if (si.si_pid == 0)
		return 0; /* not yet */
	h->si = si;
	h->exited = true;
	h->child_source = sd_event_source_disable_unref(h->child_source);

	if (!h->empty) {
		check_empty(h);
		if (!h->empty && cgroup_events_fd(h->cgroup) < 0 && !h->poll_timer)
			(void)sd_event_add_time_relative(loop(h), &h->poll_timer, CLOCK_MONOTONIC, LEGACY_POLL_USEC, TIMER_ACCURACY,
							 on_legacy_poll, h);
	}
	/* The main process is gone, so the grace period has no one to spare. */
	if (h->kill_reason != KILL_NONE && !h->empty)
		kill_cgroup_now(h);
	check_done(h);
	return 0;
}

/* ---- Start ---------------------------------------------------------------------------------- */

static bool uid_used_here(uid_t uid, void *userdata)
{
	for (Hija *o = ((Runner *)userdata)->hijas; o; o = o->hijas_next)
		if (o->uid == uid)
			return true;
	return false;
}

/* A uid of the range that no daughter of any vx11d on this host runs under
 * (uidlock.h), held by h until its cgroup is empty. */
static uid_t pick_dynamic_uid(Hija *h, const Policy *p, int *ret_error)
{
	Runner *r = h->runner;
	uid_t uid = uid_lock_acquire(&r->uid_locks, p->dynamic_uids.first, p->dynamic_uids.last, &r->next_uid,
				     uid_used_here, r, &h->uid_lock_fd);

	*ret_error = uid == (uid_t)-1 ? h->uid_lock_fd : 0;
	if (uid == (uid_t)-1)
		h->uid_lock_fd = -1;
	return uid;
}

/* The task's "filesystem", "tcp" and "scope" as one Landlock ruleset for the
 * child. Fail closed: a strict task type is refused on a kernel that cannot
 * restrict all it asks; a best-effort one runs with what the kernel can, and
 * says what not. */
static int prepare_landlock(Hija *h, const PolicyTask *pt, char **ret_error)
{
	int abi = h->runner->landlock_abi;
	bool scope = pt->scope_abstract_unix || pt->scope_signal;
	char lacks[256] = "";
	LandlockPaths paths = {
		.fs = pt->fs.set, .read = pt->fs.read, .write = pt->fs.write, .exec = pt->fs.exec,
		/* The policy's own program may always run; a caller's only where
		 * the type's "filesystem" lets it, or the allow-list would let a
		 * caller run any one file it liked. */
		.argv0 = pt->command_caller ? NULL : h->argv[0],
		.tcp = pt->tcp.set, .tcp_bind = pt->tcp.bind, .n_tcp_bind = pt->tcp.n_bind,
		.tcp_connect = pt->tcp.connect, .n_tcp_connect = pt->tcp.n_connect,
		.scope_abstract_unix = pt->scope_abstract_unix, .scope_signal = pt->scope_signal,
	};
#define LACKS(cond, what)                                                                                  \
	do {                                                                                               \
		if (cond)                                                                                  \
			snprintf(lacks + strlen(lacks), sizeof lacks - strlen(lacks), "%s%s", *lacks ? ", " : "", what); \
	} while (0)

	if (!pt->fs.set && !pt->tcp.set && !scope)
		return 0;
	LACKS(pt->fs.set && abi < 1, "filesystem (no Landlock in this kernel)");
	LACKS(pt->fs.set && abi >= 1 && abi < LANDLOCK_ABI_FULL, "filesystem.truncate (Landlock ABI < 3)");
	LACKS(pt->tcp.set && abi < LANDLOCK_ABI_TCP, "tcp (Landlock ABI < 4)");
	LACKS(scope && abi < LANDLOCK_ABI_SCOPE, "scope (Landlock ABI < 6)");
#undef LACKS
	if (*lacks && pt->enforce == ENFORCE_STRICT)
		return asprintf(ret_error, "%s, and the task type is strict", lacks) < 0 ? -ENOMEM : -EOPNOTSUPP;
	if (*lacks) {
		char *u = NULL;
		if (asprintf(&u, "%s%s%s", h->a.unapplied ?: "", h->a.unapplied ? ", " : "", lacks) < 0)
			return -ENOMEM;
		free(h->a.unapplied);
		h->a.unapplied = u;
	}
	/* What this kernel can apply at all: nothing at ABI 0, nor a scope or
	 * ports alone below their ABI. */
	if (abi < 1 || (!pt->fs.set && (!pt->tcp.set || abi < LANDLOCK_ABI_TCP) && (!scope || abi < LANDLOCK_ABI_SCOPE)))
		return 0;
	/* What its child may mount afresh (spawn-child.c): rules there are its
	 * own to add (one on a path it did not remount comes to the same). */
	static const char *const remounted[] = { "/tmp", "/var/tmp", "/dev/shm", "/proc", NULL };
	if (pt->private_tmp || pt->read_only_system || pt->hide_processes)
		paths.remounted = remounted;
	int k = landlock_ruleset_new(&paths, abi, &h->landlock_fd, h->landlock_deferred, &h->req.n_landlock_deferred,
				     ret_error);
	if (k < 0)
		return k;
	h->req.landlock_fd = h->landlock_fd;
	h->req.landlock_deferred = h->landlock_deferred;
	return 0;
}

static int resolve_user(Hija *h, const Task *t, const PolicyTask *pt, char **ret_error)
{
	if (pt->user_caller) {
		/* The submitter's own uid and primary group, looked up now: never
		 * root, never a uid without a user (intent.submit refuses uid 0
		 * already; this is the last word). */
		errno = 0;
		struct passwd *pw = getpwuid(t->uid);
		if (!pw)
			return asprintf(ret_error, "user: the caller's uid %u has no user on this host",
					(unsigned)t->uid) < 0 ? -ENOMEM : -ENOENT;
		if (pw->pw_uid == 0 || pw->pw_gid == 0)
			return asprintf(ret_error, "user: the caller is root; daughters never run as uid or gid 0") < 0
				       ? -ENOMEM
				       : -EPERM;
		h->uid = pw->pw_uid;
		h->gid = pw->pw_gid;
		return 0;
	}
	if (!pt->user) {
		int k;
		h->uid = pick_dynamic_uid(h, h->runner->env.policy, &k);
		if (h->uid == (uid_t)-1 && k == -EBUSY)
			return asprintf(ret_error, "user: every uid of dynamic_uid_range is in use (on this host)") < 0
				       ? -ENOMEM
				       : -EBUSY;
		if (h->uid == (uid_t)-1)
			return asprintf(ret_error, "user: cannot lock a dynamic uid under %s: %s", h->runner->uid_locks.dir,
					strerror(-k)) < 0
				       ? -ENOMEM
				       : k;
		h->gid = (gid_t)h->uid;
		return 0;
	}
	errno = 0;
	struct passwd *pw = getpwnam(pt->user);
	if (!pw)
		return asprintf(ret_error, "user: no user \"%s\" on this host", pt->user) < 0 ? -ENOMEM : -ENOENT;
	if (pw->pw_uid == 0 || pw->pw_gid == 0)
		return asprintf(ret_error, "user: \"%s\" is root; daughters never run as uid or gid 0", pt->user) < 0
			       ? -ENOMEM
			       : -EPERM;
	h->uid = pw->pw_uid;
	h->gid = pw->pw_gid;
	return 0;
}

/* stdin: the intent as JSON, in a memory file, so a daughter that never
 * reads it cannot block the daemon the way a full pipe would. */
static int make_stdin(const Task *t, const Hija *h, int *ret_fd)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	_cleanup_close_ int fd = -1;
	const char *text;
	size_t len;

	json_object_object_add(o, "task_id", json_object_new_string(t->id));
	json_object_object_add(o, "correlation_id", json_object_new_string(t->intent_id));
	json_object_object_add(o, "task_type", json_object_new_string(t->task_type));
	json_object_object_add(o, "text", t->description ? json_object_new_string(t->description) : NULL);
	json_object_object_add(o, "payload", t->payload_json ? json_tokener_parse(t->payload_json) : NULL);
	json_object_object_add(o, "source", json_object_new_string(t->source));
	json_object_object_add(o, "priority", json_object_new_int(t->priority));
	json_object_object_add(o, "attempt", json_object_new_int(h->a.number));
	json_object_object_add(o, "mutation_level", json_object_new_int(t->mutation_level));
	/* The plan it runs with (switch.md), null when it was not planned. */
	json_object_object_add(o, "plan", t->plan_json ? json_tokener_parse(t->plan_json) : NULL);
	json_object_object_add(o, "degraded", json_object_new_boolean(t->degraded));
	text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	fd = memfd_create("vx11-intent", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
		return errno ? -errno : -EIO;
	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static void limits_from_policy(const PolicyLimits *l, CgroupLimits *cl, SpawnRlimits *rl)
{
	*cl = CGROUP_LIMITS_NONE;
	cl->memory_max = l->memory_max;
	cl->pids_max = l->pids_max;
	cl->cpu_max_pct = l->cpu_max;
	rl->nofile = l->nofile < 0 ? SPAWN_RLIMIT_UNSET : (uint64_t)l->nofile;
	rl->fsize = l->fsize;
	rl->core = l->core;
	rl->cpu = l->cpu_seconds < 0 ? SPAWN_RLIMIT_UNSET : (uint64_t)l->cpu_seconds;
}

static int fail(char **ret_error, int r, const char *what)
{
	if (asprintf(ret_error, "%s: %s", what, strerror(r < 0 ? -r : r)) < 0)
		*ret_error = NULL;
	return r < 0 ? r : -r;
}

int hija_prepare(Hija *h, const Task *t, const PolicyTask *pt, const SeccompProgram *prog, char **ret_error)
{
	Runner *r = h->runner;
	_cleanup_free_ char *unapplied = NULL, *cg_error = NULL;
	SpawnRequest *req = &h->req;
	CgroupLimits cl;
	int k;

	spawn_request_init(req);
	limits_from_policy(&pt->limits, &cl, &req->rlimits);
	if (!r->cgroups)
		return asprintf(ret_error, "cgroup: %s", r->cgroup_problem ?: "no cgroup hierarchy") < 0 ? -ENOMEM
													  : -EOPNOTSUPP;
	k = resolve_user(h, t, pt, ret_error);
	if (k < 0)
		return k;
	h->a.uid = h->uid;

	/* Fail closed: a strict task refuses the limits the host cannot apply. */
	k = cgroup_acquire(r->cgroups, &cl, &h->cgroup, pt->enforce == ENFORCE_BEST_EFFORT ? &unapplied : NULL,
			   &cg_error);
	if (k < 0) {
		if (asprintf(ret_error, "cgroup: %s", cg_error ?: strerror(-k)) < 0)
			*ret_error = NULL;
		return k;
	}
	h->a.cgroup = strdup(cgroup_name(h->cgroup));
	h->a.unapplied = TAKE_PTR(unapplied);
	/* Its uid stays taken while this cgroup has processes, whatever happens to us. */
	if (h->uid_lock_fd >= 0 && (k = uid_lock_set_cgroup(h->uid_lock_fd, cgroup_path(h->cgroup))) < 0)
		return fail(ret_error, k, "uid lock");

	if (pt->private_network)
		req->private_network = true;
	else if (!pt->network) {
		if (r->netns_fd < 0) {
			struct stat a, b;
			if ((k = netns_loopback_open(&r->netns_fd)) < 0)
				return fail(ret_error, k, "network namespace");
			r->netns_is_own = fstat(r->netns_fd, &a) == 0 && stat("/proc/self/ns/net", &b) == 0 &&
					  a.st_ino == b.st_ino && a.st_dev == b.st_dev;
		}
		req->netns_fd = r->netns_fd;
	}
	k = make_stdin(t, h, &h->stdin_fd);
	if (k < 0)
		return fail(ret_error, k, "stdin");
	for (int i = 0; i < _OUT_MAX; i++) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0)
			return fail(ret_error, -errno, "pipe");
		h->out[i].pipe_fd = p[0];
		h->out_w[i] = p[1];
		h->out[i].max = pt->output_max;
		(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	}

	k = hija_command_prepare(h, t, pt, ret_error);
	if (k < 0)
		return k == -ENOMEM && !*ret_error ? fail(ret_error, k, "command") : k;

	req->argv = h->argv;
	req->working_directory = h->cwd;
	k = prepare_landlock(h, pt, ret_error);
	if (k < 0)
		return k;
	req->envp = h->env;
	req->stdin_fd = h->stdin_fd;
	req->stdout_fd = h->out_w[OUT_STDOUT];
	req->stderr_fd = h->out_w[OUT_STDERR];
	req->cgroup = h->cgroup;
	req->uid = h->uid;
	req->gid = h->gid;
	req->private_tmp = pt->private_tmp;
	req->hide_processes = pt->hide_processes;
	/* Not asked by the policy, so not a reason to refuse the daughter where
	 * the daemon cannot make namespaces (no CAP_SYS_ADMIN): the record says so. */
	if (!spawn_can_make_namespaces()) {
		char *u = NULL;
		req->private_ipc = false;
		if (asprintf(&u, "%s%sipc namespace (no CAP_SYS_ADMIN)", h->a.unapplied ?: "",
			     h->a.unapplied ? ", " : "") < 0)
			return fail(ret_error, -ENOMEM, "unapplied");
		free(h->a.unapplied);
		h->a.unapplied = u;
	}
	/* With a mount namespace its /dev/shm is its own (spawn.h). */
	h->clean_shm = !pt->user && !(pt->private_tmp || pt->read_only_system || pt->hide_processes);
	req->read_only_system = pt->read_only_system;
	req->seccomp = prog;
	free(h->a.confinement);
	h->a.confinement = hija_confinement_json(h, pt);
	free(h->d.tools_json);
	h->d.tools_json = hija_tools_json(h, pt);
	return 0;
}

void hija_spawn_done(Hija *h)
{
	/* The daughter has its copies; ours would keep its pipes open forever. */
	h->stdin_fd = safe_close(h->stdin_fd);
	h->landlock_fd = safe_close(h->landlock_fd);
	for (int i = 0; i < _OUT_MAX; i++)
		h->out_w[i] = safe_close(h->out_w[i]);
}

int hija_watch(Hija *h)
{
	int k;

	/* Level-triggered sources catch an exit that already happened. */
	k = sd_event_add_io(loop(h), &h->child_source, h->pidfd, EPOLLIN, on_child, h);
	if (k >= 0 && cgroup_events_fd(h->cgroup) >= 0)
		k = sd_event_add_io(loop(h), &h->cgroup_source, cgroup_events_fd(h->cgroup), EPOLLPRI, on_cgroup_event, h);
	for (int i = 0; k >= 0 && i < _OUT_MAX; i++)
		k = sd_event_add_io(loop(h), &h->out[i].source, h->out[i].pipe_fd, EPOLLIN, on_output, h);
	/* Deadlines count from the moment it runs. */
	if (k >= 0 && h->ttl_usec > 0)
		k = sd_event_add_time_relative(loop(h), &h->ttl_timer, CLOCK_MONOTONIC, h->ttl_usec, TIMER_ACCURACY, on_ttl, h);
	if (k >= 0 && h->hb_usec > 0)
		k = sd_event_add_time_relative(loop(h), &h->hb_timer, CLOCK_MONOTONIC, h->hb_usec, TIMER_ACCURACY,
					       on_heartbeat_missed, h);
	if (k < 0) {
		/* It runs but cannot be watched: stop it rather than leave it unsupervised. */
		log_error_errno(k, "daughter %s: cannot watch it: %m; killing it", h->d.id);
		hija_kill(h, KILL_SHUTDOWN);
	}
	return k;
}

void hija_release(Hija *h)
{
	h->child_source = sd_event_source_disable_unref(h->child_source);
	h->cgroup_source = sd_event_source_disable_unref(h->cgroup_source);
	h->ttl_timer = sd_event_source_disable_unref(h->ttl_timer);
	h->hb_timer = sd_event_source_disable_unref(h->hb_timer);
	h->kill_timer = sd_event_source_disable_unref(h->kill_timer);
	h->poll_timer = sd_event_source_disable_unref(h->poll_timer);
	h->landlock_fd = safe_close(h->landlock_fd);
	for (int i = 0; i < _OUT_MAX; i++) {
		h->out[i].source = sd_event_source_disable_unref(h->out[i].source);
		h->out[i].pipe_fd = safe_close(h->out[i].pipe_fd);
		h->out[i].file_fd = safe_close(h->out[i].file_fd);
	}
	if (h->pidfd >= 0) {
		/* Never leave a zombie: a daughter not yet reaped is killed and reaped. */
		if (!h->exited) {
			siginfo_t si;
			(void)syscall(SYS_pidfd_send_signal, h->pidfd, SIGKILL, NULL, 0);
			(void)waitid(P_PIDFD, (id_t)h->pidfd, &si, WEXITED);
		}
		close(h->pidfd);
		h->pidfd = -1;
	}
	hija_spawn_done(h);
	for (char **a = h->argv; a && *a; a++)
		free(*a);
	free(h->argv);
	h->argv = NULL;
	for (char **e = h->env; e && *e; e++)
		free(*e);
	free(h->env);
	h->env = NULL;
	free(h->cwd);
	h->cwd = NULL;
	free(h->spawn_error);
	h->spawn_error = NULL;
	if (h->cgroup)
		cgroup_release(h->runner->cgroups, h->cgroup);
	h->cgroup = NULL;
	/* After the cgroup: a uid is free only once nothing runs under it. */
	h->uid_lock_fd = uid_lock_release(h->uid_lock_fd);
}

void hija_free(Hija *h)
{
	if (!h)
		return;
	hija_release(h);
	free(h->source);
	free(h->task_type);
	daughter_done(&h->d);
	attempt_done(&h->a);
	free(h);
}
