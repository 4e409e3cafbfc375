/* SPDX-License-Identifier: MIT */
/*
 * The floor: what a Unix-socket line server costs when it does no work. It is
 * shaped like vx11d's I/O path on purpose (one thread, epoll, non-blocking
 * sockets, the same LineBuf framing, reads of up to 64 KiB with a per-wake
 * budget, replies buffered and written once per wake), so that the
 * difference between the two is the daemon's own work: JSON, SQLite, fsync
 * and logging. Each complete line is sent back as it came.
 *
 * With a sync file it is the durable floor instead: the lines read in one
 * wake-up are appended to the file (wrapping at 16 MiB, as a WAL is reused)
 * and fdatasync()ed once before any of their replies is written; that is a
 * group commit of the smallest possible record, what the QUEUED path cannot
 * beat on the same disk.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "bench.h"
#include "frame.h"

#define READ_SLICE     (64 * 1024)
#define READ_BUDGET    (256 * 1024)
#define OUT_HIGH_WATER (256 * 1024)
#define MAX_LINE       (1024 * 1024)
#define SYNC_WRAP      (16 * 1024 * 1024)

typedef struct EchoConn {
	int fd;
	LineBuf in;
	char *out;
	size_t out_len, out_sent, out_cap;
	uint32_t armed;  /* the epoll events asked for now */
	size_t unsynced; /* out[out_len - unsynced, out_len) is not in the sync file yet */
	bool dirty;      /* in the list of this wake-up's connections with new replies */
} EchoConn;

typedef struct Echo {
	int ep, lfd;
	int sync_fd; /* -1: plain echo */
	off_t sync_off;
	EchoConn **dirty;
	size_t n_dirty, dirty_cap;
} Echo;

static void echo_conn_free(EchoConn *c)
{
	close(c->fd);
	linebuf_done(&c->in);
	free(c->out);
	free(c);
}

static int echo_append(EchoConn *c, const char *line, size_t len)
{
	if (c->out_cap - c->out_len < len + 1 && c->out_sent > 0) {
		/* Reclaim what was sent before growing (unsynced counts from the end). */
		memmove(c->out, c->out + c->out_sent, c->out_len - c->out_sent);
		c->out_len -= c->out_sent;
		c->out_sent = 0;
	}
	if (c->out_cap - c->out_len < len + 1) {
		size_t cap = MAX(c->out_cap * 2, c->out_len + len + 1 + 4096);
		char *p = realloc(c->out, cap);
		if (!p)
			return -ENOMEM;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, line, len);
	c->out[c->out_len + len] = '\n';
	c->out_len += len + 1;
	c->unsynced += len + 1;
	return 0;
}

/* Write what is buffered, then re-arm: returns < 0 when the connection is done. */
static int echo_flush(int ep, EchoConn *c)
{
	struct epoll_event ev = {.data.ptr = c};

	while (c->out_sent < c->out_len) {
		ssize_t k =
		    send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -errno;
		}
		c->out_sent += (size_t)k;
	}
	if (c->out_sent == c->out_len)
		c->out_sent = c->out_len = 0;

	/* Backpressure like the daemon's: stop reading a client that does not read. */
	ev.events = (c->out_len - c->out_sent < OUT_HIGH_WATER ? EPOLLIN : 0) |
	            (c->out_sent < c->out_len ? EPOLLOUT : 0);
	if (ev.events != c->armed) {
		if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
			return -errno;
		c->armed = ev.events;
	}
	return 0;
}

/* Read up to the budget and echo every complete line; < 0: close the connection. */
static int echo_read(EchoConn *c)
{
	size_t budget = READ_BUDGET;

	while (budget > 0) {
		ssize_t n = linebuf_read(&c->in, c->fd, READ_SLICE);
		char *line;
		size_t len;
		int r;

		if (n == -EAGAIN)
			return 0;
		if (n == -EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -ECONNRESET : (int)n;
		while ((r = linebuf_next(&c->in, &line, &len)) > 0)
			if (echo_append(c, line, len) < 0)
				return -ENOMEM;
		if (r < 0)
			return r;
		budget -= MIN(budget, (size_t)n);
	}
	return 0;
}

static void echo_accept(int ep, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		EchoConn *c;

		if (fd < 0)
			return;
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->armed = EPOLLIN;
		linebuf_init(&c->in, MAX_LINE);
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			echo_conn_free(c);
	}
}

static int echo_mark_dirty(Echo *e, EchoConn *c)
{
	if (c->dirty)
		return 0;
	if (e->n_dirty == e->dirty_cap) {
		size_t cap = MAX(e->dirty_cap * 2, (size_t)16);
		EchoConn **p = realloc(e->dirty, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		e->dirty = p;
		e->dirty_cap = cap;
	}
	e->dirty[e->n_dirty++] = c;
	c->dirty = true;
	return 0;
}

/* Append this wake-up's lines to the sync file and make them durable. */
static int echo_sync(Echo *e)
{
	bool wrote = false;

	for (size_t i = 0; i < e->n_dirty; i++) {
		EchoConn *c = e->dirty[i];
		const char *p = c->out + c->out_len - c->unsynced;

		while (c->unsynced > 0) {
			size_t n = MIN(c->unsynced, (size_t)(SYNC_WRAP - e->sync_off));
			ssize_t k = pwrite(e->sync_fd, p, n, e->sync_off);
			if (k < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			p += k;
			c->unsynced -= (size_t)k;
			e->sync_off = (e->sync_off + k) % SYNC_WRAP;
			wrote = true;
		}
	}
	return wrote && fdatasync(e->sync_fd) < 0 ? -errno : 0;
}

static _Noreturn void echo_serve(Echo *e)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, events[64];

	e->ep = epoll_create1(EPOLL_CLOEXEC);
	if (e->ep < 0 || epoll_ctl(e->ep, EPOLL_CTL_ADD, e->lfd, &ev) < 0)
		_exit(1);
	for (;;) {
		int n = epoll_wait(e->ep, events, (int)ELEMENTSOF(events), -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		for (int i = 0; i < n; i++) {
			EchoConn *c = events[i].data.ptr;
			int r = 0;

			if (!c) {
				echo_accept(e->ep, e->lfd);
				continue;
			}
			if ((c->armed & EPOLLIN) && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				r = echo_read(c);
			if (r >= 0 && c->unsynced > 0 && e->sync_fd >= 0)
				r = echo_mark_dirty(e, c);
			else if (r >= 0)
				r = echo_flush(e->ep, c);
			if (r < 0) {
				/* Replies already read stay owed to nobody: the peer is gone. */
				if (c->dirty)
					for (size_t j = 0; j < e->n_dirty; j++)
						if (e->dirty[j] == c) {
							e->dirty[j] = e->dirty[--e->n_dirty];
							break;
						}
				echo_conn_free(c); /* close() also removes it from the epoll set */
			}
		}
		if (e->n_dirty == 0)
			continue;
		if (echo_sync(e) < 0)
			_exit(1);
		for (size_t i = 0; i < e->n_dirty; i++) {
			EchoConn *c = e->dirty[i];
			c->dirty = false;
			if (echo_flush(e->ep, c) < 0)
				echo_conn_free(c);
		}
		e->n_dirty = 0;
	}
}

/*
 * Write the whole file once and sync it, so that the measured syncs
 * overwrite allocated blocks, as the daemon's reused WAL does; syncing
 * appends would also commit the file system's journal each time and make the
 * floor slower than what it is a floor for.
 */
static int sync_file_prepare(int fd)
{
	_cleanup_free_ char *zeros = calloc(1, 1024 * 1024);

	if (!zeros)
		return -ENOMEM;
	for (off_t off = 0; off < SYNC_WRAP;) {
		ssize_t k = pwrite(fd, zeros, 1024 * 1024, off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += k;
	}
	return fsync(fd) < 0 ? -errno : 0;
}

int echo_start(const char *name, const char *sync_path, pid_t *ret_pid)
{
	Echo e = {.lfd = -1, .sync_fd = -1};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(name);
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	_cleanup_close_ int fd = -1;
	pid_t pid;
	int r;

	if (name[0] != '@' || len >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path + 1, name + 1, len - 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, salen) < 0 || listen(fd, SOMAXCONN) < 0)
		return -errno;

	if (sync_path) {
		e.sync_fd = open(sync_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (e.sync_fd < 0)
			return -errno;
		/* Only the path's disk matters; the file goes when the server does. */
		(void)unlink(sync_path);
		r = sync_file_prepare(e.sync_fd);
		if (r < 0) {
			close(e.sync_fd);
			return r;
		}
	}
	e.lfd = fd;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		pid = -errno;
		if (e.sync_fd >= 0)
			close(e.sync_fd);
		return pid;
	}
	if (pid == 0) {
		/* Never outlive the bench, however it ends. */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(0);
		echo_serve(&e);
	}
	if (e.sync_fd >= 0)
		close(e.sync_fd);
	*ret_pid = pid;
	return 0;
}

void echo_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	(void)kill(pid, SIGTERM);
	(void)waitpid(pid, NULL, 0);
}
