/* SPDX-License-Identifier: MIT */
/*
 * Times as people write and read them. On the command line: "30m", "1h",
 * "2d" ago, or a date and time of the local zone ("2026-12-01",
 * "2026-12-01T10:00"). In output: the daemon's UTC timestamps in the local
 * zone unless --utc, and spans of time ("1m 5s").
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * A time given on the command line, as realtime usec: "N" followed by s, m,
 * h, d or w (that long before now), or YYYY-MM-DD[(T| )HH:MM[:SS]] in the
 * local zone (midnight when only the date is given), with a final Z for UTC.
 * -EINVAL when it is none of those.
 */
int parse_when(const char *s, uint64_t now, uint64_t *ret);
