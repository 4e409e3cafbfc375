/* SPDX-License-Identifier: MIT */
/*
 * The load generator. The echo floor and vx11d are driven by this same code,
 * so whatever the client costs is in both columns of a comparison.
 *
 * One at a time (window 1, one connection): a blocking write of one request,
 * then blocking reads until its reply line is complete; two syscalls per
 * round trip, as lean as a client gets.
 *
 * Pipelined: one thread, one poll() loop over all connections (on a 2-CPU
 * machine, client threads would only take CPU from the server being
 * measured). Each connection keeps up to `window` requests outstanding: when
 * everything queued has been written, it tops the window up with one batch,
 * so requests leave in large writes and replies are read in large reads.
 * Send times are kept in a ring indexed by sequence number modulo the window
 * (replies come back in request order); a batch shares one timestamp, and so
 * do all replies taken from one read, which is exact enough at µs resolution
 * and keeps clock reads out of the per-request path.
 *
 * The server's CPU time is read around each run from /proc/PID/task/<tid>/schedstat
 * (ns, every thread) of the peer the first connection reaches (SO_PEERCRED):
 * CPU per request is much less disturbed by other work on the machine than
 * wall-clock rates are, so it shows whether a slower run did more work.
 *
 * Every reply is checked: its "id" must be the next one expected on that
 * connection and it must contain the Load's `expect` text. Anything else, and
 * every request that never got a reply, is counted as an error.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <json-c/json.h>

#include "bench.h"
#include "frame.h"

#define READ_SIZE   (256 * 1024)
#define MAX_LINE    (1024 * 1024)
#define REQUEST_MAX 1024

typedef struct Stream {
	int fd;
	LineBuf in;
	uint64_t target;   /* requests to send on this connection */
	uint64_t sent;     /* requests queued for writing so far; ids are 1..sent */
	uint64_t received; /* replies seen, good or bad */
	char *out;         /* requests not yet written: out[out_sent..out_len) */
	size_t out_len, out_sent, out_cap;
	uint64_t *sent_at; /* send time (ns) of request seq, at seq % window */
	bool done;
} Stream;

typedef struct Run {
	const Load *load;
	Result *res;          /* this run's counts, added to the caller's Result at the end */
	uint64_t *latency_ns; /* one per reply when load->keep_latency */
	uint64_t n_latency;
} Run;

static socklen_t make_address(const char *address, struct sockaddr_un *sa)
{
	size_t len = strlen(address);

	*sa = (struct sockaddr_un){.sun_family = AF_UNIX};
	if (len >= sizeof(sa->sun_path))
		return 0;
	memcpy(sa->sun_path, address, len);
	if (address[0] == '@') /* abstract namespace: no file, nothing to clean up */
		sa->sun_path[0] = 0;
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (address[0] == '@' ? 0 : 1));
}

int bench_connect(const char *address, uint64_t timeout_usec, int *ret_fd)
{
	uint64_t deadline = now_monotonic_usec() + timeout_usec;
	struct sockaddr_un sa;
	socklen_t salen = make_address(address, &sa);

	if (salen == 0)
		return -ENAMETOOLONG;
	for (;;) {
		_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, salen) == 0) {
			*ret_fd = TAKE_FD(fd);
			return 0;
		}
		/* Not listening yet (the daemon is still opening its store): retry. */
		if ((errno != ENOENT && errno != ECONNREFUSED) || now_monotonic_usec() >= deadline)
			return -errno;
		usleep(20 * 1000);
	}
}

static pid_t peer_pid(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ? -1 : cred.pid;
}

static int format_request(char *buf, size_t size, uint64_t id, const Load *l)
{
	return snprintf(buf, size, "{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64 ",\"method\":\"%s\"%s%s}\n", id,
	                l->method ? l->method : "intent.submit", l->params ? ",\"params\":" : "",
	                l->params ? l->params : "");
}

static void note_error(Run *run, const char *what, const char *line)
{
	const char *p;

	run->res->errors++;
	if (run->res->first_error[0])
		return;
	/* Show the part that says what went wrong, not the envelope's start. */
	p = strstr(line, "\"error\":{");
	if (!p)
		p = strstr(line, "\"status\":");
	snprintf(run->res->first_error, sizeof(run->res->first_error), "%s: %.120s", what, p ? p : line);
}

/* Check one reply line; returns true if it is the expected answer to request `id`. */
static bool check_reply(Run *run, const char *line, uint64_t id)
{
	const char *p = strstr(line, "\"id\":");
	unsigned long long got;
	char *end;

	if (!p) {
		note_error(run, "reply without an id", line);
		return false;
	}
	errno = 0;
	got = strtoull(p + 5, &end, 10);
	if (end == p + 5 || errno != 0 || got != id) {
		note_error(run, "reply out of order", line);
		return false;
	}
	if (!strstr(line, run->load->expect)) {
		note_error(run, "unexpected reply", line);
		return false;
	}
	return true;
}

static void record(Run *run, uint64_t latency_ns)
{
	if (run->latency_ns)
		run->latency_ns[run->n_latency++] = latency_ns;
}

static void stream_fail(Run *run, Stream *s, const char *why)
{
	uint64_t missing = s->target - s->received;

	if (missing > 0) {
		run->res->errors += missing - 1;
		note_error(run, why, "");
	}
	s->received = s->target;
	s->done = true;
}

/* Queue the next batch of requests if everything before it has been written. */
static int stream_fill(Run *run, Stream *s, uint64_t now)
{
	const Load *l = run->load;
	uint64_t room, n;

	if (s->out_sent < s->out_len || s->sent >= s->target)
		return 0;
	room = l->window - (s->sent - s->received);
	n = MIN(room, s->target - s->sent);
	if (n == 0)
		return 0;

	s->out_len = s->out_sent = 0;
	for (uint64_t i = 0; i < n; i++) {
		if (s->out_cap - s->out_len < REQUEST_MAX) {
			size_t cap = MAX(s->out_cap * 2, (size_t)64 * 1024);
			char *p = realloc(s->out, cap);
			if (!p)
				return -ENOMEM;
			s->out = p;
			s->out_cap = cap;
		}
		int k = format_request(s->out + s->out_len, REQUEST_MAX, ++s->sent, l);
		if (k < 0 || k >= REQUEST_MAX)
			return -EINVAL;
		s->out_len += (size_t)k;
		s->sent_at[s->sent % l->window] = now;
	}
	return 0;
}

static void stream_write(Run *run, Stream *s)
{
	while (s->out_sent < s->out_len) {
		ssize_t k =
		    send(s->fd, s->out + s->out_sent, s->out_len - s->out_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				stream_fail(run, s, "connection lost while sending");
			return;
		}
		s->out_sent += (size_t)k;
	}
}

/* Read once and check every complete reply. */
static void stream_read(Run *run, Stream *s)
{
	ssize_t k = linebuf_read(&s->in, s->fd, READ_SIZE);
	uint64_t now;
	char *line;
	size_t len;
	int r;

	if (k == -EAGAIN || k == -EINTR)
		return;
	if (k <= 0) {
		stream_fail(run, s, k == 0 ? "connection closed by the server" : "read failed");
		return;
	}
	now = bench_now_ns();
	while ((r = linebuf_next(&s->in, &line, &len)) > 0) {
		if (s->received >= s->sent) {
			note_error(run, "reply to nothing", line);
			continue;
		}
		s->received++;
		if (check_reply(run, line, s->received)) {
			run->res->replies++;
			record(run, now - s->sent_at[s->received % run->load->window]);
		}
	}
	if (r < 0)
		stream_fail(run, s, "reply line too long");
	else if (s->received == s->target)
		s->done = true;
}

/* One request, one reply, blocking. */
static int run_roundtrips(Run *run, Stream *s)
{
	const Load *l = run->load;
	uint64_t start = bench_now_ns(), cap = (uint64_t)(l->max_seconds * 1e9);
	char req[REQUEST_MAX];

	if (fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) & ~O_NONBLOCK) < 0)
		return -errno;
	while (s->received < s->target) {
		int k = format_request(req, sizeof(req), ++s->sent, l);
		uint64_t t0;
		char *line;
		size_t len;
		int r;

		if (k < 0 || k >= (int)sizeof(req))
			return -EINVAL;
		t0 = bench_now_ns();
		/* A slow disk must not stretch the whole bench: stop at the time cap. */
		if (cap > 0 && t0 - start > cap && s->received > 0) {
			s->sent--;
			s->target = s->received;
			break;
		}
		if (send(s->fd, req, (size_t)k, MSG_NOSIGNAL) != k) {
			stream_fail(run, s, "connection lost while sending");
			return 0;
		}
		while ((r = linebuf_next(&s->in, &line, &len)) == 0) {
			ssize_t n = linebuf_read(&s->in, s->fd, READ_SIZE);
			if (n == -EINTR)
				continue;
			if (n <= 0) {
				stream_fail(run, s,
				            n == 0 ? "connection closed by the server" : "read failed");
				return 0;
			}
		}
		if (r < 0) {
			stream_fail(run, s, "reply line too long");
			return 0;
		}
		s->received++;
		if (check_reply(run, line, s->received)) {
			run->res->replies++;
			record(run, bench_now_ns() - t0);
		}
	}
	return 0;
}

static int run_pipelined(Run *run, Stream *streams, unsigned n)
{
	_cleanup_free_ struct pollfd *pfd = calloc(n, sizeof(*pfd));
	unsigned active = n;

	if (!pfd)
		return -ENOMEM;
	while (active > 0) {
		uint64_t now = bench_now_ns();
		unsigned np = 0;

		for (unsigned i = 0; i < n; i++) {
			Stream *s = &streams[i];
			if (s->done)
				continue;
			if (stream_fill(run, s, now) < 0)
				return -ENOMEM;
			stream_write(run, s);
			if (s->done)
				continue;
			pfd[np++] = (struct pollfd){
			    .fd = s->fd,
			    .events = (short)(POLLIN | (s->out_sent < s->out_len ? POLLOUT : 0)),
			};
		}
		if (np == 0)
			break;
		if (poll(pfd, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		active = 0;
		for (unsigned i = 0, j = 0; i < n; i++) {
			Stream *s = &streams[i];
			if (s->done)
				continue;
			/* pfd[] lists the streams that were not done before poll(), in order. */
			while (j < np && pfd[j].fd != s->fd)
				j++;
			if (j < np && (pfd[j].revents & POLLOUT))
				stream_write(run, s);
			if (!s->done && j < np && (pfd[j].revents & (POLLIN | POLLHUP | POLLERR)))
				stream_read(run, s);
			if (!s->done)
				active++;
		}
	}
	return 0;
}

static int result_add(Result *acc, const Result *run, const uint64_t *latency_ns, uint64_t n)
{
	if (n > acc->latency_cap - acc->n_latency) {
		uint64_t cap = MAX(acc->latency_cap * 2, acc->n_latency + n);
		uint64_t *p = realloc(acc->latency_ns, cap * sizeof(uint64_t));
		if (!p)
			return -ENOMEM;
		acc->latency_ns = p;
		acc->latency_cap = cap;
	}
	if (n > 0)
		memcpy(acc->latency_ns + acc->n_latency, latency_ns, n * sizeof(uint64_t));
	acc->n_latency += n;
	acc->requests += run->requests;
	acc->replies += run->replies;
	acc->errors += run->errors;
	acc->seconds += run->seconds;
	acc->server_cpu_ns += run->server_cpu_ns;
	acc->server_cpu_unknown = acc->server_cpu_unknown || run->server_cpu_unknown;
	if (!acc->first_error[0])
		memcpy(acc->first_error, run->first_error, sizeof(acc->first_error));
	return 0;
}

void result_finish(Result *r)
{
	r->rate = r->seconds > 0 ? (double)r->replies / r->seconds : 0;
	r->server_cpu_us = r->server_cpu_unknown || r->requests == 0
	                       ? -1
	                       : (double)r->server_cpu_ns / 1000.0 / (double)r->requests;
	r->p50_us = r->p99_us = 0;
	if (r->n_latency > 0) {
		bench_sort_u64(r->latency_ns, r->n_latency);
		r->p50_us = bench_percentile(r->latency_ns, r->n_latency, 0.50) / 1000.0;
		r->p99_us = bench_percentile(r->latency_ns, r->n_latency, 0.99) / 1000.0;
	}
	free(r->latency_ns);
	r->latency_ns = NULL;
	r->n_latency = r->latency_cap = 0;
}

int bench_run(const Load *l, Result *acc)
{
	Result res = {};
	Run run = {.load = l, .res = &res};
	Stream *streams;
	uint64_t t0, cpu0 = 0, cpu1 = 0;
	pid_t server = -1;
	bool have_cpu = false;
	int r = 0;

	if (l->conns == 0 || l->window == 0 || l->total < l->conns)
		return -EINVAL;
	streams = calloc(l->conns, sizeof(*streams));
	if (!streams)
		return -ENOMEM;
	if (l->keep_latency) {
		run.latency_ns = malloc(l->total * sizeof(uint64_t));
		if (!run.latency_ns) {
			free(streams);
			return -ENOMEM;
		}
	}

	/* Connections are made before the clock starts. */
	for (unsigned i = 0; i < l->conns; i++) {
		Stream *s = &streams[i];
		s->fd = -1;
		linebuf_init(&s->in, MAX_LINE);
		s->target = l->total / l->conns + (i < l->total % l->conns);
		s->sent_at = calloc(l->window, sizeof(uint64_t));
		if (!s->sent_at) {
			r = -ENOMEM;
			goto finish;
		}
		r = bench_connect(l->socket, 10 * USEC_PER_SEC, &s->fd);
		if (r < 0)
			goto finish;
		if (fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK) < 0) {
			r = -errno;
			goto finish;
		}
	}

	server = peer_pid(streams[0].fd);
	have_cpu = server > 0 && bench_proc_cpu_ns(server, &cpu0) >= 0;
	t0 = bench_now_ns();
	if (l->window == 1 && l->conns == 1)
		r = run_roundtrips(&run, &streams[0]);
	else
		r = run_pipelined(&run, streams, l->conns);
	res.seconds = (double)(bench_now_ns() - t0) / 1e9;
	if (r < 0)
		goto finish;

	for (unsigned i = 0; i < l->conns; i++)
		res.requests += streams[i].sent;
	if (have_cpu && bench_proc_cpu_ns(server, &cpu1) >= 0)
		res.server_cpu_ns = cpu1 - cpu0;
	else
		res.server_cpu_unknown = true;
	r = result_add(acc, &res, run.latency_ns, run.n_latency);
finish:
	for (unsigned i = 0; i < l->conns; i++) {
		if (streams[i].fd >= 0)
			close(streams[i].fd);
		linebuf_done(&streams[i].in);
		free(streams[i].out);
		free(streams[i].sent_at);
	}
	free(streams);
	free(run.latency_ns);
	return r;
}

int bench_wait_idle(const char *address, uint64_t timeout_usec)
{
	uint64_t deadline = now_monotonic_usec() + timeout_usec, before, after;
	_cleanup_close_ int fd = -1;
	pid_t pid;
	int r;

	r = bench_connect(address, timeout_usec, &fd);
	if (r < 0)
		return r;
	pid = peer_pid(fd);
	close(TAKE_FD(fd));
	if (pid <= 0)
		return -ESRCH;
	r = bench_proc_cpu_ns(pid, &before);
	while (r >= 0) {
		usleep(100 * 1000);
		r = bench_proc_cpu_ns(pid, &after);
		if (r < 0)
			break;
		if (after - before < 2 * 1000 * 1000)
			return 0;
		if (now_monotonic_usec() >= deadline)
			return -ETIME;
		before = after;
	}
	return r;
}

/* A method's result (a new reference), read on a connection of its own. */
static int bench_call(const char *address, const char *method, json_object **ret_result)
{
	char req[128];
	_cleanup_close_ int fd = -1;
	json_object *reply, *result;
	LineBuf in;
	char *line;
	size_t len;
	int r;

	r = bench_connect(address, 10 * USEC_PER_SEC, &fd);
	if (r < 0)
		return r;
	len = (size_t)snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"}\n", method);
	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		return -EIO;
	linebuf_init(&in, MAX_LINE);
	while ((r = linebuf_next(&in, &line, &len)) == 0) {
		ssize_t n = linebuf_read(&in, fd, READ_SIZE);
		if (n <= 0 && n != -EINTR) {
			linebuf_done(&in);
			return n == 0 ? -ECONNRESET : (int)n;
		}
	}
	reply = r > 0 ? json_tokener_parse(line) : NULL;
	linebuf_done(&in);
	if (!reply)
		return -EBADMSG;
	r = -EBADMSG;
	if (json_object_object_get_ex(reply, "result", &result) && json_object_is_type(result, json_type_object)) {
		*ret_result = json_object_get(result);
		r = 0;
	}
	json_object_put(reply);
	return r;
}

int bench_task_count(const char *address, uint64_t *ret_count)
{
	json_object *result = NULL, *counts;
	uint64_t total = 0;
	int r;

	r = bench_call(address, "daemon.status", &result);
	if (r < 0)
		return r;
	r = -EBADMSG;
	if (json_object_object_get_ex(result, "counts", &counts) && json_object_is_type(counts, json_type_object)) {
		json_object_object_foreach(counts, key, value)
		{
			(void)key;
			total += (uint64_t)json_object_get_int64(value);
		}
		*ret_count = total;
		r = 0;
	}
	json_object_put(result);
	return r;
}

int bench_store_counts(const char *address, StoreCounts *ret)
{
	json_object *result = NULL, *store, *v;
	int r;

	r = bench_call(address, "daemon.status", &result);
	if (r < 0)
		return r;
	r = -EBADMSG;
	if (json_object_object_get_ex(result, "store", &store) && json_object_is_type(store, json_type_object)) {
		*ret = (StoreCounts){ 0 };
		if (json_object_object_get_ex(store, "commits", &v))
			ret->commits = (uint64_t)json_object_get_int64(v);
		if (json_object_object_get_ex(store, "durable_commits", &v))
			ret->durable_commits = (uint64_t)json_object_get_int64(v);
		if (json_object_object_get_ex(store, "rows_written", &v))
			ret->rows_written = (uint64_t)json_object_get_int64(v);
		if (json_object_object_get_ex(store, "btree_writes", &v))
			ret->btree_writes = (uint64_t)json_object_get_int64(v);
		if (json_object_object_get_ex(result, "spawner", &store)) {
			if (json_object_object_get_ex(store, "zygote_spawns", &v))
				ret->zygote_spawns = (uint64_t)json_object_get_int64(v);
			if (json_object_object_get_ex(store, "direct_spawns", &v))
				ret->direct_spawns = (uint64_t)json_object_get_int64(v);
		}
		r = 0;
	}
	json_object_put(result);
	/* The spawner thread's clone-to-exec time, from daemon.metrics' histogram. */
	if (r == 0 && bench_call(address, "daemon.metrics", &result) >= 0) {
		const char *text = json_object_object_get_ex(result, "text", &v) ? json_object_get_string(v) : NULL;
		const char *sum = text ? strstr(text, "\nvx11_spawn_latency_seconds_sum ") : NULL;
		const char *count = text ? strstr(text, "\nvx11_spawn_latency_seconds_count ") : NULL;

		if (sum)
			ret->spawn_seconds = strtod(strchr(sum + 1, ' ') + 1, NULL);
		if (count)
			ret->spawns = strtoull(strchr(count + 1, ' ') + 1, NULL, 10);
		json_object_put(result);
	}
	return r;
}
