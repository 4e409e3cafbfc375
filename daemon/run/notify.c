/* SPDX-License-Identifier: MIT */
/*
 * The daughters' notify socket: one datagram socket for all of them
 * (NOTIFY_SOCKET), so sd_notify(3) and systemd-notify work unchanged:
 * WATCHDOG=1 is a heartbeat, STATUS= is kept on the attempt.
 *
 * One socket, not one per daughter: a daughter then costs the loop no
 * socket, bind, chmod, epoll registration, close and unlink of its own.
 * Anyone may send to it (the file is 0666: sendto needs write access, and
 * the daemon needs no CAP_CHOWN to hand it to each daughter's uid), so a
 * message counts only for the daughter the kernel says sent it
 * (SO_PASSCRED): the running daughter with the sender's uid, which is
 * unique for dynamic users. Where a task type names a fixed user, several
 * daughters may share a uid; the sender's cgroup (/proc/PID/cgroup) then
 * tells which job it belongs to. A sender that no longer exists by then
 * cannot be placed and its message is dropped, as it would be had it come
 * a moment later.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "runner-internal.h"
#include "util.h"

/* Messages read per wake-up, so that one noisy daughter cannot hold the loop. */
#define NOTIFY_BATCH 16

/* Does the cgroup file text (one "ID:CONTROLLERS:/PATH" per line) put the
 * process in a cgroup named name? */
static bool in_cgroup_named(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *line = text; *line;) {
		const char *end = strchrnul(line, '\n');
		if ((size_t)(end - line) > n && end[-(ptrdiff_t)n - 1] == '/' && memcmp(end - n, name, n) == 0)
			return true;
		line = *end ? end + 1 : end;
	}
	return false;
}

static Hija *sender_hija(Runner *r, const struct ucred *cred)
{
	Hija *h, *found = NULL;
	unsigned n = 0;
	char path[64], text[4096];
	FILE *f;
	size_t len;

	for (h = r->hijas; h; h = h->hijas_next)
		if (h->uid == cred->uid && !h->finished) {
			found = h;
			n++;
		}
	if (n <= 1)
		return found;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)cred->pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	for (h = r->hijas; h; h = h->hijas_next)
		if (h->uid == cred->uid && !h->finished && h->cgroup && in_cgroup_named(text, cgroup_name(h->cgroup)))
			return h;
	return NULL;
}

/* Returns what the line asks: 1 heartbeat, 2 a new status (kept in h). */
static int notify_line(Hija *h, const char *line, size_t len)
{
	if (len == 10 && memcmp(line, "WATCHDOG=1", 10) == 0)
		return 1;
	if (len >= 7 && memcmp(line, "STATUS=", 7) == 0) {
		char *text = strndup(line + 7, MIN(len - 7, (size_t)1024));
		if (!text)
			return 0;
		utf8_scrub(text);
		free(h->a.status_text);
		h->a.status_text = text;
		return 2;
	}
	/* READY=1, STOPPING=1, EXTEND_TIMEOUT_USEC=...: nothing to do. */
	return 0;
}

static int on_notify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	Runner *r = userdata;
	struct {
		Hija *h;
		int seen;
	} got[NOTIFY_BATCH];
	unsigned n_got = 0;
	char buf[4096];

	for (int k = 0; k < NOTIFY_BATCH; k++) {
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(struct ucred))];
		} control = {};
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
				     .msg_controllen = sizeof(control) };
		struct cmsghdr *c;
		const struct ucred *cred = NULL;
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
		Hija *h;
		int seen = 0;
		unsigned i;

		if (n < 0)
			break;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
			    c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
				cred = (const struct ucred *)(void *)CMSG_DATA(c);
			else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
				for (int *f = (int *)(void *)CMSG_DATA(c);
				     (char *)f < (char *)c + c->cmsg_len; f++)
					safe_close(*f); /* no fd is kept by mistake */
		if (!cred || !(h = sender_hija(r, cred)))
			continue;
		size_t len = MIN((size_t)n, sizeof buf);
		for (size_t p = 0; p < len;) {
			const char *nl = memchr(buf + p, '\n', len - p);
			size_t e = nl ? (size_t)(nl - buf) : len;
			seen |= notify_line(h, buf + p, e - p);
			p = e + 1;
		}
		for (i = 0; i < n_got && got[i].h != h; i++)
			;
		if (i == n_got)
			got[n_got++] = (typeof(got[0])){ h, 0 };
		got[i].seen |= seen;
	}
	/* However many messages a daughter sent, one write and one heartbeat
	 * per wake-up. */
	for (unsigned i = 0; i < n_got; i++) {
		if (got[i].seen & 2)
			(void)hija_attempt_save(got[i].h);
		if (got[i].seen & 1)
			hija_heartbeat(got[i].h);
	}
	return 0;
}

int notify_open(Runner *r)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	int k;

	if (asprintf(&r->notify_path, "%s/notify", r->notify_dir) < 0) {
		r->notify_path = NULL;
		return -ENOMEM;
	}
	if (strlen(r->notify_path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, r->notify_path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	(void)unlink(r->notify_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int)) < 0 ||
	    chmod(r->notify_path, 0666) < 0)
		return -errno;
	/* Room for many daughters' messages between two wake-ups. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &(int){ 1 << 20 }, sizeof(int));
	k = sd_event_add_io(r->env.event, &r->notify_source, fd, EPOLLIN, on_notify, r);
	if (k < 0)
		return k;
	r->notify_fd = TAKE_FD(fd);
	return 0;
}

void notify_close(Runner *r)
{
	r->notify_source = sd_event_source_disable_unref(r->notify_source);
	r->notify_fd = safe_close(r->notify_fd);
	if (r->notify_path)
		(void)unlink(r->notify_path);
	free(r->notify_path);
	r->notify_path = NULL;
}
