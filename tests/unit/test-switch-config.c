/* SPDX-License-Identifier: MIT */
/* vx11-switch's configuration: defaults, every key read, each mistake named
 * by its key path; the strict JSON reader under it. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../../switch/config.h"
#include "../../switch/json-strict.h"
#include "tap.h"

#define MINIMAL "\"default_route\": {\"provider\": \"p\", \"approach\": \"a\"}"

static SwitchConfig *parse_ok(const char *text)
{
	SwitchConfig *c = NULL;
	_cleanup_free_ char *error = NULL;

	if (switch_config_parse(text, strlen(text), &c, &error) < 0) {
		printf("# unexpected error: %s\n", error);
		return NULL;
	}
	return c;
}

/* The error for text, or NULL when it parses (to free). */
static char *parse_error(const char *text)
{
	SwitchConfig *c = NULL;
	char *error = NULL;

	if (switch_config_parse(text, strlen(text), &c, &error) >= 0) {
		switch_config_free(c);
		return NULL;
	}
	return error;
}

static void test_minimal_and_defaults(void)
{
	_cleanup_config_ SwitchConfig *c = parse_ok("{" MINIMAL "}");

	CHECK(c);
	if (!c)
		return;
	CHECK(c->socket == NULL);
	CHECK_INTEQ(c->limits.max_line_bytes, 1024 * 1024);
	CHECK_INTEQ(c->limits.max_connections, 1024);
	CHECK_INTEQ(c->limits.max_pending, 256);
	CHECK_INTEQ(c->limits.max_subtasks, 64);
	CHECK_INTEQ(c->limits.max_output_bytes, 1024 * 1024);
	CHECK_INTEQ(c->n_routes, 0);
	CHECK_INTEQ(c->n_providers, 0);
	CHECK_INTEQ(c->n_subtasks, 0);
	CHECK(c->default_provider == NULL);
	CHECK_STREQ(c->default_route.provider, "p");
	CHECK_STREQ(c->default_route.approach, "a");
	CHECK(c->default_route.model == NULL && c->default_route.score == NULL);
}

static void test_every_key(void)
{
	_cleanup_config_ SwitchConfig *c = parse_ok(
		"{\"socket\": \"/run/x/s.sock\","
		" \"limits\": {\"max_line_bytes\": 2048, \"max_connections\": 3, \"max_pending_requests\": 4,"
		"            \"max_subtasks\": 5, \"max_output_bytes\": 4096},"
		" \"routes\": [{\"name\": \"n\", \"intent_type\": \"a*\", \"text\": \"^x\", \"provider\": \"pr\","
		"             \"approach\": \"ap\", \"model\": \"m\", \"score\": 0.82, \"task_type\": \"t\","
		"             \"steps\": [1, {\"s\": 2}], \"response\": {\"r\": true}}],"
		" \"default_route\": {\"provider\": \"dp\", \"approach\": \"da\", \"model\": \"dm\", \"score\": 0,"
		"                   \"task_type\": \"dt\", \"steps\": [], \"response\": {}},"
		" \"providers\": {\"one\": {\"argv\": [\"/bin/echo\", \"hi\"], \"timeout_ms\": 250, \"model\": \"pm\"},"
		"               \"two\": {\"argv\": [\"sh\"]}},"
		" \"subtasks\": [{\"subtask_type\": \"s*\", \"provider\": \"two\"}],"
		" \"default_provider\": \"one\"}");

	CHECK(c);
	if (!c)
		return;
	CHECK_STREQ(c->socket, "/run/x/s.sock");
	CHECK_INTEQ(c->limits.max_line_bytes, 2048);
	CHECK_INTEQ(c->limits.max_connections, 3);
	CHECK_INTEQ(c->limits.max_pending, 4);
	CHECK_INTEQ(c->limits.max_subtasks, 5);
	CHECK_INTEQ(c->limits.max_output_bytes, 4096);
	CHECK_INTEQ(c->n_routes, 1);
	CHECK_STREQ(c->routes[0].name, "n");
	CHECK_STREQ(c->routes[0].intent_type, "a*");
	CHECK_STREQ(c->routes[0].text, "^x");
	CHECK_STREQ(c->routes[0].provider, "pr");
	CHECK_STREQ(c->routes[0].approach, "ap");
	CHECK_STREQ(c->routes[0].model, "m");
	CHECK_STREQ(c->routes[0].task_type, "t");
	/* The score goes back as it was written. */
	CHECK_STREQ(json_object_to_json_string_ext(c->routes[0].score, JSON_C_TO_STRING_PLAIN), "0.82");
	CHECK_STREQ(json_object_to_json_string_ext(c->routes[0].steps, JSON_C_TO_STRING_PLAIN), "[1,{\"s\":2}]");
	CHECK_STREQ(json_object_to_json_string_ext(c->routes[0].response, JSON_C_TO_STRING_PLAIN), "{\"r\":true}");
	CHECK_STREQ(c->default_route.task_type, "dt");
	CHECK_INTEQ(c->n_providers, 2);
	const Provider *one = switch_config_find_provider(c, "one"), *two = switch_config_find_provider(c, "two");
	CHECK(one && two && !switch_config_find_provider(c, "three"));
	if (one && two) {
		CHECK_STREQ(one->argv[0], "/bin/echo");
		CHECK_STREQ(one->argv[1], "hi");
		CHECK(one->argv[2] == NULL);
		CHECK_INTEQ(one->timeout_ms, 250);
		CHECK_STREQ(one->model, "pm");
		CHECK_INTEQ(two->timeout_ms, 30000);
		CHECK(two->model == NULL);
	}
	CHECK_INTEQ(c->n_subtasks, 1);
	CHECK_STREQ(c->subtasks[0].subtask_type, "s*");
	CHECK(c->subtasks[0].provider == two);
	CHECK(c->default_provider == one);
}

static void test_errors_name_the_key_path(void)
{
	static const struct {
		const char *text, *error;
	} cases[] = {
		{ "[]", "expected a JSON object at the top level" },
		{ "{}", "missing \"default_route\" (the plan when no route matches)" },
		{ "{" MINIMAL ", \"x\": 1}", "x: unknown key (known: socket, limits, routes, default_route, providers, "
					    "subtasks, default_provider)" },
		{ "{\"default_route\": {\"approach\": \"a\"}}", "default_route: missing \"provider\"" },
		{ "{\"default_route\": {\"provider\": \"p\"}}", "default_route: missing \"approach\"" },
		{ "{\"default_route\": {\"provider\": \"\", \"approach\": \"a\"}}", "default_route.provider: must not be empty" },
		{ "{\"default_route\": {\"provider\": \"p\", \"approach\": \"a\", \"text\": \"x\"}}",
		  "default_route.text: unknown key (known: provider, approach, model, score, task_type, steps, response)" },
		{ "{" MINIMAL ", \"routes\": [{\"provider\": \"p\", \"approach\": \"a\"}]}",
		  "routes[0]: missing \"intent_type\" (\"*\" matches every intent)" },
		{ "{" MINIMAL ", \"routes\": [{\"intent_type\": \"*\", \"provider\": \"p\", \"approach\": \"a\"},"
		  " {\"intent_type\": \"*\", \"text\": \"(\", \"provider\": \"p\", \"approach\": \"a\"}]}",
		  "routes[1].text: invalid regular expression: " },
		{ "{" MINIMAL ", \"routes\": [{\"intent_type\": \"*\", \"provider\": \"p\", \"approach\": \"a\", \"score\": -0.1}]}",
		  "routes[0].score: must be between 0 and 1" },
		{ "{" MINIMAL ", \"routes\": [{\"intent_type\": \"*\", \"provider\": \"p\", \"approach\": \"a\", \"score\": true}]}",
		  "routes[0].score: expected a number" },
		{ "{" MINIMAL ", \"routes\": [{\"intent_type\": 7, \"provider\": \"p\", \"approach\": \"a\"}]}",
		  "routes[0].intent_type: expected a string" },
		{ "{" MINIMAL ", \"routes\": [7]}", "routes[0]: expected an object" },
		{ "{" MINIMAL ", \"limits\": {\"max_connections\": 0}}", "limits.max_connections: must be between 1 and 65536" },
		{ "{" MINIMAL ", \"limits\": {\"max_output_bytes\": 1.5}}", "limits.max_output_bytes: expected an integer" },
		{ "{" MINIMAL ", \"limits\": {\"max_connections\": 99999999999999999999}}",
		  "limits.max_connections: must be between 1 and 65536" },
		{ "{" MINIMAL ", \"socket\": \"rel\"}", "socket: must be an absolute path" },
		{ "{" MINIMAL ", \"providers\": []}", "providers: expected an object" },
		{ "{" MINIMAL ", \"providers\": {\"a/b\": {\"argv\": [\"/x\"]}}}", "providers.a/b: a provider name is 1 to 64" },
		{ "{" MINIMAL ", \"providers\": {\"a\": {\"argv\": \"/x\"}}}", "providers.a.argv: expected an array of strings" },
		{ "{" MINIMAL ", \"providers\": {\"a\": {\"argv\": [\"./x\"]}}}",
		  "providers.a.argv[0]: must be an absolute path or a command name found in $PATH" },
		{ "{" MINIMAL ", \"providers\": {\"a\": {\"argv\": [\"\"]}}}", "providers.a.argv[0]: must be an absolute path" },
		{ "{" MINIMAL ", \"providers\": {\"a\": {\"argv\": [\"/x\"], \"timeout_ms\": 86400001}}}",
		  "providers.a.timeout_ms: must be between 1 and 86400000" },
		{ "{" MINIMAL ", \"providers\": {\"a\": {\"argv\": [\"/x\"], \"env\": {}}}}",
		  "providers.a.env: unknown key (known: argv, timeout_ms, model)" },
		{ "{" MINIMAL ", \"providers\": {\"a\": {\"argv\": [\"/x\"]}}, \"subtasks\": [{\"subtask_type\": \"*\", "
		  "\"provider\": \"b\"}]}",
		  "subtasks[0].provider: no such provider \"b\" (providers: a)" },
		{ "{" MINIMAL ", \"subtasks\": [{\"subtask_type\": \"*\", \"provider\": \"b\"}]}",
		  "subtasks[0].provider: no such provider \"b\" (providers: none)" },
		{ "{" MINIMAL ", \"providers\": {\"a\": {\"argv\": [\"/x\"]}}, \"subtasks\": [{\"subtask_type\": \"*\"}]}",
		  "subtasks[0]: missing \"provider\"" },
		{ "{" MINIMAL ", \"default_provider\": 1}", "default_provider: expected a string (a name in providers)" },
		/* The reader under it. */
		{ "{" MINIMAL ",\n \"routes\": [,]}", "line 2, column 13: " },
		{ "{" MINIMAL ", \"socket\": \"/a\", \"socket\": \"/b\"}", "line 1, column 71: duplicate key socket" },
		{ "{\"default_route\": {\"provider\": \"p\", \"approach\": \"a\", \"provider\": \"q\"}}",
		  "line 1, column 54: duplicate key default_route.provider" },
		{ "{\"default_route\": {\"provider\": \"p\", \"approach\": \"a\", \"score\": NaN}}", "line 1, column 63: " },
		{ "{" MINIMAL "} {}", "line 1, column " },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_free_ char *error = parse_error(cases[i].text);
		if (!error || strncmp(error, cases[i].error, strlen(cases[i].error)) != 0) {
			printf("# case %zu: expected \"%s...\", got \"%s\"\n", i, cases[i].error, error ?: "(parsed)");
			tap_failed_current++;
		}
	}
}

static void test_load_names_the_file(void)
{
	char dir[] = "/tmp/test-switch-config.XXXXXX", path[64];
	SwitchConfig *c = NULL;
	char *error = NULL;
	FILE *f;

	CHECK(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/c.json", dir);

	CHECK(switch_config_load(path, &c, &error) == -ENOENT);
	CHECK(error && strstr(error, "c.json: No such file or directory"));
	free(error);
	error = NULL;

	CHECK(switch_config_load(dir, &c, &error) < 0);
	CHECK(error && strstr(error, ": not a regular file"));
	free(error);
	error = NULL;

	f = fopen(path, "w");
	CHECK(f);
	if (f) {
		fputs("{\"default_route\": {\"provider\": \"p\", \"approach\": 1}}", f);
		fclose(f);
	}
	CHECK(switch_config_load(path, &c, &error) == -EINVAL);
	CHECK(error && strstr(error, "c.json: default_route.approach: expected a string"));
	free(error);
	error = NULL;

	f = fopen(path, "w");
	if (f) {
		fputs("{" MINIMAL "}\n", f);
		fclose(f);
	}
	CHECK(switch_config_load(path, &c, &error) == 0);
	CHECK(c && !error);
	switch_config_free(c);
	unlink(path);
	rmdir(dir);
}

static int strict(const char *text, bool unique, JsonProblem *p)
{
	json_object *o = NULL;
	int r = json_parse_strict(text, strlen(text), 32, unique, &o, p);

	json_object_put(o);
	return r;
}

static void test_strict_json(void)
{
	static const struct {
		const char *text;
		const char *problem; /* NULL: valid */
	} cases[] = {
		{ "{\"a\": [1, -2.5e3, true, false, null, \"\\u00e9\\ud83d\\ude00\"]}", NULL },
		{ "null", NULL },
		{ "  7  ", NULL },
		{ "{\"a\": NaN}", "not a JSON value" },
		{ "{\"a\": -Infinity}", "not a JSON value" },
		{ "{'a': 1}", "" },
		{ "{\"a\": \"x\ty\"}", "control character in a string" },
		{ "{\"a\": \"\\u0000\"}", "\\u0000 is not allowed" },
		{ "{\"a\": \"\\ud800\"}", "a lone high surrogate" },
		{ "{\"a\": \"\\udc00x\"}", "a lone low surrogate" },
		{ "{\"a\": 1} x", "" },
		{ "{\"a\": 1", "unexpected end of data" },
		{ "\"\xc3\x28\"", "invalid UTF-8" },
		{ "\"\xc0\xaf\"", "invalid UTF-8" },
	};
	JsonProblem p;

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		int r = strict(cases[i].text, false, &p);
		if (!cases[i].problem ? r != 0
				      : r != -EINVAL || strncmp(p.message, cases[i].problem, strlen(cases[i].problem)) != 0) {
			printf("# case %zu (%s): r=%d, problem \"%s\"\n", i, cases[i].text, r, r < 0 ? p.message : "");
			tap_failed_current++;
		}
	}

	/* A NUL byte, at its offset. */
	json_object *o = NULL;
	CHECK(json_parse_strict("{\"a\":\0}", 7, 32, false, &o, &p) == -EINVAL);
	CHECK_INTEQ(p.offset, 5);
	CHECK_STREQ(p.message, "NUL byte");

	/* Duplicates: only when asked; escapes decoded before comparing; per object. */
	CHECK(strict("{\"a\": 1, \"a\": 2}", false, &p) == 0);
	CHECK(strict("{\"a\": 1, \"\\u0061\": 2}", true, &p) == -EINVAL);
	CHECK_STREQ(p.message, "duplicate key a");
	CHECK(strict("{\"a\": {\"b\": 1}, \"c\": [{\"b\": 1}, {\"b\": 2, \"b\": 3}]}", true, &p) == -EINVAL);
	CHECK_STREQ(p.message, "duplicate key c[1].b");
	CHECK(strict("{\"a\": {\"b\": 1}, \"b\": {\"a\": 1}}", true, &p) == 0);

	/* Depth is bounded. */
	CHECK(strict("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", false, &p) == -EINVAL);

	unsigned line, column;
	json_offset_position("ab\ncd\nef", 7, &line, &column);
	CHECK_INTEQ(line, 3);
	CHECK_INTEQ(column, 2);
}

int main(void)
{
	TEST(test_minimal_and_defaults);
	TEST(test_every_key);
	TEST(test_errors_name_the_key_path);
	TEST(test_load_names_the_file);
	TEST(test_strict_json);
	return tap_done();
}
