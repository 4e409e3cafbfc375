/* SPDX-License-Identifier: MIT */
/*
 * LineBuf keeps data[start..len) as the bytes not yet handed out. Of those,
 * the first `scanned` are known to hold no '\n', so a long line arriving in
 * small reads is searched once in total, not once per read. Consumed bytes
 * at the front are reclaimed only when the free tail is too short for the
 * next read; when the caller drains all complete lines after every read (as
 * the daemon does), what moves is one partial line, so each byte is moved
 * about once.
 *
 * Memory is bounded: a read never leaves more than max_line + 1 + want bytes
 * unconsumed. A caller that drains lines after each read never reaches that
 * bound, because linebuf_next() reports -E2BIG as soon as a partial line
 * exceeds max_line; one that keeps reading without draining gets -ENOBUFS.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "util.h"

#define LINEBUF_DEFAULT_WANT ((size_t)64 * 1024)
#define LINEBUF_MIN_CAP ((size_t)4096)

static size_t add_sat(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

void linebuf_init(LineBuf *b, size_t max_line)
{
	*b = (LineBuf){ .max_line = max_line };
}

void linebuf_done(LineBuf *b)
{
	free(b->data);
	linebuf_init(b, b->max_line);
}

/*
 * Make room for n more bytes plus the spare byte. Capacity doubles, but never
 * beyond `limit` unless the request itself needs more.
 */
static int linebuf_reserve(LineBuf *b, size_t n, size_t limit)
{
	size_t unconsumed = b->len - b->start, need, cap;
	char *p;

	/* Lines handed out stay valid until here; now the space can be reused. */
	if (b->start == b->len)
		b->start = b->len = 0;

	if (b->cap - b->len > n)
		return 0;

	if (b->start > 0) {
		memmove(b->data, b->data + b->start, unconsumed);
		b->start = 0;
		b->len = unconsumed;
		if (b->cap - b->len > n)
			return 0;
	}

	need = add_sat(add_sat(unconsumed, n), 1);
	if (need == SIZE_MAX)
		return -ENOMEM;
	cap = MAX(MAX(b->cap, LINEBUF_MIN_CAP / 2) * 2, need);
	if (cap > limit)
		cap = MAX(limit, need);

	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

/* The most unconsumed data we ever need to hold for a read of `want` bytes, plus the spare byte. */
static size_t linebuf_limit(const LineBuf *b, size_t want)
{
	return add_sat(add_sat(add_sat(b->max_line, 1), want), 1);
}

ssize_t linebuf_read(LineBuf *b, int fd, size_t want)
{
	size_t unconsumed, bound;
	ssize_t k;
	int r;

	if (want == 0)
		want = LINEBUF_DEFAULT_WANT;

	bound = add_sat(add_sat(b->max_line, 1), want);
	unconsumed = b->len - b->start;
	if (unconsumed >= bound)
		return -ENOBUFS;
	want = MIN(want, bound - unconsumed);

	r = linebuf_reserve(b, want, linebuf_limit(b, want));
	if (r < 0)
		return r;

	do
		k = read(fd, b->data + b->len, want);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;

	b->len += (size_t)k;
	return k;
}

int linebuf_append(LineBuf *b, const void *p, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	r = linebuf_reserve(b, n, linebuf_limit(b, n));
	if (r < 0)
		return r;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int linebuf_next(LineBuf *b, char **ret_line, size_t *ret_len)
{
	size_t unconsumed = b->len - b->start, k;
	char *line = b->data + b->start, *nl;

	if (unconsumed == 0)
		return 0;

	nl = memchr(line + b->scanned, '\n', unconsumed - b->scanned);
	if (!nl) {
		b->scanned = unconsumed;
		return unconsumed > b->max_line ? -E2BIG : 0;
	}

	k = (size_t)(nl - line);
	if (k > b->max_line) {
		b->scanned = k;
		return -E2BIG;
	}

	*nl = '\0';
	b->start += k + 1;
	b->scanned = 0;
	*ret_line = line;
	*ret_len = k;
	return 1;
}

size_t linebuf_pending(const LineBuf *b)
{
	size_t unconsumed = b->len - b->start;
	const char *line = b->data + b->start, *nl;

	if (unconsumed == b->scanned)
		return unconsumed;
	nl = memrchr(line + b->scanned, '\n', unconsumed - b->scanned);
	return nl ? (size_t)(line + unconsumed - nl - 1) : unconsumed;
}

void linebuf_shrink(LineBuf *b, size_t keep)
{
	size_t unconsumed = b->len - b->start, cap;
	char *p;

	if (b->cap <= keep)
		return;
	if (unconsumed == 0) {
		linebuf_done(b);
		return;
	}
	/* Still a good part of it in use: a line on its way in. */
	if (unconsumed > b->cap / 4)
		return;
	memmove(b->data, b->data + b->start, unconsumed);
	b->start = 0;
	b->len = unconsumed;
	cap = MAX(keep, add_sat(unconsumed, unconsumed));
	p = realloc(b->data, cap);
	if (p) {
		b->data = p;
		b->cap = cap;
	}
}
