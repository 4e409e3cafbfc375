/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "conn.h"
#include "log.h"
#include "rpc.h"
#include "server.h"

static int socket_bind(const char *path, int *ret_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	mode_t old_umask;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return log_error_errno(ENAMETOOLONG, "socket path %s is too long", path);
	strcpy(sa.sun_path, path);

	r = mkdir_parents(path, 0755);
	if (r < 0)
		return log_error_errno(r, "cannot create the directory of %s: %m", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return log_error_errno(errno, "socket(): %m");

	/* A socket file may be left from a crash; refuse only if someone answers on it. */
	if (access(path, F_OK) == 0) {
		_cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return log_error_errno(EADDRINUSE, "something already listens on %s", path);
		if (unlink(path) < 0)
			return log_error_errno(errno, "cannot remove the stale socket %s: %m", path);
	}

	/* 0660 from the start: never a moment where anyone may connect. The
	 * owner (root, for vx11d) and the group are the switch's clients. */
	old_umask = umask(0117);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (r < 0)
		return log_error_errno(errno, "cannot bind %s: %m", path);
	if (listen(fd, SOMAXCONN) < 0)
		return log_error_errno(errno, "cannot listen on %s: %m", path);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* Over max_connections: one answer saying so, then the door closes. */
static void refuse_busy(int fd, unsigned max)
{
	_cleanup_json_ json_object *reply = NULL;
	const char *text;
	RpcError e;

	rpc_error(&e, RPC_BUSY, "busy: %u connections are open (limits.max_connections)", max);
	reply = rpc_make_error(NULL, &e);
	text = reply ? json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN) : NULL;
	if (text) {
		(void)send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)send(fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	safe_close(fd);
}

static int server_accept(sd_event_source *src, int lfd, uint32_t revents, void *userdata)
{
	Server *s = userdata;

	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		Conn *c;
		int r;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				/* Level-triggered: without a pause this would spin. */
				log_warning_errno(errno, "cannot accept a connection: %m; waiting for one to close");
				s->accept_paused = true;
				(void)sd_event_source_set_enabled(s->listen_src, SD_EVENT_OFF);
			} else if (errno != EAGAIN)
				log_warning_errno(errno, "accept(): %m");
			return 0;
		}
		if (s->n_conns >= s->config->limits.max_connections) {
			refuse_busy(fd, s->config->limits.max_connections);
			continue;
		}
		r = conn_new(s, fd, &c);
		if (r < 0) {
			log_warning_errno(r, "cannot serve a connection: %m");
			safe_close(fd);
		}
	}
}

void server_conn_closed(Server *s)
{
	if (s->accept_paused) {
		s->accept_paused = false;
		(void)sd_event_source_set_enabled(s->listen_src, SD_EVENT_ON);
	}
}

static int listen_socket(Server *s, const char *path)
{
	int n, r;

	n = sd_listen_fds(true);
	if (n < 0)
		return log_error_errno(n, "sd_listen_fds(): %m");
	if (n > 1)
		return log_error_errno(EINVAL, "systemd passed %d sockets; vx11-switch serves one", n);
	if (n == 1) {
		if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0)
			return log_error_errno(EINVAL, "the socket systemd passed is not a listening AF_UNIX stream socket");
		s->listen_fd = SD_LISTEN_FDS_START;
		if (fcntl(s->listen_fd, F_SETFL, O_NONBLOCK) < 0 || fcntl(s->listen_fd, F_SETFD, FD_CLOEXEC) < 0)
			return log_error_errno(errno, "cannot set up the socket systemd passed: %m");
		log_info("serving on the socket systemd passed");
		return 0;
	}
	r = socket_bind(path, &s->listen_fd);
	if (r < 0)
		return r;
	s->bound_path = strdup(path);
	if (!s->bound_path)
		return log_error_errno(ENOMEM, "out of memory");
	log_info("serving on %s", path);
	return 0;
}

int server_new(sd_event *e, SwitchConfig *config, const char *socket_path, Server **ret)
{
	Server *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s) {
		switch_config_free(config);
		return log_error_errno(ENOMEM, "out of memory");
	}
	s->event = sd_event_ref(e);
	s->config = config;
	s->listen_fd = -1;
	r = provider_pool_new(e, &s->pool);
	if (r < 0) {
		server_free(s);
		return log_error_errno(r, "out of memory");
	}
	r = listen_socket(s, socket_path);
	if (r < 0) {
		server_free(s);
		return r;
	}
	r = sd_event_add_io(e, &s->listen_src, s->listen_fd, EPOLLIN, server_accept, s);
	if (r < 0) {
		server_free(s);
		return log_error_errno(r, "cannot watch the socket: %m");
	}
	*ret = s;
	return 0;
}

Server *server_free(Server *s)
{
	if (!s)
		return NULL;
	while (s->conns)
		conn_free(s->conns);
	/* After the connections: their jobs are cut loose first, then killed here. */
	s->pool = provider_pool_free(s->pool);
	sd_event_source_disable_unref(s->listen_src);
	safe_close(s->listen_fd);
	if (s->bound_path)
		(void)unlink(s->bound_path);
	free(s->bound_path);
	switch_config_free(s->config);
	sd_event_unref(s->event);
	free(s);
	return NULL;
}

void server_set_config(Server *s, SwitchConfig *config)
{
	switch_config_free(s->config);
	s->config = config;
}
