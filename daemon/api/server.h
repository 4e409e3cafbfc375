/* SPDX-License-Identifier: MIT */
/*
 * The listening socket and the set of connections: caps in total and per
 * uid, and a reserve of file descriptors so that accept() pauses instead of
 * failing when the process runs out.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "conn.h"
#include "core/manager.h"

typedef struct UidCount {
	uid_t uid;
	unsigned n;
} UidCount;

struct Server {
	Manager *manager;
	int listen_fd;
	bool socket_activated;
	char *path;               /* NULL when socket-activated */
	FileId path_id;           /* the socket file bound at path: removed at exit if still there */
	int daughter_fd;          /* daughter.sock: daughter.* methods only */
	char *daughter_path;
	FileId daughter_id;
	sd_event_source *daughter_source;
	sd_event_source *listen_source;
	bool accept_paused;       /* out of fds: resumes when a connection closes */
	int reserve_fd;           /* held open so an EMFILE can still be handled */
	uint64_t next_conn_id;
	uint64_t max_fds;         /* RLIMIT_NOFILE minus a margin */

	Conn *conns;
	size_t n_conns;
	Conn *dirty;              /* connections with output not yet released */
	Conn *held;               /* output released once a durable commit's sync ends */
	Conn *dead;               /* closed, to be freed after the callback */
	Conn *waiters;            /* parked in result.get (wait_seconds): events.c */
	sd_event_source *waiters_poll; /* a fleet: their tasks may end on other nodes (events.c) */
	Conn *subscribers;        /* called events.subscribe: events.c */
	Conn *resumable;          /* paused connections to run again from kick_source */
	sd_event_source *kick_source;
	UidCount *uids;
	size_t n_uids;
	uint64_t pending_bytes;   /* unfinished lines held, all connections */
	char *scratch;            /* every read lands here first (see conn_read) */
};

/* Listens on path (or the socket systemd passed) and on daughter.sock in the
 * manager's runtime dir; registers as the manager's listener (task changes
 * become events, replies are released after each commit). */
int server_new(Manager *m, const char *path, Server **ret);
Server *server_free(Server *s);

/* Ask the loop to run the paused connections again (after this callback). */
void server_kick(Server *s);

/* After a successful commit: release and write every pending output. */
void server_flush(Server *s);
/* After a commit whose sync still runs: the pending output waits for ticket. */
void server_hold(Server *s, uint64_t ticket);
/* Syncs up to ticket done ended: release what waited for them. */
void server_release_synced(Server *s, uint64_t done);
/* After a failed commit or sync: the pending replies would lie, so each
 * becomes an error saying its outcome is unknown (vx11.StoreUnavailable when
 * the database went away) and the pending events go; the connections stay
 * (held ones too, with held). */
void server_drop_unreleased(Server *s, bool held);
/* Free the connections closed during this iteration. */
void server_gc(Server *s);

void server_mark_dirty(Server *s, Conn *c);
/* c's unfinished line is now pending bytes: keep the total, and past
 * limits.max_pending_line_bytes cut off the largest holders first. */
void server_account_pending(Server *s, Conn *c, size_t pending);
void server_conn_closed(Server *s, Conn *c);
