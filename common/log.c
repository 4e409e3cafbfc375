/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
/* Audit entries are events, not code: without this every one would claim
 * CODE_FILE=log.c, CODE_LINE=<the sendv below>. Plain messages still carry
 * their caller through sd_journal_send_with_location(). */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log.h"

static LogTarget log_target = LOG_TARGET_STDERR;

/* One message is one line on stderr: client text with a newline must not
 * be able to forge another entry. (The journal keeps fields binary-safe.) */
static void log_scrub(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}
static int log_max_level = LOG_INFO;

/* On stderr every line starts with the local time, to the millisecond, with
 * its offset from UTC: "2026-12-07T05:14:07.123+00:00 vx11d: ...". */
#define LOG_TIMESTAMP_MAX 64
static const char *log_timestamp(char buf[static LOG_TIMESTAMP_MAX])
{
	/* The second's text and its zone, kept per thread: a busy daemon logs
	 * many lines a second, and localtime and strftime are most of a line. */
	static __thread time_t last_sec = -1;
	static __thread char last[32], last_zone[8];
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return "-";
	if (ts.tv_sec != last_sec) {
		struct tm tm;

		if (!localtime_r(&ts.tv_sec, &tm) || strftime(last, sizeof(last), "%Y-%m-%dT%H:%M:%S", &tm) == 0 ||
		    /* %z is "+0000"; RFC 3339 wants "+00:00". */
		    strftime(last_zone, sizeof(last_zone), "%z", &tm) != 5) {
			last_sec = -1;
			return "-";
		}
		last_sec = ts.tv_sec;
	}
	snprintf(buf, LOG_TIMESTAMP_MAX, "%s.%03ld%.3s:%.2s", last, ts.tv_nsec / 1000000, last_zone, last_zone + 3);
	return buf;
}

/* With --log-level debug, stderr gets what the journal gets: the fields too. */
static bool log_stderr_fields(void)
{
	return log_max_level >= LOG_DEBUG;
}

int log_target_from_string(const char *s, LogTarget *ret)
{
	static const char *const names[] = {
		[LOG_TARGET_AUTO] = "auto",
		[LOG_TARGET_JOURNAL] = "journal",
		[LOG_TARGET_STDERR] = "stderr",
	};

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (streq(s, names[i])) {
			*ret = (LogTarget)i;
			return 0;
		}
	return -EINVAL;
}

void log_setup(LogTarget target)
{
	if (target == LOG_TARGET_AUTO)
		target = access("/run/systemd/journal/socket", W_OK) == 0 ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR;
	log_target = target;
}

bool log_to_journal(void)
{
	return log_target == LOG_TARGET_JOURNAL;
}

void log_set_max_level(int level)
{
	log_max_level = level;
}

int log_internal(int level, int error, const char *file, int line, const char *func, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (error < 0)
		error = -error;
	if (level > log_max_level)
		return -error;

	/* %m in fmt refers to `error`, not to whatever errno is now. */
	errno = error;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (log_target == LOG_TARGET_JOURNAL) {
		char fbuf[256], lbuf[32];
		snprintf(fbuf, sizeof(fbuf), "CODE_FILE=%s", file);
		snprintf(lbuf, sizeof(lbuf), "CODE_LINE=%d", line);
		if (error)
			sd_journal_send_with_location(fbuf, lbuf, func, "MESSAGE=%s", msg, "PRIORITY=%i", level,
						      "ERRNO=%i", error, NULL);
		else
			sd_journal_send_with_location(fbuf, lbuf, func, "MESSAGE=%s", msg, "PRIORITY=%i", level,
						      NULL);
	} else {
		char ts[LOG_TIMESTAMP_MAX];

		log_scrub(msg);
		if (error && log_stderr_fields())
			fprintf(stderr, "%s vx11d: %s ERRNO=%i\n", log_timestamp(ts), msg, error);
		else
			fprintf(stderr, "%s vx11d: %s\n", log_timestamp(ts), msg);
	}
	return -error;
}

static size_t add_field(struct iovec *iov, size_t n, char *buf, size_t bufsz, const char *key, const char *value)
{
	if (!value)
		return n;
	int k = snprintf(buf, bufsz, "%s=%s", key, value);
	if (k < 0)
		return n;
	iov[n].iov_base = buf;
	iov[n].iov_len = MIN((size_t)k, bufsz - 1);
	return n + 1;
}

void log_audit(int level, const char *message_id, const AuditFields *f, const char *fmt, ...)
{
	char msg[1024], uidbuf[16] = "";
	va_list ap;

	if (level > log_max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (f->uid != (uid_t)-1)
		snprintf(uidbuf, sizeof(uidbuf), "%u", (unsigned)f->uid);

	if (log_target == LOG_TARGET_JOURNAL) {
		char b[14][1200], conf[8192];
		struct iovec iov[16];
		size_t n = 0;
		char prio[2] = { (char)('0' + level), 0 };

		n = add_field(iov, n, b[n], sizeof(b[n]), "MESSAGE", msg);
		n = add_field(iov, n, b[n], sizeof(b[n]), "MESSAGE_ID", message_id);
		n = add_field(iov, n, b[n], sizeof(b[n]), "PRIORITY", prio);
		n = add_field(iov, n, b[n], sizeof(b[n]), "VX11_TASK_ID", f->task_id);
		n = add_field(iov, n, b[n], sizeof(b[n]), "VX11_DAUGHTER_ID", f->daughter_id);
		n = add_field(iov, n, b[n], sizeof(b[n]), "VX11_CORRELATION_ID", f->correlation_id);
		n = add_field(iov, n, b[n], sizeof(b[n]), "VX11_SOURCE", f->source);
		n = add_field(iov, n, b[n], sizeof(b[n]), "VX11_UID", uidbuf[0] ? uidbuf : NULL);
		n = add_field(iov, n, b[n], sizeof(b[n]), "VX11_INTENT_TYPE", f->intent_type);
		n = add_field(iov, n, b[n], sizeof(b[n]), "VX11_STATUS", f->status);
		n = add_field(iov, n, b[n], sizeof(b[n]), "VX11_ERROR", f->error);
		n = add_field(iov, n, b[n], sizeof(b[n]), "VX11_PROVIDER", f->provider);
		n = add_field(iov, n, b[n], sizeof(b[n]), "VX11_DEGRADED", f->degraded);
		n = add_field(iov, n, b[n], sizeof(b[n]), "VX11_NODE", f->node);
		n = add_field(iov, n, conf, sizeof(conf), "VX11_CONFINEMENT", f->confinement);
		/* Up to 64 KiB, which intent.submit does not let it exceed (api/command.h). */
		_cleanup_free_ char *cmd = f->command ? malloc(65536 + 32) : NULL;
		if (cmd)
			n = add_field(iov, n, cmd, 65536 + 32, "VX11_COMMAND", f->command);
		sd_journal_sendv(iov, (int)n);
		return;
	}

	/* One line per event: the time and the message; with --log-level debug
	 * the journal's fields follow as key=value, so that it stays greppable.
	 * Built first so that it reaches stderr in a single write. */
	char line[2048], ts[LOG_TIMESTAMP_MAX];
	size_t l = 0;
#define APPEND(...) l += (size_t)snprintf(line + MIN(l, sizeof(line) - 1), sizeof(line) - MIN(l, sizeof(line) - 1), __VA_ARGS__)
	APPEND("%s vx11d: %s", log_timestamp(ts), msg);
	if (log_stderr_fields()) {
		APPEND(" MESSAGE_ID=%s", message_id);
		if (f->task_id)
			APPEND(" VX11_TASK_ID=%s", f->task_id);
		if (f->daughter_id)
			APPEND(" VX11_DAUGHTER_ID=%s", f->daughter_id);
		if (f->correlation_id)
			APPEND(" VX11_CORRELATION_ID=%s", f->correlation_id);
		if (f->source)
			APPEND(" VX11_SOURCE=%s", f->source);
		if (uidbuf[0])
			APPEND(" VX11_UID=%s", uidbuf);
		if (f->intent_type)
			APPEND(" VX11_INTENT_TYPE=%s", f->intent_type);
		if (f->status)
			APPEND(" VX11_STATUS=%s", f->status);
		if (f->error)
			APPEND(" VX11_ERROR=%s", f->error);
		if (f->provider)
			APPEND(" VX11_PROVIDER=%s", f->provider);
		if (f->degraded)
			APPEND(" VX11_DEGRADED=%s", f->degraded);
		if (f->node)
			APPEND(" VX11_NODE=%s", f->node);
		if (f->confinement)
			APPEND(" VX11_CONFINEMENT=%s", f->confinement);
		if (f->command)
			APPEND(" VX11_COMMAND=%s", f->command);
	}
#undef APPEND
	if (l >= sizeof(line) - 1)
		l = sizeof(line) - 2;
	line[l] = 0;
	log_scrub(line);
	line[l++] = '\n';
	fwrite(line, 1, l, stderr);
}
