/* SPDX-License-Identifier: MIT */
/* json-c helpers every layer uses. */
#pragma once

#include <json-c/json.h>

#include "util.h"

static inline void json_object_putp(json_object **j)
{
	if (*j)
		json_object_put(*j);
}
#define _cleanup_json_ _cleanup_(json_object_putp)
