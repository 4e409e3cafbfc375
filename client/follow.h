/* SPDX-License-Identifier: MIT */
/*
 * Following an intent's task to its end (submit --wait, wait, rerun --wait):
 * result.get with wait_seconds, one bounded wait after another, and what
 * its last status means as an exit status.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "vx11ctl.h"

/* The exit status for a task whose result.get status is `status` (0 DONE,
 * 4 ERROR, 5 EXPIRED, 6 CANCELLED); -1 while it has not ended. */
int task_outcome(const char *status);

/*
 * Wait until the task of the intent `correlation_id` has ended or the
 * monotonic time `deadline` (UINT64_MAX: none) has come: 0 and the last
 * result.get result in *ret_result (a new reference; its status tells which),
 * or an exit status, the error reported. With `progress`, say on stderr how
 * the task goes as it goes: each state and attempt, and the countdown to a
 * retry (a line rewritten in place: for a terminal only).
 */
int follow_result(const Cmd *cmd, const char *correlation_id, uint64_t deadline, bool progress,
		  json_object **ret_result);

/* Seconds given to --timeout as a deadline from now: UINT64_MAX for none
 * given (or one so far away that it makes no difference). */
uint64_t timeout_deadline(int64_t timeout, bool given);

/* follow_result(), with progress when stderr is a terminal, then print the
 * last result (as 'vx11ctl result' does, or its JSON): the exit status is
 * task_outcome()'s, or VX11_EXIT_TIMEOUT when `deadline` (from --timeout
 * `timeout` seconds) came first. For submit, rerun, spawn and run --wait. */
int follow_and_print(const Cmd *cmd, const char *correlation_id, int64_t timeout, uint64_t deadline);

/* The --wait and --timeout SECONDS options of a verb that has both: 0 with
 * *ret_timeout set when given, or a usage error (--timeout without --wait). */
int wait_options_check(const Cmd *cmd, int64_t *ret_timeout);
