/* SPDX-License-Identifier: MIT */
/*
 * Retention: finished tasks go with their daughters, attempts and output
 * files, and audit rows go, as the policy's "retention" says (runner.h), and
 * on an admin's request (task.prune). A timer does it off the request path,
 * PRUNE_BATCH tasks per loop iteration, so each batch is its own small
 * commit and requests get their turn in between.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runner-internal.h"

#define PRUNE_BATCH 64
#define PRUNE_AGAIN_USEC (50 * USEC_PER_MSEC) /* after a full batch: the rest soon, in another iteration */

static const TaskStatus retain_status[_POLICY_RETAIN_MAX] = {
	[POLICY_RETAIN_COMPLETED] = TASK_COMPLETED,
	[POLICY_RETAIN_FAILED] = TASK_FAILED,
	[POLICY_RETAIN_EXPIRED] = TASK_EXPIRED,
	[POLICY_RETAIN_CANCELLED] = TASK_CANCELLED,
};

typedef struct AttemptIds {
	char (*ids)[ID_STRING_MAX];
	size_t n;
} AttemptIds;

static int collect_attempt(const Attempt *a, void *userdata)
{
	AttemptIds *v = userdata;
	char (*n)[ID_STRING_MAX] = reallocarray(v->ids, v->n + 1, sizeof *n);

	if (!n)
		return -ENOMEM;
	v->ids = n;
	memcpy(v->ids[v->n++], a->id, ID_STRING_MAX);
	return 0;
}

static bool task_is_live(const Runner *r, const char *task_id)
{
	for (const Hija *h = r->hijas; h; h = h->hijas_next)
		if (streq(h->task_id, task_id))
			return true;
	return false;
}

/* One task, its rows and its output files. */
static int prune_task(Runner *r, const char *task_id, TaskStatus status, PruneCounts *c)
{
	static const char *const streams[] = { "stdout", "stderr" };
	AttemptIds a = {};
	int k;

	k = store_attempt_list_task(r->env.store, task_id, collect_attempt, &a);
	if (k >= 0)
		k = store_task_delete(r->env.store, task_id);
	if (k < 0) {
		free(a.ids);
		return log_error_errno(k, "cannot remove task %s: %s", task_id, store_last_error(r->env.store));
	}
	/* Before the commit: a failed one leaves rows without output, never files without a row. */
	for (size_t i = 0; i < a.n; i++)
		for (size_t s = 0; s < ELEMENTSOF(streams); s++) {
			_cleanup_free_ char *path = runner_output_path(r, a.ids[i], streams[s]);
			if (path && unlink(path) == 0)
				c->files++;
			else if (path && errno != ENOENT)
				log_warning_errno(errno, "cannot remove %s: %m", path);
		}
	free(a.ids);
	c->tasks++;
	if (r->env.hooks.task_removed)
		r->env.hooks.task_removed(r->env.hooks.userdata, task_id, status);
	return 0;
}

int runner_prune_tasks(Runner *r, TaskStatus status, uint64_t before, int64_t keep, unsigned limit, PruneCounts *c)
{
	char (*ids)[ID_STRING_MAX] = NULL;
	size_t n = 0;
	unsigned done = 0;
	int k;

	k = store_prune_candidates(r->env.store, status, before, keep, limit, &ids, &n);
	if (k < 0)
		return k;
	for (size_t i = 0; i < n; i++) {
		/* Cancelled while its daughter is still being stopped: later. */
		if (task_is_live(r, ids[i]))
			continue;
		k = prune_task(r, ids[i], status, c);
		if (k < 0)
			break;
		done++;
	}
	free(ids);
	/* A full page that removed something may have more behind it. */
	if (k >= 0 && n == limit && done > 0)
		c->more = true;
	return k < 0 ? k : 0;
}

/* One batch of what the policy says, at `now`; true when there may be more. */
static bool prune_batch(Runner *r, uint64_t now, PruneCounts *c)
{
	const Policy *p = r->env.policy;
	unsigned audit = 0;

	for (int i = 0; i < _POLICY_RETAIN_MAX && c->tasks < PRUNE_BATCH; i++) {
		const PolicyRetention *rule = &p->retention.tasks[i];
		uint64_t age = rule->max_age_seconds > 0 ? (uint64_t)rule->max_age_seconds * USEC_PER_SEC : 0;

		if (rule->max_age_seconds < 0 && rule->max_count < 0)
			continue;
		if (runner_prune_tasks(r, retain_status[i], age && age < now ? now - age : 0, rule->max_count,
				       PRUNE_BATCH - c->tasks, c) < 0)
			return false;
	}
	const PolicyRetention *rule = &p->retention.audit;
	if (rule->max_age_seconds >= 0 || rule->max_count >= 0) {
		uint64_t age = rule->max_age_seconds > 0 ? (uint64_t)rule->max_age_seconds * USEC_PER_SEC : 0;

		if (store_intent_prune(r->env.store, age && age < now ? now - age : 0, rule->max_count, PRUNE_BATCH,
				       &audit) < 0)
			log_error("cannot prune the audit log: %s", store_last_error(r->env.store));
		c->audit += audit;
		if (audit == PRUNE_BATCH)
			c->more = true;
	}
	return c->more || c->tasks >= PRUNE_BATCH;
}

static bool retention_set(const Policy *p)
{
	for (int i = 0; i < _POLICY_RETAIN_MAX; i++)
		if (p->retention.tasks[i].max_age_seconds >= 0 || p->retention.tasks[i].max_count >= 0)
			return true;
	return p->retention.audit.max_age_seconds >= 0 || p->retention.audit.max_count >= 0;
}

static void arm(Runner *r, uint64_t usec_from_now)
{
	(void)sd_event_source_set_time_relative(r->prune_timer, usec_from_now);
	(void)sd_event_source_set_enabled(r->prune_timer, SD_EVENT_ONESHOT);
}

static int on_prune_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	Runner *r = userdata;
	PruneCounts c = {};
	bool more;

	if (!retention_set(r->env.policy))
		return 0;
	more = prune_batch(r, now_realtime_usec(), &c);
	if (c.tasks > 0 || c.audit > 0)
		log_info("retention: removed %u finished tasks (%u output files) and %u audit rows%s", c.tasks, c.files,
			 c.audit, more ? "; more to come" : "");
	arm(r, more ? PRUNE_AGAIN_USEC : r->env.policy->retention.interval_seconds * USEC_PER_SEC);
	return 0;
}

int runner_prune_setup(Runner *r)
{
	int k = sd_event_add_time(r->env.event, &r->prune_timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_prune_timer, r);
	if (k < 0)
		return k;
	(void)sd_event_source_set_enabled(r->prune_timer, SD_EVENT_OFF);
	/* Below requests and dispatch: it is housekeeping. */
	(void)sd_event_source_set_priority(r->prune_timer, SD_EVENT_PRIORITY_IDLE);
	runner_prune_rearm(r);
	return 0;
}

void runner_prune_rearm(Runner *r)
{
	if (!r || !r->prune_timer)
		return;
	if (!retention_set(r->env.policy)) {
		(void)sd_event_source_set_enabled(r->prune_timer, SD_EVENT_OFF);
		return;
	}
	/* A first look soon after start or a reload, then every interval. */
	arm(r, MIN(r->env.policy->retention.interval_seconds * USEC_PER_SEC, 1 * USEC_PER_SEC));
}
