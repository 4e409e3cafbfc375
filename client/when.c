/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "when.h"

/* "90m": that long ago. */
static int parse_ago(const char *s, uint64_t now, uint64_t *ret)
{
	static const struct {
		char unit;
		uint64_t usec;
	} units[] = {
		{ 's', USEC_PER_SEC },           { 'm', 60 * USEC_PER_SEC },     { 'h', 3600 * USEC_PER_SEC },
		{ 'd', 86400 * USEC_PER_SEC },   { 'w', 7 * 86400 * USEC_PER_SEC },
	};
	size_t len = strlen(s);
	char digits[24];
	int64_t n;

	if (len < 2 || len > sizeof digits)
		return -EINVAL;
	memcpy(digits, s, len - 1);
	digits[len - 1] = '\0';
	if (parse_int64(digits, &n) < 0 || n < 0)
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(units); i++)
		if (s[len - 1] == units[i].unit) {
			/* Before the epoch is as good as the epoch: everything. */
			uint64_t span = (uint64_t)n > UINT64_MAX / units[i].usec ? UINT64_MAX : (uint64_t)n * units[i].usec;

			*ret = span >= now ? 1 : now - span;
			return 0;
		}
	return -EINVAL;
}

int parse_when(const char *s, uint64_t now, uint64_t *ret)
{
	struct tm tm = {}, check;
	bool utc = false;
	char buf[32];
	const char *end;
	size_t len = strlen(s);
	time_t t;

	if (parse_ago(s, now, ret) == 0)
		return 0;
	if (len >= sizeof buf || len < 10)
		return -EINVAL;
	memcpy(buf, s, len + 1);
	if (buf[len - 1] == 'Z') {
		utc = true;
		buf[--len] = '\0';
	}
	if (len > 10 && buf[10] == ' ')
		buf[10] = 'T';
	end = strptime(buf, "%Y-%m-%d", &tm);
	if (end && *end == 'T') {
		const char *e = strptime(end + 1, "%H:%M:%S", &tm);

		if (!e || *e)
			e = strptime(end + 1, "%H:%M", &tm);
		end = e;
	}
	if (!end || *end || (size_t)(end - buf) != len || buf[4] != '-')
		return -EINVAL;
	check = tm;
	tm.tm_isdst = -1;
	t = utc ? timegm(&tm) : mktime(&tm);
	/* mktime() moves Feb 30 into March; refuse what it had to move. */
	if (t == (time_t)-1 || t < 0 || tm.tm_mday != check.tm_mday || tm.tm_mon != check.tm_mon)
		return -EINVAL;
	*ret = (uint64_t)t * USEC_PER_SEC;
	return 0;
}
