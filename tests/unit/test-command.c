/* SPDX-License-Identifier: MIT */
/* intent.submit's argv, cwd and env for "command": "caller" task types
 * (daemon/api/command.c): what is kept, and each refusal's message. */
#include <stdlib.h>
#include <string.h>

#include "api/command.h"
#include "tap.h"

static char *build(const char *argv, const char *cwd, const char *env, RpcError *err)
{
	_cleanup_json_ json_object *a = argv ? json_tokener_parse(argv) : NULL, *e = env ? json_tokener_parse(env) : NULL;
	char *json = NULL;

	*err = (RpcError){};
	if (command_build(a, cwd, e, &json, err) < 0)
		return NULL;
	return json;
}

#define CHECK_REFUSED(argv, cwd, env, expected)                                                             \
	do {                                                                                               \
		RpcError _e;                                                                               \
		_cleanup_free_ char *_j = build(argv, cwd, env, &_e);                                      \
		CHECK(_j == NULL);                                                                         \
		CHECK_INTEQ(_e.code, RPC_INVALID_PARAMS);                                                  \
		CHECK_STREQ(_e.message, expected);                                                         \
	} while (0)

static void test_kept(void)
{
	RpcError err;
	_cleanup_free_ char *a = build("[\"/bin/echo\",\"a b\",\"\"]", NULL, NULL, &err),
			    *b = build("[\"/bin/sh\"]", "/srv/x", "{\"PATH\":\"/usr/bin\",\"_x1\":\"\"}", &err);

	CHECK_STREQ(a, "{\"argv\":[\"/bin/echo\",\"a b\",\"\"]}");
	CHECK_STREQ(b, "{\"argv\":[\"/bin/sh\"],\"cwd\":\"/srv/x\",\"env\":{\"PATH\":\"/usr/bin\",\"_x1\":\"\"}}");
}

static void test_refused(void)
{
	char big[5000];

	CHECK_REFUSED("[]", NULL, NULL,
		      "invalid params: argv: expected an array of 1 to 255 strings (the command line; no shell)");
	CHECK_REFUSED("\"/bin/true\"", NULL, NULL,
		      "invalid params: argv: expected an array of 1 to 255 strings (the command line; no shell)");
	CHECK_REFUSED("[\"/bin/echo\", 3]", NULL, NULL,
		      "invalid params: argv[1]: expected a string of at most 4096 bytes without NUL");
	CHECK_REFUSED("[\"/bin/echo\", \"a\\u0000b\"]", NULL, NULL,
		      "invalid params: argv[1]: expected a string of at most 4096 bytes without NUL");
	CHECK_REFUSED("[\"echo\"]", NULL, NULL,
		      "invalid params: argv[0]: must be an absolute path (nothing is looked up in PATH)");
	CHECK_REFUSED("[\"/bin/true\"]", "tmp", NULL,
		      "invalid params: cwd: expected an absolute path of at most 4096 bytes");
	CHECK_REFUSED("[\"/bin/true\"]", NULL, "{\"VX11_SOCKET\":\"/x\"}",
		      "invalid params: env.VX11_SOCKET: set by the daemon for every daughter; choose another name");
	CHECK_REFUSED("[\"/bin/true\"]", NULL, "{\"WATCHDOG_USEC\":\"1\"}",
		      "invalid params: env.WATCHDOG_USEC: set by the daemon for every daughter; choose another name");
	CHECK_REFUSED("[\"/bin/true\"]", NULL, "{\"9LIVES\":\"x\"}",
		      "invalid params: env: \"9LIVES\" is not a variable name (A-Z a-z 0-9 _, not starting with a "
		      "digit)");
	CHECK_REFUSED("[\"/bin/true\"]", NULL, "{\"A=B\":\"x\"}",
		      "invalid params: env: \"A=B\" is not a variable name (A-Z a-z 0-9 _, not starting with a digit)");
	CHECK_REFUSED("[\"/bin/true\"]", NULL, "{\"A\":[]}",
		      "invalid params: env.A: expected a string of at most 4096 bytes without NUL");

	/* 255 arguments at most, and 64 KiB in all. */
	{
		_cleanup_free_ char *argv = NULL;
		size_t n = 0;
		argv = malloc(256 * 5000 + 16);
		n += (size_t)sprintf(argv, "[\"/bin/true\"");
		for (int i = 0; i < 255; i++)
			n += (size_t)sprintf(argv + n, ",\"x\"");
		strcpy(argv + n, "]");
		CHECK_REFUSED(argv, NULL, NULL,
			      "invalid params: argv: expected an array of 1 to 255 strings (the command line; no shell)");
		memset(big, 'y', 4000);
		big[4000] = 0;
		n = (size_t)sprintf(argv, "[\"/bin/true\"");
		for (int i = 0; i < 20; i++)
			n += (size_t)sprintf(argv + n, ",\"%s\"", big);
		strcpy(argv + n, "]");
		CHECK_REFUSED(argv, NULL, NULL,
			      "invalid params: argv, cwd and env together take 80082 bytes as JSON, more than 65536");
	}
}

int main(void)
{
	TEST(test_kept);
	TEST(test_refused);
	return tap_done();
}
