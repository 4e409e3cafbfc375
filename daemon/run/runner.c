/* SPDX-License-Identifier: MIT */
/*
 * Scheduling and settling (see runner.h). Each attempt is one daughter row
 * and one attempt row; the task row says where the task stands. All of an
 * attempt's writes happen in one loop iteration, so they commit together
 * before anyone hears of them (manager.h).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "runner-internal.h"

#define DISPATCH_BATCH 32 /* spawns per loop iteration: requests get their turn in between */

const char *hija_daughter_id(const Hija *h)
{
	return h->d.id;
}

int hija_attempt_number(const Hija *h)
{
	return h->a.number;
}

uint64_t hija_last_heartbeat(const Hija *h)
{
	return h->d.last_heartbeat_at;
}

size_t runner_running(const Runner *r)
{
	return r ? r->n_running : 0;
}

/* The daughter's and attempt's rows: inserted the first time, updated after.
 * An update that finds no row had its insert rolled back with a lost commit
 * (PostgreSQL: the connection went with it): inserted again. */
static int hija_write_rows(Hija *h)
{
	Store *s = h->runner->env.store;
	int k = 0;

	if (h->rows_written) {
		k = store_attempt_update(s, &h->a);
		if (k >= 0)
			k = store_daughter_update(s, &h->d);
		if (k == -ENOENT)
			h->rows_written = false;
	}
	if (!h->rows_written) {
		k = store_daughter_insert(s, &h->d);
		if (k >= 0)
			k = store_attempt_insert(s, &h->a);
		h->rows_written = k >= 0;
	}
	runner_fenced(h->runner, h->task_id, k);
	return k < 0 ? -EIO : 0;
}

int hija_attempt_save(Hija *h)
{
	int k = h->rows_written ? store_attempt_update(h->runner->env.store, &h->a) : 0;

	runner_fenced(h->runner, h->task_id, k);
	return k;
}

const MetricsHistogram *runner_spawn_latency(const Runner *r)
{
	return &r->spawn_latency;
}

Attempt *hija_attempt(Hija *h)
{
	return &h->a;
}

const Daughter *hija_daughter(const Hija *h)
{
	return &h->d;
}

const CgroupManager *runner_cgroups(const Runner *r)
{
	return r ? r->cgroups : NULL;
}

void runner_task_changed(Runner *r, const Task *t, TaskStatus old)
{
	if (r->env.hooks.task_changed)
		r->env.hooks.task_changed(r->env.hooks.userdata, t, old);
}

void runner_daughter_status(Runner *r, const char *task_id, const Daughter *d, const Attempt *a)
{
	if (r->env.hooks.daughter_status)
		r->env.hooks.daughter_status(r->env.hooks.userdata, task_id, d, a);
}

void runner_set_policy(Runner *r, Policy *p)
{
	/* Requests in the spawner thread point into the old policy. */
	spawner_drain(r->spawner);
	r->env.policy = p;
	runner_prune_rearm(r);
	runner_schedule(r);
}

const char *runner_problem(const Runner *r)
{
	return !r ? "" : r->cgroup_problem ? r->cgroup_problem : "";
}

void runner_spawner_stats(const Runner *r, SpawnerStats *ret)
{
	spawner_stats(r->spawner, ret);
}

const char *runner_spawn_problem(const Runner *r)
{
	return r && r->spawn_problem ? r->spawn_problem : "";
}

char *runner_output_path(const Runner *r, const char *attempt_id, const char *stream)
{
	char *p;
	return asprintf(&p, "%s/%s.%s", r->output_dir, attempt_id, stream) < 0 ? NULL : p;
}

const char *runner_node(const Runner *r)
{
	return r->env.node;
}

bool runner_attempt_is_live(const Runner *r, const char *attempt_id)
{
	for (const Hija *h = r->hijas; h; h = h->hijas_next)
		if (streq(h->a.id, attempt_id))
			return true;
	return false;
}

Hija *runner_find_daughter(Runner *r, const char *daughter_id, const char *token)
{
	for (Hija *h = r->hijas; h; h = h->hijas_next) {
		if (!streq(h->d.id, daughter_id) || h->finished)
			continue;
		/* Constant time: the token is the daughter's only credential. */
		size_t n = strlen(h->token), m = strlen(token);
		unsigned char diff = m != n;
		for (size_t i = 0; i < n; i++)
			diff |= (unsigned char)(h->token[i] ^ (i < m ? token[i] : 0));
		return diff ? NULL : h;
	}
	return NULL;
}

/* ---- Settling a task ------------------------------------------------------------------------ */

static const char *message_id_for(TaskStatus s)
{
	switch (s) {
	case TASK_RUNNING: return VX11_MSG_TASK_STARTED;
	case TASK_RETRYING: return VX11_MSG_TASK_RETRYING;
	case TASK_COMPLETED: return VX11_MSG_TASK_COMPLETED;
	case TASK_EXPIRED: return VX11_MSG_TASK_EXPIRED;
	case TASK_CANCELLED: return VX11_MSG_TASK_CANCELLED;
	default: return VX11_MSG_TASK_FAILED;
	}
}

void runner_audit_task(const Task *t, const char *daughter_id, const char *node, const char *what,
		       const char *detail, const char *confinement)
{
	AuditFields f = AUDIT_FIELDS_INIT;
	f.confinement = confinement;
	f.task_id = t->id;
	f.daughter_id = daughter_id;
	f.node = node;
	f.correlation_id = t->intent_id;
	f.source = t->source;
	f.uid = t->uid;
	f.intent_type = t->task_type;
	f.status = task_status_to_string(t->status);
	log_audit(t->status == TASK_FAILED || t->status == TASK_EXPIRED ? LOG_WARNING : LOG_INFO,
		  message_id_for(t->status), &f, "task %s %s: %s", t->id, what, detail);
}

static double backoff_seconds(const Policy *p, const PolicyTask *pt, int retry)
{
	double base = pt ? pt->backoff_base_seconds : p->defaults.backoff_base_seconds;
	double max = pt ? pt->backoff_max_seconds : p->defaults.backoff_max_seconds;
	double d = base * (double)(UINT64_C(1) << MIN(retry, 62));
	return d < max ? d : max;
}

int runner_retry_later(Runner *r, const Task *t)
{
	Id id;
	int k;

	if (id_from_string(t->id, &id) < 0)
		return -EINVAL;
	/* The retry queue orders by deadline: it is the entry's "seq". */
	k = queue_push(r->env.retry_queue, &id, 0, t->next_attempt_at, t->next_attempt_at);
	if (k < 0 && k != -EEXIST)
		return log_error_errno(k, "cannot queue the retry of task %s: %m", t->id);
	const QueueEntry *e = queue_peek(r->env.retry_queue);
	(void)sd_event_source_set_time(r->retry_timer, e->seq);
	(void)sd_event_source_set_enabled(r->retry_timer, SD_EVENT_ONESHOT);
	return 0;
}

/*
 * After an attempt that did not succeed (and was not cancelled), at `at`:
 * retry with the next mutation level after the backoff, or end the task.
 * final: the failure would only repeat, so the task ends now, retries left or not.
 */
static void settle_unsuccessful(Runner *r, Task *t, const char *reason, const char *daughter_id,
				const char *node, uint64_t at, bool final)
{
	RunnerConfig *env = &r->env;
	TaskStatus old = t->status;
	const PolicyTask *pt = policy_find_task(env->policy, t->task_type);
	char detail[160];

	t->updated_at = at;
	if (t->current_retry < t->max_retries && !final) {
		double delay = backoff_seconds(env->policy, pt, t->current_retry);
		t->current_retry++;
		t->mutation_level++;
		t->next_attempt_at = t->updated_at + (uint64_t)(delay * USEC_PER_SEC);
		t->status = TASK_RETRYING;
		snprintf(detail, sizeof detail, "%s; retry %d of %d in %.3g s at mutation level %d", reason,
			 t->current_retry, t->max_retries, delay, t->mutation_level);
	} else {
		t->status = streq(reason, "ttl_expired") ? TASK_EXPIRED : TASK_FAILED;
		t->next_attempt_at = 0;
		if (t->current_retry < t->max_retries)
			snprintf(detail, sizeof detail, "%s; not retried: the next attempt would fail the same way", reason);
		else
			snprintf(detail, sizeof detail, "%s; no retries left (%d)", reason, t->max_retries);
	}
	if (store_task_update(env->store, t) < 0) {
		log_error("cannot update task %s: %s", t->id, store_last_error(env->store));
		return;
	}
	if (t->status == TASK_RETRYING)
		(void)runner_retry_later(r, t);
	runner_task_changed(r, t, old);
	runner_audit_task(t, daughter_id, node, t->status == TASK_RETRYING ? "retrying" : "ended", detail, NULL);
}

/* ---- The end of an attempt ------------------------------------------------------------------ */

static void set_str(char **p, const char *v)
{
	free(*p);
	*p = v ? strdup(v) : NULL;
}

/* Record how the attempt ended and move its task on. spawn_error: it never ran. */
static void attempt_end(Hija *h, const char *spawn_error)
{
	Runner *r = h->runner;
	RunnerConfig *env = &r->env;
	CgroupStats st = { .cpu_usec = UINT64_MAX, .memory_peak_bytes = UINT64_MAX };
	/* One time for the daughter's end and the task's change it causes. */
	uint64_t at = now_realtime_usec();
	const char *final = NULL;
	Outcome o;
	char text[512], why[512];
	Task t;
	bool have_task = store_task_get(env->store, h->task_id, &t) == 0;

	/* Said, and acted on, only where it changes the outcome: retries were left. */
	if (spawn_error && have_task && !task_status_is_terminal(t.status) && t.current_retry < t.max_retries)
		final = runner_spawn_failure_is_final(h);

	if (spawn_error)
		o = (Outcome){ "spawn_failed", "failed", "failed", VX11_MSG_DAUGHTER_SPAWN_FAILED, false };
	else {
		if (h->cgroup)
			(void)cgroup_stats(h->cgroup, &st);
		o = runner_outcome_of(h, &st);
		h->a.exit_code = h->si.si_code == CLD_EXITED ? h->si.si_status : -1;
		h->a.signal = h->si.si_code == CLD_EXITED ? 0 : h->si.si_status;
	}
	h->a.finished_at = h->d.ended_at = at;
	h->a.cpu_usec = st.cpu_usec == UINT64_MAX ? 0 : st.cpu_usec;
	h->a.memory_peak_bytes = st.memory_peak_bytes == UINT64_MAX ? 0 : st.memory_peak_bytes;
	set_str(&h->a.status, o.attempt);
	set_str(&h->a.reason, o.reason);
	set_str(&h->d.status, o.daughter);

	if (spawn_error) {
		/* Why the task ends with retries left, where its error is read. */
		snprintf(why, sizeof why, "%s%s%s", spawn_error, final ? "; " : "", final ?: "");
		spawn_error = why;
		snprintf(text, sizeof text, "spawn failed: %.480s", spawn_error);
	} else if (o.success)
		snprintf(text, sizeof text, "exited with status 0");
	else if (h->a.exit_code >= 0)
		snprintf(text, sizeof text, "%s: exited with status %d", o.reason, h->a.exit_code);
	else
		snprintf(text, sizeof text, "%s: killed by SIG%s", o.reason, sigabbrev_np(h->a.signal) ?: "?");
	if (!o.success) {
		set_str(&h->d.error_last, text);
		if (!h->a.error_message || spawn_error)
			set_str(&h->a.error_message, spawn_error ? spawn_error : text);
	}
	AuditFields f = AUDIT_FIELDS_INIT;
	f.task_id = h->task_id;
	f.daughter_id = h->d.id;
	f.correlation_id = h->intent_id;
	f.source = h->source;
	f.uid = h->owner;
	f.intent_type = h->task_type;
	f.status = o.reason;
	f.error = o.success ? NULL : text;
	f.node = h->a.node;
	log_audit(o.success ? LOG_INFO : LOG_WARNING, o.msg_id, &f, "daughter %s of task %s (attempt %d, uid %u) %s",
		  h->d.id, h->task_id, h->a.number, (unsigned)h->uid, text);

	h->end_reason = o.reason;
	h->end_success = o.success;
	h->end_final = final != NULL;
	h->end_at = at;
	runner_attempt_settle(h, have_task ? &t : NULL);
}

void runner_attempt_settle(Hija *h, Task *given)
{
	Runner *r = h->runner;
	RunnerConfig *env = &r->env;
	uint64_t at = h->end_at;
	Task t;

	/* Kept (runner_ends_committed()) until a commit has these writes: a
	 * commit of other writes, after the store came back, does not. */
	h->end_written = false;
	if (hija_write_rows(h) < 0)
		log_error("cannot record the end of daughter %s: %s", h->d.id, store_last_error(env->store));
	else
		hija_keep_tails(h);
	runner_daughter_status(r, h->task_id, &h->d, &h->a);

	/* On a fleet the task is read again under the claim's row lock, which
	 * the rows' write above took: a cancel committed on another node since
	 * the caller's read must not be overwritten by this end. */
	bool fresh = !given || store_is_fleet(env->store);

	if (!fresh)
		t = *given;
	else if (given)
		task_done(given); /* settle owns it */
	if (fresh && store_task_get(env->store, h->task_id, &t) < 0) {
		log_error("cannot read task %s of daughter %s: %s", h->task_id, h->d.id, store_last_error(env->store));
		return;
	} else if (!fresh || (t.current_retry + 1 == h->a.number && t.status == TASK_CANCELLED)) {
		/* the caller's read (SQLite), or cancelled while it ran: settled below */
	} else if (!(t.status == TASK_RUNNING || t.status == TASK_PENDING || t.status == TASK_RETRYING) ||
		   t.current_retry + 1 != h->a.number) {
		/* Settled already, or running a later attempt: not this end's to move.
		 * Pending or retrying at this attempt's number is this attempt whose
		 * start was lost with the database (runner_spawned()): it ran, and
		 * ends here, or its claim would be held by nobody's daughter. */
		if (task_status_is_terminal(t.status)) /* cancelled meanwhile: the claim goes back */
			(void)store_task_release(env->store, t.id);
		task_done(&t);
		h->end_written = store_available(env->store);
		return;
	}
	if (!task_status_is_terminal(t.status)) {
		free(t.result_json);
		t.result_json = runner_result_json(h, h->end_reason);
		if (h->end_success || h->kill_reason == KILL_CANCEL) {
			TaskStatus old = t.status;
			t.status = h->end_success ? TASK_COMPLETED : TASK_CANCELLED;
			t.updated_at = at;
			t.next_attempt_at = 0;
			if (store_task_update(env->store, &t) < 0)
				log_error("cannot update task %s: %s", t.id, store_last_error(env->store));
			else {
				runner_task_changed(r, &t, old);
				runner_audit_task(&t, h->d.id, h->a.node, "ended", h->end_reason, NULL);
			}
		} else
			settle_unsuccessful(r, &t, h->end_reason, h->d.id, h->a.node, at, h->end_final);
	} else if (t.status == TASK_CANCELLED && !t.result_json) {
		/* Cancelled while it ran: keep how its daughter ended. */
		t.result_json = runner_result_json(h, h->end_reason);
		(void)store_task_update(env->store, &t);
	}
	/* Cancelled while it ran (on a fleet, maybe by another node): the claim
	 * goes back with this end whether or not the task was written above. */
	if (task_status_is_terminal(t.status))
		(void)store_task_release(env->store, t.id);
	task_done(&t);
	/* A write lost with the database made the store say so (SQLite: always there). */
	h->end_written = store_available(env->store);
}

void runner_attempt_ended(Hija *h)
{
	Runner *r = h->runner;

	attempt_end(h, NULL);
	/* Its cgroup is empty: nothing of its uid runs any more, and before the
	 * uid is handed out again, what it left in /dev/shm goes. */
	if (h->clean_shm && h->pidfd >= 0)
		(void)shm_remove_owned(NULL, h->uid);
	LIST_REMOVE(hijas, r->hijas, h);
	r->n_running--;
	/* Its end is written, not yet committed: kept until it is. */
	hija_release(h);
	LIST_PREPEND(ended, r->ended, h);
	runner_schedule(r);
}

/* ---- Starting an attempt -------------------------------------------------------------------- */

static Hija *hija_new(Runner *r, const Task *t)
{
	Hija *h = calloc(1, sizeof(*h));
	unsigned char raw[16];

	if (!h)
		return NULL;
	h->runner = r;
	h->pid = 0;
	h->pidfd = h->stdin_fd = h->landlock_fd = h->uid_lock_fd = -1;
	for (int i = 0; i < _OUT_MAX; i++)
		h->out[i].pipe_fd = h->out[i].file_fd = h->out_w[i] = -1;
	memcpy(h->task_id, t->id, ID_STRING_MAX);
	memcpy(h->intent_id, t->intent_id, ID_STRING_MAX);
	if (!t->traceparent || !traceparent_parse(t->traceparent, h->trace_id))
		h->trace_id[0] = 0;
	h->source = strdup(t->source);
	h->task_type = strdup(t->task_type);
	h->owner = t->uid;
	(void)random_bytes(raw, sizeof raw);
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(h->token + 2 * i, 3, "%02x", raw[i]);
	if (!h->source || !h->task_type) {
		free(h->source);
		free(h->task_type);
		free(h);
		return NULL;
	}
	return h;
}

/*
 * The rows of a new attempt, written once it has started (or failed to),
 * with what the spawn found out, rather than inserted now and updated then:
 * a row write and its index rewrites fewer per daughter. A crash in between
 * loses nothing: the commit of rows written now would not be ordered before
 * the spawn either, and start-up kills whatever it finds in the daemon's
 * cgroup root that no attempt claims, and runs the task (still pending) again.
 * Only daughter.spawn, whose reply names the daughter, writes them at once.
 */
static int fill_rows(Runner *r, Hija *h, const Task *t, const char *name, const char *purpose)
{
	uint64_t now = now_realtime_usec();

	id_new_string(h->d.id);
	id_new_string(h->a.id);
	memcpy(h->d.task_id, t->id, ID_STRING_MAX);
	memcpy(h->a.daughter_id, h->d.id, ID_STRING_MAX);
	memcpy(h->a.task_id, t->id, ID_STRING_MAX);
	h->d.name = strdup(name);
	h->d.purpose = purpose ? strdup(purpose) : NULL;
	h->d.status = strdup("spawning");
	h->d.mutation_level = t->mutation_level;
	h->d.started_at = h->d.last_heartbeat_at = now;
	h->d.owner_uid = t->uid;
	h->d.ttl_seconds = -1; /* known once the policy task is: runner_start_attempt() */
	h->a.number = t->current_retry + 1;
	h->a.status = strdup("running");
	h->a.started_at = now;
	h->a.exit_code = -1;
	h->a.node = r->env.node ? strdup(r->env.node) : NULL;
	if (!h->d.name || !h->d.status || !h->a.status || (r->env.node && !h->a.node))
		return log_error_errno(ENOMEM, "out of memory");
	return 0;
}

/* A daughter is named after its task type, but an admin's spawn is named
 * by the admin (daughter.spawn's "name", kept in the task's payload). */
static const char *daughter_name(const Task *t, const PolicyTask *pt, json_object *spawn_payload)
{
	json_object *name;

	if (spawn_payload && json_object_object_get_ex(spawn_payload, "name", &name) &&
	    json_object_is_type(name, json_type_string) && json_object_get_string_len(name) > 0)
		return json_object_get_string(name);
	return pt ? pt->name : t->task_type;
}

int runner_start_attempt(Runner *r, Task *t, const char *purpose, Hija **ret)
{
	RunnerConfig *env = &r->env;
	const PolicyTask *base = NULL, *pt = NULL;
	const SeccompProgram *prog = NULL;
	PolicyTask spawn_pt;
	char *spawn_argv[256];
	_cleanup_json_ json_object *spawn_payload = NULL;
	_cleanup_free_ char *error = NULL;
	Hija *h;
	int k;

	h = hija_new(r, t);
	if (!h)
		return log_error_errno(ENOMEM, "out of memory");
	if (streq(t->task_type, "daughter.spawn")) {
		k = spawn_task_init(r, &spawn_pt, t, spawn_argv, ELEMENTSOF(spawn_argv), &spawn_payload, &prog,
				    &error);
		if (k == 0)
			pt = &spawn_pt;
	} else {
		base = policy_find_task(env->policy, t->task_type);
		pt = base ? policy_task_at_level(base, t->mutation_level) : NULL;
		if (!pt && asprintf(&error, "task type \"%s\" is no longer in the policy", t->task_type) < 0)
			error = NULL;
		if (pt)
			prog = pt->seccomp_program;
	}

	k = fill_rows(r, h, t, daughter_name(t, pt, spawn_payload), purpose);
	if (k >= 0 && ret && hija_write_rows(h) < 0)
		k = log_error_errno(EIO, "cannot record daughter of task %s: %s", t->id, store_last_error(env->store));
	if (k < 0) {
		hija_free(h);
		return k;
	}
	LIST_PREPEND(hijas, r->hijas, h);
	r->n_running++;

	if (pt) {
		int64_t ttl = t->ttl_seconds >= 0 ? t->ttl_seconds : pt->ttl_seconds;
		h->ttl_usec = ttl > 0 ? (uint64_t)ttl * USEC_PER_SEC : 0;
		h->d.ttl_seconds = ttl > 0 ? ttl : 0;
		h->hb_usec = pt->heartbeat_seconds > 0 ? (uint64_t)pt->heartbeat_seconds * USEC_PER_SEC : 0;
		h->grace_usec = pt->grace_seconds > 0 ? (uint64_t)pt->grace_seconds * USEC_PER_SEC : 0;
		k = hija_prepare(h, t, pt, prog, &error);
	}
	if (!pt || k < 0) {
		attempt_end(h, error ?: "out of memory");
		LIST_REMOVE(hijas, r->hijas, h);
		r->n_running--;
		hija_free(h);
		return 0;
	}
	spawner_submit(r->spawner, h);
	if (ret)
		*ret = h;
	return 0;
}

void runner_spawned(Hija *h)
{
	Runner *r = h->runner;
	RunnerConfig *env = &r->env;
	uint64_t at;
	Task t;

	hija_spawn_done(h);
	if (h->spawn_rc < 0) {
		attempt_end(h, h->spawn_error ?: strerror(-h->spawn_rc));
		LIST_REMOVE(hijas, r->hijas, h);
		r->n_running--;
		hija_free(h);
		runner_schedule(r);
		return;
	}
	metrics_histogram_observe(&r->spawn_latency, (double)h->spawn_usec / USEC_PER_SEC);
	(void)hija_watch(h);
	if (h->kill_reason != KILL_NONE) /* cancelled, or the daemon stopping, while it was being spawned */
		hija_kill(h, h->kill_reason);

	/* It started when it exec'd: its rows and both events say so, and the
	 * daughter's start is told first, as it is what makes the task run. */
	at = h->spawned_at ?: now_realtime_usec();
	h->d.started_at = h->a.started_at = h->d.last_heartbeat_at = at;
	set_str(&h->d.status, "running");
	if (hija_write_rows(h) < 0)
		log_error("cannot record daughter %s: %s", h->d.id, store_last_error(env->store));
	runner_daughter_status(r, h->task_id, &h->d, &h->a);
	if (store_task_get(env->store, h->task_id, &t) < 0) {
		log_error("task %s of daughter %s cannot be read: %s", h->task_id, h->d.id, store_last_error(env->store));
		return;
	}
	if (task_status_is_terminal(t.status))
		hija_kill(h, KILL_CANCEL); /* cancelled while it was being spawned */
	else if (t.status != TASK_RUNNING) {
		TaskStatus old = t.status;
		t.status = TASK_RUNNING;
		t.updated_at = at;
		t.next_attempt_at = 0;
		int k = store_task_update(env->store, &t);
		if (k < 0) {
			log_error("cannot update task %s: %s", t.id, store_last_error(env->store));
			runner_fenced(r, t.id, k);
		} else
			runner_task_changed(r, &t, old);
	}
	char detail[128];
	snprintf(detail, sizeof detail, "daughter %s, attempt %d, uid %u, cgroup %s", h->d.id, h->a.number,
		 (unsigned)h->uid, h->a.cgroup ?: "-");
	runner_audit_task(&t, h->d.id, h->a.node, "started", detail, h->a.confinement);
	task_done(&t);
}

static void start_task_by_id(Runner *r, const Id *id)
{
	char s[ID_STRING_MAX];
	Task t;

	id_to_string(id, s);
	/* Never two daughters for one task (a rolled-back commit re-queues it). */
	for (Hija *h = r->hijas; h; h = h->hijas_next)
		if (streq(h->task_id, s))
			return;
	if (store_task_get(r->env.store, s, &t) < 0) {
		log_error("queued task %s cannot be read: %s", s, store_last_error(r->env.store));
		return;
	}
	/* The queue may hold a task cancelled since: the store has the last word. */
	if ((t.status == TASK_PENDING || t.status == TASK_PLANNING || t.status == TASK_RETRYING) &&
	    runner_gate(r, &t) == GATE_GO)
		(void)runner_start_attempt(r, &t, NULL, NULL);
	task_done(&t);
}

static int on_dispatch(sd_event_source *s, void *userdata)
{
	Runner *r = userdata;
	RunnerConfig *env = &r->env;
	QueueEntry e;

	/* Each attempt could only fail: they keep their place and their retries. */
	if (r->spawn_problem)
		return 0;
	/* Paused: everything keeps its place in the queue. */
	if (r->paused_all)
		return 0;
	if (store_is_fleet(env->store)) {
		runner_claim(r);
		return 0;
	}
	for (int n = 0; n < DISPATCH_BATCH && r->n_running < env->policy->limits.max_running; n++) {
		if (!queue_pop(env->queue, &e))
			return 0;
		start_task_by_id(r, &e.id);
	}
	if (queue_size(env->queue) > 0 && r->n_running < env->policy->limits.max_running)
		runner_schedule(r);
	return 0;
}

void runner_schedule(Runner *r)
{
	if (r)
		(void)sd_event_source_set_enabled(r->dispatch_source, SD_EVENT_ONESHOT);
}

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	Runner *r = userdata;
	RunnerConfig *env = &r->env;
	uint64_t now = now_realtime_usec();
	const QueueEntry *e;

	/* Due retries join the run queue at their priority and submission order. */
	while ((e = queue_peek(env->retry_queue)) && e->seq <= now) {
		QueueEntry due;
		char id[ID_STRING_MAX];
		Task t;

		(void)queue_pop(env->retry_queue, &due);
		id_to_string(&due.id, id);
		if (store_task_get(env->store, id, &t) < 0)
			continue;
		if (t.status == TASK_RETRYING &&
		    !(env->hooks.replan && env->hooks.replan(env->hooks.userdata, &t)))
			(void)queue_push(env->queue, &due.id, t.priority, t.seq, 0);
		task_done(&t);
	}
	if (e) {
		(void)sd_event_source_set_time(s, e->seq);
		(void)sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	}
	runner_schedule(r);
	return 0;
}

int runner_setup_sources(Runner *r)
{
	const QueueEntry *e;
	int k;

	k = sd_event_add_defer(r->env.event, &r->dispatch_source, on_dispatch, r);
	/* After the post source's commit: a daughter starts only for a task
	 * whose row is durable. */
	if (k >= 0)
		k = sd_event_source_set_priority(r->dispatch_source, SD_EVENT_PRIORITY_NORMAL + 1);
	if (k >= 0)
		k = sd_event_source_set_enabled(r->dispatch_source, SD_EVENT_OFF);
	if (k >= 0)
		k = sd_event_add_time(r->env.event, &r->retry_timer, CLOCK_REALTIME, 0, USEC_PER_MSEC, on_retry_timer, r);
	if (k < 0)
		return k;
	e = queue_peek(r->env.retry_queue);
	if (e)
		(void)sd_event_source_set_time(r->retry_timer, e->seq);
	return sd_event_source_set_enabled(r->retry_timer, e ? SD_EVENT_ONESHOT : SD_EVENT_OFF);
}

void runner_rearm(Runner *r)
{
	const QueueEntry *e;

	if (!r)
		return;
	e = queue_peek(r->env.retry_queue);
	if (e)
		(void)sd_event_source_set_time(r->retry_timer, e->seq);
	(void)sd_event_source_set_enabled(r->retry_timer, e ? SD_EVENT_ONESHOT : SD_EVENT_OFF);
	runner_schedule(r);
}

void runner_settle_interrupted(Runner *r, Task *t, const char *daughter_id, const char *node)
{
	settle_unsuccessful(r, t, "interrupted", daughter_id, node, now_realtime_usec(), false);
}

int runner_cancel(Runner *r, const char *task_id)
{
	int n = 0;

	for (Hija *h = r->hijas; h; h = h->hijas_next)
		if (streq(h->task_id, task_id) && !h->finished) {
			hija_kill(h, KILL_CANCEL);
			n++;
		}
	return n;
}
