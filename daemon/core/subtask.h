/* SPDX-License-Identifier: MIT */
/*
 * Sub-tasks (switch.md, daughter.subtask): a live daughter asks the switch
 * to run one request for it (switch.subtask); the answer's tokens, model and
 * provider are added to the daughter's attempt. Sub-tasks have a switch
 * client of their own, not the planner's: the reference switch answers one
 * connection's requests in order, so a slow provider run must not hold plans
 * behind it. The client exists only in policy mode "switch" and follows
 * policy reloads. Nothing here blocks; every outcome reaches the caller
 * through its callback, from the loop.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "policy/policy.h"
#include "run/runner.h"
#include "store/store.h"

typedef struct Subtasks Subtasks;
typedef struct SubtaskCall SubtaskCall;

/*
 * The answer to give the daughter (a new reference the callback takes): the
 * switch's result as it came, or, when there is none,
 * {"status": "timeout"|"error", "retry": bool, "error": "..."}. The call's
 * handle is gone once the callback returns.
 */
typedef void (*SubtaskDone)(void *userdata, json_object *reply);

/* Add a sub-task's counts to the attempt of the live daughter daughter_id
 * (with this token); model and provider may be NULL (leave them). false:
 * no such live daughter any more, nothing was written. */
typedef bool (*SubtaskAccount)(void *userdata, const char *daughter_id, const char *token, int64_t tokens_cli,
			       int64_t tokens_local, const char *model, const char *provider);

/* Accounted on the runner's live daughters, written through store; both
 * are the Manager's, alive as long as this. */
int subtasks_new(sd_event *e, Store *store, Runner *runner, Subtasks **ret);
/* The same with accounting of the caller's (the unit tests). */
int subtasks_new_with(sd_event *e, SubtaskAccount account, void *userdata, Subtasks **ret);
/* Calls still outstanding get their callback (an error reply) first. Accepts NULL. */
Subtasks *subtasks_free(Subtasks *s);

/* The policy at start and after each reload: mode "switch" makes (or
 * reconfigures) the client; another mode drops it, failing the calls in
 * flight. Returns 0 or -errno (the client could not be made: sub-tasks then
 * answer with an error until the next reload fixes it). */
int subtasks_set_policy(Subtasks *s, const Policy *p);

/* Who asks: a live daughter, authenticated by its token. */
typedef struct SubtaskWho {
	const char *task_id, *daughter_id, *token;
	int attempt;
} SubtaskWho;

/*
 * Forward {task_id, daughter_id, attempt, subtask_type, payload} to
 * switch.subtask for the daughter who (payload is taken over, NULL: null). Then either *ret is the call, and cb
 * is called exactly once from the loop unless the call is cancelled first;
 * or (no usable client in mode "switch") *ret is NULL and *ret_reply the
 * answer to give now. Returns -EOPNOTSUPP when the policy mode is not
 * "switch", -ENOMEM.
 */
int subtask_start(Subtasks *s, const SubtaskWho *who, const char *subtask_type, json_object *payload, SubtaskDone cb,
		  void *userdata, SubtaskCall **ret, json_object **ret_reply);
/* The caller went away: cb is never called. The request stays in flight;
 * its tokens are still accounted if the daughter lives. Accepts NULL. */
void subtask_cancel(SubtaskCall *call);
/* A daughter ended: its calls in flight answer now (status "error", retry
 * false) and their results, if they come, are ignored. */
void subtasks_daughter_gone(Subtasks *s, const char *daughter_id);

/* For daemon.status.switch.subtasks: the sub-tasks forwarded to the switch
 * since the daemon started. */
uint64_t subtasks_count(const Subtasks *s);
/* The sub-tasks' own switch client's status (switch_client_status()), or
 * NULL outside mode "switch". A new reference. */
json_object *subtasks_client_status(Subtasks *s);
