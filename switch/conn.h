/* SPDX-License-Identifier: MIT */
/*
 * One client connection: lines in, answers out in request order. A line is
 * one request (or one batch); its answers may be known at once (a plan) or
 * later (a sub-task), and a later line's answer waits behind an earlier
 * one's, so a client that pipelines reads its answers in the order it asked.
 * A connection with limits.max_pending_requests unanswered lines, or much
 * unsent output, is read no further until that drains: one client cannot
 * take the switch's memory.
 */
#pragma once

#include "frame.h"
#include "server.h"

typedef struct Slot Slot;
typedef struct Job Job;

struct Conn {
	Server *server;
	LIST_FIELDS(Conn, conns);
	int fd;
	sd_event_source *io;
	LineBuf in;
	char *out; /* answers not yet written: out[out_start..out_len) */
	size_t out_start, out_len, out_cap;
	Slot *head, *tail; /* one per line with answers to come, in request order */
	unsigned n_slots;
	Job *jobs;    /* sub-tasks running for this connection (methods.c) */
	bool eof;     /* the client is done sending: answer what it asked, then close */
	bool closing; /* after a fatal error: read no more, answer, close */
	bool stepping, again, dead;
};

int conn_new(Server *s, int fd, Conn **ret);
Conn *conn_free(Conn *c);

/* Reserve the next answer of a line's slot; returns its index. */
size_t slot_reserve(Slot *slot);
/*
 * An answer (a JSON-RPC reply, taken; NULL: out of memory) for a reserved
 * index. May write to the client and may free c: the caller must not touch
 * c afterwards unless it is inside conn's own processing.
 */
void conn_answer(Conn *c, Slot *slot, size_t index, json_object *reply);
