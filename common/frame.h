/* SPDX-License-Identifier: MIT */
/*
 * Line framing for the wire protocol: one JSON message per '\n'-terminated
 * line. A LineBuf accumulates bytes from a socket and hands out complete
 * lines in place (no copy). A line longer than max_line is reported once as
 * -E2BIG; the caller decides what to do (the daemon replies and closes).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct LineBuf {
	char *data;      /* bytes received and not yet consumed, data[0..len) */
	size_t start;    /* first byte not yet handed out as a line */
	size_t len;      /* bytes in data */
	size_t cap;      /* allocated size of data */
	size_t scanned;  /* bytes after start already searched for '\n' */
	size_t max_line; /* longest line accepted, without its '\n' */
} LineBuf;

void linebuf_init(LineBuf *b, size_t max_line);
void linebuf_done(LineBuf *b);

/*
 * Read once from fd into the buffer (at most `want` bytes, grown as needed
 * but never beyond max_line + 1 unconsumed bytes plus `want`). Returns bytes
 * read (> 0), 0 at end of file, -EAGAIN, or another -errno.
 */
ssize_t linebuf_read(LineBuf *b, int fd, size_t want);

/* Append bytes as if they were read (tests, fuzzing). Returns 0 or -ENOMEM. */
int linebuf_append(LineBuf *b, const void *p, size_t n);

/*
 * The next complete line: returns 1 and points *ret_line at it (NUL-terminated
 * in place, '\n' removed, an optional '\r' before it kept), 0 when no complete
 * line is buffered, -E2BIG when the buffered line is already longer than
 * max_line. Lines handed out stay valid until the next linebuf_read/append.
 */
int linebuf_next(LineBuf *b, char **ret_line, size_t *ret_len);

/* Bytes buffered that are not yet part of a complete line. */
size_t linebuf_pending(const LineBuf *b);

/*
 * Give memory back once a large line is gone: an empty buffer larger than
 * keep bytes is freed, a mostly empty one is cut down to what it holds.
 * Invalidates lines handed out, like a read.
 */
void linebuf_shrink(LineBuf *b, size_t keep);
