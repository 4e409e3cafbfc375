/* SPDX-License-Identifier: MIT */
/*
 * What `vx11d --database URL` accepts, and which backend opens it:
 *
 *   PATH, sqlite:PATH              SQLite (store-sqlite.c)
 *   postgresql://..., postgres://  PostgreSQL, a libpq URI (store-pg*.c)
 *
 * Anything else that starts like a URI scheme ("mysql://", "sqlite://", ...)
 * is refused rather than taken for a file name: a typo must not quietly make
 * a fresh database beside the real one. A file whose relative name looks like
 * a scheme ("a:b.db") is given as sqlite:a:b.db or ./a:b.db.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store-ops.h"
#include "store-sqlite-internal.h"
#include "store.h"
#ifdef HAVE_STORE_PG
#include "store-pg.h"
#endif

#define ACCEPTED "expected a path, sqlite:PATH, postgresql://... or postgres://..."

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool is_postgres(const char *url)
{
	return has_prefix(url, "postgresql://") || has_prefix(url, "postgres://");
}

/* The length of url's scheme (RFC 3986: a letter, then letters, digits, '+',
 * '-' or '.', then ':'), 0 when it has none. */
static size_t scheme_len(const char *url)
{
	size_t n;

	if (!((url[0] >= 'a' && url[0] <= 'z') || (url[0] >= 'A' && url[0] <= 'Z')))
		return 0;
	n = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
	return url[n] == ':' ? n : 0;
}

const char *store_url_sqlite_path(const char *url)
{
	if (!url || !*url)
		return NULL;
	if (has_prefix(url, "sqlite:")) {
		const char *path = url + strlen("sqlite:");
		/* sqlite://x has two readings (SQLAlchemy's relative ///x): refused, not guessed. */
		return *path && !has_prefix(path, "//") ? path : NULL;
	}
	return scheme_len(url) == 0 ? url : NULL;
}

int store_url_check(const char *url)
{
	size_t n;

	if (!url || !*url) {
		store_set_open_error("no database given: " ACCEPTED);
		return -EINVAL;
	}
	if (store_url_sqlite_path(url))
		return 0;
	if (is_postgres(url)) {
#ifdef HAVE_STORE_PG
		return 0;
#else
		store_set_open_error("this vx11d was built without PostgreSQL support (configure --with-libpq)");
		return -EPROTONOSUPPORT;
#endif
	}
	if (streq(url, "sqlite:")) {
		store_set_open_error("\"sqlite:\" without a path: " ACCEPTED);
		return -EINVAL;
	}
	if (has_prefix(url, "sqlite://")) {
		store_set_open_error("sqlite:// is ambiguous: give sqlite:PATH (an absolute path, or one relative to "
				     "the state directory)");
		return -EINVAL;
	}
	n = scheme_len(url);
	store_set_open_error("unknown database scheme \"%.*s:\": " ACCEPTED, (int)MIN(n, (size_t)64), url);
	return -EINVAL;
}

int store_open_url(const char *url, const char *node, Store **ret)
{
	const char *path;
	int r;

	r = store_url_check(url);
	if (r < 0)
		return r;
	path = store_url_sqlite_path(url);
	if (path)
		return store_sqlite_open(path, ret);
#ifdef HAVE_STORE_PG
	return store_pg_open(url, node, ret);
#else
	(void)node;
	return -EPROTONOSUPPORT; /* not reached: store_url_check() refused it */
#endif
}

/* Leave out a query parameter password=... of [q, end). */
static void drop_password_param(char *q)
{
	char *p = q;

	while (p && *p) {
		char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) + 1 : strlen(p);

		if (has_prefix(p, "password=")) {
			memmove(p, p + len, strlen(p + len) + 1);
			continue;
		}
		p = amp ? amp + 1 : NULL;
	}
	/* "?a=b&" or "?" left behind. */
	size_t l = strlen(q);
	if (l > 0 && q[l - 1] == '&')
		q[l - 1] = '\0';
}

char *store_url_redact(const char *url)
{
	char *s, *auth, *end, *at, *colon, *q;

	s = strdup(url ?: "");
	if (!s || !scheme_len(s) || !strstr(s, "://"))
		return s; /* a path: nothing secret in it */
	auth = strstr(s, "://") + 3;
	end = auth + strcspn(auth, "/?#");
	/* user:password@host: the last '@' of the authority ends the user info. */
	at = NULL;
	for (char *p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (at) {
		colon = memchr(auth, ':', (size_t)(at - auth));
		if (colon)
			memmove(colon, at, strlen(at) + 1);
	}
	q = strchr(s, '?');
	if (q) {
		drop_password_param(q + 1);
		if (q[1] == '\0')
			*q = '\0';
	}
	return s;
}
