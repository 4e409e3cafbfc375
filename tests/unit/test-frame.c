/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "tap.h"
#include "util.h"

static int pair(int fds[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
}

static void write_all(int fd, const void *p, size_t n)
{
	const char *q = p;

	while (n > 0) {
		ssize_t k = write(fd, q, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			abort();
		q += k;
		n -= (size_t)k;
	}
}

static void test_single_line(void)
{
	int fds[2];
	LineBuf b;
	char *line = NULL;
	size_t len = 0;

	CHECK(pair(fds) == 0);
	linebuf_init(&b, 1024);
	write_all(fds[1], "hello\n", 6);
	CHECK_INTEQ(linebuf_read(&b, fds[0], 4096), 6);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 1);
	CHECK_INTEQ(len, 5);
	CHECK_STREQ(line, "hello");
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 0);
	CHECK_INTEQ(linebuf_pending(&b), 0);
	linebuf_done(&b);
	close(fds[0]);
	close(fds[1]);
}

static void test_several_lines_one_read(void)
{
	int fds[2];
	LineBuf b;
	char *l1 = NULL, *l2 = NULL, *l3 = NULL;
	size_t n1 = 0, n2 = 0, n3 = 0;

	CHECK(pair(fds) == 0);
	linebuf_init(&b, 1024);
	write_all(fds[1], "a\nbb\nccc\ndd", 11);
	CHECK_INTEQ(linebuf_read(&b, fds[0], 4096), 11);
	CHECK_INTEQ(linebuf_next(&b, &l1, &n1), 1);
	CHECK_INTEQ(linebuf_next(&b, &l2, &n2), 1);
	CHECK_INTEQ(linebuf_next(&b, &l3, &n3), 1);
	{
		char *l4 = NULL;
		size_t n4 = 0;
		CHECK_INTEQ(linebuf_next(&b, &l4, &n4), 0);
	}
	/* All three stay valid until the next read. */
	CHECK_STREQ(l1, "a");
	CHECK_STREQ(l2, "bb");
	CHECK_STREQ(l3, "ccc");
	CHECK(n1 == 1 && n2 == 2 && n3 == 3);
	CHECK_INTEQ(linebuf_pending(&b), 2);
	linebuf_done(&b);
	close(fds[0]);
	close(fds[1]);
}

static void test_line_split_across_reads(void)
{
	char msg[3001];
	int fds[2];
	LineBuf b;
	char *line = NULL;
	size_t len = 0;
	int early = 0;

	for (size_t i = 0; i < 3000; i++)
		msg[i] = (char)('a' + i % 26);
	msg[3000] = '\n';

	CHECK(pair(fds) == 0);
	linebuf_init(&b, 4096);
	/* Uneven pieces, each read before the next is written. */
	for (size_t off = 0, step = 1; off < sizeof(msg); off += step, step = step % 97 + 7) {
		size_t n = MIN(step, sizeof(msg) - off);
		write_all(fds[1], msg + off, n);
		CHECK_INTEQ(linebuf_read(&b, fds[0], 4096), (ssize_t)n);
		if (off + n < sizeof(msg)) {
			early += linebuf_next(&b, &line, &len) != 0;
			CHECK_INTEQ(linebuf_pending(&b), off + n);
		}
	}
	CHECK_INTEQ(early, 0);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 1);
	CHECK_INTEQ(len, 3000);
	CHECK(len == 3000 && memcmp(line, msg, 3000) == 0 && line[3000] == '\0');
	linebuf_done(&b);
	close(fds[0]);
	close(fds[1]);
}

static void test_crlf_kept(void)
{
	LineBuf b;
	char *line = NULL;
	size_t len = 0;

	linebuf_init(&b, 1024);
	CHECK_INTEQ(linebuf_append(&b, "abc\r\n", 5), 0);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 1);
	CHECK_INTEQ(len, 4);
	CHECK_STREQ(line, "abc\r");
	linebuf_done(&b);
}

static void test_empty_line(void)
{
	LineBuf b;
	char *line = NULL;
	size_t len = 99;

	linebuf_init(&b, 1024);
	CHECK_INTEQ(linebuf_append(&b, "\n\nx\n", 4), 0);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 1);
	CHECK_INTEQ(len, 0);
	CHECK_STREQ(line, "");
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 1);
	CHECK_INTEQ(len, 0);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 1);
	CHECK_STREQ(line, "x");
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 0);
	linebuf_done(&b);
}

static void test_exactly_max_line_accepted(void)
{
	char msg[101];
	int fds[2];
	LineBuf b;
	char *line = NULL;
	size_t len = 0;

	memset(msg, 'x', 100);
	msg[100] = '\n';
	CHECK(pair(fds) == 0);
	linebuf_init(&b, 100);
	/* max_line bytes with no newline yet is still fine... */
	write_all(fds[1], msg, 100);
	CHECK_INTEQ(linebuf_read(&b, fds[0], 4096), 100);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 0);
	/* ...and becomes a line when the newline comes. */
	write_all(fds[1], "\n", 1);
	CHECK_INTEQ(linebuf_read(&b, fds[0], 4096), 1);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 1);
	CHECK_INTEQ(len, 100);
	/* The same in one piece. */
	CHECK_INTEQ(linebuf_append(&b, msg, sizeof(msg)), 0);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 1);
	CHECK_INTEQ(len, 100);
	CHECK(len == 100 && line[0] == 'x' && line[99] == 'x' && line[100] == '\0');
	linebuf_done(&b);
	close(fds[0]);
	close(fds[1]);
}

static void test_max_line_plus_one_refused_early(void)
{
	char msg[101];
	int fds[2];
	LineBuf b;
	char *line = NULL;
	size_t len = 0;

	memset(msg, 'x', sizeof(msg));
	CHECK(pair(fds) == 0);
	linebuf_init(&b, 100);
	/* No newline has arrived: the 101st byte alone settles it. */
	write_all(fds[1], msg, sizeof(msg));
	CHECK_INTEQ(linebuf_read(&b, fds[0], 4096), 101);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), -E2BIG);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), -E2BIG);
	linebuf_done(&b);
	close(fds[0]);
	close(fds[1]);
}

static void test_overlong_line_in_one_piece_refused(void)
{
	char msg[200];
	LineBuf b;
	char *line = NULL;
	size_t len = 0;

	/* A short line, then an overlong one whose newline is already buffered. */
	memset(msg, 'y', sizeof(msg));
	msg[3] = '\n';
	msg[199] = '\n';
	linebuf_init(&b, 100);
	CHECK_INTEQ(linebuf_append(&b, msg, sizeof(msg)), 0);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 1);
	CHECK_INTEQ(len, 3);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), -E2BIG);
	linebuf_done(&b);
}

static void test_huge_stream_bounded(void)
{
	const size_t max_line = 64 * 1024, want = 4096, total = 10 * 1024 * 1024;
	int fds[2], r = 0;
	size_t got = 0;
	LineBuf b;
	char *line = NULL;
	size_t len = 0;
	pid_t pid;

	CHECK(pair(fds) == 0);
	pid = fork();
	if (pid == 0) {
		static char chunk[65536];
		close(fds[0]);
		memset(chunk, 'z', sizeof(chunk));
		for (size_t sent = 0; sent < total;) {
			ssize_t k = send(fds[1], chunk, MIN(sizeof(chunk), total - sent), MSG_NOSIGNAL);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				_exit(0); /* the reader hung up, as it should */
			sent += (size_t)k;
		}
		_exit(1); /* everything was accepted: nobody refused the line */
	}
	CHECK(pid > 0);
	close(fds[1]);

	linebuf_init(&b, max_line);
	for (;;) {
		ssize_t k = linebuf_read(&b, fds[0], want);
		if (k <= 0) {
			r = (int)k;
			break;
		}
		got += (size_t)k;
		r = linebuf_next(&b, &line, &len);
		if (r != 0)
			break;
	}
	CHECK_INTEQ(r, -E2BIG);
	CHECK(got > max_line);
	CHECK(got <= max_line + want);
	CHECK(b.cap <= max_line + 1 + want + 1);
	linebuf_done(&b);
	close(fds[0]);

	int status = 0;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static double now_sec(void)
{
	return (double)now_monotonic_usec() / 1e6;
}

static void test_long_line_in_small_pieces_is_linear(void)
{
	/*
	 * 10 MiB in 128-byte pieces: rescanning from the start each time would
	 * search ~400 GB; scanning only new bytes searches 10 MiB.
	 */
	const size_t total = 10 * 1024 * 1024, piece = 128;
	char chunk[128];
	LineBuf b;
	char *line = NULL;
	size_t len = 0;
	int early = 0;
	double t0;

	memset(chunk, 'q', sizeof(chunk));
	linebuf_init(&b, 16 * 1024 * 1024);
	t0 = now_sec();
	for (size_t off = 0; off < total; off += piece) {
		CHECK_INTEQ(linebuf_append(&b, chunk, piece), 0);
		early += linebuf_next(&b, &line, &len) != 0;
	}
	CHECK_INTEQ(b.scanned, total);
	CHECK_INTEQ(linebuf_append(&b, "\n", 1), 0);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 1);
	CHECK_INTEQ(len, total);
	CHECK_INTEQ(early, 0);
	double dt = now_sec() - t0;
	printf("# 10 MiB line in 128-byte pieces: %.3f s\n", dt);
	CHECK(dt < 1.5);
	linebuf_done(&b);
}

static void test_scanned_bytes_not_searched_again(void)
{
	LineBuf b;
	char *line = NULL;
	size_t len = 0;

	/*
	 * White-box: plant a '\n' in bytes next() has already searched. An
	 * implementation that rescans from the line start would find it.
	 */
	linebuf_init(&b, 1024);
	CHECK_INTEQ(linebuf_append(&b, "abcdef", 6), 0);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 0);
	CHECK_INTEQ(b.scanned, 6);
	b.data[b.start + 2] = '\n';
	CHECK_INTEQ(linebuf_append(&b, "gh", 2), 0);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 0);
	CHECK_INTEQ(linebuf_append(&b, "\n", 1), 0);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 1);
	CHECK_INTEQ(len, 8);
	linebuf_done(&b);
}

static void test_many_lines_through_small_buffer(void)
{
	/* Lines of varied lengths fed in odd-sized pieces: exercises compaction. */
	static char stream[400000];
	size_t n = 0, lines = 0, want_len[20000];
	LineBuf b;
	char *line = NULL;
	size_t len = 0, got = 0, bad = 0, maxcap = 0;
	unsigned seed = 1;

	while (lines < ELEMENTSOF(want_len)) {
		size_t l = (seed = seed * 1103515245 + 12345) >> 16;
		l %= 40;
		if (n + l + 1 > sizeof(stream))
			break;
		for (size_t i = 0; i < l; i++)
			stream[n + i] = (char)('A' + (lines + i) % 26);
		stream[n + l] = '\n';
		want_len[lines++] = l;
		n += l + 1;
	}

	linebuf_init(&b, 64);
	for (size_t off = 0, step = 1; off < n; off += step, step = step % 113 + 1) {
		step = MIN(step, n - off);
		CHECK_INTEQ(linebuf_append(&b, stream + off, step), 0);
		int r;
		while ((r = linebuf_next(&b, &line, &len)) == 1) {
			if (got >= lines || len != want_len[got] || strlen(line) != len ||
			    (len > 0 && line[0] != (char)('A' + got % 26)))
				bad++;
			got++;
		}
		CHECK_INTEQ(r, 0);
		maxcap = MAX(maxcap, b.cap);
	}
	CHECK_INTEQ(got, lines);
	CHECK_INTEQ(bad, 0);
	CHECK(maxcap < 8192);
	linebuf_done(&b);
}

static void test_eof(void)
{
	int fds[2];
	LineBuf b;
	char *line = NULL;
	size_t len = 0;

	CHECK(pair(fds) == 0);
	linebuf_init(&b, 1024);
	write_all(fds[1], "partial", 7);
	close(fds[1]);
	CHECK_INTEQ(linebuf_read(&b, fds[0], 4096), 7);
	CHECK_INTEQ(linebuf_read(&b, fds[0], 4096), 0);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 0);
	CHECK_INTEQ(linebuf_pending(&b), 7);
	linebuf_done(&b);
	close(fds[0]);
}

static void test_eagain(void)
{
	int fds[2];
	LineBuf b;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
	linebuf_init(&b, 1024);
	CHECK_INTEQ(linebuf_read(&b, fds[0], 4096), -EAGAIN);
	CHECK_INTEQ(linebuf_pending(&b), 0);
	linebuf_done(&b);
	close(fds[0]);
	close(fds[1]);
}

static void test_read_error(void)
{
	LineBuf b;

	linebuf_init(&b, 1024);
	CHECK_INTEQ(linebuf_read(&b, -1, 4096), -EBADF);
	linebuf_done(&b);
}

static void test_pending(void)
{
	LineBuf b;
	char *line = NULL;
	size_t len = 0;

	linebuf_init(&b, 1024);
	CHECK_INTEQ(linebuf_pending(&b), 0);
	CHECK_INTEQ(linebuf_append(&b, "abc\nde", 6), 0);
	CHECK_INTEQ(linebuf_pending(&b), 2); /* before next() looked at anything */
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 1);
	CHECK_INTEQ(linebuf_pending(&b), 2);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 0);
	CHECK_INTEQ(linebuf_pending(&b), 2);
	CHECK_INTEQ(linebuf_append(&b, "f", 1), 0);
	CHECK_INTEQ(linebuf_pending(&b), 3);
	CHECK_INTEQ(linebuf_append(&b, "\n", 1), 0);
	CHECK_INTEQ(linebuf_pending(&b), 0); /* a complete line is buffered */
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 1);
	CHECK_STREQ(line, "def");
	CHECK_INTEQ(linebuf_pending(&b), 0);
	linebuf_done(&b);
}

static void test_nul_bytes_preserved(void)
{
	LineBuf b;
	char *line = NULL;
	size_t len = 0;

	linebuf_init(&b, 1024);
	CHECK_INTEQ(linebuf_append(&b, "a\0b\0\n", 5), 0);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 1);
	CHECK_INTEQ(len, 4);
	CHECK(len == 4 && memcmp(line, "a\0b\0", 5) == 0);
	linebuf_done(&b);
}

static void test_undrained_reads_bounded(void)
{
	int fds[2];
	LineBuf b;
	ssize_t k;
	char msg[200];
	int reads = 0;

	/* A caller that keeps reading without taking lines cannot grow the buffer without end. */
	memset(msg, '\n', sizeof(msg));
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
	write_all(fds[1], msg, sizeof(msg));
	linebuf_init(&b, 16);
	while ((k = linebuf_read(&b, fds[0], 8)) > 0)
		reads++;
	CHECK_INTEQ(k, -ENOBUFS);
	CHECK(reads > 0);
	CHECK_INTEQ(b.len - b.start, 16 + 1 + 8);
	CHECK(b.cap <= 16 + 1 + 8 + 1);
	linebuf_done(&b);
	close(fds[0]);
	close(fds[1]);
}

/* A client that sends half a line holds that much, and a large line's
 * memory is given back once it is handled (the daemon appends what it read
 * and shrinks after each batch of lines). */
static void test_memory_follows_what_is_held(void)
{
	LineBuf b;
	char *line, *big;
	size_t len;

	linebuf_init(&b, 2u << 20);
	CHECK_INTEQ(linebuf_append(&b, "{\"jsonrpc", 10), 0);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 0);
	CHECK(b.cap <= 4096);

	/* A 1 MiB line, handled: the buffer goes entirely. */
	big = malloc(1u << 20);
	CHECK(big != NULL);
	memset(big, 'x', 1u << 20);
	big[(1u << 20) - 1] = '\n';
	CHECK_INTEQ(linebuf_append(&b, big, 1u << 20), 0);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 1);
	CHECK_INTEQ(len, (1u << 20) - 1 + 10);
	CHECK(b.cap >= 1u << 20);
	linebuf_shrink(&b, 16384);
	CHECK(b.cap == 0 && b.data == NULL);

	/* Again, with the start of the next line behind it: that is kept, in a
	 * buffer its size. */
	CHECK_INTEQ(linebuf_append(&b, big, 1u << 20), 0);
	CHECK_INTEQ(linebuf_append(&b, "{\"a\":", 5), 0);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 1);
	linebuf_shrink(&b, 16384);
	CHECK(b.cap == 16384);
	CHECK_INTEQ(linebuf_pending(&b), 5);
	CHECK_INTEQ(linebuf_append(&b, "1}\n", 3), 0);
	CHECK_INTEQ(linebuf_next(&b, &line, &len), 1);
	CHECK_STREQ(line, "{\"a\":1}");

	/* A buffer of at most keep bytes, or one still mostly in use, is left
	 * alone: no allocation per request. */
	linebuf_shrink(&b, 16384);
	CHECK(b.cap == 16384);
	CHECK_INTEQ(linebuf_append(&b, big, 40000), 0);
	size_t cap = b.cap;
	linebuf_shrink(&b, 16384);
	CHECK(b.cap == cap && linebuf_pending(&b) == 40000);

	free(big);
	linebuf_done(&b);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	TEST(test_single_line);
	TEST(test_memory_follows_what_is_held);
	TEST(test_several_lines_one_read);
	TEST(test_line_split_across_reads);
	TEST(test_crlf_kept);
	TEST(test_empty_line);
	TEST(test_exactly_max_line_accepted);
	TEST(test_max_line_plus_one_refused_early);
	TEST(test_overlong_line_in_one_piece_refused);
	TEST(test_huge_stream_bounded);
	TEST(test_long_line_in_small_pieces_is_linear);
	TEST(test_scanned_bytes_not_searched_again);
	TEST(test_many_lines_through_small_buffer);
	TEST(test_eof);
	TEST(test_eagain);
	TEST(test_read_error);
	TEST(test_pending);
	TEST(test_nul_bytes_preserved);
	TEST(test_undrained_reads_bounded);
	return tap_done();
}
