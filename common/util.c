/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

int strcmp_ptr(const char *a, const char *b)
{
	if (a && b)
		return strcmp(a, b);
	return (a != NULL) - (b != NULL);
}

static uint64_t now_usec(clockid_t clock)
{
	struct timespec ts;

	/* Cannot fail for these clocks on Linux. */
	if (clock_gettime(clock, &ts) < 0)
		abort();
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t now_realtime_usec(void)
{
	return now_usec(CLOCK_REALTIME);
}

uint64_t now_monotonic_usec(void)
{
	return now_usec(CLOCK_MONOTONIC);
}

char *format_timestamp(char buf[static TIMESTAMP_MAX], uint64_t realtime_usec)
{
	/* Most calls fall in the same second as the one before (an envelope
	 * per request): that second's text is kept, per thread. */
	static __thread time_t last_sec = -1;
	static __thread char last[20];
	time_t sec = (time_t)(realtime_usec / USEC_PER_SEC);
	unsigned usec = (unsigned)(realtime_usec % USEC_PER_SEC);

	if (sec != last_sec) {
		struct tm tm;

		/* Years past 9999 do not fit RFC 3339; they can only come from garbage. */
		if (!gmtime_r(&sec, &tm) || tm.tm_year + 1900 > 9999) {
			snprintf(buf, TIMESTAMP_MAX, "9999-12-31T23:59:59.999999Z");
			return buf;
		}
		/* Years are 1970..9999 here, so "%Y" is always four digits: 19 chars. */
		strftime(last, sizeof(last), "%Y-%m-%dT%H:%M:%S", &tm);
		last_sec = sec;
	}
	memcpy(buf, last, 19);
	snprintf(buf + 19, TIMESTAMP_MAX - 19, ".%06uZ", usec);
	return buf;
}

/* n decimal digits at s, nothing else accepted. */
static int parse_digits(const char *s, unsigned n, unsigned *ret)
{
	unsigned v = 0;

	for (unsigned i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*ret = v;
	return 0;
}

int parse_timestamp(const char *s, uint64_t *ret_usec)
{
	/* Positions of the fields in "YYYY-MM-DDTHH:MM:SS.ffffffZ". */
	static const struct {
		unsigned pos, len;
	} fields[] = { { 0, 4 }, { 5, 2 }, { 8, 2 }, { 11, 2 }, { 14, 2 }, { 17, 2 }, { 20, 6 } };
	unsigned v[ELEMENTSOF(fields)];
	struct tm tm = {}, check;
	time_t t;

	if (!s || strlen(s) != 27 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || s[19] != '.' || s[26] != 'Z')
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(fields); i++)
		if (parse_digits(s + fields[i].pos, fields[i].len, &v[i]) < 0)
			return -EINVAL;
	if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 ||
	    v[5] > 59)
		return -EINVAL;

	tm.tm_year = (int)v[0] - 1900;
	tm.tm_mon = (int)v[1] - 1;
	tm.tm_mday = (int)v[2];
	tm.tm_hour = (int)v[3];
	tm.tm_min = (int)v[4];
	tm.tm_sec = (int)v[5];
	t = timegm(&tm);
	/* timegm() normalises Feb 30 into March; a round trip catches that. */
	if (t < 0 || !gmtime_r(&t, &check) || check.tm_mday != (int)v[2] || check.tm_mon != (int)v[1] - 1)
		return -EINVAL;

	*ret_usec = (uint64_t)t * USEC_PER_SEC + v[6];
	return 0;
}

int random_bytes(void *p, size_t n)
{
	uint8_t *q = p;

	while (n > 0) {
		ssize_t k = getrandom(q, n, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		q += k;
		n -= (size_t)k;
	}
	return 0;
}

/*
 * Id layout (UUIDv7, RFC 9562 "method 1"-like with a 26-bit counter):
 *   bytes 0-5   unix milliseconds, big-endian
 *   byte  6     version 7 (high nibble) | counter bits 25..22
 *   byte  7     counter bits 21..14
 *   byte  8     variant 0b10 | counter bits 13..8
 *   byte  9     counter bits 7..0
 *   bytes 10-15 random
 * Each new millisecond seeds the counter randomly below 2^24, which leaves at
 * least 2^25 increments before it would overflow; if it ever does, the
 * millisecond field is advanced instead, so order still holds. If the clock
 * steps back we keep using the last millisecond we issued. The state is
 * per process and not thread-safe: callers make ids from one thread.
 */
#define ID_COUNTER_BITS 26
#define ID_COUNTER_SEED_BITS 24

static uint64_t id_last_ms;
static uint32_t id_counter;

static void random_or_die(void *p, size_t n)
{
	/* getrandom() without GRND_NONBLOCK only fails on a broken kernel or seccomp. */
	if (random_bytes(p, n) < 0)
		abort();
}

/* Ids are made at request rate: draw random bytes a block at a time
 * rather than one getrandom() per id. */
static void id_random(void *p, size_t n)
{
	static uint8_t pool[512];
	static size_t avail;

	if (avail < n) {
		random_or_die(pool, sizeof(pool));
		avail = sizeof(pool);
	}
	memcpy(p, pool + sizeof(pool) - avail, n);
	avail -= n;
}

void id_new(Id *ret)
{
	uint64_t ms = now_realtime_usec() / USEC_PER_MSEC;
	uint8_t rnd[6];
	uint32_t seed;

	if (ms > id_last_ms) {
		id_random(&seed, sizeof(seed));
		id_last_ms = ms;
		id_counter = seed & ((UINT32_C(1) << ID_COUNTER_SEED_BITS) - 1);
	} else if (++id_counter >= (UINT32_C(1) << ID_COUNTER_BITS)) {
		id_last_ms++;
		id_counter = 0;
	}
	ms = id_last_ms;
	id_random(rnd, sizeof(rnd));

	for (int i = 0; i < 6; i++)
		ret->bytes[i] = (uint8_t)(ms >> (40 - 8 * i));
	ret->bytes[6] = (uint8_t)(0x70 | ((id_counter >> 22) & 0x0f));
	ret->bytes[7] = (uint8_t)(id_counter >> 14);
	ret->bytes[8] = (uint8_t)(0x80 | ((id_counter >> 8) & 0x3f));
	ret->bytes[9] = (uint8_t)id_counter;
	memcpy(ret->bytes + 10, rnd, sizeof(rnd));
}

char *id_to_string(const Id *id, char buf[static ID_STRING_MAX])
{
	static const char hex[] = "0123456789abcdef";
	char *p = buf;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[id->bytes[i] >> 4];
		*p++ = hex[id->bytes[i] & 15];
	}
	*p = '\0';
	return buf;
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -EINVAL;
}

int id_from_string(const char *s, Id *ret)
{
	Id id;
	size_t j = 0;

	if (!s || strlen(s) != 36)
		return -EINVAL;
	for (int i = 0; i < 16; i++) {
		int hi, lo;

		if (i == 4 || i == 6 || i == 8 || i == 10) {
			if (s[j] != '-')
				return -EINVAL;
			j++;
		}
		hi = unhex(s[j]);
		lo = unhex(s[j + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		id.bytes[i] = (uint8_t)(hi << 4 | lo);
		j += 2;
	}
	*ret = id;
	return 0;
}

char *id_new_string(char buf[static ID_STRING_MAX])
{
	Id id;

	id_new(&id);
	return id_to_string(&id, buf);
}

int parse_size(const char *s, uint64_t *ret)
{
	uint64_t v = 0;
	unsigned shift = 0;
	const char *p = s;

	if (!s || *p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10) {
			/* Bad syntax wins over range: "99999999999999999999X" is -EINVAL. */
			while (*p >= '0' && *p <= '9')
				p++;
			if (*p && (strchr("KkMmGgTt", *p) == NULL || p[1]))
				return -EINVAL;
			return -ERANGE;
		}
		v = v * 10 + (uint64_t)(*p - '0');
	}
	switch (*p) {
	case '\0':
		break;
	case 'K': case 'k': shift = 10; p++; break;
	case 'M': case 'm': shift = 20; p++; break;
	case 'G': case 'g': shift = 30; p++; break;
	case 'T': case 't': shift = 40; p++; break;
	default:
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;
	if (shift > 0 && v > (UINT64_MAX >> shift))
		return -ERANGE;

	*ret = v << shift;
	return 0;
}

int parse_int64(const char *s, int64_t *ret)
{
	const char *p = s;
	bool neg = false;
	uint64_t v = 0, limit;

	if (!s)
		return -EINVAL;
	if (*p == '-') {
		neg = true;
		p++;
	}
	if (*p < '0' || *p > '9')
		return -EINVAL;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (limit - d) / 10) {
			/* Finish checking the syntax: "99999999999999999999x" is -EINVAL. */
			while (*p >= '0' && *p <= '9')
				p++;
			return *p ? -EINVAL : -ERANGE;
		}
		v = v * 10 + d;
	}
	if (*p != '\0')
		return -EINVAL;

	*ret = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_valid_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

ssize_t utf8_invalid_at(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_valid_len(p + i);
		if (n == 0 || n > len - i)
			return (ssize_t)i;
		i += n;
	}
	return -1;
}

void utf8_scrub(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p) {
		size_t n = utf8_valid_len(p);
		if (n == 0) {
			*p++ = '?';
			continue;
		}
		p += n;
	}
}

static int mkdir_upto(const char *path, unsigned mode, bool last)
{
	_cleanup_free_ char *p = strdup(path);

	if (!p)
		return -ENOMEM;
	for (char *s = strchr(p + 1, '/');; s = strchr(s + 1, '/')) {
		if (!s && !last)
			return 0;
		if (s)
			*s = 0;
		if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST)
			return -errno;
		if (!s)
			return 0;
		*s = '/';
	}
}

int mkdir_p(const char *path, unsigned mode)
{
	return mkdir_upto(path, mode, true);
}

int mkdir_parents(const char *path, unsigned mode)
{
	return mkdir_upto(path, mode, false);
}

FileId file_id(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return (FileId){ 0, 0 };
	return (FileId){ (uint64_t)st.st_dev, (uint64_t)st.st_ino };
}

int unlink_if_same(const char *path, FileId id)
{
	FileId now = file_id(path);

	/* Not atomic (no unlink by inode): a replacement between the check
	 * and the unlink is still possible, a window of two system calls
	 * instead of the whole life of the daemon. */
	if (id.ino == 0 || now.dev != id.dev || now.ino != id.ino)
		return -ESTALE;
	return unlink(path) < 0 ? -errno : 0;
}
