/* SPDX-License-Identifier: MIT */
/*
 * What switch.md says a plan is, without a socket or a store: the check of a
 * switch.plan answer, the plan vx11d keeps of it, and the local plan of a
 * degraded intent. Pure functions, so that every malformed shape is tested
 * (tests/unit/test-plan-answer.c).
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "policy/policy.h"

/*
 * NULL when res is a plan; else why not, as a degraded_reason says it
 * ("switch malformed answer: approach is not a string"). provider and
 * approach are required strings; plan_id and model strings, score a number,
 * steps an array when present (null counts as absent). for_task: a task's
 * plan, whose task_type (a re-route) must be one of task_types (the caller's)
 * and of pol; an intent without a task has nothing to re-route, its
 * task_type is not looked at.
 */
const char *plan_answer_check(json_object *res, bool for_task, json_object *task_types, const Policy *pol);
/* {"plan_id", "provider", "model", "approach", "score", "steps", "response"}
 * of a checked answer (null for those it lacks), and "task_type" when
 * with_type and it has one. New reference. */
json_object *plan_from_answer(json_object *res, bool with_type);
/* The plan of solo_madre's fallback_local with "degraded_reason". New reference. */
json_object *plan_local(const char *reason);
