/* SPDX-License-Identifier: MIT */
/*
 * Theory of operation. A run is one child, started with posix_spawn(3) as
 * the leader of a new process group (so one kill(-pgid) reaches whatever it
 * forks), with default signal dispositions and an empty signal mask (the
 * switch blocks and ignores signals the provider must not inherit), its
 * stdin, stdout and stderr on three pipes whose other ends are ours and
 * non-blocking. Four event sources drive it:
 *   - stdin: the request is written as the pipe takes it, then closed, so a
 *     provider that reads to EOF sees the end of it;
 *   - stdout: read as it comes, up to max_output bytes (more kills the group);
 *   - stderr: its last bytes are kept, to say why a provider failed;
 *   - the timer: at timeout_ms the group is killed.
 * The run is over when the leader exits (the child source, which sees it as a
 * zombie): what is left of its group is killed while the zombie still holds
 * the group id, the zombie is reaped, the bytes already in the pipes are read,
 * and the output becomes the result. A grandchild that left the group and
 * kept stdout open cannot hold the answer back.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "json-strict.h"
#include "list.h"
#include "provider.h"

#define ERR_TAIL_MAX 2048 /* stderr bytes kept, the last ones */
#define READ_CHUNK 65536

extern char **environ;

typedef enum Killed {
	KILLED_NOT,
	KILLED_TIMEOUT,
	KILLED_OVERFLOW,
	KILLED_CANCELLED,
} Killed;

struct ProviderPool {
	sd_event *event;
	ProviderRun *runs;
	unsigned n_runs;
	char **env; /* the providers' environment: ours without the service manager's */
};

struct ProviderRun {
	ProviderPool *pool;
	LIST_FIELDS(ProviderRun, runs);
	char *name;  /* copies: a reload may free the Provider meanwhile */
	char *model; /* or NULL */
	uint64_t timeout_ms;
	size_t max_output;
	pid_t pid; /* and its process group */
	Killed killed;

	sd_event_source *child_src, *timer_src, *in_src, *out_src, *err_src;
	int in_fd, out_fd, err_fd;

	char *input; /* the request, written from input_off on */
	size_t input_len, input_off;
	char *out; /* stdout so far, NUL-terminated at out_len */
	size_t out_len, out_cap;
	char err_tail[ERR_TAIL_MAX + 1];
	size_t err_len;

	ProviderDone done;
	void *userdata;
};

json_object *subtask_error(const char *provider, const char *fmt, ...)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Provider text cut at a byte count must stay valid in a reply. */
	utf8_scrub(msg);
	if (!o || json_object_object_add(o, "status", json_object_new_string("error")) < 0 ||
	    json_object_object_add(o, "error", json_object_new_string(msg)) < 0 ||
	    (provider && json_object_object_add(o, "provider", json_object_new_string(provider)) < 0))
		return NULL;
	return TAKE_PTR(o);
}

/* What systemd tells the switch is not the provider's: NOTIFY_SOCKET and
 * the watchdog's are the switch's alone, and the provider's stderr is a pipe
 * of ours, not the journal stream JOURNAL_STREAM names. */
static bool env_is_ours(const char *entry)
{
	static const char *const names[] = { "NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID=", "JOURNAL_STREAM=",
					      "LISTEN_FDS=",	 "LISTEN_PID=",	   "LISTEN_FDNAMES=" };

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (strncmp(entry, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

int provider_pool_new(sd_event *e, ProviderPool **ret)
{
	ProviderPool *p = calloc(1, sizeof(*p));
	size_t n = 0, k = 0;

	if (!p)
		return -ENOMEM;
	while (environ[n])
		n++;
	/* Pointers into environ, which nothing changes after start. */
	p->env = calloc(n + 1, sizeof(char *));
	if (!p->env) {
		free(p);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (!env_is_ours(environ[i]))
			p->env[k++] = environ[i];
	p->event = sd_event_ref(e);
	*ret = p;
	return 0;
}

unsigned provider_pool_running(const ProviderPool *p)
{
	return p->n_runs;
}

static void kill_group(ProviderRun *r, Killed why)
{
	if (r->killed == KILLED_NOT)
		r->killed = why;
	/* ESRCH: the group is already gone. */
	(void)kill(-r->pid, SIGKILL);
}

static void run_free(ProviderRun *r)
{
	LIST_REMOVE(runs, r->pool->runs, r);
	r->pool->n_runs--;
	sd_event_source_disable_unref(r->child_src);
	sd_event_source_disable_unref(r->timer_src);
	sd_event_source_disable_unref(r->in_src);
	sd_event_source_disable_unref(r->out_src);
	sd_event_source_disable_unref(r->err_src);
	safe_close(r->in_fd);
	safe_close(r->out_fd);
	safe_close(r->err_fd);
	free(r->input);
	free(r->out);
	free(r->name);
	free(r->model);
	free(r);
}

ProviderPool *provider_pool_free(ProviderPool *p)
{
	if (!p)
		return NULL;
	while (p->runs) {
		ProviderRun *r = p->runs;
		kill_group(r, KILLED_CANCELLED);
		/* Our own child, just sent SIGKILL: this wait is short. */
		(void)waitpid(r->pid, NULL, 0);
		r->done(NULL, r->userdata);
		run_free(r);
	}
	sd_event_unref(p->event);
	free(p->env);
	free(p);
	return NULL;
}

void provider_run_cancel(ProviderRun *r)
{
	kill_group(r, KILLED_CANCELLED);
}

static void close_input(ProviderRun *r)
{
	r->in_src = sd_event_source_disable_unref(r->in_src);
	r->in_fd = safe_close(r->in_fd);
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	ProviderRun *r = userdata;
	ssize_t n;

	n = write(fd, r->input + r->input_off, r->input_len - r->input_off);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0) {
		/* EPIPE: it does not read its stdin; its output decides. */
		close_input(r);
		return 0;
	}
	r->input_off += (size_t)n;
	if (r->input_off == r->input_len)
		close_input(r);
	return 0;
}

/* Read what stdout holds now. Returns false at EOF or after an error. */
static bool read_stdout(ProviderRun *r)
{
	for (;;) {
		ssize_t n;

		if (r->out_cap - r->out_len < READ_CHUNK + 1) {
			size_t cap = MAX(r->out_cap * 2, r->out_len + READ_CHUNK + 1);
			char *p = realloc(r->out, cap);
			if (!p) {
				kill_group(r, KILLED_OVERFLOW);
				return false;
			}
			r->out = p;
			r->out_cap = cap;
		}
		n = read(r->out_fd, r->out + r->out_len, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return false;
		r->out_len += (size_t)n;
		r->out[r->out_len] = 0;
		if (r->out_len > r->max_output) {
			kill_group(r, KILLED_OVERFLOW);
			return false;
		}
	}
}

static int on_stdout(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	ProviderRun *r = userdata;

	if (!read_stdout(r))
		r->out_src = sd_event_source_disable_unref(r->out_src);
	return 0;
}

/* Keep the last ERR_TAIL_MAX bytes. Returns false at EOF or after an error. */
static bool read_stderr(ProviderRun *r)
{
	char buf[4096];

	for (;;) {
		ssize_t n = read(r->err_fd, buf, sizeof(buf));
		size_t k;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return false;
		k = (size_t)n;
		if (k >= ERR_TAIL_MAX) {
			memcpy(r->err_tail, buf + k - ERR_TAIL_MAX, ERR_TAIL_MAX);
			r->err_len = ERR_TAIL_MAX;
		} else {
			size_t keep = MIN(r->err_len, ERR_TAIL_MAX - k);
			memmove(r->err_tail, r->err_tail + r->err_len - keep, keep);
			memcpy(r->err_tail + keep, buf, k);
			r->err_len = keep + k;
		}
		r->err_tail[r->err_len] = 0;
	}
}

static int on_stderr(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	ProviderRun *r = userdata;

	if (!read_stderr(r))
		r->err_src = sd_event_source_disable_unref(r->err_src);
	return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	kill_group(userdata, KILLED_TIMEOUT);
	return 0;
}

/* The last non-empty line of stderr, for an error message ("" if none). */
static const char *stderr_last_line(ProviderRun *r)
{
	char *end = r->err_tail + r->err_len, *start;

	while (end > r->err_tail && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	*end = 0;
	start = memrchr(r->err_tail, '\n', (size_t)(end - r->err_tail));
	start = start ? start + 1 : r->err_tail;
	/* Control characters would make a multi-line log entry of it. */
	for (char *c = start; *c; c++)
		if ((unsigned char)*c < 0x20)
			*c = ' ';
	return start;
}

/* The provider's own words: stdout's {"error": "..."}, else stderr's last line. */
static const char *failure_detail(ProviderRun *r, json_object *out)
{
	json_object *e;

	if (out && json_object_object_get_ex(out, "error", &e) && json_object_is_type(e, json_type_string))
		return json_object_get_string(e);
	return stderr_last_line(r);
}

/* Turn a successful exit's stdout into the result. */
static json_object *result_from_output(ProviderRun *r, json_object *out, const JsonProblem *problem, int parse_r)
{
	_cleanup_json_ json_object *res = json_object_new_object();
	json_object *result = NULL, *model = NULL;
	int64_t tokens_cli = 0, tokens_local = 0;
	bool have_result = false;

	if (parse_r < 0)
		return subtask_error(r->name, "provider %s: its output is not JSON: %s at offset %zu", r->name,
				     parse_r == -EINVAL ? problem->message : "out of memory",
				     parse_r == -EINVAL ? problem->offset : 0);
	if (!json_object_is_type(out, json_type_object))
		return subtask_error(r->name, "provider %s: its output is not a JSON object", r->name);
	json_object_object_foreach(out, key, v)
	{
		if (streq(key, "result")) {
			result = v;
			have_result = true;
		} else if (streq(key, "tokens_used_cli") || streq(key, "tokens_used_local")) {
			if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
				return subtask_error(r->name, "provider %s: %s must be a non-negative integer", r->name,
						     key);
			*(streq(key, "tokens_used_cli") ? &tokens_cli : &tokens_local) = json_object_get_int64(v);
		} else if (streq(key, "model")) {
			if (!json_object_is_type(v, json_type_string))
				return subtask_error(r->name, "provider %s: model must be a string", r->name);
			model = v;
		} else if (streq(key, "error")) {
			if (!json_object_is_type(v, json_type_string))
				return subtask_error(r->name, "provider %s: error must be a string", r->name);
			return subtask_error(r->name, "provider %s: %s", r->name, json_object_get_string(v));
		} else
			return subtask_error(r->name, "provider %s: unknown key \"%.64s\" in its output", r->name, key);
	}
	if (!have_result)
		return subtask_error(r->name, "provider %s: its output has no \"result\"", r->name);

	if (!res || json_object_object_add(res, "status", json_object_new_string("ok")) < 0 ||
	    json_object_object_add(res, "result", json_object_get(result)) < 0 ||
	    json_object_object_add(res, "tokens_used_cli", json_object_new_int64(tokens_cli)) < 0 ||
	    json_object_object_add(res, "tokens_used_local", json_object_new_int64(tokens_local)) < 0)
		return NULL;
	if (model || r->model) {
		json_object *m = model ? json_object_get(model) : json_object_new_string(r->model);
		if (json_object_object_add(res, "model", m) < 0)
			return NULL;
	}
	if (json_object_object_add(res, "provider", json_object_new_string(r->name)) < 0)
		return NULL;
	return TAKE_PTR(res);
}

static json_object *run_result(ProviderRun *r, const siginfo_t *si)
{
	_cleanup_json_ json_object *out = NULL;
	JsonProblem problem;
	int parse_r;

	switch (r->killed) {
	case KILLED_TIMEOUT:
		return subtask_error(r->name, "provider %s timed out after %" PRIu64 " ms", r->name, r->timeout_ms);
	case KILLED_OVERFLOW:
		return subtask_error(r->name, "provider %s wrote more than %zu bytes", r->name, r->max_output);
	case KILLED_CANCELLED:
		return subtask_error(r->name, "provider %s cancelled", r->name);
	case KILLED_NOT:
		break;
	}

	parse_r = json_parse_strict(r->out ? r->out : "", r->out_len, 64, true, &out, &problem);
	if (si->si_code != CLD_EXITED) {
		const char *why = failure_detail(r, parse_r >= 0 ? out : NULL);
		return subtask_error(r->name, "provider %s killed by signal SIG%s%s%s", r->name,
				     sigabbrev_np(si->si_status) ?: "?", *why ? ": " : "", why);
	}
	if (si->si_status != 0) {
		const char *why = failure_detail(r, parse_r >= 0 ? out : NULL);
		return subtask_error(r->name, "provider %s exited with status %d%s%s", r->name, si->si_status,
				     *why ? ": " : "", why);
	}
	return result_from_output(r, out, &problem, parse_r);
}

static int on_child_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
	ProviderRun *r = userdata;
	json_object *result;

	/* The zombie still holds the group id: sweep the group, then reap. */
	(void)kill(-r->pid, SIGKILL);
	(void)waitid(P_PID, (id_t)r->pid, &(siginfo_t){ 0 }, WEXITED | WNOHANG);
	if (r->out_src)
		(void)read_stdout(r);
	if (r->err_src)
		(void)read_stderr(r);

	result = run_result(r, si);
	if (!result)
		result = subtask_error(NULL, "out of memory");
	r->done(result, r->userdata);
	run_free(r);
	return 0;
}

static int make_pipe(int fds[2], bool ours_is_read)
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	/* Non-blocking on our side only: the provider gets ordinary pipes. */
	if (fcntl(fds[ours_is_read ? 0 : 1], F_SETFL, O_NONBLOCK) < 0) {
		int r = -errno;
		safe_close(fds[0]);
		safe_close(fds[1]);
		return r;
	}
	return 0;
}

static int spawn_child(ProviderRun *r, char **argv, char **env, int child_in, int child_out, int child_err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	int k;

	sigfillset(&all);
	sigemptyset(&none);
	if (posix_spawn_file_actions_init(&fa) != 0)
		return -ENOMEM;
	if (posix_spawnattr_init(&attr) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -ENOMEM;
	}
	/* The pipes are O_CLOEXEC; their copies on 0, 1, 2 are not. */
	k = posix_spawn_file_actions_adddup2(&fa, child_in, STDIN_FILENO);
	k = k ?: posix_spawn_file_actions_adddup2(&fa, child_out, STDOUT_FILENO);
	k = k ?: posix_spawn_file_actions_adddup2(&fa, child_err, STDERR_FILENO);
	k = k ?: posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	k = k ?: posix_spawnattr_setpgroup(&attr, 0);
	k = k ?: posix_spawnattr_setsigmask(&attr, &none);
	k = k ?: posix_spawnattr_setsigdefault(&attr, &all);
	if (k == 0) {
		if (strchr(argv[0], '/'))
			k = posix_spawn(&r->pid, argv[0], &fa, &attr, argv, env);
		else
			k = posix_spawnp(&r->pid, argv[0], &fa, &attr, argv, env);
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return -k;
}

int provider_run(ProviderPool *pool, const Provider *p, size_t max_output, const char *input, size_t input_len,
		 ProviderDone done, void *userdata, ProviderRun **ret_run, json_object **ret_error)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	ProviderRun *r;
	int k;

	r = calloc(1, sizeof(*r));
	if (!r)
		goto oom;
	*r = (ProviderRun){
		.pool = pool,
		.timeout_ms = p->timeout_ms,
		.max_output = max_output,
		.in_fd = -1,
		.out_fd = -1,
		.err_fd = -1,
		.done = done,
		.userdata = userdata,
	};
	r->name = strdup(p->name);
	r->model = p->model ? strdup(p->model) : NULL;
	r->input = malloc(MAX(input_len, 1u));
	if (!r->name || (p->model && !r->model) || !r->input)
		goto oom;
	memcpy(r->input, input, input_len);
	r->input_len = input_len;

	k = make_pipe(in, false);
	k = k ?: make_pipe(out, true);
	k = k ?: make_pipe(err, true);
	k = k ?: spawn_child(r, p->argv, pool->env, in[0], out[1], err[1]);
	safe_close(in[0]);
	safe_close(out[1]);
	safe_close(err[1]);
	r->in_fd = in[1];
	r->out_fd = out[0];
	r->err_fd = err[0];
	if (k < 0) {
		*ret_error = subtask_error(p->name, "provider %s: cannot run %s: %s", p->name, p->argv[0], strerror(-k));
		goto fail;
	}

	/* From here on the child runs: it must be watched, or killed. */
	LIST_PREPEND(runs, pool->runs, r);
	pool->n_runs++;
	k = sd_event_add_child(pool->event, &r->child_src, r->pid, WEXITED, on_child_exit, r);
	/* From now, not from the loop iteration's start (sd_event_now), which
	 * may be a while ago: a provider gets at least its timeout_ms. */
	k = k ?: sd_event_add_time(pool->event, &r->timer_src, CLOCK_MONOTONIC,
				   now_monotonic_usec() + r->timeout_ms * USEC_PER_MSEC, USEC_PER_MSEC, on_timeout, r);
	k = k ?: sd_event_add_io(pool->event, &r->out_src, r->out_fd, EPOLLIN, on_stdout, r);
	k = k ?: sd_event_add_io(pool->event, &r->err_src, r->err_fd, EPOLLIN, on_stderr, r);
	k = k ?: sd_event_add_io(pool->event, &r->in_src, r->in_fd, EPOLLOUT, on_stdin, r);
	if (k < 0) {
		kill_group(r, KILLED_CANCELLED);
		(void)waitpid(r->pid, NULL, 0);
		*ret_error = subtask_error(p->name, "provider %s: cannot watch it: %s", p->name, strerror(-k));
		run_free(r);
		return k;
	}
	*ret_run = r;
	return 0;

oom:
	k = -ENOMEM;
	*ret_error = subtask_error(p->name, "out of memory");
fail:
	if (r) {
		safe_close(r->in_fd);
		safe_close(r->out_fd);
		safe_close(r->err_fd);
		free(r->input);
		free(r->name);
		free(r->model);
		free(r);
	}
	return k;
}
