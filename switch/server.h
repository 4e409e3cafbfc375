/* SPDX-License-Identifier: MIT */
/*
 * The switch's socket: the listening socket (systemd's, or one bound here),
 * the connections on it, and what every request may use: the configuration
 * and the providers' pool. One thread, one sd-event loop.
 */
#pragma once

#include <systemd/sd-event.h>

#include "config.h"
#include "list.h"
#include "provider.h"

typedef struct Conn Conn;

typedef struct Server {
	sd_event *event;
	SwitchConfig *config; /* current; replaced whole by a reload */
	ProviderPool *pool;   /* every running sub-task */
	int listen_fd;
	sd_event_source *listen_src;
	char *bound_path; /* the socket file we made and remove at exit; NULL when systemd's */
	Conn *conns;
	unsigned n_conns;
	bool accept_paused; /* out of fds: accept again once a connection closes */
} Server;

/*
 * Serve on systemd's socket when there is one (socket activation), else on
 * socket_path, bound here with mode 0660. Takes the configuration.
 */
int server_new(sd_event *e, SwitchConfig *config, const char *socket_path, Server **ret);
Server *server_free(Server *s);
/* A reloaded configuration, for the requests read from now on (the socket
 * stays what it is). Takes it. */
void server_set_config(Server *s, SwitchConfig *config);
/* A connection is gone: accept again if we had stopped for lack of fds. */
void server_conn_closed(Server *s);
