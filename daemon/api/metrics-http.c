/* SPDX-License-Identifier: MIT */
/*
 * The metrics socket (metrics-http.h). Mode 0660 with the policy's admin
 * group when that group exists, else 0600 (root only); and whoever connects
 * must also be an administrator by its credentials (SO_PEERCRED), as for
 * daemon.metrics, so a socket file moved or loosened by hand leaks nothing.
 *
 * Bounded: 16 connections at once, a request of at most 4 KiB, 10 s to send
 * it and read the answer; past any of these the connection is closed.
 */
#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "caller.h"
#include "core/manager.h"
#include "list.h"
#include "log.h"
#include "metrics-http.h"

#define HTTP_REQUEST_MAX 4096
#define HTTP_CONNS_MAX 16
#define HTTP_TIMEOUT_USEC (10 * USEC_PER_SEC)

typedef struct HttpConn HttpConn;
struct HttpConn {
	MetricsHttp *owner;
	int fd;
	sd_event_source *io, *timer;
	char req[HTTP_REQUEST_MAX + 1];
	size_t n;
	char *out;
	size_t out_len, out_off;
	LIST_FIELDS(HttpConn, conns);
};

struct MetricsHttp {
	Manager *m;
	char *path;
	FileId path_id; /* the socket file bound: only that one is removed at exit */
	int fd;
	sd_event_source *source;
	HttpConn *conns;
	size_t n_conns;
};

static void conn_free(HttpConn *c)
{
	if (!c)
		return;
	LIST_REMOVE(conns, c->owner->conns, c);
	c->owner->n_conns--;
	sd_event_source_disable_unref(c->io);
	sd_event_source_disable_unref(c->timer);
	safe_close(c->fd);
	free(c->out);
	free(c);
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	conn_free(userdata);
	return 0;
}

static void respond(HttpConn *c, const char *status, const char *type, const char *body, size_t len)
{
	char *out = NULL;
	int n = asprintf(&out,
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%.*s",
			 status, type, len, (int)len, body);

	if (n < 0) {
		conn_free(c);
		return;
	}
	c->out = out;
	c->out_len = (size_t)n;
	(void)sd_event_source_set_io_events(c->io, EPOLLOUT);
}

static void respond_text(HttpConn *c, const char *status, const char *text)
{
	respond(c, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* The request line of a complete head: GET /metrics gets the text. */
static void handle(HttpConn *c)
{
	Manager *m = c->owner->m;
	_cleanup_free_ char *text = NULL;
	char method[16], target[256];
	Caller caller = {};
	size_t len;
	int r;

	if (caller_from_socket(c->fd, &caller) < 0 || !caller_is_admin(&caller, m->policy)) {
		caller_done(&caller);
		respond_text(c, "403 Forbidden", "metrics need an administrator (uid 0 or the policy's admin_group)\n");
		return;
	}
	caller_done(&caller);
	if (sscanf(c->req, "%15s %255s HTTP/1.%*c", method, target) != 2) {
		respond_text(c, "400 Bad Request", "expected: GET /metrics HTTP/1.1\n");
		return;
	}
	if (!streq(method, "GET") || (!streq(target, "/metrics") && strncmp(target, "/metrics?", 9) != 0)) {
		respond_text(c, "404 Not Found", "only GET /metrics is served here\n");
		return;
	}
	r = manager_metrics_text(m, &text, &len);
	if (r < 0) {
		log_warning("metrics socket: cannot build the metrics: %s", r == -ENOMEM ? "out of memory" : store_last_error(m->store));
		respond_text(c, "500 Internal Server Error", "the metrics cannot be read now; see the daemon's log\n");
		return;
	}
	respond(c, "200 OK", METRICS_CONTENT_TYPE, text, len);
}

static int on_conn_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	HttpConn *c = userdata;
	ssize_t k;

	if (c->out) {
		k = write(fd, c->out + c->out_off, c->out_len - c->out_off);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (k > 0)
			c->out_off += (size_t)k;
		if (k <= 0 || c->out_off == c->out_len)
			conn_free(c);
		return 0;
	}
	k = read(fd, c->req + c->n, HTTP_REQUEST_MAX - c->n);
	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (k <= 0) { /* gone, or closed before a whole request */
		conn_free(c);
		return 0;
	}
	c->n += (size_t)k;
	c->req[c->n] = 0;
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n"))
		handle(c);
	else if (c->n == HTTP_REQUEST_MAX)
		respond_text(c, "431 Request Header Fields Too Large", "a request may have at most 4096 bytes\n");
	return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	MetricsHttp *h = userdata;

	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		HttpConn *c;

		if (cfd < 0)
			return 0; /* EAGAIN, or a connection gone before we took it */
		if (h->n_conns >= HTTP_CONNS_MAX || !(c = calloc(1, sizeof(*c)))) {
			close(cfd);
			continue;
		}
		c->owner = h;
		c->fd = cfd;
		LIST_PREPEND(conns, h->conns, c);
		h->n_conns++;
		if (sd_event_add_io(h->m->event, &c->io, cfd, EPOLLIN, on_conn_io, c) < 0 ||
		    sd_event_add_time_relative(h->m->event, &c->timer, CLOCK_MONOTONIC, HTTP_TIMEOUT_USEC, USEC_PER_SEC,
					       on_timeout, c) < 0)
			conn_free(c);
	}
}

static int bind_socket(const char *path, gid_t group, bool grouped, int *ret, FileId *ret_id)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	struct stat st;
	mode_t old;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A socket left by a crash goes; anything else at PATH is not ours. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		_cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return -EADDRINUSE;
		if (unlink(path) < 0)
			return -errno;
	}
	/* Root only from the start; the group is let in once it owns the file. */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0)
		return -errno;
	*ret_id = file_id(path);
	if (grouped && chown(path, 0, group) == 0 && chmod(path, 0660) < 0)
		return -errno;
	if (listen(fd, 16) < 0)
		return -errno;
	*ret = TAKE_FD(fd);
	return 0;
}

int metrics_http_new(Manager *m, const char *path, MetricsHttp **ret)
{
	MetricsHttp *h = calloc(1, sizeof(*h));
	int r;

	if (!h || !(h->path = strdup(path))) {
		free(h);
		return log_error_errno(ENOMEM, "out of memory");
	}
	h->m = m;
	h->fd = -1;
	r = bind_socket(path, m->policy->admin_gid, m->policy->admin_gid_valid, &h->fd, &h->path_id);
	if (r < 0) {
		log_error_errno(r, "cannot listen on the metrics socket %s: %s", path,
				r == -EEXIST ? "a file that is not a socket is there" :
				r == -EADDRINUSE ? "someone listens on it already" : strerror(-r));
		metrics_http_free(h);
		return r;
	}
	r = sd_event_add_io(m->event, &h->source, h->fd, EPOLLIN, on_accept, h);
	if (r < 0) {
		metrics_http_free(h);
		return log_error_errno(r, "cannot watch the metrics socket: %m");
	}
	log_info("serving metrics over HTTP on %s", path);
	*ret = h;
	return 0;
}

MetricsHttp *metrics_http_free(MetricsHttp *h)
{
	if (!h)
		return NULL;
	while (h->conns)
		conn_free(h->conns);
	sd_event_source_disable_unref(h->source);
	if (h->fd >= 0) {
		close(h->fd);
		(void)unlink_if_same(h->path, h->path_id);
	}
	free(h->path);
	free(h);
	return NULL;
}
