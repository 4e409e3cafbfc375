/* SPDX-License-Identifier: MIT */
/*
 * A connection is a small state machine run by conn_step(): move the answers
 * that are complete, in order, into the output buffer; write what the socket
 * takes; handle the lines already read while the connection is not paused;
 * again while that made progress. Answers that arrive during a step (a plan
 * is answered from inside the line's handling) only mark it to go round
 * again, so the step never recurses. Reading is separate: one read per
 * readable event, and only while not paused.
 */
#include <string.h>
#include <sys/socket.h>

#include "conn.h"
#include "log.h"
#include "methods.h"
#include "rpc.h"

/* Unsent output past which the connection is read no further. */
#define OUT_HIGH ((size_t)4 * 1024 * 1024)
#define READ_WANT ((size_t)64 * 1024)
/* An idle connection keeps at most this much input buffer. */
#define IN_KEEP ((size_t)64 * 1024)

struct Slot {
	Slot *next;
	json_object *answers; /* an array, answers by index */
	size_t n;             /* answers reserved */
	size_t pending;       /* reserved answers not yet given, + 1 while the line is handled */
	bool batch;           /* the line was an array: answer with an array */
};

static void conn_step(Conn *c);

static Slot *slot_free(Slot *s)
{
	if (s) {
		json_object_put(s->answers);
		free(s);
	}
	return NULL;
}

size_t slot_reserve(Slot *slot)
{
	slot->pending++;
	return slot->n++;
}

void conn_answer(Conn *c, Slot *slot, size_t index, json_object *reply)
{
	if (!reply) {
		RpcError e;
		rpc_error(&e, RPC_INTERNAL, "out of memory");
		reply = rpc_make_error(NULL, &e);
	}
	if (json_object_array_put_idx(slot->answers, index, reply) < 0)
		json_object_put(reply);
	slot->pending--;
	conn_step(c);
}

static int out_append(Conn *c, const char *p, size_t n)
{
	if (c->out_cap - c->out_len < n) {
		/* Reclaim what was written before growing. */
		if (c->out_start > 0) {
			memmove(c->out, c->out + c->out_start, c->out_len - c->out_start);
			c->out_len -= c->out_start;
			c->out_start = 0;
		}
		if (c->out_cap - c->out_len < n) {
			size_t cap = MAX(c->out_cap * 2, c->out_len + n + 4096);
			char *o = realloc(c->out, cap);
			if (!o)
				return -ENOMEM;
			c->out = o;
			c->out_cap = cap;
		}
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return 0;
}

/* Complete slots at the head go out, in order; a batch as one array. */
static int flush_slots(Conn *c)
{
	while (c->head && c->head->pending == 0) {
		Slot *s = c->head;
		json_object *o = s->batch ? s->answers : json_object_array_get_idx(s->answers, 0);

		if (s->n > 0) {
			size_t len;
			const char *text = json_object_to_json_string_length(
				o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
			if (!text || out_append(c, text, len) < 0 || out_append(c, "\n", 1) < 0)
				return -ENOMEM;
		}
		c->head = s->next;
		if (!c->head)
			c->tail = NULL;
		c->n_slots--;
		slot_free(s);
	}
	return 0;
}

static int write_out(Conn *c)
{
	while (c->out_start < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_start, c->out_len - c->out_start, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -errno;
		c->out_start += (size_t)n;
	}
	c->out_start = c->out_len = 0;
	/* A reply to a large request may have grown it: give that back. */
	if (c->out_cap > IN_KEEP) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	return 0;
}

static bool paused(const Conn *c)
{
	return c->closing || c->n_slots >= c->server->config->limits.max_pending ||
	       c->out_len - c->out_start > OUT_HIGH;
}

static Slot *slot_push(Conn *c)
{
	Slot *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->answers = json_object_new_array();
	if (!s->answers)
		return slot_free(s);
	s->pending = 1; /* held until the line is handled */
	if (c->tail)
		c->tail->next = s;
	else
		c->head = s;
	c->tail = s;
	c->n_slots++;
	return s;
}

static void answer_error(Conn *c, Slot *slot, json_object *id, int code, const char *name, const char *msg)
{
	RpcError e;

	rpc_error_named(&e, code, name, "%s", msg);
	conn_answer(c, slot, slot_reserve(slot), rpc_make_error(id, &e));
}

static void handle_line(Conn *c, const char *line, size_t len)
{
	_cleanup_json_ json_object *msg = NULL;
	RpcError e;
	Slot *slot;

	slot = slot_push(c);
	if (!slot) {
		c->dead = true;
		return;
	}
	if (rpc_parse_line(line, len, &msg, &e) < 0)
		answer_error(c, slot, NULL, e.code, e.name, e.message);
	else if (json_object_is_type(msg, json_type_array)) {
		size_t n = json_object_array_length(msg);
		if (n == 0)
			answer_error(c, slot, NULL, RPC_INVALID_REQUEST, NULL, "invalid request: an empty batch");
		else {
			/* JSON-RPC 2.0 batch: one array of the answers of those with ids. */
			slot->batch = true;
			for (size_t i = 0; i < n; i++)
				methods_handle(c, slot, json_object_array_get_idx(msg, i));
		}
	} else
		methods_handle(c, slot, msg);
	/* A batch of notifications only has nothing to answer: the slot goes unsent. */
	slot->pending--;
}

/* Returns the number of lines handled. */
static unsigned process_lines(Conn *c)
{
	unsigned n = 0;

	while (!paused(c) && !c->dead) {
		char *line;
		size_t len;
		int r = linebuf_next(&c->in, &line, &len);

		if (r == 0)
			break;
		n++;
		if (r == -E2BIG) {
			Slot *slot = slot_push(c);
			char msg[128];

			if (!slot) {
				c->dead = true;
				break;
			}
			snprintf(msg, sizeof(msg), "line too long: over %zu bytes", c->in.max_line);
			/* The rest of that line cannot be told from a next one: close. */
			c->closing = true;
			answer_error(c, slot, NULL, RPC_INVALID_REQUEST, "vx11.LineTooLong", msg);
			slot->pending--;
			log_warning("a client sent a line over %zu bytes: closing its connection", c->in.max_line);
			break;
		}
		handle_line(c, line, len);
		if (flush_slots(c) < 0)
			c->dead = true;
	}
	return n;
}

static void update_events(Conn *c)
{
	uint32_t events = 0;

	if (!c->eof && !paused(c))
		events |= EPOLLIN;
	if (c->out_start < c->out_len)
		events |= EPOLLOUT;
	(void)sd_event_source_set_io_events(c->io, events);
}

static void conn_step(Conn *c)
{
	if (c->stepping) {
		c->again = true;
		return;
	}
	c->stepping = true;
	for (;;) {
		c->again = false;
		if (flush_slots(c) < 0 || write_out(c) < 0) {
			c->dead = true;
			break;
		}
		if (process_lines(c) == 0 && !c->again)
			break;
	}
	c->stepping = false;
	/* No line handed out is in use between steps: a large one's memory can go. */
	linebuf_shrink(&c->in, IN_KEEP);

	if (c->dead || ((c->eof || c->closing) && !c->head && c->out_start == c->out_len)) {
		conn_free(c);
		return;
	}
	update_events(c);
}

static int conn_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	Conn *c = userdata;

	if ((revents & EPOLLIN) && !c->eof && !paused(c)) {
		ssize_t n = linebuf_read(&c->in, c->fd, READ_WANT);

		if (n == 0) {
			/* The last line may lack its newline: it is a line all the same. */
			c->eof = true;
			if (linebuf_pending(&c->in) > 0 && linebuf_append(&c->in, "\n", 1) < 0)
				c->dead = true;
		} else if (n < 0 && n != -EAGAIN)
			c->dead = true;
	} else if (revents & (EPOLLHUP | EPOLLERR)) {
		/* Gone while we were not reading: nobody is left to answer. */
		c->dead = true;
	}
	conn_step(c);
	return 0;
}

int conn_new(Server *s, int fd, Conn **ret)
{
	Conn *c;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->server = s;
	c->fd = fd;
	linebuf_init(&c->in, s->config->limits.max_line_bytes);
	r = sd_event_add_io(s->event, &c->io, fd, EPOLLIN, conn_io, c);
	if (r < 0) {
		linebuf_done(&c->in);
		free(c);
		return r;
	}
	LIST_PREPEND(conns, s->conns, c);
	s->n_conns++;
	*ret = c;
	return 0;
}

Conn *conn_free(Conn *c)
{
	if (!c)
		return NULL;
	methods_conn_closed(c);
	while (c->head) {
		Slot *s = c->head;
		c->head = s->next;
		slot_free(s);
	}
	LIST_REMOVE(conns, c->server->conns, c);
	c->server->n_conns--;
	sd_event_source_disable_unref(c->io);
	safe_close(c->fd);
	linebuf_done(&c->in);
	free(c->out);
	server_conn_closed(c->server);
	free(c);
	return NULL;
}
