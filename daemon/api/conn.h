/* SPDX-License-Identifier: MIT */
/*
 * One client connection: its credentials, a capped input buffer cut into
 * lines, and an output buffer whose bytes are released to the socket only
 * after the store commits (see manager.h). Replies leave in request order.
 * A connection is freed after the current callback, never inside it.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

#include "caller.h"
#include "core/subtask.h"
#include "frame.h"
#include "list.h"
#include "rpc.h"
#include "util.h"

typedef struct Server Server;
typedef struct Manager Manager;
typedef struct Conn Conn;

struct Conn {
	Server *server;
	Manager *manager;
	uint64_t id; /* for log messages */
	int fd;
	sd_event_source *io;
	uint32_t io_events; /* what io is currently armed for */
	Caller caller;

	LineBuf in;
	char *out;
	size_t out_len;      /* bytes in out */
	size_t out_sent;     /* bytes written to the socket */
	size_t out_released; /* bytes that may be written (committed) */
	size_t out_cap;
	/* Output waiting for the sync of a durable commit: up to hold_mark[i]
	 * once sync ticket hold_ticket[i] is on the disk, in order. Two marks
	 * suffice: a third moves the second forward (it then waits a little
	 * longer, never less). */
	uint64_t hold_ticket[2];
	size_t hold_mark[2];
	unsigned n_holds;

	/* Against clients that hold memory or a slot (limits.line_timeout_seconds,
	 * idle_timeout_seconds, max_pending_line_bytes): one timer for whichever
	 * deadline is next. */
	sd_event_source *deadline;
	uint64_t line_started;    /* monotonic usec the unfinished line began; 0: none */
	uint64_t last_active;     /* monotonic usec of the last byte read or written */
	size_t pending_accounted; /* this connection's share of server->pending_bytes */
	bool admin;               /* root or admin_group: may use the reserved slots */

	bool eof;         /* the peer shut down its side: finish, then close */
	bool closing;     /* close once the released output is written */
	bool dead;        /* closed; freed from the post handler */
	bool throttled;   /* not reading: too much unread output */
	bool drained;     /* every complete line buffered has been handled */
	bool daughter_only; /* accepted on daughter.sock */

	/* result.get with wait_seconds, or daughter.subtask (subtask set, no
	 * task id): the connection parks until it is answered. */
	struct {
		bool active;
		json_object *id;
		char correlation_id[ID_STRING_MAX];
		char task_id[ID_STRING_MAX];
		sd_event_source *timer;
		SubtaskCall *subtask;
	} wait;

	/* intent.submit of an intent being planned (method-intent.c's
	 * PlanReply): the connection parks until it is planned. */
	void *plan_reply;

	/* events.subscribe */
	bool subscribed;
	char sub_task_id[ID_STRING_MAX]; /* "" = all visible tasks */

	LIST_FIELDS(Conn, conns);
	LIST_FIELDS(Conn, dirty);
	LIST_FIELDS(Conn, held);
	LIST_FIELDS(Conn, waiters);
	LIST_FIELDS(Conn, subscribers);
	LIST_FIELDS(Conn, resumable);
	bool in_dirty, in_resumable, in_held;
	bool reply_queued; /* a reply (not only events) waits in the unreleased output */
};

int conn_new(Server *s, int fd, const Caller *caller, Conn **ret);
void conn_free(Conn *c);

/* Queue a JSON message (reply or notification) for sending after commit. */
void conn_send(Conn *c, json_object *msg);
/* The same, serialized already (len bytes, no newline). */
void conn_send_text(Conn *c, const char *s, size_t len);
/* An event notification: queued like a reply, but nobody waits on it, so it
 * does not hurry the commit it follows (see ManagerListener.replies_waiting). */
void conn_send_event(Conn *c, json_object *msg);
/* The commit of what c's unreleased output reports failed (held: the sync
 * of a held part failed): each reply there becomes err, with data.outcome
 * "unknown"; events there are dropped. */
void conn_withdraw(Conn *c, bool held, const RpcError *err);
/* Close now: nothing more is read or sent. */
void conn_close(Conn *c, const char *why);

/* After the commit: let the buffered output go, write what the socket takes. */
void conn_release_and_flush(Conn *c);
/* After a commit whose sync is still running: what is buffered now goes
 * once conn_release_synced() is told ticket is on the disk. */
void conn_hold(Conn *c, uint64_t ticket);
/* Every ticket <= done is on the disk: release what waited for them. Returns
 * whether c still holds output back. */
bool conn_release_synced(Conn *c, uint64_t done);
/* Process buffered lines again after a pause ended. */
void conn_resume(Conn *c);
/* Drop c's unfinished line, tell it why (vx11.Busy) and close: the server's
 * budget for unfinished lines is spent and c holds the most. */
void conn_cut_pending(Conn *c, uint64_t budget);

/* daughter.subtask (request id) is in flight: park c until
 * conn_wait_finish(); closing c cancels the call. */
void conn_park_subtask(Conn *c, json_object *id, SubtaskCall *call);

/* The result.get wait is over: send its reply and go on with the input. */
void conn_wait_finish(Conn *c, json_object *reply);
/* The intent parked on is planned: send its reply and go on with the input. */
void conn_plan_finish(Conn *c, json_object *reply);
