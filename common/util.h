/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by vx11d, vx11ctl and the tests: scope-based cleanup,
 * time, ids and sizes. Errors are negative errno values, as everywhere here.
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Hand ownership over: the variable is reset so its cleanup does nothing. */
#define TAKE_PTR(p)                                                                                        \
	({                                                                                                 \
		__typeof__(p) _p_ = (p);                                                                   \
		(p) = NULL;                                                                                \
		_p_;                                                                                       \
	})
#define TAKE_FD(fd)                                                                                        \
	({                                                                                                 \
		int _fd_ = (fd);                                                                           \
		(fd) = -1;                                                                                 \
		_fd_;                                                                                      \
	})

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Close if open; returns -1 to assign back: fd = safe_close(fd). */
static inline int safe_close(int fd)
{
	closep(&fd);
	return -1;
}

/* Like strcmp, but NULL sorts first and equals NULL. */
int strcmp_ptr(const char *a, const char *b);
static inline bool streq(const char *a, const char *b)
{
	return strcmp_ptr(a, b) == 0;
}

/* Clocks, in microseconds. */
#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)
uint64_t now_realtime_usec(void);
uint64_t now_monotonic_usec(void);

/* RFC 3339 UTC with microseconds: "2026-11-22T01:41:49.123456Z" (27 chars). */
#define TIMESTAMP_MAX 32
char *format_timestamp(char buf[static TIMESTAMP_MAX], uint64_t realtime_usec);
int parse_timestamp(const char *s, uint64_t *ret_usec);

/*
 * Ids are time-ordered UUIDs (version 7 layout): 48 bits of milliseconds,
 * then a counter that keeps ids from one process strictly increasing, then
 * random bits. Time order keeps SQLite's index inserts at the right edge of
 * the b-tree, so the store does not slow down as it grows.
 */
#define ID_STRING_MAX 37 /* 36 chars + NUL */
typedef struct Id {
	uint8_t bytes[16];
} Id;
void id_new(Id *ret);
char *id_to_string(const Id *id, char buf[static ID_STRING_MAX]);
int id_from_string(const char *s, Id *ret);
/* A fresh id, formatted. */
char *id_new_string(char buf[static ID_STRING_MAX]);

/* Sizes with optional K, M, G, T suffixes (powers of 1024): "256M". */
int parse_size(const char *s, uint64_t *ret);

/* Fill with random bytes from getrandom(2). */
int random_bytes(void *p, size_t n);

/* Replace every byte that is not part of a valid UTF-8 sequence with '?', in
 * place, so text cut at a byte limit is still valid in a JSON reply. */
void utf8_scrub(char *s);
/* Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF): -1 when all len bytes of s are valid, else the offset of the
 * first byte that is not. s must be NUL-terminated at len or later. */
ssize_t utf8_invalid_at(const char *s, size_t len);

/* mkdir -p: create path and its missing parents with mode; directories that
 * exist keep theirs. mkdir_parents() stops short of the last component. */
int mkdir_p(const char *path, unsigned mode);
int mkdir_parents(const char *path, unsigned mode);

/* A file by device and inode, to tell later whether a path still names it. */
typedef struct FileId {
	uint64_t dev, ino;
} FileId;
/* The file at path itself (not a symlink's target); {0, 0} when none. */
FileId file_id(const char *path);
/* unlink(path) only while path is still the file id names: a socket file a
 * daemon bound may since have been replaced by another daemon's, which is
 * not its to remove. 0 when removed, -ESTALE when not the same, -errno. */
int unlink_if_same(const char *path, FileId id);

/* Strict decimal integer parsing, whole string. */
int parse_int64(const char *s, int64_t *ret);
