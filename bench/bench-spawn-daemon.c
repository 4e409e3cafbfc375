/* SPDX-License-Identifier: MIT */
/*
 * Row 4 of bench-spawn: vx11d end to end, as a client sees it.
 *
 * A fresh daemon is started on a temporary state directory (on a real disk:
 * the store's fsyncs are part of the cost) with a policy holding one task,
 * "true", whose command is the static true of the other rows, confined as
 * the bundled policy confines "noop" (dynamic user, default seccomp filter,
 * no network, the same limits), and limits.max_running daughters at once.
 *
 * Two connections: one subscribed to events (events.subscribe), one that
 * writes every intent.submit request of a burst at once, pipelined. A
 * reply names its task; a task.status event names a task and its status.
 * Either can come first (the daemon may finish a daughter before we read
 * the reply that created it), so both go into one table keyed by task id,
 * and a task counts once its reply and its terminal event are both in.
 *
 * A warm-up burst runs first (pages, cgroups, the WAL), then the measured
 * burst: from the first byte written to the last "completed" event read,
 * with each task's latency from its request's write to its completed event,
 * and its run time from the daemon's own "running" and "completed"
 * timestamps. Nothing here waits forever: a burst ends with an error after
 * its timeout, or sooner when no event comes for a while (a daemon that does
 * not run daughters yet), and says how far it got.
 *
 * Database work per daughter is measured around the measured burst: the
 * daemon's CPU time (all threads, /proc/PID/task/TID/schedstat), the bytes it
 * dirtied for storage (/proc/PID/io write_bytes: WAL appends and checkpoints,
 * with the growth of its log file taken off), and afterwards the rows per
 * task in each table of the stopped daemon's database.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "bench.h"
#include "bench-spawn.h"
#include "frame.h"

#define MAX_LINE    (1024 * 1024)
#define READ_SIZE   (256 * 1024)
#define TASK_ID_MAX 64

const char *const daemon_bench_tables[4] = {"intents_log", "tasks", "daughters", "attempts"};

/* One task, known by its reply, its events, or both. */
typedef struct Entry {
	char id[TASK_ID_MAX]; /* "" = free slot */
	unsigned burst;       /* which burst's reply named it; 0: no reply yet */
	int terminal;         /* 0, 1 completed, -1 failed/expired/cancelled */
	uint64_t submit_ns;   /* when its request was written */
	uint64_t done_ns;     /* when its terminal event was read */
	uint64_t running_at;  /* daemon's timestamps, µs; 0: not seen */
	uint64_t completed_at;
} Entry;

typedef struct Client {
	DaemonBench *d;
	pid_t pid;    /* the daemon */
	int req, sub; /* request and event connections */
	LineBuf req_in, sub_in;
	Entry *map;
	size_t map_cap;   /* a power of two */
	uint64_t next_id; /* JSON-RPC ids on req */
	uint64_t last_event_ns;

	/* the burst under way */
	unsigned burst;
	uint64_t n, replied, done, failed, running, errors;
	uint64_t *sent_ns; /* per request of the burst */
	uint64_t t0, last_done_ns;
	char first_error[200];
	char first_failed[TASK_ID_MAX]; /* a task that ended otherwise than completed */
} Client;

static void json_putp(json_object **o)
{
	json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_putp)

static void set_error(DaemonBench *d, const char *fmt, ...) _printf_(2, 3);
static void set_error(DaemonBench *d, const char *fmt, ...)
{
	va_list ap;

	if (d->error[0])
		return;
	va_start(ap, fmt);
	(void)vsnprintf(d->error, sizeof(d->error), fmt, ap);
	va_end(ap);
}

/* ---- the daemon ------------------------------------------------------------------------------- */

static int write_policy(const DaemonBench *d, const char *path)
{
	FILE *f = fopen(path, "we");
	int r;

	if (!f)
		return -errno;
	fprintf(f,
	        "{\n"
	        "  \"mode\": \"solo_madre\",\n"
	        "  \"limits\": { \"max_running\": %u, \"max_queued\": 1000000 },\n"
	        "  \"tasks\": {\n"
	        "    \"true\": {\n"
	        "      \"command\": [\"%s\"],\n"
	        "      \"user\": \"dynamic\",\n"
	        "      \"limits\": { \"memory_max\": \"%s\", \"pids_max\": %d, \"nofile\": %d, \"fsize\": "
	        "\"%s\" },\n"
	        "      \"seccomp\": \"default\",\n"
	        "      \"network\": false,\n"
	        "      \"enforce\": \"strict\"\n"
	        "    }\n"
	        "  }\n"
	        "}\n",
	        d->max_running, d->true_path, BENCH_MEMORY_MAX, BENCH_PIDS_MAX, BENCH_NOFILE, BENCH_FSIZE);
	r = ferror(f) ? -EIO : 0;
	if (fclose(f) < 0 && r == 0)
		r = -errno;
	return r;
}

static int start_daemon(DaemonBench *d, pid_t *ret_pid)
{
	char sock[300], state[300], policy[300], log[300], cgroot[64];
	pid_t parent = getpid(), pid;
	int r;

	snprintf(sock, sizeof(sock), "%s/vx11.sock", d->dir);
	snprintf(state, sizeof(state), "%s/state", d->dir);
	snprintf(policy, sizeof(policy), "%s/policy.json", d->dir);
	snprintf(log, sizeof(log), "%s/vx11d.log", d->dir);
	/* Its own root: a daemon reaps whatever it finds in its root at start. */
	snprintf(cgroot, sizeof(cgroot), "vx11-bench-spawn-%d-vx11d", (int)parent);
	r = write_policy(d, policy);
	if (r < 0)
		return r;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		/* Whatever ends this bench (an alarm, ^C) ends the daemon too. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent || fd < 0 || null < 0)
			_exit(127);
		if (dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl(d->vx11d, d->vx11d, "--socket", sock, "--state-dir", state, "--policy", policy,
		      "--cgroup-root", cgroot, "--log-target", "stderr", d->no_zygote ? "--no-zygote" : NULL,
		      (char *)NULL);
		dprintf(2, "bench-spawn: cannot execute %s: %m\n", d->vx11d);
		_exit(127);
	}
	*ret_pid = pid;
	return 0;
}

/* SIGTERM, then up to 10 s for it to commit and go; then SIGKILL. 0 if it exited 0. */
static int stop_daemon(pid_t pid)
{
	int status = 0;

	if (pid <= 0)
		return 0;
	(void)kill(pid, SIGTERM);
	for (int i = 0; i < 1000; i++) {
		pid_t k = waitpid(pid, &status, WNOHANG);
		if (k == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
		if (k < 0)
			return -errno;
		usleep(10 * 1000);
	}
	(void)kill(pid, SIGKILL);
	(void)waitpid(pid, &status, 0);
	return -ETIMEDOUT;
}

/* The last lines of the daemon's log, for a report that says why. */
static void print_log_tail(const DaemonBench *d, unsigned lines)
{
	char path[300], buf[4096];
	size_t n;
	FILE *f;
	long size;
	unsigned seen = 0;
	char *p;

	snprintf(path, sizeof(path), "%s/vx11d.log", d->dir);
	f = fopen(path, "re");
	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, size > (long)sizeof(buf) - 1 ? size - (long)sizeof(buf) + 1 : 0, SEEK_SET);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	for (p = buf + n; p > buf; p--)
		if (p[-1] == '\n' && p != buf + n && ++seen > lines)
			break;
	fprintf(stderr, "  the end of %s:\n", path);
	for (char *line = strtok(p, "\n"); line; line = strtok(NULL, "\n"))
		fprintf(stderr, "    %.300s%s\n", line, strlen(line) > 300 ? "..." : "");
}

/* ---- what the daemon did, from /proc ---------------------------------------------------------- */

static int proc_write_bytes(pid_t pid, uint64_t *ret)
{
	char path[64], line[128];
	unsigned long long v;
	int r = -ENODATA;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/io", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "write_bytes: %llu", &v) == 1) {
			*ret = v;
			r = 0;
			break;
		}
	fclose(f);
	return r;
}

typedef struct Usage {
	uint64_t cpu_ns, write_bytes, log_bytes;
	bool cpu_ok, io_ok;
} Usage;

static void usage_read(const Client *c, Usage *u)
{
	char path[300];
	struct stat st;

	u->cpu_ok = bench_proc_cpu_ns(c->pid, &u->cpu_ns) >= 0;
	/* Its zygotes' work is the daemon's too (their clones; the daughters' own CPU is not in it). */
	u->cpu_ns += bench_children_cpu_ns(c->pid, "vx11d-zygote");
	u->io_ok = proc_write_bytes(c->pid, &u->write_bytes) >= 0;
	snprintf(path, sizeof(path), "%s/vx11d.log", c->d->dir);
	u->log_bytes = stat(path, &st) < 0 ? 0 : (uint64_t)st.st_size;
}

/* Rows per task in each table, from the stopped daemon's database. */
static void count_rows(DaemonBench *d, uint64_t tasks)
{
	char path[300];
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/state/vx11.db", d->dir);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return;
	}
	for (size_t i = 0; i < ELEMENTSOF(d->rows); i++) {
		char sql[64];
		sqlite3_stmt *st = NULL;

		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", daemon_bench_tables[i]);
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW && tasks > 0)
			d->rows[i] = (double)sqlite3_column_int64(st, 0) / (double)tasks;
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
}

/* ---- the client ------------------------------------------------------------------------------- */

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211u;
	return h;
}

/* The entry of task id, added if new; NULL if the id is unusable or the table full. */
static Entry *entry_get(Client *c, const char *id)
{
	size_t mask = c->map_cap - 1, i;

	if (strlen(id) >= TASK_ID_MAX || !id[0])
		return NULL;
	for (size_t probes = 0, i0 = (size_t)hash(id) & mask; probes < c->map_cap; probes++) {
		Entry *e;

		i = (i0 + probes) & mask;
		e = &c->map[i];
		if (!e->id[0]) {
			strcpy(e->id, id);
			return e;
		}
		if (streq(e->id, id))
			return e;
	}
	return NULL;
}

static void burst_error(Client *c, const char *what, const char *line)
{
	c->errors++;
	if (!c->first_error[0])
		snprintf(c->first_error, sizeof(c->first_error), "%s: %.150s", what, line);
}

/* A task of this burst with both its reply and its end: count it. */
static void entry_settle(Client *c, Entry *e)
{
	if (e->burst != c->burst || !e->terminal)
		return;
	if (e->terminal > 0) {
		c->done++;
		c->last_done_ns = MAX(c->last_done_ns, e->done_ns);
	} else if (c->failed++ == 0)
		snprintf(c->first_failed, sizeof(c->first_failed), "%s", e->id);
}

static const char *json_str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
	           ? json_object_get_string(v)
	           : NULL;
}

static void on_reply(Client *c, const char *line)
{
	_cleanup_json_ json_object *o = json_tokener_parse(line);
	json_object *result, *response, *id;
	uint64_t seq = c->replied + c->errors + 1; /* replies come in request order */
	const char *task_id;
	Entry *e;

	if (!o || !json_object_object_get_ex(o, "id", &id) ||
	    (uint64_t)json_object_get_int64(id) != c->next_id - c->n + seq) {
		burst_error(c, "reply out of order", line);
		return;
	}
	if (!json_object_object_get_ex(o, "result", &result) ||
	    !streq(json_str(result, "status"), "QUEUED") ||
	    !json_object_object_get_ex(result, "response", &response) ||
	    !(task_id = json_str(response, "task_id"))) {
		burst_error(c, "not QUEUED", line);
		return;
	}
	e = entry_get(c, task_id);
	if (!e) {
		burst_error(c, "unusable task_id", line);
		return;
	}
	c->replied++;
	e->burst = c->burst;
	e->submit_ns = c->sent_ns[seq - 1];
	entry_settle(c, e);
}

static void on_event(Client *c, const char *line, uint64_t now)
{
	_cleanup_json_ json_object *o = json_tokener_parse(line);
	json_object *params;
	const char *type, *task_id, *status, *at;
	uint64_t at_usec = 0;
	Entry *e;

	c->last_event_ns = now;
	if (!o || !json_object_object_get_ex(o, "params", &params))
		return; /* a reply (to events.subscribe) */
	type = json_str(params, "type");
	task_id = json_str(params, "task_id");
	status = json_str(params, "status");
	at = json_str(params, "at");
	if (!streq(type, "task.status") || !task_id || !status)
		return;
	e = entry_get(c, task_id);
	if (!e)
		return;
	if (at)
		(void)parse_timestamp(at, &at_usec);
	if (streq(status, "running")) {
		e->running_at = at_usec;
		if (e->burst == c->burst)
			c->running++;
		return;
	}
	if (e->terminal)
		return;
	if (streq(status, "completed")) {
		e->terminal = 1;
		e->completed_at = at_usec;
	} else if (streq(status, "failed") || streq(status, "expired") || streq(status, "cancelled"))
		e->terminal = -1;
	else
		return;
	e->done_ns = now;
	entry_settle(c, e);
}

/* Read what one connection has and take in every complete line: replies on req, events on sub. */
static int conn_read(Client *c, int fd, LineBuf *in, bool events)
{
	ssize_t k = linebuf_read(in, fd, READ_SIZE);
	uint64_t now = bench_now_ns();
	char *line;
	size_t len;
	int r;

	if (k == -EAGAIN || k == -EINTR)
		return 0;
	if (k <= 0)
		return k == 0 ? -ECONNRESET : (int)k;
	while ((r = linebuf_next(in, &line, &len)) > 0)
		if (events)
			on_event(c, line, now);
		else
			on_reply(c, line);
	return r < 0 ? r : 0;
}

/* A short JSON text of what vx11d says about itself, for an error message. */
static void daemon_counts(const DaemonBench *d, char *buf, size_t size)
{
	static const char req[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"daemon.status\"}\n";
	struct timeval tv = {.tv_sec = 1};
	_cleanup_close_ int fd = -1;
	_cleanup_json_ json_object *o = NULL;
	json_object *result, *v;
	char sock[300], reply[8192];
	size_t n = 0, l = 0;
	ssize_t k;

	buf[0] = 0;
	snprintf(sock, sizeof(sock), "%s/vx11.sock", d->dir);
	if (bench_connect(sock, USEC_PER_SEC, &fd) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1)
		return;
	while (n < sizeof(reply) - 1 && !memchr(reply, '\n', n) &&
	       (k = read(fd, reply + n, sizeof(reply) - 1 - n)) > 0)
		n += (size_t)k;
	reply[n] = 0;
	o = json_tokener_parse(reply);
	if (!o || !json_object_object_get_ex(o, "result", &result))
		return;
	if (json_object_object_get_ex(result, "counts", &v))
		l = (size_t)snprintf(buf, size, "; daemon.status counts %s",
		                     json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	if (l < size && json_object_object_get_ex(result, "daughters_running", &v))
		snprintf(buf + l, size - l, ", daughters_running %s", json_object_get_string(v));
}

/* Send n intents at once and wait until each has ended; 0, or -errno with d->error set. */
static int run_burst(Client *c, uint64_t n, const char *name)
{
	static const char params[] = "{\"intent_type\":\"true\",\"require\":{\"spawner\":true}}";
	uint64_t deadline, stall = (uint64_t)(c->d->stall * 1e9), start;
	_cleanup_free_ size_t *end = calloc(n, sizeof(size_t));
	_cleanup_free_ char *out = malloc(n * 128);
	size_t out_len = 0, out_sent = 0, marked = 0;
	char counts[300];

	free(c->sent_ns);
	c->sent_ns = calloc(n, sizeof(uint64_t));
	if (!end || !out || !c->sent_ns)
		return -ENOMEM;
	c->burst++;
	c->n = n;
	c->replied = c->done = c->failed = c->running = c->errors = 0;
	c->first_error[0] = c->first_failed[0] = 0;
	c->last_done_ns = 0;
	for (uint64_t i = 0; i < n; i++) {
		out_len += (size_t)snprintf(out + out_len, 128,
		                            "{\"jsonrpc\":\"2.0\",\"id\":%" PRIu64
		                            ",\"method\":\"intent.submit\",\"params\":%s}\n",
		                            ++c->next_id, params);
		end[i] = out_len;
	}

	start = c->t0 = c->last_event_ns = bench_now_ns();
	deadline = start + (uint64_t)(c->d->timeout * 1e9);
	while (c->replied + c->errors < n || c->done + c->failed < c->replied) {
		struct pollfd p[2] = {
		    {.fd = c->req, .events = (short)(POLLIN | (out_sent < out_len ? POLLOUT : 0))},
		    {.fd = c->sub, .events = POLLIN},
		};
		uint64_t now = bench_now_ns(), wait_ns;
		int k;

		if (now >= deadline || now - c->last_event_ns >= stall) {
			daemon_counts(c->d, counts, sizeof(counts));
			set_error(c->d,
			          "%s: gave up after %.1f s (%s): %" PRIu64 " of %" PRIu64
			          " submissions answered QUEUED, %" PRIu64 " running events, %" PRIu64
			          " completed, %" PRIu64 " failed%s. Does this vx11d run daughters yet?",
			          name, (double)(now - start) / 1e9,
			          now >= deadline ? "timeout" : "no event for a while", c->replied, n,
			          c->running, c->done, c->failed, counts);
			return -ETIMEDOUT;
		}
		if (out_sent < out_len) {
			ssize_t w =
			    send(c->req, out + out_sent, out_len - out_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w < 0 && errno != EAGAIN && errno != EINTR) {
				set_error(c->d, "%s: sending: %m", name);
				return -errno;
			}
			if (w > 0) {
				out_sent += (size_t)w;
				for (now = bench_now_ns(); marked < n && end[marked] <= out_sent; marked++)
					c->sent_ns[marked] = now;
			}
		}
		wait_ns = MIN(deadline, c->last_event_ns + stall) - now;
		k = poll(p, 2, (int)MIN(wait_ns / 1000000 + 1, (uint64_t)1000));
		if (k < 0 && errno != EINTR)
			return -errno;
		if (k <= 0)
			continue;
		if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    (k = conn_read(c, c->req, &c->req_in, false)) < 0) {
			set_error(c->d, "%s: the request connection: %s (did vx11d exit?)", name,
			          strerror(-k));
			return k;
		}
		if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    (k = conn_read(c, c->sub, &c->sub_in, true)) < 0) {
			set_error(c->d, "%s: the event connection: %s (did vx11d exit?)", name,
			          strerror(-k));
			return k;
		}
	}
	if (c->errors || c->failed) {
		set_error(c->d,
		          "%s: %" PRIu64 " submissions refused, %" PRIu64
		          " tasks did not complete%s%s%s%s%s",
		          name, c->errors, c->failed, c->first_failed[0] ? " (one: task " : "",
		          c->first_failed, c->first_failed[0] ? ")" : "",
		          c->first_error[0] ? "; first refusal: " : "", c->first_error);
		return -EIO;
	}
	return 0;
}

/* Latencies of the measured burst's tasks, from the table. */
static int collect(Client *c)
{
	_cleanup_free_ uint64_t *sub = malloc(c->n * sizeof(uint64_t)),
	                        *run = malloc(c->n * sizeof(uint64_t));
	DaemonBench *d = c->d;
	size_t ns = 0, nr = 0;

	if (!sub || !run)
		return -ENOMEM;
	for (size_t i = 0; i < c->map_cap; i++) {
		const Entry *e = &c->map[i];

		if (!e->id[0] || e->burst != c->burst || e->terminal <= 0)
			continue;
		if (ns < c->n)
			sub[ns++] = e->done_ns - e->submit_ns;
		if (e->running_at && e->completed_at >= e->running_at && nr < c->n)
			run[nr++] = e->completed_at - e->running_at;
	}
	bench_sort_u64(sub, ns);
	bench_sort_u64(run, nr);
	d->submit_p50_us = bench_percentile(sub, ns, 0.50) / 1000.0;
	d->submit_p99_us = bench_percentile(sub, ns, 0.99) / 1000.0;
	d->run_p50_us = bench_percentile(run, nr, 0.50);
	d->run_p99_us = bench_percentile(run, nr, 0.99);
	d->n_run = nr;
	return 0;
}

static int subscribe(Client *c)
{
	static const char req[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"events.subscribe\"}\n";
	uint64_t deadline = now_monotonic_usec() + 10 * USEC_PER_SEC;
	_cleanup_json_ json_object *o = NULL;
	json_object *result, *v;
	char *line;
	size_t len;
	int r;

	if (send(c->sub, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1)
		return -errno;
	while ((r = linebuf_next(&c->sub_in, &line, &len)) == 0) {
		struct pollfd p = {.fd = c->sub, .events = POLLIN};
		ssize_t k;

		if (now_monotonic_usec() >= deadline)
			return -ETIMEDOUT;
		if (poll(&p, 1, 100) <= 0)
			continue;
		k = linebuf_read(&c->sub_in, c->sub, READ_SIZE);
		if (k == 0)
			return -ECONNRESET;
		if (k < 0 && k != -EAGAIN && k != -EINTR)
			return (int)k;
	}
	if (r < 0)
		return r;
	o = json_tokener_parse(line);
	if (!o || !json_object_object_get_ex(o, "result", &result) ||
	    !json_object_object_get_ex(result, "subscribed", &v) || !json_object_get_boolean(v)) {
		set_error(c->d, "events.subscribe: %.200s", line);
		return -EPROTO;
	}
	return 0;
}

static int connect_both(Client *c)
{
	char sock[300];
	int r;

	snprintf(sock, sizeof(sock), "%s/vx11.sock", c->d->dir);
	/* The daemon opens its store before it listens: wait for the socket, or for its death. */
	for (int i = 0; i < 50; i++) {
		int status;

		r = bench_connect(sock, 200 * USEC_PER_MSEC, &c->sub);
		if (r >= 0)
			break;
		if (waitpid(c->pid, &status, WNOHANG) != c->pid)
			continue;
		c->pid = -1;
		set_error(c->d, "%s exited (%s %d) before it listened", c->d->vx11d,
		          WIFEXITED(status) ? "status" : "signal",
		          WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return -ECHILD;
	}
	if (r < 0) {
		set_error(c->d, "cannot connect to vx11d at %s: %s", sock, strerror(-r));
		return r;
	}
	r = bench_connect(sock, USEC_PER_SEC, &c->req);
	if (r < 0) {
		set_error(c->d, "cannot connect to vx11d at %s: %s", sock, strerror(-r));
		return r;
	}
	if (fcntl(c->req, F_SETFL, O_NONBLOCK) < 0 || fcntl(c->sub, F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	r = subscribe(c);
	if (r < 0)
		set_error(c->d, "events.subscribe: %s", strerror(-r));
	return r;
}

static int measure(Client *c)
{
	DaemonBench *d = c->d;
	Usage before, after;
	int r;

	if (d->warm_up > 0) {
		fprintf(stderr, "  vx11d: warm-up, %u intents\n", d->warm_up);
		r = run_burst(c, d->warm_up, "warm-up");
		if (r < 0)
			return r;
	}
	fprintf(stderr, "  vx11d: %u intents at once\n", d->daughters);
	char sock[300];
	StoreCounts sc0, sc1;
	bool counted;

	snprintf(sock, sizeof(sock), "%s/vx11.sock", c->d->dir);
	counted = bench_store_counts(sock, &sc0) >= 0;
	usage_read(c, &before);
	r = run_burst(c, d->daughters, "measured burst");
	usage_read(c, &after);
	if (r < 0)
		return r;
	if (counted && bench_store_counts(sock, &sc1) >= 0) {
		d->rows_written = (double)(sc1.rows_written - sc0.rows_written) / d->daughters;
		d->btree_writes = (double)(sc1.btree_writes - sc0.btree_writes) / d->daughters;
		d->commits = (double)(sc1.commits - sc0.commits) / d->daughters;
		d->zygote_spawns = sc1.zygote_spawns - sc0.zygote_spawns;
		d->direct_spawns = sc1.direct_spawns - sc0.direct_spawns;
		if (sc1.spawns > sc0.spawns)
			d->spawn_us = (sc1.spawn_seconds - sc0.spawn_seconds) * 1e6 / (double)(sc1.spawns - sc0.spawns);
	}
	d->replied = c->replied;
	d->completed = c->done;
	d->failed = c->failed;
	d->seconds = (double)(c->last_done_ns - c->t0) / 1e9;
	d->rate = d->seconds > 0 ? (double)c->done / d->seconds : 0;
	if (before.cpu_ok && after.cpu_ok)
		d->cpu_us = (double)(after.cpu_ns - before.cpu_ns) / 1000.0 / d->daughters;
	if (before.io_ok && after.io_ok) {
		uint64_t w = after.write_bytes - before.write_bytes, l = after.log_bytes - before.log_bytes;
		d->write_kib = (double)(w > l ? w - l : 0) / 1024.0 / d->daughters;
	}
	return collect(c);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

int daemon_bench_run(DaemonBench *d)
{
	Client c = {.d = d, .pid = -1, .req = -1, .sub = -1};
	int r, stopped;

	d->error[0] = 0;
	d->cpu_us = d->write_kib = -1;
	d->rows_written = d->btree_writes = d->commits = d->spawn_us = -1;
	for (size_t i = 0; i < ELEMENTSOF(d->rows); i++)
		d->rows[i] = -1;
	/* Paths under it get a short name added: keep room for that. */
	if ((size_t)snprintf(d->dir, sizeof(d->dir), "%s/vx11-bench-spawn.XXXXXX", d->state_base) >=
	    sizeof(d->dir) - 32) {
		set_error(d, "%s: path too long", d->state_base);
		return -ENAMETOOLONG;
	}
	/* Searchable by all, as /var/lib is: daughters run as other users and reach the daemon's
	 * notify socket through it. */
	if (!mkdtemp(d->dir)) {
		set_error(d, "mkdtemp %s: %m", d->dir);
		return -errno;
	}
	if (chmod(d->dir, 0711) < 0) {
		r = -errno;
		set_error(d, "chmod %s: %s", d->dir, strerror(-r));
		(void)rmdir(d->dir);
		return r;
	}

	for (c.map_cap = 64; c.map_cap < 4 * ((size_t)d->daughters + d->warm_up); c.map_cap *= 2)
		;
	c.map = calloc(c.map_cap, sizeof(Entry));
	linebuf_init(&c.req_in, MAX_LINE);
	linebuf_init(&c.sub_in, MAX_LINE);
	r = c.map ? start_daemon(d, &c.pid) : -ENOMEM;
	if (r < 0)
		set_error(d, "cannot start %s: %s", d->vx11d, strerror(-r));
	if (r >= 0)
		r = connect_both(&c);
	if (r >= 0)
		r = measure(&c);

	if (c.req >= 0)
		close(c.req);
	if (c.sub >= 0)
		close(c.sub);
	stopped = stop_daemon(c.pid);
	if (r >= 0 && stopped == 0)
		count_rows(d, (uint64_t)d->daughters + d->warm_up);
	else if (r >= 0)
		fprintf(stderr, "  vx11d did not exit cleanly on SIGTERM: %s\n", strerror(-stopped));
	if (r < 0 || stopped < 0)
		print_log_tail(d, 8);
	linebuf_done(&c.req_in);
	linebuf_done(&c.sub_in);
	free(c.map);
	free(c.sent_ns);
	if (!d->keep && nftw(d->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "  could not remove all of %s\n", d->dir);
	return r;
}
