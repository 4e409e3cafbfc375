/* SPDX-License-Identifier: MIT */
#include <fnmatch.h>
#include <string.h>

#include "route.h"

static bool route_matches(const Route *r, const char *intent_type, const char *text)
{
	if (fnmatch(r->intent_type, intent_type, 0) != 0)
		return false;
	if (!r->text)
		return true;
	return text && regexec(&r->text_re, text, 0, NULL, 0) == 0;
}

const Route *route_match(const SwitchConfig *c, const char *intent_type, const char *text, ssize_t *ret_index)
{
	for (size_t i = 0; i < c->n_routes; i++)
		if (route_matches(&c->routes[i], intent_type, text)) {
			*ret_index = (ssize_t)i;
			return &c->routes[i];
		}
	*ret_index = -1;
	return &c->default_route;
}

bool route_reroutes(const Route *r, const PlanRequest *req)
{
	size_t n;

	if (!r->task_type || !req->task_type || !req->task_types)
		return false;
	n = json_object_array_length(req->task_types);
	for (size_t i = 0; i < n; i++)
		if (streq(json_object_get_string(json_object_array_get_idx(req->task_types, i)), r->task_type))
			return true;
	return false;
}

json_object *plan_build(const Route *r, const PlanRequest *req, const char *plan_id)
{
	_cleanup_json_ json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	/* json_object_object_add() takes ownership even when it fails; a NULL
	 * value from a failed allocation would be sent as null, so check. */
#define ADD(key, value)                                                                                    \
	do {                                                                                               \
		json_object *_v = (value);                                                                 \
		if (!_v || json_object_object_add(o, key, _v) < 0)                                         \
			return NULL;                                                                       \
	} while (0)
	ADD("plan_id", json_object_new_string(plan_id));
	ADD("provider", json_object_new_string(r->provider));
	if (r->model)
		ADD("model", json_object_new_string(r->model));
	ADD("approach", json_object_new_string(r->approach));
	if (r->score)
		ADD("score", json_object_get(r->score));
	if (route_reroutes(r, req))
		ADD("task_type", json_object_new_string(r->task_type));
	if (r->steps)
		ADD("steps", json_object_get(r->steps));
	if (r->response)
		ADD("response", json_object_get(r->response));
#undef ADD
	return TAKE_PTR(o);
}

const Provider *subtask_provider(const SwitchConfig *c, const char *subtask_type, ssize_t *ret_rule)
{
	for (size_t i = 0; i < c->n_subtasks; i++)
		if (fnmatch(c->subtasks[i].subtask_type, subtask_type, 0) == 0) {
			*ret_rule = (ssize_t)i;
			return c->subtasks[i].provider;
		}
	*ret_rule = -1;
	return c->default_provider;
}
