/* SPDX-License-Identifier: MIT */
/*
 * Theory of operation. One SwitchClient owns at most one connection (fd,
 * an io source, a LineBuf for answers, an output buffer for requests) and
 * two lists of calls:
 *
 *   in_flight  requests written to the output buffer (sent or waiting for the
 *              connection), each with its deadline timer. They leave the list
 *              by an answer with their id, their deadline, or the connection
 *              dropping (all at once).
 *   rejected   calls failed before anything was sent (breaker open, backoff
 *              longer than their deadline, the socket changed); the `deliver`
 *              defer source hands them their error on the next iteration.
 *
 * So switch_client_call() never calls back: a caller can store its handle
 * first. Everything else happens in the io, deadline, reconnect and deliver
 * handlers. A callback may re-enter the client (call, cancel, reconfigure,
 * free): handlers hold a reference while they call back, free only marks the
 * client dead, and the reader re-checks the connection's generation after
 * every line, since a callback may have dropped the connection under it.
 *
 * Ids count up from 1 and are never reused, so an answer with an id below
 * next_id that is not in flight is a late one (its call timed out or was
 * dropped with an older connection) and is ignored, while an id never sent
 * is a malformed answer.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "frame.h"
#include "json-util.h"
#include "list.h"
#include "switch-client.h"
#include "switch-wire.h"
#include "util.h"

/* Between connection attempts after a failure; reset by a valid answer. */
#define BACKOFF_MIN_USEC (100 * USEC_PER_MSEC)
#define BACKOFF_MAX_USEC (5 * USEC_PER_SEC)
/* Reads per io event, so that a chatty switch cannot hold the loop. */
#define READS_PER_EVENT 16
/* -32004 vx11.Busy: the switch is at a limit; asking again later may work. */
#define RPC_BUSY (-32004)

typedef enum ConnState {
	CONN_IDLE,       /* no socket; the reconnect timer may be armed */
	CONN_CONNECTING, /* connect() in progress, waiting for EPOLLOUT */
	CONN_UP,
} ConnState;

typedef enum BreakerState {
	BREAKER_CLOSED,
	BREAKER_OPEN,
	BREAKER_HALF_OPEN,
} BreakerState;

struct SwitchCall {
	SwitchClient *client;
	uint64_t id;
	uint64_t timeout_ms;      /* as it was when the call was made, for the message */
	SwitchCallback cb;        /* NULL once cancelled */
	void *userdata;
	sd_event_source *deadline;
	char *error;              /* on the rejected list: why */
	bool retry;
	LIST_FIELDS(SwitchCall, calls);
};

struct SwitchClient {
	unsigned n_ref;
	bool dead;                /* switch_client_free() ran; waiting for handlers to return */
	sd_event *event;
	char *socket;
	uint64_t timeout_ms;
	unsigned failure_threshold;
	uint64_t cooldown_usec;

	/* The connection. */
	int fd;
	ConnState conn;
	uint64_t generation;      /* bumped at every drop: a reader notices it was dropped */
	sd_event_source *io;
	LineBuf in;
	char *out;                /* requests not yet written: out[out_off..out_len) */
	size_t out_off, out_len, out_cap;
	sd_event_source *reconnect; /* a timer: connect at next_connect_usec */
	uint64_t next_connect_usec;
	uint64_t backoff_usec;
	char *conn_error;         /* why the last attempt or connection failed */

	SwitchCall *in_flight;
	size_t n_in_flight;
	SwitchCall *rejected;
	sd_event_source *deliver;
	uint64_t next_id;

	BreakerState breaker;
	unsigned consecutive_failures;
	uint64_t opened_usec;     /* when it last opened */
	SwitchCall *probe;        /* the half-open breaker's one request */
	char *last_error;

	uint64_t n_requests, n_answered, n_failures, n_timeouts, n_rejected;
};

static void client_ref(SwitchClient *c)
{
	c->n_ref++;
}

static void client_unref(SwitchClient *c)
{
	if (--c->n_ref > 0)
		return;
	sd_event_source_disable_unref(c->io);
	sd_event_source_disable_unref(c->reconnect);
	sd_event_source_disable_unref(c->deliver);
	safe_close(c->fd);
	linebuf_done(&c->in);
	free(c->out);
	free(c->conn_error);
	free(c->last_error);
	free(c->socket);
	sd_event_unref(c->event);
	free(c);
}

static void set_string(char **s, const char *v)
{
	char *dup = v ? strdup(v) : NULL;

	/* Out of memory: the status loses a message, nothing else. */
	free(*s);
	*s = dup;
}

/* "switch unavailable: connection refused": strerror's words, as a clause. */
static void errno_message(char *buf, size_t size, const char *what, int err)
{
	int n = snprintf(buf, size, "%s: ", what);

	snprintf(buf + n, size - (size_t)n, "%s", strerror(err));
	buf[n] = (char)tolower((unsigned char)buf[n]);
}

static void call_free(SwitchCall *call)
{
	sd_event_source_disable_unref(call->deadline);
	free(call->error);
	free(call);
}

/* The call has left every list: tell its caller (unless it went away), then free it. */
static void call_finish(SwitchCall *call, json_object *result, const char *error, bool retry)
{
	SwitchCallback cb = call->cb;
	void *userdata = call->userdata;
	/* A rejected call's own message outlives it until its callback returns. */
	_cleanup_free_ char *own = error == call->error ? TAKE_PTR(call->error) : NULL;

	call_free(call);
	if (cb)
		cb(userdata, result, error, retry);
}

/* Fails a list taken out of the client, oldest call first (the head is the
 * newest); error NULL: each rejected call with its own. */
static void finish_all(SwitchCall *list, const char *error, bool retry)
{
	SwitchCall *tail = list, *call;

	while (tail && tail->calls_next)
		tail = tail->calls_next;
	while ((call = tail)) {
		tail = call->calls_prev;
		LIST_REMOVE(calls, list, call);
		if (error)
			call_finish(call, NULL, error, retry);
		else
			call_finish(call, NULL, call->error, call->retry);
	}
}

static void in_flight_remove(SwitchClient *c, SwitchCall *call)
{
	LIST_REMOVE(calls, c->in_flight, call);
	c->n_in_flight--;
	if (c->probe == call)
		c->probe = NULL;
	sd_event_source_set_enabled(call->deadline, SD_EVENT_OFF);
}

/* The breaker's state now: an open one whose cooldown is over is half open. */
static BreakerState breaker_now(SwitchClient *c, uint64_t now)
{
	if (c->breaker == BREAKER_OPEN && now >= c->opened_usec + c->cooldown_usec)
		c->breaker = BREAKER_HALF_OPEN;
	return c->breaker;
}

static void breaker_success(SwitchClient *c)
{
	c->consecutive_failures = 0;
	c->breaker = BREAKER_CLOSED;
}

/* One failure: a half-open (or still open) breaker opens for a new cooldown. */
static void breaker_failure(SwitchClient *c, const char *why)
{
	c->n_failures++;
	if (c->consecutive_failures < UINT_MAX)
		c->consecutive_failures++;
	set_string(&c->last_error, why);
	if (c->breaker != BREAKER_CLOSED || c->consecutive_failures >= c->failure_threshold) {
		c->breaker = BREAKER_OPEN;
		c->opened_usec = now_monotonic_usec();
	}
}

/* Queue a call's failure for the deliver source. */
static int reject(SwitchClient *c, SwitchCall *call, const char *error, bool retry)
{
	call->error = strdup(error);
	if (!call->error)
		return -ENOMEM;
	call->retry = retry;
	sd_event_source_set_enabled(call->deadline, SD_EVENT_OFF);
	LIST_PREPEND(calls, c->rejected, call);
	c->n_rejected++;
	/* Enabling an existing defer source cannot fail for want of memory. */
	(void)sd_event_source_set_enabled(c->deliver, SD_EVENT_ONESHOT);
	return 0;
}

static int on_deliver(sd_event_source *s, void *userdata)
{
	SwitchClient *c = userdata;
	SwitchCall *list = c->rejected;

	/* Calls rejected by these callbacks wait for the next iteration. */
	c->rejected = NULL;
	client_ref(c);
	finish_all(list, NULL, false);
	client_unref(c);
	return 0;
}

/* Forget the connection; the calls in flight are the caller's to fail. */
static void conn_drop(SwitchClient *c)
{
	c->io = sd_event_source_disable_unref(c->io);
	c->fd = safe_close(c->fd);
	linebuf_done(&c->in);
	c->out_off = c->out_len = 0;
	c->conn = CONN_IDLE;
	c->generation++;
}

/* Every call in flight fails with the same error. The list is taken whole
 * first: callbacks may add calls, which belong to the next connection. */
static void fail_in_flight(SwitchClient *c, const char *error, bool retry)
{
	SwitchCall *list = c->in_flight;

	c->in_flight = NULL;
	c->n_in_flight = 0;
	c->probe = NULL;
	finish_all(list, error, retry);
}

/*
 * The connection failed, or could not be made: drop it, wait before the next
 * attempt, count one failure (when it failed someone, or said something
 * malformed), and fail every call in flight.
 */
static void conn_failed(SwitchClient *c, const char *why, bool retry, bool count_always)
{
	bool had_calls = c->in_flight != NULL;

	conn_drop(c);
	set_string(&c->conn_error, why);
	c->next_connect_usec = now_monotonic_usec() + c->backoff_usec;
	c->backoff_usec = MIN(c->backoff_usec * 2, BACKOFF_MAX_USEC);
	if (had_calls || count_always)
		breaker_failure(c, why);
	fail_in_flight(c, why, retry);
}

static void conn_failed_errno(SwitchClient *c, int err)
{
	char why[256];

	errno_message(why, sizeof(why), "switch unavailable", err);
	conn_failed(c, why, true, false);
}

static void conn_malformed(SwitchClient *c, const char *what)
{
	char why[256];

	snprintf(why, sizeof(why), "switch malformed answer: %s", what);
	conn_failed(c, why, false, true);
}

static int conn_update_events(SwitchClient *c)
{
	uint32_t events = c->conn == CONN_CONNECTING ? EPOLLOUT
			  : EPOLLIN | (c->out_off < c->out_len ? EPOLLOUT : 0);

	return sd_event_source_set_io_events(c->io, events);
}

/* Arm the reconnect timer for the earliest moment the backoff allows. */
static int conn_want(SwitchClient *c)
{
	int r;

	if (c->conn != CONN_IDLE)
		return 0;
	r = sd_event_source_set_time(c->reconnect, MAX(c->next_connect_usec, 1));
	if (r < 0)
		return r;
	return sd_event_source_set_enabled(c->reconnect, SD_EVENT_ONESHOT);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static void conn_start(SwitchClient *c)
{
	union {
		struct sockaddr sa;
		struct sockaddr_un un;
	} addr = { .un.sun_family = AF_UNIX };
	int fd, r;

	/* Everyone who waited for it timed out: connect again on the next call. */
	if (c->conn != CONN_IDLE || !c->in_flight)
		return;
	memcpy(addr.un.sun_path, c->socket, strlen(c->socket) + 1);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return conn_failed_errno(c, errno);
	c->fd = fd;
	r = connect(fd, &addr.sa, sizeof(addr.un));
	if (r < 0 && errno != EINPROGRESS)
		return conn_failed_errno(c, errno);
	c->conn = r < 0 ? CONN_CONNECTING : CONN_UP;
	linebuf_init(&c->in, SWITCH_ANSWER_MAX);
	r = sd_event_add_io(c->event, &c->io, fd, EPOLLOUT, on_io, c);
	if (r >= 0)
		r = conn_update_events(c);
	if (r < 0)
		conn_failed_errno(c, -r);
}

static int on_reconnect(sd_event_source *s, uint64_t usec, void *userdata)
{
	SwitchClient *c = userdata;

	client_ref(c);
	if (!c->dead)
		conn_start(c);
	client_unref(c);
	return 0;
}

/* Appends one request line; the io source writes it once the connection is up. */
static int out_append(SwitchClient *c, const char *line, size_t len)
{
	if (c->out_off > 0 && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_cap - c->out_len < len) {
		size_t cap = MAX(c->out_cap * 2, c->out_len + len);
		char *p;

		/* Move the written part out of the way before growing. */
		if (c->out_off > 0) {
			memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
			c->out_len -= c->out_off;
			c->out_off = 0;
		}
		if (c->out_cap - c->out_len < len) {
			p = realloc(c->out, cap);
			if (!p)
				return -ENOMEM;
			c->out = p;
			c->out_cap = cap;
		}
	}
	memcpy(c->out + c->out_len, line, len);
	c->out_len += len;
	return 0;
}

static void conn_write(SwitchClient *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return conn_failed_errno(c, errno);
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (conn_update_events(c) < 0)
		conn_failed_errno(c, ENOMEM);
}

static SwitchCall *in_flight_find(SwitchClient *c, uint64_t id)
{
	for (SwitchCall *call = c->in_flight; call; call = call->calls_next)
		if (call->id == id)
			return call;
	return NULL;
}

/* One answer line; anything but a JSON-RPC 2.0 response to a request we sent
 * drops the connection (and with it every call in flight). */
static void handle_line(SwitchClient *c, const char *line, size_t len)
{
	SwitchAnswer a;
	SwitchCall *call;
	const char *what = NULL;
	char why[512];
	int r;

	r = switch_answer_parse(line, len, c->next_id - 1, &a, &what);
	if (r == -ENOMEM)
		return conn_failed_errno(c, ENOMEM);
	if (r < 0)
		return conn_malformed(c, what);
	if (r == 0)
		return;

	/* The switch answers: connecting again after a break may start at once. */
	c->backoff_usec = BACKOFF_MIN_USEC;
	call = in_flight_find(c, a.id);
	if (call) {
		in_flight_remove(c, call);
		if (!a.is_error) {
			c->n_answered++;
			breaker_success(c);
			/* "result": null is a result too (NULL without an error): the caller judges its shape. */
			call_finish(call, a.result, NULL, false);
		} else {
			snprintf(why, sizeof(why), "switch error %" PRIi64 ": %s", a.code, a.message);
			breaker_failure(c, why);
			call_finish(call, NULL, why, a.code == RPC_BUSY);
		}
	}
	/* else late: its call timed out, or was dropped with an older connection. */
	switch_answer_done(&a);
}

/* Reads what is there and handles each complete line. */
static void conn_read(SwitchClient *c)
{
	uint64_t generation = c->generation;
	char *line;
	size_t len;
	int r;

	for (int i = 0; i < READS_PER_EVENT; i++) {
		ssize_t n = linebuf_read(&c->in, c->fd, 0);

		if (n == -EAGAIN)
			break;
		if (n < 0)
			return conn_failed_errno(c, (int)-n);
		while ((r = linebuf_next(&c->in, &line, &len)) > 0) {
			handle_line(c, line, len);
			if (c->dead || c->generation != generation)
				return;
		}
		if (r == -E2BIG) {
			char what[64];

			snprintf(what, sizeof(what), "a line longer than %u bytes", SWITCH_ANSWER_MAX);
			return conn_malformed(c, what);
		}
		if (n == 0)
			return conn_failed(c, "switch unavailable: connection closed by the switch", true, false);
	}
	linebuf_shrink(&c->in, 64U * 1024U);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	SwitchClient *c = userdata;
	uint64_t generation = c->generation;

	client_ref(c);
	if (c->conn == CONN_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof(err);

		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
			err = errno;
		if (err != 0) {
			conn_failed_errno(c, err);
			goto out;
		}
		c->conn = CONN_UP;
	}
	if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
		conn_read(c);
	if (!c->dead && c->generation == generation && c->conn == CONN_UP)
		conn_write(c);
out:
	client_unref(c);
	return 0;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	SwitchCall *call = userdata;
	SwitchClient *c = call->client;
	char why[64];

	client_ref(c);
	snprintf(why, sizeof(why), "switch timeout after %" PRIu64 " ms", call->timeout_ms);
	in_flight_remove(c, call);
	c->n_timeouts++;
	breaker_failure(c, why);
	call_finish(call, NULL, why, true);
	client_unref(c);
	return 0;
}

static int check_config(const char *socket, uint64_t timeout_ms, unsigned failure_threshold,
			uint64_t cooldown_usec)
{
	if (!socket || socket[0] != '/' || strlen(socket) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
		return -EINVAL;
	if (timeout_ms == 0 || timeout_ms > UINT64_MAX / USEC_PER_MSEC || failure_threshold == 0 ||
	    cooldown_usec == 0)
		return -EINVAL;
	return 0;
}

int switch_client_new(sd_event *e, const char *socket, uint64_t timeout_ms, unsigned failure_threshold,
		      uint64_t cooldown_usec, SwitchClient **ret)
{
	SwitchClient *c;
	int r;

	r = check_config(socket, timeout_ms, failure_threshold, cooldown_usec);
	if (r < 0)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->n_ref = 1;
	c->fd = -1;
	c->event = sd_event_ref(e);
	c->timeout_ms = timeout_ms;
	c->failure_threshold = failure_threshold;
	c->cooldown_usec = cooldown_usec;
	c->backoff_usec = BACKOFF_MIN_USEC;
	c->next_id = 1;
	linebuf_init(&c->in, SWITCH_ANSWER_MAX);
	c->socket = strdup(socket);
	if (!c->socket)
		r = -ENOMEM;
	if (r >= 0)
		r = sd_event_add_time(e, &c->reconnect, CLOCK_MONOTONIC, 1, 1, on_reconnect, c);
	if (r >= 0)
		r = sd_event_source_set_enabled(c->reconnect, SD_EVENT_OFF);
	if (r >= 0)
		r = sd_event_add_defer(e, &c->deliver, on_deliver, c);
	if (r >= 0)
		r = sd_event_source_set_enabled(c->deliver, SD_EVENT_OFF);
	if (r < 0) {
		client_unref(c);
		return r;
	}
	*ret = c;
	return 0;
}

SwitchClient *switch_client_free(SwitchClient *c)
{
	SwitchCall *list;

	if (!c || c->dead)
		return NULL;
	c->dead = true;
	sd_event_source_set_enabled(c->reconnect, SD_EVENT_OFF);
	sd_event_source_set_enabled(c->deliver, SD_EVENT_OFF);
	conn_drop(c);
	fail_in_flight(c, "stopping", false);
	list = c->rejected;
	c->rejected = NULL;
	finish_all(list, "stopping", false);
	client_unref(c);
	return NULL;
}

int switch_client_reconfigure(SwitchClient *c, const char *socket, uint64_t timeout_ms,
			      unsigned failure_threshold, uint64_t cooldown_usec)
{
	SwitchCall *call;
	char *dup;
	int r;

	if (!c || c->dead)
		return -ESHUTDOWN;
	r = check_config(socket, timeout_ms, failure_threshold, cooldown_usec);
	if (r < 0)
		return r;
	if (!streq(socket, c->socket)) {
		dup = strdup(socket);
		if (!dup)
			return -ENOMEM;
		free(c->socket);
		c->socket = dup;
		/* Another switch: nothing learnt about the old one applies. */
		conn_drop(c);
		sd_event_source_set_enabled(c->reconnect, SD_EVENT_OFF);
		c->breaker = BREAKER_CLOSED;
		c->consecutive_failures = 0;
		c->backoff_usec = BACKOFF_MIN_USEC;
		c->next_connect_usec = 0;
		set_string(&c->conn_error, NULL);
		while ((call = c->in_flight)) {
			in_flight_remove(c, call);
			r = reject(c, call, "switch unavailable: socket changed", true);
			if (r < 0) {
				/* No memory for the message: fail the rest now rather than lose them. */
				call_finish(call, NULL, "switch unavailable: socket changed", true);
				fail_in_flight(c, "switch unavailable: socket changed", true);
				break;
			}
		}
	}
	c->timeout_ms = timeout_ms;
	c->failure_threshold = failure_threshold;
	c->cooldown_usec = cooldown_usec;
	return 0;
}

int switch_client_call(SwitchClient *c, const char *method, json_object *params, SwitchCallback cb,
		       void *userdata, SwitchCall **ret_call)
{
	_cleanup_json_ json_object *p = params;
	_cleanup_free_ char *line = NULL, *why = NULL;
	SwitchCall *call;
	uint64_t now = now_monotonic_usec(), deadline;
	size_t len = 0;
	BreakerState state;
	bool probe;
	int r;

	if (!c || c->dead)
		return -ESHUTDOWN;
	if (!method || !method[0])
		return -EINVAL;

	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	call->client = c;
	call->cb = cb;
	call->userdata = userdata;
	call->timeout_ms = c->timeout_ms;
	deadline = now + c->timeout_ms * USEC_PER_MSEC;
	r = sd_event_add_time(c->event, &call->deadline, CLOCK_MONOTONIC, deadline, 1, on_deadline, call);
	if (r < 0) {
		free(call);
		return r;
	}
	call->id = c->next_id++;
	c->n_requests++;

	state = breaker_now(c, now);
	if (state == BREAKER_OPEN || (state == BREAKER_HALF_OPEN && c->probe))
		r = reject(c, call, "switch circuit open", true);
	else if (c->conn == CONN_IDLE && state != BREAKER_HALF_OPEN && c->next_connect_usec >= deadline) {
		/* The backoff outlasts the call: waiting would only turn this into a timeout. */
		r = asprintf(&why, "%s", c->conn_error ? c->conn_error : "switch unavailable");
		r = r < 0 ? -ENOMEM : reject(c, call, why, true);
	} else {
		probe = state == BREAKER_HALF_OPEN;
		/* Requests of calls that all timed out before a connection: nobody waits for them. */
		if (c->conn == CONN_IDLE && !c->in_flight)
			c->out_off = c->out_len = 0;
		line = switch_request_line(call->id, method, p, &len);
		r = line ? out_append(c, line, len) : -ENOMEM;
		if (r >= 0) {
			LIST_PREPEND(calls, c->in_flight, call);
			c->n_in_flight++;
			if (probe) {
				c->probe = call;
				/* The cooldown was the wait: the probe does not also sit out a backoff. */
				c->next_connect_usec = 0;
			}
			r = c->conn == CONN_IDLE ? conn_want(c) : conn_update_events(c);
			if (r < 0) {
				/* Nothing will send it: take it back. */
				in_flight_remove(c, call);
				c->out_len -= len;
			}
		}
	}
	if (r < 0) {
		c->n_requests--;
		call_free(call);
		return r;
	}
	if (ret_call)
		*ret_call = call;
	return 0;
}

void switch_call_cancel(SwitchCall *call)
{
	if (!call)
		return;
	call->cb = NULL;
	call->userdata = NULL;
}

const char *switch_client_state(SwitchClient *c)
{
	switch (breaker_now(c, now_monotonic_usec())) {
	case BREAKER_OPEN:
		return "open";
	case BREAKER_HALF_OPEN:
		return "half_open";
	default:
		return "closed";
	}
}

json_object *switch_client_status(SwitchClient *c)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	struct {
		const char *key;
		json_object *v;
	} fields[] = {
		{ "socket", json_object_new_string(c->socket) },
		{ "state", json_object_new_string(switch_client_state(c)) },
		{ "consecutive_failures", json_object_new_int64(c->consecutive_failures) },
		{ "last_error", c->last_error ? json_object_new_string(c->last_error) : NULL },
		{ "connected", json_object_new_boolean(c->conn == CONN_UP) },
		{ "in_flight", json_object_new_int64((int64_t)c->n_in_flight) },
		{ "requests", json_object_new_int64((int64_t)c->n_requests) },
		{ "answered", json_object_new_int64((int64_t)c->n_answered) },
		{ "failures", json_object_new_int64((int64_t)c->n_failures) },
		{ "timeouts", json_object_new_int64((int64_t)c->n_timeouts) },
		{ "rejected", json_object_new_int64((int64_t)c->n_rejected) },
	};
	bool ok = o != NULL;

	for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
		bool want = i != 3 || c->last_error; /* last_error may be null */

		if (!ok || (want && !fields[i].v) || json_object_object_add(o, fields[i].key, fields[i].v) < 0) {
			json_object_put(fields[i].v);
			ok = false;
		}
	}
	return ok ? TAKE_PTR(o) : NULL;
}
