/* SPDX-License-Identifier: MIT */
/*
 * "retention": how long the daemon keeps finished tasks, per status, and the
 * rows of the audit log, by age and/or count:
 *   "retention": { "interval_seconds": 300,
 *                  "completed": { "max_age_seconds": 604800, "max_count": 10000 },
 *                  "failed": {...}, "expired": {...}, "cancelled": {...},
 *                  "audit": { "max_age_seconds": 7776000 } }
 * A bound left out does not apply; with none at all nothing is removed.
 */
#include <string.h>

#include "policy-internal.h"

const char *const policy_retain_status_names[_POLICY_RETAIN_MAX] = {
	[POLICY_RETAIN_COMPLETED] = "completed",
	[POLICY_RETAIN_FAILED] = "failed",
	[POLICY_RETAIN_EXPIRED] = "expired",
	[POLICY_RETAIN_CANCELLED] = "cancelled",
};

/* Ten years, in seconds; and more rows than a database will hold. */
#define AGE_MAX (INT64_C(10) * 366 * 86400)
#define COUNT_MAX (INT64_C(1) << 40)

static const PolicyField retention_fields[] = {
	{ "max_age_seconds", POLICY_FIELD_INT, offsetof(PolicyRetention, max_age_seconds), .min = 1, .max = AGE_MAX },
	{ "max_count", POLICY_FIELD_INT, offsetof(PolicyRetention, max_count), .min = 0, .max = COUNT_MAX },
};

void policy_retention_init(Policy *p)
{
	p->retention.interval_seconds = 300;
	for (int i = 0; i < _POLICY_RETAIN_MAX; i++)
		p->retention.tasks[i] = (PolicyRetention){ -1, -1 };
	p->retention.audit = (PolicyRetention){ -1, -1 };
}

static int parse_bounds(json_object *v, const char *path, PolicyRetention *ret, char **error)
{
	PolicyRetention r = { -1, -1 };
	int k;

	k = policy_parse_object(v, path, retention_fields, ELEMENTSOF(retention_fields), &r, error);
	if (k < 0)
		return k;
	if (r.max_age_seconds < 0 && r.max_count < 0)
		return policy_error(error, -EINVAL, path, "expected max_age_seconds, max_count or both");
	*ret = r;
	return 0;
}

int policy_parse_retention(Policy *p, json_object *v, const char *path, char **error)
{
	int k;

	if (!json_object_is_type(v, json_type_object))
		return policy_error(error, -EINVAL, path, "expected an object");
	json_object_object_foreach(v, key, val)
	{
		_cleanup_free_ char *kp = policy_path_key(path, key);
		PolicyRetention *target = NULL;
		int64_t i;

		if (!kp)
			return policy_oom(error);
		if (streq(key, "interval_seconds")) {
			k = policy_get_int(val, kp, 1, 86400, &i, error);
			if (k < 0)
				return k;
			p->retention.interval_seconds = (uint64_t)i;
			continue;
		}
		if (streq(key, "audit"))
			target = &p->retention.audit;
		for (int s = 0; s < _POLICY_RETAIN_MAX; s++)
			if (streq(key, policy_retain_status_names[s]))
				target = &p->retention.tasks[s];
		if (!target)
			return policy_error(error, -EINVAL, kp,
					    "unknown key (expected interval_seconds, completed, failed, expired, "
					    "cancelled or audit: only finished tasks are ever removed)");
		k = parse_bounds(val, kp, target, error);
		if (k < 0)
			return k;
	}
	return 0;
}
