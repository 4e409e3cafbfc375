/* SPDX-License-Identifier: MIT */
/*
 * What other nodes of a fleet ask of this one (FLEET-DESIGN.md 2.7): a
 * task.cancel on another node of a task whose daughter runs here, and
 * "pauses": queue.pause or resume on any node, read again from the database
 * (claims skip paused types in SQL anyway; this is what a node started
 * while paused, or holding a pause another node lifted, needs to claim). That node
 * writes the task cancelled and, with its commit, NOTIFY vx11_ctl "cancel
 * <id>"; this node kills the daughter as a local cancel would (KILL_CANCEL:
 * its attempt ends cancelled, the task stays so, the claim is given back with
 * the attempt's end). A notification lost with the listening connection is
 * made up for by the poll: every claim poll (about a second) while daughters
 * run here, one read of which of their tasks ended elsewhere.
 */
#include <stdlib.h>
#include <string.h>

#include "runner-internal.h"

void runner_fleet_control(Runner *r)
{
	char msg[128];

	while (store_ctl_next(r->env.store, msg, sizeof msg) > 0) {
		const char *id = strncmp(msg, "cancel ", 7) == 0 ? msg + 7 : NULL;

		if (streq(msg, "pauses")) {
			/* queue.pause/resume on a node (this one too): what this
			 * node holds back is the database's again, and a resume
			 * lets it claim at once. */
			if (runner_load_pauses(r) >= 0)
				runner_schedule(r);
			continue;
		}
		if (!id) {
			log_debug("control message from another node not understood: %s", msg);
			continue;
		}
		if (runner_cancel(r, id) > 0)
			log_info("task %s cancelled on another node: its daughter is stopped", id);
	}
}

static int on_ended(const char *task_id, TaskStatus status, void *userdata)
{
	/* Ended by another node while its daughter runs here: only a cancel
	 * does that (anything else took the claim, and the fence stops it). */
	if (status == TASK_CANCELLED && runner_cancel(userdata, task_id) > 0)
		log_info("task %s was cancelled on another node: its daughter is stopped", task_id);
	return 0;
}

void runner_fleet_poll_cancels(Runner *r)
{
	const char **ids;
	size_t n = 0;

	/* Down: said once by the store's reconnects, not by every poll. */
	if (!r->hijas || !store_available(r->env.store))
		return;
	for (Hija *h = r->hijas; h; h = h->hijas_next)
		n++;
	ids = calloc(n, sizeof *ids);
	if (!ids)
		return;
	n = 0;
	for (Hija *h = r->hijas; h; h = h->hijas_next)
		if (!h->finished && h->kill_reason == KILL_NONE)
			ids[n++] = h->task_id;
	if (store_tasks_ended(r->env.store, ids, n, on_ended, r) < 0)
		log_warning("cannot look for cancels from other nodes: %s", store_last_error(r->env.store));
	free(ids);
}
