/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <time.h>

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

int follow_result(const Cmd *cmd, const char *correlation_id, uint64_t deadline, json_object **ret_result)
{
	for (;;) {
		_cleanup_json_ json_object *params = json_new_object(), *result = NULL;
		uint64_t start = now_monotonic_usec(), wait_ms = WAIT_SECONDS_MAX * 1000, now;
		int r;

		if (deadline != UINT64_MAX)
			wait_ms = MIN(wait_ms, deadline > start ? (deadline - start) / USEC_PER_MSEC : 0);
		json_set(params, "correlation_id", json_object_new_string(correlation_id));
		json_set(params, "wait_seconds", json_object_new_double((double)wait_ms / 1000));
		r = rpc_call(cmd, "result.get", params, &result);
		if (r != 0)
			return r;

		now = now_monotonic_usec();
		if (task_outcome(json_get_string(result, "status")) >= 0 || now >= deadline) {
			*ret_result = TAKE_PTR(result);
			return 0;
		}
		if (now - start < WAIT_REPOLL_USEC)
			sleep_usec(MIN(WAIT_REPOLL_USEC - (now - start), deadline - now));
	}
}
