/* SPDX-License-Identifier: MIT */
/*
 * The client side of the wire protocol. A command opens one connection, sends
 * one request and reads lines until the reply with its id arrives; lines
 * before it that are not its reply (notifications) are skipped. `watch` keeps
 * reading after the reply and hands each notification to its callback.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "output.h"
#include "rpc-client.h"

/* Compact, one line, and "/" left alone, as the daemon writes it too. */
#define WIRE_FORMAT (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* How much to ask read() for at a time. */
#define READ_CHUNK ((size_t)64 * 1024)

json_object *json_new_object(void)
{
	json_object *o = json_object_new_object();

	if (!o)
		oom();
	return o;
}

void json_set(json_object *obj, const char *key, json_object *value)
{
	/* A NULL value is a failed json_object_new_*(), not a wish for null. */
	if (!value || json_object_object_add(obj, key, value) < 0)
		oom();
}

int rpc_client_connect(RpcClient *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(path);
	_cleanup_close_ int fd = -1;
	socklen_t salen;

	if (n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, n + 1);
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, salen) < 0)
		return -errno;

	c->fd = TAKE_FD(fd);
	linebuf_init(&c->in, RPC_REPLY_MAX);
	return 0;
}

void rpc_client_done(RpcClient *c)
{
	closep(&c->fd);
	c->fd = -1;
	linebuf_done(&c->in);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int rpc_client_send(RpcClient *c, const char *method, json_object *params, int64_t *ret_id)
{
	_cleanup_json_ json_object *request = json_new_object();
	_cleanup_free_ char *line = NULL;
	int64_t id = c->next_id;
	const char *s;
	size_t len;
	int r;

	json_set(request, "jsonrpc", json_object_new_string("2.0"));
	json_set(request, "id", json_object_new_int64(id));
	json_set(request, "method", json_object_new_string(method));
	json_set(request, "params", params ? json_object_get(params) : json_new_object());

	s = json_object_to_json_string_length(request, WIRE_FORMAT, &len);
	if (!s)
		oom();
	/* One write for the whole line, newline included. */
	line = malloc(len + 1);
	if (!line)
		oom();
	memcpy(line, s, len);
	line[len] = '\n';

	r = write_all(c->fd, line, len + 1);
	if (r < 0)
		return r;
	c->next_id++;
	*ret_id = id;
	return 0;
}

static void json_tokener_freep(json_tokener **t)
{
	if (*t)
		json_tokener_free(*t);
}

int json_parse_object(const char *s, size_t len, json_object **ret)
{
	_cleanup_(json_tokener_freep) json_tokener *tok = json_tokener_new();
	json_object *o;
	size_t end;

	if (!tok)
		oom();
	if (len > INT_MAX)
		return -E2BIG;
	o = json_tokener_parse_ex(tok, s, (int)len);
	end = json_tokener_get_parse_end(tok);
	while (end < len && (s[end] == ' ' || s[end] == '\t' || s[end] == '\r' || s[end] == '\n'))
		end++;
	if (json_tokener_get_error(tok) != json_tokener_success || end != len ||
	    !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EBADMSG;
	}
	*ret = o;
	return 0;
}

static int wait_readable(RpcClient *c)
{
	/* A negative fd is skipped by ppoll(); events 0 still reports errors and hangups. */
	struct pollfd p[] = { { .fd = c->fd, .events = POLLIN }, { .fd = c->hangup_fd } };

	if (ppoll(p, ELEMENTSOF(p), NULL, c->wait_sigmask) < 0)
		return -errno;
	if (p[1].revents & (POLLERR | POLLHUP | POLLNVAL))
		return -ECANCELED;
	return 0;
}

int rpc_client_receive(RpcClient *c, json_object **ret_msg)
{
	for (;;) {
		char *line;
		size_t len;
		ssize_t n;
		int r;

		r = linebuf_next(&c->in, &line, &len);
		if (r < 0)
			return r;
		if (r > 0)
			return json_parse_object(line, len, ret_msg) < 0 ? -EBADMSG : 1;

		if (c->wait_sigmask) {
			r = wait_readable(c);
			if (r < 0)
				return r;
		}
		n = linebuf_read(&c->in, c->fd, READ_CHUNK);
		if (n == 0)
			return 0; /* a partial last line is as good as none */
		if (n < 0)
			return (int)n;
	}
}

bool rpc_is_reply_to(json_object *msg, int64_t id)
{
	json_object *v;

	if (!json_object_object_get_ex(msg, "id", &v))
		return false;
	if (!v)
		return json_object_object_get_ex(msg, "error", NULL);
	return json_object_is_type(v, json_type_int) && json_object_get_int64(v) == id;
}

static bool is_notification(json_object *msg)
{
	return json_get_string(msg, "method") && !json_object_object_get_ex(msg, "id", NULL);
}

static int report_connect_error(const Cmd *cmd, int r)
{
	const char *hint = "";

	if (r == -ENOENT || r == -ECONNREFUSED)
		hint = ": is vx11d running?";
	else if (r == -EACCES || r == -EPERM)
		hint = ": are you in the vx11 group?";
	fprintf(stderr, "vx11ctl: cannot connect to %s: %s%s\n", cmd->socket_path, strerror(-r), hint);
	return VX11_EXIT_NO_DAEMON;
}

/* r is 0 when the daemon closed the connection before its reply. */
static int report_io_error(const Cmd *cmd, int r)
{
	switch (r) {
	case 0:
	case -ECONNRESET:
	case -EPIPE:
		fprintf(stderr, "vx11ctl: connection to %s closed before the reply\n", cmd->socket_path);
		break;
	case -EBADMSG:
		fprintf(stderr, "vx11ctl: malformed reply from %s\n", cmd->socket_path);
		break;
	case -E2BIG:
		fprintf(stderr, "vx11ctl: reply from %s is longer than %zu MiB\n", cmd->socket_path,
			RPC_REPLY_MAX / (1024 * 1024));
		break;
	default:
		fprintf(stderr, "vx11ctl: lost the connection to %s: %s\n", cmd->socket_path, strerror(-r));
	}
	return VX11_EXIT_NO_DAEMON;
}

int64_t rpc_error_code(json_object *error)
{
	json_object *code = json_get(error, "code");

	return json_object_is_type(code, json_type_int) ? json_object_get_int64(code) : 0;
}

int rpc_report_error(const Cmd *cmd, json_object *error)
{
	const char *message = json_get_string(error, "message");
	const char *name = json_get_string(json_get(error, "data"), "name");
	_cleanup_free_ char *m = text_escape(message ? message : "error without a message");

	if (cmd->json)
		print_json(stdout, error, true);
	if (name) {
		_cleanup_free_ char *n = text_escape(name);
		fprintf(stderr, "vx11ctl: %s (%s)\n", m, n);
	} else
		fprintf(stderr, "vx11ctl: %s (code %" PRId64 ")\n", m, rpc_error_code(error));
	return VX11_EXIT_FAILED;
}

/*
 * A reply's result or error: 0 and a new reference in one of *ret_result
 * (possibly NULL for null) and *ret_error, the other NULL; or the reply,
 * malformed, reported.
 */
static int split_reply(const Cmd *cmd, json_object *reply, json_object **ret_result, json_object **ret_error)
{
	json_object *v;

	if (json_object_object_get_ex(reply, "error", &v) && v) {
		if (!json_object_is_type(v, json_type_object))
			return report_io_error(cmd, -EBADMSG);
		*ret_result = NULL;
		*ret_error = json_object_get(v);
		return 0;
	}
	if (!json_object_object_get_ex(reply, "result", &v))
		return report_io_error(cmd, -EBADMSG);
	*ret_result = json_object_get(v);
	*ret_error = NULL;
	return 0;
}

/* A reply's result (0 and a new reference, possibly NULL for null), or its error reported. */
static int take_reply(const Cmd *cmd, json_object *reply, json_object **ret_result)
{
	_cleanup_json_ json_object *result = NULL, *error = NULL;
	int r;

	r = split_reply(cmd, reply, &result, &error);
	if (r != 0)
		return r;
	if (error)
		return rpc_report_error(cmd, error);
	*ret_result = TAKE_PTR(result);
	return 0;
}

/*
 * Connect and send. A daemon that refuses a connection (too many of them)
 * may say why and close at once, so a failed send still reads a reply.
 */
static int start_request(const Cmd *cmd, RpcClient *c, const char *method, json_object *params,
			 int64_t *ret_id)
{
	int r;

	r = rpc_client_connect(c, cmd->socket_path);
	if (r < 0)
		return report_connect_error(cmd, r);
	r = rpc_client_send(c, method, params, ret_id);
	if (r == -EPIPE || r == -ECONNRESET) {
		*ret_id = c->next_id;
		return 0;
	}
	if (r < 0)
		return report_io_error(cmd, r);
	return 0;
}

int rpc_call_try(const Cmd *cmd, const char *method, json_object *params, json_object **ret_result,
		 json_object **ret_error)
{
	_cleanup_(rpc_client_done) RpcClient c = RPC_CLIENT_INIT;
	int64_t id;
	int r;

	r = start_request(cmd, &c, method, params, &id);
	if (r != 0)
		return r;
	for (;;) {
		_cleanup_json_ json_object *msg = NULL;

		r = rpc_client_receive(&c, &msg);
		if (r <= 0)
			return report_io_error(cmd, r);
		if (rpc_is_reply_to(msg, id))
			return split_reply(cmd, msg, ret_result, ret_error);
	}
}

int rpc_call(const Cmd *cmd, const char *method, json_object *params, json_object **ret_result)
{
	_cleanup_json_ json_object *result = NULL, *error = NULL;
	int r;

	r = rpc_call_try(cmd, method, params, &result, &error);
	if (r != 0)
		return r;
	if (error)
		return rpc_report_error(cmd, error);
	*ret_result = TAKE_PTR(result);
	return 0;
}

int rpc_call_list(const Cmd *cmd, const char *method, json_object *params, const char *items, const char *id_key,
		  bool all, json_object **ret_result)
{
	_cleanup_json_ json_object *first = NULL;
	json_object *array;
	int r;

	json_set(params, "order", json_object_new_string("desc"));
	json_set(params, "total", json_object_new_boolean(true));
	if (all)
		json_set(params, "limit", json_object_new_int(RPC_LIST_LIMIT_MAX));
	r = rpc_call(cmd, method, params, &first);
	if (r != 0)
		return r;
	array = json_get(first, items);
	if (!json_object_is_type(array, json_type_array) || !json_object_is_type(json_get(first, "total"), json_type_int)) {
		fprintf(stderr, "vx11ctl: malformed %s reply from %s\n", method, cmd->socket_path);
		return VX11_EXIT_NO_DAEMON;
	}

	/* The total is counted once; later pages go on from the last item. */
	json_object_object_del(params, "total");
	while (all && json_object_array_length(array) > 0) {
		_cleanup_json_ json_object *page = NULL;
		json_object *more, *last = json_object_array_get_idx(array, json_object_array_length(array) - 1);
		size_t n;

		if (!json_get_string(last, id_key)) {
			fprintf(stderr, "vx11ctl: malformed %s reply from %s: an item without %s\n", method,
				cmd->socket_path, id_key);
			return VX11_EXIT_NO_DAEMON;
		}
		json_set(params, "after", json_object_new_string(json_get_string(last, id_key)));
		r = rpc_call(cmd, method, params, &page);
		if (r != 0)
			return r;
		more = json_get(page, items);
		n = json_array_length(more);
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++)
			if (json_object_array_add(array, json_object_get(json_object_array_get_idx(more, i))) < 0)
				oom();
	}
	json_set(first, "count", json_object_new_int64((int64_t)json_object_array_length(array)));
	*ret_result = TAKE_PTR(first);
	return 0;
}

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

/*
 * Catch SIGINT and SIGTERM so that `watch` ends with status 0, and keep them
 * blocked except while waiting for input (see RpcClient.wait_sigmask). A
 * signal ignored on entry (a background job's SIGINT) stays ignored.
 */
static void catch_stop_signals(sigset_t *ret_wait_sigmask)
{
	static const int signals[] = { SIGINT, SIGTERM };
	struct sigaction sa = { .sa_handler = on_stop_signal }; /* no SA_RESTART: ppoll() must return */
	sigset_t block;

	sigemptyset(&block);
	for (size_t i = 0; i < ELEMENTSOF(signals); i++) {
		struct sigaction old;

		if (sigaction(signals[i], NULL, &old) < 0 || old.sa_handler == SIG_IGN)
			continue;
		sigaddset(&block, signals[i]);
		(void)sigaction(signals[i], &sa, NULL);
	}
	(void)sigprocmask(SIG_BLOCK, &block, ret_wait_sigmask);
}

int rpc_stream(const Cmd *cmd, const char *method, json_object *params, RpcStreamFn on_reply,
	       RpcStreamFn on_notification, void *userdata)
{
	_cleanup_(rpc_client_done) RpcClient c = RPC_CLIENT_INIT;
	sigset_t wait_sigmask;
	bool replied = false;
	int64_t id;
	int r;

	r = start_request(cmd, &c, method, params, &id);
	if (r != 0)
		return r;
	/* Only now: a connect() stuck on a full backlog must stay interruptible. */
	catch_stop_signals(&wait_sigmask);
	c.wait_sigmask = &wait_sigmask;
	c.hangup_fd = STDOUT_FILENO; /* "vx11ctl watch | head -1" ends with head, not at the next event */

	for (;;) {
		_cleanup_json_ json_object *msg = NULL;

		r = rpc_client_receive(&c, &msg);
		if (r == -EINTR) {
			if (stop_signal)
				return VX11_EXIT_OK;
			continue;
		}
		if (r == -ECANCELED)
			return VX11_EXIT_OK;
		if (replied && (r == 0 || r == -ECONNRESET))
			return VX11_EXIT_OK; /* the daemon ended the stream, e.g. when it stops */
		if (r <= 0)
			return report_io_error(cmd, r);

		if (!replied && rpc_is_reply_to(msg, id)) {
			_cleanup_json_ json_object *result = NULL;

			r = take_reply(cmd, msg, &result);
			if (r != 0)
				return r;
			replied = true;
			r = on_reply(cmd, result, userdata);
		} else if (is_notification(msg))
			r = on_notification(cmd, msg, userdata);
		else
			r = 0; /* a reply to nothing we asked: not ours to judge */
		if (r == RPC_STREAM_END)
			return VX11_EXIT_OK;
		if (r != 0)
			return r;
	}
}
