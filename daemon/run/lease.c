/* SPDX-License-Identifier: MIT */
/*
 * A fleet node's lease (FLEET-DESIGN.md 4, P9, blocking cut): registered at
 * start, renewed every lease/5 (at least once a second); a node renewing without a failure for a
 * whole lease adopts the nodes whose lease ended (store_node_adopt()) and
 * settles their running attempts as a restart settles its own. A node that
 * has not renewed for lease - margin fences itself: it kills its daughters
 * (KILL_FENCED) and claims nothing until a renewal succeeds, so that a
 * sweeper, which adopts only after the lease ended by the database's clock,
 * never finds one of its daughters still running. The fence guard
 * (fence-guard.c) does the same from outside when the daemon cannot.
 *
 * Back after a failure: if its incarnation is unchanged (nobody swept it),
 * the ends of the daughters it killed are settled as any end is
 * (runner_ends_rewrite()); if it was swept, the adopter settled them, so they
 * are dropped, and the node registers again as a new incarnation.
 */
#include <stdlib.h>
#include <string.h>

#include "runner-internal.h"

static uint64_t lease_usec(const Runner *r)
{
	return (uint64_t)r->env.lease_seconds * USEC_PER_SEC;
}

/* Margin before the lease's end: 2 s, at most a fifth of the lease (short
 * test leases): for clock rates that differ, and the guard's turn. */
static uint64_t fence_after_usec(const Runner *r)
{
	uint64_t lease = lease_usec(r);

	return lease - MIN(2 * USEC_PER_SEC, lease / 5);
}

/* Renewals every lease/5, at least once a second: a lease is then at most
 * a second old when an outage begins, so the node rides out one of nearly
 * lease - margin. After a failure, every quarter second: the renewal follows
 * the reconnect at once. */
static uint64_t period_usec(const Runner *r, bool failing)
{
	return failing ? USEC_PER_SEC / 4 : MIN(lease_usec(r) / 5, USEC_PER_SEC);
}

/* The guard's deadline: after the daemon's own fence (which records the
 * ends), before the lease ends. */
static uint64_t guard_after_usec(const Runner *r)
{
	return (fence_after_usec(r) + lease_usec(r)) / 2;
}

static void set_error(Runner *r, const char *msg)
{
	free(r->lease_error);
	r->lease_error = msg ? strdup(msg) : NULL;
}

static void fence(Runner *r)
{
	size_t n = 0;

	if (r->lease_fenced)
		return;
	r->lease_fenced = true;
	for (Hija *h = r->hijas; h; h = h->hijas_next)
		if (!h->finished && h->kill_reason != KILL_FENCED) {
			hija_kill(h, KILL_FENCED);
			n++;
		}
	log_error("node %s: lease not renewed for %.1f s (%s): stopped its %zu daughters and claims nothing until "
		  "it is renewed, so that no task runs here and on the node that adopts it",
		  r->env.node, (double)fence_after_usec(r) / USEC_PER_SEC, r->lease_error ?: "no answer", n);
}

/* Swept while it could not renew: the adopter settled what ran here. */
static void swept(Runner *r)
{
	Hija *h, *n;
	StoreLease l = {};
	int k;

	log_error("node %s: %s; its unsettled ends are dropped (settled by the adopter); registering again",
		  r->env.node, store_last_error(r->env.store));
	fence(r);
	LIST_FOREACH_SAFE(ended, h, n, r->ended) {
		LIST_REMOVE(ended, r->ended, h);
		hija_free(h);
	}
	k = store_node_register(r->env.store, r->env.lease_seconds, r->env.policy->limits.max_running, &l);
	if (k < 0)
		log_error("node %s: cannot register again: %s", r->env.node, store_last_error(r->env.store));
	else
		r->lease = l;
	r->lease_since = 0;
}

/* One node per tick (FLEET-DESIGN.md 2.5): its settle opens a transaction,
 * and the next adoption waits for it to commit anyway. */
static void adopt(Runner *r)
{
	char node[STORE_NODE_MAX] = "", (*ids)[ID_STRING_MAX] = NULL;
	size_t n = 0;
	int k = store_node_adopt(r->env.store, node, &ids, &n);

	if (k < 0 && k != -EAGAIN)
		log_error("cannot adopt expired nodes: %s", store_last_error(r->env.store));
	/* A failure after the adoption's commit: it is adopted all the same. */
	if (k != 0 && node[0]) {
		r->nodes_adopted++;
		AuditFields f = AUDIT_FIELDS_INIT;
		f.node = node;
		log_audit(LOG_WARNING, VX11_MSG_RECOVERED, &f,
			  "recovery: node %s stopped renewing its lease; adopted by node %s with its %zu running tasks",
			  node, r->env.node, n);
		runner_recover_adopted(r, node, ids, n);
	}
	free(ids);
}

static int on_fence(sd_event_source *s, uint64_t usec, void *userdata)
{
	fence(userdata);
	return 0;
}

/* Renewed at send: the fences move on. */
static void renewed(Runner *r, uint64_t send)
{
	r->lease_ok_at = send;
	fence_guard_deadline(r, send + guard_after_usec(r));
	(void)sd_event_source_set_time(r->fence_timer, send + fence_after_usec(r));
	(void)sd_event_source_set_enabled(r->fence_timer, SD_EVENT_ONESHOT);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	Runner *r = userdata;
	uint64_t send = now_monotonic_usec();
	unsigned running = (unsigned)r->n_running;
	StoreLease l = {};
	int k;

	/* Past its fence time already (the loop stopped or blocked that long):
	 * fenced first, whatever this renewal says, so that the daughters the
	 * guard may have killed end as fenced, not as failures of their own. */
	if (r->lease_ok_at && send >= r->lease_ok_at + fence_after_usec(r))
		fence(r);

	k = store_node_renew(r->env.store, r->env.lease_seconds, running, r->env.policy->limits.max_running, &l);
	if (k == -EAGAIN) {
		/* This iteration's writes are not committed yet: right after. */
		(void)sd_event_source_set_time_relative(s, USEC_PER_MSEC);
		return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	}
	if (k == -ESTALE)
		swept(r);
	else if (k < 0) {
		if (r->lease_since)
			log_warning("node %s: cannot renew its lease: %s", r->env.node, store_last_error(r->env.store));
		set_error(r, store_last_error(r->env.store));
		r->lease_since = 0;
	} else {
		StoreStats st;

		r->lease = l;
		renewed(r, send);
		/* A reconnect between two renewals counts as a failure: the
		 * whole lease of renewals starts again. */
		store_stats(r->env.store, &st);
		if (!r->lease_since || st.reconnects != r->lease_reconnects)
			r->lease_since = send;
		r->lease_reconnects = st.reconnects;
		set_error(r, NULL);
		if (r->lease_fenced) {
			r->lease_fenced = false;
			log_notice("node %s: lease renewed again (incarnation %lld): claiming again", r->env.node,
				   (long long)l.incarnation);
			runner_schedule(r);
		}
		/* Still this node's: what the outage kept from the database. */
		runner_ends_rewrite(r);
	}
	/* Only a node that has renewed for a whole lease judges others: after
	 * an outage that hit everyone, each gets a lease to renew first. */
	if (k >= 0 && r->lease_since && send - r->lease_since >= lease_usec(r))
		adopt(r);
	/* An adoption whose answer was lost (reconnect), or whose settles were
	 * lost with a commit, left attempts this node must settle: one read per
	 * tick finds them (none, nearly always). */
	else if (k >= 0 && !r->lease_fenced)
		runner_recover_adopted(r, NULL, NULL, 0);
	(void)sd_event_source_set_time_relative(s, period_usec(r, k < 0));
	return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

int runner_lease_setup(Runner *r)
{
	StoreLease l = {};
	uint64_t send = now_monotonic_usec(); /* the lease counts from before the call */
	int k;

	if (!store_is_fleet(r->env.store))
		return 0;
	k = store_node_register(r->env.store, r->env.lease_seconds, r->env.policy->limits.max_running, &l);
	if (k < 0)
		return log_error_errno(k, "node %s: cannot register in the fleet: %s", r->env.node,
				       store_last_error(r->env.store));
	r->lease = l;
	r->lease_since = send;
	/* Fail closed: without the guard a kill -9 of this daemon would leave
	 * daughters running while another node reruns their tasks. */
	k = fence_guard_start(r);
	if (k < 0)
		return log_error_errno(k, "cannot start the fence guard: %m");
	k = sd_event_add_time(r->env.event, &r->fence_timer, CLOCK_MONOTONIC, UINT64_MAX, 10 * USEC_PER_MSEC,
			      on_fence, r);
	if (k >= 0)
		k = sd_event_add_time_relative(r->env.event, &r->lease_timer, CLOCK_MONOTONIC,
					       period_usec(r, false), 10 * USEC_PER_MSEC, on_tick, r);
	if (k < 0)
		return log_error_errno(k, "cannot set up the lease timers: %m");
	renewed(r, r->lease_since);
	log_info("node %s: registered in the fleet (incarnation %lld, lease %u s)", r->env.node,
		 (long long)l.incarnation, r->env.lease_seconds);
	return 0;
}

void runner_lease_free(Runner *r)
{
	r->lease_timer = sd_event_source_disable_unref(r->lease_timer);
	r->fence_timer = sd_event_source_disable_unref(r->fence_timer);
	/* Its daughters are stopped and settled: nobody needs to adopt it. */
	if (store_is_fleet(r->env.store) && r->lease.incarnation && store_node_leave(r->env.store) < 0)
		log_warning("node %s: cannot say it left: %s (it is adopted when its lease ends)", r->env.node,
			    store_last_error(r->env.store));
	fence_guard_stop(r);
	free(r->lease_error);
	r->lease_error = NULL;
}

void runner_lease_json(const Runner *r, json_object *o)
{
	if (!r)
		return;
	json_object_object_add(o, "lease_seconds", json_object_new_int64(r->env.lease_seconds));
	if (!store_is_fleet(r->env.store))
		return;
	json_object_object_add(o, "incarnation", json_object_new_int64(r->lease.incarnation));
	json_object_object_add(o, "lease_until", json_object_new_int64((int64_t)r->lease.lease_until));
	json_object_object_add(o, "lease_fenced", json_object_new_boolean(r->lease_fenced));
	json_object_object_add(o, "lease_error", r->lease_error ? json_object_new_string(r->lease_error) : NULL);
	json_object_object_add(o, "nodes_adopted", json_object_new_int64((int64_t)r->nodes_adopted));
}
