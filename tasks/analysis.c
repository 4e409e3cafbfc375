/* SPDX-License-Identifier: MIT */
/*
 * analysis: the program of the bundled policy's example task type (the
 * seed's "analysis"; vx11-policy(5)). Harmless on purpose: it reads nothing
 * but its standard input and the daughter socket's reply, and writes
 * nothing but its standard output and that one request.
 *
 * It reads the intent vx11d gives every daughter on stdin (lifecycle.md: one
 * JSON object with task_id, task_type, text, payload, attempt, and plan and
 * degraded once the switch plans; either may be absent or null) and writes a
 * summary of it, one JSON object, on stdout: what the task's result shows as
 * output_tail. When it runs as a daughter (VX11_SOCKET, VX11_DAUGHTER_ID and
 * VX11_DAUGHTER_TOKEN set) it also sends the summary with daughter.report, so
 * that it is the result's report. Exit status 0, or 1 when stdin is not a
 * JSON object.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#define INTENT_MAX (16 * 1024 * 1024)

static char *read_all(FILE *f, size_t *ret_len)
{
	size_t n = 0, cap = 65536;
	char *buf = malloc(cap + 1);

	while (buf) {
		size_t k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (k == 0 || n > INTENT_MAX)
			break;
		if (n == cap) {
			char *b = realloc(buf, 2 * cap + 1);
			if (!b) {
				free(buf);
				return NULL;
			}
			buf = b;
			cap *= 2;
		}
	}
	if (buf)
		buf[n] = 0;
	*ret_len = n;
	return buf;
}

static size_t count_words(const char *s)
{
	size_t n = 0;
	int in_word = 0;

	for (; s && *s; s++) {
		int space = *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r';
		if (!space && !in_word)
			n++;
		in_word = !space;
	}
	return n;
}

/* The summary of one intent: its words, its payload's keys, and whether and
 * how it was planned. */
static json_object *summarise(json_object *intent, size_t bytes)
{
	json_object *o = json_object_new_object(), *v, *keys = json_object_new_array();
	const char *type = "intent", *text = NULL, *how = "no plan";
	int plan = 0, degraded = -1;
	char line[512];
	size_t words;

	if (json_object_object_get_ex(intent, "task_type", &v) && json_object_is_type(v, json_type_string))
		type = json_object_get_string(v);
	if (json_object_object_get_ex(intent, "text", &v) && json_object_is_type(v, json_type_string))
		text = json_object_get_string(v);
	if (json_object_object_get_ex(intent, "payload", &v) && json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, key, value)
		{
			(void)value;
			json_object_array_add(keys, json_object_new_string(key));
		}
	}
	plan = json_object_object_get_ex(intent, "plan", &v) && v != NULL;
	if (json_object_object_get_ex(intent, "degraded", &v) && json_object_is_type(v, json_type_boolean))
		degraded = json_object_get_boolean(v);
	if (plan)
		how = degraded == 1 ? "planned locally (degraded: the switch was not available)" : "planned";

	words = count_words(text);
	snprintf(line, sizeof line, "%.64s: %zu word%s of text, %zu payload key%s, %s", type, words,
		 words == 1 ? "" : "s", json_object_array_length(keys), json_object_array_length(keys) == 1 ? "" : "s",
		 how);

	json_object_object_add(o, "summary", json_object_new_string(line));
	if (json_object_object_get_ex(intent, "task_id", &v))
		json_object_object_add(o, "task_id", json_object_get(v));
	if (json_object_object_get_ex(intent, "attempt", &v))
		json_object_object_add(o, "attempt", json_object_get(v));
	json_object_object_add(o, "words", json_object_new_int64((int64_t)words));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)bytes));
	json_object_object_add(o, "payload_keys", keys);
	json_object_object_add(o, "planned", json_object_new_boolean(plan));
	json_object_object_add(o, "degraded", degraded < 0 ? NULL : json_object_new_boolean(degraded));
	return o;
}

/* daughter.report with the summary as its result: one request on the
 * daughter socket, one reply line read. Best effort: the summary is on
 * stdout whatever happens here. */
static void report(json_object *summary)
{
	const char *path = getenv("VX11_SOCKET"), *id = getenv("VX11_DAUGHTER_ID"),
		   *token = getenv("VX11_DAUGHTER_TOKEN");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	json_object *req, *params;
	const char *line;
	char reply[4096];
	int fd;

	if (!path || !id || !token || strlen(path) >= sizeof sa.sun_path)
		return;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		fprintf(stderr, "analysis: cannot reach %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	req = json_object_new_object();
	params = json_object_new_object();
	json_object_object_add(req, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(req, "id", json_object_new_int(1));
	json_object_object_add(req, "method", json_object_new_string("daughter.report"));
	json_object_object_add(params, "daughter_id", json_object_new_string(id));
	json_object_object_add(params, "token", json_object_new_string(token));
	json_object_object_add(params, "status", json_object_new_string("done"));
	json_object_object_add(params, "result", json_object_get(summary));
	json_object_object_add(req, "params", params);
	line = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	if (write(fd, line, strlen(line)) < 0 || write(fd, "\n", 1) < 0)
		fprintf(stderr, "analysis: cannot send the report: %s\n", strerror(errno));
	else if (read(fd, reply, sizeof reply - 1) <= 0)
		fprintf(stderr, "analysis: no answer to the report\n");
	json_object_put(req);
	close(fd);
}

#ifdef __SANITIZE_ADDRESS__
/* In the sanitizer build: LeakSanitizer stops the world with ptrace at exit,
 * which a daughter's seccomp filter refuses, and it would then fail the task.
 * ASan's other checks stay on. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

int main(void)
{
	json_object *intent, *summary;
	size_t len = 0;
	char *text = read_all(stdin, &len);

	intent = text ? json_tokener_parse(text) : NULL;
	free(text);
	if (!json_object_is_type(intent, json_type_object)) {
		fprintf(stderr, "analysis: standard input is not a JSON object (the intent vx11d gives a daughter)\n");
		json_object_put(intent);
		return 1;
	}
	summary = summarise(intent, len);
	puts(json_object_to_json_string_ext(summary, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	report(summary);
	json_object_put(summary);
	json_object_put(intent);
	return 0;
}
