/* SPDX-License-Identifier: MIT */
/*
 * vx11-switch's log: the journal (with VX11_* fields) when stderr is the
 * journal, else one line a message on stderr, "TIME vx11-switch: TEXT" with
 * TIME the local time to the millisecond and its UTC offset, like vx11d's.
 * Its own small copy rather than common/log.c, whose lines are vx11d's by
 * name. A function either logs or returns an error, never both; the *_errno
 * variants return the negative error so a caller may do both in one line.
 */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "util.h"

typedef enum LogTarget {
	LOG_TARGET_AUTO,
	LOG_TARGET_JOURNAL,
	LOG_TARGET_STDERR,
} LogTarget;

int log_target_from_string(const char *s, LogTarget *ret);
int log_level_from_string(const char *s, int *ret);
/* Resolve AUTO: the journal when stderr is a journal stream ($JOURNAL_STREAM
 * names stderr's device and inode, as systemd sets it), else stderr. */
void log_setup(LogTarget target, int max_level);

int log_internal(int level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, e, __VA_ARGS__)

/*
 * One event (a plan, a sub-task): the message, and in the journal the fields
 * as VX11_<KEY>=value, given as NULL-terminated key, value pairs (a NULL
 * value is left out). On stderr the fields follow the message only at log
 * level debug, as the daemon's do.
 */
void log_event(int level, const char *message, ...) __attribute__((sentinel));
