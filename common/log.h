/* SPDX-License-Identifier: MIT */
/*
 * Logging: to the journal (structured, with MESSAGE_ID and VX11_* fields)
 * when journald runs, else to stderr: one line a message, "TIME vx11d: TEXT"
 * with TIME the local time to the millisecond and its UTC offset
 * ("2026-12-07T05:14:07.123+00:00"); at log level debug the journal's fields
 * follow as KEY=value (and ERRNO=). Like systemd, the *_errno variants
 * return the negative error so a caller can log and return in one statement,
 * and a function either logs or returns an error, never both.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <syslog.h>

#include "util.h"

typedef enum LogTarget {
	LOG_TARGET_AUTO,
	LOG_TARGET_JOURNAL,
	LOG_TARGET_STDERR,
} LogTarget;

int log_target_from_string(const char *s, LogTarget *ret);
/* Resolve AUTO: the journal if its socket exists, else stderr. */
void log_setup(LogTarget target);
bool log_to_journal(void);
void log_set_max_level(int level);

int log_internal(int level, int error, const char *file, int line, const char *func, const char *fmt, ...)
	_printf_(6, 7);

#define log_full_errno(level, error, ...) log_internal(level, error, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

/*
 * Audit events. Each kind has a stable MESSAGE_ID (listed with its meaning in
 * vx11d(8) and explained by units/vx11.catalog, which needs an entry for every
 * id here) and carries the VX11_* fields of lifecycle.md that apply; NULL or
 * (uid_t)-1 fields are left out.
 */
#define VX11_MSG_INTENT_ACCEPTED "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f01"
#define VX11_MSG_INTENT_REFUSED "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f02"
#define VX11_MSG_TASK_QUEUED "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f03"
#define VX11_MSG_TASK_CANCELLED "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f04"
#define VX11_MSG_TASK_STARTED "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f05"
#define VX11_MSG_TASK_RETRYING "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f06"
#define VX11_MSG_TASK_COMPLETED "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f07"
#define VX11_MSG_TASK_FAILED "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f08"
#define VX11_MSG_TASK_EXPIRED "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f09"
#define VX11_MSG_DAUGHTER_ENDED "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f0a"
#define VX11_MSG_DAUGHTER_OOM "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f0b"
#define VX11_MSG_DAUGHTER_SECCOMP "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f0c"
#define VX11_MSG_DAUGHTER_TTL "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f0d"
#define VX11_MSG_DAUGHTER_HEARTBEAT "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f0e"
#define VX11_MSG_DAUGHTER_SPAWN_FAILED "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f0f"
#define VX11_MSG_RECOVERED "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f14"
#define VX11_MSG_QUEUE_PAUSE "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f16"
#define VX11_MSG_DAEMON_STARTED "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f10"
#define VX11_MSG_DAEMON_STOPPING "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f11"
#define VX11_MSG_POLICY_LOADED "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f12"
#define VX11_MSG_POLICY_REFUSED "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f13"
#define VX11_MSG_INTENT_PLANNED "6f1c1f3e8b0a4d5c9e2a7b4c3d2e1f15"

typedef struct AuditFields {
	const char *task_id;
	const char *daughter_id;
	const char *correlation_id;
	const char *source;
	uid_t uid;
	const char *intent_type;
	const char *status;
	const char *error;
	const char *confinement; /* JSON: what a daughter runs with (its start) */
	const char *provider;    /* a plan: "switch" or "fallback_local" */
	const char *degraded;    /* a plan: "true" or "false" */
	const char *command;     /* JSON: a caller's command line ({"argv","cwd","env"}), for "caller" task types */
	const char *node;        /* the node (vx11d --node) that runs, ran or is this daemon */
} AuditFields;

#define AUDIT_FIELDS_INIT ((AuditFields){ .uid = (uid_t)-1 })

void log_audit(int level, const char *message_id, const AuditFields *f, const char *fmt, ...) _printf_(4, 5);
