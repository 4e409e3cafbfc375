/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "trace.h"

static bool lower_hex(const char *s, size_t n, bool *ret_zero)
{
	bool zero = true;

	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
		zero = zero && s[i] == '0';
	}
	if (ret_zero)
		*ret_zero = zero;
	return true;
}

bool traceparent_parse(const char *s, char *ret_trace_id)
{
	bool zero;

	/* vv-tttttttttttttttttttttttttttttttt-pppppppppppppppp-ff: 55 characters */
	if (!s || strlen(s) < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-')
		return false;
	if (!lower_hex(s, 2, NULL) || strncmp(s, "ff", 2) == 0)
		return false;
	if (s[55] && (strncmp(s, "00", 2) == 0 || s[55] != '-'))
		return false;
	if (!lower_hex(s + 3, TRACE_ID_HEX, &zero) || zero)
		return false;
	if (!lower_hex(s + 36, 16, &zero) || zero)
		return false;
	if (!lower_hex(s + 53, 2, NULL))
		return false;
	if (ret_trace_id) {
		memcpy(ret_trace_id, s + 3, TRACE_ID_HEX);
		ret_trace_id[TRACE_ID_HEX] = 0;
	}
	return true;
}
