/* SPDX-License-Identifier: MIT */
/*
 * vx11d's client of the switch (/work/shared/spec/switch.md): one AF_UNIX
 * stream connection on the daemon's sd_event loop, line-delimited JSON-RPC 2.0
 * requests pipelined with ids of their own, a deadline per request, and the
 * circuit breaker. Nothing here blocks: every outcome, even "the breaker is
 * open", reaches the caller through its callback from the loop, never from
 * inside switch_client_call().
 *
 * What counts as one failure for the breaker: a connection attempt that
 * fails (however many requests waited on it), a connection that breaks with
 * requests outstanding or sends a malformed or over-long line (however many
 * requests it fails), each timeout, each JSON-RPC error answer. One result
 * answer, from any request, closes the breaker and counts from zero again.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

typedef struct SwitchClient SwitchClient;
typedef struct SwitchCall SwitchCall;

/* The longest answer line taken; a longer one fails every request in flight.
 * vx11-switch lets a provider write 1 MiB, which its answer encodes again
 * (escapes may grow it), so the bound leaves room above that. */
#define SWITCH_ANSWER_MAX (4U * 1024U * 1024U)

/*
 * One request's outcome. On success error is NULL and result is the answer's
 * "result" (borrowed: json_object_get() it to keep it; NULL for a JSON null,
 * which the caller may take for a malformed answer). On failure
 * result is NULL and error says why, in words a degraded_reason can carry:
 *   "switch timeout after 2000 ms"                      retry true
 *   "switch unavailable: connection refused"            retry true (cannot connect,
 *   "switch unavailable: connection closed by the switch"  or the connection broke)
 *   "switch circuit open"                               retry true
 *   "switch malformed answer: not JSON"                 retry false
 *   "switch error -32601: Method not found"             retry false (true for
 *                                                       -32004 vx11.Busy)
 *   "stopping"                                          retry false (the client is freed)
 * The call's handle is gone once its callback returns. A callback may make
 * new calls, cancel other calls, reconfigure or free the client.
 */
typedef void (*SwitchCallback)(void *userdata, json_object *result, const char *error, bool retry);

/*
 * A client of the switch listening on socket (an absolute path). Nothing is
 * connected until the first call. timeout_ms bounds each call, counted from
 * switch_client_call() (waiting for the connection included);
 * failure_threshold consecutive failures open the breaker for cooldown_usec.
 * Returns -EINVAL for a relative or too long path or a zero number.
 */
int switch_client_new(sd_event *e, const char *socket, uint64_t timeout_ms, unsigned failure_threshold,
		      uint64_t cooldown_usec, SwitchClient **ret);

/* Every call still outstanding gets its callback with "stopping" before this
 * returns (unless cancelled). Accepts NULL; returns NULL. */
SwitchClient *switch_client_free(SwitchClient *c);

/*
 * A policy reload. New numbers apply to later calls and the breaker's next
 * decision. A different socket drops the connection (calls in flight fail,
 * from the loop, with "switch unavailable: socket changed", which does not
 * count as a failure) and starts the breaker afresh, as for a new switch.
 * Returns -EINVAL as switch_client_new(), -ESHUTDOWN, -ENOMEM.
 */
int switch_client_reconfigure(SwitchClient *c, const char *socket, uint64_t timeout_ms,
			      unsigned failure_threshold, uint64_t cooldown_usec);

/*
 * Sends {"jsonrpc":"2.0","id":N,"method":method,"params":params}; params
 * (NULL: none) is taken over by the call, also on failure. cb is called
 * exactly once from the loop, unless the call is cancelled first. *ret_call
 * (may be NULL) is valid until then. Returns -EINVAL (no method),
 * -ESHUTDOWN (the client is being freed), -ENOMEM.
 */
int switch_client_call(SwitchClient *c, const char *method, json_object *params, SwitchCallback cb,
		       void *userdata, SwitchCall **ret_call);

/* The caller went away: cb is never called. The request stays in flight so
 * its answer still counts for the breaker. Accepts NULL. Not for a call whose
 * callback already ran. */
void switch_call_cancel(SwitchCall *call);

/*
 * {"socket", "state": "closed"|"open"|"half_open", "consecutive_failures",
 * "last_error" (string or null), "connected", "in_flight", "requests",
 * "answered", "failures", "timeouts", "rejected"} (new reference; NULL on OOM).
 * requests: calls made; answered: result answers; failures: failures counted
 * for the breaker; timeouts: calls timed out; rejected: calls failed at once
 * by the open breaker or during a reconnect backoff.
 */
json_object *switch_client_status(SwitchClient *c);

/* "closed", "open" or "half_open", as the status says it (for tests, logs). */
const char *switch_client_state(SwitchClient *c);
