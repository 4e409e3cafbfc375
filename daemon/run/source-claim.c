/* SPDX-License-Identifier: MIT */
/*
 * A fleet node's run source (FLEET-DESIGN.md R4, P8): on a shared database
 * a node runs only what it claimed there (store_claim()), never straight
 * from its local queue, so that no two nodes run one task, whoever submitted
 * it. The local queue and retry timer stay as wake-ups: a submission on this
 * node, a retry due, a slot freed schedule a claim. Other nodes' commits wake
 * it through NOTIFY vx11_work; a slow poll (about 1 s, jittered so that
 * nodes do not claim in step) covers a wake-up lost with its connection.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "runner-internal.h"

#define POLL_USEC (1000 * USEC_PER_MSEC)
#define CLAIM_BATCH 32 /* as dispatch: requests get their turn in between */

/* Claimed: start it, or give it back if the gate holds it after all (a
 * pause this node knew of and the database not yet). */
static int on_claimed(const Task *claimed, void *userdata)
{
	Runner *r = userdata;
	/* The store's own copy, read for this call: the gate may settle it. */
	Task *t = (Task *)claimed;

	/* Cancelled on another node between the claim and this read. */
	if (task_status_is_terminal(t->status)) {
		(void)store_task_release(r->env.store, t->id);
		return 0;
	}
	switch (runner_gate(r, t)) {
	case GATE_GO:
		/* < 0: no attempt at all (out of memory), so nothing settles it either. */
		if (runner_start_attempt(r, t, NULL, NULL) >= 0)
			return 0;
		break;
	case GATE_FAILED:
		return 0; /* settled failed: its claim went with it */
	default:
		break;
	}
	if (store_task_release(r->env.store, t->id) < 0)
		log_error("cannot give back the claim on task %s: %s", t->id, store_last_error(r->env.store));
	return 0;
}

static void arm_poll(Runner *r, uint64_t usec)
{
	(void)sd_event_source_set_time_relative(r->poll_timer, usec);
	(void)sd_event_source_set_enabled(r->poll_timer, SD_EVENT_ONESHOT);
}

void runner_claim(Runner *r)
{
	RunnerConfig *env = &r->env;
	const Policy *p = env->policy;
	const char **types;
	QueueEntry e;
	size_t free_slots, n = 0;
	int k;

	/* Whatever it says is in the database, to be claimed with the rest. */
	while (queue_pop(env->queue, &e))
		;
	if (r->spawn_problem || r->paused_all || r->lease_fenced || r->n_running >= p->limits.max_running)
		return;
	free_slots = MIN((size_t)(p->limits.max_running - r->n_running), (size_t)CLAIM_BATCH);
	/* What this node's policy can run (a type only another node knows waits
	 * for it), less what it holds paused: claimed, such a task would only be
	 * given back, and claimed again at once. */
	types = calloc(p->n_tasks + 2, sizeof *types);
	if (!types) {
		log_error("out of memory");
		return;
	}
	for (size_t i = 0; i < p->n_tasks; i++)
		if (!runner_is_paused(r, p->tasks[i].name))
			types[n++] = p->tasks[i].name;
	if (!runner_is_paused(r, "daughter.spawn"))
		types[n++] = "daughter.spawn";
	k = n > 0 ? store_claim(env->store, types, (unsigned)free_slots, on_claimed, r) : 0;
	free(types);
	if (k == -EAGAIN) {
		/* This iteration's writes are not committed yet: claim right after. */
		arm_poll(r, USEC_PER_MSEC);
		return;
	}
	if (k < 0) {
		log_error("cannot claim tasks: %s", store_last_error(env->store));
		return;
	}
	/* A full batch: there may be more. */
	if ((size_t)k == free_slots)
		runner_schedule(r);
}

static int on_wake(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	Runner *r = userdata;
	int k = store_wake_drain(r->env.store);

	if (k < 0) {
		/* The poll goes on claiming; the wake-ups are lost until restart. */
		log_warning("wake-ups from other nodes stop: %s; claiming once a second until they are back",
			    store_last_error(r->env.store));
		r->wake_source = sd_event_source_disable_unref(r->wake_source);
		return 0;
	}
	if (k > 0)
		runner_schedule(r);
	/* Events of other nodes (not counted in k) are taken there too. */
	if (r->env.hooks.fleet_woken)
		r->env.hooks.fleet_woken(r->env.hooks.userdata);
	runner_fleet_control(r);
	return 0;
}

static int on_poll(sd_event_source *s, uint64_t usec, void *userdata)
{
	Runner *r = userdata;
	uint64_t jitter;

	runner_schedule(r);
	runner_fleet_poll_cancels(r);
	/* Wake-ups lost with a connection come back with the database. */
	if (!r->wake_source && store_available(r->env.store)) {
		int fd = store_wake_fd(r->env.store);

		if (fd >= 0 && sd_event_add_io(r->env.event, &r->wake_source, fd, EPOLLIN, on_wake, r) >= 0) {
			log_info("wake-ups from other nodes again");
			/* A pause or resume told while they were lost. */
			(void)runner_load_pauses(r);
		}
	}
	/* 0.75 to 1.25 s */
	jitter = (uint64_t)random() % (POLL_USEC / 2);
	arm_poll(r, POLL_USEC * 3 / 4 + jitter);
	return 0;
}

int runner_fleet_setup(Runner *r)
{
	int fd, k;

	if (!store_is_fleet(r->env.store))
		return 0;
	k = sd_event_add_time_relative(r->env.event, &r->poll_timer, CLOCK_MONOTONIC, POLL_USEC, USEC_PER_MSEC,
				       on_poll, r);
	if (k < 0)
		return k;
	fd = store_wake_fd(r->env.store);
	if (fd < 0) {
		log_warning("no wake-ups from other nodes: %s; claiming once a second", store_last_error(r->env.store));
		return 0;
	}
	k = sd_event_add_io(r->env.event, &r->wake_source, fd, EPOLLIN, on_wake, r);
	return k < 0 ? k : 0;
}

void runner_fleet_free(Runner *r)
{
	r->wake_source = sd_event_source_disable_unref(r->wake_source);
	r->poll_timer = sd_event_source_disable_unref(r->poll_timer);
}

void runner_fenced(Runner *r, const char *task_id, int k)
{
	if (k != -ESTALE)
		return;
	for (Hija *h = r->hijas; h; h = h->hijas_next)
		if (streq(h->task_id, task_id) && !h->finished && h->kill_reason != KILL_FENCED) {
			log_warning("daughter %s of task %s: %s; stopping it, the task is not settled here", h->d.id,
				    task_id, store_last_error(r->env.store));
			hija_kill(h, KILL_FENCED);
		}
}
