/* SPDX-License-Identifier: MIT */
/*
 * What daughters and their owners ask about daughters: daughter.heartbeat,
 * daughter.report and daughter.subtask (from inside a daughter, authenticated
 * by its token),
 * daughter.spawn (admins) and task.logs (an attempt's kept output).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "conn.h"
#include "core/manager.h"
#include "methods.h"
#include "params.h"
#include "run/runner.h"

#define LOGS_MAX_BYTES (1024 * 1024)
#define REPORT_RESULT_MAX (64 * 1024)
#define SUBTASK_PAYLOAD_MAX (256 * 1024)

/* ---- daughter.heartbeat, daughter.report ---------------------------------------------------- */

typedef struct HeartbeatParams {
	const char *daughter_id, *token, *status;
} HeartbeatParams;

const ParamSpec heartbeat_params[] = {
	{ "daughter_id", PARAM_STRING, offsetof(HeartbeatParams, daughter_id), PARAM_REQUIRED, 0, 64 },
	{ "token", PARAM_STRING, offsetof(HeartbeatParams, token), PARAM_REQUIRED, 0, 64 },
	{ "status", PARAM_STRING, offsetof(HeartbeatParams, status), 0, 0, 1024 },
	{}
};

typedef struct ReportParams {
	const char *daughter_id, *token, *status;
	int64_t tokens_used_cli, tokens_used_local;
	const char *switch_model_used, *cli_provider_used, *error_message;
	json_object *result;
} ReportParams;

const ParamSpec report_params[] = {
	{ "daughter_id", PARAM_STRING, offsetof(ReportParams, daughter_id), PARAM_REQUIRED, 0, 64 },
	{ "token", PARAM_STRING, offsetof(ReportParams, token), PARAM_REQUIRED, 0, 64 },
	{ "status", PARAM_STRING, offsetof(ReportParams, status), 0, 0, 64 },
	{ "tokens_used_cli", PARAM_INT, offsetof(ReportParams, tokens_used_cli), 0, 0, 1e15 },
	{ "tokens_used_local", PARAM_INT, offsetof(ReportParams, tokens_used_local), 0, 0, 1e15 },
	{ "switch_model_used", PARAM_STRING, offsetof(ReportParams, switch_model_used), 0, 0, 256 },
	{ "cli_provider_used", PARAM_STRING, offsetof(ReportParams, cli_provider_used), 0, 0, 256 },
	{ "error_message", PARAM_STRING, offsetof(ReportParams, error_message), 0, 0, 4096 },
	{ "result", PARAM_OBJECT, offsetof(ReportParams, result), 0, 0, 0 },
	{}
};

static Hija *live_daughter(Call *call, const char *daughter_id, const char *token, RpcError *err)
{
	Hija *h = runner_find_daughter(call->m->runner, daughter_id, token);

	if (!h)
		rpc_error(err, RPC_NOT_FOUND, "no running daughter %.64s with this token", daughter_id);
	return h;
}

static void set_text(char **field, const char *v)
{
	char *s;

	if (!v || !(s = strdup(v)))
		return;
	utf8_scrub(s);
	free(*field);
	*field = s;
}

int method_daughter_heartbeat(Call *call, json_object *params, json_object **ret, RpcError *err)
{
	HeartbeatParams p;
	Hija *h;
	int r;

	r = params_parse(heartbeat_params, params, "", &p, err);
	if (r < 0)
		return r;
	h = live_daughter(call, p.daughter_id, p.token, err);
	if (!h)
		return err->code;
	Attempt *a = hija_attempt(h);
	const Daughter *d = hija_daughter(h);
	if (p.status) {
		set_text(&a->status_text, p.status);
		(void)hija_attempt_save(h);
	}
	hija_heartbeat(h);

	json_object *o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string("ok"));
	json_object_object_add(o, "daughter_id", json_object_new_string(d->id));
	json_object_object_add(o, "heartbeat_at", json_timestamp(d->last_heartbeat_at));
	*ret = o;
	return 0;
}

int method_daughter_report(Call *call, json_object *params, json_object **ret, RpcError *err)
{
	ReportParams p;
	Hija *h;
	int r;

	r = params_parse(report_params, params, "", &p, err);
	if (r < 0)
		return r;
	h = live_daughter(call, p.daughter_id, p.token, err);
	if (!h)
		return err->code;
	Attempt *a = hija_attempt(h);
	const Daughter *d = hija_daughter(h);
	if (p.result) {
		size_t len;
		const char *s = json_object_to_json_string_length(p.result, JSON_C_TO_STRING_PLAIN, &len);
		if (len > REPORT_RESULT_MAX)
			return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: result: larger than %d bytes",
					 REPORT_RESULT_MAX);
		set_text(&a->result_json, s);
	}
	set_text(&a->reported_status, p.status);
	set_text(&a->switch_model_used, p.switch_model_used);
	set_text(&a->cli_provider_used, p.cli_provider_used);
	set_text(&a->error_message, p.error_message);
	if (p.tokens_used_cli != PARAM_INT_UNSET)
		a->tokens_used_cli = p.tokens_used_cli;
	if (p.tokens_used_local != PARAM_INT_UNSET)
		a->tokens_used_local = p.tokens_used_local;
	if (hija_attempt_save(h) < 0)
		return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(call->m->store));
	/* A daughter able to report is alive: it counts as a heartbeat. */
	hija_heartbeat(h);

	json_object *o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string("ok"));
	json_object_object_add(o, "daughter_id", json_object_new_string(d->id));
	json_object_object_add(o, "attempt_number", json_object_new_int(a->number));
	json_object_object_add(o, "reported_status",
			       a->reported_status ? json_object_new_string(a->reported_status) : NULL);
	*ret = o;
	return 0;
}

/* ---- daughter.subtask ---------------------------------------------------------------------- */

typedef struct SubtaskParams {
	const char *daughter_id, *token, *subtask_type;
	json_object *payload;
} SubtaskParams;

const ParamSpec subtask_params[] = {
	{ "daughter_id", PARAM_STRING, offsetof(SubtaskParams, daughter_id), PARAM_REQUIRED, 0, 64 },
	{ "token", PARAM_STRING, offsetof(SubtaskParams, token), PARAM_REQUIRED, 0, 64 },
	{ "subtask_type", PARAM_STRING, offsetof(SubtaskParams, subtask_type), PARAM_REQUIRED | PARAM_NONEMPTY, 0, 128 },
	{ "payload", PARAM_OBJECT, offsetof(SubtaskParams, payload), 0, 0, 0 },
	{}
};

/* The switch's answer (or why there is none) for a parked daughter. */
static void on_subtask_done(void *userdata, json_object *answer)
{
	Conn *c = userdata;
	size_t n, limit = c->manager->policy->limits.max_output_bytes;
	_cleanup_json_ json_object *reply = rpc_make_result(c->wait.id, answer);

	rpc_serialize(reply, &n);
	/* As methods_handle_line() does for a reply the connection could never hold. */
	if (n > limit / 2) {
		RpcError err;
		rpc_error(&err, RPC_BUSY,
			  "the switch's answer would be %zu bytes, over half of limits.max_output_bytes (%zu)", n, limit);
		json_object_put(reply);
		reply = rpc_make_error(c->wait.id, &err);
	}
	conn_wait_finish(c, reply);
}

int method_daughter_subtask(Call *call, json_object *params, json_object **ret, RpcError *err)
{
	Manager *m = call->m;
	SubtaskParams p;
	SubtaskCall *sc;
	json_object *now = NULL;
	size_t len = 0;
	Hija *h;
	int r;

	r = params_parse(subtask_params, params, "", &p, err);
	if (r < 0)
		return r;
	h = live_daughter(call, p.daughter_id, p.token, err);
	if (!h)
		return err->code;
	if (m->policy->mode != POLICY_MODE_SWITCH) {
		call->error_data = json_object_new_object();
		json_object_object_add(call->error_data, "reason", json_object_new_string("off_by_policy"));
		return rpc_error(err, RPC_PERMISSION_DENIED,
				 "off_by_policy: sub-tasks need the switch and the policy mode is solo_madre; "
				 "set \"mode\": \"switch\" and the \"switch\" object in the policy, then reload it");
	}
	/* The answer comes later: only a lone request with an id can wait for it. */
	if (!call->may_defer || !call->conn)
		return rpc_error(err, RPC_INVALID_REQUEST,
				 "invalid request: daughter.subtask waits for the switch; send it alone with an id "
				 "(not in a batch, not as a notification)");
	if (p.payload)
		json_object_to_json_string_length(p.payload, JSON_C_TO_STRING_PLAIN, &len);
	if (len > SUBTASK_PAYLOAD_MAX)
		return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: payload: larger than %d bytes",
				 SUBTASK_PAYLOAD_MAX);
	/* A daughter asking for work is alive. */
	hija_heartbeat(h);

	const Daughter *d = hija_daughter(h);
	SubtaskWho who = {
		.task_id = d->task_id,
		.daughter_id = d->id,
		.token = p.token,
		.attempt = hija_attempt_number(h),
	};
	r = subtask_start(m->subtasks, &who, p.subtask_type, json_object_get(p.payload), on_subtask_done, call->conn,
			  &sc, &now);
	if (r < 0)
		return rpc_error(err, RPC_INTERNAL, "internal error: sub-task: %s", strerror(-r));
	if (now) {
		*ret = now;
		return 0;
	}
	conn_park_subtask(call->conn, call->id, sc);
	return METHOD_DEFERRED;
}

/* ---- daughter.spawn ------------------------------------------------------------------------- */

typedef struct SpawnRpcParams {
	const char *name, *purpose, *parent_task_id, *profile;
	json_object *cmd;
	int64_t ttl_seconds;
} SpawnRpcParams;

const ParamSpec spawn_params[] = {
	{ "name", PARAM_STRING, offsetof(SpawnRpcParams, name), PARAM_REQUIRED | PARAM_NONEMPTY, 0, 0 },
	{ "cmd", PARAM_STRING_OR_ARRAY, offsetof(SpawnRpcParams, cmd), PARAM_REQUIRED, 0, 0 },
	{ "purpose", PARAM_STRING, offsetof(SpawnRpcParams, purpose), 0, 0, 1024 },
	{ "parent_task_id", PARAM_STRING, offsetof(SpawnRpcParams, parent_task_id), 0, 0, 64 },
	{ "ttl_seconds", PARAM_INT, offsetof(SpawnRpcParams, ttl_seconds), 0, 1, 31536000 },
	{ "profile", PARAM_STRING, offsetof(SpawnRpcParams, profile), 0, 0, 64 },
	{}
};

#define SPAWN_ARGV_MAX 255
#define SPAWN_NAME_MAX 64

/* Names are shown in tables, logs and the journal: a plain word there, no
 * blanks or control characters that would forge a column or a line. */
static bool spawn_name_is_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= SPAWN_NAME_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+@:-") == n;
}

int method_daughter_spawn(Call *call, json_object *params, json_object **ret, RpcError *err)
{
	SpawnRpcParams p;
	char *argv[SPAWN_ARGV_MAX + 1];
	_cleanup_free_ char *error = NULL;
	size_t n;
	Task parent;
	int r;

	r = params_parse(spawn_params, params, "", &p, err);
	if (r < 0)
		return r;
	if (!spawn_name_is_valid(p.name))
		return rpc_error(err, RPC_INVALID_PARAMS,
				 "invalid params: name: expected 1 to %d of A-Z a-z 0-9 _ . + @ : - (a word such as "
				 "backup-db)",
				 SPAWN_NAME_MAX);
	n = json_object_is_type(p.cmd, json_type_array) ? json_object_array_length(p.cmd) : 0;
	if (n == 0 || n > SPAWN_ARGV_MAX)
		return rpc_error(err, RPC_INVALID_PARAMS,
				 "invalid params: cmd: expected an array of 1 to %d strings (argv, no shell)", SPAWN_ARGV_MAX);
	for (size_t i = 0; i < n; i++) {
		json_object *a = json_object_array_get_idx(p.cmd, i);
		if (memchr(json_object_get_string(a), 0, (size_t)json_object_get_string_len(a)) ||
		    json_object_get_string_len(a) > 4096)
			return rpc_error(err, RPC_INVALID_PARAMS,
					 "invalid params: cmd[%zu]: must hold no NUL and at most 4096 bytes", i);
		argv[i] = (char *)json_object_get_string(a);
	}
	argv[n] = NULL;
	if (argv[0][0] != '/')
		return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: cmd[0]: must be an absolute path (no PATH lookup)");
	if (p.parent_task_id) {
		if (store_task_get(call->m->store, p.parent_task_id, &parent) < 0)
			return rpc_error(err, RPC_NOT_FOUND, "no such task: %.64s", p.parent_task_id);
		task_done(&parent);
	}

	SpawnParams sp = {
		.name = p.name,
		.purpose = p.purpose,
		.parent_task_id = p.parent_task_id,
		.profile = p.profile,
		.argv = argv,
		.ttl_seconds = p.ttl_seconds == PARAM_INT_UNSET ? -1 : p.ttl_seconds,
		.uid = call->caller->uid,
	};
	r = runner_spawn_now(call->m->runner, &sp, ret, &error);
	if (r == -EINVAL)
		return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: %s", error ?: "bad request");
	if (r < 0)
		return rpc_error(err, RPC_INTERNAL, "internal error: %s", error ?: strerror(-r));
	return 0;
}

/* ---- task.logs ------------------------------------------------------------------------------ */

typedef struct LogsParams {
	const char *task_id, *stream;
	int64_t attempt, offset, max_bytes;
} LogsParams;

const ParamSpec logs_params[] = {
	{ "task_id", PARAM_STRING, offsetof(LogsParams, task_id), PARAM_REQUIRED, 0, 64 },
	{ "attempt", PARAM_INT, offsetof(LogsParams, attempt), 0, 1, 1e9 },
	{ "stream", PARAM_STRING, offsetof(LogsParams, stream), 0, 0, 16 },
	{ "offset", PARAM_INT, offsetof(LogsParams, offset), 0, 0, 1e15 },
	{ "max_bytes", PARAM_INT, offsetof(LogsParams, max_bytes), 0, 1, LOGS_MAX_BYTES },
	{}
};

/* The length of buf[0..n) without a trailing sequence cut short. */
static ssize_t utf8_whole_prefix(const char *buf, ssize_t n)
{
	for (ssize_t i = n - 1; i >= 0 && i >= n - 4; i--) {
		unsigned char c = (unsigned char)buf[i];
		if ((c & 0xC0) == 0x80)
			continue; /* a continuation byte: look further back */
		ssize_t want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
		return (n - i < want && i > 0) ? i : n;
	}
	return n;
}

typedef struct PickAttempt {
	int64_t number; /* PARAM_INT_UNSET: the latest */
	char id[ID_STRING_MAX];
	char node[STORE_NODE_MAX]; /* "" when it records none */
	bool live;                 /* running by its rows (finished_at 0) */
	int found;
} PickAttempt;

static int pick_attempt(const Attempt *a, void *userdata)
{
	PickAttempt *p = userdata;

	if (p->number == PARAM_INT_UNSET || a->number == p->number) {
		memcpy(p->id, a->id, ID_STRING_MAX);
		snprintf(p->node, sizeof p->node, "%s", a->node ?: "");
		p->live = a->finished_at == 0;
		p->found = a->number;
	}
	return 0;
}

/* Bytes [from, from + n) of a chunk as task.logs sends them: a sequence cut
 * at its end left for the next chunk (more: more follows), NULs and invalid
 * UTF-8 as '?', so that offsets count raw bytes. buf has room for a NUL. */
static ssize_t logs_scrub(char *buf, ssize_t n, bool more)
{
	if (n > 0 && more)
		n = utf8_whole_prefix(buf, n);
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == 0)
			buf[i] = '?';
	buf[n] = 0;
	utf8_scrub(buf);
	return n;
}

/* FLEET-DESIGN.md 5.4: the tail the running node kept at the attempt's end;
 * offsets stay the file's (one before the tail starts at the tail). */
static int logs_remote(Manager *m, const char *task_id, int number, const char *node, bool live, const char *stream,
		       uint64_t offset, size_t max, json_object **ret, RpcError *err)
{
	_cleanup_free_ void *tail = NULL;
	uint64_t size = 0, start;
	size_t len = 0;
	ssize_t n = 0;
	int r;

	r = store_attempt_log_get(m->store, task_id, number, stream, &size, &tail, &len);
	if (r < 0 && r != -ENOENT)
		return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(m->store));
	/* None: it runs there yet, or ended without one (its node was adopted). */
	if (len > size) /* not as written: what is there is what counts */
		size = len;
	start = size - len;
	if (offset < start)
		offset = start;
	char *buf = tail;
	if (offset < size) {
		buf = (char *)tail + (offset - start);
		n = (ssize_t)MIN((uint64_t)max, size - offset);
	}
	if (buf)
		n = logs_scrub(buf, n, offset + (uint64_t)n < size);

	uint64_t next = offset + (uint64_t)n;
	json_object *o = json_object_new_object();
	json_object_object_add(o, "task_id", json_object_new_string(task_id));
	json_object_object_add(o, "attempt", json_object_new_int(number));
	json_object_object_add(o, "stream", json_object_new_string(stream));
	json_object_object_add(o, "offset", json_object_new_int64((int64_t)offset));
	json_object_object_add(o, "next_offset", json_object_new_int64((int64_t)next));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)size));
	json_object_object_add(o, "data", json_object_new_string_len(buf ? buf : "", (int)n));
	json_object_object_add(o, "eof", json_object_new_boolean(r == 0 ? next >= size : !live));
	json_object_object_add(o, "node", json_object_new_string(node));
	if (r == 0)
		json_object_object_add(o, "truncated", json_object_new_boolean(size > len));
	if (live)
		json_object_object_add(o, "live", json_object_new_boolean(true));
	*ret = o;
	return 0;
}

int method_task_logs(Call *call, json_object *params, json_object **ret, RpcError *err)
{
	Manager *m = call->m;
	LogsParams p;
	PickAttempt pick;
	Task t;
	int r;

	r = params_parse(logs_params, params, "", &p, err);
	if (r < 0)
		return r;
	if (p.stream && !streq(p.stream, "stdout") && !streq(p.stream, "stderr"))
		return rpc_error(err, RPC_INVALID_PARAMS, "invalid params: stream: expected \"stdout\" or \"stderr\"");
	r = task_visible(call, p.task_id, &t, err);
	if (r < 0)
		return r;
	task_done(&t);

	pick = (PickAttempt){ .number = p.attempt };
	r = store_attempt_list_task(m->store, p.task_id, pick_attempt, &pick);
	if (r < 0)
		return rpc_error(err, RPC_INTERNAL, "internal error: store: %s", store_last_error(m->store));
	if (!pick.found)
		return p.attempt == PARAM_INT_UNSET
			       ? rpc_error(err, RPC_NOT_FOUND, "task %.64s has no attempt yet", p.task_id)
			       : rpc_error(err, RPC_NOT_FOUND, "task %.64s has no attempt %" PRId64, p.task_id, p.attempt);

	const char *stream = p.stream ?: "stdout";
	uint64_t offset = p.offset == PARAM_INT_UNSET ? 0 : (uint64_t)p.offset;
	size_t max = p.max_bytes == PARAM_INT_UNSET ? 65536 : (size_t)p.max_bytes;
	const char *self = runner_node(m->runner);

	/* Run on another node of the fleet: its file is there, its tail here. */
	if (store_is_fleet(m->store) && pick.node[0] && self && !streq(pick.node, self))
		return logs_remote(m, p.task_id, pick.found, pick.node, pick.live, stream, offset, max, ret, err);
	_cleanup_free_ char *path = runner_output_path(m->runner, pick.id, stream);
	_cleanup_free_ char *buf = malloc(max + 1);
	_cleanup_close_ int fd = -1;
	struct stat st = {};
	ssize_t n = 0;

	if (!path || !buf)
		return rpc_error(err, RPC_INTERNAL, "internal error: out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0 && fstat(fd, &st) == 0 && offset < (uint64_t)st.st_size)
		n = pread(fd, buf, max, (off_t)offset);
	if (n < 0)
		return rpc_error(err, RPC_INTERNAL, "internal error: reading %s: %s", path, strerror(errno));

	/* A chunk ends before a UTF-8 sequence it would cut, so a reader going
	 * chunk by chunk sees every character whole; only bytes that are invalid
	 * in the file itself (or NULs) become '?'. Offsets count raw bytes. */
	n = logs_scrub(buf, n, offset + (uint64_t)n < (uint64_t)st.st_size);

	uint64_t next = offset + (uint64_t)n;
	bool live = runner_attempt_is_live(m->runner, pick.id);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "task_id", json_object_new_string(p.task_id));
	json_object_object_add(o, "attempt", json_object_new_int(pick.found));
	json_object_object_add(o, "stream", json_object_new_string(stream));
	json_object_object_add(o, "offset", json_object_new_int64((int64_t)offset));
	json_object_object_add(o, "next_offset", json_object_new_int64((int64_t)next));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)st.st_size));
	json_object_object_add(o, "data", json_object_new_string_len(buf, (int)n));
	json_object_object_add(o, "eof", json_object_new_boolean(!live && next >= (uint64_t)st.st_size));
	*ret = o;
	return 0;
}
