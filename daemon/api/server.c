/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <grp.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "core/manager.h"
#include "events.h"
#include "rpc.h"
#include "server.h"

#define FD_MARGIN 64 /* fds kept for the database, the journal, timers and future daughters */

static int server_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata);

/* mode 0660 and group vx11 for clients; 0666 for daughter.sock (a token authenticates there).
 * *ret_id: the socket file made, so that only that one is removed at exit. */
static int socket_bind(const char *path, mode_t mode, int *ret_fd, FileId *ret_id)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	struct group *gr;
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
			return log_error_errno(EADDRINUSE, "another vx11d is already listening on %s", path);
		if (unlink(path) < 0)
			return log_error_errno(errno, "cannot remove stale socket %s: %m", path);
	}

	/* Bind with the final mode: never a moment where anyone may connect. */
	old_umask = umask(0777 & ~mode);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (r < 0)
		return log_error_errno(errno, "cannot bind %s: %m", path);
	*ret_id = file_id(path);

	gr = mode == 0660 ? getgrnam("vx11") : NULL;
	if (gr && chown(path, 0, gr->gr_gid) < 0)
		log_warning_errno(errno, "cannot give %s to group vx11: %m", path);
	if (chmod(path, mode) < 0)
		return log_error_errno(errno, "cannot chmod %s: %m", path);

	if (listen(fd, SOMAXCONN) < 0)
		return log_error_errno(errno, "cannot listen on %s: %m", path);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static uint64_t raise_nofile(void)
{
	struct rlimit rl;

	/* Connections are fds: take what the hard limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024 - FD_MARGIN;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur > 2 * FD_MARGIN ? rl.rlim_cur - FD_MARGIN : FD_MARGIN;
}

static void on_task_changed(void *userdata, const Task *t, TaskStatus old)
{
	Server *s = userdata;

	events_task_status(s, t);
	if (task_status_is_terminal(t->status))
		events_wake_waiters(s, t);
}

/* Another node's commit may have ended a task waited for here, and may
 * have changed tasks subscribers here see. */
static void on_fleet_woken(void *userdata)
{
	events_fleet(userdata);
	/* Gathered: a burst of commits costs one read. */
	events_check_waiters(userdata, 10 * USEC_PER_MSEC);
}

static void on_daughter_status(void *userdata, const char *task_id, const Daughter *d, const Attempt *a)
{
	events_daughter_status(userdata, task_id, d, a);
}

/* After each commit: what this iteration queued goes out, waits for a sync,
 * or is withdrawn. */
static void on_release(void *userdata, bool withdrawn, uint64_t hold)
{
	Server *s = userdata;

	if (withdrawn)
		server_drop_unreleased(s, false);
	if (hold > 0)
		server_hold(s, hold);
	else
		server_flush(s);
	server_gc(s);
}

static void on_synced(void *userdata, uint64_t done, bool failed)
{
	Server *s = userdata;

	if (failed)
		server_drop_unreleased(s, true);
	server_release_synced(s, done);
	server_gc(s);
}

/* Replies hurry the commit; events alone wait for the paced one. */
static bool on_replies_waiting(void *userdata)
{
	Conn *c;

	for (c = ((Server *)userdata)->dirty; c; c = c->dirty_next)
		if (c->reply_queued)
			return true;
	return false;
}

static int on_kick(sd_event_source *source, void *userdata)
{
	Server *s = userdata;
	Conn *c;

	while ((c = s->resumable)) {
		LIST_REMOVE(resumable, s->resumable, c);
		c->in_resumable = false;
		conn_resume(c);
	}
	return 0;
}

void server_kick(Server *s)
{
	(void)sd_event_source_set_enabled(s->kick_source, SD_EVENT_ONESHOT);
}

int server_new(Manager *m, const char *path, Server **ret)
{
	Server *s = calloc(1, sizeof(*s));
	int n, r;

	if (!s)
		return log_error_errno(ENOMEM, "out of memory");
	s->manager = m;
	s->scratch = malloc(64 * 1024); /* conn.c's READ_SLICE */
	if (!s->scratch) {
		free(s);
		return log_error_errno(ENOMEM, "out of memory");
	}
	s->listen_fd = -1;
	s->daughter_fd = -1;
	s->reserve_fd = -1;

	n = sd_listen_fds(true);
	if (n < 0) {
		r = log_error_errno(n, "sd_listen_fds() failed: %m");
		goto fail;
	}
	if (n > 1) {
		r = log_error_errno(EINVAL, "expected one socket from the service manager, got %d", n);
		goto fail;
	}
	if (n == 1) {
		if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0) {
			r = log_error_errno(EINVAL, "the socket passed by the service manager is not a listening AF_UNIX stream socket");
			goto fail;
		}
		s->listen_fd = SD_LISTEN_FDS_START;
		s->socket_activated = true;
		(void)fcntl(s->listen_fd, F_SETFL, fcntl(s->listen_fd, F_GETFL) | O_NONBLOCK);
	} else {
		r = socket_bind(path, 0660, &s->listen_fd, &s->path_id);
		if (r < 0)
			goto fail;
		s->path = strdup(path);
	}

	/* Daughters (their own uids, not in group vx11) reach the daemon here;
	 * only the daughter.* methods are served, each authenticated by token. */
	if (asprintf(&s->daughter_path, "%s/daughter.sock", m->runtime_dir) < 0) {
		s->daughter_path = NULL;
		r = log_error_errno(ENOMEM, "out of memory");
		goto fail;
	}
	r = socket_bind(s->daughter_path, 0666, &s->daughter_fd, &s->daughter_id);
	if (r < 0)
		goto fail;

	s->max_fds = raise_nofile();
	s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	r = sd_event_add_io(m->event, &s->listen_source, s->listen_fd, EPOLLIN, server_accept, s);
	if (r >= 0)
		r = sd_event_add_io(m->event, &s->daughter_source, s->daughter_fd, EPOLLIN, server_accept, s);
	if (r >= 0)
		r = sd_event_add_defer(m->event, &s->kick_source, on_kick, s);
	if (r >= 0)
		r = sd_event_source_set_enabled(s->kick_source, SD_EVENT_OFF);
	if (r < 0) {
		log_error_errno(r, "cannot watch the listening socket: %m");
		goto fail;
	}
	manager_set_listener(m, &(ManagerListener){ on_task_changed, on_daughter_status, on_release, on_synced,
						    on_replies_waiting, s, on_fleet_woken });
	*ret = s;
	return 0;
fail:
	server_free(s);
	return r;
}

Server *server_free(Server *s)
{
	Conn *c, *n;

	if (!s)
		return NULL;
	if (s->manager->listener.userdata == s)
		manager_set_listener(s->manager, NULL);
	LIST_FOREACH_SAFE(conns, c, n, s->conns)
		conn_close(c, NULL);
	server_gc(s);
	sd_event_source_disable_unref(s->kick_source);
	sd_event_source_disable_unref(s->waiters_poll);
	sd_event_source_disable_unref(s->listen_source);
	sd_event_source_disable_unref(s->daughter_source);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->daughter_fd >= 0)
		close(s->daughter_fd);
	/* Leave no socket file behind, unless it belongs to the service
	 * manager, or is no longer ours: removed by hand while we ran and
	 * bound again by another vx11d, it is that one's way in. (A failed
	 * bind recorded no file: a path someone else listens on stays.) */
	if (s->daughter_path)
		(void)unlink_if_same(s->daughter_path, s->daughter_id);
	free(s->daughter_path);
	if (s->path)
		(void)unlink_if_same(s->path, s->path_id);
	if (s->reserve_fd >= 0)
		close(s->reserve_fd);
	free(s->path);
	free(s->uids);
	free(s->scratch);
	free(s);
	return NULL;
}

static UidCount *uid_count(Server *s, uid_t uid, bool create)
{
	for (size_t i = 0; i < s->n_uids; i++)
		if (s->uids[i].uid == uid)
			return &s->uids[i];
	if (!create)
		return NULL;
	UidCount *p = realloc(s->uids, (s->n_uids + 1) * sizeof(*p));
	if (!p)
		return NULL;
	s->uids = p;
	p[s->n_uids] = (UidCount){ .uid = uid };
	return &p[s->n_uids++];
}

/* Refuse politely: one error line, best effort, then close. */
static void refuse(int fd, const char *message)
{
	RpcError e;
	_cleanup_json_ json_object *reply = NULL;
	const char *text;
	size_t len;

	rpc_error(&e, RPC_BUSY, "%s", message);
	reply = rpc_make_error(NULL, &e);
	text = rpc_serialize(reply, &len);
	(void)!send(fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)!send(fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static void server_pause_accept(Server *s, bool pause)
{
	if (s->accept_paused == pause)
		return;
	s->accept_paused = pause;
	(void)sd_event_source_set_enabled(s->listen_source, pause ? SD_EVENT_OFF : SD_EVENT_ON);
	(void)sd_event_source_set_enabled(s->daughter_source, pause ? SD_EVENT_OFF : SD_EVENT_ON);
}

static int server_accept(sd_event_source *es, int lfd, uint32_t revents, void *userdata)
{
	Server *s = userdata;
	const Policy *p = s->manager->policy;

	/* A bounded batch per wake-up keeps accepting fair to established clients. */
	for (int i = 0; i < 64; i++) {
		Caller caller;
		UidCount *uc;
		Conn *c;
		int fd, r;

		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				/* Use the reserve fd to tell one client why, then wait
				 * for a connection to close before accepting again. */
				log_warning("out of file descriptors with %zu connections: pausing accept", s->n_conns);
				if (s->reserve_fd >= 0) {
					close(s->reserve_fd);
					s->reserve_fd = -1;
					fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (fd >= 0)
						refuse(fd, "too many connections (the daemon is out of file descriptors)");
					s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
				}
				server_pause_accept(s, true);
			} else if (errno != EAGAIN)
				log_warning_errno(errno, "accept() failed: %m");
			break;
		}

		r = caller_from_socket(fd, &caller);
		if (r < 0) {
			log_warning_errno(r, "cannot read peer credentials: %m");
			close(fd);
			continue;
		}
		/* Admins (root, admin_group) may go past both caps by a few
		 * slots, so that status and cancel get through a flood; the
		 * others leave those slots free within the fd budget too. */
		char why[160];
		bool admin = caller_is_admin(&caller, p);
		uint64_t reserve = p->limits.admin_reserved_connections;
		uint64_t cap = admin ? MIN(p->limits.max_connections + reserve, s->max_fds)
				     : MIN(p->limits.max_connections, s->max_fds > reserve ? s->max_fds - reserve : 0);
		if (s->n_conns >= cap) {
			snprintf(why, sizeof(why),
				 "too many connections (limit %" PRIu64 ", policy limits.max_connections%s)", cap,
				 admin ? " + admin_reserved_connections" : "");
			refuse(fd, why);
			caller_done(&caller);
			continue;
		}
		uc = uid_count(s, caller.uid, true);
		if (!uc || uc->n >= p->limits.max_connections_per_uid + (admin ? reserve : 0)) {
			snprintf(why, sizeof(why),
				 "too many connections from uid %u (limit %" PRIu64 ", policy limits.max_connections_per_uid)",
				 (unsigned)caller.uid, p->limits.max_connections_per_uid);
			refuse(fd, why);
			caller_done(&caller);
			continue;
		}

		r = conn_new(s, fd, &caller, &c);
		if (r < 0) {
			log_warning_errno(r, "cannot set up a connection: %m");
			caller_done(&caller);
			close(fd);
			continue;
		}
		c->daughter_only = lfd == s->daughter_fd;
		c->admin = admin;
		uc->n++;
		LIST_PREPEND(conns, s->conns, c);
		s->n_conns++;
	}
	return 0;
}

void server_account_pending(Server *s, Conn *c, size_t pending)
{
	uint64_t budget = s->manager->policy->limits.max_pending_line_bytes;

	bool grew = pending > c->pending_accounted;

	s->pending_bytes = s->pending_bytes - c->pending_accounted + pending;
	c->pending_accounted = pending;
	/* Only on growth, i.e. after a read: a connection closing or a line
	 * being handled (whose buffer must stay) never triggers a cut. Rare,
	 * so a scan is fine: the largest holder goes first, as the one most
	 * likely to be the attack and the one that frees the most. */
	while (grew && s->pending_bytes > budget) {
		Conn *i, *worst = NULL;
		for (i = s->conns; i; i = i->conns_next)
			if (!i->dead && (!worst || i->pending_accounted > worst->pending_accounted))
				worst = i;
		if (!worst || worst->pending_accounted == 0)
			break;
		conn_cut_pending(worst, budget);
	}
}

void server_mark_dirty(Server *s, Conn *c)
{
	if (c->in_dirty)
		return;
	LIST_PREPEND(dirty, s->dirty, c);
	c->in_dirty = true;
}

void server_conn_closed(Server *s, Conn *c)
{
	UidCount *uc = uid_count(s, c->caller.uid, false);

	if (uc && uc->n > 0)
		uc->n--;
	if (c->in_dirty) {
		LIST_REMOVE(dirty, s->dirty, c);
		c->in_dirty = false;
	}
	if (c->in_held) {
		LIST_REMOVE(held, s->held, c);
		c->in_held = false;
	}
	LIST_REMOVE(conns, s->conns, c);
	s->n_conns--;
	LIST_PREPEND(conns, s->dead, c);
	server_pause_accept(s, false);
}

void server_flush(Server *s)
{
	Conn *c, *n;

	LIST_FOREACH_SAFE(dirty, c, n, s->dirty) {
		LIST_REMOVE(dirty, s->dirty, c);
		c->in_dirty = c->reply_queued = false;
		conn_release_and_flush(c);
	}
}

void server_hold(Server *s, uint64_t ticket)
{
	Conn *c, *n;

	LIST_FOREACH_SAFE(dirty, c, n, s->dirty) {
		LIST_REMOVE(dirty, s->dirty, c);
		c->in_dirty = c->reply_queued = false;
		conn_hold(c, ticket);
		if (c->n_holds > 0 && !c->in_held) {
			LIST_PREPEND(held, s->held, c);
			c->in_held = true;
		}
	}
}

void server_release_synced(Server *s, uint64_t done)
{
	Conn *c, *n;

	LIST_FOREACH_SAFE(held, c, n, s->held) {
		if (conn_release_synced(c, done))
			continue;
		/* conn_release_synced() may have closed c, which unlinks it. */
		if (c->in_held) {
			LIST_REMOVE(held, s->held, c);
			c->in_held = false;
		}
	}
}

void server_drop_unreleased(Server *s, bool held)
{
	Manager *m = s->manager;
	Conn *c, *n;
	RpcError err;

	/* Never a reply for rows that may not exist: an error that says the
	 * outcome is unknown instead (vx11-protocol(7)), and the connection stays. */
	if (m->withdrawn_outage)
		rpc_error_named(&err, RPC_INTERNAL, "vx11.StoreUnavailable",
				"%.400s, before this was committed; the outcome is unknown: retry with the same "
				"idempotency_key", m->withdrawn_why);
	else
		rpc_error_named(&err, RPC_INTERNAL, "vx11.Internal",
				"the store could not commit this (%.400s); the outcome is unknown: retry with the same "
				"idempotency_key", m->withdrawn_why);
	LIST_FOREACH_SAFE(dirty, c, n, s->dirty)
		conn_withdraw(c, false, &err);
	if (held)
		LIST_FOREACH_SAFE(held, c, n, s->held) {
			conn_withdraw(c, true, &err);
			/* Nothing of it waits for a sync any more: the errors go now. */
			if (c->in_held) {
				LIST_REMOVE(held, s->held, c);
				c->in_held = false;
			}
			conn_release_and_flush(c);
		}
}

void server_gc(Server *s)
{
	Conn *c, *n;

	LIST_FOREACH_SAFE(conns, c, n, s->dead) {
		LIST_REMOVE(conns, s->dead, c);
		conn_free(c);
	}
}
