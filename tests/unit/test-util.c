/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sha256.h"
#include "tap.h"
#include "util.h"

static void test_strcmp_ptr(void)
{
	CHECK(strcmp_ptr(NULL, NULL) == 0);
	CHECK(strcmp_ptr(NULL, "") < 0);
	CHECK(strcmp_ptr("", NULL) > 0);
	CHECK(strcmp_ptr("a", "b") < 0);
	CHECK(streq("abc", "abc"));
	CHECK(!streq("abc", NULL));
}

static void test_clocks(void)
{
	uint64_t a = now_monotonic_usec(), b = now_monotonic_usec();
	uint64_t rt = now_realtime_usec();

	CHECK(b >= a);
	/* After 2020-01-01 and before 2200: catches seconds/usec mix-ups. */
	CHECK(rt > UINT64_C(1577836800) * USEC_PER_SEC);
	CHECK(rt < UINT64_C(7258118400) * USEC_PER_SEC);
}

static void test_format_timestamp_epoch(void)
{
	char buf[TIMESTAMP_MAX];

	CHECK_STREQ(format_timestamp(buf, 0), "1970-01-01T00:00:00.000000Z");
}

static void test_format_timestamp_micros(void)
{
	char buf[TIMESTAMP_MAX];

	/* 2026-11-22T01:41:49 UTC = 1795311709 s. */
	CHECK_STREQ(format_timestamp(buf, UINT64_C(1795311709) * USEC_PER_SEC + 123456),
		    "2026-11-22T01:41:49.123456Z");
	CHECK_STREQ(format_timestamp(buf, UINT64_C(951782400) * USEC_PER_SEC + 7), "2000-02-29T00:00:00.000007Z");
	CHECK_INTEQ(strlen(buf), 27);
}

static void test_parse_timestamp_round_trip(void)
{
	static const uint64_t values[] = {
		0, 1, 999999, UINT64_C(1795311709123456), UINT64_C(951782400000007), UINT64_C(253402300799999999),
	};
	char buf[TIMESTAMP_MAX];

	for (size_t i = 0; i < ELEMENTSOF(values); i++) {
		uint64_t u = 42;
		CHECK_INTEQ(parse_timestamp(format_timestamp(buf, values[i]), &u), 0);
		CHECK(u == values[i]);
	}
	uint64_t u = 0;
	CHECK_INTEQ(parse_timestamp("2026-11-22T01:41:49.123456Z", &u), 0);
	CHECK(u == UINT64_C(1795311709123456));
}

static void test_parse_timestamp_bad(void)
{
	static const char *const bad[] = {
		"",
		"2026-11-22T01:41:49Z",
		"2026-11-22T01:41:49.123456",
		"2026-11-22T01:41:49.12345Z",
		"2026-11-22T01:41:49.1234567Z",
		"2026-11-22 01:41:49.123456Z",
		"2026-11-22t01:41:49.123456Z",
		"2026-11-22T01:41:49.123456z",
		"2026-11-22T01:41:49.123456+00:00",
		"2026-13-22T01:41:49.123456Z",
		"2026-00-22T01:41:49.123456Z",
		"2026-02-30T01:41:49.123456Z",
		"2025-02-29T00:00:00.000000Z",
		"2026-11-22T24:00:00.000000Z",
		"2026-11-22T01:60:49.123456Z",
		"2026-11-22T01:41:60.123456Z",
		"1969-12-31T23:59:59.999999Z",
		"2026-11-2xT01:41:49.123456Z",
		"+026-11-22T01:41:49.123456Z",
		" 2026-11-22T01:41:49.123456Z",
	};
	uint64_t u = 7;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		int r = parse_timestamp(bad[i], &u);
		if (r != -EINVAL)
			printf("# accepted \"%s\" (%d)\n", bad[i], r);
		CHECK_INTEQ(r, -EINVAL);
	}
	CHECK_INTEQ(parse_timestamp(NULL, &u), -EINVAL);
	CHECK(u == 7); /* untouched on failure */
	CHECK_INTEQ(parse_timestamp("2024-02-29T23:59:59.000000Z", &u), 0);
}

static void test_id_round_trip(void)
{
	char s[ID_STRING_MAX], s2[ID_STRING_MAX];
	Id a, b;

	id_new(&a);
	id_to_string(&a, s);
	CHECK_INTEQ(strlen(s), 36);
	CHECK_INTEQ(id_from_string(s, &b), 0);
	CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	CHECK_STREQ(id_to_string(&b, s2), s);

	CHECK_INTEQ(id_from_string("0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B", &b), 0);
	CHECK_STREQ(id_to_string(&b, s2), "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
	CHECK(b.bytes[0] == 0x01 && b.bytes[15] == 0x5b);
}

static void test_id_layout(void)
{
	uint64_t before = now_realtime_usec() / USEC_PER_MSEC;
	char s[ID_STRING_MAX];
	uint64_t ms = 0;
	Id id;

	id_new(&id);
	for (int i = 0; i < 6; i++)
		ms = ms << 8 | id.bytes[i];
	CHECK_INTEQ(id.bytes[6] >> 4, 7);        /* version */
	CHECK_INTEQ(id.bytes[8] >> 6, 2);        /* variant 0b10 */
	CHECK(ms >= before && ms <= before + 1000); /* unix milliseconds */

	id_to_string(&id, s);
	CHECK(s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-');
	CHECK(s[14] == '7');
	CHECK(strchr("89ab", s[19]) != NULL);
	for (size_t i = 0; i < 36; i++)
		CHECK(s[i] == '-' || (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'));
}

static void test_id_monotonic(void)
{
	char prev[ID_STRING_MAX], cur[ID_STRING_MAX];
	int bad = 0;

	id_new_string(prev);
	for (int i = 0; i < 10000; i++) {
		id_new_string(cur);
		if (strcmp(prev, cur) >= 0 && bad++ < 5)
			printf("# not increasing: %s then %s\n", prev, cur);
		memcpy(prev, cur, sizeof(cur));
	}
	CHECK_INTEQ(bad, 0);
}

static void test_id_random_tail(void)
{
	Id a, b;

	/* Two ids differ in their random tail, not only in the counter. */
	id_new(&a);
	id_new(&b);
	CHECK(memcmp(a.bytes + 10, b.bytes + 10, 6) != 0);
}

static void test_id_bad(void)
{
	static const char *const bad[] = {
		"",
		"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5",
		"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5bb",
		"0190a1b2c3d4-7e5f-8a9b-0c1d2e3f4a5b0",
		"0190a1b2-c3d4-7e5f-8a9b_0c1d2e3f4a5b",
		"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g",
		"g190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
		"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5 ",
		"{190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5}",
		"0190a1b2--3d4-7e5f-8a9b-0c1d2e3f4a5b",
	};
	Id id = { .bytes = { 9 } };

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		int r = id_from_string(bad[i], &id);
		if (r != -EINVAL)
			printf("# accepted \"%s\"\n", bad[i]);
		CHECK_INTEQ(r, -EINVAL);
	}
	CHECK_INTEQ(id_from_string(NULL, &id), -EINVAL);
	CHECK(id.bytes[0] == 9); /* untouched on failure */
}

static void test_parse_size(void)
{
	static const struct {
		const char *s;
		int r;
		uint64_t v;
	} t[] = {
		{ "0", 0, 0 },
		{ "17", 0, 17 },
		{ "1K", 0, 1024 },
		{ "1k", 0, 1024 },
		{ "256M", 0, UINT64_C(256) << 20 },
		{ "256m", 0, UINT64_C(256) << 20 },
		{ "3G", 0, UINT64_C(3) << 30 },
		{ "2t", 0, UINT64_C(2) << 40 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "16777215T", 0, UINT64_C(16777215) << 40 },
		{ "18446744073709551616", -ERANGE, 0 },
		{ "16777216T", -ERANGE, 0 },
		{ "99999999999999999999999", -ERANGE, 0 },
		{ "99999999999999999999999K", -ERANGE, 0 },
		{ "99999999999999999999999X", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "K", -EINVAL, 0 },
		{ "12X", -EINVAL, 0 },
		{ "12KB", -EINVAL, 0 },
		{ "12KK", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 },
		{ "1.5G", -EINVAL, 0 },
	};

	for (size_t i = 0; i < ELEMENTSOF(t); i++) {
		uint64_t v = 12345;
		int r = parse_size(t[i].s, &v);
		if (r != t[i].r)
			printf("# parse_size(\"%s\") = %d, expected %d\n", t[i].s, r, t[i].r);
		CHECK_INTEQ(r, t[i].r);
		CHECK(v == (t[i].r == 0 ? t[i].v : 12345));
	}
}

static void test_parse_int64(void)
{
	static const struct {
		const char *s;
		int r;
		int64_t v;
	} t[] = {
		{ "0", 0, 0 },
		{ "-0", 0, 0 },
		{ "42", 0, 42 },
		{ "-42", 0, -42 },
		{ "007", 0, 7 },
		{ "9223372036854775807", 0, INT64_MAX },
		{ "-9223372036854775808", 0, INT64_MIN },
		{ "9223372036854775808", -ERANGE, 0 },
		{ "-9223372036854775809", -ERANGE, 0 },
		{ "100000000000000000000", -ERANGE, 0 },
		{ "", -EINVAL, 0 },
		{ "-", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 },
		{ "12a", -EINVAL, 0 },
		{ "1e3", -EINVAL, 0 },
		{ "--1", -EINVAL, 0 },
		{ "100000000000000000000x", -EINVAL, 0 },
	};

	for (size_t i = 0; i < ELEMENTSOF(t); i++) {
		int64_t v = 12345;
		int r = parse_int64(t[i].s, &v);
		if (r != t[i].r)
			printf("# parse_int64(\"%s\") = %d, expected %d\n", t[i].s, r, t[i].r);
		CHECK_INTEQ(r, t[i].r);
		CHECK(v == (t[i].r == 0 ? t[i].v : 12345));
	}
	int64_t v;
	CHECK_INTEQ(parse_int64(NULL, &v), -EINVAL);
}

static void test_random_bytes(void)
{
	uint8_t a[64] = {}, b[64] = {};
	uint8_t big[100000];
	size_t zeros = 0;

	CHECK_INTEQ(random_bytes(a, sizeof(a)), 0);
	CHECK_INTEQ(random_bytes(b, sizeof(b)), 0);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	CHECK_INTEQ(random_bytes(a, 0), 0);

	/* A large request is filled completely, not only its first chunk. */
	memset(big, 0, sizeof(big));
	CHECK_INTEQ(random_bytes(big, sizeof(big)), 0);
	for (size_t i = sizeof(big) - 4096; i < sizeof(big); i++)
		zeros += big[i] == 0;
	CHECK(zeros < 100);
}

static void test_utf8_scrub(void)
{
	char ok[] = "plain \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
	char cut[] = "ab\xe2\x82";          /* a euro sign cut after two bytes */
	char bad[] = "\xc0\xaf\xed\xa0\x80x\xff"; /* overlong, surrogate, invalid */

	utf8_scrub(ok);
	CHECK_STREQ(ok, "plain \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	utf8_scrub(cut);
	CHECK_STREQ(cut, "ab??");
	utf8_scrub(bad);
	CHECK_STREQ(bad, "?????x?");
}

static void test_mkdir_p(void)
{
	char base[] = "/tmp/vx11-test-util-XXXXXX", path[128];
	struct stat st;

	umask(022); /* the modes below are the umask's to narrow */
	CHECK(mkdtemp(base) != NULL);
	CHECK(chmod(base, 0700) == 0);

	/* Parents only: the last component is left for the caller (a socket). */
	snprintf(path, sizeof path, "%s/a/b/sock", base);
	CHECK_INTEQ(mkdir_parents(path, 0755), 0);
	snprintf(path, sizeof path, "%s/a/b", base);
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755);
	snprintf(path, sizeof path, "%s/a/b/sock", base);
	CHECK(stat(path, &st) < 0 && errno == ENOENT);

	/* The whole path; what exists keeps its mode; again is fine. */
	snprintf(path, sizeof path, "%s/a/c/d", base);
	CHECK_INTEQ(mkdir_p(path, 0750), 0);
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0750);
	CHECK_INTEQ(mkdir_p(path, 0700), 0);
	CHECK(stat(base, &st) == 0 && (st.st_mode & 07777) == 0700);

	/* A file in the way is an error, not a silent success. */
	snprintf(path, sizeof path, "%s/f", base);
	fclose(fopen(path, "w"));
	snprintf(path, sizeof path, "%s/f/x", base);
	CHECK_INTEQ(mkdir_p(path, 0755), -ENOTDIR);

	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	CHECK(system(cmd) == 0);
}

/* A daemon removes its socket file on the way out only if it is still the
 * one it bound: one that replaced it since belongs to someone else. */
static void test_unlink_if_same(void)
{
	char base[] = "/tmp/vx11-test-util-XXXXXX", path[128], other[128];
	FileId mine, theirs;

	CHECK(mkdtemp(base) != NULL);
	snprintf(path, sizeof path, "%s/sock", base);
	snprintf(other, sizeof other, "%s/new", base);
	CHECK(file_id(path).ino == 0);
	CHECK_INTEQ(unlink_if_same(path, file_id(path)), -ESTALE);

	fclose(fopen(path, "w"));
	mine = file_id(path);
	CHECK(mine.ino != 0);
	/* Replaced (removed and made again, as a second daemon's bind does). */
	fclose(fopen(other, "w"));
	theirs = file_id(other);
	CHECK(rename(other, path) == 0);
	CHECK_INTEQ(unlink_if_same(path, mine), -ESTALE);
	CHECK(access(path, F_OK) == 0);
	/* The same file goes. */
	CHECK_INTEQ(unlink_if_same(path, theirs), 0);
	CHECK(access(path, F_OK) < 0 && errno == ENOENT);
	CHECK(rmdir(base) == 0);
}

/* FIPS 180-2's examples, and a length that crosses a block. */
static void test_sha256(void)
{
	char hex[SHA256_HEX_SIZE];
	char many[1000];
	Sha256 st;
	uint8_t sum[32];

	sha256_hex("abc", 3, hex);
	CHECK_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex("", 0, hex);
	CHECK_STREQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	CHECK_STREQ(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* In pieces, the same as whole. */
	memset(many, 'a', sizeof many);
	sha256_init(&st);
	for (int i = 0; i < 1000; i++)
		sha256_update(&st, many, 1000);
	sha256_final(&st, sum);
	CHECK_INTEQ(sum[0], 0xcd);
	CHECK_INTEQ(sum[31], 0xd0); /* one million "a": cdc76e5c...2e04 6539 b3ab 3fd0 */
}

int main(void)
{
	TEST(test_strcmp_ptr);
	TEST(test_clocks);
	TEST(test_format_timestamp_epoch);
	TEST(test_format_timestamp_micros);
	TEST(test_parse_timestamp_round_trip);
	TEST(test_parse_timestamp_bad);
	TEST(test_id_round_trip);
	TEST(test_id_layout);
	TEST(test_id_monotonic);
	TEST(test_id_random_tail);
	TEST(test_id_bad);
	TEST(test_parse_size);
	TEST(test_parse_int64);
	TEST(test_random_bytes);
	TEST(test_utf8_scrub);
	TEST(test_mkdir_p);
	TEST(test_unlink_if_same);
	TEST(test_sha256);
	return tap_done();
}
