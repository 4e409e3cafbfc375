/* SPDX-License-Identifier: MIT */
/*
 * What every store test program shares (test-store, test-store-list,
 * test-store-txn, test-store-migrate, test-store-runner): a temporary
 * directory of real database files, opening them, comparing records, and owned
 * copies of what a walk produced. The first three also share
 * store-core-test.h. Included by one .c file each; every helper is static
 * inline so a program that does not use one is not warned about it.
 */
#pragma once

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_STORE_PG
#include <libpq-fe.h>
#endif

#include "store/store.h"
#include "tap.h"

static char tmpdir[] = "/tmp/vx11-test-store-XXXXXX";
static unsigned db_counter;

#define CHECK_STR_OR_NULL(a, b)                                                                            \
	do {                                                                                               \
		if (!(a) || !(b))                                                                          \
			CHECK((a) == NULL && (b) == NULL);                                                 \
		else                                                                                       \
			CHECK_STREQ(a, b);                                                                 \
	} while (0)

/* VX11_TEST_DATABASE, a PostgreSQL URI (tests/unit/with-pg.sh sets it):
 * the same tests then run on the PostgreSQL backend, each new database a
 * fresh schema in that one. */
static inline const char *test_pg_url(void)
{
	const char *u = getenv("VX11_TEST_DATABASE");
	return u && *u ? u : NULL;
}

static inline bool test_on_pg(void)
{
	return test_pg_url() != NULL;
}

/* A test of what only SQLite has (its files, its WAL, its migrations from
 * old files): skipped on PostgreSQL, saying why. */
#define SKIP_ON_PG(why)                                                                                    \
	do {                                                                                               \
		if (test_on_pg())                                                                          \
			SKIP("SQLite only: " why);                                                         \
	} while (0)

/* A new, empty database: a file name, or a URI naming a new schema. */
static inline void new_db_path(char *buf, size_t size)
{
	const char *base = test_pg_url();

	++db_counter;
	if (!base) {
		snprintf(buf, size, "%s/db%u.sqlite", tmpdir, db_counter);
		return;
	}
#ifdef HAVE_STORE_PG
	char sql[96];
	PGconn *c = PQconnectdb(base);
	PGresult *res;

	snprintf(sql, sizeof sql, "CREATE SCHEMA t%d_%u", (int)getpid(), db_counter);
	res = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		printf("Bail out! %s: %s\n", sql, PQerrorMessage(c));
		exit(EXIT_FAILURE);
	}
	PQclear(res);
	PQfinish(c);
	/* The schema is the connection's search_path (FLEET-DESIGN.md 2.2). */
	snprintf(buf, size, "%s%soptions=-csearch_path%%3Dt%d_%u", base, strchr(base, '?') ? "&" : "?",
		 (int)getpid(), db_counter);
#else
	printf("Bail out! VX11_TEST_DATABASE is set, and this vx11d has no PostgreSQL backend\n");
	exit(EXIT_FAILURE);
#endif
}

#ifdef HAVE_STORE_PG
/* The first column of the first row sql gives on the database url names
 * (its search_path too), as a number; -1 on an error (said as a comment).
 * A statement without rows gives 0. */
static inline int64_t test_pg_query(const char *url, const char *sql)
{
	PGconn *c = PQconnectdb(url);
	PGresult *res = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
	int64_t v = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
		v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	else if (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK)
		v = 0;
	else
		printf("# %s: %s", sql, PQerrorMessage(c));
	PQclear(res);
	PQfinish(c);
	return v;
}
#endif

/* A path or a URI (store_open_url()). Each handle is a node of its own: on
 * PostgreSQL a node's name is held by one session at a time, and the tests
 * open a second handle on a database the first still has. */
static inline int test_open(const char *path, Store **ret)
{
	static unsigned n;
	char node[32];

	snprintf(node, sizeof node, "test-node-%u", n++);
	return store_open_url(path, node, ret);
}

static inline Store *open_path(const char *path)
{
	Store *s = NULL;
	int r = test_open(path, &s);

	if (r < 0)
		printf("# store_open_url(%s): %d %s\n", path, r, store_last_error(NULL));
	CHECK_INTEQ(r, 0);
	return r < 0 ? NULL : s;
}

static inline Store *open_new(char *path, size_t size)
{
	new_db_path(path, size);
	return open_path(path);
}

static inline void check_daughter_eq(const Daughter *a, const Daughter *b)
{
	CHECK_STREQ(a->id, b->id);
	CHECK_STREQ(a->task_id, b->task_id);
	CHECK_STR_OR_NULL(a->name, b->name);
	CHECK_STR_OR_NULL(a->purpose, b->purpose);
	CHECK_STR_OR_NULL(a->status, b->status);
	CHECK_INTEQ(a->mutation_level, b->mutation_level);
	CHECK_INTEQ(a->started_at, b->started_at);
	CHECK_INTEQ(a->last_heartbeat_at, b->last_heartbeat_at);
	CHECK_INTEQ(a->ended_at, b->ended_at);
	CHECK_STR_OR_NULL(a->error_last, b->error_last);
	CHECK_INTEQ(a->ttl_seconds, b->ttl_seconds);
	CHECK_STR_OR_NULL(a->tools_json, b->tools_json);
}

static inline void check_attempt_eq(const Attempt *a, const Attempt *b)
{
	CHECK_STREQ(a->id, b->id);
	CHECK_STREQ(a->daughter_id, b->daughter_id);
	CHECK_STREQ(a->task_id, b->task_id);
	CHECK_INTEQ(a->number, b->number);
	CHECK_STR_OR_NULL(a->status, b->status);
	CHECK_STR_OR_NULL(a->reason, b->reason);
	CHECK_INTEQ(a->started_at, b->started_at);
	CHECK_INTEQ(a->finished_at, b->finished_at);
	CHECK_INTEQ(a->exit_code, b->exit_code);
	CHECK_INTEQ(a->signal, b->signal);
	CHECK(a->cpu_usec == b->cpu_usec);
	CHECK(a->memory_peak_bytes == b->memory_peak_bytes);
	CHECK_INTEQ(a->tokens_used_cli, b->tokens_used_cli);
	CHECK_INTEQ(a->tokens_used_local, b->tokens_used_local);
	CHECK_STR_OR_NULL(a->switch_model_used, b->switch_model_used);
	CHECK_STR_OR_NULL(a->cli_provider_used, b->cli_provider_used);
	CHECK_STR_OR_NULL(a->error_message, b->error_message);
	CHECK_INTEQ(a->uid, b->uid);
	CHECK_STR_OR_NULL(a->cgroup, b->cgroup);
	CHECK_STR_OR_NULL(a->reported_status, b->reported_status);
	CHECK_STR_OR_NULL(a->status_text, b->status_text);
	CHECK_STR_OR_NULL(a->unapplied, b->unapplied);
	CHECK_STR_OR_NULL(a->result_json, b->result_json);
	CHECK_STR_OR_NULL(a->confinement, b->confinement);
	CHECK_STR_OR_NULL(a->node, b->node);
}

/* ---- owned copies of what a walk produced ---- */

static inline char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

typedef struct Daughters {
	Daughter d[16];
	size_t n;
	int stop_after; /* > 0: return 1 after this many */
} Daughters;

static inline int copy_daughter(const Daughter *x, void *userdata)
{
	Daughters *ds = userdata;
	Daughter *d;

	if (ds->n >= ELEMENTSOF(ds->d))
		return -ENOBUFS;
	d = &ds->d[ds->n++];
	*d = *x;
	d->name = dup_or_null(x->name);
	d->purpose = dup_or_null(x->purpose);
	d->status = dup_or_null(x->status);
	d->error_last = dup_or_null(x->error_last);
	d->tools_json = dup_or_null(x->tools_json);
	return ds->stop_after > 0 && ds->n >= (size_t)ds->stop_after;
}

static inline void daughters_done(Daughters *ds)
{
	for (size_t i = 0; i < ds->n; i++)
		daughter_done(&ds->d[i]);
	ds->n = 0;
}

/* A new list of daughters in ret, whatever it held before. */
static inline int list_daughters(Store *s, const char *task_id, const char *status, uid_t owner,
				 unsigned limit, Daughters *ret)
{
	daughters_done(ret);
	return store_daughter_list(s, task_id, status, owner, limit, copy_daughter, ret);
}

typedef struct Attempts {
	Attempt a[16];
	size_t n;
	int stop_after; /* > 0: return 1 after this many */
} Attempts;

static inline int copy_attempt(const Attempt *x, void *userdata)
{
	Attempts *as = userdata;
	Attempt *a;

	if (as->n >= ELEMENTSOF(as->a))
		return -ENOBUFS;
	a = &as->a[as->n++];
	*a = *x;
	/* Every string: the callback's are borrowed. */
	a->status = dup_or_null(x->status);
	a->reason = dup_or_null(x->reason);
	a->switch_model_used = dup_or_null(x->switch_model_used);
	a->cli_provider_used = dup_or_null(x->cli_provider_used);
	a->error_message = dup_or_null(x->error_message);
	a->cgroup = dup_or_null(x->cgroup);
	a->reported_status = dup_or_null(x->reported_status);
	a->status_text = dup_or_null(x->status_text);
	a->unapplied = dup_or_null(x->unapplied);
	a->result_json = dup_or_null(x->result_json);
	a->confinement = dup_or_null(x->confinement);
	a->node = dup_or_null(x->node);
	return as->stop_after > 0 && as->n >= (size_t)as->stop_after;
}

static inline void attempts_done(Attempts *as)
{
	for (size_t i = 0; i < as->n; i++)
		attempt_done(&as->a[i]);
	as->n = 0;
}

static inline void remove_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(tmpdir);
}
