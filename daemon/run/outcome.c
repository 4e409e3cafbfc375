/* SPDX-License-Identifier: MIT */
/*
 * What an ended attempt's outcome is (runner.c settles it): the reason and
 * statuses its end gives, whether a failed spawn could ever succeed on a
 * retry, and the result object a task keeps.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "runner-internal.h"

/* ---- A failure that can only repeat ----------------------------------------------------------- */

/* The kernel could not find or may not run the program: nothing about a
 * retry changes that unless the retry runs something else, or elsewhere. */
static bool exec_failure_repeats(const Hija *h)
{
	if (h->spawn_step != SPAWN_STEP_EXECVE)
		return false;
	switch (-h->spawn_rc) {
	case ENOENT:
	case EACCES:
	case ENOEXEC:
	case ENOTDIR:
	case ELOOP:
	case ENAMETOOLONG:
		return true;
	default:
		return false;
	}
}

static bool argv_equal(char *const *a, char *const *b)
{
	for (; a && b && *a && *b; a++, b++)
		if (!streq(*a, *b))
			return false;
	return (!a || !*a) && (!b || !*b);
}

static bool str_equal(const char *a, const char *b)
{
	return a == b || (a && b && streq(a, b));
}

static bool limits_equal(const PolicyLimits *a, const PolicyLimits *b)
{
	return a->memory_max == b->memory_max && a->pids_max == b->pids_max && a->cpu_max == b->cpu_max &&
	       a->nofile == b->nofile && a->fsize == b->fsize && a->core == b->core &&
	       a->cpu_seconds == b->cpu_seconds;
}

/* Does the next mutation level change what execve meets: the command, its
 * limits, or the user, filter and mounts it runs with? A TTL or a backoff
 * does not. */
static bool next_level_changes_exec(const PolicyTask *base, int level)
{
	const PolicyTask *a = policy_task_at_level(base, level), *b = policy_task_at_level(base, level + 1);

	if (!a || !b || a == b)
		return false;
	return !argv_equal(a->command, b->command) || !limits_equal(&a->limits, &b->limits) ||
	       !str_equal(a->user, b->user) || a->seccomp_program != b->seccomp_program ||
	       a->private_tmp != b->private_tmp || a->read_only_system != b->read_only_system;
}

/* NULL, or why the failed spawn of h would fail again at the next attempt. */
const char *runner_spawn_failure_is_final(const Hija *h)
{
	const PolicyTask *base;

	if (!exec_failure_repeats(h))
		return NULL;
	base = policy_find_task(h->runner->env.policy, h->task_type);
	if (base && next_level_changes_exec(base, h->d.mutation_level))
		return NULL;
	return base && base->n_mutations > 0 ?
		       "not retried: the next mutation level runs the same command with the same limits" :
		       "not retried: every attempt runs the same command with the same limits";
}


Outcome runner_outcome_of(const Hija *h, const CgroupStats *st)
{
	int code = h->si.si_code, status = h->si.si_status;

	switch (h->kill_reason) {
	case KILL_TTL:
		return (Outcome){ "ttl_expired", "expired", "expired", VX11_MSG_DAUGHTER_TTL, false };
	case KILL_HEARTBEAT:
		return (Outcome){ "heartbeat_missed", "killed", "killed", VX11_MSG_DAUGHTER_HEARTBEAT, false };
	case KILL_CANCEL:
		return (Outcome){ "cancelled", "killed", "killed", VX11_MSG_DAUGHTER_ENDED, false };
	case KILL_SHUTDOWN:
		return (Outcome){ "interrupted", "interrupted", "killed", VX11_MSG_DAUGHTER_ENDED, false };
	case KILL_FENCED: /* recorded only if the claim came back meanwhile: it did not */
		return (Outcome){ "fenced", "interrupted", "killed", VX11_MSG_DAUGHTER_ENDED, false };
	case KILL_NONE:
		break;
	}
	if (code == CLD_EXITED && status == 0)
		return (Outcome){ "exited", "succeeded", "exited", VX11_MSG_DAUGHTER_ENDED, true };
	/* An OOM kill anywhere in the cgroup explains whatever the main process did next. */
	if (st->oom_killed)
		return (Outcome){ "oom", "failed", "failed", VX11_MSG_DAUGHTER_OOM, false };
	if (code == CLD_EXITED)
		return (Outcome){ "exited", "failed", "failed", VX11_MSG_DAUGHTER_ENDED, false };
	if (status == SIGSYS)
		return (Outcome){ "seccomp", "failed", "failed", VX11_MSG_DAUGHTER_SECCOMP, false };
	return (Outcome){ "signaled", "failed", "failed", VX11_MSG_DAUGHTER_ENDED, false };
}

char *runner_result_json(const Hija *h, const char *reason)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	_cleanup_free_ char *out = hija_output_tail(h, OUT_STDOUT), *err = hija_output_tail(h, OUT_STDERR);

	json_object_object_add(o, "task_id", json_object_new_string(h->task_id));
	json_object_object_add(o, "attempt", json_object_new_int(h->a.number));
	json_object_object_add(o, "daughter_id", json_object_new_string(h->d.id));
	json_object_object_add(o, "reason", json_object_new_string(reason));
	json_object_object_add(o, "exit_code", h->a.exit_code >= 0 ? json_object_new_int(h->a.exit_code) : NULL);
	json_object_object_add(o, "signal", h->a.signal > 0 ? json_object_new_int(h->a.signal) : NULL);
	json_object_object_add(o, "report", h->a.result_json ? json_tokener_parse(h->a.result_json) : NULL);
	json_object_object_add(o, "output_tail", out ? json_object_new_string(out) : NULL);
	json_object_object_add(o, "stderr_tail", err ? json_object_new_string(err) : NULL);
	json_object_object_add(o, "error_message", h->a.error_message ? json_object_new_string(h->a.error_message) : NULL);
	return strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}
