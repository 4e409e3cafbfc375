/* SPDX-License-Identifier: MIT */
/*
 * The database URLs of vx11d --database (store-url.c): which forms open
 * SQLite (the file appears where the URL says), which are refused and with
 * what store_last_error(NULL), what a failed open of one backend leaves for
 * the next, and the redaction of passwords for daemon.status and the log.
 * On real files in a temporary directory.
 */
#include <errno.h>
#include <sys/stat.h>

#include "store-test.h"
#include "store/store-ops.h"

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void test_sqlite_forms_open_the_file(void)
{
	char path[256], url[300];
	Store *s = NULL;

	/* sqlite:PATH */
	new_db_path(path, sizeof path);
	snprintf(url, sizeof url, "sqlite:%s", path);
	CHECK_INTEQ(store_url_check(url), 0);
	CHECK_STREQ(store_url_sqlite_path(url), path);
	CHECK_INTEQ(store_open_url(url, NULL, &s), 0);
	CHECK(s);
	CHECK(file_exists(path));
	if (s)
		CHECK_STREQ(store_backend_name(s), "sqlite");
	store_free(s);
	s = NULL;

	/* A plain path; the node name means nothing to SQLite. */
	new_db_path(path, sizeof path);
	CHECK_STREQ(store_url_sqlite_path(path), path);
	CHECK_INTEQ(store_open_url(path, "node-a", &s), 0);
	CHECK(file_exists(path));
	if (s)
		CHECK_STREQ(store_backend_name(s), "sqlite");
	store_free(s);

	/* What the relative forms name (the daemon puts them under its state dir). */
	CHECK_STREQ(store_url_sqlite_path("vx11.db"), "vx11.db");
	CHECK_STREQ(store_url_sqlite_path("./a:b.db"), "./a:b.db");
	CHECK_STREQ(store_url_sqlite_path("sqlite:a:b.db"), "a:b.db");
}

static void test_a_sqlite_open_failure_is_reported(void)
{
	char url[300];
	Store *s = NULL;

	snprintf(url, sizeof url, "sqlite:%s/no-such-dir/db.sqlite", tmpdir);
	CHECK_INTEQ(store_open_url(url, NULL, &s), -ENOENT);
	CHECK(s == NULL);
	CHECK(strstr(store_last_error(NULL), "no-such-dir/db.sqlite"));
	CHECK(strstr(store_last_error(NULL), "No such file or directory"));
}

static void check_refused(const char *url, int error, const char *message)
{
	Store *s = NULL;

	CHECK(store_url_sqlite_path(url) == NULL);
	store_set_open_error("%s", "");
	CHECK_INTEQ(store_url_check(url), error);
	CHECK_STREQ(store_last_error(NULL), message);
	store_set_open_error("%s", "");
	CHECK_INTEQ(store_open_url(url, "node-a", &s), error);
	CHECK(s == NULL);
	CHECK_STREQ(store_last_error(NULL), message);
	if (!streq(store_last_error(NULL), message))
		printf("# for %s\n", url);
}

#define ACCEPTED "expected a path, sqlite:PATH, postgresql://... or postgres://..."

static void test_other_forms_are_refused(void)
{
	check_refused("mysql://x", -EINVAL, "unknown database scheme \"mysql:\": " ACCEPTED);
	check_refused("file:/var/lib/vx11/vx11.db", -EINVAL, "unknown database scheme \"file:\": " ACCEPTED);
	check_refused("postgresql:db", -EINVAL, "unknown database scheme \"postgresql:\": " ACCEPTED);
	check_refused("a:b.db", -EINVAL, "unknown database scheme \"a:\": " ACCEPTED);
	check_refused("sqlite:", -EINVAL, "\"sqlite:\" without a path: " ACCEPTED);
	check_refused("sqlite:///tmp/x.db", -EINVAL,
		      "sqlite:// is ambiguous: give sqlite:PATH (an absolute path, or one relative to the state "
		      "directory)");
	check_refused("", -EINVAL, "no database given: " ACCEPTED);
}

static void test_postgresql_without_support(void)
{
#ifdef HAVE_STORE_PG
	SKIP("built with the PostgreSQL backend");
#else
	static const char msg[] = "this vx11d was built without PostgreSQL support (configure --with-libpq)";

	check_refused("postgresql://vx11@db.example/vx11", -EPROTONOSUPPORT, msg);
	check_refused("postgres://db.example", -EPROTONOSUPPORT, msg);
#endif
}

/* store_last_error(NULL) is whichever open failed last on this thread. */
static void test_open_error_follows_the_last_failure(void)
{
	char url[300];
	Store *s = NULL;

	CHECK_INTEQ(store_open_url("mysql://x", NULL, &s), -EINVAL);
	CHECK(strstr(store_last_error(NULL), "mysql"));
	snprintf(url, sizeof url, "%s/none/db.sqlite", tmpdir);
	CHECK(store_open_url(url, NULL, &s) < 0);
	CHECK(strstr(store_last_error(NULL), "none/db.sqlite"));
	CHECK(!strstr(store_last_error(NULL), "mysql"));
	CHECK(store_free(NULL) == NULL);
}

static void check_redact(const char *url, const char *expected)
{
	_cleanup_free_ char *got = store_url_redact(url);
	CHECK_STREQ(got, expected);
}

static void test_redact(void)
{
	check_redact("/var/lib/vx11/vx11.db", "/var/lib/vx11/vx11.db");
	check_redact("sqlite:/var/lib/vx11/vx11.db", "sqlite:/var/lib/vx11/vx11.db");
	check_redact("postgresql://db.example/vx11", "postgresql://db.example/vx11");
	check_redact("postgresql://vx11@db.example/vx11", "postgresql://vx11@db.example/vx11");
	check_redact("postgresql://vx11:s3cret@db.example:5432/vx11", "postgresql://vx11@db.example:5432/vx11");
	/* A password with an '@' the user did not encode: the last one ends it. */
	check_redact("postgres://vx11:a@b@db/vx11", "postgres://vx11@db/vx11");
	check_redact("postgresql://db/vx11?password=s3cret", "postgresql://db/vx11");
	check_redact("postgresql://db/vx11?sslmode=require&password=s3cret&connect_timeout=5",
		     "postgresql://db/vx11?sslmode=require&connect_timeout=5");
	check_redact("postgresql://db/vx11?sslmode=require&password=s3cret", "postgresql://db/vx11?sslmode=require");
	check_redact("mysql://root:hunter2@x", "mysql://root@x");
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %m\n");
		return EXIT_FAILURE;
	}

	TEST(test_sqlite_forms_open_the_file);
	TEST(test_a_sqlite_open_failure_is_reported);
	TEST(test_other_forms_are_refused);
	TEST(test_postgresql_without_support);
	TEST(test_open_error_follows_the_last_failure);
	TEST(test_redact);

	remove_tmpdir();
	return tap_done();
}
