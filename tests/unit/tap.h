/* SPDX-License-Identifier: MIT */
/*
 * A tiny TAP producer for the C unit tests: one test function per behaviour,
 * each a line "ok N - name" or "not ok N - name" for automake's tap-driver.
 *
 *   static void test_something(void) { CHECK(x == 1); CHECK_STREQ(a, "b"); }
 *   int main(void) { TEST(test_something); return tap_done(); }
 */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed_total, tap_failed_current;
static const char *tap_skip_reason;

#define CHECK(cond)                                                                                        \
	do {                                                                                               \
		if (!(cond)) {                                                                             \
			printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                  \
			tap_failed_current++;                                                              \
		}                                                                                          \
	} while (0)

#define CHECK_STREQ(a, b)                                                                                  \
	do {                                                                                               \
		const char *_a = (a), *_b = (b);                                                           \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                                                   \
			printf("# %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__, _a ? _a : "(null)",     \
			       _b ? _b : "(null)");                                                        \
			tap_failed_current++;                                                              \
		}                                                                                          \
	} while (0)

#define CHECK_INTEQ(a, b)                                                                                  \
	do {                                                                                               \
		long long _a = (long long)(a), _b = (long long)(b);                                        \
		if (_a != _b) {                                                                            \
			printf("# %s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, _a, _b);    \
			tap_failed_current++;                                                              \
		}                                                                                          \
	} while (0)

/* Call inside a test to skip it, with a reason. */
#define SKIP(reason)                                                                                       \
	do {                                                                                               \
		tap_skip_reason = (reason);                                                                \
		return;                                                                                    \
	} while (0)

#define TEST(fn)                                                                                           \
	do {                                                                                               \
		tap_failed_current = 0;                                                                    \
		tap_skip_reason = NULL;                                                                    \
		fn();                                                                                      \
		tap_n++;                                                                                   \
		if (tap_skip_reason)                                                                       \
			printf("ok %d - %s # SKIP %s\n", tap_n, #fn, tap_skip_reason);                     \
		else if (tap_failed_current) {                                                             \
			printf("not ok %d - %s\n", tap_n, #fn);                                            \
			tap_failed_total++;                                                                \
		} else                                                                                     \
			printf("ok %d - %s\n", tap_n, #fn);                                                \
		fflush(stdout);                                                                            \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed_total ? EXIT_FAILURE : EXIT_SUCCESS;
}
