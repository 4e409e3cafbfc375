/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "follow.h"
#include "output.h"
#include "rpc-client.h"

/* The longest wait_seconds the daemon takes in one result.get. */
#define WAIT_SECONDS_MAX 3600
/* A daemon that answers a wait at once (the task moved without ending) is asked again after this. */
#define WAIT_REPOLL_USEC (200 * USEC_PER_MSEC)

int task_outcome(const char *status)
{
	if (streq(status, "QUEUED") || streq(status, "RUNNING"))
		return -1;
	if (streq(status, "DONE"))
		return VX11_EXIT_OK;
	if (streq(status, "ERROR"))
		return VX11_EXIT_TASK_FAILED;
	if (streq(status, "EXPIRED"))
		return VX11_EXIT_TASK_EXPIRED;
	if (streq(status, "CANCELLED"))
		return VX11_EXIT_TASK_CANCELLED;
	return VX11_EXIT_FAILED; /* a state this client does not know, but not one of waiting */
}

static void sleep_usec(uint64_t usec)
{
	struct timespec ts = { .tv_sec = (time_t)(usec / USEC_PER_SEC),
			       .tv_nsec = (long)(usec % USEC_PER_SEC) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

uint64_t timeout_deadline(int64_t timeout, bool given)
{
	/* Beyond 68 years, there is no difference from no limit, and no overflow. */
	if (!given || timeout > INT32_MAX)
		return UINT64_MAX;
	return now_monotonic_usec() + (uint64_t)timeout * USEC_PER_SEC;
}

/* What the progress lines have said so far. */
typedef struct Progress {
	char said[256];  /* the last state line, to say each once */
	bool countdown;  /* a countdown line is on the terminal, without its newline */
	size_t width;    /* of that line, to blank what a shorter one leaves */
} Progress;

/* End a countdown line, so that what follows starts on a line of its own. */
static void progress_end_line(Progress *p)
{
	if (p->countdown)
		fputc('\n', stderr);
	p->countdown = false;
}

/*
 * Say how the task of a result goes, from task.get: its state and attempt
 * when they change ("vx11ctl: task ID running, attempt 2/4"), and while it
 * waits to be retried, the time left, rewritten in place each second. Any
 * failure to learn it is silent: progress is a courtesy, the wait goes on.
 */
static void progress_show(const Cmd *cmd, Progress *p, json_object *result)
{
	_cleanup_json_ json_object *params = json_new_object(), *got = NULL, *error = NULL;
	const char *task_id = json_get_string(json_get(result, "result"), "task_id"), *status;
	json_object *task, *retry, *max;
	uint64_t next;
	char line[256];
	int64_t attempt, of;

	if (!task_id)
		return;
	json_set(params, "task_id", json_object_new_string(task_id));
	if (rpc_call_try(cmd, "task.get", params, &got, &error) != 0 || error)
		return;
	task = json_get(got, "task");
	status = json_get_string(task, "status");
	retry = json_get(task, "current_retry");
	max = json_get(task, "max_retries");
	if (!status || !json_object_is_type(retry, json_type_int) || !json_object_is_type(max, json_type_int))
		return;
	attempt = json_object_get_int64(retry) + 1;
	of = json_object_get_int64(max) + 1;

	if (streq(status, "retrying") && timestamp_parse(json_get(task, "next_attempt_at"), &next) == 0) {
		uint64_t now = now_realtime_usec();
		uint64_t left = next > now ? (next - now + USEC_PER_SEC - 1) / USEC_PER_SEC : 0;
		size_t n = (size_t)snprintf(line, sizeof line,
					    "vx11ctl: task %s retrying: attempt %" PRId64 "/%" PRId64 " in %" PRIu64 "s",
					    task_id, attempt, of, left);

		/* Over the last one, blanking what it had more. */
		fprintf(stderr, "\r%s%*s", line, (int)(p->countdown && p->width > n ? p->width - n : 0), "");
		p->countdown = true;
		p->width = n;
		snprintf(p->said, sizeof p->said, "retrying");
		return;
	}
	if (streq(status, "running") || streq(status, "retrying"))
		snprintf(line, sizeof line, "vx11ctl: task %s %s, attempt %" PRId64 "/%" PRId64, task_id, status,
			 attempt, of);
	else if (streq(status, "pending") || streq(status, "planning"))
		snprintf(line, sizeof line, "vx11ctl: task %s %s, waiting for a free slot", task_id, status);
	else
		snprintf(line, sizeof line, "vx11ctl: task %s %s after attempt %" PRId64 "/%" PRId64, task_id,
			 status, attempt, of);
	if (streq(line, p->said))
		return;
	progress_end_line(p);
	fprintf(stderr, "%s\n", line);
	snprintf(p->said, sizeof p->said, "%s", line);
}

int follow_result(const Cmd *cmd, const char *correlation_id, uint64_t deadline, bool progress,
		  json_object **ret_result)
{
	Progress p = {};

	for (;;) {
		_cleanup_json_ json_object *params = json_new_object(), *result = NULL;
		uint64_t start = now_monotonic_usec(), wait_ms = WAIT_SECONDS_MAX * 1000, now;
		bool ended;
		int r;

		if (deadline != UINT64_MAX)
			wait_ms = MIN(wait_ms, deadline > start ? (deadline - start) / USEC_PER_MSEC : 0);
		/* The daemon answers a wait when the task ends, not when it moves:
		 * to show it moving, look at once, then again each second. */
		if (progress)
			wait_ms = MIN(wait_ms, p.said[0] ? 1000 : 0);
		json_set(params, "correlation_id", json_object_new_string(correlation_id));
		json_set(params, "wait_seconds", json_object_new_double((double)wait_ms / 1000));
		r = rpc_call(cmd, "result.get", params, &result);
		if (r != 0) {
			progress_end_line(&p);
			return r;
		}

		now = now_monotonic_usec();
		ended = task_outcome(json_get_string(result, "status")) >= 0;
		if (progress)
			progress_show(cmd, &p, result);
		if (ended || now >= deadline) {
			progress_end_line(&p);
			*ret_result = TAKE_PTR(result);
			return 0;
		}
		if (now - start < WAIT_REPOLL_USEC)
			sleep_usec(MIN(WAIT_REPOLL_USEC - (now - start), deadline - now));
	}
}

static void print_result(const Cmd *cmd, json_object *result)
{
	if (cmd->json)
		print_json(stdout, result, true);
	else
		print_members(stdout, result, 0, 0, NULL);
}

int follow_and_print(const Cmd *cmd, const char *correlation_id, int64_t timeout, uint64_t deadline)
{
	_cleanup_json_ json_object *result = NULL;
	int outcome, r;

	/* Progress for whoever watches a terminal; nothing extra for a script. */
	r = follow_result(cmd, correlation_id, deadline, isatty(STDERR_FILENO), &result);
	if (r != 0)
		return r;
	print_result(cmd, result);
	outcome = task_outcome(json_get_string(result, "status"));
	if (outcome >= 0)
		return outcome;
	fprintf(stderr, "vx11ctl: the task has not ended after %" PRId64 " s\n", timeout);
	return VX11_EXIT_TIMEOUT;
}

int wait_options_check(const Cmd *cmd, int64_t *ret_timeout)
{
	if (cmd_flag(cmd, "wait"))
		return cmd_option_int(cmd, "timeout", 0, ret_timeout);
	if (cmd_option(cmd, "timeout"))
		return cmd_usage_error(cmd, "--timeout goes with --wait");
	return 0;
}
