/* SPDX-License-Identifier: MIT */
/*
 * Talking to vx11d: one connection per command, one request line, reply lines
 * matched by id (see vx11-protocol(7)). Two layers: rpc_client_*() do the I/O
 * and return negative errno values; rpc_call() and rpc_stream() are what the
 * verbs use, and turn every failure into one line on stderr and an exit status.
 */
#pragma once

#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "frame.h"
#include "vx11ctl.h"

/* Replies may carry long lists; the daemon's 1 MiB line limit is for requests. */
#define RPC_REPLY_MAX ((size_t)64 * 1024 * 1024)

typedef struct RpcClient {
	int fd;
	LineBuf in;
	int64_t next_id;
	/*
	 * For streaming: when set, waiting for input happens in ppoll() with this
	 * signal mask, so a signal blocked otherwise interrupts the wait (-EINTR)
	 * without a race; and an error or hangup on hangup_fd (our stdout: its
	 * reader went away) ends it (-ECANCELED).
	 */
	const sigset_t *wait_sigmask;
	int hangup_fd;
} RpcClient;

#define RPC_CLIENT_INIT { .fd = -1, .next_id = 1, .hangup_fd = -1 }

int rpc_client_connect(RpcClient *c, const char *path);
void rpc_client_done(RpcClient *c);
/* Send one request line; the id used is stored in *ret_id. */
int rpc_client_send(RpcClient *c, const char *method, json_object *params, int64_t *ret_id);
/*
 * The next message from the daemon: 1 and a new reference in *ret_msg (always
 * a JSON object), 0 at end of file, -EBADMSG for anything that is not a JSON
 * object on one line, -E2BIG for a line over RPC_REPLY_MAX, -EINTR or
 * -ECANCELED (only with wait_sigmask), or another -errno.
 */
int rpc_client_receive(RpcClient *c, json_object **ret_msg);
/* Whether msg is the reply to request `id`. A reply with id null (the daemon
 * could not read our request) counts: we only ever have one request in flight. */
bool rpc_is_reply_to(json_object *msg, int64_t id);

/*
 * Connect, send one request, wait for its reply. Returns 0 and a new reference
 * to the reply's "result" in *ret_result; or prints one line on stderr (and,
 * with --json, the error object on stdout) and returns VX11_EXIT_FAILED for a
 * JSON-RPC error, VX11_EXIT_NO_DAEMON when the daemon could not be reached or
 * went away before replying.
 */
int rpc_call(const Cmd *cmd, const char *method, json_object *params, json_object **ret_result);

/*
 * Like rpc_call(), for callers that act on some errors themselves: a JSON-RPC
 * error is not reported but returned, so 0 means a reply came, with a new
 * reference in exactly one of *ret_result (possibly NULL for null) and
 * *ret_error, the other set to NULL. Anything else is reported and its exit
 * status returned.
 */
int rpc_call_try(const Cmd *cmd, const char *method, json_object *params, json_object **ret_result,
		 json_object **ret_error);
/* Report an error object from rpc_call_try() as rpc_call() does; returns VX11_EXIT_FAILED. */
int rpc_report_error(const Cmd *cmd, json_object *error);
/* An error object's code, 0 when it has none. */
int64_t rpc_error_code(json_object *error);
#define RPC_CODE_NOT_FOUND (-32002) /* vx11.NotFound */

/*
 * A list method (task.list, audit.list) newest first with its total: one page
 * of params' limit, or with `all` page after page (each of `page_limit`, `after` the
 * last `id_key` of the one before) until the daemon has no more. The result
 * holds "count", "total" and `items`, all the pages' items in one array.
 * Errors as rpc_call().
 */
int rpc_call_list(const Cmd *cmd, const char *method, json_object *params, const char *items, const char *id_key,
		  bool all, json_object **ret_result);
/* The most one page of a list method holds. */
#define RPC_LIST_LIMIT_MAX 1000

/* Called by rpc_stream(); returns 0 to go on, an exit status to stop with, or
 * RPC_STREAM_END to stop with VX11_EXIT_OK. */
typedef int (*RpcStreamFn)(const Cmd *cmd, json_object *msg, void *userdata);
#define RPC_STREAM_END (-1)

/*
 * Like rpc_call(), then keep the connection open: on_reply gets the result,
 * on_notification every notification (a message with "method" and no "id"),
 * until the daemon closes the connection, SIGINT or SIGTERM arrives, or the
 * reader of our stdout goes away; all end with VX11_EXIT_OK.
 */
int rpc_stream(const Cmd *cmd, const char *method, json_object *params, RpcStreamFn on_reply,
	       RpcStreamFn on_notification, void *userdata);

/* Exactly one JSON object in s[0..len), white space around it allowed: 0, or -EBADMSG. */
int json_parse_object(const char *s, size_t len, json_object **ret);

/* Building requests: an allocation failure ends the program (see oom()). */
json_object *json_new_object(void);
void json_set(json_object *obj, const char *key, json_object *value);

static inline void json_object_putp(json_object **j)
{
	json_object_put(*j);
}
#define _cleanup_json_ _cleanup_(json_object_putp)
