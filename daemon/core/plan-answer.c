/* SPDX-License-Identifier: MIT */
/* A switch.plan answer checked and turned into a plan: see plan-answer.h. */
#include <string.h>

#include "plan-answer.h"
#include "util.h"

const char *plan_answer_check(json_object *res, bool for_task, json_object *task_types, const Policy *pol)
{
	json_object *v;

	if (!res || !json_object_is_type(res, json_type_object))
		return "switch malformed answer: the result is not an object";
	if (!json_object_object_get_ex(res, "provider", &v) || !json_object_is_type(v, json_type_string))
		return "switch malformed answer: provider is not a string";
	if (!json_object_object_get_ex(res, "approach", &v) || !json_object_is_type(v, json_type_string))
		return "switch malformed answer: approach is not a string";
	if (json_object_object_get_ex(res, "model", &v) && v && !json_object_is_type(v, json_type_string))
		return "switch malformed answer: model is not a string";
	if (json_object_object_get_ex(res, "plan_id", &v) && v && !json_object_is_type(v, json_type_string))
		return "switch malformed answer: plan_id is not a string";
	if (json_object_object_get_ex(res, "score", &v) && v && !json_object_is_type(v, json_type_double) &&
	    !json_object_is_type(v, json_type_int))
		return "switch malformed answer: score is not a number";
	if (json_object_object_get_ex(res, "steps", &v) && v && !json_object_is_type(v, json_type_array))
		return "switch malformed answer: steps is not an array";
	/* An intent without a task has nothing to re-route: its task_type is
	 * not looked at. */
	if (for_task && json_object_object_get_ex(res, "task_type", &v) && v) {
		const char *want = json_object_get_string(v);
		bool ok = false;

		if (!json_object_is_type(v, json_type_string))
			return "switch malformed answer: task_type is not a string";
		/* Only a task may be re-routed, and only to a type its submitter may
		 * submit: the policy's gate is never the switch's to open. */
		if (json_object_is_type(task_types, json_type_array))
			for (size_t i = 0; i < json_object_array_length(task_types); i++)
				if (streq(json_object_get_string(json_object_array_get_idx(task_types, i)) ?: "", want))
					ok = true;
		if (!ok || !policy_find_task(pol, want))
			return "switch malformed answer: task_type is not one of the caller's task types";
	}
	return NULL;
}

json_object *plan_from_answer(json_object *res, bool with_type)
{
	static const char *const keys[] = { "plan_id", "provider", "model", "approach", "score", "steps", "response" };
	json_object *plan = json_object_new_object(), *v;

	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		json_object_object_add(plan, keys[i],
				       json_object_object_get_ex(res, keys[i], &v) ? json_object_get(v) : NULL);
	if (with_type && json_object_object_get_ex(res, "task_type", &v) && v)
		json_object_object_add(plan, "task_type", json_object_get(v));
	return plan;
}

/* What madre does without the switch (the plan of a solo_madre intent),
 * saying why. */
json_object *plan_local(const char *reason)
{
	char plan_id[ID_STRING_MAX];
	json_object *plan = json_object_new_object();

	json_object_object_add(plan, "plan_id", json_object_new_string(id_new_string(plan_id)));
	json_object_object_add(plan, "steps_executed", json_object_new_int(1));
	json_object_object_add(plan, "result", json_object_new_string("intent_processed"));
	json_object_object_add(plan, "notes", json_object_new_string("fallback_local execution"));
	json_object_object_add(plan, "degraded_reason", json_object_new_string(reason));
	return plan;
}
