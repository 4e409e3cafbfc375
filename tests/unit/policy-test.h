/* SPDX-License-Identifier: MIT */
/*
 * What the policy's test programs share: a temporary directory, policies
 * written with ' for " (J()), and loading one that must fail (CHECK_ERROR,
 * with the exact message) or succeed (load_ok). Included by one .c file each.
 */
#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy.h"
#include "tap.h"
#include "util.h"

static char tmpdir[] = "/tmp/vx11-test-policy-XXXXXX";

/* The policy text with every ' turned into ", formatted printf-style. */
_printf_(1, 2) static inline char *J(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	for (char *c = s; *c; c++)
		if (*c == '\'')
			*c = '"';
	return s;
}

static inline char *write_file(const char *name, const char *content, size_t len)
{
	char *path;
	FILE *f;

	if (asprintf(&path, "%s/%s", tmpdir, name) < 0)
		abort();
	f = fopen(path, "we");
	if (!f || fwrite(content, 1, len, f) != len || fclose(f) != 0)
		abort();
	return path;
}

/*
 * Loads a policy that must be refused; returns its message (malloc'd) after
 * checking the error code and that the out-parameter was left alone.
 */
static inline char *load_error_raw(const char *json)
{
	Policy *p = (Policy *)0x1;
	char *error = NULL;
	int r;

	r = policy_load_string(json, "test", &p, &error);
	if (r != -EINVAL)
		printf("# policy_load_string returned %d, expected -EINVAL\n", r);
	if (p != (Policy *)0x1) {
		printf("# the out-parameter was changed on failure\n");
		if (r >= 0)
			policy_free(p);
		return strdup("(loaded)");
	}
	return error ? error : strdup("(no message)");
}

static inline char *load_error(const char *sq_json)
{
	_cleanup_free_ char *json = J("%s", sq_json);

	return load_error_raw(json);
}

#define CHECK_ERROR(sq_json, expected)                                                                     \
	do {                                                                                               \
		_cleanup_free_ char *_e = load_error(sq_json);                                            \
		CHECK_STREQ(_e, expected);                                                                 \
	} while (0)

/* A policy with one task "x" whose keys (after command) are given. */
#define TASK(keys) "{'tasks':{'x':{'command':['/bin/true']" keys "}}}"
#define CHECK_TASK_ERROR(keys, expected) CHECK_ERROR(TASK(keys), expected)

static inline Policy *load_ok(const char *sq_json)
{
	_cleanup_free_ char *json = J("%s", sq_json), *error = NULL;
	Policy *p = NULL;
	int r;

	r = policy_load_string(json, "test", &p, &error);
	if (r < 0) {
		printf("# unexpected failure %d: %s\n", r, error ? error : "(no message)");
		return NULL;
	}
	return p;
}

/* A text file in tmpdir; returns its path (malloc'd). */
static inline char *write_text(const char *name, const char *content)
{
	return write_file(name, content, strlen(content));
}
