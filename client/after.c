/* SPDX-License-Identifier: MIT */
#include "after.h"
#include "ids.h"
#include "output.h"
#include "rpc-client.h"

int after_params(const Cmd *cmd, json_object *params)
{
	size_t n;
	const char *const *v = cmd_option_all(cmd, "after", &n);
	json_object *after;

	if (n == 0) {
		if (cmd_flag(cmd, "after-any"))
			return cmd_usage_error(cmd, "--after-any goes with --after TASK");
		return 0;
	}
	after = json_object_new_array();
	if (!after)
		oom();
	json_set(params, "after", after);
	for (size_t i = 0; i < n; i++) {
		char id[ID_STRING_MAX];
		int r = resolve_task(cmd, v[i], id);

		if (r != 0)
			return r;
		if (json_object_array_add(after, json_object_new_string(id)) < 0)
			oom();
	}
	if (cmd_flag(cmd, "after-any"))
		json_set(params, "after_any", json_object_new_boolean(true));
	return 0;
}
