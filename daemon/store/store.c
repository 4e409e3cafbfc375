/* SPDX-License-Identifier: MIT */
/* The parts of the store that do not depend on a backend. */
#include <string.h>

#include "store.h"

/* The protocol's names; the store keeps them as text too. */
static const char *const task_status_table[_TASK_STATUS_MAX] = {
	[TASK_PENDING] = "pending",
	[TASK_PLANNING] = "planning",
	[TASK_RUNNING] = "running",
	[TASK_RETRYING] = "retrying",
	[TASK_COMPLETED] = "completed",
	[TASK_FAILED] = "failed",
	[TASK_EXPIRED] = "expired",
	[TASK_CANCELLED] = "cancelled",
};

const char *task_status_to_string(TaskStatus s)
{
	if (s < 0 || s >= _TASK_STATUS_MAX)
		return NULL;
	return task_status_table[s];
}

TaskStatus task_status_from_string(const char *s)
{
	if (!s)
		return _TASK_STATUS_INVALID;
	for (TaskStatus i = 0; i < _TASK_STATUS_MAX; i++)
		if (strcmp(task_status_table[i], s) == 0)
			return i;
	return _TASK_STATUS_INVALID;
}

bool task_status_is_terminal(TaskStatus s)
{
	return s == TASK_COMPLETED || s == TASK_FAILED || s == TASK_EXPIRED || s == TASK_CANCELLED;
}

/* The *_done() functions free what a record owns and leave it safe to free
 * again or to refill. */
#define FREE_AND_NULL(p)                                                                                   \
	do {                                                                                               \
		free(p);                                                                                   \
		(p) = NULL;                                                                                \
	} while (0)

void intent_record_done(IntentRecord *r)
{
	if (!r)
		return;
	FREE_AND_NULL(r->source);
	FREE_AND_NULL(r->intent_type);
	FREE_AND_NULL(r->text);
	FREE_AND_NULL(r->payload_json);
	FREE_AND_NULL(r->status);
	FREE_AND_NULL(r->mode);
	FREE_AND_NULL(r->provider);
	FREE_AND_NULL(r->error);
	FREE_AND_NULL(r->task_id);
	FREE_AND_NULL(r->idempotency_key);
	FREE_AND_NULL(r->envelope_json);
	FREE_AND_NULL(r->params_digest);
	FREE_AND_NULL(r->result_status);
	FREE_AND_NULL(r->notes);
	FREE_AND_NULL(r->command_json);
}

void task_done(Task *t)
{
	if (!t)
		return;
	FREE_AND_NULL(t->source);
	FREE_AND_NULL(t->task_type);
	FREE_AND_NULL(t->description);
	FREE_AND_NULL(t->payload_json);
	FREE_AND_NULL(t->result_json);
	FREE_AND_NULL(t->traceparent);
	FREE_AND_NULL(t->provider);
	FREE_AND_NULL(t->model);
	FREE_AND_NULL(t->plan_json);
	FREE_AND_NULL(t->command_json);
}

void daughter_done(Daughter *d)
{
	if (!d)
		return;
	FREE_AND_NULL(d->name);
	FREE_AND_NULL(d->purpose);
	FREE_AND_NULL(d->status);
	FREE_AND_NULL(d->error_last);
	FREE_AND_NULL(d->tools_json);
}

void attempt_done(Attempt *a)
{
	if (!a)
		return;
	FREE_AND_NULL(a->status);
	FREE_AND_NULL(a->reason);
	FREE_AND_NULL(a->switch_model_used);
	FREE_AND_NULL(a->cli_provider_used);
	FREE_AND_NULL(a->error_message);
	FREE_AND_NULL(a->cgroup);
	FREE_AND_NULL(a->reported_status);
	FREE_AND_NULL(a->status_text);
	FREE_AND_NULL(a->unapplied);
	FREE_AND_NULL(a->confinement);
	FREE_AND_NULL(a->result_json);
	FREE_AND_NULL(a->node);
}
