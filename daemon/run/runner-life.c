/* SPDX-License-Identifier: MIT */
/*
 * The runner's start and stop: where daughters' cgroups, output and notify
 * sockets live, the reconciliation after a crash, and the orderly stop that
 * leaves no daughter behind.
 */
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner-internal.h"

#define SHUTDOWN_WAIT_USEC (2 * USEC_PER_SEC)

static int make_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return -errno;
	/* The umask may have narrowed it; the mode is part of the design. */
	if (chmod(path, mode) < 0)
		return -errno;
	return 0;
}

/* Daughters run under their own uids: they can reach their notify socket and
 * the daughter socket only if every directory above them is searchable. */
static void warn_unreachable(const char *dir)
{
	_cleanup_free_ char *p = strdup(dir);
	struct stat st;

	for (char *s = p ? strrchr(p, '/') : NULL; s && s > p; s = strrchr(p, '/')) {
		*s = 0;
		if (stat(p, &st) == 0 && !(st.st_mode & S_IXOTH)) {
			log_warning("%s is not searchable by other users: daughters cannot reach %s, so their "
				    "heartbeats and reports will fail (chmod o+x %s)",
				    p, dir, p);
			return;
		}
	}
}

typedef struct Interrupted {
	Attempt *a;
	size_t n, cap;
} Interrupted;

static int collect_attempt(const Attempt *a, void *userdata)
{
	Interrupted *l = userdata;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		Attempt *p = reallocarray(l->a, cap, sizeof(*p));
		if (!p)
			return -ENOMEM;
		l->a = p;
		l->cap = cap;
	}
	Attempt *c = &l->a[l->n];
	*c = *a;
	/* Only the fields written back (and the node, for the journal) are copied deep. */
	c->status = c->reason = c->switch_model_used = c->cli_provider_used = c->error_message = NULL;
	c->cgroup = c->reported_status = c->status_text = c->unapplied = c->result_json = c->confinement = NULL;
	c->node = NULL;
#define DUP(f) (a->f && !(c->f = strdup(a->f)))
	if (DUP(switch_model_used) || DUP(cli_provider_used) || DUP(error_message) || DUP(cgroup) ||
	    DUP(reported_status) || DUP(status_text) || DUP(unapplied) || DUP(result_json) || DUP(confinement) ||
	    DUP(node))
		return -ENOMEM;
#undef DUP
	l->n++;
	return 0;
}

typedef struct FindDaughter {
	const char *id;
	Daughter *d;
	bool found;
} FindDaughter;

static int find_daughter(const Daughter *d, void *userdata)
{
	FindDaughter *f = userdata;

	if (!streq(d->id, f->id))
		return 0;
	*f->d = *d;
	f->d->name = strdup(d->name ?: "");
	f->d->purpose = d->purpose ? strdup(d->purpose) : NULL;
	f->d->status = NULL;
	f->d->error_last = NULL;
	f->d->tools_json = d->tools_json ? strdup(d->tools_json) : NULL;
	f->found = true;
	return 1;
}

/*
 * The daemon that ran these died (this one before its restart, or another
 * node whose lease ended: adopted): say so, and move their tasks on. The
 * transient uids they ran under go into uids[] (for a clean-up here) unless
 * uids is NULL.
 */
static void settle_interrupted(Runner *r, Interrupted *lp, bool adopted, uid_t *uids, size_t *n_uids)
{
	RunnerConfig *env = &r->env;
	Interrupted l = *lp;
	uint64_t now = now_realtime_usec();

	for (size_t i = 0; i < l.n; i++) {
		Attempt *a = &l.a[i];
		Daughter d = {};
		FindDaughter fd = { .id = a->daughter_id, .d = &d };
		Task t;

		a->status = strdup("interrupted");
		a->reason = strdup("interrupted");
		a->finished_at = now;
		/* Adopted: run elsewhere, by the node its row names. */
		const char *adopted_from = adopted ? a->node ?: "?" : NULL;
		_cleanup_free_ char *why = NULL;
		if (adopted_from && asprintf(&why, "node %s stopped renewing its lease", adopted_from) < 0)
			why = NULL;
		if (adopted_from) {
			free(a->error_message);
			a->error_message = why ? strdup(why) : NULL;
		} else if (!a->error_message)
			a->error_message = strdup("the daemon stopped while it ran; its processes were killed");
		(void)store_attempt_update(env->store, a);
		if (uids && a->uid >= env->policy->dynamic_uids.first && a->uid <= env->policy->dynamic_uids.last)
			uids[(*n_uids)++] = a->uid;
		if (store_daughter_list(env->store, a->task_id, NULL, (uid_t)-1, 0, find_daughter, &fd) >= 0 && fd.found) {
			d.status = strdup("killed");
			if (!adopted_from)
				d.error_last = strdup("interrupted: the daemon stopped while it ran");
			else if (asprintf(&d.error_last, "interrupted: %s", why ?: "its node stopped") < 0)
				d.error_last = NULL;
			d.ended_at = now;
			(void)store_daughter_update(env->store, &d);
		}
		daughter_done(&d);

		/* The task's ids too, so that the entry turns up under each of them. */
		bool have_task = store_task_get(env->store, a->task_id, &t) == 0;
		AuditFields f = AUDIT_FIELDS_INIT;
		f.task_id = a->task_id;
		f.daughter_id = a->daughter_id;
		f.status = "interrupted";
		f.node = a->node;
		if (have_task) {
			f.correlation_id = t.intent_id;
			f.source = t.source;
			f.uid = t.uid;
			f.intent_type = t.task_type;
		}
		if (adopted_from)
			log_audit(LOG_WARNING, VX11_MSG_RECOVERED, &f,
				  "recovery: attempt %d of task %s (daughter %s) was running on node %s, which stopped "
				  "renewing its lease; settled by node %s",
				  a->number, a->task_id, a->daughter_id, adopted_from, env->node);
		else
			log_audit(LOG_WARNING, VX11_MSG_RECOVERED, &f,
				  "recovery: attempt %d of task %s (daughter %s, cgroup %s) was running when the daemon "
				  "stopped",
				  a->number, a->task_id, a->daughter_id, a->cgroup ?: "-");
		if (have_task) {
			if (t.status == TASK_RUNNING)
				runner_settle_interrupted(r, &t, a->daughter_id, a->node);
			task_done(&t);
		}
		attempt_done(a);
	}
	free(l.a);
	*lp = (Interrupted){};
}

void runner_recover_adopted(Runner *r, const char *node, char (*ids)[ID_STRING_MAX], size_t n)
{
	Interrupted l = {};
	int k = store_attempt_list_adopted(r->env.store, collect_attempt, &l);

	if (k < 0)
		log_error("cannot list the attempts node %s left running: %s (tried again at the next renewal)",
			  node ?: "another node", store_last_error(r->env.store));
	/* Their cgroups and uids are on the other node's host: it kills them
	 * (fence guard) and reaps them at its next start. */
	settle_interrupted(r, &l, true, NULL, NULL);
	/* Settled ones gave their claim back; the rest (cancelled, planning,
	 * an attempt not found) are anyone's again too, once the list was
	 * read whole: a task still running must stay this node's to settle. */
	for (size_t i = 0; k >= 0 && i < n; i++)
		if (store_task_release(r->env.store, ids[i]) < 0)
			log_error("cannot give back the claim on task %s: %s", ids[i], store_last_error(r->env.store));
	runner_schedule(r);
}

/* The daemon died while these ran: say so, and move their tasks on. */
static void reconcile(Runner *r)
{
	RunnerConfig *env = &r->env;
	Interrupted l = {};
	_cleanup_free_ uid_t *uids = NULL;
	size_t n_uids = 0;
	int k;

	k = store_attempt_list_running(env->store, collect_attempt, &l);
	if (k < 0)
		log_error("cannot list interrupted attempts: %s", store_last_error(env->store));
	uids = calloc(l.n + 1, sizeof(uid_t)); /* NULL (out of memory): no clean-up, the rest as ever */
	settle_interrupted(r, &l, false, uids, &n_uids);
	/* Adopted from another node and not settled before this one stopped:
	 * its tasks are this node's again (store_node_register()). */
	l = (Interrupted){};
	if (store_attempt_list_adopted(env->store, collect_attempt, &l) < 0)
		log_error("cannot list the attempts adopted from other nodes: %s", store_last_error(env->store));
	settle_interrupted(r, &l, true, NULL, NULL);

	/* Whatever they left is killed and removed, matched in SQLite or not:
	 * nothing runs that this daemon does not supervise. */
	if (r->cgroups) {
		char **names = NULL;
		int n = cgroup_manager_reap_leftovers(r->cgroups, &names);
		if (n > 0)
			log_notice("recovery: removed %d leftover job cgroups under %s", n,
				   cgroup_manager_root(r->cgroups));
		for (char **s = names; s && *s; s++)
			free(*s);
		free(names);
	}
	/* A fleet node: what it claimed and did not start (or has just settled)
	 * is anyone's again. Others' claims are not its to settle: a node that
	 * does not come back is adopted when its lease ends (lease.c). */
	if (store_release_own(env->store) < 0)
		log_error("cannot give back this node's claims: %s", store_last_error(env->store));
	/* Nothing of theirs runs any more: their transient uids' leftovers in
	 * /dev/shm go, as at any attempt's end, each under the uid's lock: a
	 * uid that another instance has taken meanwhile is its own now. */
	for (size_t i = 0; i < n_uids; i++) {
		int fd = uid_lock_one(&r->uid_locks, uids[i]);
		if (fd >= 0)
			(void)shm_remove_owned(NULL, uids[i]);
		(void)uid_lock_release(fd);
	}
}

/* quiet: the caller says it in a line of its own. */
static void setup_cgroups(Runner *r, const char *root, bool quiet)
{
	RunnerConfig *env = &r->env;
	_cleanup_free_ char *error = NULL;
	int k;

	if (env->cgroup->mode == CGROUP_MODE_NONE) {
		r->cgroup_problem = strdup("no cgroup hierarchy is mounted on this host");
		return;
	}
	/* Under systemd with Delegate=yes our own cgroup is ours to divide (on a
	 * hybrid host: the cgroup2 one, and its twins under the v1 controllers). */
	if (!root && getenv("INVOCATION_ID") && env->cgroup->own_path && !streq(env->cgroup->own_path, "/") &&
	    (env->cgroup->mode == CGROUP_MODE_UNIFIED || env->cgroup->mode == CGROUP_MODE_HYBRID)) {
		k = cgroup_manager_new_delegated(env->cgroup, &r->cgroups, &error);
		if (k >= 0)
			return;
		/* No fallback to a root outside the unit: daughters there would
		 * escape `systemctl stop` and the unit's accounting. */
		if (asprintf(&r->cgroup_problem, "cannot use the delegated cgroup %s (Delegate=yes?): %s",
			     env->cgroup->own_path, error ?: strerror(-k)) < 0)
			r->cgroup_problem = NULL;
		if (!quiet)
			log_error("%s; every daughter will fail to spawn",
				  r->cgroup_problem ?: "cannot use the delegated cgroup");
		return;
	}
	/* One root per instance, so that one vx11d's reconciliation or pool
	 * never meets another's job cgroups on the same host. */
	_cleanup_free_ char *scoped = NULL;
	if (asprintf(&scoped, "%s/%s", root ?: "vx11", env->instance ?: "default") < 0) {
		r->cgroup_problem = strdup("out of memory");
		return;
	}
	k = cgroup_manager_new(env->cgroup, scoped, &r->cgroups, &error);
	if (k < 0) {
		if (asprintf(&r->cgroup_problem, "cannot set up job cgroups: %s", error ?: strerror(-k)) < 0)
			r->cgroup_problem = NULL;
		if (!quiet)
			log_error("%s; every daughter will fail to spawn",
				  r->cgroup_problem ?: "cannot set up job cgroups");
	}
}

static bool have_cap(const struct __user_cap_data_struct caps[2], unsigned cap)
{
	return caps[cap / 32].effective & (UINT32_C(1) << (cap % 32));
}

/*
 * Every daughter runs as a uid of its own (setresuid: CAP_SETUID and
 * CAP_SETGID), so without them no task can ever run: say once what does not
 * work, and refuse such work instead of queuing attempts that can only fail.
 * Cgroups and namespaces are said too, as they are what an admin will meet
 * next. Returns whether daughters can run at all.
 */
static bool check_privileges(Runner *r, const char *cgroup_root)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct caps[2] = {};
	bool uids, ns;

	if (syscall(SYS_capget, &hdr, caps) < 0)
		uids = ns = geteuid() == 0;
	else {
		uids = have_cap(caps, CAP_SETUID) && have_cap(caps, CAP_SETGID);
		ns = have_cap(caps, CAP_SYS_ADMIN);
	}
	setup_cgroups(r, cgroup_root, !uids);
	if (uids)
		return true;

	_cleanup_free_ char *cg = NULL;
	if (asprintf(&cg, r->cgroup_problem ? "no job cgroups (%s)" : "job cgroups can be made%s",
		     r->cgroup_problem ?: "") < 0 ||
	    asprintf(&r->spawn_problem,
		     "vx11d runs as uid %u without root's privileges, so no daughter can run: no uid of its own "
		     "(needs CAP_SETUID and CAP_SETGID); %s; %s",
		     (unsigned)geteuid(), cg, ns ? "namespaces allowed" : "no namespaces (needs CAP_SYS_ADMIN)") < 0) {
		r->spawn_problem = strdup("vx11d runs without root's privileges, so no daughter can run");
		if (!r->spawn_problem)
			return false;
	}
	log_warning("%s; intents that need the spawner are refused (error spawner_unavailable), queued tasks wait "
		    "for a daemon run as root, everything else is served",
		    r->spawn_problem);
	return false;
}

int runner_new(const RunnerConfig *cfg, Runner **ret)
{
	Runner *r = calloc(1, sizeof(*r));
	const RunnerConfig *env = cfg;
	int k;

	if (!r)
		return log_error_errno(ENOMEM, "out of memory");
	r->env = *cfg;
	r->env.cgroup_root = NULL; /* only needed here */
	r->uid_locks.dir = UID_LOCK_DIR;
	r->uid_locks.systemd_dir = UID_LOCK_SYSTEMD_DIR;
	r->netns_fd = r->notify_fd = r->guard_fd = -1;
	metrics_histogram_init(&r->spawn_latency, metrics_latency_bounds, metrics_latency_n_bounds);
	r->landlock_abi = landlock_abi();
	if (asprintf(&r->output_dir, "%s/output", env->state_dir) < 0 ||
	    asprintf(&r->notify_dir, "%s/notify", env->runtime_dir) < 0 ||
	    asprintf(&r->daughter_socket, "%s/daughter.sock", env->runtime_dir) < 0) {
		k = log_error_errno(ENOMEM, "out of memory");
		goto fail;
	}
	k = make_dir(r->output_dir, 0750);
	if (k < 0) {
		log_error_errno(k, "cannot create %s: %m", r->output_dir);
		goto fail;
	}
	/* The runtime directory may be someone's (the socket's): create it if
	 * missing, never change its mode. */
	k = mkdir_p(env->runtime_dir, 0755);
	if (k >= 0)
		k = make_dir(r->notify_dir, 0711);
	if (k < 0) {
		log_error_errno(k, "cannot create %s: %m", r->notify_dir);
		goto fail;
	}
	warn_unreachable(r->notify_dir);
	k = notify_open(r);
	if (k < 0) {
		log_error_errno(k, "cannot open the daughters' notify socket in %s: %m", r->notify_dir);
		goto fail;
	}

	r->held = queue_new();
	if (!r->held) {
		k = log_error_errno(ENOMEM, "out of memory");
		goto fail;
	}
	k = runner_load_pauses(r);
	if (k < 0)
		goto fail;

	k = runner_setup_sources(r);
	if (k >= 0)
		k = runner_fleet_setup(r);
	if (k >= 0)
		k = runner_prune_setup(r);
	if (k < 0) {
		log_error_errno(k, "cannot set up the runner's event sources: %m");
		goto fail;
	}

	(void)check_privileges(r, cfg->cgroup_root);
	/* Registered (its own running tasks claimed again, fenced) before its
	 * recovery, the guard up before any daughter, and forked before the
	 * spawner's thread exists. */
	k = runner_lease_setup(r);
	if (k < 0)
		goto fail;
	k = spawner_new(r, &r->spawner);
	if (k < 0) {
		log_error_errno(k, "cannot start the spawner: %m");
		goto fail;
	}
	reconcile(r);
	runner_schedule(r);
	*ret = r;
	return 0;
fail:
	runner_free(r);
	return k;
}

Runner *runner_free(Runner *r)
{
	Hija *h;

	if (!r)
		return NULL;
	/* Whatever is being spawned comes back first, and is then stopped like the rest. */
	r->spawner = spawner_free(r->spawner);
	/* Stopping: no daughter outlives the daemon. Each is killed at once and
	 * recorded as interrupted, as a crash would be, but cleanly. */
	while ((h = r->hijas)) {
		if (!h->finished) {
			hija_kill(h, KILL_SHUTDOWN);
			if (h->cgroup && cgroup_wait_empty(h->cgroup, SHUTDOWN_WAIT_USEC) < 0)
				log_error("daughter %s: cgroup %s not empty after %u s", h->d.id, cgroup_name(h->cgroup),
					  (unsigned)(SHUTDOWN_WAIT_USEC / USEC_PER_SEC));
			if (!h->exited) {
				siginfo_t si = {};
				if (waitid(P_PIDFD, (id_t)h->pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid != 0)
					h->si = si;
				else
					h->si = (siginfo_t){ .si_code = CLD_KILLED, .si_status = SIGKILL };
				h->exited = true;
			}
			h->empty = true;
			h->finished = true;
			hija_drain(h);
		}
		runner_attempt_ended(h);
	}
	/* Ends not committed by now are the next start's to settle (interrupted). */
	runner_ends_committed(r, true);
	while ((h = r->ended)) {
		LIST_REMOVE(ended, r->ended, h);
		hija_free(h);
	}
	sd_event_source_disable_unref(r->dispatch_source);
	sd_event_source_disable_unref(r->retry_timer);
	runner_fleet_free(r);
	runner_lease_free(r);
	notify_close(r);
	sd_event_source_disable_unref(r->prune_timer);
	cgroup_manager_free(r->cgroups);
	safe_close(r->netns_fd);
	free(r->cgroup_problem);
	free(r->spawn_problem);
	free(r->netns_problem);
	free(r->output_dir);
	free(r->notify_dir);
	free(r->daughter_socket);
	queue_free(r->held);
	for (size_t i = 0; i < r->n_paused_types; i++)
		free(r->paused_types[i]);
	free(r->paused_types);
	free(r);
	return NULL;
}

void runner_ends_committed(Runner *r, bool committed)
{
	Hija *h, *n;

	if (!r)
		return;
	/* Rolled back: each is written again when the store is back. Committed:
	 * only the ends whose writes were in it are done (one whose settle failed
	 * while the store was away waits for runner_store_back()). */
	LIST_FOREACH_SAFE(ended, h, n, r->ended) {
		if (!committed)
			h->end_written = false;
		else if (h->end_written) {
			LIST_REMOVE(ended, r->ended, h);
			hija_free(h);
		}
	}
}

void runner_store_back(Runner *r)
{
	if (!r)
		return;
	/* On a fleet the lease's next renewal writes them (lease.c): written
	 * before it, the ends of a node swept while it was away would overwrite
	 * what its adopter settled. */
	if (!store_is_fleet(r->env.store))
		runner_ends_rewrite(r);
}

void runner_ends_rewrite(Runner *r)
{
	Hija *h, *n;

	LIST_FOREACH_SAFE(ended, h, n, r->ended)
		if (!h->end_written)
			runner_attempt_settle(h, NULL);
}
