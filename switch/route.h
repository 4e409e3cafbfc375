/* SPDX-License-Identifier: MIT */
/*
 * Routing: which route plans a switch.plan request, what the plan says, and
 * which provider runs a sub-task. Pure functions of the configuration and
 * the request, so the unit tests check them without a socket.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "config.h"

/* The switch.plan params (switch.md); NULL or -1 where the request has none. */
typedef struct PlanRequest {
	const char *correlation_id;
	const char *intent_type; /* required */
	const char *text;
	json_object *payload;
	int64_t priority;
	const char *source;
	const char *task_type;   /* the policy task type the intent names; NULL without a spawner */
	json_object *task_types; /* array of the task type names the caller may submit */
	int64_t attempt;
	int64_t mutation_level;
	const char *last_reason;
} PlanRequest;

#define PLAN_REQUEST_INIT ((PlanRequest){ .priority = -1, .attempt = -1, .mutation_level = -1 })

/*
 * The first route whose intent_type pattern (fnmatch(3), no flags) matches
 * and, when it has one, whose text regex matches the request's text (a
 * request without text matches no route that has one); else the default
 * route. *ret_index is its position in routes, -1 for the default.
 */
const Route *route_match(const SwitchConfig *c, const char *intent_type, const char *text, ssize_t *ret_index);

/*
 * The re-route rule: the plan names the route's task_type only when the
 * request is a spawner intent (it has a task_type) and the route's type is
 * one the caller may submit (in task_types). Otherwise the plan has no
 * task_type and the intent keeps its own: vx11d takes a task_type outside
 * task_types for a malformed answer, and a route is a rule for many callers.
 */
bool route_reroutes(const Route *r, const PlanRequest *req);

/* The switch.plan result: plan_id, provider, approach, and model, score,
 * task_type, steps, response where the route has them. */
json_object *plan_build(const Route *r, const PlanRequest *req, const char *plan_id);

/*
 * The provider for a sub-task: the first rule of subtasks whose pattern
 * matches subtask_type, else default_provider, else NULL. *ret_rule is the
 * rule's position, -1 for the default (or none).
 */
const Provider *subtask_provider(const SwitchConfig *c, const char *subtask_type, ssize_t *ret_rule);
