/* SPDX-License-Identifier: MIT */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "manager.h"

#define CKPT_WAL_PAGES 4000          /* ~16 MiB of WAL: checkpoint soon */
#define CKPT_IDLE_USEC (2 * USEC_PER_SEC)
#define COMMIT_PACE_USEC (10 * USEC_PER_MSEC)

static void *checkpoint_thread(void *userdata)
{
	Manager *m = userdata;
	Store *s = NULL;
	int r;

	/* Its own connection: SQLite connections are not shared across threads here. */
	r = store_open(m->db_path, &s);
	if (r < 0) {
		log_warning_errno(r, "checkpoint thread cannot open %s: %m; checkpoints run at exit only", m->db_path);
		return NULL;
	}
	/* Asleep until asked: the loop asks when the WAL passed a size or the
	 * daemon has been idle a while after writing (on_ckpt_idle), never on
	 * a clock of its own, so an idle daemon does no I/O at all. */
	pthread_mutex_lock(&m->ckpt_lock);
	while (!m->ckpt_stop) {
		while (!m->ckpt_wanted && !m->ckpt_stop)
			pthread_cond_wait(&m->ckpt_cond, &m->ckpt_lock);
		if (m->ckpt_stop)
			break;
		m->ckpt_wanted = false;
		pthread_mutex_unlock(&m->ckpt_lock);
		(void)store_checkpoint(s);
		pthread_mutex_lock(&m->ckpt_lock);
	}
	pthread_mutex_unlock(&m->ckpt_lock);
	store_free(s);
	return NULL;
}

static void manager_want_checkpoint(Manager *m)
{
	pthread_mutex_lock(&m->ckpt_lock);
	m->ckpt_wanted = true;
	pthread_cond_signal(&m->ckpt_cond);
	pthread_mutex_unlock(&m->ckpt_lock);
}

/* CKPT_IDLE_USEC after the last commit (re-armed while commits go on):
 * the WAL is checkpointed while nobody waits. */
static int on_ckpt_idle(sd_event_source *src, uint64_t usec, void *userdata)
{
	Manager *m = userdata;

	if (m->last_commit + CKPT_IDLE_USEC > usec) {
		(void)sd_event_source_set_time(src, m->last_commit + CKPT_IDLE_USEC);
		(void)sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
		return 0;
	}
	manager_want_checkpoint(m);
	return 0;
}

/* After a commit: a big WAL is checkpointed now, any other once idle. */
static void manager_after_commit(Manager *m)
{
	int enabled = SD_EVENT_OFF;

	if (store_wal_pages(m->store) > CKPT_WAL_PAGES) {
		manager_want_checkpoint(m);
		return;
	}
	if (!m->ckpt_idle) {
		(void)sd_event_add_time(m->event, &m->ckpt_idle, CLOCK_MONOTONIC, m->last_commit + CKPT_IDLE_USEC,
					100 * USEC_PER_MSEC, on_ckpt_idle, m);
		return;
	}
	/* Armed already: it re-arms itself from last_commit when it fires. */
	(void)sd_event_source_get_enabled(m->ckpt_idle, &enabled);
	if (enabled == SD_EVENT_OFF) {
		(void)sd_event_source_set_time(m->ckpt_idle, m->last_commit + CKPT_IDLE_USEC);
		(void)sd_event_source_set_enabled(m->ckpt_idle, SD_EVENT_ONESHOT);
	}
}

typedef struct LoadWalk {
	Manager *m;
	char last[ID_STRING_MAX];
	unsigned n;
	int r;
} LoadWalk;

static int load_runnable(const Task *t, void *userdata)
{
	LoadWalk *w = userdata;
	Id id;

	snprintf(w->last, sizeof(w->last), "%s", t->id);
	w->n++;
	if (id_from_string(t->id, &id) < 0)
		return 0;
	/* Planned first (planner.c), then queued. */
	if (t->status == TASK_PLANNING)
		return 0;
	/* A retry waits out its backoff, also across a restart; a planned task's
	 * retry goes through the retry timer even when it is due, so that it is
	 * planned again (runner hook replan) like any other retry. */
	if (t->status == TASK_RETRYING && (t->next_attempt_at > now_realtime_usec() || t->provider))
		w->r = queue_push(w->m->retry_queue, &id, 0, t->next_attempt_at, t->next_attempt_at);
	else
		w->r = queue_push(w->m->queue, &id, t->priority, t->seq, 0);
	return w->r == -ENOMEM ? w->r : 0;
}

/* Counts and the run queue are caches of the store: (re)build them from it. */
static int manager_load_state(Manager *m)
{
	LoadWalk w = { .m = m };
	TaskFilter f = {
		.status_mask = (1u << TASK_PENDING) | (1u << TASK_PLANNING) | (1u << TASK_RETRYING),
		.uid = (uid_t)-1,
		.limit = 10000,
	};
	int r;

	r = store_task_count_by_status(m->store, m->task_counts);
	if (r < 0)
		return log_error_errno(r, "cannot count tasks: %s", store_last_error(m->store));

	/* Emptied in place: the runner holds these queues. */
	QueueEntry e;
	while (queue_pop(m->queue, &e))
		;
	while (queue_pop(m->retry_queue, &e))
		;
	do {
		w.n = 0;
		f.after = w.last[0] ? w.last : NULL;
		r = store_task_list(m->store, &f, load_runnable, &w);
		if (r < 0)
			return log_error_errno(r, "cannot load queued tasks: %s", store_last_error(m->store));
	} while (w.n == f.limit);
	return 0;
}

/*
 * hold: the sync ticket of this iteration's durable commit, or 0. What this
 * iteration queued waits for that sync (a QUEUED reply must not overtake its
 * task's durability); output of later iterations that committed nothing
 * durable goes at once, except behind older held output on the same
 * connection (replies leave in request order). So while the disk syncs, the
 * loop goes on reading, answering and committing the next batch.
 */
static void release_output(Manager *m, bool withdrawn, uint64_t hold)
{
	/* Log lines first, so a line never trails the reply it describes. */
	if (!log_to_journal())
		fflush(stderr);
	if (m->listener.release)
		m->listener.release(m->listener.userdata, withdrawn, hold);
}

/* Before anything else uses the store: a reconnect would hide the outage. */
static void manager_note_withdrawal(Manager *m)
{
	const char *down = store_unavailable(m->store);

	m->withdrawn_outage = down != NULL;
	snprintf(m->withdrawn_why, sizeof m->withdrawn_why, "%s", down ?: store_last_error(m->store));
}

static int on_synced(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	Manager *m = userdata;
	uint64_t done, failed;
	bool failed_now;

	(void)store_synced(m->store, &done, &failed);
	failed_now = failed > m->sync_failed;
	if (failed_now) {
		/* The rows are committed but maybe not on the disk: nobody is told
		 * of them, and the caches are rebuilt from what the store holds. */
		log_error("sync of committed writes failed: %s; withdrawing %s", store_last_error(m->store),
			  "the replies that waited for it");
		manager_note_withdrawal(m);
		m->sync_failed = failed;
		(void)manager_load_state(m);
		runner_rearm(m->runner);
	}
	m->sync_done = MAX(m->sync_done, MAX(done, failed));
	stats_synced(&m->stats, m->sync_done);
	if (!log_to_journal())
		fflush(stderr);
	if (m->listener.synced)
		m->listener.synced(m->listener.userdata, m->sync_done, failed_now);
	return 0;
}

static int on_commit_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	return 0; /* the post source that follows does the commit */
}

/* Commits of work nobody waits on (daughters starting and ending,
 * heartbeats, and the events they send subscribers) are paced: at most one
 * per COMMIT_PACE_USEC, so a burst of daughters shares its commits and the
 * pages they touch (bench-spawn, 2 at a time: 1.9 commits and 110 KiB
 * written per daughter unpaced by events, 0.14 and 21 KiB at 10 ms). An
 * event is at most that late. A commit a reply waits on, durable or not (a
 * DONE answer, an error, a result.get), never waits: pacing it would add up
 * to COMMIT_PACE_USEC to every request. */
static bool commit_paced(Manager *m)
{
	uint64_t now = now_monotonic_usec();

	if (store_pending_is_durable(m->store) || now >= m->last_commit + COMMIT_PACE_USEC)
		return false;
	if (m->listener.replies_waiting && m->listener.replies_waiting(m->listener.userdata))
		return false;
	if (!m->commit_timer)
		(void)sd_event_add_time(m->event, &m->commit_timer, CLOCK_MONOTONIC, m->last_commit + COMMIT_PACE_USEC, 100,
					on_commit_timer, m);
	else {
		(void)sd_event_source_set_time(m->commit_timer, m->last_commit + COMMIT_PACE_USEC);
		(void)sd_event_source_set_enabled(m->commit_timer, SD_EVENT_ONESHOT);
	}
	return true;
}

#define STORE_WATCH_USEC (1000 * 1000)

/*
 * After a failed commit, once a second: reconnect if the database went away
 * (PostgreSQL); once it is there, rebuild the caches from it and write again
 * the ends of daughters that the failed commits had (runner_store_back());
 * the post source that follows this timer commits them.
 */
static int on_store_watch(sd_event_source *src, uint64_t usec, void *userdata)
{
	Manager *m = userdata;

	if (!store_available(m->store) && store_reconnect(m->store) < 0) {
		(void)sd_event_source_set_time(src, usec + STORE_WATCH_USEC);
		(void)sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
		return 0;
	}
	if (m->store_down)
		log_info("the database is reachable again: resuming");
	m->store_down = false;
	(void)manager_load_state(m);
	runner_store_back(m->runner);
	runner_rearm(m->runner);
	return 0;
}

static void manager_watch_store(Manager *m, bool withdrawn)
{
	bool down = !store_available(m->store);

	if (!down && !withdrawn)
		return;
	if (down && !m->store_down) {
		m->store_down = true;
		log_warning("%s; refusing what needs it and retrying every second", store_unavailable(m->store));
	}
	if (!m->store_watch)
		(void)sd_event_add_time(m->event, &m->store_watch, CLOCK_MONOTONIC, now_monotonic_usec() + STORE_WATCH_USEC,
					100 * 1000, on_store_watch, m);
	else if (sd_event_source_get_enabled(m->store_watch, NULL) == 0) {
		(void)sd_event_source_set_time(m->store_watch, now_monotonic_usec() + STORE_WATCH_USEC);
		(void)sd_event_source_set_enabled(m->store_watch, SD_EVENT_ONESHOT);
	}
}

static int on_post(sd_event_source *s, void *userdata)
{
	Manager *m = userdata;
	bool withdrawn = false;
	uint64_t ticket = 0;
	int r;

	/* Nothing leaves before the commit of what it reports, durable or
	 * not: a reply (even DONE) or an event always describes committed
	 * rows. Only the sync level differs (see store.h). */
	if (store_has_pending(m->store) && commit_paced(m))
		return 0;
	if (store_has_pending(m->store)) {
		m->last_commit = now_monotonic_usec();
		r = m->sync_source ? store_commit_async(m->store, &ticket) : store_commit(m->store);
		if (r >= 0)
			stats_commit(&m->stats, m->last_commit, ticket);
		if (r < 0) {
			/* Nothing of this iteration happened: withdraw its replies and
			 * rebuild the caches from what the store really holds. */
			log_error_errno(r, "commit failed: %s; withdrawing %s", store_last_error(m->store),
					"the replies of this iteration");
			manager_note_withdrawal(m);
			withdrawn = true;
			(void)manager_load_state(m);
			runner_rearm(m->runner);
		} else
			manager_after_commit(m);
	}
	/* Daughters' ends are kept until a commit has them (runner_store_back()). */
	runner_ends_committed(m->runner, !withdrawn && store_available(m->store));
	manager_watch_store(m, withdrawn);
	manager_plans_committed(m, withdrawn);
	release_output(m, withdrawn, ticket);
	return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	Manager *m = userdata;

	if (si->ssi_signo == SIGHUP) {
		_cleanup_free_ char *error = NULL;
		(void)manager_reload_policy(m, &error);
		return 0;
	}
	log_info("received %s, stopping", strsignal((int)si->ssi_signo));
	(void)sd_notify(false, "STOPPING=1\nSTATUS=Stopping.");
	return sd_event_exit(m->event, 0);
}

static int load_policy(const char *path, Policy **ret, char **ret_error)
{
	return path ? policy_load_file(path, ret, ret_error) : policy_load_bundled(ret, ret_error);
}

int manager_reload_policy(Manager *m, char **ret_error)
{
	Policy *p = NULL;
	char *error = NULL;
	AuditFields f = AUDIT_FIELDS_INIT;
	int r;

	r = load_policy(m->policy_path, &p, &error);
	if (r < 0) {
		log_audit(LOG_ERR, VX11_MSG_POLICY_REFUSED, &f, "policy reload refused, keeping the previous policy: %s",
			  error ? error : "unknown error");
		*ret_error = error;
		return r;
	}
	if (m->runner)
		runner_set_policy(m->runner, p);
	if (m->subtasks)
		(void)subtasks_set_policy(m->subtasks, p);
	policy_free(m->policy);
	m->policy = p;
	(void)manager_switch_configure(m);
	log_audit(LOG_INFO, VX11_MSG_POLICY_LOADED, &f, "policy reloaded from %s (%zu task types)", p->origin,
		  p->n_tasks);
	return 0;
}

/* What an intent stands at while its task lives (result.get's words). */
const char *manager_result_status(TaskStatus s)
{
	switch (s) {
	case TASK_RUNNING:
		return "RUNNING";
	case TASK_COMPLETED:
		return "DONE";
	case TASK_FAILED:
		return "ERROR";
	case TASK_EXPIRED:
		return "EXPIRED";
	case TASK_CANCELLED:
		return "CANCELLED";
	default: /* pending, planning, retrying: waiting for a daughter */
		return "QUEUED";
	}
}

void manager_task_changed(Manager *m, const Task *t, TaskStatus old)
{
	/* intents_log.result_status follows the task without a write here:
	 * the store reads it from the task while the task is kept. */
	if (old != _TASK_STATUS_INVALID && m->task_counts[old] > 0)
		m->task_counts[old]--;
	m->task_counts[t->status]++;
	if (m->listener.task_changed)
		m->listener.task_changed(m->listener.userdata, t, old);
	/* What waits for it may go on now (m->runner is NULL while start-up
	 * reconciles: every pending task is queued then, the gate sees each). */
	if (task_status_is_terminal(t->status) && (old == _TASK_STATUS_INVALID || !task_status_is_terminal(old)))
		runner_task_ended(m->runner, t);
}

static void on_runner_task_changed(void *userdata, const Task *t, TaskStatus old)
{
	manager_task_changed(userdata, t, old);
}

static void on_runner_fleet_woken(void *userdata)
{
	Manager *m = userdata;

	if (m->listener.fleet_woken)
		m->listener.fleet_woken(m->listener.userdata);
}

static bool on_runner_replan(void *userdata, Task *t)
{
	return manager_replan_retry(userdata, t);
}

static void on_runner_task_removed(void *userdata, const char *task_id, TaskStatus status)
{
	Manager *m = userdata;

	if (m->task_counts[status] > 0)
		m->task_counts[status]--;
}

static void on_runner_daughter_status(void *userdata, const char *task_id, const Daughter *d, const Attempt *a)
{
	Manager *m = userdata;

	if (a->reason) {
		subtasks_daughter_gone(m->subtasks, d->id);
		stats_attempt_ended(&m->stats, a);
	}
	if (m->listener.daughter_status)
		m->listener.daughter_status(m->listener.userdata, task_id, d, a);
}

void manager_set_listener(Manager *m, const ManagerListener *l)
{
	m->listener = l ? *l : (ManagerListener){};
}

/* The path of the socket systemd passed us, if any: the runtime directory
 * (daughter.sock, notify sockets) goes beside the socket clients really use,
 * whatever --socket says. */
static char *activated_socket_path(void)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);

	if (sd_listen_fds(false) != 1 || getsockname(SD_LISTEN_FDS_START, (struct sockaddr *)&sa, &len) < 0 ||
	    sa.sun_family != AF_UNIX || len <= offsetof(struct sockaddr_un, sun_path) || sa.sun_path[0] != '/')
		return NULL;
	return strndup(sa.sun_path, len - offsetof(struct sockaddr_un, sun_path));
}

/*
 * Which database --database names (store_open_url()), checked before anything
 * is made or locked, so a wrong URL leaves nothing behind. A relative SQLite
 * path is under the state dir, as the default vx11.db is.
 */
static int manager_resolve_database(Manager *m, const char *url)
{
	const char *path;
	int r;

	url = url ?: "vx11.db";
	m->db_shown = store_url_redact(url);
	if (!m->db_shown)
		return log_error_errno(ENOMEM, "out of memory");
	r = store_url_check(url);
	if (r < 0)
		return log_error_errno(r, "--database \"%s\": %s", m->db_shown, store_last_error(NULL));
	path = store_url_sqlite_path(url);
	if (!path) {
		m->db_url = strdup(url);
		return m->db_url ? 0 : log_error_errno(ENOMEM, "out of memory");
	}
	free(m->db_shown);
	if (path[0] == '/')
		m->db_path = strdup(path);
	else if (asprintf(&m->db_path, "%s/%s", m->state_dir, path) < 0)
		m->db_path = NULL;
	m->db_shown = m->db_path ? strdup(m->db_path) : NULL;
	if (!m->db_shown || asprintf(&m->db_url, "sqlite:%s", m->db_path) < 0) {
		m->db_url = NULL;
		return log_error_errno(ENOMEM, "out of memory");
	}
	return 0;
}

int manager_new(const ManagerConfig *cfg, Manager **ret)
{
	_cleanup_free_ char *error = NULL;
	Manager *m;
	sigset_t ss;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return log_error_errno(ENOMEM, "out of memory");
	pthread_mutex_init(&m->ckpt_lock, NULL);
	pthread_cond_init(&m->ckpt_cond, NULL);
	m->start_monotonic = now_monotonic_usec();
	stats_init(&m->stats);
	m->state_dir = strdup(cfg->state_dir);
	m->state_lock_fd = m->runtime_lock_fd = m->name_lock_fd = -1;
	m->socket_path = activated_socket_path() ?: strdup(cfg->socket_path);
	if (!m->state_dir || !m->socket_path) {
		r = log_error_errno(ENOMEM, "out of memory");
		goto fail;
	}
	r = manager_resolve_database(m, cfg->database);
	if (r < 0)
		goto fail;

	/* Without --policy, the system file is optional: the bundled one runs. */
	if (cfg->policy_path && (cfg->policy_explicit || access(cfg->policy_path, F_OK) == 0))
		m->policy_path = strdup(cfg->policy_path);
	r = load_policy(m->policy_path, &m->policy, &error);
	if (r < 0) {
		r = log_error_errno(r, "cannot load the policy: %s", error ? error : "unknown error");
		goto fail;
	}

	r = mkdir_p(m->state_dir, 0750);
	if (r < 0) {
		r = log_error_errno(r, "cannot create the state directory %s: %m", m->state_dir);
		goto fail;
	}
	/* Whoever may write there may swap the database or a daughter's output
	 * under us: only the daemon's own user may. */
	struct stat st;
	if (stat(m->state_dir, &st) < 0) {
		r = log_error_errno(errno, "cannot read the state directory %s: %m", m->state_dir);
		goto fail;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) || st.st_uid != geteuid()) {
		r = log_error_errno(EPERM,
				    "the state directory %s is writable by others (mode %04o, owner uid %u): refusing "
				    "to use it; make it the daemon's own (chown, chmod go-w)",
				    m->state_dir, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
		goto fail;
	}
	/* One daemon per state dir, before anything in it is touched. */
	if (cfg->instance)
		snprintf(m->instance, sizeof m->instance, "%s", cfg->instance);
	else if ((r = instance_name_default(m->state_dir, VX11_STATEDIR, m->instance)) < 0) {
		r = log_error_errno(r, "cannot resolve the state directory %s: %m", m->state_dir);
		goto fail;
	}
	if (cfg->node)
		snprintf(m->node, sizeof m->node, "%s", cfg->node);
	else if ((r = node_name_default(m->node)) == 1)
		log_warning("the host name is not a valid node name (1 to %d letters, digits, '.', '_' or '-'): the "
			    "node is \"%s\"; give one with --node", NODE_NAME_MAX, m->node);
	else if (r < 0) {
		r = log_error_errno(r, "cannot read the host name for the node name: %m");
		goto fail;
	}
	pid_t holder;
	m->state_lock_fd = instance_lock_state_dir(m->state_dir, m->instance, &holder);
	if (m->state_lock_fd == -EBUSY) {
		if (holder > 0)
			r = log_error_errno(EBUSY, "the state directory %s is in use by vx11d pid %d: refusing to start "
					    "a second daemon on it (give this one a --state-dir of its own)",
					    m->state_dir, (int)holder);
		else
			r = log_error_errno(EBUSY, "the state directory %s is in use by another vx11d: refusing to "
					    "start a second daemon on it", m->state_dir);
		goto fail;
	}
	if (m->state_lock_fd < 0) {
		r = log_error_errno(m->state_lock_fd, "cannot lock the state directory %s: %m", m->state_dir);
		goto fail;
	}
	/* Root's daemons share the host's cgroups and /run/vx11: a name given
	 * twice (--instance) would mix them up. */
	if (geteuid() == 0) {
		m->name_lock_fd = instance_lock_name(INSTANCE_LOCK_DIR, m->instance, m->state_dir, &holder);
		if (m->name_lock_fd == -EBUSY) {
			r = log_error_errno(EBUSY, "the instance name %s is in use by vx11d pid %d (another state "
					    "directory): give this one another --instance", m->instance, (int)holder);
			goto fail;
		}
		if (m->name_lock_fd < 0) {
			r = log_error_errno(m->name_lock_fd, "cannot lock the instance name %s under %s: %m",
					    m->instance, INSTANCE_LOCK_DIR);
			goto fail;
		}
	}
	m->runtime_lock_fd = instance_runtime_dir(m->socket_path, cfg->runtime_dir, m->instance, &m->runtime_dir);
	if (m->runtime_lock_fd < 0) {
		r = m->runtime_lock_fd;
		goto fail;
	}
	/* PostgreSQL records the node in the rows it writes; SQLite ignores it. */
	r = store_open_url(m->db_url, m->node, &m->store);
	if (r < 0) {
		r = log_error_errno(r, "cannot open the database %s: %s", m->db_shown, store_last_error(NULL));
		goto fail;
	}
	m->queue = queue_new();
	m->retry_queue = queue_new();
	if (!m->queue || !m->retry_queue) {
		r = log_error_errno(ENOMEM, "out of memory");
		goto fail;
	}
	r = manager_load_state(m);
	if (r < 0)
		goto fail;
	(void)cgroup_detect(&m->cgroup);

	r = sd_event_default(&m->event);
	if (r < 0) {
		r = log_error_errno(r, "cannot create the event loop: %m");
		goto fail;
	}
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	for (size_t i = 0; i < ELEMENTSOF(sigs); i++) {
		r = sd_event_add_signal(m->event, &m->sig_sources[i], sigs[i], on_signal, m);
		if (r < 0) {
			r = log_error_errno(r, "cannot watch signals: %m");
			goto fail;
		}
	}
	r = sd_event_add_post(m->event, &m->post_source, on_post, m);
	if (r < 0) {
		r = log_error_errno(r, "cannot set up the event loop: %m");
		goto fail;
	}
	(void)sd_event_set_watchdog(m->event, true);

	/* Reconcile before anyone can ask: clients never see a stale "running". */
	RunnerConfig rc = {
		.event = m->event,
		.store = m->store,
		.policy = m->policy,
		.queue = m->queue,
		.retry_queue = m->retry_queue,
		.cgroup = &m->cgroup,
		.state_dir = m->state_dir,
		.runtime_dir = m->runtime_dir,
		.cgroup_root = cfg->cgroup_root,
		.instance = m->instance,
		.node = m->node,
		.no_zygote = cfg->no_zygote,
		.lease_seconds = cfg->lease_seconds ?: LEASE_SECONDS_DEFAULT,
		.hooks = {
			.task_changed = on_runner_task_changed,
			.daughter_status = on_runner_daughter_status,
			.replan = on_runner_replan,
			.task_removed = on_runner_task_removed,
			.fleet_woken = on_runner_fleet_woken,
			.userdata = m,
		},
	};
	r = runner_new(&rc, &m->runner);
	if (r < 0)
		goto fail;
	r = subtasks_new(m->event, m->store, m->runner, &m->subtasks);
	if (r < 0) {
		r = log_error_errno(r, "out of memory");
		goto fail;
	}
	/* A client that cannot be made is said in the log and in each
	 * sub-task's answer; the daemon still serves. */
	(void)subtasks_set_policy(m->subtasks, m->policy);

	/* The sync of durable commits on the store's own thread, so the loop
	 * keeps reading and answering while the disk syncs. Without it, each
	 * durable commit syncs on the loop, as correct and slower. */
	r = store_sync_fd(m->store);
	if (r >= 0)
		r = sd_event_add_io(m->event, &m->sync_source, r, EPOLLIN, on_synced, m);
	if (r < 0) {
		log_warning_errno(r, "durable commits sync on the event loop: no sync thread: %s", store_last_error(m->store));
		m->sync_source = sd_event_source_disable_unref(m->sync_source);
	}
	/* A switch that is down only degrades plans: it never stops the start. */
	(void)manager_switch_configure(m);
	r = manager_replan_interrupted(m);
	if (r < 0)
		goto fail;

	/* SQLite's WAL only: another backend has nothing to checkpoint. */
	if (m->db_path) {
		r = pthread_create(&m->ckpt_thread, NULL, checkpoint_thread, m);
		if (r != 0) {
			r = log_error_errno(r, "cannot start the checkpoint thread: %m");
			goto fail;
		}
		m->ckpt_running = true;
	}
	*ret = m;
	return 0;
fail:
	manager_free(m);
	return r;
}

void manager_stop(Manager *m)
{
	/* Before the runner: the sub-tasks in flight point at its daughters. */
	m->subtasks = subtasks_free(m->subtasks);
	manager_planner_stop(m);
	m->runner = runner_free(m->runner);
}

Manager *manager_free(Manager *m)
{
	if (!m)
		return NULL;
	manager_stop(m);
	if (m->ckpt_running) {
		pthread_mutex_lock(&m->ckpt_lock);
		m->ckpt_stop = true;
		pthread_cond_signal(&m->ckpt_cond);
		pthread_mutex_unlock(&m->ckpt_lock);
		pthread_join(m->ckpt_thread, NULL);
	}
	sd_event_source_disable_unref(m->sync_source);
	if (m->store) {
		if (store_has_pending(m->store) && store_commit(m->store) < 0)
			log_error("final commit failed: %s", store_last_error(m->store));
		(void)store_checkpoint(m->store);
		store_free(m->store);
	}
	for (size_t i = 0; i < ELEMENTSOF(m->sig_sources); i++)
		sd_event_source_disable_unref(m->sig_sources[i]);
	sd_event_source_disable_unref(m->post_source);
	sd_event_source_disable_unref(m->commit_timer);
	sd_event_source_disable_unref(m->store_watch);
	sd_event_source_disable_unref(m->ckpt_idle);
	sd_event_unref(m->event);
	stats_done(&m->stats);
	queue_free(m->queue);
	queue_free(m->retry_queue);
	policy_free(m->policy);
	cgroup_info_done(&m->cgroup);
	pthread_mutex_destroy(&m->ckpt_lock);
	pthread_cond_destroy(&m->ckpt_cond);
	free(m->db_path);
	free(m->db_url);
	free(m->db_shown);
	free(m->policy_path);
	free(m->state_dir);
	free(m->socket_path);
	instance_runtime_dir_done(m->runtime_dir, m->instance, m->runtime_lock_fd);
	free(m->runtime_dir);
	instance_unlock_name(INSTANCE_LOCK_DIR, m->instance, m->name_lock_fd);
	safe_close(m->state_lock_fd);
	free(m);
	return NULL;
}

int manager_run(Manager *m, const char *socket_desc)
{
	AuditFields f = AUDIT_FIELDS_INIT;
	int r;

	f.node = m->node;
	log_audit(LOG_INFO, VX11_MSG_DAEMON_STARTED, &f,
		  "vx11d %s started: instance %s, node %s, socket %s, state %s, database %s %s, policy %s, "
		  "cgroups %s, %zu tasks queued",
		  PACKAGE_VERSION, m->instance, m->node, socket_desc, m->state_dir, store_backend_name(m->store),
		  m->db_shown,
		  m->policy->origin, cgroup_mode_to_string(m->cgroup.mode), queue_size(m->queue));
	(void)sd_notifyf(false, "READY=1\nSTATUS=Serving, %zu tasks queued.", queue_size(m->queue));
	fflush(stderr);

	r = sd_event_loop(m->event);

	log_audit(LOG_INFO, VX11_MSG_DAEMON_STOPPING, &f, "vx11d stopping");
	return r;
}
