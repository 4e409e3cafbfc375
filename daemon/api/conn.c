/* SPDX-License-Identifier: MIT */
/*
 * Theory of operation
 *
 * Input: the socket is read in slices into a LineBuf capped at the policy's
 * max_line_bytes; each complete line is one JSON-RPC message handed to
 * methods_handle_line(), which answers through conn_send(). A line over the
 * cap gets one vx11.LineTooLong error and the connection closes.
 *
 * Output: conn_send() only appends. The bytes are released to the socket by
 * the manager's post handler after the store commit that made them true, and
 * after a durable commit only once the store's sync thread has put it on the
 * disk (conn_hold(), conn_release_synced()), so a QUEUED reply can never
 * overtake its task's durability. The loop meanwhile goes on serving. When a client lets
 * its replies pile up we stop reading it (backpressure); events cannot be
 * held back that way, so a subscriber that never reads is cut off at
 * limits.max_output_bytes. Either way the daemon's memory stays bounded.
 *
 * Order: replies leave in request order. A result.get that waits parks the
 * connection: no further line is read until it is answered.
 *
 * Memory and slots: a read lands in the server's scratch buffer and only what
 * arrived is appended, so a client that sends half a line holds that much,
 * not a read's worth; a buffer shrinks back after a large line. A line must
 * end within limits.line_timeout_seconds of its first byte (a slowloris is
 * told and cut off), a connection nobody waits on is closed after
 * limits.idle_timeout_seconds, and all unfinished lines together stay under
 * limits.max_pending_line_bytes (server.c cuts the largest first).
 */
#include <string.h>
#include <sys/socket.h>

#include "conn.h"
#include "core/manager.h"
#include "methods.h"
#include "rpc.h"
#include "server.h"

#define READ_SLICE (64 * 1024)
#define READ_BUDGET (256 * 1024) /* per callback, so one client cannot starve the rest */
#define OUT_HIGH_WATER (256 * 1024)
#define OUT_LOW_WATER (64 * 1024)
#define IN_KEEP (16 * 1024) /* input buffer kept between lines; more is given back */

static int conn_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);
static void conn_arm_deadline(Conn *c);

/* Parked: a reply is outstanding (result.get waiting, an intent being
 * planned); replies leave in request order, so nothing more is handled. */
static bool conn_parked(const Conn *c)
{
	return c->wait.active || c->plan_reply;
}

/* May buffered lines be handled now? */
static bool conn_may_process(const Conn *c)
{
	return !c->closing && !c->dead && !c->throttled && !conn_parked(c);
}

/* Should the socket be read? */
static bool conn_wants_input(const Conn *c)
{
	return conn_may_process(c) && !c->eof;
}

static void conn_update_events(Conn *c)
{
	uint32_t want = 0;

	if (c->dead)
		return;
	if (conn_wants_input(c))
		want |= EPOLLIN;
	if (c->out_sent < c->out_released)
		want |= EPOLLOUT;
	if (want == c->io_events)
		return;
	/* Even with nothing wanted the source stays armed: epoll still
	 * reports EPOLLHUP, so a parked client that goes away frees its slot. */
	(void)sd_event_source_set_io_events(c->io, want);
	c->io_events = want;
}

int conn_new(Server *s, int fd, const Caller *caller, Conn **ret)
{
	Conn *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->server = s;
	c->manager = s->manager;
	c->id = ++s->next_conn_id;
	c->fd = fd;
	c->caller = *caller;
	linebuf_init(&c->in, s->manager->policy->limits.max_line_bytes);

	r = sd_event_add_io(s->manager->event, &c->io, fd, EPOLLIN, conn_io, c);
	if (r < 0) {
		linebuf_done(&c->in);
		free(c);
		return r;
	}
	c->io_events = EPOLLIN;
	c->last_active = now_monotonic_usec();
	conn_arm_deadline(c); /* one that never says a word is idle too */
	*ret = c;
	return 0;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata);
static size_t conn_pending_output(const Conn *c);

/* An idle connection is one nobody waits on, in either direction. */
static bool conn_is_idle(const Conn *c)
{
	return !c->subscribed && !conn_parked(c) && !c->line_started && c->out_len == 0 && !c->closing;
}

/* Arm the one timer for the next deadline: the unfinished line's while we
 * read (not while we hold the client back), else the idle one. */
static void conn_arm_deadline(Conn *c)
{
	const Policy *p = c->manager->policy;
	uint64_t when = 0;

	if (c->dead)
		return;
	/* While we hold the client back (throttled, parked) its line's clock
	 * does not run: it restarts when we read again. */
	if (c->line_started && !conn_wants_input(c))
		c->line_started = 0;
	if (c->line_started)
		when = c->line_started + p->limits.line_timeout_seconds * USEC_PER_SEC;
	else if (p->limits.idle_timeout_seconds && (conn_is_idle(c) || conn_pending_output(c) > 0))
		/* Idle, or not reading what we send (a slot held by a client
		 * that stopped reading, or one we are closing): either way no
		 * progress for that long ends it. */
		when = c->last_active + p->limits.idle_timeout_seconds * USEC_PER_SEC;
	if (!when) {
		if (c->deadline)
			(void)sd_event_source_set_enabled(c->deadline, SD_EVENT_OFF);
		return;
	}
	if (!c->deadline) {
		if (sd_event_add_time(c->manager->event, &c->deadline, CLOCK_MONOTONIC, when, USEC_PER_SEC / 10,
				      on_deadline, c) < 0)
			c->deadline = NULL; /* no deadline is a weaker daemon, not a broken one */
		return;
	}
	(void)sd_event_source_set_time(c->deadline, when);
	(void)sd_event_source_set_enabled(c->deadline, SD_EVENT_ONESHOT);
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	Conn *c = userdata;
	const Policy *p = c->manager->policy;
	uint64_t now = now_monotonic_usec();

	if (c->line_started && conn_wants_input(c) &&
	    now >= c->line_started + p->limits.line_timeout_seconds * USEC_PER_SEC) {
		RpcError e;
		_cleanup_json_ json_object *reply = NULL;

		log_info("connection %" PRIu64 " (uid %u): line not finished within %" PRIu64 " s, cut off", c->id,
			 (unsigned)c->caller.uid, p->limits.line_timeout_seconds);
		rpc_error_named(&e, RPC_INVALID_REQUEST, "vx11.LineTimeout",
				"line not finished within %" PRIu64 " s (policy limits.line_timeout_seconds)",
				p->limits.line_timeout_seconds);
		reply = rpc_make_error(NULL, &e);
		conn_send(c, reply);
		c->closing = true;
		linebuf_done(&c->in);
		c->line_started = 0;
		server_account_pending(c->server, c, 0);
		conn_update_events(c);
		return 0;
	}
	if (p->limits.idle_timeout_seconds && (conn_is_idle(c) || conn_pending_output(c) > 0) &&
	    now >= c->last_active + p->limits.idle_timeout_seconds * USEC_PER_SEC) {
		bool stuck = conn_pending_output(c) > 0;
		log_debug("connection %" PRIu64 " (uid %u): %s for %" PRIu64 " s (policy limits.idle_timeout_seconds)",
			  c->id, (unsigned)c->caller.uid, stuck ? "not reading its replies" : "idle",
			  p->limits.idle_timeout_seconds);
		conn_close(c, stuck ? "not reading its replies" : "idle");
		return 0;
	}
	conn_arm_deadline(c); /* something changed since it was armed */
	return 0;
}

void conn_cut_pending(Conn *c, uint64_t budget)
{
	RpcError e;
	_cleanup_json_ json_object *reply = NULL;

	log_warning("connection %" PRIu64 " (uid %u): unfinished line of %zu bytes dropped: unfinished lines of all "
		    "clients passed %" PRIu64 " bytes (policy limits.max_pending_line_bytes)",
		    c->id, (unsigned)c->caller.uid, c->pending_accounted, budget);
	rpc_error_named(&e, RPC_BUSY, "vx11.Busy",
			"unfinished line of %zu bytes dropped: the daemon holds too many unfinished lines "
			"(policy limits.max_pending_line_bytes)",
			c->pending_accounted);
	reply = rpc_make_error(NULL, &e);
	conn_send(c, reply);
	c->closing = true;
	linebuf_done(&c->in);
	c->line_started = 0;
	server_account_pending(c->server, c, 0);
	conn_update_events(c);
}

/* After input was read or handled: the unfinished line's bytes, its start,
 * the buffer's size and the deadline. */
static void conn_after_input(Conn *c)
{
	size_t pending;

	if (c->dead)
		return;
	if (!conn_parked(c))
		linebuf_shrink(&c->in, IN_KEEP);
	pending = linebuf_pending(&c->in);
	if (!pending)
		c->line_started = 0;
	else if (!c->line_started)
		c->line_started = now_monotonic_usec();
	conn_arm_deadline(c);
	server_account_pending(c->server, c, pending);
}

void conn_free(Conn *c)
{
	if (!c)
		return;
	sd_event_source_disable_unref(c->io);
	subtask_cancel(c->wait.subtask);
	sd_event_source_disable_unref(c->wait.timer);
	sd_event_source_disable_unref(c->deadline);
	json_object_put(c->wait.id);
	if (c->fd >= 0)
		close(c->fd);
	caller_done(&c->caller);
	linebuf_done(&c->in);
	free(c->out);
	free(c);
}

void conn_close(Conn *c, const char *why)
{
	Server *s = c->server;

	if (c->dead)
		return;
	c->dead = true;
	if (why)
		log_debug("connection %" PRIu64 " (uid %u): closing: %s", c->id, (unsigned)c->caller.uid, why);

	c->io = sd_event_source_disable_unref(c->io);
	c->wait.timer = sd_event_source_disable_unref(c->wait.timer);
	c->deadline = sd_event_source_disable_unref(c->deadline);
	server_account_pending(s, c, 0);
	/* Close now so the peer sees EOF at once; the struct lives until gc. */
	close(c->fd);
	c->fd = -1;

	if (c->wait.active)
		LIST_REMOVE(waiters, s->waiters, c);
	c->wait.active = false;
	/* Nobody is left to answer: the sub-task's answer is dropped. */
	subtask_cancel(c->wait.subtask);
	c->wait.subtask = NULL;
	if (c->plan_reply)
		intent_plan_detach(c->plan_reply);
	c->plan_reply = NULL;
	if (c->subscribed)
		LIST_REMOVE(subscribers, s->subscribers, c);
	c->subscribed = false;
	if (c->in_resumable)
		LIST_REMOVE(resumable, s->resumable, c);
	c->in_resumable = false;
	server_conn_closed(c->server, c);
}

static size_t conn_pending_output(const Conn *c)
{
	return c->out_len - c->out_sent;
}

void conn_send(Conn *c, json_object *msg)
{
	const char *s;
	size_t len;

	if (c->dead)
		return;
	s = rpc_serialize(msg, &len);
	conn_send_text(c, s, len);
}

static void conn_append(Conn *c, const char *s, size_t len);

void conn_send_text(Conn *c, const char *s, size_t len)
{
	if (c->dead)
		return;
	c->reply_queued = true;
	conn_append(c, s, len);
}

void conn_send_event(Conn *c, json_object *msg)
{
	const char *s;
	size_t len;

	if (c->dead)
		return;
	s = rpc_serialize(msg, &len);
	conn_append(c, s, len);
}

static void conn_append(Conn *c, const char *s, size_t len)
{

	if (conn_pending_output(c) + len + 1 > c->manager->policy->limits.max_output_bytes) {
		log_warning("connection %" PRIu64 " (uid %u) does not read its replies (%zu bytes unread): cut off",
			    c->id, (unsigned)c->caller.uid, conn_pending_output(c));
		conn_close(c, "output limit");
		return;
	}

	if (c->out_len + len + 1 > c->out_cap) {
		/* Drop what was sent before growing. */
		if (c->out_sent > 0) {
			memmove(c->out, c->out + c->out_sent, c->out_len - c->out_sent);
			c->out_len -= c->out_sent;
			c->out_released -= c->out_sent;
			for (unsigned i = 0; i < c->n_holds; i++)
				c->hold_mark[i] -= c->out_sent;
			c->out_sent = 0;
		}
		if (c->out_len + len + 1 > c->out_cap) {
			size_t cap = MAX(c->out_cap * 2, MAX((size_t)4096, c->out_len + len + 1));
			char *p = realloc(c->out, cap);
			if (!p) {
				conn_close(c, "out of memory");
				return;
			}
			c->out = p;
			c->out_cap = cap;
		}
	}
	memcpy(c->out + c->out_len, s, len);
	c->out[c->out_len + len] = '\n';
	c->out_len += len + 1;

	if (conn_pending_output(c) > OUT_HIGH_WATER)
		c->throttled = true;
	server_mark_dirty(c->server, c);
}

static void conn_maybe_finish(Conn *c)
{
	/* All input handled and all output written: an EOF'd or closing
	 * connection is done. */
	if (c->dead || conn_parked(c) || c->out_sent < c->out_len)
		return;
	/* A subscriber that half-closed still wants its events. */
	if (c->closing || (c->eof && c->drained && !c->throttled && !c->subscribed))
		conn_close(c, c->closing ? "done" : "peer closed");
}

static void conn_write(Conn *c)
{
	while (c->out_sent < c->out_released) {
		ssize_t n = send(c->fd, c->out + c->out_sent, c->out_released - c->out_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			conn_close(c, "write failed");
			return;
		}
		c->out_sent += (size_t)n;
		c->last_active = now_monotonic_usec();
	}
	if (c->out_sent == c->out_len) {
		c->out_sent = c->out_released = c->out_len = 0;
		/* An idle connection does not keep the memory of its largest reply. */
		if (c->out_cap > 64 * 1024) {
			c->out = (free(c->out), NULL);
			c->out_cap = 0;
		}
	}

	/* Nothing left to send: the idle clock runs; something stuck in our
	 * buffer: the clock of a client that does not read runs. */
	if (c->out_len == 0 || c->out_sent < c->out_released)
		conn_arm_deadline(c);
	if (c->throttled && conn_pending_output(c) < OUT_LOW_WATER) {
		c->throttled = false;
		if (!c->in_resumable) {
			LIST_PREPEND(resumable, c->server->resumable, c);
			c->in_resumable = true;
		}
		server_kick(c->server);
	}
	conn_maybe_finish(c);
	conn_update_events(c);
}

/* The error that replaces a withdrawn reply (or the array of them for a batch). */
static json_object *withdrawn_reply(json_object *msg, const RpcError *err)
{
	json_object *id, *reply, *e, *data;

	if (json_object_is_type(msg, json_type_array)) {
		json_object *all = json_object_new_array();
		for (size_t i = 0; i < json_object_array_length(msg); i++) {
			reply = withdrawn_reply(json_object_array_get_idx(msg, i), err);
			if (reply)
				json_object_array_add(all, reply);
		}
		return all;
	}
	/* A notification (an event) has a method; a reply has an id. */
	if (!json_object_is_type(msg, json_type_object) || json_object_object_get_ex(msg, "method", NULL) ||
	    !json_object_object_get_ex(msg, "id", &id))
		return NULL;
	reply = rpc_make_error(id, err);
	if (json_object_object_get_ex(reply, "error", &e) && json_object_object_get_ex(e, "data", &data))
		json_object_object_add(data, "outcome", json_object_new_string("unknown"));
	return reply;
}

void conn_withdraw(Conn *c, bool held, const RpcError *err)
{
	size_t from;
	char *region, *line, *next;

	if (c->dead)
		return;
	/* What waits for an earlier sync is not this commit's. */
	if (held)
		c->n_holds = 0;
	from = c->n_holds > 0 ? c->hold_mark[c->n_holds - 1] : c->out_released;
	if (from == c->out_len)
		return;
	region = strndup(c->out + from, c->out_len - from);
	if (!region) {
		conn_close(c, "out of memory withdrawing replies");
		return;
	}
	c->out_len = from;
	c->reply_queued = false;
	for (line = region; *line; line = next) {
		json_object *msg, *reply;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		else
			next = line + strlen(line);
		msg = json_tokener_parse(line);
		reply = msg ? withdrawn_reply(msg, err) : NULL;
		if (reply && !(json_object_is_type(reply, json_type_array) && json_object_array_length(reply) == 0))
			conn_send(c, reply);
		json_object_put(reply);
		json_object_put(msg);
	}
	free(region);
}

void conn_release_and_flush(Conn *c)
{
	if (c->dead)
		return;
	/* Older output still waiting for a sync keeps what follows it. */
	if (c->n_holds > 0) {
		conn_hold(c, c->hold_ticket[c->n_holds - 1]);
		return;
	}
	c->out_released = c->out_len;
	conn_write(c);
}

void conn_hold(Conn *c, uint64_t ticket)
{
	if (c->dead || c->out_len == c->out_released)
		return;
	if (c->n_holds > 0 && c->hold_mark[c->n_holds - 1] == c->out_len)
		return;
	if (c->n_holds == ELEMENTSOF(c->hold_mark))
		c->n_holds--;
	c->hold_ticket[c->n_holds] = ticket;
	c->hold_mark[c->n_holds] = c->out_len;
	c->n_holds++;
}

bool conn_release_synced(Conn *c, uint64_t done)
{
	unsigned n = 0;

	if (c->dead)
		return false;
	while (n < c->n_holds && c->hold_ticket[n] <= done)
		n++;
	if (n == 0)
		return true;
	c->out_released = c->hold_mark[n - 1];
	memmove(c->hold_ticket, c->hold_ticket + n, (c->n_holds - n) * sizeof(c->hold_ticket[0]));
	memmove(c->hold_mark, c->hold_mark + n, (c->n_holds - n) * sizeof(c->hold_mark[0]));
	c->n_holds -= n;
	conn_write(c);
	return c->n_holds > 0 && !c->dead;
}

static void conn_process(Conn *c)
{
	while (conn_may_process(c)) {
		char *line;
		size_t len;
		int r = linebuf_next(&c->in, &line, &len);

		if (r == 0) {
			/* A partial line left at EOF is a client that hung up mid-line: dropped. */
			c->drained = true;
			break;
		}
		if (r == -E2BIG) {
			RpcError e;
			_cleanup_json_ json_object *reply = NULL;

			rpc_error_named(&e, RPC_INVALID_REQUEST, "vx11.LineTooLong",
					"line too long: the limit is %zu bytes (policy limits.max_line_bytes)", c->in.max_line);
			reply = rpc_make_error(NULL, &e);
			conn_send(c, reply);
			c->closing = true;
			break;
		}
		/* The line is whole: the clock of the next one starts with its
		 * first byte (conn_after_input), not with this one's. */
		c->line_started = 0;
		methods_handle_line(c->manager, c, line, len);
	}
	conn_maybe_finish(c);
	conn_update_events(c);
}

void conn_resume(Conn *c)
{
	if (c->dead)
		return;
	conn_process(c);
	conn_after_input(c);
}

static void conn_read(Conn *c)
{
	char *scratch = c->server->scratch;
	size_t budget = READ_BUDGET;

	while (budget > 0 && conn_wants_input(c)) {
		ssize_t n = read(c->fd, scratch, READ_SLICE);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			conn_close(c, "read failed");
			return;
		}
		if (n == 0)
			c->eof = true;
		else if (linebuf_append(&c->in, scratch, (size_t)n) < 0) {
			conn_close(c, "out of memory");
			return;
		}
		c->last_active = now_monotonic_usec();
		c->drained = false;
		conn_process(c);
		if (n == 0)
			break;
		budget -= MIN(budget, (size_t)n);
	}
	conn_after_input(c);
	conn_maybe_finish(c);
	conn_update_events(c);
}

static int conn_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	Conn *c = userdata;

	if (revents & EPOLLOUT)
		conn_write(c);
	if (c->dead)
		return 0;
	if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (conn_wants_input(c))
			conn_read(c);
		else if (revents & (EPOLLHUP | EPOLLERR))
			/* Not reading (parked, throttled or after EOF) and the peer
			 * is gone for good: nothing we send can arrive. */
			conn_close(c, "peer hung up");
	}
	return 0;
}

void conn_park_subtask(Conn *c, json_object *id, SubtaskCall *call)
{
	/* A waiter with no task id: events_wake_waiters() never picks it. */
	c->wait.active = true;
	c->wait.id = json_object_get(id);
	c->wait.correlation_id[0] = 0;
	c->wait.task_id[0] = 0;
	c->wait.subtask = call;
	LIST_PREPEND(waiters, c->server->waiters, c);
	conn_update_events(c);
}

void conn_wait_finish(Conn *c, json_object *reply)
{
	Server *s = c->server;

	if (!c->wait.active)
		return;
	LIST_REMOVE(waiters, s->waiters, c);
	c->wait.active = false;
	c->wait.timer = sd_event_source_disable_unref(c->wait.timer);
	c->wait.id = (json_object_put(c->wait.id), NULL);
	c->wait.subtask = NULL;
	conn_send(c, reply);
	if (!c->dead && !c->in_resumable) {
		LIST_PREPEND(resumable, s->resumable, c);
		c->in_resumable = true;
	}
	server_kick(s);
}

void conn_plan_finish(Conn *c, json_object *reply)
{
	Server *s = c->server;

	if (!c->plan_reply)
		return;
	c->plan_reply = NULL;
	conn_send(c, reply);
	if (!c->dead && !c->in_resumable) {
		LIST_PREPEND(resumable, s->resumable, c);
		c->in_resumable = true;
	}
	server_kick(s);
}
