/* SPDX-License-Identifier: MIT */
/*
 * Planning by the switch (switch.md), the Manager's side: it owns the client
 * of the switch for switch.plan (Manager.plan_switch) and turns each answer,
 * or each failure, into a plan: the switch's, or the local fallback marked
 * degraded. A task being planned is in state `planning`, committed before
 * the switch is asked; once planned it stores the plan, becomes `pending`
 * and joins the run queue, and its intent row gets the QUEUED envelope and
 * its notes. Nothing here blocks and nothing calls back from inside a call.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "store/store.h"

typedef struct Manager Manager;
typedef struct ManagerPlan ManagerPlan;

typedef struct PlanOutcome {
	json_object *plan;      /* borrowed: the switch's plan, or the local one */
	bool degraded;
	const char *reason;     /* degraded: why ("switch timeout after 2000 ms"); else NULL */
	json_object *envelope;  /* a task: the QUEUED envelope stored in its intent row (borrowed) */
	const char *failed;     /* the task could not be planned at all (its row was withdrawn) */
	const char *note;       /* how it was planned, as intents_log.notes says it */
} PlanOutcome;

typedef void (*ManagerPlanDone)(void *userdata, const PlanOutcome *o);

/* An intent without a task, from uid: params are switch.plan's (taken). cb runs once,
 * from the loop, unless the daemon stops first. */
int manager_plan_intent(Manager *m, json_object *params, uid_t uid, ManagerPlanDone cb, void *userdata,
			ManagerPlan **ret);
/* A task already written in state `planning` in the open transaction: asked
 * once that is committed. task_types (taken; NULL: only the task's own type)
 * are the types a plan may re-route it to. cb may be NULL. */
int manager_plan_task(Manager *m, const Task *t, json_object *task_types, ManagerPlanDone cb, void *userdata,
		      ManagerPlan **ret);
/* The asker went away: cb is never called, the plan still completes. */
void manager_plan_detach(ManagerPlan *p);

/* After each commit (withdrawn: it failed): plans whose task is now durable
 * are asked, those whose task was withdrawn fail. */
void manager_plans_committed(Manager *m, bool withdrawn);
/* The client after a (re)load of the policy: made, reconfigured or freed. */
int manager_switch_configure(Manager *m);
/* Start-up: every task a crash left in `planning` is planned again. */
int manager_replan_interrupted(Manager *m);
/* A retry of a planned task is due: plan it again (runner hook). */
bool manager_replan_retry(Manager *m, Task *t);
/* The daemon stops: outstanding plans end with failed "the daemon is
 * stopping" (their tasks stay in `planning`, planned again at the next
 * start), the client is freed. */
void manager_planner_stop(Manager *m);
/* daemon.status.switch (new reference). */
json_object *manager_switch_status(Manager *m);
